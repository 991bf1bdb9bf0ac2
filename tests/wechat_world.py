"""A WeChat server world for tests: the real service and app, a Phone that talks to it."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import shutil
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from wechatpy.crypto import WeChatCrypto

from app.config import load_settings
from app.core import Core
from channels.wechat import create_app
from channels.wechat_xml import REPLY_LIMIT
from digests.split import utf8_len
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
