"""The real python-telegram-bot Application against the fake Bot API over loopback HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest
from telegram import Bot

from app.core import Core, RedactingFilter
from app.jobs import Jobs
from channels.telegram import TelegramBot, TelegramSender
from domain.models import Subscription
from handlers.commands import COMMANDS, menu
from handlers.service import ChatService
from tests.conftest import FakeClock
from tests.fake_botapi import TOKEN, FakeBotAPI

ADMIN = 9001
USER = 4242
GROUP = -1001234567890


def async_test(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return wrapper


@contextlib.asynccontextmanager
async def running(
    core: Core, *, admin_ids: tuple[int, ...] = (ADMIN,)
) -> AsyncIterator[FakeBotAPI]:
    """The fake Bot API, and our bot polling it with the real Application."""
    async with FakeBotAPI() as fake:
        bot = TelegramBot(ChatService(core), admin_ids=admin_ids)
        app = bot.build(TOKEN, base_url=fake.base_url)
        async with app:
            await bot.publish_commands(app)
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0.0, timeout=1)
            try:
                yield fake
            finally:
                await app.updater.stop()
                await app.stop()
        assert not fake.crashes


async def ask(
    fake: FakeBotAPI, chat: int, text: str, *, user: int | None = None, expect: int = 1
) -> list[str]:
    before = len(fake.sent(chat))
    fake.push_message(chat, text, user_id=user)
    sent = await fake.wait_for_sent(chat, before + expect, timeout=10)
    return [m.text or "" for m in sent[before:]]


@async_test
async def test_command_menu_and_help(sample_copy: Core) -> None:
    async with running(sample_copy) as fake:
        published = [c["command"] for c in fake.commands.get("default", [])] or [
            c["command"] for cmds in fake.commands.values() for c in cmds
        ]
        assert published == [n for n, _ in menu()]
        (text,) = await ask(fake, USER, "/help")
        for c in COMMANDS:
            if not c.admin:
                assert f"/{c.name}" in text
        assert "/stats" not in text
        (text,) = await ask(fake, ADMIN, "/help", user=ADMIN)
        assert "/stats" in text


@async_test
async def test_scripted_private_conversation(sample_copy: Core) -> None:
    async with running(sample_copy) as fake:
        (text,) = await ask(fake, USER, "/start")
        assert "长株潭一体化快报" in text
        start = fake.sent(USER)[-1]
        assert start.parse_mode == "HTML" and start.reply_markup is not None
        (text,) = await ask(fake, USER, "/subscribe 湘潭 交通")
        assert "已订阅：湘潭·交通" in text
        (text,) = await ask(fake, USER, "/list")
        assert "湘潭·交通" in text and "每周一 09:00" in text
        (text,) = await ask(fake, USER, "/search 融城干道")
        assert "<b>融城干道</b>" in text and "<a href=" in text
        (text,) = await ask(fake, USER, "跨市通办")  # plain text is a search
        assert "搜索结果" in text
        (text,) = await ask(fake, USER, "/latest 株洲")
        assert "最新动态" in text
        (text,) = await ask(fake, USER, "/figures")
        assert "关键数据" in text
        replies = await ask(fake, USER, "/digest")
        assert "【关键数据】" in replies[0]
        (text,) = await ask(fake, USER, "/settings 周五 18:00")
        assert "每周五 18:00" in text
        (text,) = await ask(fake, USER, "/unsubscribe 湘潭 交通")
        assert "已退订：湘潭·交通" in text


@async_test
async def test_bad_arguments_and_unknown_commands(sample_copy: Core) -> None:
    async with running(sample_copy) as fake:
        (text,) = await ask(fake, USER, "/subscribe 北京")
        assert "可选城市：长沙、株洲、湘潭" in text and "例如" in text
        (text,) = await ask(fake, USER, "/search")
        assert "请在命令后输入关键词" in text
        (text,) = await ask(fake, USER, "/nosuch")
        assert "/help" in text
        (text,) = await ask(fake, USER, "/search <b>&\"'")
        assert "&lt;b&gt;" in text


@async_test
async def test_inline_keyboard_toggles_and_more_button(sample_copy: Core) -> None:
    async with running(sample_copy) as fake:
        await ask(fake, USER, "/subscribe")
        message = fake.sent(USER)[-1]
        buttons = [b for row in message.reply_markup["inline_keyboard"] for b in row]  # type: ignore[index]
        assert [b["callback_data"] for b in buttons[:3]] == ["t:长沙", "t:株洲", "t:湘潭"]
        fake.push_callback(USER, message.message_id, "t:株洲", user_id=USER)
        await fake.wait_for_calls("editMessageText", 1, timeout=10)
        edited = fake.message(USER, message.message_id)
        assert edited is not None and "已订阅：株洲" in edited["text"]
        chat = sample_copy.storage.chats.get("telegram", str(USER))
        assert chat is not None and chat.subscriptions == (Subscription(city="株洲"),)
        await ask(fake, USER, "湘潭")
        page = fake.sent(USER)[-1]
        more = page.reply_markup["inline_keyboard"][0][0]  # type: ignore[index]
        assert more["text"] == "更多"
        before = len(fake.sent(USER))
        fake.push_callback(USER, page.message_id, more["callback_data"], user_id=USER)
        sent = await fake.wait_for_sent(USER, before + 1, timeout=10)
        assert "第 6–" in (sent[-1].text or "")


@async_test
async def test_group_commands_and_admin_rights(sample_copy: Core) -> None:
    async with running(sample_copy) as fake:
        fake.set_admins(GROUP, [7], creator_id=6)
        (text,) = await ask(fake, GROUP, "/subscribe@czt_digest_bot 湘潭", user=USER)
        assert "群管理员" in text
        (text,) = await ask(fake, GROUP, "/subscribe@czt_digest_bot 湘潭", user=7)
        assert "已订阅：湘潭" in text
        (text,) = await ask(fake, GROUP, "/list@czt_digest_bot", user=USER)
        assert "湘潭" in text  # subscriptions belong to the group
        fake.push_message(GROUP, "/help@other_bot", user_id=7)
        fake.push_message(GROUP, "随便聊聊", user_id=7)  # group chatter is not a search
        (text,) = await ask(fake, GROUP, "/list", user=6)
        assert len(fake.sent(GROUP)) == 4  # nothing for the other bot or the chatter


@async_test
async def test_admin_commands(sample_copy: Core) -> None:
    async with running(sample_copy) as fake:
        for cmd in ("/feeds", "/stats", "/addfeed http://x.invalid/f", "/removefeed x"):
            (text,) = await ask(fake, USER, cmd)
            assert "只有管理员" in text
        (text,) = await ask(fake, ADMIN, "/stats", user=ADMIN)
        assert "订阅者" in text and "报道：19 条" in text
        (text,) = await ask(fake, ADMIN, "/feeds", user=ADMIN)
        assert "czt-sample.xml" in text
        (text,) = await ask(fake, ADMIN, "/addfeed http://127.0.0.1:9/nothing", user=ADMIN)
        assert "无法添加" in text


@async_test
async def test_reply_errors_do_not_crash_the_bot(sample_copy: Core) -> None:
    async with running(sample_copy) as fake:
        fake.fail_next("sendMessage", chat_id=USER, error_code=403)
        fake.push_message(USER, "/start", user_id=USER)
        await fake.wait_for_calls("sendMessage", 1, timeout=10)
        # The refusal is recorded by a worker thread after the call: wait for it.
        for _ in range(200):
            chat = sample_copy.storage.chats.get("telegram", str(USER))
            if chat is not None and not chat.active:
                break
            await asyncio.sleep(0.01)
        assert chat is not None and not chat.active
        fake.fail_next("sendMessage", chat_id=USER, error_code=429, retry_after=1)
        fake.push_message(USER, "/help", user_id=USER)
        await fake.wait_for_calls("sendMessage", 2, timeout=10)
        fake.fail_next(
            "sendMessage",
            chat_id=USER,
            error_code=400,
            description="Bad Request: message is too long",
        )
        fake.push_message(USER, "/help", user_id=USER)
        await fake.wait_for_calls("sendMessage", 3, timeout=10)
        (text,) = await ask(fake, USER, "/list")  # still answering, and active again
        assert "订阅" in text
        chat = sample_copy.storage.chats.get("telegram", str(USER))
        assert chat is not None and chat.active


def _due_chats(core: Core, *addresses: str, kind: str = "private") -> None:
    # An hour after the sample ingest (on the core's fake clock): the stories are settled.
    clock = core.clock
    if isinstance(clock, FakeClock):
        clock.advance(3600)
    for address in addresses:
        chat = core.storage.chats.ensure("telegram", address, now=core.now(), kind=kind)
        core.storage.chats.subscribe(chat.id, [Subscription(city="湘潭")], core.now())
        core.storage.chats.update(chat.id, next_due_at=core.now())


def _seen_just_now(core: Core) -> None:
    """The sample stories as first seen a minute ago by the real clock, which `digest
    send` and a Jobs without a fake clock run on: a first digest looks back a week from
    then, and the fixture's fixed date falls out of that week as real time moves on."""
    with core.storage.db.transaction():
        core.storage.db.execute("UPDATE stories SET first_seen = ?", (int(time.time()) - 60,))


