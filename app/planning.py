"""Planning weekly digests into the ledger: composed once per distinct digest, not per chat.

A digest's period is defined by commit order, not by the clock: it holds the stories
committed after the chat's previous digest was planned and before this one was
(``stories.id`` only grows, and SQLite commits one writer at a time, so a story visible
to a planner has a smaller id than any story committed later). Each digest records that
watermark; the next digest starts there. No story is lost or repeated, and nothing
needs a settle delay: a story committed while planning runs goes into the next digest.

Most chats share their subscriptions, their time zone and their period, so the planner
composes, renders and draws each distinct (subscriptions, time zone, period, channel
capabilities) once and reuses the parts for every chat that asks for the same; a chart
is stored once in the ledger and referenced by the parts that use it.

The planner knows no channel by name: each sender declares its :class:`Capabilities`
(markup, message limit and how it is measured, pictures, caption limit) and the parts
are rendered to fit them.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from app.core import Core
from app.parts import CHART_CAPTION, FIGURE_CAPTION, PLAIN, Capabilities, render_parts
from app.tracking import Series, tracked
from digests.chart import chart_spec
from digests.compose import Digest, StoryPool, compose
from digests.figure_chart import figure_chart_spec
from domain.errors import CorruptDatabaseError, StorageError
from domain.models import Chat, Story, Subscription
from domain.schedule import next_due
from storage.deliveries import PlannedDigest, PlannedPart

__all__ = [
    "CHART_CAPTION",
    "FIGURE_CAPTION",
    "PLAIN",
    "Capabilities",
    "PlanStats",
    "Planner",
    "digest_for",
    "render_parts",
]

log = logging.getLogger(__name__)

BATCH = 50  # digests per transaction at most: the sender waits on the write lock for one
FLUSH = 0.2  # seconds: a batch is committed at least this often
RETRY_FAILED = 900  # seconds before a chat whose digest failed to plan is tried again


@dataclass(frozen=True)
class Period:
    """Stories committed in (after, upto] by id; ``since`` bounds a first digest's age."""

    after: int
    upto: int
    since: int  # first_seen lower bound (the lookback) for a chat's first digest, else 0
    start: int  # the period's start time, for the title
    end: int


def period_for(core: Core, chat: Chat, watermark: int, last: int | None, now: int) -> Period:
    """The period of ``chat``'s next digest: after its last watermark ``last`` (None for a
    first digest: the last ``lookback_days``) up to ``watermark``."""
    lookback = core.settings.digest.lookback_days * 86400
    start = chat.last_digest_at if chat.last_digest_at is not None else now - lookback
    end = max(now, start + 1)  # periods are never empty in time and always move on
    if last is None:
        return Period(0, watermark, now - lookback, start, end)
    return Period(last, watermark, 0, start, end)


@dataclass(frozen=True)
class PeriodStories:
    stories: list[Story]
    pool: StoryPool
    oldest: int | None  # first_seen of the oldest story
    newest: int | None
    series: list[Series]  # the task lists tracked up to the period's end
    watched: dict[str, frozenset[int]] = field(default_factory=dict)  # keyword: story ids


@dataclass
class StoryCache:
    """Each distinct period's stories, loaded and indexed once."""

    core: Core
    _periods: dict[tuple[int, int, int], PeriodStories] = field(default_factory=dict)

    def get(self, period: Period) -> PeriodStories:
        key = (period.after, period.upto, period.since)
        if key not in self._periods:
            stories = self.core.storage.articles.stories_committed(
                period.after, period.upto, since=period.since
            )
            seen = [s.first_seen for s in stories]
            self._periods[key] = PeriodStories(
                stories,
                StoryPool(stories),
                min(seen) if seen else None,
                max(seen) if seen else None,
                tracked(self.core, until=period.end),
            )
        return self._periods[key]

    def watched(
        self, period: Period, keywords: Sequence[str], since: int, until: int
    ) -> dict[str, frozenset[int]]:
        """Story ids of the period that each keyword finds, as search finds them."""
        got = self.get(period)
        for word in keywords:
            if word not in got.watched:
                got.watched[word] = frozenset(self.core.story_ids(word, since, until))
        return {w: got.watched[w] for w in keywords}


