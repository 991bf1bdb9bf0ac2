"""Replayed WeChat requests: old timestamps and reused nonces, plain and encrypted, restarts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from app.core import Core
from channels.wechat import create_app
from domain.models import Subscription
from tests.conftest import NOW, FakeClock
from tests.test_wechat import Phone, World, chats_state, make_world, message_xml, signed

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
