"""Weekly digests: plan them into the ledger, then apply the ledger through the channels.

Plan, then apply. ``Planner.plan_due`` composes every due chat's digest, renders and
splits it for the chat's channel and records every part in one transaction before
anything is sent. ``Deliverer.run`` sends what the ledger says is pending, paced per
channel and per chat, and records each outcome; a crash at any point leaves the ledger
saying exactly what is left. The channels are behind the small ``Sender`` interface.
"""

from __future__ import annotations

import asyncio
import dataclasses
import heapq
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from analysis.subscriptions import parse_subscriptions, split_keywords
from app.core import Core
from app.tracking import Period
from digests.chart import render_chart
from digests.compose import Digest, compose
from digests.figure_chart import render_figure_chart
from digests.render import render_empty, render_html, render_markdown, render_text
from digests.split import TELEGRAM_LIMIT, WECOM_LIMIT, pack, utf8_len, utf16_len
from domain.errors import (
    BlockedError,
    ChannelDownError,
    ChatMigratedError,
    DeliveryError,
    InvalidTargetError,
    RateLimitedError,
    RejectedError,
    UserInputError,
)
from domain.models import Chat, Subscription
from domain.schedule import next_due
from storage.deliveries import Part, PlannedPart

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
MAX_BACKOFF = 600
SETTLE = 120  # seconds: longer than any ingest transaction stays open


def digest_for(
    core: Core,
    chat: Chat,
    now: int,
    *,
    settle: int = 0,
    pools: dict[tuple[int, int], Period] | None = None,
    max_figures: int | None = None,
) -> Digest:
    """The digest ``chat`` is owed at ``now``: stories first seen in [last digest, end).

    Periods are half-open and each starts where the last ended, so no story is in two
    digests and none falls between them. ``settle`` ends the period that many seconds
    before ``now``, so a story another process is still committing (first seen just
    before ``now``) goes into the next digest instead of being missed.
    """
    end = now - settle
    lookback = core.settings.digest.lookback_days * 86400
    since = chat.last_digest_at if chat.last_digest_at is not None else end - lookback
    key = (since, end)
    if pools is not None and key in pools:
        period = pools[key]
    else:
        period = Period.load(core, since, end)
        if pools is not None:  # most chats share a period: load and index it once
            pools[key] = period
    return compose_for(
        core, chat.subscriptions, chat.watches, period, chat.timezone, max_figures=max_figures
    )


def preview(
    core: Core, subscriptions: Sequence[Subscription], watches: Sequence[str], now: int
) -> Digest:
    """The digest a new chat with these subscriptions and watches would get at ``now``:
    the configured look-back period, the default time zone."""
    settings = core.settings.digest
    period = Period.load(core, now - settings.lookback_days * 86400, now)
    return compose_for(core, subscriptions, watches, period, settings.timezone)


def preview_for(
    core: Core, *, subscriptions: str | None = None, chat: str | None = None
) -> tuple[Digest, str]:
    """The digest to preview now and its time zone: for subscriptions written as in chat
    ("湘潭 交通, 融城干道"), or for a known chat (its address or our id)."""
    now = core.now() + 1  # up to and including now
    if subscriptions is not None:
        subs, unknown = parse_subscriptions(core.tagger, subscriptions)
        watches, refused = split_keywords(unknown)
        if refused or not (subs or watches):
            raise UserInputError(f"not a city, topic or keyword: {' '.join(refused) or '?'}")
        return preview(core, subs, watches, now), core.settings.digest.timezone
    if not chat:
        raise UserInputError("digest preview needs --chat ID or --subscriptions TEXT")
    chats = [c for c in core.storage.chats.all() if c.address == chat]
    if not chats and chat.isascii() and chat.isdigit():
        found = core.storage.chats.by_id(int(chat))
        chats = [found] if found else []
    if not chats:
        raise UserInputError(f"no such chat: {chat}")
    return digest_for(core, chats[0], now), chats[0].timezone


def compose_for(
    core: Core,
    subscriptions: Sequence[Subscription],
    watches: Sequence[str],
    period: Period,
    timezone: str,
    *,
    max_figures: int | None = None,
) -> Digest:
    """The digest of ``period`` for these subscriptions and watched keywords; at most
    ``max_figures`` key figures (default: the configured cap)."""
    settings = core.settings.digest
    return compose(
        period.stories,
        subscriptions,
        since=period.since,
        until=period.until,
        pool=period.pool,
        timezone=timezone,
        max_stories=settings.max_stories,
        max_figures=settings.max_figures if max_figures is None else max_figures,
        city_order=core.taxonomy.city_names,
        topic_order=core.taxonomy.topic_names,
        title=core.taxonomy.digest_title,
        watched=period.watched(watches),
        series=period.series,
        locate=core.locate,
    )


