"""The report's summary table: one row per target, met or missed."""

from __future__ import annotations

from typing import Any

from bench.report.format import yes


def summary(results: dict[str, dict[str, Any]]) -> list[str]:
    rows: list[str] = []
    if "ingest" in results:
        r = results["ingest"]
        rows.append(
            f"| ingest ≥ {r['target_ratio']}× raw jieba ({r.get('engine', 'jieba')}) "
            f"| {r['ratio']:.2f}× | {yes(r['met'])} |"
        )
    if "search" in results:
        r = results["search"]
        for sort, limit in r["targets_ms"].items():
            worst = max(
                (c for c in r["cases"] if c["sort"] == sort),
                key=lambda c: (c.get("interrupted", 0) > 0, c["p99_ms"]),
            )
            shown = (
                f"≥ {worst['p99_ms'] / 1000:g} s (interrupted)"
                if worst.get("interrupted")
                else f"{worst['p99_ms']:.1f} ms"
            )
            rows.append(
                f"| search p99 ≤ {limit:g} ms, {sort}, {r['stories']:,} stories "
                f"(worst query: {worst['query']}) "
                f"| {shown} | {yes(worst['p99_ms'] <= limit and not worst.get('interrupted'))} |"
            )
        rows.append(
            f"| search recall = 1.0 against the substring scan | min {r['recall_min']:.3f} "
            f"| {yes(r['recall_min'] == 1.0)} |"
        )
    if "dedup" in results:
        r = results["dedup"]
        t = r["targets"]
        rows += [
            f"| dedup recall ≥ {t['recall']} ({r['articles']:,} articles) | {r['recall']:.4f} "
            f"| {yes(r['recall'] >= t['recall'])} |",
            f"| dedup precision ≥ {t['precision']} | {r['precision']:.4f} "
            f"| {yes(r['precision'] >= t['precision'])} |",
            f"| dedup peak memory ≤ {t['peak_rss_mb']:g} MB | {r['peak_rss_mb']:.0f} MB "
            f"| {yes(r['peak_rss_mb'] <= t['peak_rss_mb'])} |",
        ]
    if "digests" in results:
        c = results["digests"]["composing"]
        d = results["digests"]["delivery"]
        p = results["digests"]["plan_due"]
        plan = f"{p['seconds']:.0f} s" if p["full"] else f"~{p['projected_seconds']:,.0f} s (est.)"
        rows += [
            f"| compose {c['chats']:,} weekly digests ≤ {c['target_seconds']:g} s "
            f"| {c['total_seconds']:.1f} s | {yes(c['met'])} |",
            f"| (not a target) whole `Planner.plan_due` for {results['digests']['chats']:,} "
            f"chats | {plan} | |",
            f"| deliver {d['messages']:,} messages ≥ {d['target_share']:.0%} of "
            f"{d['configured_rate']:g}/s, none lost | {d['rate_per_s']:.1f}/s "
            f"({d['rate_share']:.0%}), {d['lost']} lost, {d['duplicated']} duplicated "
            f"| {yes(d['met'])} |",
        ]
    if "peak" in results:
        t = results["peak"]["targets"]
        for p in results["peak"]["runs"]:
            ok = (
                (p["first_send_s"] or 1e9) <= t["first_send_s"]
                and p["plan_ms_per_chat"] <= t["plan_ms_per_chat"]
                and p["bound_ratio"] <= t["bound_ratio"]
                and p["lost"] == 0
                and p["duplicated"] == 0
            )
            rows.append(
                f"| Monday peak, {p['chats']:,} chats in one `digest send`: first send ≤ "
                f"{t['first_send_s']:g} s, planning ≤ {t['plan_ms_per_chat']:g} ms/chat, "
                f"whole peak ≤ {t['bound_ratio']:g}× the rate bound, none lost "
                f"| {p['first_send_s']:.1f} s, {p['plan_ms_per_chat']:.2f} ms, "
                f"{p['bound_ratio']:.2f}×, {p['lost']} lost | {yes(ok)} |"
            )
    if "footprint" in results:
        r = results["footprint"]
        b = r["bot"]
        rows += [
            f"| running bot, {r['stories']:,} stories, ≤ {r['target_rss_mb']:g} MB resident "
            f"| {b['rss_mb']:.0f} MB | {yes(r['rss_met'])} |",
            f"| start to first answer ≤ {r['target_start_seconds']:g} s "
            f"| {b['start_seconds']:.2f} s | {yes(r['start_met'])} |",
        ]
    return [*rows, ""]
