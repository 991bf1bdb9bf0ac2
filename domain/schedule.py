"""Weekly schedules: when a chat's next digest is due. Pure: ``now`` is passed in."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import UserInputError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = {
    "mon": "周一",
    "tue": "周二",
    "wed": "周三",
    "thu": "周四",
    "fri": "周五",
    "sat": "周六",
    "sun": "周日",
}
_DAY_ALIASES = {
    **{d: d for d in DAYS},
    **{name: d for d, name in DAY_NAMES.items()},
    **{"星期" + name[1]: d for d, name in DAY_NAMES.items()},
    "周天": "sun",
    "星期天": "sun",
    "礼拜天": "sun",
    **{"礼拜" + name[1]: d for d, name in DAY_NAMES.items()},
    "monday": "mon",
    "tuesday": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
}


def parse_day(text: str) -> str | None:
    return _DAY_ALIASES.get(text.strip().lower())


def _digits(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also accepts ² and ①, which ``int`` refuses."""
    return text.isascii() and text.isdigit()


def parse_time(text: str) -> str | None:
    """ "9:00", "09:30", "21点", "9点半" → "HH:MM"; None when not a time of day."""
    t = text.strip().replace("：", ":")
    if t.endswith("点半"):
        t = t[:-2] + ":30"
    elif t.endswith("点"):
        t = t[:-1] + ":00"
    hh, sep, mm = t.partition(":")
    if not (sep and _digits(hh) and _digits(mm) and len(mm) == 2):
        return None
    h, m = int(hh), int(mm)
    if h > 23 or m > 59:
        return None
    return f"{h:02d}:{m:02d}"


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UserInputError(f"未知的时区：{name[:40]}（例如 Asia/Shanghai）") from None


def next_due(day: str, time: str, timezone: str, after: int) -> int:
    """The first moment strictly after ``after`` that falls on ``day`` at ``time`` local time."""
    tz = zone(timezone)
    hh, mm = (int(x) for x in time.split(":"))
    local = dt.datetime.fromtimestamp(after, tz)
    target_wd = DAYS.index(day)
    for offset in range(0, 8):
        date = local.date() + dt.timedelta(days=offset)
        if date.weekday() != target_wd:
            continue
        candidate = dt.datetime(date.year, date.month, date.day, hh, mm, tzinfo=tz)
        ts = int(candidate.timestamp())
        if ts > after:
            return ts
    raise AssertionError("unreachable: a weekday recurs within 8 days")


def describe(day: str, time: str, timezone: str) -> str:
    zone_note = "" if timezone == "Asia/Shanghai" else f"（{timezone}）"
    return f"每{DAY_NAMES[day]} {time}{zone_note}"
