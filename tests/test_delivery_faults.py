"""The deliverer when the ledger itself fails: a storage error in one send drops that chat
for the run (its part left for the next run's recovery) and never stops the others or
hangs the run; a damaged database stops the run at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest

from app.delivery import Deliverer
from app.planning import Planner
from domain.errors import CorruptDatabaseError, StorageError
from domain.models import Subscription
from tests.test_delivery import fake_sleep, subscribe
from tests.test_delivery import world as world  # the fixture

BOUND = 20.0  # seconds: far longer than any of these runs takes; a hang fails instead


def _plan(core, clock, sender, *addresses: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Plan a digest for each address now; their chat ids by address."""
    chats = {a: subscribe(core, a, Subscription(city="湘潭")) for a in addresses}
    clock.now = max(c.next_due_at or 0 for c in chats.values())
    Planner(core, {"telegram": sender.capabilities}).plan_due(int(clock.now))
    return {a: c.id for a, c in chats.items()}


def _failing(real: Callable[..., Any], chat_of: Callable[..., int], bad: int, error: Exception):
    """``real``, raising ``error`` for the chat ``bad`` (told by ``chat_of(*args)``)."""

    def write(*args: Any, **kwargs: Any) -> Any:
        if chat_of(*args) == bad:
            raise error
        return real(*args, **kwargs)

    return write


def _states(core, chat_id: int) -> set[str]:  # type: ignore[no-untyped-def]
    rows = core.storage.db.query("SELECT state FROM deliveries WHERE chat_id = ?", (chat_id,))
    return {r["state"] for r in rows}


def _part_chat(core) -> Callable[..., int]:  # type: ignore[no-untyped-def]
    def chat_of(part_id: int, *_: Any) -> int:
        return int(
            core.storage.db.scalar("SELECT chat_id FROM deliveries WHERE id = ?", (part_id,))
        )

    return chat_of


def test_a_failing_claim_drops_that_chat_and_the_run_ends(world, caplog) -> None:  # type: ignore[no-untyped-def]
    core, clock, sender, _ = world
    ids = _plan(core, clock, sender, "951", "952")
    store = core.storage.deliveries
    store.claim = _failing(  # type: ignore[method-assign]
        store.claim, _part_chat(core), ids["951"], StorageError("database is locked")
    )
    deliverer = Deliverer(core, {"telegram": sender}, clock=clock, sleep=fake_sleep(clock))
    with caplog.at_level(logging.ERROR, logger="app.delivery"):
        report = asyncio.run(asyncio.wait_for(deliverer.run(), BOUND))
    assert {a for a, _, _ in sender.sent} == {"952"}
    assert _states(core, ids["951"]) == {"pending"}  # the claim never happened
    assert _states(core, ids["952"]) == {"sent"}
    assert report.left == len(
        core.storage.db.query("SELECT id FROM deliveries WHERE chat_id = ?", (ids["951"],))
    )
    failed = [r for r in caplog.records if "delivery.attempt_failed" in r.getMessage()]
    assert len(failed) == 1 and failed[0].exc_info is not None  # once, with its traceback


def test_a_failing_outcome_write_leaves_the_part_for_recovery(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, sender, jobs = world
    ids = _plan(core, clock, sender, "953", "954")
    store = core.storage.deliveries
    real_sent = store.sent
    store.sent = _failing(  # type: ignore[method-assign]
        real_sent, lambda part, *_: part.chat_id, ids["953"], StorageError("disk I/O error")
    )
    deliverer = Deliverer(core, {"telegram": sender}, clock=clock, sleep=fake_sleep(clock))
    report = asyncio.run(asyncio.wait_for(deliverer.run(), BOUND))
    assert [a for a, _, _ in sender.sent].count("953") == 1  # dropped after its first part
    assert "sending" in _states(core, ids["953"])
    assert _states(core, ids["954"]) == {"sent"}
    assert report.left >= 1
    # The next run recovers the stranded part (it went out once: ambiguous) and finishes.
    store.sent = real_sent  # type: ignore[method-assign]
    asyncio.run(asyncio.wait_for(jobs.send_digests(), BOUND))
    assert _states(core, ids["953"]) == {"sent"}
    assert store.event_counts().get("ambiguous") == 1


def test_a_damaged_database_stops_the_run(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, sender, _ = world
    ids = _plan(core, clock, sender, "955", "956")
    store = core.storage.deliveries
    store.claim = _failing(  # type: ignore[method-assign]
        store.claim, _part_chat(core), ids["955"], CorruptDatabaseError("malformed")
    )
    deliverer = Deliverer(core, {"telegram": sender}, clock=clock, sleep=fake_sleep(clock))
    with pytest.raises(CorruptDatabaseError):
        asyncio.run(asyncio.wait_for(deliverer.run(), BOUND))


def test_a_failing_chart_read_is_a_storage_error_not_a_send_failure(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, sender, _ = world
    ids = _plan(core, clock, sender, "957")
    deliverer = Deliverer(core, {"telegram": sender}, clock=clock, sleep=fake_sleep(clock))

    async def png(chart_id: int) -> bytes:
        raise StorageError("disk I/O error")

    deliverer.charts.png = png  # type: ignore[method-assign,union-attr]
    report = asyncio.run(asyncio.wait_for(deliverer.run(), BOUND))
    assert report.retried == 0  # not counted as the channel's transient failure
    events = core.storage.deliveries.event_counts()
    assert "transient" not in events
    assert report.left >= 1 and "sending" in _states(core, ids["957"])
