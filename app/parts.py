"""A digest's messages for one channel: what the channel carries and the parts that fit.

Each sender declares its :class:`Capabilities`; ``render_parts`` renders a composed digest
into text and picture parts within them. The planner stores the parts in the ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from digests.compose import Digest
from digests.render import condensed_blocks, render_digest, render_empty
from digests.split import pack
from storage.deliveries import PlannedPart

CHART_CAPTION = "本周报道分布（按城市和主题）"
FIGURE_CAPTION = "本期关键数据：任务清单进度与按城市的金额"


@dataclass(frozen=True)
class Capabilities:
    """What one channel carries, as its sender declares it.

    ``measure`` counts a message the way the channel does (UTF-16 units for Telegram,
    UTF-8 bytes for WeCom); ``limit`` is the most it takes. ``caption_limit`` > 0 means
    a picture can carry text (measured the same way, markup included). ``commands``
    is False where readers cannot answer the bot (a WeCom group robot only posts), so a
    digest there points to no command.
    """

    format: str  # "html" | "markdown" | "text"
    limit: int
    measure: Callable[[str], int] = len
    photos: bool = False
    caption_limit: int = 0
    commands: bool = True


PLAIN = Capabilities("text", 100_000)


def render_parts(
    digest: Digest,
    caps: Capabilities,
    *,
    timezone: str,
    chart_id: int | None = None,
    empty_week: str = "notice",
    script: str = "simplified",
    chart_caption: str = CHART_CAPTION,
) -> list[PlannedPart]:
    """The messages of ``digest`` for a channel with ``caps``, each within its limits.

    ``chart_id`` is the digest's stored chart, if any. With a caption limit the chart
    comes first and carries the headline and the key figures when they fit (else the
    headline alone), so a typical digest is a picture and one text. A channel without
    captions gets the text first and the chart second. ``chart_caption`` says what the
    chart shows, for a chart that cannot carry the headline.
    """
    if digest.empty:
        return [] if empty_week == "skip" else [PlannedPart("text", render_empty(caps.format))]
    latest = "/latest" if caps.commands else None
    blocks = render_digest(digest, caps.format, timezone=timezone, script=script, latest=latest)
    if chart_id is None or not caps.photos:
        return [PlannedPart("text", t) for t in _pack(blocks, caps)]
    if caps.caption_limit <= 0:
        texts = _pack(blocks, caps)
        photo = PlannedPart("photo", chart_caption, chart_id=chart_id)
        return [PlannedPart("text", texts[0]), photo] + [PlannedPart("text", t) for t in texts[1:]]
    # The header block, then the condensed block (headline, key figures): as much of it
    # as fits, else the header alone, else what the chart shows.
    condensed = len(condensed_blocks(digest, ZoneInfo(timezone)))
    head, caption = 0, chart_caption
    for n in sorted({1 + condensed, min(2, 1 + condensed), 1}, reverse=True):
        text = "\n\n".join(blocks[:n])
        if caps.measure(text) <= caps.caption_limit:
            head, caption = n, text
            break
    return [PlannedPart("photo", caption, chart_id=chart_id)] + [
        PlannedPart("text", t) for t in _pack(blocks[head:], caps)
    ]


def _pack(blocks: list[str], caps: Capabilities) -> list[str]:
    return pack(blocks, caps.limit, caps.measure, html=caps.format == "html")
