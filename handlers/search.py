"""Keyword search, page by page."""

from __future__ import annotations

from digests.present import hit_lines
from domain.models import SearchPage
from domain.reply import MORE, Block, Button, Reply, line, say
from domain.schedule import zone
from handlers.context import Context, Request
from handlers.search_options import NEWEST_WORDS, split_sort

SEARCH_PAGE = 5


def search(ctx: Context, req: Request, args: str) -> Reply:
    if not split_sort(args)[0]:
        return say(
            f"请在命令后输入关键词，例如：{ctx.cmd(req, 'search')} 融城干道（加“最新”按时间排序）"
        )
    if not ctx.search_rate.allow((req.channel, req.address)):
        return say("搜索太频繁了，请稍等一分钟再试。")
    return page(ctx, req, args, 0)


def page(ctx: Context, req: Request, query: str | None, offset: int) -> Reply:
    """Results ``offset`` onwards of ``query``, or of the chat's last search when None."""
    key = (req.channel, req.address)
    if query is None:
        query = ctx.searches.get(key)
        if query is None:
            return say("这次搜索已过期，请重新发送关键词。")
    words, sort = split_sort(query)  # "融城干道 最新": newest first
    found = ctx.core.search(words, limit=SEARCH_PAGE, offset=offset, sort=sort)
    # Remember the terms actually searched (a run-together query may have been split)
    # and the order, as the words that ask for it.
    order = f" {NEWEST_WORDS[0]}" if sort == "newest" else ""
    ctx.searches.remember(key, (" ".join(found.terms) or words) + order)
    return _results(ctx, words, found, offset)


def _results(ctx: Context, query: str, found: SearchPage, offset: int) -> Reply:
    if not found.hits:
        if offset:
            return say("没有更多结果了。")
        return say(f"没有找到与“{query}”相关的报道。试试更短的词，例如“融城干道”或“湘潭”。")
    tz = zone(ctx.core.settings.digest.timezone)
    last = offset + len(found.hits)
    head = line(f"🔎 “{query}” 的搜索结果（第 {offset + 1}–{last} 条）")
    script = ctx.core.settings.analysis.display_script
    hits = [Block(hit_lines(i, hit, tz, script)) for i, hit in enumerate(found.hits, offset + 1)]
    buttons = ((Button("更多", f"s:{offset + SEARCH_PAGE}", MORE),),) if found.has_more else ()
    return say(head, *hits, buttons=buttons)
