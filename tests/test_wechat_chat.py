"""Talking to the bot through WeChat: commands, paging with 更多, retries, slow replies."""

from __future__ import annotations

import asyncio
import dataclasses
import xml.etree.ElementTree as ET

import aiohttp
import pytest

from channels.wechat import BUSY, MORE_RESULTS, NO_MORE, NOT_TEXT, serve
from channels.wechat_xml import MORE_POINTER, REPLY_LIMIT, paginate
from digests.markup import TEXT, render_reply
from digests.split import utf8_len
from domain.models import Subscription
from domain.reply import MORE
from handlers.service import Request
from tests.wechat_world import USER, Phone, World, message_xml, run, signed


@pytest.mark.parametrize("mode", ["plain", "aes"])
def test_subscribe_then_list(world: World, secure: World, mode: str) -> None:
    w = world if mode == "plain" else secure

    async def scenario(chat: Phone) -> None:
        text = await chat.reply("订阅 湘潭 交通")
        assert "已订阅：湘潭·交通" in text
        text = await chat.reply("我的订阅")
        assert "当前订阅：湘潭·交通" in text and "<" not in text

    run(w, scenario)
    stored = w.core.storage.chats.get("wechat", USER)
    assert stored is not None and stored.subscriptions == (Subscription("湘潭", "交通"),)
    assert stored.kind == "private"


def test_keyword_search_and_help_as_plain_text(world: World) -> None:
    async def scenario(chat: Phone) -> None:
        text = await chat.reply("融城干道")
        assert "搜索结果" in text and "融城干道" in text
        assert "<b>" not in text and "<a " not in text and "&lt;" not in text
        text = await chat.reply("帮助")
        assert "订阅 湘潭 交通" in text and "/subscribe" not in text and "<b>" not in text

    run(world, scenario)


def test_long_reply_is_paged_with_more(world: World) -> None:
    req = Request(channel="wechat", address=USER, user=USER, words=True)  # as the channel asks
    world.service.text(req, "订阅 长沙 株洲 湘潭")
    reply = world.service.text(req, "周报")
    full = "\n\n".join(render_reply(reply, TEXT))
    assert utf8_len(full) > REPLY_LIMIT
    # Key figures beyond the cap: the digest says "更多" also brings those.
    assert reply.button(MORE) is not None
    full += "\n\n" + MORE_RESULTS

    async def scenario(chat: Phone) -> None:
        pages = [await chat.reply("周报")]
        while pages[-1].endswith(MORE_POINTER):
            assert len(pages) < 20
            pages.append(await chat.reply("更多"))
        assert len(pages) >= 3
        assert all(utf8_len(p) <= REPLY_LIMIT for p in pages)
        assert pages[0].startswith(full[:20])
        body = "".join(p.removesuffix(MORE_POINTER) for p in pages)
        assert "".join(body.split()) == "".join(full.split())  # nothing lost between pages
        figures = await chat.reply("更多")  # the next key figures of the digest
        assert figures != NO_MORE and figures.startswith("• ")
        for _ in range(5):
            if await chat.reply("更多") == NO_MORE:
                break
        else:
            raise AssertionError("更多 never ends")

    run(world, scenario)


def test_more_turns_search_pages(world: World) -> None:
    async def scenario(chat: Phone) -> None:
        first = await chat.reply("湘潭")
        assert "第 1–5 条" in first and "更多" in first
        second = await chat.reply("更多")
        assert "第 6–" in second
        # a new message starts over: "更多" no longer refers to the old search pages
        await chat.reply("帮助")
        assert await chat.reply("更多") == NO_MORE

    run(world, scenario)


@pytest.mark.parametrize("mode", ["plain", "aes"])
def test_retried_msg_id_is_processed_once(world: World, secure: World, mode: str) -> None:
    w = world if mode == "plain" else secure

    async def scenario(chat: Phone) -> None:
        xml = message_xml("订阅 湘潭 交通", 555)
        first = await chat.post(xml)
        second = await chat.post(xml)
        third = await chat.post(xml)
        assert first[0] == 200 and first == second == third
        assert "已订阅：湘潭·交通" in first[1]
        # a different user's message with the same MsgId is a different message
        other = await chat.post(message_xml("我的订阅", 555, user="oOther"))
        assert "当前没有订阅" in other[1]

    run(w, scenario)
    assert w.service.calls == 2
    stored = w.core.storage.chats.get("wechat", USER)
    assert stored is not None and stored.subscriptions == (Subscription("湘潭", "交通"),)


