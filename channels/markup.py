"""Turning the replies' Telegram-style HTML into plain text (console, WeChat)."""

from __future__ import annotations

import html
import re

_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.S)
_TAG = re.compile(r"</?(?:b|strong|i|em|u|s|code|pre|blockquote)>")


def html_to_plain(text: str, *, links: bool = True) -> str:
    """Tags removed, links as "title（url）" (or the title alone), entities unescaped."""
    text = _LINK.sub(lambda m: f"{m.group(2)}（{m.group(1)}）" if links else m.group(2), text)
    return html.unescape(_TAG.sub("", text))
