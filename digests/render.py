"""A :class:`~digests.compose.Digest` as blocks, rendered for Telegram, WeCom or the console.

:func:`digest_blocks` says what the digest contains, once, as ``domain.reply`` blocks: the
header, the key figures, then one block per story (a section heading travels with the
first story of its section, so a heading never ends a message alone). ``digests.markup``
renders them; :func:`digests.split.pack` packs the rendered blocks into messages without
cutting a story in the middle.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from digests.compose import Digest
from digests.markup import HTML, MARKDOWN, TEXT, render_block, render_blocks
from digests.present import story_lines
from domain.reply import BOLD, FIGURE, MUTED, TITLE, Block, Span, block, line

__all__ = [
    "EMPTY_MESSAGE",
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


def _figures_block(groups: tuple[tuple[str, tuple[str, ...]], ...]) -> Block:
    lines = [line(Span(FIGURES_HEADING, BOLD))]
    for label, items in groups:
        lines.append(line(Span(label, MUTED)))
        lines.extend(line("• ", Span(item, FIGURE)) for item in items)
    return Block(tuple(lines))


def digest_blocks(
    digest: Digest, *, timezone: str = "Asia/Shanghai", script: str = "simplified"
) -> list[Block]:
    """What the digest says, before markup, stories in the display ``script``
    (``analysis.text.DISPLAY_SCRIPTS``). An empty digest is one line."""
    if digest.empty:
        return [block(Span(f"{EMPTY_MESSAGE}。", MUTED))]
    tz = ZoneInfo(timezone)
    blocks = [block(Span(digest.title, TITLE), Span(f"本期 {len(digest.story_ids)} 条动态", MUTED))]
    if digest.figures:
        blocks.append(_figures_block(digest.figures))
    for section in digest.sections:
        for index, story in enumerate(section.stories):
            lines = story_lines(story, tz, script)
            if index == 0:
                lines = (line(Span(SECTION_MARK + section.label, BOLD)), *lines)
            blocks.append(Block(lines))
    if digest.omitted > 0:
        blocks.append(block(Span(f"另有 {digest.omitted} 条未列出", MUTED)))
    return blocks


def render_digest(
    digest: Digest, fmt: str, *, timezone: str = "Asia/Shanghai", script: str = "simplified"
) -> list[str]:
    """The digest's blocks in ``fmt`` (``digests.markup.FORMATS``), one string a block."""
    return render_blocks(digest_blocks(digest, timezone=timezone, script=script), fmt)


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
