"""What only one backend has: SQLite's file, pragmas and integrity check; PostgreSQL's server,
schemas and reconnection; choosing a backend by URL."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hftcore.errors import InvalidValue, StoreError
from hftcore.store import (
    DEFAULT_SQLITE_FILENAME,
    PostgresEventStore,
    SqliteEventStore,
    open_event_store,
)
from store_backends import POSTGRES_DSN, StoreLocation, fill, store_location, submit

# -- SQLite ----------------------------------------------------------------------------------


def test_sqlite_store_is_a_wal_file_synced_on_every_commit(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / DEFAULT_SQLITE_FILENAME
    with SqliteEventStore(path) as store:
        store.append(submit("C1"))
        synchronous = store._conn.execute("PRAGMA synchronous").fetchone()[0]
        assert synchronous == 2  # FULL
        reader = sqlite3.connect(path)
        try:
            assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            # Committed before append returned: another connection sees it at once.
            assert reader.execute("SELECT kind FROM events").fetchall() == [("SubmitOrder",)]
        finally:
            reader.close()
        store.check_integrity()


def test_sqlite_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    path.write_bytes(b"this is not a database file, just text " * 200)
    with pytest.raises(StoreError) as error:
        SqliteEventStore(path)
    assert error.value.code == "CORRUPT_STORE"
    assert str(path) in error.value.message
    # The failed open released its lock: a good file at another path opens normally, and the
    # bad file is untouched.
    assert path.read_bytes().startswith(b"this is not a database")
    SqliteEventStore(tmp_path / "good.sqlite").close()


def test_sqlite_damaged_page_fails_the_integrity_check(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    with SqliteEventStore(path) as store:
        store.append_many([fill("C1", f"T{i}", 1) for i in range(400)])
    raw = bytearray(path.read_bytes())
    page_size = int.from_bytes(raw[16:18], "big")
    raw[3 * page_size : 3 * page_size + 64] = b"\xff" * 64  # an index/table page's header
    path.write_bytes(bytes(raw))
    with SqliteEventStore(path) as damaged, pytest.raises(StoreError) as error:
        damaged.check_integrity()
    assert error.value.code == "CORRUPT_STORE"
    assert "malformed" in error.value.message


@pytest.mark.parametrize("path", ["", 5, None])
def test_sqlite_invalid_path_is_refused(path: object) -> None:
    with pytest.raises(InvalidValue) as error:
        SqliteEventStore(path)  # type: ignore[arg-type]
    assert error.value.code == "INVALID_PATH"


def test_sqlite_directory_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidValue, match="INVALID_PATH"):
        SqliteEventStore(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_sqlite_lock_is_per_file(tmp_path: Path) -> None:
    with SqliteEventStore(tmp_path / "a.sqlite"), SqliteEventStore(tmp_path / "b.sqlite") as b:
        assert b.append(submit("C1")).seq == 1


# -- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture
def pg_location(tmp_path: Path) -> Iterator[StoreLocation]:
    with store_location("postgres", tmp_path) as location:
        yield location


def test_postgres_tables_live_in_their_schema(pg_location: StoreLocation) -> None:
    store = pg_location.open()
    store.append(submit("C1"))
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "ORDER BY table_name",
            (pg_location.schema,),
        ).fetchall()
        assert tables == [("events",), ("meta",)]
        assert conn.execute(
            f'SELECT kind, client_order_id FROM "{pg_location.schema}".events'.encode()
        ).fetchall() == [("SubmitOrder", "C1")]


def test_postgres_session_commits_synchronously(pg_location: StoreLocation) -> None:
    store = pg_location.open()
    assert isinstance(store, PostgresEventStore)
    setting = store._conn.execute("SHOW synchronous_commit").fetchone()
    assert setting == ("on",)


def test_postgres_two_schemas_are_two_stores(tmp_path: Path) -> None:
    with store_location("postgres", tmp_path) as a, store_location("postgres", tmp_path) as b:
        store_a, store_b = a.open(), b.open()
        store_a.append(submit("C1"))
        assert store_b.last_seq() == 0
        assert store_b.append(submit("C1", quantity=5)).duplicate is False


def test_postgres_reconnects_after_the_server_drops_the_session(
    pg_location: StoreLocation,
) -> None:
    store = pg_location.open()
    assert isinstance(store, PostgresEventStore)
    store.append(submit("C1"))
    old_pid = store.backend_pid
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (old_pid,))
    result = store.append(fill("C1", "T1", 3))
    assert result.duplicate is False
    assert store.backend_pid != old_pid
    assert [type(s.event).__name__ for s in store.events()] == ["SubmitOrder", "OrderFilled"]
    # The writer lock came back with the new session.
    with pytest.raises(StoreError, match="STORE_LOCKED"):
        pg_location.open()
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (store.backend_pid,))
    assert [s.event.client_order_id for s in store.events()] == ["C1", "C1"]


def test_postgres_unreachable_server_is_a_store_error() -> None:
    with pytest.raises(StoreError) as error:
        PostgresEventStore("postgresql://postgres@127.0.0.1:1/test", connect_timeout=2)
    assert error.value.code == "STORE_UNAVAILABLE"
    assert "hftcore" in error.value.message


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"dsn": ""}, "INVALID_DSN"),
        ({"dsn": POSTGRES_DSN, "schema": "Bad-Name"}, "INVALID_SCHEMA"),
        ({"dsn": POSTGRES_DSN, "schema": 'x"; DROP TABLE y; --'}, "INVALID_SCHEMA"),
        ({"dsn": POSTGRES_DSN, "schema": ""}, "INVALID_SCHEMA"),
        ({"dsn": POSTGRES_DSN, "connect_timeout": 0}, "INVALID_TIMEOUT"),
        ({"dsn": POSTGRES_DSN, "connect_timeout": 1.5}, "INVALID_TIMEOUT"),
    ],
)
def test_postgres_invalid_arguments_are_refused(kwargs: dict[str, object], code: str) -> None:
    with pytest.raises(InvalidValue) as error:
        PostgresEventStore(**kwargs)  # type: ignore[arg-type]
    assert error.value.code == code


# -- choosing by URL -------------------------------------------------------------------------


def test_open_event_store_picks_the_backend_from_the_url(tmp_path: Path) -> None:
    path = tmp_path / "data" / DEFAULT_SQLITE_FILENAME
    with open_event_store(f"sqlite:///{path}") as store:
        assert isinstance(store, SqliteEventStore)
        assert store.path == path
    schema = f"test_store_{uuid.uuid4().hex[:16]}"
    try:
        with open_event_store(POSTGRES_DSN, schema=schema) as store:
            assert isinstance(store, PostgresEventStore)
            assert store.schema == schema
            store.append(submit("C1"))
    finally:
        with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'.encode())


@pytest.mark.parametrize("url", ["", "sqlite:///", "sqlite://relative.db", "mysql://x", None])
def test_open_event_store_refuses_other_urls(url: object) -> None:
    with pytest.raises(InvalidValue) as error:
        open_event_store(url)  # type: ignore[arg-type]
    assert error.value.code == "INVALID_STORE_URL"
