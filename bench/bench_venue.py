"""Simulated-venue replay throughput from Python, with and without resting orders.

A 1M-message stream from the seeded order-flow model is replayed through ``SimulatedVenue``
(as L3 messages, or as the L2 deltas and trade prints it implies). The quoting runs keep five
one-lot orders a side from the touch outward, re-quoting from Python every 1,000 records, as a
market-making strategy woken by the node would.

Run with timings: ``.venv/bin/pytest bench/bench_venue.py --benchmark-enable``. In the test
suite these run once each with timings off, and still check what they replayed.
"""

from __future__ import annotations

import collections
from typing import Any

import numpy as np
import pytest
from hftcore import (
    Instrument,
    LatencyModel,
    QueueModel,
    SimulatedVenue,
    l2_replay_from_l3,
    synthetic_l3_messages,
)

INSTRUMENT = Instrument("TEST.SIM", "0.01", 2, "1", 0, maker_fee="-0.0001", taker_fee="0.0002")
STREAM_EVENTS = 1_000_000
CHUNK = 1_000
QUOTES = 5
CALLS = 100_000

Benchmark = Any
Records = np.ndarray[Any, Any]


@pytest.fixture(scope="module")
def messages() -> Records:
    return synthetic_l3_messages(STREAM_EVENTS, seed=7)


@pytest.fixture(scope="module")
def l2_data(messages: Records) -> tuple[Records, Records]:
    return l2_replay_from_l3(messages)


def quote(venue: SimulatedVenue, next_id: int) -> int:
    """Keeps ``QUOTES`` one-lot orders a side at the touch and behind it; returns the last id."""
    now = venue.now
    assert now is not None
    resting = {(order.side, order.price) for order in venue.open_orders()}
    for side, best, step in ((0, venue.best_bid(), -1), (1, venue.best_ask(), 1)):
        if best is None:
            continue
        for offset in range(QUOTES):
            price = best[0] + step * offset
            if (side, price) not in resting:
                next_id += 1
                venue.submit_limit(now, next_id, side, price, 1)
    return next_id


def replay_l2(venue: SimulatedVenue, deltas: Records, trades: Records, quoting: bool) -> int:
    """Replays in chunks, quoting between them; returns the number of fills."""
    filled = 0
    next_id = 0
    trade_ts = trades["ts_event"]
    bounds = np.searchsorted(trade_ts, deltas["ts_event"][CHUNK::CHUNK], side="left")
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [len(trades)]))
    for chunk, (trade_start, trade_end) in enumerate(zip(starts, ends, strict=True)):
        window = deltas[chunk * CHUNK : (chunk + 1) * CHUNK]
        result = venue.replay_l2(window, trades[trade_start:trade_end], on_error="skip")
        filled += sum(1 for event in result.events if event.kind == "FILLED")
        if quoting:
            next_id = quote(venue, next_id)
    return filled


def replay_l3(venue: SimulatedVenue, messages: Records, quoting: bool) -> int:
    filled = 0
    next_id = 0
    for start in range(0, len(messages), CHUNK):
        result = venue.replay_l3(messages[start : start + CHUNK], on_error="skip")
        filled += sum(1 for event in result.events if event.kind == "FILLED")
        if quoting:
            next_id = quote(venue, next_id)
    return filled


def throughput(benchmark: Benchmark, records: int, run: Any) -> Any:
    benchmark.extra_info["records"] = records
    outcome = benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
    if benchmark.stats is not None:
        benchmark.extra_info["records_per_second"] = records / benchmark.stats.stats.median
    return outcome


@pytest.mark.parametrize("quoting", [False, True], ids=["no_orders", "quoting"])
def test_l2_replay(benchmark: Benchmark, l2_data: tuple[Records, Records], quoting: bool) -> None:
    deltas, trades = l2_data

    def run() -> int:
        venue = SimulatedVenue(INSTRUMENT, queue_model=QueueModel.risk_averse())
        return replay_l2(venue, deltas, trades, quoting)

    filled = throughput(benchmark, len(deltas) + len(trades), run)
    assert (filled > 0) == quoting


def test_l2_replay_with_latency_and_impact(
    benchmark: Benchmark, l2_data: tuple[Records, Records]
) -> None:
    deltas, trades = l2_data

    def run() -> int:
        venue = SimulatedVenue(
            INSTRUMENT,
            queue_model=QueueModel.power(2.0),
            feed_latency=LatencyModel.lognormal(np.log(20_000.0), 0.5, seed=1),
            order_latency=LatencyModel.lognormal(np.log(30_000.0), 0.5, seed=2),
            response_latency=LatencyModel.lognormal(np.log(30_000.0), 0.5, seed=3),
            market_impact=True,
            seed=4,
        )
        return replay_l2(venue, deltas, trades, quoting=True)

    assert throughput(benchmark, len(deltas) + len(trades), run) > 0


@pytest.mark.parametrize("quoting", [False, True], ids=["no_orders", "quoting"])
def test_l3_replay(benchmark: Benchmark, messages: Records, quoting: bool) -> None:
    def run() -> int:
        return replay_l3(SimulatedVenue(INSTRUMENT, data="L3"), messages, quoting)

    filled = throughput(benchmark, len(messages), run)
    assert (filled > 0) == quoting


def test_one_l2_delta_from_python(benchmark: Benchmark, l2_data: tuple[Records, Records]) -> None:
    deltas, _ = l2_data
    window = deltas[:CALLS]
    columns = [window[name].tolist() for name in ("ts_event", "side", "price", "quantity")]

    def run() -> SimulatedVenue:
        venue = SimulatedVenue(INSTRUMENT)
        collections.deque(map(venue.on_l2_delta, *columns), maxlen=0)
        return venue

    benchmark.extra_info["calls_per_round"] = CALLS
    venue = benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
    if benchmark.stats is not None:
        benchmark.extra_info["median_ns_per_call"] = benchmark.stats.stats.median * 1e9 / CALLS
    assert venue.now == columns[0][-1]
    assert venue.best_bid() is not None
