"""The report's ingest section: throughput against raw jieba, stages, profile."""

from __future__ import annotations

from typing import Any

from bench.report.format import when, yes


def ingest(r: dict[str, Any]) -> list[str]:
    sample = r["stage_sample"]
    per = 1000 / sample
    total = sum(r["stages"].values())
    n = r["articles"]
    rows = [
        f"| raw jieba, `jieba.lcut` (mean of {r['jieba_seconds_before']:.1f} s before, "
        f"{r['jieba_seconds_after']:.1f} s after) | {r['jieba_seconds']:.1f} "
        f"| {r['jieba_articles_per_s']:.0f} | {r['jieba_mb_per_s']:.2f} | 1.00× |",
    ]
    if r.get("rjieba_seconds"):
        rs = r["rjieba_seconds"]
        rows.append(
            f"| raw rjieba, `rjieba.cut` (mean of {r['rjieba_seconds_before']:.1f} s before, "
            f"{r['rjieba_seconds_after']:.1f} s after) | {rs:.1f} | {n / rs:.0f} "
            f"| {r['text_mb'] / rs:.2f} | {r['jieba_seconds'] / rs:.2f}× |"
        )
    rows += [
        f"| ingest pipeline, engine {r['engine']} (default) | {r['pipeline_seconds']:.1f} "
        f"| {r['pipeline_articles_per_s']:.0f} | {r['pipeline_mb_per_s']:.2f} "
        f"| **{r['ratio']:.2f}×** |",
        f"| ingest pipeline, engine jieba forced | {r['pipeline_jieba_seconds']:.1f} "
        f"| {r['pipeline_jieba_articles_per_s']:.0f} | {r['pipeline_jieba_mb_per_s']:.2f} "
        f"| {r['ratio_jieba_engine']:.2f}× |",
    ]
    gain = r["pipeline_jieba_seconds"] / r["pipeline_seconds"]
    lines = [
        "## Ingest",
        "",
        f"{n:,} articles ({r['text_mb']:.1f} MB of text, {r['feed_mb']:.1f} MB in "
        f"{r['feeds']} RSS files of 1,000 items) ingested into a fresh database through "
        "`Core.ingestor()`, the path of `bot.py ingest --feed FILE`: read, parse, clean, "
        "fold, segment, tag, keywords, figures, summary, MinHash, store, merge, index "
        "(committed 200 entries to a transaction). Twice, each into a fresh database: with "
        'the tokenizer\'s default engine and with `Tokenizer(engine="jieba")` forced. '
        "Baselines: `jieba.lcut` and `rjieba.cut` (accurate mode with HMM, their own "
        "dictionaries) over the same titles and bodies, timed before and after the two "
        f"pipelines. Dictionaries are loaded before timing. Finished {when(r)}.",
        "",
        "| | seconds | articles/s | MB/s | vs raw jieba |",
        "| --- | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        f"The Rust segmenter makes the whole pipeline {gain:.1f}× faster than the same "
        f"pipeline on jieba. Stored: {r['stored_articles']:,} articles in "
        f"{r['stories']:,} stories ({r['outcomes']['merged']:,} merged as duplicates; "
        f"with jieba forced {r['stories_jieba']:,} stories, "
        f"{r['outcomes_jieba']['merged']:,} merged). Target ≥ {r['target_ratio']}× raw "
        f"jieba: {yes(r['met'])}"
        + (f", by a factor of {r['target_ratio'] / r['ratio']:.1f}." if not r["met"] else "."),
        "",
        "### Where the time goes",
        "",
        f"Each stage of `Analyzer.analyze` ({r['engine']}) timed on its own over the first "
        f"{sample:,} entries (same calls in the same order), plus feed parsing and "
        "`Articles.upsert` (one transaction) into a fresh database. Raw jieba over the same "
        f"{sample:,} texts took {r['stage_jieba_seconds'] * per:.2f} ms per article"
        + (
            f", raw rjieba {r['stage_rjieba_seconds'] * per:.2f} ms."
            if r.get("stage_rjieba_seconds")
            else "."
        ),
        "",
        "| stage | ms per article | share | vs raw jieba |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, seconds in r["stages"].items():
        lines.append(
            f"| {name} | {seconds * per:.2f} | {seconds / total:.0%} "
            f"| {seconds / r['stage_jieba_seconds']:.2f}× |"
        )
    lines += [
        f"| **total** | **{total * per:.2f}** | 100% | {total / r['stage_jieba_seconds']:.2f}× |",
        "",
        f"cProfile of the ingest of {r['profile_articles']:,} articles (one feed file, fresh "
        "database), top functions by own time:",
        "",
        "```",
        r["profile"],
        "```",
        "",
    ]
    return lines
