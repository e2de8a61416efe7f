"""The order emulator: stops and trailing stops held locally and released on market prices."""

from __future__ import annotations

from typing import Any

import pytest
from hftcore.errors import InvalidValue
from hftcore.model.data import Quote, Trade
from hftcore.model.events import (
    CancelAllOrders,
    CancelOrder,
    ModifyOrder,
    OrderAccepted,
    OrderCanceled,
    OrderEmulated,
    OrderExpired,
    OrderModifyRejected,
    OrderReleased,
    OrderSubmitted,
    OrderTriggered,
    OrderUpdated,
    SubmitOrder,
)
from hftcore.model.orders import OrderType, TimeInForce
from hftcore.oms import OmsActions, OrderEmulator, OrderManager, OrderStatus, TriggerSource
from hypothesis import given, settings
from hypothesis import strategies as st
from oms_helpers import BUY, INSTRUMENT, SELL, STRATEGY, event, fill, spec, submit

STOP = int(OrderType.STOP)
STOP_LIMIT = int(OrderType.STOP_LIMIT)


def stop(side: int = SELL, trigger: int | None = 95, **fields: Any) -> Any:
    return spec(side=side, order_type=STOP, price=None, trigger_price=trigger, **fields)


def trailing(side: int, offset_type: str, offset: int, trigger: int | None = None) -> Any:
    return stop(side, trigger, trailing_offset=offset, trailing_offset_type=offset_type)


class Desk:
    """An order manager and an emulator wired the way the node wires them."""

    def __init__(self, **emulator_options: Any) -> None:
        self.orders = OrderManager()
        self.emulator = OrderEmulator(**emulator_options)
        self.sent: list[SubmitOrder] = []
        self.ts = 0

    def hold(self, client_order_id: str, order_spec: Any) -> OmsActions:
        self.orders.create(submit(client_order_id, order_spec), self.ts)
        order = self.orders.order(client_order_id)
        assert order is not None
        return self.process(self.emulator.hold(order, self.ts))

    def process(self, actions: OmsActions) -> OmsActions:
        for change in actions.events:
            self.orders.apply(change)
        for command in actions.commands:
            assert isinstance(command, SubmitOrder)
            self.sent.append(command)
        return actions

    def trade(self, price: int) -> OmsActions:
        self.ts += 1
        return self.process(
            self.emulator.on_trade(Trade(INSTRUMENT, price, 1, -1, "t", self.ts, self.ts))
        )

    def quote(self, bid: int, ask: int, bid_size: int = 5, ask_size: int = 5) -> OmsActions:
        self.ts += 1
        return self.process(
            self.emulator.on_quote(
                Quote(INSTRUMENT, bid, bid_size, ask, ask_size, self.ts, self.ts)
            )
        )

    def status(self, client_order_id: str = "C1") -> OrderStatus:
        order = self.orders.order(client_order_id)
        assert order is not None
        return order.status


def test_requires_emulation_follows_the_venue_capabilities() -> None:
    plain_stop = stop()
    trailing_stop = trailing(SELL, "TICKS", 3)
    limit = spec()
    asked = stop(emulated=True)
    default = OrderEmulator()
    assert (default.requires_emulation(plain_stop), default.requires_emulation(trailing_stop)) == (
        False,
        True,
    )
    no_stops = OrderEmulator(native_stops=False, native_trailing_stops=True)
    assert (
        no_stops.requires_emulation(plain_stop),
        no_stops.requires_emulation(trailing_stop),
    ) == (
        True,
        False,
    )
    assert not no_stops.requires_emulation(limit)
    assert no_stops.requires_emulation(asked)


def test_stop_is_held_then_released_as_a_market_order() -> None:
    desk = Desk(native_stops=False)
    held = desk.hold("C1", stop(SELL, 95, quantity=7))
    assert [type(e) for e in held.events] == [OrderEmulated]
    assert held.commands == ()
    assert desk.status() is OrderStatus.EMULATED
    assert not desk.trade(100)
    assert not desk.trade(96)
    released = desk.trade(95)
    assert [type(e) for e in released.events] == [OrderTriggered, OrderReleased]
    assert isinstance(released.events[1], OrderReleased)
    assert released.events[1].released_price == 95
    (child,) = released.commands
    assert isinstance(child, SubmitOrder)
    assert child.client_order_id == "C1"
    assert child.order.order_type == OrderType.MARKET
    assert child.order.time_in_force == TimeInForce.IOC
    assert (child.order.quantity, child.order.side, child.order.trigger_price) == (7, SELL, None)
    assert desk.status() is OrderStatus.RELEASED
    assert "C1" not in desk.emulator
    # The released order then lives at the venue under the same id.
    desk.orders.apply(event(OrderSubmitted, "C1"))
    desk.orders.apply(event(OrderAccepted, "C1"))
    desk.orders.apply(fill("C1", 7, 94, "T1", side=SELL))
    assert desk.status() is OrderStatus.FILLED
    assert not desk.trade(90)


