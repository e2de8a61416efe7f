"""Order-book speed from Python, and NautilusTrader's OrderBook on the same L2 stream.

Run with timings: ``.venv/bin/pytest bench/bench_book.py --benchmark-enable``. In the test suite
these run once each with timings off, so the side-by-side equality checks still run.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pytest
from hftcore import Instrument, OrderBookL2, OrderBookL3, l2_deltas_from_l3, synthetic_l3_messages
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import BookOrder, OrderBookDelta
from nautilus_trader.model.enums import BookAction, BookType, OrderSide
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price, Quantity

INSTRUMENT = Instrument("TEST.SIM", "0.01", 2, "1", 0)
STREAM_EVENTS = 1_000_000
SIDE_BY_SIDE_EVENTS = 200_000
CALLS = 100_000
ADD_CALLS = 5_000

Benchmark = Any


@pytest.fixture(scope="module")
def messages() -> np.ndarray[Any, Any]:
    return synthetic_l3_messages(STREAM_EVENTS, seed=7)


@pytest.fixture(scope="module")
def deltas(messages: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return l2_deltas_from_l3(messages)


def consume(calls: Iterable[object]) -> None:
    """Drives an iterator of calls at C speed, so the loop adds almost nothing per call."""
    collections.deque(calls, maxlen=0)


def per_call(benchmark: Benchmark, run: Callable[[], None], calls: int) -> None:
    benchmark.extra_info["calls_per_round"] = calls
    benchmark.pedantic(run, rounds=15, iterations=1, warmup_rounds=1)
    if benchmark.stats is not None:
        benchmark.extra_info["median_ns_per_call"] = benchmark.stats.stats.median * 1e9 / calls


def test_one_l2_delta_from_python(benchmark: Benchmark, deltas: np.ndarray[Any, Any]) -> None:
    book = OrderBookL2(INSTRUMENT)
    window = deltas[:CALLS]
    sides, prices, quantities = (window[name].tolist() for name in ("side", "price", "quantity"))

    def run() -> None:
        consume(map(book.apply_delta, sides, prices, quantities))

    per_call(benchmark, run, CALLS)
    reference = OrderBookL2(INSTRUMENT)
    reference.apply_deltas(window)
    assert book == reference


def test_one_l3_add_from_python(benchmark: Benchmark) -> None:
    """Adds into a book of realistic size: each round adds ADD_CALLS orders near the touch
    (as many as the synthetic flow keeps live) and then clears the book."""
    book = OrderBookL3(INSTRUMENT)
    rng = np.random.default_rng(1)
    sides = rng.integers(0, 2, ADD_CALLS).tolist()
    distances = rng.geometric(0.3, ADD_CALLS).tolist()
    prices = [
        100_000 - distance if side == 0 else 100_000 + distance
        for side, distance in zip(sides, distances, strict=True)
    ]
    quantities = rng.integers(1, 20, ADD_CALLS).tolist()
    round_number = iter(range(1_000_000))

    def run() -> None:
        base = next(round_number) * ADD_CALLS
        consume(map(book.add, range(base, base + ADD_CALLS), sides, prices, quantities))
        book.clear()

    per_call(benchmark, run, ADD_CALLS)
    assert len(book) == 0


@pytest.mark.parametrize("return_top", [False, True])
def test_bulk_l2_apply(
    benchmark: Benchmark, deltas: np.ndarray[Any, Any], return_top: bool
) -> None:
    def run() -> OrderBookL2:
        book = OrderBookL2(INSTRUMENT)
        book.apply_deltas(deltas, return_top=return_top)
        return book

    book = benchmark.pedantic(run, rounds=10, iterations=1, warmup_rounds=1)
    if benchmark.stats is not None:
        benchmark.extra_info["events_per_second"] = len(deltas) / benchmark.stats.stats.median
    assert book.level_counts()[0] > 0


def test_bulk_l3_apply(benchmark: Benchmark, messages: np.ndarray[Any, Any]) -> None:
    def run() -> OrderBookL3:
        book = OrderBookL3(INSTRUMENT)
        book.apply_messages(messages)
        return book

    book = benchmark.pedantic(run, rounds=10, iterations=1, warmup_rounds=1)
    if benchmark.stats is not None:
        benchmark.extra_info["events_per_second"] = len(messages) / benchmark.stats.stats.median
    assert len(book) > 0


# --- side by side with NautilusTrader --------------------------------------------------------


def nautilus_deltas(deltas: np.ndarray[Any, Any]) -> tuple[Any, list[Any]]:

    instrument_id = InstrumentId.from_str("TEST.SIM")
    sides = (OrderSide.BUY, OrderSide.SELL)
    converted = []
    for record in deltas.tolist():
        ts_event, ts_init, sequence, price, quantity, side, _flags = record
        action = BookAction.UPDATE if quantity else BookAction.DELETE
        order = BookOrder(
            sides[side], Price.from_str(INSTRUMENT.ticks_to_str(price)), Quantity(quantity, 0), 0
        )
        converted.append(
            OrderBookDelta(instrument_id, action, order, 0, sequence, ts_event, ts_init)
        )
    return instrument_id, converted


@pytest.fixture(scope="module")
def side_by_side_stream(
    deltas: np.ndarray[Any, Any],
) -> tuple[np.ndarray[Any, Any], Any, list[Any]]:
    window = deltas[:SIDE_BY_SIDE_EVENTS]
    instrument_id, converted = nautilus_deltas(window)
    return window, instrument_id, converted


def levels_of_nautilus(book: Any) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    def side(levels: Any) -> list[tuple[int, int]]:
        return [(round(float(level.price) * 100), round(float(level.size()))) for level in levels]

    return side(book.bids()), side(book.asks())


def test_nautilus_per_delta_loop(
    benchmark: Benchmark, side_by_side_stream: tuple[np.ndarray[Any, Any], Any, list[Any]]
) -> None:

    window, instrument_id, converted = side_by_side_stream

    def run() -> Any:
        book = OrderBook(instrument_id, BookType.L2_MBP)
        apply = book.apply_delta
        for delta in converted:
            apply(delta)
        return book

    nautilus_book = benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
    if benchmark.stats is not None:
        benchmark.extra_info["events_per_second"] = len(converted) / benchmark.stats.stats.median
    ours = OrderBookL2(INSTRUMENT)
    ours.apply_deltas(window)
    bids, asks = levels_of_nautilus(nautilus_book)
    assert bids == ours.levels(0)
    assert asks == ours.levels(1)


def test_hftcore_bulk_on_side_by_side_stream(
    benchmark: Benchmark, side_by_side_stream: tuple[np.ndarray[Any, Any], Any, list[Any]]
) -> None:
    window, _, _ = side_by_side_stream

    def run() -> OrderBookL2:
        book = OrderBookL2(INSTRUMENT)
        book.apply_deltas(window)
        return book

    book = benchmark.pedantic(run, rounds=20, iterations=1, warmup_rounds=1)
    if benchmark.stats is not None:
        benchmark.extra_info["events_per_second"] = len(window) / benchmark.stats.stats.median
    assert book.level_counts()[0] > 0
