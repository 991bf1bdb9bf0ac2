"""How a story, a search hit and a figure read, in every reply and digest: one place.

Values in, ``domain.reply`` lines out; ``digests.markup`` renders them per channel.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from analysis.progress import Point, Series
from analysis.summary import figure_lines, split_sentences
from analysis.text import for_display
from digests.compose import format_day, story_figures, story_time
from domain.models import SearchHit, Story
from domain.reply import BOLD, FIGURE, MARK, MUTED, Block, Line, Span, block, line

MAX_STORY_FIGURES = 2
MAX_SUMMARY_CHARS = 100
FIGURE_MARK = "📊 "

_SPACES = re.compile(r"\s+")


def one_line(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def safe_url(url: str) -> str | None:
    """``url`` when it may become a link (http or https, no control whitespace), else None."""
    url = url.strip()
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    if scheme not in ("http", "https") or any(c.isspace() and c != " " for c in url):
        return None
    return url.replace(" ", "%20")


def story_link(story: Story, style: str = BOLD, script: str = "simplified") -> Span:
    """The story's title in the display ``script``, linked when its URL is http(s)."""
    title = for_display(one_line(story.title), script)
    return Span(title or "（无标题）", style, safe_url(story.url))


def first_sentence(story: Story, limit: int = MAX_SUMMARY_CHARS, script: str = "simplified") -> str:
    """The summary's first sentence in the display ``script``, cut at ``limit``; empty
    when it repeats the title."""
    sentences = split_sentences(story.summary) if story.summary else []
    if not sentences:
        return ""
    sentence = one_line(sentences[0])
    if len(sentence) > limit:
        sentence = sentence[: limit - 1] + "…"
    return "" if sentence == one_line(story.title) else for_display(sentence, script)


def figure_line(texts: Sequence[str]) -> Line:
    return line(FIGURE_MARK, Span("；".join(texts), FIGURE)) if texts else ()


def story_meta(story: Story, tz: ZoneInfo) -> str:
    """``来源 3 家 · 11月20日``: a single source is not worth saying."""
    meta = [format_day(story_time(story), tz)]
    if story.source_count > 1:
        meta.insert(0, f"来源 {story.source_count} 家")
    return " · ".join(meta)


def story_lines(story: Story, tz: ZoneInfo, script: str = "simplified") -> tuple[Line, ...]:
    """A story in a digest: linked title, first sentence, key figures, sources and day.

    The same for every digest the story goes into, so worked out once per story object,
    time zone and display script.
    """
    cache: dict[tuple[str, str], tuple[Line, ...]] = story.__dict__.setdefault("_presented", {})
    lines = cache.get((tz.key, script))
    if lines is None:
        summary = first_sentence(story, script=script)
        figures = figure_lines(story_figures(story), MAX_STORY_FIGURES)
        out = [line(story_link(story, script=script))]
        if summary:
            out.append(line(summary))
        if figures:
            out.append(figure_line(figures))
        out.append(line(Span(story_meta(story, tz), MUTED)))
        lines = cache[(tz.key, script)] = tuple(out)
    return lines


def marked(text: str, spans: Sequence[tuple[int, int]]) -> Line:
    """``text`` with the (start, end) ``spans`` in the MARK style."""
    out: list[Span] = []
    at = 0
    for start, end in sorted(spans):
        if start < at or end <= start:
            continue
        if start > at:
            out.append(Span(text[at:start]))
        out.append(Span(text[start:end], MARK))
        at = end
    if at < len(text):
        out.append(Span(text[at:]))
    return tuple(out)


def shown_snippet(snippet: str, script: str) -> str:
    """``snippet`` in the display ``script`` when that keeps its length (highlights are
    offsets into it), else as stored."""
    converted = for_display(snippet, script)
    return converted if len(converted) == len(snippet) else snippet


def hit_lines(
    index: int, hit: SearchHit, tz: ZoneInfo, script: str = "simplified"
) -> tuple[Line, ...]:
    """A search hit: ``N. title`` linked, day and outlets, the snippet with the words marked."""
    story = hit.story
    day = format_day(story.published, tz) if story.published else ""
    sources = f" · 来源 {story.source_count} 家" if story.source_count > 1 else ""
    return (
        line(f"{index}. ", story_link(story, style="", script=script)),
        line(Span(day + sources, MUTED)),
        marked(shown_snippet(hit.snippet, script), hit.highlights),
    )


MAX_HISTORY = 6


def _state(point: Point, total: int) -> str:
    done = f"{point.done}/{total} 已完成" if point.done is not None else f"共 {total} 项"
    return done + (f"，{point.in_progress} 项推进中" if point.in_progress is not None else "")


def series_lines(series: Series, tz: ZoneInfo) -> tuple[Line, ...]:
    """A tracked task list: where it stands (linked to the latest report) and its
    history, the last few points oldest first."""
    latest = series.latest
    where = f"{series.place} · " if series.place else ""
    head = Span(f"{where}{series.subject or '任务清单'}", BOLD, safe_url(latest.url))
    now = f"：{_state(latest, series.total)}（{format_day(latest.published, tz)}）"
    history = " → ".join(
        f"{format_day(p.published, tz)} {p.done if p.done is not None else '?'}"
        for p in series.points[-MAX_HISTORY:]
    )
    return (line(head, now), line(Span(f"历次进展：{history}", MUTED)))


def alert_blocks(found: Mapping[str, Sequence[Story]], limit: int) -> list[Block]:
    """An instant alert: which watched keywords have new stories, the first ``limit``
    linked, and how many more wait in the digest."""
    total = sum(len(stories) for stories in found.values())
    words = "、".join(f"“{w}”" for w in found)
    blocks = [block(Span(f"🔔 关注的关键词{words}有 {total} 条新报道", BOLD))]
    listed = [s for stories in found.values() for s in stories][:limit]
    blocks.append(Block(tuple(line("• ", story_link(s, style="")) for s in listed)))
    rest = total - len(listed)
    tail = f"另有 {rest} 条，将收入周报。" if rest > 0 else "这些报道也会收入周报。"
    blocks.append(block(Span(tail + "发送 /settings 提醒 关 可关闭提醒。", MUTED)))
    return blocks
