"""The embedded event store: one SQLite file (stdlib ``sqlite3``), the default.

Durability: WAL journal with ``synchronous=FULL``, so the WAL is fsynced at every commit and an
append that returned survives a process kill or a power cut. One writer: opening takes an
exclusive ``flock`` on ``<path>.lock``, released by ``close`` or by the process dying, so a
restarted node opens the store at once while a second live writer gets ``STORE_LOCKED``.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from hftcore.errors import InvalidValue, StoreError
from hftcore.store.base import EventFilter, EventRow, EventStore, select_events_sql

DEFAULT_SQLITE_FILENAME: Final = "events.sqlite"
"""The store's file name inside a node's data directory."""

_SQLITE_CORRUPT: Final = 11
_SQLITE_NOTADB: Final = 26
_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY,
        ts_init INTEGER NOT NULL,
        kind TEXT NOT NULL,
        strategy_id TEXT NOT NULL,
        instrument_id TEXT NOT NULL,
        client_order_id TEXT,
        dedup_key TEXT NOT NULL,
        payload BLOB NOT NULL
    )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS events_dedup ON events (dedup_key)",
    "CREATE INDEX IF NOT EXISTS events_by_order ON events (client_order_id, seq)",
    "CREATE INDEX IF NOT EXISTS events_by_strategy ON events (strategy_id, seq)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL)",
)
_INSERT: Final = (
    "INSERT INTO events (ts_init, kind, strategy_id, instrument_id, client_order_id, dedup_key, "
    "payload) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING RETURNING seq"
)


class SqliteEventStore(EventStore):
    """The event store in the SQLite file ``path`` (created with its parent directories if
    missing). Raises ``StoreError`` ``STORE_LOCKED`` when another store has it open,
    ``CORRUPT_STORE`` when the file is not a readable SQLite database, ``SCHEMA_MISMATCH`` when it
    was written by an incompatible version."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        if not isinstance(path, str | os.PathLike) or not os.fspath(path):
            raise InvalidValue("INVALID_PATH", f"the store path must be a file path, got {path!r}")
        self.path = Path(path)
        if self.path.is_dir():
            raise InvalidValue("INVALID_PATH", f"{self.path} is a directory, not a store file")
        self._lock_fd = self._lock(self.path)
        try:
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            os.close(self._lock_fd)
            raise StoreError("STORE_UNAVAILABLE", f"cannot open {self.path}: {exc}") from exc
        try:
            with self._errors():
                mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if mode != "wal":
                    raise StoreError("STORE_UNAVAILABLE", f"{self.path} cannot use WAL ({mode})")
                self._conn.execute("PRAGMA synchronous=FULL")
                with self._transaction():
                    for statement in _SCHEMA:
                        self._conn.execute(statement)
            self._check_schema_version()
            self._high_water = self._last_seq()
        except BaseException:
            self._close()
            raise

    @staticmethod
    def _lock(path: Path) -> int:
        path.parent.mkdir(parents=True, exist_ok=True)
        # A side file, because closing any descriptor of the database file itself would drop
        # SQLite's own POSIX locks held by this process.
        fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise StoreError(
                "STORE_LOCKED", f"{path} is open for writing by another store (process or object)"
            ) from exc
        return fd

    def check_integrity(self) -> None:
        """Runs SQLite's full ``integrity_check``; raises ``StoreError`` ``CORRUPT_STORE`` with
        SQLite's findings when the file is damaged."""
        with self._open(), self._errors():
            findings = [row[0] for row in self._conn.execute("PRAGMA integrity_check")]
        if findings != ["ok"]:
            raise StoreError("CORRUPT_STORE", f"{self.path}: {'; '.join(findings)}")

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            code = getattr(exc, "sqlite_errorcode", None)
            if code is not None and code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
                raise StoreError("CORRUPT_STORE", f"{self.path}: {exc}") from exc
            raise StoreError("STORE_IO_ERROR", f"{self.path}: {exc}") from exc

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._errors():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def _insert_many(self, rows: list[EventRow]) -> list[int | None]:
        seqs: list[int | None] = []
        for row in rows:
            found = self._conn.execute(_INSERT, row[:7]).fetchall()
            seqs.append(int(found[0][0]) if found else None)
        return seqs

    def _find(self, dedup_key: str) -> tuple[int, str, bytes]:
        seq, kind, payload = self._conn.execute(
            "SELECT seq, kind, payload FROM events WHERE dedup_key = ?", (dedup_key,)
        ).fetchone()
        return int(seq), str(kind), bytes(payload)

    def _fetch(
        self, after_seq: int, where: EventFilter, limit: int
    ) -> list[tuple[int, str, bytes]]:
        sql, params = select_events_sql("events", "?", after_seq, where, limit)
        with self._errors():
            rows = self._conn.execute(sql, params).fetchall()
        return [(int(seq), str(kind), bytes(payload)) for seq, kind, payload in rows]

    def _last_seq(self) -> int:
        with self._errors():
            found = self._conn.execute("SELECT MAX(seq) FROM events").fetchone()[0]
        return int(found or 0)

    def _put_meta(self, key: str, value: bytes) -> None:
        self._conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def _get_meta(self, key: str) -> bytes | None:
        with self._errors():
            found = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if found is None else bytes(found[0])

    def _close(self) -> None:
        self._closed = True
        try:
            self._conn.close()
        finally:
            os.close(self._lock_fd)
