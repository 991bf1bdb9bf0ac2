"""The condensed block of a digest: its key figures, each once, and a headline.

Pure. The key figures of a period's stories (tasks, projects, money) are merged when
they are the same figure: the same kind, unit and value, the same place and a matching
subject (:func:`analysis.progress.same_subject`), however many outlets or follow-ups
reported it; a report that names no place is the same figure as one that does. A merged
figure keeps every source link. A task list reported twice in the period with different
counts is one figure, the latest report, with the earlier as its previous point (or the
point before it in its tracked series, when one is given).

Merging does not depend on the reader, so :class:`FigureIndex` merges a period's
figures once and each digest selects those its stories report.

A figure's place is the city its sentence names, else the story's city when the story
has exactly one; a figure about all three cities has no place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from analysis.figures import KEY_KINDS, Figure
from analysis.progress import Point, Series, same_subject
from domain.models import Story

__all__ = [
    "KEY_KINDS",
    "FigureIndex",
    "KeyFigure",
    "Selection",
    "figure_from",
    "format_day",
    "headline",
    "key_figures",
    "key_text",
]

MAX_HEADLINE_TASKS = 2

Locate = Callable[[str], Sequence[str]]  # the cities a (folded) sentence names

_FIGURE_FIELDS = frozenset(f.name for f in dataclasses.fields(Figure))
_REQUIRED_FIELDS = frozenset(
    f.name for f in dataclasses.fields(Figure) if f.default is dataclasses.MISSING
)
_MONEY_UNITS = (("亿元", 1e8), ("万元", 1e4))


def format_day(timestamp: int, tz: ZoneInfo, *, year: bool = False) -> str:
    """``11月16日`` (``2026年11月16日`` with ``year``) in the given timezone."""
    moment = datetime.fromtimestamp(timestamp, tz)
    day = f"{moment.month}月{moment.day}日"
    return f"{moment.year}年{day}" if year else day


def figure_from(data: object) -> Figure | None:
    """A stored figure (a dict) as a :class:`Figure`; ``None`` when it is malformed.
    Keys that are not fields (the article's ``url`` and ``published``) are ignored."""
    if not isinstance(data, dict) or not _REQUIRED_FIELDS.issubset(data):
        return None
    fields = {k: v for k, v in data.items() if k in _FIGURE_FIELDS}
    value = fields["value"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not all(isinstance(fields[k], str) for k in ("kind", "unit", "subject", "text")):
        return None
    if any(
        fields.get(k) is not None and not isinstance(fields[k], int)
        for k in ("done", "total", "in_progress")
    ):
        return None
    fields["value"] = float(value)
    return Figure(**fields)


@dataclass(frozen=True)
class KeyFigure:
    """One key figure of a digest, merged over every report of it."""

    figure: Figure  # the most detailed report
    place: str
    sources: tuple[str, ...]
    published: int  # the latest report
    previous: Point | None = None  # a task list's previous report

    @property
    def kind(self) -> str:
        return self.figure.kind

    @property
    def subject(self) -> str:
        return self.figure.subject

    @property
    def progress(self) -> bool:
        """A task list with its done count: the heaviest kind of figure."""
        return (
            self.kind == "tasks" and self.figure.done is not None and self.figure.total is not None
        )


@dataclass
class _Merged:
    figure: Figure
    place: str
    sources: list[str]
    published: int
    stories: set[int] = dataclasses.field(default_factory=set)  # the stories reporting it


def _reports(story: Story, locate: Locate | None) -> list[_Merged]:
    """The story's key-kind figures with place, source link and publication time.

    Worked out once per story object: one period's stories go into many digests."""
    cached = story.__dict__.get("_key_reports")
    if cached is not None:
        return [_copy(m) for m in cached]
    only = story.cities[0] if len(story.cities) == 1 else ""
    out: list[_Merged] = []
    for data in story.figures:
        figure = figure_from(data)
        if figure is None or figure.kind not in KEY_KINDS:
            continue
        named = list(locate(figure.sentence)) if locate and figure.sentence else []
        place = named[0] if len(named) == 1 else ("" if named else only)
        url = data.get("url") if isinstance(data, dict) else None
        when = data.get("published") if isinstance(data, dict) else None
        out.append(
            _Merged(
                figure,
                place,
                [url if isinstance(url, str) and url else story.url],
                when if isinstance(when, int) else story.published,
                {story.id},
            )
        )
    object.__setattr__(story, "_key_reports", tuple(out))  # a cache, not a field
    return [_copy(m) for m in out]


def _copy(m: _Merged) -> _Merged:
    return _Merged(m.figure, m.place, list(m.sources), m.published, set(m.stories))


def _detail(figure: Figure) -> tuple[int, bool, int]:
    """Which report of a figure to show: the most counts, then a subject, the shorter
    one (总投资 reads better than 该项目总投资)."""
    filled = sum(x is not None for x in (figure.done, figure.total, figure.in_progress))
    return filled, bool(figure.subject), -len(figure.subject)


def _same(a: _Merged, b: _Merged) -> bool:
    fa, fb = a.figure, b.figure
    return (
        fa.kind == fb.kind
        and fa.unit == fb.unit
        and abs(fa.value - fb.value) <= 1e-9 * max(1.0, abs(fa.value))
        and (a.place == b.place or not a.place or not b.place)
        and (fa.kind != "tasks" or (fa.done, fa.in_progress) == (fb.done, fb.in_progress))
        and same_subject(fa.subject, fb.subject)
    )


def _absorb(into: _Merged, other: _Merged) -> None:
    _absorb_sources(into, other)
    into.place = into.place or other.place  # a copy that names no city is the same figure
    into.stories |= other.stories
    if _detail(other.figure) > _detail(into.figure):
        into.figure = other.figure
    into.published = max(into.published, other.published)


def _weight(m: _Merged) -> tuple[int, int, float, int]:
    f = m.figure
    rank = {"tasks": 0 if f.done is not None else 1, "projects": 2, "money": 3}[f.kind]
    return (rank, -len(m.sources), -f.value, -m.published)


class FigureIndex:
    """The key figures of a period's stories, merged once for every digest of the
    period: a digest picks the figures that its matching stories report.

    Merging is independent of the chat (the same figure is the same figure for every
    reader), so it costs once per period, and a digest pays only a pass over the
    merged figures."""

    def __init__(
        self,
        stories: Iterable[Story],
        *,
        series: Sequence[Series] = (),
        locate: Locate | None = None,
        positions: Mapping[int, int] | None = None,
    ) -> None:
        """``positions`` maps a story id to the key :meth:`select` is given (a pool
        position); by default the story id itself."""
        merged: list[_Merged] = []
        buckets: dict[tuple[str, str, float], list[int]] = {}
        for story in stories:
            for report in _reports(story, locate):
                f = report.figure
                bucket = buckets.setdefault((f.kind, f.unit, round(f.value, 6)), [])
                twin = next((i for i in bucket if _same(merged[i], report)), None)
                if twin is None:
                    bucket.append(len(merged))
                    merged.append(report)
                else:
                    _absorb(merged[twin], report)
        previous = _follow_ups(merged)
        tracked: dict[tuple[str, int], list[Series]] = {}
        for one in series:
            tracked.setdefault((one.place, one.total), []).append(one)
        self._figures: list[tuple[KeyFigure, tuple[int, ...]]] = []
        for m in sorted(merged, key=_weight):
            if id(m) in previous and previous[id(m)] is None:
                continue  # folded into its task list's latest report
            before = previous.get(id(m))
            f = m.figure
            if f.kind == "tasks" and f.total is not None:
                same = tracked.get((m.place, f.total), [])
                found = next((s for s in same if same_subject(s.subject, f.subject)), None)
                if found is not None:
                    before = _previous(found, m) or before
            figure = KeyFigure(f, m.place, tuple(m.sources), m.published, before)
            keys = tuple(sorted(positions.get(i, -1) if positions else i for i in m.stories))
            self._figures.append((figure, keys))
        # What the headline sums, per story, for the figures only one story reports (the
        # most); the figures several stories report are looked at one by one.
        self._single: dict[int, list[float]] = {}  # key -> [count, projects, money, n_p, n_m]
        self._shared: list[tuple[str, float]] = []  # kind, value
        self._shared_of: dict[int, list[int]] = {}  # key -> the shared figures it reports
        for figure, keys in self._figures:
            if len(keys) > 1:
                for key in keys:
                    self._shared_of.setdefault(key, []).append(len(self._shared))
                self._shared.append((figure.kind, figure.figure.value))
                continue
            sums = self._single.setdefault(keys[0], [0.0, 0.0, 0.0, 0.0, 0.0])
            sums[0] += 1
            if figure.kind == "projects":
                sums[1] += figure.figure.value
                sums[3] += 1
            elif figure.kind == "money":
                sums[2] += figure.figure.value
                sums[4] += 1

    def select(self, keys: Collection[int] | None = None, limit: int | None = None) -> Selection:
        """The key figures reported by any of the stories ``keys`` (all with ``None``):
        the first ``limit`` in weight order (task progress, then projects, then money;
        among equals, more sources, then larger, then newer), how many there are, and
        the headline's sums over every one of them, each distinct figure once."""
        shown: list[KeyFigure] = []
        wanted = len(self._figures) if limit is None else limit
        # A set-like view: isdisjoint runs in C, and most checks are of one or two keys.
        view = None if keys is None else keys.keys() if isinstance(keys, Mapping) else set(keys)
        for figure, ids in self._figures:
            if len(shown) >= wanted:
                break
            if view is None or not view.isdisjoint(ids):
                shown.append(figure)
        single = self._single
        if keys is None:
            singles: Iterable[list[float]] = single.values()
        else:
            singles = [single[k] for k in keys if k in single]
        totals = [sum(column) for column in zip(*singles, strict=True)] or [0.0] * 5
        if keys is None:
            shared: Iterable[int] = range(len(self._shared))
        else:
            of = self._shared_of
            shared = set().union(*[of[k] for k in keys if k in of])
        for index in shared:
            kind, value = self._shared[index]
            totals[0] += 1
            if kind == "projects":
                totals[1] += value
                totals[3] += 1
            elif kind == "money":
                totals[2] += value
                totals[4] += 1
        return Selection(
            shown=shown,
            count=int(totals[0]),
            projects=totals[1] if totals[3] else None,
            money=totals[2] if totals[4] else None,
        )


@dataclass(frozen=True)
class Selection:
    """A digest's key figures: the ones shown, how many in all, and the headline's sums
    (``None`` when no figure of that kind)."""

    shown: list[KeyFigure]
    count: int
    projects: float | None
    money: float | None

    def headline(self, tz: ZoneInfo) -> str:
        tasks = [k for k in self.shown if k.progress][:MAX_HEADLINE_TASKS]
        return headline_text(tasks, self.projects, self.money, tz)


def key_figures(
    stories: Iterable[Story], *, series: Sequence[Series] = (), locate: Locate | None = None
) -> list[KeyFigure]:
    """Every distinct key figure of ``stories`` (see :class:`FigureIndex`)."""
    return FigureIndex(stories, series=series, locate=locate).select().shown


def _follow_ups(merged: list[_Merged]) -> dict[int, Point | None]:
    """Reports of one task list in the period: the latest report with a done count
    stands for the list; an earlier count becomes its previous point (``id -> Point``)
    and every other report of the list is folded into it (``id -> None``: dropped, its
    sources kept when it said nothing new, such as the list's total alone)."""
    out: dict[int, Point | None] = {}
    lists: dict[tuple[str, int], list[_Merged]] = {}
    for m in merged:
        if m.figure.kind == "tasks" and m.figure.total is not None:
            lists.setdefault((m.place, m.figure.total), []).append(m)
    for same in lists.values():
        claimed: set[int] = set()
        newest = sorted(same, key=lambda m: m.published, reverse=True)
        for lead in sorted(newest, key=lambda m: m.figure.done is None):
            if id(lead) in claimed:
                continue
            claimed.add(id(lead))
            for other in newest:
                if id(other) in claimed or not _one_list(lead, other):
                    continue
                claimed.add(id(other))
                out[id(other)] = None
                f = other.figure
                if f.done is None and f.in_progress is None:
                    _absorb_sources(lead, other)
                    continue
                lead.stories |= other.stories  # its readers see where the list stands now
                if other.published < lead.published and id(lead) not in out:
                    out[id(lead)] = Point(other.published, f.done, f.in_progress, other.sources[0])
    return out


def _absorb_sources(into: _Merged, other: _Merged) -> None:
    into.sources.extend(u for u in other.sources if u not in into.sources)
    into.stories |= other.stories


def _one_list(a: _Merged, b: _Merged) -> bool:
    fa, fb = a.figure, b.figure
    return (
        fa.total is not None
        and fa.total == fb.total
        and a.place == b.place
        and same_subject(fa.subject, fb.subject)
    )


def _previous(series: Series, report: _Merged) -> Point | None:
    """The series' point before ``report``; a report of the same numbers within a day
    (another outlet's copy of the same news) is the report itself, not its previous."""
    f = report.figure
    earlier = [
        p
        for p in series.points
        if p.published < report.published
        and not (
            (p.done, p.in_progress) == (f.done, f.in_progress)
            and report.published - p.published < 86400
        )
    ]
    return earlier[-1] if earlier else None


def _amount(value: float) -> str:
    for unit, factor in _MONEY_UNITS:
        if value >= factor:
            number = f"{value / factor:.2f}".rstrip("0").rstrip(".")
            return f"{number} {unit}"
    return f"{value:.0f} 元"


def _count(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:g}"


def key_text(figure: KeyFigure, tz: ZoneInfo) -> str:
    """How a key figure reads, with its place and its previous point:
    ``湘潭 · 重点合作事项 52/60 已完成，8 项推进中（上次 35/60，10月12日）``."""
    f = figure.figure
    where = f"{figure.place} · " if figure.place else ""
    if f.kind != "tasks" or f.total is None or f.done is None:
        return where + f.describe()
    text = f"{where}{f.subject or '任务'} {f.done}/{f.total} 已完成"
    if f.in_progress is not None:
        text += f"，{f.in_progress} {f.unit}推进中"
    before = figure.previous
    if before is not None and before.done is not None:
        text += f"（上次 {before.done}/{f.total}，{format_day(before.published, tz)}）"
    return text


def headline(figures: Sequence[KeyFigure], tz: ZoneInfo) -> str:
    """One or two lines: the projects and money of the period (each distinct figure
    counted once), then the task lists whose progress was reported. Empty without
    key figures."""
    projects = [k.figure.value for k in figures if k.kind == "projects"]
    money = [k.figure.value for k in figures if k.kind == "money"]
    tasks = [k for k in figures if k.progress][:MAX_HEADLINE_TASKS]
    return headline_text(
        tasks, sum(projects) if projects else None, sum(money) if money else None, tz
    )


def headline_text(
    tasks: Sequence[KeyFigure], projects: float | None, money: float | None, tz: ZoneInfo
) -> str:
    first: list[str] = []
    if projects is not None:
        first.append(f"项目 {_count(projects)} 个")
    if money is not None:
        first.append(f"涉及金额 {_amount(money)}")
    lines = ["本期" + "，".join(first)] if first else []
    if tasks:
        lines.append("；".join(key_text(k, tz) for k in tasks))
    return "\n".join(lines)