def render_parts(core: Core, chat: Chat, digest: Digest) -> list[PlannedPart]:
    """The messages of ``digest`` for ``chat``'s channel, each within the channel's limit."""
    settings = core.settings.digest
    kind = {"telegram": "html", "wecom": "markdown"}.get(chat.channel, "text")
    shown = {"timezone": chat.timezone, "script": core.settings.analysis.display_script}
    if digest.empty:
        if settings.empty_week == "skip":
            return []
        return [PlannedPart("text", render_empty(kind))]
    if kind == "html":
        texts = pack(render_html(digest, **shown), TELEGRAM_LIMIT, utf16_len, html=True)
    elif kind == "markdown":
        texts = pack(render_markdown(digest, **shown), WECOM_LIMIT, utf8_len)
    else:
        texts = pack(render_text(digest, **shown), 100_000, len)
    parts = [PlannedPart("text", t) for t in texts]
    if settings.chart and chat.channel in ("telegram", "wecom"):
        # The figures when the period has any; else the stories by city and topic.
        png = render_figure_chart(digest, labels=core.taxonomy.latin)
        caption = "本期关键数据：任务清单进度与按城市的金额"
        if png is None:
            png = render_chart(digest, labels=core.taxonomy.latin)
            caption = "本周报道分布（按城市和主题）"
        if png is not None:
            parts.insert(1, PlannedPart("photo", caption, png))
    return parts


@dataclass
class Planner:
    core: Core

    def plan_due(self, now: int, *, force: bool = False, channels: tuple[str, ...] = ()) -> int:
        """Plan the digest of every due chat (every subscribed chat with ``force``)."""
        store = self.core.storage
        chats = (
            [c for c in store.chats.all() if c.active and c.follows and not c.paused]
            if force
            else store.chats.due(now)
        )
        planned = 0
        pools: dict[tuple[int, int], Period] = {}
        for chat in chats:
            if channels and chat.channel not in channels:
                continue
            digest = digest_for(self.core, chat, now, settle=SETTLE, pools=pools)
            parts = render_parts(self.core, chat, digest)
            due = next_due(chat.day, chat.time, chat.timezone, now)
            digest_id = store.deliveries.plan(
                chat.id,
                period_start=digest.since,
                period_end=digest.until,
                story_ids=digest.story_ids,
                parts=parts,
                now=now,
                next_due_at=due,
            )
            if digest_id is not None:
                planned += 1
                log.info(
                    "digest.planned chat=%d parts=%d stories=%d",
                    chat.id,
                    len(parts),
                    len(digest.story_ids),
                )
        return planned


class Sender(Protocol):
    """A channel as the deliverer sees it."""

    channel: str
    global_interval: float  # seconds between any two sends (30/s → 1/30)

    def chat_interval(self, chat: Chat) -> float: ...

    async def send_text(self, chat: Chat, body: str) -> str: ...

    async def send_photo(self, chat: Chat, photo: bytes, caption: str) -> str: ...


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    left: int = 0


