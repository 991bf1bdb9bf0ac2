"""Scheduled work: feed polling and weekly digests, on APScheduler 3.

Three ticks run every minute in an ``AsyncIOScheduler``: one polls the feeds whose own
next poll time (interval + jitter, or backoff after failures) has come, one plans due
digests and sends what the ledger holds, both at once (planning runs in a thread and
commits digests in batches while the deliverer sends them), one sends the keyword alerts
that are due (``app.alerts``). The schedule lives in SQLite,
so a restart neither loses nor repeats anything, and the same jobs run with or without
Telegram. A process lock keeps a second process on the same database from scheduling
too; it is renewed while a long broadcast runs, and the broadcast stops if it is lost.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from app.alerts import Alerter
from app.charts import draw_ahead
from app.core import Core
from app.delivery import CHART_WAIT, Deliverer, DeliveryReport, Progress, Sender
from app.ingest import FeedReport
from app.planning import PLAIN, Planner, PlanStats
from digests.failures import feed_disabled
from domain.errors import CorruptDatabaseError, StorageError
from domain.models import FeedState

log = logging.getLogger(__name__)
T = TypeVar("T")

LOCK = "scheduler"
LOCK_TTL = 300
RENEW_EVERY = 60.0  # seconds (real time) between renewals of the lock while work runs
# A broadcast whose renewals keep failing stops this long before its lock could expire:
# more than a renewal's retry pause plus a busy timeout (30 s) of the attempt after it.
RENEW_MARGIN = 60
CLAIM_GRACE = 2 * LOCK_TTL  # seconds: no live run's send holds a claim this long
PURGE_EVERY = 3600  # seconds: the purge scans the settled parts; bodies may wait an hour


def process_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _owner_alive(owner: str) -> bool:
    """False when ``owner`` names a process on this host that no longer exists."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def take_lock(core: Core, owner: str, now: int) -> bool:
    """Take the scheduler lock, stealing it from a holder on this host that has died."""
    store = core.storage.deliveries
    if store.acquire(LOCK, owner, now, LOCK_TTL):
        return True
    holder = store.holder(LOCK)
    if holder is not None and not _owner_alive(holder):
        store.steal(LOCK, holder)
        return store.acquire(LOCK, owner, now, LOCK_TTL)
    return False


