"""The venue client contract: what the node's execution engine calls, and what comes back.

A :class:`VenueClient` takes order commands identified by the node's client order ids
(strings), talks to its venue with integer venue order ids, and reports every happening at the
venue as a model order event (:mod:`hftcore.model.events`) through the sink the node sets with
:meth:`VenueClient.set_event_sink`. Market data enters through the ``on_*`` methods the venue
lists in its :class:`VenueCapabilities`.

The base class does everything that is the same for every venue, so each venue only sends:

* validation: malformed input (unknown instrument or client order id, a duplicate client order
  id, a non-integer or non-positive price or quantity, a missing or unexpected field, a
  timestamp before the venue's time) raises a specific :mod:`hftcore.errors` exception and
  changes nothing;
* well-formed orders the venue does not support (see ``capabilities``) get an
  :class:`~hftcore.model.events.OrderRejected` event with an ``UNSUPPORTED_*`` reason, as a real
  venue would answer; the OMS emulates what it can before sending;
* the client order id <-> venue order id map, each order's strategy id, and its state as the
  events tell it (``order``, ``open_orders``), used by :meth:`cancel_all`.

Events are given to the sink as the venue produces them. ``ts_event`` is the time at which the
node may see the event (for simulated venues: after the response latency), so a backtest node
delivers each event when its clock reaches ``ts_event``; ``ts_init`` equals ``ts_event``.
"""

from __future__ import annotations

import copy
import functools
import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NoReturn

import msgspec
import numpy as np
import numpy.typing as npt

from hftcore._core import Instrument
from hftcore.errors import ConfigError, InvalidData, InvalidValue
from hftcore.model.data import Bar, BookDelta, Quote, Trade
from hftcore.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderModifyRejected,
    OrderRejected,
    OrderSpec,
    OrderTriggered,
    OrderUpdated,
    SubmitOrder,
)
from hftcore.model.listing import Listing, listings
from hftcore.model.money import is_integer
from hftcore.model.orders import OrderType, PostOnly, TimeInForce

EventSink = Callable[[OrderEvent], None]
"""Receives every event of a venue, in the order the venue produced them."""

OnError = Literal["raise", "skip"]

MarketDataKind = Literal["QUOTE", "TRADE", "BAR", "BOOK_DELTA", "L2_DELTAS", "L3_MESSAGES"]
"""Which ``on_*`` method a venue consumes: ``on_quote``, ``on_trade``, ``on_bar``,
``on_book_delta``, ``on_l2_deltas``, ``on_l3_messages``."""

TRAILING_OFFSET_TYPES = frozenset({"PRICE", "BASIS_POINTS", "TICKS"})
PRICED_TYPES = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT})
TRIGGERED_TYPES = frozenset({OrderType.STOP, OrderType.STOP_LIMIT})
UNPRICED_TYPES = frozenset({OrderType.MARKET, OrderType.STOP})
"""Types that never get a price (a market-to-limit order gets one after its first fill)."""


class VenueCapabilities(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a venue does natively. The node emulates the rest (trailing stops, stops on a
    venue without stops) or does not send it; an order using something missing here is
    answered with ``OrderRejected`` and an ``UNSUPPORTED_*`` reason."""

    order_types: frozenset[OrderType]
    time_in_force: frozenset[TimeInForce]
    post_only: frozenset[PostOnly] = frozenset({PostOnly.NONE})
    reduce_only: bool = False
    iceberg: bool = False
    trailing_stop: bool = False
    max_batch_size: int = 1
    """Orders per native batch call; 1: ``submit_batch`` sends them one by one."""
    market_data: frozenset[MarketDataKind] = frozenset()

    def refusal(self, spec: OrderSpec) -> str | None:
        """The ``UNSUPPORTED_*`` reason this venue refuses a well-formed order for, or None."""
        if spec.trailing_offset is not None and not self.trailing_stop:
            return "UNSUPPORTED_TRAILING_STOP"
        if spec.order_type not in self.order_types:
            return "UNSUPPORTED_ORDER_TYPE"
        if spec.time_in_force not in self.time_in_force:
            return "UNSUPPORTED_TIME_IN_FORCE"
        if spec.post_only not in self.post_only:
            return "UNSUPPORTED_POST_ONLY"
        if spec.reduce_only and not self.reduce_only:
            return "UNSUPPORTED_REDUCE_ONLY"
        if spec.display_quantity is not None and not self.iceberg:
            return "UNSUPPORTED_DISPLAY_QUANTITY"
        return None


@dataclass(slots=True)
class ClientOrder:
    """One order as its venue client knows it: identities, the current terms (after
    modifications) and the state its events tell."""

    strategy_id: str
    client_order_id: str
    venue_order_id: int
    spec: OrderSpec
    submitted_ts: int
    quantity: int
    """Current total quantity in lots, filled part included."""
    price: int | None
    trigger_price: int | None
    filled: int = 0
    accepted: bool = False
    triggered: bool = False
    closed: bool = False

    @property
    def instrument_id(self) -> str:
        return self.spec.instrument_id

    @property
    def side(self) -> int:
        return self.spec.side

    @property
    def leaves(self) -> int:
        return 0 if self.closed else self.quantity - self.filled


@dataclass(frozen=True, slots=True)
class RestoredOrder:
    """An order the event log says a live venue was working when the node stopped, as a
    restarted node gives it back to the venue's client (``restore_order``) so that what the
    venue reports about it later is recognised: its current terms, what the log has of its
    fills (``(trade_id, price ticks, lots)``) and the venue's id of it (None: never
    acknowledged)."""

    strategy_id: str
    client_order_id: str
    spec: OrderSpec
    """The order's terms now (modifications applied)."""
    submitted_ts: int
    venue_order_id: str | None
    fills: tuple[tuple[str, int, int], ...] = ()
    triggered: bool = False

    @property
    def filled(self) -> int:
        return sum(lots for _, _, lots in self.fills)


