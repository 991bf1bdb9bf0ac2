"""The weekly digest: preview it, browse the latest stories and figures, set its schedule."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from app.delivery import digest_for
from app.tracking import tracked
from digests.condense import key_figures
from digests.present import first_sentence, series_lines, story_link
from digests.render import digest_blocks, key_figure_line
from domain.errors import UserInputError
from domain.reply import MORE, Block, Button, Reply, line, say
from domain.schedule import describe, parse_day, parse_time, zone
from handlers.context import Context, Request

LATEST = 5
FIGURE_LINES = 8
FIGURE_DAYS = 30
PROGRESS_LISTS = 8
ALL_FIGURES = 10_000


def _scope(cities: list[str], topics: list[str]) -> str:
    return f"（{' '.join(cities + topics)}）" if cities or topics else ""


def latest(ctx: Context, req: Request, args: str) -> Reply:
    cities, topics = ctx.filters(req, args)
    stories = [s for s in ctx.core.storage.articles.latest(200) if s.tagged(cities, topics)]
    if not stories:
        return say("暂时没有相关报道。")
    script = ctx.core.settings.analysis.display_script
    blocks = [
        Block(
            (
                line("• ", story_link(s, style="", script=script)),
                line(first_sentence(s, 80, script)),
            )
        )
        for s in stories[:LATEST]
    ]
    return say("🆕 最新动态" + _scope(cities, topics), *blocks)


def figures(ctx: Context, req: Request, args: str) -> Reply:
    """The key figures of the last month, each once (merged as in the digest)."""
    cities, topics = ctx.filters(req, args)
    core = ctx.core
    since = core.now() - FIGURE_DAYS * 86400
    stories = [s for s in core.storage.articles.recent_stories(since) if s.tagged(cities, topics)]
    found = key_figures(stories, series=tracked(core), locate=core.locate)
    if not found:
        return say(f"近 {FIGURE_DAYS} 天没有相关的关键数据。")
    tz = ZoneInfo(ctx.chat(req).timezone)
    lines = tuple(key_figure_line(k, tz) for k in found[:FIGURE_LINES])
    return say(f"📊 近 {FIGURE_DAYS} 天关键数据" + _scope(cities, topics), Block(lines))


def progress(ctx: Context, req: Request, args: str) -> Reply:
    """Tracked task lists: where each stands and how it got there."""
    cities, topics = ctx.filters(req, args)
    found = tracked(ctx.core, cities=cities, topics=topics)
    if not found:
        return say("还没有跟踪到相关的任务清单进展。" if args else "还没有跟踪到任务清单进展。")
    tz = ZoneInfo(ctx.chat(req).timezone)
    blocks = [Block(series_lines(s, tz)) for s in found[:PROGRESS_LISTS]]
    rest = len(found) - len(blocks)
    narrow = f"可加城市或主题缩小范围，如 {ctx.cmd(req, 'progress')} 湘潭。"
    tail = f"另有 {rest} 项清单，{narrow}" if rest > 0 else ""
    return say("📈 任务清单进展" + _scope(cities, topics), *blocks, tail)


def digest(ctx: Context, req: Request, args: str) -> Reply:
    chat = ctx.chat(req)
    if not chat.follows:
        return say(f"还没有订阅，周报无从生成。发送 {ctx.cmd(req, 'subscribe')} 订阅城市或主题。")
    composed = digest_for(ctx.core, chat, ctx.core.now() + 1)  # up to and including now
    if composed.empty:
        return say("本周暂无新动态。")
    more = ((Button("更多", f"k:{len(composed.key_figures)}", MORE),),)
    script = ctx.core.settings.analysis.display_script
    return say(
        *digest_blocks(
            composed, timezone=chat.timezone, script=script, latest=ctx.cmd(req, "latest")
        ),
        buttons=more if composed.more_figures > 0 else (),
    )


def more_figures(ctx: Context, req: Request, offset: int) -> Reply:
    """The "更多" button of a digest: its key figures beyond the first ``offset``."""
    chat = ctx.chat(req)
    settings = ctx.core.settings.digest
    composed = digest_for(ctx.core, chat, ctx.core.now() + 1, max_figures=ALL_FIGURES)
    merged = composed.key_figures
    page = merged[offset : offset + settings.max_figures]
    if not page:
        return say("没有更多关键数据了。")
    tz = ZoneInfo(chat.timezone)
    end = offset + len(page)
    more = ((Button("更多", f"k:{end}", MORE),),) if end < len(merged) else ()
    return say(Block(tuple(key_figure_line(k, tz) for k in page)), buttons=more)


def _settings_examples(ctx: Context, req: Request, sep: str) -> str:
    s = ctx.cmd(req, "settings")
    return sep.join(
        (f"{s} 周五 18:00", f"{s} 时区 Asia/Shanghai", f"{s} 暂停", f"{s} 恢复", f"{s} 提醒 开")
    )


_ON, _OFF = ("开", "开启", "打开", "on"), ("关", "关闭", "off")


def settings(ctx: Context, req: Request, args: str) -> Reply:
    chat = ctx.chat(req)
    store = ctx.core.storage.chats
    words = args.split()
    if not words:
        state = "已暂停" if chat.paused else "正常"
        alerts = "开" if chat.alerts else "关"
        return say(
            f"周报时间：{describe(chat.day, chat.time, chat.timezone)}，状态：{state}，"
            f"关键词即时提醒：{alerts}",
            "修改示例：" + _settings_examples(ctx, req, "；"),
        )
    if words[0] in ("提醒", "alerts"):
        return _alerts(ctx, req, words[1:])
    if words[0] in ("暂停", "pause"):
        store.update(chat.id, paused=1)
        return say(f"周报已暂停。发送 {ctx.cmd(req, 'settings')} 恢复 重新开始。")
    if words[0] in ("恢复", "resume"):
        store.update(chat.id, paused=0)
        ctx.reschedule(chat.id)
        return say("周报已恢复。")
    if words[0] in ("时区", "tz", "timezone") and len(words) == 2:
        zone(words[1])
        store.update(chat.id, timezone=words[1])
        ctx.reschedule(chat.id)
        chat = ctx.chat(req)
        return say(
            f"时区已改为 {words[1]}。周报时间：{describe(chat.day, chat.time, chat.timezone)}"
        )
    day = next((d for d in (parse_day(w) for w in words) if d), None)
    at = next((t for t in (parse_time(w) for w in words) if t), None)
    if (day is None and at is None) or len(words) > 2:
        raise UserInputError("没看懂这个设置。示例：" + _settings_examples(ctx, req, "，"))
    store.update(chat.id, day=day or chat.day, time=at or chat.time)
    ctx.reschedule(chat.id)
    chat = ctx.chat(req)
    return say(f"好的，周报时间改为 {describe(chat.day, chat.time, chat.timezone)}。")


def _alerts(ctx: Context, req: Request, words: list[str]) -> Reply:
    """/settings 提醒 开|关: a short message when a new story matches a watched keyword."""
    chat = ctx.chat(req)
    if len(words) != 1 or words[0] not in (*_ON, *_OFF):
        raise UserInputError(f"请说明开还是关，例如：{ctx.cmd(req, 'settings')} 提醒 开")
    on = words[0] in _ON
    # Only stories first seen from now on are news to an alert.
    ctx.core.storage.chats.update(chat.id, alerts=int(on), alerts_checked_at=ctx.core.now())
    if not on:
        return say("关键词即时提醒已关闭。")
    per_day = ctx.core.settings.digest.alerts_per_day
    add = f"发送 {ctx.cmd(req, 'subscribe')} 融城干道 添加"
    note = "" if chat.watches else f"（还没有关注关键词：{add}）"
    return say(
        f"关键词即时提醒已开启：有新报道提到关注的关键词时提醒，每天最多 {per_day} 次。{note}"
    )
