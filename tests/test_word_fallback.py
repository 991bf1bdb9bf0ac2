"""Plain text that starts with a command word but is not that command's arguments is a
search of the whole text: in WeChat "数据 中心" looks for 数据中心, it does not refuse 中心."""

from __future__ import annotations

import pytest

from app.core import Core
from handlers.service import ChatService, Request

WECHAT = Request("wechat", "w1", words=True)


def _searched(reply: str, text: str) -> bool:
    return "搜索结果" in reply or f"没有找到与“{text}”" in reply


@pytest.mark.parametrize("text", ["数据 中心", "最新 进展", "进展 顺利", "关键数据 发布会"])
def test_a_command_word_that_starts_a_search_is_searched(sample_copy: Core, text: str) -> None:
    service = ChatService(sample_copy)
    reply = service.text(WECHAT, text).text
    assert "不认识" not in reply and "可选城市" not in reply, reply
    assert "搜索结果" in reply or "没有找到" in reply, reply


def test_the_whole_text_is_what_is_searched(sample_copy: Core) -> None:
    service = ChatService(sample_copy)
    assert _searched(service.text(WECHAT, "数据 中心").text, "数据 中心")
    # The same words on Telegram's plain text, which also knows the command words.
    telegram = Request("telegram", "t1")
    assert _searched(service.text(telegram, "数据 中心").text, "数据 中心")


def test_command_words_with_their_arguments_still_run_the_command(sample_copy: Core) -> None:
    service = ChatService(sample_copy)
    assert "最新动态（株洲）" in service.text(WECHAT, "最新 株洲").text
    assert "关键数据（湘潭）" in service.text(WECHAT, "数据 湘潭").text or "没有相关" in (
        service.text(WECHAT, "数据 湘潭").text
    )


def test_a_slash_command_keeps_its_refusal(sample_copy: Core) -> None:
    service = ChatService(sample_copy)
    reply = service.text(Request("telegram", "t2"), "/figures 中心").text
    assert "不认识“中心”" in reply


def test_a_changing_command_keeps_its_refusal(sample_copy: Core) -> None:
    """设置 下雨天 means to change a setting: the examples are the useful answer."""
    reply = ChatService(sample_copy).text(WECHAT, "设置 下雨天").text
    assert "没看懂这个设置" in reply


def test_an_admin_word_from_a_user_is_a_search(sample_copy: Core) -> None:
    service = ChatService(sample_copy)
    assert _searched(service.text(WECHAT, "统计 数据").text, "统计 数据")
    assert "管理员" in service.text(WECHAT, "统计").text  # the word alone is the command
