"""The weekly chart: a small PNG, no display, no warnings, None for an empty week."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import warnings

import pytest

from digests.chart import cjk_font, render_chart
from digests.compose import Digest, DigestSection
from domain.models import Subscription
from tests.test_digest_compose import ALL, REGION, SINCE, UNTIL, compose, story

PNG = b"\x89PNG\r\n\x1a\n"


def week() -> Digest:
    stories = [
        story(1, cities=("长沙",), topics=("产业",)),
        story(2, cities=("长沙",), topics=("科创",)),
        story(3, cities=("株洲",), topics=("产业",)),
        story(4, cities=("湘潭",), topics=("交通",)),
        story(5, cities=(), topics=("生态",)),
        story(6, cities=("湘潭",), topics=()),
    ]
    return compose(stories, [*ALL, Subscription(topic="生态")], since=SINCE, until=UNTIL)


def size(png: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def test_chart_is_a_small_png() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no missing-glyph or font warnings leak out
        png = render_chart(week())
    assert png is not None and png.startswith(PNG)
    assert len(png) < 200_000
    width, height = size(png)
    assert 700 <= width <= 900 and 400 <= height <= 500


def test_chart_none_for_empty_digest() -> None:
    assert render_chart(compose([], ALL, since=SINCE, until=UNTIL)) is None


def test_chart_from_sections_built_by_label() -> None:
    s = story(1, cities=("株洲",))
    digest = Digest(
        title="长株潭一体化周报",
        since=SINCE,
        until=UNTIL,
        sections=(DigestSection("株洲·产业", (s,)), DigestSection("株洲", (s,))),
        story_ids=(1,),
    )
    png = render_chart(digest)
    assert png is not None and png.startswith(PNG)


def test_chart_without_cjk_font_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("digests.chart.cjk_font", lambda: None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = render_chart(week())
    assert png is not None and png.startswith(PNG)


def test_chart_with_font_lacking_glyphs_stays_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    # The Chinese-label path, drawn with a font that has no Han glyphs: no warning flood.
    monkeypatch.setattr("digests.chart.cjk_font", lambda: "DejaVu Sans")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = render_chart(week())
    assert png is not None and png.startswith(PNG)


def test_cjk_font_is_a_known_family_or_none() -> None:
    font = cjk_font()
    assert font is None or isinstance(font, str)


def test_chart_runs_without_a_display() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MPLBACKEND")}
    code = (
        "import sys\n"
        "from tests.test_chart import week\n"
        "from digests.chart import render_chart\n"
        "png = render_chart(week())\n"
        "assert png.startswith(b'\\x89PNG')\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr


def test_every_city_and_topic_has_a_latin_label() -> None:
    """Charts without a CJK font draw the taxonomy's Latin labels, so every name needs one."""
    names = {*REGION.city_names, *REGION.topic_names}
    assert set(REGION.latin) == names
    assert all(label.isascii() and label for label in REGION.latin.values())


def figures_week() -> Digest:
    from tests.test_digest_compose import MONEY, TASKS

    stories = [
        story(1, figures=(TASKS, MONEY)),
        story(2, cities=("湘潭",), topics=("交通",), figures=(MONEY,)),
    ]
    return compose(stories, ALL, since=SINCE, until=UNTIL)


def test_figure_chart_shows_progress_and_money() -> None:
    from digests.figure_chart import render_figure_chart

    digest = figures_week()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = render_figure_chart(digest)
    assert png is not None and png.startswith(PNG)
    width, height = size(png)
    assert 700 <= width <= 900 and 400 <= height <= 500
    # A pure function of the digest's values: the same figures, the same bytes.
    assert render_figure_chart(figures_week()) == png
    # A period without key figures keeps the story chart.
    assert render_figure_chart(week()) is None and render_chart(week()) is not None


def test_figure_chart_without_cjk_font(monkeypatch: pytest.MonkeyPatch) -> None:
    from digests.figure_chart import render_figure_chart

    monkeypatch.setattr("digests.figure_chart.cjk_font", lambda: None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = render_figure_chart(figures_week(), labels=REGION.latin)
    assert png is not None and png.startswith(PNG)