def test_concurrent_retries_share_one_processing(world: World) -> None:
    world.service.delay = 0.3

    async def scenario(chat: Phone) -> None:
        xml = message_xml("订阅 湘潭", 777)
        replies = await asyncio.gather(*(chat.post(xml) for _ in range(3)))
        assert len(set(replies)) == 1 and "已订阅：湘潭" in replies[0][1]

    run(world, scenario)
    assert world.service.calls == 1


async def attempt(chat: Phone, xml: str, wait: float) -> tuple[int, str] | None:
    """One request as WeChat sends it: it gives up after ``wait`` seconds (None)."""
    chat.nonces += 1
    params = signed(nonce=f"nonce-{chat.nonces}")
    try:
        resp = await chat.client.post(
            "/wechat",
            data=xml.encode("utf-8"),
            params=params,
            timeout=aiohttp.ClientTimeout(total=wait),
        )
        return resp.status, await resp.text()
    except TimeoutError:
        return None


def content(answer: tuple[int, str] | None) -> str:
    assert answer is not None and answer[0] == 200, answer
    return ET.fromstring(answer[1]).findtext("Content") or ""


def test_a_slow_reply_is_delivered_on_wechats_retry(world: World) -> None:
    """Review #6: the first request gets no response in time, so WeChat retries; the
    retry gets the finished reply, which was processed once."""
    world.service.delay = 0.5

    async def scenario(chat: Phone) -> None:
        xml = message_xml("订阅 株洲", 900)
        assert await attempt(chat, xml, wait=0.35) is None, "no response in WeChat's time"
        done = await attempt(chat, xml, wait=2.0)
        assert "已订阅：株洲" in content(done)

    run(world, scenario, timeout=0.2, hold=0.6)
    assert world.service.calls == 1
    stored = world.core.storage.chats.get("wechat", USER)
    assert stored is not None and Subscription("株洲") in stored.subscriptions


def test_only_the_last_retry_says_busy_and_more_gets_the_reply(world: World) -> None:
    world.service.delay = 1.2

    async def scenario(chat: Phone) -> None:
        xml = message_xml("订阅 湘潭", 901)
        assert await attempt(chat, xml, wait=0.3) is None
        assert await attempt(chat, xml, wait=0.3) is None
        assert content(await attempt(chat, xml, wait=2.0)) == BUSY
        await asyncio.sleep(1.0)  # the work went on
        assert "已订阅：湘潭" in await chat.reply("更多")

    run(world, scenario, timeout=0.15, hold=0.4)
    assert world.service.calls == 1


def test_non_text_message_gets_a_hint(world: World) -> None:
    async def scenario(chat: Phone) -> None:
        assert await chat.reply("", msg_type="image") == NOT_TEXT
        assert await chat.reply("", msg_type="voice") == NOT_TEXT

    run(world, scenario)
    assert world.service.calls == 0


def test_paginate_cuts_at_sentences() -> None:
    text = "长株潭融城干道全线贯通，三市通勤时间大幅缩短。" * 200
    pages = paginate(text)
    assert len(pages) > 1
    assert all(utf8_len(p + "\n" + MORE_POINTER) <= REPLY_LIMIT for p in pages)
    assert all(p.endswith("。") for p in pages)
    assert "".join(pages) == text


def test_serve_listens_on_configured_host_and_path(world: World) -> None:
    cfg = dataclasses.replace(world.core.settings.wechat, port=0, path="/wx/callback")
    world.core.settings = dataclasses.replace(world.core.settings, wechat=cfg)

    async def go() -> None:
        runner = await serve(world.core, world.service)
        try:
            host, port = runner.addresses[0][:2]
            assert host == "127.0.0.1"
            url = f"http://{host}:{port}/wx/callback"
            async with aiohttp.ClientSession() as session:
                params = {**signed(), "echostr": "hello"}
                async with session.get(url, params=params) as resp:
                    assert resp.status == 200 and await resp.text() == "hello"
                body = message_xml("帮助", 1).encode("utf-8")
                async with session.post(url, params=signed(), data=body) as resp:
                    assert "长株潭一体化快报" in await resp.text()
        finally:
            await runner.cleanup()

    asyncio.run(go())
