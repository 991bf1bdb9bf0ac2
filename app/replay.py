"""Replay protection for signed callbacks (WeChat): a timestamp window, seen nonces and
answered messages.

WeChat's plain-mode signature covers only the token, timestamp and nonce, not the body,
so a captured query string would otherwise sign any body, for ever. A request is refused
when its timestamp is more than ``window`` seconds from our clock, or when its nonce was
already seen with a different message. A message's identity is its sender, its MsgId
and a hash of its XML (the raw body, or the decrypted XML in encrypted mode), so a
forged ``Content`` under a captured query string is another message. WeChat's retries
of one message (same identity) may repeat the nonce. A message once answered is
remembered too (``ANSWERED``): the channel replays its cached answer, and after a
restart, with no cache, refuses it instead of processing it again.

Seen nonces and answered messages live in SQLite (``storage.nonces``), so a restart does
not reopen the window; they are forgotten after two windows, when any request carrying
them is refused for its timestamp anyway.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from storage.nonces import Nonces

FRESH = "fresh"  # first sight of this nonce, or a retry of a message not yet answered
ANSWERED = "answered"  # a retry of a message that was already answered
REPLAY = "replay"  # the nonce carried another message, or there is no nonce: refuse


def message_identity(sender: str, message_id: str, xml: bytes) -> str:
    """What makes two requests the same message: sender, MsgId and the XML itself."""
    body = hashlib.sha256(xml).hexdigest()
    return hashlib.sha256(f"{sender}\n{message_id}\n{body}".encode()).hexdigest()


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

    async def claim(self, nonce: str, message: str) -> str:
        """``REPLAY`` when ``nonce`` is missing or was used for another message, else
        ``ANSWERED`` when ``message`` (a ``message_identity``) was answered, else ``FRESH``."""
        if not nonce:
            return REPLAY

        def claim() -> str:
            now, keep = int(self.clock()), 2 * self.window
            if not self._nonces.claim(self.channel, nonce, message, now=now, keep=keep):
                return REPLAY
            return ANSWERED if self._nonces.answered(self.channel, message) else FRESH

        return await self._call(claim)

    async def answered(self, message: str) -> None:
        """Record that ``message`` got its answer: it is never processed again."""
        await self._call(
            lambda: self._nonces.mark_answered(self.channel, message, now=int(self.clock()))
        )

    async def _call(self, call: Callable[[], str | None]) -> str:
        loop = asyncio.get_running_loop()
        return str(await loop.run_in_executor(self._executor, call))

    def close(self) -> None:
        self._executor.shutdown(wait=True)
