"""What the bot says: every command's logic, channel-agnostic.

Channels turn an incoming message into a ``Request`` plus words, call ``ChatService``
and render the ``Reply``. Replies are Telegram-style HTML blocks (the console and
WeChat strip the markup); every piece of user or article text is escaped here.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from analysis.summary import condense
from app.core import Core
from app.delivery import digest_for
from digests.compose import story_figures
from digests.render import render_html
from domain.errors import FeedError, InvalidQueryError, StorageError, UserInputError
from domain.models import Chat, SearchPage, Story, Subscription
from domain.schedule import describe, next_due, parse_day, parse_time, zone
from handlers.commands import BY_NAME, BY_WORD, help_text
from storage import fts

log = logging.getLogger(__name__)

SEARCH_PAGE = 5
SEARCH_RATE = (10, 60.0)  # at most 10 searches a minute per chat
MAX_ARG_CHARS = 200


@dataclass(frozen=True)
class Request:
    channel: str  # "telegram" | "wecom" | "wechat" | "console"
    address: str  # the chat's id on that channel
    kind: str = "private"  # "private" | "group"
    user: str = ""  # who wrote (Telegram user id), for logs and rate limits
    is_admin: bool = False  # a bot admin ([telegram] admin_ids)
    can_change: bool = True  # may change this chat's settings (group admins only in groups)


@dataclass(frozen=True)
class Button:
    text: str
    data: str  # callback data, at most 64 bytes


@dataclass(frozen=True)
class Reply:
    blocks: tuple[str, ...]
    buttons: tuple[tuple[Button, ...], ...] = ()
    photo: bytes | None = None

    @property
    def text(self) -> str:
        return "\n\n".join(self.blocks)


def say(*blocks: str, buttons: tuple[tuple[Button, ...], ...] = ()) -> Reply:
    return Reply(tuple(b for b in blocks if b), buttons)


def e(text: object) -> str:
    return html.escape(str(text), quote=False)


@dataclass
class ChatService:
    core: Core
    clock: object = time.monotonic
    _searches: OrderedDict[tuple[str, str], str] = field(default_factory=OrderedDict)
    _rate: dict[tuple[str, str], deque[float]] = field(default_factory=dict)

    # -- entry points -------------------------------------------------------------

    def command(self, req: Request, name: str, args: str) -> Reply:
        """A /command with its argument text."""
        cmd = BY_NAME.get(name.lower())
        if cmd is None:
            return say(
                f"没有 /{e(name[:40])} 这个命令。发送 /help 查看全部命令，或直接发送关键词搜索。"
            )
        if cmd.admin and not req.is_admin:
            return say("抱歉，这个命令只有管理员可以使用。")
        if cmd.changes_chat and not req.can_change and args.strip():
            return say("只有群管理员可以修改本群的订阅和设置。")
        args = args.strip()
        if len(args) > MAX_ARG_CHARS:
            return say(f"参数太长了（最多 {MAX_ARG_CHARS} 个字）。")
        try:
            return getattr(self, f"cmd_{cmd.name}")(req, args)
        except (UserInputError, InvalidQueryError) as err:
            return say(e(err))
        except StorageError as err:
            log.error("service.storage_error command=%s error=%s", cmd.name, err)
            return say("服务暂时繁忙，请稍后再试。")

    def text(self, req: Request, text: str) -> Reply:
        """Plain text: a command word (订阅 湘潭) or a /command, else a search."""
        text = text.strip()
        if text.startswith("/"):
            head, _, rest = text[1:].partition(" ")
            return self.command(req, head.split("@", 1)[0], rest)
        head, _, rest = text.partition(" ")
        cmd = BY_WORD.get(head) or BY_WORD.get(text)
        if cmd is not None:
            return self.command(req, cmd.name, rest if BY_WORD.get(head) else "")
        return self.command(req, "search", text)

    def callback(self, req: Request, data: str) -> Reply:
        """An inline button press. ``data`` is untrusted: it only ever acts on ``req``'s chat."""
        action, _, value = data.partition(":")
        if action == "t" and value:
            if not req.can_change:
                return say("只有群管理员可以修改本群的订阅。")
            return self._toggle(req, value)
        if action == "s" and value.isdigit():
            return self._search_page(req, None, int(value))
        if action == "c" and value in BY_NAME and not BY_NAME[value].admin:
            return self.command(req, value, "")
        return say("这个按钮已失效，请重新发送命令。")

    # -- helpers ------------------------------------------------------------------

    def chat(self, req: Request) -> Chat:
        d = self.core.settings.digest
        chat = self.core.storage.chats.ensure(
            req.channel,
            req.address,
            now=self.core.now(),
            kind=req.kind,
            day=d.day,
            time=d.time,
            timezone=d.timezone,
        )
        return chat

    def parse_subscriptions(self, args: str) -> list[Subscription]:
        """ "湘潭 交通" → 湘潭·交通; "长沙 株洲" → 长沙, 株洲; groups split by ，、,；"""
        tagger = self.core.tagger
        subs: list[Subscription] = []
        unknown: list[str] = []
        for group in _split_groups(args):
            cities, topics, bad = tagger.resolve(group.replace("·", " ").split())
            unknown += bad
            if cities and topics:
                subs += [Subscription(c, t) for c in cities for t in topics]
            else:
                subs += [Subscription(city=c) for c in cities]
                subs += [Subscription(topic=t) for t in topics]
        if unknown:
            raise UserInputError(
                f"不认识“{'、'.join(u[:20] for u in unknown[:3])}”。" + self._choices()
            )
        return list(dict.fromkeys(subs))

    def _choices(self) -> str:
        tx = self.core.taxonomy
        return (
            f"可选城市：{'、'.join(tx.city_names)}；可选主题：{'、'.join(tx.topic_names)}。"
            "例如：/subscribe 湘潭 交通"
        )

    def _keyboard(self, chat: Chat) -> tuple[tuple[Button, ...], ...]:
        tx = self.core.taxonomy
        have = {s.label for s in chat.subscriptions}

        def button(label: str) -> Button:
            mark = "✅ " if label in have else ""
            return Button(mark + label, f"t:{label}")

        cities = tuple(button(c) for c in tx.city_names)
        topics = [button(t) for t in tx.topic_names]
        rows = [cities] + [tuple(topics[i : i + 4]) for i in range(0, len(topics), 4)]
        return tuple(rows)

    def _toggle(self, req: Request, label: str) -> Reply:
        tx = self.core.taxonomy
        if label in tx.city_names:
            sub = Subscription(city=label)
        elif label in tx.topic_names:
            sub = Subscription(topic=label)
        else:
            return say("这个按钮已失效，请重新发送 /subscribe。")
        chat = self.chat(req)
        store = self.core.storage.chats
        if sub in chat.subscriptions:
            store.unsubscribe(chat.id, [sub])
            note = f"已退订：{e(label)}"
        else:
            self._start_schedule(chat)
            store.subscribe(chat.id, [sub], self.core.now())
            note = f"已订阅：{e(label)}"
        chat = self.chat(req)
        return say(note, self._subscriptions_line(chat), buttons=self._keyboard(chat))

    def _start_schedule(self, chat: Chat) -> None:
        if chat.next_due_at is None:
            due = next_due(chat.day, chat.time, chat.timezone, self.core.now())
            self.core.storage.chats.update(chat.id, next_due_at=due)

    def _subscriptions_line(self, chat: Chat) -> str:
        if not chat.subscriptions:
            return "当前没有订阅。"
        return "当前订阅：" + "、".join(e(s.label) for s in chat.subscriptions)

    def _rate_ok(self, req: Request) -> bool:
        limit, window = SEARCH_RATE
        now = float(self.clock())  # type: ignore[operator]
        key = (req.channel, req.address)
        times = self._rate.setdefault(key, deque())
        while times and now - times[0] > window:
            times.popleft()
        if len(times) >= limit:
            return False
        times.append(now)
        return True

    def _filters(self, args: str) -> tuple[list[str], list[str]]:
        cities, topics, bad = self.core.tagger.resolve(args.split())
        if bad:
            raise UserInputError(
                f"不认识“{'、'.join(b[:20] for b in bad[:3])}”。" + self._choices()
            )
        return cities, topics

    # -- commands -----------------------------------------------------------------

    def cmd_start(self, req: Request, args: str) -> Reply:
        chat = self.chat(req)
        return say(
            "<b>长株潭一体化快报</b>",
            "我每周把长沙、株洲、湘潭一体化的新闻浓缩成一份周报：完成了多少合作事项、"
            "开工了哪些项目、投资多少，一目了然。",
            f"订阅城市或主题后，{describe(chat.day, chat.time, chat.timezone)}收到周报；"
            "直接发送关键词即可搜索。",
            buttons=(
                (Button("订阅城市/主题", "c:subscribe"), Button("最新动态", "c:latest")),
                (Button("关键数据", "c:figures"), Button("帮助", "c:help")),
            ),
        )

    def cmd_help(self, req: Request, args: str) -> Reply:
        return say(help_text(admin=req.is_admin, words=req.channel == "wechat"))

    def cmd_subscribe(self, req: Request, args: str) -> Reply:
        chat = self.chat(req)
        if not args:
            return say(
                "点按下面的按钮订阅或取消（可多选）。也可以发送 /subscribe 湘潭 交通 "
                "只订阅湘潭的交通新闻。",
                self._subscriptions_line(chat),
                buttons=self._keyboard(chat) if req.can_change else (),
            )
        subs = self.parse_subscriptions(args)
        if not subs:
            raise UserInputError("请告诉我要订阅什么。" + self._choices())
        self._start_schedule(chat)
        added = self.core.storage.chats.subscribe(chat.id, subs, self.core.now())
        chat = self.chat(req)
        head = (
            ("已订阅：" + "、".join(e(s.label) for s in added)) if added else "这些已经订阅过了。"
        )
        return say(
            head,
            self._subscriptions_line(chat),
            f"周报时间：{describe(chat.day, chat.time, chat.timezone)}（/settings 可修改）",
        )

    def cmd_unsubscribe(self, req: Request, args: str) -> Reply:
        chat = self.chat(req)
        if not args:
            if not chat.subscriptions:
                return say("当前没有订阅。发送 /subscribe 开始订阅。")
            return say(
                "点按已订阅（✅）的按钮即可取消。",
                self._subscriptions_line(chat),
                buttons=self._keyboard(chat) if req.can_change else (),
            )
        if args in ("全部", "all"):
            subs = list(chat.subscriptions)
        else:
            subs = self.parse_subscriptions(args)
        removed = self.core.storage.chats.unsubscribe(chat.id, subs)
        chat = self.chat(req)
        head = (
            ("已退订：" + "、".join(e(s.label) for s in removed)) if removed else "没有这些订阅。"
        )
        return say(head, self._subscriptions_line(chat))

    def cmd_list(self, req: Request, args: str) -> Reply:
        chat = self.chat(req)
        state = "（已暂停）" if chat.paused else ""
        return say(
            self._subscriptions_line(chat),
            f"周报时间：{describe(chat.day, chat.time, chat.timezone)}{state}",
        )

    def cmd_search(self, req: Request, args: str) -> Reply:
        if not args:
            return say("请在命令后输入关键词，例如：/search 融城干道")
        if not self._rate_ok(req):
            return say("搜索太频繁了，请稍等一分钟再试。")
        return self._search_page(req, args, 0)

    def _search_page(self, req: Request, query: str | None, offset: int) -> Reply:
        key = (req.channel, req.address)
        if query is None:
            query = self._searches.get(key)
            if query is None:
                return say("这次搜索已过期，请重新发送关键词。")
        page = self.core.storage.search.search(query, limit=SEARCH_PAGE, offset=offset)
        # Remember the terms actually searched: a run-together query may have been split.
        self._searches[key] = " ".join(page.terms) or query
        self._searches.move_to_end(key)
        while len(self._searches) > 1000:
            self._searches.popitem(last=False)
        return self._render_page(query, page, offset)

    def _render_page(self, query: str, page: SearchPage, offset: int) -> Reply:
        if not page.hits:
            if offset:
                return say("没有更多结果了。")
            return say(f"没有找到与“{e(query)}”相关的报道。试试更短的词，例如“融城干道”或“湘潭”。")
        tz = zone(self.core.settings.digest.timezone)
        blocks = [f"🔎 “{e(query)}” 的搜索结果（第 {offset + 1}–{offset + len(page.hits)} 条）"]
        for i, hit in enumerate(page.hits, offset + 1):
            s = hit.story
            day = dt.datetime.fromtimestamp(s.published, tz).strftime("%m-%d")
            snippet = fts.mark(e(hit.snippet), _shift(hit.snippet, hit.highlights), "<b>", "</b>")
            sources = f" · 来源 {s.source_count} 家" if s.source_count > 1 else ""
            link = _link(s)
            blocks.append(f"{i}. {link}\n{day}{sources}\n{snippet}")
        buttons = ((Button("更多", f"s:{offset + SEARCH_PAGE}"),),) if page.has_more else ()
        return say(*blocks, buttons=buttons)

    def cmd_latest(self, req: Request, args: str) -> Reply:
        cities, topics = self._filters(args)
        stories = [s for s in self.core.storage.articles.latest(200) if s.tagged(cities, topics)][
            :5
        ]
        if not stories:
            return say("暂时没有相关报道。")
        blocks = ["🆕 最新动态" + (f"（{e(' '.join(cities + topics))}）" if args else "")]
        for s in stories:
            link = _link(s)
            summary = e(s.summary[:80])
            blocks.append(f"• {link}\n{summary}")
        return say(*blocks)

    def cmd_figures(self, req: Request, args: str) -> Reply:
        cities, topics = self._filters(args)
        since = self.core.now() - 30 * 86400
        stories = [
            s for s in self.core.storage.articles.recent_stories(since) if s.tagged(cities, topics)
        ]
        groups: dict[str, list] = {}
        for s in stories:
            city = next((c for c in cities if c in s.cities), s.cities[0] if s.cities else "")
            topic = next((t for t in topics if t in s.topics), s.topics[0] if s.topics else "")
            label = "·".join(x for x in (city, topic) if x) or "长株潭"
            groups.setdefault(label, []).extend(story_figures(s))
        lines = condense(groups)
        if not lines:
            return say("近 30 天没有相关的关键数据。")
        blocks = ["📊 近 30 天关键数据" + (f"（{e(' '.join(cities + topics))}）" if args else "")]
        for label, items in lines[:6]:
            blocks.append(f"<b>{e(label)}</b>\n" + "\n".join(f"• {e(x)}" for x in items))
        return say(*blocks)

    def cmd_digest(self, req: Request, args: str) -> Reply:
        chat = self.chat(req)
        if not chat.subscriptions:
            return say("还没有订阅，周报无从生成。发送 /subscribe 订阅城市或主题。")
        digest = digest_for(self.core, chat, self.core.now() + 1)  # up to and including now
        if digest.empty:
            return say("本周暂无新动态。")
        return say(*render_html(digest, timezone=chat.timezone))

    def cmd_settings(self, req: Request, args: str) -> Reply:
        chat = self.chat(req)
        store = self.core.storage.chats
        words = args.split()
        if not words:
            state = "已暂停" if chat.paused else "正常"
            return say(
                f"周报时间：{describe(chat.day, chat.time, chat.timezone)}，状态：{state}",
                "修改示例：/settings 周五 18:00；/settings 时区 Asia/Shanghai；"
                "/settings 暂停；/settings 恢复",
            )
        if words[0] in ("暂停", "pause"):
            store.update(chat.id, paused=1)
            return say("周报已暂停。发送 /settings 恢复 重新开始。")
        if words[0] in ("恢复", "resume"):
            store.update(chat.id, paused=0)
            self._reschedule(chat.id)
            return say("周报已恢复。")
        if words[0] in ("时区", "tz", "timezone") and len(words) == 2:
            zone(words[1])
            store.update(chat.id, timezone=words[1])
            self._reschedule(chat.id)
            chat = self.chat(req)
            return say(
                f"时区已改为 {e(words[1])}。"
                f"周报时间：{describe(chat.day, chat.time, chat.timezone)}"
            )
        day = next((d for d in (parse_day(w) for w in words) if d), None)
        at = next((t for t in (parse_time(w) for w in words) if t), None)
        if (day is None and at is None) or len(words) > 2:
            raise UserInputError(
                "没看懂这个设置。示例：/settings 周五 18:00（周几和时间），"
                "/settings 时区 Asia/Shanghai，/settings 暂停，/settings 恢复"
            )
        store.update(chat.id, day=day or chat.day, time=at or chat.time)
        self._reschedule(chat.id)
        chat = self.chat(req)
        return say(f"好的，周报时间改为 {describe(chat.day, chat.time, chat.timezone)}。")

    def _reschedule(self, chat_id: int) -> None:
        chat = self.core.storage.chats.by_id(chat_id)
        if chat is not None:
            due = next_due(chat.day, chat.time, chat.timezone, self.core.now())
            self.core.storage.chats.update(chat_id, next_due_at=due)

    def cmd_feeds(self, req: Request, args: str) -> Reply:
        feeds = self.core.storage.feeds.list()
        if not feeds:
            return say("还没有订阅源。用 /addfeed URL 添加。")
        blocks = ["📡 订阅源"]
        for f in feeds:
            state = "✅" if f.active else "⛔ 已停用"
            if f.active and f.consecutive_failures:
                state = f"⚠️ 连续失败 {f.consecutive_failures} 次"
            err = f"\n最近错误：{e(error_zh(f.last_error))}" if f.last_error else ""
            blocks.append(f"{state} {e(f.title or f.url)}\n{e(f.url)}{err}")
        return say(*blocks)

    def cmd_addfeed(self, req: Request, args: str) -> Reply:
        url = args.split()[0] if args else ""
        if not url.startswith(("http://", "https://")):
            return say("请给出订阅源的网址，例如：/addfeed https://example.com/rss.xml")
        try:
            parsed = self.core.probe_feed(url)
        except FeedError as err:
            return say(f"无法添加：{feed_error_zh(err)}")
        _, changed = self.core.storage.feeds.add(url, self.core.now(), parsed.title)
        if not changed:
            return say("这个订阅源已经在列表里了。")
        return say(f"已添加订阅源：{e(parsed.title or url)}（{len(parsed.entries)} 条）")

    def cmd_removefeed(self, req: Request, args: str) -> Reply:
        url = args.split()[0] if args else ""
        if not url:
            return say("请给出要删除的订阅源网址，/feeds 可查看列表。")
        if not self.core.storage.feeds.remove(url):
            return say("列表里没有这个订阅源。")
        return say("已删除订阅源（已收录的报道保留）。")

    def cmd_stats(self, req: Request, args: str) -> Reply:
        store = self.core.storage
        chats = store.chats.counts()
        counts = store.articles.counts()
        feeds = store.feeds.list()
        failing = sum(1 for f in feeds if f.active and f.consecutive_failures)
        disabled = sum(1 for f in feeds if not f.active)
        events = store.deliveries.event_counts()
        lines = [
            "<b>📈 统计</b>",
            f"订阅者：{chats['subscribers']}（订阅 {chats['subscriptions']} 项，"
            f"停用会话 {chats['inactive']}）",
            f"报道：{counts['stories']} 条（文章 {counts['articles']} 篇）",
            f"订阅源：{len(feeds)} 个，异常 {failing} 个，停用 {disabled} 个",
            "投递：已发送 {sent}，限流重试 {rl}，临时错误重试 {tr}，被屏蔽 {bl}，"
            "失效目标 {inv}，迁移 {mig}，待确认重发 {amb}".format(
                sent=events.get("sent", 0),
                rl=events.get("rate_limited", 0),
                tr=events.get("transient", 0),
                bl=events.get("blocked", 0),
                inv=events.get("invalid_target", 0),
                mig=events.get("migrated", 0),
                amb=events.get("ambiguous", 0),
            ),
        ]
        return say("\n".join(lines))


