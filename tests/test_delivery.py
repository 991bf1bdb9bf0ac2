"""Planning and delivering digests with a fake clock: exactly once, paced, never dropped."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

import pytest

from app.core import Core
from app.jobs import Jobs
from app.planning import Planner
from channels.telegram import TelegramSender
from domain.errors import BlockedError, ChatMigratedError, RateLimitedError, TransientError
from domain.models import Chat, Subscription
from domain.schedule import next_due
from tests.conftest import NOW, FakeClock


class RecordingSender:
    """A channel that records what it was asked to send and fails as scripted."""

    channel = "telegram"
    capabilities = TelegramSender.capabilities
    global_interval = 1 / 30

    def __init__(self) -> None:
        self.sent: list[tuple[str, int, str]] = []  # (address, part kind, body/caption)
        self.failures: dict[str, list[Exception]] = {}
        self.clock: FakeClock | None = None
        self.times: list[float] = []

    def chat_interval(self, chat: Chat) -> float:
        return 3.0 if chat.kind == "group" else 1.0

    def _maybe_fail(self, chat: Chat) -> None:
        queue = self.failures.get(chat.address)
        if queue:
            raise queue.pop(0)

    async def send_text(self, chat: Chat, body: str) -> str:
        self._maybe_fail(chat)
        self.sent.append((chat.address, 0, body))
        self.times.append(self.clock.now if self.clock else 0.0)
        return str(len(self.sent))

    async def send_photo(self, chat: Chat, photo: bytes, caption: str) -> str:
        self._maybe_fail(chat)
        self.sent.append((chat.address, 1, caption))
        self.times.append(self.clock.now if self.clock else 0.0)
        return str(len(self.sent))


def fake_sleep(clock: FakeClock) -> Callable[[float], asyncio.Future[None]]:
    async def sleep(seconds: float) -> None:
        clock.advance(max(0.0, seconds))

    return sleep  # type: ignore[return-value]


@pytest.fixture
def world(sample_core: Core, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A fresh copy of the sample database with a fake clock."""
    import shutil

    from app.config import load_settings

    src = sample_core.storage.db.path
    dst = tmp_path_factory.mktemp("world") / "czt.db"
    sample_core.storage.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(src, dst)
    clock = FakeClock(NOW)
    core = Core(load_settings(None, environ={}, db_path=str(dst)), clock=clock)
    sender = RecordingSender()
    sender.clock = clock
    jobs = Jobs(core, {"telegram": sender}, clock=clock, sleep=fake_sleep(clock))
    yield core, clock, sender, jobs
    core.close()


def subscribe(core: Core, address: str, *subs: Subscription, kind: str = "private") -> Chat:
    chat = core.storage.chats.ensure("telegram", address, now=core.now(), kind=kind)
    core.storage.chats.subscribe(chat.id, list(subs), core.now())
    due = next_due(chat.day, chat.time, chat.timezone, core.now())
    core.storage.chats.update(chat.id, next_due_at=due)
    return core.storage.chats.by_id(chat.id)  # type: ignore[return-value]


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_next_due_is_monday_nine_shanghai() -> None:
    # NOW is Wed 2026-11-25 08:00 in Shanghai; the next Monday 09:00 is 2026-11-30 01:00 UTC.
    due = next_due("mon", "09:00", "Asia/Shanghai", NOW)
    import datetime as dt
    from zoneinfo import ZoneInfo

    local = dt.datetime.fromtimestamp(due, ZoneInfo("Asia/Shanghai"))
    assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)
    assert 0 < due - NOW <= 7 * 86400
    assert next_due("wed", "08:00", "Asia/Shanghai", NOW) == NOW + 7 * 86400


