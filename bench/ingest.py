"""Ingest bench: the whole ingest path against raw jieba segmentation of the same text.

The generated articles are written as RSS 2.0 files of 1,000 items (20 feeds for 20k
articles; quick: 1 for 500) and ingested into a fresh database through ``Core.ingestor()``,
the code path of ``python bot.py ingest --feed FILE ...``: read, parse (feedparser), clean
(inscriptis), fold (OpenCC), segment, tag, keywords, figures, summary, MinHash, store,
merge and index. It runs twice, each time into a fresh database: with the tokenizer's
default engine (rjieba when installed) and with ``engine="jieba"`` forced, to show what
the Rust segmenter buys. The baseline is ``jieba.lcut`` (accurate mode with HMM, jieba's
own dictionary) over the title and body of the same articles, timed just before and just
after the pipelines in the same process; ``rjieba.cut`` (same mode) is a second baseline
line. Dictionaries are loaded before any timing.

A second pass times each stage of ``Analyzer.analyze`` separately on a sample and runs the
pipeline under cProfile, to show where the time goes.

    python -m bench.ingest [--quick]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import pstats
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jieba

from analysis import dedup
from analysis.summary import summarize
from analysis.text import clean, fold, is_traditional
from analysis.tokenizer import Tokenizer, available_engines
from app.config import DatabaseSettings, FeedSettings, Settings
from app.core import Core
from bench import OUT, SEED, save_result
from bench.generate import Article, generate, write_rss
from feeds.fetch import FetchOptions, fetch
from feeds.parse import Entry, parse_feed
from storage import fts

FULL_ARTICLES = 20_000
QUICK_ARTICLES = 500
STAGE_SAMPLE = 1_000
LOCAL = FetchOptions(allow_local=True)  # the generated feeds are files
TARGET_RATIO = 0.5


def _feeds(articles: list[Article], seed: int) -> list[Path]:
    directory = OUT / f"feeds-s{seed}-n{len(articles)}"
    shutil.rmtree(directory, ignore_errors=True)
    return write_rss(articles, directory)


def _core(path: Path, engine: str = "auto") -> Core:
    """A fresh database; ``engine`` replaces the analyser's segmenter before first use."""
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    settings = Settings(database=DatabaseSettings(str(path)), feeds=FeedSettings(urls=()))
    core = Core(settings)
    if engine != "auto":
        core.analyzer.tokenizer = Tokenizer(core.taxonomy.words, engine=engine)
    core.analyzer.analyze("预热", "<p>长株潭一体化预热。</p>")  # load dictionaries untimed
    return core


def _ingest(core: Core, paths: list[Path]) -> tuple[float, dict[str, int]]:
    now = int(time.time())
    feeds = [core.storage.feeds.ensure(str(p), now) for p in paths]
    ingestor = core.ingestor()
    start = time.perf_counter()
    reports = ingestor.ingest(feeds, now)
    seconds = time.perf_counter() - start
    errors = [r.error for r in reports if r.error]
    if errors:
        raise RuntimeError(f"ingest failed: {errors[0]}")
    totals = {
        "new": sum(r.new for r in reports),
        "merged": sum(r.merged for r in reports),
        "updated": sum(r.updated for r in reports),
    }
    return seconds, totals


def _jieba(texts: list[str]) -> float:
    start = time.perf_counter()
    for text in texts:
        jieba.lcut(text)
    return time.perf_counter() - start


def _rjieba(texts: list[str]) -> float | None:
    """Seconds for ``rjieba.cut`` (accurate mode with HMM), or None without rjieba."""
    try:
        import rjieba
    except ImportError:
        return None
    rjieba.cut("长株潭一体化")  # load the dictionary untimed
    start = time.perf_counter()
    for text in texts:
        rjieba.cut(text, True)
    return time.perf_counter() - start


