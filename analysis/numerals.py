"""Parse numbers as Chinese newspapers write them.

Arabic digits (half or full width, with thousands commas), Chinese numerals
(``三十六``, ``两百``, ``一百六十点六``) and mixtures with a magnitude suffix
(``1.2万``, ``2.5万亿``, ``3千万``). Arithmetic is done in :class:`decimal.Decimal`
so that ``160.6亿`` is exactly ``16060000000.0`` and not one ulp off.

Positional digit strings (``二〇二二``) are accepted as they are used for years; ``两``
is never positional, which is what keeps ``两两`` (in pairs) from becoming 22.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

__all__ = ["parse_number"]

_DIGITS: dict[str, int] = {
    "零": 0,
    "〇": 0,
    "○": 0,
    "一": 1,
    "壹": 1,
    "二": 2,
    "贰": 2,
    "貳": 2,
    "两": 2,
    "兩": 2,
    "三": 3,
    "叁": 3,
    "參": 3,
    "四": 4,
    "肆": 4,
    "五": 5,
    "伍": 5,
    "六": 6,
    "陆": 6,
    "陸": 6,
    "七": 7,
    "柒": 7,
    "八": 8,
    "捌": 8,
    "九": 9,
    "玖": 9,
}
_SMALL_UNITS: dict[str, int] = {
    "十": 10,
    "拾": 10,
    "百": 100,
    "佰": 100,
    "千": 1000,
    "仟": 1000,
}
_BIG_UNITS: tuple[tuple[str, Decimal], ...] = (
    ("亿", Decimal(10) ** 8),
    ("億", Decimal(10) ** 8),
    ("万", Decimal(10) ** 4),
    ("萬", Decimal(10) ** 4),
)
_PAIR = frozenset("两兩")
_ARABIC = re.compile(r"\d+(?:\.\d+)?")
_ARABIC_UNIT = re.compile(r"(\d+(?:\.\d+)?)([十拾百佰千仟])")
_SPACE_OR_COMMA = re.compile(r"(?<=\d),(?=\d{3}(?:\D|$))|\s+")


def parse_number(s: str) -> float | None:
    """Return the value of a written number, or None when ``s`` is not one number.

    ``"三十六"`` → 36, ``"两"`` → 2, ``"1.2万"`` → 12000, ``"一百六十点六亿"`` → 1.606e10,
    ``"2.5万亿"`` → 2.5e12, ``"１２"`` → 12, ``"十"`` → 10. Garbage, empty strings, vague
    numbers (``几十``) and ``"两两"`` give None. Never raises.
    """
    if not isinstance(s, str):
        return None
    text = _SPACE_OR_COMMA.sub("", unicodedata.normalize("NFKC", s))
    if not text or len(text) > 40:
        return None
    value = _parse_big(text)
    if value is None:
        return None
    try:
        return float(value)
    except (OverflowError, InvalidOperation):  # pragma: no cover - Decimal is bounded here
        return None


def _parse_big(text: str) -> Decimal | None:
    """Split at the last 亿, then at the last 万: ``left × unit + right``."""
    for unit, factor in _BIG_UNITS:
        pos = text.rfind(unit)
        if pos < 0:
            continue
        left, right = text[:pos], text[pos + 1 :]
        if not left:
            return None
        high = _parse_big(left)
        if high is None:
            return None
        if not right:
            return high * factor
        low = _parse_big(right)
        if low is None or low >= factor:
            return None
        return high * factor + low
    return _parse_small(text)


def _parse_small(text: str) -> Decimal | None:
    """A number below the 万 magnitude (or a plain Arabic number of any size)."""
    if _ARABIC.fullmatch(text):
        return Decimal(text)
    match = _ARABIC_UNIT.fullmatch(text)
    if match:
        return Decimal(match.group(1)) * _SMALL_UNITS[match.group(2)]
    whole, sep, frac = text.partition("点")
    if sep:
        head = _parse_small(whole) if whole else None
        digits = _digit_string(frac, allow_pair=False)
        if head is None or digits is None:
            return None
        return head + Decimal("0." + digits)
    return _parse_chinese(text)


def _digit_string(text: str, *, allow_pair: bool) -> str | None:
    """Digits of a digit-by-digit string such as ``二〇二二`` or ``六五`` (``两`` optional)."""
    if not text:
        return None
    digits: list[str] = []
    for char in text:
        if char.isascii() and char.isdigit():
            digits.append(char)
        elif char in _DIGITS and (allow_pair or char not in _PAIR):
            digits.append(str(_DIGITS[char]))
        else:
            return None
    return "".join(digits)


def _parse_chinese(text: str) -> Decimal | None:
    """Chinese numerals with 十/百/千, e.g. ``三十六``, ``两百零五``, ``十``."""
    if all(c in _DIGITS for c in text):
        if len(text) == 1:
            return Decimal(_DIGITS[text])
        # Positional strings (years) only; 两 is never positional, so 两两 is not 22.
        digits = _digit_string(text, allow_pair=False)
        return None if digits is None else Decimal(digits)
    total = 0
    pending: int | None = None
    last_unit = 10_000
    previous_was_digit = False
    for char in text:
        if char in _DIGITS:
            if previous_was_digit:
                return None
            pending = _DIGITS[char]
            previous_was_digit = True
        elif char in _SMALL_UNITS:
            unit = _SMALL_UNITS[char]
            if unit >= last_unit:
                return None
            if pending is None:
                if unit != 10 or total:
                    return None  # a bare 百 or 千 is a word (百姓, 千智), not a number
                pending = 1
            total += pending * unit
            pending = None
            last_unit = unit
            previous_was_digit = False
        else:
            return None
        if char in "零〇○":
            previous_was_digit = False
            pending = None
    if pending is not None:
        total += pending
    return Decimal(total)
