"""Running the bot: Telegram (polling or webhook), the console, and one-shot digest sends."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from contextlib import suppress

from channels.console import Console, ConsoleSender
from core.app import Core
from core.delivery import DeliveryReport, Sender
from core.errors import ConfigError
from core.jobs import Jobs
from handlers.service import ChatService

log = logging.getLogger(__name__)


def _telegram_bot(core: Core):
    from telegram import Bot

    tg = core.settings.telegram
    if tg.api_base_url:
        return Bot(tg.token, base_url=tg.api_base_url)
    return Bot(tg.token)


async def send_digests(core: Core, *, force: bool = False) -> DeliveryReport:
    """`digest send`: finish planned deliveries, plan and send due digests, return."""
    senders: dict[str, Sender] = {"console": ConsoleSender()}
    bot = None
    if core.settings.telegram.token:
        from channels.telegram import TelegramSender

        bot = _telegram_bot(core)
        await bot.initialize()
        senders["telegram"] = TelegramSender(bot)
    try:
        jobs = Jobs(core, senders)
        report = await jobs.send_digests(force=force)
        jobs.stop()
        return report
    finally:
        if bot is not None:
            await bot.shutdown()


async def run_console(core: Core, *, ingest_first: bool) -> int:
    root = logging.getLogger()
    root.setLevel(max(root.level, logging.WARNING))  # log lines would drown the chat
    if ingest_first:
        reports = await asyncio.to_thread(
            core.ingestor().ingest, core.storage.feeds.active(), core.now()
        )
        counts = core.storage.articles.counts()
        ok = sum(1 for r in reports if r.ok)
        print(
            f"已读取 {ok}/{len(reports)} 个订阅源，共 {counts['stories']} 条报道"
            f"（{counts['articles']} 篇文章）。\n"
        )
    service = ChatService(core)
    jobs = Jobs(core, {"console": ConsoleSender()})
    jobs.start()
    try:
        await Console(service).run_async()
    finally:
        jobs.stop()
    return 0


async def run_telegram(core: Core) -> int:
    from channels.telegram import TelegramBot, TelegramSender

    tg = core.settings.telegram
    if tg.mode == "webhook" and not (tg.webhook_secret and tg.webhook_url):
        raise ConfigError("webhook mode needs [telegram] webhook_url and TELEGRAM_WEBHOOK_SECRET")
    service = ChatService(core)
    bot = TelegramBot(service, admin_ids=tg.admin_ids)
    app = bot.build(tg.token, base_url=tg.api_base_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    async def alert(text: str) -> None:
        for admin in tg.admin_ids:
            with suppress(Exception):
                await app.bot.send_message(admin, text)

    async with app:
        await bot.publish_commands(app)
        jobs = Jobs(core, {"telegram": TelegramSender(app.bot)}, alert=alert)
        await app.start()
        assert app.updater is not None
        if tg.mode == "webhook":
            await app.updater.start_webhook(
                listen=tg.webhook_listen,
                port=tg.webhook_port,
                url_path="telegram",
                webhook_url=tg.webhook_url,
                secret_token=tg.webhook_secret,
            )
        else:
            await app.updater.start_polling()
        jobs.start()
        print("bot running; Ctrl+C to stop", file=sys.stderr)
        try:
            await stop.wait()
        finally:
            jobs.stop()
            await app.updater.stop()
            await app.stop()
    return 0
