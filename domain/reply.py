"""What the bot says, before any markup: blocks of lines of styled spans, and buttons.

Handlers and the digest renderer build these values; ``digests.markup`` turns them into
Telegram HTML, WeCom markdown or plain text in one place, so no handler writes markup and
no channel parses it. Text in a span is always the raw text: escaping is the renderer's.

    Reply
    ├── blocks: Block, Block, ...      a block is a paragraph; messages split between blocks
    │   └── lines: Line, Line, ...     a line is a tuple of spans
    │       └── Span(text, style, url)
    ├── buttons: rows of Button(text, data, role)
    └── photo: PNG bytes or None
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Span styles. Each renderer maps every style; an unknown style renders as plain text.
PLAIN = ""
TITLE = "title"  # the headline of a message
BOLD = "bold"  # emphasis, a section heading
MUTED = "muted"  # dates, counts, source lines
FIGURE = "figure"  # a key figure
MARK = "mark"  # the searched words inside a snippet

# Button roles: what a press does, so a channel need not read the label.
TOGGLE = "toggle"  # subscribe or unsubscribe one label
MORE = "more"  # the next page of the same answer
COMMAND = "command"  # run a command


@dataclass(frozen=True)
class Span:
    text: str
    style: str = PLAIN
    url: str | None = None  # a link target, http(s) only (see ``digests.present.safe_url``)


Line = tuple[Span, ...]


@dataclass(frozen=True)
class Block:
    lines: tuple[Line, ...]

    @property
    def plain(self) -> str:
        return "\n".join("".join(span.text for span in line) for line in self.lines)


@dataclass(frozen=True)
class Button:
    text: str
    data: str  # callback data, at most 64 bytes
    role: str = COMMAND


@dataclass(frozen=True)
class Reply:
    blocks: tuple[Block, ...]
    buttons: tuple[tuple[Button, ...], ...] = ()
    photo: bytes | None = None

    @property
    def text(self) -> str:
        """The reply as plain text without link targets (for logs and tests)."""
        return "\n\n".join(block.plain for block in self.blocks)

    def button(self, role: str) -> Button | None:
        """The first button with ``role``, if any."""
        return next((b for row in self.buttons for b in row if b.role == role), None)


def line(*parts: str | Span) -> Line:
    """A line from strings (plain) and spans; empty strings are dropped."""
    return tuple(p if isinstance(p, Span) else Span(p) for p in parts if p)


def block(*lines: Line | str | Span) -> Block:
    """A block from lines; a string or a span is a line of its own."""
    out: list[Line] = []
    for item in lines:
        if isinstance(item, tuple):
            out.append(item)
        elif item:
            out.append(line(item))
    return Block(tuple(out))


def say(*blocks: Block | Line | str, buttons: Iterable[Iterable[Button]] = ()) -> Reply:
    """A reply from blocks; a string or a line is a one-line block. Empty ones are dropped."""
    out = []
    for item in blocks:
        b = item if isinstance(item, Block) else block(item)
        if b.lines:
            out.append(b)
    return Reply(tuple(out), tuple(tuple(row) for row in buttons))
