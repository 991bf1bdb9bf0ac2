"""Search bench: latency of ``Search.search`` against a LIKE scan, and recall against
``Search.substring_scan``, on the dedup bench's database (111.5k articles, about 100k
stories; quick: 5.7k articles, about 5k).

Four queries: a two-character word in a large share of the articles (湘潭), a rare
four-character phrase (跨市通办), a word with no hits (潭州大桥: the search then retries
it as its jieba words, as the bot does: ``app.core.search_or_words``) and a two-word
query (融城干道 湘潭). Each runs newest-first and by relevance, one page of 10, after a
warm-up; p50 and p99 over the repetitions. The baseline is a plain ``folded LIKE '%q%'``
scan of the articles table (every term, ANDed, all matching rows) timed in the same run
on the same database.

Recall: the story ids of every FTS hit (the exact MATCH expression the search uses) against
the substring scan's, and page one newest-first against the scan's ten newest stories.

A call that runs past ``CALL_CAP_S`` (quick: ``QUICK_CALL_CAP_S``) is interrupted
(``sqlite3.Connection.interrupt`` from a timer) and counted at the cap; after three such
calls the case stops. Relevance order (the default) is relevance blended with
recency over the bounded candidates of ``storage.ranking``, the rest newest first.

    python -m bench.search [--quick]
"""

from __future__ import annotations

import argparse
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

from app.core import query_names, query_words, search_or_words
from bench import SEED, percentile, save_result
from bench.dedup import analyzer, cached, db_path, open_storage, size_for
from bench.generate import ABSENT_WORD, RARE_PHRASE
from domain.errors import InvalidQueryError, StorageError
from storage import Storage, fts

QUERIES = ("湘潭", RARE_PHRASE, ABSENT_WORD, "融城干道 湘潭")
SORTS = ("newest", "relevance")
TARGETS_MS = {"newest": 20.0, "relevance": 20.0}
CALL_CAP_S = 2.0  # 40x the loosest target: enough to call it missed
QUICK_CALL_CAP_S = 0.25  # the quick suite must stay under a minute


def _time(fn: Callable[[], Any], reps: int, budget: float) -> list[float]:
    """Milliseconds per call: ``reps`` calls, fewer (at least 10) if ``budget`` s run out."""
    samples: list[float] = []
    deadline = time.perf_counter() + budget
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
        if len(samples) >= 10 and time.perf_counter() > deadline:
            break
    return samples


def _capped(store: Storage, fn: Callable[[], Any], cap: float) -> tuple[float, bool]:
    """(milliseconds, interrupted): ``fn()`` run with an interrupt after ``cap`` seconds."""
    timer = threading.Timer(cap, store.db.conn.interrupt)
    start = time.perf_counter()
    timer.start()
    try:
        fn()
    except (InvalidQueryError, StorageError, sqlite3.OperationalError):
        elapsed = time.perf_counter() - start
        if elapsed < cap * 0.99:
            raise
        return cap * 1000, True
    finally:
        timer.cancel()
    return (time.perf_counter() - start) * 1000, False


def _time_capped(
    store: Storage, fn: Callable[[], Any], reps: int, budget: float, cap: float
) -> tuple[list[float], int]:
    """Like ``_time`` with every call capped; stops after three interrupted calls."""
    samples: list[float] = []
    interrupted = 0
    deadline = time.perf_counter() + budget
    for _ in range(reps):
        ms, cut = _capped(store, fn, cap)
        samples.append(ms)
        interrupted += cut
        if interrupted >= 3 or (len(samples) >= 10 and time.perf_counter() > deadline):
            break
    return samples, interrupted


def like_scan(store: Storage, text: str) -> set[int]:
    """The baseline: every article whose folded text contains every term, by LIKE."""
    query = fts.parse_query(text)
    if query is None:
        return set()
    where = " AND ".join("folded LIKE ?" for _ in query.terms)
    params = [f"%{t}%" for t in query.terms]
    rows = store.db.execute(f"SELECT id, story_id FROM articles WHERE {where}", params)
    return {r[1] for r in rows.fetchall()}


