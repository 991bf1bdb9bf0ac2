"""A digest tick's housekeeping writes (the lock, recovery, the purge, a chart the
deliverer draws itself) run off the event loop, where a held write lock cannot freeze chat
replies; and the purge, which scans the settled parts, runs at most once an hour."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from domain.models import Subscription
from tests.test_delivery import run, subscribe
from tests.test_delivery import world as world  # the fixture


def _watch(calls: list[bool], real: Callable[..., Any]) -> Callable[..., Any]:
    """``real``, recording for each call whether it ran on the event loop's thread."""

    @functools.wraps(real)
    def call(*args: Any, **kwargs: Any) -> Any:
        calls.append(threading.current_thread() is threading.main_thread())
        return real(*args, **kwargs)

    return call


def test_housekeeping_writes_run_off_the_loop_and_the_purge_hourly(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    core, clock, sender, jobs = world
    chat = subscribe(core, "990", Subscription(city="湘潭"))
    clock.now = chat.next_due_at
    monkeypatch.setattr("app.jobs.draw_ahead", lambda core, planned, spawn: 0)  # none ahead
    monkeypatch.setattr("app.charts.draw_spec", lambda spec: b"\x89PNG drawn by the deliverer")
    store = core.storage.deliveries
    on_loop: dict[str, list[bool]] = {}
    for name in ("acquire", "recover", "purge", "drawn"):
        on_loop[name] = []
        monkeypatch.setattr(store, name, _watch(on_loop[name], getattr(store, name)))
    first = run(jobs.send_digests())
    assert first.sent >= 2 and any(kind == 1 for _, kind, _ in sender.sent)
    run(jobs.send_digests())  # a minute later by the scheduler: no second purge
    clock.now += 3600
    run(jobs.send_digests())
    assert len(on_loop["purge"]) == 2
    assert on_loop["drawn"], "the deliverer drew the chart itself"
    assert len(on_loop["recover"]) == 3
    for name, calls in on_loop.items():
        assert calls and not any(calls), f"{name} ran on the event loop"
