"""The Telegram webhook receiver, on aiohttp instead of PTB's built-in tornado server.

PTB's server reads a whole request body (up to 100 MB) before it looks at the secret
header, so anyone who can reach the port can make the process hold large bodies in
memory. Here the secret header is checked first and a refused request is answered and
its connection closed without the body being read; any update is capped at 1 MiB
(a real one is a few kilobytes). Accepted updates go to the ``Application``'s update
queue, as PTB's own custom-webhook example does.
"""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web
from telegram import Update
from telegram.ext import Application

log = logging.getLogger(__name__)

MAX_UPDATE = 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def create_app(application: Application, *, secret: str, path: str) -> web.Application:
    """The aiohttp application that feeds ``application`` the updates posted to ``/path``."""
    expected = secret.encode("utf-8")

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8")
        if not hmac.compare_digest(given, expected):
            log.warning("telegram.webhook_refused reason=secret")
            return web.Response(status=403, text="forbidden")
        if request.content_length is not None and request.content_length > MAX_UPDATE:
            log.warning("telegram.webhook_refused reason=too_large")
            return web.Response(status=413, text="too large")
        try:
            body = await request.read()  # client_max_size stops a chunked body at the cap
        except web.HTTPRequestEntityTooLarge:
            log.warning("telegram.webhook_refused reason=too_large")
            return web.Response(status=413, text="too large")
        try:
            update = Update.de_json(json.loads(body), application.bot)
        except Exception:  # any JSON that is not an update: refuse it, keep serving
            log.warning("telegram.webhook_refused reason=not_an_update")
            return web.Response(status=400, text="bad request")
        await application.update_queue.put(update)
        return web.Response(text="ok")

    app = web.Application(client_max_size=MAX_UPDATE)
    app.router.add_post("/" + path.strip("/"), receive)
    return app


async def serve(
    application: Application, *, listen: str, port: int, path: str, secret: str
) -> web.AppRunner:
    """Listen on ``listen:port``; stop with ``runner.cleanup()``."""
    # lingering_time=0: a refused request's unread body is not drained, the connection closes.
    runner = web.AppRunner(
        create_app(application, secret=secret, path=path), access_log=None, lingering_time=0
    )
    await runner.setup()
    await web.TCPSite(runner, listen, port).start()
    log.info("telegram.webhook_listening host=%s port=%d", listen, port)
    return runner