@async_test
async def test_digest_delivery_through_the_bot_api(sample_copy: Core) -> None:
    async with FakeBotAPI() as fake, Bot(TOKEN, base_url=fake.base_url) as bot:
        _due_chats(sample_copy, "501", "502", "503", "504")
        # A digest opens with the chart, its caption the headline and the key figures.
        fake.fail_next("sendPhoto", chat_id=501, error_code=429, retry_after=1)
        fake.fail_next("sendPhoto", chat_id=502, error_code=403)
        fake.fail_next("sendPhoto", chat_id=503, error_code=400, migrate_to_chat_id=-100503)
        fake.fail_next("sendPhoto", chat_id=504, error_code=502)
        jobs = Jobs(sample_copy, {"telegram": TelegramSender(bot)})
        report = await jobs.send_digests()
        assert report.left == 0
        texts = fake.sent(501)
        assert texts and texts[0].photo and "【关键数据】" in (texts[0].text or "")
        assert len(texts) == 2  # the chart with its caption, then the stories
        assert fake.sent(502) == []
        assert sample_copy.storage.chats.get("telegram", "502").active is False  # type: ignore[union-attr]
        assert fake.sent(-100503) and not fake.sent(503)
        assert sample_copy.storage.chats.get("telegram", "-100503") is not None
        assert fake.sent(504)
        events = sample_copy.storage.deliveries.event_counts()
        assert events["rate_limited"] == 1 and events["blocked"] == 1
        assert events["migrated"] == 1 and events["transient"] == 1
        # Each part exactly once per chat.
        for chat in (501, -100503, 504):
            bodies = [(m.text, m.photo) for m in fake.sent(chat)]
            assert len(bodies) == len(set(bodies))


