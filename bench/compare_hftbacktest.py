"""hftbacktest (benchmark-only, not a dependency) replaying the same L2 stream as
``bench_node.py::test_l2_backtest[idle]`` with no orders, next to ``run_book``.

Not collected by pytest: hftbacktest pins numpy through numba (installing it here moved numpy
from 2.4 to 2.2), so it stays out of the ``bench`` extra. ``scripts/compare-hftbacktest.sh``
runs it from a scratch environment that sees the package built by ``scripts/setup.sh``.

After one warm-up of each, the two replays alternate for ``ROUNDS`` rounds (``HBT_ROUNDS``,
default 7), so load on a shared machine falls on both alike; prints the median of each in
records per second, and checks that both end on the same best bid and ask.
"""

from __future__ import annotations

import os
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
INSTRUMENT_ID = "SYNTH.SIM"


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


def hftbacktest_run(events: Any, low: float, high: float) -> tuple[float, float]:
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
    depth = backtest.depth(0)
    top = (depth.best_bid, depth.best_ask)
    backtest.close()
    return top


ROUNDS = int(os.environ.get("HBT_ROUNDS", "7"))


def timed(run: Any) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def main() -> None:
    deltas, trades = l2_replay_from_l3(synthetic_l3_messages(STREAM_EVENTS, seed=7))
    units = len(deltas) + len(trades)
    events = hftbacktest_events(deltas, trades)
    low = float(deltas["price"].min()) * TICK - 1.0
    high = float(deltas["price"].max()) * TICK + 1.0
    tops: dict[str, Any] = {}

    def theirs() -> None:
        tops["hftbacktest"] = hftbacktest_run(events, low, high)

    def ours() -> None:
        node = book_node(DEMO_VENUE)
        node.add_strategy(Strategy("IDLE"))
        run_book(node, deltas, trades)
        book = node.cache.book(INSTRUMENT_ID)
        bid, ask = book.best_bid(), book.best_ask()
        assert bid is not None
        assert ask is not None
        tops["hftcore"] = (bid[0] * TICK, ask[0] * TICK)

    theirs(), ours()
    times: dict[str, list[float]] = {"hftbacktest": [], "hftcore": []}
    for _ in range(ROUNDS):
        times["hftbacktest"].append(timed(theirs))
        times["hftcore"].append(timed(ours))
    assert np.allclose(tops["hftbacktest"], tops["hftcore"]), tops
    hft_rate = units / statistics.median(times["hftbacktest"])
    our_rate = units / statistics.median(times["hftcore"])
    print(f"records: {units:,}; {ROUNDS} alternating rounds, medians")
    print(f"hftbacktest ROIVectorMarketDepthBacktest, no orders: {hft_rate:,.0f} records/s")
    print(f"hftcore run_book, idle strategy:                    {our_rate:,.0f} records/s")
    print(f"ratio: {our_rate / hft_rate:.2f}x; both end on best bid/ask {tops['hftcore']}")


if __name__ == "__main__":
    main()
