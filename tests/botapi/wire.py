"""The Bot API on the wire: constants, error bodies, recorded calls, form decoding."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-TOKEN-abcdefghijklmnopqrstuvwxyz"
BOT_ID = 123456
BOT_USERNAME = "czt_digest_bot"
BOT_FIRST_NAME = "长株潭快报"
BOT_USER: dict[str, Any] = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": BOT_FIRST_NAME,
    "username": BOT_USERNAME,
}
DEFAULT_USER_ID = 4242  # the sender of pushed group messages unless a test names one

MAX_TEXT = 4096  # UTF-16 code units, after entity parsing
MAX_CAPTION = 1024

DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Internal Server Error",
}
MIGRATED = "Bad Request: group chat was upgraded to a supergroup chat"
TOO_LONG = "Bad Request: message is too long"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"

# Parameters whose form value is a plain string; every other value PTB sends is JSON-encoded.
_STRING_PARAMS = frozenset(
    [
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "secret_token",
        "ip_address",
        "language_code",
        "business_connection_id",
        "message_effect_id",
    ]
)


class ApiError(Exception):
    """A Bot API error response: ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(
        self, error_code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


@dataclass(frozen=True)
class Call:
    """One request as the fake received it; ``error_code`` is None when it succeeded."""

    method: str
    params: dict[str, Any]
    time: float  # time.monotonic()
    content_type: str  # PTB 22: x-www-form-urlencoded, or multipart/form-data with files
    files: dict[str, int] = field(default_factory=dict)  # uploaded field -> size in bytes
    error_code: int | None = None


@dataclass(frozen=True)
class SentMessage:
    """A message the bot sent (``text`` is the text or caption exactly as the bot sent it)."""

    chat_id: int
    message_id: int
    method: str
    text: str | None
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    photo: bool
    photo_size: int | None  # bytes, when the photo was uploaded rather than referenced
    time: float  # time.monotonic(), for rate accounting
    message: dict[str, Any] = field(repr=False)  # the Message object that was returned


@dataclass
class _Fault:
    method: str
    chat_id: int | str | None
    times: int
    error: ApiError


@dataclass
class _Upload:
    filename: str | None
    content_type: str | None
    size: int


def _decode(name: str, value: str) -> Any:
    """Undo PTB's encoding: strings are sent raw, everything else as JSON."""
    if name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Parameters from the query string and a JSON, urlencoded or multipart body.

    Uploaded files land in ``params["__uploads__"]`` as ``{field: _Upload}``."""
    params: dict[str, Any] = {k: _decode(k, v) for k, v in request.query.items()}
    uploads: dict[str, _Upload] = {}
    if request.content_type == "application/json":
        body = await request.json() if request.can_read_body else {}
        if not isinstance(body, dict):
            raise ValueError("JSON body must be an object")
        params.update(body)
    elif request.content_type == "multipart/form-data":
        reader = await request.multipart()
        async for part in reader:
            if not hasattr(part, "read") or part.name is None:
                continue
            data = await part.read()  # type: ignore[union-attr]
            if part.filename is not None:  # type: ignore[union-attr]
                content_type = part.headers.get("Content-Type")
                uploads[part.name] = _Upload(part.filename, content_type, len(data))  # type: ignore[union-attr]
            else:
                params[part.name] = _decode(part.name, data.decode())
    elif request.can_read_body:
        form = await request.post()
        params.update({k: _decode(k, v) for k, v in form.items() if isinstance(v, str)})
    params["__uploads__"] = uploads
    return params


def _json(body: dict[str, Any], status: int) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))