@dataclass
class Jobs:
    core: Core
    senders: dict[str, Sender]
    alert: Callable[[str], Awaitable[None]] | None = None
    clock: Callable[[], float] | None = None  # the core's clock unless given
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    owner: str = field(default_factory=process_owner)
    scheduler: AsyncIOScheduler | None = None
    spawn_drawing: bool = True  # charts drawn in a separate process (app.charts)

    def __post_init__(self) -> None:
        # Pacing measures real seconds: a frozen calendar clock (the core's, in tests and
        # replays) would hold a part told to wait for ever. Due times stay on the core's clock.
        self.deliverer = Deliverer(
            self.core,
            self.senders,
            clock=self.clock or time.time,
            sleep=self.sleep,
            alert=self.alert,
            owner=self.owner,
        )
        self._disabled: list[FeedState] = []
        self.alerter = Alerter(self.core, self.senders)
        self._holding = True
        self._purged_at: int | None = None  # when this process last purged the ledger
        self.plan_stats = PlanStats()  # what this process's planners did, summed

    def _clock(self) -> float:
        return (self.clock or self.core.clock)()

    def _now(self) -> int:
        return int(self._clock())

    # -- ticks (also called directly by tests with a fake clock) -------------------

    async def poll_feeds(self) -> list[FeedReport]:
        now = self._now()
        if not await self._off_loop(take_lock, self.core, self.owner, now):
            return []
        due = [
            f
            for f in self.core.storage.feeds.active()
            if f.next_poll_at is None or f.next_poll_at <= now
        ]
        if not due:
            return []
        # Fetching and analysis block: run them off the event loop (storage gives the
        # worker thread a connection of its own).
        ingestor = self.core.ingestor()
        ingestor.on_disabled = lambda feed, error: self._disabled.append(feed)
        reports = await asyncio.to_thread(ingestor.ingest, due, now)
        while self._disabled and self.alert is not None:
            feed = self._disabled.pop(0)  # its error was logged by the ingestor
            await self.alert(feed_disabled(feed.url, feed.last_error_kind, feed.last_error or ""))
        return reports

    async def send_digests(self, *, force: bool = False) -> DeliveryReport:
        """Finish what was planned and plan what is due while sending: `digest send`.

        Returns once everything due is sent, or what is left must wait beyond the
        deliverer's horizon (the report says how many parts and from when).
        """
        now = self._now()
        store = self.core.storage.deliveries
        if not await self._off_loop(take_lock, self.core, self.owner, now):
            log.warning("jobs.locked another process holds the scheduler lock; not sending")
            left, next_at = store.unsent(tuple(self.senders))  # what that process has left
            return DeliveryReport(left=left, next_at=next_at, locked=True)
        # Every tick: a claim of this process's last run (its outcome could not be
        # recorded) or of a process that died goes back to the queue, never a live run's.
        ambiguous = await self._off_loop(store.recover, now, live=self._live, grace=CLAIM_GRACE)
        if ambiguous:
            log.warning("delivery.recovered ambiguous=%d", ambiguous)
        if self._purged_at is None or now - self._purged_at >= PURGE_EVERY:
            retention = self.core.settings.digest.retention_days * 86400
            purged = await self._off_loop(store.purge, now - retention)
            self._purged_at = now
            if purged:
                log.info("delivery.purged parts=%d", purged)
        self._holding = True
        progress = Progress()
        planned = threading.Event()
        renewing = asyncio.create_task(self._keep_lock())
        # Planning composes and renders: off the event loop, on the worker thread's own
        # database connection, committing batches the deliverer picks up as they land. The charts
        # it plans are drawn by a second thread, ahead of the sender.
        planning = asyncio.create_task(asyncio.to_thread(self._plan, now, force, progress, planned))
        drawing = asyncio.create_task(asyncio.to_thread(self._draw, planned))
        self.deliverer.chart_wait = CHART_WAIT  # a chart not drawn yet is drawn ahead soon
        drawing.add_done_callback(self._drawn_ahead)
        try:
            report = await self.deliverer.run(progress=progress, keep_going=self._still_holding)
            await planning
        finally:
            renewing.cancel()
            planned.set()
            await asyncio.wait([planning, drawing])
        return report

    async def send_alerts(self) -> int:
        """Instant keyword alerts that are due (paced per chat by the alerter)."""
        now = self._now()
        if not await self._off_loop(take_lock, self.core, self.owner, now):
            return 0
        return await self.alerter.run(now)

    def _still_holding(self) -> bool:
        return self._holding

    def _live(self, owner: str) -> bool:
        """Whether a claim by ``owner`` may belong to a run still sending it. Ticks of this
        process never overlap (``max_instances=1``): its own claims are from a run that
        ended."""
        return owner != self.owner and _owner_alive(owner)

    async def _keep_lock(self) -> None:
        """Renew the scheduler lock while the broadcast runs, off the event loop (a renewal
        waits while another process holds the write lock; chat replies must not).

        A failed renewal is logged and retried sooner. The broadcast stops when another
        process holds the lock, or when renewals have failed for so long that the lock
        could expire before the next one: another process could then take it.
        """
        store = self.core.storage.deliveries
        renewed = self._now()  # taken just before the broadcast began
        pause = RENEW_EVERY
        while True:
            await asyncio.sleep(pause)
            now = self._now()
            try:
                held = await self._off_loop(store.acquire, LOCK, self.owner, now, LOCK_TTL)
            except Exception as e:
                failing = self._now() - renewed
                log.error(
                    "jobs.renew_failed for=%ds error=%s",
                    failing,
                    e,
                    exc_info=not isinstance(e, StorageError),
                )
                if failing >= LOCK_TTL - RENEW_MARGIN:
                    log.error("jobs.lock_expiring renewals failed for %ds; stopping", failing)
                    self._holding = False
                    return
                pause = RENEW_EVERY / 4
                continue
            if not held:
                log.error("jobs.lock_lost another process took the scheduler lock; stopping")
                self._holding = False
                return
            renewed, pause = now, RENEW_EVERY

    async def _off_loop(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A blocking storage call in a worker thread (storage gives it a connection of its
        own); here for an in-memory database, which serves one thread only."""
        if self.core.storage.db.path == ":memory:":
            return call(*args, **kwargs)
        return await asyncio.to_thread(call, *args, **kwargs)

    def _plan(self, now: int, force: bool, progress: Progress, planned: threading.Event) -> int:
        """Runs in a worker thread (storage gives it a connection of its own)."""
        caps = {name: getattr(s, "capabilities", PLAIN) for name, s in self.senders.items()}
        try:
            planner = Planner(self.core, caps, on_batch=progress.notify, stats=self.plan_stats)
            return planner.plan_due(now, force=force, channels=tuple(self.senders))
        finally:
            planned.set()
            progress.finish()

    def _drawn_ahead(self, _: object) -> None:
        self.deliverer.chart_wait = 0.0  # nothing draws ahead any more: draw, do not wait

    def _draw(self, planned: threading.Event) -> int:
        """Runs in a worker thread: hands the planned charts to the drawing process."""
        try:
            return draw_ahead(self.core, planned, spawn=self.spawn_drawing)
        except Exception:  # the deliverer draws what is left itself
            log.exception("jobs.drawing_failed")
            return 0

    # -- the scheduler ---------------------------------------------------------------

    def start(self, *, poll_seconds: int = 60) -> AsyncIOScheduler:
        scheduler = AsyncIOScheduler(timezone="UTC")
        first = dt.datetime.now(dt.UTC)  # the jobs run once right away, then every minute
        jobs: tuple[tuple[str, Callable[[], Awaitable[object]]], ...] = (
            ("feeds", self.poll_feeds),
            ("digests", self.send_digests),
            ("alerts", self.send_alerts),
        )
        for offset, (job_id, job) in enumerate(jobs):
            scheduler.add_job(
                self._safe(job),
                "interval",
                seconds=poll_seconds,
                id=job_id,
                max_instances=1,
                coalesce=True,
                next_run_time=first + dt.timedelta(seconds=5 * offset),
            )
        scheduler.start()
        self.scheduler = scheduler
        return scheduler

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        try:
            self.core.storage.deliveries.release(LOCK, self.owner)
        except StorageError as e:  # the lock expires by itself; stopping must not fail
            log.error("jobs.release_failed error=%s", e)

    def _safe(self, job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            try:
                await job()
            except CorruptDatabaseError as e:  # storage logged it once already: no traceback
                log.error("jobs.failed job=%s error=%s", getattr(job, "__name__", "?"), e)
            except Exception:  # a failing tick must not kill the scheduler
                log.exception("jobs.failed job=%s", getattr(job, "__name__", "?"))

        return run
