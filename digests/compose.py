"""Compose a digest: the stories of a period that match a chat's subscriptions, grouped.

Pure: stories, subscriptions and the period come in, a frozen :class:`Digest` goes out.
A story appears once, in exactly one section, the first (city, topic) pair in taxonomy
order that the subscriptions asked for ("城市·主题"; a story without a city goes under
its topic alone). The condensed block (headline and key figures, each figure once)
comes first in every rendering, so it is computed here, once, with
:mod:`digests.condense`.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from analysis.figures import Figure
from analysis.progress import Series
from digests.condense import (
    KEY_KINDS,
    FigureIndex,
    KeyFigure,
    Locate,
    figure_from,
    format_day,
)
from domain.models import Story, Subscription

__all__ = [
    "OTHER_LABEL",
    "Digest",
    "DigestSection",
    "compose",
    "figure_from",
    "format_day",
    "story_figures",
    "story_time",
]

DEFAULT_TITLE = "一体化周报"  # used only when the taxonomy names no digest title
OTHER_LABEL = "其他"  # a story with neither city nor topic (only a catch-all subscription)

WATCH_MARK = "关键词："  # the section of stories found by a watched keyword only


@dataclass(frozen=True)
class DigestSection:
    """One group of stories, newest first.

    ``city`` and ``topic`` are the parts of ``label`` (``None`` when absent); they have
    defaults so a section can be built from a label alone.
    """

    label: str
    stories: tuple[Story, ...]
    city: str | None = None
    topic: str | None = None
    keyword: str | None = None  # a watched keyword's section


@dataclass(frozen=True)
class Digest:
    """The stories of one period for one chat, ready to render.

    ``headline`` (one or two lines) and ``key_figures`` are the condensed block;
    ``more_figures`` counts the key figures beyond the cap. ``omitted`` counts matching
    stories left out by the ``max_stories`` cap (the renderers say "另有 N 条未列出");
    they are not in ``story_ids``.
    """

    title: str
    since: int
    until: int
    sections: tuple[DigestSection, ...]
    story_ids: tuple[int, ...]
    omitted: int = 0
    headline: str = ""
    key_figures: tuple[KeyFigure, ...] = ()
    more_figures: int = 0

    @property
    def empty(self) -> bool:
        return not self.story_ids

    @property
    def stories(self) -> tuple[Story, ...]:
        """Every listed story, in section order."""
        return tuple(story for section in self.sections for story in section.stories)


def story_time(story: Story) -> int:
    """When the story happened for display and ordering: its publication time if known."""
    return story.published or story.first_seen


def story_figures(story: Story) -> list[Figure]:
    """``story.figures`` as :class:`Figure` values; unknown keys are ignored and
    malformed entries (missing fields, a value that is not a number) are skipped.

    Parsed once per story object: one week's stories go into thousands of digests.
    """
    cached = story.__dict__.get("_parsed_figures")
    if cached is None:
        cached = tuple(_parse_figures(story))
        object.__setattr__(story, "_parsed_figures", cached)  # a cache, not a field
    return list(cached)


def _parse_figures(story: Story) -> list[Figure]:
    return [f for f in map(figure_from, story.figures) if f is not None]


def _period_title(prefix: str, since: int, until: int, tz: ZoneInfo) -> str:
    # ``until`` is exclusive: a period ending at midnight ends on the day before.
    last = max(since, until - 1)
    years = datetime.fromtimestamp(since, tz).year != datetime.fromtimestamp(last, tz).year
    start = format_day(since, tz, year=years)
    end = format_day(last, tz, year=years)
    period = start if start == end else f"{start}—{end}"
    return f"{prefix}（{period}）"


def _rank(value: str | None, order: Sequence[str]) -> tuple[int, str]:
    """Position in ``order``; unknown names after known ones, absent (None) last."""
    if value is None:
        return (len(order) + 1, "")
    if value in order:
        return (order.index(value), "")
    return (len(order), value)


def _ordered(values: Sequence[str], order: Sequence[str]) -> list[str]:
    return sorted(dict.fromkeys(values), key=lambda v: _rank(v, order))


def _placement(
    story: Story,
    subscriptions: Sequence[Subscription],
    city_order: Sequence[str],
    topic_order: Sequence[str],
) -> tuple[str | None, str | None]:
    """The story's section: its first (city, topic) in taxonomy order that a subscription
    asked for, so a 湘潭·交通 subscriber sees a 长沙+湘潭 story under 湘潭·交通."""
    cities: list[str | None] = [*_ordered(story.cities, city_order)] or [None]
    topics: list[str | None] = [*_ordered(story.topics, topic_order)] or [None]
    for city in cities:
        for topic in topics:
            for sub in subscriptions:
                if (not sub.city or sub.city == city) and (not sub.topic or sub.topic == topic):
                    return city, topic
    return cities[0], topics[0]  # unreachable for a matching story; keeps mypy honest


def _label(city: str | None, topic: str | None) -> str:
    return "·".join(x for x in (city, topic) if x) or OTHER_LABEL


def _carried(story: Story) -> int:
    """What a story carries: its key figures (up to three count) and its outlets."""
    key = sum(1 for f in story_figures(story) if f.kind in KEY_KINDS)
    return 2 * min(key, 3) + min(story.source_count, 5)


def _importance(story: Story) -> tuple[int, int, int]:
    """Order of the pool: carries more, then newer."""
    return (-_carried(story), -story_time(story), story.id)


class StoryPool:
    """A period's stories prepared once for many digests: in importance order, indexed by
    city, topic and id, so a digest looks up its subscriptions instead of scanning them all."""

    def __init__(self, stories: Sequence[Story]) -> None:
        unique = {s.id: s for s in reversed(stories)}  # the first occurrence wins
        self.stories: list[Story] = sorted(unique.values(), key=_importance)
        self._carried = [_carried(s) for s in self.stories]
        self._size = len(self.stories) + 1
        self._base = [i - c * self._size for i, c in enumerate(self._carried)]
        self._figures: dict[tuple[int, int], tuple[object, object, FigureIndex]] = {}
        self._index = {s.id: i for i, s in enumerate(self.stories)}
        times = [s.first_seen for s in self.stories]
        self._span = (min(times), max(times)) if times else (0, -1)
        self._city: dict[str, set[int]] = {}
        self._topic: dict[str, set[int]] = {}
        for i, story in enumerate(self.stories):
            for city in story.cities:
                self._city.setdefault(city, set()).add(i)
            for topic in story.topics:
                self._topic.setdefault(topic, set()).add(i)

    def figures(self, series: Sequence[Series], locate: Locate | None) -> FigureIndex:
        """The period's key figures merged once (per series and locator) for all its
        digests."""
        key = (id(series), id(locate))
        cached = self._figures.get(key)
        if cached is None:
            index = FigureIndex(self.stories, series=series, locate=locate, positions=self._index)
            # The key objects are held with the index, so their ids stay theirs.
            cached = self._figures[key] = (series, locate, index)
        return cached[2]

    def _subscribed(self, sub: Subscription) -> set[int] | range:
        if sub.city and sub.topic:
            return self._city.get(sub.city, set()) & self._topic.get(sub.topic, set())
        if sub.city:
            return self._city.get(sub.city, set())
        if sub.topic:
            return self._topic.get(sub.topic, set())
        return range(len(self.stories))

    def matching(
        self,
        subscriptions: Sequence[Subscription],
        since: int,
        until: int,
        limit: int,
        watched: Mapping[str, Collection[int]] | None = None,
    ) -> tuple[list[Story], Mapping[int, int]]:
        """The ``limit`` stories first seen in [since, until) that match a subscription or
        a watched keyword (``watched``: keyword to matching story ids) and carry most,
        and every matching story (its position in the pool: how many it matched).

        Ranked by what a story carries (key figures, outlets) plus how many of the
        chat's subscriptions and watches it matches."""
        hits: Mapping[int, int] = Counter()
        for sub in subscriptions:
            hits.update(self._subscribed(sub))  # type: ignore[attr-defined]
        for ids in (watched or {}).values():
            hits.update(self._index[i] for i in ids if i in self._index)  # type: ignore[attr-defined]
        if not (since <= self._span[0] and self._span[1] < until):  # not the usual one period
            hits = {i: n for i, n in hits.items() if since <= self.stories[i].first_seen < until}
        # One integer a story, smallest first: what it carries and matches, then pool
        # order (the position is the remainder).
        size, base = self._size, self._base
        scores = heapq.nsmallest(limit, [base[i] - n * size for i, n in hits.items()])
        return [self.stories[score % size] for score in scores], hits


