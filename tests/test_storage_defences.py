"""A database file that is empty, foreign or damaged is reported, never silently replaced."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.core import Core
from bot import main
from domain.errors import CorruptDatabaseError, StorageError
from storage.db import Database


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize("command", [["health"], ["search", "融城干道"], ["ingest"]])
def test_an_empty_database_file_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    db = tmp_path / "czt.db"
    db.write_bytes(b"")
    code, out, err = run(capsys, "--db", str(db), *command)
    assert code == 2 and out == ""
    (line,) = error_lines(err)
    assert "is empty" in line and str(db) in line
    assert db.read_bytes() == b""  # nothing was created over it


def test_a_file_that_is_not_sqlite_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "notes.db"
    text = "30 chats and 90 subscriptions used to live here\n" * 50
    db.write_text(text, encoding="utf-8")
    code, _, err = run(capsys, "--db", str(db), "health")
    assert code == 2
    (line,) = error_lines(err)
    assert "not a SQLite database" in line
    assert db.read_text(encoding="utf-8") == text


def test_only_a_missing_file_is_created(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "new" / "czt.db"
    code, out, _ = run(capsys, "--db", str(db), "health")
    assert code == 0 and out.startswith("ok")
    assert db.read_bytes().startswith(b"SQLite format 3\x00")


def damage_interior_page(path: str, table: str = "articles") -> None:
    """Scribble over the cell pointers of ``table``'s root page, an interior b-tree page."""
    conn = sqlite3.connect(path)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(path, "r+b") as f:
        f.seek((root[0] - 1) * size)
        assert f.read(1) == b"\x05"  # an interior table page, not a leaf
        f.seek((root[0] - 1) * size + 12)
        f.write(bytes([0x0F, 0xF0]) * 20)


@pytest.fixture
def damaged(sample_copy: Core) -> str:
    path = sample_copy.storage.db.path
    sample_copy.storage.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    sample_copy.close()
    damage_interior_page(path)
    return path


def feeds_rows(path: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT * FROM feeds ORDER BY id").fetchall()
    finally:
        conn.close()


def test_health_reports_interior_corruption_as_an_integrity_failure(
    damaged: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "--db", damaged, "health")
    assert code == 1
    (line,) = error_lines(err)
    assert "integrity check failed" in line and "unexpected" not in err


def test_ingest_stops_at_corruption_and_reports_it_once(
    damaged: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = feeds_rows(damaged)
    code, out, err = run(capsys, "--db", damaged, "ingest", "--quiet")
    assert code == 2
    (line,) = error_lines(err)
    assert "damaged" in line and "writes stopped" in line
    assert "damaged" not in out  # not once per feed
    assert err.count("storage.corrupt") == 1
    assert feeds_rows(damaged) == before  # no failure was recorded into the damaged file


def test_corruption_found_by_a_reader_stops_that_connections_writers(damaged: str) -> None:
    db = Database(damaged)
    try:
        assert not db.integrity_ok()
        assert db.corrupt
        with pytest.raises(CorruptDatabaseError), db.transaction():
            db.execute("INSERT INTO events (at, kind) VALUES (1, 'after-corruption')")
        assert isinstance(CorruptDatabaseError("x"), StorageError)  # callers' handlers hold
        other = Database(damaged)  # another connection of this process (a worker's fork)
        try:
            with pytest.raises(CorruptDatabaseError), other.transaction():
                pass
        finally:
            other.close()
    finally:
        db.close()