def test_buy_stop_limit_is_released_as_a_limit_with_its_time_in_force() -> None:
    desk = Desk(native_stops=False)
    order_spec = spec(
        side=BUY,
        order_type=STOP_LIMIT,
        price=106,
        trigger_price=105,
        time_in_force=int(TimeInForce.GTD),
        expire_ts=10_000,
    )
    desk.hold("C1", order_spec)
    assert not desk.trade(104)
    (child,) = desk.trade(105).commands
    assert isinstance(child, SubmitOrder)
    assert child.order.order_type == OrderType.LIMIT
    assert (child.order.price, child.order.time_in_force, child.order.expire_ts) == (
        106,
        TimeInForce.GTD,
        10_000,
    )
    assert child.order.emulated is False


def test_fill_or_kill_stop_is_released_fill_or_kill() -> None:
    desk = Desk(native_stops=False)
    desk.hold("C1", stop(SELL, 95, time_in_force=int(TimeInForce.FOK)))
    (child,) = desk.trade(90).commands
    assert isinstance(child, SubmitOrder)
    assert child.order.time_in_force == TimeInForce.FOK


def test_trigger_sources() -> None:
    # A buy stop compares the ask, a sell stop the bid; the source picks what counts.
    for source, expected in [
        (TriggerSource.LAST_TRADE, ["trade"]),
        (TriggerSource.BID_ASK, ["quote"]),
        (TriggerSource.BOTH, ["trade", "quote"]),
    ]:
        seen = []
        for kind in ("trade", "quote"):
            desk = Desk(native_stops=False, trigger_source=source)
            desk.hold("B", stop(BUY, 105))
            desk.hold("S", stop(SELL, 95))
            if kind == "trade":
                released = desk.trade(105).commands + desk.trade(95).commands
            else:
                released = (
                    desk.quote(bid=104, ask=105).commands + desk.quote(bid=95, ask=96).commands
                )
            if [c.client_order_id for c in released] == ["B", "S"]:
                seen.append(kind)
        assert seen == expected, source


def test_quote_side_without_size_is_ignored() -> None:
    desk = Desk(native_stops=False, trigger_source=TriggerSource.BID_ASK)
    desk.hold("C1", stop(SELL, 95))
    assert not desk.quote(bid=90, ask=96, bid_size=0)
    assert desk.quote(bid=95, ask=96).commands


def test_stop_already_reached_when_held_is_released_at_once() -> None:
    desk = Desk(native_stops=False)
    desk.trade(90)
    actions = desk.hold("C1", stop(SELL, 95))
    assert [type(e) for e in actions.events] == [OrderEmulated, OrderTriggered, OrderReleased]
    assert len(actions.commands) == 1
    assert desk.status() is OrderStatus.RELEASED


# -- trailing stops ---------------------------------------------------------------------------


