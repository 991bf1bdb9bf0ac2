"""The command line's digest preview and task-list progress: what they print.

``bot.py`` parses the arguments; ``app`` turns them into a digest or the tracked task
lists, printed here as the console shows them or as the ``--json`` contracts of
:mod:`digests.export`. A bad argument is a ``UserInputError`` (one line, non-zero exit).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from app.core import Core
from app.delivery import preview_for
from app.tracking import tracked
from digests.export import digest_json, series_json
from digests.markup import TEXT, render_line
from digests.present import series_lines
from digests.render import render_text


def print_preview(core: Core, *, subscriptions: str | None, chat: str | None, as_json: bool) -> int:
    digest, timezone = preview_for(core, subscriptions=subscriptions, chat=chat)
    if as_json:
        print(json.dumps(digest_json(digest, timezone), ensure_ascii=False, indent=2))
        return 0
    if digest.empty:
        print("本周暂无新动态")
    script = core.settings.analysis.display_script
    for block in render_text(digest, timezone=timezone, script=script):
        print(block)
        print()
    return 0


def print_progress(
    core: Core, cities: Sequence[str], topics: Sequence[str], *, as_json: bool
) -> int:
    found = tracked(core, cities=cities, topics=topics)
    tz = core.settings.digest.timezone
    if as_json:
        print(json.dumps(series_json(found, tz), ensure_ascii=False, indent=2))
        return 0
    if not found:
        print("没有跟踪到的任务清单。")
    for series in found:
        for text_line in series_lines(series, ZoneInfo(tz)):
            print(render_line(text_line, TEXT))
        print()
    return 0
