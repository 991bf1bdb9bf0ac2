"""The delivery ledger over time: sent bodies and charts purged after the retention, and
a ledger written by the release before migrated in place."""

from __future__ import annotations

from pathlib import Path

from domain.models import Subscription
from storage import Storage
from storage.ledger_schema import LEDGER
from tests.test_delivery import run, subscribe
from tests.test_delivery import world as world  # the fixture


def test_sent_bodies_and_charts_are_purged_after_the_retention(world) -> None:  # type: ignore[no-untyped-def]
    core, clock, _, jobs = world
    chat = subscribe(core, "123", Subscription(city="湘潭"))
    clock.now = chat.next_due_at
    run(jobs.send_digests())
    db = core.storage.db
    rows = db.scalar("SELECT COUNT(*) FROM deliveries")
    assert db.scalar("SELECT COUNT(*) FROM charts") == 1
    clock.now += 29 * 86400
    run(jobs.send_digests())
    assert db.scalar("SELECT COUNT(*) FROM charts WHERE png IS NOT NULL") >= 1
    clock.now += 2 * 86400  # the first digest is now 31 days old
    run(jobs.send_digests())
    first = db.query(
        "SELECT body, chart_id, state FROM deliveries WHERE digest_id ="
        " (SELECT MIN(id) FROM digests WHERE chat_id = ?)",
        (chat.id,),
    )
    assert len(first) >= 2 and all(r["body"] == "" and r["chart_id"] is None for r in first)
    assert all(r["state"] == "sent" for r in first)
    assert db.scalar("SELECT COUNT(*) FROM deliveries") >= rows  # the rows stay


def test_the_ledger_migrates_in_place(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A ledger written by the release before (tests/data/legacy-v2.db, plus a digest
    whose parts hold its chart) moves to numbered digests and charts stored once."""
    import shutil
    import sqlite3

    path = tmp_path / "legacy.db"
    shutil.copy(Path(__file__).parent / "data" / "legacy-v2.db", path)
    before = sqlite3.connect(path)  # add a digest that stored its chart in two parts
    chat, end = before.execute("SELECT chat_id, period_end FROM digests").fetchone()
    before.execute(
        "INSERT INTO digests (chat_id, period_start, period_end, planned_at) VALUES (?, ?, ?, ?)",
        (chat, end, end + 604800, end + 604800),
    )
    second = before.execute("SELECT MAX(id) FROM digests").fetchone()[0]
    png = b"\x89PNG-the-same-chart-twice"
    before.executemany(
        "INSERT INTO deliveries (digest_id, chat_id, part, kind, body, photo)"
        " VALUES (?, ?, ?, 'photo', 'c', ?)",
        [(second, chat, 0, png), (second, chat, 1, png)],
    )
    before.commit()
    before.close()
    store = Storage.open(path)  # migrates: the main set, then the ledger's own
    db = store.db
    try:
        applied = db.query(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ? ORDER BY id",
            (LEDGER.name,),
        )
        assert [r["name"] for r in applied] == [
            "l001_digest_numbers_and_charts",
            "l002_claim_owner",
        ]
        assert db.scalar("SELECT COUNT(*) FROM deliveries WHERE photo IS NOT NULL") == 0
        assert [bytes(r["png"]) for r in db.query("SELECT png FROM charts")] == [png]
        photos = db.query("SELECT chart_id FROM deliveries WHERE kind = 'photo'")
        assert len(photos) == 2 and len({r["chart_id"] for r in photos}) == 1
        assert photos[0]["chart_id"] is not None
        rows = db.query("SELECT number, watermark FROM digests ORDER BY id")
        assert [r["number"] for r in rows] == [1, 2]
        # The stories were first seen after the first digest's period ended (the settle of
        # the release before): they belong to the next digest, not the first.
        newest = db.scalar("SELECT MAX(id) FROM stories")
        assert [r["watermark"] for r in rows] == [0, newest]
    finally:
        store.close()
    again = Storage.open(path)  # opening it again applies nothing more
    assert again.db.scalar("SELECT COUNT(*) FROM charts") == 1
    again.close()


def test_a_chat_another_planner_records_meanwhile_is_not_planned_again(world) -> None:  # type: ignore[no-untyped-def]
    from app.core import Core
    from app.planning import PLAIN, Planner

    core, clock, _, _ = world
    chat = subscribe(core, "930", Subscription(city="湘潭"))
    clock.now = chat.next_due_at
    other = Core(core.settings, clock=clock)  # a second process, its clock 5 s ahead
    try:
        read_watermark = other.storage.deliveries.story_watermark

        def racing() -> int:  # the first process records the chat's digest in between
            Planner(core, {"telegram": PLAIN}).plan_due(int(clock.now))
            return read_watermark()

        other.storage.deliveries.story_watermark = racing  # type: ignore[method-assign]
        Planner(other, {"telegram": PLAIN}).plan_due(int(clock.now) + 5)
    finally:
        other.close()
    numbers = core.storage.db.query("SELECT number FROM digests WHERE chat_id = ?", (chat.id,))
    assert [r["number"] for r in numbers] == [1]
