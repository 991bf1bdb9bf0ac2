"""The delivery ledger: every planned message is written before anything is sent.

A digest is planned in one transaction: its row, every part (message or photo) it will
send, and the chat's next due time. Applying it claims one part at a time
(pending → sending), sends it, and records the outcome (sent, retry later, failed).
Killed at any point and restarted, the ledger says exactly what is left to send. A part
left in ``sending`` by a killed process is the one ambiguous case (the request may or
may not have reached the channel); it is sent again and counted as ``ambiguous``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from storage.db import Database

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


@dataclass(frozen=True)
class Part:
    id: int
    digest_id: int
    chat_id: int
    part: int
    kind: str  # "text" | "photo"
    body: str
    photo: bytes | None
    state: str
    attempts: int
    not_before: int


@dataclass(frozen=True)
class PlannedPart:
    kind: str
    body: str
    photo: bytes | None = None


class Deliveries:
    def __init__(self, db: Database) -> None:
        self.db = db

    def plan(
        self,
        chat_id: int,
        *,
        period_start: int,
        period_end: int,
        story_ids: Sequence[int],
        parts: Sequence[PlannedPart],
        now: int,
        next_due_at: int | None,
    ) -> int | None:
        """Record a digest and its parts and move the chat's schedule on, atomically.

        Returns the digest id, or None when this chat's digest for ``period_end`` was
        already planned (a second planner, or a retry after a crash).
        """
        with self.db.transaction():
            cur = self.db.execute(
                "INSERT OR IGNORE INTO digests (chat_id, period_start, period_end, planned_at,"
                " state, story_ids) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    chat_id,
                    period_start,
                    period_end,
                    now,
                    "planned" if parts else "empty",
                    json.dumps(list(story_ids)),
                ),
            )
            if not cur.rowcount:
                return None
            digest_id = int(cur.lastrowid or 0)
            self.db.executemany(
                "INSERT INTO deliveries (digest_id, chat_id, part, kind, body, photo)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(digest_id, chat_id, i, p.kind, p.body, p.photo) for i, p in enumerate(parts)],
            )
            self.db.execute(
                "UPDATE chats SET last_digest_at = ?, next_due_at = ? WHERE id = ?",
                (period_end, next_due_at, chat_id),
            )
        return digest_id

    def recover(self, now: int) -> int:
        """Return parts a killed process left in ``sending`` to the queue; count them."""
        with self.db.transaction():
            rows = self.db.query("SELECT id, chat_id FROM deliveries WHERE state = ?", (SENDING,))
            for r in rows:
                self.db.execute("UPDATE deliveries SET state = ? WHERE id = ?", (PENDING, r["id"]))
                self.event("ambiguous", now, chat_id=r["chat_id"], detail=str(r["id"]))
        return len(rows)

    def pending(self, now: int, limit: int = 1000) -> list[Part]:
        rows = self.db.query(
            "SELECT id, digest_id, chat_id, part, kind, body, photo, state, attempts, not_before"
            " FROM deliveries WHERE state = ? AND not_before <= ? ORDER BY digest_id, part"
            " LIMIT ?",
            (PENDING, now, limit),
        )
        return [Part(**r) for r in rows]

    def claim(self, part_id: int) -> bool:
        """pending → sending; False when another process claimed it first."""
        with self.db.transaction():
            cur = self.db.execute(
                "UPDATE deliveries SET state = ?, attempts = attempts + 1"
                " WHERE id = ? AND state = ?",
                (SENDING, part_id, PENDING),
            )
            return cur.rowcount == 1

    def sent(self, part: Part, now: int, remote_id: str = "") -> None:
        with self.db.transaction():
            self.db.execute(
                "UPDATE deliveries SET state = ?, sent_at = ?, remote_id = ?, last_error = NULL"
                " WHERE id = ?",
                (SENT, now, remote_id, part.id),
            )
            self.event("sent", now, chat_id=part.chat_id)
            self._settle(part.digest_id)

    def retry(self, part: Part, now: int, not_before: int, error: str, kind: str) -> None:
        with self.db.transaction():
            self.db.execute(
                "UPDATE deliveries SET state = ?, not_before = ?, last_error = ? WHERE id = ?",
                (PENDING, not_before, error[:300], part.id),
            )
            self.event(kind, now, chat_id=part.chat_id, detail=error[:300])

    def reject(self, part: Part, now: int, error: str) -> None:
        """Give up on one part the channel refused for good; the others still go."""
        with self.db.transaction():
            self.db.execute(
                "UPDATE deliveries SET state = ?, last_error = ? WHERE id = ?",
                (FAILED, error[:300], part.id),
            )
            self.event("rejected", now, chat_id=part.chat_id, detail=error[:300])
            self._settle(part.digest_id)

    def steal(self, name: str, owner: str) -> None:
        """Remove ``owner``'s hold on lock ``name`` (that process is gone)."""
        with self.db.transaction():
            self.db.execute("DELETE FROM locks WHERE name = ? AND owner = ?", (name, owner))

    def holder(self, name: str) -> str | None:
        rows = self.db.query("SELECT owner FROM locks WHERE name = ?", (name,))
        return str(rows[0]["owner"]) if rows else None

    def fail_chat(self, chat_id: int, now: int, error: str, kind: str) -> int:
        """Give up on every unsent part for a chat (it blocked us or is gone)."""
        with self.db.transaction():
            cur = self.db.execute(
                "UPDATE deliveries SET state = ?, last_error = ? WHERE chat_id = ?"
                " AND state IN (?, ?)",
                (FAILED, error[:300], chat_id, PENDING, SENDING),
            )
            self.event(kind, now, chat_id=chat_id, detail=error[:300])
            digests = self.db.query(
                "SELECT DISTINCT digest_id FROM deliveries WHERE chat_id = ?", (chat_id,)
            )
            for d in digests:
                self._settle(d["digest_id"])
            return cur.rowcount

    def _settle(self, digest_id: int) -> None:
        states = {
            r["state"]
            for r in self.db.query(
                "SELECT DISTINCT state FROM deliveries WHERE digest_id = ?", (digest_id,)
            )
        }
        if states <= {SENT}:
            state = "delivered"
        elif states <= {SENT, FAILED}:
            state = "failed"
        else:
            return
        self.db.execute("UPDATE digests SET state = ? WHERE id = ?", (state, digest_id))

    def event(self, kind: str, now: int, *, chat_id: int | None = None, detail: str = "") -> None:
        self.db.execute(
            "INSERT INTO events (at, kind, chat_id, detail) VALUES (?, ?, ?, ?)",
            (now, kind, chat_id, detail),
        )

    def event_times(self, kind: str, chat_id: int, since: int) -> list[int]:
        """When events of ``kind`` for ``chat_id`` happened from ``since`` on, oldest first."""
        rows = self.db.query(
            "SELECT at FROM events WHERE kind = ? AND chat_id = ? AND at >= ? ORDER BY at",
            (kind, chat_id, since),
        )
        return [r["at"] for r in rows]

    def event_counts(self) -> dict[str, int]:
        return {
            r["kind"]: r["n"]
            for r in self.db.query("SELECT kind, COUNT(*) AS n FROM events GROUP BY kind")
        }

    def state_counts(self) -> dict[str, int]:
        return {
            r["state"]: r["n"]
            for r in self.db.query("SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state")
        }

    # Process locks: one scheduler and one deliverer per database.

    def acquire(self, name: str, owner: str, now: int, ttl: int) -> bool:
        """Take or renew lock ``name`` for ``ttl`` seconds; False when another owner holds it."""
        with self.db.transaction():
            row = self.db.query("SELECT owner, expires_at FROM locks WHERE name = ?", (name,))
            if row and row[0]["owner"] != owner and row[0]["expires_at"] > now:
                return False
            self.db.execute(
                "INSERT INTO locks (name, owner, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT(name) DO UPDATE SET owner = excluded.owner,"
                " expires_at = excluded.expires_at",
                (name, owner, now + ttl),
            )
            return True

    def release(self, name: str, owner: str) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM locks WHERE name = ? AND owner = ?", (name, owner))
