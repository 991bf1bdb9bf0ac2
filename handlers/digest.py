"""The weekly digest: preview it, browse the latest stories and figures, set its schedule."""

from __future__ import annotations

from analysis.summary import condense
from app.delivery import digest_for
from digests.compose import story_figures
from digests.present import first_sentence, story_link
from digests.render import digest_blocks
from domain.errors import UserInputError
from domain.reply import BOLD, Block, Reply, Span, line, say
from domain.schedule import describe, parse_day, parse_time, zone
from handlers.context import Context, Request

LATEST = 5
FIGURE_GROUPS = 6
FIGURE_DAYS = 30


def _scope(cities: list[str], topics: list[str]) -> str:
    return f"（{' '.join(cities + topics)}）" if cities or topics else ""


def latest(ctx: Context, req: Request, args: str) -> Reply:
    cities, topics = ctx.filters(args)
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
    cities, topics = ctx.filters(args)
    since = ctx.core.now() - FIGURE_DAYS * 86400
    stories = [
        s for s in ctx.core.storage.articles.recent_stories(since) if s.tagged(cities, topics)
    ]
    region = ctx.core.taxonomy.region
    groups: dict[str, list] = {}
    for s in stories:
        city = next((c for c in cities if c in s.cities), s.cities[0] if s.cities else "")
        topic = next((t for t in topics if t in s.topics), s.topics[0] if s.topics else "")
        label = "·".join(x for x in (city, topic) if x) or region
        groups.setdefault(label, []).extend(story_figures(s))
    lines = condense(groups)
    if not lines:
        return say(f"近 {FIGURE_DAYS} 天没有相关的关键数据。")
    blocks = [
        Block((line(Span(label, BOLD)), *(line(f"• {x}") for x in items)))
        for label, items in lines[:FIGURE_GROUPS]
    ]
    return say(f"📊 近 {FIGURE_DAYS} 天关键数据" + _scope(cities, topics), *blocks)


def digest(ctx: Context, req: Request, args: str) -> Reply:
    chat = ctx.chat(req)
    if not chat.subscriptions:
        return say("还没有订阅，周报无从生成。发送 /subscribe 订阅城市或主题。")
    composed = digest_for(ctx.core, chat, ctx.core.now() + 1)  # up to and including now
    if composed.empty:
        return say("本周暂无新动态。")
    script = ctx.core.settings.analysis.display_script
    return say(*digest_blocks(composed, timezone=chat.timezone, script=script))


_SETTINGS_HELP = (
    "没看懂这个设置。示例：/settings 周五 18:00（周几和时间），"
    "/settings 时区 Asia/Shanghai，/settings 暂停，/settings 恢复"
)


def settings(ctx: Context, req: Request, args: str) -> Reply:
    chat = ctx.chat(req)
    store = ctx.core.storage.chats
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
        raise UserInputError(_SETTINGS_HELP)
    store.update(chat.id, day=day or chat.day, time=at or chat.time)
    ctx.reschedule(chat.id)
    chat = ctx.chat(req)
    return say(f"好的，周报时间改为 {describe(chat.day, chat.time, chat.timezone)}。")
