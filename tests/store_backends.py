"""Both event store backends for parametrised tests, and small event builders.

The PostgreSQL backend uses the real server (``HFTCORE_TEST_POSTGRES_DSN``, default the local
one at 127.0.0.1:5432, database ``test``) with a fresh schema per test, dropped afterwards; when
the server is missing the tests fail, they are never skipped.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from hftcore.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderInitialized,
    OrderSpec,
    OrderSubmitted,
    SubmitOrder,
)
from hftcore.store import EventStore, PostgresEventStore, SqliteEventStore, StorableEvent

POSTGRES_DSN = os.environ.get(
    "HFTCORE_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgres")
INSTRUMENT = "TEST.SIM"


class StoreLocation:
    """Where one test's store lives; ``open()`` opens a new store object on it (to reopen after
    a close or to try a second writer), ``execute_sql`` writes behind the store's back."""

    def __init__(self, backend: str, tmp_path: Path) -> None:
        self.backend = backend
        self.sqlite_path = tmp_path / "data" / "events.sqlite"
        self.schema = f"test_store_{uuid.uuid4().hex[:16]}"
        self.opened: list[EventStore] = []

    @property
    def url(self) -> str:
        return f"sqlite:///{self.sqlite_path}" if self.backend == "sqlite" else POSTGRES_DSN

    def open(self) -> EventStore:
        store: EventStore
        if self.backend == "sqlite":
            store = SqliteEventStore(self.sqlite_path)
        else:
            store = PostgresEventStore(POSTGRES_DSN, schema=self.schema)
        self.opened.append(store)
        return store

    def execute_sql(self, statement: str, params: tuple[object, ...] = ()) -> None:
        """Runs one statement with ``{events}``/``{meta}`` table placeholders and ``?`` marks."""
        if self.backend == "sqlite":
            conn = sqlite3.connect(self.sqlite_path)
            try:
                conn.execute(statement.format(events="events", meta="meta"), params)
                conn.commit()
            finally:
                conn.close()
        else:
            sql = statement.replace("?", "%s").format(
                events=f'"{self.schema}".events', meta=f'"{self.schema}".meta'
            )
            with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
                conn.execute(sql.encode(), params)

    def cleanup(self) -> None:
        for store in self.opened:
            store.close()
        if self.backend == "postgres":
            with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'.encode())


@contextmanager
def store_location(backend: str, tmp_path: Path) -> Iterator[StoreLocation]:
    location = StoreLocation(backend, tmp_path)
    try:
        yield location
    finally:
        location.cleanup()


def spec(quantity: int = 10, price: int | None = 100, side: int = 0) -> OrderSpec:
    return OrderSpec(INSTRUMENT, side, 1, quantity, price=price)


def submit(cid: str, quantity: int = 10, ts: int = 1, strategy: str = "S1") -> SubmitOrder:
    return SubmitOrder(strategy, cid, spec(quantity), ts)


def initialized(
    cid: str, quantity: int = 10, ts: int = 1, strategy: str = "S1"
) -> OrderInitialized:
    return OrderInitialized(strategy, INSTRUMENT, cid, spec(quantity), ts, ts)


def submitted(cid: str, ts: int = 2, strategy: str = "S1") -> OrderSubmitted:
    return OrderSubmitted(strategy, INSTRUMENT, cid, ts, ts)


def accepted(cid: str, ts: int = 3, strategy: str = "S1") -> OrderAccepted:
    return OrderAccepted(strategy, INSTRUMENT, cid, f"V-{cid}", ts, ts)


def canceled(
    cid: str, ts: int = 9, strategy: str = "S1", reason: str = "REQUESTED"
) -> OrderCanceled:
    return OrderCanceled(strategy, INSTRUMENT, cid, reason, ts, ts)


def fill(
    cid: str,
    trade_id: str,
    quantity: int,
    *,
    side: int = 0,
    price: int = 100,
    ts: int = 5,
    ts_init: int | None = None,
    strategy: str = "S1",
    commission: int = 1_000,
    currency: str = "USD",
) -> OrderFilled:
    return OrderFilled(
        strategy,
        INSTRUMENT,
        cid,
        f"V-{cid}",
        trade_id,
        side,
        price,
        quantity,
        "TAKER",
        commission,
        currency,
        ts,
        ts if ts_init is None else ts_init,
    )


def lifecycle(cid: str, strategy: str = "S1") -> list[StorableEvent]:
    """A working order: submit, initialized, submitted, accepted."""
    return [
        submit(cid, strategy=strategy),
        initialized(cid, strategy=strategy),
        submitted(cid, strategy=strategy),
        accepted(cid, strategy=strategy),
    ]
