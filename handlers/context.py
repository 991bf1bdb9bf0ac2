"""What every command handler gets: who asked (``Request``) and what it may use (``Context``).

Handlers are small functions ``(ctx, req, args) -> Reply``; they parse the user's words, call
storage and the application, and say the result as ``domain.reply`` values. They never
write markup and never know which channel asked.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from analysis.subscriptions import parse_subscriptions, split_keywords
from app.core import Core
from domain.errors import UserInputError
from domain.models import Chat, Subscription
from domain.schedule import next_due

MAX_ARG_CHARS = 200


@dataclass(frozen=True)
class Request:
    channel: str  # "telegram" | "wecom" | "wechat" | "console"
    address: str  # the chat's id on that channel
    kind: str = "private"  # "private" | "group"
    user: str = ""  # who wrote (Telegram user id), for logs and rate limits
    is_admin: bool = False  # a bot admin ([telegram] admin_ids)
    can_change: bool = True  # may change this chat's settings (group admins only in groups)
    words: bool = False  # the channel calls commands by Chinese words (WeChat), not /slash


class RateLimit:
    """At most ``limit`` events per ``window`` seconds per key."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._times: dict[tuple[str, str], deque[float]] = {}

    def allow(self, key: tuple[str, str]) -> bool:
        now = float(self.clock())
        times = self._times.setdefault(key, deque())
        while times and now - times[0] > self.window:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        return True


class Recent(OrderedDict[tuple[str, str], str]):
    """The last search of each chat, for paging; the oldest are forgotten past ``size``."""

    def __init__(self, size: int = 1000) -> None:
        super().__init__()
        self.size = size

    def remember(self, key: tuple[str, str], value: str) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


@dataclass
class Context:
    core: Core
    clock: Callable[[], float] = time.monotonic
    searches: Recent = field(default_factory=Recent)
    search_rate: RateLimit = field(init=False)

    def __post_init__(self) -> None:
        self.search_rate = RateLimit(10, 60.0, self.clock)  # 10 searches a minute per chat

    def chat(self, req: Request) -> Chat:
        """The asking chat, created with the configured default schedule on first contact."""
        d = self.core.settings.digest
        return self.core.storage.chats.ensure(
            req.channel,
            req.address,
            now=self.core.now(),
            kind=req.kind,
            day=d.day,
            time=d.time,
            timezone=d.timezone,
        )

    def reschedule(self, chat_id: int, *, only_if_unset: bool = False) -> None:
        """Set the chat's next digest time from its schedule."""
        chat = self.core.storage.chats.by_id(chat_id)
        if chat is None or (only_if_unset and chat.next_due_at is not None):
            return
        due = next_due(chat.day, chat.time, chat.timezone, self.core.now())
        self.core.storage.chats.update(chat_id, next_due_at=due)

    def cmd(self, req: Request, name: str) -> str:
        """Command ``name`` as the asking chat writes it, for hints: its first Chinese word
        where commands are words (WeChat: 订阅), else the slash command (/subscribe)."""
        from handlers.commands import BY_NAME  # the table imports the handlers, and this

        return BY_NAME[name].called(req.words)

    def choices(self, req: Request) -> str:
        tx = self.core.taxonomy
        return (
            f"可选城市：{'、'.join(tx.city_names)}；可选主题：{'、'.join(tx.topic_names)}。"
            f"例如：{self.cmd(req, 'subscribe')} 湘潭 交通"
        )

    def unknown(self, req: Request, words: list[str]) -> UserInputError:
        named = "、".join(w[:20] for w in words[:3])
        return UserInputError(f"不认识“{named}”。" + self.choices(req))

    def filters(self, req: Request, args: str) -> tuple[list[str], list[str]]:
        """Cities and topics named in ``args``; anything else is refused."""
        cities, topics, bad = self.core.tagger.resolve(args.split())
        if bad:
            raise self.unknown(req, bad)
        return cities, topics

    def follows(self, req: Request, args: str) -> tuple[list[Subscription], list[str]]:
        """Subscriptions and keywords to watch: a word that is neither a city nor a topic
        is a keyword (融城干道); one that search could not find (punctuation) is refused."""
        subs, unknown = parse_subscriptions(self.core.tagger, args)
        keywords, refused = split_keywords(unknown)
        if refused:
            raise self.unknown(req, refused)
        return subs, keywords
