"""Schema migrations with sqlite-utils 4, and a database made by an older release."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
import sqlite_utils

from domain.errors import StorageError
from storage import Storage
from storage.db import MIGRATIONS, Database

LEGACY = Path(__file__).parent / "data" / "legacy-v2.db"


def test_a_new_database_applies_every_migration(tmp_path: Path) -> None:
    db = Database(tmp_path / "new.db")
    assert db.applied_migrations() == [m.name for m in MIGRATIONS.pending(_empty())]
    assert "last_error_kind" in {c.name for c in db.table("feeds").columns}


def _empty() -> sqlite_utils.Database:
    return sqlite_utils.Database(memory=True)


def test_a_database_made_before_named_migrations_is_upgraded_in_place(tmp_path: Path) -> None:
    """tests/data/legacy-v2.db was written by the release before this one (user_version 2):
    ingested sample feeds, a chat with two subscriptions and one delivered digest."""
    path = tmp_path / "legacy.db"
    shutil.copy(LEGACY, path)
    before = sqlite3.connect(path)
    counts = {t: before.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    before.close()
    assert counts["stories"] > 0 and counts["subscriptions"] == 2

    store = Storage.open(path)
    for table, count in counts.items():
        assert store.db.scalar(f"SELECT count(*) FROM {table}") == count, table
    assert store.db.applied_migrations()[-6:] == [
        "m003_feed_error_kind",
        "m004_nonces",
        "m005_web_sources",
        "m006_keyword_watches",
        "m007_heads_fts",
        "m008_heads_repeats",
    ]
    # the index of what each article is about is filled from the stored articles
    assert store.db.scalar("SELECT count(*) FROM heads_fts") == counts["articles"]
    assert store.db.scalar("SELECT count(*) FROM heads_fts WHERE repeats != ''") > 0
    assert not store.db.scalar("SELECT count(*) FROM articles WHERE threads = '[]'")
    assert store.feeds.list()[0].last_error_kind is None
    chat = store.chats.by_id(1)
    assert chat is not None and len(chat.subscriptions) == 2
    assert store.search.search("湘潭", limit=3).hits
    store.close()
    # Opening it again applies nothing more.
    again = Database(path)
    assert again.applied_migrations().count("m001_feeds_stories_articles") == 1


TABLES = ("feeds", "stories", "articles", "chats", "subscriptions", "digests", "deliveries")


def test_nested_transactions_roll_back_alone(tmp_path: Path) -> None:
    db = Database(tmp_path / "t.db")
    with db.transaction():
        db.execute("INSERT INTO locks (name, owner, expires_at) VALUES ('a', 'x', 1)")
        with pytest.raises(StorageError), db.transaction():
            db.execute("INSERT INTO locks (name, owner, expires_at) VALUES ('b', 'x', 1)")
            db.execute("INSERT INTO locks (name, owner, expires_at) VALUES ('a', 'x', 1)")
    assert [r["name"] for r in db.query("SELECT name FROM locks")] == ["a"]


def test_each_thread_gets_its_own_connection(tmp_path: Path) -> None:
    """A write transaction open in one thread is invisible to a reader in another."""
    db = Database(tmp_path / "t.db")
    seen: list[int] = []
    with db.transaction():
        db.execute("INSERT INTO locks (name, owner, expires_at) VALUES ('a', 'x', 1)")
        reader = threading.Thread(
            target=lambda: seen.append(db.scalar("SELECT count(*) FROM locks"))
        )
        reader.start()
        reader.join()
    assert seen == [0]
    assert db.scalar("SELECT count(*) FROM locks") == 1
    db.close()


def test_close_closes_every_threads_connection(tmp_path: Path) -> None:
    db = Database(tmp_path / "t.db")
    opened: list[sqlite3.Connection] = []
    worker = threading.Thread(target=lambda: opened.append(db.conn))
    worker.start()
    worker.join()
    db.close()
    with pytest.raises(sqlite3.ProgrammingError):
        opened[0].execute("SELECT 1")
