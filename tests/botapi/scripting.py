"""What a test scripts on the fake: chats, admins, pushed updates, faults, waits."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from typing import Any

from tests.botapi.entities import command_entities
from tests.botapi.objects import _inferred_type, _member, _user
from tests.botapi.wire import (
    BOT_USER,
    DEFAULT_USER_ID,
    DESCRIPTIONS,
    MIGRATED,
    ApiError,
    Call,
    SentMessage,
    _Fault,
)


class Scripting:
    """The test-facing side of ``FakeBotAPI``; state lives there."""

    def add_chat(
        self,
        chat_id: int,
        chat_type: str | None = None,
        *,
        title: str | None = None,
        username: str | None = None,
        first_name: str | None = None,
    ) -> dict[str, Any]:
        """Register (or replace) a chat; returns its Chat object."""
        chat_type = chat_type or _inferred_type(chat_id)
        if chat_type == "private" and chat_id <= 0:
            raise ValueError("private chats have positive ids")
        if chat_type != "private" and chat_id >= 0:
            raise ValueError(f"{chat_type} chats have negative ids")
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = first_name or f"User {chat_id}"
        else:
            chat["title"] = title or "长株潭测试群"
        if username:
            chat["username"] = username
        with self._lock:
            self._chats[chat_id] = chat
        return dict(chat)

    def set_admins(
        self, chat_id: int, user_ids: Iterable[int], *, creator_id: int | None = None
    ) -> None:
        """Which users administer a group chat (the creator counts as an admin)."""
        with self._lock:
            self._admins[chat_id] = set(user_ids)
            if creator_id is not None:
                self._creators[chat_id] = creator_id

    def block(self, chat_id: int, blocked: bool = True) -> None:
        """The user blocks (or unblocks) the bot: every send gets 403 until unblocked."""
        with self._lock:
            (self._blocked.add if blocked else self._blocked.discard)(chat_id)

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue a raw update (without ``update_id``); returns the assigned update_id."""
        with self._lock:
            update_id = next(self._update_ids)
            self._updates.append({"update_id": update_id, **update})
        self._notify()
        return update_id

    def push_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str | None = None,
        username: str | None = "tester",
        first_name: str = "测试用户",
        entities: list[dict[str, Any]] | None = None,
        reply_to_message_id: int | None = None,
    ) -> int:
        """A user writes ``text`` in a chat; a leading ``/command`` gets its entity.

        Private chats default ``user_id`` to the chat id; groups to ``DEFAULT_USER_ID``.
        ``chat_type`` defaults to what the id implies ("private", "group", "supergroup")."""
        chat = self._chat_for_push(chat_id, chat_type)
        user = _user(
            user_id or (chat_id if chat["type"] == "private" else DEFAULT_USER_ID),
            first_name,
            username,
        )
        with self._lock:
            message: dict[str, Any] = {
                "message_id": self._next_message_id(chat_id),
                "from": user,
                "chat": chat,
                "date": int(self.clock()),
                "text": text,
            }
            ents = command_entities(text) if entities is None else entities
            if ents:
                message["entities"] = ents
            if reply_to_message_id is not None:
                replied = self._messages.get((chat_id, reply_to_message_id))
                if replied is not None:
                    message["reply_to_message"] = replied
            self._messages[(chat_id, message["message_id"])] = message
        return self.push_update({"message": message})

    def push_callback(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        user_id: int | None = None,
        username: str | None = "tester",
        first_name: str = "测试用户",
    ) -> int:
        """A user presses an inline button with ``callback_data`` on a message."""
        chat = self._chat_for_push(chat_id, None)
        user = _user(
            user_id or (chat_id if chat["type"] == "private" else DEFAULT_USER_ID),
            first_name,
            username,
        )
        with self._lock:
            message = self._messages.get((chat_id, message_id)) or {
                "message_id": message_id,
                "from": BOT_USER,
                "chat": chat,
                "date": int(self.clock()),
                "text": "",
            }
            query_id = str(next(self._callback_ids))
            self._open_callbacks.add(query_id)
        query = {
            "id": query_id,
            "from": user,
            "message": message,
            "chat_instance": str(abs(chat_id) * 7919),
            "data": data,
        }
        return self.push_update({"callback_query": query})

    def push_my_chat_member(
        self,
        chat_id: int,
        *,
        new_status: str = "member",
        old_status: str = "left",
        user_id: int | None = None,
        chat_type: str | None = None,
    ) -> int:
        """The bot's own membership changes, e.g. added to a group ("left" -> "member")
        or blocked in a private chat ("member" -> "kicked")."""
        chat = self._chat_for_push(chat_id, chat_type)
        actor = _user(user_id or (chat_id if chat["type"] == "private" else DEFAULT_USER_ID))
        change = {
            "chat": chat,
            "from": actor,
            "date": int(self.clock()),
            "old_chat_member": _member(BOT_USER, old_status),
            "new_chat_member": _member(BOT_USER, new_status),
        }
        return self.push_update({"my_chat_member": change})

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by a getUpdates offset."""
        with self._lock:
            return list(self._updates)

    def fail_next(
        self,
        method: str,
        *,
        chat_id: int | str | None = None,
        times: int = 1,
        error_code: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` (to ``chat_id``, if given) fail the way
        Telegram fails: 429 carries ``parameters.retry_after`` (default 3), a migration
        ``parameters.migrate_to_chat_id``; descriptions default to Telegram's."""
        parameters: dict[str, Any] = {}
        if migrate_to_chat_id is not None:
            error_code = 400
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
            description = description or MIGRATED
        if error_code == 429:
            retry_after = 3 if retry_after is None else retry_after
            description = description or f"Too Many Requests: retry after {retry_after}"
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        description = description or DESCRIPTIONS.get(error_code, f"Error {error_code}")
        fault = _Fault(
            method.lower(), chat_id, times, ApiError(error_code, description, parameters)
        )
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def calls(self, method: str | None = None) -> list[Call]:
        """Every request received (of ``method``, case-insensitive), failures included."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method.lower() == method.lower()]

    def sent(self, chat_id: int | None = None) -> list[SentMessage]:
        """Messages the bot successfully sent (to ``chat_id``), in order."""
        with self._lock:
            return [s for s in self._sent if chat_id is None or s.chat_id == chat_id]

    def send_times(self, chat_id: int | None = None) -> list[float]:
        """Monotonic timestamps of successful sends, for computing message rates."""
        return [s.time for s in self.sent(chat_id)]

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """The current state of a message (after edits), as a Message object."""
        with self._lock:
            return self._messages.get((chat_id, message_id))

    async def wait_for_sent(
        self, chat_id: int, count: int = 1, timeout: float = 5.0
    ) -> list[SentMessage]:
        """Wait until at least ``count`` messages were sent to ``chat_id``."""
        await self.wait_until(
            lambda: len(self.sent(chat_id)) >= count,
            timeout,
            lambda: f"{len(self.sent(chat_id))} of {count} messages sent to {chat_id}",
        )
        return self.sent(chat_id)

    def wait_for_sent_sync(
        self, chat_id: int, count: int = 1, timeout: float = 5.0
    ) -> list[SentMessage]:
        self.wait_until_sync(
            lambda: len(self.sent(chat_id)) >= count,
            timeout,
            lambda: f"{len(self.sent(chat_id))} of {count} messages sent to {chat_id}",
        )
        return self.sent(chat_id)

    async def wait_for_calls(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until ``method`` was called at least ``count`` times."""
        await self.wait_until(
            lambda: len(self.calls(method)) >= count,
            timeout,
            lambda: f"{len(self.calls(method))} of {count} {method} calls",
        )
        return self.calls(method)

    def wait_for_calls_sync(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        self.wait_until_sync(
            lambda: len(self.calls(method)) >= count,
            timeout,
            lambda: f"{len(self.calls(method))} of {count} {method} calls",
        )
        return self.calls(method)

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,
        explain: Callable[[], str] = lambda: "condition not met",
    ) -> None:
        """Wait, on any event loop, until ``predicate()`` holds after a request; else
        raise TimeoutError."""
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        deadline = time.monotonic() + timeout
        with self._lock:
            self._async_waiters.add(waiter)
        try:
            while True:
                waiter[1].clear()
                if predicate():
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"after {timeout}s: {explain()}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter[1].wait(), remaining)
        finally:
            with self._lock:
                self._async_waiters.discard(waiter)

    def wait_until_sync(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,
        explain: Callable[[], str] = lambda: "condition not met",
    ) -> None:
        """Blocking :meth:`wait_until`; the server must run in another thread."""
        with self._changed:
            if not self._changed.wait_for(predicate, timeout):
                raise TimeoutError(f"after {timeout}s: {explain()}")
