"""The WeChat Official Account / WeCom app callback server: chat commands as passive replies.

WeChat POSTs each message the user sends to our URL as XML and takes the HTTP response
as the reply ("passive reply"), within 5 seconds; when it gets no response in time it
drops the connection and sends the same ``MsgId`` again, three requests in all. Any
response it does get, "please wait" included, ends the retries. So the command runs off
the event loop, each message is processed once, and

- a reply ready within ``timeout`` (4 s) is the response;
- a slower one is not answered at all on the first requests: the connection is held
  past WeChat's deadline (``hold``) and answered 503, so WeChat retries, and the retry
  gets the finished reply (or waits for it again);
- only the last request, when the reply is still not ready, is answered ``BUSY``; the
  reply, once finished, waits for the user's “更多”.

A long reply is cut into pages of at most 2048 bytes that the user turns with “更多”.

Security: every request is signature-checked before anything is processed (plain mode:
``signature`` over token, timestamp and nonce; encrypted mode, when ``WECHAT_AES_KEY``
is set: ``msg_signature`` over those and the ciphertext), and replays are refused: a
timestamp outside ``[wechat] replay_window``, a nonce already used for another message
(sender, MsgId and the XML's hash), or a message answered before the cache was lost
gets 403 (``app.replay``). Plain mode signs no body, so it is refused unless
``[wechat] allow_plain = true`` (with a warning at start-up). XML is parsed with defusedxml
with DTDs and entities forbidden, never with the standard library parser. The token and
the AES key never reach a log line or a response.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

from app.config import WeChatSettings
from app.core import Core
from app.replay import ANSWERED, REPLAY, ReplayGuard, message_identity
from channels.wechat_xml import (
    MORE_POINTER,
    BadRequest,
    Expiring,
    Message,
    paginate,
    parse_xml,
    read_message,
    reply_xml,
)
from digests.markup import TEXT, render_reply
from domain.errors import ConfigError, StorageError
from domain.reply import MORE, Reply
from handlers.service import ChatService, Request

log = logging.getLogger(__name__)

CHANNEL = "wechat"
ANSWER_WITHIN = 4.0  # seconds; WeChat gives up after 5
HOLD = 5.5  # seconds a request without a timely reply is held: past WeChat's deadline
ATTEMPTS = 3  # requests WeChat sends for one message: the first and two retries
MAX_BODY = 64 * 1024  # a WeChat message is a few hundred bytes
MORE_WORDS = frozenset({"更多", "下一页", "more"})
MORE_RESULTS = "回复“更多”查看更多结果。"
BUSY = "正在处理，请稍后回复“更多”查看结果。"
NO_MORE = "没有更多内容了。发送关键词重新搜索，或发送“帮助”查看命令。"
NOT_TEXT = "目前只能处理文字消息。发送“帮助”查看命令，或直接发送关键词搜索。"
FAILED = "抱歉，处理出错了，请稍后再试。"


class WeChatEndpoint:
    """The callback handlers and their per-user state (pages, MsgId replies)."""

    def __init__(
        self,
        cfg: WeChatSettings,
        service: ChatService,
        guard: ReplayGuard,
        *,
        timeout: float = ANSWER_WITHIN,
        hold: float = HOLD,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not cfg.token:
            raise ConfigError("WeChat needs WECHAT_TOKEN (the token set in the admin console)")
        if not cfg.aes_key and not cfg.allow_plain:
            raise ConfigError(
                "WeChat plain mode signs no message body: set WECHAT_AES_KEY and"
                " wechat.app_id (encrypted mode), or wechat.allow_plain = true to accept the risk"
            )
        self.service = service
        self.timeout = timeout
        self.hold = max(hold, timeout)
        self.clock = clock
        self._token = cfg.token
        self._crypto: WeChatCrypto | None = None
        self._wecom: WeComCrypto | None = None
        if cfg.aes_key:
            if not cfg.app_id:
                raise ConfigError("wechat.app_id (AppID or CorpID) is needed with WECHAT_AES_KEY")
            try:
                self._crypto = WeChatCrypto(cfg.token, cfg.aes_key, cfg.app_id)
                self._wecom = WeComCrypto(cfg.token, cfg.aes_key, cfg.app_id)
            except (ValueError, AssertionError, TypeError):
                raise ConfigError(
                    "WECHAT_AES_KEY must be the 43-character EncodingAESKey"
                ) from None
        if not cfg.aes_key:
            log.warning("wechat.plain_mode: messages are not signed; prefer WECHAT_AES_KEY")
        # Keyed by the message identity (sender, MsgId, the XML's hash).
        self.replies: Expiring[str, str] = Expiring(10_000, 600.0, time.monotonic)
        self.attempts: Expiring[str, int] = Expiring(10_000, 600.0, time.monotonic)
        self.pages: Expiring[str, list[str]] = Expiring(1_000, 3600.0, time.monotonic)
        self.more: Expiring[str, str] = Expiring(1_000, 3600.0, time.monotonic)
        self._inflight: dict[str, asyncio.Future[str]] = {}
        # One worker: commands run in order, off the loop, and the 4 s guard can fire.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wechat")
        self.replay = guard

    @property
    def encrypted(self) -> bool:
        return self._crypto is not None

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.replay.close()

    # -- GET: URL verification ------------------------------------------------------

    async def verify(self, request: web.Request) -> web.Response:
        q = request.query
        timestamp, nonce, echostr = q.get("timestamp", ""), q.get("nonce", ""), q.get("echostr")
        if echostr is None:
            return web.Response(status=400, text="missing echostr")
        if not self.replay.fresh(timestamp):
            log.warning("wechat.stale_timestamp kind=verify")
            return web.Response(status=403, text="forbidden")
        if "msg_signature" in q:  # a WeCom app: echostr is encrypted
            if self._wecom is None:
                return web.Response(status=403, text="forbidden")
            try:
                plain = self._wecom.check_signature(q["msg_signature"], timestamp, nonce, echostr)
            except InvalidSignatureException:
                log.warning("wechat.bad_signature kind=verify")
                return web.Response(status=403, text="forbidden")
            except Exception:  # bad base64, padding or CorpID: not from WeCom
                log.warning("wechat.bad_echostr")
                return web.Response(status=400, text="bad echostr")
            text = plain.decode("utf-8") if isinstance(plain, bytes) else str(plain)
            return web.Response(text=text)
        if not self._signed(q.get("signature", ""), timestamp, nonce):
            log.warning("wechat.bad_signature kind=verify")
            return web.Response(status=403, text="forbidden")
        return web.Response(text=echostr)

    def _signed(self, signature: str, timestamp: str, nonce: str) -> bool:
        try:
            check_signature(self._token, signature, timestamp, nonce)
        except InvalidSignatureException:
            return False
        return True

    # -- POST: messages --------------------------------------------------------------

    async def receive(self, request: web.Request) -> web.Response:
        q = request.query
        timestamp, nonce = q.get("timestamp", ""), q.get("nonce", "")
        if self.encrypted:
            unsigned = not q.get("msg_signature")  # checked against the ciphertext below
        else:
            unsigned = not self._signed(q.get("signature", ""), timestamp, nonce)
        if unsigned:
            log.warning("wechat.bad_signature kind=message")
            return web.Response(status=403, text="forbidden")
        if not self.replay.fresh(timestamp):
            log.warning("wechat.stale_timestamp kind=message")
            return web.Response(status=403, text="forbidden")
        body = await request.read()
        try:
            if self._crypto is not None:
                inner = self._decrypt(body, q.get("msg_signature", ""), timestamp, nonce)
                if inner is None:
                    log.warning("wechat.bad_signature kind=message")
                    return web.Response(status=403, text="forbidden")
            else:
                inner = body
            message = read_message(parse_xml(inner))
        except BadRequest as e:
            log.warning("wechat.bad_request reason=%s", e)
            return web.Response(status=400, text="bad request")
        identity = message_identity(message.from_user, message.msg_id, inner)
        try:
            seen = await self.replay.claim(nonce, identity)
        except StorageError as e:  # cannot tell a replay: refuse, WeChat retries
            log.error("wechat.nonce_unavailable error=%s", e)
            return web.Response(status=503, text="busy")
        if seen == REPLAY:
            log.warning("wechat.replayed_nonce")
            return web.Response(status=403, text="forbidden")
        if seen == ANSWERED and self.replies.get(identity) is None:
            # Answered before this process's cache: never processed twice.
            log.warning("wechat.replayed_answered")
            return web.Response(status=403, text="forbidden")
        text = await self.answer(message, identity)
        if text is None:  # no reply in time: no response, so WeChat asks again
            return web.Response(status=503, text="retry")
        try:
            await self.replay.answered(identity)
        except StorageError as e:
            log.error("wechat.answered_unrecorded error=%s", e)
        if not text:
            return web.Response(text="success")  # WeChat's "no reply"
        xml = reply_xml(message, text, int(self.clock()))
        if self._crypto is not None:
            xml = self._crypto.encrypt_message(xml, nonce or "czt", str(int(self.clock())))
        return web.Response(text=xml, content_type="application/xml")

    def _decrypt(self, body: bytes, signature: str, timestamp: str, nonce: str) -> bytes | None:
        """The inner message XML of an encrypted request; None when the signature is wrong."""
        assert self._crypto is not None
        outer = parse_xml(body)
        encrypt = outer.findtext("Encrypt")
        if not encrypt or not signature:
            # Unsigned or not encrypted at all: treat like a bad signature, process nothing.
            return None
        try:
            plain = self._crypto.decrypt_message({"Encrypt": encrypt}, signature, timestamp, nonce)
        except InvalidSignatureException:
            return None
        except Exception as e:  # bad base64, padding or AppID: not from WeChat
            raise BadRequest(f"undecryptable ({type(e).__name__})") from None
        return plain if isinstance(plain, bytes) else str(plain).encode("utf-8")

    async def answer(self, message: Message, identity: str) -> str | None:
        """The reply text for ``message`` ("" for none), or None for "no response now".

        A retry of the same message gets the first reply without processing it again.
        A reply not ready within ``timeout`` gets no response (the request is held past
        WeChat's deadline) so that WeChat retries, except on its last attempt, which is
        answered ``BUSY``; the reply then waits for the user's “更多”.
        """
        attempt = (self.attempts.get(identity) or 0) + 1
        self.attempts[identity] = attempt
        cached = self.replies.get(identity)
        if cached is not None:
            log.info("wechat.retry_replayed attempt=%d", attempt)
            return cached
        future = self._inflight.get(identity)
        if future is None:
            future = asyncio.ensure_future(self._reply(message))
            self._inflight[identity] = future
            future.add_done_callback(lambda f: self._finished(identity, f))
        started = time.monotonic()
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.timeout)
        except TimeoutError:
            pass
        if attempt < ATTEMPTS:
            # No response at all: WeChat retries only then, and the retry gets the reply.
            log.warning("wechat.slow_reply attempt=%d timeout=%.1f", attempt, self.timeout)
            await asyncio.sleep(max(0.0, self.hold - (time.monotonic() - started)))
            return None
        log.warning("wechat.busy_reply attempt=%d", attempt)
        user = message.from_user
        future.add_done_callback(lambda f: self._keep_for_more(user, f))
        return BUSY

    def _finished(self, identity: str, future: asyncio.Future[str]) -> None:
        self._inflight.pop(identity, None)
        if not future.cancelled() and future.exception() is None:
            self.replies[identity] = future.result()

    def _keep_for_more(self, user: str, future: asyncio.Future[str]) -> None:
        """A reply finished after the user was told ``BUSY``: the first page of “更多”."""
        if future.cancelled() or future.exception() is not None or not future.result():
            return
        self.pages[user] = [future.result(), *(self.pages.get(user) or [])]

    async def _reply(self, message: Message) -> str:
        try:
            return await self._reply_text(message)
        except Exception:
            log.exception("wechat.reply_failed msg_type=%s", message.msg_type)
            return FAILED

    async def _reply_text(self, message: Message) -> str:
        user = message.from_user
        req = Request(channel=CHANNEL, address=user, kind="private", user=user, words=True)
        if message.msg_type == "event":
            if message.event.lower() == "subscribe":  # followed the account: introduce us
                return await self._run(req, lambda: self.service.text(req, "开始"))
            return ""
        if message.msg_type != "text":
            return NOT_TEXT
        words = message.content.strip()
        if words.lower() in MORE_WORDS:
            pages = self.pages.pop(user)
            if pages:
                return self._page(user, pages)
            data = self.more.pop(user)
            if data is None:
                return NO_MORE
            return await self._run(req, lambda: self.service.callback(req, data))
        self.pages.pop(user)
        self.more.pop(user)
        return await self._run(req, lambda: self.service.text(req, words))

    async def _run(self, req: Request, call: Callable[[], Reply]) -> str:
        loop = asyncio.get_running_loop()
        reply = await loop.run_in_executor(self._executor, call)
        text = "\n\n".join(render_reply(reply, TEXT)).strip()
        more = reply.button(MORE)
        if more is not None:
            self.more[req.address] = more.data
            text += "\n\n" + MORE_RESULTS
        pages = paginate(text)
        return self._page(req.address, pages) if pages else ""

    def _page(self, user: str, pages: list[str]) -> str:
        if len(pages) > 1:
            self.pages[user] = pages[1:]
            return f"{pages[0]}\n{MORE_POINTER}"
        return pages[0]


ENDPOINT = web.AppKey("wechat_endpoint", WeChatEndpoint)


def create_app(
    core: Core,
    service: ChatService,
    *,
    timeout: float = ANSWER_WITHIN,
    hold: float = HOLD,
    clock: Callable[[], float] | None = None,
) -> web.Application:
    """The callback application: GET verifies the URL, POST answers messages."""
    clock = clock or core.clock
    endpoint = WeChatEndpoint(
        core.settings.wechat,
        service,
        core.replay_guard(CHANNEL, clock),
        timeout=timeout,
        hold=hold,
        clock=clock,
    )
    app = web.Application(client_max_size=MAX_BODY)
    app[ENDPOINT] = endpoint
    path = core.settings.wechat.path or "/wechat"
    app.router.add_get(path, endpoint.verify)
    app.router.add_post(path, endpoint.receive)

    async def close(_: web.Application) -> None:
        endpoint.close()

    app.on_cleanup.append(close)
    return app


async def serve(core: Core, service: ChatService) -> web.AppRunner:
    """Start the callback server on ``[wechat] host:port``; stop it with ``runner.cleanup()``."""
    cfg = core.settings.wechat
    runner = web.AppRunner(create_app(core, service), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, cfg.host, cfg.port)
    await site.start()
    log.info(
        "wechat.serving host=%s port=%d path=%s encrypted=%s",
        cfg.host,
        cfg.port,
        cfg.path,
        bool(cfg.aes_key),
    )
    return runner
