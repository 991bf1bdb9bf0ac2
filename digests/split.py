"""Split and pack rendered text into messages that fit a channel's size limit.

Telegram counts UTF-16 code units (4096 per message), WeCom counts UTF-8 bytes (4096
per markdown message); both measures are provided. Breaks are chosen in order of
preference: after sentence punctuation or a newline, then after a comma, then anywhere
(never inside a surrogate pair, an HTML tag or an HTML entity).

A ``measure`` must be monotone: a longer prefix never measures less.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from analysis.text import CLOSERS, SENTENCE_ENDS

__all__ = ["TELEGRAM_LIMIT", "WECOM_LIMIT", "pack", "split_text", "utf8_len", "utf16_len"]

TELEGRAM_LIMIT = 4096  # UTF-16 code units
WECOM_LIMIT = 4096  # UTF-8 bytes

Measure = Callable[[str], int]

_SENTENCE_BREAK = re.compile(rf"[{SENTENCE_ENDS}…]+[{CLOSERS}]*[ \t\u3000]*|[\r\n]+[ \t\u3000]*")
_CLAUSE_BREAK = re.compile(r"[，、,][ \t\u3000]*")
# Characters that belong to the character before them: a cut just before them would
# split a surrogate pair, a CRLF, an emoji sequence or a base letter from its accent.
_JOINED = re.compile("[\udc00-\udfff\n\u200d\ufe00-\ufe0f\u0300-\u036f\u20d0-\u20ff]")


def utf16_len(s: str) -> int:
    """Length in UTF-16 code units, as Telegram counts message length."""
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def utf8_len(s: str) -> int:
    """Length in UTF-8 bytes, as WeCom counts message length."""
    return len(s.encode("utf-8", "surrogatepass"))


def _longest(size: int, fits: Callable[[int], bool], start: int = 0) -> int:
    """Largest ``n`` in ``[start, size]`` with ``fits(n)``, assuming ``fits(start)`` and
    monotonicity; galloping first, so a short fit in a long text stays cheap."""
    lo, step = start, 1
    hi = size
    while lo + step <= size:
        if fits(lo + step):
            lo += step
            step *= 2
        else:
            hi = lo + step - 1
            break
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _hard_cut(text: str, n: int) -> int:
    """``n`` moved back so the cut splits no surrogate pair or character sequence."""
    cut = n
    while 0 < cut < len(text) and _JOINED.match(text[cut]) and not _lone_joiner(text, cut):
        cut -= 1
    return cut if cut > 0 else n


def _lone_joiner(text: str, at: int) -> bool:
    # A low surrogate only joins a high surrogate; a newline only joins a carriage return.
    char, before = text[at], text[at - 1]
    if "\udc00" <= char <= "\udfff":
        return not "\ud800" <= before <= "\udbff"
    return char == "\n" and before != "\r"


def _last_break(window: str) -> int:
    for pattern in (_SENTENCE_BREAK, _CLAUSE_BREAK):
        ends = [m.end() for m in pattern.finditer(window)]
        if ends:
            return ends[-1]
    return 0


def split_text(text: str, limit: int, measure: Measure = utf16_len) -> list[str]:
    """Chunks of ``text`` with ``measure(chunk) <= limit`` that join back to ``text``.

    Each chunk is as long as possible up to its last sentence break (。！？；!?;… or a
    newline, with closing quotes and spaces kept before the cut), else its last comma
    (，、,), else a hard cut that never splits a surrogate pair. An empty text gives no
    chunks. Raises ``ValueError`` when a single character does not fit.
    """
    if limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")
    chunks: list[str] = []
    rest = text
    while measure(rest) > limit:

        def fits(k: int, head: str = rest) -> bool:
            return measure(head[:k]) <= limit

        n = _longest(len(rest), fits)
        if n == 0:
            raise ValueError(f"limit {limit} is too small for {rest[:1]!r}")
        cut = _last_break(rest[:n]) or _hard_cut(rest, n)
        chunks.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        chunks.append(rest)
    return chunks


# ---------------------------------------------------------------- HTML

_TOKEN = re.compile(
    r"<[^<>]*>|&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);|[\ud800-\udbff][\udc00-\udfff]|.",
    re.DOTALL,
)
_TAG = re.compile(r"<\s*(/?)\s*([A-Za-z][\w-]*)[^>]*?(/?)\s*>\Z")


@dataclass(frozen=True)
class _Markup:
    """A block tokenised into tags and text units (a character or an entity)."""

    units: list[str]
    offsets: list[int]  # offsets[k]: where unit k starts in the block; offsets[-1] == len
    text: list[bool]  # unit k is text (not a tag)
    closing: list[bool]  # unit k is a closing tag
    stacks: list[tuple[tuple[str, str], ...]]  # open (name, tag) before unit k

    @classmethod
    def parse(cls, block: str) -> _Markup:
        units = [m.group() for m in _TOKEN.finditer(block)]
        offsets = [0]
        text: list[bool] = []
        closing: list[bool] = []
        stack: tuple[tuple[str, str], ...] = ()
        stacks = [stack]
        for unit in units:
            offsets.append(offsets[-1] + len(unit))
            tag = _TAG.match(unit) if unit.startswith("<") else None
            text.append(tag is None)
            closing.append(tag is not None and tag.group(1) == "/")
            if tag is not None and not tag.group(3):
                name = tag.group(2).lower()
                if tag.group(1) != "/":
                    stack = (*stack, (name, unit))
                else:
                    names = [n for n, _ in stack]
                    if name in names:
                        stack = stack[: len(names) - 1 - names[::-1].index(name)]
            stacks.append(stack)
        return cls(units, offsets, text, closing, stacks)

    def chunk(self, block: str, i: int, j: int) -> str:
        """Units ``[i, j)`` with the tags open at ``i`` reopened and those open at ``j``
        closed."""
        opens = "".join(tag for _, tag in self.stacks[i])
        closes = "".join(f"</{name}>" for name, _ in reversed(self.stacks[j]))
        return opens + block[self.offsets[i] : self.offsets[j]] + closes

    def after_closers(self, k: int) -> int:
        """Boundary ``k`` moved past closing tags, so they end the earlier chunk."""
        while k < len(self.units) and self.closing[k]:
            k += 1
        return k

    def breaks(self) -> tuple[list[int], list[int], list[int]]:
        """Unit boundaries after sentence ends, after commas, and after any text unit."""
        index = [k for k, is_text in enumerate(self.text) if is_text]
        projected = "".join(
            (html_lib.unescape(self.units[k]) or " ")[-1]
            if self.units[k][0] == "&"
            else self.units[k][-1]
            for k in index
        )
        tiers: list[list[int]] = []
        for pattern in (_SENTENCE_BREAK, _CLAUSE_BREAK):
            ends = {self.after_closers(index[m.end() - 1] + 1) for m in pattern.finditer(projected)}
            tiers.append(sorted(ends))
        tiers.append(sorted({self.after_closers(k + 1) for k in index}))
        return tiers[0], tiers[1], tiers[2]


def _split_html(block: str, limit: int, measure: Measure) -> list[str]:
    """Balanced chunks of a Telegram HTML block, each within ``limit``."""
    markup = _Markup.parse(block)
    size = len(markup.units)
    tiers = markup.breaks()
    chunks: list[str] = []
    i = 0
    while i < size:
        whole = markup.chunk(block, i, size)
        if measure(whole) <= limit:
            chunks.append(whole)
            break

        def fits(j: int, start: int = i) -> bool:
            return measure(markup.chunk(block, start, j)) <= limit

        reach = _longest(size, fits, i)
        cut = next(
            (
                k
                for tier in tiers
                for k in reversed(tier)
                if i < k <= reach and any(markup.text[i:k]) and fits(k)
            ),
            None,
        )
        if cut is None:
            raise ValueError(f"limit {limit} is too small to split this HTML block")
        chunks.append(markup.chunk(block, i, cut))
        i = cut
    return chunks


# ---------------------------------------------------------------- packing


def pack(
    blocks: Sequence[str],
    limit: int,
    measure: Measure = utf16_len,
    separator: str = "\n\n",
    html: bool = False,
) -> list[str]:
    """Messages of whole blocks joined by ``separator``, each ``measure(msg) <= limit``.

    Blocks keep their order; empty blocks are skipped. A block too big alone is split
    (:func:`split_text`, or with ``html`` at sentence ends in its text, closing and
    reopening the tags open across each cut so every message is balanced HTML).
    """
    messages: list[str] = []
    current = ""
    for block in blocks:
        if not block:
            continue
        if measure(block) <= limit:
            pieces = [block]
        elif html:
            pieces = _split_html(block, limit, measure)
        else:
            pieces = split_text(block, limit, measure)
        for piece in pieces:
            joined = f"{current}{separator}{piece}" if current else piece
            if measure(joined) <= limit:
                current = joined
            else:
                messages.append(current)
                current = piece
    if current:
        messages.append(current)
    return messages
