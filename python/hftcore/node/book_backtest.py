"""Backtests on L2 data: delta records (and trade prints) replayed through the node and a
:class:`SimulatedBookVenue` in steps of one core call each, with strategies called at the local
times the venue reports.

Three clocks meet (see ``docs/simulated-venue.md``): the exchange's, at which records happen and
our orders match; the strategy's, which sees a record one feed latency late (``feed_ts``) and
venue events one response latency late (``ts_event``); and the simulated clock of the node, which
is the strategy's. For every top-of-book change (any of best bid/ask price or quantity) at record
``c`` seen at ``f = feed_ts[c]``:

1. the venue replays every record with exchange time ``<= f`` (it cannot know later ones); this
   and step 3's book update are one core call per change (:class:`~hftcore.L2Stepper`);
2. venue events and trade prints seen at or before ``f`` reach the node in time order, the clock
   moving to each one's time;
3. the node's book applies the records up to ``c`` (never a record not yet seen, and only after
   what step 2 delivers: no callback sees a record before its time), the clock moves to ``f``,
   and ``data.book.{instrument_id}`` is published: strategies' ``on_book`` run and may send
   orders, which leave at ``f`` and reach the venue one order latency later.

Without subscribers to ``data.book.{instrument_id}``, a step is ``chunk`` deltas. The portfolio is
sampled on a grid of local time (every ``sample_interval_ns``) into a :class:`BacktestResult`.
Throttlers and time-based emulator expiries are not driven by this runner (the venue's own time
may not run ahead of the data it has not replayed).
"""

from __future__ import annotations

import heapq
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from hftcore._core import (
    L2_DELTA_DTYPE,
    TRADE_DTYPE,
    L2Stepper,
    l2_replay_from_l3,
    synthetic_l3_messages,
)
from hftcore.errors import ConfigError, InvalidData, InvalidValue
from hftcore.model.data import Trade
from hftcore.model.events import OrderEvent
from hftcore.node.backtest import _Recorder
from hftcore.node.clock import SimulatedClock
from hftcore.node.config import parse_config
from hftcore.node.kernel import TradingNode
from hftcore.reports.backtest import BacktestResult
from hftcore.strategies.market_maker import MarketMaker
from hftcore.venues.simulated import (
    BookVenueConfig,
    ConstantLatency,
    QueueModelConfig,
    SimulatedBookVenue,
)

if TYPE_CHECKING:
    from hftcore._core import SteppedPrint

SECONDS_PER_YEAR = 365.0 * 86_400.0

_Records = npt.NDArray[Any]


