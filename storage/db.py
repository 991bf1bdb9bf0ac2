"""Opening the database: per-thread connections, pragmas, transactions and migrations.

The storage package is the only place that imports sqlite. Raw sqlite errors become
``StorageError``; callers never see ``sqlite3`` exceptions.

Connections: ``Database`` opens one connection per thread on first use, so a worker thread
(an ingest job, a chat command run off the event loop) never joins another thread's open
transaction, and no caller has to fork anything. Schema: sqlite-utils 4 ``Migrations``, one
named function a step; databases made before named migrations (``PRAGMA user_version``)
are adopted in place.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils import Migrations
from sqlite_utils.db import NotFoundError

from domain.errors import CorruptDatabaseError, StorageError
from storage.migrations import MIGRATIONS, adopt_legacy

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"
_CORRUPT_CODES = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
# Files found damaged in this process: every connection to them stops writing until the
# process restarts, and the damage is logged once.
_damaged: set[str] = set()


class Database:
    """A sqlite-utils database: WAL, a busy timeout, one connection per thread.

    ``":memory:"`` is a single connection, for one thread only (a second thread's
    connection would see another, empty database).
    """

    def __init__(self, path: str | Path, *, migrations: Migrations = MIGRATIONS) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        check_file(self.path)
        if self.path != ":memory:":
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StorageError(f"cannot open database {self.path}: {e}") from e
        self.migrate(migrations)

    def _connect(self) -> sqlite_utils.Database:
        try:
            # check_same_thread=False only so close() may close every thread's connection:
            # each connection is still used by the thread that opened it alone.
            conn = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            db = sqlite_utils.Database(conn)
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA foreign_keys = ON")
            if self.path != ":memory:":
                db.enable_wal()
                conn.execute("PRAGMA synchronous = NORMAL")
        except (sqlite3.Error, OSError) as e:
            raise StorageError(f"cannot open database {self.path}: {e}") from e
        with self._guard:
            self._opened.append(conn)
        return db

    @property
    def db(self) -> sqlite_utils.Database:
        """This thread's sqlite-utils database (opened on first use)."""
        db = getattr(self._local, "db", None)
        if db is None:
            if self.path == ":memory:" and self._opened:
                raise StorageError("an in-memory database serves one thread only")
            db = self._local.db = self._connect()
        return db

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    def release(self) -> None:
        """Close the calling thread's connection (a worker thread about to end); the
        thread opens a new one if it uses the database again."""
        db = getattr(self._local, "db", None)
        if db is None:
            return
        self._local.db = None
        with self._guard:
            if db.conn in self._opened:
                self._opened.remove(db.conn)
        with contextlib.suppress(sqlite3.Error):
            db.conn.close()

    def close(self) -> None:
        """Close every thread's connection."""
        with self._guard:
            opened, self._opened = self._opened, []
        for conn in opened:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """A write transaction on this thread's connection; nested calls are savepoints.

        The outermost level is ``BEGIN IMMEDIATE``: a writer waits for the write lock up
        front (busy timeout) instead of failing when a read transaction would have to be
        upgraded. Inside it, sqlite-utils' ``atomic()`` nests with savepoints, so a nested
        block that fails rolls back alone. sqlite errors raised inside become
        ``StorageError``. Refused with ``CorruptDatabaseError`` once the file was found
        damaged.
        """
        if self.corrupt:
            raise self._corrupt_error()
        db = self.db
        try:
            if db.conn.in_transaction:
                with db.atomic():
                    yield db
                return
            try:
                db.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                raise self.error(e, "cannot start a transaction: ") from e
            try:
                yield db
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.conn.execute("ROLLBACK")
                raise
            try:
                db.conn.execute("COMMIT")
            except sqlite3.Error as e:
                with contextlib.suppress(sqlite3.Error):
                    db.conn.execute("ROLLBACK")
                raise self.error(e, "commit failed: ") from e
        except sqlite3.Error as e:
            raise self.error(e) from e

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads that see one committed state of the file (a deferred read transaction:
        in WAL mode nothing another connection commits meanwhile shows). Inside a
        transaction already, that one is the snapshot."""
        conn = self.db.conn
        if conn.in_transaction:
            yield
            return
        try:
            conn.execute("BEGIN")
        except sqlite3.Error as e:
            raise self.error(e) from e
        try:
            yield
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("COMMIT")

    def table(self, name: str) -> sqlite_utils.db.Table:
        """This thread's sqlite-utils table ``name`` (write inside ``transaction()``)."""
        return self.db.table(name)

    def update(self, table: str, pk: int, values: Mapping[str, Any]) -> None:
        """Set ``values`` on row ``pk`` of ``table`` (sqlite-utils' table API); a row that
        no longer exists is left alone."""
        if not values:
            return
        try:
            self.db.table(table).update(pk, dict(values))
        except NotFoundError:
            return
        except sqlite3.Error as e:
            raise self.error(e) from e

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        try:
            return self.conn.execute(sql, params)
        except sqlite3.Error as e:
            raise self.error(e) from e

    def executemany(self, sql: str, rows: Any) -> None:
        try:
            self.conn.executemany(sql, rows)
        except sqlite3.Error as e:
            raise self.error(e) from e

    def query(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        """All rows of a read query as dicts."""
        try:
            return list(self.db.query(sql, params))
        except sqlite3.Error as e:
            raise self.error(e) from e

    def scalar(self, sql: str, params: Any = ()) -> Any:
        cursor = self.execute(sql, params)
        try:
            row = cursor.fetchone()
        except sqlite3.Error as e:
            raise self.error(e) from e
        return row[0] if row else None

    def error(self, e: sqlite3.Error, context: str = "") -> StorageError:
        """Our error for a raw sqlite one; a damaged file stops the process's writes to it."""
        code = getattr(e, "sqlite_errorcode", 0) & 0xFF
        if code not in _CORRUPT_CODES and "malformed" not in str(e):
            return StorageError(f"{context}{e.__class__.__name__}: {e}")
        self.mark_corrupt(str(e))
        return self._corrupt_error()

    @property
    def corrupt(self) -> bool:
        """True once SQLite reported this file damaged, on any connection of this process."""
        return self.path != ":memory:" and self.path in _damaged

    def mark_corrupt(self, detail: str) -> None:
        """Stop writing to this file and log it once per process."""
        if self.path not in _damaged:
            _damaged.add(self.path)
            log.error("storage.corrupt path=%s detail=%s writes=stopped", self.path, detail)

    def _corrupt_error(self) -> CorruptDatabaseError:
        return CorruptDatabaseError(
            f"database {self.path} is damaged: writes stopped; restore it from a backup"
            " (`bot.py health` runs the integrity check)"
        )

    def applied_migrations(self) -> list[str]:
        try:
            return [m.name for m in MIGRATIONS.applied(self.db)]
        except sqlite3.Error as e:
            raise self.error(e) from e

    def migrate(self, migrations: Migrations = MIGRATIONS) -> None:
        """Apply pending migrations. Reads first: an up-to-date database takes no write lock,
        so opening it never waits behind another process's long write."""
        if not self._pending(migrations):
            return
        with self.transaction() as db:
            adopt_legacy(db, migrations)
            migrations.apply(db)

    def _pending(self, migrations: Migrations) -> bool:
        try:
            return bool(migrations.pending(self.db))
        except sqlite3.Error as e:
            raise StorageError(f"cannot open database {self.path}: {e}") from e

    def integrity_ok(self) -> bool:
        """SQLite's integrity check; a failure (or a file too damaged to check) stops writes."""
        try:
            result = self.scalar("PRAGMA integrity_check")
        except CorruptDatabaseError:
            return False
        if result != "ok":
            self.mark_corrupt(str(result))
            return False
        return True


def check_file(path: str) -> None:
    """Refuse an existing file that is empty or not SQLite: only a missing file is created."""
    file = Path(path)
    if path == ":memory:" or path.startswith("file:") or not file.exists():
        return
    try:
        with file.open("rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except IsADirectoryError:
        raise StorageError(f"database path {path} is a directory") from None
    except OSError as e:
        raise StorageError(f"cannot read database {path}: {e.strerror}") from None
    if not head:
        raise StorageError(
            f"database file {path} is empty (0 bytes): refusing to start a new database over"
            " it; restore it from a backup, or delete it to start afresh"
        )
    if head != SQLITE_HEADER:
        raise StorageError(f"{path} is not a SQLite database")
