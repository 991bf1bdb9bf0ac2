"""Digests and tracked task lists as JSON values: the command line's ``--json`` contract.

Pure. ``digest preview --json`` prints :func:`digest_json`, ``progress --json`` prints
:func:`series_json`; dates are ISO strings in the given time zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from analysis.progress import Series
from digests.compose import Digest
from digests.condense import KeyFigure

__all__ = ["digest_json", "series_json"]


def _date(timestamp: int, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(timestamp, tz).date().isoformat()


def _moment(timestamp: int, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(timestamp, tz).isoformat(timespec="seconds")


def _number(value: float) -> int | float:
    return int(value) if value == int(value) else value


def key_figure_json(figure: KeyFigure, tz: ZoneInfo) -> dict[str, Any]:
    f = figure.figure
    before = figure.previous
    return {
        "kind": f.kind,
        "value": _number(f.value),
        "unit": f.unit,
        "done": f.done,
        "total": f.total,
        "in_progress": f.in_progress,
        "subject": f.subject,
        "place": figure.place,
        "previous": None
        if before is None
        else {"date": _date(before.published, tz), "done": before.done},
        "sources": list(figure.sources),
    }


def digest_json(digest: Digest, timezone: str = "Asia/Shanghai") -> dict[str, Any]:
    """``{"since", "until", "headline", "key_figures", "stories", "more"}``."""
    tz = ZoneInfo(timezone)
    return {
        "since": _moment(digest.since, tz),
        "until": _moment(digest.until, tz),
        "headline": digest.headline,
        "key_figures": [key_figure_json(k, tz) for k in digest.key_figures],
        "stories": [
            {
                "title": s.title,
                "url": s.url,
                "cities": list(s.cities),
                "topics": list(s.topics),
                "sources": list(s.sources),
            }
            for s in digest.stories
        ],
        "more": digest.omitted,
    }


def series_json(series: Sequence[Series], timezone: str = "Asia/Shanghai") -> list[dict[str, Any]]:
    """``[{"place", "subject", "total", "points": [{"date", "done", "in_progress", "url"}]}]``."""
    tz = ZoneInfo(timezone)
    return [
        {
            "place": s.place,
            "subject": s.subject,
            "total": s.total,
            "points": [
                {
                    "date": _date(p.published, tz),
                    "done": p.done,
                    "in_progress": p.in_progress,
                    "url": p.url,
                }
                for p in s.points
            ],
        }
        for s in series
    ]
