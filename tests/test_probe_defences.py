"""Defences the black-box probe found holding, each kept by a test: a full disk, broken
HTTP headers at the callback servers, and a flood of chat messages."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from app.core import Core
from channels.wechat import create_app
from domain.errors import StorageError
from handlers.service import ChatService, Request
from tests.conftest import FEEDS
from tests.wechat_world import chats_state, make_world, message_xml, signed


def fill_the_disk(core: Core) -> None:
    """SQLite's view of a full disk: the file may not grow, and its free space is used up."""
    db = core.storage.db
    db.execute(f"PRAGMA max_page_count = {db.scalar('PRAGMA page_count')}")
    for size in (4000, 1000, 100, 10, 1):
        with contextlib.suppress(StorageError):
            while True:
                with db.transaction():
                    db.execute(
                        "INSERT INTO events (at, kind, detail) VALUES (0, 'fill', ?)", ("x" * size,)
                    )


def test_a_full_disk_costs_no_stored_article_and_the_feed_retries(sample_copy: Core) -> None:
    url = str(FEEDS / "rss2.xml")
    feed, _ = sample_copy.storage.feeds.add(url, sample_copy.now())
    before = sample_copy.storage.articles.counts()
    fill_the_disk(sample_copy)
    (report,) = sample_copy.ingestor().ingest([feed], sample_copy.now())
    assert not report.ok and "full" in report.error
    assert sample_copy.storage.articles.counts() == before
    assert sample_copy.storage.db.integrity_ok()
    sample_copy.storage.db.execute("PRAGMA max_page_count = 1000000")  # space again
    (report,) = sample_copy.ingestor().ingest([feed], sample_copy.now())
    assert report.ok and report.new == 3


def test_a_full_disk_gets_a_chinese_answer_in_chat(sample_copy: Core) -> None:
    fill_the_disk(sample_copy)
    service = ChatService(sample_copy)
    # Small rows still fit in the slack of their tables' pages; new chats soon do not.
    for address in range(1000, 1300):
        req = Request(channel="telegram", address=str(address), user=str(address))
        reply = service.command(req, "subscribe", "湘潭")
        if not reply.text.startswith("已订阅"):
            break
    assert reply.text == "服务暂时繁忙，请稍后再试。"
    reply = service.command(req, "search", "融城干道")  # reading still works
    assert "融城干道" in reply.text


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data


def test_broken_http_headers_are_refused_and_the_server_keeps_serving(
    sample_core: Core, tmp_path: Path
) -> None:
    world = make_world(sample_core, tmp_path, encrypted=False)
    before = chats_state(world)
    query = "&".join(f"{k}={v}" for k, v in signed(nonce="hdr-1").items())
    broken = [
        b"POST /wechat?" + query.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"POST /wechat HTTP/1.1\r\nHost: x\r\nthis line has no colon\r\n\r\n",
        b"POST /wechat HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 9\r\n\r\n",
        b"\x00\x01\x02 garbage \xff\r\n\r\n",
    ]

    async def go() -> None:
        app = create_app(world.core, world.service)
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            port = client.port
            assert port is not None
            for request in broken:
                answer = await asyncio.to_thread(_raw, port, request)
                assert b" 400 " in answer.split(b"\r\n", 1)[0] or answer == b"", answer[:60]
            resp = await client.post(
                "/wechat", params=signed(nonce="hdr-2"), data=message_xml("帮助", 1).encode()
            )
            assert resp.status == 200 and "长株潭一体化快报" in await resp.text()

    try:
        asyncio.run(go())
        assert chats_state(world) == before
    finally:
        world.core.close()


def test_a_flood_of_searches_is_slowed_per_chat(sample_copy: Core) -> None:
    service = ChatService(sample_copy, clock=lambda: 1000.0)
    flooder = Request(channel="telegram", address="31337", user="31337")
    replies = [service.command(flooder, "search", "湘潭").text for _ in range(30)]
    answered = [r for r in replies if "搜索结果" in r]
    assert len(answered) == 10  # ten a minute
    assert all("搜索太频繁" in r for r in replies[10:])
    other = Request(channel="telegram", address="4242", user="4242")
    assert "搜索结果" in service.command(other, "search", "湘潭").text
