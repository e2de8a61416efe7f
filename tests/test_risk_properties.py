"""Hypothesis: random sequences of calls on the compiled RiskGate agree with the pure-Python
reference model in tests/risk_reference_model.py, decision by decision and state by state."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from hftcore import (
    AccountLimits,
    Instrument,
    InstrumentLimits,
    RiskGate,
    ThrottleLimit,
    TradingState,
)
from hftcore.errors import InvalidValue
from hypothesis import event, given, settings
from hypothesis import strategies as st
from risk_reference_model import ReferenceGate, money

SECOND = 1_000_000_000
BASE_PRICE = 10_000

INSTRUMENTS = [
    (
        Instrument("AAA.SIM", "0.01", 2, "1", 0, "1", "40", "150"),
        InstrumentLimits(
            max_order_quantity=15,
            max_order_notional=1_200,
            collar_bps=200,
            max_long_position=20,
            max_short_position=12,
        ),
    ),
    (
        Instrument("BBB.SIM", "0.5", 1, "0.001", 3, "0.002", "0.05"),
        InstrumentLimits(collar_ticks=150, max_long_position=Decimal("0.06")),
    ),
]


def account(breaker_state: TradingState) -> AccountLimits:
    return AccountLimits(
        max_open_orders=6,
        max_gross_exposure=1_600,
        max_net_exposure=1_500,
        order_rate=ThrottleLimit(capacity=5, refill_per_second=Decimal("4.5")),
        cancel_rate=ThrottleLimit(capacity=2, refill_per_second=1),
        daily_loss_limit=60,
        circuit_breaker_state=breaker_state,
    )


def outcome(call: Callable[..., Any], *args: Any) -> Any:
    """The call's result, or the reason code of the InvalidValue it raised."""
    try:
        return call(*args)
    except InvalidValue as error:
        return error.code


def assert_same_state(gate: RiskGate, model: ReferenceGate) -> None:
    assert gate.open_order_count == len(model.orders)
    for order in model.orders:
        tracked = gate.open_order(order.order_id)
        assert tracked is not None
        assert tracked.open_quantity == order.open
    for index in range(len(model.instruments)):
        position = gate.position(index)
        assert position.position == model.position(index)
        assert position.open_buy_quantity == model.open_quantity(index, 0)
        assert position.open_sell_quantity == model.open_quantity(index, 1)
        assert position.reference_price == model.instruments[index].mark
    gross, _, _ = model.exposure()
    assert money(gate.gross_exposure) == gross
    assert money(gate.net_exposure) == model.net_exposure()
    assert money(gate.realized_pnl + gate.unrealized_pnl) == model.total_pnl()
    assert money(gate.daily_pnl) == model.daily_pnl()
    assert gate.trading_state == model.trading_state()
    trip = gate.circuit_breaker_trip
    assert (trip.state if trip is not None else None) == model.breaker
    assert gate.kill_switch_engaged == model.kill_switch


orders = st.tuples(
    st.just("order"),
    st.sampled_from([0] * 6 + [1] * 6 + [2]),
    st.sampled_from([0] * 10 + [1] * 10 + [2]),
    st.one_of(st.integers(-120, 120), st.integers(-120, 120), st.integers(-250, 250)),
    st.sampled_from([*range(1, 21), *range(1, 21), *range(1, 21), -1, 0, 25, 45, 60]),
    st.sampled_from([False] * 9 + [True]),
)
fills = st.tuples(
    st.just("fill"),
    st.integers(0, 7),
    st.integers(1, 30),
    st.integers(-200, 200),
    st.integers(-5, 20),
)
steps = st.lists(
    st.tuples(
        st.one_of(
            orders,
            orders,
            orders,
            orders,
            st.tuples(st.just("cancel"), st.integers(0, 7)),
            fills,
            fills,
            fills,
            st.tuples(st.just("close"), st.integers(0, 7)),
            st.tuples(st.just("price"), st.integers(0, 1), st.integers(-700, 700)),
            st.tuples(st.just("kill"), st.sampled_from([False] * 9 + [True])),
            st.tuples(st.just("state"), st.sampled_from([0, 0, 0, 0, 1, 2])),
            st.tuples(st.just("day")),
            st.tuples(st.just("reset")),
            st.tuples(st.just("unknown"), st.integers(10**6, 10**6 + 9)),
        ),
        st.integers(0, SECOND // 8),
    ),
    min_size=40,
    max_size=120,
)


@settings(max_examples=150, deadline=None)
@given(halting=st.booleans(), steps=steps)
def test_bindings_match_the_reference_model(halting: bool, steps: list[Any]) -> None:
    limits = account(TradingState.HALTED if halting else TradingState.REDUCING)
    gate = RiskGate(limits)
    model = ReferenceGate(limits)
    for instrument, instrument_limits in INSTRUMENTS:
        index = gate.register_instrument(instrument, instrument_limits)
        assert model.register(instrument, instrument_limits) == index
        gate.on_price(index, BASE_PRICE, 0)
        model.on_price(index, BASE_PRICE)
    gate.start_day(0)
    model.start_day()
    ts = 0
    next_id = 1
    for step, dt in steps:
        ts += dt
        kind = step[0]
        if kind == "order":
            _, index, side, offset, quantity, reuse = step
            if reuse and model.orders:
                order_id = model.orders[0].order_id
            else:
                next_id += 1
                order_id = next_id
            mark = model.instruments[index].mark if index < len(model.instruments) else None
            price = (mark or BASE_PRICE) + offset
            expected = model.check_order(order_id, index, side, price, quantity, ts=ts)
            got = outcome(gate.check_order, order_id, index, side, price, quantity, ts)
            assert got == expected
            event(f"check_order -> {got}")
        elif kind == "cancel":
            order_id = model.orders[step[1]].order_id if step[1] < len(model.orders) else 999
            expected = model.check_cancel(order_id, ts)
            assert outcome(gate.check_cancel, order_id, ts) == expected
        elif kind == "fill":
            _, pick, part, offset, fee_cents = step
            if not model.orders:
                continue
            order = model.orders[pick % len(model.orders)]
            price = (model.instruments[order.instrument].mark or BASE_PRICE) + offset
            quantity = min(part, order.open + 1)
            fee = Decimal(fee_cents) / 100
            order_id = order.order_id
            expected_error = model.on_fill(order_id, price, quantity, money(fee))
            got = outcome(gate.on_fill, order_id, price, quantity, ts, fee)
            assert got == expected_error
        elif kind == "close":
            if step[1] < len(model.orders):
                order_id = model.orders[step[1]].order_id
                assert model.on_order_closed(order_id) is None
                gate.on_order_closed(order_id)
        elif kind == "price":
            _, index, offset = step
            gate.on_price(index, BASE_PRICE + offset, ts)
            model.on_price(index, BASE_PRICE + offset)
        elif kind == "kill":
            if step[1]:
                gate.engage_kill_switch()
            else:
                gate.reset_kill_switch()
            model.kill_switch = step[1]
        elif kind == "state":
            gate.set_trading_state(step[1])
            model.operator_state = TradingState(step[1])
        elif kind == "day":
            gate.start_day(ts)
            model.start_day()
        elif kind == "reset":
            gate.reset_circuit_breaker(ts)
            model.reset_circuit_breaker()
        else:
            order_id = step[1]
            assert outcome(gate.on_fill, order_id, BASE_PRICE, 1, ts) == "UNKNOWN_ORDER"
            assert outcome(gate.on_order_closed, order_id) == "UNKNOWN_ORDER"
            assert outcome(gate.check_cancel, order_id, ts) == "UNKNOWN_ORDER"
        assert_same_state(gate, model)
