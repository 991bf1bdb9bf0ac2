"""Users, chat members and other Bot API objects as the server shapes them."""

from __future__ import annotations

import json
from typing import Any


def _inferred_type(chat_id: int) -> str:
    if chat_id > 0:
        return "private"
    return "supergroup" if chat_id <= -1_000_000_000_000 else "group"


def _user(user_id: int, first_name: str | None = None, username: str | None = None) -> dict:
    user: dict[str, Any] = {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name or f"User {user_id}",
        "language_code": "zh-hans",
    }
    if username:
        user["username"] = username
    return user


_ADMIN_RIGHTS_ON = (
    "can_manage_chat can_delete_messages can_manage_video_chats can_change_info "
    "can_invite_users can_pin_messages"
)
_ADMIN_RIGHTS_OFF = (
    "can_be_edited is_anonymous can_restrict_members can_promote_members can_post_stories "
    "can_edit_stories can_delete_stories"
)


def _member(user: dict[str, Any], status: str) -> dict[str, Any]:
    """A ChatMember object with the fields PTB requires for ``status``."""
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(dict.fromkeys(_ADMIN_RIGHTS_OFF.split(), False))
        member.update(dict.fromkeys(_ADMIN_RIGHTS_ON.split(), True))
    elif status == "kicked":
        member["until_date"] = 0
    elif status == "restricted":
        raise ValueError("restricted members are not modelled")
    return member


def _inline_markup(markup: Any) -> dict[str, Any] | None:
    """Telegram echoes only inline keyboards in Message.reply_markup."""
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        return markup
    return None


def _commands_key(params: dict[str, Any]) -> str:
    scope = params.get("scope") or {"type": "default"}
    return json.dumps([scope, params.get("language_code") or ""], sort_keys=True)
