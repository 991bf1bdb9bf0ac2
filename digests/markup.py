"""The one place where replies and digests become markup: Telegram HTML, WeCom markdown, text.

Every span's text is escaped for its target here and nowhere else: ``html.escape`` for
Telegram; for WeCom the characters that would open markup become their full-width forms;
plain text is left as it is. Only http(s) URLs ever reach a span (``present.safe_url``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from urllib.parse import quote

from domain.reply import BOLD, FIGURE, MARK, MUTED, TITLE, Block, Line, Reply, Span

HTML = "html"
MARKDOWN = "markdown"
TEXT = "text"
FORMATS = (HTML, MARKDOWN, TEXT)


# ---------------------------------------------------------------- Telegram HTML

_HTML_TAGS = {TITLE: "b", BOLD: "b", MARK: "b", MUTED: "i"}


def _h(text: str) -> str:
    return html.escape(text, quote=True)


def _html_span(span: Span) -> str:
    text = _h(span.text)
    tag = _HTML_TAGS.get(span.style)
    if tag:
        text = f"<{tag}>{text}</{tag}>"
    if span.url:
        text = f'<a href="{_h(span.url)}">{text}</a>'
    return text


# ---------------------------------------------------------------- WeCom markdown

_MD_TEXT = str.maketrans(
    {"[": "［", "]": "］", "(": "（", ")": "）", "*": "＊", "`": "｀", "<": "＜", ">": "＞"}
)
_MD_LINE_START = re.compile(r"^[#>]+", re.MULTILINE)
_MD_COLOURS = {MUTED: "comment", FIGURE: "info"}


def md_escape(text: str) -> str:
    """Text that WeCom markdown shows as it is."""
    text = text.translate(_MD_TEXT)
    # A heading or quote mark at the start of a line would restyle it.
    return _MD_LINE_START.sub(lambda m: m.group().replace("#", "＃").replace(">", "＞"), text)


def _md_url(url: str) -> str:
    # Parentheses, spaces and angle brackets end or break a markdown link target.
    return quote(url, safe=":/?#@!$&'+,;=%~-._")


def _md_span(span: Span, first: bool) -> str:
    text = md_escape(span.text)
    if span.url:
        return f"[{text}]({_md_url(span.url)})"
    if span.style == TITLE and first:
        return f"# {text}"
    if span.style in (TITLE, BOLD, MARK):
        return f"**{text}**"
    colour = _MD_COLOURS.get(span.style)
    return f'<font color="{colour}">{text}</font>' if colour else text


# ---------------------------------------------------------------- plain text


def _text_span(span: Span) -> str:
    if span.url:
        return f"{span.text}（{span.url}）"
    return f"【{span.text}】" if span.style == MARK else span.text


# ---------------------------------------------------------------- entry points


def render_line(line: Line, fmt: str) -> str:
    if fmt == HTML:
        return "".join(_html_span(s) for s in line)
    if fmt == MARKDOWN:
        return "".join(_md_span(s, i == 0) for i, s in enumerate(line))
    if fmt == TEXT:
        return "".join(_text_span(s) for s in line)
    raise ValueError(f"unknown format: {fmt!r}")


def render_block(block: Block, fmt: str) -> str:
    return "\n".join(render_line(line, fmt) for line in block.lines)


def render_blocks(blocks: Iterable[Block], fmt: str) -> list[str]:
    return [render_block(b, fmt) for b in blocks]


def render_reply(reply: Reply, fmt: str) -> list[str]:
    """The reply's blocks in ``fmt``, one string a block (``split.pack`` joins them)."""
    return render_blocks(reply.blocks, fmt)
