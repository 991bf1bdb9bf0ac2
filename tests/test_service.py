"""The chat logic through the console channel: same handlers, replies as plain text."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import socket
import threading

import pytest

from app.core import Core
from channels.console import Console
from digests.markup import HTML, render_reply
from handlers.commands import BY_NAME, COMMANDS, help_text, menu, readme_table
from handlers.service import ChatService, Request
from tests.conftest import ROOT
from tests.feedserver import FeedServer


@pytest.fixture
def console(sample_copy: Core) -> Console:
    return Console(ChatService(sample_copy), stdout=io.StringIO())


def talk(console: Console, line: str) -> str:
    reply = console.handle(line)
    assert reply is not None
    console.show(reply)
    out = console.stdout.getvalue()  # type: ignore[attr-defined]
    console.stdout.seek(0)
    console.stdout.truncate()
    return out


def test_every_command_is_in_help_menu_and_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    full = help_text(admin=True)
    public = help_text(admin=False)
    menu_names = {n for n, _ in menu()}
    for c in COMMANDS:
        assert f"/{c.name}" in full
        assert f"`/{c.name}`" in readme, f"/{c.name} missing from README"
        if c.admin:
            assert f"/{c.name}" not in public and c.name not in menu_names
        else:
            assert f"/{c.name}" in public and c.name in menu_names
    assert readme_table() in readme


def test_subscribe_pairs_lists_and_unsubscribe(sample_copy: Core) -> None:
    service = ChatService(sample_copy)
    req = Request(channel="console", address="u1")
    assert "已订阅：湘潭·交通" in service.command(req, "subscribe", "湘潭 交通").text
    assert "长沙、株洲" in service.command(req, "subscribe", "长沙 株洲").text
    assert "湘潭·交通、长沙、株洲" in service.command(req, "list", "").text
    out = service.command(req, "subscribe", "岳麓，生态").text
    assert "长沙" in out and "生态" in out
    chat = service.chat(req)
    assert chat.next_due_at is not None
    assert "已退订：长沙" in service.command(req, "unsubscribe", "长沙").text
    assert "已退订" in service.command(req, "unsubscribe", "全部").text
    assert service.chat(req).subscriptions == ()


@pytest.mark.parametrize("args", ["北京", "湘潭 北京", "<b>x</b>"])
def test_bad_subscription_lists_the_choices(sample_copy: Core, args: str) -> None:
    reply = ChatService(sample_copy).command(Request("console", "u2"), "subscribe", args)
    assert "可选城市：长沙、株洲、湘潭" in reply.text and "例如" in reply.text
    assert "<b>x" not in "".join(render_reply(reply, HTML))  # user text is escaped


def test_keyboard_toggles_only_the_pressing_chat(sample_copy: Core) -> None:
    service = ChatService(sample_copy)
    alice = Request("telegram", "1001")
    mallory = Request("telegram", "1002")
    reply = service.command(alice, "subscribe", "")
    labels = [b.data for row in reply.buttons for b in row]
    assert "t:湘潭" in labels and "t:公共服务" in labels
    service.callback(mallory, "t:湘潭")  # forged or not, it acts on mallory's chat only
    assert service.chat(alice).subscriptions == ()
    reply = service.callback(alice, "t:株洲")
    assert "已订阅：株洲" in reply.text and any(
        b.text == "✅ 株洲" for row in reply.buttons for b in row
    )
    assert "已退订" in service.callback(alice, "t:株洲").text
    for forged in ["t:", "t:北京", "x:1", "s:abc", "c:stats", "t:" + "长" * 100, "\x00"]:
        assert "失效" in service.callback(alice, forged).text


def test_group_changes_need_group_admin(sample_copy: Core) -> None:
    service = ChatService(sample_copy)
    member = Request("telegram", "-100", kind="group", can_change=False)
    assert "群管理员" in service.command(member, "subscribe", "湘潭").text
    assert "群管理员" in service.callback(member, "t:湘潭").text
    assert "当前没有订阅" in service.command(member, "list", "").text
    admin = Request("telegram", "-100", kind="group", can_change=True)
    assert "已订阅：湘潭" in service.command(admin, "subscribe", "湘潭").text


def test_admin_commands_are_refused_to_others(sample_copy: Core) -> None:
    service = ChatService(sample_copy)
    for name in ("feeds", "addfeed", "removefeed", "stats"):
        assert BY_NAME[name].admin
        text = service.command(Request("telegram", "5"), name, "").text
        assert "只有管理员" in text
    admin = Request("telegram", "5", is_admin=True)
    assert "订阅源" in service.command(admin, "feeds", "").text
    stats = service.command(admin, "stats", "").text
    assert "报道：19 条" in stats and "投递" in stats


def test_search_pages_and_rate_limit(console: Console) -> None:
    out = talk(console, "湘潭")
    assert "搜索结果（第 1–5 条）" in out and "#1 更多" in out
    out = talk(console, "#1")
    assert "第 6–10 条" in out
    service = console.service
    req = Request("telegram", "77")
    answers = [service.command(req, "search", "湘潭").text for _ in range(12)]
    assert "太频繁" in answers[-1] and "太频繁" not in answers[0]
    assert "请在命令后输入关键词" in service.command(req, "search", "").text


def test_latest_figures_digest_settings(console: Console) -> None:
    assert "最新动态" in talk(console, "/latest 株洲")
    assert "关键数据" in talk(console, "/figures 湘潭")
    assert "还没有订阅" in talk(console, "/digest")
    talk(console, "/subscribe 湘潭")
    digest = talk(console, "/digest")
    assert "【关键数据】" in digest and "长株潭一体化周报" in digest
    assert "每周五 18:00" in talk(console, "/settings 周五 18:00")
    assert "已暂停" in talk(console, "/settings 暂停")
    assert "已恢复" in talk(console, "/settings 恢复")
    assert "未知的时区" in talk(console, "/settings 时区 Mars/Base")
    assert "没看懂" in talk(console, "/settings 明天")


def test_unknown_command_and_plain_text(console: Console) -> None:
    assert "发送 /help" in talk(console, "/nosuch")
    assert "搜索结果" in talk(console, "融城干道")
    assert "订阅" in talk(console, "订阅 株洲 产业")
    assert "株洲·产业" in talk(console, "我的订阅")


def test_console_loop_reads_until_quit(sample_copy: Core) -> None:
    lines = iter(["/help\n", "退出\n"])
    out = io.StringIO()
    Console(ChatService(sample_copy), stdout=out).run(lambda: next(lines))
    text = out.getvalue()
    assert "/subscribe" in text and "再见" in text


def test_timezone_that_is_a_directory_gets_a_chinese_error(console: Console) -> None:
    assert "未知的时区" in talk(console, "/settings 时区 Asia")


def test_paging_after_a_split_query_continues(sample_copy: Core) -> None:
    service = ChatService(sample_copy)
    req = Request("console", "pager")
    first = service.command(req, "search", "湘潭融城干道")
    assert "搜索结果" in first.text
    if first.buttons:
        more = service.callback(req, first.buttons[0][0].data)
        assert "没有更多结果" not in more.text


def test_feed_errors_are_explained_in_chinese(sample_copy: Core) -> None:
    service = ChatService(sample_copy)
    admin = Request("telegram", "1", is_admin=True)
    assert "网址格式不正确" in service.command(admin, "addfeed", "https://[::1").text
    refused = service.command(admin, "addfeed", "http://127.0.0.1:9/x").text
    assert "拒绝" in refused and "loopback" not in refused


def test_open_and_closed_ports_look_the_same_in_chat(core: Core, server: FeedServer) -> None:
    """With loopback allowed, a closed port and an open non-feed port answer alike."""
    service = ChatService(core)
    admin = Request("telegram", "1", is_admin=True)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    silent = socket.socket()  # open: accepts and hangs up without a word of HTTP
    silent.bind(("127.0.0.1", 0))
    silent.listen()

    def hang_up() -> None:
        with contextlib.suppress(OSError):
            conn, _ = silent.accept()
            conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    try:
        replies = {
            service.command(admin, "addfeed", f"http://127.0.0.1:{port}/x").text
            for port in (closed_port, silent.getsockname()[1])
        }
    finally:
        silent.close()
    assert len(replies) == 1 and "无法连接" in next(iter(replies)), replies


def test_wechat_help_lists_the_chinese_words(sample_copy: Core) -> None:
    text = ChatService(sample_copy).command(Request("wechat", "u1", words=True), "help", "").text
    assert (
        "订阅 [城市、主题或关键词 ...]" in text
        and "搜索 关键词" in text
        and "/subscribe" not in text
    )


def test_search_shows_traditional_pages_in_simplified(console: Console) -> None:
    out = talk(console, "/search 推进会")
    assert "湘潭市召开长株潭一体化工作推进会" in out
    assert "長株潭" not in out


def test_a_bug_in_a_handler_costs_one_answer(
    sample_copy: Core, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An unexpected exception is logged with its traceback and answered in Chinese."""

    def broken(ctx: object, req: object, args: str) -> object:
        raise KeyError("bug")

    monkeypatch.setitem(BY_NAME, "latest", dataclasses.replace(BY_NAME["latest"], run=broken))
    service = ChatService(sample_copy)
    reply = service.command(Request("console", "u9"), "latest", "")
    assert "处理出错" in reply.text
    assert any(r.exc_info for r in caplog.records if "service.unexpected" in r.getMessage())
    assert "已订阅" in service.command(Request("console", "u9"), "subscribe", "湘潭").text


