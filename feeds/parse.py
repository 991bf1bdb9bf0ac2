"""Parsing feed bytes into entries with feedparser. Pure: bytes in, entries out."""

from __future__ import annotations

import calendar
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import feedparser

from domain.errors import ParseError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    guid: str
    link: str
    title: str
    content: str  # raw: may be HTML
    published: int | None  # epoch seconds (UTC), None when the feed gave no usable date
    author: str = ""


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    link: str
    entries: tuple[Entry, ...]
    encoding: str
    bozo: str  # why feedparser complained, "" when it did not


def parse_feed(content: bytes, *, url: str = "", content_type: str | None = None) -> ParsedFeed:
    """Parse an RSS 0.9x/1.0/2.0 or Atom document.

    Raises ``ParseError`` for an empty body or a document that is not a feed (an HTML
    page, garbage). A feed with a recoverable problem (wrong encoding declaration, a
    stray character) is returned with ``bozo`` saying what was wrong.
    """
    if not content.strip():
        raise ParseError("empty document", kind="empty")
    headers = {"content-type": content_type} if content_type else None
    # Entry HTML becomes plain text anyway: neither sanitising nor resolving its links helps.
    parsed: Any = feedparser.parse(
        content, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )
    version = parsed.get("version") or ""
    bozo = ""
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        bozo = f"{exc.__class__.__name__}: {exc}"[:200] if exc else "malformed"
    entries = [e for e in (_entry(raw) for raw in parsed.entries) if e is not None]
    if not version and not entries:
        head = content[:512].lower()
        if b"<html" in head or b"<!doctype html" in head:
            raise ParseError("an HTML page, not a feed", kind="html_page")
        raise ParseError(f"not a feed ({bozo or 'unrecognised format'})")
    if bozo:
        log.info("feed.bozo url=%s reason=%s", url, bozo)
    feed = parsed.get("feed", {})
    return ParsedFeed(
        title=str(feed.get("title", "")),
        link=str(feed.get("link", "")),
        entries=tuple(_unique(entries)),
        encoding=str(parsed.get("encoding", "")),
        bozo=bozo,
    )


def _entry(raw: Any) -> Entry | None:
    title = str(raw.get("title", "")).strip()
    content = ""
    if raw.get("content"):
        content = max((c.get("value", "") for c in raw["content"]), key=len)
    summary = str(raw.get("summary", ""))
    if len(summary) > len(content):
        content = summary
    link = str(raw.get("link", "")).strip()
    if not title and not link:
        return None  # nothing to show or point to: a truncated or broken item
    guid = str(raw.get("id", "")).strip() or link
    if not guid:
        digest = hashlib.sha1((title + "\x1f" + content).encode()).hexdigest()
        guid = "sha1:" + digest
    published = None
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        struct = raw.get(key)
        if struct:
            published = calendar.timegm(struct)
            break
    return Entry(
        guid=guid,
        link=link,
        title=title,
        content=content,
        published=published,
        author=str(raw.get("author", "")),
    )


def _unique(entries: list[Entry]) -> list[Entry]:
    """Drop repeated guids inside one document; the first occurrence wins."""
    seen: set[str] = set()
    out = []
    for e in entries:
        if e.guid not in seen:
            seen.add(e.guid)
            out.append(e)
    return out
