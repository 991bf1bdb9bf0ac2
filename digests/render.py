"""A :class:`~digests.compose.Digest` as blocks, rendered for Telegram, WeCom or the console.

:func:`digest_blocks` says what the digest contains, once, as ``domain.reply`` blocks: the
header, the condensed block (headline and key figures), then one block per story (a
section heading travels with the first story of its section, so a heading never ends a
message alone). ``digests.markup``
renders them; :func:`digests.split.pack` packs the rendered blocks into messages without
cutting a story in the middle.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from digests.compose import Digest
from digests.condense import KeyFigure, key_text
from digests.markup import HTML, MARKDOWN, TEXT, render_block, render_blocks
from digests.present import safe_url, story_lines
from domain.reply import BOLD, FIGURE, MUTED, TITLE, Block, Line, Span, block, line

__all__ = [
    "EMPTY_MESSAGE",
    "condensed_blocks",
    "digest_blocks",
    "render_digest",
    "render_empty",
    "render_html",
    "render_markdown",
    "render_text",
]

EMPTY_MESSAGE = "本周暂无新动态"
FIGURES_HEADING = "【关键数据】"
SECTION_MARK = "▍"
MORE_HINT = "发送 /latest 查看最新动态，或直接发送关键词搜索"


MAX_SOURCE_LINKS = 3


def key_figure_line(figure: KeyFigure, tz: ZoneInfo) -> Line:
    """``• 湘潭 · 重点合作事项 52/60 已完成（上次 35/60，10月12日） [1][2]``: the figure,
    then a link to each source (at most three, then how many more).

    The same for every digest the figure goes into: worked out once per time zone."""
    cache: dict[str, Line] = figure.__dict__.setdefault("_lines", {})
    found = cache.get(tz.key)
    if found is None:
        found = cache[tz.key] = _key_figure_line(figure, tz)
    return found


def _key_figure_line(figure: KeyFigure, tz: ZoneInfo) -> Line:
    links: list[Span] = []
    for number, url in enumerate(figure.sources[:MAX_SOURCE_LINKS], 1):
        safe = safe_url(url)
        if safe is not None:
            links.append(Span(f"[{number}]", MUTED, safe))
    rest = len(figure.sources) - MAX_SOURCE_LINKS
    if rest > 0:
        links.append(Span(f"等 {len(figure.sources)} 家", MUTED))
    return line("• ", Span(key_text(figure, tz), FIGURE), " " if links else "", *links)


def condensed_blocks(digest: Digest, tz: ZoneInfo) -> list[Block]:
    """The headline and the key-figure block: the top of every digest and the chart's
    caption. Empty when the period has no key figures."""
    blocks: list[Block] = []
    if digest.headline:
        blocks.append(Block(tuple(line(Span(text, BOLD)) for text in digest.headline.split("\n"))))
    if digest.key_figures:
        lines = [line(Span(FIGURES_HEADING, BOLD))]
        lines.extend(key_figure_line(k, tz) for k in digest.key_figures)
        if digest.more_figures > 0:
            lines.append(line(Span(f"另有 {digest.more_figures} 项数据未列出", MUTED)))
        blocks.append(Block(tuple(lines)))
    return blocks


def digest_blocks(
    digest: Digest,
    *,
    timezone: str = "Asia/Shanghai",
    script: str = "simplified",
    latest: str | None = "/latest",
) -> list[Block]:
    """What the digest says, before markup, stories in the display ``script``
    (``analysis.text.DISPLAY_SCRIPTS``). An empty digest is one line. ``latest`` is the
    latest-stories command as the reader calls it (最新 on WeChat); None where readers
    cannot answer the bot (a WeCom group robot): then the stories left out are only
    counted."""
    if digest.empty:
        return [block(Span(f"{EMPTY_MESSAGE}。", MUTED))]
    tz = ZoneInfo(timezone)
    blocks = [block(Span(digest.title, TITLE), Span(f"本期 {len(digest.story_ids)} 条动态", MUTED))]
    blocks.extend(condensed_blocks(digest, tz))
    for section in digest.sections:
        for index, story in enumerate(section.stories):
            lines = story_lines(story, tz, script)
            if index == 0:
                lines = (line(Span(SECTION_MARK + section.label, BOLD)), *lines)
            blocks.append(Block(lines))
    if digest.omitted > 0:
        hint = "" if latest is None else "：" + MORE_HINT.replace("/latest", latest)
        blocks.append(block(Span(f"另有 {digest.omitted} 条未列出{hint}", MUTED)))
    return blocks


def render_digest(
    digest: Digest,
    fmt: str,
    *,
    timezone: str = "Asia/Shanghai",
    script: str = "simplified",
    latest: str | None = "/latest",
) -> list[str]:
    """The digest's blocks in ``fmt`` (``digests.markup.FORMATS``), one string a block."""
    blocks = digest_blocks(digest, timezone=timezone, script=script, latest=latest)
    return render_blocks(blocks, fmt)


def render_html(
    digest: Digest, *, timezone: str = "Asia/Shanghai", script: str = "simplified"
) -> list[str]:
    """Telegram HTML blocks (``<b>``, ``<i>``, ``<a href>``); all article text escaped."""
    return render_digest(digest, HTML, timezone=timezone, script=script)


def render_markdown(
    digest: Digest, *, timezone: str = "Asia/Shanghai", script: str = "simplified"
) -> list[str]:
    """WeCom markdown blocks: ``# title``, ``**bold**``, ``[title](url)``, ``<font>``."""
    return render_digest(digest, MARKDOWN, timezone=timezone, script=script)


def render_text(
    digest: Digest, *, timezone: str = "Asia/Shanghai", script: str = "simplified"
) -> list[str]:
    """Plain-text blocks for the console."""
    return render_digest(digest, TEXT, timezone=timezone, script=script)


def render_empty(kind: str) -> str:
    """The one-line "本周暂无新动态" message for ``kind`` in ("html", "text", "markdown")."""
    if kind not in (HTML, TEXT, MARKDOWN):
        raise ValueError(f"unknown digest format: {kind!r}")
    return render_block(block(Span(f"{EMPTY_MESSAGE}。", MUTED)), kind)
