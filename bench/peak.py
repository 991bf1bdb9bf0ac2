"""Monday peak bench: N chats due in the same minute, one `digest send`, at the rate limit.

For each size (full: 1,000 and 10,000 chats; quick: 50) a fresh database holds a week of
generated stories (full analysis, first seen over the seven days before now) and N
Telegram chats with one to three random subscriptions each (a city, a topic or a
city·topic pair out of 31), all due now. Then exactly what `python bot.py digest send`
does: ``Jobs(core, {"telegram": TelegramSender(bot)}).send_digests()`` with the real
clock, through python-telegram-bot to ``tests.fake_botapi.FakeBotAPI`` over HTTP on
127.0.0.1 (its own thread, answering at once). Planning runs in its thread and commits
batches while the sender sends.

Measured: the first message's delay after the call (the due time), planning per chat
(wall time of the planner thread over the chats it planned, while the sender runs
beside it), distinct digests composed, parts per digest, the whole run against the
bound set by the rate limit (parts / 30 per second), lost and duplicated messages (the
fake's journal against the ledger), what the summary line would say, peak RSS of the
process (``ru_maxrss``, the fake server included) and of the chart-drawing process, and
ledger bytes per chat (bodies, charts and story lists; and after the retention purge).

    python -m bench.peak [--quick] [--paid]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import resource
import time
from collections import Counter
from pathlib import Path
from typing import Any

from app.config import DatabaseSettings, FeedSettings, Settings, TelegramSettings
from app.core import Core
from app.jobs import Jobs
from bench import OUT, SEED, peak_rss_mb, save_result
from bench.digests import fill_week
from domain.models import Subscription

WEEK = 7 * 86400
FULL = {"sizes": (1000, 10_000), "stories": 2000}
QUICK = {"sizes": (50,), "stories": 200}
TARGETS = {"first_send_s": 5.0, "plan_ms_per_chat": 2.0, "bound_ratio": 1.1}

log = logging.getLogger(__name__)


def _core(path: Path, now: int, paid: bool) -> Core:
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    settings = Settings(
        database=DatabaseSettings(str(path)),
        feeds=FeedSettings(urls=()),
        telegram=TelegramSettings(paid_broadcast=paid),
    )
    return Core(settings, clock=lambda: now)


def add_chats(core: Core, n: int, seed: int, due: int) -> None:
    """``n`` Telegram chats with 1-3 random subscriptions each, all due at ``due``."""
    rng = random.Random(seed)
    cities, topics = core.taxonomy.city_names, core.taxonomy.topic_names
    choices = (
        [Subscription(c, None) for c in cities]
        + [Subscription(None, t) for t in topics]
        + [Subscription(c, t) for c in cities for t in topics]
    )
    store = core.storage
    with store.db.transaction():
        for i in range(n):
            chat = store.chats.ensure("telegram", str(1_000_000 + i), now=due - WEEK)
            store.chats.subscribe(chat.id, rng.sample(choices, rng.randint(1, 3)), due - WEEK)
            store.chats.update(chat.id, next_due_at=due)


def ledger_bytes(core: Core) -> int:
    db = core.storage.db
    return int(
        db.scalar("SELECT COALESCE(SUM(LENGTH(body)), 0) FROM deliveries")
        + db.scalar("SELECT COALESCE(SUM(LENGTH(png)), 0) FROM charts")
        + db.scalar("SELECT COALESCE(SUM(LENGTH(story_ids)), 0) FROM digests")
    )


async def _send(core: Core, base_url: str, paid: bool) -> tuple[Any, Jobs, float]:
    from telegram import Bot

    from channels.telegram import TelegramSender
    from tests.fake_botapi import TOKEN

    bot = Bot(TOKEN, base_url=base_url)
    await bot.initialize()
    try:
        jobs = Jobs(core, {"telegram": TelegramSender(bot, paid_broadcast=paid)})
        started = time.monotonic()
        report = await jobs.send_digests()
        jobs.stop()
    finally:
        await bot.shutdown()
    return report, jobs, started


def peak(n: int, stories: int, seed: int, paid: bool = False) -> dict[str, Any]:
    from tests.fake_botapi import FakeBotAPI

    now = int(time.time())
    path = OUT / f"peak-{n}{'-paid' if paid else ''}.db"
    setup = _core(path, now, paid)
    setup.analyzer.analyze("预热", "<p>长株潭一体化预热。</p>")
    week = fill_week(setup, stories, seed, now=now)
    add_chats(setup, n, seed, now)
    setup.close()
    core = Core(setup.settings)  # the real clock from here on, as `digest send` has
    fake = FakeBotAPI().start_in_thread()
    try:
        report, jobs, started = asyncio.run(_send(core, fake.base_url, paid))
        finished = time.monotonic()
        sent = fake.sent()
        times = sorted(fake.send_times())
    finally:
        fake.stop_thread()
    store = core.storage
    parts = int(store.db.scalar("SELECT COUNT(*) FROM deliveries"))
    digests = int(store.db.scalar("SELECT COUNT(*) FROM digests"))
    kinds = {
        r["kind"]: r["n"]
        for r in store.db.query("SELECT kind, COUNT(*) AS n FROM deliveries GROUP BY kind")
    }
    received = Counter((m.chat_id, m.text) for m in sent)
    planned = Counter(
        (int(r["address"]), r["body"])
        for r in store.db.query(
            "SELECT c.address, d.body FROM deliveries d JOIN chats c ON c.id = d.chat_id"
        )
    )
    lost = sum(max(0, k - received[key]) for key, k in planned.items())
    duplicated = sum(max(0, k - planned[key]) for key, k in received.items())
    before = ledger_bytes(core)
    db_bytes = Path(store.db.path).stat().st_size
    store.deliveries.purge(int(time.time()) + 1)  # as the run 30 days later does
    after = ledger_bytes(core)
    core.close()
    rate = 1000.0 if paid else 30.0
    bound = parts / rate
    total = (times[-1] - started) if times else finished - started
    stats = jobs.plan_stats
    return {
        "chats": n,
        "paid": paid,
        "week_stories": week["stories"],
        "digests": digests,
        "distinct_digests": stats.distinct,
        "charts": stats.charts,
        "parts": parts,
        "parts_by_kind": kinds,
        "parts_per_digest": parts / max(1, digests),
        "first_send_s": (times[0] - started) if times else None,
        "plan_seconds": stats.seconds,
        "plan_ms_per_chat": stats.seconds * 1000 / max(1, stats.planned),
        "total_s": total,
        "rate_bound_s": bound,
        "bound_ratio": total / bound if bound else 0.0,
        "rate_per_s": (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0,
        "delivered": len(sent),
        "lost": lost,
        "duplicated": duplicated,
        "report": {"sent": report.sent, "failed": report.failed, "left": report.left},
        "peak_rss_mb": peak_rss_mb(),
        "drawing_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "ledger_bytes_per_chat": before / n,
        "ledger_bytes_per_chat_purged": after / n,
        "db_bytes_per_chat": db_bytes / n,
    }


def run(quick: bool, paid: bool, seed: int = SEED) -> dict[str, Any]:
    sizes = QUICK if quick else FULL
    runs = []
    for n in sizes["sizes"]:
        r = peak(n, sizes["stories"], seed, paid=paid)
        runs.append(r)
        print(
            f"  peak: {n:,} chats, {r['parts']:,} parts, first send {r['first_send_s']:.2f} s,"
            f" planning {r['plan_ms_per_chat']:.2f} ms/chat, {r['total_s']:.0f} s"
            f" ({r['bound_ratio']:.2f}x the bound), lost {r['lost']}, dup {r['duplicated']}",
            flush=True,
        )
    return {"runs": runs, "targets": TARGETS}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.peak")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--paid", action="store_true", help="paid broadcasts (1,000/s)")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = run(args.quick, args.paid, args.seed)
    name = "peak-paid" if args.paid else "peak"
    print(f"peak: -> {save_result(name, args.quick, result)}")


if __name__ == "__main__":
    main()
