"""The storage facade: one object, split by domain, the only code that touches SQLite.

store = Storage.open("data/czt.db")
store.feeds      feeds and their fetch state
store.sources    web sources (feeds of kind 'source') and the article links seen
store.articles   articles, stories, near-duplicate merging, FTS upkeep
store.search     keyword search
store.nonces     request nonces seen by callbacks (replay protection)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storage.articles import Articles
from storage.chats import Chats
from storage.db import Database
from storage.deliveries import Deliveries
from storage.feeds import Feeds
from storage.nonces import Nonces
from storage.search import Search
from storage.sources import Sources


class Storage:
    def __init__(
        self,
        db: Database,
        *,
        threshold: float = 0.5,
        **search: Any,
    ) -> None:
        self.db = db
        self.feeds = Feeds(db)
        self.sources = Sources(db, self.feeds)
        self.articles = Articles(db, threshold)
        self.search = Search(db, self.articles, **search)
        self.chats = Chats(db)
        self.deliveries = Deliveries(db)
        self.nonces = Nonces(db)

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        threshold: float = 0.5,
        **search: Any,
    ) -> Storage:
        """``search`` passes on to ``Search`` (``clock``, ``weights``)."""
        return cls(Database(path), threshold=threshold, **search)

    def close(self) -> None:
        self.db.close()


__all__ = ["Storage"]