def run_book(
    node: TradingNode,
    deltas: _Records,
    trades: _Records | None = None,
    *,
    instrument_id: str | None = None,
    chunk: int = 65_536,
    sample_interval_ns: int = 1_000_000_000,
    periods_per_year: float = SECONDS_PER_YEAR,
    name: str = "book backtest",
) -> BacktestResult:
    """Replays ``deltas`` (``L2_DELTA_DTYPE``) and ``trades`` (``TRADE_DTYPE``) of one
    instrument through ``node`` (whose venue for it must be a :class:`SimulatedBookVenue` and
    whose clock a :class:`SimulatedClock`), at most ``chunk`` delta records per core call, and
    returns the run's result with equity sampled every ``sample_interval_ns`` of local time.

    Input is checked before anything runs: wrong dtypes raise ``InvalidData``
    (``INVALID_RECORDS``); a record before the one preceding it ``InvalidData``
    (``TIMESTAMP_BEFORE_VENUE_TIME``, naming it: ``deltas[i]`` or ``trades[i]``), bad prices,
    sides or sequence numbers their own codes; a non-positive ``chunk`` or interval
    ``InvalidValue``; an instrument not on a book venue or a clock that is not simulated
    ``ConfigError``."""
    target = _instrument(node, instrument_id)
    _, venue = node.execution.venue_for(target)
    if not isinstance(venue, SimulatedBookVenue):
        raise ConfigError(
            "UNSUPPORTED_VENUE", f"{target} is on {type(venue).__name__}, not a book venue"
        )
    clock = node.clock
    if not isinstance(clock, SimulatedClock):
        raise ConfigError("UNSUPPORTED_CLOCK", "a book backtest needs a SimulatedClock")
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk <= 0:
        raise InvalidValue("INVALID_CHUNK", f"chunk must be a positive int, got {chunk!r}")
    if (
        isinstance(sample_interval_ns, bool)
        or not isinstance(sample_interval_ns, int)
        or sample_interval_ns <= 0
    ):
        raise InvalidValue(
            "INVALID_INTERVAL",
            f"sample_interval_ns must be a positive int, not {sample_interval_ns!r}",
        )
    _check_records(deltas, L2_DELTA_DTYPE, "delta")
    if trades is None:
        trades = np.empty(0, dtype=TRADE_DTYPE)
    _check_records(trades, TRADE_DTYPE, "trade")
    if len(deltas) == 0:
        raise InvalidData("TOO_FEW_RECORDS", "a book backtest needs delta records")

    # Every record is checked here, before the node starts.
    stepper = venue.l2_stepper(target, node.cache.book(target), deltas, trades)
    run = _BookRun(node, clock, venue, target, sample_interval_ns)
    node.bus.subscribe("events.fill.>", run.recorder.on_fill)
    node.start()
    try:
        run.replay(stepper, chunk)
    finally:
        venue.set_event_sink(node.execution.on_venue_event)
    node.stop()
    recorder = run.recorder
    if len(recorder.timestamps) < 2:
        raise InvalidData(
            "TOO_FEW_RECORDS", "the records span less than two sample intervals of local time"
        )
    return recorder.result(periods_per_year=periods_per_year, name=name)


def _instrument(node: TradingNode, instrument_id: str | None) -> str:
    if instrument_id is not None:
        return node.cache.instrument(instrument_id).instrument_id
    instruments = node.cache.instruments()
    if len(instruments) != 1:
        raise ConfigError(
            "AMBIGUOUS_INSTRUMENT",
            f"the node has {len(instruments)} instruments: name the one to replay",
        )
    return instruments[0].instrument_id


def _check_records(records: Any, dtype: np.dtype[Any], what: str) -> None:
    if not isinstance(records, np.ndarray) or records.dtype != dtype or records.ndim != 1:
        raise InvalidData("INVALID_RECORDS", f"{what} records must be a 1-d array of {dtype}")