@dataclass
class Deliverer:
    """Sends pending ledger parts, paced, recording every outcome."""

    core: Core
    senders: dict[str, Sender]
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    alert: Callable[[str], Awaitable[None]] | None = None
    _ready: dict[int, float] = field(default_factory=dict)
    _global: dict[str, float] = field(default_factory=dict)

    async def run(self, *, horizon: float = 120.0) -> DeliveryReport:
        """Send every pending part that is due within ``horizon`` seconds from now.

        Parts of one chat go out in order; chats are interleaved by when each may next
        receive a message. A part told to wait (429, backoff) waits in place, never
        dropped; what is not due within the horizon is left for the next run.
        """
        store = self.core.storage
        report = DeliveryReport()
        start = self.clock()
        queues: dict[int, list[Part]] = {}
        chats: dict[int, Chat] = {}
        for part in store.deliveries.pending(int(start + horizon)):
            if part.chat_id not in chats:
                chat = store.chats.by_id(part.chat_id)
                if chat is None or chat.channel not in self.senders:
                    continue
                chats[part.chat_id] = chat
            queues.setdefault(part.chat_id, []).append(part)
        heap = [(max(q[0].not_before, self._ready.get(c, 0.0)), c) for c, q in queues.items()]
        heapq.heapify(heap)
        down: set[str] = set()  # channels that refused us as a whole in this run
        while heap:
            ready_at, chat_id = heapq.heappop(heap)
            queue = queues[chat_id]
            chat = chats[chat_id]
            sender = self.senders[chat.channel]
            if chat.channel in down:
                report.left += len(queue)
                continue
            ready_at = max(ready_at, self._global.get(chat.channel, 0.0))
            if ready_at - start > horizon:
                report.left += len(queue)
                continue
            wait = ready_at - self.clock()
            if wait > 0:
                await self.sleep(wait)
            began = self.clock()  # pace from the start of a send, not its end
            part = queue[0]
            retry_at = 0.0
            if not store.deliveries.claim(part.id):
                queue.pop(0)  # another process sent or holds it
            else:
                outcome, retry_at = await self._send_one(sender, chat, part, report)
                if outcome == "done":
                    queue.pop(0)
                elif outcome == "dropped":
                    queue.clear()
                elif outcome == "abort":
                    down.add(chat.channel)
                    report.left += len(queue)
                    queue.clear()
                else:  # "retry": the same part again later; the claim counted an attempt
                    queue[0] = dataclasses.replace(part, attempts=part.attempts + 1)
                    reloaded = store.chats.by_id(chat_id)
                    if reloaded is not None:
                        chats[chat_id] = reloaded
            self._global[chat.channel] = max(
                self._global.get(chat.channel, 0.0), began + sender.global_interval
            )
            self._ready[chat_id] = max(
                self._ready.get(chat_id, 0.0), began + sender.chat_interval(chat)
            )
            if queue:
                heapq.heappush(heap, (max(self._ready[chat_id], retry_at), chat_id))
        return report

    async def _send_one(
        self, sender: Sender, chat: Chat, part: Part, report: DeliveryReport
    ) -> tuple[str, float]:
        """Send one claimed part and record the outcome: ("done" | "retry" | "dropped", when)."""
        store = self.core.storage.deliveries
        now = int(self.clock())
        try:
            if part.kind == "photo" and part.photo is not None:
                remote = await sender.send_photo(chat, part.photo, part.body)
            else:
                remote = await sender.send_text(chat, part.body)
        except RateLimitedError as e:
            wait = max(1.0, e.retry_after or 1.0)
            # Flood control applies to the whole bot: hold the channel, not just this chat.
            self._global[chat.channel] = self.clock() + wait
            store.retry(part, now, int(now + wait), str(e), "rate_limited")
            report.retried += 1
            log.warning("delivery.rate_limited chat=%d retry_after=%.0f", chat.id, wait)
            return "retry", self.clock() + wait
        except ChatMigratedError as e:
            holder = self.core.storage.chats.migrate(chat.channel, chat.address, e.new_address)
            if part.attempts + 1 >= MAX_ATTEMPTS:
                report.failed += store.fail_chat(chat.id, now, str(e), "failed")
                return "dropped", 0.0
            store.retry(part, now, now, "chat migrated", "migrated")
            if holder != chat.id:
                # The new id already had a chat: the unsent parts moved to it; next run.
                report.left += 1
                return "dropped", 0.0
            return "retry", self.clock()
        except RejectedError as e:
            store.reject(part, now, str(e))
            report.failed += 1
            log.warning("delivery.rejected chat=%d part=%d error=%s", chat.id, part.part, e)
            return "done", 0.0
        except ChannelDownError as e:
            store.retry(part, now, now + 300, str(e), "channel_down")
            log.error("delivery.channel_down channel=%s error=%s", chat.channel, e)
            if self.alert is not None:
                await self.alert(f"投递渠道不可用：{chat.channel}（{e}），稍后重试。")
            return "abort", 0.0
        except (BlockedError, InvalidTargetError) as e:
            kind = "blocked" if isinstance(e, BlockedError) else "invalid_target"
            self.core.storage.chats.update(chat.id, active=0)
            report.failed += store.fail_chat(chat.id, now, str(e), kind)
            log.warning("delivery.%s chat=%d error=%s", kind, chat.id, e)
            if self.alert is not None and kind == "invalid_target":
                await self.alert(f"投递目标已停用：{chat.channel} {chat.address}（{e}）")
            return "dropped", 0.0
        except Exception as e:  # transient: network, 5xx, and anything unknown
            if not isinstance(e, DeliveryError):
                log.exception("delivery.unexpected chat=%d", chat.id)
            attempts = part.attempts + 1
            if attempts >= MAX_ATTEMPTS:
                report.failed += store.fail_chat(chat.id, now, str(e), "failed")
                return "dropped", 0.0
            delay = min(MAX_BACKOFF, 2**attempts)
            store.retry(part, now, now + delay, str(e), "transient")
            report.retried += 1
            log.warning("delivery.transient chat=%d attempt=%d error=%s", chat.id, attempts, e)
            return "retry", self.clock() + delay
        store.sent(part, now, remote)
        report.sent += 1
        return "done", 0.0
