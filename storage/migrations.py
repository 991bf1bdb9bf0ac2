"""The schema: sqlite-utils 4 ``Migrations``, one named function a step.

Append only: never edit or reorder a migration that has shipped. Databases made before
named migrations counted their scripts in ``PRAGMA user_version``; ``adopt_legacy``
records those as applied, so only the newer steps run.
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils import Migrations

from storage import fts

MIGRATION_SET = "czt"
MIGRATIONS = Migrations(MIGRATION_SET)
# Append only: never edit or reorder a migration that has shipped.


def _script(db: sqlite_utils.Database, script: str) -> None:
    # Not executescript(): it would commit the migration's transaction half way.
    for statement in _statements(script):
        db.execute(statement)


@MIGRATIONS(name="m001_feeds_stories_articles")
def _feeds_stories_articles(db: sqlite_utils.Database) -> None:
    """Feeds, stories, articles, near-duplicate bands, full-text index."""
    _script(
        db,
        """    CREATE TABLE feeds (
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
    )


@MIGRATIONS(name="m002_chats_and_ledger")
def _chats_and_ledger(db: sqlite_utils.Database) -> None:
    """Chats and their subscriptions, the digest/delivery ledger, events, locks."""
    _script(
        db,
        """    CREATE TABLE chats (
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
    )


@MIGRATIONS(name="m003_feed_error_kind")
def _feed_error_kind(db: sqlite_utils.Database) -> None:
    """A feed's last error is stored with its kind (``domain.errors.FEED_ERROR_KINDS``)."""
    db["feeds"].add_column("last_error_kind", str)  # type: ignore[union-attr]


@MIGRATIONS(name="m004_nonces")
def _nonces(db: sqlite_utils.Database) -> None:
    """Request nonces seen by a callback (WeChat), so a captured request is not replayed."""
    _script(
        db,
        """CREATE TABLE nonces (
        channel TEXT NOT NULL,
        nonce TEXT NOT NULL,
        message TEXT NOT NULL,
        seen_at INTEGER NOT NULL,
        PRIMARY KEY (channel, nonce)
    );
    CREATE INDEX nonces_seen ON nonces(seen_at);
""",
    )


@MIGRATIONS(name="m005_web_sources")
def _web_sources(db: sqlite_utils.Database) -> None:
    """Web sources: a feed's kind and reading spec, its last link-list hash, links decided."""
    for name, default in (("kind", "feed"), ("spec", ""), ("list_hash", None)):
        db["feeds"].add_column(name, str, not_null_default=default)  # type: ignore[union-attr]
    seen = {"feed_id": int, "url": str, "kept": int, "seen_at": int}
    db["source_seen"].create(  # type: ignore[union-attr]
        seen, pk=("feed_id", "url"), not_null=set(seen), foreign_keys=[("feed_id", "feeds", "id")]
    )


@MIGRATIONS(name="m006_keyword_watches")
def _keyword_watches(db: sqlite_utils.Database) -> None:
    """Keywords a chat watches beside its cities and topics, and its instant alerts."""
    watch = {"chat_id": int, "keyword": str, "created_at": int}
    db["watches"].create(  # type: ignore[union-attr]
        watch,
        pk=("chat_id", "keyword"),
        not_null=set(watch),
        foreign_keys=[("chat_id", "chats", "id")],
    )
    db["chats"].add_column("alerts", int, not_null_default=0)  # type: ignore[union-attr]
    db["chats"].add_column("alerts_checked_at", int)  # type: ignore[union-attr]


@MIGRATIONS(name="m007_heads_fts")
def _heads_fts(db: sqlite_utils.Database) -> None:
    """A small index of each article's title and lead: the candidates of relevance order."""
    fts.create_heads(db)


@MIGRATIONS(name="m008_heads_repeats")
def _heads_repeats(db: sqlite_utils.Database) -> None:
    """``heads_fts`` also holds the words each article repeats (``fts.about``): a story
    that keeps naming a word is a candidate for it even when its title does not."""
    fts.create_about(db)


# The scripts that PRAGMA user_version counted before named migrations, in order.
_LEGACY = ("m001_feeds_stories_articles", "m002_chats_and_ledger")


def adopt_legacy(db: sqlite_utils.Database, migrations: Migrations) -> None:
    """A database made before named migrations counted its scripts in ``user_version``:
    record those as applied, so only the newer steps run."""
    if db[Migrations.migrations_table].exists():
        return
    done = int(db.execute("PRAGMA user_version").fetchone()[0])
    if done:
        migrations.ensure_migrations_table(db)
        db.table(Migrations.migrations_table).insert_all(
            {"migration_set": migrations.name, "name": name, "applied_at": "legacy"}
            for name in _LEGACY[:done]
        )


def _statements(script: str) -> list[str]:
    """Split a migration script at semicolons that end a line."""
    return [s.strip() for s in script.split(";\n") if s.strip()]
