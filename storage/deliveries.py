"""The delivery ledger: every planned message is written before anything is sent.

A digest is planned in one transaction: its row, every part (message or photo) it will
send, and the chat's next due time. Applying it claims one part at a time
(pending → sending), sends it, and records the outcome (sent, retry later, failed).
Killed at any point and restarted, the ledger says exactly what is left to send. A part
left in ``sending`` by a killed process is the one ambiguous case (the request may or
may not have reached the channel); it is sent again and counted as ``ambiguous``.

A digest is keyed by (chat, number): the chat's first digest is number 1, the next 2, so
two planners that read the same ledger try the same key and only one wins, whatever
their clocks say. Each digest records its story watermark (the largest story id it could
see); the next digest covers the stories committed after it. A chart is stored once in
``charts`` and referenced by every part that shows it; ``purge`` empties the bodies of
parts settled before a cut-off (the ledger rows stay) and drops charts nothing uses.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from storage.db import Database
from storage.ledger_schema import LEDGER

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


@dataclass(frozen=True)
class Part:
    id: int
    digest_id: int
    chat_id: int
    part: int
    kind: str  # "text" | "photo" (``body`` is then the caption)
    body: str
    chart_id: int | None
    state: str
    attempts: int
    not_before: int


@dataclass(frozen=True)
class PlannedPart:
    """One message to plan: text, or a picture given as bytes or as a stored chart's id."""

    kind: str
    body: str
    photo: bytes | None = None
    chart_id: int | None = None


@dataclass(frozen=True)
class PlannedDigest:
    chat_id: int
    number: int  # the chat's n-th digest: the key two planners contend for
    watermark: int  # the largest story id this digest could see
    period_start: int
    period_end: int
    story_ids: Sequence[int]
    parts: Sequence[PlannedPart]
    next_due_at: int | None


