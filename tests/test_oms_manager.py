"""The order manager: creation and validation, unique ids, queries, modify and cancel."""

from __future__ import annotations

from typing import Any

import pytest
from hftcore.errors import InvalidValue
from hftcore.model.events import (
    CancelAllOrders,
    CancelOrder,
    Command,
    ModifyOrder,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderDenied,
    OrderEmulated,
    OrderFilled,
    OrderInitialized,
    OrderModifyRejected,
    OrderPendingCancel,
    OrderPendingUpdate,
    OrderSubmitted,
    OrderUpdated,
    SubmitOrder,
)
from hftcore.model.orders import OrderType, PostOnly, TimeInForce
from hftcore.oms import DUPLICATE_CLIENT_ORDER_ID, OrderManager, OrderStatus
from oms_helpers import INSTRUMENT, STRATEGY, event, fill, snapshot, spec, submit

STOP = int(OrderType.STOP)
STOP_LIMIT = int(OrderType.STOP_LIMIT)
MARKET = int(OrderType.MARKET)
LIMIT = int(OrderType.LIMIT)


def working(manager: OrderManager, client_order_id: str = "C1", **fields: Any) -> None:
    """Creates an order and brings it to ACCEPTED."""
    created = manager.create(submit(client_order_id, spec(**fields)), 1)
    assert isinstance(created, OrderInitialized)
    instrument_id = created.instrument_id
    manager.apply(event(OrderSubmitted, client_order_id, ts=2, instrument_id=instrument_id))
    manager.apply(event(OrderAccepted, client_order_id, ts=3, instrument_id=instrument_id))


def test_next_client_order_id_counts_per_strategy_and_skips_taken_ids() -> None:
    manager = OrderManager()
    assert manager.next_client_order_id("S1") == "S1-000001"
    assert manager.next_client_order_id("S1") == "S1-000002"
    assert manager.next_client_order_id("S2") == "S2-000001"
    manager.create(submit("S1-000003"), 0)
    manager.create(SubmitOrder("S1", "S1-000004", spec(quantity=0), 0), 0)  # denied, still taken
    assert manager.next_client_order_id("S1") == "S1-000005"
    with pytest.raises(InvalidValue) as error:
        manager.next_client_order_id("")
    assert error.value.code == "INVALID_STRATEGY_ID"


def test_create_returns_initialized_and_registers_the_order() -> None:
    manager = OrderManager()
    created = manager.create(submit("C1"), 5)
    assert isinstance(created, OrderInitialized)
    assert (created.client_order_id, created.ts_event, created.instrument_id) == (
        "C1",
        5,
        INSTRUMENT,
    )
    order = manager.order("C1")
    assert order is not None
    assert order.status is OrderStatus.INITIALIZED
    assert order.events == (created,)
    # Applying the event create() returned is a no-op (a generic apply-then-publish loop).
    assert manager.apply(created) is order
    assert order.events == (created,)


def test_duplicate_submit_is_denied_and_never_sent_twice() -> None:
    manager = OrderManager()
    sent: list[Command] = []

    def handle(command: SubmitOrder, ts: int) -> Any:
        result = manager.create(command, ts)
        if isinstance(result, OrderInitialized):
            sent.append(command)
        return result

    command = submit("C1")
    handle(command, 1)
    manager.apply(event(OrderSubmitted, ts=2))
    order = manager.order("C1")
    assert order is not None
    before = snapshot(order)
    for ts in (3, 4):
        denied = handle(command, ts)
        assert isinstance(denied, OrderDenied)
        assert denied.reason == DUPLICATE_CLIENT_ORDER_ID
        assert denied.client_order_id == "C1"
    # A different order reusing the id is a duplicate too.
    assert isinstance(handle(submit("C1", spec(price=90)), 5), OrderDenied)
    assert sent == [command]
    assert snapshot(order) == before
    # The denial concerns the refused submit, not the order holding the id.
    assert manager.apply(denied) is None
    assert snapshot(order) == before
    assert order.status is OrderStatus.SUBMITTED


