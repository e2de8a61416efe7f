"""Simulated venues over the compiled core, for backtests and paper trading.

* :class:`SimulatedBookVenue`: our orders against a book replayed from recorded (or synthetic)
  L2 or L3 data, one core :class:`~hftcore.SimulatedVenue` per instrument, with queue position,
  feed / order-entry / response latency, optional market impact and the instruments' fees
  (``docs/simulated-venue.md`` has the model).
* :class:`MatchingVenue`: the core :class:`~hftcore.MatchingEngine` as a venue, where our
  orders trade with whoever else submits to the same engine (agents, a FIX simulator).

See ``docs/venues.md``.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Literal

import msgspec
import numpy as np
import numpy.typing as npt

from hftcore import errors
from hftcore._core import (
    Instrument,
    L2Stepper,
    LatencyModel,
    MatchingEngine,
    OrderBookL2,
    QueueModel,
    SimulatedVenue,
    VenueReplayResult,
)
from hftcore._core import OrderEvent as CoreEvent
from hftcore.errors import ConfigError, InvalidData, InvalidValue
from hftcore.model.data import BookDelta, Trade
from hftcore.model.events import OrderEvent
from hftcore.model.orders import OrderType, PostOnly, SelfTradePrevention, TimeInForce
from hftcore.venues.base import (
    BookReplay,
    ClientOrder,
    EventSink,
    OnError,
    VenueCapabilities,
    VenueClient,
)

if TYPE_CHECKING:
    from hftcore._core import StepEnd, SteppedPrint

# ----- configuration ---------------------------------------------------------------------------


class ConstantLatency(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="CONSTANT"):
    ns: int = 0


class TableLatency(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="TABLE"):
    """``(ts, latency)`` points, linearly interpolated (measured latencies drifting in a day)."""

    points: tuple[tuple[int, int], ...]


class NormalLatency(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="NORMAL"):
    mean: float
    std_dev: float
    seed: int = 0


class LognormalLatency(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="LOGNORMAL"):
    mu: float
    sigma: float
    seed: int = 0


class UniformLatency(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="UNIFORM"):
    low: float
    high: float
    seed: int = 0


LatencyConfig = ConstantLatency | TableLatency | NormalLatency | LognormalLatency | UniformLatency


class QueueModelConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``FIFO`` (L3 data), or ``RISK_AVERSE``, ``POWER`` (with ``exponent``) or ``LOG`` (L2)."""

    kind: Literal["FIFO", "RISK_AVERSE", "POWER", "LOG"]
    exponent: float | None = None


class BookVenueConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Configuration of a :class:`SimulatedBookVenue`, decodable from TOML/JSON.

    ``queue_model`` None means FIFO for L3 data and risk-averse for L2. Every instrument gets
    its own core venue with this configuration; the seeds (``seed`` and each random latency's)
    are offset by the instrument's position in the venue's instrument list, so instruments do
    not share random draws, and the same configuration always gives the same draws.
    """

    data: Literal["L2", "L3"] = "L2"
    queue_model: QueueModelConfig | None = None
    feed_latency: LatencyConfig = ConstantLatency()
    order_latency: LatencyConfig = ConstantLatency()
    response_latency: LatencyConfig = ConstantLatency()
    market_impact: bool = False
    seed: int = 0


def _latency_model(config: LatencyConfig, offset: int) -> LatencyModel:
    match config:
        case ConstantLatency(ns=ns):
            return LatencyModel.constant(ns)
        case TableLatency(points=points):
            return LatencyModel.table(list(points))
        case NormalLatency(mean=mean, std_dev=std_dev, seed=seed):
            return LatencyModel.normal(mean, std_dev, seed + offset)
        case LognormalLatency(mu=mu, sigma=sigma, seed=seed):
            return LatencyModel.lognormal(mu, sigma, seed + offset)
        case UniformLatency(low=low, high=high, seed=seed):
            return LatencyModel.uniform(low, high, seed + offset)


def _queue_model(config: QueueModelConfig | None) -> QueueModel | None:
    if config is None:
        return None
    if config.kind == "POWER":
        if config.exponent is None:
            raise ConfigError("INVALID_QUEUE_MODEL", "queue_model.exponent is needed for POWER")
        return QueueModel.power(config.exponent)
    if config.exponent is not None:
        raise ConfigError("INVALID_QUEUE_MODEL", "queue_model.exponent is for POWER only")
    return {
        "FIFO": QueueModel.fifo,
        "RISK_AVERSE": QueueModel.risk_averse,
        "LOG": QueueModel.log,
    }[config.kind]()


Command = Literal["SUBMIT", "CANCEL", "MODIFY"]
BookCall = Callable[[SimulatedVenue], list[CoreEvent]]

# ----- simulated book venue --------------------------------------------------------------------


class SimulatedBookVenue(VenueClient):
    """Backtest venue: our orders rest in books replayed from L2 or L3 market data.

    Market and limit orders (GTC, IOC, FOK; post-only ``REJECT``) are simulated natively;
    a market order's unfilled rest is canceled (``NO_LIQUIDITY``) whatever its time in force,
    and a market FOK is refused (``UNSUPPORTED_TIME_IN_FORCE``). Commands travel with the
    order-entry latency and answers with the response latency: each event's ``ts_event`` is
    when the node sees it. Commissions are the instrument's maker/taker fees.
    """

    def __init__(
        self,
        venue: str,
        instruments: Mapping[Instrument, str],
        config: BookVenueConfig | None = None,
        event_sink: EventSink | None = None,
    ) -> None:
        super().__init__(venue, instruments, event_sink)
        self.config = BookVenueConfig() if config is None else config
        if not isinstance(self.config, BookVenueConfig):
            raise ConfigError("INVALID_CONFIG", "config must be a BookVenueConfig")
        queue_model = _queue_model(self.config.queue_model)
        self._books = {
            instrument_id: SimulatedVenue(
                listing.instrument,
                data=self.config.data,
                queue_model=queue_model,
                feed_latency=_latency_model(self.config.feed_latency, offset),
                order_latency=_latency_model(self.config.order_latency, offset),
                response_latency=_latency_model(self.config.response_latency, offset),
                market_impact=self.config.market_impact,
                seed=self.config.seed + offset,
            )
            for offset, (instrument_id, listing) in enumerate(self._listings.items())
        }
        self._in_flight: dict[int, deque[Command]] = {}
        data: frozenset[Literal["TRADE", "BOOK_DELTA", "L2_DELTAS", "L3_MESSAGES"]] = (
            frozenset({"TRADE", "BOOK_DELTA", "L2_DELTAS"})
            if self.config.data == "L2"
            else frozenset({"TRADE", "L3_MESSAGES"})
        )
        self._capabilities = VenueCapabilities(
            order_types=frozenset({OrderType.MARKET, OrderType.LIMIT}),
            time_in_force=frozenset({TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK}),
            post_only=frozenset({PostOnly.NONE, PostOnly.REJECT}),
            market_data=frozenset(data),
        )

    @property
    def capabilities(self) -> VenueCapabilities:
        return self._capabilities

    # ----- market data ------------------------------------------------------------------------

    def on_trade(self, trade: Trade) -> None:
        """A print. An unknown aggressor (-1) is inferred from the replayed book: at or above
        the best ask a buyer, at or below the best bid a seller; inside the spread the print
        only moves time."""
        book = self._book(trade.instrument_id)
        aggressor = trade.aggressor_side
        if trade.price <= 0 or trade.size <= 0:
            raise InvalidValue(
                "NON_POSITIVE_PRICE" if trade.price <= 0 else "NON_POSITIVE_QUANTITY",
                f"trade price and size must be > 0: {trade!r}",
            )
        if aggressor == -1:
            ask, bid = book.best_ask(), book.best_bid()
            if ask is not None and trade.price >= ask[0]:
                aggressor = 0
            elif bid is not None and trade.price <= bid[0]:
                aggressor = 1
            else:
                self._dispatch(trade.instrument_id, book.advance_to(trade.ts_event))
                return
        if aggressor not in (0, 1):
            raise InvalidData(
                "UNKNOWN_SIDE", f"trade aggressor_side must be 0, 1 or -1, got {aggressor!r}"
            )
        events = book.on_trade(trade.ts_event, aggressor, trade.price, trade.size)
        self._dispatch(trade.instrument_id, events)

    def on_book_delta(self, delta: BookDelta) -> None:
        """One L2 update: the displayed quantity at a price (0 removes the level)."""
        book = self._book(delta.instrument_id)
        events = book.on_l2_delta(delta.ts_event, delta.side, delta.price, delta.quantity)
        self._dispatch(delta.instrument_id, events)

    def on_l2_deltas(
        self,
        instrument_id: str,
        deltas: npt.NDArray[np.void],
        trades: npt.NDArray[np.void] | None = None,
        on_error: OnError = "raise",
    ) -> BookReplay:
        """Bulk L2 replay in one core call (GIL released): the deltas and the trade prints are
        merged by ``ts_event``, a trade first at equal times."""
        result = self._book(instrument_id).replay_l2(
            deltas, trades, on_error=on_error, return_feed_ts=True
        )
        return self._replayed(instrument_id, result)

    def l2_stepper(
        self,
        instrument_id: str,
        book: OrderBookL2,
        deltas: npt.NDArray[np.void],
        trades: npt.NDArray[np.void] | None = None,
    ) -> L2Stepper:
        """L2 deltas and prints of one instrument for the venue and the node's ``book``,
        checked as a whole (a bad record raises before anything is replayed), to replay with
        :meth:`step_l2`."""
        return L2Stepper(self._book(instrument_id), book, deltas, trades)

    def step_l2(
        self,
        instrument_id: str,
        stepper: L2Stepper,
        book: OrderBookL2,
        *,
        detect_changes: bool,
        max_deltas: int,
        last_print_only: bool = False,
        held_until: int | None = None,
    ) -> tuple[StepEnd, int, list[SteppedPrint], bool]:
        """One :meth:`~hftcore.L2Stepper.step` of ``stepper``'s data; the venue's events go to
        the sink. Returns ``(end, seen, prints, book_pending)``; when ``book_pending``, call
        :meth:`apply_pending_l2` after delivering what is due by ``seen``."""
        end, seen, events, prints, book_pending = stepper.step(
            self._book(instrument_id),
            book,
            detect_changes,
            max_deltas,
            last_print_only,
            held_until,
        )
        if events:
            self._dispatch(instrument_id, events)
        return end, seen, prints, book_pending

    def apply_pending_l2(self, instrument_id: str, stepper: L2Stepper, book: OrderBookL2) -> None:
        """Applies the last :meth:`step_l2`'s deltas to ``book`` when they waited."""
        stepper.apply_pending(self._book(instrument_id), book)

    def on_l3_messages(
        self, instrument_id: str, messages: npt.NDArray[np.void], on_error: OnError = "raise"
    ) -> BookReplay:
        """Bulk L3 replay in one core call; the executions are the trades."""
        result = self._book(instrument_id).replay_l3(
            messages, on_error=on_error, return_feed_ts=True
        )
        return self._replayed(instrument_id, result)

    def advance_to(self, ts: int) -> None:
        """Moves every instrument's venue to ``ts``; events of the instruments are given to
        the sink merged in ``ts_event`` order."""
        for instrument_id in self._books:
            self._check_time(instrument_id, ts)
        per_book = [
            [(instrument_id, event) for event in book.advance_to(ts)]
            for instrument_id, book in self._books.items()
        ]
        for instrument_id, event in heapq.merge(*per_book, key=lambda item: item[1].ts):
            self._dispatch(instrument_id, [event])

    # ----- introspection ----------------------------------------------------------------------

    def now(self, instrument_id: str) -> int | None:
        """Venue (exchange) time of an instrument's book: its latest data or command arrival."""
        return self._book(instrument_id).now

    def last_feed_ts(self, instrument_id: str) -> int | None:
        """When the node sees the latest market data of an instrument."""
        return self._book(instrument_id).last_feed_ts

    def best_bid(self, instrument_id: str) -> tuple[int, int] | None:
        """``(price, quantity)`` of the replayed market's best bid."""
        return self._book(instrument_id).best_bid()

    def best_ask(self, instrument_id: str) -> tuple[int, int] | None:
        return self._book(instrument_id).best_ask()

    def queue_ahead(self, client_order_id: str) -> int:
        """Market quantity ahead of a resting order (``BookError`` ``UNKNOWN_ORDER`` if it is
        not resting)."""
        order = self._order(client_order_id)
        return self._book(order.instrument_id).queue_ahead(order.venue_order_id)

    # ----- commands ---------------------------------------------------------------------------

    def _check_time(self, instrument_id: str, ts: int) -> None:
        now = self._book(instrument_id).now
        if now is not None and ts < now:
            raise InvalidData(
                "TIMESTAMP_BEFORE_VENUE_TIME",
                f"{instrument_id}: command at {ts} is before venue time {now}",
            )

    def _refusal(self, order: ClientOrder, ts: int) -> str | None:
        spec = order.spec
        if spec.order_type == OrderType.MARKET and spec.time_in_force == TimeInForce.FOK:
            return "UNSUPPORTED_TIME_IN_FORCE"
        if spec.post_only and spec.time_in_force != TimeInForce.GTC:
            return "POST_ONLY_NOT_ALLOWED"
        return None

    def _send_submit(self, order: ClientOrder, ts: int) -> None:
        spec = order.spec
        book = self._book(order.instrument_id)
        venue_id = order.venue_order_id
        self._in_flight.setdefault(venue_id, deque()).append("SUBMIT")
        try:
            if order.price is None:
                events = book.submit_market(ts, venue_id, spec.side, order.quantity)
            else:
                events = book.submit_limit(
                    ts,
                    venue_id,
                    spec.side,
                    order.price,
                    order.quantity,
                    TimeInForce(spec.time_in_force).name,  # type: ignore[arg-type]
                    post_only=bool(spec.post_only),
                )
        except BaseException:
            del self._in_flight[venue_id]
            raise
        self._dispatch(order.instrument_id, events)

    def _send_modify(
        self,
        order: ClientOrder,
        quantity: int | None,
        price: int | None,
        trigger_price: int | None,
        ts: int,
    ) -> None:
        current_price = order.price
        if current_price is None:
            self._emit_modify_rejected(order, "ORDER_NOT_MODIFIABLE", ts)
            return
        self._send_command(
            order,
            "MODIFY",
            lambda book: book.modify(
                ts,
                order.venue_order_id,
                current_price if price is None else price,
                order.quantity if quantity is None else quantity,
            ),
        )

    def _send_cancel(self, order: ClientOrder, ts: int) -> None:
        self._send_command(order, "CANCEL", lambda book: book.cancel(ts, order.venue_order_id))

    def _send_command(self, order: ClientOrder, command: Command, send: BookCall) -> None:
        in_flight = self._in_flight.setdefault(order.venue_order_id, deque())
        in_flight.append(command)
        try:
            events = send(self._book(order.instrument_id))
        except BaseException:
            in_flight.pop()
            if not in_flight:
                del self._in_flight[order.venue_order_id]
            raise
        self._dispatch(order.instrument_id, events)

    # ----- core events -> model events ----------------------------------------------------------

    def _book(self, instrument_id: str) -> SimulatedVenue:
        self._listing(instrument_id)
        return self._books[instrument_id]

    def _answered(self, venue_id: int) -> Command:
        """The oldest command in flight for an order, now answered (commands of one venue
        are processed in the order sent, so answers match them in order)."""
        in_flight = self._in_flight[venue_id]
        command = in_flight.popleft()
        if not in_flight:
            del self._in_flight[venue_id]
        return command

    def _dispatch(self, instrument_id: str, events: Iterable[CoreEvent]) -> list[OrderEvent]:
        emitted = []
        for event in events:
            order = self._by_venue_id[event.order_id]
            ts = event.ts
            match event.kind:
                case "ACCEPTED":
                    self._answered(event.order_id)
                    emitted.append(self._emit_accepted(order, ts))
                case "REJECTED":
                    command = self._answered(event.order_id)
                    reject = {
                        "SUBMIT": self._emit_rejected,
                        "CANCEL": self._emit_cancel_rejected,
                        "MODIFY": self._emit_modify_rejected,
                    }[command]
                    emitted.append(reject(order, event.reason, ts))
                case "REPLACED":
                    self._answered(event.order_id)
                    emitted.append(self._emit_updated(order, event.quantity, event.price, None, ts))
                case "CANCELED":
                    if event.reason == "REQUESTED":
                        self._answered(event.order_id)
                    emitted.append(self._emit_canceled(order, event.reason, ts))
                case "FILLED":
                    emitted.append(
                        self._emit_filled(
                            order,
                            trade_id=f"{instrument_id}-{event.trade_id}",
                            price=event.price,
                            quantity=event.quantity,
                            liquidity=event.liquidity,
                            commission=event.fee_raw,
                            ts=ts,
                        )
                    )
                case kind:
                    raise InvalidData("UNEXPECTED_EVENT", f"simulated venue sent a {kind} event")
        return emitted

    def _replayed(self, instrument_id: str, result: VenueReplayResult) -> BookReplay:
        events = self._dispatch(instrument_id, result.events)
        feed_ts = result.feed_ts if result.feed_ts is not None else np.empty(0, np.int64)
        return BookReplay(
            events=events,
            applied=result.applied,
            rejected=result.rejected,
            feed_ts=feed_ts,
            trade_feed_ts=result.trade_feed_ts,
            first_error_array=result.first_error_array,
            first_error_index=result.first_error_index,
            first_error=result.first_error,
            first_error_message=result.first_error_message,
        )


# ----- matching engine venue -------------------------------------------------------------------


class MatchingVenue(VenueClient):
    """The core :class:`~hftcore.MatchingEngine` as a venue, for paper trading against other
    participants of the same engine.

    Every order type, time in force, post-only mode, reduce-only and icebergs are native
    (trailing stops are the OMS's). Our orders are one ``owner`` (account) in the engine and
    take venue order ids from ``first_order_id`` up: other participants submitting to a shared
    ``engine`` must use ids below it. Their calls return events that may touch our orders
    (their order filled our resting one): pass those lists to :meth:`on_engine_events`. A
    market order with time in force GTC is sent as IOC (the engine's market orders are
    immediate). Calls take effect at once; ``ts_event`` is the call's ``ts``.
    """

    def __init__(
        self,
        venue: str,
        instruments: Mapping[Instrument, str],
        engine: MatchingEngine | None = None,
        *,
        owner: int = 0,
        first_order_id: int = 1 << 48,
        self_trade_prevention: SelfTradePrevention = SelfTradePrevention.NONE,
        event_sink: EventSink | None = None,
    ) -> None:
        super().__init__(venue, instruments, event_sink, first_venue_order_id=first_order_id)
        self.engine = MatchingEngine() if engine is None else engine
        self.owner = owner
        self.self_trade_prevention = SelfTradePrevention(self_trade_prevention)
        self._index: dict[str, int] = {}
        known = {
            instrument.instrument_id: i for i, instrument in enumerate(self.engine.instruments)
        }
        for instrument_id, listing in self._listings.items():
            index = known.get(instrument_id)
            if index is None:
                index = self.engine.add_instrument(listing.instrument)
            elif self.engine.instruments[index] != listing.instrument:
                raise ConfigError(
                    "INSTRUMENT_MISMATCH",
                    f"the engine trades {instrument_id} with other rules than given",
                )
            self._index[instrument_id] = index
        self._now: int | None = None
        self._capabilities = VenueCapabilities(
            order_types=frozenset(OrderType),
            time_in_force=frozenset(TimeInForce),
            post_only=frozenset(PostOnly),
            reduce_only=True,
            iceberg=True,
        )

    @property
    def capabilities(self) -> VenueCapabilities:
        return self._capabilities

    def advance_to(self, ts: int) -> None:
        """GTD orders whose expiry is at or before ``ts`` expire."""
        self._check_time("", ts)
        self._now = ts
        self.on_engine_events(self.engine.advance_time(ts))

    def end_session(self, ts: int) -> None:
        """Every DAY order in the engine expires (the session is the venue's)."""
        self._check_time("", ts)
        self._now = ts
        self.on_engine_events(self.engine.end_session(ts))

    def on_engine_events(self, events: Iterable[CoreEvent]) -> list[OrderEvent]:
        """Reports the events of our orders among ``events`` (from any engine call); others'
        orders are ignored. Returns the model events emitted."""
        emitted = []
        for event in events:
            order = self._known(event.order_id)
            if order is None:
                continue
            ts = event.ts
            match event.kind:
                case "ACCEPTED":
                    emitted.append(self._emit_accepted(order, ts))
                case "REJECTED":
                    emitted.append(self._emit_rejected(order, event.reason, ts))
                case "TRIGGERED":
                    emitted.append(self._emit_triggered(order, ts))
                case "REPLACED":
                    price = event.price if event.price > 0 else None
                    emitted.append(
                        self._emit_updated(order, event.quantity, price, order.trigger_price, ts)
                    )
                case "FILLED":
                    emitted.append(
                        self._emit_filled(
                            order,
                            trade_id=str(event.trade_id),
                            price=event.price,
                            quantity=event.quantity,
                            liquidity=event.liquidity,
                            commission=event.fee_raw,
                            ts=ts,
                        )
                    )
                case "CANCELED":
                    emitted.append(self._emit_canceled(order, event.reason, ts))
                case "EXPIRED":
                    emitted.append(self._emit_expired(order, ts))
        return emitted

    def _check_time(self, instrument_id: str, ts: int) -> None:
        if self._now is not None and ts < self._now:
            raise InvalidData(
                "TIMESTAMP_BEFORE_VENUE_TIME", f"command at {ts} is before venue time {self._now}"
            )

    def _send_submit(self, order: ClientOrder, ts: int) -> None:
        spec = order.spec
        time_in_force = spec.time_in_force
        if spec.order_type == OrderType.MARKET and time_in_force == TimeInForce.GTC:
            time_in_force = TimeInForce.IOC
        try:
            events = self.engine.submit(
                order.venue_order_id,
                self.owner,
                self._index[order.instrument_id],
                spec.side,
                0 if order.price is None else order.price,
                order.quantity,
                ts,
                order_type=spec.order_type,
                time_in_force=time_in_force,
                trigger_price=order.trigger_price,
                display_quantity=spec.display_quantity,
                post_only=spec.post_only,
                reduce_only=spec.reduce_only,
                self_trade_prevention=self.self_trade_prevention,
                expire_ts=spec.expire_ts,
            )
        except errors.OrderRejected as rejected:
            self._now = ts
            self._emit_rejected(order, rejected.code, ts)
            return
        self._now = ts
        self.on_engine_events(events)

    def _send_modify(
        self,
        order: ClientOrder,
        quantity: int | None,
        price: int | None,
        trigger_price: int | None,
        ts: int,
    ) -> None:
        self._now = ts
        working = self.engine.order(order.venue_order_id)
        if working is None:
            self._emit_modify_rejected(order, "UNKNOWN_ORDER", ts)
            return
        if trigger_price is not None:
            self._emit_modify_rejected(order, "ORDER_NOT_MODIFIABLE", ts)
            return
        try:
            events = self.engine.modify(
                order.venue_order_id,
                working.price if price is None else price,
                working.quantity if quantity is None else quantity,
                ts,
            )
        except errors.OrderRejected as rejected:
            self._emit_modify_rejected(order, rejected.code, ts)
            return
        self.on_engine_events(events)

    def _send_cancel(self, order: ClientOrder, ts: int) -> None:
        self._now = ts
        try:
            events = self.engine.cancel(order.venue_order_id, ts)
        except errors.OrderRejected as rejected:
            self._emit_cancel_rejected(order, rejected.code, ts)
            return
        self.on_engine_events(events)
