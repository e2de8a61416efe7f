"""The event store contract, run against both backends (SQLite file, real PostgreSQL server)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec
import pytest
from hftcore.errors import InvalidValue, StoreError
from hftcore.model.data import Quote
from hftcore.model.events import (
    ENCODER,
    CancelAllOrders,
    CancelOrder,
    ModifyOrder,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    SubmitOrder,
)
from hftcore.model.risk import TradingState
from hftcore.model.risk_controls import RiskAlert, RiskReset, RiskTripped
from hftcore.store import STORABLE_TYPES, Appended, EventStore, StoredEvent
from store_backends import (
    BACKENDS,
    INSTRUMENT,
    StoreLocation,
    accepted,
    canceled,
    fill,
    initialized,
    lifecycle,
    spec,
    store_location,
    submit,
    submitted,
)


@pytest.fixture(params=BACKENDS)
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreLocation]:
    with store_location(request.param, tmp_path) as where:
        yield where


@pytest.fixture
def store(location: StoreLocation) -> EventStore:
    return location.open()


def stored_events(store: EventStore) -> list[StoredEvent]:
    return list(store.events())


# -- appending and reading -------------------------------------------------------------------


def test_appends_get_increasing_seqs_and_read_back_equal_in_order(store: EventStore) -> None:
    events = [*lifecycle("C1"), fill("C1", "T1", 4), fill("C1", "T2", 6)]
    results = [store.append(event) for event in events]
    assert [r.duplicate for r in results] == [False] * 6
    seqs = [r.seq for r in results]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 6
    assert stored_events(store) == [StoredEvent(s, e) for s, e in zip(seqs, events, strict=True)]
    assert store.last_seq() == seqs[-1]


def test_every_storable_type_round_trips(store: EventStore) -> None:
    samples = {
        "SubmitOrder": submit("C1"),
        "ModifyOrder": ModifyOrder("S1", INSTRUMENT, "C1", 5, 101, None, 3),
        "CancelOrder": CancelOrder("S1", INSTRUMENT, "C1", 4),
        "CancelAllOrders": CancelAllOrders("S1", INSTRUMENT, None, 5),
        "OrderFilled": fill("C1", "T1", 2),
        "RiskTripped": RiskTripped(
            "*", "*", 1, "MAX_DRAWDOWN", TradingState.HALTED, "R", {"drawdown": "0.05"}, "api", 7, 8
        ),
        "RiskAlert": RiskAlert("*", INSTRUMENT, 2, "CONCENTRATION", "R", {"share": "0.9"}, 7, 8),
        "RiskReset": RiskReset("*", "*", 3, False, "R", "cli", 7, 8),
    }
    for kind, cls in STORABLE_TYPES.items():
        if kind in samples:
            continue
        fields = {
            "strategy_id": "S1",
            "instrument_id": INSTRUMENT,
            "client_order_id": "C1",
            "order": spec(),
            "reason": "R",
            "message": "m",
            "released_price": 99,
            "venue_order_id": "V1",
            "quantity": 3,
            "price": 100,
            "trigger_price": None,
            "ts_event": 7,
            "ts_init": 8,
        }
        names = cls.__struct_fields__
        samples[kind] = cls(**{name: fields[name] for name in names})
    events = list(samples.values())
    store.append_many(events)
    assert [s.event for s in store.events()] == events
    assert {type(s.event).__name__ for s in store.events()} == set(STORABLE_TYPES)


def test_reopened_store_has_every_event_and_continues_the_seq(location: StoreLocation) -> None:
    first = location.open()
    seqs = [first.append(event).seq for event in lifecycle("C1")]
    first.put_meta("session", "one")
    first.close()
    second = location.open()
    assert [s.seq for s in second.events()] == seqs
    assert second.last_seq() == seqs[-1]
    assert second.get_meta("session") == "one"
    assert second.append(fill("C1", "T1", 1)).seq > seqs[-1]


def test_append_many_is_one_transaction_with_its_meta(store: EventStore) -> None:
    results = store.append_many(lifecycle("C1"), meta={"next_order": 2})
    seqs = [r.seq for r in results]
    assert seqs == sorted(set(seqs))
    assert len(seqs) == 4
    assert store.last_seq() == seqs[-1]
    assert [s.event for s in store.events()] == lifecycle("C1")
    assert store.get_meta("next_order") == 2
    assert store.append_many([]) == []


# -- idempotency -----------------------------------------------------------------------------


def test_replayed_fill_with_a_new_ts_init_is_a_duplicate(store: EventStore) -> None:
    first = store.append(fill("C1", "T1", 4, ts=5, ts_init=6))
    replay = store.append(fill("C1", "T1", 4, ts=5, ts_init=60))
    assert replay == Appended(first.seq, duplicate=True)
    assert [s.event.ts_init for s in store.events()] == [6]


def test_same_trade_id_on_two_orders_is_two_fills(store: EventStore) -> None:
    # Both sides of a self-trade carry the venue's one trade id.
    a = store.append(fill("C1", "T1", 4))
    b = store.append(fill("C2", "T1", 4, side=1))
    assert not a.duplicate
    assert not b.duplicate
    assert a.seq != b.seq


def test_resent_command_is_a_duplicate_and_never_stored_twice(store: EventStore) -> None:
    first = store.append(submit("C1", ts=1))
    assert store.append(submit("C1", ts=1)) == Appended(first.seq, duplicate=True)
    # The same order asked for again later is a second intent under a used id.
    with pytest.raises(StoreError, match="DUPLICATE_CLIENT_ORDER_ID"):
        store.append(submit("C1", ts=2))
    assert stored_events(store) == [StoredEvent(first.seq, submit("C1", ts=1))]


def test_repeatable_events_are_told_apart_by_content(store: EventStore) -> None:
    results = store.append_many(
        [
            CancelOrder("S1", INSTRUMENT, "C1", 1),
            CancelOrder("S1", INSTRUMENT, "C1", 2),  # retried later: a second intent
            ModifyOrder("S1", INSTRUMENT, "C1", 5, 101, None, 3),
            ModifyOrder("S1", INSTRUMENT, "C1", 6, 101, None, 3),  # same instant, other size
            CancelAllOrders("S1", INSTRUMENT, None, 4),
            CancelAllOrders("S2", INSTRUMENT, None, 4),
            canceled("C1", ts=9),
        ]
    )
    assert not any(r.duplicate for r in results)
    again = store.append(OrderCanceled("S1", INSTRUMENT, "C1", "REQUESTED", 9, 99))
    assert again == Appended(results[-1].seq, duplicate=True)
    assert len(stored_events(store)) == 7


def test_duplicate_inside_one_batch_is_reported_once_written(store: EventStore) -> None:
    results = store.append_many([fill("C1", "T1", 4), fill("C1", "T1", 4, ts_init=77)])
    assert results[0].duplicate is False
    assert results[1] == Appended(results[0].seq, duplicate=True)
    assert len(stored_events(store)) == 1


def test_reused_client_order_id_is_refused_and_nothing_written(store: EventStore) -> None:
    store.append_many([submit("C1"), initialized("C1")])
    before = stored_events(store)
    with pytest.raises(StoreError) as error:
        store.append(SubmitOrder("S1", "C1", spec(quantity=99), 5))
    assert error.value.code == "DUPLICATE_CLIENT_ORDER_ID"
    assert "C1" in error.value.message
    with pytest.raises(StoreError, match="DUPLICATE_CLIENT_ORDER_ID"):
        store.append(initialized("C1", quantity=99))
    assert stored_events(store) == before


def test_fill_reported_twice_with_other_content_is_a_conflict(store: EventStore) -> None:
    store.append(fill("C1", "T1", 4))
    with pytest.raises(StoreError) as error:
        store.append(fill("C1", "T1", 5))
    assert error.value.code == "CONFLICTING_FILL"
    assert [s.event.last_quantity for s in store.events()] == [4]


def test_failed_batch_writes_neither_events_nor_meta(store: EventStore) -> None:
    store.append(submit("C1"))
    store.put_meta("next_order", 2)
    before = (stored_events(store), store.last_seq())
    batch = [submit("C2"), initialized("C2"), SubmitOrder("S1", "C1", spec(quantity=3), 9)]
    with pytest.raises(StoreError, match="DUPLICATE_CLIENT_ORDER_ID"):
        store.append_many(batch, meta={"next_order": 3})
    with pytest.raises(InvalidValue, match="UNKNOWN_EVENT_TYPE"):
        store.append_many([submit("C3"), "not an event"], meta={"next_order": 4})  # type: ignore[list-item]
    assert (stored_events(store), store.last_seq()) == before
    assert store.get_meta("next_order") == 2
    # The refused ids were never taken: they can be used now.
    assert store.append(submit("C2")).duplicate is False


def test_row_committed_by_a_lost_attempt_counts_as_this_appends_write(
    store: EventStore, location: StoreLocation
) -> None:
    # A retry after a connection loss finds its first attempt's commit: a row above the
    # high-water mark the store had before the call. It is this append's write, not a replay.
    store.append(submit("C1"))
    event = fill("C1", "T1", 4)
    row = (event.ts_init, "OrderFilled", "S1", INSTRUMENT, "C1", '["OrderFilled","C1","T1"]')
    location.execute_sql(
        "INSERT INTO {events} (ts_init, kind, strategy_id, instrument_id, client_order_id, "
        "dedup_key, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (*row, ENCODER.encode(event)),
    )
    result = store.append(event)
    assert result.duplicate is False
    assert store.append(event) == Appended(result.seq, duplicate=True)
    assert len(stored_events(store)) == 2


# -- reading with filters --------------------------------------------------------------------


def test_filters_select_by_strategy_instrument_order_kind_and_seq(store: EventStore) -> None:
    store.append_many(
        [
            *lifecycle("A1", strategy="SA"),
            *lifecycle("B1", strategy="SB"),
            fill("A1", "T1", 3, strategy="SA"),
            CancelAllOrders("SB", "OTHER.SIM", None, 7),
        ]
    )
    by_strategy = [s.event for s in store.events(strategy_id="SB")]
    assert len(by_strategy) == 5
    assert {e.strategy_id for e in by_strategy} == {"SB"}
    assert [type(s.event).__name__ for s in store.events(instrument_id="OTHER.SIM")] == [
        "CancelAllOrders"
    ]
    assert {s.event.client_order_id for s in store.events(client_order_id="A1")} == {"A1"}
    assert len(list(store.events(client_order_id="A1"))) == 5
    fills = list(store.events(kinds=[OrderFilled]))
    assert [type(s.event) for s in fills] == [OrderFilled]
    assert list(store.events(kinds=[])) == []
    all_seqs = [s.seq for s in store.events()]
    assert [s.seq for s in store.events(since_seq=all_seqs[6])] == all_seqs[7:]
    assert list(store.events(since_seq=store.last_seq())) == []


def test_long_log_is_read_completely_across_pages(store: EventStore) -> None:
    events = [fill("C1", f"T{i}", 1, ts=i) for i in range(2_345)]
    store.append_many(events)
    read = list(store.events())
    assert [s.event for s in read] == events
    assert [s.seq for s in read] == sorted({s.seq for s in read})
    assert len(list(store.events(since_seq=read[999].seq))) == 2_345 - 1_000


def test_events_appended_while_iterating_are_included(store: EventStore) -> None:
    store.append(fill("C1", "T0", 1))
    seen = []
    for stored in store.events():
        seen.append(stored.event.trade_id)
        if len(seen) < 3:
            store.append(fill("C1", f"T{len(seen)}", 1))
    assert seen == ["T0", "T1", "T2"]


# -- meta ------------------------------------------------------------------------------------


def test_meta_round_trips_json_values_and_overwrites(store: EventStore) -> None:
    values = {"counter": 42, "session": "2026-11-02T09:00", "ratio": 0.5, "flag": True,
              "nothing": None, "nested": {"a": [1, "b", {"c": False}]}}  # fmt: skip
    for key, value in values.items():
        store.put_meta(key, value)
    assert {key: store.get_meta(key) for key in values} == values
    store.put_meta("counter", 43)
    assert store.get_meta("counter") == 43
    assert store.get_meta("missing") is None
    assert store.get_meta("missing", default=7) == 7


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("", 1),
        ("has space", 1),
        ("x" * 201, 1),
        (7, 1),
        ("store.schema_version", 2),
        ("k", b"bytes"),
        ("k", {1: "int key"}),
        ("k", float("nan")),
        ("k", [object()]),
    ],
)
def test_invalid_meta_is_refused_and_not_stored(
    store: EventStore, key: object, value: object
) -> None:
    with pytest.raises(InvalidValue) as error:
        store.put_meta(key, value)  # type: ignore[arg-type]
    assert error.value.code == "INVALID_META"
    assert store.get_meta("k") is None


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "code"),
    [
        (Quote("TEST.SIM", 1, 1, 1, 1, 1, 1), "UNKNOWN_EVENT_TYPE"),
        ({"type": "OrderFilled"}, "UNKNOWN_EVENT_TYPE"),
        (None, "UNKNOWN_EVENT_TYPE"),
        (submit(""), "MISSING_ID"),
        (SubmitOrder("", "C1", spec(), 1), "MISSING_ID"),
        (
            SubmitOrder("S1", "C1", msgspec.structs.replace(spec(), instrument_id=""), 1),
            "MISSING_ID",
        ),
        (fill("C1", "", 1), "MISSING_ID"),
        (CancelAllOrders("S1", "", None, 1), "MISSING_ID"),
        (submit("C1", ts=-1), "INVALID_TIMESTAMP"),
        (submit("C1", ts=2**63), "INVALID_TIMESTAMP"),
        (SubmitOrder("S1", "C1", spec(), "now"), "INVALID_EVENT"),  # type: ignore[arg-type]
        (SubmitOrder("S1", "C1", spec(quantity=1.5), 1), "INVALID_EVENT"),  # type: ignore[arg-type]
        (OrderDenied("S1", INSTRUMENT, "C1", "R", 3, 1, 1), "INVALID_EVENT"),  # type: ignore[arg-type]
    ],
)
def test_bad_event_is_refused_with_a_code_and_nothing_written(
    store: EventStore, event: object, code: str
) -> None:
    store.append(submit("C0"))
    with pytest.raises(InvalidValue) as error:
        store.append(event)  # type: ignore[arg-type]
    assert error.value.code == code
    assert [s.event for s in store.events()] == [submit("C0")]


def test_subclass_of_an_event_is_not_storable(store: EventStore) -> None:
    class MyFill(OrderFilled, frozen=True, gc=False, tag=True):
        pass

    with pytest.raises(InvalidValue, match="UNKNOWN_EVENT_TYPE"):
        store.append(MyFill(*msgspec.structs.astuple(fill("C1", "T1", 1))))
    assert store.last_seq() == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"since_seq": -1},
        {"since_seq": "0"},
        {"since_seq": True},
        {"strategy_id": ""},
        {"client_order_id": 5},
        {"kinds": [Quote]},
        {"kinds": ["OrderFilled"]},
    ],
)
def test_bad_read_filters_are_refused(store: EventStore, kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidValue) as error:
        store.events(**kwargs)  # type: ignore[arg-type]
    assert error.value.code in {"INVALID_FILTER", "UNKNOWN_EVENT_TYPE"}


# -- corrupt rows ----------------------------------------------------------------------------


def _insert_raw(location: StoreLocation, kind: str, payload: bytes, key: str) -> None:
    location.execute_sql(
        "INSERT INTO {events} (ts_init, kind, strategy_id, instrument_id, client_order_id, "
        "dedup_key, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (1, kind, "S1", INSTRUMENT, "C9", key, payload),
    )


@pytest.mark.parametrize(
    ("row", "code", "detail"),
    [
        (("OrderFilled", b"{not json"), "CORRUPT_EVENT", "cannot be decoded"),
        (("OrderFilled", b'{"type":"OrderFilled","strategy_id":"S1"}'), "CORRUPT_EVENT", "missing"),
        (("OrderCanceled", ENCODER.encode(submit("C9"))), "CORRUPT_EVENT", "is a SubmitOrder"),
        (("PositionOpened", b"{}"), "UNKNOWN_EVENT_TYPE", "unknown kind"),
    ],
)
def test_corrupt_row_raises_an_error_naming_its_seq(
    store: EventStore, location: StoreLocation, row: tuple[str, bytes], code: str, detail: str
) -> None:
    store.append(submit("C1"))
    _insert_raw(location, *row, "raw-1")
    bad_seq = store.last_seq()
    reader = store.events()
    assert next(reader).event == submit("C1")
    with pytest.raises(StoreError) as error:
        next(reader)
    assert error.value.code == code
    assert f"seq {bad_seq}" in error.value.message
    assert detail in error.value.message
    assert list(store.events(client_order_id="C1")) == [StoredEvent(1, submit("C1"))]


def test_conflict_check_against_a_corrupt_stored_row_names_it(
    store: EventStore, location: StoreLocation
) -> None:
    _insert_raw(location, "SubmitOrder", b"garbage", '["SubmitOrder","C9"]')
    with pytest.raises(StoreError) as error:
        store.append(submit("C9"))
    assert error.value.code == "CORRUPT_EVENT"
    assert f"seq {store.last_seq()}" in error.value.message


# -- lifecycle of the store object -----------------------------------------------------------


def test_closed_store_refuses_every_call(store: EventStore) -> None:
    store.append(submit("C1"))
    reader = store.events()
    store.close()
    store.close()  # harmless
    assert store.closed
    calls = [
        lambda: store.append(submit("C2")),
        lambda: store.append_many([submit("C2")]),
        store.events,
        store.last_seq,
        lambda: store.put_meta("k", 1),
        lambda: store.get_meta("k"),
        lambda: next(reader),
        store.__enter__,
    ]
    for call in calls:
        with pytest.raises(StoreError) as error:
            call()
        assert error.value.code == "STORE_CLOSED"


def test_context_manager_closes(location: StoreLocation) -> None:
    with location.open() as store:
        store.append(submit("C1"))
    assert store.closed
    with location.open() as again:
        assert again.last_seq() == 1


def test_second_writer_is_locked_out_until_the_first_closes(location: StoreLocation) -> None:
    first = location.open()
    with pytest.raises(StoreError) as error:
        location.open()
    assert error.value.code == "STORE_LOCKED"
    first.append(submit("C1"))
    first.close()
    second = location.open()
    assert [s.event for s in second.events()] == [submit("C1")]


def test_store_of_another_schema_version_is_refused(location: StoreLocation) -> None:
    location.open().close()
    location.execute_sql("UPDATE {meta} SET value = ? WHERE key = 'store.schema_version'", (b"99",))
    with pytest.raises(StoreError) as error:
        location.open()
    assert error.value.code == "SCHEMA_MISMATCH"
    assert "99" in error.value.message


def test_corrupt_meta_value_names_the_key(store: EventStore, location: StoreLocation) -> None:
    location.execute_sql("INSERT INTO {meta} (key, value) VALUES ('broken', ?)", (b"{nope",))
    with pytest.raises(StoreError) as error:
        store.get_meta("broken")
    assert error.value.code == "CORRUPT_META"
    assert "broken" in error.value.message


def test_order_lifecycle_rows_are_queryable_per_order(store: EventStore) -> None:
    store.append_many([*lifecycle("C1"), submitted("C2"), accepted("C2"), fill("C1", "T", 2)])
    assert [type(s.event).__name__ for s in store.events(client_order_id="C1")] == [
        "SubmitOrder",
        "OrderInitialized",
        "OrderSubmitted",
        "OrderAccepted",
        "OrderFilled",
    ]


def test_threads_share_one_store_safely(store: EventStore) -> None:
    def writer(thread: int) -> list[Appended]:
        return [store.append(fill("C1", f"T{thread}-{i}", 1)) for i in range(40)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = [r for batch in pool.map(writer, range(4)) for r in batch]
    assert not any(r.duplicate for r in results)
    assert sorted(r.seq for r in results) == [s.seq for s in store.events()]
    assert len({s.event.trade_id for s in store.events()}) == 160