INVALID_SPECS: list[tuple[dict[str, Any], str]] = [
    ({"quantity": 0}, "INVALID_QUANTITY"),
    ({"quantity": 2.5}, "INVALID_QUANTITY"),
    ({"side": 2}, "INVALID_SIDE"),
    ({"order_type": 9}, "INVALID_ORDER_TYPE"),
    ({"instrument_id": ""}, "INVALID_INSTRUMENT_ID"),
    ({"price": None}, "MISSING_PRICE"),
    ({"price": -5}, "INVALID_PRICE"),
    ({"order_type": MARKET}, "UNEXPECTED_PRICE"),
    ({"order_type": STOP, "price": None}, "MISSING_TRIGGER_PRICE"),
    ({"order_type": STOP_LIMIT, "trigger_price": None}, "MISSING_TRIGGER_PRICE"),
    ({"order_type": STOP, "price": None, "trigger_price": 0}, "INVALID_TRIGGER_PRICE"),
    ({"trigger_price": 99}, "UNEXPECTED_TRIGGER_PRICE"),
    ({"display_quantity": 11}, "INVALID_DISPLAY_QUANTITY"),
    ({"display_quantity": 0}, "INVALID_DISPLAY_QUANTITY"),
    (
        {"order_type": MARKET, "price": None, "display_quantity": 1},
        "DISPLAY_QUANTITY_NOT_APPLICABLE",
    ),
    ({"time_in_force": int(TimeInForce.GTD)}, "MISSING_EXPIRE_TS"),
    ({"time_in_force": int(TimeInForce.GTD), "expire_ts": 100}, "EXPIRE_TS_NOT_IN_FUTURE"),
    ({"expire_ts": 10**12}, "UNEXPECTED_EXPIRE_TS"),
    ({"time_in_force": 7}, "INVALID_TIME_IN_FORCE"),
    ({"trailing_offset": 5}, "TRAILING_NOT_STOP"),
    (
        {"order_type": STOP, "price": None, "trailing_offset_type": "TICKS"},
        "MISSING_TRAILING_OFFSET",
    ),
    (
        {"order_type": STOP, "price": None, "trailing_offset": 5, "trailing_offset_type": "PCT"},
        "INVALID_TRAILING_OFFSET_TYPE",
    ),
    (
        {"order_type": STOP, "price": None, "trailing_offset": 0, "trailing_offset_type": "TICKS"},
        "INVALID_TRAILING_OFFSET",
    ),
    (
        {
            "order_type": STOP,
            "price": None,
            "trailing_offset": 10_000,
            "trailing_offset_type": "BASIS_POINTS",
        },
        "INVALID_TRAILING_OFFSET",
    ),
    (
        {"post_only": int(PostOnly.REJECT), "time_in_force": int(TimeInForce.IOC)},
        "INVALID_POST_ONLY",
    ),
    ({"order_type": MARKET, "price": None, "post_only": int(PostOnly.SLIDE)}, "INVALID_POST_ONLY"),
    ({"post_only": 5}, "INVALID_POST_ONLY"),
    ({"emulated": True}, "EMULATION_NOT_SUPPORTED"),
    ({"contingency": "OCO"}, "INVALID_CONTINGENCY"),
    ({"order_list_id": "L1"}, "INVALID_CONTINGENCY"),
    ({"order_list_id": "L1", "contingency": "OTO"}, "INVALID_CONTINGENCY"),
    ({"order_list_id": "L1", "contingency": "XYZ"}, "INVALID_CONTINGENCY"),
    (
        {"order_list_id": "L1", "contingency": "BRACKET", "linked_order_ids": ("A",)},
        "INVALID_CONTINGENCY",
    ),
    (
        {
            "order_list_id": "L1",
            "contingency": "OTO",
            "parent_order_id": "P",
            "linked_order_ids": ("A",),
        },
        "INVALID_CONTINGENCY",
    ),
    (
        {"order_list_id": "L1", "contingency": "OCO", "linked_order_ids": ("A", "A")},
        "INVALID_CONTINGENCY",
    ),
]


