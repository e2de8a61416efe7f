"""The order state machine: every transition, fills and average price, updates, bad events."""

from __future__ import annotations

import logging
from fractions import Fraction
from typing import Any

import pytest
from hftcore.errors import HftcoreError, InvalidStateTransition, InvalidValue
from hftcore.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderDenied,
    OrderEmulated,
    OrderExpired,
    OrderFilled,
    OrderModifyRejected,
    OrderPendingCancel,
    OrderPendingUpdate,
    OrderRejected,
    OrderReleased,
    OrderSubmitted,
    OrderTriggered,
    OrderUpdated,
)
from hftcore.model.orders import OrderType
from hftcore.oms.order import Order, OrderStatus
from hypothesis import given, settings
from hypothesis import strategies as st
from oms_helpers import ALL_EVENT_TYPES, event, fill, new_order, snapshot, spec

# A stop-limit buy of 10, so that every event type is meaningful for it.
STOP_LIMIT = spec(order_type=int(OrderType.STOP_LIMIT), trigger_price=100)

# How each status is reached from INITIALIZED.
PATHS: dict[str, list[type[Any]]] = {
    "INITIALIZED": [],
    "DENIED": [OrderDenied],
    "EMULATED": [OrderEmulated],
    "RELEASED": [OrderEmulated, OrderTriggered, OrderReleased],
    "SUBMITTED": [OrderSubmitted],
    "ACCEPTED": [OrderSubmitted, OrderAccepted],
    "REJECTED": [OrderSubmitted, OrderRejected],
    "TRIGGERED": [OrderSubmitted, OrderAccepted, OrderTriggered],
    "PARTIALLY_FILLED": [OrderSubmitted, OrderAccepted, OrderFilled],
    "FILLED": [OrderSubmitted, OrderAccepted, OrderFilled, OrderFilled],
    "PENDING_UPDATE": [OrderSubmitted, OrderAccepted, OrderPendingUpdate],
    "PENDING_CANCEL": [OrderSubmitted, OrderAccepted, OrderPendingCancel],
    "CANCELED": [OrderSubmitted, OrderAccepted, OrderCanceled],
    "EXPIRED": [OrderSubmitted, OrderAccepted, OrderExpired],
}

