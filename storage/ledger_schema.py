"""The delivery ledger's own schema steps, a sqlite-utils migration set beside the main one.

``Deliveries`` applies them when storage opens (reading first: an up-to-date database takes
no write lock). Append only: never edit or reorder a step that has shipped.
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils import Migrations

LEDGER = Migrations("czt-ledger")


@LEDGER(name="l001_digest_numbers_and_charts")
def _digest_numbers_and_charts(db: sqlite_utils.Database) -> None:
    """Digests keyed by (chat, number) with a story watermark; charts stored once (what
    they show as JSON when planned, the PNG once drawn) and referenced by the parts.

    An existing ledger moves in place: each distinct stored photo becomes one chart, each
    chat's digests are numbered in order, and each digest's watermark is the last story
    first seen before its period ended.
    """
    for statement in (
        """CREATE TABLE charts (
            id INTEGER PRIMARY KEY,
            sha256 TEXT UNIQUE,
            spec TEXT,
            png BLOB,
            created_at INTEGER NOT NULL DEFAULT 0
        )""",
        "ALTER TABLE deliveries ADD COLUMN chart_id INTEGER REFERENCES charts(id)",
        "INSERT INTO charts (png) SELECT DISTINCT photo FROM deliveries WHERE photo IS NOT NULL",
        "UPDATE deliveries SET photo = NULL, chart_id ="
        " (SELECT c.id FROM charts c WHERE c.png = deliveries.photo) WHERE photo IS NOT NULL",
        "ALTER TABLE digests ADD COLUMN number INTEGER",
        "ALTER TABLE digests ADD COLUMN watermark INTEGER NOT NULL DEFAULT 0",
        "UPDATE digests SET number = (SELECT COUNT(*) FROM digests d"
        " WHERE d.chat_id = digests.chat_id AND d.id <= digests.id)",
        "UPDATE digests SET watermark = (SELECT COALESCE(MAX(s.id), 0) FROM stories s"
        " WHERE s.first_seen < digests.period_end)",
        "CREATE UNIQUE INDEX digests_chat_number ON digests(chat_id, number)",
        "CREATE INDEX deliveries_chart ON deliveries(chart_id)",
    ):
        db.execute(statement)


@LEDGER(name="l002_claim_owner")
def _claim_owner(db: sqlite_utils.Database) -> None:
    """Who claimed a part in ``sending`` and when: recovery returns to the queue only the
    claims of a process that is gone, never those of a run still sending them."""
    db.execute("ALTER TABLE deliveries ADD COLUMN claimed_by TEXT")
    db.execute("ALTER TABLE deliveries ADD COLUMN claimed_at INTEGER")
