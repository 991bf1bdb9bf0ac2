"""One chat whose digest cannot be planned costs that chat its digest, never the others'."""

from __future__ import annotations

import logging

import pytest

from app.planning import RETRY_FAILED, Planner
from domain.models import Subscription
from tests.test_delivery import RecordingSender, subscribe
from tests.test_delivery import world as world  # the fixture


def _three(core):  # type: ignore[no-untyped-def]
    return [
        subscribe(core, "401", Subscription(city="湘潭")),
        subscribe(core, "402", Subscription(city="长沙")),
        subscribe(core, "403", Subscription(city="株洲")),
    ]


def _planned(core) -> set[str]:  # type: ignore[no-untyped-def]
    rows = core.storage.db.query("SELECT c.address FROM digests d JOIN chats c ON c.id = d.chat_id")
    return {r["address"] for r in rows}


def test_a_chat_whose_compose_raises_is_logged_counted_and_skipped(
    world,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    core, clock, _, _ = world
    good, bad, last = _three(core)
    clock.now = max(c.next_due_at for c in (good, bad, last))
    parts = Planner._parts

    def broken(self, chat, *args):  # type: ignore[no-untyped-def]
        if chat.id == bad.id:
            raise KeyError("a bug in one chat's digest")
        return parts(self, chat, *args)

    monkeypatch.setattr(Planner, "_parts", broken)
    planner = Planner(core, {"telegram": RecordingSender.capabilities})
    with caplog.at_level(logging.ERROR, logger="app.planning"):
        planned = planner.plan_due(int(clock.now))
    assert planned == 2 and _planned(core) == {"401", "403"}
    assert planner.stats.failed == 1
    failure = next(r for r in caplog.records if "digest.plan_failed" in r.getMessage())
    assert f"chat={bad.id}" in failure.getMessage() and failure.exc_info is not None
    # Due again after RETRY_FAILED, not at every tick; then planned, its period whole.
    assert core.storage.chats.by_id(bad.id).next_due_at == int(clock.now) + RETRY_FAILED
    assert planner.plan_due(int(clock.now) + 60) == 0
    monkeypatch.setattr(Planner, "_parts", parts)
    assert planner.plan_due(int(clock.now) + RETRY_FAILED) == 1
    assert _planned(core) == {"401", "402", "403"}


def test_a_digest_the_ledger_refuses_does_not_lose_its_batch(
    world,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    core, clock, _, _ = world
    good, bad, last = _three(core)
    clock.now = max(c.next_due_at for c in (good, bad, last))
    store = core.storage.deliveries
    plan_one = store._plan_one

    def refusing(digest, now):  # type: ignore[no-untyped-def]
        if digest.chat_id == bad.id:
            raise ValueError("a digest the ledger cannot take")
        return plan_one(digest, now)

    monkeypatch.setattr(store, "_plan_one", refusing)
    planner = Planner(core, {"telegram": RecordingSender.capabilities})
    with caplog.at_level(logging.ERROR, logger="app.planning"):
        planned = planner.plan_due(int(clock.now))
    assert planned == 2 and _planned(core) == {"401", "403"}
    assert planner.stats.failed == 1
    assert any(f"chat={bad.id}" in r.getMessage() for r in caplog.records)
