"""A small PNG bar chart of a digest's stories by city and topic.

Drawn with ``matplotlib.figure.Figure`` and the Agg canvas directly: no pyplot, no
display, no global state. Chinese labels need a CJK font; when none is installed the
labels are written in pinyin/English instead of boxes, and missing-glyph warnings are
silenced for any name the table below does not know.

Split in two so many digests can share one drawing: :func:`chart_spec` says what a
digest's chart shows (a small value, cheap to compute and to store as JSON), and
:func:`draw_chart` draws a spec. ``render_chart`` does both.
"""

from __future__ import annotations

import functools
import io
import json
import warnings
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from digests.compose import OTHER_LABEL, Digest, DigestSection

__all__ = [
    "CJK_FONTS",
    "ChartSpec",
    "chart_spec",
    "cjk_font",
    "draw_chart",
    "draw_json",
    "render_chart",
]

CJK_FONTS: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Droid Sans Fallback",
)
NO_TOPIC = "综合"
WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.5, 100  # 800 x 450 px

# The chart's own labels for a machine without a CJK font; city and topic labels come
# from the taxonomy (``Taxonomy.latin``).
_LATIN = {OTHER_LABEL: "Other", NO_TOPIC: "General"}


@functools.cache
def cjk_font() -> str | None:
    """The first installed font family of :data:`CJK_FONTS`, or ``None``."""
    from matplotlib import font_manager  # imported on first use: it costs ~40 MB

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def _place(section: DigestSection) -> tuple[str, str]:
    """(city, topic) of a section; a section built from a label alone is parsed."""
    city, topic = section.city, section.topic
    if city is None and topic is None and section.label != OTHER_LABEL:
        if "·" in section.label:
            city, _, topic = section.label.partition("·")
        elif all(section.label in story.cities for story in section.stories):
            city = section.label
        else:
            topic = section.label
    return city or OTHER_LABEL, topic or NO_TOPIC


@dataclass(frozen=True)
class ChartSpec:
    """What a chart shows: bars per city (in order), stacked by topic (in order), and the
    Latin names to draw for them on a machine without a CJK font."""

    title: str
    cities: tuple[str, ...]
    topics: tuple[str, ...]
    counts: tuple[tuple[tuple[str, str], int], ...]  # ((city, topic), stories), sorted
    latin: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> str:
        counts = [[c, t, n] for (c, t), n in self.counts]
        return json.dumps(
            [self.title, self.cities, self.topics, counts, self.latin], ensure_ascii=False
        )

    @classmethod
    def from_json(cls, text: str) -> ChartSpec:
        title, cities, topics, counts, latin = json.loads(text)
        return cls(
            title,
            tuple(cities),
            tuple(topics),
            tuple(((c, t), int(n)) for c, t, n in counts),
            tuple((a, b) for a, b in latin),
        )


def chart_spec(digest: Digest, labels: Mapping[str, str] | None = None) -> ChartSpec | None:
    """The chart of the digest's stories per city, stacked by topic; ``None`` when the
    digest has no stories.

    Cities and topics appear in section order (that is taxonomy order), stories without
    a city under 其他. Without a CJK font, names are drawn with their ``labels`` (the
    taxonomy's Latin names).
    """
    counts: Counter[tuple[str, str]] = Counter()
    cities: dict[str, None] = {}
    topics: dict[str, None] = {}
    for section in digest.sections:
        if not section.stories:
            continue
        city, topic = _place(section)
        counts[(city, topic)] += len(section.stories)
        cities[city] = None
        topics[topic] = None
    if not counts:
        return None
    # 其他 and 综合 go last whatever order the sections came in.
    x_names = tuple(sorted(cities, key=lambda c: c == OTHER_LABEL))
    y_names = tuple(sorted(topics, key=lambda t: t == NO_TOPIC))
    latin = {**_LATIN, **(labels or {})}
    return ChartSpec(
        digest.title,
        x_names,
        y_names,
        tuple(sorted(counts.items())),
        tuple((n, latin[n]) for n in (*x_names, *y_names) if n in latin),
    )


def draw_chart(spec: ChartSpec) -> bytes:
    """PNG bytes (~800x450 px) of ``spec``."""
    family = cjk_font()
    with warnings.catch_warnings():
        # Without a CJK font an unknown Chinese name has no glyphs; say nothing about it.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from")
        return _draw(spec.title, spec.cities, spec.topics, spec.counts, family, spec.latin)


def draw_json(spec: str) -> bytes:
    """:func:`draw_chart` of a spec given as its JSON (what a drawing process receives)."""
    return draw_chart(ChartSpec.from_json(spec))


def render_chart(digest: Digest, labels: Mapping[str, str] | None = None) -> bytes | None:
    """PNG bytes (~800x450 px) of the digest's stories per city, stacked by topic
    (:func:`chart_spec` drawn); ``None`` when the digest has no stories."""
    spec = chart_spec(digest, labels)
    return draw_chart(spec) if spec is not None else None


@functools.lru_cache(maxsize=256)
def _draw(
    title: str,
    cities: tuple[str, ...],
    topics: tuple[str, ...],
    count_items: tuple[tuple[tuple[str, str], int], ...],
    family: str | None,
    latin_items: tuple[tuple[str, str], ...] = (),
) -> bytes:
    """The PNG; cached, since many chats in one week get the same chart."""
    from matplotlib import font_manager
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    counts = dict(count_items)
    latin = dict(latin_items)

    def label(name: str) -> str:
        return name if family else latin.get(name, name)

    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    font = {"family": family} if family else {}
    positions = list(range(len(cities)))
    bottoms = [0] * len(cities)
    for index, topic in enumerate(topics):
        heights = [counts.get((city, topic), 0) for city in cities]
        ax.bar(positions, heights, 0.6, bottom=bottoms, label=label(topic), color=f"C{index % 10}")
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    ax.set_xticks(positions, [label(c) for c in cities], fontdict=font)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("篇数" if family else "stories", fontdict=font)
    title = title if family else f"{sum(counts.values())} stories this period"
    ax.set_title(title, fontdict=font, fontsize=12)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
        prop=font_manager.FontProperties(family=family) if family else None,
    )
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()
