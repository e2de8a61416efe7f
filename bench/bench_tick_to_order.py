"""Tick-to-order latency inside the node: quote event in -> order out to the venue client.

The path timed is ``TradingNode.process_quote`` (cache, emulator, risk-gate and portfolio
marks, bus) -> ``Strategy.on_quote`` -> ``submit_order`` -> OMS (id, validation, state) ->
contingencies -> emulator check -> **risk gate** (``RiskGate.check_order`` against collar,
quantity, position and open-order limits) -> ``VenueClient.submit``. Ingress is
``time.perf_counter_ns()`` just before ``process_quote``; egress is the same clock read first
thing in the venue client's ``submit`` (:class:`ProbeVenue`), i.e. when the order leaves the
node. Each latency goes into an HDR histogram (``hdrhistogram``, ns, 3 significant digits).

Load: quotes on the traded instrument interleaved with background quotes and trades on four
other instruments (every event goes through the node's cache, emulator, gate and portfolio
marks and the bus; the strategy also follows the background trades). On one traded quote in
``ORDER_EVERY`` the strategy sends a limit IOC order at the touch, alternating buy and sell.
Like a real venue the probe acknowledges later: after each event it accepts and fills what was
sent (outside the timed interval), so fills, positions and the gate's open orders stay live.
Timers run between events (``advance_to``), as the live node's event loop runs them apart.

Run as a test (``--benchmark-disable``) it checks every order was sent once, accepted and
filled, and the histogram holds one latency per order. With ``--benchmark-enable`` (or
``python bench/bench_tick_to_order.py``) it also prints the percentile distribution and writes
it to ``bench/tick_to_order.hdr.txt``.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram
from hftcore._core import Instrument
from hftcore.model.data import Quote, Trade
from hftcore.model.events import OrderFilled, OrderSpec
from hftcore.model.orders import OrderType, TimeInForce
from hftcore.node.config import parse_config
from hftcore.node.kernel import TradingNode
from hftcore.node.strategy import Strategy
from hftcore.venues.base import ClientOrder, VenueCapabilities, VenueClient

TRADED = "PROBE.SIM"
BACKGROUND = [f"BG{n}.SIM" for n in range(1, 5)]
TRADED_QUOTES = 100_000
BACKGROUND_PER_QUOTE = 3
ORDER_EVERY = 10
HISTOGRAM_FILE = Path(__file__).with_name("tick_to_order.hdr.txt")
START_NS = 1_700_000_000_000_000_000

Benchmark = Any


class ProbeVenue(VenueClient):
    """A venue client that notes when each order reaches it and answers later: ``respond``
    accepts and fills (at the limit, no fee) everything sent since the last call."""

    def __init__(self, instruments: dict[Instrument, str]) -> None:
        super().__init__("SIM", instruments)
        self.sent_ns: dict[str, int] = {}
        self._unanswered: list[ClientOrder] = []
        self._fills = 0

    def submit(self, client_order_id: str, spec: OrderSpec, ts: int, *, strategy_id: str) -> None:
        self.sent_ns[client_order_id] = time.perf_counter_ns()
        super().submit(client_order_id, spec, ts, strategy_id=strategy_id)

    @property
    def capabilities(self) -> VenueCapabilities:
        return VenueCapabilities(
            order_types=frozenset({OrderType.LIMIT}),
            time_in_force=frozenset({TimeInForce.IOC}),
        )

    def advance_to(self, ts: int) -> None:
        """Nothing waits on time here."""

    def _check_time(self, instrument_id: str, ts: int) -> None:
        """Any time is accepted: answers come when :meth:`respond` is called."""

    def _send_submit(self, order: ClientOrder, ts: int) -> None:
        self._unanswered.append(order)

    def _send_modify(
        self,
        order: ClientOrder,
        quantity: int | None,
        price: int | None,
        trigger_price: int | None,
        ts: int,
    ) -> None:
        self._emit_modify_rejected(order, "UNSUPPORTED", ts)

    def _send_cancel(self, order: ClientOrder, ts: int) -> None:
        self._emit_cancel_rejected(order, "TOO_LATE", ts)

    def respond(self, ts: int) -> None:
        unanswered, self._unanswered = self._unanswered, []
        for order in unanswered:
            self._emit_accepted(order, ts)
            self._fills += 1
            self._emit_filled(
                order,
                trade_id=f"T{self._fills}",
                price=order.price or 0,
                quantity=order.quantity,
                liquidity="TAKER",
                commission=0,
                ts=ts,
            )


class TouchTaker(Strategy):
    """On every ``ORDER_EVERY``-th quote of the traded instrument, a 1-lot IOC limit order at
    the touch, sides alternating; follows the background trades."""

    def on_start(self) -> None:
        self.quotes = 0
        self.background_trades = 0
        self.sent: list[str] = []
        self.fills = 0
        self.subscribe_quotes(TRADED)
        for instrument_id in BACKGROUND:
            self.subscribe_trades(instrument_id)

    def on_quote(self, quote: Quote) -> None:
        self.quotes += 1
        if self.quotes % ORDER_EVERY:
            return
        buy = len(self.sent) % 2 == 0
        price = quote.ask_price if buy else quote.bid_price
        order = self.limit(TRADED, 0 if buy else 1, 1, price, time_in_force=TimeInForce.IOC)
        self.sent.append(self.submit_order(order))

    def on_trade(self, trade: Trade) -> None:
        self.background_trades += 1

    def on_fill(self, fill: OrderFilled) -> None:
        self.fills += 1


def stream(seed: int = 11) -> list[Quote | Trade]:
    """The traded quotes with ``BACKGROUND_PER_QUOTE`` background events before each, a
    random walk per instrument, 1 us apart."""
    rng = random.Random(seed)
    mids = {instrument_id: 100_000 for instrument_id in [TRADED, *BACKGROUND]}
    events: list[Quote | Trade] = []
    ts = START_NS
    for number in range(TRADED_QUOTES):
        for _ in range(BACKGROUND_PER_QUOTE):
            instrument_id = rng.choice(BACKGROUND)
            mids[instrument_id] += rng.choice((-1, 0, 1))
            mid = mids[instrument_id]
            ts += 1_000
            if rng.random() < 0.5:
                events.append(Trade(instrument_id, mid, rng.randint(1, 50), 0, f"B{ts}", ts, ts))
            else:
                events.append(Quote(instrument_id, mid - 1, 10, mid + 1, 12, ts, ts))
        mids[TRADED] += rng.choice((-1, 0, 1))
        mid = mids[TRADED]
        ts += 1_000
        events.append(Quote(TRADED, mid - 1, 5 + number % 7, mid + 1, 6, ts, ts))
    return events


def build_node() -> tuple[TradingNode, ProbeVenue, TouchTaker]:
    limits = {
        "max_order_quantity": 100,
        "collar_bps": 50,
        "max_long_position": 10,
        "max_short_position": 10,
    }
    config = parse_config(
        {
            "node": {"starting_balances": {"USD": "1000000"}},
            "instruments": [
                {
                    "instrument_id": instrument_id,
                    "tick_size": "0.01",
                    "price_precision": 2,
                    "lot_size": "1",
                    "size_precision": 0,
                    "limits": limits,
                }
                for instrument_id in [TRADED, *BACKGROUND]
            ],
        },
        environ={},
    )
    node = TradingNode(config)
    venue = ProbeVenue({instrument: "USD" for instrument in node.cache.instruments()})
    node.add_venue("SIM", venue)
    strategy = TouchTaker("TAKER")
    node.add_strategy(strategy)
    return node, venue, strategy


def run(events: list[Quote | Trade]) -> tuple[TradingNode, ProbeVenue, TouchTaker, HdrHistogram]:
    """Replays ``events`` through a fresh node; returns it and the tick-to-order histogram."""
    node, venue, strategy = build_node()
    histogram = HdrHistogram(1, 60_000_000_000, 3)
    sent = venue.sent_ns
    clock = time.perf_counter_ns
    node.start()
    for event in events:
        node.advance_to(event.ts_event)
        if isinstance(event, Quote):
            orders_before = len(sent)
            started = clock()
            node.process_quote(event)
            if len(sent) != orders_before:
                histogram.record_value(sent[strategy.sent[-1]] - started)
        else:
            node.process_trade(event)
        venue.respond(event.ts_event)
    node.stop()
    return node, venue, strategy, histogram


def distribution(histogram: HdrHistogram) -> str:
    """The histogram's percentile distribution in microseconds, HdrHistogram's text format."""
    import io

    out = io.BytesIO()
    histogram.output_percentile_distribution(out, 1000)
    # hdrhistogram 0.10.8 prints the footer's StdDeviation unscaled (ns); this one is in us.
    summary = f"#[StdDeviation in us = {histogram.get_stddev() / 1000:.3f}]\n" + "".join(
        f"#[p{percentile:<5} = {histogram.get_value_at_percentile(percentile) / 1000:9.3f} us]\n"
        for percentile in (50, 90, 99, 99.9, 100)
    )
    return out.getvalue().decode() + summary


def test_tick_to_order_latency(benchmark: Benchmark) -> None:
    events = stream()
    node, venue, strategy, histogram = benchmark.pedantic(
        run, args=(events,), rounds=1, iterations=1
    )
    expected_orders = TRADED_QUOTES // ORDER_EVERY
    assert strategy.quotes == TRADED_QUOTES
    assert strategy.background_trades == sum(isinstance(e, Trade) for e in events)
    assert len(strategy.sent) == len(set(strategy.sent)) == expected_orders
    assert list(venue.sent_ns) == strategy.sent  # every order reached the venue, once, in order
    assert histogram.get_total_count() == expected_orders
    assert histogram.get_min_value() > 0
    assert strategy.fills == expected_orders
    statuses = {order.status.name for order in node.execution.oms}
    assert statuses == {"FILLED"}
    assert node.portfolio.net_quantity(TRADED) == 0
    if not benchmark.disabled:
        report = distribution(histogram)
        HISTOGRAM_FILE.write_text(report)
        benchmark.extra_info["p50_us"] = histogram.get_value_at_percentile(50) / 1000
        benchmark.extra_info["p99_us"] = histogram.get_value_at_percentile(99) / 1000
        benchmark.extra_info["p99.9_us"] = histogram.get_value_at_percentile(99.9) / 1000
        sys.stdout.write(report)


if __name__ == "__main__":
    *_, measured = run(stream())
    text = distribution(measured)
    HISTOGRAM_FILE.write_text(text)
    sys.stdout.write(text)