@dataclass(frozen=True, slots=True)
class BookReplay:
    """Outcome of a bulk market-data call: the events it produced (already given to the sink,
    in the same order) and the local time at which each input record is seen."""

    events: list[OrderEvent]
    applied: int
    rejected: int
    feed_ts: npt.NDArray[np.int64]
    """Per delta / message record: when the node sees it (exchange time + feed latency)."""
    trade_feed_ts: npt.NDArray[np.int64] | None
    """Per trade record of an L2 replay."""
    first_error_array: str | None = None
    first_error_index: int | None = None
    first_error: str | None = None
    first_error_message: str | None = None


def _require_integer(value: object, what: str) -> int:
    if not is_integer(value):
        raise InvalidValue("NOT_AN_INTEGER", f"{what} must be an int, got {value!r}")
    return int(value)


def _require_positive(value: object, what: str, code: str) -> int:
    number = _require_integer(value, what)
    if number <= 0:
        raise InvalidValue(code, f"{what} must be > 0, got {number}")
    return number


def _require_optional_positive(value: object, what: str, code: str) -> int | None:
    return None if value is None else _require_positive(value, what, code)


def _require_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidValue("INVALID_ID", f"{what} must be a non-empty str, got {value!r}")
    return value


@functools.cache
def _enum_codes(enum: type[OrderType | TimeInForce | PostOnly]) -> frozenset[int]:
    """The codes of an enum, built once (every submit checks three enums)."""
    return frozenset(member.value for member in enum)


def _require_enum(value: object, enum: type[OrderType | TimeInForce | PostOnly], code: str) -> None:
    if not is_integer(value) or int(value) not in _enum_codes(enum):
        raise InvalidValue(code, f"{enum.__name__} code {value!r} is unknown")


def check_side(side: object) -> int:
    """A side code, 0 (buy) or 1 (sell); anything else raises ``UNKNOWN_SIDE``."""
    if not is_integer(side) or int(side) not in (0, 1):
        raise InvalidValue("UNKNOWN_SIDE", f"side must be 0 (buy) or 1 (sell), got {side!r}")
    return int(side)


