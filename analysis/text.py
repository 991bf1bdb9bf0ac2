"""Text cleaning: HTML to text, traditional to simplified, width and line-break repair.

Pure functions. ``clean`` turns whatever a feed gave us into display text; ``fold``
turns display text into the canonical form every analysis and the search index use:
NFKC (full-width digits and punctuation become ASCII), simplified script, lower case.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from inscriptis import get_text
from inscriptis.model.config import ParserConfig
from opencc import OpenCC

from analysis.noise import strip_annotations

_HTML_HINT = re.compile(r"<\s*(?:[a-zA-Z][a-zA-Z0-9]*|/[a-zA-Z]|!--)[^>]*>")
HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # character class body: CJK ideographs
# Sentence punctuation, one definition for analysis, summaries and message splitting:
# the marks that end a sentence, and the closing quotes and brackets that stay with it.
SENTENCE_ENDS = "。！？；!?;"
CLOSERS = "”’」』）)》】\"'"
_HAN = HAN
# A hard line break (possibly with spaces around it) between two Han characters or a
# digit and a Han character is a column break of e-paper layout, not a paragraph end.
_BROKEN_LINE = re.compile(rf"(?<=[{_HAN}0-9,，、])[ \t\u3000]*\n[ \t\u3000]*(?=[{_HAN}0-9“《（(])")
_BLANK_LINES = re.compile(r"\n{3,}")
_SPACES = re.compile(r"[ \t\u3000\xa0]+")


@functools.cache
def _t2s() -> OpenCC:
    return OpenCC("t2s")


def html_to_text(markup: str) -> str:
    """Return the visible text of an HTML fragment, one line per block element."""
    if not _HTML_HINT.search(markup):
        return markup
    return get_text(markup, ParserConfig(display_links=False, display_images=False))


def to_simplified(text: str) -> str:
    """Convert traditional-script Chinese to simplified (OpenCC t2s); other text is kept."""
    return _t2s().convert(text)


def clean(raw: str) -> str:
    """Display text from raw feed content: HTML and inline pinyin annotations removed,
    whitespace and broken lines repaired.

    The script is kept as written (traditional stays traditional for display).
    """
    text = strip_annotations(html_to_text(raw)).replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    text = "\n".join(lines).strip()
    text = _BROKEN_LINE.sub("", text)
    return _BLANK_LINES.sub("\n\n", text)


DISPLAY_SCRIPTS = ("simplified", "original")


def for_display(text: str, script: str = "simplified") -> str:
    """``text`` in the display script: simplified (OpenCC t2s, case and width kept) or
    as stored. Inline pinyin is already removed by :func:`clean`."""
    return to_simplified(text) if script == "simplified" and text else text


def fold(text: str) -> str:
    """Canonical form for analysis and search: NFKC, simplified script, lower case."""
    return to_simplified(unicodedata.normalize("NFKC", text)).lower()


def is_traditional(text: str, folded: str | None = None) -> bool:
    """True when converting to simplified changes a noticeable share of the Han characters.

    Pass ``folded`` (``fold(text)``, already computed) to spare a second conversion.
    """
    if folded is None or len(folded) != len(text):
        folded = to_simplified(text)
    pairs = [(a, b) for a, b in zip(text, folded, strict=False) if "\u4e00" <= a <= "\u9fff"]
    if not pairs:
        return False
    changed = sum(1 for a, b in pairs if a != b)
    return changed >= max(2, len(pairs) // 50)
