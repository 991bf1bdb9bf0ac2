"""The console chat: the same commands and replies as Telegram, as plain text.

Buttons are listed with numbers; typing ``#2`` presses the second one.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import TextIO

from app.planning import PLAIN
from digests.markup import TEXT, render_reply
from domain.models import Chat
from domain.reply import Button, Reply, say
from handlers.service import ChatService, Request

ADDRESS = "local"
QUIT = {"quit", "exit", "退出", "/quit", "/exit"}


class Console:
    def __init__(
        self, service: ChatService, *, stdin: TextIO | None = None, stdout: TextIO | None = None
    ) -> None:
        self.service = service
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.request = Request(
            channel="console", address=ADDRESS, user="console", is_admin=True, can_change=True
        )
        self.buttons: list[Button] = []

    def show(self, reply: Reply) -> None:
        print("\n\n".join(render_reply(reply, TEXT)), file=self.stdout)
        self.buttons = [b for row in reply.buttons for b in row]
        if self.buttons:
            options = "  ".join(f"#{i} {b.text}" for i, b in enumerate(self.buttons, 1))
            print(f"[按钮] {options}（输入 #序号 点按）", file=self.stdout)
        print(file=self.stdout)
        self.stdout.flush()

    def handle(self, line: str) -> Reply | None:
        line = line.strip()
        if not line:
            return None
        if line.startswith("#") and line[1:].isascii() and line[1:].isdigit():
            index = int(line[1:]) - 1
            if 0 <= index < len(self.buttons):
                return self.service.callback(self.request, self.buttons[index].data)
            return say("没有这个按钮。")
        return self.service.text(self.request, line)

    def prompt(self) -> None:
        self.stdout.write("你> ")
        self.stdout.flush()

    def run(self, readline: Callable[[], str] | None = None) -> None:
        """A blocking read-eval-print loop until EOF or 退出."""
        read = readline or self.stdin.readline
        self.show(self.service.command(self.request, "start", ""))
        print(
            "输入命令（如 /help、/subscribe 湘潭 交通）或关键词；输入“退出”结束。\n",
            file=self.stdout,
        )
        while True:
            self.prompt()
            line = read()
            if not line or line.strip() in QUIT:
                print("再见！", file=self.stdout)
                return
            reply = self.handle(line)
            if reply is not None:
                self.show(reply)

    async def run_async(self) -> None:
        """The loop with stdin read in a thread, so scheduled jobs run meanwhile."""
        await asyncio.to_thread(self.run)


class ConsoleSender:
    """Delivers digests to the console chat by printing them."""

    channel = "console"
    capabilities = PLAIN  # plain text, no pictures
    global_interval = 0.0

    def __init__(self, stdout: TextIO | None = None) -> None:
        self.stdout = stdout or sys.stdout
        self.count = 0

    def chat_interval(self, chat: Chat) -> float:
        return 0.0

    async def send_text(self, chat: Chat, body: str) -> str:
        self.count += 1
        print(f"\n📬 周报\n{body}\n", file=self.stdout)
        self.stdout.flush()
        return f"console-{self.count}"

    async def send_photo(self, chat: Chat, photo: bytes, caption: str) -> str:
        self.count += 1
        print(f"[图表：{caption}，{len(photo)} 字节]", file=self.stdout)
        return f"console-{self.count}"
