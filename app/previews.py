"""Digest previews: what a chat, or a chat with these subscriptions, would get now.

The command line's ``digest preview`` and the benchmarks compose through here; the
planner composes the same way (``app.planning``) for the chats that are due.
"""

from __future__ import annotations

from collections.abc import Sequence

from analysis.subscriptions import parse_subscriptions, split_keywords
from app.core import Core
from app.planning import digest_for
from app.tracking import Period
from digests.compose import Digest, compose
from domain.errors import UserInputError
from domain.models import Subscription


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
