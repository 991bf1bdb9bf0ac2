"""What one delivery run knows while it runs: the planner's progress and the run's queues.

``app.delivery.Deliverer`` keeps one ``RunState`` per run; ``Progress`` is how the planner,
on its thread, tells the deliverer on the event loop that a batch was committed.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections import Counter, deque
from dataclasses import dataclass, field

from domain.models import Chat
from storage.deliveries import Part

__all__ = ["Progress", "RunState", "collect"]


class Progress:
    """What the planner has committed so far, as the deliverer on the event loop sees it.

    ``notify`` and ``finish`` may be called from the planner's thread.
    """

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.version = 0
        self.done = False
        self._changed = asyncio.Event()

    def notify(self, planned: int = 0) -> None:
        self.loop.call_soon_threadsafe(self._bump, False)

    def finish(self) -> None:
        self.loop.call_soon_threadsafe(self._bump, True)

    def _bump(self, done: bool) -> None:
        self.version += 1
        self.done = self.done or done
        self._changed.set()

    async def wait(self, seen: int) -> None:
        """Until something was committed after version ``seen``, or planning ended."""
        while self.version == seen and not self.done:
            self._changed.clear()
            await self._changed.wait()


@dataclass
class RunState:
    """One run's view of the ledger: each chat's pending parts in order, and the chats
    by when each may next receive a message. A chat is ``scheduled`` while it is in the
    heap or has a send in flight, so it never has two parts going at once."""

    queues: dict[int, deque[Part]] = field(default_factory=dict)
    chats: dict[int, Chat] = field(default_factory=dict)
    heap: list[tuple[float, int]] = field(default_factory=list)
    scheduled: set[int] = field(default_factory=set)
    held: int = 0  # parts in memory
    cursor: int = 0  # the last ledger id read
    exhausted: bool = False
    starved: bool = False  # the heap's top must wait and a batch landed unread: read it
    down: set[str] = field(default_factory=set)  # channels that refused us as a whole
    later: set[int] = field(default_factory=set)  # chats left for a later run
    # part id → (when to stop waiting for its chart, how often it was put back)
    deferred: dict[int, tuple[float, int]] = field(default_factory=dict)
    flying: Counter[str] = field(default_factory=Counter)  # channel → sends in flight
    # (real time to look again, chat id, when it may send): chats waiting for a chart
    parked: list[tuple[float, int, float]] = field(default_factory=list)
    failed: list[BaseException] = field(default_factory=list)  # what stops the run

    def check(self) -> None:
        """Raise what a send in flight failed with that must stop the run."""
        if self.failed:
            raise self.failed[0]

    def park(self, chat_id: int, at: float, until: float) -> None:
        """Keep the chat out of line until ``until`` (``time.monotonic``), still scheduled."""
        heapq.heappush(self.parked, (until, chat_id, at))

    def unpark(self, now: float) -> None:
        """Chats whose wait for a chart is over go back in line."""
        while self.parked and self.parked[0][0] <= now:
            _, chat_id, at = heapq.heappop(self.parked)
            heapq.heappush(self.heap, (at, chat_id))

    def timer(self) -> asyncio.Future[None] | None:
        """A real-time sleep until the first parked chat is to look again (None: none is)."""
        if not self.parked:
            return None
        return asyncio.ensure_future(asyncio.sleep(max(0.0, self.parked[0][0] - time.monotonic())))

    def push(self, chat_id: int, at: float) -> None:
        heapq.heappush(self.heap, (at, chat_id))
        self.scheduled.add(chat_id)

    def drop(self, chat_id: int) -> None:
        """Forget the chat's parts for this run (the ledger still holds what is unsent)."""
        queue = self.queues[chat_id]
        self.held -= len(queue)
        queue.clear()


def collect(tasks: set[asyncio.Task[None]], run: RunState, task: asyncio.Task[None]) -> None:
    """A send finished: forget its task, keeping what it failed with for the run."""
    tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        run.failed.append(task.exception())  # type: ignore[arg-type]
