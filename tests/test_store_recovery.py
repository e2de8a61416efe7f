"""Rebuilding state from the log and reconciling it with the venue after a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from hftcore.errors import HftcoreError, InvalidValue, StoreError
from hftcore.model.events import (
    CancelAllOrders,
    CancelOrder,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderEmulated,
    OrderEvent,
    OrderReleased,
    OrderSubmitted,
    OrderUpdated,
)
from hftcore.store import (
    EventStore,
    OrderMismatch,
    PositionMismatch,
    RecoveredState,
    VenueOpenOrder,
    rebuild,
    reconcile,
)
from store_backends import (
    BACKENDS,
    INSTRUMENT,
    StoreLocation,
    canceled,
    fill,
    initialized,
    lifecycle,
    store_location,
    submit,
    submitted,
)

NOW = 1_000


@pytest.fixture(params=BACKENDS)
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreLocation]:
    with store_location(request.param, tmp_path) as where:
        yield where


@pytest.fixture
def store(location: StoreLocation) -> EventStore:
    return location.open()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[EventStore]:
    with store_location("sqlite", tmp_path) as where:
        yield where.open()


def session(store: EventStore) -> None:
    """Two strategies: C1 filled in two parts, C2 canceled after a partial fill, C3 working,
    C4 denied by risk, C5 emulated, C6 sent but never acknowledged, and a second submit under
    C3's id denied as a duplicate."""
    store.append_many(
        [
            *lifecycle("C1"),
            fill("C1", "T1", 4, commission=100),
            fill("C1", "T2", 6, commission=150),
            *lifecycle("C2", strategy="S2"),
            fill("C2", "T3", 3, side=1, strategy="S2", commission=-20, currency="EUR"),
            canceled("C2", strategy="S2"),
            *lifecycle("C3"),
            submit("C4"),
            initialized("C4"),
            OrderDenied("S1", INSTRUMENT, "C4", "MAX_LONG_POSITION", "too long", 2, 2),
            submit("C5"),
            initialized("C5"),
            OrderEmulated("S1", INSTRUMENT, "C5", 2, 2),
            submit("C6"),
            initialized("C6"),
            submitted("C6"),
            OrderDenied("S1", INSTRUMENT, "C3", "DUPLICATE_CLIENT_ORDER_ID", "used", 4, 4),
            CancelAllOrders("S2", INSTRUMENT, None, 8),
        ]
    )


# -- rebuild ---------------------------------------------------------------------------------


def test_rebuild_summarises_orders_positions_and_commissions(store: EventStore) -> None:
    session(store)
    state = rebuild(store)
    assert state.last_seq == store.last_seq()
    assert state.event_count == 27
    assert state.used_client_order_ids == {"C1", "C2", "C3", "C4", "C5", "C6"}
    assert state.open_client_order_ids == {"C3", "C5", "C6"}
    orders = state.orders
    assert orders["C1"].closed_by == "OrderFilled"
    assert orders["C1"].filled_quantity == 10
    assert orders["C2"].closed_by == "OrderCanceled"
    assert orders["C2"].filled_quantity == 3
    assert orders["C3"].is_open
    assert orders["C3"].venue_order_id == "V-C3"
    assert orders["C4"].closed_by == "OrderDenied"
    assert orders["C5"].emulated
    assert not orders["C5"].submitted
    assert orders["C6"].submitted
    assert orders["C6"].venue_order_id is None
    assert (orders["C3"].side, orders["C3"].quantity, orders["C3"].price) == (0, 10, 100)
    assert state.positions == {("S1", INSTRUMENT): 10, ("S2", INSTRUMENT): -3}
    assert state.instrument_positions() == {INSTRUMENT: 7}
    assert state.commissions == {"USD": 250, "EUR": -20}
    assert state.trade_ids == {("C1", "T1"), ("C1", "T2"), ("C2", "T3")}
    assert state.refused == ()


