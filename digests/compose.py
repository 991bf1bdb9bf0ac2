"""Compose a digest: the stories of a period that match a chat's subscriptions, grouped.

Pure: stories, subscriptions and the period come in, a frozen :class:`Digest` goes out.
A story appears once, in exactly one section, the first (city, topic) pair in taxonomy
order that the subscriptions asked for ("城市·主题"; a story without a city goes under
its topic alone). The condensed key figures of the whole digest come first in every
rendering, so they are computed here, once, with :func:`analysis.summary.condense`.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from analysis.figures import KEY_KINDS, Figure
from analysis.summary import condense
from domain.models import Story, Subscription

__all__ = [
    "OTHER_LABEL",
    "Digest",
    "DigestSection",
    "compose",
    "format_day",
    "story_figures",
    "story_time",
]

DEFAULT_TITLE = "一体化周报"  # used only when the taxonomy names no digest title
OTHER_LABEL = "其他"  # a story with neither city nor topic (only a catch-all subscription)

_FIGURE_FIELDS = frozenset(f.name for f in dataclasses.fields(Figure))
_REQUIRED_FIELDS = frozenset(
    f.name for f in dataclasses.fields(Figure) if f.default is dataclasses.MISSING
)


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


@dataclass(frozen=True)
class Digest:
    """The stories of one period for one chat, ready to render.

    ``omitted`` counts matching stories left out by the ``max_stories`` cap (the
    renderers say "另有 N 条未列出"); they are not in ``story_ids``.
    """

    title: str
    since: int
    until: int
    figures: tuple[tuple[str, tuple[str, ...]], ...]
    sections: tuple[DigestSection, ...]
    story_ids: tuple[int, ...]
    omitted: int = 0

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
    figures: list[Figure] = []
    for data in story.figures:
        if not isinstance(data, dict) or not _REQUIRED_FIELDS.issubset(data):
            continue
        fields = {k: v for k, v in data.items() if k in _FIGURE_FIELDS}
        value = fields["value"]
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if not all(isinstance(fields[k], str) for k in ("kind", "unit", "subject", "text")):
            continue
        if any(
            fields.get(k) is not None and not isinstance(fields[k], int)
            for k in ("done", "total", "in_progress")
        ):
            continue
        fields["value"] = float(value)
        figures.append(Figure(**fields))  # type: ignore[arg-type]
    return figures


def format_day(timestamp: int, tz: ZoneInfo, *, year: bool = False) -> str:
    """``11月16日`` (``2026年11月16日`` with ``year``) in the given timezone."""
    moment = datetime.fromtimestamp(timestamp, tz)
    day = f"{moment.month}月{moment.day}日"
    return f"{moment.year}年{day}" if year else day


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


def _importance(story: Story) -> tuple[int, int, int, int]:
    """Which stories survive the cap: carried by more outlets, with figures, newer."""
    return (-story.source_count, -min(len(story.figures), 1), -story_time(story), story.id)


class StoryPool:
    """A week's stories prepared once for many digests: in importance order, indexed by
    city and topic, so a digest looks up its subscriptions instead of scanning them all."""

    def __init__(self, stories: Sequence[Story]) -> None:
        unique = {s.id: s for s in reversed(stories)}  # the first occurrence wins
        self.stories: list[Story] = sorted(unique.values(), key=_importance)
        self._all = range(len(self.stories))
        times = [s.first_seen for s in self.stories]
        self._span = (min(times), max(times)) if times else (0, -1)
        self._city: dict[str, set[int]] = {}
        self._topic: dict[str, set[int]] = {}
        for i, story in enumerate(self.stories):
            for city in story.cities:
                self._city.setdefault(city, set()).add(i)
            for topic in story.topics:
                self._topic.setdefault(topic, set()).add(i)

    def matching(
        self, subscriptions: Sequence[Subscription], since: int, until: int, limit: int
    ) -> tuple[list[Story], int]:
        """The ``limit`` most important stories first seen in [since, until) that match
        any subscription, and how many match in all."""
        found: set[int] = set()
        for sub in subscriptions:
            if sub.city and sub.topic:
                found |= self._city.get(sub.city, set()) & self._topic.get(sub.topic, set())
            elif sub.city:
                found |= self._city.get(sub.city, set())
            elif sub.topic:
                found |= self._topic.get(sub.topic, set())
            else:
                found.update(self._all)
        if since <= self._span[0] and self._span[1] < until:  # the usual case: one period
            top = heapq.nsmallest(limit, found) if limit < len(found) else sorted(found)
            return [self.stories[i] for i in top], len(found)
        inside = [
            self.stories[i] for i in sorted(found) if since <= self.stories[i].first_seen < until
        ]
        return inside[:limit], len(inside)


def compose(
    stories: Sequence[Story],
    subscriptions: Sequence[Subscription],
    *,
    since: int,
    until: int,
    timezone: str = "Asia/Shanghai",
    max_stories: int = 30,
    city_order: Sequence[str] = (),
    topic_order: Sequence[str] = (),
    title: str = DEFAULT_TITLE,
    pool: StoryPool | None = None,
) -> Digest:
    """Stories with ``since <= story.first_seen < until`` that match any subscription.

    Each story appears once (by id), even when it matches several subscriptions. With
    more than ``max_stories`` matches the most important are kept (more sources, then
    with figures, then newest) and the rest counted in ``Digest.omitted``. Sections are
    ordered by city then topic order (sections without a city after the cities); inside
    a section stories are newest first. ``figures`` condenses the figures of the listed
    stories per section label. No subscriptions means nothing matches. Pass ``pool``
    (built from ``stories``) when composing many digests from the same stories. The
    orders and the ``title`` are the region's, from its taxonomy.
    """
    tz = ZoneInfo(timezone)
    kept, total = (pool or StoryPool(stories)).matching(
        subscriptions, since, until, max(0, max_stories)
    )
    omitted = total - len(kept)

    groups: dict[tuple[str | None, str | None], list[Story]] = {}
    for story in kept:
        place = _placement(story, subscriptions, city_order, topic_order)
        groups.setdefault(place, []).append(story)
    order = sorted(groups, key=lambda p: (_rank(p[0], city_order), _rank(p[1], topic_order)))
    sections = tuple(
        DigestSection(
            label=_label(city, topic),
            stories=tuple(
                sorted(groups[(city, topic)], key=lambda s: (-story_time(s), -s.first_seen, s.id))
            ),
            city=city,
            topic=topic,
        )
        for city, topic in order
    )
    by_label: dict[str, list[Figure]] = {}
    for section in sections:
        for story in section.stories:
            # The digest's key-figure block holds key kinds only; counts and rates stay in
            # the story lines.
            key = [f for f in story_figures(story) if f.kind in KEY_KINDS]
            by_label.setdefault(section.label, []).extend(key)
    figures = tuple((label, tuple(lines)) for label, lines in condense(by_label))
    return Digest(
        title=_period_title(title, since, until, tz),
        since=since,
        until=until,
        figures=figures,
        sections=sections,
        story_ids=tuple(story.id for section in sections for story in section.stories),
        omitted=omitted,
    )
