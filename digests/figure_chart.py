"""The digest's chart when it has key figures: task-list progress and money by city.

Left, one horizontal bar per tracked task list of the digest: done of total, the
previous report marked with a tick, ``52/60`` written beside. Right, the period's money
figures summed by city (each distinct figure once, as in the headline). A panel without
data is left out; a digest without either gets ``None`` (the story chart stays).

A pure function of the digest's values (and the installed font): the same digest
always gives the same bytes, so a cache keyed by content can hold it. Chinese labels
need a CJK font (:func:`digests.chart.cjk_font`); without one, places are written with
their Latin ``labels`` and task lists are numbered.
"""

from __future__ import annotations

import functools
import io
import json
import warnings
from collections.abc import Mapping

from digests.chart import DPI, HEIGHT_IN, WIDTH_IN, cjk_font, draw_json
from digests.compose import Digest

__all__ = ["draw_stored", "figure_chart_spec", "render_figure_chart"]

NO_PLACE = "三市"  # a figure about the region as a whole, or several cities
MAX_BARS = 6
MAX_LABEL = 12
_DONE, _REST, _BEFORE, _MONEY = "#2b7bba", "#d9e6f2", "#222222", "#e07b39"

Bar = tuple[str, int, int, int | None]  # label, done, total, previous done


def _label(place: str, subject: str) -> str:
    text = f"{place}·{subject}" if place else subject
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def render_figure_chart(digest: Digest, labels: Mapping[str, str] | None = None) -> bytes | None:
    """PNG bytes (~800x450 px) of the digest's task progress and money by city, or
    ``None`` when the digest has no task progress and no money figure."""
    spec = figure_chart_spec(digest, labels)
    return draw_stored(spec) if spec is not None else None


def figure_chart_spec(digest: Digest, labels: Mapping[str, str] | None = None) -> str | None:
    """What the figure chart of ``digest`` shows, as JSON (stored by the planner, drawn
    by :func:`draw_stored`); ``None`` when the digest has no task progress and no money."""
    bars: list[Bar] = []
    money: dict[str, float] = {}
    for k in digest.key_figures:
        f = k.figure
        if k.progress and f.done is not None and f.total:
            before = k.previous.done if k.previous is not None else None
            bars.append((_label(k.place, f.subject or "任务"), f.done, f.total, before))
        elif f.kind == "money":
            place = k.place or NO_PLACE
            money[place] = money.get(place, 0.0) + f.value
    if not bars and not money:
        return None
    latin = dict(labels or {})
    names = {NO_PLACE: "Region", **latin}
    ordered = sorted(money.items(), key=lambda item: -item[1])
    spec = {
        "title": digest.title,
        "bars": [list(b) for b in bars[:MAX_BARS]],
        "money": [[p, v] for p, v in ordered],
        "latin": [[p, names.get(p, p)] for p, _ in ordered],
    }
    return json.dumps({"figure": spec}, ensure_ascii=False)


def draw_stored(spec: str) -> bytes:
    """PNG bytes of a stored chart spec: the figure chart's or the story chart's."""
    if not spec.startswith('{"figure"'):
        return draw_json(spec)
    got = json.loads(spec)["figure"]
    bars: list[Bar] = [
        (str(a), int(b), int(c), None if d is None else int(d)) for a, b, c, d in got["bars"]
    ]
    money = [(str(p), float(v)) for p, v in got["money"]]
    family = cjk_font()
    if family is None:  # no glyphs for Chinese: Latin places, numbered task lists
        bars = [
            (f"list {i}", done, total, before) for i, (_, done, total, before) in enumerate(bars, 1)
        ]
        latin = dict(got["latin"])
        money = [(latin.get(p, p), v) for p, v in money]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from")
        return _draw(got["title"], tuple(bars), tuple(money), family)


@functools.lru_cache(maxsize=256)
def _draw(
    title: str,
    bars: tuple[Bar, ...],
    money: tuple[tuple[str, float], ...],
    family: str | None,
) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    zh = family is not None
    font = {"family": family} if family else {}
    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(figure)
    panels = (1 if bars else 0) + (1 if money else 0)
    widths = [3, 2] if panels == 2 else [1]
    grid = figure.add_gridspec(1, panels, width_ratios=widths)
    column = 0
    if bars:
        ax = figure.add_subplot(grid[0, column])
        column += 1
        rows = list(range(len(bars)))[::-1]  # the heaviest list on top
        shares = [done / total for _, done, total, _ in bars]
        ax.barh(rows, [1.0] * len(bars), 0.55, color=_REST)
        ax.barh(rows, shares, 0.55, color=_DONE)
        for row, (_, done, total, before) in zip(rows, bars, strict=True):
            ax.text(1.02, row, f"{done}/{total}", va="center", fontsize=11)
            if before is not None:
                ax.plot([before / total] * 2, [row - 0.38, row + 0.38], color=_BEFORE, lw=2)
        ax.set_yticks(rows, [b[0] for b in bars], fontdict=font, fontsize=11)
        ax.set_xlim(0, 1.22)
        ax.set_ylim(-0.6, max(len(bars), 3) - 0.4)  # one list stays a bar, not a block
        ax.set_xticks([0, 0.5, 1.0], ["0", "50%", "100%"])
        ax.set_title(
            "任务清单完成进度（竖线为上次）" if zh else "Task lists done (tick: last report)",
            fontdict=font,
            fontsize=12,
        )
        ax.spines[["top", "right"]].set_visible(False)
    if money:
        ax = figure.add_subplot(grid[0, column])
        places = [p for p, _ in money]
        amounts = [v / 1e8 for _, v in money]
        ax.bar(range(len(places)), amounts, 0.6, color=_MONEY)
        for i, amount in enumerate(amounts):
            ax.text(i, amount, f"{amount:g}", ha="center", va="bottom", fontsize=11)
        ax.set_xticks(range(len(places)), places, fontdict=font, fontsize=11)
        ax.set_ylabel("亿元" if zh else "100M yuan", fontdict=font)
        ax.set_ylim(0, max(amounts) * 1.18)  # room for the numbers on top
        ax.set_xlim(-0.7, max(len(places), 2) - 0.3)
        ax.set_title(
            "本期金额（按城市）" if zh else "Money this period", fontdict=font, fontsize=12
        )
        ax.spines[["top", "right"]].set_visible(False)
    figure.suptitle(
        title if zh else "Key figures",
        fontsize=13,
        fontproperties=FontProperties(family=family) if family else None,
    )
    # Fixed margins: tight_layout would measure every label and double the drawing time.
    figure.subplots_adjust(left=0.24 if bars else 0.1, right=0.97, top=0.84, bottom=0.1, wspace=0.3)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()
