"""Decoding Alpaca market data frames (msgpack, as alpaca-py receives them) into model events,
and alpaca-py's own decoding of the same frame for comparison.

Run with timings: ``.venv/bin/pytest bench/bench_alpaca.py --benchmark-enable``. In the test
suite these run once each with timings off, so the equality checks still run.
"""

from __future__ import annotations

from typing import Any

import msgpack
import pytest
from hftcore import Instrument
from hftcore.model.data import Bar, Quote, Trade
from hftcore.venues.alpaca import AlpacaConfig, AlpacaCredentials, AlpacaMarketData

AAPL = Instrument("AAPL.ALPACA", "0.01", 2, "1", 0)
MESSAGES = 100
T0 = 1_700_000_000_000_000_000

Benchmark = Any


class Counter:
    def __init__(self) -> None:
        self.quotes = 0
        self.trades = 0
        self.last_quote: Quote | None = None

    def process_quote(self, quote: Quote) -> None:
        self.quotes += 1
        self.last_quote = quote

    def process_trade(self, trade: Trade) -> None:
        self.trades += 1

    def process_bar(self, bar: Bar) -> None:
        raise AssertionError("no bars in this frame")


@pytest.fixture(scope="module")
def frame() -> bytes:
    """One frame of 100 messages, half quotes and half trades, as Alpaca sends them."""
    messages: list[dict[str, Any]] = []
    for index in range(MESSAGES // 2):
        stamp = msgpack.Timestamp.from_unix_nano(T0 + index * 1_000)
        bid = 189.0 + index / 100
        messages.append(
            {
                "T": "q",
                "S": "AAPL",
                "bx": "V",
                "bp": bid,
                "bs": 3,
                "ax": "V",
                "ap": round(bid + 0.01, 2),
                "as": 4,
                "c": ["R"],
                "z": "C",
                "t": stamp,
            }
        )
        messages.append(
            {
                "T": "t",
                "S": "AAPL",
                "i": index,
                "x": "V",
                "p": bid,
                "s": 100,
                "c": ["@"],
                "z": "C",
                "t": stamp,
            }
        )
    packed: bytes = msgpack.packb(messages)
    return packed


def test_decode_frame_into_model_events(benchmark: Benchmark, frame: bytes) -> None:
    counter = Counter()
    stream = AlpacaMarketData(
        AlpacaConfig(), [AAPL], counter, credentials=AlpacaCredentials("k", "s"), clock_ns=lambda: 1
    )
    benchmark(stream._consume_frame, frame)
    assert counter.quotes == counter.trades > 0
    assert counter.quotes % (MESSAGES // 2) == 0
    assert counter.last_quote == Quote(
        "AAPL.ALPACA", 18_949, 3, 18_950, 4, T0 + (MESSAGES // 2 - 1) * 1_000, 1
    )
    assert stream.stats.malformed == 0


def test_alpaca_py_decoding_of_the_same_frame(benchmark: Benchmark, frame: bytes) -> None:
    """alpaca-py's path without hftcore: msgpack to dicts, then its pydantic-free models."""
    from alpaca.data.models import Quote as AlpacaQuote
    from alpaca.data.models import Trade as AlpacaTrade

    def decode() -> list[Any]:
        out: list[Any] = []
        for message in msgpack.unpackb(frame):
            message["t"] = message["t"].to_datetime()
            model = AlpacaQuote if message["T"] == "q" else AlpacaTrade
            out.append(model(message["S"], message))
        return out

    decoded = benchmark(decode)
    assert len(decoded) == MESSAGES
