"""OMS costs from Python: an order's whole life through the OrderManager, one fill, the
emulator's price check over many held stops, the throttler and batching.

Run with timings: ``.venv/bin/pytest bench/bench_oms.py --benchmark-enable``. In the test suite
these run once each with timings off, and their results are still asserted.
"""

from __future__ import annotations

from typing import Any

from hftcore.model.events import (
    OrderAccepted,
    OrderFilled,
    OrderSpec,
    OrderSubmitted,
    SubmitOrder,
)
from hftcore.model.orders import OrderType
from hftcore.oms import (
    BatchLimits,
    OrderEmulator,
    OrderManager,
    OrderStatus,
    Throttler,
    batch_commands,
)

Benchmark = Any
ORDERS = 2_000
HELD = 100
INSTRUMENT = "X.SIM"
SPEC = OrderSpec(INSTRUMENT, 0, int(OrderType.LIMIT), 10, price=100)


def order_lives(count: int) -> OrderManager:
    """Creates ``count`` orders and takes each through submit, accept and two fills."""
    oms = OrderManager()
    for n in range(count):
        order_id = oms.next_client_order_id("S1")
        oms.create(SubmitOrder("S1", order_id, SPEC, n), n)
        oms.apply(OrderSubmitted("S1", INSTRUMENT, order_id, n, n))
        oms.apply(OrderAccepted("S1", INSTRUMENT, order_id, f"V{n}", n, n))
        for part in (0, 1):
            oms.apply(
                OrderFilled(
                    "S1",
                    INSTRUMENT,
                    order_id,
                    f"V{n}",
                    f"T{n}-{part}",
                    0,
                    100,
                    5,
                    "TAKER",
                    1,
                    "USD",
                    n,
                    n,
                )
            )
    return oms


def test_order_life(benchmark: Benchmark) -> None:
    oms = benchmark(order_lives, ORDERS)
    assert len(oms.orders(status=OrderStatus.FILLED)) == ORDERS
    assert oms.orders(open_only=True) == []


def test_fill(benchmark: Benchmark) -> None:
    def setup() -> tuple[tuple[OrderManager, OrderFilled], dict[str, Any]]:
        oms = OrderManager()
        oms.create(SubmitOrder("S1", "C1", SPEC, 0), 0)
        oms.apply(OrderSubmitted("S1", INSTRUMENT, "C1", 0, 0))
        fill = OrderFilled("S1", INSTRUMENT, "C1", "V", "T1", 0, 100, 3, "TAKER", 1, "USD", 1, 1)
        return (oms, fill), {}

    def apply_fill(oms: OrderManager, fill: OrderFilled) -> OrderManager:
        oms.apply(fill)
        return oms

    oms = benchmark.pedantic(apply_fill, setup=setup, rounds=2_000, iterations=1)
    order = oms.order("C1")
    assert order is not None
    assert order.status is OrderStatus.PARTIALLY_FILLED


def held_trailing_stops(count: int) -> OrderEmulator:
    oms = OrderManager()
    emulator = OrderEmulator()
    stop = OrderSpec(
        INSTRUMENT,
        1,
        int(OrderType.STOP),
        1,
        trigger_price=900,
        trailing_offset=50,
        trailing_offset_type="TICKS",
    )
    for n in range(count):
        oms.create(SubmitOrder("S1", f"E{n}", stop, 0), 0)
        order = oms.order(f"E{n}")
        assert order is not None
        emulator.hold(order, 0)
    return emulator


def test_emulator_price_without_moves(benchmark: Benchmark) -> None:
    """A trade that neither triggers nor moves any of 100 held trailing stops."""
    emulator = held_trailing_stops(HELD)
    emulator.on_price(INSTRUMENT, None, None, 1_000, 1)
    actions = benchmark(emulator.on_price, INSTRUMENT, None, None, 990, 2)
    assert not actions
    assert len(emulator) == HELD


def test_emulator_price_moving_every_trigger(benchmark: Benchmark) -> None:
    """Each call raises the price one tick, so all 100 trailing stops move (100 updates)."""
    emulator = held_trailing_stops(HELD)
    prices = iter(range(1_000, 10_000_000))

    def rising() -> int:
        price = next(prices)
        return len(emulator.on_price(INSTRUMENT, None, None, price, price).events)

    assert benchmark(rising) == HELD


def test_throttler_steady_flow(benchmark: Benchmark) -> None:
    """1,000 submits offered 1 us apart through a 1-per-us bucket: each leaves at once."""
    commands = [SubmitOrder("S1", f"C{n}", SPEC, n) for n in range(1_000)]

    def flow() -> int:
        throttler = Throttler(1, 1_000, burst=1)
        released = 0
        for n, command in enumerate(commands):
            released += len(throttler.offer(command, n * 1_000))
        return released

    assert benchmark(flow) == 1_000


def test_batching(benchmark: Benchmark) -> None:
    commands = [SubmitOrder("S1", f"C{n}", SPEC, n) for n in range(1_000)]
    calls = benchmark(batch_commands, commands, {"SIM": BatchLimits(max_submits=5)})
    assert len(calls) == 200
