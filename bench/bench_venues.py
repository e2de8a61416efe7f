"""Venue clients and the portfolio from Python: what the model events, client ids and the
bar fill model cost on top of the core.

* ``test_book_venue_l2_replay``: the 1M-message synthetic stream as L2 deltas and prints through
  ``SimulatedBookVenue``, quoting five one-lot orders a side every 1,000 records through
  ``submit`` (client order ids, ``OrderSpec``), every event to a sink: the same work as
  ``bench_venue.py::test_l2_replay[quoting]`` on the raw core.
* ``test_bar_venue_daily_bars``: 20 instruments x 30 years of daily bars (151,200 bars) through
  ``BarVenue.on_bar``, each instrument with a limit order always working (refilled when it
  fills) and a market order every 20 bars.
* ``test_portfolio_fills``: 100,000 fills over 20 instruments booked by ``Portfolio.apply_fill``
  with a mark after each.

Run with timings: ``.venv/bin/pytest bench/bench_venues.py --benchmark-enable``.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hftcore import Instrument, l2_replay_from_l3, synthetic_l3_messages
from hftcore.model.data import Bar
from hftcore.model.events import OrderEvent, OrderFilled, OrderSpec
from hftcore.model.orders import OrderType
from hftcore.node.portfolio import Portfolio
from hftcore.venues import BarVenue, BarVenueConfig, PerLotCommission, SimulatedBookVenue

INSTRUMENT = Instrument("TEST.SIM", "0.01", 2, "1", 0, maker_fee="-0.0001", taker_fee="0.0002")
STREAM_EVENTS = 1_000_000
CHUNK = 1_000
QUOTES = 5
STOCKS = 20
DAYS = 30 * 252
FILLS = 100_000

Benchmark = Any
Records = np.ndarray[Any, Any]


def timed(benchmark: Benchmark, units: int, run: Any) -> Any:
    benchmark.extra_info["units"] = units
    outcome = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    if benchmark.stats is not None:
        benchmark.extra_info["units_per_second"] = units / benchmark.stats.stats.median
    return outcome


class FillCounter:
    def __init__(self) -> None:
        self.fills = 0

    def __call__(self, event: OrderEvent) -> None:
        if isinstance(event, OrderFilled):
            self.fills += 1


@pytest.fixture(scope="module")
def l2_data() -> tuple[Records, Records]:
    return l2_replay_from_l3(synthetic_l3_messages(STREAM_EVENTS, seed=7))


def quote(venue: SimulatedBookVenue, ids: itertools.count[int]) -> None:
    now = venue.now(INSTRUMENT.instrument_id)
    assert now is not None
    resting = set()
    for client_order_id in venue.open_orders():
        order = venue.order(client_order_id)
        resting.add((order.side, order.price))
    for side, best, step in (
        (0, venue.best_bid(INSTRUMENT.instrument_id), -1),
        (1, venue.best_ask(INSTRUMENT.instrument_id), 1),
    ):
        if best is None:
            continue
        for offset in range(QUOTES):
            price = best[0] + step * offset
            if (side, price) not in resting:
                order = OrderSpec(INSTRUMENT.instrument_id, side, OrderType.LIMIT, 1, price=price)
                venue.submit(f"Q-{next(ids)}", order, now, strategy_id="MM")


def test_book_venue_l2_replay(benchmark: Benchmark, l2_data: tuple[Records, Records]) -> None:
    deltas, trades = l2_data
    bounds = np.searchsorted(trades["ts_event"], deltas["ts_event"][CHUNK::CHUNK], side="left")
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [len(trades)]))

    def run() -> int:
        sink = FillCounter()
        venue = SimulatedBookVenue("SIM", {INSTRUMENT: "USDT"}, event_sink=sink)
        ids = itertools.count(1)
        for chunk, (trade_start, trade_end) in enumerate(zip(starts, ends, strict=True)):
            window = deltas[chunk * CHUNK : (chunk + 1) * CHUNK]
            venue.on_l2_deltas(
                INSTRUMENT.instrument_id, window, trades[trade_start:trade_end], on_error="skip"
            )
            quote(venue, ids)
        return sink.fills

    assert timed(benchmark, len(deltas) + len(trades), run) > 0


def daily_bars() -> list[Bar]:
    """20 random walks of daily bars, interleaved by close time."""
    generator = np.random.default_rng(3)
    steps = generator.integers(-150, 151, size=(DAYS, STOCKS))
    closes = 10_000 + np.cumsum(steps, axis=0)
    closes = np.maximum(closes, 500)
    bars = []
    for day in range(DAYS):
        ts = (day + 1) * 86_400_000_000_000
        for stock in range(STOCKS):
            close = int(closes[day, stock])
            opening = close - int(steps[day, stock]) // 2
            high, low = max(opening, close) + 40, max(min(opening, close) - 40, 1)
            bars.append(Bar(f"S{stock}.XNAS", "1-DAY", opening, high, low, close, 10_000, ts, ts))
    return bars


def test_bar_venue_daily_bars(benchmark: Benchmark) -> None:
    instruments = {Instrument(f"S{k}.XNAS", "0.01", 2, "1", 0): "USD" for k in range(STOCKS)}
    bars = daily_bars()
    config = BarVenueConfig(PerLotCommission(per_lot="0.005", minimum="1"))  # type: ignore[arg-type]

    def run() -> int:
        sink = FillCounter()
        venue = BarVenue("BARS", instruments, config, event_sink=sink)
        ids = itertools.count(1)
        limit_orders: dict[str, str] = {}
        for index, bar in enumerate(bars):
            venue.on_bar(bar)
            working = limit_orders.get(bar.instrument_id)
            if working is None or venue.order(working).closed:
                order = OrderSpec(bar.instrument_id, 0, OrderType.LIMIT, 10, price=bar.low - 20)
                limit_orders[bar.instrument_id] = f"L-{next(ids)}"
                venue.submit(limit_orders[bar.instrument_id], order, bar.ts_event, strategy_id="S")
            if index % (20 * STOCKS) < STOCKS:
                order = OrderSpec(bar.instrument_id, 1, OrderType.MARKET, 10)
                venue.submit(f"M-{next(ids)}", order, bar.ts_event, strategy_id="S")
        return sink.fills

    assert timed(benchmark, len(bars), run) > 0


def test_portfolio_fills(benchmark: Benchmark) -> None:
    instruments = [Instrument(f"S{k}.XNAS", "0.01", 2, "1", 0) for k in range(STOCKS)]
    generator = np.random.default_rng(5)
    sides = generator.integers(0, 2, size=FILLS).tolist()
    prices = (10_000 + generator.integers(-500, 500, size=FILLS)).tolist()
    quantities = generator.integers(1, 100, size=FILLS).tolist()
    fills = [
        OrderFilled(
            "S",
            instruments[k % STOCKS].instrument_id,
            f"O-{k}",
            str(k),
            f"T-{k}",
            sides[k],
            prices[k],
            quantities[k],
            "TAKER",
            1_000_000_000,
            "USD",
            k,
            k,
        )
        for k in range(FILLS)
    ]

    def run() -> int:
        portfolio = Portfolio(dict.fromkeys(instruments, "USD"), "USD", {"USD": "1000000"})
        for fill in fills:
            portfolio.apply_fill(fill)
            portfolio.mark(fill.instrument_id, fill.last_price)
        return portfolio.equity()

    assert timed(benchmark, FILLS, run) != 0