def reference_trail(
    side: int, offset_type: str, offset: int, initial: int | None, prices: list[int]
) -> tuple[int | None, list[int | None]]:
    """Textbook trailing stop, written independently: a sell's trigger is the highest price
    seen minus the offset at that price (never below the initial trigger), a buy's the lowest
    plus the offset (never above it). Returns the index of the triggering price (checked
    against the trigger before it) and the trigger after each price."""
    extreme: int | None = None
    triggers: list[int | None] = []

    def distance(price: int) -> int:
        return max(1, price * offset // 10_000) if offset_type == "BASIS_POINTS" else offset

    def trigger() -> int | None:
        if extreme is None:
            return initial
        trailed = extreme - distance(extreme) if side == SELL else extreme + distance(extreme)
        if initial is None:
            return trailed
        return max(initial, trailed) if side == SELL else min(initial, trailed)

    for index, price in enumerate(prices):
        current = trigger()
        if current is not None and (price <= current if side == SELL else price >= current):
            return index, triggers
        if extreme is None:
            extreme = price
        else:
            extreme = max(extreme, price) if side == SELL else min(extreme, price)
        triggers.append(trigger())
    return None, triggers


PATH = [1000, 1004, 1010, 1007, 1015, 1012, 1013, 1009, 1003, 990]


@pytest.mark.parametrize(
    ("side", "offset_type", "offset", "expected_index"),
    [
        (SELL, "PRICE", 5, 7),  # highest 1015 -> trigger 1010, reached by 1009
        (SELL, "TICKS", 12, 8),  # highest 1015 -> trigger 1003, reached by 1003
        (SELL, "BASIS_POINTS", 50, 7),  # 1015 * 50 // 10000 = 5 ticks -> 1010
        (SELL, "BASIS_POINTS", 200, 9),  # 1015 * 200 // 10000 = 20 ticks -> 995
        (BUY, "TICKS", 8, 2),  # lowest 1000 -> trigger 1008: 1004 does not reach it, 1010 does
    ],
)
def test_trailing_stop_on_a_price_path(
    side: int, offset_type: str, offset: int, expected_index: int
) -> None:
    desk = Desk()
    desk.hold("C1", trailing(side, offset_type, offset))
    released_at = None
    triggers: list[int | None] = []
    for index, price in enumerate(PATH):
        actions = desk.trade(price)
        if actions.commands:
            released_at = index
            break
        triggers.append(desk.emulator.trigger_price("C1"))
    assert released_at == expected_index
    assert (released_at, triggers) == reference_trail(side, offset_type, offset, None, PATH)


def test_trailing_moves_are_reported_as_updates() -> None:
    desk = Desk()
    desk.hold("C1", trailing(SELL, "TICKS", 5, trigger=990))
    order = desk.orders.order("C1")
    assert order is not None
    assert not desk.trade(994)  # 989 would lower the trigger: no move
    moved = desk.trade(1000)
    assert [type(e) for e in moved.events] == [OrderUpdated]
    assert order.spec.trigger_price == 995
    assert order.status is OrderStatus.EMULATED
    assert not desk.trade(998)
    assert desk.trade(995).commands


def test_trailing_stop_limit_keeps_its_limit_distance() -> None:
    desk = Desk()
    order_spec = spec(
        side=SELL,
        order_type=STOP_LIMIT,
        price=97,
        trigger_price=98,
        trailing_offset=2,
        trailing_offset_type="PRICE",
    )
    desk.hold("C1", order_spec)
    desk.trade(110)
    assert desk.emulator.spec("C1").trigger_price == 108
    assert desk.emulator.spec("C1").price == 107
    (child,) = desk.trade(108).commands
    assert isinstance(child, SubmitOrder)
    assert (child.order.order_type, child.order.price) == (OrderType.LIMIT, 107)


prices = st.lists(st.integers(500, 1500), min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    side=st.sampled_from([BUY, SELL]),
    offset_type=st.sampled_from(["PRICE", "TICKS", "BASIS_POINTS"]),
    offset=st.integers(1, 400),
    initial=st.none() | st.integers(400, 1600),
    path=prices,
)
def test_trailing_stop_matches_the_reference(
    side: int, offset_type: str, offset: int, initial: int | None, path: list[int]
) -> None:
    desk = Desk()
    desk.hold("C1", trailing(side, offset_type, offset, trigger=initial))
    released_at = None
    triggers: list[int | None] = []
    for index, price in enumerate(path):
        actions = desk.trade(price)
        if actions.commands:
            released_at = index
            (child,) = actions.commands
            assert isinstance(child, SubmitOrder)
            assert child.order.order_type == OrderType.MARKET
            released = actions.events[-1]
            assert isinstance(released, OrderReleased)
            assert released.released_price == price
            break
        triggers.append(desk.emulator.trigger_price("C1"))
    expected_index, expected_triggers = reference_trail(side, offset_type, offset, initial, path)
    assert released_at == expected_index
    assert triggers == expected_triggers
    order = desk.orders.order("C1")
    assert order is not None
    assert order.status is (OrderStatus.EMULATED if released_at is None else OrderStatus.RELEASED)


# -- requests and time ------------------------------------------------------------------------


def modify(**fields: Any) -> ModifyOrder:
    values: dict[str, Any] = {"quantity": None, "price": None, "trigger_price": None}
    values.update(fields)
    return ModifyOrder(STRATEGY, INSTRUMENT, "C1", ts_init=0, **values)


def test_modify_held_order() -> None:
    desk = Desk(native_stops=False)
    desk.hold("C1", stop(SELL, 95))
    desk.trade(100)
    updated = desk.process(desk.emulator.modify(modify(trigger_price=97, quantity=4), desk.ts))
    assert [type(e) for e in updated.events] == [OrderUpdated]
    order = desk.orders.order("C1")
    assert order is not None
    assert (order.spec.trigger_price, order.quantity) == (97, 4)
    rejected = desk.emulator.modify(modify(price=90), desk.ts)
    assert isinstance(rejected.events[0], OrderModifyRejected)
    assert rejected.events[0].reason == "PRICE_NOT_APPLICABLE"
    # Moving the trigger to where the market already is releases the order.
    moved = desk.process(desk.emulator.modify(modify(trigger_price=101), desk.ts))
    assert [type(e) for e in moved.events] == [OrderUpdated, OrderTriggered, OrderReleased]
    assert desk.sent[-1].order.quantity == 4


def test_cancel_and_cancel_all() -> None:
    desk = Desk(native_stops=False)
    desk.hold("C1", stop(SELL, 95))
    desk.hold("C2", stop(BUY, 105))
    desk.hold("C3", stop(BUY, 106))
    desk.ts = 2
    canceled = desk.emulator.cancel(CancelOrder(STRATEGY, INSTRUMENT, "C1", 0), 1)
    assert isinstance(canceled, OrderCanceled)
    desk.orders.apply(canceled)
    assert desk.status("C1") is OrderStatus.CANCELED
    buys = desk.emulator.cancel_all(CancelAllOrders(STRATEGY, INSTRUMENT, BUY, 0), 2)
    assert all(isinstance(e, OrderCanceled) for e in buys)
    assert [e.client_order_id for e in buys] == ["C2", "C3"]
    assert len(desk.emulator) == 0
    assert not desk.trade(200)


def test_gtd_and_day_orders_expire() -> None:
    desk = Desk(native_stops=False)
    desk.hold("G", stop(SELL, 95, time_in_force=int(TimeInForce.GTD), expire_ts=5))
    desk.hold("D", stop(SELL, 94, time_in_force=int(TimeInForce.DAY)))
    desk.hold("C", stop(SELL, 93))
    assert desk.emulator.advance_time(4) == []
    desk.ts = 5
    # Past its expiry a GTD order never triggers, even before advance_time is called.
    released = desk.trade(90).commands
    assert [c.client_order_id for c in released] == ["D", "C"]
    expired = desk.emulator.advance_time(7)
    assert [(type(e), e.client_order_id) for e in expired] == [(OrderExpired, "G")]
    desk.ts = 7
    desk.hold("D2", stop(SELL, 80, time_in_force=int(TimeInForce.DAY)))
    assert [e.client_order_id for e in desk.emulator.end_session(8)] == ["D2"]


def test_restore_takes_back_an_emulated_order() -> None:
    desk = Desk()
    desk.hold("C1", trailing(SELL, "TICKS", 5))
    desk.trade(100)
    order = desk.orders.order("C1")
    assert order is not None
    fresh = OrderEmulator()
    fresh.restore(order)
    assert fresh.trigger_price("C1") == 95
    released = fresh.on_trade(Trade(INSTRUMENT, 95, 1, -1, "t", 50, 50))
    assert len(released.commands) == 1


def test_bad_input_is_refused_and_changes_nothing() -> None:
    desk = Desk(native_stops=False)
    desk.hold("C1", stop(SELL, 95))
    desk.orders.create(submit("L1"), 0)
    limit = desk.orders.order("L1")
    emulated = desk.orders.order("C1")
    assert limit is not None
    assert emulated is not None
    cases: list[tuple[Any, str]] = [
        (lambda: desk.emulator.hold(limit, 5), "EMULATION_NOT_SUPPORTED"),
        (lambda: desk.emulator.hold(emulated, 5), "INVALID_STATE"),
        (lambda: desk.emulator.on_price(INSTRUMENT, None, None, 94.5, 6), "INVALID_PRICE"),
        (lambda: desk.emulator.on_price("", None, None, 94, 6), "INVALID_INSTRUMENT_ID"),
        (lambda: desk.emulator.on_price(INSTRUMENT, None, None, 94, -1), "INVALID_TIMESTAMP"),
        (
            lambda: desk.emulator.cancel(CancelOrder(STRATEGY, INSTRUMENT, "zz", 0), 6),
            "UNKNOWN_ORDER",
        ),
        (lambda: desk.emulator.cancel(CancelOrder("S9", INSTRUMENT, "C1", 0), 6), "WRONG_ORDER"),
        (lambda: desk.emulator.on_quote("quote"), "INVALID_DATA"),
        (lambda: OrderEmulator(native_stops=1), "INVALID_FLAG"),
    ]
    desk.emulator.on_price(INSTRUMENT, None, None, 100, 10)
    cases.append(
        (lambda: desk.emulator.on_price(INSTRUMENT, None, None, 90, 9), "TIME_WENT_BACKWARDS")
    )
    for call, code in cases:
        with pytest.raises(InvalidValue) as error:
            call()
        assert error.value.code == code
    assert desk.emulator.held_order_ids() == ["C1"]
    assert desk.emulator.trigger_price("C1") == 95
    assert desk.emulator.on_price(INSTRUMENT, None, None, 95, 10).commands
