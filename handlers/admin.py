"""Bot administrators: feeds and their health, statistics."""

from __future__ import annotations

from digests.failures import feed_error_zh
from domain.errors import FeedError, ParseError
from domain.models import FeedState
from domain.reply import BOLD, Block, Reply, Span, block, line, say
from domain.urls import redacted
from feeds.webread import SourceSpec
from handlers.context import Context, Request


def _feed_block(feed: FeedState) -> Block:
    state = "✅" if feed.active else "⛔ 已停用"
    if feed.active and feed.consecutive_failures:
        state = f"⚠️ 连续失败 {feed.consecutive_failures} 次"
    url = redacted(feed.url)  # a private feed's token never reaches a chat
    lines = [line(f"{state} {feed.title or url}"), line(url)]
    if feed.last_error:
        lines.append(line("最近错误：" + feed_error_zh(feed.last_error_kind, feed.last_error)))
    return Block(tuple(lines))


def feeds(ctx: Context, req: Request, args: str) -> Reply:
    found = ctx.core.storage.feeds.list()
    if not found:
        return say(f"还没有订阅源。用 {ctx.cmd(req, 'addfeed')} URL 添加。")
    return say("📡 订阅源", *(_feed_block(f) for f in found))


def addfeed(ctx: Context, req: Request, args: str) -> Reply:
    url = args.split()[0] if args else ""
    if not url.startswith(("http://", "https://")):
        return say(
            f"请给出订阅源的网址，例如：{ctx.cmd(req, 'addfeed')} https://example.com/rss.xml"
        )
    try:
        parsed = ctx.core.probe_feed(url)
    except ParseError:  # a web page: the feed it advertises, else the page as a web source
        return add_page(ctx, url)
    except FeedError as err:
        return say("无法添加：" + feed_error_zh(err.kind, str(err)))
    _, changed = ctx.core.storage.feeds.add(url, ctx.core.now(), parsed.title)
    if not changed:
        return say("这个订阅源已经在列表里了。")
    return say(f"已添加订阅源：{parsed.title or redacted(url)}（{len(parsed.entries)} 条）")


def add_page(ctx: Context, url: str) -> Reply:
    """Add what the page at ``url`` offers: its advertised feed, else the page itself."""
    try:
        feed_url, feed, listing = ctx.core.probe_page(url)
    except FeedError as err:
        return say("无法添加：" + feed_error_zh(err.kind, str(err)))
    now = ctx.core.now()
    if feed is not None:
        _, changed = ctx.core.storage.feeds.add(feed_url, now, feed.title)
        if not changed:
            return say("这个网页提供的订阅源已经在列表里了。")
        return say(
            f"已添加这个网页提供的订阅源：{feed.title or redacted(feed_url)}"
            f"（{len(feed.entries)} 条）",
            redacted(feed_url),
        )
    spec = SourceSpec(url=url, name=listing.title).to_json()
    _, changed = ctx.core.storage.sources.add(url, now, title=listing.title, spec=spec)
    if not changed:
        return say("这个网页已经在来源列表里了。")
    return say(
        f"这个网页没有 RSS/Atom 订阅源，已作为网页来源添加：{listing.title or redacted(url)}"
        f"（找到 {len(listing.articles)} 个文章链接，只收录与长株潭一体化相关的报道）"
    )


def removefeed(ctx: Context, req: Request, args: str) -> Reply:
    url = args.split()[0] if args else ""
    if not url:
        return say(f"请给出要删除的订阅源网址，{ctx.cmd(req, 'feeds')} 可查看列表。")
    if not ctx.core.storage.feeds.remove(url):
        return say("列表里没有这个订阅源。")
    return say("已删除订阅源（已收录的报道保留）。")


_EVENTS_ZH = (
    ("sent", "已发送"),
    ("rate_limited", "限流重试"),
    ("transient", "临时错误重试"),
    ("blocked", "被屏蔽"),
    ("invalid_target", "失效目标"),
    ("migrated", "迁移"),
    ("ambiguous", "待确认重发"),
)


def stats(ctx: Context, req: Request, args: str) -> Reply:
    store = ctx.core.storage
    chats = store.chats.counts()
    counts = store.articles.counts()
    all_feeds = store.feeds.list()
    failing = sum(1 for f in all_feeds if f.active and f.consecutive_failures)
    disabled = sum(1 for f in all_feeds if not f.active)
    events = store.deliveries.event_counts()
    return say(
        block(
            line(Span("📈 统计", BOLD)),
            f"订阅者：{chats['subscribers']}（订阅 {chats['subscriptions']} 项，"
            f"停用会话 {chats['inactive']}）",
            f"报道：{counts['stories']} 条（文章 {counts['articles']} 篇）",
            f"订阅源：{len(all_feeds)} 个，异常 {failing} 个，停用 {disabled} 个",
            "投递：" + "，".join(f"{zh} {events.get(kind, 0)}" for kind, zh in _EVENTS_ZH),
        )
    )