def test_rebuild_follows_amendments_and_releases(sqlite_store: EventStore) -> None:
    sqlite_store.append_many(
        [
            *lifecycle("C1"),
            fill("C1", "T1", 4),
            OrderUpdated("S1", INSTRUMENT, "C1", 4, 101, None, 6, 6),  # shrink to the filled size
            submit("C2"),
            initialized("C2"),
            OrderEmulated("S1", INSTRUMENT, "C2", 2, 2),
            OrderReleased("S1", INSTRUMENT, "C2", 99, 3, 3),
            submitted("C2"),
        ]
    )
    state = rebuild(sqlite_store)
    assert state.orders["C1"].closed_by == "OrderFilled"
    assert (state.orders["C1"].quantity, state.orders["C1"].price) == (4, 101)
    c2 = state.orders["C2"]
    assert (c2.emulated, c2.submitted, c2.price, c2.is_open) == (False, True, 99, True)


def test_fill_after_a_cancel_still_counts_and_the_order_stays_closed(
    sqlite_store: EventStore,
) -> None:
    sqlite_store.append_many([*lifecycle("C1"), canceled("C1"), fill("C1", "T1", 2)])
    state = rebuild(sqlite_store)
    assert state.orders["C1"].closed_by == "OrderCanceled"
    assert state.orders["C1"].filled_quantity == 2
    assert state.positions == {("S1", INSTRUMENT): 2}


def test_events_of_an_order_the_log_never_created_are_still_tracked(
    sqlite_store: EventStore,
) -> None:
    sqlite_store.append(fill("X1", "T1", 2, side=1))
    state = rebuild(sqlite_store)
    order = state.orders["X1"]
    assert (order.quantity, order.filled_quantity, order.is_open) == (None, 2, True)
    assert state.positions == {("S1", INSTRUMENT): -2}


def test_callbacks_get_order_events_then_fills_in_log_order(store: EventStore) -> None:
    session(store)
    seen: list[tuple[str, str, str]] = []
    state = rebuild(
        store,
        apply_order_event=lambda e: seen.append(("oms", type(e).__name__, e.client_order_id)),
        apply_fill=lambda f: seen.append(("portfolio", f.trade_id, f.client_order_id)),
    )
    stored_order_events = [s.event for s in store.events() if isinstance(s.event, OrderEvent)]
    oms_calls = [(kind, cid) for who, kind, cid in seen if who == "oms"]
    assert oms_calls == [(type(e).__name__, e.client_order_id) for e in stored_order_events]
    first_fill = seen.index(("oms", "OrderFilled", "C1"))
    assert seen[first_fill + 1] == ("portfolio", "T1", "C1")
    assert [t for who, t, _ in seen if who == "portfolio"] == ["T1", "T2", "T3"]
    assert state.refused == ()


def test_refusing_callback_is_recorded_and_the_replay_goes_on(sqlite_store: EventStore) -> None:
    sqlite_store.append_many([*lifecycle("C1"), canceled("C1"), canceled("C1", ts=10)])
    applied: list[OrderEvent] = []

    def oms(event: OrderEvent) -> None:
        if applied and isinstance(applied[-1], OrderCanceled) and isinstance(event, OrderCanceled):
            raise HftcoreError("ILLEGAL_TRANSITION", "CANCELED -> CANCELED")
        applied.append(event)

    state = rebuild(sqlite_store, apply_order_event=oms)
    assert len(applied) == 4
    assert len(state.refused) == 1
    refused = state.refused[0]
    assert (refused.seq, refused.kind, refused.by, refused.code) == (
        6,
        "OrderCanceled",
        "apply_order_event",
        "ILLEGAL_TRANSITION",
    )


def test_crashing_callback_propagates_naming_the_seq(sqlite_store: EventStore) -> None:
    sqlite_store.append_many(lifecycle("C1"))

    def broken(event: OrderEvent) -> None:
        if isinstance(event, OrderAccepted):
            raise KeyError("bug")

    with pytest.raises(KeyError) as error:
        rebuild(sqlite_store, apply_order_event=broken)
    assert "while rebuilding from event seq 4 (OrderAccepted)" in error.value.__notes__