@pytest.mark.parametrize(("fields", "reason"), INVALID_SPECS, ids=[r for _, r in INVALID_SPECS])
def test_invalid_spec_is_denied_with_a_specific_reason(fields: dict[str, Any], reason: str) -> None:
    manager = OrderManager()
    denied = manager.create(submit("C1", spec(**fields)), 1_000)
    assert isinstance(denied, OrderDenied)
    assert denied.reason == reason
    assert manager.order("C1") is None
    assert len(manager) == 0
    # The id is taken for good: even a valid resubmit is a duplicate.
    again = manager.create(submit("C1"), 1_001)
    assert isinstance(again, OrderDenied)
    assert again.reason == DUPLICATE_CLIENT_ORDER_ID


@pytest.mark.parametrize(
    "fields",
    [
        {"order_type": MARKET, "price": None, "time_in_force": int(TimeInForce.IOC)},
        {"order_type": STOP, "price": None, "trigger_price": 90},
        {"order_type": STOP_LIMIT, "trigger_price": 101},
        {"order_type": int(OrderType.MARKET_TO_LIMIT), "price": None},
        {
            "order_type": STOP,
            "price": None,
            "trailing_offset": 50,
            "trailing_offset_type": "BASIS_POINTS",
        },
        {
            "order_type": STOP_LIMIT,
            "trigger_price": 101,
            "trailing_offset": 3,
            "trailing_offset_type": "PRICE",
        },
        {"time_in_force": int(TimeInForce.GTD), "expire_ts": 2_000},
        {"time_in_force": int(TimeInForce.FOK)},
        {"time_in_force": int(TimeInForce.DAY), "display_quantity": 2, "post_only": 1},
        {"order_type": STOP, "price": None, "trigger_price": 90, "emulated": True},
    ],
)
def test_valid_specs_of_every_type_are_created(fields: dict[str, Any]) -> None:
    manager = OrderManager()
    assert isinstance(manager.create(submit("C1", spec(**fields)), 1_000), OrderInitialized)


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda m: m.create(CancelOrder(STRATEGY, INSTRUMENT, "C1", 0), 0), "INVALID_COMMAND"),
        (lambda m: m.create(submit("C1"), -1), "INVALID_TIMESTAMP"),
        (lambda m: m.create(SubmitOrder(STRATEGY, "", spec(), 0), 0), "INVALID_CLIENT_ORDER_ID"),
        (lambda m: m.create(SubmitOrder("", "C1", spec(), 0), 0), "INVALID_STRATEGY_ID"),
        (lambda m: m.apply(event(OrderAccepted, "nope")), "UNKNOWN_ORDER"),
    ],
)
def test_bad_calls_raise_and_change_nothing(call: Any, code: str) -> None:
    manager = OrderManager()
    with pytest.raises(InvalidValue) as error:
        call(manager)
    assert error.value.code == code
    assert len(manager) == 0
    assert not manager.is_taken("C1")


def test_events_rebuild_the_same_state_in_a_new_manager() -> None:
    live = OrderManager()
    working(live, "C1")
    working(live, "C2", side=1, price=105)
    live.apply(fill("C1", 4, 99, "T1"))
    live.apply(fill("C2", 10, 105, "T2", side=1))
    live.create(submit("C3", spec(quantity=-1)), 4)
    denied = OrderDenied(STRATEGY, INSTRUMENT, "C3", "INVALID_QUANTITY", "bad", 4, 4)
    log = [e for order in live for e in order.events] + [denied]
    replayed = OrderManager()
    for logged in sorted(log, key=lambda e: e.ts_event):
        replayed.apply(logged)
    for order in live:
        rebuilt = replayed.order(order.client_order_id)
        assert rebuilt is not None
        assert snapshot(rebuilt) == snapshot(order)
    assert replayed.is_taken("C3")
    assert replayed.next_client_order_id("S1") == "S1-000001"
    with pytest.raises(InvalidValue) as error:
        replayed.apply(OrderInitialized(STRATEGY, INSTRUMENT, "C1", spec(price=1), 9, 9))
    assert error.value.code == DUPLICATE_CLIENT_ORDER_ID


