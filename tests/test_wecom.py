"""WeCom group robots: config sync, and digests delivered to a fake webhook over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import logging
import re
import shutil
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config import Settings, load_settings
from app.core import Core
from app.jobs import Jobs
from app.robots import sync_robots
from channels.wecom import WeComSender
from digests.split import WECOM_LIMIT, pack, utf8_len
from domain.errors import (
    ConfigError,
    DeliveryError,
    InvalidTargetError,
    RateLimitedError,
    TransientError,
)
from domain.models import Chat, Subscription
from domain.schedule import next_due
from tests.conftest import NOW, FakeClock
from tests.fake_wecom import FakeWeCom, Post

KEY_OFFICE = "3f9b2c1e-office-key-0000-5a6b7c8d9e0f"
KEY_TRAFFIC = "7d1e4a2b-traffic-key-1111-0a1b2c3d4e5f"
ENVIRON = {"WECOM_KEY_OFFICE": KEY_OFFICE, "WECOM_KEY_TRAFFIC": KEY_TRAFFIC}
OFFICE, TRAFFIC = "长株潭办公室", "交通组"

CONFIG = """
[wecom]
api_base_url = "{base}"

[[wecom.robots]]
name = "长株潭办公室"
key_env = "WECOM_KEY_OFFICE"
subscriptions = ["湘潭", "株洲 产业"]
digest = "mon 09:00"

[[wecom.robots]]
name = "交通组"
key_env = "WECOM_KEY_TRAFFIC"
subscriptions = ["交通"]
digest = "fri 17:30"
timezone = "Asia/Shanghai"
"""


def fake_sleep(clock: FakeClock) -> Callable[[float], asyncio.Future[None]]:
    async def sleep(seconds: float) -> None:
        clock.advance(max(0.0, seconds))

    return sleep  # type: ignore[return-value]


@dataclasses.dataclass
class World:
    core: Core
    clock: FakeClock
    fake: FakeWeCom
    alerts: list[str]

    def jobs(self) -> Jobs:
        async def alert(text: str) -> None:
            self.alerts.append(text)

        sender = WeComSender(self.core.settings.wecom)
        return Jobs(
            self.core,
            {"wecom": sender},
            alert=alert,
            clock=self.clock,
            sleep=fake_sleep(self.clock),
        )

    def send(self, *, force: bool = True) -> tuple[Jobs, object]:
        jobs = self.jobs()

        async def go() -> object:
            try:
                return await jobs.send_digests(force=force)
            finally:
                await jobs.senders["wecom"].aclose()  # type: ignore[attr-defined]

        report = asyncio.run(go())
        jobs.stop()
        return jobs, report

    def chat(self, name: str) -> Chat:
        chat = self.core.storage.chats.get("wecom", name)
        assert chat is not None
        return chat

    def ledger(self, chat: Chat) -> list[dict[str, object]]:
        return self.core.storage.db.query(
            "SELECT d.part, d.kind, d.body, c.png AS photo, d.state FROM deliveries d"
            " LEFT JOIN charts c ON c.id = d.chart_id WHERE d.chat_id = ?"
            " ORDER BY d.digest_id, d.part",
            (chat.id,),
        )


@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    with FakeWeCom(keys={KEY_OFFICE, KEY_TRAFFIC}) as server:
        yield server


@pytest.fixture
def world(
    sample_core: Core, tmp_path_factory: pytest.TempPathFactory, fake: FakeWeCom
) -> Iterator[World]:
    """A fresh copy of the sample database, two robots configured, a fake clock."""
    dst = tmp_path_factory.mktemp("wecom") / "czt.db"
    sample_core.storage.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(sample_core.storage.db.path, dst)
    config = dst.parent / "config.toml"
    config.write_text(CONFIG.format(base=fake.base_url), encoding="utf-8")
    settings = load_settings(config, environ=ENVIRON, db_path=str(dst))
    clock = FakeClock(NOW + 3600)  # an hour after the sample was ingested
    core = Core(settings, clock=clock)
    yield World(core, clock, fake, [])
    core.close()


def resettle(world: World, **robot_changes: object) -> None:
    """Replace the office robot's settings, as a config edit and restart would."""
    wecom = world.core.settings.wecom
    robots = tuple(
        dataclasses.replace(r, **robot_changes) if r.name == OFFICE else r  # type: ignore[arg-type]
        for r in wecom.robots
    )
    world.core.settings = dataclasses.replace(
        world.core.settings, wecom=dataclasses.replace(wecom, robots=robots)
    )