def check_order_spec(spec: OrderSpec) -> None:
    """Raises ``InvalidValue`` with a specific code if ``spec`` is malformed: fields of the
    wrong type or sign, a price on a market order, no trigger on a stop, no expiry on a GTD
    order, a display quantity above the quantity."""
    if not isinstance(spec, OrderSpec):
        raise InvalidValue("NOT_AN_ORDER_SPEC", f"expected an OrderSpec, got {spec!r}")
    check_side(spec.side)
    _require_enum(spec.order_type, OrderType, "UNKNOWN_ORDER_TYPE")
    _require_enum(spec.time_in_force, TimeInForce, "UNKNOWN_TIME_IN_FORCE")
    _require_enum(spec.post_only, PostOnly, "UNKNOWN_POST_ONLY")
    quantity = _require_positive(spec.quantity, "quantity", "NON_POSITIVE_QUANTITY")
    _require_optional_positive(spec.price, "price", "NON_POSITIVE_PRICE")
    _require_optional_positive(spec.trigger_price, "trigger_price", "NON_POSITIVE_PRICE")
    order_type = OrderType(spec.order_type)
    if order_type in PRICED_TYPES and spec.price is None:
        raise InvalidValue("MISSING_PRICE", f"a {order_type.name} order needs a price")
    if order_type not in PRICED_TYPES and spec.price is not None:
        raise InvalidValue("UNEXPECTED_PRICE", f"a {order_type.name} order takes no price")
    if spec.trailing_offset is not None:
        _require_positive(spec.trailing_offset, "trailing_offset", "NON_POSITIVE_OFFSET")
        if spec.trailing_offset_type not in TRAILING_OFFSET_TYPES:
            raise InvalidValue(
                "UNKNOWN_TRAILING_OFFSET_TYPE",
                f"trailing_offset_type must be one of {sorted(TRAILING_OFFSET_TYPES)}, "
                f"got {spec.trailing_offset_type!r}",
            )
    if order_type in TRIGGERED_TYPES:
        if spec.trigger_price is None and spec.trailing_offset is None:
            raise InvalidValue("MISSING_TRIGGER_PRICE", f"a {order_type.name} order needs one")
    elif spec.trigger_price is not None or spec.trailing_offset is not None:
        raise InvalidValue("UNEXPECTED_TRIGGER_PRICE", f"a {order_type.name} order has none")
    if spec.time_in_force == TimeInForce.GTD:
        if spec.expire_ts is None:
            raise InvalidValue("MISSING_EXPIRE_TS", "a GTD order needs expire_ts")
        _require_integer(spec.expire_ts, "expire_ts")
    elif spec.expire_ts is not None:
        raise InvalidValue("UNEXPECTED_EXPIRE_TS", "expire_ts is for GTD orders only")
    display = _require_optional_positive(
        spec.display_quantity, "display_quantity", "INVALID_DISPLAY_QUANTITY"
    )
    if display is not None and display > quantity:
        raise InvalidValue(
            "INVALID_DISPLAY_QUANTITY", f"display_quantity {display} exceeds quantity {quantity}"
        )


