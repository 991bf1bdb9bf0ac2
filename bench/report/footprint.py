"""The report's footprint section: the running bot's memory and start-up."""

from __future__ import annotations

from typing import Any

from bench.report.format import when, yes


def footprint(r: dict[str, Any]) -> list[str]:
    b, base = r["bot"], r["baseline"]
    replies = ", ".join(
        f"{x['command']} {x['ms']:.0f} ms" + (f" ({x['rss_mb']:.0f} MB)" if "rss_mb" in x else "")
        for x in b["replies"]
    )
    return [
        "## Footprint",
        "",
        f"A real `python bot.py --db DB run` process on a copy of the dedup database "
        f"({r['stories']:,} stories, {r['articles']:,} articles, {r['db_mb']:.0f} MB), "
        "its times shifted so that the newest story is from now and stories were first "
        'seen when published (so "the last 30 days" is a month of news, about 5k stories), '
        "built-in config (the three bundled sample feeds, polled at start), "
        "`TELEGRAM_BOT_TOKEN` and `TELEGRAM_API_BASE_URL` pointing at the fake Bot API, "
        "which it long-polls. `/search 湘潭` is pushed as the process starts; start-up is "
        "from `Popen` to that reply reaching the fake. Then nine more commands, each timed "
        "to its reply, a 2 s pause, and `VmRSS`/`VmHWM` from `/proc/PID/status`; then "
        'SIGTERM. Baseline: `python -c "import telegram, jieba"` in the same run. '
        f"Finished {when(r)}.",
        "",
        "| | resident (VmRSS) | peak (VmHWM) | start to ready / first answer |",
        "| --- | ---: | ---: | ---: |",
        f"| baseline: `import telegram, jieba` | {base['rss_mb']:.0f} MB "
        f"| {base['hwm_mb']:.0f} MB | {base['start_seconds']:.2f} s |",
        f"| the bot, after ten commands | **{b['rss_mb']:.0f} MB** | {b['hwm_mb']:.0f} MB "
        f"| **{b['start_seconds']:.2f} s** (first getUpdates {b['first_poll_seconds']:.2f} s) |",
        f"| ratio | {b['rss_mb'] / base['rss_mb']:.1f}× | | "
        f"{b['start_seconds'] / base['start_seconds']:.1f}× |",
        f"| target | ≤ {r['target_rss_mb']:g} MB {yes(r['rss_met'])} | "
        f"| ≤ {r['target_start_seconds']:g} s {yes(r['start_met'])} |",
        "",
        f"Reply times (push to reply) and the bot's RSS after each: {replies}. "
        f"Exit code after SIGTERM: {b['exit_code']}.",
        "",
        *breakdown(r.get("breakdown", [])),
    ]


def breakdown(steps: list[list[Any]]) -> list[str]:
    if not steps:
        return []
    lines = [
        "Where the memory goes: resident size after each import and load the bot does, in "
        "one fresh process (`bench.footprint.breakdown`; the running bot adds its database "
        "cache, PTB's and the scheduler's state, and what the commands loaded):",
        "",
        "| step | resident MB | added MB |",
        "| --- | ---: | ---: |",
    ]
    before = 0.0
    for name, mb in steps:
        lines.append(f"| {name} | {mb:.0f} | {mb - before:+.0f} |")
        before = mb
    return [*lines, ""]
