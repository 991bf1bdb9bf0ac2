"""Subscribing: cities, topics and city·topic pairs, by words or by buttons."""

from __future__ import annotations

from domain.errors import UserInputError
from domain.models import Chat, Subscription
from domain.reply import TOGGLE, Button, Reply, say
from domain.schedule import describe
from handlers.context import Context, Request
from storage.chats import MAX_SUBSCRIPTIONS


def subscriptions_line(chat: Chat) -> str:
    if not chat.follows:
        return "当前没有订阅。"
    parts = []
    if chat.subscriptions:
        parts.append("当前订阅：" + "、".join(s.label for s in chat.subscriptions))
    if chat.watches:
        parts.append("关注关键词：" + "、".join(chat.watches))
    alerts = "（即时提醒已开启）" if chat.alerts and chat.watches else ""
    return "；".join(parts) + alerts


def _over_cap(labels: list[str]) -> str:
    return f"最多订阅 {MAX_SUBSCRIPTIONS} 项，未添加：{'、'.join(labels)}。可先退订不需要的。"


def keyboard(ctx: Context, chat: Chat) -> tuple[tuple[Button, ...], ...]:
    """One toggle button per city and topic, ✅ on those subscribed."""
    tx = ctx.core.taxonomy
    have = {s.label for s in chat.subscriptions}

    def button(label: str) -> Button:
        mark = "✅ " if label in have else ""
        return Button(mark + label, f"t:{label}", TOGGLE)

    cities = tuple(button(c) for c in tx.city_names)
    topics = [button(t) for t in tx.topic_names]
    return (cities, *(tuple(topics[i : i + 4]) for i in range(0, len(topics), 4)))


def subscribe(ctx: Context, req: Request, args: str) -> Reply:
    chat = ctx.chat(req)
    if not args:
        return say(
            "点按下面的按钮订阅或取消（可多选）。"
            f"也可以发送 {ctx.cmd(req, 'subscribe')} 湘潭 交通 只订阅湘潭的交通新闻。",
            subscriptions_line(chat),
            buttons=keyboard(ctx, chat) if req.can_change else (),
        )
    subs, keywords = ctx.follows(req, args)
    if not subs and not keywords:
        raise UserInputError("请告诉我要订阅什么。" + ctx.choices(req))
    ctx.reschedule(chat.id, only_if_unset=True)
    store = ctx.core.storage.chats
    added, refused = store.subscribe(chat.id, subs, ctx.core.now())
    watched, unwatched = store.watch(chat.id, keywords, ctx.core.now())
    chat = ctx.chat(req)
    head = ("已订阅：" + "、".join(s.label for s in added)) if added else ""
    if watched:
        words = "、".join(f"“{w}”" for w in watched)
        head += ("\n" if head else "") + (
            f"{words}不是城市或主题，已作为关键词关注：周报会收录提到它的报道"
            f"（{ctx.cmd(req, 'settings')} 提醒 开 可在有新报道时即时提醒）。" + ctx.choices(req)
        )
    if refused or unwatched:
        left = [s.label for s in refused] + [f"“{w}”" for w in unwatched]
        head += ("\n" if head else "") + _over_cap(left)
    return say(
        head or "这些已经订阅过了。",
        subscriptions_line(chat),
        f"周报时间：{describe(chat.day, chat.time, chat.timezone)}"
        f"（{ctx.cmd(req, 'settings')} 可修改）",
    )


def unsubscribe(ctx: Context, req: Request, args: str) -> Reply:
    chat = ctx.chat(req)
    if not args:
        if not chat.follows:
            return say(f"当前没有订阅。发送 {ctx.cmd(req, 'subscribe')} 开始订阅。")
        return say(
            "点按已订阅（✅）的按钮即可取消。",
            subscriptions_line(chat),
            buttons=keyboard(ctx, chat) if req.can_change else (),
        )
    if args in ("全部", "all"):
        subs, keywords = list(chat.subscriptions), list(chat.watches)
    else:
        subs, keywords = ctx.follows(req, args)
    store = ctx.core.storage.chats
    removed = [s.label for s in store.unsubscribe(chat.id, subs)]
    removed += store.unwatch(chat.id, keywords)
    chat = ctx.chat(req)
    head = ("已退订：" + "、".join(removed)) if removed else "没有这些订阅。"
    return say(head, subscriptions_line(chat))


def show(ctx: Context, req: Request, args: str) -> Reply:
    chat = ctx.chat(req)
    state = "（已暂停）" if chat.paused else ""
    return say(
        subscriptions_line(chat),
        f"周报时间：{describe(chat.day, chat.time, chat.timezone)}{state}",
    )


def toggle(ctx: Context, req: Request, label: str) -> Reply:
    """A toggle button: subscribe to ``label`` or drop it."""
    if not req.can_change:
        return say("只有群管理员可以修改本群的订阅。")
    tx = ctx.core.taxonomy
    if label in tx.city_names:
        sub = Subscription(city=label)
    elif label in tx.topic_names:
        sub = Subscription(topic=label)
    else:
        return say(f"这个按钮已失效，请重新发送 {ctx.cmd(req, 'subscribe')}。")
    chat = ctx.chat(req)
    store = ctx.core.storage.chats
    if sub in chat.subscriptions:
        store.unsubscribe(chat.id, [sub])
        note = f"已退订：{label}"
    else:
        ctx.reschedule(chat.id, only_if_unset=True)
        _, refused = store.subscribe(chat.id, [sub], ctx.core.now())
        note = _over_cap([label]) if refused else f"已订阅：{label}"
    chat = ctx.chat(req)
    return say(note, subscriptions_line(chat), buttons=keyboard(ctx, chat))
