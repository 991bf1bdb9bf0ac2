"""The report's digest sections: composing, delivering and the Monday peak."""

from __future__ import annotations

from typing import Any

from bench.report.format import when, yes


def digests(r: dict[str, Any]) -> list[str]:
    c, p, d, w = r["composing"], r["plan_due"], r["delivery"], r["week"]
    per = 1000 / max(1, c["chats"])
    msgs = ", ".join(f"{k} message(s): {v:,}" for k, v in c["messages_per_digest"].items())
    if p["full"]:
        plan_line = (
            f"| whole `Planner.plan_due(now)`, all {p['planned']:,} chats | "
            f"{p['seconds']:.1f} | {p['per_chat_ms']:.1f} | measured |"
        )
    else:
        plan_line = (
            f"| whole `Planner.plan_due(now)`, {r['chats']:,} chats | "
            f"~{p['projected_seconds']:,.0f} (estimated) | {p['per_chat_ms']:.1f} "
            f"| measured on {p['planned']:,} due chats; all {r['chats']:,} would exceed the "
            f"{p['budget_seconds']:.0f} s budget of this bench |"
        )
    parts = ", ".join(f"{k} {v:,}" for k, v in sorted(p["parts"].items()))
    states = ", ".join(f"{k} {v:,}" for k, v in sorted(d["ledger_states"].items()))
    return [
        "## Digests",
        "",
        "### Composing",
        "",
        f"A fresh database with a week of {c['week_stories']:,} stories ({w['articles']:,} "
        "generated articles through the full analysis, key figures included, first seen "
        f"spread over the seven days) and {r['chats']:,} Telegram chats, each with three "
        "random subscriptions (a city, a topic or a city·topic pair out of 31), all due now. "
        "Composing: the week's stories loaded once, then per chat `compose` + `render_html` "
        "+ `pack` (the Telegram messages). The whole planner additionally reloads the "
        "stories, draws the chart and writes the ledger for every chat. "
        f"Finished {when(r)}.",
        "",
        "| step | seconds | ms per digest | |",
        "| --- | ---: | ---: | --- |",
        f"| load the due chats (`Chats.due`) | {c['load_chats_seconds']:.2f} "
        f"| {c['load_chats_seconds'] * per:.2f} | |",
        f"| load the week's stories once (`recent_stories`) | {c['load_stories_seconds']:.2f} "
        "| | |",
        f"| merge the week's key figures once (`FigureIndex`) "
        f"| {c.get('figure_index_seconds', 0):.2f} | | |",
        f"| `compose` (with the condensed block) | {c['compose_seconds']:.2f} "
        f"| {c['compose_seconds'] * per:.2f} | |",
        f"| `render_html` | {c['render_seconds']:.2f} | {c['render_seconds'] * per:.2f} | |",
        f"| `pack` (split for Telegram) | {c['split_seconds']:.2f} "
        f"| {c['split_seconds'] * per:.2f} | |",
        f"| **composing, all {c['chats']:,} digests** | **{c['total_seconds']:.2f}** "
        f"| {c['total_seconds'] * per:.2f} (p50 {c['digest_p50_ms']:.1f}, "
        f"p99 {c['digest_p99_ms']:.1f}) | target ≤ {c['target_seconds']:g} s "
        f"{yes(c['met'])} |",
        f"| chart (`render_figure_chart`, else `render_chart`), sample of {c['chart_sample']}"
        f" ({c.get('figure_charts', 0)} figure charts) | | {c['chart_ms']:.1f} "
        "| not in the target |",
        plan_line,
        "",
        f"Digests list {c['stories_listed_mean']:.1f} stories on average (capped at 12) and "
        f"{c.get('key_figures_mean', 0):.1f} key figures (capped at 8; "
        f"{c.get('with_key_figures', 0):,} digests have any; {c.get('tracked_lists', 0):,} "
        f"task lists tracked); {msgs}. Ledger rows written by the planner: {parts}.",
        "",
        "### Delivering",
        "",
        f"{d['messages']:,} chats with one pending text part each (`Deliveries.plan`), sent by "
        '`Deliverer(core, {"telegram": TelegramSender(bot)}).run(horizon=600)` (run again '
        "while parts are pending: `pending()` returns 1,000 at a time) with the real clock "
        "and `asyncio.sleep`, through python-telegram-bot to `tests.fake_botapi.FakeBotAPI` "
        "over HTTP on 127.0.0.1. Rate from the fake's send times (first to last); lost and "
        "duplicated from its journal against the chats planned.",
        "",
        "| measure | value | target |",
        "| --- | ---: | --- |",
        f"| achieved rate | {d['rate_per_s']:.2f} msgs/s ({d['rate_share']:.1%} of "
        f"{d['configured_rate']:g}/s) | ≥ {d['target_share']:.0%} "
        f"{yes(d['rate_share'] >= d['target_share'])} |",
        f"| gap between sends, p50 / p99 | {d['gap_p50_ms']:.1f} / {d['gap_p99_ms']:.1f} ms "
        f"| {1000 / d['configured_rate']:.1f} ms |",
        f"| delivered / lost / duplicated | {d['delivered']:,} / {d['lost']} / "
        f"{d['duplicated']} | none lost {yes(d['lost'] == 0 and d['duplicated'] == 0)} |",
        f"| API errors, text altered | {d['api_errors']}, {d['text_differs']} | |",
        f"| ledger afterwards | {states} | |",
        f"| wall time ({d['runs']} `run` call(s)) | {d['seconds']:.1f} s | |",
        "",
    ]