def compose_period(
    core: Core,
    cache: StoryCache,
    subscriptions: Sequence[Subscription],
    tz: str,
    p: Period,
    max_stories: int | None = None,
    *,
    watches: Sequence[str] = (),
    max_figures: int | None = None,
) -> Digest:
    settings = core.settings.digest
    got = cache.get(p)
    # compose() selects by first_seen: widen its window to hold every committed story (one
    # committed late may have been first seen before the period's start).
    since = p.start if got.oldest is None else min(p.start, got.oldest)
    until = p.end if got.newest is None else max(p.end, got.newest + 1)
    return compose(
        got.stories,
        subscriptions,
        since=since,
        until=until,
        pool=got.pool,
        timezone=tz,
        max_stories=settings.max_stories if max_stories is None else max_stories,
        max_figures=settings.max_figures if max_figures is None else max_figures,
        city_order=core.taxonomy.city_names,
        topic_order=core.taxonomy.topic_names,
        title=core.taxonomy.digest_title,
        watched=cache.watched(p, watches, since, until),
        series=got.series,
        locate=core.locate,
    )


def digest_for(core: Core, chat: Chat, now: int, *, max_figures: int | None = None) -> Digest:
    """The digest ``chat`` would get now (previews): everything committed so far; at
    most ``max_figures`` key figures (default: the configured cap)."""
    store = core.storage
    last = store.deliveries.watermarks([chat.id]).get(chat.id)
    period = period_for(core, chat, store.deliveries.story_watermark(), last, now)
    return compose_period(
        core,
        StoryCache(core),
        chat.subscriptions,
        chat.timezone,
        period,
        watches=chat.watches,
        max_figures=max_figures,
    )


@dataclass
class PlanStats:
    planned: int = 0
    distinct: int = 0  # digests composed and rendered (the rest reused one of them)
    charts: int = 0
    failed: int = 0  # chats whose digest could not be planned (logged, retried later)
    seconds: float = 0.0