def all_rows_text(core: Core) -> str:
    tables = [
        r["name"]
        for r in core.storage.db.query("SELECT name FROM sqlite_master WHERE type='table'")
    ]
    return "\n".join(
        repr(row) for t in tables for row in core.storage.db.query(f'SELECT * FROM "{t}"')
    )


# -- sync_robots -----------------------------------------------------------------------


def test_sync_robots_creates_group_chats_from_config(world: World) -> None:
    chats = sync_robots(world.core)
    assert [c.address for c in chats] == [OFFICE, TRAFFIC]
    office, traffic = chats
    assert (office.channel, office.kind, office.active) == ("wecom", "group", True)
    assert set(office.subscriptions) == {Subscription(city="湘潭"), Subscription("株洲", "产业")}
    assert traffic.subscriptions == (Subscription(topic="交通"),)
    assert (office.day, office.time, office.timezone) == ("mon", "09:00", "Asia/Shanghai")
    assert (traffic.day, traffic.time) == ("fri", "17:30")
    assert office.next_due_at == next_due("mon", "09:00", "Asia/Shanghai", NOW)
    assert traffic.next_due_at == next_due("fri", "17:30", "Asia/Shanghai", NOW)
    # The key is a secret: nothing of it is stored.
    dump = all_rows_text(world.core)
    assert KEY_OFFICE not in dump and KEY_TRAFFIC not in dump


def test_sync_robots_is_idempotent_and_exact(world: World) -> None:
    first = sync_robots(world.core)
    world.clock.advance(3600)
    again = sync_robots(world.core)
    assert again == first  # same ids, subscriptions and due times
    # A subscription added by hand is removed: the config is the truth.
    office = world.chat(OFFICE)
    world.core.storage.chats.subscribe(office.id, [Subscription(city="长沙")], world.core.now())
    sync_robots(world.core)
    assert set(world.chat(OFFICE).subscriptions) == set(first[0].subscriptions)
    # An edited config replaces the subscriptions exactly and reschedules.
    resettle(world, subscriptions=("长沙 交通", "生态"), digest="wed 18:00")
    office = sync_robots(world.core)[0]
    assert office.subscriptions == (Subscription("长沙", "交通"), Subscription(topic="生态"))
    assert (office.day, office.time) == ("wed", "18:00")
    assert office.next_due_at == next_due("wed", "18:00", "Asia/Shanghai", world.core.now())


def test_sync_robots_reactivates_only_on_config_change(world: World) -> None:
    sync_robots(world.core)
    office = world.chat(OFFICE)
    world.core.storage.chats.update(office.id, active=0)  # as after errcode 93000
    sync_robots(world.core)
    assert not world.chat(OFFICE).active
    resettle(world, subscriptions=("湘潭",))
    sync_robots(world.core)
    assert world.chat(OFFICE).active


def test_sync_robots_pauses_unconfigured_robots(world: World) -> None:
    sync_robots(world.core)
    wecom = world.core.settings.wecom
    world.core.settings = dataclasses.replace(
        world.core.settings, wecom=dataclasses.replace(wecom, robots=wecom.robots[1:])
    )
    assert [c.address for c in sync_robots(world.core)] == [TRAFFIC]
    assert world.chat(OFFICE).paused


def test_sync_robots_rejects_unknown_subscription(world: World) -> None:
    resettle(world, subscriptions=("火星",))
    with pytest.raises(ConfigError, match=r"wecom\.robots\[0\]\.subscriptions"):
        sync_robots(world.core)


# -- delivery ----------------------------------------------------------------------------


def check_delivered(world: World, name: str, key: str) -> list[Post]:
    """Every ledger part of robot ``name`` arrived exactly once, in order, as WeCom wants."""
    posts = [p for p in world.fake.delivered if p.key == key]
    parts = world.ledger(world.chat(name))
    assert parts and all(p["state"] == "sent" for p in parts)
    assert len(posts) == len(parts)
    for part, post in zip(parts, posts, strict=True):
        if part["kind"] == "photo":
            assert post.msgtype == "image"
            data = base64.b64decode(post.body["image"]["base64"])
            assert data == part["photo"]
            assert post.body["image"]["md5"] == hashlib.md5(data).hexdigest()
        else:
            assert post.msgtype == "markdown"
            content = post.body["markdown"]["content"]
            assert content == part["body"]
            assert utf8_len(content) <= WECOM_LIMIT
    return posts


