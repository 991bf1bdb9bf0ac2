"""Small formatting helpers shared by the report's sections."""

from __future__ import annotations

import datetime as dt
from typing import Any


def times(ratio: float) -> str:
    return f"{ratio:.0f}" if ratio >= 10 else f"{ratio:.2g}"


def yes(flag: bool) -> str:
    return "**met**" if flag else "**missed**"


def when(result: dict[str, Any]) -> str:
    stamp = dt.datetime.fromtimestamp(result["finished"], dt.UTC)
    return stamp.strftime("%Y-%m-%d %H:%M UTC")