def _link(story: Story) -> str:
    """The story's escaped title, linked when its URL is http(s)."""
    title = e(story.title)
    if story.url.startswith(("http://", "https://")):
        return f'<a href="{html.escape(story.url, quote=True)}">{title}</a>'
    return title


def _split_groups(args: str) -> list[str]:
    for sep in "，,、；;":
        args = args.replace(sep, "|")
    return [g.strip() for g in args.split("|") if g.strip()]


def _shift(snippet: str, spans: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    """Map highlight spans of ``snippet`` onto its HTML-escaped form."""
    out = []
    for s, t in spans:
        out.append((len(e(snippet[:s])), len(e(snippet[:t]))))
    return tuple(out)


_ERRORS_ZH = (
    ("gone", "订阅源已不存在（404/410）"),
    ("HTML page", "这是网页，不是 RSS/Atom 订阅源"),
    ("empty document", "内容为空"),
    ("not a feed", "不是有效的 RSS/Atom 订阅源"),
    ("too large", "内容过大"),
    ("timed out", "连接超时"),
    ("redirects", "重定向次数过多"),
    ("network error", "无法连接到服务器"),
    ("invalid URL", "网址格式不正确"),
    ("unsupported URL scheme", "只支持 http 和 https 网址"),
    ("HTTP 429", "服务器要求稍后再试（429）"),
    ("HTTP 5", "服务器出错"),
    ("HTTP 4", "服务器拒绝了请求"),
    ("file not found", "文件不存在"),
)


def error_zh(message: str) -> str:
    """A feed error in Chinese for chat users, with the technical detail after it."""
    for needle, text in _ERRORS_ZH:
        if needle in message:
            return f"{text}（{message[:80]}）"
    return f"读取失败（{message[:80]}）"


def feed_error_zh(error: FeedError) -> str:
    return error_zh(str(error))
