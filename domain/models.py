"""Domain values shared by storage, digests and channels. Frozen, no behaviour beyond views."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

FEED = "feed"  # FeedState.kind of an RSS/Atom feed
SOURCE = "source"  # FeedState.kind of a web source (a list page, feeds.webread)


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
    last_error_kind: str | None = None  # one of domain.errors.FEED_ERROR_KINDS
    consecutive_failures: int = 0
    disabled: int = 0  # 0 active, 1 disabled after failures or 410, 2 removed by a user
    next_poll_at: int | None = None
    entries_total: int = 0
    kind: str = FEED  # FEED or SOURCE
    spec: str = ""  # a web source's SourceSpec as JSON ("" for feeds)
    list_hash: str | None = None  # a web source's last complete link list

    @property
    def active(self) -> bool:
        return self.disabled == 0

    @property
    def is_source(self) -> bool:
        return self.kind == SOURCE


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

    def tagged(self, cities: Sequence[str] = (), topics: Sequence[str] = ()) -> bool:
        """True when the story has one of ``cities`` (if any) and one of ``topics`` (if any)."""
        if cities and not set(cities) & set(self.cities):
            return False
        return not (topics and not set(topics) & set(self.topics))


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


@dataclass(frozen=True)
class Subscription:
    """A city, a topic, or a city·topic pair (湘潭 交通: only transport news about 湘潭)."""

    city: str | None = None
    topic: str | None = None

    @property
    def label(self) -> str:
        return "·".join(x for x in (self.city, self.topic) if x)

    def matches(self, story: Story) -> bool:
        if self.city and self.city not in story.cities:
            return False
        return not (self.topic and self.topic not in story.topics)


@dataclass(frozen=True)
class Chat:
    """A delivery target: a Telegram chat, a WeCom robot or the console user."""

    id: int  # our own key
    channel: str  # "telegram" | "wecom" | "wechat" | "console"
    address: str  # the channel's id for it: Telegram chat id, robot name, OpenID
    kind: str = "private"  # "private" | "group"
    subscriptions: tuple[Subscription, ...] = ()
    day: str = "mon"
    time: str = "09:00"
    timezone: str = "Asia/Shanghai"
    paused: bool = False
    active: bool = True  # False after the chat blocked us, until it writes again
    last_digest_at: int | None = None  # end of the period the last delivered digest covered
    next_due_at: int | None = None
    watches: tuple[str, ...] = ()  # keywords watched beside the subscriptions
    alerts: bool = False  # instant alerts when a new story matches a watch
    alerts_checked_at: int | None = None  # stories first seen before this were looked at

    @property
    def follows(self) -> bool:
        """Subscribed to something: a city, a topic or a keyword."""
        return bool(self.subscriptions or self.watches)
