"""The WeChat callback server over real HTTP: signed and encrypted requests, as WeChat sends."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import shutil
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import PrpCrypto as WeComPrpCrypto

from app.config import load_settings
from app.core import Core
from channels.wechat import (
    BUSY,
    MORE_POINTER,
    MORE_RESULTS,
    NO_MORE,
    NOT_TEXT,
    REPLY_LIMIT,
    create_app,
    paginate,
    serve,
)
from digests.markup import TEXT, render_reply
from digests.split import utf8_len
from domain.models import Subscription
from domain.reply import MORE
from handlers.service import ChatService, Reply, Request
from tests.conftest import NOW, FakeClock

TOKEN = "czt-test-token-2026"
AES_KEY = base64.b64encode(bytes(range(32))).decode("ascii").rstrip("=")  # 43 characters
APP_ID = "wx1234567890abcdef"
ACCOUNT = "gh_czt_digest"
USER = "oUser-湘潭-001"
CONFIG = """
[wechat]
enabled = true
path = "/wechat"
app_id = "{app_id}"
"""


class CountingService(ChatService):
    """The real service, counting the messages it processed (and optionally slow)."""

    delay: float = 0.0
    calls: int = 0

    def text(self, req: Request, text: str) -> Reply:
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        return super().text(req, text)


@dataclasses.dataclass
class World:
    core: Core
    service: CountingService
    encrypted: bool
    crypto: WeChatCrypto


def make_world(sample_core: Core, base: Path, *, encrypted: bool) -> World:
    dst = base / "czt.db"
    sample_core.storage.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(sample_core.storage.db.path, dst)
    config = base / "config.toml"
    # Plain mode must be allowed explicitly (it signs no body).
    plain = "" if encrypted else "allow_plain = true\n"
    config.write_text(CONFIG.format(app_id=APP_ID) + plain, encoding="utf-8")
    environ = {"WECHAT_TOKEN": TOKEN}
    if encrypted:
        environ["WECHAT_AES_KEY"] = AES_KEY
    core = Core(load_settings(config, environ=environ, db_path=str(dst)), clock=FakeClock(NOW))
    return World(core, CountingService(core), encrypted, WeChatCrypto(TOKEN, AES_KEY, APP_ID))


@pytest.fixture
def world(sample_core: Core, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = make_world(sample_core, tmp_path_factory.mktemp("wechat"), encrypted=False)
    yield w
    w.core.close()


@pytest.fixture
def secure(sample_core: Core, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = make_world(sample_core, tmp_path_factory.mktemp("wechat-aes"), encrypted=True)
    yield w
    w.core.close()


# -- building requests the way WeChat does ------------------------------------------------


def sha1(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def signed(timestamp: str = str(NOW), nonce: str = "nonce-42") -> dict[str, str]:
    return {"signature": sha1(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}


def message_xml(content: str, msg_id: int, *, msg_type: str = "text", user: str = USER) -> str:
    body = f"<Content><![CDATA[{content}]]></Content>" if msg_type == "text" else ""
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{NOW}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
        f"{body}<MsgId>{msg_id}</MsgId></xml>"
    )


Scenario = Callable[["Phone"], Awaitable[None]]


class Phone:
    """A test client that talks to the callback server as WeChat would."""

    def __init__(self, world: World, client: TestClient[Any, Any]) -> None:
        self.world = world
        self.client = client
        self.next_id = 1000
        self.nonces = 0

    async def post_raw(self, body: str | bytes, params: dict[str, str]) -> tuple[int, str]:
        data = body.encode("utf-8") if isinstance(body, str) else body
        resp = await self.client.post("/wechat", data=data, params=params)
        return resp.status, await resp.text()

    async def post(self, xml: str, params: dict[str, str] | None = None) -> tuple[int, str]:
        """POST ``xml`` signed (and encrypted in encrypted mode); the reply, decrypted.

        Each request gets a nonce of its own, as WeChat's do, unless ``params`` are given.
        """
        if params is None:
            self.nonces += 1
            params = signed(nonce=f"nonce-{self.nonces}")
        params = dict(params)
        if not self.world.encrypted:
            return await self.post_raw(xml, params)
        outer = self.world.crypto.encrypt_message(xml, params["nonce"], params["timestamp"])
        root = ET.fromstring(outer)
        params.update(msg_signature=root.findtext("MsgSignature") or "", encrypt_type="aes")
        status, text = await self.post_raw(outer, params)
        if status != 200 or text == "success":
            return status, text
        reply = ET.fromstring(text)
        plain = self.world.crypto.decrypt_message(
            text,
            reply.findtext("MsgSignature"),
            reply.findtext("TimeStamp"),
            reply.findtext("Nonce"),
        )
        return status, plain.decode("utf-8") if isinstance(plain, bytes) else plain

    async def say(self, content: str, msg_id: int | None = None, **kw: Any) -> ET.Element:
        if msg_id is None:
            self.next_id += 1
            msg_id = self.next_id
        status, text = await self.post(message_xml(content, msg_id, **kw))
        assert status == 200, text
        return ET.fromstring(text)

    async def reply(self, content: str, **kw: Any) -> str:
        root = await self.say(content, **kw)
        assert root.findtext("ToUserName") == kw.get("user", USER)
        assert root.findtext("FromUserName") == ACCOUNT
        assert root.findtext("MsgType") == "text"
        assert (root.findtext("CreateTime") or "").isdigit()
        text = root.findtext("Content") or ""
        assert utf8_len(text) <= REPLY_LIMIT
        return text


def run(world: World, scenario: Scenario, **app_kw: Any) -> None:
    async def go() -> None:
        app = create_app(world.core, world.service, **app_kw)
        async with TestClient(TestServer(app)) as client:
            await scenario(Phone(world, client))

    asyncio.run(go())


def chats_state(world: World) -> tuple[object, ...]:
    db = world.core.storage.db
    return (
        db.query("SELECT * FROM chats ORDER BY id"),
        db.query("SELECT * FROM subscriptions ORDER BY rowid"),
    )


# -- URL verification ----------------------------------------------------------------------


def test_url_verification_echoes(world: World) -> None:
    async def scenario(chat: Phone) -> None:
        resp = await chat.client.get("/wechat", params={**signed(), "echostr": "8823947102"})
        assert resp.status == 200 and await resp.text() == "8823947102"
        bad = {**signed(), "signature": "0" * 40, "echostr": "8823947102"}
        resp = await chat.client.get("/wechat", params=bad)
        assert resp.status == 403 and "8823947102" not in await resp.text()

    run(world, scenario)


def test_wecom_app_verification_decrypts_echostr(secure: World) -> None:
    ts, nonce = str(NOW), "nonce-7"
    echostr = WeComPrpCrypto(secure.crypto.key).encrypt("5927401836", APP_ID).decode("ascii")

    async def scenario(chat: Phone) -> None:
        params = {"msg_signature": sha1(TOKEN, ts, nonce, echostr), "timestamp": ts}
        params.update(nonce=nonce, echostr=echostr)
        resp = await chat.client.get("/wechat", params=params)
        assert resp.status == 200 and await resp.text() == "5927401836"
        params["msg_signature"] = sha1("wrong-token", ts, nonce, echostr)
        resp = await chat.client.get("/wechat", params=params)
        assert resp.status == 403

    run(secure, scenario)


# -- signatures and hostile XML ------------------------------------------------------------


def test_bad_signature_is_refused_and_changes_nothing(world: World) -> None:
    before = chats_state(world)

    async def scenario(chat: Phone) -> None:
        xml = message_xml("订阅 湘潭 交通", 1)
        for params in ({**signed(), "signature": sha1("wrong", str(NOW), "n")}, {}):
            status, text = await chat.post_raw(xml, params)
            assert status == 403 and "湘潭" not in text

    run(world, scenario)
    assert chats_state(world) == before
    assert world.service.calls == 0


def test_encrypted_bad_signature_is_refused(secure: World) -> None:
    before = chats_state(secure)

    async def scenario(chat: Phone) -> None:
        outer = secure.crypto.encrypt_message(message_xml("订阅 湘潭 交通", 1), "n", str(NOW))
        params = {**signed(), "msg_signature": sha1("wrong", "x"), "encrypt_type": "aes"}
        assert (await chat.post_raw(outer, params))[0] == 403
        plain = message_xml("订阅 湘潭 交通", 2)  # not encrypted at all
        assert (await chat.post_raw(plain, {**signed(), "msg_signature": "abc"}))[0] == 403

    run(secure, scenario)
    assert chats_state(secure) == before


XXE = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    f"<xml><ToUserName>{ACCOUNT}</ToUserName><FromUserName>{USER}</FromUserName>"
    "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&xxe;</Content>"
    "<MsgId>7</MsgId></xml>"
)
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    + "]>"
    f"<xml><ToUserName>{ACCOUNT}</ToUserName><FromUserName>{USER}</FromUserName>"
    "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&lol9;</Content>"
    "<MsgId>8</MsgId></xml>"
).replace("&lol0;", "&lol;")
MALFORMED = f"<xml><ToUserName>{ACCOUNT}</ToUserName><FromUserName>{USER}"


@pytest.mark.parametrize("body", [XXE, LAUGHS, MALFORMED, "", "不是 XML", "<xml></xml>"])
def test_hostile_or_malformed_xml_is_400(world: World, body: str) -> None:
    before = chats_state(world)

    async def scenario(chat: Phone) -> None:
        status, text = await chat.post_raw(body, signed())
        assert status == 400
        assert "root:" not in text and "lol" not in text

    run(world, scenario)
    assert world.service.calls == 0 and chats_state(world) == before


@pytest.mark.parametrize("inner", [XXE, LAUGHS, MALFORMED])
def test_hostile_xml_inside_encryption_is_400(secure: World, inner: str) -> None:
    async def scenario(chat: Phone) -> None:
        status, _ = await chat.post(inner)
        assert status == 400
        # and an entity-laden envelope is refused before anything is decrypted
        assert (await chat.post_raw(XXE, {**signed(), "msg_signature": "x"}))[0] == 400

    run(secure, scenario)
    assert secure.service.calls == 0


# -- conversations ---------------------------------------------------------------------------


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
    req = Request(channel="wechat", address=USER, user=USER)
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
