"""Dedup bench: are the planted reposts merged into their story, and nothing else?

Builds the benchmark database (cached under ``bench/out/`` by seed and size, and reused by
the search bench) by storing every generated article through the real ``Articles.upsert``
with the light analysis (same folded text, tags and MinHash signature as the pipeline),
then compares the stories as stored with the generator's ground truth:

- recall: planted (original, repost) pairs whose two articles share a story;
- precision: article pairs sharing a story that are truly the same story (a repost and
  its original, or two reposts of one original);
- follow-ups (same project and places, new text) that were wrongly merged;
- peak memory of the process (``ru_maxrss``) against its size once the analyser is loaded.

    python -m bench.dedup [--quick]
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from analysis.pipeline import Analyzer
from app.config import DEFAULT_TAXONOMY, load_taxonomy
from bench import OUT, SEED, peak_rss_mb, rss_mb, save_result
from bench.generate import Article, Generator, fill_database
from storage import Storage

FULL_ARTICLES = 111_500  # about 100k stories once the reposts are merged
QUICK_ARTICLES = 5_700  # about 5k stories
NOW = 1893456000  # 2030-01-01: after every generated article
TARGETS = {"recall": 0.9, "precision": 0.95, "peak_rss_mb": 500.0}

log = logging.getLogger(__name__)


def size_for(quick: bool) -> int:
    return QUICK_ARTICLES if quick else FULL_ARTICLES


def db_path(seed: int, n: int) -> Path:
    return OUT / f"corpus-s{seed}-n{n}.db"


def analyzer() -> Analyzer:
    taxonomy = load_taxonomy(DEFAULT_TAXONOMY)
    found = Analyzer(taxonomy)
    found.tokenizer.words("预热")  # load the dictionary outside any timing
    return found


def open_storage(path: Path, an: Analyzer) -> Storage:
    """The storage as ``app.core.Core`` wires it (merge threshold, tag order)."""
    store = Storage.open(path, threshold=0.5)
    store.articles.city_order = an.taxonomy.city_names
    store.articles.topic_order = an.taxonomy.topic_names
    return store


def build(seed: int, n: int, an: Analyzer) -> dict[str, Any]:
    """Fill a fresh database with ``n`` articles; returns the build's figures."""
    path = db_path(seed, n)
    marker = path.with_suffix(".json")
    for stale in (path, marker, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    OUT.mkdir(parents=True, exist_ok=True)
    store = open_storage(path, an)
    gen = Generator(seed)
    stories: list[int] = []
    kinds: list[str] = []

    def stream() -> Iterator[Article]:
        for article in gen.articles(n):
            stories.append(article.story)
            kinds.append(article.kind)
            yield article

    rss_before = rss_mb()
    started = time.perf_counter()
    outcomes = fill_database(
        store, an, stream(), now=NOW, light=True, progress=_progress(n, started)
    )
    seconds = time.perf_counter() - started
    counts = store.articles.counts()
    store.close()
    info = {
        "seed": seed,
        "articles": n,
        "stored_articles": counts["articles"],
        "stories": counts["stories"],
        "outcomes": outcomes,
        "build_seconds": round(seconds, 1),
        "rss_before_mb": round(rss_before, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "db_mb": round(path.stat().st_size / 1e6, 1),
        "reposts": gen.reposts,
        "follow_ups": gen.follow_ups,
        "story_of": stories,
        "kinds": kinds,
    }
    marker.write_text(json.dumps(info), encoding="utf-8")
    return info


def cached(seed: int, n: int, an: Analyzer) -> dict[str, Any]:
    """The build's figures, building the database first unless a complete one is cached."""
    marker = db_path(seed, n).with_suffix(".json")
    if marker.exists() and db_path(seed, n).exists():
        info: dict[str, Any] = json.loads(marker.read_text(encoding="utf-8"))
        return info
    return build(seed, n, an)


def _progress(n: int, started: float) -> Any:
    def report(done: int) -> None:
        if done % 10_000 < 500 or done == n:
            rate = done / max(1e-9, time.perf_counter() - started)
            print(f"  dedup build: {done}/{n} articles, {rate:.0f}/s", flush=True)

    return report


def evaluate(seed: int, n: int, info: dict[str, Any]) -> dict[str, Any]:
    """Precision and recall of the stored stories against the ground truth."""
    store = Storage.open(db_path(seed, n))
    rows = store.db.execute("SELECT guid, story_id FROM articles").fetchall()
    store.close()
    stored = {int(guid.rsplit("-", 1)[1]): story for guid, story in rows}
    truth: list[int] = info["story_of"]
    kinds: list[str] = info["kinds"]

    by_story: dict[int, list[int]] = defaultdict(list)
    for index, story in stored.items():
        by_story[story].append(index)
    predicted = 0
    correct = 0
    for members in by_story.values():
        for a, b in itertools.combinations(members, 2):
            predicted += 1
            correct += truth[a] == truth[b]
    by_truth: dict[int, list[int]] = defaultdict(list)
    for index, key in enumerate(truth):
        by_truth[key].append(index)
    true_pairs = sum(len(m) * (len(m) - 1) // 2 for m in by_truth.values())

    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for origin, repost in info["reposts"]:
        hit = stored[origin] == stored[repost]
        per_kind[kinds[repost]][0] += hit
        per_kind[kinds[repost]][1] += 1
    planted = sum(t for _, t in per_kind.values())
    found = sum(h for h, _ in per_kind.values())
    wrong_follow_ups = sum(stored[a] == stored[b] for a, b in info["follow_ups"])
    return {
        "planted_reposts": planted,
        "recall": found / planted if planted else 1.0,
        "recall_by_kind": {k: h / t for k, (h, t) in sorted(per_kind.items())},
        "predicted_pairs": predicted,
        "correct_pairs": correct,
        "true_pairs": true_pairs,
        "precision": correct / predicted if predicted else 1.0,
        "pair_recall": correct / true_pairs if true_pairs else 1.0,
        "follow_ups": len(info["follow_ups"]),
        "follow_ups_merged": wrong_follow_ups,
    }


def run(quick: bool, seed: int = SEED, rebuild: bool = True) -> dict[str, Any]:
    n = size_for(quick)
    an = analyzer()
    marker = db_path(seed, n).with_suffix(".json")
    reused = not rebuild and marker.exists()
    info = build(seed, n, an) if rebuild else cached(seed, n, an)
    scores = evaluate(seed, n, info)
    keep = ("articles", "stored_articles", "stories", "outcomes", "build_seconds", "db_mb")
    result: dict[str, Any] = {k: info[k] for k in keep}
    result.update(
        rss_before_mb=info["rss_before_mb"],
        peak_rss_mb=info["peak_rss_mb"],
        targets=TARGETS,
        reused_cached_build=reused,
        **scores,
    )
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dedup")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("BENCH_LOG", "WARNING"))
    # The quick suite reuses a cached quick database (its build figures are cached too).
    result = run(args.quick, args.seed, rebuild=not args.quick)
    path = save_result("dedup", args.quick, result)
    print(f"dedup: recall {result['recall']:.4f}, precision {result['precision']:.4f}, ", end="")
    print(f"peak RSS {result['peak_rss_mb']:.0f} MB -> {path}")


if __name__ == "__main__":
    main()