class _BookRun:
    """One run's state: cursors into the chunk, the held events and the sampling grid."""

    def __init__(
        self,
        node: TradingNode,
        clock: SimulatedClock,
        venue: SimulatedBookVenue,
        instrument_id: str,
        interval: int,
    ) -> None:
        self.node = node
        self.clock = clock
        self.venue = venue
        self.instrument_id = instrument_id
        self.topic = f"data.book.{instrument_id}"
        self.trade_topic = f"data.trades.{instrument_id}"
        self.marked: tuple[int | None, int | None] | None = None
        self.book = node.cache.book(instrument_id)
        self.recorder = _Recorder(node)
        self.interval = interval
        self.next_sample: int | None = None
        # (local time, arrival number, item): venue events and trade prints waiting for the
        # clock; the arrival number keeps equal times in the order the venue gave them.
        self.held: list[tuple[int, int, OrderEvent | Trade]] = []
        self.arrivals = 0
        self.trade_number = 0
        venue.set_event_sink(self._hold)

    def _hold(self, event: OrderEvent) -> None:
        self.arrivals += 1
        heapq.heappush(self.held, (event.ts_event, self.arrivals, event))

    # -- time ----------------------------------------------------------------------------

    def _advance(self, ts: int) -> None:
        now = self.clock.timestamp_ns()
        if ts <= now:
            return
        if self.next_sample is None:
            if self.node.cache.last_price(self.instrument_id) is None:
                # Sampling starts with the first print: the report needs a mark price.
                self.clock.advance_to(ts)
                return
            self.next_sample = ts
        while self.next_sample <= ts:
            self.clock.advance_to(self.next_sample)
            self.recorder.sample(self.next_sample)
            self.next_sample += self.interval
        self.clock.advance_to(ts)

    def _release(self, until: int | None) -> None:
        """Delivers held events and prints seen at or before ``until`` (None: all)."""
        held = self.held
        while held and (until is None or held[0][0] <= until):
            ts, _, item = heapq.heappop(held)
            self._advance(ts)
            if isinstance(item, Trade):
                self._trade(item)
            else:
                self.node.execution.on_venue_event(item)
        if until is not None:
            self._advance(until)

    # -- replay --------------------------------------------------------------------------

    def replay(self, stepper: L2Stepper, chunk: int) -> None:
        """One core call per top-of-book change (see :class:`~hftcore.L2Stepper`) or per
        ``chunk`` deltas, whichever comes first."""
        venue, instrument_id, book = self.venue, self.instrument_id, self.book
        detect_changes = bool(self.node.bus.handlers(self.topic))
        every_print = bool(self.node.bus.handlers(self.trade_topic))
        held = self.held
        clock = self.clock
        while not stepper.done:
            # Nobody reads the prints one by one and no order can trigger on one: the last
            # print of the step gives the cache and the marks the same state, and no print is
            # a time at which the node acts.
            prints_act = every_print or not _no_orders(self.node)
            held_until = held[0][0] if held and prints_act else None
            timer = clock.next_due_ns()
            if timer is not None and timer <= clock.timestamp_ns():
                # Set for now by a callback: it fires now, before the venue goes on.
                clock.advance_to(clock.timestamp_ns())
                timer = clock.next_due_ns()
            if timer is not None and (held_until is None or timer < held_until):
                held_until = timer
            end, seen, prints, book_pending = venue.step_l2(
                instrument_id,
                stepper,
                book,
                detect_changes=detect_changes,
                max_deltas=chunk,
                last_print_only=not prints_act,
                held_until=held_until,
            )
            if prints:
                self._hold_prints(prints)
            # What is due by ``seen`` sees the book without the step's deltas.
            self._release(seen)
            if book_pending:
                venue.apply_pending_l2(instrument_id, stepper, book)
            if end == "CHANGE":
                self._publish_book(seen)
            elif end != "DUE":
                self._mark(seen)
        # Commands still in flight arrive; their answers and every held event are delivered.
        self.venue.advance_to(max(self.clock.timestamp_ns(), self._venue_now()))
        self._release(None)
        if self.next_sample is not None:
            self._advance(self.next_sample)

    def _venue_now(self) -> int:
        now = self.venue.now(self.instrument_id)
        return now if now is not None else self.clock.timestamp_ns()

    def _hold_prints(self, prints: list[SteppedPrint]) -> None:
        for ts_event, seen, price, quantity, aggressor_side in prints:
            self.trade_number += 1
            self.arrivals += 1
            trade = Trade(
                self.instrument_id,
                price,
                quantity,
                _aggressor(aggressor_side),
                str(self.trade_number),
                ts_event,
                seen,
            )
            heapq.heappush(self.held, (seen, self.arrivals, trade))

    def _trade(self, trade: Trade) -> None:
        # As ``TradingNode.process_trade``, but at the local time the print is seen
        # (``ts_init``): the node's engines run on the local clock.
        node = self.node
        node.cache.update_trade(trade)
        node.execution.on_price(self.instrument_id, None, None, trade.price, trade.ts_init)
        node.bus.publish(self.trade_topic, trade)

    def _mark(self, ts: int) -> None:
        bid, ask = self.book.best_bid(), self.book.best_ask()
        prices = (bid[0] if bid else None, ask[0] if ask else None)
        if prices == self.marked:
            return  # only quantities changed: nothing to mark, release or check again
        self.marked = prices
        self.node.execution.on_price(self.instrument_id, prices[0], prices[1], None, ts)

    def _publish_book(self, ts: int) -> None:
        self._mark(ts)
        self.node.bus.publish(self.topic, self.instrument_id)


