"""OPML import and export of the feed list. Parsing uses defusedxml (no entity tricks)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

from domain.errors import ParseError


def parse_opml(content: bytes) -> list[tuple[str, str]]:
    """(url, title) of every outline with an xmlUrl, in document order."""
    try:
        root = DET.fromstring(content)
    except (ET.ParseError, DefusedXmlException) as e:
        raise ParseError(f"not a valid OPML file: {e.__class__.__name__}") from e
    if root.tag.lower() != "opml":
        raise ParseError("not an OPML file: the root element is not <opml>")
    feeds = []
    for node in root.iter("outline"):
        url = (node.get("xmlUrl") or "").strip()
        if url:
            feeds.append((url, node.get("title") or node.get("text") or ""))
    return feeds


def to_opml(feeds: Iterable[tuple[str, str]], title: str = "CZT Digest feeds") -> bytes:
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    for url, name in feeds:
        ET.SubElement(body, "outline", type="rss", text=name or url, title=name or url, xmlUrl=url)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
