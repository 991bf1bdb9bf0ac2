"""What the command line prints: search hits, the digest preview and task-list progress.

``bot.py`` parses the arguments; ``app`` turns them into a digest or the tracked task
lists, printed here as the console shows them or as the ``--json`` contracts of
:mod:`digests.export`. A bad argument is a ``UserInputError`` (one line, non-zero exit).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from app.core import Core
from app.previews import preview_for
from app.tracking import tracked
from digests.export import digest_json, series_json
from digests.markup import TEXT, render_line
from digests.present import marked, series_lines
from digests.render import render_text
from domain.models import SearchHit, SearchPage


def iso(ts: int, tz: str) -> str:
    return dt.datetime.fromtimestamp(ts, ZoneInfo(tz)).isoformat(timespec="seconds")


def hit_json(hit: SearchHit, tz: str) -> dict[str, Any]:
    s = hit.story
    return {
        "id": s.id,
        "title": s.title,
        "url": s.url,
        "published": iso(s.published, tz),
        "cities": list(s.cities),
        "topics": list(s.topics),
        "snippet": render_line(marked(hit.snippet, hit.highlights), TEXT),
        "sources": list(s.sources),
    }


def print_hits(page: SearchPage, tz: str, *, as_json: bool) -> int:
    if as_json:
        print(json.dumps([hit_json(h, tz) for h in page.hits], ensure_ascii=False, indent=2))
        return 0
    if not page.hits:
        print("没有找到相关报道。")
    for i, hit in enumerate(page.hits, 1):
        s = hit.story
        day = iso(s.published, tz)[:10]
        tags = "·".join(s.cities + s.topics)
        print(f"{i}. {s.title}  [{day}] {tags}  来源 {s.source_count}")
        print(f"   {render_line(marked(hit.snippet, hit.highlights), TEXT)}")
        print(f"   {s.url}")
    return 0


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
