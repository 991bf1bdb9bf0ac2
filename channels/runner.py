"""Running the bot: Telegram (polling or webhook), the console, and one-shot digest sends."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from pathlib import Path

from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application

from app.core import Core, RedactingFilter
from app.delivery import DeliveryReport, Sender
from app.jobs import Jobs
from channels.console import Console, ConsoleSender
from domain.errors import ConfigError
from handlers.service import ChatService

log = logging.getLogger(__name__)
WEBHOOK_PATH = "telegram"


def _telegram_bot(core: Core):
    from telegram import Bot

    tg = core.settings.telegram
    if tg.api_base_url:
        return Bot(tg.token, base_url=tg.api_base_url)
    return Bot(tg.token)


@asynccontextmanager
async def wecom_senders(core: Core) -> AsyncIterator[dict[str, Sender]]:
    """The WeCom robot sender when robots are configured (robots synced from the config)."""
    if not core.settings.wecom.robots:
        yield {}
        return
    from app.robots import sync_robots
    from channels.wecom import WeComSender

    sync_robots(core)
    async with WeComSender(core.settings.wecom) as sender:
        yield {"wecom": sender}


@asynccontextmanager
async def wechat_serving(core: Core) -> AsyncIterator[None]:
    """The WeChat callback server, when ``[wechat] enabled``."""
    if not core.settings.wechat.enabled:
        yield
        return
    from channels.wechat import serve

    runner = await serve(core, ChatService(core))
    try:
        yield
    finally:
        await runner.cleanup()


async def send_digests(core: Core, *, force: bool = False) -> DeliveryReport:
    """`digest send`: finish planned deliveries, plan and send due digests, return."""
    senders: dict[str, Sender] = {"console": ConsoleSender()}
    bot = None
    if core.settings.telegram.token:
        from channels.telegram import TelegramSender

        bot = _telegram_bot(core)
        try:
            await bot.initialize()
        except InvalidToken:  # its message quotes the token: never let it out
            raise ConfigError("the Telegram bot token was refused (TELEGRAM_BOT_TOKEN)") from None
        senders["telegram"] = TelegramSender(
            bot, paid_broadcast=core.settings.telegram.paid_broadcast
        )
    try:
        async with wecom_senders(core) as wecom:
            jobs = Jobs(core, {**senders, **wecom})
            report = await jobs.send_digests(force=force)
            jobs.stop()
            return report
    finally:
        if bot is not None:
            await bot.shutdown()


async def run_service(core: Core) -> int:
    """No Telegram: the scheduler for WeCom robots and the WeChat callback server."""
    stop = _stop_event()
    async with wecom_senders(core) as wecom, wechat_serving(core):
        jobs = Jobs(core, {**wecom})
        jobs.start()
        print("service running (WeCom/WeChat); Ctrl+C to stop", file=sys.stderr)
        try:
            await stop.wait()
        finally:
            jobs.stop()
    return 0


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    return stop


@contextmanager
def logging_to_file(core: Core) -> Iterator[Path]:
    """While the console chat runs, log records (background job errors and tracebacks
    included) go to ``console.log`` beside the database, never into the conversation."""
    path = Path(core.settings.database.path).with_name("console.log")
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactingFilter(core.settings.secrets()))
    root = logging.getLogger()
    previous = list(root.handlers)
    root.handlers[:] = [handler]
    try:
        yield path
    finally:
        root.handlers[:] = previous
        handler.close()


async def run_console(core: Core, *, ingest_first: bool) -> int:
    with logging_to_file(core) as log_path:
        print(f"（运行日志写入 {log_path}）", file=sys.stderr)
        return await _console(core, ingest_first=ingest_first)


async def _console(core: Core, *, ingest_first: bool) -> int:
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
    jobs = Jobs(core, {"console": ConsoleSender()})
    jobs.start()
    try:
        await Console(ChatService(core)).run_async()
    finally:
        jobs.stop()
    return 0


@asynccontextmanager
async def telegram_running(core: Core, *, jobs: bool = True) -> AsyncIterator[Application]:
    """The Telegram bot up (polling or webhook) with its scheduled jobs, until the block ends."""
    from channels.telegram import TelegramBot, TelegramSender

    tg = core.settings.telegram
    if tg.mode == "webhook" and not (tg.webhook_secret and tg.webhook_url):
        raise ConfigError("webhook mode needs [telegram] webhook_url and TELEGRAM_WEBHOOK_SECRET")
    service = ChatService(core)
    bot = TelegramBot(service, admin_ids=tg.admin_ids)
    app = bot.build(tg.token, base_url=tg.api_base_url)

    async def alert(text: str) -> None:
        for admin in tg.admin_ids:
            with suppress(TelegramError):
                await app.bot.send_message(admin, text)

    try:
        await app.initialize()
    except InvalidToken:  # its message quotes the token: never let it out
        raise ConfigError("the Telegram bot token was refused (TELEGRAM_BOT_TOKEN)") from None
    async with app, wecom_senders(core) as wecom, wechat_serving(core):
        await bot.publish_commands(app)
        senders: dict[str, Sender] = {
            "telegram": TelegramSender(app.bot, paid_broadcast=tg.paid_broadcast),
            **wecom,
        }
        scheduler = Jobs(core, senders, alert=alert)
        await app.start()
        updater = app.updater
        assert updater is not None
        hook = None
        try:
            if tg.mode == "webhook":
                from channels import webhook

                hook = await webhook.serve(
                    app,
                    listen=tg.webhook_listen,
                    port=tg.webhook_port,
                    path=WEBHOOK_PATH,
                    secret=tg.webhook_secret,
                )
                await app.bot.set_webhook(tg.webhook_url, secret_token=tg.webhook_secret)
            else:
                await updater.start_polling()
            if jobs:
                scheduler.start()
            yield app
        finally:
            scheduler.stop()
            if hook is not None:
                await hook.cleanup()
            if updater.running:
                await updater.stop()
            await app.stop()


async def run_telegram(core: Core) -> int:
    stop = _stop_event()
    async with telegram_running(core):
        print("bot running; Ctrl+C to stop", file=sys.stderr)
        await stop.wait()
    return 0
