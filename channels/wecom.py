"""WeCom (企业微信) group robots: configured delivery targets and their webhook sender.

Each ``[[wecom.robots]]`` entry is a chat (channel "wecom", address = robot name) whose
subscriptions and schedule come from the configuration, not from chat commands
(``app.robots.sync_robots`` makes the database say what the file says). ``WeComSender``
posts digest parts to the robot's webhook.

The webhook key is the robot's only credential. It lives in the settings (from the
environment) and is put into a URL only at request time; no exception message, log line
or repr carries it, and the httpx logger (which logs request URLs) is held at WARNING.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from typing import Any

import httpx

from app.config import WeComSettings
from app.planning import Capabilities
from app.robots import ROBOT_CHANNEL
from digests.split import WECOM_LIMIT, utf8_len
from domain.errors import (
    InvalidTargetError,
    RateLimitedError,
    TransientError,
)
from domain.models import Chat

log = logging.getLogger(__name__)

CHANNEL = ROBOT_CHANNEL
MAX_IMAGE_BYTES = 2 * 1024 * 1024  # WeCom's limit for an image message, before base64
RATE_LIMITED = 45009  # "api freq out of limit": 20 messages a minute per robot
RATE_LIMIT_WAIT = 60.0
# The key is wrong, the robot was removed or disabled: sending again cannot succeed.
INVALID_TARGET = frozenset({93000, 93004, 93008, 40001, 40014})


class WeComSender:
    """Sends digest parts to WeCom group robots through their webhooks.

    Implements ``app.delivery.Sender``. Use as ``async with WeComSender(settings)`` or
    call ``aclose()`` when done.
    """

    channel = CHANNEL
    # Markdown up to 4096 UTF-8 bytes; an image message carries no text. A group robot
    # only posts: its readers cannot send the bot a command.
    capabilities = Capabilities("markdown", WECOM_LIMIT, utf8_len, photos=True, commands=False)
    global_interval = 0.0  # WeCom limits each robot, not the sender as a whole
    max_in_flight = 4  # robots post in parallel; each robot's own parts still go in order

    def __init__(
        self,
        settings: WeComSettings,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base = settings.api_base_url.rstrip("/")
        self._keys: dict[str, str] = {r.name: r.key for r in settings.robots}
        self._per_minute = max(1, int(settings.per_minute))
        self._timeout = timeout
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        # httpx logs every request URL at INFO, and webhook URLs carry the key.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("httpcore").setLevel(logging.WARNING)

    def __repr__(self) -> str:
        return f"WeComSender(api_base_url={self._base!r}, robots={sorted(self._keys)!r})"

    async def __aenter__(self) -> WeComSender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def chat_interval(self, chat: Chat) -> float:
        return 60.0 / self._per_minute

    async def send_text(self, chat: Chat, body: str) -> str:
        return await self._post(chat, {"msgtype": "markdown", "markdown": {"content": body}})

    async def send_photo(self, chat: Chat, photo: bytes, caption: str) -> str:
        if len(photo) > MAX_IMAGE_BYTES:
            # The chart is an extra: skipping it beats retrying a message that cannot fit.
            log.warning("wecom.image_too_large robot=%s bytes=%d", chat.address, len(photo))
            return "skipped:image-too-large"
        payload = {
            "msgtype": "image",
            "image": {
                "base64": base64.b64encode(photo).decode("ascii"),
                "md5": hashlib.md5(photo).hexdigest(),
            },
        }
        return await self._post(chat, payload)

    async def _post(self, chat: Chat, payload: dict[str, Any]) -> str:
        key = self._keys.get(chat.address)
        if not key:
            raise InvalidTargetError(f"wecom robot {chat.address!r} has no configured key")
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, transport=self._transport)
        try:
            response = await self._client.post(
                f"{self._base}/cgi-bin/webhook/send", params={"key": key}, json=payload
            )
        except httpx.HTTPError as e:
            # ``from None``: httpx errors hold the request, whose URL carries the key.
            raise TransientError(f"wecom network error: {type(e).__name__}") from None
        if response.status_code == 429:
            raise RateLimitedError("wecom HTTP 429", retry_after=RATE_LIMIT_WAIT)
        if response.status_code != 200:
            raise TransientError(f"wecom HTTP {response.status_code}")
        try:
            data = response.json()
            errcode = int(data.get("errcode", -1))
            errmsg = str(data.get("errmsg", ""))
        except (ValueError, AttributeError, TypeError):
            raise TransientError("wecom answered with a body that is not JSON") from None
        if errcode == 0:
            return f"wecom:{time.time_ns() // 1_000_000}"
        # WeCom's errmsg names a hint and our IP, not the key; redact it anyway.
        detail = f"errcode {errcode}: {errmsg.replace(key, '***')[:160]}"
        if errcode == RATE_LIMITED:
            raise RateLimitedError(f"wecom {detail}", retry_after=RATE_LIMIT_WAIT)
        if errcode in INVALID_TARGET:
            raise InvalidTargetError(f"wecom robot {chat.address!r}: {detail}", code=errcode)
        raise TransientError(f"wecom {detail}")
