"""The RiskGate bindings: checks and events through Python, value types, and bad input on
every public entry point (a specific exception and no change of state)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hftcore import (
    AccountLimits,
    CircuitBreakerTrip,
    Instrument,
    InstrumentLimits,
    OpenOrder,
    RejectReason,
    RiskGate,
    RiskPosition,
    Side,
    ThrottleLimit,
    TradingState,
)
from hftcore._core import risk_reject_reasons
from hftcore.errors import ConfigError, InvalidValue, RiskRejected

SECOND = 1_000_000_000
PRICE = 10_000  # 100.00 in ticks of 0.01
BUY, SELL = 0, 1


def instrument(instrument_id: str = "AAPL.SIM") -> Instrument:
    return Instrument(instrument_id, "0.01", 2, "1", 0, "1", "1000", "5")


def make_gate(
    account: AccountLimits | None = None, limits: InstrumentLimits | None = None
) -> RiskGate:
    gate = RiskGate(account)
    index = gate.register_instrument(instrument(), limits)
    gate.on_price(index, PRICE, 0)
    return gate


def observable_state(gate: RiskGate) -> tuple[Any, ...]:
    """Everything a caller can see, to show that a refused call changed nothing."""
    return (
        [gate.position(index) for index in range(len(gate.instrument_ids))],
        gate.open_orders(),
        gate.instrument_ids,
        gate.trading_state,
        gate.operator_trading_state,
        gate.day_start_ts,
        gate.kill_switch_engaged,
        gate.circuit_breaker_trip,
        gate.realized_pnl,
        gate.unrealized_pnl,
        gate.daily_pnl,
        gate.gross_exposure,
        gate.net_exposure,
        gate.order_tokens(10 * SECOND),
        gate.cancel_tokens(10 * SECOND),
    )


def test_reject_reasons_match_the_compiled_codes() -> None:
    compiled = risk_reject_reasons()
    assert [(reason.value, reason.name) for reason in RejectReason][1:] == [
        (code, name) for code, name, _ in compiled
    ]
    assert RejectReason.APPROVED == 0
    for code, _, sentence in compiled:
        assert RejectReason(code).description == sentence
    assert [state.name for state in TradingState] == ["ACTIVE", "REDUCING", "HALTED"]


def test_limits_decode_from_a_config_table() -> None:
    table = {
        "max_open_orders": 50,
        "max_gross_exposure": "250000.50",
        "order_rate": {"capacity": 10, "refill_per_second": 2.5},
        "daily_loss_limit": 5000,
        "circuit_breaker_state": 1,
    }
    limits = msgspec.convert(table, AccountLimits, strict=False)
    assert limits.circuit_breaker_state is TradingState.REDUCING
    assert limits.order_rate == ThrottleLimit(capacity=10, refill_per_second=2.5)
    gate = RiskGate(limits)
    assert gate.order_tokens(0) == 10


def test_an_approved_order_is_open_and_counted() -> None:
    gate = make_gate()
    assert gate.check_order(1, 0, BUY, PRICE, 3, 0) == RejectReason.APPROVED
    assert gate.open_orders() == [
        OpenOrder(order_id=1, instrument=0, side=Side.BUY, open_quantity=3)
    ]
    assert gate.open_orders()[0].side is Side.BUY
    position = gate.position(0)
    assert position == RiskPosition(
        instrument=0,
        position=0,
        open_buy_quantity=3,
        open_sell_quantity=0,
        reference_price=PRICE,
        cost_basis=Decimal(0),
        realized_pnl=Decimal(0),
        unrealized_pnl=Decimal(0),
        fees=Decimal(0),
        gross_exposure=Decimal(300),
    )
    assert gate.gross_exposure == Decimal(300)
    assert gate.net_exposure == Decimal(300)


def test_each_limit_rejects_with_its_reason() -> None:
    limits = InstrumentLimits(
        max_order_quantity=10,
        max_order_notional=Decimal("800"),
        collar_bps=100,
        max_long_position=12,
        max_short_position=5,
    )
    account = AccountLimits(max_open_orders=3, max_gross_exposure=1_500, max_net_exposure=1_400)
    gate = make_gate(account, limits)
    assert gate.check_order(1, 0, BUY, PRICE, 1001, 0) == RejectReason.QUANTITY_OUT_OF_RANGE
    assert gate.check_order(1, 0, BUY, 400, 1, 0) == RejectReason.BELOW_MIN_NOTIONAL
    assert gate.check_order(1, 0, BUY, PRICE, 11, 0) == RejectReason.MAX_ORDER_QUANTITY
    assert gate.check_order(1, 0, BUY, PRICE, 9, 0) == RejectReason.MAX_ORDER_NOTIONAL
    assert gate.check_order(1, 0, BUY, PRICE + 101, 1, 0) == RejectReason.PRICE_COLLAR
    assert gate.check_order(1, 0, BUY, PRICE, 8, 0) == RejectReason.APPROVED
    assert gate.check_order(2, 0, BUY, PRICE, 5, 0) == RejectReason.MAX_LONG_POSITION
    assert gate.check_order(2, 0, SELL, PRICE, 6, 0) == RejectReason.MAX_SHORT_POSITION
    gate.on_fill(1, PRICE, 8, SECOND)
    assert gate.check_order(3, 0, BUY, PRICE, 4, 0) == RejectReason.APPROVED
    gate.set_instrument_limits(0, InstrumentLimits(max_long_position=20))
    assert gate.check_order(4, 0, BUY, PRICE, 3, 0) == RejectReason.MAX_NET_EXPOSURE
    gate.set_account_limits(AccountLimits(max_open_orders=3, max_gross_exposure=1_400))
    assert gate.check_order(4, 0, BUY, PRICE, 3, 0) == RejectReason.MAX_GROSS_EXPOSURE
    gate.set_account_limits(AccountLimits(max_open_orders=1))
    assert gate.check_order(4, 0, BUY, PRICE, 1, 0) == RejectReason.MAX_OPEN_ORDERS


def test_an_unpriced_instrument_cannot_trade() -> None:
    gate = RiskGate()
    gate.register_instrument(instrument())
    assert gate.check_order(1, 0, BUY, PRICE, 1, 0) == RejectReason.NO_REFERENCE_PRICE


def test_the_raising_convenience_names_the_reason() -> None:
    gate = make_gate(limits=InstrumentLimits(collar_ticks=5))
    with pytest.raises(RiskRejected) as raised:
        gate.check_order_or_raise(7, 0, BUY, PRICE + 6, 1, 0)
    assert raised.value.code == "PRICE_COLLAR"
    assert raised.value.message == f"order 7: {RejectReason.PRICE_COLLAR.description}"
    gate.check_order_or_raise(7, 0, BUY, PRICE + 5, 1, 0)
    assert gate.open_order_count == 1


def test_decimal_orders_check_the_grid() -> None:
    gate = make_gate()
    assert gate.check_order_values(1, 0, BUY, "100.005", 1, 0) == RejectReason.OFF_GRID
    assert gate.check_order_values(1, 0, BUY, 100.0, Decimal("1.5"), 0) == RejectReason.OFF_GRID
    assert gate.check_order_values(1, 0, BUY, Decimal("100.01"), 2, 0) == RejectReason.APPROVED
    assert gate.check_order_values(2, 0, SELL, 99.99, "3", 0) == RejectReason.APPROVED
    assert gate.position(0).open_buy_quantity == 2
    assert gate.position(0).open_sell_quantity == 3


def test_throttles_refill_with_caller_timestamps() -> None:
    account = AccountLimits(
        order_rate=ThrottleLimit(capacity=2, refill_per_second=Decimal("0.5")),
        cancel_rate=ThrottleLimit(capacity=1, refill_per_second=1),
    )
    gate = make_gate(account)
    assert gate.check_order(1, 0, BUY, PRICE, 1, 0) == RejectReason.APPROVED
    assert gate.check_order(2, 0, BUY, PRICE, 1, 0) == RejectReason.APPROVED
    assert gate.check_order(3, 0, BUY, PRICE, 1, SECOND) == RejectReason.ORDER_RATE
    assert gate.check_order(3, 0, BUY, PRICE, 1, 2 * SECOND) == RejectReason.APPROVED
    assert gate.check_cancel(1, 2 * SECOND) == RejectReason.APPROVED
    assert gate.check_cancel(2, 2 * SECOND) == RejectReason.CANCEL_RATE
    with pytest.raises(RiskRejected) as raised:
        gate.check_cancel_or_raise(2, 2 * SECOND)
    assert raised.value.code == "CANCEL_RATE"
    gate.engage_kill_switch()
    gate.check_cancel_or_raise(2, 2 * SECOND)
    assert gate.check_order(4, 0, BUY, PRICE, 1, 9 * SECOND) == RejectReason.KILL_SWITCH


def test_trading_states_and_reduce_only() -> None:
    gate = make_gate()
    gate.check_order_or_raise(1, 0, BUY, PRICE, 10, 0)
    gate.on_fill(1, PRICE, 10, 0)
    gate.set_trading_state(TradingState.REDUCING)
    assert gate.trading_state is TradingState.REDUCING
    assert gate.check_order(2, 0, BUY, PRICE, 1, 0) == RejectReason.REDUCE_ONLY
    assert gate.check_order(3, 0, SELL, PRICE, 11, 0) == RejectReason.REDUCE_ONLY
    assert gate.check_order(4, 0, SELL, PRICE, 10, 0) == RejectReason.APPROVED
    gate.set_trading_state(2)
    assert gate.check_order(5, 0, SELL, PRICE, 1, 0) == RejectReason.TRADING_HALTED
    gate.set_trading_state(TradingState.ACTIVE)
    assert gate.check_order(5, 0, BUY, PRICE, 1, 0) == RejectReason.APPROVED


def test_fills_keep_exact_pnl_and_fees() -> None:
    gate = make_gate()
    gate.check_order_or_raise(1, 0, BUY, PRICE, 3, 0)
    gate.on_fill(1, 3333, 1, 0, fee=Decimal("0.01"))
    gate.on_fill(1, 3334, 2, 0, fee="0.02")
    assert gate.open_order(1) is None
    gate.check_order_or_raise(2, 0, SELL, PRICE, 1, 0)
    gate.on_fill(2, 3400, 1, 0, fee=Decimal("-0.005"))
    position = gate.position(0)
    assert position.position == 2
    # Basis 100.01 for 3 lots; selling one releases a third, truncated to 1e-12.
    assert position.realized_pnl == Decimal("34.00") - Decimal("33.336666666666") - Decimal("0.025")
    assert position.fees == Decimal("0.025")
    assert gate.realized_pnl + gate.unrealized_pnl == (
        Decimal("34.00") - Decimal("100.01") + 2 * Decimal(100) - Decimal("0.025")
    )


def test_a_daily_loss_trips_the_breaker_with_a_record() -> None:
    account = AccountLimits(daily_loss_limit=100, circuit_breaker_state=TradingState.HALTED)
    gate = make_gate(account)
    gate.start_day(0)
    gate.check_order_or_raise(1, 0, BUY, PRICE, 10, 0)
    gate.on_fill(1, PRICE, 10, SECOND)
    gate.check_order_or_raise(2, 0, SELL, PRICE, 10, SECOND)
    gate.on_price(0, PRICE - 1_000, 2 * SECOND)
    assert gate.trading_state is TradingState.HALTED
    assert gate.operator_trading_state is TradingState.ACTIVE
    assert gate.circuit_breaker_trip == CircuitBreakerTrip(
        ts=2 * SECOND,
        reason=RejectReason.DAILY_LOSS_LIMIT,
        state=TradingState.HALTED,
        daily_pnl=Decimal(-100),
        daily_loss_limit=Decimal(100),
        realized_pnl=Decimal(0),
        unrealized_pnl=Decimal(-100),
    )
    assert gate.daily_pnl == Decimal(-100)
    assert gate.check_order(3, 0, SELL, PRICE - 1_000, 1, 0) == RejectReason.DAILY_LOSS_LIMIT
    assert gate.check_cancel(2, 0) == RejectReason.APPROVED
    gate.reset_circuit_breaker(3 * SECOND)
    assert gate.circuit_breaker_trip is not None
    gate.start_day(4 * SECOND)
    assert gate.day_start_ts == 4 * SECOND
    assert gate.circuit_breaker_trip is None
    assert gate.trading_state is TradingState.ACTIVE


def test_restoring_positions_and_orders() -> None:
    gate = make_gate(
        AccountLimits(order_rate=ThrottleLimit(capacity=1, refill_per_second=1)),
        InstrumentLimits(max_long_position=10),
    )
    gate.start_day(0)
    gate.set_position(0, 8, average_price=Decimal("90"))
    assert gate.position(0).cost_basis == Decimal(720)
    assert gate.unrealized_pnl == Decimal(80)
    assert gate.daily_pnl == Decimal(0)
    gate.add_open_order(9, 0, BUY, PRICE, 2)
    assert gate.order_tokens(0) == 1
    assert gate.check_order(10, 0, BUY, PRICE, 1, 0) == RejectReason.MAX_LONG_POSITION
    gate.on_order_closed(9)
    assert gate.check_order(10, 0, BUY, PRICE, 1, 0) == RejectReason.APPROVED
    gate.set_position(0, 0)
    assert gate.position(0).position == 0


def test_instruments_register_once_and_are_found_by_id() -> None:
    gate = RiskGate()
    assert gate.register_instrument(instrument("A.SIM")) == 0
    assert gate.register_instrument(instrument("B.SIM")) == 1
    assert gate.instrument_index("B.SIM") == 1
    assert gate.instrument_ids == ["A.SIM", "B.SIM"]
    assert repr(gate) == "RiskGate(instruments=2, open_orders=0, state=ACTIVE, kill_switch=false)"


# Bad input: a specific exception, and nothing changes.


def busy_gate() -> RiskGate:
    gate = make_gate(
        AccountLimits(
            order_rate=ThrottleLimit(capacity=5, refill_per_second=1),
            cancel_rate=ThrottleLimit(capacity=5, refill_per_second=1),
            daily_loss_limit=1_000,
        ),
        InstrumentLimits(max_order_quantity=50),
    )
    gate.check_order_or_raise(1, 0, BUY, PRICE, 5, 0)
    gate.on_fill(1, PRICE, 2, 0)
    return gate


BAD_CALLS: list[tuple[str, Callable[[RiskGate], object], type[Exception], str | None]] = [
    ("check_order unknown instrument", lambda g: g.check_order(2, 5, BUY, PRICE, 1, 0),
     InvalidValue, "UNKNOWN_INSTRUMENT"),
    ("check_order bad side", lambda g: g.check_order(2, 0, 2, PRICE, 1, 0),
     InvalidValue, "UNKNOWN_SIDE"),
    ("check_order zero price", lambda g: g.check_order(2, 0, BUY, 0, 1, 0),
     InvalidValue, "NON_POSITIVE_PRICE"),
    ("check_order zero quantity", lambda g: g.check_order(2, 0, BUY, PRICE, 0, 0),
     InvalidValue, "NON_POSITIVE_QUANTITY"),
    ("check_order negative quantity", lambda g: g.check_order(2, 0, BUY, PRICE, -3, 0),
     InvalidValue, "NON_POSITIVE_QUANTITY"),
    ("check_order duplicate id", lambda g: g.check_order(1, 0, BUY, PRICE, 1, 0),
     InvalidValue, "DUPLICATE_ORDER"),
    ("check_order negative id", lambda g: g.check_order(-1, 0, BUY, PRICE, 1, 0),
     OverflowError, None),
    ("check_order wrong type", lambda g: g.check_order(2, 0, BUY, "100", 1, 0),
     TypeError, None),
    ("check_order_or_raise duplicate", lambda g: g.check_order_or_raise(1, 0, BUY, PRICE, 1, 0),
     InvalidValue, "DUPLICATE_ORDER"),
    ("check_order_values NaN", lambda g: g.check_order_values(2, 0, BUY, float("nan"), 1, 0),
     InvalidValue, "NOT_A_NUMBER"),
    ("check_order_values negative", lambda g: g.check_order_values(2, 0, BUY, "-1", 1, 0),
     InvalidValue, "NON_POSITIVE_PRICE"),
    ("check_order_values unknown", lambda g: g.check_order_values(2, 9, BUY, "100", 1, 0),
     InvalidValue, "UNKNOWN_INSTRUMENT"),
    ("check_order_values list", lambda g: g.check_order_values(2, 0, BUY, [1], 1, 0),
     TypeError, None),
    ("check_cancel unknown", lambda g: g.check_cancel(99, 0), InvalidValue, "UNKNOWN_ORDER"),
    ("check_cancel_or_raise unknown", lambda g: g.check_cancel_or_raise(99, 0),
     InvalidValue, "UNKNOWN_ORDER"),
    ("add_open_order duplicate", lambda g: g.add_open_order(1, 0, SELL, PRICE, 1),
     InvalidValue, "DUPLICATE_ORDER"),
    ("add_open_order zero quantity", lambda g: g.add_open_order(3, 0, SELL, PRICE, 0),
     InvalidValue, "NON_POSITIVE_QUANTITY"),
    ("on_fill unknown order", lambda g: g.on_fill(99, PRICE, 1, 0), InvalidValue,
     "UNKNOWN_ORDER"),
    ("on_fill overfill", lambda g: g.on_fill(1, PRICE, 4, 0), InvalidValue, "OVERFILL"),
    ("on_fill zero price", lambda g: g.on_fill(1, 0, 1, 0), InvalidValue, "NON_POSITIVE_PRICE"),
    ("on_fill zero quantity", lambda g: g.on_fill(1, PRICE, 0, 0), InvalidValue,
     "NON_POSITIVE_QUANTITY"),
    ("on_fill bad fee", lambda g: g.on_fill(1, PRICE, 1, 0, fee="abc"), InvalidValue,
     "NOT_A_NUMBER"),
    ("on_fill infinite fee", lambda g: g.on_fill(1, PRICE, 1, 0, fee=float("inf")),
     InvalidValue, "INFINITE"),
    ("on_order_closed unknown", lambda g: g.on_order_closed(99), InvalidValue, "UNKNOWN_ORDER"),
    ("on_price unknown instrument", lambda g: g.on_price(4, PRICE, 0), InvalidValue,
     "UNKNOWN_INSTRUMENT"),
    ("on_price negative", lambda g: g.on_price(0, -1, 0), InvalidValue, "NON_POSITIVE_PRICE"),
    ("set_position unknown", lambda g: g.set_position(3, 1, 100), InvalidValue,
     "UNKNOWN_INSTRUMENT"),
    ("set_position without price", lambda g: g.set_position(0, 1), InvalidValue,
     "MISSING_AVERAGE_PRICE"),
    ("set_position negative price", lambda g: g.set_position(0, 1, -5), InvalidValue,
     "NON_POSITIVE_PRICE"),
    ("set_position off grid", lambda g: g.set_position(0, 1, "1e-13"), InvalidValue,
     "OFF_GRID"),
    ("set_trading_state unknown", lambda g: g.set_trading_state(3), InvalidValue,
     "UNKNOWN_TRADING_STATE"),
    ("start_day wrong type", lambda g: g.start_day("today"), TypeError, None),
    ("position unknown", lambda g: g.position(8), InvalidValue, "UNKNOWN_INSTRUMENT"),
    ("instrument_index unknown", lambda g: g.instrument_index("NOPE.SIM"), InvalidValue,
     "UNKNOWN_INSTRUMENT"),
    ("register_instrument duplicate", lambda g: g.register_instrument(instrument()),
     ConfigError, "DUPLICATE_INSTRUMENT"),
    ("register_instrument not an instrument", lambda g: g.register_instrument("AAPL"),
     TypeError, None),
    ("register_instrument bad limits",
     lambda g: g.register_instrument(instrument("X.SIM"), InstrumentLimits(max_order_quantity=-1)),
     ConfigError, "INVALID_LIMITS"),
    ("set_instrument_limits unknown", lambda g: g.set_instrument_limits(5, InstrumentLimits()),
     InvalidValue, "UNKNOWN_INSTRUMENT"),
    ("set_instrument_limits both collars",
     lambda g: g.set_instrument_limits(0, InstrumentLimits(collar_bps=1, collar_ticks=1)),
     ConfigError, "INVALID_LIMITS"),
    ("set_instrument_limits off-grid quantity",
     lambda g: g.set_instrument_limits(0, InstrumentLimits(max_long_position=Decimal("2.5"))),
     ConfigError, "INVALID_LIMITS"),
    ("set_instrument_limits negative notional",
     lambda g: g.set_instrument_limits(0, InstrumentLimits(max_order_notional=-1)),
     ConfigError, "INVALID_LIMITS"),
    ("set_account_limits zero open orders",
     lambda g: g.set_account_limits(AccountLimits(max_open_orders=0)),
     ConfigError, "INVALID_LIMITS"),
    ("set_account_limits negative exposure",
     lambda g: g.set_account_limits(AccountLimits(max_gross_exposure=-5)),
     ConfigError, "INVALID_LIMITS"),
    ("set_account_limits zero refill",
     lambda g: g.set_account_limits(
         AccountLimits(order_rate=ThrottleLimit(capacity=1, refill_per_second=0))),
     ConfigError, "INVALID_LIMITS"),
    ("set_account_limits active breaker",
     lambda g: g.set_account_limits(AccountLimits(circuit_breaker_state=TradingState.ACTIVE)),
     ConfigError, "INVALID_LIMITS"),
    ("set_account_limits negative loss limit",
     lambda g: g.set_account_limits(AccountLimits(daily_loss_limit=-1)),
     ConfigError, "INVALID_LIMITS"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("call", "error", "code"),
    [pytest.param(call, error, code, id=name) for name, call, error, code in BAD_CALLS],
)
def test_bad_input_raises_a_specific_error_and_changes_nothing(
    call: Callable[[RiskGate], object], error: type[Exception], code: str | None
) -> None:
    gate = busy_gate()
    before = observable_state(gate)
    with pytest.raises(error) as raised:
        call(gate)
    if code is not None:
        assert getattr(raised.value, "code", None) == code
    assert observable_state(gate) == before


@pytest.mark.parametrize(
    ("limits", "field"),
    [
        (AccountLimits(max_open_orders=2**21), "max_open_orders"),
        (AccountLimits(max_net_exposure="lots"), "max_net_exposure"),
        (AccountLimits(cancel_rate=ThrottleLimit(capacity=0, refill_per_second=1)), "cancel_rate"),
        (AccountLimits(daily_loss_limit=0), "daily_loss_limit"),
    ],
)
def test_bad_account_limits_name_the_field(limits: AccountLimits, field: str) -> None:
    with pytest.raises(ConfigError) as raised:
        RiskGate(limits)
    assert field in raised.value.message
