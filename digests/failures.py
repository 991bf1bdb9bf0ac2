"""How a failure reads to a chat user or the operator: in Chinese, by its kind.

The English detail of an exception stays in the log; what a person reads is chosen by
the error's kind (``domain.errors.FEED_ERROR_KINDS``, the delivery error classes), plus
an HTTP status number where there is one.
"""

from __future__ import annotations

import re

from domain.urls import redacted

# What a chat user reads for each kind of feed error (domain.errors.FEED_ERROR_KINDS).
FEED_ERRORS_ZH = {
    "invalid_url": "网址格式不正确",
    "scheme": "只支持 http 和 https 网址",
    "refused": "该网址不允许访问（已拒绝）",
    "redirects": "重定向次数过多",
    # One sentence for both: a port that hangs must read like one that is closed.
    "timeout": "无法连接到服务器，或服务器没有及时响应",
    "network": "无法连接到服务器，或服务器没有及时响应",
    "gone": "订阅源已不存在（404/410）",
    "rate_limited": "服务器要求稍后再试（429）",
    "server": "服务器出错",
    "http": "服务器拒绝了请求",
    "too_large": "内容过大",
    "not_found": "文件不存在",
    "unreadable": "无法读取文件",
    "empty": "内容为空",
    "html_page": "这是网页，不是 RSS/Atom 订阅源",
    "not_feed": "不是有效的 RSS/Atom 订阅源",
    "no_links": "这个网页上没有找到订阅源，也没有找到文章链接",
    "robots": "网站的 robots.txt 不允许抓取",
    "unexpected": "读取失败",
}
_HTTP_STATUS = re.compile(r"\bHTTP (\d{3})\b")


def feed_error_zh(kind: str | None, detail: str = "") -> str:
    """A feed error in Chinese. The English detail stays in the log; only an HTTP status
    number is worth showing (and never for refused or unreachable addresses, which must
    all read alike)."""
    text = FEED_ERRORS_ZH.get(kind or "", FEED_ERRORS_ZH["unexpected"])
    status = _HTTP_STATUS.search(detail) if kind in ("http", "server") else None
    return f"{text}（HTTP {status.group(1)}）" if status else text


# How the operator's alerts name a channel.
CHANNEL_NAMES = {
    "telegram": "Telegram",
    "wecom": "企业微信",
    "wechat": "微信公众号",
    "console": "控制台",
}


def channel_name(channel: str) -> str:
    return CHANNEL_NAMES.get(channel, "未知渠道")


def feed_disabled(url: str, kind: str | None, detail: str = "") -> str:
    """The alert for a feed the ingestor stopped polling."""
    return f"订阅源已停用：{redacted(url)}，原因：{feed_error_zh(kind, detail)}"


def channel_down(channel: str) -> str:
    """The alert for a channel that refuses us as a whole (a revoked bot token)."""
    return f"投递渠道不可用：{channel_name(channel)}，稍后重试。"


def target_disabled(channel: str, address: str, code: int | None = None) -> str:
    """The alert for a delivery target that is misconfigured (a bad webhook key), with
    the channel's error number when it gave one."""
    target = f"{channel_name(channel)} {redacted(address)}"
    number = f"，错误码 {code}" if code is not None else ""
    return f"投递目标已停用：{target}（目标无效{number}，已停止向它投递）"
