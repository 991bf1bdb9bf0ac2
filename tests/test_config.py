from __future__ import annotations

from pathlib import Path

import pytest

from app.config import SAMPLE_FEEDS, load_settings
from domain.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_without_a_file_use_the_bundled_sample() -> None:
    s = load_settings(None, environ={})
    assert s.feeds.urls == SAMPLE_FEEDS
    assert all(Path(u).is_file() for u in s.feeds.urls)
    assert s.database.path == "data/czt.db"
    assert s.digest.day == "mon" and s.digest.time == "09:00"


def test_example_config_is_valid_and_documents_every_key() -> None:
    example = ROOT / "config.example.toml"
    s = load_settings(example, environ={})
    text = example.read_text(encoding="utf-8")
    sections = ("database", "feeds", "sources", "analysis", "telegram", "digest", "wecom")
    for section in (*sections, "wechat"):
        for key in getattr(s, section).__dataclass_fields__:
            if key in ("token", "webhook_secret", "aes_key", "robots"):
                continue
            assert f"{key} =" in text or f"# {key} =" in text, f"{section}.{key} undocumented"


def test_environment_supplies_secrets_and_overrides(tmp_path: Path) -> None:
    env = {"TELEGRAM_BOT_TOKEN": "123:abc", "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot"}
    s = load_settings(None, environ=env, db_path=str(tmp_path / "x.db"))
    assert s.telegram.token == "123:abc"
    assert s.telegram.api_base_url == "http://127.0.0.1:9/bot"
    assert s.database.path == str(tmp_path / "x.db")
    assert "123:abc" not in repr(s)
    assert s.secrets() == ("123:abc",)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("[feeds]\npoll_minute = 5\n", "feeds.poll_minute"),
        ("[feeds]\npoll_minutes = 'often'\n", "feeds.poll_minutes"),
        ("[digest]\nday = 'someday'\n", "digest.day"),
        ("[digest]\ntime = '25:00'\n", "digest.time"),
        ("colour = 'red'\n", "colour"),
        ("[telegram]\ntoken = 'x'\n", "TELEGRAM_BOT_TOKEN"),
        ("[feeds\n", "invalid TOML"),
        ("[feeds]\nurls = 'one'\n", "feeds.urls"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(path, environ={})
    assert needle in str(err.value)


def test_missing_config_file_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot import main

    code = main(["--config", str(tmp_path / "nope.toml"), "feeds", "list"])
    err = capsys.readouterr().err
    assert code != 0
    assert err.count("\n") == 1 and "nope.toml" in err and "Traceback" not in err


def test_example_robot_is_valid_when_uncommented(tmp_path: Path) -> None:
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    lines = text.splitlines()
    start = lines.index("# [[wecom.robots]]")
    for i in range(start, len(lines)):
        if not lines[i].startswith("# "):
            break
        lines[i] = lines[i][2:]
    path = tmp_path / "c.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    s = load_settings(path, environ={"WECOM_KEY_RONGCHENG": "k"})
    assert s.wecom.robots[0].subscriptions == ("湘潭", "交通", "株洲 产业")
    assert "k" in s.secrets()
    with pytest.raises(ConfigError, match="WECOM_KEY_RONGCHENG"):
        load_settings(path, environ={})
