"""Instant alerts: a short message when a new story matches a keyword a chat watches.

Batched and paced: each run looks at the stories first seen since the chat's last look,
and sends one message for all of them (at most ``MAX_LISTED`` listed), at most
``[digest] alerts_per_day`` a day per chat and no sooner than ``MIN_GAP`` after the last
one; stories that arrive in between wait for the next message. What was sent is recorded
as an ``alert`` event, so a restart neither repeats an alert nor exceeds the day's
allowance. A send that fails leaves the stories for the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from app.core import Core
from app.delivery import SETTLE, Sender
from digests.markup import render_blocks
from digests.present import alert_blocks
from domain.errors import DeliveryError
from domain.models import Chat, Story

log = logging.getLogger(__name__)

DAY = 86400
MIN_GAP = 2 * 3600
MAX_LISTED = 5
ALERT_EVENT = "alert"
_FORMATS = {"telegram": "html", "wecom": "markdown"}


@dataclass
class Alerter:
    core: Core
    senders: Mapping[str, Sender]

    def matches(self, chat: Chat, since: int, until: int) -> dict[str, list[Story]]:
        """The new stories of each watched keyword, newest first; a story once, under
        the first keyword that finds it."""
        seen: set[int] = set()
        found: dict[str, list[int]] = {}
        for word in chat.watches:
            ids = sorted(self.core.story_ids(word, since, until) - seen, reverse=True)
            seen.update(ids)
            if ids:
                found[word] = ids
        stories = self.core.storage.articles.stories(sorted(seen))
        return {w: [stories[i] for i in ids if i in stories] for w, ids in found.items()}

    async def run(self, now: int) -> int:
        """Send the alerts that are due; returns how many chats were alerted."""
        store = self.core.storage
        per_day = self.core.settings.digest.alerts_per_day
        until = now - SETTLE  # a story still being committed waits for the next run
        alerted = 0
        for chat in store.chats.alerting():
            sender = self.senders.get(chat.channel)
            if sender is None:
                continue
            since = chat.alerts_checked_at if chat.alerts_checked_at is not None else until
            sent = store.deliveries.event_times(ALERT_EVENT, chat.id, now - DAY)
            if len(sent) >= per_day or (sent and now - sent[-1] < MIN_GAP) or since >= until:
                continue
            found = self.matches(chat, since, until)
            if not found:
                store.chats.update(chat.id, alerts_checked_at=until)
                continue
            blocks = alert_blocks(found, MAX_LISTED)
            body = "\n\n".join(render_blocks(blocks, _FORMATS.get(chat.channel, "text")))
            try:
                await sender.send_text(chat, body)
            except DeliveryError as e:
                log.warning("alerts.failed chat=%d error=%s", chat.id, e)
                continue
            with store.db.transaction():
                store.deliveries.event(ALERT_EVENT, now, chat_id=chat.id, detail=",".join(found))
                store.chats.update(chat.id, alerts_checked_at=until)
            alerted += 1
            log.info("alerts.sent chat=%d keywords=%d", chat.id, len(found))
        return alerted
