"""Request nonces a callback has seen, kept in SQLite so a restart does not forget them."""

from __future__ import annotations

from storage.db import Database


class Nonces:
    def __init__(self, db: Database) -> None:
        self.db = db

    def claim(self, channel: str, nonce: str, message: str, *, now: int, keep: int) -> bool:
        """Record that ``nonce`` carried ``message``; False when it already carried another.

        The same nonce with the same message (a retry) is fine. Nonces older than ``keep``
        seconds are forgotten: by then their requests are refused for their timestamp.
        """
        with self.db.transaction():
            self.db.execute("DELETE FROM nonces WHERE seen_at < ?", (now - keep,))
            rows = self.db.query(
                "SELECT message FROM nonces WHERE channel = ? AND nonce = ?", (channel, nonce)
            )
            if rows:
                return bool(rows[0]["message"] == message)
            self.db.execute(
                "INSERT INTO nonces (channel, nonce, message, seen_at) VALUES (?, ?, ?, ?)",
                (channel, nonce, message, now),
            )
            return True

    def count(self, channel: str) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM nonces WHERE channel = ?", (channel,)))
