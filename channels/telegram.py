"""Telegram on python-telegram-bot 22: the chat handlers and the digest sender.

The token never reaches a log line: the httpx logger stays at WARNING (request URLs
contain it) and every record passes the redacting filter set up in ``app.core``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Sequence
from datetime import timedelta
from typing import Any

from telegram import (
    BotCommand,
    ChatMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram import (
    Chat as TgChat,
)
from telegram.constants import FloodLimit, MessageLimit, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from app.planning import Capabilities
from channels.offload import ServicePool
from digests.markup import HTML, render_reply
from digests.split import TELEGRAM_LIMIT, pack, utf16_len
from domain.errors import (
    BlockedError,
    ChannelDownError,
    ChatMigratedError,
    ConfigError,
    InvalidTargetError,
    RateLimitedError,
    RejectedError,
    TransientError,
)
from domain.models import Chat
from domain.reply import Reply
from handlers.commands import BY_NAME, COMMANDS, menu
from handlers.service import ChatService, Request

log = logging.getLogger(__name__)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
GROUP_TYPES = (TgChat.GROUP, TgChat.SUPERGROUP)


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.text, callback_data=b.data) for b in row] for row in reply.buttons]
    )


class PerChatProcessor(BaseUpdateProcessor):
    """Updates of different chats run concurrently, those of one chat in arrival order.

    One chat waiting for the database (or a slow feed in /addfeed) never holds up another.
    """

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[object, asyncio.Lock] = {}
        self._users: Counter[object] = Counter()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        key = chat.id if chat is not None else None
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] += 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


class TelegramBot:
    """Wires a ``ChatService`` into a PTB ``Application``.

    Every service call runs in a worker thread (``ServicePool``): the event loop never
    waits for SQLite, and ``admin_ids`` are user ids only (a group id would make every
    member an admin, so the settings refuse negative ids).
    """

    def __init__(self, service: ChatService, *, admin_ids: Sequence[int] = ()) -> None:
        self.service = service
        self.admin_ids = {i for i in admin_ids if i > 0}
        self.pool = ServicePool(service)

    def build(
        self, token: str, *, base_url: str = "", post_init=None, post_shutdown=None
    ) -> Application:
        if not token:
            raise ConfigError("TELEGRAM_BOT_TOKEN is not set")
        builder: ApplicationBuilder = Application.builder().token(token)
        if base_url:
            builder = builder.base_url(base_url)
        if post_init is not None:
            builder = builder.post_init(post_init)

        async def shutdown(app: Application) -> None:
            await asyncio.to_thread(self.pool.close)
            if post_shutdown is not None:
                await post_shutdown(app)

        builder = builder.post_shutdown(shutdown).concurrent_updates(PerChatProcessor())
        app = builder.build()
        self.install(app)
        return app

    def install(self, app: Application) -> None:
        names = [c.name for c in COMMANDS]
        app.add_handler(CommandHandler(names, self.on_command))
        app.add_handler(CallbackQueryHandler(self.on_callback))
        app.add_handler(MessageHandler(filters.COMMAND, self.on_unknown))
        app.add_handler(MessageHandler(filters.TEXT & filters.ChatType.PRIVATE, self.on_text))
        app.add_error_handler(self.on_error)

    async def publish_commands(self, app: Application) -> None:
        await app.bot.set_my_commands([BotCommand(n, d) for n, d in menu()])

    # -- requests -----------------------------------------------------------------

    async def _request(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, needs_rights: bool
    ) -> Request:
        chat = update.effective_chat
        user = update.effective_user
        assert chat is not None
        user_id = user.id if user else 0
        group = chat.type in GROUP_TYPES
        can_change = True
        if group and needs_rights:
            can_change = await self._is_group_admin(context, chat.id, user_id)
        return Request(
            channel="telegram",
            address=str(chat.id),
            kind="group" if group else "private",
            user=str(user_id),
            is_admin=user_id in self.admin_ids,
            can_change=can_change,
        )

    async def _is_group_admin(
        self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, user_id: int
    ) -> bool:
        try:
            member = await context.bot.get_chat_member(chat_id, user_id)
        except TelegramError as e:
            log.warning("telegram.admin_check_failed chat=%s error=%s", chat_id, e)
            return False
        return member.status in (ChatMember.ADMINISTRATOR, ChatMember.OWNER)

    # -- handlers -----------------------------------------------------------------

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not message.text:
            return
        name = message.text.split()[0][1:].split("@", 1)[0].lower()
        args = " ".join(context.args or [])
        command = BY_NAME.get(name)
        needs_rights = bool(command and command.changes_chat and args)
        request = await self._request(update, context, needs_rights)
        reply = await self.pool.run(lambda s: s.command(request, name, args))
        await self.send(context, request, reply)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not message.text:
            return
        request = await self._request(update, context, needs_rights=False)
        text = message.text
        reply = await self.pool.run(lambda s: s.command(request, "search", text))
        await self.send(context, request, reply)

    async def on_unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not message.text:
            return
        head = message.text.split()[0][1:]
        name, _, target = head.partition("@")
        bot_name = (context.bot.username or "").lower()
        if target and target.lower() != bot_name:
            return  # addressed to another bot in a group
        request = await self._request(update, context, needs_rights=False)
        reply = await self.pool.run(lambda s: s.command(request, name, ""))
        await self.send(context, request, reply)

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        data = query.data or ""
        request = await self._request(update, context, needs_rights=data.startswith("t:"))
        reply = await self.pool.run(lambda s: s.callback(request, data))
        await query.answer()
        if data.startswith("t:") and reply.buttons and query.message is not None:
            try:
                await query.edit_message_text(
                    "\n\n".join(render_reply(reply, HTML)),
                    parse_mode=ParseMode.HTML,
                    reply_markup=keyboard(reply),
                    link_preview_options=NO_PREVIEW,
                )
                return
            except BadRequest as e:
                if "not modified" in str(e).lower():
                    return
                log.info("telegram.edit_failed error=%s", e)
        await self.send(context, request, reply)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        if isinstance(error, InvalidToken):
            log.error("telegram.invalid_token")
            return
        log.error(
            "telegram.handler_error error=%s: %s",
            type(error).__name__,
            error,
            exc_info=error if isinstance(error, BaseException) else None,
        )

    async def send(
        self, context: ContextTypes.DEFAULT_TYPE, request: Request, reply: Reply
    ) -> None:
        chat_id = int(request.address)
        texts = pack(render_reply(reply, HTML), TELEGRAM_LIMIT, utf16_len, html=True) or ["…"]
        for i, text in enumerate(texts):
            markup = keyboard(reply) if i == len(texts) - 1 else None
            try:
                await context.bot.send_message(
                    chat_id,
                    text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    link_preview_options=NO_PREVIEW,
                )
            except Forbidden:
                await self.pool.run(lambda s: s.blocked(request))
                return
            except RetryAfter as e:
                log.warning("telegram.reply_rate_limited retry_after=%s", e.retry_after)
                return


class TelegramSender:
    """Delivers digest parts through the Bot API, mapping errors to delivery errors.

    With ``paid_broadcast`` every digest message is sent with ``allow_paid_broadcast``
    (Telegram charges 0.1 Star each from the bot's balance) and paced to Telegram's paid
    limit of 1,000 messages a second instead of the free 30.
    """

    channel = "telegram"
    capabilities = Capabilities(
        format="html",
        limit=TELEGRAM_LIMIT,
        measure=utf16_len,
        photos=True,
        caption_limit=MessageLimit.CAPTION_LENGTH,
    )

    def __init__(self, bot, *, paid_broadcast: bool = False) -> None:
        self.bot = bot
        self.paid = paid_broadcast
        rate = (
            FloodLimit.PAID_MESSAGES_PER_SECOND
            if paid_broadcast
            else FloodLimit.MESSAGES_PER_SECOND
        )
        self.global_interval = 1 / rate
        # Sends under way at once: the rate times a slow round trip (half a second), within
        # python-telegram-bot's default pool of 256 connections.
        self.max_in_flight = min(256, max(1, rate // 2))

    def chat_interval(self, chat: Chat) -> float:
        return 3.0 if chat.kind == "group" else 1.0  # 20/min in groups, ~1/s per chat

    async def send_text(self, chat: Chat, body: str) -> str:
        async def call() -> str:
            message = await self.bot.send_message(
                int(chat.address),
                body,
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
                allow_paid_broadcast=self.paid or None,
            )
            return str(message.message_id)

        return await self._mapped(call)

    async def send_photo(self, chat: Chat, photo: bytes, caption: str) -> str:
        async def call() -> str:
            message = await self.bot.send_photo(
                int(chat.address),
                photo,
                caption=caption,
                parse_mode=ParseMode.HTML,
                allow_paid_broadcast=self.paid or None,
            )
            return str(message.message_id)

        return await self._mapped(call)

    async def _mapped(self, call) -> str:
        try:
            return str(await call())
        except RetryAfter as e:
            raise RateLimitedError(
                "Telegram flood control", retry_after=_seconds(e.retry_after)
            ) from None
        except ChatMigrated as e:
            raise ChatMigratedError(
                "group upgraded to supergroup", new_address=str(e.new_chat_id)
            ) from None
        except Forbidden as e:
            raise BlockedError(f"forbidden: {e.message}") from None
        except BadRequest as e:
            text = e.message.lower()
            if "chat not found" in text or "user is deactivated" in text:
                raise BlockedError(f"gone: {e.message}") from None
            raise RejectedError(f"bad request: {e.message}") from None
        except InvalidToken:
            raise ChannelDownError("the bot token was refused") from None
        except (TimedOut, NetworkError) as e:
            raise TransientError(f"network: {type(e).__name__}") from None
        except TelegramError as e:
            raise TransientError(f"telegram: {type(e).__name__}") from None
        except ValueError:
            raise InvalidTargetError("not a Telegram chat id") from None
