"""Quality of the analyser on the labelled development corpus: ``make eval``.

    python -m bench.eval                         # ../shared/figures-dev -> docs/quality.md
    python -m bench.eval --corpus DIR --out FILE
    python -m bench.eval --holdout DIR           # the second section (default: our held-out set)

Runs :class:`analysis.pipeline.Analyzer` over ``articles.jsonl`` (and the e-paper pages of
``../samples`` labelled in ``samples_gold.jsonl``) and compares with ``gold.jsonl``. The
matching rule is the corpus README's: a figure matches when its kind and value agree
(money to 0.5%), and for tasks also its done and total (a total the gold omits must be
absent). A quantity restated in a page is labelled once, so a found figure is right when
it matches any labelled figure of its page. Cities and topics are scored
as micro F1 over (article, tag) pairs. The held-out set in ``tests/data/figures/holdout``
(written and labelled by an engineer who never saw the extractor) gets its own section.

The report quotes only figure spans (number, unit and a few characters), never the
corpus's sentences. A block between ``<!-- haystack:begin -->`` and
``<!-- haystack:end -->`` already in the report (written by ``bench.haystack``) is kept
as it is. Without the corpus this says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.figures import KINDS, Figure
from analysis.pipeline import Analyzer
from app.config import DEFAULT_TAXONOMY, load_taxonomy

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "figures-dev"
REPORT = ROOT / "docs" / "quality.md"
HOLDOUT = ROOT / "tests" / "data" / "figures" / "holdout"
HOLDOUTS = sorted(p for p in HOLDOUT.parent.glob("holdout*") if p.is_dir())
KEY_KINDS = ("tasks", "projects", "money")
MONEY_TOLERANCE = 0.005
HAYSTACK = re.compile(r"<!-- haystack:begin -->.*?<!-- haystack:end -->", re.DOTALL)
_SPAN_CHARS = 24


@dataclass(frozen=True)
class Doc:
    id: str
    title: str
    body: str
    gold: dict[str, Any]
    noise: tuple[str, ...] = ()


@dataclass
class Score:
    """Labelled figures found (``hit``), found figures that are right (``right``), totals."""

    hit: int = 0
    found: int = 0
    gold: int = 0
    right: int = -1  # -1: same as hit (tags, where matching is one to one)

    @property
    def precision(self) -> float:
        right = self.hit if self.right < 0 else self.right
        return right / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.hit / self.gold if self.gold else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, other: Score) -> None:
        if self.right >= 0 or other.right >= 0:
            self.right = max(self.right, 0) + (other.hit if other.right < 0 else other.right)
        self.hit += other.hit
        self.found += other.found
        self.gold += other.gold


@dataclass
class Result:
    kinds: dict[str, Score] = field(default_factory=lambda: {k: Score() for k in KINDS})
    cities: Score = field(default_factory=Score)
    pinyin_cities: Score = field(default_factory=Score)  # pages with inline pinyin
    topics: Score = field(default_factory=Score)
    misses: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    false: list[tuple[str, Figure]] = field(default_factory=list)
    tag_errors: list[tuple[str, str, str]] = field(default_factory=list)  # (id, field, text)
    documents: int = 0

    def key(self) -> Score:
        total = Score()
        for kind in KEY_KINDS:
            total.add(self.kinds[kind])
        return total


def load_corpus(corpus: Path) -> list[Doc]:
    """Articles and labelled sample pages; empty when the corpus is absent."""
    articles_file, gold_file = corpus / "articles.jsonl", corpus / "gold.jsonl"
    if not (articles_file.is_file() and gold_file.is_file()):
        return []
    gold = {g["id"]: g for g in _jsonl(gold_file)}
    docs = [
        Doc(a["id"], a["title"], a["excerpt"], gold[a["id"]], tuple(a.get("noise") or ()))
        for a in _jsonl(articles_file)
    ]
    samples_gold, samples = corpus / "samples_gold.jsonl", corpus.parent / "samples"
    if samples_gold.is_file():
        for g in _jsonl(samples_gold):
            page = samples / g["id"]
            if page.is_file():
                docs.append(Doc(g["id"], "", page.read_text(encoding="utf-8"), g))
    return docs


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def matches(gold: dict[str, Any], found: Figure) -> bool:
    """The corpus rule: kind and value agree (money to 0.5%); tasks also done and total."""
    if gold["kind"] != found.kind:
        return False
    value = float(gold["value"])
    if gold["kind"] == "money":
        if abs(found.value - value) > MONEY_TOLERANCE * abs(value):
            return False
    elif abs(found.value - value) > 1e-6 * max(1.0, abs(value)):
        return False
    if gold["kind"] == "tasks":
        return gold.get("done") == found.done and gold.get("total") == found.total
    return True


def score_figures(
    gold: list[dict[str, Any]], found: list[Figure]
) -> tuple[list[dict[str, Any]], list[Figure]]:
    """``(gold figures nothing found matches, found figures matching no gold figure)``.

    A quantity restated in headline and body is labelled once (the corpus convention),
    so a found figure is right when it matches any labelled one.
    """
    missed = [g for g in gold if not any(matches(g, f) for f in found)]
    false = [f for f in found if not any(matches(g, f) for g in gold)]
    return missed, false


def _tags(result: Score, gold: Iterable[str], found: Iterable[str]) -> tuple[set, set]:
    g, f = set(gold), set(found)
    result.add(Score(len(g & f), len(f), len(g)))
    return g - f, f - g


def evaluate(docs: list[Doc], analyzer: Analyzer | None = None) -> Result:
    """Score the analyser on ``docs``."""
    analyzer = analyzer or Analyzer(load_taxonomy(DEFAULT_TAXONOMY))
    result = Result(documents=len(docs))
    for doc in docs:
        analysis = analyzer.analyze(doc.title, doc.body)
        gold_figures = list(doc.gold.get("figures", ()))
        for kind in KINDS:
            gold = [g for g in gold_figures if g["kind"] == kind]
            found = [f for f in analysis.figures if f.kind == kind]
            missed, false = score_figures(gold, found)
            result.kinds[kind].add(
                Score(len(gold) - len(missed), len(found), len(gold), len(found) - len(false))
            )
            result.misses.extend((doc.id, g) for g in missed)
            result.false.extend((doc.id, f) for f in false)
        for name, score, gold_tags, found_tags in (
            ("cities", result.cities, doc.gold["cities"], analysis.cities),
            *(
                [("pinyin_cities", result.pinyin_cities, doc.gold["cities"], analysis.cities)]
                if "pinyin_annotation" in doc.noise
                else []
            ),
            ("topics", result.topics, doc.gold["topics"], analysis.topics),
        ):
            missing, extra = _tags(score, gold_tags, found_tags)
            if (missing or extra) and name != "pinyin_cities":  # listed once, as cities
                text = " ".join(
                    [*(f"-{t}" for t in sorted(missing)), *(f"+{t}" for t in sorted(extra))]
                )
                result.tag_errors.append((doc.id, name, text))
    return result


def _span(text: str) -> str:
    one_line = " ".join(text.split())
    cut = one_line[:_SPAN_CHARS] + ("…" if len(one_line) > _SPAN_CHARS else "")
    return cut.replace("|", "\\|")


def _value(figure: dict[str, Any] | Figure) -> str:
    data = figure if isinstance(figure, dict) else figure.to_json()
    text = f"{data['value']:g}"
    if data["kind"] == "tasks":
        text += f" (done {data.get('done')}, total {data.get('total', '—')})"
    return text


def render(result: Result, corpus: Path) -> str:
    """The report's Markdown (without the haystack block)."""
    lines = [
        "# Analyser quality on real text",
        "",
        f"Written by `make eval` (`python -m bench.eval`) from `{corpus.name}`: "
        f"{result.documents} labelled pages (the development articles and the e-paper samples). "
        "Matching rule (the corpus README's): kind and value agree (money to 0.5%), tasks "
        "also done and total. *recalled*: labelled figures some found figure matches; "
        "*right*: found figures matching some labelled one (a quantity restated in headline "
        "and body is labelled once). Spans below are the figures' own few characters.",
        "",
    ]
    return "\n".join(lines + _body(result, "##")) + "\n"


