"""The scheduler lock while a broadcast runs: renewed off the event loop, a failed renewal
retried, the broadcast stopped only once the lock is lost or may have expired; and a
second process that takes the lock never resets the parts a live run has claimed."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import threading

from app.jobs import LOCK, LOCK_TTL, Jobs, take_lock
from app.planning import Planner
from domain.errors import StorageError
from domain.models import Subscription
from tests.test_delivery import fake_sleep, subscribe
from tests.test_delivery import world as world  # the fixture

BOUND = 20.0  # seconds: a renewal loop that died or never ends fails instead of hanging


def test_a_failed_renewal_is_retried_off_the_loop(world, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    core, clock, _, jobs = world
    monkeypatch.setattr("app.jobs.RENEW_EVERY", 0.01)
    store = core.storage.deliveries
    assert take_lock(core, jobs.owner, int(clock.now))
    real = store.acquire
    threads: list[str] = []
    renewed = threading.Event()

    def acquire(name: str, owner: str, now: int, ttl: int) -> bool:
        threads.append(threading.current_thread().name)
        if len(threads) == 1:
            raise StorageError("database is locked")
        held = real(name, owner, now, ttl)
        renewed.set()
        return held

    store.acquire = acquire  # type: ignore[method-assign]

    async def main() -> bool:
        renewing = asyncio.create_task(jobs._keep_lock())
        done = await asyncio.to_thread(renewed.wait, BOUND)
        renewing.cancel()
        return done

    with caplog.at_level(logging.ERROR, logger="app.jobs"):
        assert asyncio.run(main()), "the renewal stopped after one failure"
    assert jobs._holding
    assert threading.main_thread().name not in threads  # never on the event loop
    assert any("jobs.renew_failed" in r.getMessage() for r in caplog.records)


def test_renewal_failing_too_long_stops_before_the_lock_expires(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    core, clock, _, jobs = world
    monkeypatch.setattr("app.jobs.RENEW_EVERY", 0.01)
    store = core.storage.deliveries
    start = clock.now
    assert take_lock(core, jobs.owner, int(start))

    def acquire(name: str, owner: str, now: int, ttl: int) -> bool:
        clock.advance(50)  # each attempt waits out a busy timeout and then some
        raise StorageError("database is locked")

    store.acquire = acquire  # type: ignore[method-assign]
    asyncio.run(asyncio.wait_for(jobs._keep_lock(), BOUND))  # returns once it gives up
    assert not jobs._holding
    assert clock.now - start < LOCK_TTL  # stopped while the lock was surely still ours


def test_a_lost_lock_stops_the_broadcast(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    core, clock, _, jobs = world
    monkeypatch.setattr("app.jobs.RENEW_EVERY", 0.01)
    assert take_lock(core, "otherhost:1:x", int(clock.now))
    asyncio.run(asyncio.wait_for(jobs._keep_lock(), BOUND))
    assert not jobs._holding


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_recovery_keeps_the_claims_of_a_live_run(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, sender, _ = world
    chats = [subscribe(core, str(970 + i), Subscription(city="湘潭")) for i in range(3)]
    clock.now = max(c.next_due_at or 0 for c in chats)
    Planner(core, {"telegram": sender.capabilities}).plan_due(int(clock.now))
    store = core.storage.deliveries
    first = {
        c.id: int(
            core.storage.db.scalar("SELECT MIN(id) FROM deliveries WHERE chat_id = ?", (c.id,))
        )
        for c in chats
    }
    host = socket.gethostname()
    live = f"{host}:{os.getpid()}:live"  # a process still sending (its lock lapsed)
    dead = f"{host}:{_dead_pid()}:dead"  # a process killed mid-send
    now = int(clock.now)
    assert store.claim(first[chats[0].id], owner=live, now=now)
    assert store.claim(first[chats[1].id], owner=dead, now=now)
    assert store.claim(first[chats[2].id])  # a claim from before owners were recorded
    other = Jobs(core, {"telegram": sender}, clock=clock, sleep=fake_sleep(clock))
    report = asyncio.run(asyncio.wait_for(other.send_digests(), BOUND))
    state = core.storage.db.query("SELECT id, state FROM deliveries")
    states = {r["id"]: r["state"] for r in state}
    assert states[first[chats[0].id]] == "sending"  # the live run records it itself
    behind = core.storage.db.query(
        "SELECT state FROM deliveries WHERE chat_id = ? AND id > ?",
        (chats[0].id, first[chats[0].id]),
    )
    assert behind and {r["state"] for r in behind} == {"pending"}  # never overtaking it
    assert "970" not in {address for address, _, _ in sender.sent}
    assert states[first[chats[1].id]] == states[first[chats[2].id]] == "sent"
    assert store.event_counts().get("ambiguous") == 2
    assert report.left >= 1  # the live run's claimed part and the parts behind it
    assert core.storage.deliveries.holder(LOCK) == other.owner
