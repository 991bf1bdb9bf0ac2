"""The Monday peak: planning once per distinct digest, pipelined sending, commit-order
periods, charts stored once, captions, paid broadcasts and the lock (the ledger's
retention and migration: tests/test_ledger.py)."""

from __future__ import annotations

import asyncio
import html
import itertools
import threading

import pytest

from app.core import Core
from app.delivery import Deliverer, Progress
from app.jobs import LOCK, Jobs, take_lock
from app.planning import CHART_CAPTION, Capabilities, Planner, render_parts
from channels.telegram import TelegramSender
from digests.compose import compose
from digests.render import FIGURES_HEADING
from digests.split import utf8_len, utf16_len
from domain.errors import RateLimitedError
from domain.models import Chat, Subscription
from feeds.parse import Entry
from tests.conftest import NOW
from tests.test_delivery import RecordingSender, fake_sleep, run, subscribe
from tests.test_delivery import world as world  # the fixture

TELEGRAM = TelegramSender.capabilities
WECOM = Capabilities("markdown", 4096, utf8_len, photos=True)


def _week(core: Core, *subs: Subscription):  # type: ignore[no-untyped-def]
    stories = core.storage.articles.stories_committed(0, 10**9)
    return compose(stories, list(subs), since=0, until=NOW + 1)


def test_the_chart_carries_the_headline_and_key_figures(sample_copy: Core) -> None:
    digest = _week(sample_copy, Subscription(city="湘潭"), Subscription(topic="交通"))
    assert digest.key_figures
    parts = render_parts(digest, TELEGRAM, timezone="Asia/Shanghai", chart_id=7)
    photo, *texts = parts
    assert photo.kind == "photo" and photo.chart_id == 7
    assert digest.title in photo.body and FIGURES_HEADING in photo.body
    assert utf16_len(photo.body) <= 1024
    assert texts and all(p.kind == "text" for p in texts)
    assert not any(FIGURES_HEADING in p.body for p in texts)
    # Every story is still in the texts.
    joined = "".join(p.body for p in texts)
    assert all(html.escape(s.url) in joined for s in digest.stories)


def test_a_caption_too_small_keeps_the_figures_in_the_text(sample_copy: Core) -> None:
    digest = _week(sample_copy, Subscription(city="湘潭"))
    tiny = Capabilities("html", 4096, utf16_len, photos=True, caption_limit=20)
    photo, first, *_ = render_parts(digest, tiny, timezone="Asia/Shanghai", chart_id=1)
    assert photo.body == CHART_CAPTION
    assert digest.title in first.body and FIGURES_HEADING in first.body


def test_a_channel_without_captions_gets_the_text_first(sample_copy: Core) -> None:
    digest = _week(sample_copy, Subscription(city="湘潭"))
    parts = render_parts(digest, WECOM, timezone="Asia/Shanghai", chart_id=1)
    assert [p.kind for p in parts[:2]] == ["text", "photo"]
    assert all(utf8_len(p.body) <= 4096 for p in parts)
    plain = render_parts(digest, Capabilities("text", 100_000), timezone="Asia/Shanghai")
    assert [p.kind for p in plain] == ["text"]


def test_a_robot_digest_points_to_no_command(sample_copy: Core) -> None:
    import dataclasses

    from channels.wecom import WeComSender

    digest = dataclasses.replace(_week(sample_copy, Subscription(city="湘潭")), omitted=3)
    robot = "".join(p.body for p in render_parts(digest, WeComSender.capabilities, timezone="UTC"))
    chat = "".join(p.body for p in render_parts(digest, TELEGRAM, timezone="UTC"))
    assert "另有 3 条未列出" in robot and "/latest" not in robot and "搜索" not in robot
    assert "另有 3 条未列出：发送 /latest" in chat