def test_fill_that_cannot_move_a_position_is_refused_by_the_summary(
    sqlite_store: EventStore,
) -> None:
    sqlite_store.append_many(
        [fill("C1", "T1", 2, side=7), fill("C1", "T2", 0), fill("C1", "T3", 1)]
    )
    state = rebuild(sqlite_store)
    assert [(r.seq, r.by, r.code) for r in state.refused] == [
        (1, "summary", "INVALID_FILL"),
        (2, "summary", "INVALID_FILL"),
    ]
    assert state.positions == {("S1", INSTRUMENT): 1}


def test_rebuild_stops_at_a_corrupt_row_naming_it(
    store: EventStore, location: StoreLocation
) -> None:
    store.append(submit("C1"))
    location.execute_sql(
        "INSERT INTO {events} (ts_init, kind, strategy_id, instrument_id, client_order_id, "
        "dedup_key, payload) VALUES (1, 'OrderFilled', 'S1', 'X', 'C1', 'k', ?)",
        (b"\x00\x01",),
    )
    with pytest.raises(StoreError) as error:
        rebuild(store)
    assert error.value.code == "CORRUPT_EVENT"
    assert f"seq {store.last_seq()}" in error.value.message


def test_rebuild_refuses_what_is_not_a_store() -> None:
    with pytest.raises(InvalidValue, match="INVALID_STORE"):
        rebuild("events.sqlite")  # type: ignore[arg-type]


def test_rebuild_of_an_empty_store() -> None:
    state = RecoveredState(0, 0, {}, frozenset(), {}, {}, frozenset(), ())
    assert state.open_client_order_ids == frozenset()
    assert state.instrument_positions() == {}


# -- reconcile -------------------------------------------------------------------------------


def venue_order(
    cid: str | None, venue_id: str, quantity: int = 10, **kwargs: object
) -> VenueOpenOrder:
    return VenueOpenOrder(
        venue_id, INSTRUMENT, 0, quantity, price=100, client_order_id=cid, **kwargs
    )  # type: ignore[arg-type]


def test_agreeing_venue_needs_nothing(sqlite_store: EventStore) -> None:
    sqlite_store.append_many([*lifecycle("C1"), fill("C1", "T1", 4)])
    state = rebuild(sqlite_store)
    report = reconcile(
        state,
        [venue_order("C1", "V-C1", filled_quantity=4)],
        {INSTRUMENT: 4},
        venue_fills=[fill("C1", "T1", 4)],
        ts=NOW,
    )
    assert report.consistent
    assert report.events == ()
    assert report.missing_fills == ()
    assert report.lost_orders == ()


def test_reconcile_after_a_session_lists_every_difference(sqlite_store: EventStore) -> None:
    session(sqlite_store)
    state = rebuild(sqlite_store)
    late_fill = fill("C3", "T9", 2, ts=7, strategy="WHO?")  # the venue does not know strategies
    report = reconcile(
        state,
        [
            venue_order("C3", "V-C3", filled_quantity=2),
            venue_order("C6", "V-C6", quantity=10, filled_quantity=0),
            venue_order(None, "V-EXT", quantity=5),
        ],
        {INSTRUMENT: 9, "OTHER.SIM": 1},
        venue_fills=[fill("C1", "T1", 4), late_fill, fill("EXT-1", "T8", 1)],
        ts=NOW,
    )
    assert report.missing_fills == (
        msgspec.structs.replace(late_fill, strategy_id="S1", ts_init=NOW),
    )
    assert report.events == (
        report.missing_fills[0],
        OrderAccepted("S1", INSTRUMENT, "C6", "V-C6", NOW, NOW),
    )
    # C5 is held by the emulator; C6 is working at the venue: nothing is lost.
    assert report.lost_orders == ()
    assert [o.venue_order_id for o in report.external_orders] == ["V-EXT"]
    assert [f.trade_id for f in report.external_fills] == ["T8"]
    assert report.order_mismatches == ()
    assert report.position_mismatches == (PositionMismatch("OTHER.SIM", 0, 1),)
    assert not report.consistent


