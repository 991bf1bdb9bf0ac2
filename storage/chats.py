"""Chats (delivery targets) and their subscriptions."""

from __future__ import annotations

from typing import Any

from domain.models import Chat, Subscription
from storage.db import Database

MAX_SUBSCRIPTIONS = 30


def _chat(
    row: dict[str, Any], subs: tuple[Subscription, ...], watches: tuple[str, ...] = ()
) -> Chat:
    return Chat(
        id=row["id"],
        channel=row["channel"],
        address=row["address"],
        kind=row["kind"],
        subscriptions=subs,
        day=row["day"],
        time=row["time"],
        timezone=row["timezone"],
        paused=bool(row["paused"]),
        active=bool(row["active"]),
        last_digest_at=row["last_digest_at"],
        next_due_at=row["next_due_at"],
        watches=watches,
        alerts=bool(row.get("alerts")),
        alerts_checked_at=row.get("alerts_checked_at"),
    )


class Chats:
    def __init__(self, db: Database) -> None:
        self.db = db

    def ensure(
        self,
        channel: str,
        address: str,
        *,
        now: int,
        kind: str = "private",
        day: str = "mon",
        time: str = "09:00",
        timezone: str = "Asia/Shanghai",
    ) -> Chat:
        """The chat for (channel, address), created with the given defaults when new.

        A chat that had been deactivated (it blocked us) becomes active again: it wrote to us.
        A known, active chat is only read: most commands then take no write lock.
        """
        known = self.get(channel, address)
        if known is not None and known.active:
            return known
        with self.db.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO chats (channel, address, kind, day, time, timezone,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (channel, address, kind, day, time, timezone, now),
            )
            self.db.execute(
                "UPDATE chats SET active = 1 WHERE channel = ? AND address = ? AND active = 0",
                (channel, address),
            )
        chat = self.get(channel, address)
        assert chat is not None
        return chat

    def get(self, channel: str, address: str) -> Chat | None:
        rows = self.db.query(
            "SELECT * FROM chats WHERE channel = ? AND address = ?", (channel, address)
        )
        return self._load(rows[0]) if rows else None

    def by_id(self, chat_id: int) -> Chat | None:
        rows = self.db.query("SELECT * FROM chats WHERE id = ?", (chat_id,))
        return self._load(rows[0]) if rows else None

    def _load(self, row: dict[str, Any]) -> Chat:
        subs = self.db.query(
            "SELECT city, topic FROM subscriptions WHERE chat_id = ? ORDER BY created_at, rowid",
            (row["id"],),
        )
        watches = self.db.query(
            "SELECT keyword FROM watches WHERE chat_id = ? ORDER BY created_at, rowid",
            (row["id"],),
        )
        return _chat(
            row,
            tuple(Subscription(s["city"] or None, s["topic"] or None) for s in subs),
            tuple(w["keyword"] for w in watches),
        )

    def _follows(self, chat_id: int) -> int:
        """Subscriptions and watches together: they share ``MAX_SUBSCRIPTIONS``."""
        return int(
            self.db.scalar(
                "SELECT (SELECT COUNT(*) FROM subscriptions WHERE chat_id = :c)"
                " + (SELECT COUNT(*) FROM watches WHERE chat_id = :c)",
                {"c": chat_id},
            )
        )

    def watch(self, chat_id: int, keywords: list[str], now: int) -> tuple[list[str], list[str]]:
        """Watch keywords; returns (those that were new, those refused because the chat
        already follows ``MAX_SUBSCRIPTIONS`` things). One already watched is neither."""
        added: list[str] = []
        refused: list[str] = []
        with self.db.transaction():
            count = self._follows(chat_id)
            for keyword in keywords:
                if count >= MAX_SUBSCRIPTIONS:
                    held = self.db.scalar(
                        "SELECT 1 FROM watches WHERE chat_id = ? AND keyword = ?",
                        (chat_id, keyword),
                    )
                    if not held and keyword not in refused:
                        refused.append(keyword)
                    continue
                cur = self.db.execute(
                    "INSERT OR IGNORE INTO watches (chat_id, keyword, created_at) VALUES (?, ?, ?)",
                    (chat_id, keyword, now),
                )
                if cur.rowcount:
                    added.append(keyword)
                    count += 1
        return added, refused

    def unwatch(self, chat_id: int, keywords: list[str]) -> list[str]:
        removed = []
        with self.db.transaction():
            for keyword in keywords:
                cur = self.db.execute(
                    "DELETE FROM watches WHERE chat_id = ? AND keyword = ?", (chat_id, keyword)
                )
                if cur.rowcount:
                    removed.append(keyword)
        return removed

    def alerting(self) -> list[Chat]:
        """Active chats with instant alerts on and at least one watch."""
        rows = self.db.query(
            "SELECT * FROM chats WHERE active = 1 AND alerts = 1 AND EXISTS"
            " (SELECT 1 FROM watches w WHERE w.chat_id = chats.id) ORDER BY id"
        )
        return [self._load(r) for r in rows]

    def subscribe(
        self, chat_id: int, subs: list[Subscription], now: int
    ) -> tuple[list[Subscription], list[Subscription]]:
        """Add subscriptions; returns (those that were new, those refused because the chat
        already follows ``MAX_SUBSCRIPTIONS`` things). One already held is neither."""
        added: list[Subscription] = []
        refused: list[Subscription] = []
        with self.db.transaction():
            count = self._follows(chat_id)
            for sub in subs:
                key = (chat_id, sub.city or "", sub.topic or "")
                if count >= MAX_SUBSCRIPTIONS:
                    held = self.db.scalar(
                        "SELECT 1 FROM subscriptions WHERE chat_id = ? AND city = ? AND topic = ?",
                        key,
                    )
                    if not held and sub not in refused:
                        refused.append(sub)
                    continue
                cur = self.db.execute(
                    "INSERT OR IGNORE INTO subscriptions (chat_id, city, topic, created_at)"
                    " VALUES (?, ?, ?, ?)",
                    (*key, now),
                )
                if cur.rowcount:
                    added.append(sub)
                    count += 1
        return added, refused

    def unsubscribe(self, chat_id: int, subs: list[Subscription]) -> list[Subscription]:
        removed = []
        with self.db.transaction():
            for sub in subs:
                cur = self.db.execute(
                    "DELETE FROM subscriptions WHERE chat_id = ? AND city = ? AND topic = ?",
                    (chat_id, sub.city or "", sub.topic or ""),
                )
                if cur.rowcount:
                    removed.append(sub)
        return removed

    def update(self, chat_id: int, **fields: Any) -> None:
        allowed = {
            "day",
            "time",
            "timezone",
            "paused",
            "active",
            "next_due_at",
            "last_digest_at",
            "kind",
            "alerts",
            "alerts_checked_at",
        }
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"not a chat field: {sorted(unknown)}")
        with self.db.transaction():
            self.db.update("chats", chat_id, fields)

    def migrate(self, channel: str, old: str, new: str) -> int | None:
        """A Telegram group became a supergroup: keep everything under the new id.

        Returns the id of the chat that now holds the subscriptions and unsent messages.
        """
        with self.db.transaction():
            target = self.get(channel, new)
            source = self.get(channel, old)
            if source is None:
                return target.id if target else None
            if target is None:
                self.db.execute(
                    "UPDATE chats SET address = ?, kind = 'group' WHERE id = ?", (new, source.id)
                )
                return source.id
            else:
                self.db.execute(
                    "UPDATE deliveries SET chat_id = ? WHERE chat_id = ?"
                    " AND state IN ('pending', 'sending')",
                    (target.id, source.id),
                )
                self.db.execute(
                    "INSERT OR IGNORE INTO subscriptions (chat_id, city, topic, created_at)"
                    " SELECT ?, city, topic, created_at FROM subscriptions WHERE chat_id = ?",
                    (target.id, source.id),
                )
                self.db.execute(
                    "INSERT OR IGNORE INTO watches (chat_id, keyword, created_at)"
                    " SELECT ?, keyword, created_at FROM watches WHERE chat_id = ?",
                    (target.id, source.id),
                )
                self.db.execute("UPDATE chats SET active = 0 WHERE id = ?", (source.id,))
                return target.id

    def due(self, now: int) -> list[Chat]:
        """Active, unpaused chats with subscriptions or watches whose next digest is due."""
        rows = self.db.query(
            "SELECT * FROM chats WHERE active = 1 AND paused = 0 AND next_due_at IS NOT NULL"
            " AND next_due_at <= ? AND (EXISTS (SELECT 1 FROM subscriptions s"
            " WHERE s.chat_id = chats.id) OR EXISTS (SELECT 1 FROM watches w"
            " WHERE w.chat_id = chats.id)) ORDER BY next_due_at, id",
            (now,),
        )
        return [self._load(r) for r in rows]

    def all(self, channel: str | None = None) -> list[Chat]:
        sql = "SELECT * FROM chats"
        params: tuple[Any, ...] = ()
        if channel:
            sql += " WHERE channel = ?"
            params = (channel,)
        return [self._load(r) for r in self.db.query(sql + " ORDER BY id", params)]

    def counts(self) -> dict[str, int]:
        return {
            "chats": int(self.db.scalar("SELECT COUNT(*) FROM chats")),
            "subscribers": int(
                self.db.scalar(
                    "SELECT COUNT(DISTINCT chat_id) FROM subscriptions s JOIN chats c"
                    " ON c.id = s.chat_id WHERE c.active = 1"
                )
            ),
            "subscriptions": int(self.db.scalar("SELECT COUNT(*) FROM subscriptions")),
            "inactive": int(self.db.scalar("SELECT COUNT(*) FROM chats WHERE active = 0")),
        }
