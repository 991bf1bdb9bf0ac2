"""WeChat's wire format: the XML it posts, our XML replies, reply pages, a TTL map."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from digests.split import split_text, utf8_len

REPLY_LIMIT = 2048  # bytes of Content in a passive text reply
MORE_POINTER = "（回复“更多”查看下一页）"

_NOT_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


K = TypeVar("K")


V = TypeVar("V")


class Expiring(Generic[K, V]):
    """A bounded mapping whose entries expire ``ttl`` seconds after they were set (LRU)."""

    def __init__(self, maxsize: int, ttl: float, clock: Callable[[], float]) -> None:
        self.maxsize = maxsize
        self.ttl = ttl
        self.clock = clock
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] <= self.clock():
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return item[1]

    def pop(self, key: K) -> V | None:
        value = self.get(key)
        self._items.pop(key, None)
        return value

    def __setitem__(self, key: K, value: V) -> None:
        self._items[key] = (self.clock() + self.ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class Message:
    """The fields of an incoming message that we use."""

    to_user: str  # our account
    from_user: str  # the user's OpenID (UserID for a WeCom app)
    msg_type: str
    content: str
    msg_id: str  # MsgId, or a stand-in for events, which carry none
    event: str = ""


class BadRequest(Exception):
    """The request body is not a message we accept (answered 400)."""


def paginate(text: str, limit: int = REPLY_LIMIT) -> list[str]:
    """``text`` in pages that fit ``limit`` bytes with the “更多” pointer, cut at sentences."""
    room = limit - utf8_len("\n" + MORE_POINTER)
    pages = [p.strip() for p in split_text(text, room, utf8_len)]
    return [p for p in pages if p]


def parse_xml(body: bytes) -> Element:
    try:
        return SafeET.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as e:
        raise BadRequest(f"forbidden XML ({type(e).__name__})") from None
    except (ParseError, ValueError):
        raise BadRequest("malformed XML") from None


def read_message(root: Element) -> Message:
    def field(name: str) -> str:
        return (root.findtext(name) or "").strip()

    from_user, to_user, msg_type = field("FromUserName"), field("ToUserName"), field("MsgType")
    if not (from_user and to_user and msg_type):
        raise BadRequest("missing FromUserName, ToUserName or MsgType")
    msg_id = field("MsgId") or f"{field('CreateTime')}:{msg_type}:{field('Event')}"
    return Message(
        to_user=to_user,
        from_user=from_user,
        msg_type=msg_type.lower(),
        content=root.findtext("Content") or "",
        msg_id=msg_id,
        event=field("Event"),
    )


def _cdata(text: str) -> str:
    text = _NOT_XML_CHARS.sub("", text)
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def reply_xml(message: Message, content: str, now: int) -> str:
    """A passive text reply: addressed back to the sender, from our account."""
    return (
        "<xml>"
        f"<ToUserName>{_cdata(message.from_user)}</ToUserName>"
        f"<FromUserName>{_cdata(message.to_user)}</FromUserName>"
        f"<CreateTime>{now}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(content)}</Content>"
        "</xml>"
    )
