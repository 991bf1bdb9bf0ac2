"""Replay protection for signed callbacks (WeChat): a timestamp window and seen nonces.

WeChat's plain-mode signature covers only the token, timestamp and nonce, not the body,
so a captured query string would otherwise sign any body, for ever. A request is refused
when its timestamp is more than ``window`` seconds from our clock, or when its nonce was
already seen with a different message. WeChat's retries of one message (same sender and
MsgId) may repeat the nonce and still get their cached answer. Seen nonces live in SQLite
(``storage.nonces``), so a restart does not reopen the window; they are forgotten after
two windows, when any request carrying them is refused for its timestamp anyway.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from storage.nonces import Nonces


class ReplayGuard:
    def __init__(
        self, nonces: Nonces, *, channel: str, window: int, clock: Callable[[], float]
    ) -> None:
        self.channel = channel
        self.window = window
        self.clock = clock
        self._nonces = nonces
        # A thread of its own (and so a connection of its own): a claim never waits
        # behind a slow command.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{channel}-nonce")

    def fresh(self, timestamp: str) -> bool:
        """Whether ``timestamp`` (seconds, as sent) is within the window of our clock."""
        try:
            sent = int(timestamp)
        except ValueError:
            return False
        return abs(self.clock() - sent) <= self.window

    async def claim(self, nonce: str, sender: str, message_id: str) -> bool:
        """False when ``nonce`` was already used for another message (a replay)."""
        if not nonce:
            return False
        message = hashlib.sha256(f"{sender}\n{message_id}".encode()).hexdigest()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor,
            lambda: self._nonces.claim(
                self.channel, nonce, message, now=int(self.clock()), keep=2 * self.window
            ),
        )

    def close(self) -> None:
        self._executor.shutdown(wait=True)
