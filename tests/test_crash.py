"""SIGKILL a real `digest send` mid-broadcast, again and again; then count what arrived.

Some kills land early (start-up, planning, the first sends), the others at a random
moment once messages go out, while planning still commits batches beside the sender.
Every planned part must reach its chat: nothing lost. A part can only arrive twice when
the process died between the Bot API accepting it and the ledger recording it; the
ledger flags exactly those on restart (event "ambiguous"), and no other part may repeat.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from app.core import Core
from domain.models import Subscription
from tests.conftest import ROOT
from tests.fake_botapi import TOKEN, FakeBotAPI

CHATS = 120


def _prepare(core: Core) -> None:
    _seen_just_now(core)
    for i in range(CHATS):
        chat = core.storage.chats.ensure("telegram", str(7000 + i), now=core.now())
        subs = [Subscription(city="湘潭")] if i % 2 else [Subscription(topic="交通")]
        core.storage.chats.subscribe(chat.id, subs, core.now())
        # `digest send` runs on the real clock: start the period before the sample stories
        # (first seen at the fake NOW) so the test does not depend on today's date.
        core.storage.chats.update(
            chat.id, next_due_at=core.now() - 60, last_digest_at=core.now() - 30 * 86400
        )


def _seen_just_now(core: Core) -> None:
    """The sample stories as first seen a minute ago by the real clock, which `digest
    send` and a Jobs without a fake clock run on: a first digest looks back a week from
    then, and the fixture's fixed date falls out of that week as real time moves on."""
    with core.storage.db.transaction():
        core.storage.db.execute("UPDATE stories SET first_seen = ?", (int(time.time()) - 60,))


def _wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def _digest_send(db: str, base_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": base_url,
        "PTB_TIMEDELTA": "1",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "bot.py"), "--db", db, "digest", "send"],
            env=env,
            stdout=out,
            stderr=out,
            cwd=ROOT,
        )


def test_sigkill_during_broadcast_loses_nothing_and_repeats_nothing(
    sample_copy: Core, tmp_path: Path
) -> None:
    _prepare(sample_copy)
    db = sample_copy.storage.db.path
    log = tmp_path / "runs.log"
    rng = random.Random(20261125)
    fake = FakeBotAPI().start_in_thread()
    kills = mid = 0  # mid: killed while messages were going out
    try:
        for run in range(6):
            before = len(fake.sent())
            proc = _digest_send(db, fake.base_url, log)
            if run % 3 == 0:  # early: during start-up, planning or the first sends
                time.sleep(rng.uniform(1.0, 3.0))
            else:  # once messages go out (planning goes on beside them), at a random moment
                _wait_for(lambda n=before, p=proc: len(fake.sent()) > n or p.poll() is not None)
                time.sleep(rng.uniform(0.0, 2.5))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
                mid += len(fake.sent()) > before
            proc.wait(timeout=30)
        final = _digest_send(db, fake.base_url, log)
        assert final.wait(timeout=180) == 0, log.read_text(errors="replace")[-2000:]
    finally:
        fake.stop_thread()
    assert kills >= 3 and mid >= 2, "the broadcast finished before it could be killed"
    assert not fake.crashes

    store = sample_copy.storage
    assert store.db.integrity_ok()
    parts = store.db.query(
        "SELECT d.id, c.address, d.kind, d.body, d.state FROM deliveries d"
        " JOIN chats c ON c.id = d.chat_id"
    )
    assert len(parts) >= CHATS * 2
    assert all(p["state"] == "sent" for p in parts)
    received = Counter(
        (m.chat_id, m.text if not m.photo else "photo:" + (m.text or "")) for m in fake.sent()
    )
    ambiguous = {
        int(r["detail"])
        for r in store.db.query("SELECT detail FROM events WHERE kind = 'ambiguous'")
    }
    lost, repeated = [], []
    for p in parts:
        key = (int(p["address"]), p["body"] if p["kind"] == "text" else "photo:" + p["body"])
        n = received[key]
        if n == 0:
            lost.append(p["id"])
        elif n > 1 and p["id"] not in ambiguous:
            repeated.append(p["id"])
    twice = sum(
        1
        for p in parts
        if received[(int(p["address"]), p["body"] if p["kind"] == "text" else "photo:" + p["body"])]
        > 1
    )
    print(
        f"\ncrash: kills={kills} mid_broadcast={mid} parts={len(parts)} lost={len(lost)} "
        f"ambiguous={len(ambiguous)} delivered_twice={twice}"
    )
    assert lost == [] and repeated == []
    # Every chat got its digest, and only one digest each.
    digests = store.db.query("SELECT chat_id, COUNT(*) AS n FROM digests GROUP BY chat_id")
    assert len(digests) == CHATS and all(d["n"] == 1 for d in digests)
