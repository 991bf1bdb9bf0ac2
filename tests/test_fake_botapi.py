"""The fake Bot API server, exercised through the real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import functools
import json
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.fake_botapi import BOT_ID, BOT_USERNAME, TOKEN, FakeBotAPI

GROUP = -1001234567890  # a supergroup id in Telegram's -100... form
KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("长沙", callback_data="sub:长沙")]])


def async_test(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test on a fresh event loop (the project has no pytest-asyncio)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return wrapper


@contextlib.asynccontextmanager
async def fake_and_bot(**options: Any) -> AsyncIterator[tuple[FakeBotAPI, Bot]]:
    async with FakeBotAPI(**options) as fake, Bot(TOKEN, base_url=fake.base_url) as bot:
        yield fake, bot
    assert not fake.crashes


@pytest.fixture
def threaded() -> Iterator[FakeBotAPI]:
    fake = FakeBotAPI().start_in_thread()
    try:
        yield fake
    finally:
        fake.stop_thread()
    assert not fake.crashes


def post(fake: FakeBotAPI, method: str, params: dict[str, Any], token: str = TOKEN) -> Any:
    """A raw JSON request, to check the exact bodies the fake returns."""
    request = urllib.request.Request(
        f"{fake.base_url}{token}/{method}",
        data=json.dumps(params).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


# -- identity and tokens -------------------------------------------------------------------


@async_test
async def test_get_me_returns_the_fake_identity() -> None:
    async with fake_and_bot() as (fake, bot):
        me = await bot.get_me()
        assert (me.id, me.username, me.first_name, me.is_bot) == (
            BOT_ID,
            BOT_USERNAME,
            "长株潭快报",
            True,
        )
        assert bot.username == BOT_USERNAME  # initialize() already called getMe
        assert fake.base_url == f"http://127.0.0.1:{fake.port}/bot"
        assert len(fake.calls("getMe")) == 2


@async_test
async def test_a_wrong_token_is_rejected_as_invalid() -> None:
    async with FakeBotAPI() as fake:
        # As in Application.initialize(): __aenter__ calls getMe, and shuts down on failure.
        with pytest.raises(InvalidToken, match="rejected by the server"):
            async with Bot("654321:WRONG-TOKEN", base_url=fake.base_url):
                pass
        assert fake.calls("getMe")[0].error_code == 401


def test_error_bodies_are_telegrams(threaded: FakeBotAPI) -> None:
    assert post(threaded, "getMe", {}, token="654321:WRONG") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    threaded.fail_next("sendMessage", retry_after=7)
    assert post(threaded, "sendMessage", {"chat_id": 5, "text": "x"}) == (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 7",
            "parameters": {"retry_after": 7},
        },
    )
    threaded.fail_next("sendMessage", migrate_to_chat_id=GROUP)
    status, body = post(threaded, "sendMessage", {"chat_id": -5, "text": "x"})
    assert (status, body["parameters"]) == (400, {"migrate_to_chat_id": GROUP})
    assert body["description"] == "Bad Request: group chat was upgraded to a supergroup chat"
    status, body = post(threaded, "sendMessage", {"chat_id": 5, "text": "ok"})
    assert status == 200 and body["result"]["text"] == "ok"
    assert threaded.calls("sendMessage")[-1].content_type == "application/json"


# -- sending -------------------------------------------------------------------------------


@async_test
async def test_send_message_is_journaled_and_returns_a_message() -> None:
    async with fake_and_bot() as (fake, bot):
        first = await bot.send_message(42, "<b>长株潭</b> 快报", parse_mode="HTML")
        second = await bot.send_message(42, "第二条", reply_markup=KEYBOARD)
        other = await bot.send_message(43, "另一个聊天")

        assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)
        assert first.text == "长株潭 快报" and first.from_user.id == BOT_ID
        assert first.chat.id == 42 and first.chat.type == "private"
        assert [(e.type, e.offset, e.length) for e in first.entities] == [("bold", 0, 3)]
        assert second.reply_markup == KEYBOARD

        sent = fake.sent(42)
        assert [(s.text, s.parse_mode, s.photo) for s in sent] == [
            ("<b>长株潭</b> 快报", "HTML", False),
            ("第二条", None, False),
        ]
        assert sent[1].reply_markup == KEYBOARD.to_dict()
        call = fake.calls("sendMessage")[0]
        assert call.params == {"chat_id": 42, "text": "<b>长株潭</b> 快报", "parse_mode": "HTML"}
        # What PTB 22 actually sends: a urlencoded form, non-string values JSON-encoded.
        assert call.content_type == "application/x-www-form-urlencoded"
        assert len(fake.send_times()) == 3


@async_test
async def test_send_photo_records_the_upload() -> None:
    async with fake_and_bot() as (fake, bot):
        png = b"\x89PNG\r\n\x1a\n" + bytes(5000)
        message = await bot.send_photo(GROUP, png, caption="<i>图表</i>", parse_mode="HTML")
        assert message.photo and message.caption == "图表" and message.chat.type == "supergroup"
        (sent,) = fake.sent(GROUP)
        assert sent.photo and sent.photo_size == len(png) and sent.text == "<i>图表</i>"
        (call,) = fake.calls("sendPhoto")
        assert call.content_type == "multipart/form-data" and call.files == {"photo": len(png)}


@async_test
async def test_length_limit_counts_utf16_units_after_tags() -> None:
    async with fake_and_bot() as (fake, bot):
        await bot.send_message(1, "<b>" + "长" * 4096 + "</b>", parse_mode="HTML")
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(1, "😀" * 2049)  # 4098 UTF-16 code units
        assert len(fake.sent(1)) == 1


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("<b>unclosed", 'end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'expected "</i>", found "</b>"'),
        ("<script>x</script>", 'Unsupported start tag "script"'),
        ('<span class="red">x</span>', 'Unsupported start tag "span"'),
        ("x</b>", "Unexpected end tag"),
    ],
)
@async_test
async def test_bad_html_cannot_be_parsed(html: str, error: str) -> None:
    async with fake_and_bot() as (_fake, bot):
        with pytest.raises(BadRequest, match="parse entities") as err:
            await bot.send_message(1, html, parse_mode="HTML")
        assert error.lower() in str(err.value).lower()  # PTB re-cases the description
        ok = '<a href="https://x.cn">链接</a> <tg-spoiler>s</tg-spoiler> <pre><code>c</code></pre>'
        assert (await bot.send_message(1, ok, parse_mode="HTML")).text == "链接 s c"


@async_test
async def test_edits_and_not_modified() -> None:
    async with fake_and_bot() as (fake, bot):
        message = await bot.send_message(42, "旧", reply_markup=KEYBOARD)
        edited = await bot.edit_message_text("新", 42, message.message_id, reply_markup=KEYBOARD)
        assert isinstance(edited, type(message)) and edited.text == "新"
        with pytest.raises(BadRequest, match="not modified"):
            await bot.edit_message_text("新", 42, message.message_id, reply_markup=KEYBOARD)
        await bot.edit_message_reply_markup(42, message.message_id, reply_markup=None)
        assert fake.message(42, message.message_id) is not None
        assert "reply_markup" not in fake.message(42, message.message_id)  # type: ignore[operator]
        with pytest.raises(BadRequest, match="not found"):
            await bot.edit_message_text("x", 42, 999)


# -- faults --------------------------------------------------------------------------------


@async_test
async def test_429_raises_retry_after_then_recovers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # PTB 22: retry_after as a timedelta
    async with fake_and_bot() as (fake, bot):
        fake.fail_next("sendMessage", retry_after=12)
        with pytest.raises(RetryAfter) as err:
            await bot.send_message(1, "x")
        assert err.value.retry_after == dtm.timedelta(seconds=12)
        await bot.send_message(1, "x")
        assert [c.error_code for c in fake.calls("sendMessage")] == [429, None]
        assert len(fake.sent(1)) == 1


@async_test
async def test_blocked_user_and_per_chat_faults() -> None:
    async with fake_and_bot() as (fake, bot):
        fake.fail_next("sendMessage", chat_id=2, error_code=403, times=2)
        await bot.send_message(1, "unaffected")
        for _ in range(2):
            with pytest.raises(Forbidden, match="blocked by the user"):
                await bot.send_message(2, "x")
        await bot.send_message(2, "again")
        fake.block(3)
        with pytest.raises(Forbidden):
            await bot.send_photo(3, b"img")
        fake.block(3, blocked=False)
        await bot.send_message(3, "unblocked")
        assert [len(fake.sent(c)) for c in (1, 2, 3)] == [1, 1, 1]


@async_test
async def test_migration_and_server_errors() -> None:
    async with fake_and_bot(strict_chats=True) as (fake, bot):
        fake.add_chat(-5, "group")
        fake.fail_next("sendMessage", chat_id=-5, migrate_to_chat_id=GROUP)
        with pytest.raises(ChatMigrated) as err:
            await bot.send_message(-5, "x")
        assert err.value.new_chat_id == GROUP
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.send_message(777, "unknown chat in strict mode")
        for code in (500, 502):
            fake.fail_next("sendMessage", error_code=code)
            with pytest.raises(NetworkError, match="Internal Server Error"):
                await bot.send_message(-5, "x")


# -- updates -------------------------------------------------------------------------------


@async_test
async def test_long_polling_offsets_and_timeouts() -> None:
    async with fake_and_bot() as (fake, bot):
        started = time.monotonic()
        assert await bot.get_updates(timeout=1) == ()
        assert time.monotonic() - started >= 0.9  # waited for the long poll

        async def push_later() -> int:
            await asyncio.sleep(0.1)
            return fake.push_message(42, "hello")

        started = time.monotonic()
        pusher = asyncio.create_task(push_later())
        (update,) = await bot.get_updates(timeout=5)
        assert time.monotonic() - started < 2 and update.update_id == await pusher
        assert update.message.text == "hello" and update.message.from_user.id == 42

        assert (await bot.get_updates(timeout=0))[0].update_id == update.update_id
        assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()
        assert fake.pending_updates() == []


@async_test
async def test_pushed_updates_parse_in_ptb() -> None:
    async with fake_and_bot() as (fake, bot):
        fake.push_message(GROUP, "/digest@czt_digest_bot 长沙", user_id=7, username="zhang")
        fake.push_my_chat_member(-55, old_status="left", new_status="member", user_id=7)
        fake.push_my_chat_member(9, old_status="member", new_status="kicked")
        command, joined, blocked = await bot.get_updates(timeout=0)

        assert command.effective_chat.type == "supergroup"
        assert command.effective_user.username == "zhang"
        assert command.message.parse_entities() == {
            command.message.entities[0]: "/digest@czt_digest_bot"
        }
        assert joined.my_chat_member.new_chat_member.status == "member"
        assert joined.effective_chat.type == "group"
        assert blocked.my_chat_member.new_chat_member.status == "kicked"


@async_test
async def test_webhook_blocks_polling_until_deleted() -> None:
    async with fake_and_bot() as (fake, bot):
        fake.push_message(1, "pending")
        await bot.set_webhook("https://example.invalid/hook")
        assert (await bot.get_webhook_info()).url == "https://example.invalid/hook"
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        await bot.delete_webhook(drop_pending_updates=True)
        assert await bot.get_updates(timeout=0) == ()


# -- commands, chats, members --------------------------------------------------------------


@async_test
async def test_commands_chats_and_admins() -> None:
    async with fake_and_bot() as (fake, bot):
        await bot.set_my_commands([("start", "开始"), ("digest", "今日快报")])
        assert [(c.command, c.description) for c in await bot.get_my_commands()] == [
            ("start", "开始"),
            ("digest", "今日快报"),
        ]
        assert fake.commands  # recorded by scope and language

        fake.add_chat(GROUP, "supergroup", title="长株潭一体化")
        fake.set_admins(GROUP, [7, 8], creator_id=7)
        chat = await bot.get_chat(GROUP)
        assert (chat.type, chat.title) == ("supergroup", "长株潭一体化")
        assert (await bot.get_chat_member(GROUP, 7)).status == "creator"
        assert (await bot.get_chat_member(GROUP, 8)).status == "administrator"
        assert (await bot.get_chat_member(GROUP, 9)).status == "member"
        admins = await bot.get_chat_administrators(GROUP)
        assert [(a.user.id, a.status) for a in admins] == [(7, "creator"), (8, "administrator")]
        assert await bot.close() and await bot.log_out()


# -- a real Application --------------------------------------------------------------------


async def run_polling(app: Application, body: Callable[[], Coroutine[Any, Any, None]]) -> None:
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            await body()
        finally:
            await app.updater.stop()
            await app.stop()


@async_test
async def test_application_answers_start_in_private_and_group() -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"欢迎 {update.effective_chat.type}")

    async with FakeBotAPI() as fake:
        app = Application.builder().token(TOKEN).base_url(fake.base_url).build()
        app.add_handler(CommandHandler("start", start))
        fake.push_message(42, "/start")

        async def body() -> None:
            (reply,) = await fake.wait_for_sent(42, 1, timeout=5)
            assert reply.text == "欢迎 private"
            fake.push_message(GROUP, "/start@czt_digest_bot", user_id=7)
            fake.push_message(GROUP, "/start@other_bot", user_id=7)  # not for us
            (reply,) = await fake.wait_for_sent(GROUP, 1, timeout=5)
            assert reply.text == "欢迎 supergroup"

        await run_polling(app, body)
        assert len(fake.sent(GROUP)) == 1
        assert fake.pending_updates() == []  # the updater confirmed what it fetched
        assert not fake.crashes


@async_test
async def test_callback_query_reaches_its_handler() -> None:
    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("已订阅")
        await query.edit_message_text(f"已订阅 {query.data}")

    async with FakeBotAPI() as fake:
        app = Application.builder().token(TOKEN).base_url(fake.base_url).build()
        app.add_handler(CallbackQueryHandler(on_button, pattern=r"^sub:"))

        async def body() -> None:
            message = await app.bot.send_message(42, "选择城市", reply_markup=KEYBOARD)
            fake.push_callback(42, message.message_id, "sub:长沙")
            await fake.wait_for_calls("editMessageText", 1, timeout=5)
            (answer,) = fake.calls("answerCallbackQuery")
            assert answer.params["text"] == "已订阅" and answer.error_code is None
            assert fake.message(42, message.message_id)["text"] == "已订阅 sub:长沙"  # type: ignore[index]

        await run_polling(app, body)
        assert not fake.crashes


# -- the threaded server, for sync code ----------------------------------------------------


def test_threaded_server_serves_sync_callers(threaded: FakeBotAPI) -> None:
    async def send() -> None:
        async with Bot(TOKEN, base_url=threaded.base_url) as bot:
            await bot.send_message(42, "from another loop")

    update_id = threaded.push_message(42, "/start")
    assert threaded.pending_updates()[0]["update_id"] == update_id
    asyncio.run(send())
    (sent,) = threaded.wait_for_sent_sync(42, 1, timeout=2)
    assert sent.text == "from another loop"
    with pytest.raises(TimeoutError, match="1 of 2 messages"):
        threaded.wait_for_sent_sync(42, 2, timeout=0.1)