@dataclass
class Planner:
    """Plans due digests in batches, committing each batch so sending can start at once."""

    core: Core
    capabilities: dict[str, Capabilities] = field(default_factory=dict)
    batch: int = BATCH
    flush: float = FLUSH
    on_batch: Callable[[int], None] | None = None  # called after each committed batch
    stats: PlanStats = field(default_factory=PlanStats)
    _fitted: dict[Capabilities, int] = field(default_factory=dict)  # stories that last fit

    def plan_due(self, now: int, *, force: bool = False, channels: tuple[str, ...] = ()) -> int:
        """Plan the digest of every due chat (every subscribed chat with ``force``)."""
        started = time.perf_counter()
        store = self.core.storage
        # One snapshot: a chat another planner records meanwhile is seen either due with
        # its old number (and then skipped at insert, the number being taken) or not due.
        with store.db.snapshot():
            chats = (
                [c for c in store.chats.all() if c.active and c.follows and not c.paused]
                if force
                else store.chats.due(now)
            )
            chats = _most_shared_first([c for c in chats if not channels or c.channel in channels])
            watermark = store.deliveries.story_watermark()
            previous = store.deliveries.last_digests([c.id for c in chats])
        stories = StoryCache(self.core)
        rendered: dict[tuple[object, ...], tuple[tuple[int, ...], list[PlannedPart]]] = {}
        charts: dict[str, int] = {}
        planned = 0
        digests: list[PlannedDigest] = []
        committed = time.monotonic()
        failed_before = self.stats.failed
        for index, chat in enumerate(chats):
            try:
                number, last = previous.get(chat.id, (0, None))
                period = period_for(self.core, chat, watermark, last, now)
                story_ids, parts = self._parts(chat, period, stories, rendered, charts, now)
                digests.append(
                    PlannedDigest(
                        chat_id=chat.id,
                        number=number + 1,
                        watermark=period.upto,
                        period_start=period.start,
                        period_end=period.end,
                        story_ids=story_ids,
                        parts=parts,
                        next_due_at=next_due(chat.day, chat.time, chat.timezone, now),
                    )
                )
            except CorruptDatabaseError:
                raise  # not this chat's fault: every write is refused now
            except Exception:  # one chat's bug must not cost everyone their digest
                self._failed(chat.id, now)
            last_one = index == len(chats) - 1
            if digests and (
                len(digests) >= self.batch or last_one or time.monotonic() - committed > self.flush
            ):
                # Small, frequent commits: the first message leaves within moments and the
                # sender never waits long for the write lock.
                done = self._commit(digests, now)
                digests, committed = [], time.monotonic()
                planned += done
                if self.on_batch is not None and done:
                    self.on_batch(done)
        self.stats.planned += planned
        self.stats.distinct += len(rendered)
        self.stats.charts += len(charts)
        self.stats.seconds += time.perf_counter() - started
        log.info(
            "digest.planned chats=%d distinct=%d charts=%d failed=%d",
            planned,
            len(rendered),
            len(charts),
            self.stats.failed - failed_before,
        )
        return planned

    def _commit(self, digests: list[PlannedDigest], now: int) -> int:
        """Record a batch; if the ledger refuses it, each digest alone, so one bad digest
        loses only itself (its chat is tried again after RETRY_FAILED)."""
        store = self.core.storage.deliveries
        try:
            return store.plan_many(digests, now)
        except CorruptDatabaseError:
            raise
        except Exception:
            if len(digests) == 1:
                self._failed(digests[0].chat_id, now)
                return 0
            log.warning("digest.batch_refused digests=%d retrying=one_by_one", len(digests))
        done = 0
        for digest in digests:
            try:
                done += store.plan_many([digest], now)
            except CorruptDatabaseError:
                raise
            except Exception:
                self._failed(digest.chat_id, now)
        return done

    def _failed(self, chat_id: int, now: int) -> None:
        """Log and count it; the chat is due again after ``RETRY_FAILED`` seconds (its
        period still starts where its last digest ended, so nothing is lost), not at every
        tick with a traceback a minute."""
        log.exception("digest.plan_failed chat=%d retry_in=%ds", chat_id, RETRY_FAILED)
        self.stats.failed += 1
        try:
            self.core.storage.chats.update(chat_id, next_due_at=now + RETRY_FAILED)
        except CorruptDatabaseError:
            raise
        except StorageError:  # still due now: tried again at the next tick
            log.warning("digest.retry_not_recorded chat=%d", chat_id)

    def _parts(
        self,
        chat: Chat,
        period: Period,
        stories: StoryCache,
        rendered: dict[tuple[object, ...], tuple[tuple[int, ...], list[PlannedPart]]],
        charts: dict[str, int],
        now: int,
    ) -> tuple[tuple[int, ...], list[PlannedPart]]:
        """The story ids and parts of ``chat``'s digest: composed, rendered and charted
        once per distinct (subscriptions, time zone, period, capabilities)."""
        caps = self.capabilities.get(chat.channel, PLAIN)
        subs = tuple(sorted(set(chat.subscriptions), key=_sub_key))
        watches = tuple(sorted(set(chat.watches)))
        key = (subs, watches, chat.timezone, period, caps)
        if key not in rendered:
            digest, parts = self._fit(caps, subs, watches, chat, period, stories)
            chart = self._chart(digest, caps, charts, now)
            if chart is not None and chart[1] != CHART_CAPTION:
                # The figure chart: its caption says so where the headline did not fit.
                parts = self._render(digest, caps, chat.timezone, 0, chart[1])
            chart_id = None if chart is None else chart[0]
            parts = [
                dataclasses.replace(p, chart_id=chart_id) if p.kind == "photo" else p for p in parts
            ]
            rendered[key] = (digest.story_ids, parts)
        return rendered[key]

    def _render(
        self,
        digest: Digest,
        caps: Capabilities,
        tz: str,
        chart: int | None,
        caption: str = CHART_CAPTION,
    ) -> list[PlannedPart]:
        return render_parts(
            digest,
            caps,
            timezone=tz,
            chart_id=chart,
            empty_week=self.core.settings.digest.empty_week,
            script=self.core.settings.analysis.display_script,
            chart_caption=caption,
        )

    def _fit(
        self,
        caps: Capabilities,
        subs: Sequence[Subscription],
        watches: Sequence[str],
        chat: Chat,
        period: Period,
        stories: StoryCache,
    ) -> tuple[Digest, list[PlannedPart]]:
        """The digest and its parts, listing its most important stories that fit in
        ``max_messages`` (the rest counted in 另有 N 条未列出).

        The first try lists as many stories as the last digest for this channel could
        (most digests of a run are alike, so one compose and one render usually do); one
        that does not fit is cut to a guess from its text's length, then one story fewer
        until it fits, and one that leaves much room is tried once with more stories. The
        chart is a placeholder here (id 0): only the final digest's chart is stored.
        """
        chart = 0 if caps.photos and self.core.settings.digest.chart else None
        cap = self.core.settings.digest.max_messages
        most = self.core.settings.digest.max_stories

        def attempt(k: int) -> tuple[Digest, list[PlannedPart]]:
            digest = compose_period(
                self.core, stories, subs, chat.timezone, period, k, watches=watches
            )
            return digest, self._render(digest, caps, chat.timezone, chart)

        k = min(most, self._fitted.get(caps, most)) if cap else most
        digest, parts = attempt(k)
        if not cap or len(digest.story_ids) < 2:
            return digest, parts
        room = (cap - sum(p.kind == "photo" for p in parts)) * caps.limit
        texts = sum(caps.measure(p.body) for p in parts if p.kind == "text")
        if len(parts) <= cap:
            if digest.omitted and k < most and texts < 0.8 * room:
                k = min(most, max(k + 1, int(k * 0.9 * room / max(1, texts))))
                more, more_parts = attempt(k)
                if len(more_parts) <= cap:
                    self._fitted[caps] = k
                    return more, more_parts
            return digest, parts
        n = len(digest.story_ids)
        k = max(1, min(n - 1, int(n * 0.9 * room / max(1, texts)) - 1))
        while True:
            digest, parts = attempt(k)
            if k == 1 or len(parts) <= cap:
                self._fitted[caps] = k
                return digest, parts
            k -= 1

    def _chart(
        self, digest: Digest, caps: Capabilities, charts: dict[str, int], now: int
    ) -> tuple[int, str] | None:
        """The stored chart of ``digest`` and what it shows: its spec stored once, drawn
        later (app.charts). The key figures' chart (task progress, money by city) when
        the period has any; else the stories by city and topic."""
        if not (caps.photos and self.core.settings.digest.chart):
            return None
        labels = self.core.taxonomy.latin
        key, caption = figure_chart_spec(digest, labels=labels), FIGURE_CAPTION
        if key is None:
            spec = chart_spec(digest, labels=labels)
            if spec is None:
                return None
            key, caption = spec.to_json(), CHART_CAPTION
        if key not in charts:
            charts[key] = self.core.storage.deliveries.store_chart_spec(key, now)
        return charts[key], caption


def _sub_key(sub: Subscription) -> tuple[str, str]:
    return (sub.city or "", sub.topic or "")


def _most_shared_first(chats: list[Chat]) -> list[Chat]:
    """Chats grouped by the digest they will share, the most shared first.

    The ledger's order is the sending order: this way one chart serves a run of sends
    while the drawing process gets ahead, and the planner's cache is hit in a row.
    """

    Shared = tuple[str, str, frozenset[Subscription], frozenset[str]]

    def shared(chat: Chat) -> Shared:
        return (chat.channel, chat.timezone, frozenset(chat.subscriptions), frozenset(chat.watches))

    counts = Counter(shared(c) for c in chats)
    first: dict[Shared, int] = {}
    for i, chat in enumerate(chats):
        first.setdefault(shared(chat), i)
    return sorted(chats, key=lambda c: (-counts[shared(c)], first[shared(c)]))