def test_orders_the_venue_does_not_know_are_canceled_never_resent(
    sqlite_store: EventStore,
) -> None:
    sqlite_store.append_many(
        [
            *lifecycle("C1"),
            submit("C2"),
            initialized("C2"),  # crashed before OrderSubmitted: never left the node
            *lifecycle("C3"),
            submit("C4"),
            initialized("C4"),
            OrderEmulated("S1", INSTRUMENT, "C4", 2, 2),
        ]
    )
    report = reconcile(rebuild(sqlite_store), [], {}, ts=NOW)
    assert report.lost_orders == ("C1", "C2", "C3")
    assert report.events == tuple(
        OrderCanceled("S1", INSTRUMENT, cid, "NOT_FOUND_AT_VENUE", NOW, NOW)
        for cid in ("C1", "C2", "C3")
    )
    assert not any(isinstance(e, OrderSubmitted) for e in report.events)


def test_missing_fills_that_complete_an_order_close_it_without_a_cancel(
    sqlite_store: EventStore,
) -> None:
    sqlite_store.append_many([*lifecycle("C1"), fill("C1", "T1", 4), *lifecycle("C2")])
    report = reconcile(
        rebuild(sqlite_store),
        [],
        {INSTRUMENT: 12},
        venue_fills=[fill("C1", "T2", 6, ts=8), fill("C2", "T3", 2, ts=9)],
        ts=NOW,
    )
    assert [type(e).__name__ for e in report.events] == [
        "OrderFilled",
        "OrderFilled",
        "OrderCanceled",
    ]
    assert report.lost_orders == ("C2",)
    assert report.position_mismatches == ()


def test_missing_fill_of_an_order_the_log_never_saw_submitted(sqlite_store: EventStore) -> None:
    sqlite_store.append_many([submit("C1"), initialized("C1")])
    report = reconcile(
        rebuild(sqlite_store), [], {INSTRUMENT: 10}, venue_fills=[fill("C1", "T1", 10)], ts=NOW
    )
    assert [type(e).__name__ for e in report.events] == ["OrderSubmitted", "OrderFilled"]
    assert report.lost_orders == ()
    assert report.consistent is False


def test_venue_amendment_and_fill_count_differences(sqlite_store: EventStore) -> None:
    sqlite_store.append_many(lifecycle("C1"))
    report = reconcile(
        rebuild(sqlite_store),
        [VenueOpenOrder("V-C1", INSTRUMENT, 0, 8, 3, price=99, client_order_id="C1")],
        None,
        ts=NOW,
    )
    assert report.events == (OrderUpdated("S1", INSTRUMENT, "C1", 8, 99, None, NOW, NOW),)
    assert report.order_mismatches == (OrderMismatch("C1", "filled_quantity", 0, 3),)
    assert report.position_mismatches == ()  # None: the venue cannot tell


def test_venue_order_matched_by_venue_id_when_it_drops_client_ids(
    sqlite_store: EventStore,
) -> None:
    sqlite_store.append_many(lifecycle("C1"))
    report = reconcile(rebuild(sqlite_store), [venue_order(None, "V-C1")], {}, ts=NOW)
    assert report.consistent


def test_venue_working_an_order_the_log_closed_is_a_status_mismatch(
    sqlite_store: EventStore,
) -> None:
    sqlite_store.append_many([*lifecycle("C1"), canceled("C1"), *lifecycle("C2")])
    sqlite_store.append(OrderAccepted("S1", INSTRUMENT, "C2", "V-OTHER", 4, 4))
    report = reconcile(
        rebuild(sqlite_store), [venue_order("C1", "V-C1"), venue_order("C2", "V-C2")], {}, ts=NOW
    )
    assert report.order_mismatches == (
        OrderMismatch("C1", "status", "OrderCanceled", "OPEN"),
        OrderMismatch("C2", "venue_order_id", "V-OTHER", "V-C2"),
    )
    assert report.events == ()


