"""Every hint names a command the way the asking chat calls it: /subscribe on Telegram and
the console, 订阅 on WeChat (whose users cannot type slash commands)."""

from __future__ import annotations

import re

import pytest

from app.core import Core
from handlers.service import ChatService, Request

SLASH = re.compile(r"(?<![\w.:/])/[a-z]+")  # a slash command, not a path inside a URL

# (command, arguments, the command the hint names)
HINTS = [
    ("subscribe", "", "subscribe"),
    ("subscribe", "北京", "subscribe"),
    ("subscribe", "湘潭", "settings"),
    ("subscribe", "融城干道", "settings"),
    ("unsubscribe", "", "subscribe"),
    ("search", "", "search"),
    ("digest", "", "subscribe"),
    ("latest", "北京", "subscribe"),
    ("figures", "北京", "subscribe"),
    ("progress", "北京", "subscribe"),
    ("settings", "", "settings"),
    ("settings", "周五 晚上 早些", "settings"),
    ("settings", "暂停", "settings"),
    ("settings", "提醒 也许", "settings"),
    ("settings", "提醒 开", "subscribe"),
    ("nosuch", "", "help"),
    ("addfeed", "", "addfeed"),
    ("removefeed", "", "feeds"),
]
WORDS = {
    "subscribe": "订阅",
    "settings": "设置",
    "search": "搜索",
    "help": "帮助",
    "addfeed": "添加订阅源",
    "feeds": "订阅源",
}


@pytest.mark.parametrize(("command", "args", "named"), HINTS)
def test_hints_name_commands_as_the_channel_writes_them(
    sample_copy: Core, command: str, args: str, named: str
) -> None:
    service = ChatService(sample_copy)
    address = f"hint-{command}-{HINTS.index((command, args, named))}"
    slash = Request("telegram", address, is_admin=True)
    words = Request("wechat", address, is_admin=True, words=True)
    typed = service.command(slash, command, args).text
    said = service.command(words, command, args).text
    assert f"/{named}" in typed, typed
    assert WORDS[named] in said and not SLASH.findall(said.replace("/nosuch", "")), said


def test_a_stale_toggle_button_names_the_channels_command(sample_copy: Core) -> None:
    service = ChatService(sample_copy)
    assert "/subscribe" in service.callback(Request("telegram", "b1"), "t:不存在").text
    said = service.callback(Request("wechat", "b1", words=True), "t:不存在").text
    assert "订阅" in said and not SLASH.findall(said)


def test_the_progress_overflow_hint_and_the_cmd_helper(sample_copy: Core) -> None:
    ctx = ChatService(sample_copy).ctx
    assert ctx.cmd(Request("telegram", "x"), "progress") == "/progress"
    assert ctx.cmd(Request("wechat", "x", words=True), "progress") == "进展"
    assert ctx.cmd(Request("console", "x"), "help") == "/help"


def test_the_digest_preview_names_the_latest_command_as_the_chat_calls_it(
    sample_copy: Core,
) -> None:
    import dataclasses

    digest = dataclasses.replace(sample_copy.settings.digest, max_stories=1)
    sample_copy.settings = dataclasses.replace(sample_copy.settings, digest=digest)
    service = ChatService(sample_copy)
    said = {}
    for req in (Request("telegram", "d1"), Request("wechat", "d2", words=True)):
        service.command(req, "subscribe", "长沙 株洲 湘潭")
        said[req.channel] = service.command(req, "digest", "").text
    assert "条未列出：发送 /latest 查看最新动态" in said["telegram"]
    assert "条未列出：发送 最新 查看最新动态" in said["wechat"]
    assert not SLASH.findall(said["wechat"])
