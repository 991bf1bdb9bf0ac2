"""A fake Telegram Bot API server over real HTTP on 127.0.0.1 for python-telegram-bot tests.

The real PTB ``Bot``/``Application`` talks to it through ``base_url``::

    async with FakeBotAPI() as fake:
        bot = telegram.Bot(TOKEN, base_url=fake.base_url)
        fake.push_message(42, "/start")
        ...
        await fake.wait_for_sent(42, 1)

or, for sync tests and subprocesses, ``fake.start_in_thread()`` / ``fake.stop_thread()``
(the server then runs on its own event loop in a daemon thread).

Requests arrive at ``/bot<TOKEN>/<method>``. PTB 22 sends its parameters as an
``application/x-www-form-urlencoded`` body (``multipart/form-data`` when a file is uploaded)
in which every non-string value is JSON-encoded; JSON bodies and query strings are accepted
too. Everything a test scripts (pushes, faults, admins) is thread-safe; request handling runs
on the server's loop.

What is modelled: identity and token checks, long polling with ``offset``/``timeout``, the
webhook/getUpdates conflict, per-chat message ids, HTML parse-mode validation and entities,
the 4096 UTF-16 unit text limit and 1024 caption limit, "message is not modified", callback
query ids, chat members and admins, and scripted faults with Telegram's exact error bodies.
MarkdownV2 is not parsed: such text is measured and echoed as sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-TOKEN-abcdefghijklmnopqrstuvwxyz"
BOT_ID = 123456
BOT_USERNAME = "czt_digest_bot"
BOT_FIRST_NAME = "长株潭快报"
BOT_USER: dict[str, Any] = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": BOT_FIRST_NAME,
    "username": BOT_USERNAME,
}
DEFAULT_USER_ID = 4242  # the sender of pushed group messages unless a test names one

MAX_TEXT = 4096  # UTF-16 code units, after entity parsing
MAX_CAPTION = 1024

DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Internal Server Error",
}
MIGRATED = "Bad Request: group chat was upgraded to a supergroup chat"
TOO_LONG = "Bad Request: message is too long"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"

# Parameters whose form value is a plain string; every other value PTB sends is JSON-encoded.
_STRING_PARAMS = frozenset(
    [
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "secret_token",
        "ip_address",
        "language_code",
        "business_connection_id",
        "message_effect_id",
    ]
)
_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


class ApiError(Exception):
    """A Bot API error response: ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(
        self, error_code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


@dataclass(frozen=True)
class Call:
    """One request as the fake received it; ``error_code`` is None when it succeeded."""

    method: str
    params: dict[str, Any]
    time: float  # time.monotonic()
    content_type: str  # PTB 22: x-www-form-urlencoded, or multipart/form-data with files
    files: dict[str, int] = field(default_factory=dict)  # uploaded field -> size in bytes
    error_code: int | None = None


@dataclass(frozen=True)
class SentMessage:
    """A message the bot sent (``text`` is the text or caption exactly as the bot sent it)."""

    chat_id: int
    message_id: int
    method: str
    text: str | None
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    photo: bool
    photo_size: int | None  # bytes, when the photo was uploaded rather than referenced
    time: float  # time.monotonic(), for rate accounting
    message: dict[str, Any] = field(repr=False)  # the Message object that was returned


@dataclass
class _Fault:
    method: str
    chat_id: int | str | None
    times: int
    error: ApiError


@dataclass
class _Upload:
    filename: str | None
    content_type: str | None
    size: int


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def command_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command entity Telegram attaches to a leading ``/cmd`` or ``/cmd@bot``."""
    m = re.match(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{1,32})?", text)
    if not m:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(m.group())}]


class _HtmlEntities(HTMLParser):
    """Telegram's HTML parse mode: plain text plus entities, or Telegram's parse error."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
        self.parts: list[str] = []
        self.units = 0
        self.stack: list[tuple[str, int, dict[str, str | None]]] = []
        self.entities: list[dict[str, Any]] = []
        self.error: str | None = None

    def _byte_offset(self) -> int:
        line, col = self.getpos()
        return len(self.source[: self.line_starts[line - 1] + col].encode())

    def _fail(self, message: str) -> None:
        if self.error is None:
            self.error = message

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag not in _TAG_ENTITY or (tag == "span" and attributes.get("class") != "tg-spoiler"):
            self._fail(f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}')
        language = attributes.get("class") or ""
        if tag == "code" and self.stack and self.stack[-1][0] == "pre":
            if language.startswith("language-"):
                self.stack[-1][2]["language"] = language.removeprefix("language-")
            attributes["inside_pre"] = "1"
        self.stack.append((tag, self.units, attributes))

    def handle_endtag(self, tag: str) -> None:
        where = self._byte_offset()
        if self.error is not None:
            return
        if not self.stack:
            self._fail(f"Unexpected end tag at byte offset {where}")
            return
        open_tag, start, attributes = self.stack.pop()
        if open_tag != tag:
            self._fail(
                f'Unmatched end tag at byte offset {where}, expected "</{open_tag}>", '
                f'found "</{tag}>"'
            )
            return
        length = self.units - start
        if length == 0 or "inside_pre" in attributes:
            return
        kind = _TAG_ENTITY[tag]
        if tag == "blockquote" and "expandable" in attributes:
            kind = "expandable_blockquote"
        entity: dict[str, Any] = {"type": kind, "offset": start, "length": length}
        if tag == "a":
            entity["url"] = attributes.get("href") or ""
        elif tag == "pre" and attributes.get("language"):
            entity["language"] = attributes["language"]
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = attributes.get("emoji-id") or ""
        self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.units += utf16_len(data)

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        self.feed(self.source)
        self.close()
        if self.stack:
            self._fail(f'Can\'t find end tag corresponding to start tag "{self.stack[-1][0]}"')
        if self.error:
            raise ApiError(400, f"Bad Request: can't parse entities: {self.error}")
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), self.entities


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """The text Telegram would store and its entities; raises ApiError on bad HTML."""
    if parse_mode and parse_mode.upper() == "HTML":
        return _HtmlEntities(text).parse()
    return text, []


