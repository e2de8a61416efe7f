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
* ``test_nautilus_daily_bars`` and ``test_nautilus_l2_backtest[idle|on_book]``: NautilusTrader's
  ``BacktestEngine`` (the ``bench`` extra; see ``nautilus_peer.py``) on the same bars and the
  same L2 stream, with the equivalent strategies; each checks that Nautilus went through as
  many events as our node and, where a strategy watched, ended where ours did (bars: every
  instrument's last close; ``on_book``: the top of book, and as many top-of-book changes as our
  ``BookReader`` was called for).
  ``compare_nautilus_backtest.py`` prints both side by side with the ratio.
* hftbacktest replaying the same L2 deltas and prints with no orders: ``compare_hftbacktest.py``.

Run with timings: ``.venv/bin/pytest bench/bench_node.py --benchmark-enable``.
"""

from __future__ import annotations

import heapq
from typing import Any

import nautilus_peer
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


def bar_node(instruments: list[Any]) -> tuple[TradingNode, BarWatcher]:
    """A node trading ``instruments`` on one :class:`BarVenue`, with a :class:`BarWatcher`."""
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
    venue = BarVenue("XNAS", {node.cache.instrument(i.instrument_id): "USD" for i in instruments})
    node.add_venue("XNAS", venue)
    watcher = BarWatcher("WATCH")
    node.add_strategy(watcher)
    return node, watcher


def test_daily_bars(benchmark: Benchmark) -> None:
    instruments, bars = daily_bars()
    assert len(bars) == 20 * YEARS * 252

    def setup() -> tuple[tuple[TradingNode, BarWatcher], dict[str, Any]]:
        return bar_node(instruments), {}

    def run(node: TradingNode, watcher: BarWatcher) -> int:
        run_bars(node, bars)
        return watcher.bars

    assert timed(benchmark, len(bars), setup, run) == len(bars)


def test_nautilus_daily_bars(benchmark: Benchmark) -> None:
    instruments, bars = daily_bars()
    data = nautilus_peer.bar_data(instruments, bars)
    node, watcher = bar_node(instruments)
    run_bars(node, bars)

    def setup() -> tuple[tuple[Any, nautilus_peer.NautilusBarWatcher], dict[str, Any]]:
        return nautilus_peer.prepare_daily_bars(data), {}

    def run(engine: Any, nautilus_watcher: nautilus_peer.NautilusBarWatcher) -> Any:
        engine.run()
        return engine, nautilus_watcher

    engine, nautilus_watcher = timed(benchmark, len(bars), setup, run)
    engine.dispose()
    assert nautilus_watcher.bars == watcher.bars == len(bars)
    ours = {}
    for instrument in instruments:
        last = node.cache.bar(instrument.instrument_id, "1-DAY")
        assert last is not None
        ours[instrument.instrument_id.split(".")[0]] = instrument.ticks_to_str(last.close)
    theirs = {symbol: str(close) for symbol, close in nautilus_watcher.last_close.items()}
    assert theirs == ours


@pytest.fixture(scope="module")
def nautilus_l2(l2_data: tuple[Records, Records]) -> nautilus_peer.L2Data:
    instrument = book_node(DEMO_VENUE).cache.instrument(INSTRUMENT_ID)
    return nautilus_peer.l2_data(instrument, *l2_data)


@pytest.fixture(scope="module")
def our_l2_outcome(l2_data: tuple[Records, Records]) -> tuple[tuple[Any, ...], int]:
    """Our node's final top of book (as decimal text) and ``BookReader`` call count."""
    node = book_node(DEMO_VENUE)
    reader = BookReader("READER")
    node.add_strategy(reader)
    run_book(node, *l2_data)
    instrument = node.cache.instrument(INSTRUMENT_ID)
    book = node.cache.book(INSTRUMENT_ID)
    top = tuple(
        (instrument.ticks_to_str(price), instrument.lots_to_str(quantity))
        for price, quantity in (book.best_bid(), book.best_ask())
    )
    return top, reader.calls


NAUTILUS_STRATEGIES: dict[str, Any] = {
    "idle": nautilus_peer.NautilusIdle,
    "on_book": nautilus_peer.NautilusBookReader,
}


@pytest.mark.parametrize("strategy", list(NAUTILUS_STRATEGIES))
def test_nautilus_l2_backtest(
    benchmark: Benchmark,
    l2_data: tuple[Records, Records],
    nautilus_l2: nautilus_peer.L2Data,
    our_l2_outcome: tuple[tuple[Any, ...], int],
    strategy: str,
) -> None:
    deltas, trades = l2_data

    def setup() -> tuple[tuple[Any, Any], dict[str, Any]]:
        instance = NAUTILUS_STRATEGIES[strategy]()
        return (nautilus_peer.prepare_l2_stream(nautilus_l2, instance), instance), {}

    def run(engine: Any, instance: Any) -> tuple[Any, Any]:
        engine.run()
        return engine, instance

    engine, instance = timed(benchmark, len(deltas) + len(trades), setup, run)
    top, calls = our_l2_outcome
    assert engine.iteration == len(deltas) + len(trades)
    if isinstance(instance, nautilus_peer.NautilusBookReader):
        # (An idle Nautilus strategy has no book in the cache: nothing subscribed to one.)
        assert nautilus_peer.top_of_book(engine, nautilus_l2.instrument.id) == top
        assert (instance.deltas, instance.trades) == (len(deltas), len(trades))
        assert instance.calls == calls
    engine.dispose()
