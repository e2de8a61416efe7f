"""The production event store: PostgreSQL through psycopg 3 (``pip install hftcore[postgres]``).

Same rows, keys and behaviour as the SQLite store (the shared logic lives in
:class:`~hftcore.store.base.EventStore`); tables ``events`` and ``meta`` live in their own schema
(``hftcore`` by default), so several nodes can share one database with one schema each. Each
session sets ``synchronous_commit = on``, so a returned append is durable on the server.

One writer per schema: opening takes a session advisory lock, released when the connection
closes (including when the process dies). When the connection breaks, the next call reconnects
once, re-takes the lock and retries: a write is retried as a whole, and the idempotent keys make
a retry whose first attempt did commit land once (reported as this call's write, see
``EventStore._append_rows``).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final, TypeVar

import psycopg

from hftcore.errors import InvalidValue, StoreError
from hftcore.store.base import (
    Appended,
    EventFilter,
    EventRow,
    EventStore,
    select_events_sql,
)

DEFAULT_POSTGRES_SCHEMA: Final = "hftcore"
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_T = TypeVar("_T")


class PostgresEventStore(EventStore):
    """The event store in schema ``schema`` of the PostgreSQL database at ``dsn`` (a libpq
    connection string or URL, e.g. ``"postgresql://postgres@127.0.0.1:5432/test"``); the schema
    and its tables are created if missing. Raises ``StoreError`` ``STORE_UNAVAILABLE`` when the
    server cannot be reached, ``STORE_LOCKED`` when another store writes the schema,
    ``SCHEMA_MISMATCH`` when an incompatible version wrote it."""

    def __init__(
        self, dsn: str, *, schema: str = DEFAULT_POSTGRES_SCHEMA, connect_timeout: int = 10
    ) -> None:
        super().__init__()
        if not isinstance(dsn, str) or not dsn:
            raise InvalidValue("INVALID_DSN", f"dsn must be a non-empty string, got {dsn!r}")
        if not isinstance(schema, str) or not _SCHEMA_NAME.fullmatch(schema):
            raise InvalidValue(
                "INVALID_SCHEMA", f"schema must match [a-z_][a-z0-9_]{{0,62}}, got {schema!r}"
            )
        if isinstance(connect_timeout, bool) or not isinstance(connect_timeout, int):
            raise InvalidValue("INVALID_TIMEOUT", "connect_timeout must be whole seconds (int)")
        if connect_timeout <= 0:
            raise InvalidValue("INVALID_TIMEOUT", "connect_timeout must be > 0 seconds")
        self.schema = schema
        self._lock_key = f"hftcore.store:{schema}"
        self._dsn = dsn
        self._connect_timeout = connect_timeout
        self._events_table = f'"{schema}".events'
        self._meta_table = f'"{schema}".meta'
        self._conn = self._connect()
        try:
            self._check_schema_version()
            self._high_water = self._last_seq()
        except BaseException:
            self._close()
            raise

    @property
    def backend_pid(self) -> int:
        """The server process serving this store's connection (for operators and tests)."""
        self._check_open()
        return self._conn.info.backend_pid

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        try:
            conn = psycopg.connect(
                self._dsn, autocommit=True, connect_timeout=self._connect_timeout
            )
        except psycopg.Error as exc:
            raise StoreError(
                "STORE_UNAVAILABLE", f"cannot connect to PostgreSQL for schema {self.schema}: {exc}"
            ) from exc
        try:
            conn.execute("SET synchronous_commit = on")
            locked = conn.execute(
                "SELECT pg_try_advisory_lock(hashtext(%s))", (self._lock_key,)
            ).fetchone()
            if locked is None or locked[0] is not True:
                raise StoreError(
                    "STORE_LOCKED", f"schema {self.schema} is open for writing by another store"
                )
            with conn.transaction():
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                conn.execute(
                    f"""CREATE TABLE IF NOT EXISTS {self._events_table} (
                        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                        ts_init BIGINT NOT NULL,
                        kind TEXT NOT NULL,
                        strategy_id TEXT NOT NULL,
                        instrument_id TEXT NOT NULL,
                        client_order_id TEXT,
                        dedup_key TEXT NOT NULL,
                        payload BYTEA NOT NULL
                    )"""
                )
                conn.execute(
                    f"CREATE UNIQUE INDEX IF NOT EXISTS events_dedup "
                    f"ON {self._events_table} (dedup_key)"
                )
                conn.execute(
                    f"CREATE INDEX IF NOT EXISTS events_by_order "
                    f"ON {self._events_table} (client_order_id, seq)"
                )
                conn.execute(
                    f"CREATE INDEX IF NOT EXISTS events_by_strategy "
                    f"ON {self._events_table} (strategy_id, seq)"
                )
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {self._meta_table} "
                    "(key TEXT PRIMARY KEY, value BYTEA NOT NULL)"
                )
        except BaseException as exc:
            conn.close()
            if isinstance(exc, psycopg.Error):
                raise StoreError(
                    "STORE_UNAVAILABLE", f"cannot prepare schema {self.schema}: {exc}"
                ) from exc
            raise
        return conn

    def _with_reconnect(self, operation: Callable[[], _T]) -> _T:
        try:
            return operation()
        except psycopg.Error as exc:
            if not (self._conn.broken or self._conn.closed):
                raise StoreError("STORE_IO_ERROR", f"schema {self.schema}: {exc}") from exc
        self._conn.close()
        self._conn = self._connect()
        try:
            return operation()
        except psycopg.Error as exc:
            raise StoreError(
                "STORE_UNAVAILABLE", f"schema {self.schema} after reconnecting: {exc}"
            ) from exc

    def _write(self, rows: list[EventRow], meta_rows: list[tuple[str, bytes]]) -> list[Appended]:
        return self._with_reconnect(lambda: super(PostgresEventStore, self)._write(rows, meta_rows))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._conn.transaction():
            yield

    def _insert_many(self, rows: list[EventRow]) -> list[int | None]:
        # One pipelined round trip for the batch instead of one per row.
        with self._conn.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {self._events_table} (ts_init, kind, strategy_id, instrument_id, "
                "client_order_id, dedup_key, payload) VALUES (%s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (dedup_key) DO NOTHING RETURNING seq",
                [row[:7] for row in rows],
                returning=True,
            )
            seqs: list[int | None] = []
            for _ in cursor.results():
                found = cursor.fetchone()
                seqs.append(None if found is None else _as_int(found[0]))
        return seqs

    def _find(self, dedup_key: str) -> tuple[int, str, bytes]:
        found = self._conn.execute(
            f"SELECT seq, kind, payload FROM {self._events_table} WHERE dedup_key = %s",
            (dedup_key,),
        ).fetchone()
        if found is None:
            raise StoreError("STORE_IO_ERROR", f"{dedup_key} conflicted but is not stored")
        return _typed_row(found)

    def _fetch(
        self, after_seq: int, where: EventFilter, limit: int
    ) -> list[tuple[int, str, bytes]]:
        sql, params = select_events_sql(self._events_table, "%s", after_seq, where, limit)
        rows = self._with_reconnect(lambda: self._conn.execute(sql, params).fetchall())
        return [_typed_row(row) for row in rows]

    def _last_seq(self) -> int:
        found = self._with_reconnect(
            lambda: self._conn.execute(f"SELECT MAX(seq) FROM {self._events_table}").fetchone()
        )
        return 0 if found is None or found[0] is None else _as_int(found[0])

    def _put_meta(self, key: str, value: bytes) -> None:
        self._conn.execute(
            f"INSERT INTO {self._meta_table} (key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def _get_meta(self, key: str) -> bytes | None:
        found = self._with_reconnect(
            lambda: self._conn.execute(
                f"SELECT value FROM {self._meta_table} WHERE key = %s", (key,)
            ).fetchone()
        )
        return None if found is None else _as_bytes(found[0])

    def _close(self) -> None:
        self._closed = True
        # The server drops a session's advisory lock only once it has seen the disconnect,
        # after close() returns: unlock first, so the next writer never finds it still taken.
        with contextlib.suppress(psycopg.Error):
            self._conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (self._lock_key,))
        self._conn.close()


def _as_bytes(value: object) -> bytes:
    if not isinstance(value, bytes | memoryview):
        raise StoreError("STORE_IO_ERROR", f"expected a BYTEA value, got {type(value).__name__}")
    return bytes(value)


def _as_int(value: object) -> int:
    if not isinstance(value, int):
        raise StoreError("STORE_IO_ERROR", f"expected a BIGINT value, got {type(value).__name__}")
    return value


def _typed_row(row: tuple[object, ...]) -> tuple[int, str, bytes]:
    seq, kind, payload = row
    return _as_int(seq), str(kind), _as_bytes(payload)
