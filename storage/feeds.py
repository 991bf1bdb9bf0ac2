"""Feeds and their fetch state."""

from __future__ import annotations

import builtins
from typing import Any

from domain.models import FeedState
from storage.db import Database

ACTIVE, DISABLED, REMOVED = 0, 1, 2


def _feed(row: dict[str, Any]) -> FeedState:
    return FeedState(**row)


class Feeds:
    def __init__(self, db: Database) -> None:
        self.db = db

    def sync_config(self, urls: tuple[str, ...], now: int) -> None:
        """Make sure every configured feed exists (a user's removal is respected).

        Nothing missing, nothing written: a read-only command never waits for the write lock.
        """
        known = {r["url"] for r in self.db.query("SELECT url FROM feeds")}
        missing = [url for url in dict.fromkeys(urls) if url not in known]
        if not missing:
            return
        with self.db.transaction():
            for url in missing:
                self.db.execute(
                    "INSERT OR IGNORE INTO feeds (url, origin, added_at) VALUES (?, 'config', ?)",
                    (url, now),
                )

    def add(self, url: str, now: int, title: str = "") -> tuple[FeedState, bool]:
        """Add ``url`` (or re-activate it); returns the feed and whether it was new or back."""
        with self.db.transaction():
            existing = self.get(url)
            if existing is None:
                self.db.execute(
                    "INSERT INTO feeds (url, title, origin, added_at) VALUES (?, ?, 'user', ?)",
                    (url, title, now),
                )
                changed = True
            else:
                changed = existing.disabled != ACTIVE
                self.db.execute(
                    "UPDATE feeds SET disabled = 0, consecutive_failures = 0, next_poll_at = NULL"
                    " WHERE id = ?",
                    (existing.id,),
                )
            feed = self.get(url)
        assert feed is not None
        return feed, changed

    def remove(self, url: str) -> bool:
        """Stop polling ``url``. Its articles stay; returns False when it was not active."""
        with self.db.transaction():
            cur = self.db.execute(
                "UPDATE feeds SET disabled = ? WHERE url = ? AND disabled != ?",
                (REMOVED, url, REMOVED),
            )
            return cur.rowcount > 0

    def get(self, url: str) -> FeedState | None:
        rows = self.db.query("SELECT * FROM feeds WHERE url = ?", (url,))
        return _feed(rows[0]) if rows else None

    def list(self, *, include_removed: bool = False) -> list[FeedState]:
        sql = "SELECT * FROM feeds"
        if not include_removed:
            sql += f" WHERE disabled != {REMOVED}"
        return [_feed(r) for r in self.db.query(sql + " ORDER BY id")]

    def active(self) -> builtins.list[FeedState]:
        return [_feed(r) for r in self.db.query("SELECT * FROM feeds WHERE disabled = 0")]

    def ensure(self, url: str, now: int) -> FeedState:
        """The feed for ``url``, created as a one-off (user) feed when unknown."""
        feed = self.get(url)
        if feed is None:
            feed, _ = self.add(url, now)
        return feed

    def record_success(
        self,
        feed_id: int,
        *,
        now: int,
        next_poll_at: int | None,
        title: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        entries: int = 0,
        not_modified: bool = False,
    ) -> None:
        values: dict[str, object] = {
            "last_attempt_at": now,
            "last_success_at": now,
            "consecutive_failures": 0,
            "last_error": None,
            "last_error_kind": None,
            "next_poll_at": next_poll_at,
        }
        if not not_modified:
            values.update(etag=etag, last_modified=last_modified)
        if title:
            values["title"] = title
        with self.db.transaction():
            self.db.update("feeds", feed_id, values)
            self.db.execute(
                "UPDATE feeds SET entries_total = entries_total + ? WHERE id = ?",
                (entries, feed_id),
            )

    def record_failure(
        self,
        feed_id: int,
        *,
        now: int,
        error: str,
        next_poll_at: int | None,
        disable: bool,
        kind: str = "unexpected",
    ) -> int:
        """Count a failure; returns the run of consecutive failures so far."""
        with self.db.transaction():
            self.db.execute(
                "UPDATE feeds SET last_attempt_at = ?, last_error = ?, last_error_kind = ?,"
                " consecutive_failures = consecutive_failures + 1, next_poll_at = ?,"
                " disabled = CASE WHEN ? THEN 1 ELSE disabled END WHERE id = ?",
                (now, error[:500], kind, next_poll_at, 1 if disable else 0, feed_id),
            )
            return int(
                self.db.scalar("SELECT consecutive_failures FROM feeds WHERE id = ?", (feed_id,))
            )