def test_planning_composes_and_charts_once_per_distinct_digest(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, _, _ = world
    sets = [
        (Subscription(city="湘潭"),),
        (Subscription(topic="交通"), Subscription(city="长沙")),
        (Subscription(city="长沙"), Subscription(topic="交通")),  # the same set, reordered
        (Subscription(city="株洲", topic="产业"),),
    ]
    for i in range(40):
        subscribe(core, str(3000 + i), *sets[i % len(sets)])
    clock.advance(3600)
    planner = Planner(core, {"telegram": TELEGRAM})
    assert planner.plan_due(int(clock.now), force=True) == 40
    assert planner.stats.distinct == 3
    assert planner.stats.charts <= 3
    db = core.storage.db
    assert db.scalar("SELECT COUNT(*) FROM charts") == planner.stats.charts
    # Chats with the same set got the same parts, each photo referring to one stored chart.
    bodies = db.query(
        "SELECT d.chat_id, group_concat(d.body, '|') AS b FROM deliveries d"
        " GROUP BY d.chat_id ORDER BY d.chat_id"
    )
    assert len({r["b"] for r in bodies}) == 3
    assert db.scalar("SELECT COUNT(DISTINCT chart_id) FROM deliveries") == planner.stats.charts


def _store_story(core: Core, guid: str, title: str, seen: int) -> int:
    entry = Entry(
        guid=guid,
        link=f"http://x.invalid/{guid}",
        title=title,
        content=f"{title}。湘潭九华片区今天公布了新的进展。",
        published=seen,
    )
    feed = core.storage.feeds.ensure("test-feed", seen)
    core.storage.articles.upsert(feed.id, entry, core.analyzer.analyze(title, entry.content), seen)
    return int(core.storage.db.scalar("SELECT story_id FROM articles WHERE guid = ?", (guid,)))


def test_force_right_after_an_ingest_includes_it(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, sender, jobs = world
    subscribe(core, "120", Subscription(city="湘潭"))
    clock.advance(3600)
    _store_story(core, "fresh", "湘潭九华新建一座人行天桥", int(clock.now))
    run(jobs.send_digests(force=True))  # the same second: no settle delay
    assert "湘潭九华新建一座人行天桥" in " ".join(body for _, _, body in sender.sent)


def test_each_story_goes_into_exactly_one_digest(world) -> None:  # type: ignore[no-untyped-def]
    import json

    core, clock, _, jobs = world
    chat = subscribe(core, "121", Subscription(city="湘潭"))
    clock.now = chat.next_due_at
    run(jobs.send_digests())
    # Stamped long before, committed after the first digest: it belongs to the second.
    late = _store_story(core, "late2", "湘潭九华开通一条夜间公交", int(clock.now) - 86400)
    clock.now += 7 * 86400
    run(jobs.send_digests())
    clock.now += 7 * 86400
    run(jobs.send_digests())
    rows = core.storage.db.query(
        "SELECT story_ids, watermark FROM digests WHERE chat_id = ? ORDER BY number", (chat.id,)
    )
    assert len(rows) == 3
    ids = [json.loads(r["story_ids"]) for r in rows]
    assert late not in ids[0] and late in ids[1] and late not in ids[2]
    seen: set[int] = set()
    for group in ids:
        assert not seen & set(group)
        seen |= set(group)
    assert [r["watermark"] for r in rows] == sorted(r["watermark"] for r in rows)


def test_sending_starts_while_planning_continues(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, _, _ = world
    for i in range(30):
        subscribe(core, str(4000 + i), Subscription(city="湘潭"))
    clock.advance(3600)
    planning_done_at_first_send: list[bool] = []

    class Watching(RecordingSender):
        async def send_text(self, chat: Chat, body: str) -> str:
            if not planning_done_at_first_send:
                planning_done_at_first_send.append(progress.done)
            return await super().send_text(chat, body)

    watching = Watching()
    watching.clock = clock
    progress: Progress

    async def main() -> int:
        nonlocal progress
        progress = Progress()

        def slow_batch(n: int) -> None:
            progress.notify(n)
            threading.Event().wait(0.05)  # a planner far slower than the sender

        def plan() -> int:  # in a worker thread: storage gives it its own connection
            try:
                return Planner(core, batch=3, on_batch=slow_batch).plan_due(
                    int(clock.now), force=True
                )
            finally:
                progress.finish()

        deliverer = Deliverer(core, {"telegram": watching}, clock=clock, sleep=fake_sleep(clock))
        planning = asyncio.create_task(asyncio.to_thread(plan))
        report = await deliverer.run(progress=progress)
        assert await planning == 30
        return report.sent

    assert run(main()) == 30  # plain capabilities: one text each, all sent in one run
    assert planning_done_at_first_send == [False]
    assert {a for a, _, _ in watching.sent} == {str(4000 + i) for i in range(30)}


def test_a_wait_beyond_the_horizon_is_reported_with_its_time(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, sender, jobs = world
    chat = subscribe(core, "122", Subscription(city="湘潭"))
    sender.failures["122"] = [RateLimitedError("flood", retry_after=1000)]
    clock.now = chat.next_due_at
    report = run(jobs.send_digests())
    pending = core.storage.db.scalar("SELECT COUNT(*) FROM deliveries WHERE state = 'pending'")
    assert report.retried == 1 and report.left == pending >= 2
    assert report.next_at is not None and report.next_at >= chat.next_due_at + 1000
    clock.now = report.next_at
    again = run(jobs.send_digests())
    assert again.left == 0 and again.sent == pending


async def _paid(fake_base: str) -> list[dict[str, object]]:
    from telegram import Bot

    from tests.fake_botapi import TOKEN

    async with Bot(TOKEN, base_url=fake_base) as bot:
        sender = TelegramSender(bot, paid_broadcast=True)
        assert sender.global_interval == pytest.approx(1 / 1000)
        chat = Chat(id=1, channel="telegram", address="777")
        await sender.send_text(chat, "<b>周报</b>")
        await sender.send_photo(chat, b"\x89PNG\r\n\x1a\n" + b"0" * 64, "<b>本周</b>")
    return []


def test_paid_broadcasts_are_flagged_and_paced_to_the_paid_limit() -> None:
    from tests.fake_botapi import FakeBotAPI

    fake = FakeBotAPI().start_in_thread()
    try:
        asyncio.run(_paid(fake.base_url))
        calls = fake.calls("sendMessage") + fake.calls("sendPhoto")
    finally:
        fake.stop_thread()
    assert len(calls) == 2
    assert all(str(c.params.get("allow_paid_broadcast")).lower() == "true" for c in calls)
    assert TelegramSender(None).global_interval == pytest.approx(1 / 30)


def test_the_lock_is_renewed_while_a_long_broadcast_runs(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    core, clock, _, _ = world
    monkeypatch.setattr("app.jobs.RENEW_EVERY", 0.01)
    for i in range(5):
        subscribe(core, str(5000 + i), Subscription(city="湘潭"))
    clock.advance(3600)
    verdicts: list[bool] = []

    class Slow(RecordingSender):
        async def send_text(self, chat: Chat, body: str) -> str:
            clock.advance(200)  # each message "takes" 200 s of the 300 s lock
            await asyncio.sleep(0.05)  # real time, so the renewal task runs
            verdicts.append(take_lock(core, "otherhost:1:zzz", int(clock.now)))
            return await super().send_text(chat, body)

    slow = Slow()
    slow.clock = clock
    long_jobs = Jobs(core, {"telegram": slow}, clock=clock, sleep=fake_sleep(clock))
    report = run(long_jobs.send_digests(force=True))
    assert report.sent >= 5 and verdicts and not any(verdicts)
    assert core.storage.deliveries.holder(LOCK) == long_jobs.owner


def test_a_busy_week_fits_the_message_cap(world) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    core, clock, _, _ = world
    narrow = Capabilities("html", 1500, utf16_len, photos=True, caption_limit=1024)

    def planned(address: str, cap: int) -> list[dict[str, object]]:
        chat = subscribe(core, address, Subscription(city="湘潭"), Subscription(city="长沙"))
        core.settings = dataclasses.replace(
            core.settings,
            digest=dataclasses.replace(core.settings.digest, max_messages=cap, max_stories=30),
        )
        if cap == 0:
            clock.now = chat.next_due_at
        Planner(core, {"telegram": narrow}).plan_due(int(clock.now), force=cap > 0)
        return core.storage.db.query(
            "SELECT kind, body FROM deliveries WHERE chat_id = ? ORDER BY part", (chat.id,)
        )

    unlimited = planned("130", 0)
    assert len(unlimited) > 2 and "条未列出" not in "".join(str(p["body"]) for p in unlimited)
    fitted = planned("131", 2)
    assert [p["kind"] for p in fitted] == ["photo", "text"]
    assert "另有" in str(fitted[-1]["body"]) and utf16_len(str(fitted[-1]["body"])) <= 1500


def test_a_crash_between_planning_batches_loses_and_repeats_nothing(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, sender, jobs = world
    chats = [subscribe(core, str(6000 + i), Subscription(city="湘潭")) for i in range(20)]
    clock.now = chats[0].next_due_at

    class Killed(Exception):
        pass

    def die(planned: int) -> None:
        raise Killed  # the process dies right after its first batch committed

    with pytest.raises(Killed):
        Planner(core, {"telegram": TELEGRAM}, batch=6, flush=1e9, on_batch=die).plan_due(
            int(clock.now)
        )
    db = core.storage.db
    assert db.scalar("SELECT COUNT(*) FROM digests") == 6
    # The next run sends the six planned digests and plans and sends the other fourteen.
    run(jobs.send_digests())
    per_chat = db.query("SELECT chat_id, COUNT(*) AS n FROM digests GROUP BY chat_id")
    assert len(per_chat) == 20 and all(r["n"] == 1 for r in per_chat)
    assert db.scalar("SELECT COUNT(*) FROM deliveries WHERE state != 'sent'") == 0
    assert {a for a, _, _ in sender.sent} == {str(6000 + i) for i in range(20)}
    assert len(sender.sent) == db.scalar("SELECT COUNT(*) FROM deliveries")
    assert len(set(sender.sent)) == len(sender.sent)  # no part twice


def test_the_pacer_keeps_any_second_to_the_rate_and_makes_up_a_late_start() -> None:
    from app.pacing import Pacer

    class Thirty:
        channel = "telegram"
        global_interval = 1 / 30

        def chat_interval(self, chat: Chat) -> float:
            return 1.0

    sender, pacer = Thirty(), Pacer()
    now, starts = 0.0, []
    for i in range(300):
        chat = Chat(id=i, channel="telegram", address=str(i))
        now = max(now, pacer.ready(sender, chat.id, 0.0))
        if i == 100:
            now += 0.5  # woke up half a second late
        pacer.started(sender, chat, now)
        starts.append(now)
    assert all(starts[i + 30] - starts[i] >= 1.0 - 1e-9 for i in range(len(starts) - 30))
    assert starts[-1] <= 299 / 30 + 0.1  # the late half second was made up
    assert min(b - a for a, b in itertools.pairwise(starts)) >= 1 / 60 - 1e-9


def test_a_second_run_while_one_is_sending_reports_what_is_left(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, sender, jobs = world
    chat = subscribe(core, "140", Subscription(city="湘潭"))
    clock.now = chat.next_due_at
    Planner(core, {"telegram": TELEGRAM}).plan_due(int(clock.now))
    other = Jobs(
        core, {"telegram": sender}, clock=clock, sleep=fake_sleep(clock), owner="otherhost:2:x"
    )
    assert take_lock(core, other.owner, int(clock.now))
    report = run(jobs.send_digests())
    parts = core.storage.db.scalar("SELECT COUNT(*) FROM deliveries")
    assert report.locked and report.sent == 0 and report.left == parts >= 2
    assert not sender.sent


def test_a_later_part_never_overtakes_one_left_waiting(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, sender, _ = world
    chat = subscribe(core, "150", Subscription(city="湘潭"))
    clock.now = chat.next_due_at
    Planner(core, {"telegram": TELEGRAM}).plan_due(int(clock.now))
    db = core.storage.db
    with db.transaction():  # an earlier run's 429: the first part waits 1,000 s
        db.execute("UPDATE deliveries SET not_before = ? WHERE part = 0", (int(clock.now) + 1000,))
    deliverer = Deliverer(core, {"telegram": sender}, clock=clock, sleep=fake_sleep(clock))
    report = run(deliverer.run())
    assert sender.sent == [] and report.left == db.scalar("SELECT COUNT(*) FROM deliveries")
    assert report.next_at == int(clock.now) + 1000


def test_the_drawing_process_exits_when_its_parent_is_killed() -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    script = (
        "import os, sys\n"
        "from app.charts import drawing_pool\n"
        "pool = drawing_pool()\n"
        "print(pool.submit(os.getpid).result(), flush=True)\n"
        "sys.stdin.read()\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        worker = int(parent.stdout.readline())
        os.kill(worker, 0)  # alive
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(worker, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            os.kill(worker, signal.SIGKILL)
            raise AssertionError("the drawing process outlived its parent")
    finally:
        if parent.poll() is None:
            parent.kill()
