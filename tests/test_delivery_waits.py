"""While one chat waits out a backoff, the deliverer still serves the others: a batch the
planner commits meanwhile, or a send that finishes meanwhile, wakes it.

The sleeps here never pass by themselves: a backoff's sleep returns only once the other
chat's message went out, so a deliverer that sleeps through the wait hangs and the
bounded wait fails the test (no timing is measured)."""

from __future__ import annotations

import asyncio
import threading
import time

from app.delivery import Deliverer, Progress
from app.planning import Planner
from domain.errors import TransientError
from domain.models import Chat, Subscription
from tests.test_delivery import RecordingSender, fake_sleep, subscribe
from tests.test_delivery import world as world  # the fixture

BOUND = 20.0  # seconds: a hang fails the test instead of stalling the suite
BACKOFF = 2.0  # sleeps longer than this are the backoff (the chat interval is 1 s)


class GatedSleep:
    """A fake sleep on the fake clock whose backoff waits for ``released``."""

    def __init__(self, clock) -> None:  # type: ignore[no-untyped-def]
        self.clock = clock
        self.released = asyncio.Event()
        self.backing_off = threading.Event()  # for the planner's thread
        self.waiting = asyncio.Event()  # the same, on the loop

    async def __call__(self, seconds: float) -> None:
        if seconds > BACKOFF:
            self.backing_off.set()
            self.waiting.set()
            await self.released.wait()
        self.clock.advance(max(0.0, seconds))


def _backing_off_first(core, sender: RecordingSender, address: str) -> Chat:  # type: ignore[no-untyped-def]
    """A chat whose next send fails after two earlier attempts: it backs off 8 s."""
    chat = subscribe(core, address, Subscription(city="湘潭"))
    sender.failures[address] = [TransientError("boom")]
    return chat