def test_queries_filter_by_strategy_instrument_status_and_openness() -> None:
    manager = OrderManager()
    working(manager, "C1")
    working(manager, "C2", instrument_id="Y.SIM")
    manager.create(SubmitOrder("S2", "D1", spec(), 1), 1)
    manager.apply(fill("C1", 10, 100, "T1"))
    ids = lambda orders: [o.client_order_id for o in orders]  # noqa: E731
    assert ids(manager.orders()) == ["C1", "C2", "D1"]
    assert ids(manager.orders(strategy_id="S1")) == ["C1", "C2"]
    assert ids(manager.orders(instrument_id="Y.SIM")) == ["C2"]
    assert ids(manager.orders(open_only=True)) == ["C2", "D1"]
    assert ids(manager.orders(status=OrderStatus.FILLED)) == ["C1"]
    assert ids(manager.orders("S1", INSTRUMENT, open_only=True)) == []
    assert "C1" in manager
    assert manager.is_duplicate_fill(fill("C1", 10, 100, "T1"))
    assert not manager.is_duplicate_fill(fill("C1", 10, 100, "T9"))


# -- modify (cancel/replace) ------------------------------------------------------------------


def modify(client_order_id: str = "C1", **fields: Any) -> ModifyOrder:
    values: dict[str, Any] = {"quantity": None, "price": None, "trigger_price": None}
    values.update(fields)
    return ModifyOrder(STRATEGY, INSTRUMENT, client_order_id, ts_init=20, **values)


def test_modify_of_a_working_order_goes_pending_then_updated() -> None:
    manager = OrderManager()
    working(manager)
    pending = manager.prepare_modify(modify(price=101, quantity=12), 20)
    assert isinstance(pending, OrderPendingUpdate)
    order = manager.apply(pending)
    assert order is not None
    assert order.status is OrderStatus.PENDING_UPDATE
    manager.apply(event(OrderUpdated, quantity=12, price=101, trigger_price=None, ts=21))
    assert order.status is OrderStatus.ACCEPTED
    assert (order.quantity, order.spec.price) == (12, 101)


def test_modify_rejected_by_the_venue_restores_the_order() -> None:
    manager = OrderManager()
    working(manager)
    manager.apply(fill("C1", 3, 100, "T1"))
    manager.apply(manager.prepare_modify(modify(price=90), 20))
    manager.apply(event(OrderModifyRejected, ts=21))
    order = manager.order("C1")
    assert order is not None
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert order.spec.price == 100


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({}, "NOTHING_TO_MODIFY"),
        ({"quantity": 0}, "INVALID_QUANTITY"),
        ({"quantity": 3}, "QUANTITY_NOT_ABOVE_FILLED"),
        ({"price": -1}, "INVALID_PRICE"),
        ({"trigger_price": 95}, "TRIGGER_NOT_APPLICABLE"),
        ({"price": 100, "quantity": 10}, "NO_CHANGE"),
    ],
)
def test_invalid_modify_is_rejected_locally(fields: dict[str, Any], reason: str) -> None:
    manager = OrderManager()
    working(manager)
    manager.apply(fill("C1", 3, 100, "T1"))
    answer = manager.prepare_modify(modify(**fields), 20)
    assert isinstance(answer, OrderModifyRejected)
    assert answer.reason == reason
    order = manager.order("C1")
    assert order is not None
    before = snapshot(order)
    manager.apply(answer)
    assert snapshot(order)[:-2] == before[:-2]  # only the event list and time moved


def test_modify_of_closed_or_cancel_pending_orders_is_rejected() -> None:
    manager = OrderManager()
    working(manager, "C1")
    working(manager, "C2")
    manager.apply(event(OrderCanceled, "C1"))
    manager.apply(event(OrderPendingCancel, "C2"))
    closed = manager.prepare_modify(modify("C1", price=99), 20)
    pending = manager.prepare_modify(modify("C2", price=99), 20)
    assert isinstance(closed, OrderModifyRejected)
    assert isinstance(pending, OrderModifyRejected)
    assert (closed.reason, pending.reason) == ("ORDER_CLOSED", "PENDING_CANCEL")


def test_modify_and_cancel_of_a_held_order_are_local() -> None:
    manager = OrderManager()
    manager.create(submit("C1"), 1)
    update = manager.prepare_modify(modify(price=98), 20)
    assert isinstance(update, OrderUpdated)
    assert (update.quantity, update.price) == (10, 98)
    order = manager.apply(update)
    assert order is not None
    assert (order.status, order.spec.price) == (OrderStatus.INITIALIZED, 98)
    canceled = manager.prepare_cancel(CancelOrder(STRATEGY, INSTRUMENT, "C1", 21), 21)
    assert isinstance(canceled, OrderCanceled)
    assert canceled.reason == "REQUESTED"
    manager.apply(canceled)
    assert order.status is OrderStatus.CANCELED


