"""The event store contract: an append-only, durable, idempotent log of commands and order events.

Every row holds one event: ``seq`` (the log position, strictly increasing), ``ts_init``,
``kind`` (the event's class name), ``strategy_id``, ``instrument_id``, ``client_order_id`` (NULL
for :class:`CancelAllOrders` and the risk controls' events), ``dedup_key`` and ``payload`` (the
event encoded by :data:`hftcore.model.events.ENCODER`, msgspec JSON with the class name as
tag).

Idempotency: a unique index on ``dedup_key`` makes a replayed event (a venue resending after a
reconnect, a retried append) land once. The key is

- ``[kind, client_order_id]`` for :class:`SubmitOrder` and :class:`OrderInitialized`: one per
  client order id, ever, so a restarted node cannot reuse an id nor send one twice;
- ``[kind, client_order_id, trade_id]`` for :class:`OrderFilled`: one per execution;
- ``[kind, client_order_id, digest]`` for every other event (``[kind, strategy_id,
  instrument_id, digest]`` for :class:`CancelAllOrders` and the risk events), where ``digest``
  hashes the event's identity: two cancels at different times are two rows, the same cancel
  seen twice is one.

An event's identity is its content apart from ``ts_init`` (the moment this node saw it, which
differs between a venue message and its replay); a command's identity is all of it (its
``ts_init`` is when the intent was made). Appending an event whose key is stored compares
identities: equal is a duplicate (``Appended.duplicate`` is True, nothing is written, the stored
seq is returned); different is a conflict and raises :class:`~hftcore.errors.StoreError`
(``DUPLICATE_CLIENT_ORDER_ID`` for a reused id, ``CONFLICTING_FILL`` for a trade id reported
twice with different content). Nothing is dropped silently.
"""

from __future__ import annotations

import abc
import hashlib
import math
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from types import TracebackType
from typing import Final, NamedTuple, TypeAlias, get_args

import msgspec

from hftcore.errors import InvalidValue, StoreError
from hftcore.model.events import (
    ENCODER,
    CancelAllOrders,
    Command,
    OrderEvent,
    OrderFilled,
    OrderInitialized,
    SubmitOrder,
)
from hftcore.model.risk_controls import RiskEvent

StorableEvent: TypeAlias = Command | OrderEvent | RiskEvent
"""What the store accepts: the order commands (the intent log), the order events and the
audited decisions of the live risk controls."""

STORABLE_TYPES: Final[Mapping[str, type[StorableEvent]]] = {
    cls.__name__: cls for cls in (*get_args(Command), *get_args(OrderEvent), *get_args(RiskEvent))
}
"""Every storable class by its ``kind`` name."""

MetaValue: TypeAlias = str | int | float | bool | list["MetaValue"] | dict[str, "MetaValue"] | None
"""A node fact kept beside the log (``put_meta``): any JSON value."""

SCHEMA_VERSION: Final = 1
RESERVED_META_PREFIX: Final = "store."
_SCHEMA_VERSION_KEY: Final = "store.schema_version"
_META_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,200}")
_DECODER: Final = msgspec.json.Decoder(StorableEvent)
_META_DECODER: Final = msgspec.json.Decoder()
_ONCE_PER_ORDER: Final = (SubmitOrder, OrderInitialized)
_PAGE_SIZE: Final = 1000
_MAX_TIMESTAMP: Final = 2**63 - 1


class Appended(NamedTuple):
    """The outcome of appending one event: its ``seq`` in the log, and whether the same event
    was already stored (``duplicate``: nothing written, ``seq`` is the stored row's)."""

    seq: int
    duplicate: bool


class StoredEvent(NamedTuple):
    """One row read back: the log position and the decoded event."""

    seq: int
    event: StorableEvent


class EventRow(NamedTuple):
    """An event encoded for a backend (validated, keyed); ``identity`` is its content apart from
    ``ts_init``, compared when the key is already stored."""

    ts_init: int
    kind: str
    strategy_id: str
    instrument_id: str
    client_order_id: str | None
    dedup_key: str
    payload: bytes
    identity: bytes