def _no_orders(node: TradingNode) -> bool:
    return next(iter(node.execution.oms), None) is None


def _aggressor(code: int) -> int:
    return code if code in (0, 1) else -1


SYNTHETIC_INSTRUMENT: dict[str, Any] = {
    "instrument_id": "SYNTH.SIM",
    "tick_size": "0.01",
    "price_precision": 2,
    "lot_size": "1",
    "size_precision": 0,
    "quote_currency": "USD",
    "maker_fee": "-0.0001",
    "taker_fee": "0.0003",
    "limits": {"max_order_quantity": 1_000_000},
}


def book_node(
    venue_config: BookVenueConfig | None = None, instrument: dict[str, Any] | None = None
) -> TradingNode:
    """A backtest node with one instrument (``SYNTHETIC_INSTRUMENT`` unless given, as a node
    config entry) on a :class:`SimulatedBookVenue` named ``SIM``."""
    config = parse_config(
        {
            "node": {"starting_balances": {"USD": "1000000"}},
            "instruments": [instrument or SYNTHETIC_INSTRUMENT],
        },
        environ={},
    )
    node = TradingNode(config)
    entry = config.instruments[0]
    venue = SimulatedBookVenue(
        "SIM", {node.cache.instrument(entry.instrument_id): entry.quote_currency}, venue_config
    )
    node.add_venue("SIM", venue)
    return node


DEMO_VENUE = BookVenueConfig(
    queue_model=QueueModelConfig(kind="POWER", exponent=2.0),
    feed_latency=ConstantLatency(200_000),
    order_latency=ConstantLatency(300_000),
    response_latency=ConstantLatency(200_000),
)


def run_market_making_demo(events: int, seed: int) -> dict[str, str]:
    """The bundled market maker on ``events`` synthetic L3 messages (``synthetic_l3_messages``,
    seeded) turned into L2 deltas and prints, on a venue with 0.2 ms feed and response and 0.3
    ms order-entry latency and a power-law (exponent 2) queue model; returns the session's
    figures as printable text."""
    if isinstance(events, bool) or not isinstance(events, int) or events <= 0:
        raise InvalidValue("INVALID_COUNT", f"events must be a positive int, got {events!r}")
    deltas, trades = l2_replay_from_l3(synthetic_l3_messages(events, seed=seed))
    node = book_node(DEMO_VENUE)
    instrument_id = SYNTHETIC_INSTRUMENT["instrument_id"]
    node.add_strategy(MarketMaker("MM", {"instrument_id": instrument_id}))
    started = time.perf_counter()
    result = run_book(node, deltas, trades, name="market maker on synthetic L2 flow")
    seconds = time.perf_counter() - started
    span = int(deltas["ts_event"][-1]) - int(deltas["ts_event"][0])
    inventory, extreme = 0.0, 0.0
    for fill in result.fills:
        inventory += fill.quantity if fill.side == "BUY" else -fill.quantity
        extreme = max(extreme, abs(inventory))
    buys = sum(fill.side == "BUY" for fill in result.fills)
    return {
        "L2 records + prints": f"{len(deltas) + len(trades):,}",
        "replay events/s": f"{(len(deltas) + len(trades)) / seconds:,.0f}",
        "simulated time": f"{span / 1e9:.1f} s",
        "orders": f"{len(result.orders):,}",
        "fills (buy / sell)": f"{buys:,} / {len(result.fills) - buys:,}",
        "max |inventory| (lots)": f"{extreme:g}",
        "final inventory (lots)": f"{node.portfolio.net_quantity(instrument_id):g}",
        "P&L incl. fees (USD)": f"{result.equity[-1] - result.equity[0]:,.2f}",
        "fees (USD)": f"{sum(fill.fee for fill in result.fills):,.2f}",
    }
