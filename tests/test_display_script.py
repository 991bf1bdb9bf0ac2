"""Display script: stories shown in simplified script by default, the original on request,
and the digest's key-figure block limited to key kinds."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.figures import Figure
from app.config import load_settings
from digests.compose import compose
from digests.render import render_text
from domain.errors import ConfigError
from tests.test_digest_compose import ALL, MONEY, SINCE, TASKS, UNTIL, story

RATE = Figure(
    kind="percent", value=92.5, unit="%", subject="优良率", text="92.5%", sentence="优良率92.5%。"
)
TRADITIONAL = "湘潭融城幹道全線貫通"


def test_digest_shows_simplified_by_default_and_original_on_request() -> None:
    digest = compose([story(1, title=TRADITIONAL)], ALL, since=SINCE, until=UNTIL)
    shown = "\n".join(render_text(digest))
    assert "湘潭融城干道全线贯通" in shown and TRADITIONAL not in shown
    original = "\n".join(render_text(digest, script="original"))
    assert TRADITIONAL in original


def test_key_figure_block_holds_key_kinds_only() -> None:
    digest = compose(
        [story(1, figures=(TASKS, RATE)), story(2, figures=(MONEY,))],
        ALL,
        since=SINCE,
        until=UNTIL,
    )
    block = "\n".join(k.figure.describe() for k in digest.key_figures)
    assert "重点合作事项" in block and "总投资" in block
    assert "优良率" not in block
    assert "优良率" in "\n".join(render_text(digest))  # still in the story's own line


def test_display_script_setting(tmp_path: Path) -> None:
    assert load_settings(environ={}).analysis.display_script == "simplified"
    path = tmp_path / "config.toml"
    path.write_text('[analysis]\ndisplay_script = "original"\n', encoding="utf-8")
    assert load_settings(path, environ={}).analysis.display_script == "original"
    path.write_text('[analysis]\ndisplay_script = "pinyin"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="display_script"):
        load_settings(path, environ={})
