"""Sentences of e-paper text: column-break repair with an index map, sentence bounds.

Pure functions shared by the figure extractor and the summariser.
"""

from __future__ import annotations

import re

from analysis.text import CLOSERS, HAN, SENTENCE_ENDS

__all__ = ["repair_breaks", "sentence_bounds"]

_HAN = HAN

_WS = re.compile(r"\s+")
_JOIN_PREV = re.compile(rf"[{_HAN}0-9a-zA-Z,，、(（《“<\-—·]")
_JOIN_NEXT = re.compile(rf"[{_HAN}0-9a-zA-Z,，、)）》”>%\-—·]")
_SQUEEZE_NEIGHBOUR = re.compile(rf"[{_HAN}，。、；：！？“”（）《》,;:()%]")
_MIN_BROKEN_LINE = 8  # shorter lines without end punctuation are headings and bylines
# A line that opens a story or a brief: the line before it is a headline, not broken.
_OPENS_STORY = re.compile(r"本报|新华社|【|[(（]?记者")


def repair_breaks(text: str, *, squeeze: bool = True) -> tuple[str, list[int]]:
    """Join e-paper column breaks and return ``(repaired, index)``.

    ``index[k]`` is the position in ``text`` of ``repaired[k]``. A whitespace run with a
    newline between two word characters, after a line of at least eight characters, is
    a column break and is dropped; other newline runs become one ``"\\n"`` (a sentence
    end). With ``squeeze``, spaces next to Han characters or Chinese punctuation are
    dropped (``项目 48 个`` → ``项目48个``); other space runs become one space.
    """
    out: list[str] = []
    index: list[int] = []
    pos = 0
    line_start = 0
    for match in _WS.finditer(text):
        start, end = match.span()
        out.extend(text[pos:start])
        index.extend(range(pos, start))
        pos = end
        if start == 0 or end == len(text):
            continue
        prev, nxt = text[start - 1], text[end]
        run = match.group()
        if "\n" in run:
            line = text[line_start:start].strip()
            line_start = start + run.rindex("\n") + 1
            soft = (
                len(line) >= _MIN_BROKEN_LINE
                and not line.startswith("#")
                and _JOIN_PREV.match(prev) is not None
                and _JOIN_NEXT.match(nxt) is not None
                and _OPENS_STORY.match(text, end) is None
            )
            if not soft:
                out.append("\n")
                index.append(start + run.index("\n"))
        elif not (squeeze and (_SQUEEZE_NEIGHBOUR.match(prev) or _SQUEEZE_NEIGHBOUR.match(nxt))):
            out.append(" ")
            index.append(start)
    out.extend(text[pos:])
    index.extend(range(pos, len(text)))
    return "".join(out), index


_TERMINAL = re.compile(rf"[{SENTENCE_ENDS}]+[{CLOSERS}]*|\n")
_PAIRS = {"“": "”", "（": "）", "(": ")", "「": "」", "『": "』", "《": "》"}
_MAX_PROTECTED = 300


def _protected(text: str) -> list[tuple[int, int]]:
    """Spans inside matched quotes and brackets on one line; no sentence ends there."""
    spans: list[tuple[int, int]] = []
    stack: list[tuple[str, int]] = []
    for i, char in enumerate(text):
        if char == "\n":
            stack.clear()
        elif char in _PAIRS:
            stack.append((_PAIRS[char], i))
        elif stack and char == stack[-1][0]:
            _, start = stack.pop()
            if i - start <= _MAX_PROTECTED:
                spans.append((start, i))
    return spans


def sentence_bounds(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of repaired text, whitespace excluded.

    Sentences end at 。！？；(and ASCII !?;) with any closing quotes or brackets, and at
    newlines; end marks inside a matched pair of quotes or brackets do not split.
    """
    inside = bytearray(len(text))
    for start, end in _protected(text):
        inside[start + 1 : end] = b"\x01" * (end - start - 1)
    bounds: list[tuple[int, int]] = []
    begin = 0
    for match in _TERMINAL.finditer(text):
        # An end mark is inside a quote unless its closing quote belongs to the match.
        if match.group() != "\n" and inside[match.end() - 1]:
            continue
        bounds.append((begin, match.end()))
        begin = match.end()
    bounds.append((begin, len(text)))
    result: list[tuple[int, int]] = []
    for start, end in bounds:
        chunk = text[start:end]
        stripped = chunk.strip()
        if stripped:
            lead = len(chunk) - len(chunk.lstrip())
            result.append((start + lead, start + lead + len(stripped)))
    return result
