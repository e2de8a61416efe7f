"""Pre-trade risk check round trip from Python: one ``RiskGate`` call per order, every limit
configured, 16 instruments and 500 resting orders.

Run with timings: ``.venv/bin/pytest bench/bench_risk.py --benchmark-enable``. In the test suite
these run once each with timings off, and the decisions are still asserted.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable
from decimal import Decimal
from itertools import repeat
from typing import Any

from hftcore import (
    AccountLimits,
    Instrument,
    InstrumentLimits,
    RejectReason,
    RiskGate,
    ThrottleLimit,
)

CALLS = 20_000
INSTRUMENTS = 16
RESTING_ORDERS = 500
PRICE = 10_000

Benchmark = Any


def configured_gate() -> RiskGate:
    gate = RiskGate(
        AccountLimits(
            max_open_orders=CALLS + RESTING_ORDERS,
            max_gross_exposure=Decimal("1e12"),
            max_net_exposure=Decimal("1e12"),
            order_rate=ThrottleLimit(capacity=1_000_000, refill_per_second=1_000_000),
            cancel_rate=ThrottleLimit(capacity=1_000_000, refill_per_second=1_000_000),
            daily_loss_limit=1_000_000,
        )
    )
    limits = InstrumentLimits(
        max_order_quantity=1_000,
        max_order_notional=1_000_000,
        collar_bps=500,
        max_long_position=10_000_000,
        max_short_position=10_000_000,
    )
    for number in range(INSTRUMENTS):
        instrument = Instrument(f"I{number}.SIM", "0.01", 2, "1", 0)
        index = gate.register_instrument(instrument, limits)
        gate.on_price(index, PRICE, 0)
    for order_id in range(RESTING_ORDERS):
        gate.add_open_order(1_000_000 + order_id, order_id % INSTRUMENTS, order_id % 2, PRICE, 1)
    return gate


def consume(calls: Iterable[object]) -> None:
    """Drives an iterator of calls at C speed, so the loop adds almost nothing per call."""
    collections.deque(calls, maxlen=0)


def per_call(benchmark: Benchmark, run: Callable[[RiskGate], None], calls: int = CALLS) -> RiskGate:
    """Times ``run`` on a fresh gate per round; returns the last round's gate."""
    gates: list[RiskGate] = []

    def setup() -> tuple[tuple[RiskGate], dict[str, Any]]:
        gates.append(configured_gate())
        return (gates[-1],), {}

    benchmark.extra_info["calls_per_round"] = calls
    benchmark.pedantic(run, setup=setup, rounds=15, iterations=1, warmup_rounds=1)
    if benchmark.stats is not None:
        benchmark.extra_info["median_ns_per_call"] = benchmark.stats.stats.median * 1e9 / calls
    return gates[-1]


ORDER_IDS = list(range(1, CALLS + 1))
INSTRUMENT_INDICES = [order_id % INSTRUMENTS for order_id in ORDER_IDS]
TIMESTAMPS = [order_id * 1_000 for order_id in ORDER_IDS]


def test_check_order_approved(benchmark: Benchmark) -> None:
    def run(gate: RiskGate) -> None:
        consume(
            map(
                gate.check_order,
                ORDER_IDS,
                INSTRUMENT_INDICES,
                repeat(0),
                repeat(PRICE + 10),
                repeat(5),
                TIMESTAMPS,
            )
        )

    gate = per_call(benchmark, run)
    assert gate.open_order_count == RESTING_ORDERS + CALLS
    # Resting orders on odd instruments are all sells, so instrument 3's buys are ours.
    assert gate.position(3).open_buy_quantity == 5 * INSTRUMENT_INDICES.count(3)


def test_check_order_rejected_by_the_collar(benchmark: Benchmark) -> None:
    decisions: list[int] = []

    def run(gate: RiskGate) -> None:
        decisions[:] = map(
            gate.check_order,
            ORDER_IDS,
            INSTRUMENT_INDICES,
            repeat(0),
            repeat(2 * PRICE),
            repeat(5),
            TIMESTAMPS,
        )

    gate = per_call(benchmark, run)
    assert set(decisions) == {RejectReason.PRICE_COLLAR}
    assert gate.open_order_count == RESTING_ORDERS


def test_check_order_or_raise_approved(benchmark: Benchmark) -> None:
    def run(gate: RiskGate) -> None:
        consume(
            map(
                gate.check_order_or_raise,
                ORDER_IDS,
                INSTRUMENT_INDICES,
                repeat(1),
                repeat(PRICE - 10),
                repeat(5),
                TIMESTAMPS,
            )
        )

    gate = per_call(benchmark, run)
    assert gate.open_order_count == RESTING_ORDERS + CALLS


def test_check_cancel(benchmark: Benchmark) -> None:
    cancel_ids = [1_000_000 + order_id % RESTING_ORDERS for order_id in ORDER_IDS]

    def run(gate: RiskGate) -> None:
        consume(map(gate.check_cancel, cancel_ids, TIMESTAMPS))

    gate = per_call(benchmark, run)
    assert gate.check_cancel(1_000_000, CALLS * 1_000) == RejectReason.APPROVED
