"""Process faults: SIGKILL during ingest, two processes, a long transaction in the way."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from app.config import load_settings
from app.core import Core
from feeds.parse import parse_feed
from storage import Storage
from tests.conftest import NOW, ROOT, SAMPLES, FakeClock

ITEMS = 3000


def _big_feed(path: Path) -> None:
    """ITEMS distinct entries made from the sample articles, shuffled and renumbered."""
    rng = random.Random(7)
    entries = [
        e
        for name in ("czt-sample.xml", "czt-atom.xml")
        for e in parse_feed((SAMPLES / name).read_bytes()).entries
    ]
    items = []
    for i in range(ITEMS):
        e = rng.choice(entries)
        words = list(e.content)
        rng.shuffle(words)  # distinct text, so each entry is its own story
        body = "".join(words[:400]).replace("<", "").replace(">", "").replace("&", "")
        items.append(
            f"<item><title>{i} {e.title}</title><guid>g{i}</guid>"
            f"<link>http://big.invalid/{i}</link><description>{body}</description>"
            "</item>"
        )
    path.write_text(
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        "<title>big</title>" + "".join(items) + "</channel></rss>",
        "utf-8",
    )


def _ingest(db: Path, feed: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bot.py"),
            "--db",
            str(db),
            "ingest",
            "--feed",
            str(feed),
            "--quiet",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_sigkill_during_ingest_leaves_a_consistent_database(tmp_path: Path) -> None:
    feed = tmp_path / "big.xml"
    _big_feed(feed)
    db = tmp_path / "czt.db"
    rng = random.Random(11)
    kills = 0
    for _ in range(5):
        proc = _ingest(db, feed)
        time.sleep(rng.uniform(1.0, 3.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
        store = Storage.open(db)
        try:
            _assert_consistent(store)
        finally:
            store.close()
    assert kills >= 3
    print(f"\ningest: kills={kills}, consistent after every kill")
    assert _ingest(db, feed).wait(timeout=300) == 0
    store = Storage.open(db)
    try:
        _assert_consistent(store)
        assert store.articles.counts()["articles"] == ITEMS
    finally:
        store.close()


def _assert_consistent(store: Storage) -> None:
    db = store.db
    assert db.integrity_ok()
    articles = db.scalar("SELECT COUNT(*) FROM articles")
    assert db.scalar("SELECT COUNT(*) FROM articles_fts") == articles  # no half-stored article
    assert (
        db.scalar(
            "SELECT COUNT(*) FROM articles a LEFT JOIN stories s"
            " ON s.id = a.story_id WHERE s.id IS NULL"
        )
        == 0
    )
    assert (
        db.scalar(
            "SELECT COUNT(*) FROM stories s WHERE NOT EXISTS"
            " (SELECT 1 FROM articles a WHERE a.story_id = s.id)"
        )
        == 0
    )
    assert (
        db.scalar(
            "SELECT COUNT(*) FROM articles_fts f LEFT JOIN articles a"
            " ON a.id = f.rowid WHERE a.id IS NULL"
        )
        == 0
    )


def test_a_long_writer_makes_others_wait_not_fail(sample_copy: Core) -> None:
    path = sample_copy.storage.db.path
    other = Storage.open(path)
    held = threading.Event()

    def long_writer() -> None:
        with other.db.transaction():
            other.db.execute("UPDATE feeds SET title = title")
            held.set()
            time.sleep(1.5)

    thread = threading.Thread(target=long_writer)
    thread.start()
    held.wait(5)
    started = time.monotonic()
    core = Core(load_settings(None, environ={}, db_path=path), clock=FakeClock(NOW))
    try:
        chat = core.storage.chats.ensure("telegram", "1", now=NOW)  # a write: must wait
        assert chat.id and time.monotonic() - started >= 1.0
        assert core.storage.search.search("湘潭").hits  # a reader is never blocked
    finally:
        thread.join()
        core.close()
        other.close()


def test_second_scheduler_on_the_same_database_refuses(sample_copy: Core) -> None:
    from app.jobs import take_lock

    assert take_lock(sample_copy, "host-a:1:x", NOW)
    second = Core(
        load_settings(None, environ={}, db_path=sample_copy.storage.db.path), clock=FakeClock(NOW)
    )
    try:
        assert not take_lock(second, "host-b:2:y", NOW)
        assert take_lock(second, "host-b:2:y", NOW + 10_000)  # the first one stopped renewing
    finally:
        second.close()
