"""Chat service calls off the event loop, in a small pool of worker threads.

A handler that waits for SQLite (another process holding the write lock, a slow disk)
must not stall every other chat: the asyncio loop only ever awaits. Storage gives each
worker thread a connection of its own, so no connection is shared by two threads; the
workers share the service's in-memory state (search pages, rate limits).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from handlers.service import ChatService

T = TypeVar("T")
WORKERS = 4


class ServicePool:
    """Runs ``call(service)`` in one of ``workers`` threads and awaits the result."""

    def __init__(self, service: ChatService, *, workers: int = WORKERS) -> None:
        self.service = service
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chat-db")

    async def run(self, call: Callable[[ChatService], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, call, self.service)

    def close(self) -> None:
        """Wait for the running calls; queued ones are dropped."""
        self._executor.shutdown(wait=True, cancel_futures=True)
