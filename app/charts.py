"""Drawing the charts the planner stored as specs, ahead of the sender.

Planning stores what each distinct chart shows (``digests.chart.ChartSpec`` as JSON) and
moves on; drawing it with matplotlib costs about a hundred times more than composing the
digest, so it happens here: ``draw_ahead`` draws the planned charts in ledger order while
the deliverer sends, in a separate process (matplotlib would otherwise hold the
interpreter the sender and the planner need; the process also keeps matplotlib's memory
out of the bot's), and the deliverer draws one itself if it gets there first. Drawing is
deterministic, so a chart drawn twice (or again after a crash) is the same picture.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from app.core import Core
from digests.figure_chart import draw_stored

log = logging.getLogger(__name__)
Writer = Callable[..., Awaitable[Any]]  # ``write(call, *args)``: the call, off the loop

_DRAWING = threading.Lock()  # one matplotlib drawing at a time in this process
AHEAD = 8  # charts handed to the drawing process at a time


def draw_spec(spec: str) -> bytes:
    """The PNG of a stored chart spec (JSON), drawn in this process."""
    with _DRAWING:
        return draw_stored(spec)


def drawing_pool() -> Executor | None:
    """A process to draw charts in (spawned: this process has threads), or None when
    processes cannot be started here. It exits by itself when this process dies."""
    workers = max(1, min(2, (os.cpu_count() or 2) - 1))
    try:
        return ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_exit_with_parent,
            initargs=(os.getpid(),),
        )
    except (OSError, ValueError, NotImplementedError) as e:
        log.warning("charts.no_process error=%s; drawing in this process", e)
        return None


def _exit_with_parent(parent: int, every: float = 1.0) -> None:
    """In the drawing process: exit when the process that started it is gone (killed
    with SIGKILL, its pool cannot tell the worker to stop)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def draw_ahead(
    core: Core, planned: threading.Event, *, pause: float = 0.05, spawn: bool = True
) -> int:
    """Draw every undrawn chart in the ledger, until ``planned`` is set and none is left.

    Runs in a thread with a database connection of its own, handing the drawing to a
    separate process (started at the first chart) unless ``spawn`` is false;
    returns how many it drew.
    """
    store = core.storage.deliveries
    pool: Executor | None = None
    drawn = 0
    try:
        while True:
            finished = planned.is_set()  # read before looking, so the last batch is seen
            batch = store.undrawn_charts(AHEAD)
            if not batch:
                if finished:
                    return drawn
                planned.wait(pause)
                continue
            if pool is None and spawn:
                pool = drawing_pool()
                spawn = pool is not None
            specs = [spec for _, spec in batch]
            pngs = pool.map(draw_stored, specs) if pool is not None else map(draw_spec, specs)
            for (chart_id, _), png in zip(batch, pngs, strict=True):
                store.drawn(chart_id, png)
                drawn += 1
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


class ChartCache:
    """The charts one delivery run sends: read from the ledger (drawn there if the
    drawing thread has not got to one yet) and the last few held in memory."""

    def __init__(self, core: Core, size: int = 32, *, write: Writer | None = None) -> None:
        self.core = core
        self.size = size
        self.write = write  # runs a ledger write off the event loop (the deliverer's)
        self._held: OrderedDict[int, bytes] = OrderedDict()

    def ready(self, chart_id: int) -> bool:
        """Whether the chart can be sent now (drawn, or gone: the caption goes alone)."""
        if chart_id in self._held:
            return True
        png, spec = self.core.storage.deliveries.chart(chart_id)
        if png is not None:
            self._hold(chart_id, png)
        return png is not None or spec is None

    async def png(self, chart_id: int) -> bytes | None:
        if chart_id in self._held:
            self._held.move_to_end(chart_id)
            return self._held[chart_id]
        store = self.core.storage.deliveries
        png, spec = store.chart(chart_id)
        if png is None and spec is not None:
            png = await asyncio.to_thread(draw_spec, spec)
            if self.write is not None:
                await self.write(store.drawn, chart_id, png)
            else:
                store.drawn(chart_id, png)
        if png is not None:
            self._hold(chart_id, png)
        return png

    def _hold(self, chart_id: int, png: bytes) -> None:
        self._held[chart_id] = png
        if len(self._held) > self.size:
            self._held.popitem(last=False)