# The legal transitions, written out independently of the implementation's table: (status,
# event) -> resulting status, for a fill of 1 lot (a partial fill) and an update to 12 lots.
# Pending statuses are reached from ACCEPTED; "resume" entries go back to ACCEPTED.
MR, CR = "OrderModifyRejected", "OrderCancelRejected"
LEGAL: dict[tuple[str, str], str] = {
    ("INITIALIZED", "OrderDenied"): "DENIED",
    ("INITIALIZED", "OrderEmulated"): "EMULATED",
    ("INITIALIZED", "OrderSubmitted"): "SUBMITTED",
    ("INITIALIZED", "OrderUpdated"): "INITIALIZED",
    ("INITIALIZED", "OrderCanceled"): "CANCELED",
    ("INITIALIZED", "OrderExpired"): "EXPIRED",
    ("EMULATED", "OrderUpdated"): "EMULATED",
    ("EMULATED", "OrderTriggered"): "TRIGGERED",
    ("EMULATED", "OrderCanceled"): "CANCELED",
    ("EMULATED", "OrderExpired"): "EXPIRED",
    ("RELEASED", "OrderSubmitted"): "SUBMITTED",
    ("RELEASED", "OrderDenied"): "DENIED",
    ("RELEASED", "OrderUpdated"): "RELEASED",
    ("RELEASED", "OrderCanceled"): "CANCELED",
    ("RELEASED", "OrderExpired"): "EXPIRED",
    ("SUBMITTED", "OrderAccepted"): "ACCEPTED",
    ("SUBMITTED", "OrderRejected"): "REJECTED",
    ("SUBMITTED", "OrderPendingUpdate"): "PENDING_UPDATE",
    ("SUBMITTED", "OrderPendingCancel"): "PENDING_CANCEL",
    ("SUBMITTED", "OrderCanceled"): "CANCELED",
    ("SUBMITTED", "OrderExpired"): "EXPIRED",
    ("SUBMITTED", "OrderFilled"): "PARTIALLY_FILLED",
    ("ACCEPTED", "OrderPendingUpdate"): "PENDING_UPDATE",
    ("ACCEPTED", "OrderPendingCancel"): "PENDING_CANCEL",
    ("ACCEPTED", "OrderUpdated"): "ACCEPTED",
    ("ACCEPTED", "OrderTriggered"): "TRIGGERED",
    ("ACCEPTED", "OrderCanceled"): "CANCELED",
    ("ACCEPTED", "OrderExpired"): "EXPIRED",
    ("ACCEPTED", "OrderFilled"): "PARTIALLY_FILLED",
    ("TRIGGERED", "OrderPendingUpdate"): "PENDING_UPDATE",
    ("TRIGGERED", "OrderPendingCancel"): "PENDING_CANCEL",
    ("TRIGGERED", "OrderUpdated"): "TRIGGERED",
    ("TRIGGERED", "OrderReleased"): "RELEASED",
    ("TRIGGERED", "OrderCanceled"): "CANCELED",
    ("TRIGGERED", "OrderExpired"): "EXPIRED",
    ("TRIGGERED", "OrderFilled"): "PARTIALLY_FILLED",
    ("PARTIALLY_FILLED", "OrderPendingUpdate"): "PENDING_UPDATE",
    ("PARTIALLY_FILLED", "OrderPendingCancel"): "PENDING_CANCEL",
    ("PARTIALLY_FILLED", "OrderUpdated"): "PARTIALLY_FILLED",
    ("PARTIALLY_FILLED", "OrderCanceled"): "CANCELED",
    ("PARTIALLY_FILLED", "OrderExpired"): "EXPIRED",
    ("PARTIALLY_FILLED", "OrderFilled"): "PARTIALLY_FILLED",
    ("PENDING_UPDATE", "OrderPendingUpdate"): "PENDING_UPDATE",
    ("PENDING_UPDATE", "OrderPendingCancel"): "PENDING_CANCEL",
    ("PENDING_UPDATE", "OrderUpdated"): "ACCEPTED",
    ("PENDING_UPDATE", MR): "ACCEPTED",
    ("PENDING_UPDATE", "OrderAccepted"): "PENDING_UPDATE",
    ("PENDING_UPDATE", "OrderTriggered"): "PENDING_UPDATE",
    ("PENDING_UPDATE", "OrderRejected"): "REJECTED",
    ("PENDING_UPDATE", "OrderCanceled"): "CANCELED",
    ("PENDING_UPDATE", "OrderExpired"): "EXPIRED",
    ("PENDING_UPDATE", "OrderFilled"): "PENDING_UPDATE",
    ("PENDING_CANCEL", "OrderPendingCancel"): "PENDING_CANCEL",
    ("PENDING_CANCEL", "OrderUpdated"): "PENDING_CANCEL",
    ("PENDING_CANCEL", CR): "ACCEPTED",
    ("PENDING_CANCEL", "OrderAccepted"): "PENDING_CANCEL",
    ("PENDING_CANCEL", "OrderTriggered"): "PENDING_CANCEL",
    ("PENDING_CANCEL", "OrderRejected"): "REJECTED",
    ("PENDING_CANCEL", "OrderCanceled"): "CANCELED",
    ("PENDING_CANCEL", "OrderExpired"): "EXPIRED",
    ("PENDING_CANCEL", "OrderFilled"): "PENDING_CANCEL",
}
# Rejections of a modify or cancel are replies: legal everywhere, the status stays.
for _status in PATHS:
    LEGAL.setdefault((_status, MR), _status)
    LEGAL.setdefault((_status, CR), _status)

ALL_PAIRS = [(status, kind) for status in PATHS for kind in ALL_EVENT_TYPES]


def order_in(status: str) -> Order:
    order = new_order(order=STOP_LIMIT)
    fills = 0
    for kind in PATHS[status]:
        if kind is OrderFilled:
            fills += 1
            quantity = 1 if fills == 1 else 9
            order.apply(event(OrderFilled, quantity=quantity, trade_id=f"P{fills}"))
        else:
            order.apply(event(kind))
    assert order.status.name == status
    return order


def test_every_status_is_reached_and_tested() -> None:
    assert set(PATHS) == {status.name for status in OrderStatus}
    assert len(ALL_PAIRS) == 14 * 16


@pytest.mark.parametrize(("status", "kind"), ALL_PAIRS, ids=lambda v: getattr(v, "__name__", v))
def test_transition(status: str, kind: type[Any], caplog: pytest.LogCaptureFixture) -> None:
    order = order_in(status)
    before = snapshot(order)
    expected = LEGAL.get((status, kind.__name__))
    incoming = event(kind, ts=7)
    if expected is None:
        with (
            caplog.at_level(logging.ERROR, logger="hftcore.oms.order"),
            pytest.raises(InvalidStateTransition) as error,
        ):
            order.apply(incoming)
        assert error.value.code == "ILLEGAL_TRANSITION"
        assert isinstance(error.value, HftcoreError)
        assert snapshot(order) == before
        assert any(kind.__name__ in record.getMessage() for record in caplog.records)
    else:
        assert order.apply(incoming) is True
        assert order.status.name == expected
        assert order.events[-1] is incoming
        assert order.ts_last == 7