class FakeBotAPI:
    """A scriptable Bot API server; see the module docstring."""

    def __init__(
        self,
        token: str = TOKEN,
        *,
        strict_chats: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``strict_chats``: unknown chat ids get "chat not found" instead of being
        inferred (positive: private, -100...: supergroup, other negative: group).
        ``clock`` supplies message and update dates."""
        self.token = token
        self.strict_chats = strict_chats
        self.clock = clock
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._async_waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._calls: list[Call] = []
        self._sent: list[SentMessage] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1000)
        self._callback_ids = itertools.count(7_000_000_000_000_000_001)
        self._open_callbacks: set[str] = set()
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._admins: dict[int, set[int]] = {}
        self._creators: dict[int, int] = {}
        self._blocked: set[int] = set()
        self._faults: list[_Fault] = []
        self.crashes: list[Exception] = []  # bugs in the fake itself, answered with 500
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] = {"url": ""}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poll_wakeup: asyncio.Event | None = None
        self._poll_generation = 0
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """PTB's ``base_url``: PTB appends the token and ``/<method>``."""
        return f"http://127.0.0.1:{self.port}/bot"

    async def start(self) -> None:
        """Bind 127.0.0.1 on a free port and serve on the running loop."""
        self._loop = asyncio.get_running_loop()
        self._poll_wakeup = asyncio.Event()
        self._closing = False
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/{prefix}/{method}", self._handle)
        # handler_cancellation: a long poll whose client hung up stops waiting.
        self._runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=1.0,
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Release pending long polls and close the server."""
        self._closing = True
        self._wake_pollers()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._loop = None

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start_in_thread(self) -> FakeBotAPI:
        """Serve from a daemon thread with its own event loop; returns once bound."""
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as e:
                failure.append(e)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name="FakeBotAPI", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise RuntimeError("FakeBotAPI failed to start") from failure[0]
        return self

    def stop_thread(self, timeout: float = 5.0) -> None:
        """Stop a server started with :meth:`start_in_thread`."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._thread = None

    def __enter__(self) -> FakeBotAPI:
        return self.start_in_thread()

    def __exit__(self, *exc: object) -> None:
        self.stop_thread()

    # -- scripting: chats, users, updates ----------------------------------------------------

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

    # -- scripting: faults -------------------------------------------------------------------

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

    # -- journal -----------------------------------------------------------------------------

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

    # -- internals: notification -----------------------------------------------------------

    def _notify(self) -> None:
        """Something changed: wake sync and async waiters and long polls."""
        with self._changed:
            self._changed.notify_all()
            waiters = list(self._async_waiters)
        calls = [(loop, event.set) for loop, event in waiters]
        if self._loop is not None:
            calls.append((self._loop, self._wake_pollers))
        for loop, callback in calls:
            with contextlib.suppress(RuntimeError):  # that loop has closed meanwhile
                loop.call_soon_threadsafe(callback)

    def _wake_pollers(self) -> None:
        if self._poll_wakeup is not None:
            self._poll_wakeup.set()
            self._poll_wakeup = asyncio.Event()

    # -- internals: HTTP -------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        prefix, method = request.match_info["prefix"], request.match_info["method"]
        try:
            params = await _read_params(request)
        except ValueError:
            return _json(ApiError(400, "Bad Request: invalid request body").body(), 400)
        uploads = params.pop("__uploads__", {})
        files = {name: upload.size for name, upload in uploads.items()}
        call = Call(method, params, time.monotonic(), request.content_type, files)
        try:
            if not prefix.startswith("bot") or not re.fullmatch(r"\d+:[\w-]+", prefix[3:]):
                raise ApiError(404, "Not Found")
            if prefix[3:] != self.token:
                raise ApiError(401, "Unauthorized")
            handler = getattr(self, f"_api_{method.lower()}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            self._inject_fault(method, params)
            if method.lower() == "getupdates":
                result = await self._get_updates(params)
            else:
                with self._lock:
                    result = handler(params, uploads)
        except Exception as e:
            if not isinstance(e, ApiError):  # a bug in the fake: answer as Telegram's 500 would
                self.crashes.append(e)
                e = ApiError(500, f"Internal Server Error: fake crashed: {e!r}")
            self._record(dataclasses.replace(call, error_code=e.error_code))
            return _json(e.body(), e.error_code)
        self._record(call)
        return _json({"ok": True, "result": result}, 200)

    def _record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)
        self._notify()

    def _inject_fault(self, method: str, params: dict[str, Any]) -> None:
        with self._lock:
            for fault in self._faults:
                if fault.method != method.lower():
                    continue
                if fault.chat_id is not None and str(fault.chat_id) != str(params.get("chat_id")):
                    continue
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                raise fault.error

    # -- internals: methods ----------------------------------------------------------------
    # Each _api_<method> runs under self._lock and returns the ``result`` or raises ApiError.

    def _api_getme(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        return {
            **BOT_USER,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        with self._lock:
            if self.webhook["url"]:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            # A newer getUpdates terminates an older pending one, as on Telegram.
            self._poll_generation += 1
            generation = self._poll_generation
        self._wake_pollers()
        offset = int(params.get("offset") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = float(params.get("timeout") or 0)
        allowed = params.get("allowed_updates") or []
        deadline = time.monotonic() + timeout
        while True:
            assert self._poll_wakeup is not None
            wakeup = self._poll_wakeup
            with self._lock:
                if generation != self._poll_generation:
                    raise ApiError(409, DESCRIPTIONS[409])
                self._confirm(offset)
                ready = [u for u in self._updates if not allowed or any(k in u for k in allowed)][
                    :limit
                ]
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0 or self._closing:
                return ready
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), remaining)

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _api_getupdates(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        raise AssertionError("handled asynchronously by _get_updates")

    def _api_deletewebhook(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        self.webhook = {"url": ""}
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _api_setwebhook(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        url = params.get("url") or ""
        if url and not url.startswith("https://"):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        self.webhook = {k: v for k, v in params.items() if k != "secret_token"}
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _api_getwebhookinfo(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        info: dict[str, Any] = {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        for key in ("max_connections", "allowed_updates", "ip_address"):
            if key in self.webhook:
                info[key] = self.webhook[key]
        return info

    def _api_setmycommands(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        commands = params.get("commands") or []
        for c in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", c.get("command", "")):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(c.get("description", "")) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[_commands_key(params)] = commands
        return True

    def _api_getmycommands(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        return self.commands.get(_commands_key(params), [])

    def _api_deletemycommands(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        self.commands.pop(_commands_key(params), None)
        return True

    def _api_sendmessage(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        chat = self._chat_for_send(params)
        raw = params.get("text")
        if raw is None or str(raw) == "":
            raise ApiError(400, "Bad Request: message text is empty")
        text, entities = parse_text(str(raw), params.get("parse_mode"))
        if utf16_len(text) > MAX_TEXT:
            raise ApiError(400, TOO_LONG)
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        message = self._bot_message(chat, params)
        message["text"] = text
        entities = params.get("entities") or entities or command_entities(text)
        if entities:
            message["entities"] = entities
        return self._deliver("sendMessage", chat, params, message, str(raw), None)

    def _api_sendphoto(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        chat = self._chat_for_send(params)
        photo = params.get("photo")
        upload = uploads.get("photo")
        if isinstance(photo, str) and photo.startswith("attach://"):
            upload = uploads.get(photo.removeprefix("attach://"))
        if upload is None and not photo:
            raise ApiError(400, "Bad Request: there is no photo in the request")
        message = self._bot_message(chat, params)
        size = upload.size if upload else None
        message["photo"] = [
            {
                "file_id": f"AgAC-fake-{chat['id']}-{message['message_id']}",
                "file_unique_id": f"AQAD{message['message_id']}",
                "width": 1280,
                "height": 720,
                "file_size": size or 0,
            }
        ]
        caption = params.get("caption")
        if caption:
            text, entities = parse_text(str(caption), params.get("parse_mode"))
            if utf16_len(text) > MAX_CAPTION:
                raise ApiError(400, "Bad Request: message caption is too long")
            message["caption"] = text
            if entities:
                message["caption_entities"] = entities
        return self._deliver("sendPhoto", chat, params, message, caption, size, photo=True)

    def _api_editmessagetext(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        message = self._message_to_edit(params)
        text, entities = parse_text(str(params.get("text") or ""), params.get("parse_mode"))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > MAX_TEXT:
            raise ApiError(400, TOO_LONG)
        markup = _inline_markup(params.get("reply_markup"))
        entities = params.get("entities") or entities
        if (
            message.get("text") == text
            and message.get("entities", []) == entities
            and message.get("reply_markup") == markup
        ):
            raise ApiError(400, NOT_MODIFIED)
        return self._edit(message, {"text": text, "entities": entities, "reply_markup": markup})

    def _api_editmessagereplymarkup(
        self, params: dict[str, Any], uploads: dict[str, _Upload]
    ) -> Any:
        message = self._message_to_edit(params)
        markup = _inline_markup(params.get("reply_markup"))
        if message.get("reply_markup") == markup:
            raise ApiError(400, NOT_MODIFIED)
        return self._edit(message, {"reply_markup": markup})

    def _api_answercallbackquery(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        query_id = str(params.get("callback_query_id"))
        if query_id not in self._open_callbacks:
            raise ApiError(400, QUERY_INVALID)
        self._open_callbacks.discard(query_id)
        return True

    def _api_getchat(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        chat = self._chat(params.get("chat_id"))
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _api_getchatmember(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        chat = self._chat(params.get("chat_id"))
        user_id = int(params.get("user_id") or 0)
        user = BOT_USER if user_id == BOT_ID else _user(user_id)
        if chat["type"] == "private" and user_id not in (chat["id"], BOT_ID):
            raise ApiError(400, "Bad Request: member not found")
        if self._creators.get(chat["id"]) == user_id:
            return _member(user, "creator")
        if user_id in self._admins.get(chat["id"], set()):
            return _member(user, "administrator")
        return _member(user, "member")

    def _api_getchatadministrators(
        self, params: dict[str, Any], uploads: dict[str, _Upload]
    ) -> Any:
        chat = self._chat(params.get("chat_id"))
        if chat["type"] == "private":
            raise ApiError(400, "Bad Request: there are no administrators in the private chat")
        creator = self._creators.get(chat["id"])
        admins = sorted(self._admins.get(chat["id"], set()) - {creator})
        members = [_member(_user(creator), "creator")] if creator is not None else []
        return members + [
            _member(BOT_USER if a == BOT_ID else _user(a), "administrator") for a in admins
        ]

    def _api_close(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        return True

    def _api_logout(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        return True

    # -- internals: chats and messages -------------------------------------------------------

    def _chat(self, chat_id: Any, *, lenient: bool | None = None) -> dict[str, Any]:
        lenient = not self.strict_chats if lenient is None else lenient
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            for chat in self._chats.values():
                if chat.get("username", "").lower() == chat_id[1:].lower():
                    return chat
            raise ApiError(400, DESCRIPTIONS[400])
        try:
            cid = int(chat_id)
        except (TypeError, ValueError):
            raise ApiError(400, DESCRIPTIONS[400]) from None
        if cid not in self._chats:
            if not lenient or cid == 0:
                raise ApiError(400, DESCRIPTIONS[400])
            self.add_chat(cid)
        return self._chats[cid]

    def _chat_for_push(self, chat_id: int, chat_type: str | None) -> dict[str, Any]:
        with self._lock:
            chat = self._chats.get(chat_id)
            if chat is None or (chat_type and chat["type"] != chat_type):
                return self.add_chat(chat_id, chat_type)
            return dict(chat)

    def _chat_for_send(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params.get("chat_id"))
        if chat["id"] in self._blocked:
            raise ApiError(403, DESCRIPTIONS[403])
        return chat

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _bot_message(self, chat: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": 0,  # assigned on delivery, once every check has passed
            "from": BOT_USER,
            "chat": chat,
            "date": int(self.clock()),
        }
        reply_to = params.get("reply_to_message_id") or (
            (params.get("reply_parameters") or {}).get("message_id")
        )
        if reply_to and (chat["id"], int(reply_to)) in self._messages:
            message["reply_to_message"] = self._messages[(chat["id"], int(reply_to))]
        markup = _inline_markup(params.get("reply_markup"))
        if markup:
            message["reply_markup"] = markup
        return message

    def _deliver(
        self,
        method: str,
        chat: dict[str, Any],
        params: dict[str, Any],
        message: dict[str, Any],
        text: str | None,
        photo_size: int | None,
        *,
        photo: bool = False,
    ) -> dict[str, Any]:
        message["message_id"] = self._next_message_id(chat["id"])
        self._messages[(chat["id"], message["message_id"])] = message
        self._sent.append(
            SentMessage(
                chat_id=chat["id"],
                message_id=message["message_id"],
                method=method,
                text=text,
                parse_mode=params.get("parse_mode"),
                reply_markup=params.get("reply_markup"),
                photo=photo,
                photo_size=photo_size,
                time=time.monotonic(),
                message=message,
            )
        )
        return message

    def _message_to_edit(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("inline_message_id"):
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat = self._chat(params.get("chat_id"))
        message = self._messages.get((chat["id"], int(params.get("message_id") or 0)))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if message["from"]["id"] != BOT_ID:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    def _edit(self, message: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        for key, value in changes.items():
            if value:
                message[key] = value
            else:
                message.pop(key, None)
        message["edit_date"] = int(self.clock())
        return message


# -- module helpers ------------------------------------------------------------------------


def _inferred_type(chat_id: int) -> str:
    if chat_id > 0:
        return "private"
    return "supergroup" if chat_id <= -1_000_000_000_000 else "group"


def _user(user_id: int, first_name: str | None = None, username: str | None = None) -> dict:
    user: dict[str, Any] = {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name or f"User {user_id}",
        "language_code": "zh-hans",
    }
    if username:
        user["username"] = username
    return user


_ADMIN_RIGHTS_ON = (
    "can_manage_chat can_delete_messages can_manage_video_chats can_change_info "
    "can_invite_users can_pin_messages"
)
_ADMIN_RIGHTS_OFF = (
    "can_be_edited is_anonymous can_restrict_members can_promote_members can_post_stories "
    "can_edit_stories can_delete_stories"
)


def _member(user: dict[str, Any], status: str) -> dict[str, Any]:
    """A ChatMember object with the fields PTB requires for ``status``."""
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(dict.fromkeys(_ADMIN_RIGHTS_OFF.split(), False))
        member.update(dict.fromkeys(_ADMIN_RIGHTS_ON.split(), True))
    elif status == "kicked":
        member["until_date"] = 0
    elif status == "restricted":
        raise ValueError("restricted members are not modelled")
    return member


def _inline_markup(markup: Any) -> dict[str, Any] | None:
    """Telegram echoes only inline keyboards in Message.reply_markup."""
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        return markup
    return None


def _commands_key(params: dict[str, Any]) -> str:
    scope = params.get("scope") or {"type": "default"}
    return json.dumps([scope, params.get("language_code") or ""], sort_keys=True)


def _decode(name: str, value: str) -> Any:
    """Undo PTB's encoding: strings are sent raw, everything else as JSON."""
    if name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Parameters from the query string and a JSON, urlencoded or multipart body.

    Uploaded files land in ``params["__uploads__"]`` as ``{field: _Upload}``."""
    params: dict[str, Any] = {k: _decode(k, v) for k, v in request.query.items()}
    uploads: dict[str, _Upload] = {}
    if request.content_type == "application/json":
        body = await request.json() if request.can_read_body else {}
        if not isinstance(body, dict):
            raise ValueError("JSON body must be an object")
        params.update(body)
    elif request.content_type == "multipart/form-data":
        reader = await request.multipart()
        async for part in reader:
            if not hasattr(part, "read") or part.name is None:
                continue
            data = await part.read()  # type: ignore[union-attr]
            if part.filename is not None:  # type: ignore[union-attr]
                content_type = part.headers.get("Content-Type")
                uploads[part.name] = _Upload(part.filename, content_type, len(data))  # type: ignore[union-attr]
            else:
                params[part.name] = _decode(part.name, data.decode())
    elif request.can_read_body:
        form = await request.post()
        params.update({k: _decode(k, v) for k, v in form.items() if isinstance(v, str)})
    params["__uploads__"] = uploads
    return params


def _json(body: dict[str, Any], status: int) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))
