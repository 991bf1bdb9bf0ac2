"""Hostile input: arbitrary text into every entry point, answered or refused cleanly,
and every reply valid Telegram HTML within the message limit."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core import Core
from digests.markup import HTML, render_reply
from digests.split import TELEGRAM_LIMIT, pack, utf16_len
from handlers.commands import COMMANDS
from handlers.service import ChatService, Reply, Request
from tests.fake_botapi import parse_text

NASTY = [
    "",
    " ",
    "\x00",
    "\u202e湘潭",
    "<b>",
    "</a>",
    "<a href='javascript:alert(1)'>x</a>",
    "&amp;&lt;",
    '" OR 1=1 --',
    "'; DROP TABLE chats; --",
    "湘潭 AND 株洲 OR NOT 绿心",
    "NEAR(湘潭 株洲)",
    "株洲*",
    "^湘潭",
    "(((",
    "\\",
    "%s%n",
    "{{7*7}}",
    "🀄" * 50,
    "長株潭 融城幹道",
    "x" * 10_000,
    "湘潭" * 5_000,
    "\r\n\t",
    "\ud7ff",
    "/start@",
    "@@",
    "/settings ²:00",  # str.isdigit accepts superscripts; int() does not
    "/settings 周五 ①:30",
]
SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def check(reply: Reply) -> None:
    assert isinstance(reply, Reply) and reply.blocks
    for message in pack(render_reply(reply, HTML), TELEGRAM_LIMIT, utf16_len, html=True):
        assert utf16_len(message) <= TELEGRAM_LIMIT
        parse_text(message, "HTML")  # raises like Telegram would on broken markup
    for row in reply.buttons:
        for button in row:
            assert len(button.data.encode()) <= 64


@pytest.fixture
def service(sample_copy: Core) -> ChatService:
    return ChatService(sample_copy, clock=iter(range(10**9)).__next__)


@pytest.mark.parametrize("text", NASTY)
def test_nasty_text_everywhere(service: ChatService, text: str) -> None:
    req = Request("telegram", "31337")
    check(service.text(req, text))
    check(service.callback(req, text))
    for command in COMMANDS:
        check(
            service.command(
                Request("telegram", "31337", is_admin=True),
                command.name,
                text if command.name != "addfeed" else text[:50],
            )
        )


@SETTINGS
@given(st.text(max_size=300))
def test_any_text_is_answered(service: ChatService, text: str) -> None:
    check(service.text(Request("telegram", "1"), text))


@SETTINGS
@given(st.sampled_from([c.name for c in COMMANDS if c.name != "addfeed"]), st.text(max_size=200))
def test_any_arguments_are_answered(service: ChatService, name: str, args: str) -> None:
    check(service.command(Request("telegram", "2", is_admin=True), name, args))


@SETTINGS
@given(st.text(max_size=100))
def test_forged_callbacks_touch_nothing_else(service: ChatService, data: str) -> None:
    victim = Request("telegram", "100")
    service.command(victim, "subscribe", "湘潭")
    before = service.chat(victim)
    check(service.callback(Request("telegram", "200", can_change=False), data))
    check(service.callback(Request("telegram", "200"), data))
    assert service.chat(victim) == before


def test_ten_thousand_characters_are_refused_in_chinese(service: ChatService) -> None:
    reply = service.command(Request("telegram", "3"), "subscribe", "湘" * 10_000)
    assert "参数太长" in reply.text
