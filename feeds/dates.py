"""Dates of web articles: from list pages, URLs and page text. Pure.

A web article's date is taken, in this order, from the list page beside its link, its
URL, its page text, and last the extractor (``feeds.webread`` applies the order). Dates
are read in the digest time zone: Chinese outlets print local dates.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Day:
    """A calendar date with an optional time of day, as printed on a page."""

    year: int
    month: int
    day: int
    hour: int | None = None
    minute: int = 0

    def timestamp(self, tz: str) -> int:
        """Epoch seconds of this moment in ``tz`` (a date alone: its midnight)."""
        moment = dt.datetime(
            self.year, self.month, self.day, self.hour or 0, self.minute, tzinfo=ZoneInfo(tz)
        )
        return int(moment.timestamp())


def _day(
    year: str, month: str, day: str, hour: str | None = None, minute: str | None = None
) -> Day | None:
    try:
        dt.date(int(year), int(month), int(day))
    except ValueError:
        return None
    if not 1990 <= int(year) <= 2100:
        return None
    h = int(hour) if hour is not None else None
    if h is not None and not (0 <= h < 24 and 0 <= int(minute or 0) < 60):
        h = None
    return Day(int(year), int(month), int(day), h, int(minute or 0) if h is not None else 0)


_TIME = r"(?:\s*(\d{1,2})[:：](\d{2}))?"
# In a list page row: 2026-11-03, 2026/11/03, 2026.11.03, 2026年11月3日, optionally a time.
_NUMERIC = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)" + _TIME)
_CHINESE = re.compile(r"(?<!\d)(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日" + _TIME)
# In a URL: t20261103_123.html, /202611/03/, /2026-11/03/, /2026/11/03/, /20261103/
_URL = (
    re.compile(r"[/_]t(\d{4})(\d{2})(\d{2})_"),
    re.compile(r"/(\d{4})(\d{2})/(\d{2})/"),
    re.compile(r"/(\d{4})-(\d{2})/(\d{2})/"),
    re.compile(r"/(\d{4})/(\d{2})/(\d{2})/"),
    re.compile(r"/(\d{4})(\d{2})(\d{2})/"),
    re.compile(r"/(\d{4})-(\d{2})-(\d{2})/"),
)
# In page text: the labelled publication time first, then any written-out date.
_LABELLED = re.compile(
    r"(?:发布时间|发布日期|发表时间|时间|日期)\s*[:：]?\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]"
    r"\s*(\d{1,2})\s*日?" + _TIME
)


def date_in_row(text: str) -> Day | None:
    """The date printed beside a link in a list (its row's text without the title)."""
    for pattern in (_NUMERIC, _CHINESE):
        for m in pattern.finditer(text):
            found = _day(*m.groups())
            if found:
                return found
    return None


def date_in_url(url: str) -> Day | None:
    for pattern in _URL:
        m = pattern.search(url)
        if m:
            found = _day(*m.groups())
            if found:
                return found
    return None


def date_in_text(text: str, *, labelled_only: bool = False) -> Day | None:
    """``发布时间：2026-11-03 10:20`` and the like, else the first ``2026年11月3日``.

    ``labelled_only`` is for a whole page, whose header often prints today's date.
    """
    for m in _LABELLED.finditer(text):
        found = _day(*m.groups())
        if found:
            return found
    if labelled_only:
        return None
    for m in _CHINESE.finditer(text):
        found = _day(*m.groups())
        if found:
            return found
    return None


def date_from_extractor(value: str | None) -> Day | None:
    """An ISO date the extractor found; its 1 January guesses (year only) count as unknown."""
    if not value:
        return None
    m = re.match(r"(\d{4})-(\d{2})-(\d{2})", value)
    if not m:
        return None
    found = _day(*m.groups())
    if found is None or (found.month == 1 and found.day == 1):
        return None
    return found


def plausible(day: Day | None, tz: str, *, now: float, earliest: float | None) -> Day | None:
    """``day`` when it can be a publication date: not after ``now`` plus one day and, with
    ``earliest``, not before it; else None, so the next clue is tried.

    The first date in an article's body is often a deadline or an event's date.
    """
    if day is None:
        return None
    when = day.timestamp(tz)
    if when > now + 86400 or (earliest is not None and when < earliest):
        return None
    return day


def fill_date(template: str, now: float, tz: str) -> str:
    """``template`` with each ``{date:FORMAT}`` replaced by today's date in ``tz``."""
    today = dt.datetime.fromtimestamp(now, ZoneInfo(tz))
    return re.sub(r"\{date:([^}]*)\}", lambda m: today.strftime(m.group(1)), template)


def has_placeholder(template: str) -> bool:
    return "{date:" in template
