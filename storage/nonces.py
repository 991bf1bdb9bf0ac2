"""Request nonces a callback has seen, and the messages it answered, kept in SQLite so a
restart does not forget them.

Answered messages are rows of the same table under the channel ``<channel>:answered``
with the message as the nonce, purged with the nonces.
"""

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

    def answered(self, channel: str, message: str) -> bool:
        """Whether ``message`` was answered (``mark_answered``) within the kept time."""
        rows = self.db.query(
            "SELECT 1 FROM nonces WHERE channel = ? AND nonce = ?", (_answered(channel), message)
        )
        return bool(rows)

    def mark_answered(self, channel: str, message: str, *, now: int) -> None:
        with self.db.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO nonces (channel, nonce, message, seen_at)"
                " VALUES (?, ?, ?, ?)",
                (_answered(channel), message, message, now),
            )

    def count(self, channel: str) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM nonces WHERE channel = ?", (channel,)))


def _answered(channel: str) -> str:
    return f"{channel}:answered"
