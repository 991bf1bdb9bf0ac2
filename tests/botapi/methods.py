"""The Bot API methods the bot calls, as ``_api_<method>`` handlers on the fake."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time
from typing import Any

from tests.botapi.entities import command_entities, parse_text, utf16_len
from tests.botapi.objects import _commands_key, _inline_markup, _member, _user
from tests.botapi.wire import (
    BOT_ID,
    BOT_USER,
    DESCRIPTIONS,
    MAX_CAPTION,
    MAX_TEXT,
    NOT_MODIFIED,
    QUERY_INVALID,
    TOO_LONG,
    ApiError,
    SentMessage,
    _Upload,
)


class BotMethods:
    """The methods PTB calls; state lives on ``FakeBotAPI``."""

    def _api_getme(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        return {
            **BOT_USER,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _api_getupdates(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        raise AssertionError("handled asynchronously by _get_updates")

    def _api_deletewebhook(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        self.webhook = {"url": ""}
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _api_setwebhook(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        url = params.get("url") or ""
        if url and not url.startswith("https://"):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        self.webhook = {k: v for k, v in params.items() if k != "secret_token"}
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _api_getwebhookinfo(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        info: dict[str, Any] = {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        for key in ("max_connections", "allowed_updates", "ip_address"):
            if key in self.webhook:
                info[key] = self.webhook[key]
        return info

    def _api_setmycommands(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        commands = params.get("commands") or []
        for c in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", c.get("command", "")):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(c.get("description", "")) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[_commands_key(params)] = commands
        return True

    def _api_getmycommands(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        return self.commands.get(_commands_key(params), [])

    def _api_deletemycommands(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        self.commands.pop(_commands_key(params), None)
        return True

    def _api_sendmessage(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        chat = self._chat_for_send(params)
        raw = params.get("text")
        if raw is None or str(raw) == "":
            raise ApiError(400, "Bad Request: message text is empty")
        text, entities = parse_text(str(raw), params.get("parse_mode"))
        if utf16_len(text) > MAX_TEXT:
            raise ApiError(400, TOO_LONG)
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        message = self._bot_message(chat, params)
        message["text"] = text
        entities = params.get("entities") or entities or command_entities(text)
        if entities:
            message["entities"] = entities
        return self._deliver("sendMessage", chat, params, message, str(raw), None)

    def _api_sendphoto(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        chat = self._chat_for_send(params)
        photo = params.get("photo")
        upload = uploads.get("photo")
        if isinstance(photo, str) and photo.startswith("attach://"):
            upload = uploads.get(photo.removeprefix("attach://"))
        if upload is None and not photo:
            raise ApiError(400, "Bad Request: there is no photo in the request")
        message = self._bot_message(chat, params)
        size = upload.size if upload else None
        message["photo"] = [
            {
                "file_id": f"AgAC-fake-{chat['id']}-{message['message_id']}",
                "file_unique_id": f"AQAD{message['message_id']}",
                "width": 1280,
                "height": 720,
                "file_size": size or 0,
            }
        ]
        caption = params.get("caption")
        if caption:
            text, entities = parse_text(str(caption), params.get("parse_mode"))
            if utf16_len(text) > MAX_CAPTION:
                raise ApiError(400, "Bad Request: message caption is too long")
            message["caption"] = text
            if entities:
                message["caption_entities"] = entities
        return self._deliver("sendPhoto", chat, params, message, caption, size, photo=True)

    def _api_editmessagetext(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        message = self._message_to_edit(params)
        text, entities = parse_text(str(params.get("text") or ""), params.get("parse_mode"))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > MAX_TEXT:
            raise ApiError(400, TOO_LONG)
        markup = _inline_markup(params.get("reply_markup"))
        entities = params.get("entities") or entities
        if (
            message.get("text") == text
            and message.get("entities", []) == entities
            and message.get("reply_markup") == markup
        ):
            raise ApiError(400, NOT_MODIFIED)
        return self._edit(message, {"text": text, "entities": entities, "reply_markup": markup})

    def _api_editmessagereplymarkup(
        self, params: dict[str, Any], uploads: dict[str, _Upload]
    ) -> Any:
        message = self._message_to_edit(params)
        markup = _inline_markup(params.get("reply_markup"))
        if message.get("reply_markup") == markup:
            raise ApiError(400, NOT_MODIFIED)
        return self._edit(message, {"reply_markup": markup})

    def _api_answercallbackquery(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        query_id = str(params.get("callback_query_id"))
        if query_id not in self._open_callbacks:
            raise ApiError(400, QUERY_INVALID)
        self._open_callbacks.discard(query_id)
        return True

    def _api_getchat(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        chat = self._chat(params.get("chat_id"))
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _api_getchatmember(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        chat = self._chat(params.get("chat_id"))
        user_id = int(params.get("user_id") or 0)
        user = BOT_USER if user_id == BOT_ID else _user(user_id)
        if chat["type"] == "private" and user_id not in (chat["id"], BOT_ID):
            raise ApiError(400, "Bad Request: member not found")
        if self._creators.get(chat["id"]) == user_id:
            return _member(user, "creator")
        if user_id in self._admins.get(chat["id"], set()):
            return _member(user, "administrator")
        return _member(user, "member")

    def _api_getchatadministrators(
        self, params: dict[str, Any], uploads: dict[str, _Upload]
    ) -> Any:
        chat = self._chat(params.get("chat_id"))
        if chat["type"] == "private":
            raise ApiError(400, "Bad Request: there are no administrators in the private chat")
        creator = self._creators.get(chat["id"])
        admins = sorted(self._admins.get(chat["id"], set()) - {creator})
        members = [_member(_user(creator), "creator")] if creator is not None else []
        return members + [
            _member(BOT_USER if a == BOT_ID else _user(a), "administrator") for a in admins
        ]

    def _api_close(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        return True

    def _api_logout(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        return True

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        with self._lock:
            if self.webhook["url"]:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            # A newer getUpdates terminates an older pending one, as on Telegram.
            self._poll_generation += 1
            generation = self._poll_generation
        self._wake_pollers()
        offset = int(params.get("offset") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = float(params.get("timeout") or 0)
        allowed = params.get("allowed_updates") or []
        deadline = time.monotonic() + timeout
        while True:
            assert self._poll_wakeup is not None
            wakeup = self._poll_wakeup
            with self._lock:
                if generation != self._poll_generation:
                    raise ApiError(409, DESCRIPTIONS[409])
                self._confirm(offset)
                ready = [u for u in self._updates if not allowed or any(k in u for k in allowed)][
                    :limit
                ]
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0 or self._closing:
                return ready
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), remaining)

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _chat(self, chat_id: Any, *, lenient: bool | None = None) -> dict[str, Any]:
        lenient = not self.strict_chats if lenient is None else lenient
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            for chat in self._chats.values():
                if chat.get("username", "").lower() == chat_id[1:].lower():
                    return chat
            raise ApiError(400, DESCRIPTIONS[400])
        try:
            cid = int(chat_id)
        except (TypeError, ValueError):
            raise ApiError(400, DESCRIPTIONS[400]) from None
        if cid not in self._chats:
            if not lenient or cid == 0:
                raise ApiError(400, DESCRIPTIONS[400])
            self.add_chat(cid)
        return self._chats[cid]

    def _chat_for_push(self, chat_id: int, chat_type: str | None) -> dict[str, Any]:
        with self._lock:
            chat = self._chats.get(chat_id)
            if chat is None or (chat_type and chat["type"] != chat_type):
                return self.add_chat(chat_id, chat_type)
            return dict(chat)

    def _chat_for_send(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params.get("chat_id"))
        if chat["id"] in self._blocked:
            raise ApiError(403, DESCRIPTIONS[403])
        return chat

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _bot_message(self, chat: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": 0,  # assigned on delivery, once every check has passed
            "from": BOT_USER,
            "chat": chat,
            "date": int(self.clock()),
        }
        reply_to = params.get("reply_to_message_id") or (
            (params.get("reply_parameters") or {}).get("message_id")
        )
        if reply_to and (chat["id"], int(reply_to)) in self._messages:
            message["reply_to_message"] = self._messages[(chat["id"], int(reply_to))]
        markup = _inline_markup(params.get("reply_markup"))
        if markup:
            message["reply_markup"] = markup
        return message

    def _deliver(
        self,
        method: str,
        chat: dict[str, Any],
        params: dict[str, Any],
        message: dict[str, Any],
        text: str | None,
        photo_size: int | None,
        *,
        photo: bool = False,
    ) -> dict[str, Any]:
        message["message_id"] = self._next_message_id(chat["id"])
        self._messages[(chat["id"], message["message_id"])] = message
        self._sent.append(
            SentMessage(
                chat_id=chat["id"],
                message_id=message["message_id"],
                method=method,
                text=text,
                parse_mode=params.get("parse_mode"),
                reply_markup=params.get("reply_markup"),
                photo=photo,
                photo_size=photo_size,
                time=time.monotonic(),
                message=message,
            )
        )
        return message

    def _message_to_edit(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("inline_message_id"):
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat = self._chat(params.get("chat_id"))
        message = self._messages.get((chat["id"], int(params.get("message_id") or 0)))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if message["from"]["id"] != BOT_ID:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    def _edit(self, message: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        for key, value in changes.items():
            if value:
                message[key] = value
            else:
                message.pop(key, None)
        message["edit_date"] = int(self.clock())
        return message
