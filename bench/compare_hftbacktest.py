"""hftbacktest (benchmark-only, not a dependency) replaying the same L2 stream as
``bench_node.py::test_l2_backtest[idle]`` with no orders, next to ``run_book``.

Not collected by pytest: hftbacktest pins numpy through numba (installing it here moved numpy
from 2.4 to 2.2), so it stays out of the ``bench`` extra. Run by hand in a scratch environment:
``pip install hftbacktest && python bench/compare_hftbacktest.py``. Prints the median of 3
timed runs (after one warm-up) of each, in records per second.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import hftbacktest as hbt  # type: ignore[import-not-found]
import numpy as np
from hftcore import l2_replay_from_l3, synthetic_l3_messages
from hftcore.node.book_backtest import DEMO_VENUE, book_node, run_book
from hftcore.node.strategy import Strategy

STREAM_EVENTS = 1_000_000
TICK = 0.01


def hftbacktest_events(deltas: Any, trades: Any) -> Any:
    """Deltas and prints merged by exchange time into hftbacktest's event records, with the
    same constant feed latency as ``DEMO_VENUE`` (0.2 ms)."""
    feed = 200_000
    events = np.zeros(len(deltas) + len(trades), dtype=hbt.event_dtype)
    depth = events[: len(deltas)]
    side = np.where(deltas["side"] == 0, hbt.BUY_EVENT, hbt.SELL_EVENT)
    depth["ev"] = hbt.EXCH_EVENT | hbt.LOCAL_EVENT | hbt.DEPTH_EVENT | side
    depth["exch_ts"] = deltas["ts_event"]
    depth["local_ts"] = deltas["ts_event"] + feed
    depth["px"] = deltas["price"] * TICK
    depth["qty"] = deltas["quantity"]
    prints = events[len(deltas) :]
    side = np.where(trades["aggressor_side"] == 0, hbt.BUY_EVENT, hbt.SELL_EVENT)
    prints["ev"] = hbt.EXCH_EVENT | hbt.LOCAL_EVENT | hbt.TRADE_EVENT | side
    prints["exch_ts"] = trades["ts_event"]
    prints["local_ts"] = trades["ts_event"] + feed
    prints["px"] = trades["price"] * TICK
    prints["qty"] = trades["quantity"]
    return events[np.argsort(events["exch_ts"], kind="stable")]


def hftbacktest_run(events: Any, low: float, high: float) -> None:
    asset = (
        hbt.BacktestAsset()
        .data([events])
        .linear_asset(1.0)
        .constant_order_latency(300_000, 200_000)
        .risk_adverse_queue_model()
        .no_partial_fill_exchange()
        .trading_value_fee_model(-0.0001, 0.0003)
        .tick_size(TICK)
        .lot_size(1.0)
        .roi_lb(low)
        .roi_ub(high)
    )
    backtest = hbt.ROIVectorMarketDepthBacktest([asset])
    backtest.elapse(int(events["local_ts"][-1] - events["local_ts"][0]) + 1_000_000_000)
    backtest.close()


def median_rate(units: int, run: Any) -> float:
    run()
    times = []
    for _ in range(3):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return units / statistics.median(times)


def main() -> None:
    deltas, trades = l2_replay_from_l3(synthetic_l3_messages(STREAM_EVENTS, seed=7))
    units = len(deltas) + len(trades)
    events = hftbacktest_events(deltas, trades)
    low = float(deltas["price"].min()) * TICK - 1.0
    high = float(deltas["price"].max()) * TICK + 1.0
    hft_rate = median_rate(units, lambda: hftbacktest_run(events, low, high))

    def ours() -> None:
        node = book_node(DEMO_VENUE)
        node.add_strategy(Strategy("IDLE"))
        run_book(node, deltas, trades)

    our_rate = median_rate(units, ours)
    print(f"records: {units:,}")
    print(f"hftbacktest ROIVectorMarketDepthBacktest, no orders: {hft_rate:,.0f} records/s")
    print(f"hftcore run_book, idle strategy:                    {our_rate:,.0f} records/s")
    print(f"ratio: {our_rate / hft_rate:.2f}x")


if __name__ == "__main__":
    main()