def render_holdout(result: Result, corpus: Path) -> str:
    """A held-out set's section: the same tables, one heading level down. The set's
    ``STATUS`` file says how it was made and whether it is still blind."""
    status = corpus / "STATUS"
    note = status.read_text(encoding="utf-8").strip() if status.is_file() else ""
    lines = [
        f"## Held-out set `{corpus.name}`",
        "",
        f"`{corpus.relative_to(ROOT) if corpus.is_relative_to(ROOT) else corpus}`: "
        f"{result.documents} articles of our own. {note}",
        "",
    ]
    return "\n".join(lines + _body(result, "###")) + "\n"


def _body(result: Result, level: str) -> list[str]:
    key = result.key()
    lines = [
        "| kind | labelled | recalled | found | right | precision | recall |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, score in [*result.kinds.items(), ("tasks+projects+money", key)]:
        lines.append(
            f"| {name} | {score.gold} | {score.hit} | {score.found} | {score.right} "
            f"| {score.precision:.3f} | {score.recall:.3f} |"
        )
    lines += [
        "",
        "| tags | labelled | found | matched | precision | recall | F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, score in (
        ("cities", result.cities),
        ("cities, pages with inline pinyin", result.pinyin_cities),
        ("topics", result.topics),
    ):
        lines.append(
            f"| {name} | {score.gold} | {score.found} | {score.hit} | {score.precision:.3f} "
            f"| {score.recall:.3f} | {score.f1:.3f} |"
        )
    lines += [
        "",
        f"{level} Missed key figures",
        "",
        "| page | kind | value | span |",
        "|---|---|---|---|",
    ]
    for doc_id, g in result.misses:
        if g["kind"] in KEY_KINDS:
            lines.append(f"| {doc_id} | {g['kind']} | {_value(g)} | {_span(g['text'])} |")
    lines += [
        "",
        f"{level} False key figures",
        "",
        "| page | kind | value | span |",
        "|---|---|---|---|",
    ]
    for doc_id, f in result.false:
        if f.kind in KEY_KINDS:
            lines.append(f"| {doc_id} | {f.kind} | {_value(f)} | {_span(f.text)} |")
    lines += [
        "",
        f"{level} Counts and percents: misses and false figures",
        "",
        f"{sum(1 for _, g in result.misses if g['kind'] not in KEY_KINDS)} missed, "
        f"{sum(1 for _, f in result.false if f.kind not in KEY_KINDS)} false "
        "(not key figures; listed by `python -m bench.eval --all`).",
        "",
        f"{level} Tag errors",
        "",
        "`-` labelled but not found, `+` found but not labelled.",
        "",
        "| page | tags | difference |",
        "|---|---|---|",
    ]
    lines += [f"| {doc_id} | {name} | {text} |" for doc_id, name, text in result.tag_errors]
    return lines


def write_report(path: Path, content: str) -> None:
    """Write ``content``, keeping an existing haystack block after it untouched."""
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    block = HAYSTACK.search(old)
    text = content if block is None else content + "\n" + block.group() + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--out", type=Path, default=REPORT)
    parser.add_argument("--all", action="store_true", help="print every miss and false figure")
    parser.add_argument(
        "--holdout",
        type=Path,
        action="append",
        help="a labelled set reported in its own section (repeatable; default: every "
        "tests/data/figures/holdout* set)",
    )
    args = parser.parse_args(argv)
    docs = load_corpus(args.corpus)
    if not docs:
        print(f"eval: no corpus at {args.corpus}; nothing measured")
        return 0
    analyzer = Analyzer(load_taxonomy(DEFAULT_TAXONOMY))
    result = evaluate(docs, analyzer)
    report = render(result, args.corpus)
    results = [("eval", result)]
    for held_dir in args.holdout or HOLDOUTS:
        held = [] if held_dir.resolve() == args.corpus.resolve() else load_corpus(held_dir)
        if held:
            holdout = evaluate(held, analyzer)
            report += "\n" + render_holdout(holdout, held_dir.resolve())
            results.append((held_dir.name, holdout))
    write_report(args.out, report)
    for name, scored in results:
        key = scored.key()
        print(
            f"{name}: {scored.documents} pages; key figures P {key.precision:.3f}"
            f" R {key.recall:.3f} (tasks R {scored.kinds['tasks'].recall:.3f});"
            f" city F1 {scored.cities.f1:.3f}; topic F1 {scored.topics.f1:.3f} -> {args.out}"
        )
        if args.all:
            for doc_id, g in scored.misses:
                print(f"miss  {doc_id} {g['kind']} {_value(g)} {g['text']!r}")
            for doc_id, f in scored.false:
                print(f"false {doc_id} {f.kind} {_value(f)} {f.text!r} [{f.subject}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