def fts_stories(store: Storage, text: str) -> set[int]:
    """Story ids of every FTS hit for the MATCH expression the search runs."""
    query = fts.parse_query(text)
    if query is None:
        return set()
    rows = store.db.execute(
        "SELECT a.story_id FROM articles_fts f JOIN articles a ON a.id = f.rowid"
        " WHERE articles_fts MATCH ?",
        (query.match(),),
    ).fetchall()
    return {r[0] for r in rows}


def newest_stories(store: Storage, text: str, limit: int = 10) -> list[int]:
    """The ``limit`` newest stories by substring scan: what page one newest-first must show."""
    query = fts.parse_query(text)
    if query is None:
        return []
    where = " AND ".join("instr(folded, ?) > 0" for _ in query.terms)
    rows = store.db.execute(
        f"SELECT story_id FROM articles WHERE {where} ORDER BY id DESC", query.terms
    ).fetchall()
    return list(dict.fromkeys(r[0] for r in rows))[:limit]


def run(quick: bool, seed: int = SEED) -> dict[str, Any]:
    n = size_for(quick)
    an = analyzer()
    info = cached(seed, n, an)
    store = open_storage(db_path(seed, n), an)

    def words(text: str) -> list[str]:
        return query_words(text, an)

    def names(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return query_names(text, an.taxonomy)

    reps, budget = (30, 1.0) if quick else (300, 30.0)
    cap = QUICK_CALL_CAP_S if quick else CALL_CAP_S
    like_reps = 2 if quick else 5
    total_articles = info["stored_articles"]
    cases: list[dict[str, Any]] = []
    for text in QUERIES:
        expected = store.search.substring_scan(text)
        found = fts_stories(store, text)
        recall = len(found & expected) / len(expected) if expected else float(not found)
        page = search_or_words(store.search, text, words, names, sort="newest", limit=10)
        page_ok = [h.story.id for h in page.hits] == newest_stories(store, text)
        like_ms = _time(lambda t=text: like_scan(store, t), like_reps, 60.0)
        hits = store.db.scalar(
            "SELECT COUNT(*) FROM articles_fts WHERE articles_fts MATCH ?",
            (fts.parse_query(text).match(),),  # type: ignore[union-attr]
        )
        for sort in SORTS:

            def call(t: str = text, s: str = sort) -> None:
                search_or_words(store.search, t, words, names, sort=s, limit=10)

            for _ in range(3):
                if _capped(store, call, cap)[1]:
                    break
            ms, interrupted = _time_capped(store, call, reps, budget, cap)
            p99 = percentile(ms, 99)
            cases.append(
                {
                    "query": text,
                    "sort": sort,
                    "article_hits": hits,
                    "hit_share": hits / total_articles,
                    "stories_expected": len(expected),
                    "reps": len(ms),
                    "p50_ms": percentile(ms, 50),
                    "p99_ms": p99,
                    "interrupted": interrupted,
                    "cap_ms": cap * 1000,
                    "like_p50_ms": percentile(like_ms, 50),
                    "speedup_p50": percentile(like_ms, 50) / max(1e-9, percentile(ms, 50)),
                    "target_ms": TARGETS_MS[sort],
                    "met": p99 <= TARGETS_MS[sort] and not interrupted,
                    "recall": recall,
                    "page_one_matches_scan": page_ok,
                }
            )
            print(
                f"  search {text!r} {sort}: p50 {cases[-1]['p50_ms']:.2f} ms,"
                f" p99 {p99:.2f} ms, LIKE {cases[-1]['like_p50_ms']:.1f} ms, recall {recall}",
                flush=True,
            )
    store.close()
    return {
        "articles": total_articles,
        "stories": info["stories"],
        "db_mb": info["db_mb"],
        "cases": cases,
        "recall_min": min(c["recall"] for c in cases),
        "cap_seconds": cap,
        "targets_ms": TARGETS_MS,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.search")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    result = run(args.quick, args.seed)
    path = save_result("search", args.quick, result)
    print(f"search: minimum recall {result['recall_min']} -> {path}")


if __name__ == "__main__":
    main()