def test_a_batch_planned_during_a_backoff_goes_out_at_once(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, sender, _ = world
    a = _backing_off_first(core, sender, "961")
    b = subscribe(core, "962", Subscription(city="湘潭"))
    core.storage.chats.update(b.id, next_due_at=(a.next_due_at or 0) + 10**6)
    clock.now = a.next_due_at
    Planner(core, {"telegram": sender.capabilities}).plan_due(int(clock.now))
    with core.storage.db.transaction():
        core.storage.db.execute("UPDATE deliveries SET attempts = 2")
    sleep = GatedSleep(clock)
    real_send = sender.send_text

    async def send_text(chat: Chat, body: str) -> str:
        remote = await real_send(chat, body)
        if chat.address == "962":
            sleep.released.set()
        return remote

    sender.send_text = send_text  # type: ignore[method-assign]

    async def main() -> None:
        progress = Progress()

        def plan() -> None:  # a second batch, committed while the first chat backs off
            try:
                assert sleep.backing_off.wait(BOUND)
                core.storage.chats.update(b.id, next_due_at=int(clock.now))
                Planner(core, {"telegram": sender.capabilities}, on_batch=progress.notify).plan_due(
                    int(clock.now)
                )
            finally:
                progress.finish()

        deliverer = Deliverer(core, {"telegram": sender}, clock=clock, sleep=sleep)
        planning = asyncio.create_task(asyncio.to_thread(plan))
        await asyncio.wait_for(deliverer.run(progress=progress), BOUND)
        await planning

    asyncio.run(main())
    order = [address for address, _, _ in sender.sent]
    assert order.index("962") < order.index("961")  # 961's retry waited for it
    assert set(order) == {"961", "962"}


class SlowFirst(RecordingSender):
    """Several sends at once; the first send to ``slow`` (text or photo) waits for ``gate``."""

    max_in_flight = 4

    def __init__(self, slow: str) -> None:
        super().__init__()
        self.slow = slow
        self.gate = asyncio.Event()
        self.after_slow = asyncio.Event()  # a later part of the slow chat went out
        self._first = True

    async def _through(self, chat: Chat) -> None:
        if chat.address != self.slow:
            return
        if self._first:
            self._first = False
            await self.gate.wait()
        else:
            self.after_slow.set()

    async def send_text(self, chat: Chat, body: str) -> str:
        await self._through(chat)
        return await super().send_text(chat, body)

    async def send_photo(self, chat: Chat, photo: bytes, caption: str) -> str:
        await self._through(chat)
        return await super().send_photo(chat, photo, caption)


def test_a_send_finishing_during_a_backoff_lets_its_chat_go_on(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    core, clock, _, _ = world
    monkeypatch.setattr("app.charts.draw_spec", lambda spec: b"\x89PNG drawn by the deliverer")
    sender = SlowFirst("964")
    sender.clock = clock
    a = _backing_off_first(core, sender, "963")
    c = subscribe(core, "964", Subscription(city="湘潭"))
    clock.now = max(a.next_due_at or 0, c.next_due_at or 0)
    Planner(core, {"telegram": sender.capabilities}).plan_due(int(clock.now))
    with core.storage.db.transaction():
        core.storage.db.execute("UPDATE deliveries SET attempts = 2 WHERE chat_id = ?", (a.id,))
    parts = core.storage.db.scalar("SELECT COUNT(*) FROM deliveries WHERE chat_id = ?", (c.id,))
    assert parts >= 2
    sleep = GatedSleep(clock)

    async def main() -> None:
        async def open_gate() -> None:  # 964's first send ends once 963 backs off
            await sleep.waiting.wait()
            sender.gate.set()
            await sender.after_slow.wait()
            sleep.released.set()

        deliverer = Deliverer(core, {"telegram": sender}, clock=clock, sleep=sleep)
        await asyncio.wait_for(asyncio.gather(deliverer.run(), open_gate()), BOUND)

    asyncio.run(main())
    order = [address for address, _, _ in sender.sent]
    assert order.count("964") == parts
    assert order.index("963") > order.index("964") + 1  # 964 went on during 963's backoff


def test_a_chart_not_drawn_yet_is_waited_for_in_time_not_in_passes(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Nothing draws the charts here: the deliverer waits for them (in real time, as the
    drawing process works, and pausing between looks) before it draws them itself. The
    fake clock does not move meanwhile: waiting for a chart is not pacing."""

    monkeypatch.setattr("app.delivery.MAX_DEFER", 0.2)
    core, clock, sender, _ = world
    for i in range(5):
        subscribe(core, str(980 + i), Subscription(city="湘潭"))
    clock.advance(3600)
    Planner(core, {"telegram": sender.capabilities}).plan_due(int(clock.now), force=True)
    undrawn = core.storage.db.scalar("SELECT COUNT(*) FROM charts WHERE png IS NULL")
    assert undrawn >= 1
    drawn_at: list[float] = []

    def draw(spec: str) -> bytes:
        drawn_at.append(time.monotonic())
        return b"\x89PNG drawn by the deliverer"

    monkeypatch.setattr("app.charts.draw_spec", draw)
    deliverer = Deliverer(core, {"telegram": sender}, clock=clock, sleep=fake_sleep(clock))
    deliverer.chart_wait = 0.5  # as while a drawing thread draws ahead (that never gets there)
    assert deliverer.charts is not None
    checks: list[int] = []
    real_ready = deliverer.charts.ready

    def ready(chart_id: int) -> bool:
        checks.append(chart_id)
        return real_ready(chart_id)

    deliverer.charts.ready = ready  # type: ignore[method-assign]
    start, due = time.monotonic(), clock.now
    report = asyncio.run(asyncio.wait_for(deliverer.run(), BOUND))
    assert report.left == 0 and len(drawn_at) == undrawn
    assert min(drawn_at) - start >= deliverer.chart_wait  # waited for, not counted out
    # A few looks per chat (after pauses of 0.05, 0.1, 0.2, ... s), never a spin.
    assert len(checks) <= 5 * 8
    assert clock.now - due < 10  # five chats, two parts each, one a second per chat