@pytest.mark.parametrize("data", ["s:²", "s:①", "s:٣"])
def test_page_buttons_with_unicode_digits_are_refused(sample_copy: Core, data: str) -> None:
    assert "失效" in ChatService(sample_copy).callback(Request("telegram", "7"), data).text


def test_feed_errors_read_in_chinese_without_english_detail() -> None:
    from handlers.admin import feed_error_zh

    assert feed_error_zh("too_large", "body too large: over 10485760 bytes") == "内容过大"
    assert feed_error_zh("http", "HTTP 403") == "服务器拒绝了请求（HTTP 403）"
    assert feed_error_zh("server", "HTTP 502") == "服务器出错（HTTP 502）"
    # An unreachable address reads the same whatever the detail says.
    assert feed_error_zh("network", "network error: ConnectError: [Errno 111]") == feed_error_zh(
        "timeout", "timed out (ReadTimeout)"
    )
    assert feed_error_zh(None, "KeyError: x") == "读取失败"


def test_feeds_list_redacts_private_feed_tokens(sample_copy: Core) -> None:
    sample_copy.storage.feeds.add("https://user:pw@feeds.example/rss?token=s3cret", 1)
    text = (
        ChatService(sample_copy).command(Request("console", "a", is_admin=True), "feeds", "").text
    )
    assert "s3cret" not in text and "pw@" not in text and "feeds.example" in text


def test_search_word_newest_orders_by_time_and_paging_keeps_it(sample_copy: Core) -> None:
    import html

    from analysis.text import to_simplified
    from handlers.search_options import split_sort

    assert split_sort("融城干道 最新") == ("融城干道", "newest")
    assert split_sort("融城干道") == ("融城干道", "relevance")
    assert split_sort("最新动态 融城干道") == ("融城干道", "newest")
    search = sample_copy.storage.search
    newest = [html.escape(to_simplified(h.story.title), quote=False) for h in
              search.search("湘潭", limit=10, sort="newest").hits]  # fmt: skip
    service = ChatService(sample_copy)
    req = Request("console", "sorter")
    first = service.command(req, "search", "湘潭 最新")
    places = [first.text.find(t) for t in newest[:5]]
    assert all(p >= 0 for p in places) and places == sorted(places)
    more = service.callback(req, first.buttons[0][0].data)
    assert newest[5] in more.text
    assert "请在命令后输入关键词" in service.command(req, "search", "最新").text