def peak(r: dict[str, Any]) -> list[str]:
    t = r["targets"]
    rows = []
    for p in r["runs"]:
        kinds = ", ".join(f"{k} {v:,}" for k, v in sorted(p["parts_by_kind"].items()))
        rows.append(
            f"| {p['chats']:,} | {p['first_send_s']:.2f} | {p['plan_ms_per_chat']:.2f} "
            f"| {p['distinct_digests']:,} / {p['charts']:,} | {p['parts_per_digest']:.2f} "
            f"({kinds}) | {p['total_s']:.0f} / {p['rate_bound_s']:.0f} "
            f"(**{p['bound_ratio']:.2f}×**) | {p['rate_per_s']:.1f} "
            f"| {p['delivered']:,} / {p['lost']} / {p['duplicated']} "
            f"| sent {p['report']['sent']:,}, left {p['report']['left']} "
            f"| {p['peak_rss_mb']:.0f} ({p.get('drawing_rss_mb', 0):.0f}) "
            f"| {p['ledger_bytes_per_chat'] / 1024:.1f} KB → "
            f"{p['ledger_bytes_per_chat_purged'] / 1024:.2f} KB |"
        )
    return [
        "## Monday peak",
        "",
        "N Telegram chats due in the same minute (one to three random subscriptions each out "
        "of 31), a week of "
        f"{r['runs'][0]['week_stories']:,} generated stories, and one `digest send`: "
        '`Jobs(core, {"telegram": TelegramSender(bot)}).send_digests()` with the real clock, '
        "through python-telegram-bot to the fake Bot API on 127.0.0.1 (answering at once). "
        "Planning (compose, render, split, chart spec, ledger) runs in a thread committing "
        "small batches; a separate process draws the distinct charts ahead of the sender. "
        "First send: from the call (the due time) to the first message reaching the fake. "
        "Planning: the planner thread's wall time per chat, measured while the sender runs "
        "beside it. Whole peak: the call to the last message, against the bound set by the "
        "rate limit (parts ÷ 30 per second). Lost / duplicated: the fake's journal against "
        "the ledger. Peak RSS: `ru_maxrss` of the process, fake server included, and of the "
        "chart-drawing process (sizes run in one process, so a later size's figure includes "
        "the earlier ones). Ledger: bytes "
        "of part bodies, stored charts and story lists per chat, before and after the "
        f"retention purge. Finished {when(r)}.",
        "",
        "| chats | first send s | planning ms/chat | distinct digests / charts "
        "| parts per digest | whole peak s / bound s | msgs/s | delivered / lost / dup "
        "| summary line | peak RSS MB (drawing process) | ledger per chat |",
        "| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- | ---: | --- |",
        *rows,
        "",
        "Before (measured for issue 16 with 200 to 3,000 chats due at once): nothing was "
        "sent until every chat was planned, at 61–76 ms a chat (98% drawing one chart per "
        "chat), so the first message left after 190 s at 3,000 chats; draining took 1.8× "
        "the rate bound (460 s against 253 s); one run sent at most 1,000 parts and said "
        '"left for later 0" with 6,586 still pending; 2.5 messages a digest; 17 KB of PNG '
        "per chat and week kept for ever.",
        "",
        f"Targets: first send ≤ {t['first_send_s']:g} s, planning ≤ "
        f"{t['plan_ms_per_chat']:g} ms per chat, the whole peak within "
        f"{t['bound_ratio']:g}× the rate bound, nothing lost or repeated.",
        "",
    ]