class EventFilter(NamedTuple):
    """Optional equality filters of :meth:`EventStore.events` (None: any)."""

    strategy_id: str | None
    instrument_id: str | None
    client_order_id: str | None
    kinds: tuple[str, ...] | None


def _require_id(value: object, field: str, kind: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidValue(
            "MISSING_ID", f"{kind}.{field} must be a non-empty string, got {value!r}"
        )
    return value


def _identity(event: StorableEvent) -> bytes:
    # A command's ts_init is when the intent was made, part of what it is; an event's ts_init is
    # only when this node saw it, which differs between a venue message and its replay.
    if isinstance(event, Command):
        return ENCODER.encode(event)
    return ENCODER.encode(msgspec.structs.replace(event, ts_init=0))


def encode_event(event: object) -> EventRow:
    """Validates ``event`` and encodes it into a row; raises ``InvalidValue`` with code
    ``UNKNOWN_EVENT_TYPE`` (not a command nor an order event), ``MISSING_ID`` (an empty
    strategy, instrument, client order or trade id) or ``INVALID_EVENT`` (a field of the wrong
    type: the store only keeps what it can read back)."""
    kind = type(event).__name__
    if not isinstance(event, StorableEvent) or STORABLE_TYPES.get(kind) is not type(event):
        raise InvalidValue(
            "UNKNOWN_EVENT_TYPE",
            f"the event store keeps commands and order events, not {type(event).__qualname__}",
        )
    try:
        payload = ENCODER.encode(event)
        if _DECODER.decode(payload) != event:
            raise msgspec.ValidationError("the event does not survive an encode/decode round trip")
    except (msgspec.EncodeError, msgspec.ValidationError, TypeError) as exc:
        raise InvalidValue("INVALID_EVENT", f"{kind} has a field of the wrong type: {exc}") from exc
    if not 0 <= event.ts_init <= _MAX_TIMESTAMP:
        raise InvalidValue(
            "INVALID_TIMESTAMP", f"{kind}.ts_init must be ns in [0, 2**63), got {event.ts_init!r}"
        )
    strategy_id = _require_id(event.strategy_id, "strategy_id", kind)
    if isinstance(event, SubmitOrder):
        instrument_id = _require_id(event.order.instrument_id, "order.instrument_id", kind)
    else:
        instrument_id = _require_id(event.instrument_id, "instrument_id", kind)
    identity = _identity(event)
    client_order_id: str | None
    if isinstance(event, CancelAllOrders | RiskEvent):
        client_order_id = None
        key: list[str] = [kind, strategy_id, instrument_id, _digest(identity)]
    else:
        client_order_id = _require_id(event.client_order_id, "client_order_id", kind)
        if isinstance(event, _ONCE_PER_ORDER):
            key = [kind, client_order_id]
        elif isinstance(event, OrderFilled):
            key = [kind, client_order_id, _require_id(event.trade_id, "trade_id", kind)]
        else:
            key = [kind, client_order_id, _digest(identity)]
    return EventRow(
        ts_init=event.ts_init,
        kind=kind,
        strategy_id=strategy_id,
        instrument_id=instrument_id,
        client_order_id=client_order_id,
        dedup_key=ENCODER.encode(key).decode(),
        payload=payload,
        identity=identity,
    )


def _digest(identity: bytes) -> str:
    return hashlib.blake2b(identity, digest_size=16).hexdigest()


def decode_row(seq: int, kind: str, payload: bytes) -> StoredEvent:
    """Decodes a stored row; a row this version cannot read raises ``StoreError`` naming its seq
    (``UNKNOWN_EVENT_TYPE`` for a kind it does not know, ``CORRUPT_EVENT`` otherwise)."""
    if kind not in STORABLE_TYPES:
        raise StoreError("UNKNOWN_EVENT_TYPE", f"event seq {seq} has unknown kind {kind!r}")
    try:
        event = _DECODER.decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise StoreError(
            "CORRUPT_EVENT", f"event seq {seq} ({kind}) cannot be decoded: {exc}"
        ) from exc
    if type(event).__name__ != kind:
        raise StoreError(
            "CORRUPT_EVENT",
            f"event seq {seq} is stored as {kind} but its payload is a {type(event).__name__}",
        )
    return StoredEvent(seq, event)


def _validate_meta_value(value: object, path: str) -> None:
    if value is None or isinstance(value, str | int | float | bool):
        if isinstance(value, float) and not math.isfinite(value):  # JSON has no NaN/inf
            raise InvalidValue("INVALID_META", f"meta value {path} is {value}")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _validate_meta_value(item, f"{path}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidValue(
                    "INVALID_META", f"meta value {path} has a non-string key {key!r}"
                )
            _validate_meta_value(item, f"{path}.{key}")
        return
    raise InvalidValue(
        "INVALID_META", f"meta value {path} must be a JSON value, got {type(value).__name__}"
    )


def _validate_meta_key(key: object, *, writing: bool) -> str:
    if not isinstance(key, str) or not _META_KEY.fullmatch(key):
        raise InvalidValue("INVALID_META", f"a meta key is 1-200 of [A-Za-z0-9_.:-], got {key!r}")
    if writing and key.startswith(RESERVED_META_PREFIX):
        raise InvalidValue(
            "INVALID_META", f"meta keys starting with {RESERVED_META_PREFIX!r} belong to the store"
        )
    return key


def _validate_optional_id(value: object, name: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise InvalidValue("INVALID_FILTER", f"{name} must be a non-empty string or None")
    return value


class EventStore(abc.ABC):
    """An append-only, durable event log with idempotent appends (see the module doc).

    An append returns only after its transaction is committed and durable: that return is the
    point where an event counts as acknowledged. One process writes a store at a time (the
    backends take an exclusive lock when opened; a second writer gets ``STORE_LOCKED``).
    Calls are serialised by a lock, so the store may be used from a worker thread (e.g. to keep
    the fsync off the event loop) as well as from the thread that opened it. Use as a context
    manager or call :meth:`close`; any call after ``close`` raises ``StoreError`` with code
    ``STORE_CLOSED``.
    """

    def __init__(self) -> None:
        self._closed = False
        self._high_water = 0
        self._guard = threading.RLock()

    # -- public API ---------------------------------------------------------------------------

    def append(self, event: StorableEvent) -> Appended:
        """Appends one event and commits; see :meth:`append_many`."""
        return self.append_many((event,))[0]

    def append_many(
        self, events: Iterable[StorableEvent], *, meta: Mapping[str, MetaValue] | None = None
    ) -> list[Appended]:
        """Appends ``events`` in order in ONE transaction, together with the optional ``meta``
        updates (e.g. the next client order id counter): all of them are durable when this
        returns, or none is. Every event is validated before anything is written; a conflict
        with a stored event raises ``StoreError`` and writes nothing."""
        self._check_open()
        rows = [encode_event(event) for event in events]
        meta_rows = self._encode_meta(meta or {})
        if not rows and not meta_rows:
            return []
        with self._open():
            return self._write(rows, meta_rows)

    def events(
        self,
        since_seq: int = 0,
        *,
        strategy_id: str | None = None,
        instrument_id: str | None = None,
        client_order_id: str | None = None,
        kinds: Iterable[type[StorableEvent]] | None = None,
    ) -> Iterator[StoredEvent]:
        """Events with ``seq > since_seq`` in log order, optionally only those of one strategy,
        instrument, client order id or of the given classes. Rows are read in pages, so a long
        log is never held in memory; events appended while iterating are included. A row that
        cannot be decoded raises ``StoreError`` naming its seq."""
        self._check_open()
        if isinstance(since_seq, bool) or not isinstance(since_seq, int) or since_seq < 0:
            raise InvalidValue(
                "INVALID_FILTER", f"since_seq must be an int >= 0, got {since_seq!r}"
            )
        kind_names: tuple[str, ...] | None = None
        if kinds is not None:
            kind_list = list(kinds)
            for cls in kind_list:
                if not isinstance(cls, type) or STORABLE_TYPES.get(cls.__name__) is not cls:
                    raise InvalidValue(
                        "UNKNOWN_EVENT_TYPE", f"kinds holds {cls!r}, not a storable event class"
                    )
            kind_names = tuple(cls.__name__ for cls in kind_list)
        where = EventFilter(
            _validate_optional_id(strategy_id, "strategy_id"),
            _validate_optional_id(instrument_id, "instrument_id"),
            _validate_optional_id(client_order_id, "client_order_id"),
            kind_names,
        )
        return self._iterate(since_seq, where)

    def last_seq(self) -> int:
        """The seq of the last stored event (0 for an empty store)."""
        with self._open():
            return self._last_seq()

    def put_meta(self, key: str, value: MetaValue) -> None:
        """Stores (durably, before returning) a node fact beside the log, e.g. the session id.
        Keys are 1-200 of ``[A-Za-z0-9_.:-]`` not starting with ``store.``; values any JSON."""
        meta_rows = self._encode_meta({key: value})
        with self._open():
            self._write([], meta_rows)

    def get_meta(self, key: str, default: MetaValue = None) -> MetaValue:
        """The value stored under ``key``, or ``default``."""
        _validate_meta_key(key, writing=False)
        with self._open():
            raw = self._get_meta(key)
        if raw is None:
            return default
        return self._decode_meta(key, raw)

    def close(self) -> None:
        """Closes the connection and releases the writer lock; closing twice is harmless."""
        with self._guard:
            if not self._closed:
                self._closed = True
                self._close()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> EventStore:
        self._check_open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- shared machinery ---------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("STORE_CLOSED", f"{type(self).__name__} is closed")

    @contextmanager
    def _open(self) -> Iterator[None]:
        """Holds the lock for one backend operation on an open store."""
        with self._guard:
            self._check_open()
            yield

    @staticmethod
    def _encode_meta(meta: Mapping[str, MetaValue]) -> list[tuple[str, bytes]]:
        if not isinstance(meta, Mapping):
            raise InvalidValue("INVALID_META", f"meta must be a mapping, got {type(meta).__name__}")
        rows = []
        for key, value in meta.items():
            _validate_meta_key(key, writing=True)
            _validate_meta_value(value, key)
            rows.append((key, ENCODER.encode(value)))
        return rows

    @staticmethod
    def _decode_meta(key: str, raw: bytes) -> MetaValue:
        try:
            value: MetaValue = _META_DECODER.decode(raw)
        except msgspec.DecodeError as exc:
            raise StoreError("CORRUPT_META", f"meta {key!r} cannot be decoded: {exc}") from exc
        return value

    def _check_schema_version(self) -> None:
        """Writes the schema version into a new store and refuses a store of another version."""
        raw = self._get_meta(_SCHEMA_VERSION_KEY)
        if raw is None:
            self._write([], [(_SCHEMA_VERSION_KEY, ENCODER.encode(SCHEMA_VERSION))])
            return
        version = self._decode_meta(_SCHEMA_VERSION_KEY, raw)
        if version != SCHEMA_VERSION:
            raise StoreError(
                "SCHEMA_MISMATCH",
                f"the store has schema version {version!r}; this hftcore reads {SCHEMA_VERSION}",
            )

    def _write(self, rows: list[EventRow], meta_rows: list[tuple[str, bytes]]) -> list[Appended]:
        with self._transaction():
            results = self._append_rows(rows)
            for key, value in meta_rows:
                self._put_meta(key, value)
        if results:
            self._high_water = max(self._high_water, *(result.seq for result in results))
        return results

    def _append_rows(self, rows: list[EventRow]) -> list[Appended]:
        """Inside a transaction: inserts each row or resolves it against the stored one.

        A stored seq above the high-water mark (the last seq this store knew committed before the
        call) was written by an earlier attempt of this same call whose commit outcome was lost
        with the connection (the Postgres backend retries once after reconnecting): such a row is
        this call's own write, not a duplicate, unless another row of this call already claimed
        it."""
        claimed: set[int] = set()
        results = []
        for row, seq in zip(rows, self._insert_many(rows), strict=True):
            if seq is not None:
                claimed.add(seq)
                results.append(Appended(seq, duplicate=False))
                continue
            stored_seq, stored_kind, stored_payload = self._find(row.dedup_key)
            stored = decode_row(stored_seq, stored_kind, stored_payload).event
            if _identity(stored) != row.identity:
                raise self._conflict(row, stored_seq)
            duplicate = stored_seq <= self._high_water or stored_seq in claimed
            claimed.add(stored_seq)
            results.append(Appended(stored_seq, duplicate=duplicate))
        return results

    @staticmethod
    def _conflict(row: EventRow, stored_seq: int) -> StoreError:
        if row.kind == "OrderFilled":
            return StoreError(
                "CONFLICTING_FILL",
                f"{row.dedup_key} is stored at seq {stored_seq} with different content",
            )
        return StoreError(
            "DUPLICATE_CLIENT_ORDER_ID",
            f"client order id {row.client_order_id!r} was already used ({row.kind} at seq "
            f"{stored_seq} with different content): ids are never reused",
        )

    def _iterate(self, since_seq: int, where: EventFilter) -> Iterator[StoredEvent]:
        after = since_seq
        while True:
            with self._open():
                page = self._fetch(after, where, _PAGE_SIZE)
            if not page:
                return
            for seq, kind, payload in page:
                yield decode_row(seq, kind, payload)
            after = page[-1][0]

    # -- backend primitives -------------------------------------------------------------------

    @abc.abstractmethod
    def _transaction(self) -> AbstractContextManager[None]:
        """A write transaction: committed durably on normal exit, rolled back on an exception."""

    @abc.abstractmethod
    def _insert_many(self, rows: list[EventRow]) -> list[int | None]:
        """Inside a transaction: inserts each row in order and returns its seq, or None for a
        row whose ``dedup_key`` is stored (by an earlier row of the same call too)."""

    @abc.abstractmethod
    def _find(self, dedup_key: str) -> tuple[int, str, bytes]:
        """The stored ``(seq, kind, payload)`` with ``dedup_key``."""

    @abc.abstractmethod
    def _fetch(
        self, after_seq: int, where: EventFilter, limit: int
    ) -> list[tuple[int, str, bytes]]:
        """Up to ``limit`` rows ``(seq, kind, payload)`` with ``seq > after_seq``, in seq order."""

    @abc.abstractmethod
    def _last_seq(self) -> int: ...

    @abc.abstractmethod
    def _put_meta(self, key: str, value: bytes) -> None:
        """Inside a transaction: upserts one meta row."""

    @abc.abstractmethod
    def _get_meta(self, key: str) -> bytes | None: ...

    @abc.abstractmethod
    def _close(self) -> None: ...


def select_events_sql(
    table: str, placeholder: str, after_seq: int, where: EventFilter, limit: int
) -> tuple[str, list[object]]:
    """The paged SELECT behind :meth:`EventStore.events` in a backend's placeholder style."""
    clauses = [f"seq > {placeholder}"]
    params: list[object] = [after_seq]
    for column, value in (
        ("strategy_id", where.strategy_id),
        ("instrument_id", where.instrument_id),
        ("client_order_id", where.client_order_id),
    ):
        if value is not None:
            clauses.append(f"{column} = {placeholder}")
            params.append(value)
    if where.kinds is not None:
        if where.kinds:
            marks = ", ".join(placeholder for _ in where.kinds)
            clauses.append(f"kind IN ({marks})")
            params.extend(where.kinds)
        else:
            clauses.append("1 = 0")
    params.append(limit)
    sql = (
        f"SELECT seq, kind, payload FROM {table} WHERE {' AND '.join(clauses)} "
        f"ORDER BY seq LIMIT {placeholder}"
    )
    return sql, params
