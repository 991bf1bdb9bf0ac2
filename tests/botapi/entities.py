"""Telegram's HTML parse mode as the server applies it: text, entities, errors."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from tests.botapi.wire import ApiError

_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def command_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command entity Telegram attaches to a leading ``/cmd`` or ``/cmd@bot``."""
    m = re.match(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{1,32})?", text)
    if not m:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(m.group())}]


class _HtmlEntities(HTMLParser):
    """Telegram's HTML parse mode: plain text plus entities, or Telegram's parse error."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
        self.parts: list[str] = []
        self.units = 0
        self.stack: list[tuple[str, int, dict[str, str | None]]] = []
        self.entities: list[dict[str, Any]] = []
        self.error: str | None = None

    def _byte_offset(self) -> int:
        line, col = self.getpos()
        return len(self.source[: self.line_starts[line - 1] + col].encode())

    def _fail(self, message: str) -> None:
        if self.error is None:
            self.error = message

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag not in _TAG_ENTITY or (tag == "span" and attributes.get("class") != "tg-spoiler"):
            self._fail(f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}')
        language = attributes.get("class") or ""
        if tag == "code" and self.stack and self.stack[-1][0] == "pre":
            if language.startswith("language-"):
                self.stack[-1][2]["language"] = language.removeprefix("language-")
            attributes["inside_pre"] = "1"
        self.stack.append((tag, self.units, attributes))

    def handle_endtag(self, tag: str) -> None:
        where = self._byte_offset()
        if self.error is not None:
            return
        if not self.stack:
            self._fail(f"Unexpected end tag at byte offset {where}")
            return
        open_tag, start, attributes = self.stack.pop()
        if open_tag != tag:
            self._fail(
                f'Unmatched end tag at byte offset {where}, expected "</{open_tag}>", '
                f'found "</{tag}>"'
            )
            return
        length = self.units - start
        if length == 0 or "inside_pre" in attributes:
            return
        kind = _TAG_ENTITY[tag]
        if tag == "blockquote" and "expandable" in attributes:
            kind = "expandable_blockquote"
        entity: dict[str, Any] = {"type": kind, "offset": start, "length": length}
        if tag == "a":
            entity["url"] = attributes.get("href") or ""
        elif tag == "pre" and attributes.get("language"):
            entity["language"] = attributes["language"]
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = attributes.get("emoji-id") or ""
        self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.units += utf16_len(data)

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        self.feed(self.source)
        self.close()
        if self.stack:
            self._fail(f'Can\'t find end tag corresponding to start tag "{self.stack[-1][0]}"')
        if self.error:
            raise ApiError(400, f"Bad Request: can't parse entities: {self.error}")
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), self.entities


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """The text Telegram would store and its entities; raises ApiError on bad HTML."""
    if parse_mode and parse_mode.upper() == "HTML":
        return _HtmlEntities(text).parse()
    return text, []
