"""Task lists tracked over time: every report of one list becomes a point of its series.

Pure: the task-list figures of stored articles come in (:class:`Report`, with the place
and the publication time of each), series go out. A series is one list: the same place,
the same total, the same year and a matching subject (:func:`same_subject`). Its points
are the reports in published order, one per day and state, so two outlets repeating the
same numbers on the same day make one point.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

__all__ = ["Point", "Report", "Series", "same_subject", "track"]

_MIN_SHARED = 0.5  # share of the shorter subject's character pairs the longer must have


def same_subject(a: str, b: str) -> bool:
    """Subjects naming the same thing: equal, one inside the other, or most character
    pairs shared (重点合作事项 / 年度重点合作事项 / 合作重点事项). An empty subject
    (the extractor found no noun) matches any: place, kind and value decide then."""
    if not a or not b or a in b or b in a:
        return True
    pairs_a = {a[i : i + 2] for i in range(len(a) - 1)}
    pairs_b = {b[i : i + 2] for i in range(len(b) - 1)}
    if not pairs_a or not pairs_b:
        return False
    return len(pairs_a & pairs_b) / min(len(pairs_a), len(pairs_b)) >= _MIN_SHARED


@dataclass(frozen=True)
class Report:
    """One task-list figure as an article reported it."""

    published: int
    url: str
    place: str  # a city of the region, "" when the report names none or several
    subject: str
    total: int
    done: int | None = None
    in_progress: int | None = None


@dataclass(frozen=True)
class Point:
    published: int
    done: int | None
    in_progress: int | None
    url: str


@dataclass(frozen=True)
class Series:
    place: str
    subject: str
    total: int
    year: int
    points: tuple[Point, ...]

    @property
    def latest(self) -> Point:
        return self.points[-1]

    def before(self, published: int) -> Point | None:
        """The last point published before ``published`` (the previous report)."""
        earlier = [p for p in self.points if p.published < published]
        return earlier[-1] if earlier else None

    def matches(self, place: str, subject: str, total: int) -> bool:
        return self.place == place and self.total == total and same_subject(self.subject, subject)


@dataclass
class _Draft:
    place: str
    subjects: list[str]
    total: int
    year: int
    points: list[Point]
    states: set[tuple[str, int | None, int | None]]  # (day, done, in progress) seen


def _day(timestamp: int, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(timestamp, tz).date().isoformat()


def track(reports: Iterable[Report], *, timezone: str = "Asia/Shanghai") -> list[Series]:
    """The series of the reports' task lists, each list's points in published order.

    A report saying neither how many are done nor how many are under way is not a point
    (an announcement of the list). The series' subject is the one reported most often
    (the longest among equals: the most readable). Series come out most recently
    reported first.
    """
    tz = ZoneInfo(timezone)
    drafts: list[_Draft] = []
    for report in sorted(reports, key=lambda r: (r.published, r.url)):
        if (report.done is None and report.in_progress is None) or report.total <= 0:
            continue
        year = datetime.fromtimestamp(report.published, tz).year
        draft = next(
            (
                d
                for d in drafts
                if d.place == report.place
                and d.total == report.total
                and d.year == year
                and any(same_subject(s, report.subject) for s in d.subjects)
            ),
            None,
        )
        if draft is None:
            draft = _Draft(report.place, [], report.total, year, [], set())
            drafts.append(draft)
        draft.subjects.append(report.subject)
        state = (_day(report.published, tz), report.done, report.in_progress)
        if state in draft.states:
            continue
        draft.states.add(state)
        draft.points.append(Point(report.published, report.done, report.in_progress, report.url))
    out = [Series(d.place, _subject(d.subjects), d.total, d.year, tuple(d.points)) for d in drafts]
    return sorted(out, key=lambda s: (-s.latest.published, s.place, s.subject))


def _subject(subjects: Sequence[str]) -> str:
    named = [s for s in subjects if s]
    if not named:
        return ""
    return max(dict.fromkeys(named), key=lambda s: (named.count(s), len(s)))
