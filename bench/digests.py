"""Digests bench: composing 10k weekly digests, and delivering 3,000 messages at 30/s.

(a) Composing. A fresh database holds a week of 2,000 stories (generated articles with
the full analysis, key figures included, first seen spread over the seven days) and
10,000 Telegram chats, each with three random subscriptions (a city, a topic or a
city·topic pair), all due now. Timed two ways:

- composing: the week's stories loaded once, then for every due chat
  ``app.previews.compose_for`` (``digests.compose.compose`` with the condensed block:
  key figures merged, task series, watches) + ``render_html`` + ``pack`` (the Telegram
  messages), the pure work of a digest; the chart (matplotlib: the figure chart, or the
  story chart for a digest without key figures) is timed on a sample beside it, drawn
  afresh each time;
- the whole ``app.delivery.Planner(core).plan_due(now)``: per chat it reloads the
  week's stories, composes, renders, splits, draws the chart and writes the ledger.
  When a sample shows it cannot finish 10k within its budget (240 s; quick: 5 s), it runs on the
  first chats only and the figure for 10k is extrapolated (and says so).

(b) Delivering. 3,000 chats (quick: 300) with one pending text part each, planned with
``Deliveries.plan``, sent by ``app.delivery.Deliverer`` through
``channels.telegram.TelegramSender`` (global interval 1/30 s) to the fake Bot API over
real HTTP on 127.0.0.1 (``tests.fake_botapi.FakeBotAPI`` in its own thread), with the real
clock and ``asyncio.sleep``. The rate is measured from the fake's send times; lost and
duplicated messages from its journal against the ledger.

    python -m bench.digests [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from app.config import DatabaseSettings, FeedSettings, Settings
from app.core import Core
from app.delivery import Deliverer, Planner
from app.previews import compose_for
from app.tracking import Period
from bench import OUT, SEED, percentile, save_result
from bench.generate import OUTLETS, Generator
from digests import chart, figure_chart
from digests.chart import render_chart
from digests.figure_chart import render_figure_chart
from digests.render import render_html
from digests.split import TELEGRAM_LIMIT, pack, utf16_len
from domain.models import Subscription
from feeds.parse import Entry
from storage.deliveries import PlannedPart

WEEK = 7 * 86400
NOW = 1893456000  # 2030-01-01 00:00 UTC: the digests are due now
FULL = {
    "stories": 2000,
    "chats": 10_000,
    "messages": 3000,
    "plan_sample": 100,
    "plan_budget": 240.0,  # seconds the whole plan_due may take before it is extrapolated
    "charts": 50,
}
QUICK = {
    "stories": 500,
    "chats": 300,
    "messages": 300,
    "plan_sample": 10,
    "plan_budget": 5.0,
    "charts": 10,
}
COMPOSE_TARGET_S = 10.0
RATE = 30.0  # TelegramSender.global_interval = 1/30
RATE_TARGET_SHARE = 0.95

log = logging.getLogger(__name__)


def _core(path: Path) -> Core:
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    settings = Settings(database=DatabaseSettings(str(path)), feeds=FeedSettings(urls=()))
    return Core(settings, clock=lambda: NOW)


def fill_week(core: Core, stories: int, seed: int, now: int = NOW) -> dict[str, Any]:
    """Store generated articles (full analysis) until the week before ``now`` holds
    ``stories`` stories."""
    store = core.storage
    feed_ids = [
        store.feeds.ensure(f"https://{code}.example.cn/rss.xml", now).id for _, code in OUTLETS
    ]
    step = WEEK // int(stories * 1.5)  # every article generated falls inside the week
    started = time.perf_counter()
    articles = 0
    gen = Generator(seed)
    with store.db.transaction():
        for article in gen.articles(int(stories * 1.5)):
            seen = now - WEEK + 60 + article.index * step
            entry = Entry(
                guid=article.guid,
                link=article.link,
                title=article.title,
                content=article.html(),
                published=article.published,
            )
            analysis = core.analyzer.analyze(article.title, article.html())
            store.articles.upsert(feed_ids[article.outlet], entry, analysis, seen)
            articles += 1
            if articles % 200 == 0 and store.articles.counts()["stories"] >= stories:
                break
    counts = store.articles.counts()
    return {
        "articles": counts["articles"],
        "stories": counts["stories"],
        "seconds": time.perf_counter() - started,
    }


def _subscriptions(rng: random.Random, cities: tuple[str, ...], topics: tuple[str, ...]) -> list:
    choices = (
        [Subscription(c, None) for c in cities]
        + [Subscription(None, t) for t in topics]
        + [Subscription(c, t) for c in cities for t in topics]
    )
    return rng.sample(choices, 3)


def add_chats(core: Core, n: int, seed: int) -> float:
    """``n`` Telegram chats with three subscriptions each, all due at NOW; returns seconds."""
    rng = random.Random(seed)
    store = core.storage
    cities, topics = core.taxonomy.city_names, core.taxonomy.topic_names
    started = time.perf_counter()
    with store.db.transaction():
        for i in range(n):
            chat = store.chats.ensure("telegram", str(100_000 + i), now=NOW - WEEK)
            store.chats.subscribe(chat.id, _subscriptions(rng, cities, topics), NOW - WEEK)
            store.chats.update(chat.id, next_due_at=NOW - 60)
    return time.perf_counter() - started


def time_composing(core: Core, charts: int) -> dict[str, Any]:
    """compose + render_html + pack for every due chat, stories loaded once."""
    store = core.storage
    t0 = time.perf_counter()
    chats = store.chats.due(NOW)
    t1 = time.perf_counter()
    since = NOW - core.settings.digest.lookback_days * 86400
    # The week's stories sorted and indexed once, the task series read once, as Planner does.
    period = Period.load(core, since, NOW + 1)
    stories = period.stories
    t2 = time.perf_counter()
    period.pool.figures(period.series, core.locate)  # key figures merged once a period
    t3 = time.perf_counter()
    composing = rendering = splitting = 0.0
    per_digest: list[float] = []
    messages: Counter[int] = Counter()
    listed = 0
    digests = []
    for chat in chats:
        a = time.perf_counter()
        digest = compose_for(core, chat.subscriptions, chat.watches, period, chat.timezone)
        b = time.perf_counter()
        blocks = render_html(digest, timezone=chat.timezone)
        c = time.perf_counter()
        texts = pack(blocks, TELEGRAM_LIMIT, utf16_len, html=True)
        d = time.perf_counter()
        composing += b - a
        rendering += c - b
        splitting += d - c
        per_digest.append((d - a) * 1000)
        messages[len(texts)] += 1
        listed += len(digest.story_ids)
        digests.append(digest)
    sample = [d for d in digests if not d.empty][:charts]
    figure_charts = 0
    started = time.perf_counter()
    for digest in sample:
        # Drawn afresh: the cache would make every repeat free.
        figure_chart._draw.cache_clear()
        chart._draw.cache_clear()
        if render_figure_chart(digest, labels=core.taxonomy.latin) is not None:
            figure_charts += 1
        else:
            render_chart(digest, labels=core.taxonomy.latin)
    chart_ms = (time.perf_counter() - started) * 1000 / max(1, len(sample))
    with_figures = [d for d in digests if d.key_figures]
    total = composing + rendering + splitting
    return {
        "chats": len(chats),
        "week_stories": len(stories),
        "load_chats_seconds": t1 - t0,
        "load_stories_seconds": t2 - t1,
        "figure_index_seconds": t3 - t2,
        "compose_seconds": composing,
        "render_seconds": rendering,
        "split_seconds": splitting,
        "total_seconds": total,
        "with_loading_seconds": total + (t3 - t0),
        "digest_p50_ms": percentile(per_digest, 50),
        "digest_p99_ms": percentile(per_digest, 99),
        "stories_listed_mean": listed / max(1, len(chats)),
        "messages_per_digest": dict(sorted(messages.items())),
        "chart_ms": chart_ms,
        "chart_sample": len(sample),
        "figure_charts": figure_charts,
        "compose_ms": composing * 1000 / max(1, len(chats)),
        "key_figures_mean": sum(len(d.key_figures) for d in digests) / max(1, len(digests)),
        "with_key_figures": len(with_figures),
        "tracked_lists": len(period.series),
        "target_seconds": COMPOSE_TARGET_S,
        "met": total <= COMPOSE_TARGET_S,
    }


def time_plan_due(core: Core, n: int, sample: int, budget: float) -> dict[str, Any]:
    """``Planner.plan_due`` over the due chats: all of them if a sample says it fits."""
    store = core.storage
    planner = Planner(core)
    # A sample first: make all but ``sample`` chats not yet due.
    ids = [r["id"] for r in store.db.query("SELECT id FROM chats ORDER BY id")]
    sample_ids, rest = ids[:sample], ids[sample:]
    _set_due(core, rest, NOW + WEEK)
    started = time.perf_counter()
    planned = planner.plan_due(NOW)
    sample_seconds = time.perf_counter() - started
    per_chat = sample_seconds / max(1, planned)
    projected = per_chat * n
    full = projected <= budget
    seconds = sample_seconds
    if full:
        _set_due(core, rest, NOW - 60)
        started = time.perf_counter()
        planned += planner.plan_due(NOW)
        seconds += time.perf_counter() - started
        per_chat = seconds / max(1, planned)
    parts = store.db.query("SELECT kind, COUNT(*) AS n FROM deliveries GROUP BY kind")
    return {
        "planned": planned,
        "sample": len(sample_ids),
        "full": full,
        "seconds": seconds,
        "per_chat_ms": per_chat * 1000,
        "projected_seconds": per_chat * n,
        "budget_seconds": budget,
        "parts": {r["kind"]: r["n"] for r in parts},
    }


def _set_due(core: Core, ids: list[int], when: int) -> None:
    db = core.storage.db
    with db.transaction():
        db.conn.executemany(
            "UPDATE chats SET next_due_at = ? WHERE id = ?", [(when, i) for i in ids]
        )


# ---------------------------------------------------------------- delivery


def plan_messages(core: Core, n: int) -> list[str]:
    """``n`` chats with one pending text part each; returns the texts planned."""
    store = core.storage
    texts = []
    with store.db.transaction():
        for i in range(n):
            chat = store.chats.ensure("telegram", str(500_000 + i), now=NOW)
            text = f"<b>长株潭一体化周报</b>\n第 {i} 位订阅者：本周融城干道、湘江风光带有新进展。"
            store.deliveries.plan(
                chat.id,
                period_start=NOW - WEEK,
                period_end=NOW,
                story_ids=(),
                parts=[PlannedPart("text", text)],
                now=NOW,
                next_due_at=NOW + WEEK,
            )
            texts.append(text)
    return texts


async def _deliver(core: Core, base_url: str, n: int) -> tuple[float, list[Any]]:
    from telegram import Bot

    from channels.telegram import TelegramSender
    from tests.fake_botapi import TOKEN

    bot = Bot(TOKEN, base_url=base_url)
    await bot.initialize()
    reports = []
    try:
        sender = TelegramSender(bot)
        deliverer = Deliverer(core, {"telegram": sender})
        started = time.perf_counter()
        # Deliveries.pending returns at most 1,000 parts a call: run until none is left.
        while core.storage.deliveries.pending(int(time.time()) + 600, limit=1):
            reports.append(await deliverer.run(horizon=600))
        seconds = time.perf_counter() - started
    finally:
        await bot.shutdown()
    return seconds, reports


def time_delivery(path: Path, n: int) -> dict[str, Any]:
    from tests.fake_botapi import FakeBotAPI

    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    settings = Settings(database=DatabaseSettings(str(path)), feeds=FeedSettings(urls=()))
    core = Core(settings)  # the real clock
    texts = plan_messages(core, n)
    fake = FakeBotAPI().start_in_thread()
    try:
        seconds, reports = asyncio.run(_deliver(core, fake.base_url, n))
        sent = fake.sent()
        times = sorted(fake.send_times())
        errors = [c for c in fake.calls("sendMessage") if c.error_code is not None]
    finally:
        fake.stop_thread()
    per_chat = Counter(s.chat_id for s in sent)
    expected = {int(c.address) for c in core.storage.chats.all("telegram")}
    lost = len(expected - set(per_chat))
    duplicated = sum(c - 1 for c in per_chat.values() if c > 1)
    wrong_text = sum(
        1 for s in sent if s.text not in texts
    )  # the fake records text after HTML parsing
    states = core.storage.deliveries.state_counts()
    core.close()
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    rate = (len(times) - 1) / span if span else 0.0
    gaps = [b - a for a, b in itertools.pairwise(times)]
    return {
        "messages": n,
        "delivered": len(sent),
        "lost": lost,
        "duplicated": duplicated,
        "text_differs": wrong_text,
        "api_errors": len(errors),
        "ledger_states": states,
        "runs": len(reports),
        "sent_reported": sum(r.sent for r in reports),
        "seconds": seconds,
        "rate_per_s": rate,
        "configured_rate": RATE,
        "rate_share": rate / RATE,
        "gap_p50_ms": percentile(gaps, 50) * 1000 if gaps else 0.0,
        "gap_p99_ms": percentile(gaps, 99) * 1000 if gaps else 0.0,
        "target_share": RATE_TARGET_SHARE,
        "met": rate >= RATE_TARGET_SHARE * RATE and lost == 0 and duplicated == 0,
    }


def run(quick: bool, seed: int = SEED) -> dict[str, Any]:
    sizes = QUICK if quick else FULL
    path = OUT / f"digests-{'quick' if quick else 'full'}.db"
    core = _core(path)
    core.analyzer.analyze("预热", "<p>长株潭一体化预热。</p>")
    week = fill_week(core, sizes["stories"], seed)
    print(f"  digests: week of {week['stories']} stories in {week['seconds']:.0f} s", flush=True)
    chats_seconds = add_chats(core, sizes["chats"], seed)
    composing = time_composing(core, sizes["charts"])
    print(
        f"  digests: composed {composing['chats']} in {composing['total_seconds']:.2f} s"
        f" (compose {composing['compose_ms']:.2f} ms each), chart {composing['chart_ms']:.0f} ms"
        f" each ({composing['figure_charts']}/{composing['chart_sample']} figure charts)",
        flush=True,
    )
    plan = time_plan_due(core, sizes["chats"], sizes["plan_sample"], sizes["plan_budget"])
    print(
        f"  digests: plan_due {plan['planned']} chats in {plan['seconds']:.1f} s"
        f" ({plan['per_chat_ms']:.0f} ms each)",
        flush=True,
    )
    core.close()
    delivery = time_delivery(OUT / f"delivery-{'quick' if quick else 'full'}.db", sizes["messages"])
    print(
        f"  digests: delivered {delivery['delivered']}/{delivery['messages']} at"
        f" {delivery['rate_per_s']:.1f}/s, lost {delivery['lost']}",
        flush=True,
    )
    return {
        "week": week,
        "chats": sizes["chats"],
        "chats_seconds": chats_seconds,
        "composing": composing,
        "plan_due": plan,
        "delivery": delivery,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.digests")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = run(args.quick, args.seed)
    path = save_result("digests", args.quick, result)
    c, d = result["composing"], result["delivery"]
    print(
        f"digests: compose {c['chats']} in {c['total_seconds']:.2f} s,"
        f" deliver {d['rate_per_s']:.1f}/s -> {path}"
    )


if __name__ == "__main__":
    main()
