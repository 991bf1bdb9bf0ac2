"""Render a :class:`~digests.compose.Digest` for Telegram HTML, WeCom markdown or plain text.

Each renderer returns blocks, one per logical unit: the header, the key figures, then
one block per story (a section heading travels with the first story of its section, so
a heading never ends a message alone). :func:`digests.split.pack` packs blocks into
messages without cutting a story in the middle.

Every piece of article text and every URL is escaped for its target: ``html.escape``
for Telegram, and for WeCom the characters that would open markup are replaced by their
full-width forms. Only http(s) URLs become links.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from analysis.figures import Figure
from analysis.summary import split_sentences
from digests.compose import Digest, format_day, story_figures, story_time
from domain.models import Story

__all__ = ["EMPTY_MESSAGE", "render_empty", "render_html", "render_markdown", "render_text"]

EMPTY_MESSAGE = "本周暂无新动态"
FIGURES_HEADING = "【关键数据】"
MAX_STORY_FIGURES = 2
MAX_SUMMARY_CHARS = 100

_KIND_ORDER = {"tasks": 0, "projects": 1, "money": 2, "count": 3, "percent": 4}
_SPACES = re.compile(r"\s+")


# ---------------------------------------------------------------- shared content


@dataclass(frozen=True)
class _Item:
    """What is said about one story, before any markup."""

    title: str
    url: str | None  # None when the URL is not http(s): shown unlinked
    summary: str
    figures: tuple[str, ...]
    meta: str  # "来源 3 家 · 11月20日"


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _safe_url(url: str) -> str | None:
    url = url.strip()
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    if scheme not in ("http", "https") or any(c.isspace() and c != " " for c in url):
        return None
    return url.replace(" ", "%20")


def _first_sentence(story: Story) -> str:
    sentences = split_sentences(story.summary) if story.summary else []
    if not sentences:
        return ""
    sentence = _one_line(sentences[0])
    if len(sentence) > MAX_SUMMARY_CHARS:
        sentence = sentence[: MAX_SUMMARY_CHARS - 1] + "…"
    return "" if sentence == _one_line(story.title) else sentence


def _figure_lines(figures: list[Figure]) -> tuple[str, ...]:
    ranked = sorted(enumerate(figures), key=lambda p: (_KIND_ORDER.get(p[1].kind, 9), p[0]))
    lines: list[str] = []
    for _, figure in ranked:
        line = figure.describe()
        if line not in lines:
            lines.append(line)
        if len(lines) >= MAX_STORY_FIGURES:
            break
    return tuple(lines)


def _item(story: Story, tz: ZoneInfo) -> _Item:
    """What is said about ``story``; the same for every digest it goes into, so it is
    worked out once per story object and time zone."""
    cache: dict[str, _Item] = story.__dict__.setdefault("_rendered_items", {})
    item = cache.get(tz.key)
    if item is None:
        item = cache[tz.key] = _make_item(story, tz)
    return item


def _make_item(story: Story, tz: ZoneInfo) -> _Item:
    meta = [format_day(story_time(story), tz)]
    if story.source_count > 1:
        meta.insert(0, f"来源 {story.source_count} 家")
    return _Item(
        title=_one_line(story.title) or "（无标题）",
        url=_safe_url(story.url),
        summary=_first_sentence(story),
        figures=_figure_lines(story_figures(story)),
        meta=" · ".join(meta),
    )


def _count_line(digest: Digest) -> str:
    return f"本期 {len(digest.story_ids)} 条动态"


def _omitted_line(digest: Digest) -> str | None:
    return f"另有 {digest.omitted} 条未列出" if digest.omitted > 0 else None


def _render(
    digest: Digest,
    tz: ZoneInfo,
    header: Callable[[Digest], str],
    figures: Callable[[tuple[tuple[str, tuple[str, ...]], ...]], str],
    heading: Callable[[str], str],
    story: Callable[[_Item], str],
    footer: Callable[[str], str],
) -> list[str]:
    blocks = [header(digest)]
    if digest.figures:
        blocks.append(figures(digest.figures))
    for section in digest.sections:
        for index, s in enumerate(section.stories):
            body = story(_item(s, tz))
            blocks.append(f"{heading(section.label)}\n{body}" if index == 0 else body)
    omitted = _omitted_line(digest)
    if omitted:
        blocks.append(footer(omitted))
    return blocks


# ---------------------------------------------------------------- Telegram HTML


def _h(text: str) -> str:
    return html.escape(text, quote=True)


def _html_story(item: _Item) -> str:
    title = f"<b>{_h(item.title)}</b>"
    if item.url:
        title = f'<a href="{_h(item.url)}">{title}</a>'
    lines = [title]
    if item.summary:
        lines.append(_h(item.summary))
    if item.figures:
        lines.append("📊 " + _h("；".join(item.figures)))
    lines.append(f"<i>{_h(item.meta)}</i>")
    return "\n".join(lines)


def _html_figures(groups: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    lines = [f"<b>{FIGURES_HEADING}</b>"]
    for label, items in groups:
        lines.append(f"<i>{_h(label)}</i>")
        lines.extend(f"• {_h(line)}" for line in items)
    return "\n".join(lines)


def render_html(digest: Digest, *, timezone: str = "Asia/Shanghai") -> list[str]:
    """Telegram HTML blocks (``<b>``, ``<i>``, ``<a href>``); all article text escaped."""
    if digest.empty:
        return [render_empty("html")]
    return _render(
        digest,
        ZoneInfo(timezone),
        header=lambda d: f"<b>{_h(d.title)}</b>\n<i>{_h(_count_line(d))}</i>",
        figures=_html_figures,
        heading=lambda label: f"<b>▍{_h(label)}</b>",
        story=_html_story,
        footer=lambda line: f"<i>{_h(line)}</i>",
    )


# ---------------------------------------------------------------- plain text


def _text_story(item: _Item) -> str:
    lines = [item.title]
    if item.summary:
        lines.append(item.summary)
    if item.figures:
        lines.append("数据：" + "；".join(item.figures))
    lines.append(item.meta)
    if item.url:
        lines.append(item.url)
    return "\n".join(lines)


def _text_figures(groups: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    lines = [FIGURES_HEADING]
    for label, items in groups:
        lines.append(f"{label}：")
        lines.extend(f"  · {line}" for line in items)
    return "\n".join(lines)


def render_text(digest: Digest, *, timezone: str = "Asia/Shanghai") -> list[str]:
    """Plain-text blocks for the console."""
    if digest.empty:
        return [render_empty("text")]
    return _render(
        digest,
        ZoneInfo(timezone),
        header=lambda d: f"{d.title}\n{_count_line(d)}",
        figures=_text_figures,
        heading=lambda label: f"== {label} ==",
        story=_text_story,
        footer=lambda line: line,
    )


# ---------------------------------------------------------------- WeCom markdown

# Characters that open WeCom markdown (links, bold, code, font tags) become full-width.
_MD_TEXT = str.maketrans(
    {"[": "［", "]": "］", "(": "（", ")": "）", "*": "＊", "`": "｀", "<": "＜", ">": "＞"}
)
_MD_LINE_START = re.compile(r"^[#>]+", re.MULTILINE)


def _md(text: str) -> str:
    text = text.translate(_MD_TEXT)
    # A heading or quote mark at the start of a line would restyle it.
    return _MD_LINE_START.sub(lambda m: m.group().replace("#", "＃").replace(">", "＞"), text)


def _md_url(url: str) -> str:
    # Parentheses, spaces and angle brackets end or break a markdown link target.
    return quote(url, safe=":/?#@!$&'+,;=%~-._")


def _md_story(item: _Item) -> str:
    title = _md(item.title)
    lines = [f"[{title}]({_md_url(item.url)})" if item.url else f"**{title}**"]
    if item.summary:
        lines.append(_md(item.summary))
    if item.figures:
        lines.append(f'<font color="info">{_md("；".join(item.figures))}</font>')
    lines.append(f'<font color="comment">{_md(item.meta)}</font>')
    return "\n".join(lines)


def _md_figures(groups: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    lines = [f"**{FIGURES_HEADING}**"]
    for label, items in groups:
        lines.append(f'<font color="comment">{_md(label)}</font>')
        lines.extend(f'> <font color="warning">{_md(line)}</font>' for line in items)
    return "\n".join(lines)


def render_markdown(digest: Digest, *, timezone: str = "Asia/Shanghai") -> list[str]:
    """WeCom markdown blocks: ``# title``, ``**bold**``, ``[title](url)``, ``<font>``."""
    if digest.empty:
        return [render_empty("markdown")]
    return _render(
        digest,
        ZoneInfo(timezone),
        header=lambda d: f'# {_md(d.title)}\n<font color="comment">{_md(_count_line(d))}</font>',
        figures=_md_figures,
        heading=lambda label: f"**▍{_md(label)}**",
        story=_md_story,
        footer=lambda line: f'<font color="comment">{_md(line)}</font>',
    )


# ---------------------------------------------------------------- empty


def render_empty(kind: str) -> str:
    """The one-line "本周暂无新动态" message for ``kind`` in ("html", "text", "markdown")."""
    if kind == "html":
        return f"<i>{EMPTY_MESSAGE}。</i>"
    if kind == "text":
        return f"{EMPTY_MESSAGE}。"
    if kind == "markdown":
        return f'<font color="comment">{EMPTY_MESSAGE}。</font>'
    raise ValueError(f"unknown digest format: {kind!r}")
