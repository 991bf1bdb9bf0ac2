"""Domain values shared by storage, digests and channels. Frozen, no behaviour beyond views."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FeedState:
    id: int
    url: str
    title: str
    origin: str  # "config" or "user"
    added_at: int
    etag: str | None = None
    last_modified: str | None = None
    last_attempt_at: int | None = None
    last_success_at: int | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    disabled: int = 0  # 0 active, 1 disabled after failures or 410, 2 removed by a user
    next_poll_at: int | None = None
    entries_total: int = 0

    @property
    def active(self) -> bool:
        return self.disabled == 0


@dataclass(frozen=True)
class Story:
    """One piece of news, possibly carried by several outlets (its sources)."""

    id: int
    title: str
    url: str
    published: int
    first_seen: int
    cities: tuple[str, ...]
    topics: tuple[str, ...]
    summary: str
    source_count: int
    sources: tuple[str, ...] = ()
    figures: tuple[dict[str, object], ...] = ()


@dataclass(frozen=True)
class SearchHit:
    story: Story
    snippet: str
    highlights: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class SearchPage:
    hits: tuple[SearchHit, ...]
    has_more: bool
    terms: tuple[str, ...] = field(default=())
