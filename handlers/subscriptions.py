"""Subscribing: cities, topics and city·topic pairs, by words or by buttons."""

from __future__ import annotations

from domain.errors import UserInputError
from domain.models import Chat, Subscription
from domain.reply import TOGGLE, Button, Reply, say
from domain.schedule import describe
from handlers.context import Context, Request


def subscriptions_line(chat: Chat) -> str:
    if not chat.subscriptions:
        return "当前没有订阅。"
    return "当前订阅：" + "、".join(s.label for s in chat.subscriptions)


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
            "点按下面的按钮订阅或取消（可多选）。也可以发送 /subscribe 湘潭 交通 "
            "只订阅湘潭的交通新闻。",
            subscriptions_line(chat),
            buttons=keyboard(ctx, chat) if req.can_change else (),
        )
    subs = ctx.subscriptions(args)
    if not subs:
        raise UserInputError("请告诉我要订阅什么。" + ctx.choices())
    ctx.reschedule(chat.id, only_if_unset=True)
    added = ctx.core.storage.chats.subscribe(chat.id, subs, ctx.core.now())
    chat = ctx.chat(req)
    head = ("已订阅：" + "、".join(s.label for s in added)) if added else "这些已经订阅过了。"
    return say(
        head,
        subscriptions_line(chat),
        f"周报时间：{describe(chat.day, chat.time, chat.timezone)}（/settings 可修改）",
    )


def unsubscribe(ctx: Context, req: Request, args: str) -> Reply:
    chat = ctx.chat(req)
    if not args:
        if not chat.subscriptions:
            return say("当前没有订阅。发送 /subscribe 开始订阅。")
        return say(
            "点按已订阅（✅）的按钮即可取消。",
            subscriptions_line(chat),
            buttons=keyboard(ctx, chat) if req.can_change else (),
        )
    subs = list(chat.subscriptions) if args in ("全部", "all") else ctx.subscriptions(args)
    removed = ctx.core.storage.chats.unsubscribe(chat.id, subs)
    chat = ctx.chat(req)
    head = ("已退订：" + "、".join(s.label for s in removed)) if removed else "没有这些订阅。"
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
        return say("这个按钮已失效，请重新发送 /subscribe。")
    chat = ctx.chat(req)
    store = ctx.core.storage.chats
    if sub in chat.subscriptions:
        store.unsubscribe(chat.id, [sub])
        note = f"已退订：{label}"
    else:
        ctx.reschedule(chat.id, only_if_unset=True)
        store.subscribe(chat.id, [sub], ctx.core.now())
        note = f"已订阅：{label}"
    chat = ctx.chat(req)
    return say(note, subscriptions_line(chat), buttons=keyboard(ctx, chat))
