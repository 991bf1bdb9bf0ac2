"""The one command table. /help, Telegram's command menu, the console, the WeChat text
commands and the README are all generated from it or checked against it.

Each command carries its handler: a function ``(ctx, req, args) -> Reply`` from the module
of its domain (subscriptions, search, digest, admin). A new command is one row here and
one small function there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from domain.reply import BOLD, COMMAND, Button, Reply, Span, line, say
from domain.schedule import describe
from handlers import admin, digest, search, subscriptions
from handlers.context import Context, Request

Handler = Callable[[Context, Request, str], Reply]


def start(ctx: Context, req: Request, args: str) -> Reply:
    chat = ctx.chat(req)
    return say(
        line(Span("长株潭一体化快报", BOLD)),
        "我每周把长沙、株洲、湘潭一体化的新闻浓缩成一份周报：完成了多少合作事项、"
        "开工了哪些项目、投资多少，一目了然。",
        f"订阅城市或主题后，{describe(chat.day, chat.time, chat.timezone)}收到周报；"
        "直接发送关键词即可搜索。",
        buttons=(
            (Button("订阅城市/主题", "c:subscribe", COMMAND), Button("最新动态", "c:latest")),
            (Button("关键数据", "c:figures"), Button("帮助", "c:help")),
        ),
    )


def show_help(ctx: Context, req: Request, args: str) -> Reply:
    head, *rest = help_text(admin=req.is_admin, html=False, words=req.words).split("\n")
    return say(line(Span(head, BOLD)), "\n".join(rest).strip())


@dataclass(frozen=True)
class Command:
    name: str  # Telegram/console command without the slash
    usage: str  # argument synopsis in Chinese, "" when none
    summary: str  # one line in Chinese, shown in /help and the command menu
    run: Handler
    example: str = ""
    admin: bool = False  # bot admins only (user ids in [telegram] admin_ids)
    changes_chat: bool = False  # in a group, only the group's administrators may use it
    words: tuple[str, ...] = ()  # Chinese words that call it in WeChat and the console

    def called(self, words: bool) -> str:
        """How a chat calls it: its first word where commands are words, else /name."""
        return self.words[0] if words and self.words else f"/{self.name}"


COMMANDS: tuple[Command, ...] = (
    Command("start", "", "开始使用：简介和快捷按钮", start, words=("开始",)),
    Command("help", "", "查看全部命令和示例", show_help, words=("帮助", "help")),
    Command(
        "subscribe",
        "[城市、主题或关键词 ...]",
        "订阅城市、主题或“城市 主题”组合，其他词作为关键词关注",
        subscriptions.subscribe,
        "/subscribe 湘潭 交通",
        changes_chat=True,
        words=("订阅",),
    ),
    Command(
        "unsubscribe",
        "[城市或主题 ...]",
        "退订",
        subscriptions.unsubscribe,
        "/unsubscribe 湘潭",
        changes_chat=True,
        words=("退订", "取消订阅"),
    ),
    Command(
        "list",
        "",
        "我的订阅、关注的关键词和周报时间",
        subscriptions.show,
        words=("我的订阅", "订阅列表"),
    ),
    Command(
        "search",
        "关键词 [最新]",
        "按关键词搜索报道（默认按相关度，加“最新”按时间）",
        search.search,
        "/search 融城干道",
        words=("搜索", "查询"),
    ),
    Command(
        "latest",
        "[城市或主题]",
        "最新动态",
        digest.latest,
        "/latest 株洲",
        words=("最新", "最新动态"),
    ),
    Command(
        "figures",
        "[城市或主题]",
        "近期关键数据",
        digest.figures,
        "/figures 湘潭",
        words=("数据", "关键数据"),
    ),
    Command(
        "progress",
        "[城市或主题]",
        "任务清单进展：最新完成情况和历次变化",
        digest.progress,
        "/progress 湘潭",
        words=("进展", "任务进展"),
    ),
    Command("digest", "", "现在预览我的周报", digest.digest, words=("周报", "预览周报")),
    Command(
        "settings",
        "[周几 时间 | 时区 名称 | 暂停 | 恢复 | 提醒 开/关]",
        "周报时间、时区、暂停和恢复、关键词提醒",
        digest.settings,
        "/settings 周五 18:00",
        changes_chat=True,
        words=("设置",),
    ),
    Command(
        "feeds", "", "管理员：订阅源列表和健康状况", admin.feeds, admin=True, words=("订阅源",)
    ),
    Command(
        "addfeed",
        "URL",
        "管理员：添加订阅源或网页来源（没有订阅源的新闻网页）",
        admin.addfeed,
        "/addfeed https://example.com/rss.xml",
        admin=True,
        words=("添加订阅源",),
    ),
    Command(
        "removefeed",
        "URL",
        "管理员：删除订阅源",
        admin.removefeed,
        admin=True,
        words=("删除订阅源",),
    ),
    Command(
        "stats",
        "",
        "管理员：订阅、报道、订阅源和投递统计",
        admin.stats,
        admin=True,
        words=("统计",),
    ),
)

BY_NAME = {c.name: c for c in COMMANDS}
BY_WORD = {w: c for c in COMMANDS for w in c.words}


def help_text(*, admin: bool, html: bool = True, words: bool = False) -> str:
    """The /help reply, generated from the table; ``words`` lists the Chinese command
    words instead of slash commands (WeChat, where users type 订阅 湘潭)."""
    lines = ["<b>长株潭一体化快报 · 命令</b>" if html else "长株潭一体化快报 · 命令"]
    for c in COMMANDS:
        if c.admin and not admin:
            continue
        usage = f" {c.usage}" if c.usage else ""
        head = c.called(words)
        line = f"{head}{usage} — {c.summary}"
        if c.example:
            example = c.example
            if words and c.words:
                example = example.replace(f"/{c.name}", c.words[0])
            line += f"（例：{example}）"
        lines.append(line)
    lines.append("")
    if words:
        lines.append(
            "直接发送关键词即可搜索。订阅示例：订阅 湘潭 交通 只看湘潭的交通新闻；"
            "订阅 长沙 株洲 订阅两个城市。"
        )
    else:
        lines.append(
            "直接发送文字即可搜索。订阅示例：/subscribe 湘潭 交通 只看湘潭的交通新闻；"
            "/subscribe 长沙 株洲 订阅两个城市。"
        )
    return "\n".join(lines)


def menu() -> list[tuple[str, str]]:
    """(command, description) pairs for Telegram's set_my_commands: public commands only."""
    return [(c.name, c.summary) for c in COMMANDS if not c.admin]


def readme_table() -> str:
    rows = ["| command | 用法 | 说明 |", "| --- | --- | --- |"]
    for c in COMMANDS:
        usage = c.usage.replace("|", "\\|")
        rows.append(f"| `/{c.name}` | {usage} | {c.summary} |")
    return "\n".join(rows)
