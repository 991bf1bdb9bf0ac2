from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from app.config import SAMPLE_FEEDS, Settings, load_settings
from feeds.fetch import FetchOptions
from feeds.netpolicy import AddressPolicy
from tests.feedserver import FeedServer

if TYPE_CHECKING:
    from app.core import Core

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
FEEDS = DATA / "feeds"
SAMPLES = ROOT / "feeds" / "samples"
NOW = 1795564800  # 2026-11-25 00:00 UTC: after every sample entry
# The stand-in servers listen on 127.0.0.1: tests allow exactly that network.
LOOPBACK_ALLOW = ("127.0.0.0/8",)
LOOPBACK = FetchOptions(policy=AddressPolicy(allow=LOOPBACK_ALLOW))
LOOPBACK_CONFIG = '[feeds]\nallow_private = ["127.0.0.0/8"]\n'


def allow_loopback(settings: Settings) -> Settings:
    """``settings`` with the loopback test servers allowed by the address policy."""
    feeds = dataclasses.replace(settings.feeds, allow_private=LOOPBACK_ALLOW)
    # Web sources wait between requests to one host; tests that time it use a fake clock.
    sources = dataclasses.replace(settings.sources, delay_seconds=0.0)
    return dataclasses.replace(settings, feeds=feeds, sources=sources)


class FakeClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def _root_logging() -> Iterator[None]:
    """``bot.main`` installs its own log handler; put pytest's back after each test."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def core(tmp_path: Path, clock: FakeClock) -> Iterator[Core]:
    from app.core import Core

    settings = load_settings(None, environ={}, db_path=str(tmp_path / "czt.db"))
    c = Core(allow_loopback(settings), clock=clock)
    yield c
    c.close()


@pytest.fixture(scope="session")
def sample_core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Core]:
    """A core with the bundled sample feeds ingested once (read-only use)."""
    from app.core import Core

    path = tmp_path_factory.mktemp("sample") / "czt.db"
    settings = load_settings(None, environ={}, db_path=str(path))
    c = Core(settings, clock=FakeClock())
    c.ingestor().ingest(c.storage.feeds.active(), NOW)
    yield c
    c.close()


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


__all__ = [
    "DATA",
    "FEEDS",
    "LOOPBACK",
    "LOOPBACK_CONFIG",
    "NOW",
    "ROOT",
    "SAMPLES",
    "SAMPLE_FEEDS",
    "FakeClock",
    "allow_loopback",
]


@pytest.fixture
def sample_copy(sample_core: Core, tmp_path: Path) -> Iterator[Core]:
    """A private, writable copy of the sample database, on a fake clock at NOW."""
    import shutil

    from app.core import Core

    # The shared sample must stay pristine: tests that write use a copy.
    assert sample_core.storage.db.scalar("SELECT COUNT(*) FROM chats") == 0
    sample_core.storage.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    dst = tmp_path / "copy.db"
    shutil.copy(sample_core.storage.db.path, dst)
    c = Core(load_settings(None, environ={}, db_path=str(dst)), clock=FakeClock(NOW))
    yield c
    c.close()


# -- the WeChat server world (tests/wechat_world.py) -------------------------------------


@pytest.fixture
def world(sample_core: Core, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.wechat_world import make_world

    w = make_world(sample_core, tmp_path_factory.mktemp("wechat"), encrypted=False)
    yield w
    w.core.close()


@pytest.fixture
def secure(sample_core: Core, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.wechat_world import make_world

    w = make_world(sample_core, tmp_path_factory.mktemp("wechat-aes"), encrypted=True)
    yield w
    w.core.close()
