"""The report's sections on the corpus database: search latency and dedup quality."""

from __future__ import annotations

from typing import Any

from bench.report.format import times, when, yes


def search(r: dict[str, Any]) -> list[str]:
    lines = [
        "## Search",
        "",
        f"{r['stories']:,} stories ({r['articles']:,} articles, database {r['db_mb']:.0f} MB). "
        "`Search.search(q, sort=..., limit=10)` (page one, the bot's call, including story "
        "loading and snippets) after three warm-up calls; p50 and p99 over the repetitions. "
        "Relevance (the default order) scores the bounded candidates of `storage.ranking` "
        "(the newest 200 matches of the small heads index, which holds each article's "
        "title, lead and the words it repeats, and the newest 100 body matches; the heads "
        "are not read when the body matches are fewer than 100, i.e. all of them; at most "
        "64 scored in full), then lists any other match newest first. "
        "Baseline: `SELECT id, story_id FROM articles WHERE folded LIKE '%q%'` (one LIKE per "
        "term, ANDed), timed in the same run. Recall: story ids of every FTS hit for the "
        "search's MATCH expression against `Search.substring_scan`; page one newest-first "
        "is also checked against the scan's ten newest stories. The no-hit query is made "
        "of common characters; finding nothing as a phrase, the search retries it as its "
        f"words (潭州 / 大桥), as the bot does. A call still running after "
        f"{r.get('cap_seconds', 2):g} s is interrupted (`Connection.interrupt`) and counted "
        'at the cap ("cut"); after three cuts the case stops. '
        f"Finished {when(r)}.",
        "",
        "| query | articles hit | sort | reps | p50 ms | p99 ms | target p99 | LIKE scan p50 ms "
        "| speedup (p50) | recall | page one = scan |",
        "| --- | ---: | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for c in r["cases"]:
        met = "met" if c["met"] else "**missed**"
        cut = c.get("interrupted", 0)
        p50 = f"{c['p50_ms']:.2f}" if c["p50_ms"] < c.get("cap_ms", 1e12) else "≥ cap"
        p99 = f"{c['p99_ms']:.2f}" if not cut else f"≥ {c['cap_ms']:,.0f} ({cut} cut)"
        lines.append(
            f"| {c['query']} | {c['article_hits']:,} ({c['hit_share']:.0%}) | {c['sort']} "
            f"| {c['reps']} | {p50} | {p99} | ≤ {c['target_ms']:g} ms "
            f"{met} | {c['like_p50_ms']:.0f} | {'≤ ' if cut else ''}{times(c['speedup_p50'])}× "
            f"| {c['recall']:.3f} | {'yes' if c['page_one_matches_scan'] else '**no**'} |"
        )
    lines += [
        "",
        "The database is the dedup bench's, built through the real `Articles.upsert` "
        "(stories merged by MinHash LSH, FTS kept in step) with a cheaper analysis: "
        "`bench.generate.light_analysis` computes the same display text, folded text, city "
        "and topic tags, script flag and MinHash signature as the pipeline, but skips "
        "keywords, figures and the summary (the lead sentence instead), which search does "
        "not read. Upserts are grouped 500 to a transaction.",
        "",
    ]
    return lines


def dedup(r: dict[str, Any]) -> list[str]:
    kinds = ", ".join(f"{k} {v:.3f}" for k, v in r["recall_by_kind"].items())
    cached = " (figures from the cached build)" if r.get("reused_cached_build") else ""
    return [
        "## Dedup",
        "",
        f"{r['articles']:,} generated articles stored through `Articles.upsert` "
        f"(light analysis, same MinHash signature as the pipeline, merge threshold 0.5, "
        f"500 to a transaction) in {r['build_seconds']:.0f} s "
        f"({r['articles'] / r['build_seconds']:.0f} articles/s){cached}: {r['stories']:,} "
        f"stories, database {r['db_mb']:.0f} MB. Finished {when(r)}.",
        "",
        "| measure | value | target |",
        "| --- | ---: | --- |",
        f"| planted reposts merged into their original's story (recall) "
        f"| {r['recall']:.4f} ({r['planted_reposts']:,} planted) "
        f"| ≥ {r['targets']['recall']} {yes(r['recall'] >= r['targets']['recall'])} |",
        f"| recall by kind of repost | {kinds} | |",
        f"| article pairs sharing a story that are the same story (precision) "
        f"| {r['precision']:.4f} ({r['correct_pairs']:,} of {r['predicted_pairs']:,}) "
        f"| ≥ {r['targets']['precision']} "
        f"{yes(r['precision'] >= r['targets']['precision'])} |",
        f"| same-story pairs found (pairwise recall) | {r['pair_recall']:.4f} "
        f"({r['true_pairs']:,} pairs) | |",
        f"| follow-ups (same project, new text) wrongly merged | {r['follow_ups_merged']} "
        f"of {r['follow_ups']:,} | |",
        f"| peak RSS of the build process (`ru_maxrss`) | {r['peak_rss_mb']:.0f} MB "
        f"| ≤ {r['targets']['peak_rss_mb']:g} MB "
        f"{yes(r['peak_rss_mb'] <= r['targets']['peak_rss_mb'])} |",
        f"| RSS once the analyser is loaded (baseline) | {r['rss_before_mb']:.0f} MB | |",
        "",
    ]
