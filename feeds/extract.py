"""Main text and metadata of an article page, with trafilatura. Pure: text in, article out.

trafilatura (precision mode) drops the site chrome: navigation, footers, share bars,
related-article lists. When what it keeps is shorter than ``MIN_TEXT`` the source's own
CSS selector (``selector`` in ``[[sources.pages]]``, e.g. ``#ozoom`` on Founder e-papers)
is used, and without one trafilatura's recall mode. The selected element becomes text
with inscriptis, as feed HTML does: no regex stripping of markup.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import lxml.html
import trafilatura
from inscriptis import get_text

log = logging.getLogger(__name__)

MIN_TEXT = 60


@dataclass(frozen=True)
class Extracted:
    title: str
    text: str
    date: str | None  # ISO date the extractor found, if any
    page_text: str  # the whole page as text, for dates printed in the header
    method: str  # "trafilatura", "selector" or "recall"


def extract_article(html: str, url: str, selector: str = "") -> Extracted:
    """The article in ``html`` (already decoded). Never raises on a malformed page."""
    precise = _run(html, url, favor_precision=True)
    title = str(getattr(precise, "title", "") or "")
    date = getattr(precise, "date", None)
    text = str(getattr(precise, "text", "") or "")
    method = "trafilatura"
    page = _page_text(html)
    if len(text) < MIN_TEXT:
        chosen = _by_selector(html, selector) if selector else ""
        if len(chosen) > len(text):
            text, method = chosen, "selector"
        else:
            recall = _run(html, url, favor_recall=True)
            wider = str(getattr(recall, "text", "") or "")
            if len(wider) > len(text):
                text, method = wider, "recall"
            title = title or str(getattr(recall, "title", "") or "")
            date = date or getattr(recall, "date", None)
    return Extracted(
        title=" ".join(title.split()),
        text=text.strip(),
        date=str(date) if date else None,
        page_text=page,
        method=method,
    )


def _run(html: str, url: str, *, favor_precision: bool = False, favor_recall: bool = False) -> Any:
    try:
        return trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
            favor_precision=favor_precision,
            favor_recall=favor_recall,
        )
    except Exception as e:  # the extractor must cost one article, never the run
        log.warning("extract.failed url=%s error=%s", url, type(e).__name__)
        return None


def _document(html: str) -> lxml.html.HtmlElement | None:
    try:
        return lxml.html.document_fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return None


def _by_selector(html: str, selector: str) -> str:
    doc = _document(html)
    if doc is None:
        return ""
    try:
        found = doc.cssselect(selector)
    except Exception:  # a bad selector in the config: log it and fall through
        log.warning("extract.selector invalid selector=%r", selector)
        return ""
    parts = [get_text(lxml.html.tostring(el, encoding="unicode")).strip() for el in found]
    return "\n".join(p for p in parts if p)


def _page_text(html: str) -> str:
    doc = _document(html)
    if doc is None:
        return ""
    for junk in doc.xpath("//script | //style"):
        junk.drop_tree()
    return " ".join(doc.text_content().split())