class VenueClient(ABC):
    """Base of every venue client. Subclasses implement :attr:`capabilities`,
    :meth:`advance_to`, the ``_check_time`` / ``_send_*`` hooks and the market data they take.

    ``instruments`` maps each tradable :class:`~hftcore.Instrument` to its quote currency
    (the currency of notional and commissions).
    """

    def __init__(
        self,
        venue: str,
        instruments: Mapping[Instrument, str],
        event_sink: EventSink | None = None,
        first_venue_order_id: int = 1,
    ) -> None:
        if not isinstance(venue, str) or not venue:
            raise ConfigError("INVALID_VENUE", f"venue must be a non-empty str, got {venue!r}")
        self.venue = venue
        self._listings = listings(instruments)
        self._sink = event_sink
        self._orders: dict[str, ClientOrder] = {}
        self._by_venue_id: dict[int, ClientOrder] = {}
        self._venue_ids = itertools.count(first_venue_order_id)

    # ----- contract ---------------------------------------------------------------------------

    @property
    @abstractmethod
    def capabilities(self) -> VenueCapabilities:
        """What the venue supports natively."""

    @abstractmethod
    def advance_to(self, ts: int) -> None:
        """Moves venue time to ``ts`` without market data: commands in flight arrive, orders
        whose time is up expire."""

    @property
    def instrument_ids(self) -> list[str]:
        """The instruments this venue trades, in the order given."""
        return list(self._listings)

    def quote_currency(self, instrument_id: str) -> str:
        return self._listing(instrument_id).currency

    def set_event_sink(self, sink: EventSink) -> None:
        """Sets the callable that receives every event of this venue."""
        if not callable(sink):
            raise ConfigError("INVALID_EVENT_SINK", f"event sink must be callable, got {sink!r}")
        self._sink = sink

    def submit(self, client_order_id: str, spec: OrderSpec, ts: int, *, strategy_id: str) -> None:
        """Sends a new order at time ``ts`` (ns) for ``strategy_id``."""
        order = self._prepare_submit(client_order_id, spec, ts, strategy_id, set())
        self._submit_prepared(order, ts)

    def submit_batch(self, orders: Sequence[SubmitOrder], ts: int) -> None:
        """Sends several orders at ``ts``. All are validated first: a malformed one raises and
        none is sent. Without native batching they go one by one, in order."""
        batch_ids: set[str] = set()
        prepared = []
        for command in orders:
            if not isinstance(command, SubmitOrder):
                raise InvalidValue("NOT_A_SUBMIT_ORDER", f"expected SubmitOrder, got {command!r}")
            prepared.append(
                self._prepare_submit(
                    command.client_order_id, command.order, ts, command.strategy_id, batch_ids
                )
            )
            batch_ids.add(command.client_order_id)
        for order in prepared:
            self._submit_prepared(order, ts)

    def modify(
        self,
        client_order_id: str,
        quantity: int | None,
        price: int | None,
        trigger_price: int | None,
        ts: int,
    ) -> None:
        """Cancel/replace: ``quantity`` is the new TOTAL in lots (filled part included);
        ``None`` keeps a value as the venue last confirmed it."""
        self._require_sink()
        order = self._order(client_order_id)
        new_quantity = _require_optional_positive(quantity, "quantity", "NON_POSITIVE_QUANTITY")
        new_price = _require_optional_positive(price, "price", "NON_POSITIVE_PRICE")
        new_trigger = _require_optional_positive(
            trigger_price, "trigger_price", "NON_POSITIVE_PRICE"
        )
        if new_quantity is None and new_price is None and new_trigger is None:
            raise InvalidValue("EMPTY_MODIFY", "a modify needs a quantity, price or trigger")
        order_type = OrderType(order.spec.order_type)
        if new_price is not None and order_type in UNPRICED_TYPES:
            raise InvalidValue("UNEXPECTED_PRICE", f"a {order_type.name} order takes no price")
        if new_trigger is not None and order_type not in TRIGGERED_TYPES:
            raise InvalidValue(
                "UNEXPECTED_TRIGGER_PRICE", f"a {order_type.name} order has no trigger"
            )
        self._check_time(order.instrument_id, _require_integer(ts, "ts"))
        self._send_modify(order, new_quantity, new_price, new_trigger, ts)

    def cancel(self, client_order_id: str, ts: int) -> None:
        """Cancels an order. One no longer working gets ``OrderCancelRejected``."""
        self._require_sink()
        order = self._order(client_order_id)
        self._check_time(order.instrument_id, _require_integer(ts, "ts"))
        self._send_cancel(order, ts)

    def cancel_all(
        self, instrument_id: str, side: int | None, ts: int, *, strategy_id: str | None = None
    ) -> list[str]:
        """Cancels every order of ``instrument_id`` not known to be closed, on one side
        (``None``: both) and of one strategy (``None``: all), oldest first. Returns the client
        order ids a cancel was sent for."""
        self._require_sink()
        self._listing(instrument_id)
        wanted_side = None if side is None else check_side(side)
        self._check_time(instrument_id, _require_integer(ts, "ts"))
        targets = self.open_orders(instrument_id, wanted_side, strategy_id)
        for client_order_id in targets:
            self._send_cancel(self._orders[client_order_id], ts)
        return targets

    def order(self, client_order_id: str) -> ClientOrder:
        """A copy of what this client knows of an order."""
        return copy.copy(self._order(client_order_id))

    def open_orders(
        self,
        instrument_id: str | None = None,
        side: int | None = None,
        strategy_id: str | None = None,
    ) -> list[str]:
        """Client order ids of the orders not known to be closed, oldest first."""
        return [
            order.client_order_id
            for order in self._orders.values()
            if not order.closed
            and (instrument_id is None or order.instrument_id == instrument_id)
            and (side is None or order.side == side)
            and (strategy_id is None or order.strategy_id == strategy_id)
        ]

    # ----- market data: a venue overrides what it lists in capabilities.market_data -------------

    def on_quote(self, quote: Quote) -> None:
        self._unsupported_data("QUOTE")

    def on_trade(self, trade: Trade) -> None:
        self._unsupported_data("TRADE")

    def on_bar(self, bar: Bar) -> None:
        self._unsupported_data("BAR")

    def on_book_delta(self, delta: BookDelta) -> None:
        self._unsupported_data("BOOK_DELTA")

    def on_l2_deltas(
        self,
        instrument_id: str,
        deltas: npt.NDArray[np.void],
        trades: npt.NDArray[np.void] | None = None,
        on_error: OnError = "raise",
    ) -> BookReplay:
        """Bulk L2 deltas (``L2_DELTA_DTYPE``) and trade prints (``TRADE_DTYPE``), each in
        time order. ``on_error="raise"`` applies nothing if a record is bad; ``"skip"`` applies
        what it can and reports the first error."""
        self._unsupported_data("L2_DELTAS")

    def on_l3_messages(
        self, instrument_id: str, messages: npt.NDArray[np.void], on_error: OnError = "raise"
    ) -> BookReplay:
        """Bulk L3 messages (``L3_MESSAGE_DTYPE``), in time order."""
        self._unsupported_data("L3_MESSAGES")

    # ----- hooks ------------------------------------------------------------------------------

    @abstractmethod
    def _check_time(self, instrument_id: str, ts: int) -> None:
        """Raises ``InvalidData`` (``TIMESTAMP_BEFORE_VENUE_TIME``) if a command at ``ts`` on
        this instrument is in the venue's past."""

    def _refusal(self, order: ClientOrder, ts: int) -> str | None:
        """A venue-specific reason to refuse a supported, well-formed order at once."""
        return None

    @abstractmethod
    def _send_submit(self, order: ClientOrder, ts: int) -> None:
        """Sends an accepted-for-sending order. Raising leaves the venue unchanged."""

    @abstractmethod
    def _send_modify(
        self,
        order: ClientOrder,
        quantity: int | None,
        price: int | None,
        trigger_price: int | None,
        ts: int,
    ) -> None: ...

    @abstractmethod
    def _send_cancel(self, order: ClientOrder, ts: int) -> None: ...

    # ----- helpers for subclasses -------------------------------------------------------------

    def _listing(self, instrument_id: str) -> Listing:
        listing = self._listings.get(instrument_id)
        if listing is None:
            raise self._unknown_instrument(instrument_id)
        return listing

    def _unknown_instrument(self, instrument_id: str) -> InvalidValue:
        return InvalidValue(
            "UNKNOWN_INSTRUMENT", f"{instrument_id!r} is not traded at venue {self.venue}"
        )

    def _order(self, client_order_id: str) -> ClientOrder:
        order = self._orders.get(client_order_id)
        if order is None:
            raise InvalidValue(
                "UNKNOWN_CLIENT_ORDER_ID",
                f"no order {client_order_id!r} was submitted to venue {self.venue}",
            )
        return order

    def _known(self, venue_order_id: int) -> ClientOrder | None:
        return self._by_venue_id.get(venue_order_id)

    def _require_sink(self) -> EventSink:
        if self._sink is None:
            raise ConfigError("NO_EVENT_SINK", f"venue {self.venue}: call set_event_sink first")
        return self._sink

    def _unsupported_data(self, kind: MarketDataKind) -> NoReturn:
        raise InvalidData(
            "UNSUPPORTED_DATA",
            f"venue {self.venue} takes {sorted(self.capabilities.market_data)}, not {kind}",
        )

    def _prepare_submit(
        self, client_order_id: str, spec: OrderSpec, ts: int, strategy_id: str, batch: set[str]
    ) -> ClientOrder:
        self._require_sink()
        _require_id(client_order_id, "client_order_id")
        _require_id(strategy_id, "strategy_id")
        check_order_spec(spec)
        self._listing(spec.instrument_id)
        if client_order_id in self._orders or client_order_id in batch:
            raise InvalidValue(
                "DUPLICATE_CLIENT_ORDER_ID",
                f"client order id {client_order_id!r} was already sent to venue {self.venue}",
            )
        self._check_time(spec.instrument_id, _require_integer(ts, "ts"))
        return ClientOrder(
            strategy_id=strategy_id,
            client_order_id=client_order_id,
            venue_order_id=0,
            spec=spec,
            submitted_ts=ts,
            quantity=int(spec.quantity),
            price=spec.price,
            trigger_price=spec.trigger_price,
        )

    def _adopt(self, restored: RestoredOrder, venue_order_id: int | None = None) -> ClientOrder:
        """Registers an order a restarted node gives back (see :class:`RestoredOrder`) without
        sending or emitting anything; ``venue_order_id`` is this client's integer id of it
        (default: a fresh one). Live clients call it from their ``restore_order``."""
        _require_id(restored.client_order_id, "client_order_id")
        check_order_spec(restored.spec)
        self._listing(restored.spec.instrument_id)
        if restored.client_order_id in self._orders:
            raise InvalidValue(
                "DUPLICATE_CLIENT_ORDER_ID",
                f"client order id {restored.client_order_id!r} is already known to venue "
                f"{self.venue}",
            )
        spec = restored.spec
        order = ClientOrder(
            strategy_id=restored.strategy_id,
            client_order_id=restored.client_order_id,
            venue_order_id=next(self._venue_ids) if venue_order_id is None else venue_order_id,
            spec=spec,
            submitted_ts=restored.submitted_ts,
            quantity=int(spec.quantity),
            price=spec.price,
            trigger_price=spec.trigger_price,
            filled=restored.filled,
            accepted=restored.venue_order_id is not None,
            triggered=restored.triggered,
        )
        self._orders[order.client_order_id] = order
        self._by_venue_id[order.venue_order_id] = order
        return order

    def _submit_prepared(self, order: ClientOrder, ts: int) -> None:
        order.venue_order_id = next(self._venue_ids)
        self._orders[order.client_order_id] = order
        self._by_venue_id[order.venue_order_id] = order
        reason = self.capabilities.refusal(order.spec) or self._refusal(order, ts)
        if reason is not None:
            self._emit_rejected(order, reason, ts)
            return
        try:
            self._send_submit(order, ts)
        except BaseException:
            del self._orders[order.client_order_id]
            del self._by_venue_id[order.venue_order_id]
            raise

    def _emit(self, event: OrderEvent, order: ClientOrder) -> OrderEvent:
        match event:
            case OrderAccepted():
                order.accepted = True
            case OrderRejected() | OrderCanceled() | OrderExpired():
                order.closed = True
            case OrderTriggered():
                order.triggered = True
            case OrderUpdated():
                order.quantity = event.quantity
                order.price = event.price
                order.trigger_price = event.trigger_price
            case OrderFilled():
                order.filled += event.last_quantity
                order.closed = order.filled >= order.quantity
        self._require_sink()(event)
        return event

    def _emit_accepted(self, order: ClientOrder, ts: int) -> OrderEvent:
        return self._emit(
            OrderAccepted(
                order.strategy_id,
                order.instrument_id,
                order.client_order_id,
                str(order.venue_order_id),
                ts,
                ts,
            ),
            order,
        )

    def _emit_rejected(self, order: ClientOrder, reason: str, ts: int) -> OrderEvent:
        return self._emit(
            OrderRejected(
                order.strategy_id, order.instrument_id, order.client_order_id, reason, ts, ts
            ),
            order,
        )

    def _emit_canceled(self, order: ClientOrder, reason: str, ts: int) -> OrderEvent:
        return self._emit(
            OrderCanceled(
                order.strategy_id, order.instrument_id, order.client_order_id, reason, ts, ts
            ),
            order,
        )

    def _emit_expired(self, order: ClientOrder, ts: int) -> OrderEvent:
        return self._emit(
            OrderExpired(order.strategy_id, order.instrument_id, order.client_order_id, ts, ts),
            order,
        )

    def _emit_triggered(self, order: ClientOrder, ts: int) -> OrderEvent:
        return self._emit(
            OrderTriggered(order.strategy_id, order.instrument_id, order.client_order_id, ts, ts),
            order,
        )

    def _emit_updated(
        self, order: ClientOrder, quantity: int, price: int | None, trigger: int | None, ts: int
    ) -> OrderEvent:
        return self._emit(
            OrderUpdated(
                order.strategy_id,
                order.instrument_id,
                order.client_order_id,
                quantity,
                price,
                trigger,
                ts,
                ts,
            ),
            order,
        )

    def _emit_modify_rejected(self, order: ClientOrder, reason: str, ts: int) -> OrderEvent:
        return self._emit(
            OrderModifyRejected(
                order.strategy_id, order.instrument_id, order.client_order_id, reason, ts, ts
            ),
            order,
        )

    def _emit_cancel_rejected(self, order: ClientOrder, reason: str, ts: int) -> OrderEvent:
        return self._emit(
            OrderCancelRejected(
                order.strategy_id, order.instrument_id, order.client_order_id, reason, ts, ts
            ),
            order,
        )

    def _emit_filled(
        self,
        order: ClientOrder,
        *,
        trade_id: str,
        price: int,
        quantity: int,
        liquidity: str,
        commission: int,
        ts: int,
    ) -> OrderEvent:
        return self._emit(
            OrderFilled(
                strategy_id=order.strategy_id,
                instrument_id=order.instrument_id,
                client_order_id=order.client_order_id,
                venue_order_id=str(order.venue_order_id),
                trade_id=trade_id,
                side=order.side,
                last_price=price,
                last_quantity=quantity,
                liquidity=liquidity,
                commission=commission,
                currency=self._listing(order.instrument_id).currency,
                ts_event=ts,
                ts_init=ts,
            ),
            order,
        )
