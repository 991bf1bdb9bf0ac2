"""Noise that machine-converted pages add to text, removed before analysis and display.

Pages run through a traditional-script converter carry inline pinyin after characters
(``長(zhǎng)沙``, ``項(xiàng)目``), which hides city names, numbers' units and search terms.
An annotation is a bracketed run of Latin letters with at least one tone mark, so
brackets holding words (``(中期票据)``), codes (``(CZT)``) or list numbers (``(1)``) stay.
"""

from __future__ import annotations

import re

__all__ = ["strip_annotations"]

_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
_PINYIN = re.compile(rf"[(（][a-zü]*[{_TONED}][a-zü{_TONED}]*[)）]")


def strip_annotations(text: str) -> str:
    """``text`` without inline pinyin annotations: ``長(zhǎng)沙`` → ``長沙``."""
    if "(" not in text and "（" not in text:
        return text
    return _PINYIN.sub("", text)