def _stages(core: Core, entries: list[Entry]) -> dict[str, float]:
    """Seconds per stage of ``Analyzer.analyze`` (same calls, same order) plus storage."""
    an = core.analyzer
    totals: dict[str, float] = {}

    def timed(name: str, fn: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        value = fn()
        totals[name] = totals.get(name, 0.0) + time.perf_counter() - start
        return value

    for e in entries:
        title = timed("clean (inscriptis, whitespace)", lambda e=e: clean(e.title))
        text = timed("clean (inscriptis, whitespace)", lambda e=e: clean(e.content))
        ftitle = timed("fold (NFKC, OpenCC t2s)", lambda t=title: fold(t))
        fbody = timed("fold (NFKC, OpenCC t2s)", lambda t=text: fold(t))
        words = timed("segment body (Tokenizer.words)", lambda b=fbody: an.tokenizer.words(b))
        title_words = timed("segment title", lambda t=ftitle: an.tokenizer.words(t))
        figures = timed("figures", lambda t=text: an.figures(t))
        timed("is_traditional (OpenCC again)", lambda t=title + text: is_traditional(t))
        timed("tag cities and topics", lambda a=ftitle, b=fbody: an.tagger.cities(a, b))
        timed("tag cities and topics", lambda a=ftitle, b=fbody: an.tagger.topics(a, b))
        timed(
            "keywords (TF-IDF over the words cut)",
            lambda w=title_words + words: an.tokenizer.keywords("", an.keyword_count, words=w),
        )
        timed("summary", lambda t=text, f=figures: summarize(t, f))
        timed("MinHash signature", lambda w=words: dedup.signature(w))
        timed("FTS document (index_doc)", lambda a=ftitle, b=fbody: fts.index_doc(a + "\n" + b))
    return totals


def _profile(core: Core, path: Path, top: int = 25) -> str:
    profiler = cProfile.Profile()
    now = int(time.time())
    feed = core.storage.feeds.ensure(str(path), now)
    profiler.enable()
    core.ingestor().ingest([feed], now)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    return _trim(out.getvalue())


def _trim(report: str) -> str:
    """pstats output from the column header on, with the repository path shortened."""
    root = str(Path(__file__).resolve().parent.parent) + "/"
    lines = report.splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    kept = [
        line.replace(root, "").replace(str(Path(jieba.__file__).parent.parent) + "/", "")
        for line in lines[start:]
        if line.strip()
    ]
    return "\n".join(kept)


def run(quick: bool, seed: int = SEED) -> dict[str, Any]:
    n = QUICK_ARTICLES if quick else FULL_ARTICLES
    corpus = generate(n, seed)
    texts = [a.title + "\n" + a.body for a in corpus.articles]
    text_mb = sum(len(t.encode()) for t in texts) / 1e6
    paths = _feeds(corpus.articles, seed)
    feed_mb = sum(p.stat().st_size for p in paths) / 1e6
    jieba.initialize()
    jieba.lcut("长株潭一体化")
    engine = available_engines()[0]

    jieba_before = _jieba(texts)
    rjieba_before = _rjieba(texts)
    core = _core(OUT / "ingest.db")
    pipeline, totals = _ingest(core, paths)
    counts = core.storage.articles.counts()
    core.close()
    core = _core(OUT / "ingest-jieba.db", engine="jieba")
    pipeline_jieba, totals_jieba = _ingest(core, paths)
    counts_jieba = core.storage.articles.counts()
    core.close()
    jieba_after = _jieba(texts)
    rjieba_after = _rjieba(texts)
    baseline = (jieba_before + jieba_after) / 2
    rjieba_seconds = (
        (rjieba_before + rjieba_after) / 2
        if rjieba_before is not None and rjieba_after is not None
        else None
    )
    print(
        f"  ingest: pipeline {pipeline:.1f} s ({engine}), {pipeline_jieba:.1f} s (jieba);"
        f" raw jieba {jieba_before:.1f}/{jieba_after:.1f} s,"
        f" raw rjieba {rjieba_before or 0:.2f}/{rjieba_after or 0:.2f} s",
        flush=True,
    )

    sample = min(STAGE_SAMPLE, n) if not quick else 300
    first = parse_feed(fetch(str(paths[0]), options=LOCAL).content)
    parse_start = time.perf_counter()
    for p in paths[: max(1, sample // 1000)]:
        parse_feed(fetch(str(p), options=LOCAL).content)
    parse_seconds = (time.perf_counter() - parse_start) * sample / min(n, 1000)
    core = _core(OUT / "ingest-stages.db")
    entries = list(first.entries[:sample])
    stages = _stages(core, entries)
    stages["read and parse feed (feedparser)"] = parse_seconds
    analyses = [core.analyzer.analyze(e.title, e.content) for e in entries]
    feed_id = core.storage.feeds.ensure("bench://stages", int(time.time())).id
    start = time.perf_counter()
    with core.storage.db.transaction():  # as the ingestor does (batches of 200)
        for e, a in zip(entries, analyses, strict=True):
            core.storage.articles.upsert(feed_id, e, a, int(time.time()))
    stages["store: upsert, merge, FTS (Articles.upsert)"] = time.perf_counter() - start
    core.close()
    sample_jieba = _jieba(texts[:sample])
    sample_rjieba = _rjieba(texts[:sample])

    core = _core(OUT / "ingest-profile.db")
    profile_feed = write_rss(corpus.articles[:sample], OUT / "profile-feed")[0]
    profile = _profile(core, profile_feed)
    core.close()

    return {
        "articles": n,
        "engine": engine,
        "stored_articles": counts["articles"],
        "stories": counts["stories"],
        "stories_jieba": counts_jieba["stories"],
        "outcomes": totals,
        "outcomes_jieba": totals_jieba,
        "feeds": len(paths),
        "text_mb": round(text_mb, 2),
        "feed_mb": round(feed_mb, 2),
        "pipeline_seconds": pipeline,
        "pipeline_jieba_seconds": pipeline_jieba,
        "jieba_seconds_before": jieba_before,
        "jieba_seconds_after": jieba_after,
        "jieba_seconds": baseline,
        "rjieba_seconds_before": rjieba_before,
        "rjieba_seconds_after": rjieba_after,
        "rjieba_seconds": rjieba_seconds,
        "pipeline_articles_per_s": n / pipeline,
        "pipeline_mb_per_s": text_mb / pipeline,
        "pipeline_jieba_articles_per_s": n / pipeline_jieba,
        "pipeline_jieba_mb_per_s": text_mb / pipeline_jieba,
        "jieba_articles_per_s": n / baseline,
        "jieba_mb_per_s": text_mb / baseline,
        "ratio": baseline / pipeline,
        "ratio_jieba_engine": baseline / pipeline_jieba,
        "target_ratio": TARGET_RATIO,
        "met": baseline / pipeline >= TARGET_RATIO,
        "stage_sample": sample,
        "stage_jieba_seconds": sample_jieba,
        "stage_rjieba_seconds": sample_rjieba,
        "stages": dict(sorted(stages.items(), key=lambda kv: -kv[1])),
        "profile_articles": sample,
        "profile": profile,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = run(args.quick, args.seed)
    path = save_result("ingest", args.quick, result)
    print(f"ingest: {result['ratio']:.2f}x raw jieba -> {path}")


if __name__ == "__main__":
    main()
