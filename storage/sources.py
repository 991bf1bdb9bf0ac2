"""Web sources: their rows in ``feeds`` (kind 'source') and the article links decided on."""

from __future__ import annotations

from collections.abc import Iterable

from domain.models import SOURCE, FeedState
from storage.db import Database
from storage.feeds import Feeds


class Sources:
    def __init__(self, db: Database, feeds: Feeds) -> None:
        self.db = db
        self.feeds = feeds

    def sync_config(self, pages: Iterable[tuple[str, str, str]], now: int) -> None:
        """Make sure every configured (url, name, spec) exists with its current spec.

        Nothing changed, nothing written: a read-only command never waits for the write lock.
        """
        wanted = {url: (name, spec) for url, name, spec in pages}
        if not wanted:
            return
        rows = self.db.query("SELECT url, title, kind, spec FROM feeds")
        known = {r["url"]: r for r in rows}
        stale = [
            (url, name, spec)
            for url, (name, spec) in wanted.items()
            if url not in known
            or known[url]["kind"] != SOURCE
            or known[url]["spec"] != spec
            or (name and known[url]["title"] != name)
        ]
        if not stale:
            return
        with self.db.transaction():
            for url, name, spec in stale:
                self.db.execute(
                    "INSERT INTO feeds (url, title, origin, added_at, kind, spec)"
                    " VALUES (?, ?, 'config', ?, ?, ?)"
                    " ON CONFLICT (url) DO UPDATE SET kind = excluded.kind, spec = excluded.spec,"
                    " title = CASE WHEN excluded.title != '' THEN excluded.title ELSE title END",
                    (url, name, now, SOURCE, spec),
                )

    def add(self, url: str, now: int, *, title: str, spec: str) -> tuple[FeedState, bool]:
        """Add (or re-activate) a web source; returns it and whether it was new or back."""
        with self.db.transaction():
            feed, changed = self.feeds.add(url, now, title)
            self.db.execute(
                "UPDATE feeds SET kind = ?, spec = ?,"
                " title = CASE WHEN title = '' THEN ? ELSE title END WHERE id = ?",
                (SOURCE, spec, title, feed.id),
            )
            fresh = self.feeds.get(url)
        assert fresh is not None
        return fresh, changed

    def ensure(self, url: str, spec: str, now: int, *, respec: bool) -> tuple[FeedState, bool]:
        """The source for ``url`` and whether it is new; an existing one keeps its spec
        unless ``respec``."""
        existing = self.feeds.get(url)
        if existing is not None and existing.is_source and not respec:
            return existing, False
        feed, _ = self.add(url, now, title="", spec=spec)
        return feed, existing is None

    def seen(self, feed_id: int, urls: Iterable[str]) -> set[str]:
        """Which of ``urls`` this source decided on before, or any feed already stored."""
        wanted = list(dict.fromkeys(urls))
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.query(
                f"SELECT url FROM source_seen WHERE feed_id = ? AND url IN ({marks})"
                f" UNION SELECT url FROM articles WHERE url IN ({marks})",
                (feed_id, *chunk, *chunk),
            )
            found.update(r["url"] for r in rows)
        return found

    def mark(self, feed_id: int, url: str, *, kept: bool, now: int) -> None:
        with self.db.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO source_seen (feed_id, url, kept, seen_at)"
                " VALUES (?, ?, ?, ?)",
                (feed_id, url, 1 if kept else 0, now),
            )

    def set_list_hash(self, feed_id: int, value: str | None) -> None:
        with self.db.transaction():
            self.db.execute("UPDATE feeds SET list_hash = ? WHERE id = ?", (value, feed_id))
