"""Decoding Binance depth updates into the book: ns per message from the frame's bytes
(combined-stream envelope, the core's decode into exact ticks and lots, sequence check,
whole-update apply to the core's L2 book, handler call) on a synchronised
:class:`~hftcore.venues.binance.BinanceMarketData`, without a socket.

The updates are the 1M-message synthetic order flow's L2 changes (prices repeat as on a real
book) grouped into depth events of ``LEVELS`` price levels, in Binance's format. After each
round the book must equal a dict replay of the same changes.

Run with timings: ``.venv/bin/pytest bench/bench_venue_decode.py --benchmark-enable``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest
from hftcore import Instrument, l2_deltas_from_l3, synthetic_l3_messages
from hftcore._core import decode_binance_depth
from hftcore.model.data import Quote, Trade
from hftcore.node.heap import FROZEN_HEAP
from hftcore.venues.binance import BinanceConfig, BinanceMarketData
from hftcore.venues.binance.wire import DepthSnapshot
from hftcore.venues.live import LevelChange

INSTRUMENT = Instrument("BTCUSDT.BINANCE", "0.01", 2, "0.00001", 5)
MESSAGES = 20_000
STREAM = "btcusdt@depth@100ms"

Benchmark = Any


class NoHandler:
    """Takes the callbacks and does nothing: only the decode path is measured."""

    def on_book(
        self, instrument_id: str, changes: Iterable[LevelChange], ts_event: int, ts_init: int
    ) -> None:
        return None

    def on_book_invalid(self, instrument_id: str, reason: str) -> None:
        return None

    def on_quote(self, quote: Quote) -> None:
        return None

    def on_trade(self, trade: Trade) -> None:
        return None


def _price(ticks: int) -> str:
    whole, frac = divmod(ticks, 100)
    return f"{whole}.{frac:02d}000000"


def _quantity(lots: int) -> str:
    whole, frac = divmod(lots, 100_000)
    return f"{whole}.{frac:05d}000"


def depth_frames(levels: int) -> tuple[list[bytes], dict[tuple[int, int], int]]:
    """``MESSAGES + 1`` depth frames of ``levels`` distinct levels each, and the book (by
    ``(side, price)``) after all of them."""
    deltas = l2_deltas_from_l3(synthetic_l3_messages(400_000, seed=11))
    frames: list[bytes] = []
    reference: dict[tuple[int, int], int] = {}
    event: dict[tuple[int, int], int] = {}
    update_id = 0
    for side, price, quantity in zip(
        deltas["side"].tolist(), deltas["price"].tolist(), deltas["quantity"].tolist(), strict=True
    ):
        event[(side, price)] = quantity
        if len(event) < levels:
            continue
        first = update_id + 1
        update_id += len(event)
        frames.append(
            json.dumps(
                {
                    "stream": STREAM,
                    "data": {
                        "e": "depthUpdate",
                        "E": 1_700_000_000_000 + update_id,
                        "s": "BTCUSDT",
                        "U": first,
                        "u": update_id,
                        "b": [[_price(p), _quantity(q)] for (s, p), q in event.items() if s == 0],
                        "a": [[_price(p), _quantity(q)] for (s, p), q in event.items() if s == 1],
                    },
                },
                separators=(",", ":"),
            ).encode()
        )
        for key, final in event.items():
            if final:
                reference[key] = final
            else:
                reference.pop(key, None)
        event = {}
        if len(frames) > MESSAGES:
            break
    return frames, reference


def synchronised_feed(first_frame: bytes) -> BinanceMarketData:
    """A feed whose book was synchronised the documented way: the first update buffered,
    then a snapshot whose ``lastUpdateId`` is that update's last id."""
    feed = BinanceMarketData(BinanceConfig(), [INSTRUMENT], NoHandler())
    sync = feed.syncs[INSTRUMENT.instrument_id]
    sync.on_update(decode_binance_depth(first_frame, INSTRUMENT), 0)
    data = json.loads(first_frame)["data"]
    snapshot = DepthSnapshot(data["u"], data["b"], data["a"])
    assert sync.on_snapshot(snapshot, 0) == "APPLIED"
    return feed


@pytest.mark.parametrize("levels", [4, 20])
def test_binance_depth_update_into_book(benchmark: Benchmark, levels: int) -> None:
    frames, reference = depth_frames(levels)
    first, rest = frames[0], frames[1:]
    feeds: list[BinanceMarketData] = []

    def setup() -> tuple[tuple[BinanceMarketData], dict[str, Any]]:
        feed = synchronised_feed(first)
        feeds.append(feed)
        return (feed,), {}

    def run(feed: BinanceMarketData) -> None:
        on_frame = feed.on_frame
        for frame in rest:
            on_frame(frame, 0)

    benchmark.extra_info["messages"] = len(rest)
    benchmark.extra_info["levels_per_message"] = levels
    # As in a paper or live node (`[node] gc`, the default there): the heap built before the
    # feed runs, here the frames and the reference book, is frozen, not rescanned by every
    # full collection the run's allocations trigger.
    FROZEN_HEAP.hold()
    try:
        benchmark.pedantic(run, setup=setup, rounds=5, iterations=1, warmup_rounds=1)
    finally:
        FROZEN_HEAP.release()
    if benchmark.stats is not None:
        benchmark.extra_info["ns_per_message"] = benchmark.stats.stats.median / len(rest) * 1e9
    feed = feeds[-1]
    counters = feed.counters
    assert (counters.malformed, counters.gaps, counters.stale) == (0, 0, 0)
    book = feed.book(INSTRUMENT.instrument_id)
    expected_bids = sorted(((p, q) for (s, p), q in reference.items() if s == 0), reverse=True)
    expected_asks = sorted((p, q) for (s, p), q in reference.items() if s == 1)
    assert book.levels(0) == expected_bids
    assert book.levels(1) == expected_asks
    assert feed.syncs[INSTRUMENT.instrument_id].last_update_id == json.loads(rest[-1])["data"]["u"]