def test_closed_and_working_flags_follow_status() -> None:
    closed = {"DENIED", "REJECTED", "FILLED", "CANCELED", "EXPIRED"}
    working = {"ACCEPTED", "TRIGGERED", "PARTIALLY_FILLED", "PENDING_UPDATE", "PENDING_CANCEL"}
    for status in PATHS:
        order = order_in(status)
        assert order.is_closed == (status in closed)
        assert order.is_open == (status not in closed)
        assert order.is_working == (status in working)
        assert order.is_emulated == (status == "EMULATED")
        assert order.is_inflight == (status in {"SUBMITTED", "PENDING_UPDATE", "PENDING_CANCEL"})
        if order.is_closed:
            assert order.leaves_quantity == 0


def test_fills_partial_then_complete_with_exact_average_price() -> None:
    order = order_in("ACCEPTED")
    assert order.average_price is None
    order.apply(fill("C1", 3, 101, "T1", commission=30, currency="USD"))
    order.apply(fill("C1", 4, 102, "T2", commission=-8, currency="USD"))
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert (order.filled_quantity, order.leaves_quantity) == (7, 3)
    order.apply(fill("C1", 3, 104, "T3", commission=5, currency="BTC"))
    assert order.status is OrderStatus.FILLED
    assert (order.filled_quantity, order.leaves_quantity) == (10, 0)
    assert order.notional == 3 * 101 + 4 * 102 + 3 * 104
    assert order.average_price == Fraction(1023, 10)
    assert order.average_price_float == pytest.approx(102.3)
    assert order.commissions == {"USD": 22, "BTC": 5}
    assert order.commission("EUR") == 0
    assert order.venue_order_id == "V-C1"


def test_average_price_stays_exact_where_floats_would_drift() -> None:
    order = new_order(order=spec(quantity=3))
    order.apply(event(OrderSubmitted))
    for index in range(3):
        order.apply(fill("C1", 1, 10**17 + index, f"T{index}"))
    assert order.average_price == 10**17 + 1
    assert order.notional == 3 * 10**17 + 3


def test_duplicate_fill_is_ignored_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    order = order_in("ACCEPTED")
    first = fill("C1", 4, 100, "T1")
    assert order.apply(first) is True
    before = snapshot(order)
    with caplog.at_level(logging.WARNING, logger="hftcore.oms.order"):
        assert order.apply(fill("C1", 4, 100, "T1", ts=11)) is False
    assert snapshot(order) == before
    assert "duplicate fill T1" in caplog.text
    order.apply(fill("C1", 6, 100, "T2"))
    assert order.status is OrderStatus.FILLED
    # After the order is closed, a repeated fill is still a duplicate, not an illegal event.
    assert order.apply(fill("C1", 6, 100, "T2")) is False


def test_overfill_raises_and_changes_nothing() -> None:
    order = order_in("PARTIALLY_FILLED")
    before = snapshot(order)
    with pytest.raises(InvalidStateTransition) as error:
        order.apply(fill("C1", 10, 100, "T-over"))
    assert error.value.code == "OVERFILL"
    assert snapshot(order) == before
    assert not order.has_trade("T-over")


@pytest.mark.parametrize(
    ("incoming", "code"),
    [
        (fill("C2", 1, 100, "T1"), "WRONG_ORDER"),
        (fill("C1", 0, 100, "T1"), "INVALID_FILL"),
        (fill("C1", -2, 100, "T1"), "INVALID_FILL"),
        (fill("C1", 1, 100, "T1", side=1), "INVALID_FILL"),
        (fill("C1", 1, 100, ""), "INVALID_FILL"),
        (event(OrderUpdated, quantity=1), "QUANTITY_NOT_ABOVE_FILLED"),
        (event(OrderUpdated, price=0), "INVALID_UPDATE"),
        (event(OrderAccepted, client_order_id="other"), "WRONG_ORDER"),
    ],
)
def test_malformed_events_are_refused(incoming: Any, code: str) -> None:
    order = order_in("PARTIALLY_FILLED")
    before = snapshot(order)
    with pytest.raises(InvalidValue) as error:
        order.apply(incoming)
    assert error.value.code == code
    assert snapshot(order) == before


def test_not_an_event_is_refused() -> None:
    order = new_order()
    with pytest.raises(InvalidValue) as error:
        order.apply("OrderAccepted")  # type: ignore[arg-type]
    assert error.value.code == "INVALID_EVENT"
    with pytest.raises(InvalidValue):
        Order(event(OrderAccepted))  # type: ignore[arg-type]


