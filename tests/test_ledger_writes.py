"""The deliverer's ledger writes run off the event loop: while another process holds the
database's write lock, chat replies on the same loop still come at once, and the sends
are recorded when the lock is released."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

from app.delivery import Deliverer
from app.planning import Planner
from domain.models import Subscription
from handlers.service import ChatService, Request
from tests.test_delivery import fake_sleep, subscribe
from tests.test_delivery import world as world  # the fixture

HOLD = 2.0  # seconds the other process keeps the write lock


def _hold_the_write_lock(path: str, taken: threading.Event, release: threading.Event) -> None:
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        taken.set()
        release.wait(HOLD)
        other.execute("COMMIT")
    finally:
        other.close()


def test_a_held_write_lock_does_not_freeze_chat_replies(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, sender, _ = world
    chat = subscribe(core, "801", Subscription(city="湘潭"))
    clock.now = chat.next_due_at
    Planner(core, {"telegram": sender.capabilities}).plan_due(int(clock.now))
    parts = core.storage.db.scalar("SELECT COUNT(*) FROM deliveries WHERE state = 'pending'")
    assert parts >= 1
    service = ChatService(core)
    deliverer = Deliverer(core, {"telegram": sender}, clock=clock, sleep=fake_sleep(clock))
    taken, release = threading.Event(), threading.Event()
    holder = threading.Thread(
        target=_hold_the_write_lock, args=(core.storage.db.path, taken, release)
    )
    holder.start()
    assert taken.wait(10)
    started = time.monotonic()

    async def reply() -> float:
        await asyncio.sleep(0.1)  # the deliverer is waiting for the lock by now
        text = service.command(Request("telegram", "802"), "search", "湘潭").text
        assert "搜索结果" in text or "没有找到" in text
        return time.monotonic() - started

    async def both() -> tuple[object, float]:
        report, answered = await asyncio.gather(deliverer.run(), reply())
        return report, answered

    try:
        report, answered = asyncio.run(both())
    finally:
        release.set()
        holder.join(10)
    assert answered < HOLD / 2, f"the reply waited {answered:.2f} s for the ledger's lock"
    assert report.sent == parts  # type: ignore[attr-defined]
    states = core.storage.db.query("SELECT state FROM deliveries")
    assert {r["state"] for r in states} == {"sent"}
    assert len(sender.sent) == parts
