"""Decoding web pages to text. Pure: bytes and headers in, text out.

The order, first that applies: a per-source override, a byte-order mark, the HTTP
``charset``, the page's own ``<meta charset>``, then detection with charset-normalizer.
GBK and GB2312 are read as GB18030 (their superset: pages labelled GB2312 routinely hold
GBK-only characters). A declared charset that cannot decode the bytes is skipped, so a
server's wrong label falls through to the next step. The extractor gets the decoded text
because it would otherwise ignore these declarations.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SUPERSETS = {"gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030", "ascii": "utf-8"}
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
# The HTML spec's prescan, simplified: a charset named in a <meta> within the first 4 KB.
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
# Servers that label everything ISO-8859-1 by default say nothing about the page.
_WEAK = {"iso8859-1", "latin-1", "cp1252"}


def codec_name(label: str) -> str | None:
    """Python's codec for a charset label, with GBK/GB2312 widened to GB18030."""
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None
    return _SUPERSETS.get(name, name)


def http_charset(content_type: str | None) -> str | None:
    match = _HTTP_CHARSET.search(content_type or "")
    return codec_name(match.group(1)) if match else None


def meta_charset(content: bytes) -> str | None:
    match = _META_CHARSET.search(content[:4096])
    return codec_name(match.group(1).decode("ascii", "replace")) if match else None


def detect(content: bytes) -> str:
    best = from_bytes(content[:200_000]).best()
    if best is None:
        return "utf-8"
    return codec_name(best.encoding) or "utf-8"


def choose_encoding(content: bytes, content_type: str | None = None, override: str = "") -> str:
    """The codec to read ``content`` with, by the order in the module docstring."""
    if override:
        forced = codec_name(override)
        if forced:
            return forced
    for bom, name in _BOMS:
        if content.startswith(bom):
            return name
    declared = http_charset(content_type)
    meta = meta_charset(content)
    if declared in _WEAK and meta:
        declared = None
    for candidate in (declared, meta):
        if candidate and _decodes(content, candidate):
            return candidate
    return detect(content)


def decode_page(content: bytes, content_type: str | None = None, override: str = "") -> str:
    """``content`` as text; undecodable bytes become U+FFFD rather than an error."""
    return content.decode(choose_encoding(content, content_type, override), errors="replace")


def _decodes(content: bytes, codec: str) -> bool:
    try:
        content.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return False
    return True