def test_digest_at_due_time_exactly_once(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, sender, jobs = world
    chat = subscribe(core, "101", Subscription(city="湘潭"))
    assert run(jobs.send_digests()).sent == 0  # not due yet
    clock.now = chat.next_due_at
    due = clock.now
    report = run(jobs.send_digests())
    assert report.sent >= 2 and report.left == 0  # text part(s) and the chart
    first = list(sender.sent)
    assert "【关键数据】" in first[0][2]
    assert any(kind == 1 for _, kind, _ in first)
    # Restarting (a new Jobs) and running again sends nothing more.
    jobs.stop()
    again = Jobs(core, {"telegram": sender}, clock=clock, sleep=fake_sleep(clock))
    run(again.send_digests())
    assert sender.sent == first
    chat = core.storage.chats.by_id(chat.id)
    assert chat is not None and chat.last_digest_at == due  # no settle delay
    assert chat.next_due_at is not None and chat.next_due_at == due + 7 * 86400


def test_missed_weeks_are_sent_once(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, sender, jobs = world
    chat = subscribe(core, "102", Subscription(topic="交通"))
    clock.now = chat.next_due_at + 3 * 7 * 86400  # the bot was down for three weeks
    run(jobs.send_digests())
    digests = core.storage.db.query("SELECT * FROM digests WHERE chat_id = ?", (chat.id,))
    assert len(digests) == 1
    assert len([s for s in sender.sent if s[0] == "102" and s[1] == 0]) >= 1


def test_next_week_only_new_stories(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, sender, jobs = world
    chat = subscribe(core, "103", Subscription(city="湘潭"))
    clock.now = chat.next_due_at
    run(jobs.send_digests())
    sender.sent.clear()
    clock.now += 7 * 86400
    run(jobs.send_digests())
    assert len(sender.sent) == 1 and "本周暂无新动态" in sender.sent[0][2]


def test_force_sends_everyone_now(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, sender, jobs = world
    subscribe(core, "104", Subscription(city="株洲"))
    subscribe(core, "105", Subscription(city="长沙", topic="科创"))
    clock.advance(3600)
    run(jobs.send_digests(force=True))
    assert {s[0] for s in sender.sent} == {"104", "105"}


def test_429_waits_and_retries_never_drops(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, sender, jobs = world
    chat = subscribe(core, "106", Subscription(city="湘潭"))
    sender.failures["106"] = [RateLimitedError("flood", retry_after=30)]
    clock.now = chat.next_due_at
    start = clock.now
    report = run(jobs.send_digests())
    assert report.retried == 1 and report.left == 0
    assert len([s for s in sender.sent if s[0] == "106"]) >= 2
    assert sender.times[0] >= start + 30
    assert core.storage.deliveries.event_counts()["rate_limited"] == 1


def test_blocked_chat_is_deactivated_until_it_writes(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, sender, jobs = world
    chat = subscribe(core, "107", Subscription(city="湘潭"))
    sender.failures["107"] = [BlockedError("forbidden: bot was blocked by the user")]
    clock.now = chat.next_due_at
    report = run(jobs.send_digests())
    assert report.failed >= 1 and not [s for s in sender.sent if s[0] == "107"]
    assert core.storage.chats.by_id(chat.id).active is False  # type: ignore[union-attr]
    assert core.storage.chats.due(clock.now + 30 * 86400) == []
    core.storage.chats.ensure("telegram", "107", now=clock.now)  # it writes to us again
    assert core.storage.chats.by_id(chat.id).active is True  # type: ignore[union-attr]


def test_group_migration_keeps_subscriptions(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, sender, jobs = world
    chat = subscribe(core, "-108", Subscription(city="湘潭"), kind="group")
    sender.failures["-108"] = [ChatMigratedError("moved", new_address="-100108")]
    clock.now = chat.next_due_at
    run(jobs.send_digests())
    assert [s for s in sender.sent if s[0] == "-100108"]
    moved = core.storage.chats.get("telegram", "-100108")
    assert moved is not None and moved.subscriptions == (Subscription(city="湘潭"),)


def test_transient_errors_back_off_then_succeed(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, sender, jobs = world
    chat = subscribe(core, "109", Subscription(city="湘潭"))
    sender.failures["109"] = [TransientError("HTTP 502"), TransientError("timeout")]
    clock.now = chat.next_due_at
    start = clock.now
    report = run(jobs.send_digests())
    assert report.retried == 2 and report.left == 0
    assert sender.times[0] >= start + 2 + 4  # 2 s then 4 s backoff
    assert core.storage.deliveries.state_counts().get("sent", 0) >= 2


def test_pacing_30_per_second_and_one_per_chat(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, sender, jobs = world
    for i in range(60):
        subscribe(core, str(2000 + i), Subscription(city="湘潭"))
    clock.advance(3600)
    start = clock.now
    run(jobs.send_digests(force=True))
    times = sorted(sender.times)
    assert len(times) >= 120
    for i in range(len(times) - 30):
        assert times[i + 30] - times[i] >= 1.0 - 1e-6  # never more than 30 in a second
    per_chat: dict[str, list[float]] = {}
    for (address, _, _), t in zip(sender.sent, sender.times, strict=True):
        per_chat.setdefault(address, []).append(t)
    for ts in per_chat.values():
        assert all(b - a >= 1.0 - 1e-6 for a, b in itertools.pairwise(ts))
    assert clock.now - start < 10


def test_two_planners_with_different_clocks_plan_a_digest_once(world) -> None:  # type: ignore[no-untyped-def]
    """Both read the ledger before either commits: the (chat, number) key lets one win."""
    from storage.deliveries import PlannedDigest, PlannedPart

    core, clock, _, _ = world
    chat = subscribe(core, "110", Subscription(city="湘潭"))
    other = Core(core.settings)  # a second process: its own connection, its own clock
    try:
        number = core.storage.deliveries.numbers([chat.id]).get(chat.id, 0) + 1
        seen = other.storage.deliveries.numbers([chat.id]).get(chat.id, 0) + 1
        assert number == seen == 1

        def planned(now: int, n: int) -> PlannedDigest:
            return PlannedDigest(
                chat.id, n, 0, now - 600, now, (), [PlannedPart("text", "x")], chat.next_due_at
            )

        assert core.storage.deliveries.plan_many([planned(int(clock.now), number)], 1) == 1
        assert other.storage.deliveries.plan_many([planned(int(clock.now) + 3600, seen)], 2) == 0
    finally:
        other.close()
    assert core.storage.db.scalar("SELECT COUNT(*) FROM deliveries") == 1
    clock.now = chat.next_due_at
    assert Planner(core).plan_due(clock.now) == 1  # the next digest is number 2
    assert core.storage.deliveries.numbers([chat.id]) == {chat.id: 2}


def test_second_process_cannot_schedule(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, sender, jobs = world
    chat = subscribe(core, "111", Subscription(city="湘潭"))
    clock.now = chat.next_due_at
    other = Jobs(
        core, {"telegram": sender}, clock=clock, sleep=fake_sleep(clock), owner="otherhost:1:abc"
    )
    run(other.poll_feeds())  # takes the lock first
    assert run(jobs.send_digests()).sent == 0
    assert not sender.sent


def test_empty_week_can_be_skipped(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, sender, jobs = world
    import dataclasses

    core.settings = dataclasses.replace(
        core.settings, digest=dataclasses.replace(core.settings.digest, empty_week="skip")
    )
    chat = subscribe(core, "112", Subscription(city="湘潭"))
    clock.now = chat.next_due_at
    run(jobs.send_digests())
    sender.sent.clear()
    clock.now += 7 * 86400
    run(jobs.send_digests())
    assert sender.sent == []


def test_a_story_committed_while_planning_goes_into_the_next_digest(world) -> None:  # type: ignore[no-untyped-def]
    """Another process stamps a story just before the plan but commits it just after."""
    from feeds.parse import Entry

    core, clock, sender, jobs = world
    chat = subscribe(core, "113", Subscription(city="湘潭"))
    clock.now = chat.next_due_at
    due = clock.now
    run(jobs.send_digests())
    late = Entry(
        guid="late",
        link="http://x.invalid/late",
        title="湘潭九华新开一条公交线路",
        content="湘潭九华片区今天新开一条公交线路，连接昭山。",
        published=due - 30,
    )
    feed = core.storage.feeds.ensure("late-feed", due)
    core.storage.articles.upsert(
        feed.id, late, core.analyzer.analyze(late.title, late.content), due - 30
    )  # first seen before the plan, visible only now
    sender.sent.clear()
    clock.now = due + 7 * 86400
    run(jobs.send_digests())
    bodies = " ".join(body for _, _, body in sender.sent)
    assert "湘潭九华新开一条公交线路" in bodies
    assert (
        core.storage.db.scalar(
            "SELECT COUNT(*) FROM digests WHERE chat_id = ? AND story_ids LIKE ?",
            (
                chat.id,
                "%"
                + str(core.storage.db.scalar("SELECT story_id FROM articles WHERE guid = 'late'"))
                + "%",
            ),
        )
        == 1
    )
