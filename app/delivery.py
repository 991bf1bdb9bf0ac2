"""Weekly digests: apply the ledger through the channels, while the planner fills it.

Plan, then apply. ``app.planning.Planner`` records every part of a batch of digests in
one transaction before any of them is sent; ``Deliverer.run`` sends what the ledger says
is pending, paced per channel and per chat, and records each outcome; a crash at any
point leaves the ledger saying exactly what is left. The two run at once: the deliverer
reads the ledger in pages and follows the planner's :class:`Progress`, so the first
message goes out as soon as the first batch is committed. The channels are behind the
small ``Sender`` interface.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import heapq
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from app.charts import ChartCache
from app.core import Core
from app.pacing import Pacer
from app.planning import Capabilities, Planner, digest_for
from app.runstate import Progress, RunState, collect
from digests.failures import channel_down, target_disabled
from domain.errors import (
    BlockedError,
    ChannelDownError,
    ChatMigratedError,
    CorruptDatabaseError,
    DeliveryError,
    InvalidTargetError,
    RateLimitedError,
    RejectedError,
    StorageError,
)
from domain.models import Chat
from storage.deliveries import Part

__all__ = [
    "Deliverer",
    "DeliveryReport",
    "Planner",
    "Progress",
    "Sender",
    "digest_for",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_ATTEMPTS = 10
MAX_BACKOFF = 600
HORIZON = 120.0  # seconds: a part told to wait longer than this is left for a later run
PAGE = 1000  # parts read from the ledger at a time
EVER = 2**62  # "due by then": every pending part
LOW_WATER = 300  # read the next page when fewer parts than this are in memory
DEFER = 0.05  # seconds a part whose chart is not drawn yet is first put back for
MAX_DEFER = 1.0  # doubling up to this
CHART_WAIT = 10.0  # seconds a part waits for the drawing process (``Deliverer.chart_wait``)
SETTLE = 120  # seconds: longer than any ingest transaction stays open (alerts wait it)


class Sender(Protocol):
    """A channel as the deliverer sees it."""

    channel: str
    capabilities: Capabilities
    global_interval: float  # seconds between any two sends (30/s → 1/30)
    # Optional: ``max_in_flight`` (int, default 1), sends that may be under way at once.

    def chat_interval(self, chat: Chat) -> float: ...

    async def send_text(self, chat: Chat, body: str) -> str: ...

    async def send_photo(self, chat: Chat, photo: bytes, caption: str) -> str: ...


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    left: int = 0  # parts still in the ledger for the served channels after the run
    next_at: int | None = None  # the earliest time one of them may go
    locked: bool = False  # another process holds the scheduler lock: nothing was sent


@dataclass
class Deliverer:
    """Sends pending ledger parts, paced, recording every outcome."""

    core: Core
    senders: dict[str, Sender]
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    alert: Callable[[str], Awaitable[None]] | None = None
    pacer: Pacer = field(default_factory=Pacer)
    charts: ChartCache | None = None
    owner: str | None = None  # recorded on each claim: recovery keeps a live run's claims
    # Seconds a part waits for its chart to be drawn ahead (``app.charts.draw_ahead``)
    # before the deliverer draws it itself: 0 while nothing draws ahead.
    chart_wait: float = 0.0
    _writer: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.charts is None:
            self.charts = ChartCache(self.core, write=self._write)

    async def run(
        self,
        *,
        horizon: float = HORIZON,
        progress: Progress | None = None,
        keep_going: Callable[[], bool] | None = None,
    ) -> DeliveryReport:
        """Send every pending part, including those the planner commits meanwhile.

        Parts of one chat go out in order; chats are interleaved by when each may next
        receive a message, and up to the sender's ``max_in_flight`` sends are under way
        at once (a round trip to Telegram takes longer than the 33 ms between two sends
        at 30/s). A part told to wait (429, backoff) waits in place, never dropped,
        unless it would wait more than ``horizon`` seconds: then it is left for a later
        run. Returns when the ledger holds nothing more to send now and planning (when
        ``progress`` is given) has ended, or when ``keep_going()`` says stop. The
        report's ``left`` and ``next_at`` are read from the ledger at the end.

        The ledger's writes (claim, outcome) run in a thread of their own, in order, so a
        write lock held by another process (a planner's batch, an ingest) holds up the
        sends but never the event loop: chat replies go on meanwhile.
        """
        try:
            return await self._run(horizon, progress, keep_going)
        finally:
            await self._stop_writer()

    async def _run(
        self,
        horizon: float,
        progress: Progress | None,
        keep_going: Callable[[], bool] | None,
    ) -> DeliveryReport:
        run = RunState()
        # A part another run still holds in ``sending``: the chat's later parts wait for it.
        run.later |= self.core.storage.deliveries.claimed_chats()
        report = DeliveryReport()
        tasks: set[asyncio.Task[None]] = set()
        try:
            await self._apply(run, report, tasks, horizon, progress, keep_going)
        finally:
            if tasks:  # the sends under way finish and are recorded, whatever stopped us
                await asyncio.wait(set(tasks))
        run.check()
        report.left, report.next_at = self.core.storage.deliveries.unsent(tuple(self.senders))
        return report

    async def _apply(
        self,
        run: RunState,
        report: DeliveryReport,
        tasks: set[asyncio.Task[None]],
        horizon: float,
        progress: Progress | None,
        keep_going: Callable[[], bool] | None,
    ) -> None:
        seen = -1
        while keep_going is None or keep_going():
            run.check()
            version = progress.version if progress is not None else 0
            if version != seen:
                run.exhausted = False
            if (run.held < LOW_WATER or not run.heap or run.starved) and not run.exhausted:
                seen, run.starved = version, False
                self._refill(run)
            run.unpark(time.monotonic())
            if not run.heap:
                if not run.exhausted:
                    continue
                planning = None
                if progress is not None and not progress.done:
                    planning = asyncio.ensure_future(progress.wait(seen))
                elif progress is not None and progress.version != seen:
                    continue  # the last batch landed after the last read
                if not tasks and planning is None and not run.parked:
                    break
                await self._first(run, tasks, planning)
                continue
            ready_at, chat_id = run.heap[0]
            chat = run.chats[chat_id]
            sender = self.senders[chat.channel]
            if run.flying[chat.channel] >= getattr(sender, "max_in_flight", 1):
                await self._first(run, tasks)
                continue
            heapq.heappop(run.heap)
            run.scheduled.discard(chat_id)
            queue = run.queues[chat_id]
            if not queue:
                continue
            if chat.channel in run.down:
                run.drop(chat_id)
                continue
            ready_at = self.pacer.ready(sender, chat_id, ready_at)
            if ready_at - self.clock() > horizon:
                run.drop(chat_id)
                run.later.add(chat_id)
                continue
            part = queue[0]
            wait = ready_at - self.clock()
            if wait > 0:
                if progress is not None and progress.version != seen:
                    # Planned since the last read: it may be due before this chat.
                    run.starved = True
                    run.push(chat_id, ready_at)
                    continue
                if not await self._pause(wait, run, tasks, progress, seen):
                    run.push(chat_id, ready_at)  # woken early: look at the heap top again
                    continue
                if self.pacer.ready(sender, chat_id, 0.0) > self.clock() + 1e-6:
                    run.push(chat_id, ready_at)  # a 429 arrived meanwhile: hold back
                    continue
            held_back = self._chart_wait(run, part)
            if held_back is not None:
                # Its chart is still being drawn: send other chats' parts meanwhile.
                run.park(chat_id, ready_at, time.monotonic() + held_back)
                continue
            began = self.clock()  # pace from the start of a send, not its end
            self.pacer.started(sender, chat, began)
            run.flying[chat.channel] += 1
            run.scheduled.add(chat_id)  # in flight
            task = asyncio.create_task(self._attempt(run, sender, chat, part, report))
            tasks.add(task)
            task.add_done_callback(functools.partial(collect, tasks, run))

    async def _first(
        self,
        run: RunState,
        tasks: set[asyncio.Task[None]],
        *also: asyncio.Future[None] | None,
    ) -> None:
        """Until a send in flight completes, a chat waiting for its chart is to look again,
        or one of ``also`` (the planner committing more, a sleep) ends; ``also`` is then
        cancelled."""
        extra = [f for f in (*also, run.timer()) if f is not None]
        try:
            if tasks or extra:
                await asyncio.wait({*tasks, *extra}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for future in extra:
                if not future.done():
                    future.cancel()

    async def _pause(
        self,
        seconds: float,
        run: RunState,
        tasks: set[asyncio.Task[None]],
        progress: Progress | None,
        seen: int,
    ) -> bool:
        """Sleep ``seconds``, unless something that may put a chat ahead of the one waiting
        happens first (see ``_first``); whether the time passed."""
        sleeping = asyncio.ensure_future(self.sleep(seconds))
        planning = None
        if progress is not None and not progress.done:
            planning = asyncio.ensure_future(progress.wait(seen))
        await self._first(run, tasks, sleeping, planning)
        return sleeping.done() and not sleeping.cancelled()

    def _refill(self, run: RunState) -> None:
        """Read the next page of pending parts into the run's queues.

        All of them, even those told to wait beyond the horizon: a chat's later parts
        must wait behind its earlier one, and the heap drops the chat as a whole.
        """
        store = self.core.storage
        page = store.deliveries.pending(EVER, PAGE, after=run.cursor)
        run.exhausted = len(page) < PAGE
        for part in page:
            run.cursor = part.id
            if part.chat_id in run.later:
                continue  # its earlier part is left for a later run: keep the order
            if part.chat_id not in run.chats:
                chat = store.chats.by_id(part.chat_id)
                if chat is None or chat.channel not in self.senders:
                    continue
                run.chats[part.chat_id] = chat
            if run.chats[part.chat_id].channel in run.down:
                continue
            run.queues.setdefault(part.chat_id, deque()).append(part)
            run.held += 1
            if part.chat_id not in run.scheduled:
                run.push(part.chat_id, float(part.not_before))

    async def _attempt(
        self, run: RunState, sender: Sender, chat: Chat, part: Part, report: DeliveryReport
    ) -> None:
        """Claim, send and record one part; then put the chat back in line."""
        store = self.core.storage
        queue = run.queues[chat.id]
        retry_at = 0.0
        try:
            claimed = await self._write(
                store.deliveries.claim, part.id, owner=self.owner, now=int(self.clock())
            )
            if not claimed:
                queue.popleft()  # another process sent or holds it
                run.held -= 1
            else:
                outcome, retry_at = await self._send_one(sender, chat, part, report)
                if outcome == "done":
                    queue.popleft()
                    run.held -= 1
                elif outcome in ("dropped", "abort"):
                    run.drop(chat.id)
                    if outcome == "abort":
                        run.down.add(chat.channel)
                else:  # "retry": the same part again later; the claim counted an attempt
                    queue[0] = dataclasses.replace(part, attempts=part.attempts + 1)
                    reloaded = store.chats.by_id(chat.id)
                    if reloaded is not None:
                        run.chats[chat.id] = reloaded
        except CorruptDatabaseError:
            run.drop(chat.id)
            raise  # the run stops: this process writes no more to the file
        except Exception:
            # The ledger failed under us (a claim, an outcome): leave the chat for a later
            # run, whose recovery returns a part left in ``sending`` to the queue.
            log.exception("delivery.attempt_failed chat=%d part=%d", chat.id, part.id)
            run.drop(chat.id)
            run.later.add(chat.id)
        finally:
            run.flying[chat.channel] -= 1
            run.scheduled.discard(chat.id)
            if queue:
                run.push(chat.id, max(self.pacer.chat_ready(chat.id), retry_at))

    async def _write(self, write: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one ledger write on the run's writer thread (one thread: writes keep their
        order and share one connection). An in-memory database serves one thread only:
        there the write runs here."""
        if self.core.storage.db.path == ":memory:":
            return write(*args, **kwargs)
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="ledger-writer")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, functools.partial(write, *args, **kwargs))

    async def _stop_writer(self) -> None:
        """Close the writer thread's connection and let the thread end."""
        writer, self._writer = self._writer, None
        if writer is not None:
            await asyncio.get_running_loop().run_in_executor(writer, self.core.storage.db.release)
            writer.shutdown(wait=False)

    def _chart_wait(self, run: RunState, part: Part) -> float | None:
        """How long to put back a part due now whose chart the drawing process has not
        drawn yet (a little longer each time), or None to send it now: drawn, gone, or
        waited for ``chart_wait`` seconds (then the deliverer draws it itself)."""
        assert self.charts is not None
        if part.chart_id is None or self.charts.ready(part.chart_id):
            return None
        now = time.monotonic()  # the drawing process works in real time, whatever our clock
        deadline, times = run.deferred.get(part.id, (now + self.chart_wait, 0))
        if now >= deadline or self.chart_wait <= 0:
            return None
        run.deferred[part.id] = (deadline, times + 1)
        return min(DEFER * 2**times, MAX_DEFER, deadline - now)

    async def _send_one(
        self, sender: Sender, chat: Chat, part: Part, report: DeliveryReport
    ) -> tuple[str, float]:
        """Send one claimed part and record the outcome: ("done" | "retry" | "dropped", when)."""
        store = self.core.storage.deliveries
        now = int(self.clock())
        try:
            photo = None
            if part.chart_id is not None and self.charts is not None:
                photo = await self.charts.png(part.chart_id)
            if part.kind == "photo" and photo is not None:
                remote = await sender.send_photo(chat, photo, part.body)
            else:
                remote = await sender.send_text(chat, part.body)
        except RateLimitedError as e:
            wait = max(1.0, e.retry_after or 1.0)
            # Flood control applies to the whole bot: hold the channel, not just this chat.
            self.pacer.hold(chat.channel, self.clock() + wait)
            await self._write(store.retry, part, now, int(now + wait), str(e), "rate_limited")
            report.retried += 1
            log.warning("delivery.rate_limited chat=%d retry_after=%.0f", chat.id, wait)
            return "retry", self.clock() + wait
        except ChatMigratedError as e:
            holder = await self._write(
                self.core.storage.chats.migrate, chat.channel, chat.address, e.new_address
            )
            if part.attempts + 1 >= MAX_ATTEMPTS:
                report.failed += await self._write(store.fail_chat, chat.id, now, str(e), "failed")
                return "dropped", 0.0
            await self._write(store.retry, part, now, now, "chat migrated", "migrated")
            if holder != chat.id:
                # The new id already had a chat: the unsent parts moved to it; next run.
                report.left += 1
                return "dropped", 0.0
            return "retry", self.clock()
        except RejectedError as e:
            await self._write(store.reject, part, now, str(e))
            report.failed += 1
            log.warning("delivery.rejected chat=%d part=%d error=%s", chat.id, part.part, e)
            return "done", 0.0
        except ChannelDownError as e:
            await self._write(store.retry, part, now, now + 300, str(e), "channel_down")
            log.error("delivery.channel_down channel=%s error=%s", chat.channel, e)
            if self.alert is not None:
                await self.alert(channel_down(chat.channel))  # the detail is in the log
            return "abort", 0.0
        except (BlockedError, InvalidTargetError) as e:
            kind = "blocked" if isinstance(e, BlockedError) else "invalid_target"
            await self._write(self.core.storage.chats.update, chat.id, active=0)
            report.failed += await self._write(store.fail_chat, chat.id, now, str(e), kind)
            log.warning("delivery.%s chat=%d error=%s", kind, chat.id, e)
            if self.alert is not None and kind == "invalid_target":
                await self.alert(target_disabled(chat.channel, chat.address, e.code))
            return "dropped", 0.0
        except StorageError:
            raise  # the ledger failed, not the channel (a chart's read or write): _attempt
        except Exception as e:  # transient: network, 5xx, and anything unknown
            if not isinstance(e, DeliveryError):
                log.exception("delivery.unexpected chat=%d", chat.id)
            attempts = part.attempts + 1
            if attempts >= MAX_ATTEMPTS:
                report.failed += await self._write(store.fail_chat, chat.id, now, str(e), "failed")
                return "dropped", 0.0
            delay = min(MAX_BACKOFF, 2**attempts)
            await self._write(store.retry, part, now, now + delay, str(e), "transient")
            report.retried += 1
            log.warning("delivery.transient chat=%d attempt=%d error=%s", chat.id, attempts, e)
            return "retry", self.clock() + delay
        await self._write(store.sent, part, now, remote)
        report.sent += 1
        return "done", 0.0