def test_requests_for_unknown_foreign_or_emulated_orders_raise() -> None:
    manager = OrderManager()
    working(manager, "C1")
    manager.create(submit("E1", spec(order_type=STOP, price=None, trigger_price=90)), 1)
    manager.apply(event(OrderEmulated, "E1"))
    cases = [
        (lambda: manager.prepare_modify(modify("nope", price=1), 20), "UNKNOWN_ORDER"),
        (
            lambda: manager.prepare_cancel(CancelOrder("S9", INSTRUMENT, "C1", 20), 20),
            "WRONG_ORDER",
        ),
        (lambda: manager.prepare_modify(modify("E1", trigger_price=91), 20), "ORDER_EMULATED"),
        (
            lambda: manager.prepare_cancel(CancelOrder(STRATEGY, INSTRUMENT, "E1", 20), 20),
            "ORDER_EMULATED",
        ),
        (
            lambda: manager.prepare_modify(CancelOrder(STRATEGY, INSTRUMENT, "C1", 20), 20),
            "INVALID_COMMAND",
        ),  # type: ignore[arg-type]
        (
            lambda: manager.prepare_cancel(CancelOrder(STRATEGY, INSTRUMENT, "C1", 20), -3),
            "INVALID_TIMESTAMP",
        ),
    ]
    for call, code in cases:
        with pytest.raises(InvalidValue) as error:
            call()
        assert error.value.code == code


# -- cancel -----------------------------------------------------------------------------------


def test_cancel_of_a_working_order_goes_pending_then_canceled() -> None:
    manager = OrderManager()
    working(manager)
    pending = manager.prepare_cancel(CancelOrder(STRATEGY, INSTRUMENT, "C1", 20), 20)
    assert isinstance(pending, OrderPendingCancel)
    manager.apply(pending)
    again = manager.prepare_cancel(CancelOrder(STRATEGY, INSTRUMENT, "C1", 21), 21)
    assert isinstance(again, OrderCancelRejected)
    assert again.reason == "ALREADY_PENDING_CANCEL"
    manager.apply(event(OrderCanceled, ts=22))
    late = manager.prepare_cancel(CancelOrder(STRATEGY, INSTRUMENT, "C1", 23), 23)
    assert isinstance(late, OrderCancelRejected)
    assert late.reason == "ORDER_CLOSED"
    assert manager.orders(open_only=True) == []


def test_cancel_all_covers_the_strategys_open_orders_on_the_instrument_and_side() -> None:
    manager = OrderManager()
    working(manager, "B1")
    working(manager, "S1x", side=1, price=110)
    working(manager, "Y1", instrument_id="Y.SIM")
    manager.create(submit("B2"), 4)  # still held locally
    manager.create(SubmitOrder("S2", "O1", spec(), 4), 4)  # another strategy
    working(manager, "B3")
    manager.apply(event(OrderPendingCancel, "B3"))
    buys = manager.prepare_cancel_all(CancelAllOrders(STRATEGY, INSTRUMENT, 0, 30), 30)
    assert [(type(e), e.client_order_id) for e in buys] == [
        (OrderPendingCancel, "B1"),
        (OrderCanceled, "B2"),
    ]
    both = manager.prepare_cancel_all(CancelAllOrders(STRATEGY, INSTRUMENT, None, 30), 30)
    assert [e.client_order_id for e in both] == ["B1", "S1x", "B2"]
    with pytest.raises(InvalidValue) as error:
        manager.prepare_cancel_all(CancelAllOrders(STRATEGY, INSTRUMENT, 3, 30), 30)
    assert error.value.code == "INVALID_SIDE"


def test_fill_for_an_unknown_order_is_refused() -> None:
    manager = OrderManager()
    with pytest.raises(InvalidValue) as error:
        manager.apply(fill("ghost", 1))
    assert error.value.code == "UNKNOWN_ORDER"
    assert not manager.is_duplicate_fill(fill("ghost", 1))
    assert isinstance(fill("ghost", 1), OrderFilled)