def test_update_replaces_values_and_keeps_unmentioned_ones() -> None:
    order = order_in("ACCEPTED")
    order.apply(event(OrderUpdated, quantity=15, price=None, trigger_price=98))
    assert (order.spec.quantity, order.spec.price, order.spec.trigger_price) == (15, 100, 98)
    assert order.leaves_quantity == 15


def test_cancel_replace_round_trip() -> None:
    order = order_in("ACCEPTED")
    order.apply(event(OrderPendingUpdate))
    order.apply(event(OrderUpdated, quantity=10, price=102, trigger_price=None))
    assert order.status is OrderStatus.ACCEPTED
    assert order.spec.price == 102
    order.apply(event(OrderPendingUpdate))
    order.apply(event(OrderModifyRejected))
    assert order.status is OrderStatus.ACCEPTED
    assert order.spec.price == 102


def test_pending_states_remember_what_happened_behind_them() -> None:
    # Modify sent before the venue acknowledged the order, then acknowledged, then a partial
    # fill, then the modify confirmed: the order resumes as partially filled.
    order = order_in("SUBMITTED")
    order.apply(event(OrderPendingUpdate))
    order.apply(event(OrderAccepted))
    assert order.status is OrderStatus.PENDING_UPDATE
    assert order.working_status is OrderStatus.ACCEPTED
    order.apply(fill("C1", 2, 100, "T1"))
    assert order.status is OrderStatus.PENDING_UPDATE
    assert order.working_status is OrderStatus.PARTIALLY_FILLED
    order.apply(event(OrderUpdated, quantity=12, price=None, trigger_price=None))
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert order.leaves_quantity == 10
    # A cancel rejected after a partial fill goes back to partially filled.
    order.apply(event(OrderPendingCancel))
    order.apply(event(OrderCancelRejected))
    assert order.status is OrderStatus.PARTIALLY_FILLED
    # A fill completing the order while a cancel is pending closes it.
    order.apply(event(OrderPendingCancel))
    order.apply(fill("C1", 10, 100, "T2"))
    assert order.status is OrderStatus.FILLED
    # The cancel then loses the race: the reply is recorded, nothing changes.
    order.apply(event(OrderCancelRejected))
    assert order.status is OrderStatus.FILLED


def test_modify_then_cancel_in_flight() -> None:
    order = order_in("ACCEPTED")
    order.apply(event(OrderPendingUpdate))
    order.apply(event(OrderPendingCancel))
    # The modify's answer arrives while the cancel is pending: still pending cancel.
    order.apply(event(OrderUpdated, quantity=11, price=None, trigger_price=None))
    assert order.status is OrderStatus.PENDING_CANCEL
    assert order.quantity == 11
    order.apply(event(OrderCanceled))
    assert order.status is OrderStatus.CANCELED


# -- property: random event sequences ---------------------------------------------------------

event_kinds = st.sampled_from(ALL_EVENT_TYPES)


@st.composite
def random_event(draw: st.DrawFn) -> Any:
    kind = draw(event_kinds)
    if kind is OrderFilled:
        return fill(
            "C1",
            draw(st.integers(-1, 12)),
            draw(st.integers(90, 110)),
            draw(st.sampled_from(["T1", "T2", "T3", "T4", "T5", "T6"])),
            side=draw(st.sampled_from([0, 0, 0, 1])),
        )
    if kind is OrderUpdated:
        return event(
            kind,
            quantity=draw(st.integers(0, 14)),
            price=draw(st.none() | st.integers(0, 110)),
            trigger_price=draw(st.none() | st.integers(90, 110)),
        )
    return event(kind)


@settings(max_examples=400, deadline=None)
@given(st.lists(random_event(), max_size=25))
def test_random_sequences_apply_or_refuse_cleanly(events: list[Any]) -> None:
    order = new_order(order=STOP_LIMIT)
    for incoming in events:
        before = snapshot(order)
        was_closed = order.is_closed
        try:
            changed = order.apply(incoming)
        except (InvalidStateTransition, InvalidValue):
            assert snapshot(order) == before
            continue
        if not changed:
            assert snapshot(order) == before
            continue
        assert order.events[-1] is incoming
        legal = LEGAL_KINDS.get((before[0].name, type(incoming).__name__))
        assert legal, f"{type(incoming).__name__} applied in {before[0].name}"
        if was_closed:
            # Only replies are recorded on a closed order; its status never changes.
            assert order.status is before[0]
        assert 0 <= order.filled_quantity <= order.quantity
        assert order.leaves_quantity == (
            0 if order.is_closed else order.quantity - order.filled_quantity
        )
        if order.filled_quantity == order.quantity:
            assert order.status is OrderStatus.FILLED


LEGAL_KINDS = {pair: True for pair in LEGAL}
