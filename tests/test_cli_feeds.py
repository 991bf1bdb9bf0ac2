"""Feeds named on the command line are kept only when they really are feeds."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot import main
from tests.conftest import FEEDS, LOOPBACK_CONFIG
from tests.feedserver import FeedServer, Route


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def active_feeds(db: str) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute("SELECT url FROM feeds WHERE disabled = 0")]
    finally:
        conn.close()


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "cli.db")


@pytest.fixture
def passwd(tmp_path: Path) -> Path:
    """A system file shaped like /etc/passwd, with one line that looks like an item."""
    path = tmp_path / "passwd"
    path.write_text(
        "root:x:0:0:root:/root:/bin/bash\n"
        "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
        "svc:x:998:998:<item><title>svc</title>:/srv:/bin/false\n",
        encoding="utf-8",
    )
    return path


def test_ingest_of_a_system_file_fails_and_keeps_no_feed(
    capsys: pytest.CaptureFixture[str], db: str, passwd: Path
) -> None:
    code, out, err = run(capsys, "--db", db, "ingest", "--feed", str(passwd))
    assert code == 1 and "no feed could be read" in err
    assert f"{passwd}: error:" in out and "not added" in out
    assert str(passwd) not in active_feeds(db)
    code, out, _ = run(capsys, "--db", db, "feeds", "list")
    assert str(passwd) not in out


@pytest.mark.skipif(not Path("/etc/passwd").is_file(), reason="no /etc/passwd here")
def test_ingest_of_etc_passwd_keeps_no_feed(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, _, _ = run(capsys, "--db", db, "ingest", "--feed", "/etc/passwd")
    assert code == 1
    assert "/etc/passwd" not in active_feeds(db)


def test_a_text_file_with_one_item_line_is_not_a_feed(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("今天的笔记\n<item><title>长株潭</title></item>\n还有别的\n", encoding="utf-8")
    code, _, err = run(capsys, "--db", db, "feeds", "add", str(notes))
    assert code == 2 and "not a well-formed feed" in err
    code, out, _ = run(capsys, "--db", db, "ingest", "--feed", str(notes))
    assert code == 1 and "not a well-formed feed" in out
    assert str(notes) not in active_feeds(db)


def test_a_truncated_local_feed_is_refused_but_a_mislabelled_one_is_kept(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    truncated, mislabelled = str(FEEDS / "malformed.xml"), str(FEEDS / "mislabelled.xml")
    code, out, _ = run(capsys, "--db", db, "ingest", "--feed", truncated, "--feed", mislabelled)
    assert code == 0
    assert "malformed.xml: error: not a well-formed feed" in out
    assert "mislabelled.xml: ok, new 2" in out
    assert truncated not in active_feeds(db) and mislabelled in active_feeds(db)


def test_a_url_that_fails_its_first_read_is_not_kept(
    capsys: pytest.CaptureFixture[str], db: str, server: FeedServer, tmp_path: Path
) -> None:
    server.routes["/page"] = Route(body=(FEEDS / "not-a-feed.html").read_bytes())
    server.routes["/rss"] = Route(body=(FEEDS / "rss2.xml").read_bytes())
    config = tmp_path / "loopback.toml"  # the stand-in server is on 127.0.0.1
    config.write_text(LOOPBACK_CONFIG, encoding="utf-8")
    page, rss = server.url("/page"), server.url("/rss")
    code, out, _ = run(
        capsys, "--config", str(config), "--db", db, "ingest", "--feed", page, "--feed", rss
    )
    assert code == 0 and "HTML page" in out and "new 3" in out
    feeds = active_feeds(db)
    assert server.url("/rss") in feeds and server.url("/page") not in feeds
