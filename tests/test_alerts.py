"""Instant keyword alerts through the console sender: batched, paced, never repeated."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from app.alerts import MIN_GAP, Alerter
from app.config import load_settings
from app.core import Core
from app.delivery import SETTLE
from channels.console import ConsoleSender
from handlers.service import ChatService, Request
from tests.conftest import DATA, NOW, FakeClock

ITEM = """<item><title>{title}</title><link>http://c.czt.invalid/{n}.html</link>
<guid>c-{n}</guid><pubDate>Sat, 21 Nov 2026 08:00:00 +0800</pubDate>
<description>{text}</description></item>"""


def feed(path: Path, *items: tuple[str, str]) -> str:
    body = "".join(ITEM.format(n=i, title=t, text=x) for i, (t, x) in enumerate(items))
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>测试快讯</title><link>http://c.czt.invalid/</link>{body}</channel></rss>",
        encoding="utf-8",
    )
    return str(path)


def test_alerts_are_batched_paced_and_not_repeated(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    core = Core(load_settings(None, environ={}, db_path=str(tmp_path / "a.db")), clock=clock)
    service = ChatService(core)
    user = Request("console", "reader")
    assert "关键词" in service.command(user, "subscribe", "融城干道").text
    assert "已开启" in service.command(user, "settings", "提醒 开").text
    out = io.StringIO()
    alerter = Alerter(core, {"console": ConsoleSender(out)})

    def ingest(*paths: str) -> None:
        feeds = [core.storage.feeds.ensure(p, core.now()) for p in paths]
        core.ingestor().ingest(feeds, core.now())

    def run() -> int:
        return asyncio.run(alerter.run(core.now()))

    clock.advance(60)
    ingest(str(DATA / "condense" / "november-a.xml"), str(DATA / "condense" / "november-b.xml"))
    assert run() == 0  # not settled yet: another process may still be writing
    clock.advance(SETTLE + 1)
    assert run() == 1
    text = out.getvalue()
    # One message for both outlets' stories; the task-list story does not mention the road.
    assert text.count("🔔") == 1 and "2 条新报道" in text
    assert "融城干道株洲段开工" in text and "株洲又一条融城通道动工" in text
    assert "合作事项" not in text
    assert run() == 0  # nothing new: nothing repeated

    later = feed(tmp_path / "c.xml", ("融城干道湘潭段招标", "融城干道湘潭段今天启动施工招标。"))
    clock.advance(600)
    ingest(later)
    clock.advance(SETTLE + 1)
    assert run() == 0  # too soon after the last alert: it waits, batched with what comes
    clock.advance(MIN_GAP)
    assert run() == 1
    assert out.getvalue().count("🔔") == 2 and "融城干道湘潭段招标" in out.getvalue()

    assert "已关闭" in service.command(user, "settings", "提醒 关").text
    assert core.storage.chats.alerting() == []
    core.close()
