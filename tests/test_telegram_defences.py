"""Telegram under attack: a database writer held by another process, webhook abuse, admins."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import load_settings
from app.core import Core
from domain.errors import ConfigError
from tests.fake_botapi import TOKEN, FakeBotAPI
from tests.test_telegram import ADMIN, GROUP, USER, ask, async_test, running

OTHER = 5151
# A second process takes SQLite's write lock and holds it until told to let go.
HOLD_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO events (at, kind) VALUES (0, 'lock-holder')")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
"""


@pytest.fixture
def writer(sample_copy: Core) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the database's write lock (released when the test ends)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, sample_copy.storage.db.path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    yield holder
    release(holder)


def release(holder: subprocess.Popen[str]) -> None:
    if holder.poll() is None:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=10)


@async_test
async def test_a_held_write_lock_stalls_only_the_writer(
    sample_copy: Core, writer: subprocess.Popen[str]
) -> None:
    async with running(sample_copy) as fake:
        fake.push_message(USER, "/subscribe 湘潭", user_id=USER)  # needs the write lock
        (text,) = await ask(fake, OTHER, "/help", user=OTHER)
        assert "/subscribe" in text
        (text,) = await ask(fake, OTHER, "/search 融城干道", user=OTHER)
        assert "融城干道" in text
        # Both answers came while the other process still held the lock, and the
        # subscriber is still waiting for it.
        assert writer.poll() is None
        assert fake.sent(USER) == []
        release(writer)
        (reply,) = await fake.wait_for_sent(USER, 1, timeout=40)
        assert "已订阅：湘潭" in (reply.text or "")


def test_read_only_commands_do_not_wait_for_the_write_lock(
    sample_copy: Core, writer: subprocess.Popen[str], capsys: pytest.CaptureFixture[str]
) -> None:
    import bot

    path = sample_copy.storage.db.path
    assert bot.main(["--db", path, "search", "融城干道"]) == 0
    assert bot.main(["--db", path, "feeds", "list"]) == 0
    assert bot.main(["--db", path, "health"]) == 0
    out = capsys.readouterr().out
    assert "融城干道" in out and "czt-sample.xml" in out and out.count("ok:") == 1
    assert writer.poll() is None  # all three ran while the lock was held


# -- webhook --------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post_head(port: int, length: int, headers: str = "") -> socket.socket:
    """Send the head of a POST announcing ``length`` bytes, and only the first 64 KiB."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = (
        f"POST /telegram HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n{headers}\r\n"
    )
    sock.sendall(head.encode("ascii") + b"{" + b" " * (64 * 1024))
    return sock


def _answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    with contextlib.suppress(ConnectionResetError):  # closed with our bytes unread: a reset
        while chunk := sock.recv(65536):
            data += chunk
    return data


def test_webhook_refuses_before_reading_the_body(sample_copy: Core) -> None:
    from channels.runner import telegram_running

    port = _free_port()
    huge = 90 * 1024 * 1024

    async def scenario() -> None:
        async with FakeBotAPI() as fake:
            tg = dataclasses.replace(
                sample_copy.settings.telegram,
                token=TOKEN,
                api_base_url=fake.base_url,
                mode="webhook",
                webhook_url="https://bot.example.invalid/telegram",
                webhook_listen="127.0.0.1",
                webhook_port=port,
                webhook_secret="s3cret-value",
            )
            sample_copy.settings = dataclasses.replace(sample_copy.settings, telegram=tg)
            async with telegram_running(sample_copy, jobs=False):
                # 90 MiB announced, 64 KiB sent: the answer comes and the connection
                # closes although the server has not had, let alone read, the body.
                for headers, status in (
                    ("", b" 403 "),
                    ("X-Telegram-Bot-Api-Secret-Token: guess\r\n", b" 403 "),
                    ("X-Telegram-Bot-Api-Secret-Token: s3cret-value\r\n", b" 413 "),
                ):
                    sock = await asyncio.to_thread(_post_head, port, huge, headers)
                    with sock:
                        answer = await asyncio.to_thread(_answer, sock)
                    assert status in answer.split(b"\r\n", 1)[0], answer[:80]
                # No length announced (chunked): reading stops at the 1 MiB cap.
                sock = await asyncio.to_thread(_post_chunked, port, 3 * 1024 * 1024 // 2)
                with sock:
                    answer = await asyncio.to_thread(_answer, sock)
                assert b" 413 " in answer.split(b"\r\n", 1)[0], answer[:80]
                assert fake.sent(USER) == []

    asyncio.run(scenario())


def _post_chunked(port: int, size: int) -> socket.socket:
    """A correctly authenticated POST whose one chunk is ``size`` bytes of JSON padding."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = (
        "POST /telegram HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "X-Telegram-Bot-Api-Secret-Token: s3cret-value\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    body = b"{" + b" " * (size - 2) + b"}"
    sock.sendall(head.encode("ascii") + f"{len(body):x}\r\n".encode("ascii"))
    with contextlib.suppress(OSError):  # the server may close before taking it all
        sock.sendall(body + b"\r\n0\r\n\r\n")
    return sock


# -- admin ids --------------------------------------------------------------------------


def test_a_group_id_in_admin_ids_is_refused_at_load(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"[telegram]\nadmin_ids = [{ADMIN}, {GROUP}]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"telegram\.admin_ids\[1\].*user id"):
        load_settings(config, environ={})
    config.write_text(f"[telegram]\nadmin_ids = [{ADMIN}]\n", encoding="utf-8")
    assert load_settings(config, environ={}).telegram.admin_ids == (ADMIN,)


@async_test
async def test_group_members_are_not_admins_through_the_group_id(sample_copy: Core) -> None:
    from channels.telegram import TelegramBot
    from handlers.service import ChatService

    bot = TelegramBot(ChatService(sample_copy), admin_ids=(ADMIN, GROUP))
    assert bot.admin_ids == {ADMIN}
    async with running(sample_copy, admin_ids=(ADMIN, GROUP)) as fake:
        fake.set_admins(GROUP, [7], creator_id=6)
        (text,) = await ask(fake, GROUP, "/stats@czt_digest_bot", user=USER)
        assert "只有管理员" in text