def test_digest_send_force_delivers_every_part_once(world: World) -> None:
    sync_robots(world.core)
    _, report = world.send()
    office = check_delivered(world, OFFICE, KEY_OFFICE)
    traffic = check_delivered(world, TRAFFIC, KEY_TRAFFIC)
    assert report.sent == len(office) + len(traffic)  # type: ignore[attr-defined]
    assert any(p.msgtype == "image" for p in office)  # the chart
    assert "湘潭" in office[0].body["markdown"]["content"]
    assert len(world.fake.posts) == len(world.fake.delivered)  # nothing failed or repeated
    # The next scheduled run (not forced, not yet due) sends nothing more.
    world.send(force=False)
    assert len(world.fake.posts) == len(world.fake.delivered) == report.sent  # type: ignore[attr-defined]


def test_chat_interval_is_per_robot_rate(world: World) -> None:
    sender = WeComSender(world.core.settings.wecom)
    chat = Chat(id=1, channel="wecom", address=OFFICE, kind="group")
    assert sender.chat_interval(chat) == pytest.approx(3.0)  # 20 a minute
    assert sender.global_interval == pytest.approx(0.0)


def test_rate_limited_waits_and_retries(world: World) -> None:
    sync_robots(world.core)
    world.fake.fail(errcode=45009)
    start = world.clock.now
    world.send()
    check_delivered(world, OFFICE, KEY_OFFICE)
    check_delivered(world, TRAFFIC, KEY_TRAFFIC)
    assert len(world.fake.posts) == len(world.fake.delivered) + 1
    assert world.clock.now - start >= 60  # waited on the fake clock, not for real
    assert world.core.storage.deliveries.event_counts().get("rate_limited") == 1


def test_server_errors_are_retried(world: World) -> None:
    sync_robots(world.core)
    world.fake.fail(status=500, times=2)
    world.send()
    check_delivered(world, OFFICE, KEY_OFFICE)
    check_delivered(world, TRAFFIC, KEY_TRAFFIC)
    assert len(world.fake.posts) == len(world.fake.delivered) + 2
    assert world.core.storage.deliveries.event_counts().get("transient") == 2


def test_invalid_key_deactivates_robot_and_alerts(world: World) -> None:
    world.fake.keys = {KEY_TRAFFIC}  # the office robot's webhook was deleted: 93000
    sync_robots(world.core)
    _, report = world.send()
    assert report.failed >= 1  # type: ignore[attr-defined]
    office = world.chat(OFFICE)
    assert not office.active
    assert all(p["state"] == "failed" for p in world.ledger(office))
    assert len([p for p in world.fake.posts if p.key == KEY_OFFICE]) == 1  # no retrying
    assert len(world.alerts) == 1 and OFFICE in world.alerts[0] and "93000" in world.alerts[0]
    check_delivered(world, TRAFFIC, KEY_TRAFFIC)  # the other robot is unaffected
    sync_robots(world.core)  # the config did not change: it stays off
    assert not world.chat(OFFICE).active


def test_missing_key_is_an_invalid_target(world: World) -> None:
    sender = WeComSender(world.core.settings.wecom)
    chat = Chat(id=1, channel="wecom", address="没有配置的机器人", kind="group")
    with pytest.raises(InvalidTargetError):
        asyncio.run(sender.send_text(chat, "hello"))


