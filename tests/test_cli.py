"""The command line is a contract: users' scripts rely on its output and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot import main
from tests.conftest import FEEDS, LOOPBACK_CONFIG, ROOT, SAMPLES
from tests.feedserver import FeedServer, Route


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "cli.db")


def test_ingest_then_search_json(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, _ = run(capsys, "--db", db, "ingest")
    assert code == 0
    assert "merged duplicates 1" in out and "total: 21 articles in 19 stories" in out
    code, out, _ = run(capsys, "--db", db, "search", "融城干道", "--json")
    assert code == 0
    hits = json.loads(out)
    assert hits and set(hits[0]) == {
        "id",
        "title",
        "url",
        "published",
        "cities",
        "topics",
        "snippet",
        "sources",
    }
    assert "【融城干道】" in "".join(h["snippet"] for h in hits)
    assert any(len(h["sources"]) == 2 for h in hits)
    code, out, _ = run(
        capsys,
        "--db",
        db,
        "search",
        "项目",
        "--city",
        "株洲",
        "--json",
        "--sort",
        "relevance",
        "--limit",
        "3",
    )
    hits = json.loads(out)
    assert 0 < len(hits) <= 3 and all("株洲" in h["cities"] for h in hits)


def test_search_with_unknown_city_is_an_error(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, _, err = run(capsys, "--db", db, "search", "项目", "--city", "北京")
    assert code != 0 and "北京" in err and err.count("\n") == 1


def test_ingest_given_feeds_and_exit_codes(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    code, out, _ = run(
        capsys,
        "--db",
        db,
        "ingest",
        "--feed",
        str(FEEDS / "rss2.xml"),
        "--feed",
        str(tmp_path / "missing.xml"),
    )
    assert code == 0 and "new 3" in out and "file not found" in out
    code, out, err = run(capsys, "--db", db, "ingest", "--feed", str(FEEDS / "empty.xml"))
    assert code == 1 and "empty document" in out and "no feed could be read" in err
    code, out, _ = run(capsys, "--db", db, "search", "地铁", "--json")
    assert json.loads(out), "a failed ingest must not lose what was stored"


def test_analyze_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = tmp_path / "a.txt"
    text.write_text(
        "韶山红色旅游持续升温\n韶山和湘乡今年共接待游客1.2万人次，新增研学线路十条。",
        encoding="utf-8",
    )
    html = tmp_path / "b.html"
    html.write_text(
        "<html><head><title>醴陵陶瓷</title></head><body><p>醴陵陶瓷产业园签约"
        "亿元以上项目5个，签约金额32亿元。</p></body></html>",
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "analyze", str(text), str(html), "--json")
    assert code == 0
    first, second = (json.loads(line) for line in out.splitlines())
    assert set(first) == {"title", "cities", "topics", "keywords", "summary", "figures"}
    assert first["title"] == "韶山红色旅游持续升温" and first["cities"] == ["湘潭"]
    assert "文旅" in first["topics"]
    assert second["title"] == "醴陵陶瓷" and second["cities"] == ["株洲"]
    assert any(f["kind"] == "money" and f["value"] == 3.2e9 for f in second["figures"])


@pytest.mark.parametrize("name", ["missing.txt", "empty.xml"])
def test_analyze_bad_input(capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, _, err = run(capsys, "analyze", str(FEEDS / name))
    assert code != 0 and err.count("\n") == 1 and err.startswith("error:")


def test_feeds_add_list_remove_and_opml(
    capsys: pytest.CaptureFixture[str], db: str, server: FeedServer, tmp_path: Path
) -> None:
    server.routes["/rss"] = Route(body=(FEEDS / "rss2.xml").read_bytes())
    server.routes["/page"] = Route(body=(FEEDS / "not-a-feed.html").read_bytes())
    code, _, err = run(capsys, "--db", db, "feeds", "add", server.url("/rss"))
    assert code != 0 and "refused" in err, "loopback is refused unless allowed"
    config = tmp_path / "loopback.toml"
    config.write_text(LOOPBACK_CONFIG, encoding="utf-8")
    code, out, _ = run(
        capsys, "--config", str(config), "--db", db, "feeds", "add", server.url("/rss")
    )
    assert code == 0 and "added" in out
    code, _, err = run(
        capsys, "--config", str(config), "--db", db, "feeds", "add", server.url("/page")
    )
    assert code != 0 and "HTML page" in err
    code, out, _ = run(capsys, "--db", db, "feeds", "list")
    assert server.url("/rss") in out and server.url("/page") not in out
    code, out, _ = run(capsys, "--db", db, "feeds", "export")
    opml = tmp_path / "feeds.opml"
    opml.write_text(out, encoding="utf-8")
    assert "xmlUrl" in out and server.url("/rss") in out
    code, out, _ = run(capsys, "--db", db, "feeds", "remove", server.url("/rss"))
    assert code == 0 and server.url("/rss") not in run(capsys, "--db", db, "feeds", "list")[1]
    code, out, _ = run(capsys, "--db", db, "feeds", "import", str(opml))
    assert code == 0 and "imported" in out
    assert server.url("/rss") in run(capsys, "--db", db, "feeds", "list")[1]
    code, _, err = run(capsys, "--db", db, "feeds", "remove", "http://nowhere.invalid/x")
    assert code != 0 and "no such feed" in err


def test_opml_with_entities_is_refused(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    bomb = tmp_path / "bomb.opml"
    bomb.write_text(
        '<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;">]><opml><body><outline text="&b;" '
        'xmlUrl="http://x.invalid/f"/></body></opml>',
        encoding="utf-8",
    )
    code, _, err = run(capsys, "--db", db, "feeds", "import", str(bomb))
    assert code != 0 and "OPML" in err


def test_health(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, _ = run(capsys, "--db", db, "health")
    assert code == 0 and out.startswith("ok")


def test_cli_process_exit_code_and_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bot.py"),
            "--db",
            str(tmp_path / "x.db"),
            "analyze",
            str(tmp_path / "nope.txt"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "nope.txt" in proc.stderr


def test_sample_files_exist() -> None:
    assert (SAMPLES / "czt-sample.xml").is_file()


def test_refused_token_is_one_line_without_the_token(tmp_path: Path) -> None:
    import os

    from tests.fake_botapi import TOKEN, FakeBotAPI

    fake = FakeBotAPI(token="1:the-real-one-000000000000000000").start_in_thread()
    try:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": fake.base_url}
        proc = subprocess.run(
            [
                sys.executable,
                str(ROOT / "bot.py"),
                "--db",
                str(tmp_path / "x.db"),
                "digest",
                "send",
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
        )
    finally:
        fake.stop_thread()
    assert proc.returncode != 0
    assert "token was refused" in proc.stderr and "Traceback" not in proc.stderr
    assert TOKEN not in proc.stderr + proc.stdout
    assert TOKEN.split(":")[1] not in proc.stderr + proc.stdout


def test_digest_send_while_another_process_sends_exits_1(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    import time

    from app.config import load_settings
    from app.core import Core
    from app.jobs import LOCK, LOCK_TTL, process_owner

    assert run(capsys, "--db", db, "ingest")[0] == 0
    core = Core(load_settings(None, environ={}, db_path=db))
    try:  # a live owner (this very process, under another run's name) holds the lock
        assert core.storage.deliveries.acquire(LOCK, process_owner(), int(time.time()), LOCK_TTL)
    finally:
        core.close()
    code, out, err = run(capsys, "--db", db, "digest", "send", "--force")
    assert code == 1
    assert "another process is sending digests" in err and out.startswith("sent 0,")