def test_token_never_logged(sample_copy: Core, caplog: pytest.LogCaptureFixture) -> None:
    settings = dataclasses.replace(
        sample_copy.settings,
        telegram=dataclasses.replace(sample_copy.settings.telegram, token=TOKEN),
    )
    redactor = RedactingFilter(settings.secrets())
    caplog.handler.addFilter(redactor)
    caplog.set_level(logging.DEBUG)

    async def scenario() -> None:
        async with running(sample_copy) as fake:
            fake.fail_next("sendMessage", chat_id=USER, error_code=500)
            fake.push_message(USER, "/start", user_id=USER)
            await fake.wait_for_calls("sendMessage", 1, timeout=10)
            await ask(fake, USER, "/help")
        async with FakeBotAPI(token="1:other-token-000000000000000000") as fake:
            bot = Bot(TOKEN, base_url=fake.base_url)
            with contextlib.suppress(Exception):
                await bot.initialize()

    asyncio.run(scenario())
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert logged  # something was logged at DEBUG
    assert TOKEN not in logged and TOKEN.split(":")[1] not in logged
    assert TOKEN not in caplog.text


def test_webhook_mode_requires_the_secret_token(sample_copy: Core) -> None:
    import socket

    import httpx

    from channels.runner import telegram_running

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()

    async def scenario() -> None:
        async with FakeBotAPI() as fake:
            tg = dataclasses.replace(
                sample_copy.settings.telegram,
                token=TOKEN,
                api_base_url=fake.base_url,
                mode="webhook",
                webhook_url="https://bot.example.invalid/telegram",
                webhook_listen="127.0.0.1",
                webhook_port=port,
                webhook_secret="s3cret-value",
            )
            sample_copy.settings = dataclasses.replace(sample_copy.settings, telegram=tg)
            async with telegram_running(sample_copy, jobs=False):
                assert fake.webhook["url"] == "https://bot.example.invalid/telegram"
                (hook,) = fake.calls("setWebhook")
                assert hook.params.get("secret_token") == "s3cret-value"
                update = {
                    "update_id": 1,
                    "message": {
                        "message_id": 1,
                        "date": 0,
                        "text": "/help",
                        "chat": {"id": USER, "type": "private"},
                        "from": {"id": USER, "is_bot": False, "first_name": "测试"},
                        "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
                    },
                }
                url = f"http://127.0.0.1:{port}/telegram"
                async with httpx.AsyncClient() as client:
                    refused = await client.post(url, json=update)
                    wrong = await client.post(
                        url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}
                    )
                    assert refused.status_code == 403 and wrong.status_code == 403
                    assert fake.sent(USER) == []
                    ok = await client.post(
                        url,
                        json=update,
                        headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-value"},
                    )
                    assert ok.status_code == 200
                (reply,) = await fake.wait_for_sent(USER, 1, timeout=10)
                assert "/subscribe" in (reply.text or "")

    asyncio.run(scenario())


