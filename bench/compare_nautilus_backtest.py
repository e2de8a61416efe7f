"""hftcore and NautilusTrader's ``BacktestEngine`` side by side, in one process, on the same data
with equivalent strategies (see ``nautilus_peer.py`` and ``bench_node.py``):

* 20 stocks x 30 years of daily bars, a strategy subscribed to every instrument's bars;
* the 1M-message synthetic L2 stream (deltas and prints) with an idle strategy, and with a
  strategy on every top-of-book change.

Each run is checked as in ``bench_node.py`` (same number of events, same last closes / top of
book and strategy calls). Prints the median of 3 timed runs after one warm-up, as wall-clock
and CPU (process) time, in events per second, and hftcore / Nautilus.
``python bench/compare_nautilus_backtest.py``
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import nautilus_peer
from bench_node import (
    INSTRUMENT_ID,
    STREAM_EVENTS,
    BookReader,
    Idle,
    bar_node,
    daily_bars,
)
from hftcore import l2_replay_from_l3, synthetic_l3_messages
from hftcore.node.backtest import run_bars
from hftcore.node.book_backtest import DEMO_VENUE, book_node, run_book
from hftcore.node.strategy import Strategy

Timing = tuple[float, float]
"""Median wall-clock and CPU seconds of one run."""


def median_times(
    prepare: Callable[[], Any], run: Callable[[Any], None], check: Callable[[Any], None]
) -> Timing:
    """Runs ``run(prepare())`` once to warm up, then 3 timed times; ``prepare`` and
    ``check`` (called with the prepared objects after each run) are not timed."""
    walls, cpus = [], []
    for round_number in range(4):
        prepared = prepare()
        wall, cpu = time.perf_counter(), time.process_time()
        run(prepared)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        check(prepared)
        if round_number:
            walls.append(wall)
            cpus.append(cpu)
    return statistics.median(walls), statistics.median(cpus)


def bars_side_by_side() -> tuple[int, Timing, Timing]:
    instruments, bars = daily_bars()
    data = nautilus_peer.bar_data(instruments, bars)
    # Each instrument's last close: later bars overwrite earlier ones.
    last_closes = {bar.instrument_id.split(".")[0]: bar.close for bar in bars}
    by_symbol = {i.instrument_id.split(".")[0]: i for i in instruments}

    def ours(prepared: Any) -> None:
        run_bars(prepared[0], bars)

    def check_ours(prepared: Any) -> None:
        node, watcher = prepared
        assert watcher.bars == len(bars)
        for instrument in instruments:
            last = node.cache.bar(instrument.instrument_id, "1-DAY")
            assert last.close == last_closes[instrument.instrument_id.split(".")[0]]

    def theirs(prepared: Any) -> None:
        prepared[0].run()

    def check_theirs(prepared: Any) -> None:
        engine, watcher = prepared
        assert watcher.bars == len(bars)
        for symbol, close in last_closes.items():
            assert str(watcher.last_close[symbol]) == by_symbol[symbol].ticks_to_str(close)
        engine.dispose()

    return (
        len(bars),
        median_times(lambda: bar_node(instruments), ours, check_ours),
        median_times(lambda: nautilus_peer.prepare_daily_bars(data), theirs, check_theirs),
    )


def l2_side_by_side(
    deltas: Any, trades: Any, data: nautilus_peer.L2Data, *, reading: bool
) -> tuple[int, Timing, Timing]:
    records = len(deltas) + len(trades)
    calls: list[int] = []

    def prepare_ours() -> tuple[Any, Strategy]:
        node = book_node(DEMO_VENUE)
        strategy = BookReader("READER") if reading else Idle("IDLE")
        node.add_strategy(strategy)
        return node, strategy

    def ours(prepared: Any) -> None:
        run_book(prepared[0], deltas, trades)

    def check_ours(prepared: Any) -> None:
        if isinstance(prepared[1], BookReader):
            calls.append(prepared[1].calls)

    def prepare_theirs() -> tuple[Any, Any]:
        strategy = nautilus_peer.NautilusBookReader() if reading else nautilus_peer.NautilusIdle()
        return nautilus_peer.prepare_l2_stream(data, strategy), strategy

    def theirs(prepared: Any) -> None:
        prepared[0].run()

    def check_theirs(prepared: Any) -> None:
        engine, strategy = prepared
        assert engine.iteration == records
        if reading:
            assert strategy.calls == calls[-1]
        engine.dispose()

    return (
        records,
        median_times(prepare_ours, ours, check_ours),
        median_times(prepare_theirs, theirs, check_theirs),
    )


def main() -> None:
    deltas, trades = l2_replay_from_l3(synthetic_l3_messages(STREAM_EVENTS, seed=7))
    instrument = book_node(DEMO_VENUE).cache.instrument(INSTRUMENT_ID)
    data = nautilus_peer.l2_data(instrument, deltas, trades)
    rows = [
        ("daily bars, 20 stocks x 30 years, strategy on every bar", *bars_side_by_side()),
        ("L2 stream, idle strategy", *l2_side_by_side(deltas, trades, data, reading=False)),
        (
            "L2 stream, strategy on every top-of-book change",
            *l2_side_by_side(deltas, trades, data, reading=True),
        ),
    ]
    print(
        "| run | events | hftcore events/s (wall / CPU) | Nautilus events/s | ratio (wall / CPU) |"
    )
    print("| --- | --- | --- | --- | --- |")
    for name, events, (our_wall, our_cpu), (their_wall, their_cpu) in rows:
        print(
            f"| {name} | {events:,} | {events / our_wall:,.0f} / {events / our_cpu:,.0f} "
            f"| {events / their_wall:,.0f} / {events / their_cpu:,.0f} "
            f"| {their_wall / our_wall:.2f}x / {their_cpu / our_cpu:.2f}x |"
        )


if __name__ == "__main__":
    main()
