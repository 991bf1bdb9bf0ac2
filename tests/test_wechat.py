"""The WeChat callback server over real HTTP: verification, signatures, hostile XML."""

from __future__ import annotations

import pytest
from wechatpy.enterprise.crypto import PrpCrypto as WeComPrpCrypto

from tests.conftest import NOW
from tests.wechat_world import (
    ACCOUNT,
    APP_ID,
    TOKEN,
    USER,
    Phone,
    World,
    chats_state,
    message_xml,
    run,
    sha1,
    signed,
)


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
