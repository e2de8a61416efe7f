"""Backtest throughput of the trading node.

* ``test_l2_backtest[idle]``: the 1M-message synthetic stream as L2 deltas and prints (about
  1.1 M records) through ``run_book``: the venue (``SimulatedBookVenue``), the node's book, the
  prints to the cache and marks, with a strategy that subscribes to nothing. Units: records.
* ``test_l2_backtest[on_book]``: the same with a Python strategy called on every top-of-book
  change (about 29 % of the deltas) reading the book's microprice; the venue then replays the
  stream in stretches between changes.
* ``test_l2_backtest[market_maker]``: the same with the bundled market maker quoting on every
  change (orders, cancels, fills through OMS, risk gate and portfolio).
* ``test_daily_bars``: 20 stocks x 30 years of real daily bars (the bundled
  ``sp500_20_stocks_daily_adjclose``, 1990-2019) through ``run_bars`` with an idle strategy
  subscribed to every instrument's bars. Units: bars.
* ``test_hftbacktest_l2_replay`` (only where the benchmark-only ``hftbacktest`` is installed):
  hftbacktest replaying the same L2 deltas and prints with no orders, for comparison.

Run with timings: ``.venv/bin/pytest bench/bench_node.py --benchmark-enable``.
"""

from __future__ import annotations

import heapq
from typing import Any

import numpy as np
import pytest
from hftcore import l2_replay_from_l3, synthetic_l3_messages
from hftcore.data.loaders import SP500_20_TICKERS
from hftcore.model.data import Bar
from hftcore.node.backtest import bundled_bar_events, run_bars
from hftcore.node.book_backtest import DEMO_VENUE, SYNTHETIC_INSTRUMENT, book_node, run_book
from hftcore.node.config import parse_config
from hftcore.node.kernel import TradingNode
from hftcore.node.strategy import Strategy
from hftcore.strategies.market_maker import MarketMaker
from hftcore.venues.bars import BarVenue

STREAM_EVENTS = 1_000_000
YEARS = 30
INSTRUMENT_ID = SYNTHETIC_INSTRUMENT["instrument_id"]

Benchmark = Any
Records = np.ndarray[Any, Any]


def timed(benchmark: Benchmark, units: int, setup: Any, run: Any) -> Any:
    benchmark.extra_info["units"] = units
    outcome = benchmark.pedantic(run, setup=setup, rounds=3, iterations=1, warmup_rounds=1)
    if benchmark.stats is not None:
        benchmark.extra_info["units_per_second"] = units / benchmark.stats.stats.median
    return outcome


class Idle(Strategy):
    """Subscribes to nothing and never trades."""


class BookReader(Strategy):
    """Called on every top-of-book change; reads the microprice, never trades."""

    def on_start(self) -> None:
        self.calls = 0
        self.subscribe_book(INSTRUMENT_ID)

    def on_book(self, instrument_id: str) -> None:
        self.calls += 1
        self.last = self.cache.book(instrument_id).microprice()


class BarWatcher(Strategy):
    """Subscribed to every instrument's daily bars; does nothing with them."""

    def on_start(self) -> None:
        self.bars = 0
        for ticker in SP500_20_TICKERS:
            self.subscribe_bars(f"{ticker}.SIM")

    def on_bar(self, bar: Bar) -> None:
        self.bars += 1


@pytest.fixture(scope="module")
def l2_data() -> tuple[Records, Records]:
    return l2_replay_from_l3(synthetic_l3_messages(STREAM_EVENTS, seed=7))


STRATEGIES: dict[str, Any] = {
    "idle": lambda: Idle("IDLE"),
    "on_book": lambda: BookReader("READER"),
    "market_maker": lambda: MarketMaker("MM", {"instrument_id": INSTRUMENT_ID}),
}


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_l2_backtest(benchmark: Benchmark, l2_data: tuple[Records, Records], strategy: str) -> None:
    deltas, trades = l2_data

    def setup() -> tuple[tuple[TradingNode, Strategy], dict[str, Any]]:
        node = book_node(DEMO_VENUE)
        instance = STRATEGIES[strategy]()
        node.add_strategy(instance)
        return (node, instance), {}

    def run(node: TradingNode, instance: Strategy) -> tuple[TradingNode, Strategy]:
        run_book(node, deltas, trades)
        return node, instance

    node, instance = timed(benchmark, len(deltas) + len(trades), setup, run)
    if isinstance(instance, BookReader):
        assert instance.calls > len(deltas) // 5
    orders = list(node.execution.oms)
    assert bool(orders) == (strategy == "market_maker")


def daily_bars() -> tuple[list[Any], list[Bar]]:
    instruments = []
    series = []
    for ticker in SP500_20_TICKERS:
        instrument, bars = bundled_bar_events("sp500_20_stocks_daily_adjclose", f"{ticker}.SIM")
        instruments.append(instrument)
        series.append(bars[: YEARS * 252])
    merged = list(heapq.merge(*series, key=lambda bar: bar.ts_event))
    return instruments, merged


def test_daily_bars(benchmark: Benchmark) -> None:
    instruments, bars = daily_bars()
    assert len(bars) == 20 * YEARS * 252

    def setup() -> tuple[tuple[TradingNode, BarWatcher], dict[str, Any]]:
        config = parse_config(
            {
                "instruments": [
                    {
                        "instrument_id": i.instrument_id,
                        "tick_size": i.tick_size,
                        "price_precision": i.price_precision,
                        "lot_size": i.lot_size,
                        "size_precision": i.size_precision,
                    }
                    for i in instruments
                ]
            },
            environ={},
        )
        node = TradingNode(config)
        venue = BarVenue(
            "XNAS", {node.cache.instrument(i.instrument_id): "USD" for i in instruments}
        )
        node.add_venue("XNAS", venue)
        watcher = BarWatcher("WATCH")
        node.add_strategy(watcher)
        return (node, watcher), {}

    def run(node: TradingNode, watcher: BarWatcher) -> int:
        run_bars(node, bars)
        return watcher.bars

    assert timed(benchmark, len(bars), setup, run) == len(bars)