class Deliveries:
    def __init__(self, db: Database) -> None:
        self.db = db
        db.migrate(LEDGER)  # the ledger's own schema steps (storage.ledger_schema)

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
        watermark: int | None = None,
        number: int | None = None,
    ) -> int | None:
        """Record one digest (see :meth:`plan_many`); returns its id, or None when the
        chat's digest of that number was already planned."""
        if number is None:
            number = self.numbers([chat_id]).get(chat_id, 0) + 1
        if watermark is None:
            watermark = self.story_watermark()
        digest = PlannedDigest(
            chat_id, number, watermark, period_start, period_end, story_ids, parts, next_due_at
        )
        with self.db.transaction():
            return self._plan_one(digest, now)

    def plan_many(self, digests: Iterable[PlannedDigest], now: int) -> int:
        """Record digests, their parts and their chats' next due times in one transaction.

        A digest whose (chat, number) is already planned (a second planner, or a retry
        after a crash) is skipped with its parts; returns how many were recorded.
        """
        with self.db.transaction():
            return sum(self._plan_one(d, now) is not None for d in digests)

    def _plan_one(self, d: PlannedDigest, now: int) -> int | None:
        cur = self.db.execute(
            "INSERT OR IGNORE INTO digests (chat_id, number, watermark, period_start,"
            " period_end, planned_at, state, story_ids) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                d.chat_id,
                d.number,
                d.watermark,
                d.period_start,
                d.period_end,
                now,
                "planned" if d.parts else "empty",
                json.dumps(list(d.story_ids)),
            ),
        )
        if not cur.rowcount:
            return None
        digest_id = int(cur.lastrowid or 0)
        rows = []
        for i, p in enumerate(d.parts):
            chart = p.chart_id
            if chart is None and p.photo is not None:
                chart = self.store_chart(p.photo, now)
            rows.append((digest_id, d.chat_id, i, p.kind, p.body, chart))
        self.db.executemany(
            "INSERT INTO deliveries (digest_id, chat_id, part, kind, body, chart_id)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        self.db.execute(
            "UPDATE chats SET last_digest_at = ?, next_due_at = ? WHERE id = ?",
            (d.period_end, d.next_due_at, d.chat_id),
        )
        return digest_id

    # -- charts, watermarks, numbers --------------------------------------------------

    def store_chart(self, png: bytes, now: int) -> int:
        """The id of the stored chart with these bytes, stored now if new."""
        digest = hashlib.sha256(png).hexdigest()
        with self.db.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO charts (sha256, png, created_at) VALUES (?, ?, ?)",
                (digest, png, now),
            )
            return int(self.db.scalar("SELECT id FROM charts WHERE sha256 = ?", (digest,)))

    def store_chart_spec(self, spec: str, now: int) -> int:
        """The id of the chart that shows ``spec`` (its JSON), stored undrawn if new."""
        digest = hashlib.sha256(b"spec:" + spec.encode()).hexdigest()
        with self.db.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO charts (sha256, spec, created_at) VALUES (?, ?, ?)",
                (digest, spec, now),
            )
            return int(self.db.scalar("SELECT id FROM charts WHERE sha256 = ?", (digest,)))

    def chart(self, chart_id: int) -> tuple[bytes | None, str | None]:
        """A stored chart's PNG (None until drawn) and spec (None for a stored PNG)."""
        rows = self.db.query("SELECT png, spec FROM charts WHERE id = ?", (chart_id,))
        if not rows:
            return None, None
        png = rows[0]["png"]
        return (bytes(png) if png is not None else None), rows[0]["spec"]

    def undrawn_charts(self, limit: int = 20) -> list[tuple[int, str]]:
        """Charts planned but not drawn yet, oldest first: (id, spec)."""
        rows = self.db.query(
            "SELECT id, spec FROM charts WHERE png IS NULL AND spec IS NOT NULL"
            " ORDER BY id LIMIT ?",
            (limit,),
        )
        return [(r["id"], r["spec"]) for r in rows]

    def drawn(self, chart_id: int, png: bytes) -> None:
        with self.db.transaction():
            self.db.execute(
                "UPDATE charts SET png = ? WHERE id = ? AND png IS NULL", (png, chart_id)
            )

    def story_watermark(self) -> int:
        """The largest story id committed so far: a digest planned now covers up to it."""
        return int(self.db.scalar("SELECT COALESCE(MAX(id), 0) FROM stories"))

    def last_digests(self, chat_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        """Each chat's last digest as (number, watermark); chats without one are absent.

        Read in chunks through the (chat, number) index: a chat's own rows only, however
        long the ledger's history.
        """
        ids = sorted(set(chat_ids))
        found: dict[int, tuple[int, int]] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            # SQLite returns the bare column (watermark) from the row holding MAX(number).
            for r in self.db.query(
                f"SELECT chat_id, MAX(number) AS n, watermark AS w FROM digests"
                f" WHERE chat_id IN ({marks}) GROUP BY chat_id",
                tuple(chunk),
            ):
                found[r["chat_id"]] = (int(r["n"]), int(r["w"]))
        return found

    def watermarks(self, chat_ids: Sequence[int]) -> dict[int, int]:
        """Each chat's last digest watermark (chats without a digest are absent)."""
        return {c: w for c, (_, w) in self.last_digests(chat_ids).items()}

    def numbers(self, chat_ids: Sequence[int]) -> dict[int, int]:
        """Each chat's last digest number (chats without a digest are absent)."""
        return {c: n for c, (n, _) in self.last_digests(chat_ids).items()}

    def purge(self, before: int) -> int:
        """Empty the bodies of parts of digests planned before ``before`` that are settled
        (sent or failed), keep their rows, and drop charts no part refers to any more."""
        with self.db.transaction():
            cur = self.db.execute(
                "UPDATE deliveries SET body = '', chart_id = NULL, photo = NULL"
                " WHERE state IN (?, ?) AND (body != '' OR chart_id IS NOT NULL)"
                " AND digest_id IN (SELECT id FROM digests WHERE planned_at < ?)",
                (SENT, FAILED, before),
            )
            self.db.execute(
                "DELETE FROM charts WHERE NOT EXISTS"
                " (SELECT 1 FROM deliveries d WHERE d.chart_id = charts.id)"
            )
            return cur.rowcount

    def recover(
        self, now: int, *, live: Callable[[str], bool] = lambda owner: False, grace: int = 0
    ) -> int:
        """Return parts a killed process left in ``sending`` to the queue; count them.

        A claim whose owner ``live`` says may still be sending it stays, unless it is more
        than ``grace`` seconds old (when ``grace`` is given); a claim without an owner
        (made before owners were recorded, or by a bare deliverer) is always returned.
        """
        with self.db.transaction():
            rows = self.db.query(
                "SELECT id, chat_id, claimed_by, claimed_at FROM deliveries WHERE state = ?",
                (SENDING,),
            )
            stale = [
                r
                for r in rows
                if not r["claimed_by"]
                or not live(r["claimed_by"])
                or (grace > 0 and (r["claimed_at"] or 0) < now - grace)
            ]
            for r in stale:
                self.db.execute("UPDATE deliveries SET state = ? WHERE id = ?", (PENDING, r["id"]))
                self.event("ambiguous", now, chat_id=r["chat_id"], detail=str(r["id"]))
        return len(stale)

    def claimed_chats(self) -> set[int]:
        """The chats with a part in ``sending``: a later part of theirs must wait for it."""
        rows = self.db.query("SELECT DISTINCT chat_id FROM deliveries WHERE state = ?", (SENDING,))
        return {int(r["chat_id"]) for r in rows}

    def pending(self, now: int, limit: int = 1000, *, after: int = 0) -> list[Part]:
        """Pending parts due by ``now`` with ids above ``after``, in id order (a chat's
        parts are planned together, so they come in order and together)."""
        rows = self.db.query(
            "SELECT id, digest_id, chat_id, part, kind, body, chart_id, state, attempts,"
            " not_before FROM deliveries WHERE state = ? AND not_before <= ? AND id > ?"
            " ORDER BY id LIMIT ?",
            (PENDING, now, after, limit),
        )
        return [Part(**r) for r in rows]

    def unsent(self, channels: Sequence[str]) -> tuple[int, int | None]:
        """How many parts for chats on ``channels`` are still to send, and the earliest
        time one may go (a chat's parts go in order: each chat's first part decides)."""
        marks = ",".join("?" * len(channels)) or "NULL"
        live = (
            "FROM deliveries d JOIN chats c ON c.id = d.chat_id WHERE d.state IN (?, ?)"
            f" AND c.channel IN ({marks})"
        )
        params = (PENDING, SENDING, *channels)
        count = int(self.db.scalar(f"SELECT COUNT(*) {live}", params))
        first = self.db.scalar(
            f"SELECT MIN(d.not_before) {live} AND d.id = (SELECT MIN(x.id) FROM deliveries x"
            " WHERE x.chat_id = d.chat_id AND x.state IN (?, ?))",
            (*params, PENDING, SENDING),
        )
        return count, (int(first) if first is not None else None)

    def claim(self, part_id: int, *, owner: str | None = None, now: int | None = None) -> bool:
        """pending → sending, by ``owner`` at ``now``; False when another process claimed it
        first."""
        with self.db.transaction():
            cur = self.db.execute(
                "UPDATE deliveries SET state = ?, attempts = attempts + 1, claimed_by = ?,"
                " claimed_at = ? WHERE id = ? AND state = ?",
                (SENDING, owner, now, part_id, PENDING),
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
