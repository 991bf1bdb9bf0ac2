"""Opening the database: connection, pragmas, transactions and schema migrations.

The storage package is the only place that imports sqlite. Raw sqlite errors become
``StorageError``; callers never see ``sqlite3`` exceptions.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlite_utils

from domain.errors import StorageError

# Each migration runs once, in order, inside a transaction; PRAGMA user_version
# records how many have run. Append only: never edit a migration that has shipped.
MIGRATIONS: list[str] = [
    # 1: feeds, stories, articles, near-duplicate bands, full-text index
    """
    CREATE TABLE feeds (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL DEFAULT '',
        origin TEXT NOT NULL DEFAULT 'user',
        added_at INTEGER NOT NULL,
        etag TEXT,
        last_modified TEXT,
        last_attempt_at INTEGER,
        last_success_at INTEGER,
        last_error TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        disabled INTEGER NOT NULL DEFAULT 0,
        next_poll_at INTEGER,
        entries_total INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE stories (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        url TEXT NOT NULL,
        published INTEGER NOT NULL,
        first_seen INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        cities TEXT NOT NULL DEFAULT '[]',
        topics TEXT NOT NULL DEFAULT '[]',
        summary TEXT NOT NULL DEFAULT '',
        source_count INTEGER NOT NULL DEFAULT 1,
        signature BLOB
    );
    CREATE INDEX stories_published ON stories(published);
    CREATE INDEX stories_first_seen ON stories(first_seen);
    CREATE TABLE articles (
        id INTEGER PRIMARY KEY,
        story_id INTEGER NOT NULL REFERENCES stories(id),
        feed_id INTEGER NOT NULL REFERENCES feeds(id),
        guid TEXT NOT NULL,
        url TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        folded TEXT NOT NULL,
        published INTEGER NOT NULL,
        fetched_at INTEGER NOT NULL,
        traditional INTEGER NOT NULL DEFAULT 0,
        cities TEXT NOT NULL DEFAULT '[]',
        topics TEXT NOT NULL DEFAULT '[]',
        keywords TEXT NOT NULL DEFAULT '[]',
        figures TEXT NOT NULL DEFAULT '[]',
        summary TEXT NOT NULL DEFAULT '',
        content_hash TEXT NOT NULL,
        signature BLOB,
        UNIQUE (feed_id, guid)
    );
    CREATE INDEX articles_story ON articles(story_id);
    CREATE INDEX articles_url ON articles(url);
    CREATE TABLE story_bands (key INTEGER NOT NULL, story_id INTEGER NOT NULL);
    CREATE INDEX story_bands_key ON story_bands(key);
    CREATE VIRTUAL TABLE articles_fts USING fts5(
        doc, tokenize = "unicode61 remove_diacritics 0 tokenchars '|'"
    );
    """,
    # 2: chats and their subscriptions, the digest/delivery ledger, events, locks
    """
    CREATE TABLE chats (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL,
        address TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT 'private',
        day TEXT NOT NULL DEFAULT 'mon',
        time TEXT NOT NULL DEFAULT '09:00',
        timezone TEXT NOT NULL DEFAULT 'Asia/Shanghai',
        paused INTEGER NOT NULL DEFAULT 0,
        active INTEGER NOT NULL DEFAULT 1,
        last_digest_at INTEGER,
        next_due_at INTEGER,
        created_at INTEGER NOT NULL,
        UNIQUE (channel, address)
    );
    CREATE INDEX chats_due ON chats(next_due_at);
    CREATE TABLE subscriptions (
        chat_id INTEGER NOT NULL REFERENCES chats(id),
        city TEXT NOT NULL DEFAULT '',
        topic TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        PRIMARY KEY (chat_id, city, topic)
    );
    CREATE TABLE digests (
        id INTEGER PRIMARY KEY,
        chat_id INTEGER NOT NULL REFERENCES chats(id),
        period_start INTEGER NOT NULL,
        period_end INTEGER NOT NULL,
        planned_at INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'planned',
        story_ids TEXT NOT NULL DEFAULT '[]',
        UNIQUE (chat_id, period_end)
    );
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        digest_id INTEGER NOT NULL REFERENCES digests(id),
        chat_id INTEGER NOT NULL REFERENCES chats(id),
        part INTEGER NOT NULL,
        kind TEXT NOT NULL DEFAULT 'text',
        body TEXT NOT NULL DEFAULT '',
        photo BLOB,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        not_before INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        sent_at INTEGER,
        remote_id TEXT,
        UNIQUE (digest_id, part)
    );
    CREATE INDEX deliveries_state ON deliveries(state);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        chat_id INTEGER,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX events_kind ON events(kind);
    CREATE TABLE locks (
        name TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        expires_at INTEGER NOT NULL
    );
    """,
]


class Database:
    """A sqlite-utils database with WAL, a busy timeout and explicit transactions."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self.db = sqlite_utils.Database(conn)
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA foreign_keys = ON")
            if self.path != ":memory:":
                self.db.enable_wal()
                conn.execute("PRAGMA synchronous = NORMAL")
        except (sqlite3.Error, OSError) as e:
            raise StorageError(f"cannot open database {self.path}: {e}") from e
        self._lock = threading.RLock()
        self._depth = 0
        self.migrate()

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """An IMMEDIATE transaction; nested calls join the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                raise StorageError(f"cannot start a transaction: {e}") from e
            self._depth = 1
            try:
                yield
            except BaseException:
                self._depth = 0
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
                raise
            self._depth = 0
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error as e:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
                raise StorageError(f"commit failed: {e}") from e

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        try:
            return self.conn.execute(sql, params)
        except sqlite3.Error as e:
            raise StorageError(f"{e.__class__.__name__}: {e}") from e

    def executemany(self, sql: str, rows: Any) -> None:
        try:
            self.conn.executemany(sql, rows)
        except sqlite3.Error as e:
            raise StorageError(f"{e.__class__.__name__}: {e}") from e

    def query(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        """All rows of a read query as dicts."""
        try:
            return list(self.db.query(sql, params))
        except sqlite3.Error as e:
            raise StorageError(f"{e.__class__.__name__}: {e}") from e

    def scalar(self, sql: str, params: Any = ()) -> Any:
        row = self.execute(sql, params).fetchone()
        return row[0] if row else None

    def schema_version(self) -> int:
        return int(self.scalar("PRAGMA user_version"))

    def migrate(self, migrations: list[str] | None = None) -> None:
        steps = MIGRATIONS if migrations is None else migrations
        with self.transaction():
            current = self.schema_version()
            for number, script in enumerate(steps[current:], start=current + 1):
                for statement in _statements(script):
                    self.execute(statement)
                self.execute(f"PRAGMA user_version = {number}")

    def integrity_ok(self) -> bool:
        return self.scalar("PRAGMA integrity_check") == "ok"


def _statements(script: str) -> list[str]:
    """Split a migration script at semicolons that end a line."""
    return [s.strip() for s in script.split(";\n") if s.strip()]
