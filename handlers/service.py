"""The chat service: a message, a command or a button press in, a ``Reply`` out.

Channels turn an incoming message into a ``Request`` plus words and call ``ChatService``;
the service finds the command in the one table (``handlers.commands``), checks who may
use it, runs its handler and turns refusals into Chinese replies. Replies are
``domain.reply`` values; channels render them with ``digests.markup``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from app.core import Core
from domain.errors import InvalidQueryError, StorageError, UserInputError
from domain.models import Chat
from domain.reply import Button, Reply, say
from handlers import digest, search, subscriptions
from handlers.commands import BY_NAME, BY_WORD, Command
from handlers.context import MAX_ARG_CHARS, Context, Request

__all__ = ["Button", "ChatService", "Reply", "Request"]

log = logging.getLogger(__name__)


class ChatService:
    def __init__(self, core: Core, clock: Callable[[], float] = time.monotonic) -> None:
        self.core = core
        self.ctx = Context(core, clock)

    def chat(self, req: Request) -> Chat:
        return self.ctx.chat(req)

    def blocked(self, req: Request) -> None:
        """The chat blocked us or removed us: no digests until it writes again."""
        chat = self.core.storage.chats.get(req.channel, req.address)
        if chat is not None:
            self.core.storage.chats.update(chat.id, active=0)

    def command(self, req: Request, name: str, args: str, *, typed: str = "") -> Reply:
        """A /command with its argument text. ``typed`` is the whole text when the command
        was called by its word (数据 湘潭): words that are not its arguments are searched."""
        cmd = BY_NAME.get(name.lower())
        if cmd is None:
            ask = self.ctx.cmd(req, "help")
            return say(
                f"没有 /{name[:40]} 这个命令。发送 {ask} 查看全部命令，或直接发送关键词搜索。"
            )
        if cmd.admin and not req.is_admin:
            if typed and args.strip():  # 统计 数据: not a command this user has
                return self.command(req, "search", typed)
            return say("抱歉，这个命令只有管理员可以使用。")
        if cmd.changes_chat and not req.can_change and args.strip():
            return say("只有群管理员可以修改本群的订阅和设置。")
        args = args.strip()
        if len(args) > MAX_ARG_CHARS:
            return say(f"参数太长了（最多 {MAX_ARG_CHARS} 个字）。")
        if typed and args and not cmd.changes_chat:
            return self._guarded(cmd.name, lambda: self._or_search(cmd, req, args, typed))
        return self._guarded(cmd.name, lambda: cmd.run(self.ctx, req, args))

    def _or_search(self, cmd: Command, req: Request, args: str, typed: str) -> Reply:
        """Run ``cmd``; if it refuses its arguments, search the whole text instead: "数据 中心"
        is a search that starts with a command word. A command that changes the chat keeps
        its refusal (设置 下雨天 wants the examples, not a search)."""
        try:
            return cmd.run(self.ctx, req, args)
        except UserInputError:
            return self.command(req, "search", typed)

    def text(self, req: Request, text: str) -> Reply:
        """Plain text: a command word (订阅 湘潭) or a /command, else a search."""
        text = text.strip()
        if text.startswith("/"):
            head, _, rest = text[1:].partition(" ")
            return self.command(req, head.split("@", 1)[0], rest)
        head, _, rest = text.partition(" ")
        cmd = BY_WORD.get(head)
        if cmd is not None:
            return self.command(req, cmd.name, rest, typed=text)
        return self.command(req, "search", text)

    def callback(self, req: Request, data: str) -> Reply:
        """An inline button press. ``data`` is untrusted: it only ever acts on ``req``'s chat."""
        action, _, value = data.partition(":")
        if action == "t" and value:
            return self._guarded("toggle", lambda: subscriptions.toggle(self.ctx, req, value))
        if action == "s" and value.isascii() and value.isdigit():
            return self._guarded("page", lambda: search.page(self.ctx, req, None, int(value)))
        if action == "k" and value.isascii() and value.isdigit():
            return self._guarded("figures", lambda: digest.more_figures(self.ctx, req, int(value)))
        if action == "c" and value in BY_NAME and not BY_NAME[value].admin:
            return self.command(req, value, "")
        return say("这个按钮已失效，请重新发送命令。")

    def _guarded(self, name: str, run: Callable[[], Reply]) -> Reply:
        try:
            return run()
        except (UserInputError, InvalidQueryError) as err:
            return say(str(err))
        except StorageError as err:
            log.error("service.storage_error command=%s error=%s", name, err)
            return say("服务暂时繁忙，请稍后再试。")
        except Exception:  # a bug must cost one answer, never the conversation
            log.exception("service.unexpected command=%s", name)
            return say("抱歉，处理出错了，请稍后再试。")