def test_appending_the_report_brings_the_log_in_line(store: EventStore) -> None:
    session(store)
    venue_orders = [venue_order("C3", "V-C3", filled_quantity=2)]
    venue_fills = [fill("C3", "T9", 2, ts=7)]
    first = reconcile(
        rebuild(store), venue_orders, {INSTRUMENT: 9}, venue_fills=venue_fills, ts=NOW
    )
    assert first.lost_orders == ("C6",)
    results = store.append_many(first.events)
    assert not any(r.duplicate for r in results)
    again = reconcile(
        rebuild(store), venue_orders, {INSTRUMENT: 9}, venue_fills=venue_fills, ts=NOW
    )
    assert again.consistent
    assert rebuild(store).open_client_order_ids == {"C3", "C5"}


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"recovered": {}}, "INVALID_STATE"),
        ({"ts": -1}, "INVALID_TIMESTAMP"),
        ({"ts": "now"}, "INVALID_TIMESTAMP"),
        ({"venue_open_orders": "C1"}, "INVALID_VENUE_ORDER"),
        ({"venue_open_orders": [{"venue_order_id": "V"}]}, "INVALID_VENUE_ORDER"),
        ({"venue_open_orders": [VenueOpenOrder("V", INSTRUMENT, 0, "10")]}, "INVALID_VENUE_ORDER"),
        ({"venue_open_orders": [VenueOpenOrder("", INSTRUMENT, 0, 10)]}, "INVALID_VENUE_ORDER"),
        ({"venue_open_orders": [VenueOpenOrder("V", INSTRUMENT, 2, 10)]}, "INVALID_VENUE_ORDER"),
        (
            {"venue_open_orders": [VenueOpenOrder("V", INSTRUMENT, 0, 10, 10)]},
            "INVALID_VENUE_ORDER",
        ),
        ({"venue_open_orders": [VenueOpenOrder("V", INSTRUMENT, 0, 0)]}, "INVALID_VENUE_ORDER"),
        (
            {"venue_open_orders": [VenueOpenOrder("V", INSTRUMENT, 0, 5)] * 2},
            "DUPLICATE_VENUE_ORDER",
        ),
        ({"venue_positions": [(INSTRUMENT, 1)]}, "INVALID_POSITION"),
        ({"venue_positions": {INSTRUMENT: 1.0}}, "INVALID_POSITION"),
        ({"venue_positions": {INSTRUMENT: True}}, "INVALID_POSITION"),
        ({"venue_positions": {"": 1}}, "INVALID_POSITION"),
        ({"venue_fills": [canceled("C1")]}, "INVALID_FILL"),
        ({"venue_fills": [fill("C1", "T1", 0)]}, "INVALID_FILL"),
        ({"venue_fills": [fill("C1", "", 1)]}, "MISSING_ID"),
        ({"venue_fills": 5}, "INVALID_FILL"),
        ({"held": "C1"}, "INVALID_HELD"),
        ({"held": [1]}, "INVALID_HELD"),
    ],
)
def test_reconcile_refuses_bad_input(
    sqlite_store: EventStore, kwargs: dict[str, object], code: str
) -> None:
    sqlite_store.append_many(lifecycle("C1"))
    state = rebuild(sqlite_store)
    arguments: dict[str, object] = {
        "recovered": state,
        "venue_open_orders": [],
        "venue_positions": {},
        "ts": NOW,
        **kwargs,
    }
    with pytest.raises(InvalidValue) as error:
        reconcile(**arguments)  # type: ignore[arg-type]
    assert error.value.code == code
    assert rebuild(sqlite_store) == state  # nothing was written


def test_only_submits_among_commands_count(sqlite_store: EventStore) -> None:
    sqlite_store.append_many(
        [
            submit("C1"),
            CancelOrder("S1", INSTRUMENT, "C9", 2),
            CancelAllOrders("S1", INSTRUMENT, 0, 3),
        ]
    )
    seen: list[OrderEvent] = []
    state = rebuild(sqlite_store, apply_order_event=seen.append, apply_fill=seen.append)
    assert seen == []
    # A cancel of an id never submitted creates no order (nothing to cancel at the venue).
    assert state.used_client_order_ids == {"C1"}
    assert set(state.orders) == {"C1"}
    assert reconcile(state, [], {}, ts=NOW).lost_orders == ("C1",)
