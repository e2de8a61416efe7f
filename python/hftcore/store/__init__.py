"""The event store: a durable, append-only, idempotent log of every order command and order
event, from which a restarted node rebuilds its orders, positions and balances
(:func:`rebuild`) and reconciles them with the venue (:func:`reconcile`).

SQLite by default (:class:`SqliteEventStore`, a file under the node's data directory);
PostgreSQL in production (:class:`PostgresEventStore`, the ``postgres`` extra); same behaviour,
chosen by configuration through :func:`open_event_store`. See docs/event-store.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hftcore.errors import InvalidValue
from hftcore.store.base import (
    STORABLE_TYPES,
    Appended,
    EventStore,
    MetaValue,
    StorableEvent,
    StoredEvent,
)
from hftcore.store.recovery import (
    OrderMismatch,
    PositionMismatch,
    ReconciliationReport,
    RecoveredOrder,
    RecoveredState,
    RefusedEvent,
    VenueOpenOrder,
    rebuild,
    reconcile,
)
from hftcore.store.sqlite import DEFAULT_SQLITE_FILENAME, SqliteEventStore

if TYPE_CHECKING:
    from hftcore.store.postgres import PostgresEventStore

_SQLITE_PREFIX = "sqlite:///"
_POSTGRES_PREFIXES = ("postgresql://", "postgres://")


def open_event_store(url: str, *, schema: str = "hftcore") -> EventStore:
    """Opens the store a configuration names: ``sqlite:///path/to/events.sqlite`` (the path
    after the three slashes, relative or absolute: ``sqlite:////var/hft/events.sqlite``) or a
    ``postgresql://`` URL (tables in ``schema``). Anything else raises ``InvalidValue``
    ``INVALID_STORE_URL``."""
    if isinstance(url, str) and url.startswith(_SQLITE_PREFIX) and len(url) > len(_SQLITE_PREFIX):
        return SqliteEventStore(url[len(_SQLITE_PREFIX) :])
    if isinstance(url, str) and url.startswith(_POSTGRES_PREFIXES):
        from hftcore.store.postgres import PostgresEventStore

        return PostgresEventStore(url, schema=schema)
    raise InvalidValue(
        "INVALID_STORE_URL",
        f"an event store URL is sqlite:///<path> or postgresql://..., got {url!r}",
    )


def __getattr__(name: str) -> Any:
    # PostgresEventStore needs psycopg (the `postgres` extra): imported on first use only.
    if name == "PostgresEventStore":
        from hftcore.store.postgres import PostgresEventStore

        return PostgresEventStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_SQLITE_FILENAME",
    "STORABLE_TYPES",
    "Appended",
    "EventStore",
    "MetaValue",
    "OrderMismatch",
    "PositionMismatch",
    "PostgresEventStore",
    "ReconciliationReport",
    "RecoveredOrder",
    "RecoveredState",
    "RefusedEvent",
    "SqliteEventStore",
    "StorableEvent",
    "StoredEvent",
    "VenueOpenOrder",
    "open_event_store",
    "rebuild",
    "reconcile",
]
