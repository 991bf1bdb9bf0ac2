"""Replayed WeChat requests: old timestamps and reused nonces, plain and encrypted, restarts."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from app.core import Core
from channels.wechat import create_app
from domain.errors import ConfigError
from domain.models import Subscription
from tests.conftest import NOW, FakeClock
from tests.wechat_world import Phone, World, chats_state, make_world, message_xml, signed

VICTIM = "oVictim-株洲-002"


@pytest.fixture(params=["plain", "aes"])
def w(
    request: pytest.FixtureRequest, sample_core: Core, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """The callback server's world in plain and in encrypted (AES) mode."""
    base = tmp_path_factory.mktemp("replay")
    world = make_world(sample_core, base, encrypted=request.param == "aes")
    yield world
    world.core.close()


async def phone(world: World, stack: list[Any]) -> Phone:
    """A client against a freshly started callback server on the same database."""
    client = TestClient(TestServer(create_app(world.core, world.service)))
    await client.start_server()
    stack.append(client)
    return Phone(world, client)


def run(scenario: Any) -> None:
    async def go() -> None:
        stack: list[TestClient[Any, Any]] = []
        try:
            await scenario(stack)
        finally:
            for client in stack:
                await client.close()

    asyncio.run(go())


@pytest.mark.parametrize("offset", [-301, 301, 1500000000 - NOW])  # 1500000000: July 2017
def test_a_timestamp_outside_the_window_is_refused(w: World, offset: int) -> None:
    before = chats_state(w)

    async def scenario(stack: list[Any]) -> None:
        chat = await phone(w, stack)
        params = signed(timestamp=str(NOW + offset), nonce="old-nonce")
        status, _ = await chat.post(message_xml("订阅 湘潭 交通", 31), params)
        assert status == 403
        params = signed(timestamp=str(NOW + offset), nonce="old-echo")
        resp = await chat.client.get("/wechat", params={**params, "echostr": "123"})
        assert resp.status == 403 and "123" not in await resp.text()
        # inside the window it is accepted
        params = signed(timestamp=str(NOW - 299), nonce="recent-nonce")
        status, text = await chat.post(message_xml("订阅 湘潭 交通", 32), params)
        assert status == 200 and "已订阅：湘潭·交通" in text

    run(scenario)
    assert w.service.calls == 1
    assert chats_state(w) != before


def test_a_captured_query_string_cannot_sign_another_body(w: World) -> None:
    captured = signed(nonce="captured-nonce")

    async def scenario(stack: list[Any]) -> None:
        chat = await phone(w, stack)
        status, first = await chat.post(message_xml("订阅 湘潭", 41), captured)
        assert status == 200 and "已订阅：湘潭" in first
        # WeChat's retry of the same message, with the same nonce: the cached answer
        assert await chat.post(message_xml("订阅 湘潭", 41), captured) == (200, first)
        # the same query string with someone else's message: refused, nothing done
        forged = message_xml("订阅 株洲 交通", 42, user=VICTIM)
        status, text = await chat.post(forged, captured)
        assert status == 403 and "株洲" not in text
        # a restart does not reopen the window: the nonce is remembered in SQLite
        again = await phone(w, stack)
        status, _ = await again.post(forged, captured)
        assert status == 403

    run(scenario)
    assert w.service.calls == 1
    assert w.core.storage.chats.get("wechat", VICTIM) is None
    mine = w.core.storage.chats.get("wechat", "oUser-湘潭-001")
    assert mine is not None and mine.subscriptions == (Subscription("湘潭"),)


def test_old_nonces_are_purged(w: World) -> None:
    world = w
    clock = world.core.clock
    assert isinstance(clock, FakeClock)

    async def scenario(stack: list[Any]) -> None:
        chat = await phone(world, stack)
        for i in range(3):
            status, _ = await chat.post(message_xml("帮助", 50 + i))
            assert status == 200
        assert world.core.storage.nonces.count("wechat") == 3
        clock.advance(2 * 300 + 1)
        params = signed(timestamp=str(int(clock())), nonce="later")
        status, _ = await chat.post(message_xml("帮助", 60), params)
        assert status == 200

    run(scenario)
    assert world.core.storage.nonces.count("wechat") == 1


def test_a_forged_body_under_a_captured_query_is_refused_after_a_restart(w: World) -> None:
    """Review #7: the same sender and MsgId with another Content is another message."""
    captured = signed(nonce="captured-2")

    async def scenario(stack: list[Any]) -> None:
        chat = await phone(w, stack)
        status, first = await chat.post(message_xml("订阅 湘潭", 71), captured)
        assert status == 200 and "已订阅：湘潭" in first
        again = await phone(w, stack)  # a restart: the in-memory replies are gone
        forged = message_xml("订阅 株洲 交通", 71)
        status, text = await again.post(forged, captured)
        assert status == 403 and "株洲" not in text

    run(scenario)
    assert w.service.calls == 1
    mine = w.core.storage.chats.get("wechat", "oUser-湘潭-001")
    assert mine is not None and mine.subscriptions == (Subscription("湘潭"),)


def test_an_answered_message_is_not_processed_again_after_a_restart(w: World) -> None:
    captured = signed(nonce="captured-3")

    async def scenario(stack: list[Any]) -> None:
        chat = await phone(w, stack)
        xml = message_xml("退订 全部", 72)
        assert (await chat.post(xml, captured))[0] == 200
        again = await phone(w, stack)
        assert (await again.post(xml, captured))[0] == 403
        assert (await again.post(xml))[0] == 403, "nor under a fresh nonce"

    run(scenario)
    assert w.service.calls == 1


def test_plain_mode_needs_allow_plain(sample_core: Core, tmp_path: Path) -> None:
    """Review #8: plain mode signs no body; it is refused unless allowed."""
    world = make_world(sample_core, tmp_path, encrypted=False)
    try:
        cfg = dataclasses.replace(world.core.settings.wechat, allow_plain=False)
        world.core.settings = dataclasses.replace(world.core.settings, wechat=cfg)
        with pytest.raises(ConfigError, match="allow_plain"):
            create_app(world.core, world.service)
    finally:
        world.core.close()
