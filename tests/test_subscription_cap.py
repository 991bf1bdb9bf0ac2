"""A chat follows at most 30 things (subscriptions and keywords together): what would go
past that is refused and named, never dropped in silence."""

from __future__ import annotations

from app.core import Core
from domain.models import Subscription
from handlers.service import ChatService, Request
from storage.chats import MAX_SUBSCRIPTIONS


def _full(core: Core, req: Request) -> tuple[ChatService, list[Subscription]]:
    """A chat holding 29 of the 31 city/topic choices; the other two are returned."""
    service = ChatService(core)
    chat = service.chat(req)
    tx = core.taxonomy
    every = [Subscription(city=c) for c in tx.city_names]
    every += [Subscription(topic=t) for t in tx.topic_names]
    every += [Subscription(city=c, topic=t) for c in tx.city_names for t in tx.topic_names]
    added, refused = core.storage.chats.subscribe(chat.id, every[:29], core.now())
    assert len(added) == 29 and refused == []
    return service, every[29:]


def test_the_storage_returns_what_it_refused(sample_copy: Core) -> None:
    service, rest = _full(sample_copy, Request("console", "cap0"))
    chat = service.chat(Request("console", "cap0"))
    store = sample_copy.storage.chats
    added, refused = store.subscribe(chat.id, [*chat.subscriptions[:1], *rest], sample_copy.now())
    assert added == rest[:1] and refused == rest[1:]  # one already held: neither
    watched, over = store.watch(chat.id, ["融城干道"], sample_copy.now())
    assert watched == [] and over == ["融城干道"]


def test_subscribing_past_the_cap_says_what_was_not_added(sample_copy: Core) -> None:
    req = Request("console", "cap1")
    service, rest = _full(sample_copy, req)
    labels = [s.label for s in rest]
    reply = service.command(req, "subscribe", f"{labels[0]}，{labels[1]}，融城干道").text
    assert f"已订阅：{labels[0]}" in reply
    assert f"最多订阅 {MAX_SUBSCRIPTIONS} 项，未添加：{labels[1]}、“融城干道”" in reply
    assert "已经订阅过" not in reply
    chat = service.chat(req)
    assert len(chat.subscriptions) + len(chat.watches) == MAX_SUBSCRIPTIONS


def test_keywords_count_toward_the_cap(sample_copy: Core) -> None:
    req = Request("console", "cap2")
    service, rest = _full(sample_copy, req)
    assert "已作为关键词关注" in service.command(req, "subscribe", "融城干道").text
    reply = service.command(req, "subscribe", rest[0].label).text
    assert f"未添加：{rest[0].label}" in reply


def test_a_toggle_past_the_cap_says_so(sample_copy: Core) -> None:
    req = Request("telegram", "cap3")
    service = ChatService(sample_copy)
    chat = service.chat(req)
    tx = sample_copy.taxonomy
    *held, spare = tx.city_names
    subs = [Subscription(city=c) for c in held] + [Subscription(topic=t) for t in tx.topic_names]
    subs += [Subscription(city=c, topic=t) for c in tx.city_names for t in tx.topic_names]
    sample_copy.storage.chats.subscribe(chat.id, subs[:MAX_SUBSCRIPTIONS], sample_copy.now())
    reply = service.callback(req, f"t:{spare}").text
    assert f"最多订阅 {MAX_SUBSCRIPTIONS} 项，未添加：{spare}" in reply
    assert f"已订阅：{spare}" not in reply
