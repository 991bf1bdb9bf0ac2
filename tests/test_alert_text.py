"""Operator alerts are Chinese: the kind of failure in words (and an HTTP status number
where there is one), never the English exception text, which stays in the log; a feed's
URL is shown redacted."""

from __future__ import annotations

import asyncio
import re

import pytest

from app.core import Core
from app.delivery import Deliverer
from app.jobs import Jobs
from domain.errors import ChannelDownError, InvalidTargetError
from domain.models import Subscription
from domain.urls import redacted
from tests.feedserver import FeedServer, Route
from tests.test_delivery import RecordingSender, fake_sleep, subscribe
from tests.test_delivery import world as world  # the fixture


def _latin(text: str, *allowed: str) -> list[str]:
    """The Latin words of ``text`` once the ``allowed`` parts are taken out."""
    for part in allowed:
        text = text.replace(part, "")
    return re.findall(r"[A-Za-z]{2,}", text)


def _alerts(jobs_or_deliverer: Jobs | Deliverer) -> list[str]:
    said: list[str] = []

    async def alert(text: str) -> None:
        said.append(text)

    jobs_or_deliverer.alert = alert
    return said


@pytest.mark.parametrize(
    ("route", "failures", "reason"),
    [
        (Route(status=404), 0, "订阅源已不存在（404/410）"),
        (Route(status=500), 99, "服务器出错（HTTP 500）"),
    ],
)
def test_a_disabled_feed_is_alerted_in_chinese_with_its_url_redacted(
    core: Core, server: FeedServer, route: Route, failures: int, reason: str
) -> None:
    server.routes["/feed?token=s3cret"] = route
    url = server.url("/feed").replace("://", "://reader:hunter2@") + "?token=s3cret"
    feed = core.storage.feeds.ensure(url, core.now())
    core.storage.db.execute(
        "UPDATE feeds SET consecutive_failures = ? WHERE id = ?", (failures, feed.id)
    )
    jobs = Jobs(core, {})
    said = _alerts(jobs)
    asyncio.run(jobs.poll_feeds())
    assert said == [f"订阅源已停用：{redacted(url)}，原因：{reason}"]
    assert "s3cret" not in said[0] and "hunter2" not in said[0]


def _due(core, clock, sender, address: str, city: str):  # type: ignore[no-untyped-def]
    """A chat's digest planned and due, a deliverer for it, and the alerts it will say."""
    from app.planning import Planner

    chat = subscribe(core, address, Subscription(city=city))
    clock.now = chat.next_due_at
    Planner(core, {"telegram": sender.capabilities}).plan_due(int(clock.now))
    deliverer = Deliverer(core, {"telegram": sender}, clock=clock, sleep=fake_sleep(clock))
    return deliverer, _alerts(deliverer)


def test_delivery_alerts_name_the_channel_and_the_trouble_in_chinese(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, sender, _ = world
    deliverer, said = _due(core, clock, sender, "501", "湘潭")
    sender.failures["501"] = [ChannelDownError("Unauthorized: the bot token was revoked")]
    asyncio.run(deliverer.run())
    clock.now += 301  # the channel is asked again after five minutes
    sender.failures["501"] = [InvalidTargetError("Bad Request: chat not found")]
    asyncio.run(deliverer.run())
    assert said == [
        "投递渠道不可用：Telegram，稍后重试。",
        "投递目标已停用：Telegram 501（目标无效，已停止向它投递）",
    ]
    assert all(not _latin(text, "Telegram") for text in said)


def test_an_alert_never_carries_the_english_error(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, _, _ = world
    sender = RecordingSender()
    deliverer, said = _due(core, clock, sender, "502", "长沙")
    sender.failures["502"] = [InvalidTargetError("wecom robot 'x': errcode 93000 invalid url")]
    asyncio.run(deliverer.run())
    assert said == ["投递目标已停用：Telegram 502（目标无效，已停止向它投递）"]


def test_a_channels_error_number_is_shown(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, sender, _ = world
    deliverer, said = _due(core, clock, sender, "503", "株洲")
    sender.failures["503"] = [InvalidTargetError("errcode 93000: invalid webhook url", code=93000)]
    asyncio.run(deliverer.run())
    assert said == ["投递目标已停用：Telegram 503（目标无效，错误码 93000，已停止向它投递）"]