def compose(
    stories: Sequence[Story],
    subscriptions: Sequence[Subscription],
    *,
    since: int,
    until: int,
    timezone: str = "Asia/Shanghai",
    max_stories: int = 12,
    max_figures: int = 8,
    city_order: Sequence[str] = (),
    topic_order: Sequence[str] = (),
    title: str = DEFAULT_TITLE,
    pool: StoryPool | None = None,
    watched: Mapping[str, Collection[int]] | None = None,
    series: Sequence[Series] = (),
    locate: Locate | None = None,
) -> Digest:
    """Stories with ``since <= story.first_seen < until`` that match any subscription or
    watched keyword, and the condensed block of the period.

    Each story appears once (by id), even when it matches several subscriptions. With
    more than ``max_stories`` matches those that carry most are kept (key figures,
    outlets, subscriptions matched) and the rest counted in ``Digest.omitted``. Sections
    are ordered by city then topic order (sections without a city after the cities, the
    stories found only by a watched keyword last); inside a section stories are newest
    first. The key figures are those of every matching story, merged
    (:func:`digests.condense.key_figures`; ``series`` gives task lists their previous
    point, ``locate`` the cities a sentence names), the first ``max_figures`` kept. No
    subscriptions and no watches means nothing matches. Pass ``pool`` (built from
    ``stories``) when composing many digests from the same stories. The orders and the
    ``title`` are the region's, from its taxonomy.
    """
    tz = ZoneInfo(timezone)
    watched = watched or {}
    pool = pool or StoryPool(stories)
    kept, hits = pool.matching(subscriptions, since, until, max(0, max_stories), watched)
    groups: dict[tuple[str | None, str | None], list[Story]] = {}
    by_keyword: dict[str, list[Story]] = {}
    for story in kept:
        if not any(sub.matches(story) for sub in subscriptions):
            word = next(w for w, ids in watched.items() if story.id in ids)
            by_keyword.setdefault(word, []).append(story)
            continue
        place = _placement(story, subscriptions, city_order, topic_order)
        groups.setdefault(place, []).append(story)
    order = sorted(groups, key=lambda p: (_rank(p[0], city_order), _rank(p[1], topic_order)))
    sections = tuple(
        DigestSection(
            label=_label(city, topic),
            stories=_newest(groups[(city, topic)]),
            city=city,
            topic=topic,
        )
        for city, topic in order
    ) + tuple(
        DigestSection(label=f"{WATCH_MARK}{word}", stories=_newest(by_keyword[word]), keyword=word)
        for word in watched
        if word in by_keyword
    )
    chosen = pool.figures(series, locate).select(hits, max(0, max_figures))
    return Digest(
        title=_period_title(title, since, until, tz),
        since=since,
        until=until,
        headline=chosen.headline(tz),
        key_figures=tuple(chosen.shown),
        more_figures=chosen.count - len(chosen.shown),
        sections=sections,
        story_ids=tuple(story.id for section in sections for story in section.stories),
        omitted=len(hits) - len(kept),
    )


def _newest(stories: Sequence[Story]) -> tuple[Story, ...]:
    return tuple(sorted(stories, key=lambda s: (-story_time(s), -s.first_seen, s.id)))
