"""Pacing deliveries: per-channel rate windows, per-chat gaps and flood-control holds.

A channel's rate (1 / ``global_interval`` messages a second: Telegram's 30, or 1,000 with
paid broadcasts) is kept as a sliding window: never more than that many sends started
in any one second, and never two closer than half an interval. A window rather than a
fixed gap, so a late wake-up (another thread holding the interpreter for a few
milliseconds) is made up for instead of lost, and a run keeps to the rate bound over its
whole length. A chat waits ``chat_interval`` between its own messages; a 429 holds the
whole channel.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from domain.models import Chat


class Paced(Protocol):
    channel: str
    global_interval: float

    def chat_interval(self, chat: Chat) -> float: ...


@dataclass
class Pacer:
    _windows: dict[str, deque[float]] = field(default_factory=dict)
    _held: dict[str, float] = field(default_factory=dict)  # channel → held until (429)
    _chats: dict[int, float] = field(default_factory=dict)  # chat → may receive again at

    def ready(self, sender: Paced, chat_id: int, not_before: float) -> float:
        """The earliest time this chat's next part may start on ``sender``'s channel."""
        return max(
            not_before,
            self._chats.get(chat_id, 0.0),
            self._held.get(sender.channel, 0.0),
            self._slot(sender),
        )

    def chat_ready(self, chat_id: int) -> float:
        return self._chats.get(chat_id, 0.0)

    def started(self, sender: Paced, chat: Chat, at: float) -> None:
        """A send to ``chat`` started at ``at``: count it against both limits."""
        self._chats[chat.id] = max(self._chats.get(chat.id, 0.0), at + sender.chat_interval(chat))
        if sender.global_interval <= 0:
            return
        per_second = max(1, round(1 / sender.global_interval))
        window = self._windows.get(sender.channel)
        if window is None or window.maxlen != per_second:
            window = self._windows[sender.channel] = deque(maxlen=per_second)
        window.append(at)

    def hold(self, channel: str, until: float) -> None:
        """Flood control applies to the whole bot: nothing goes on ``channel`` before then."""
        self._held[channel] = max(self._held.get(channel, 0.0), until)

    def _slot(self, sender: Paced) -> float:
        window = self._windows.get(sender.channel)
        if not window or sender.global_interval <= 0:
            return 0.0
        spaced = window[-1] + sender.global_interval / 2
        if len(window) < (window.maxlen or 0):
            return spaced
        return max(spaced, window[0] + 1.0)