def test_webhook_mode_without_secret_is_a_config_error(sample_copy: Core) -> None:
    from channels.runner import telegram_running
    from domain.errors import ConfigError

    tg = dataclasses.replace(
        sample_copy.settings.telegram,
        token=TOKEN,
        mode="webhook",
        webhook_url="https://bot.example.invalid/telegram",
    )
    sample_copy.settings = dataclasses.replace(sample_copy.settings, telegram=tg)

    async def scenario() -> None:
        async with telegram_running(sample_copy, jobs=False):
            pass

    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        asyncio.run(scenario())


@async_test
async def test_revoked_token_stops_the_run_without_blaming_chats(sample_copy: Core) -> None:
    async with FakeBotAPI() as fake, Bot(TOKEN, base_url=fake.base_url) as bot:
        fake.token = "1:another-token-0000000000000000000"  # revoked while running
        _due_chats(sample_copy, "601", "602")
        alerts: list[str] = []

        async def alert(text: str) -> None:
            alerts.append(text)

        jobs = Jobs(sample_copy, {"telegram": TelegramSender(bot)}, alert=alert)
        report = await jobs.send_digests()
        assert report.sent == 0 and report.left >= 1
        for address in ("601", "602"):
            chat = sample_copy.storage.chats.get("telegram", address)
            assert chat is not None and chat.active  # no chat is at fault
        states = sample_copy.storage.deliveries.state_counts()
        assert states.get("failed", 0) == 0 and states.get("pending", 0) >= 2
        assert alerts and "不可用" in alerts[0]


@async_test
async def test_a_refused_message_is_skipped_and_the_rest_goes(sample_copy: Core) -> None:
    async with FakeBotAPI() as fake, Bot(TOKEN, base_url=fake.base_url) as bot:
        _due_chats(sample_copy, "701")
        fake.fail_next(
            "sendMessage",
            chat_id=701,
            error_code=400,
            description="Bad Request: can't parse entities: unsupported start tag",
        )
        report = await Jobs(sample_copy, {"telegram": TelegramSender(bot)}).send_digests()
        assert report.failed == 1 and report.left == 0
        assert fake.sent(701)  # the chart (and any later part) still went out
        assert sample_copy.storage.deliveries.event_counts()["rejected"] == 1
