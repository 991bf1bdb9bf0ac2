"""WeCom group robots as chats: the configuration says what they follow and when.

Each ``[[wecom.robots]]`` entry is a chat (channel "wecom", address = robot name) whose
subscriptions and schedule come from the configuration, not from chat commands.
"""

from __future__ import annotations

import logging
from typing import Any

from analysis.subscriptions import parse_subscriptions
from app.core import Core
from domain.errors import ConfigError
from domain.models import Chat, Subscription
from domain.schedule import next_due

log = logging.getLogger(__name__)

ROBOT_CHANNEL = "wecom"


def sync_robots(core: Core) -> list[Chat]:
    """Make every configured robot a chat whose subscriptions and schedule match the config.

    Subscriptions are set to exactly the configured ones; ``next_due_at`` is computed when
    missing or when the schedule changed. A robot deactivated after a delivery failure is
    reactivated only when its configuration changed (fixing the key alone is not visible
    here: the key is never stored). Robots no longer configured are paused. Raises
    ``ConfigError`` for a subscription the taxonomy does not know.
    """
    store = core.storage.chats
    now = core.now()
    configured: list[Chat] = []
    names = set()
    for i, robot in enumerate(core.settings.wecom.robots):
        names.add(robot.name)
        subs = _robot_subscriptions(core, robot.subscriptions, f"wecom.robots[{i}]")
        day, _, at = robot.digest.partition(" ")
        existing = store.get(ROBOT_CHANNEL, robot.name)
        if existing is None:
            chat = store.ensure(
                ROBOT_CHANNEL,
                robot.name,
                now=now,
                kind="group",
                day=day,
                time=at,
                timezone=robot.timezone,
            )
        else:
            chat = existing
        schedule_changed = (chat.day, chat.time, chat.timezone) != (day, at, robot.timezone)
        subs_changed = set(chat.subscriptions) != set(subs)
        fields: dict[str, Any] = {}
        if subs_changed:
            store.unsubscribe(chat.id, list(chat.subscriptions))
            _, refused = store.subscribe(chat.id, subs, now)
            if refused:
                log.warning("wecom.robot_capped robot=%s refused=%d", robot.name, len(refused))
        if schedule_changed:
            fields.update(day=day, time=at, timezone=robot.timezone)
        if chat.next_due_at is None or schedule_changed:
            fields["next_due_at"] = next_due(day, at, robot.timezone, now)
        if chat.kind != "group":
            fields["kind"] = "group"
        if chat.paused:
            fields["paused"] = 0
        if not chat.active and (subs_changed or schedule_changed):
            fields["active"] = 1
            log.info("wecom.robot_reactivated robot=%s", robot.name)
        if fields:
            store.update(chat.id, **fields)
        synced = store.by_id(chat.id)
        assert synced is not None
        configured.append(synced)
        if existing is None or subs_changed or schedule_changed:
            log.info(
                "wecom.robot_synced robot=%s subscriptions=%d schedule=%s",
                robot.name,
                len(synced.subscriptions),
                robot.digest,
            )
    for chat in store.all(ROBOT_CHANNEL):
        if chat.address not in names and not chat.paused:
            store.update(chat.id, paused=1)
            log.info("wecom.robot_unconfigured robot=%s paused=1", chat.address)
    return configured


def _robot_subscriptions(core: Core, entries: tuple[str, ...], key: str) -> list[Subscription]:
    subs: list[Subscription] = []
    for entry in entries:
        found, unknown = parse_subscriptions(core.tagger, entry)
        if unknown:
            names = "、".join(unknown[:3])
            raise ConfigError(f"{key}.subscriptions: {entry!r}: unknown city or topic: {names}")
        subs += found
    return list(dict.fromkeys(subs))
