"""MatchingEngine through Python: ns per resting submit, cancel and aggressive order.

Run for timings: ``.venv/bin/python -m pytest bench/bench_matching.py --benchmark-enable``.
In the test suite these run once each with timings off, as checks of the measured calls.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

from hftcore import Instrument, MatchingEngine, OrderType, TimeInForce

BUY, SELL = 0, 1
MID = 10_000


def deep_book() -> MatchingEngine:
    """50 levels a side of 20 orders each around a one-tick spread at MID."""
    engine = MatchingEngine()
    engine.add_instrument(
        Instrument("BENCH.SIM", "0.01", 2, "1", 0, maker_fee="-0.0001", taker_fee="0.0002")
    )
    order_id = 1
    for level in range(50):
        for _ in range(20):
            engine.submit(order_id, order_id % 16, 0, BUY, MID - 1 - level, 10, 0)
            engine.submit(order_id + 1, order_id % 16, 0, SELL, MID + 1 + level, 10, 0)
            order_id += 2
    return engine


def test_submit_resting(benchmark: Any) -> None:
    engine = deep_book()
    ids = itertools.count(1_000_000)
    rng = random.Random(7)

    def next_order() -> tuple[tuple[int, ...], dict[str, Any]]:
        side = rng.randrange(2)
        offset = rng.randint(1, 20)
        price = MID - offset if side == BUY else MID + offset
        return (next(ids), 3, 0, side, price, 5, 1), {}

    events = benchmark.pedantic(engine.submit, setup=next_order, rounds=20_000)
    assert [event.kind for event in events] == ["ACCEPTED"]


def test_cancel(benchmark: Any) -> None:
    engine = deep_book()
    ids = itertools.count(2_000_000)

    def place() -> tuple[tuple[int, int], dict[str, Any]]:
        order_id = next(ids)
        engine.submit(order_id, 3, 0, BUY, MID - 5, 5, 1)
        return (order_id, 2), {}

    events = benchmark.pedantic(engine.cancel, setup=place, rounds=20_000)
    assert [event.kind for event in events] == ["CANCELED"]


def test_aggressive_market_order(benchmark: Any) -> None:
    engine = deep_book()
    ids = itertools.count(3_000_000)

    def refill() -> tuple[tuple[Any, ...], dict[str, Any]]:
        for _ in range(3):
            engine.submit(next(ids), 1, 0, SELL, MID + 1, 10, 0)
        return (next(ids), 99, 0, BUY, 0, 25, 1, OrderType.MARKET, TimeInForce.IOC), {}

    events = benchmark.pedantic(engine.submit, setup=refill, rounds=20_000)
    fills = [event for event in events if event.kind == "FILLED"]
    assert sum(event.quantity for event in fills if event.liquidity == "TAKER") == 25
