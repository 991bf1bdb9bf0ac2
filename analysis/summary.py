"""Extractive summaries and figure lines.

``summarize`` picks one to three whole sentences of an article, in their original
order, preferring the sentences that carry key figures; ``figure_lines`` says a few
figures, key kinds first. A digest's figures are merged and ranked in
``digests.condense``, the one place that decides when two reports are the same figure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from analysis.figures import KIND_ORDER, Figure, extract_figures
from analysis.sentences import repair_breaks, sentence_bounds
from analysis.text import CLOSERS, SENTENCE_ENDS, fold

__all__ = ["figure_lines", "split_sentences", "summarize"]

_KIND_WEIGHT = {"tasks": 6.0, "projects": 5.0, "money": 5.0, "count": 2.0, "percent": 1.5}
_CAPTION = re.compile(
    r"[(（][^()（）]{0,30}(?:摄|提供|供图|制图|图)[)）]\s*$"
    r"|^[(（]?\s*(?:本报记者|记者|通讯员|见习记者|特约记者|本报讯|责任编辑|编辑|校对)"
)
_MARKER = re.compile(
    r"^(?:[★☆●○■□▲△◆◇※•·▶►√✔\-—]+|#+|[①-⑳]|[(（][一二三四五六七八九十\d]+[)）]"
    r"|[一二三四五六七八九十]+是|[一二三四五六七八九十]+[、.．]|\d+[、.．](?!\d))\s*"
)
_SECTION = re.compile(r"^(?:关键词|编者按|链接|相关阅读|图片新闻|导读)[:：]?\s*$")
_END_MARK = re.compile(rf"[{SENTENCE_ENDS}…][{CLOSERS}]*$")
_SPACES = re.compile(r"\s+")
_MIN_SENTENCE = 12


def figure_lines(figures: Sequence[Figure], limit: int) -> list[str]:
    """The descriptions of up to ``limit`` figures, key kinds first, each said once."""
    ranked = sorted(enumerate(figures), key=lambda p: (KIND_ORDER.get(p[1].kind, 9), p[0]))
    lines: list[str] = []
    for _, figure in ranked:
        text = figure.describe()
        if text not in lines:
            lines.append(text)
        if len(lines) >= limit:
            break
    return lines


def split_sentences(text: str) -> list[str]:
    """Split display text into sentences.

    Breaks at 。！？；(and ASCII !?;) and at line ends. E-paper column breaks are joined
    first, end marks inside matched quotes or brackets do not split, and closing quotes
    and brackets stay with their sentence. Joined back, the chunks give ``text`` without
    its whitespace.
    """
    repaired, _ = repair_breaks(text, squeeze=False)
    return [repaired[start:end] for start, end in sentence_bounds(repaired)]


def _strip_marker(sentence: str) -> str:
    previous = None
    while previous != sentence:
        previous = sentence
        sentence = _MARKER.sub("", sentence, count=1)
    return sentence.strip()


def _is_body(sentence: str) -> bool:
    """False for captions, bylines, section markers and headings."""
    if _CAPTION.search(sentence) or _SECTION.match(sentence):
        return False
    return len(sentence) >= _MIN_SENTENCE and _END_MARK.search(sentence) is not None


def _squash(text: str) -> str:
    return _SPACES.sub("", text)


def summarize(
    text: str,
    figures: Sequence[Figure] | None = None,
    max_sentences: int = 3,
    max_chars: int = 160,
) -> str:
    """One to three whole sentences of ``text`` in their original order.

    Sentences carrying key figures are preferred (tasks, then projects and money, then
    counts and rates); captions, bylines, list and section markers and headings are
    skipped. When no figure sentence fits, the lead sentences are used. A single
    sentence longer than ``max_chars`` is cut at a clause boundary and ends with "…".
    """
    if figures is None:
        figures = extract_figures(text)
    # Whole caption and byline lines go first: their sentences would look like body text.
    kept = "\n".join(line for line in text.splitlines() if not _CAPTION.search(line.strip()))
    candidates = [_strip_marker(s) for s in split_sentences(kept)]
    body = [(i, s) for i, s in enumerate(candidates) if _is_body(s)]
    if not body:
        body = [(i, s) for i, s in enumerate(candidates) if s]
    if not body:
        return ""
    spans = [_squash(f.text) for f in figures]
    scored: list[tuple[float, int, str]] = []
    for order, (index, sentence) in enumerate(body):
        folded = _squash(fold(sentence))
        score = sum(
            _KIND_WEIGHT.get(f.kind, 1.0)
            for f, span in zip(figures, spans, strict=True)
            if span and span in folded
        )
        # A small lead bonus breaks ties in favour of the opening sentences.
        scored.append((score + max(0.0, 0.5 - 0.1 * order), index, sentence))
    if any(score >= 1.0 for score, _, _ in scored):
        # Figure sentences only: a lead sentence would dilute them.
        scored = [item for item in scored if item[0] >= 1.0]
    ranked = sorted(scored, key=lambda item: (-item[0], item[1]))
    chosen: list[tuple[int, str]] = []
    used = 0
    for _, index, sentence in ranked:
        if len(chosen) >= max(1, max_sentences):
            break
        if used + len(sentence) <= max_chars:
            chosen.append((index, sentence))
            used += len(sentence)
    if not chosen:
        return _shorten(ranked[0][2], max_chars)
    return "".join(sentence for _, sentence in sorted(chosen))


def _shorten(sentence: str, max_chars: int) -> str:
    limit = max(1, max_chars - 1)
    head = sentence[:limit]
    cut = max(head.rfind("，"), head.rfind(","), head.rfind("、"))
    if cut > limit // 2:
        head = head[:cut]
    return head + "…"
