"""The trading node: one engine for backtest, paper and live.

``TradingNode`` assembles the clock, the message bus, the cache, the data path (books, bars),
the execution path (OMS, emulator, contingencies, risk gate, throttlers, venues; see
:mod:`hftcore.node.execution`), the portfolio and the strategies. Only the clock, the data
source and the venue clients differ between modes.

Strategies are isolated: an exception in a callback is logged, the strategy is stopped, its
open orders are handled as its config says (``stop``: left, ``stop_and_cancel``: canceled,
``stop_and_flatten``: canceled and its positions closed), and the node keeps running.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from hftcore._core import Instrument
from hftcore.errors import ConfigError, InvalidValue
from hftcore.model.data import Bar, Quote, Trade
from hftcore.model.events import (
    CancelAllOrders,
    CancelOrder,
    Command,
    ModifyOrder,
    OrderDenied,
    OrderEvent,
    OrderFilled,
    OrderInitialized,
    OrderSpec,
    SubmitOrder,
)
from hftcore.node.bus import MessageBus
from hftcore.node.cache import Cache
from hftcore.node.clock import Clock, SimulatedClock
from hftcore.node.config import NodeConfig
from hftcore.node.execution import EventSink, ExecutionEngine, RiskEngine
from hftcore.node.heap import (
    DEFERRING_NODES,
    FROZEN_HEAP,
    defers_collections,
    freezes_heap,
)
from hftcore.node.portfolio import Portfolio
from hftcore.node.strategy import Strategy
from hftcore.oms.order import OrderStatus
from hftcore.oms.throttle import Throttler
from hftcore.store.base import EventStore
from hftcore.store.recovery import (
    ReconciliationReport,
    RecoveredState,
    VenueOpenOrder,
    rebuild,
    reconcile,
)
from hftcore.venues.base import VenueClient

logger = logging.getLogger(__name__)

OnError = Literal["stop", "stop_and_cancel", "stop_and_flatten"]


class TradingNode:
    """Hosts strategies over one execution path; see the module docs."""

    def __init__(
        self,
        config: NodeConfig,
        *,
        clock: Clock | None = None,
        store: EventSink | None = None,
    ) -> None:
        self.config = config
        self.clock: Clock = clock if clock is not None else SimulatedClock()
        self.bus = MessageBus()
        self.cache = Cache()
        currencies: dict[Instrument, str] = {}
        self.risk = RiskEngine(config.risk)
        for instrument_config in config.instruments:
            instrument = instrument_config.build()
            self.cache.add_instrument(instrument)
            self.risk.register(instrument, instrument_config.limits)
            currencies[instrument] = instrument_config.quote_currency
        self.portfolio = Portfolio(
            currencies, config.node.base_currency, dict(config.node.starting_balances)
        )
        self.execution = ExecutionEngine(
            self.bus,
            self.cache,
            self.portfolio,
            self.risk,
            clock_ns=self.clock.timestamp_ns,
            store=store,
        )
        self.strategies: dict[str, Strategy] = {}
        self._on_error: dict[str, OnError] = {}
        self._failed: dict[str, BaseException] = {}
        self._bar_routes: dict[str, tuple[VenueClient, dict[str, str]]] = {}
        """Per instrument: its venue and its bar topics by bar type (resolved once)."""
        self._started = False
        self._used_client_order_ids: set[str] = set()
        self._abandoned: tuple[str, ...] = ()
        self._holds_frozen_heap = False
        self._holds_deferral = False
        self._quote_topics: dict[str, str] = {}
        self._trade_topics: dict[str, str] = {}

    # -- assembly ------------------------------------------------------------------------

    def add_venue(self, name: str, venue: VenueClient, throttler: Throttler | None = None) -> None:
        for instrument_id in venue.instrument_ids:
            if not self.cache.has_instrument(instrument_id):
                raise ConfigError(
                    "UNKNOWN_INSTRUMENT", f"venue {name!r} trades {instrument_id!r}, not configured"
                )
        self.execution.add_venue(name, venue, throttler)
        self._bar_routes.clear()

    def add_strategy(self, strategy: Strategy, on_error: OnError = "stop_and_cancel") -> None:
        if strategy.strategy_id in self.strategies:
            raise ConfigError(
                "DUPLICATE_STRATEGY", f"strategy id {strategy.strategy_id!r} is already used"
            )
        strategy.bind(_Context(self))
        self.strategies[strategy.strategy_id] = strategy
        self._on_error[strategy.strategy_id] = on_error
        sid = strategy.strategy_id
        # A callback the strategy leaves as the base class's does nothing: not called per event.
        if type(strategy).on_order_event is not Strategy.on_order_event:
            self.bus.subscribe(
                f"events.order.{sid}", self._guarded(strategy, strategy.on_order_event)
            )
        if type(strategy).on_fill is not Strategy.on_fill:
            self.bus.subscribe(f"events.fill.{sid}", self._guarded(strategy, strategy.on_fill))
        if self._started:
            self._call(strategy, strategy.on_start)

    def is_running(self, strategy_id: str) -> bool:
        return strategy_id in self.strategies and strategy_id not in self._failed

    def failure(self, strategy_id: str) -> BaseException | None:
        """The exception that stopped a strategy, if one did."""
        return self._failed.get(strategy_id)

    def start(self) -> None:
        """Starts the strategies; then, as ``[node] gc`` says, freezes the heap
        (:mod:`hftcore.node.heap`) so that what was built until now is not scanned again."""
        self._started = True
        for strategy in list(self.strategies.values()):
            self._call(strategy, strategy.on_start)
        if not self._holds_frozen_heap and freezes_heap(self.config.node.gc, self.config.node.mode):
            FROZEN_HEAP.hold()
            self._holds_frozen_heap = True
        if not self._holds_deferral and defers_collections(
            self.config.node.gc, self.config.node.mode
        ):
            DEFERRING_NODES.hold()
            self._holds_deferral = True

    def stop(self) -> None:
        for strategy in list(self.strategies.values()):
            if self.is_running(strategy.strategy_id):
                self._call(strategy, strategy.on_stop)
        self._started = False
        if self._holds_frozen_heap:
            FROZEN_HEAP.release()
            self._holds_frozen_heap = False
        if self._holds_deferral:
            DEFERRING_NODES.release()
            self._holds_deferral = False

    def _call(self, strategy: Strategy, callback: Callable[[], None]) -> None:
        # on_start / on_stop may run long (loading, fitting): the collector keeps running.
        self._guarded(strategy, lambda _message: callback(), defers_gc=False)(None)

    # -- strategy isolation --------------------------------------------------------------

    def _guarded(
        self, strategy: Strategy, handler: Callable[[Any], None], *, defers_gc: bool = True
    ) -> Callable[[Any], None]:
        """``handler`` as the bus calls it: skipped once the strategy failed, its exception
        isolated; with a deferring ``[node] gc`` policy no cyclic collection starts while it
        runs (a collection that comes due starts after it, at the next allocation)."""
        strategy_id = strategy.strategy_id
        pauses = defers_gc and defers_collections(self.config.node.gc, self.config.node.mode)

        def call(message: Any) -> None:
            if strategy_id in self._failed:
                return
            paused = pauses and gc.isenabled()  # a collector someone disabled stays disabled
            if paused:
                gc.disable()
            try:
                handler(message)
            except Exception as error:  # isolation is the point: log it and stop the strategy
                self._fail(strategy, error)
            finally:
                if paused:
                    gc.enable()

        return call

    def _fail(self, strategy: Strategy, error: BaseException) -> None:
        strategy_id = strategy.strategy_id
        logger.exception("strategy %s raised and is stopped", strategy_id, exc_info=error)
        self._failed[strategy_id] = error
        policy = self._on_error[strategy_id]
        if policy == "stop":
            return
        instruments = {
            order.instrument_id for order in self.execution.oms.orders(strategy_id, open_only=True)
        }
        now = self.clock.timestamp_ns()
        for instrument_id in sorted(instruments):
            self.execution.execute(CancelAllOrders(strategy_id, instrument_id, None, now))
        if policy == "stop_and_flatten":
            for instrument in self.cache.instruments():
                self._close_position(strategy_id, instrument.instrument_id)

    # -- data ingress (called by the backtest runner, paper feeds and live adapters) ------

    def advance_to(self, ts: int) -> None:
        """Moves a simulated clock to ``ts`` (timers fire) and lets time-driven work run."""
        if isinstance(self.clock, SimulatedClock):
            self.clock.advance_to(ts)
        self.execution.on_time(ts)

    def process_quote(self, quote: Quote) -> None:
        # The node's time is when it saw the data (ts_init): a live venue's own stamps
        # (ts_event) can be earlier than data the node saw before.
        instrument_id = quote.instrument_id
        self.cache.update_quote(quote)
        self.execution.on_price(
            instrument_id, quote.bid_price, quote.ask_price, None, quote.ts_init
        )
        topic = self._quote_topics.get(instrument_id)
        if topic is None:
            topic = self._quote_topics[instrument_id] = f"data.quotes.{instrument_id}"
        self.bus.publish(topic, quote)

    def process_trade(self, trade: Trade) -> None:
        instrument_id = trade.instrument_id
        self.cache.update_trade(trade)
        self.execution.on_price(instrument_id, None, None, trade.price, trade.ts_init)
        topic = self._trade_topics.get(instrument_id)
        if topic is None:
            topic = self._trade_topics[instrument_id] = f"data.trades.{instrument_id}"
        self.bus.publish(topic, trade)

    def process_bar(self, bar: Bar) -> None:
        """A closed bar: the venue fills what the bar implies first, then strategies see it."""
        instrument_id = bar.instrument_id
        route = self._bar_routes.get(instrument_id)
        if route is None:
            venue = self.execution.venue_for(instrument_id)[1]
            route = self._bar_routes[instrument_id] = (venue, {})
        venue, topics = route
        venue.on_bar(bar)
        self.cache.update_bar(bar)
        self.execution.on_price(instrument_id, None, None, bar.close, bar.ts_init)
        topic = topics.get(bar.bar_type)
        if topic is None:
            topic = topics[bar.bar_type] = f"data.bars.{instrument_id}.{bar.bar_type}"
        self.bus.publish(topic, bar)

    # -- restart ---------------------------------------------------------------------------

    def recover(self, store: EventStore) -> Recovery:
        """Rebuilds this (fresh) node from ``store`` after a restart, then reconciles it with
        its venue clients. Call it after adding venues and strategies, before :meth:`start`.

        1. A ``SubmitOrder`` logged without its ``OrderInitialized`` or ``OrderDenied`` (the
           node died between logging the intent and acting on it) gets an ``OrderDenied``
           ``NOT_PROCESSED_BEFORE_RESTART``: nothing of it was ever sent, and it is not sent now.
        2. Every stored order event goes to the OMS and every fill to the portfolio, in log
           order; EMULATED orders go back to their emulator; working orders back into the risk
           gate (those with a price: limit, stop, or any order once the instrument has a mark),
           and each instrument's net position too. OCO/OTO/bracket lists are followed through
           the log again, so children waiting for their parent stay held.
        3. The venue clients' open orders are compared with the log (``reconcile``, held
           children aside); the events that brings (fills the log lacks, orders the venue no
           longer has) are appended, then applied like live venue events. Last, the lists get
           what they still need: children released before the node stopped but never sent
           (their parent's fill is in the log) are sent now.

        Every client order id in the log stays used: :meth:`next_client_order_id` skips them.
        """
        state = self.rebuild_from(store)
        return self.reconcile_venues(store, state)

    def rebuild_from(self, store: EventStore) -> RecoveredState:
        """Steps 1 and 2 of :meth:`recover`: the node's state from the log, no venue asked."""
        if self._started:
            raise InvalidValue("NODE_RUNNING", "recover a node before starting it")
        now = self.clock.timestamp_ns()
        orphans = _unprocessed_submits(store)
        store.append_many(
            [
                OrderDenied(
                    submit.strategy_id,
                    submit.order.instrument_id,
                    submit.client_order_id,
                    reason="NOT_PROCESSED_BEFORE_RESTART",
                    message="the node stopped before acting on this submit; it was never sent",
                    ts_event=now,
                    ts_init=now,
                )
                for submit in orphans
            ]
        )
        oms = self.execution.oms
        contingencies = self.execution.contingencies

        last_fill_price: dict[str, int] = {}

        def apply_order_event(event: OrderEvent) -> None:
            order = oms.apply(event)
            if order is not None:
                contingencies.replay(order, event)
            if isinstance(event, OrderFilled):
                last_fill_price[event.instrument_id] = event.last_price

        state = rebuild(
            store, apply_order_event=apply_order_event, apply_fill=self.portfolio.apply_fill
        )
        contingencies.resume_after_replay()
        # The last known trade price marks the gate and the portfolio until market data comes:
        # what the lists send at the end of the recovery needs a reference price.
        for instrument_id, fill_price in last_fill_price.items():
            self.risk.on_price(instrument_id, fill_price, now)
            self.portfolio.mark(instrument_id, fill_price)
        self._used_client_order_ids |= state.used_client_order_ids
        for order in oms.orders(open_only=True):
            if order.status is OrderStatus.INITIALIZED:
                continue  # never reached the gate: held by a list, or never sent
            if order.is_emulated:
                self.execution.emulator_for(order.instrument_id).restore(order)
                continue
            price = (
                order.spec.price
                or order.spec.trigger_price
                or self.cache.last_price(order.instrument_id)
            )
            if price is not None and order.leaves_quantity > 0:
                self.risk.restore_open_order(
                    order.client_order_id,
                    order.instrument_id,
                    int(order.side),
                    price,
                    order.leaves_quantity,
                )
        for instrument in self.cache.instruments():
            self._restore_gate_position(instrument)
        self._abandoned = tuple(submit.client_order_id for submit in orphans)
        return state

    def _restore_gate_position(self, instrument: Instrument) -> None:
        """The gate's net position in an instrument, at the strategies' net-weighted average
        entry price rounded to a tick (the gate keeps one position per instrument)."""
        instrument_id = instrument.instrument_id
        net = self.portfolio.net_quantity(instrument_id)
        if not net:
            return
        cost = Fraction(0)
        for position in self.portfolio.positions(instrument_id=instrument_id):
            average = self.portfolio.average_price_ticks(position.strategy_id, instrument_id)
            if average is not None:
                cost += average * position.quantity
        average_ticks = round(cost / net)
        self.risk.gate.set_position(
            self.risk.index(instrument_id), net, instrument.ticks_to_str(average_ticks)
        )

    def reconcile_venues(self, store: EventStore, state: RecoveredState) -> Recovery:
        """Step 3 of :meth:`recover`, after :meth:`rebuild_from` (a simulated venue may be
        restored from the rebuilt orders in between)."""
        now = self.clock.timestamp_ns()
        contingencies = self.execution.contingencies
        report = reconcile(
            state,
            self._venue_open_orders(),
            None,
            held=contingencies.held_orders(),
            ts=now,
        )
        appended = store.append_many(report.events)
        fresh = [
            event for event, ack in zip(report.events, appended, strict=True) if not ack.duplicate
        ]
        self.execution.apply_recovered(fresh)
        self.execution.apply_actions(contingencies.settle_all(now), now)
        if not report.consistent:
            logger.warning(
                "reconciliation: %d events, lost %s, external %s, mismatches %s %s",
                len(report.events),
                report.lost_orders,
                report.external_orders,
                report.order_mismatches,
                report.position_mismatches,
            )
        return Recovery(state, report, self._abandoned)

    def _venue_open_orders(self) -> list[VenueOpenOrder]:
        found: list[VenueOpenOrder] = []
        for venue in self.execution.venues():
            for client_order_id in venue.open_orders():
                order = venue.order(client_order_id)
                found.append(
                    VenueOpenOrder(
                        venue_order_id=str(order.venue_order_id),
                        instrument_id=order.instrument_id,
                        side=order.side,
                        quantity=order.quantity,
                        filled_quantity=order.filled,
                        price=order.price,
                        trigger_price=order.trigger_price,
                        client_order_id=order.client_order_id,
                    )
                )
        return found

    def next_client_order_id(self, strategy_id: str) -> str:
        """A client order id never used by this node, before or after a restart."""
        while True:
            candidate = self.execution.oms.next_client_order_id(strategy_id)
            if candidate not in self._used_client_order_ids:
                self._used_client_order_ids.add(candidate)
                return candidate

    # -- commands from strategies --------------------------------------------------------

    def execute(self, command: Command) -> None:
        self.execution.execute(command)

    def _close_position(self, strategy_id: str, instrument_id: str) -> str | None:
        quantity = self.portfolio.net_quantity(instrument_id, strategy_id)
        if quantity == 0:
            return None
        client_order_id = self.next_client_order_id(strategy_id)
        spec = Strategy.market(instrument_id, 1 if quantity > 0 else 0, abs(quantity))
        now = self.clock.timestamp_ns()
        self.execute(SubmitOrder(strategy_id, client_order_id, spec, now))
        return client_order_id


@dataclass(frozen=True, slots=True)
class Recovery:
    """What :meth:`TradingNode.recover` found: the log's summary, the reconciliation with the
    venues, and the submits that were logged but never acted on (denied now)."""

    state: RecoveredState
    report: ReconciliationReport
    abandoned_submits: tuple[str, ...]


def _unprocessed_submits(store: EventStore) -> list[SubmitOrder]:
    submits: dict[str, SubmitOrder] = {}
    handled: set[str] = set()
    for stored in store.events(kinds=[SubmitOrder, OrderInitialized, OrderDenied]):
        event = stored.event
        if isinstance(event, SubmitOrder):
            submits.setdefault(event.client_order_id, event)
        elif isinstance(event, OrderInitialized | OrderDenied):
            handled.add(event.client_order_id)
    return [submit for cid, submit in submits.items() if cid not in handled]


class _Context:
    """The node as a strategy sees it (``hftcore.node.strategy.StrategyContext``)."""

    def __init__(self, node: TradingNode) -> None:
        self._node = node

    @property
    def clock(self) -> Clock:
        return self._node.clock

    @property
    def cache(self) -> Cache:
        return self._node.cache

    @property
    def portfolio(self) -> Portfolio:
        return self._node.portfolio

    def subscribe(
        self, strategy: Strategy, kind: str, instrument_id: str, bar_type: str | None = None
    ) -> None:
        node = self._node
        if not node.cache.has_instrument(instrument_id):
            raise InvalidValue("UNKNOWN_INSTRUMENT", f"unknown instrument {instrument_id!r}")
        handlers: dict[str, tuple[str, Callable[[Any], None]]] = {
            "quotes": (f"data.quotes.{instrument_id}", strategy.on_quote),
            "trades": (f"data.trades.{instrument_id}", strategy.on_trade),
            "book": (f"data.book.{instrument_id}", strategy.on_book),
            "bars": (f"data.bars.{instrument_id}.{bar_type or '1-DAY'}", strategy.on_bar),
        }
        if kind not in handlers:
            raise InvalidValue("INVALID_SUBSCRIPTION", f"unknown data kind {kind!r}")
        topic, handler = handlers[kind]
        node.bus.subscribe(topic, node._guarded(strategy, handler))

    def submit(self, strategy: Strategy, order: OrderSpec) -> str:
        node = self._node
        client_order_id = node.next_client_order_id(strategy.strategy_id)
        now = node.clock.timestamp_ns()
        node.execute(SubmitOrder(strategy.strategy_id, client_order_id, order, now))
        return client_order_id

    def modify(
        self,
        strategy: Strategy,
        client_order_id: str,
        quantity: int | None,
        price: int | None,
        trigger_price: int | None,
    ) -> None:
        node = self._node
        order = node.execution.oms.order(client_order_id)
        if order is None:
            raise InvalidValue("UNKNOWN_ORDER", f"no order {client_order_id!r}")
        node.execute(
            ModifyOrder(
                strategy.strategy_id,
                order.instrument_id,
                client_order_id,
                quantity,
                price,
                trigger_price,
                node.clock.timestamp_ns(),
            )
        )

    def cancel(self, strategy: Strategy, client_order_id: str) -> None:
        node = self._node
        order = node.execution.oms.order(client_order_id)
        if order is None:
            raise InvalidValue("UNKNOWN_ORDER", f"no order {client_order_id!r}")
        node.execute(
            CancelOrder(
                strategy.strategy_id,
                order.instrument_id,
                client_order_id,
                node.clock.timestamp_ns(),
            )
        )

    def cancel_all(self, strategy: Strategy, instrument_id: str, side: int | None) -> None:
        node = self._node
        node.execute(
            CancelAllOrders(strategy.strategy_id, instrument_id, side, node.clock.timestamp_ns())
        )

    def close_position(self, strategy: Strategy, instrument_id: str) -> str | None:
        return self._node._close_position(strategy.strategy_id, instrument_id)


__all__ = ["Recovery", "TradingNode"]