def test_key_never_leaks(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    office = Chat(id=1, channel="wecom", address=OFFICE, kind="group")
    errors: list[DeliveryError] = []

    async def attempt(sender: WeComSender, expected: type[DeliveryError]) -> None:
        with pytest.raises(expected) as info:
            await sender.send_text(office, "**测试**")
        errors.append(info.value)

    async def scenarios() -> None:
        async with WeComSender(world.core.settings.wecom) as sender:
            world.fake.fail(errcode=45009)
            await attempt(sender, RateLimitedError)
            world.fake.fail(errcode=93000)
            await attempt(sender, InvalidTargetError)
            world.fake.fail(status=500)
            await attempt(sender, TransientError)
            world.fake.fail(errcode=40058)
            await attempt(sender, TransientError)
            assert (await sender.send_text(office, "ok")).startswith("wecom:")
        closed = dataclasses.replace(world.core.settings.wecom, api_base_url="http://127.0.0.1:9")
        async with WeComSender(closed) as sender:
            await attempt(sender, TransientError)  # connection refused

    asyncio.run(scenarios())
    # A full run with failures, logged at DEBUG.
    sync_robots(world.core)
    world.fake.fail(errcode=45009)
    world.fake.fail(status=502)
    world.fake.keys = {KEY_TRAFFIC}
    jobs, _ = world.send()
    texts = [caplog.text, *(r.getMessage() for r in caplog.records), *world.alerts]
    for e in errors:
        texts += [str(e), repr(e), "".join(traceback.format_exception(e))]
    texts += [repr(jobs.senders["wecom"]), repr(world.core.settings), all_rows_text(world.core)]
    for text in texts:
        assert KEY_OFFICE not in text and KEY_TRAFFIC not in text
    assert isinstance(world.core.settings, Settings)


def test_oversized_image_is_skipped_not_retried(world: World) -> None:
    office = Chat(id=1, channel="wecom", address=OFFICE, kind="group")

    async def go() -> str:
        async with WeComSender(world.core.settings.wecom) as sender:
            return await sender.send_photo(office, b"\x89PNG" + b"0" * (2 * 1024 * 1024), "图")

    assert asyncio.run(go()).startswith("skipped")
    assert world.fake.posts == []


# -- packing -----------------------------------------------------------------------------

HAN = "长株潭一体化融城干道湘江新区产业交通项目投资亿元开工建设完成合作事项"
PUNCT = "，。！？、；：“”（）《》…\n "
ODD = "😀𠀀𡃁ａé\u200d"
chinese = st.text(
    alphabet=st.sampled_from(list(HAN + PUNCT + ODD + "0123456789.%ab")), max_size=6000
)
unbroken = st.text(alphabet=st.sampled_from(list(HAN + ODD)), min_size=1500, max_size=3000)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(chinese, unbroken), min_size=1, max_size=4))
def test_wecom_markdown_packing_stays_under_limit(blocks: list[str]) -> None:
    messages = pack(blocks, WECOM_LIMIT, utf8_len)
    assert all(0 < utf8_len(m) <= WECOM_LIMIT for m in messages)
    # Nothing is lost or invented: only the separators between pieces differ.
    assert re.sub(r"\s", "", "".join(messages)) == re.sub(r"\s", "", "".join(blocks))


def _seen_just_now(core: Core) -> None:
    """The sample stories as first seen a minute ago by the real clock, which `digest
    send` and a Jobs without a fake clock run on: a first digest looks back a week from
    then, and the fixture's fixed date falls out of that week as real time moves on."""
    with core.storage.db.transaction():
        core.storage.db.execute("UPDATE stories SET first_seen = ?", (int(time.time()) - 60,))


def test_cli_digest_send_delivers_to_configured_robots(
    sample_copy: Core,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`python bot.py --config C digest send --force` reaches WeCom robots from the config."""
    from bot import main

    with FakeWeCom() as fake:
        config = tmp_path / "wecom.toml"
        config.write_text(
            f'[wecom]\napi_base_url = "{fake.base_url}"\n'
            '[[wecom.robots]]\nname = "融城观察群"\nkey_env = "WECOM_KEY_CLI"\n'
            'subscriptions = ["湘潭", "株洲 产业"]\ndigest = "mon 09:00"\n'
            # `digest send` runs on the real clock: reach back to the sample stories
            # whatever today's date is.
            "[digest]\nlookback_days = 36500\n",
            encoding="utf-8",
        )
        monkeypatch.setenv("WECOM_KEY_CLI", "cli-secret-key-123")
        _seen_just_now(sample_copy)
        db = sample_copy.storage.db.path
        code = main(["--config", str(config), "--db", db, "digest", "send", "--force"])
        out = capsys.readouterr()
        assert code == 0, out
        assert fake.delivered and all(p.key == "cli-secret-key-123" for p in fake.delivered)
        markdown = [p for p in fake.delivered if p.msgtype == "markdown"]
        assert markdown and "关键数据" in markdown[0].body["markdown"]["content"]
        assert "cli-secret-key-123" not in out.out + out.err
