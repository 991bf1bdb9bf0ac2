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
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.botapi.entities import command_entities, parse_text, utf16_len
from tests.botapi.methods import BotMethods
from tests.botapi.scripting import Scripting
from tests.botapi.wire import (
    BOT_FIRST_NAME,
    BOT_ID,
    BOT_USER,
    BOT_USERNAME,
    DEFAULT_USER_ID,
    DESCRIPTIONS,
    MAX_CAPTION,
    MAX_TEXT,
    MIGRATED,
    NOT_MODIFIED,
    QUERY_INVALID,
    TOKEN,
    TOO_LONG,
    ApiError,
    Call,
    SentMessage,
    _Fault,
    _json,
    _read_params,
)

__all__ = [
    "BOT_FIRST_NAME",
    "BOT_ID",
    "BOT_USER",
    "BOT_USERNAME",
    "DEFAULT_USER_ID",
    "DESCRIPTIONS",
    "MAX_CAPTION",
    "MAX_TEXT",
    "MIGRATED",
    "NOT_MODIFIED",
    "QUERY_INVALID",
    "TOKEN",
    "TOO_LONG",
    "ApiError",
    "Call",
    "FakeBotAPI",
    "SentMessage",
    "command_entities",
    "parse_text",
    "utf16_len",
]


class FakeBotAPI(Scripting, BotMethods):
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
