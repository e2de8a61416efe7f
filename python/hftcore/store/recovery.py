"""Restart recovery: rebuild state from the event store, then reconcile it with the venue.

:func:`rebuild` replays the log in seq order. It feeds every order event to the caller's
``apply_order_event`` (e.g. the OMS) and every fill to ``apply_fill`` (e.g. the portfolio), so it
knows nothing of their internals, and it builds a self-contained summary of its own: each
order's lifecycle facts, the client order ids ever used, net positions per (strategy,
instrument) and commissions per currency.

:func:`reconcile` compares that summary with what the venue reports after the restart and
returns the events that bring the local state in line (fills the log lacks, acknowledgements,
amendments, cancels of orders the venue does not know), plus everything it cannot fix by itself
(external orders and fills, fill and position mismatches). It never writes: the caller appends
``report.events`` to the store and feeds them to the OMS and portfolio like live venue events,
and decides what to do about the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, TypeVar

import msgspec

from hftcore.errors import HftcoreError, InvalidValue
from hftcore.model.enums import Side
from hftcore.model.events import (
    CancelAllOrders,
    CancelOrder,
    ModifyOrder,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderEmulated,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderInitialized,
    OrderRejected,
    OrderReleased,
    OrderSubmitted,
    OrderUpdated,
    SubmitOrder,
)
from hftcore.model.risk_controls import RiskEvent
from hftcore.store.base import EventStore, StorableEvent, StoredEvent, encode_event

LOST_ORDER_REASON: Final = "NOT_FOUND_AT_VENUE"
"""``OrderCanceled.reason`` of the cancel :func:`reconcile` generates for a lost order."""

_DUPLICATE_DENIAL: Final = "DUPLICATE_CLIENT_ORDER_ID"
_TERMINAL: Final = (OrderDenied, OrderRejected, OrderCanceled, OrderExpired)
_SIDE_SIGN: Final = {int(Side.BUY): 1, int(Side.SELL): -1}


class RecoveredOrder(msgspec.Struct, frozen=True):
    """What the log says about one order. ``quantity``/``price``/``trigger_price``/``side`` are
    the latest known (None when the log never saw the order's creation); ``closed_by`` names the
    event that ended it (``"OrderFilled"`` once fully filled), None while it is open."""

    client_order_id: str
    strategy_id: str
    instrument_id: str
    side: int | None = None
    quantity: int | None = None
    price: int | None = None
    trigger_price: int | None = None
    filled_quantity: int = 0
    venue_order_id: str | None = None
    submitted: bool = False
    emulated: bool = False
    closed_by: str | None = None
    last_seq: int = 0

    @property
    def is_open(self) -> bool:
        return self.closed_by is None


@dataclass(frozen=True, slots=True)
class RefusedEvent:
    """An event that was not applied during the rebuild: ``by`` is ``"apply_order_event"`` or
    ``"apply_fill"`` (the callback raised an ``HftcoreError``, as it did live) or ``"summary"``
    (a fill whose side or quantity cannot count in a position)."""

    seq: int
    kind: str
    client_order_id: str | None
    by: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class RecoveredState:
    """The summary :func:`rebuild` builds from the log. ``positions`` holds the non-zero net
    lots per ``(strategy_id, instrument_id)`` (buys positive), ``commissions`` the money (1e-12
    units) paid per currency (negative: rebates), ``trade_ids`` every stored ``(client_order_id,
    trade_id)``."""

    last_seq: int
    event_count: int
    orders: Mapping[str, RecoveredOrder]
    used_client_order_ids: frozenset[str]
    positions: Mapping[tuple[str, str], int]
    commissions: Mapping[str, int]
    trade_ids: frozenset[tuple[str, str]]
    refused: tuple[RefusedEvent, ...]

    @property
    def open_client_order_ids(self) -> frozenset[str]:
        return frozenset(cid for cid, order in self.orders.items() if order.is_open)

    def instrument_positions(self) -> dict[str, int]:
        """Net lots per instrument summed over strategies (what a venue account reports)."""
        totals: dict[str, int] = {}
        for (_, instrument_id), quantity in self.positions.items():
            totals[instrument_id] = totals.get(instrument_id, 0) + quantity
        return {instrument: qty for instrument, qty in totals.items() if qty}


@dataclass
class _Summary:
    """Mutable accumulator behind :class:`RecoveredState`."""

    orders: dict[str, RecoveredOrder] = field(default_factory=dict)
    used_ids: set[str] = field(default_factory=set)
    positions: dict[tuple[str, str], int] = field(default_factory=dict)
    commissions: dict[str, int] = field(default_factory=dict)
    trade_ids: set[tuple[str, str]] = field(default_factory=set)
    refused: list[RefusedEvent] = field(default_factory=list)
    last_seq: int = 0
    count: int = 0

    def feed(self, stored: StoredEvent) -> None:
        seq, event = stored
        self.last_seq = seq
        self.count += 1
        # Only a submit creates an order; a cancel or modify names one that may not exist, and
        # the risk controls' events name none.
        if isinstance(event, CancelAllOrders | CancelOrder | ModifyOrder | RiskEvent):
            return
        cid = event.client_order_id
        self.used_ids.add(cid)
        order = self.orders.get(cid)
        if order is None:
            instrument_id = (
                event.order.instrument_id if isinstance(event, SubmitOrder) else event.instrument_id
            )
            order = RecoveredOrder(cid, event.strategy_id, instrument_id)
        self.orders[cid] = self._advance(order, seq, event)
        if isinstance(event, OrderFilled):
            self._count_fill(seq, event)

    @staticmethod
    def _advance(order: RecoveredOrder, seq: int, event: StorableEvent) -> RecoveredOrder:
        change: dict[str, object] = {"last_seq": seq}
        if isinstance(event, SubmitOrder | OrderInitialized) and order.quantity is None:
            spec = event.order
            change.update(
                side=spec.side,
                quantity=spec.quantity,
                price=spec.price,
                trigger_price=spec.trigger_price,
            )
        elif isinstance(event, OrderEmulated):
            change["emulated"] = True
        elif isinstance(event, OrderReleased):
            change["emulated"] = False
            if event.released_price is not None:
                change["price"] = event.released_price
        elif isinstance(event, OrderSubmitted):
            change["submitted"] = True
        elif isinstance(event, OrderAccepted):
            change["venue_order_id"] = event.venue_order_id
        elif isinstance(event, OrderUpdated):
            change.update(
                quantity=event.quantity, price=event.price, trigger_price=event.trigger_price
            )
        elif isinstance(event, OrderFilled):
            change["filled_quantity"] = order.filled_quantity + event.last_quantity
            if order.venue_order_id is None:
                change["venue_order_id"] = event.venue_order_id
        updated = msgspec.structs.replace(order, **change)
        if updated.closed_by is not None:
            return updated
        if isinstance(event, _TERMINAL):
            # The OMS denies a second submit under a used id with this reason; the order that
            # owns the id lives on.
            if isinstance(event, OrderDenied) and event.reason == _DUPLICATE_DENIAL:
                return updated
            return msgspec.structs.replace(updated, closed_by=type(event).__name__)
        if (
            isinstance(event, OrderFilled | OrderUpdated)
            and updated.quantity is not None
            and updated.filled_quantity >= updated.quantity
        ):
            return msgspec.structs.replace(updated, closed_by="OrderFilled")
        return updated

    def _count_fill(self, seq: int, fill: OrderFilled) -> None:
        self.trade_ids.add((fill.client_order_id, fill.trade_id))
        sign = _SIDE_SIGN.get(fill.side)
        if sign is None or fill.last_quantity <= 0:
            self.refused.append(
                RefusedEvent(
                    seq,
                    "OrderFilled",
                    fill.client_order_id,
                    "summary",
                    "INVALID_FILL",
                    f"side {fill.side!r} / quantity {fill.last_quantity!r} cannot move a position",
                )
            )
            return
        key = (fill.strategy_id, fill.instrument_id)
        self.positions[key] = self.positions.get(key, 0) + sign * fill.last_quantity
        self.commissions[fill.currency] = self.commissions.get(fill.currency, 0) + fill.commission

    def state(self) -> RecoveredState:
        return RecoveredState(
            last_seq=self.last_seq,
            event_count=self.count,
            orders=dict(self.orders),
            used_client_order_ids=frozenset(self.used_ids),
            positions={key: qty for key, qty in self.positions.items() if qty},
            commissions=dict(self.commissions),
            trade_ids=frozenset(self.trade_ids),
            refused=tuple(self.refused),
        )


def rebuild(
    store: EventStore,
    *,
    apply_order_event: Callable[[OrderEvent], object] | None = None,
    apply_fill: Callable[[OrderFilled], object] | None = None,
) -> RecoveredState:
    """Replays the whole log in seq order: each order event (fills included) goes to
    ``apply_order_event``, then each fill to ``apply_fill``, as the live node feeds the OMS and
    then the portfolio; commands only inform the summary (a submit marks its id used). A
    callback that raises an ``HftcoreError`` refuses the event, as it would have live: the
    refusal is recorded in ``RecoveredState.refused`` and the replay goes on. Any other
    exception propagates with a note naming the seq. A corrupt row raises ``StoreError`` naming
    its seq."""
    if not isinstance(store, EventStore):
        raise InvalidValue(
            "INVALID_STORE", f"rebuild needs an EventStore, got {type(store).__name__}"
        )
    summary = _Summary()
    for stored in store.events():
        summary.feed(stored)
        event = stored.event
        if apply_order_event is not None and isinstance(event, OrderEvent):
            _apply(apply_order_event, "apply_order_event", stored.seq, event, summary)
        if apply_fill is not None and isinstance(event, OrderFilled):
            _apply(apply_fill, "apply_fill", stored.seq, event, summary)
    return summary.state()


_E = TypeVar("_E", bound=OrderEvent)


def _apply(
    callback: Callable[[_E], object], name: str, seq: int, event: _E, summary: _Summary
) -> None:
    try:
        callback(event)
    except HftcoreError as exc:
        summary.refused.append(
            RefusedEvent(
                seq, type(event).__name__, event.client_order_id, name, exc.code, exc.message
            )
        )
    except Exception as exc:
        exc.add_note(f"while rebuilding from event seq {seq} ({type(event).__name__})")
        raise


# ---------------------------------------------------------------------------------------------
# Reconciliation


class VenueOpenOrder(msgspec.Struct, frozen=True):
    """An order the venue reports working after the restart. ``quantity`` is the order's total
    quantity and ``filled_quantity`` what of it has executed; ``client_order_id`` is None when
    the venue does not echo client ids (matched by ``venue_order_id`` then)."""

    venue_order_id: str
    instrument_id: str
    side: int
    quantity: int
    filled_quantity: int = 0
    price: int | None = None
    trigger_price: int | None = None
    client_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class OrderMismatch:
    """A difference the generated events do not fix: ``field`` is ``"filled_quantity"`` (the
    venue's fills are not all known) or ``"status"`` (the venue works an order the log says is
    closed or still held by the emulator)."""

    client_order_id: str
    field: str
    local: object
    venue: object


@dataclass(frozen=True, slots=True)
class PositionMismatch:
    """Net lots of one instrument, summed over strategies after the missing fills."""

    instrument_id: str
    local: int
    venue: int


@dataclass(frozen=True, slots=True)
class ReconciliationReport:
    """``events`` are to be appended (in this order) and applied; the other fields explain them
    (``missing_fills``, ``lost_orders``) or list what needs a decision (``external_orders``,
    ``external_fills``, ``order_mismatches``, ``position_mismatches``)."""

    events: tuple[OrderEvent, ...]
    missing_fills: tuple[OrderFilled, ...]
    lost_orders: tuple[str, ...]
    external_orders: tuple[VenueOpenOrder, ...]
    external_fills: tuple[OrderFilled, ...]
    order_mismatches: tuple[OrderMismatch, ...]
    position_mismatches: tuple[PositionMismatch, ...]

    @property
    def consistent(self) -> bool:
        """True when local state and venue agree: nothing to append, nothing to decide."""
        return not (
            self.events
            or self.external_orders
            or self.external_fills
            or self.order_mismatches
            or self.position_mismatches
        )


def reconcile(
    recovered: RecoveredState,
    venue_open_orders: Iterable[VenueOpenOrder],
    venue_positions: Mapping[str, int] | None,
    *,
    venue_fills: Iterable[OrderFilled] = (),
    held: Collection[str] = (),
    ts: int,
) -> ReconciliationReport:
    """Compares the rebuilt state with the venue's open orders, net positions per instrument
    (None when the venue cannot report them) and the fills it reports for the session.
    Generated events carry ``ts`` (now, ns) as ``ts_event`` and ``ts_init``. For each local order,
    in log order, they are: ``OrderSubmitted`` when the venue has the order or its fills but the
    log never recorded the submit; ``OrderAccepted`` when the venue works it and the log has no
    venue order id; the fills the log lacks (with the order's strategy); ``OrderUpdated`` when the
    venue's quantity or prices differ; ``OrderCanceled`` (reason ``NOT_FOUND_AT_VENUE``) when the
    order is open locally, not held by the emulator or the node (``held``: contingent children
    waiting for their parent), unknown at the venue and not completed by the missing fills.
    Orders are never re-sent."""
    if not isinstance(recovered, RecoveredState):
        raise InvalidValue("INVALID_STATE", "recovered must be the RecoveredState from rebuild")
    if isinstance(ts, bool) or not isinstance(ts, int) or ts < 0:
        raise InvalidValue("INVALID_TIMESTAMP", f"ts must be ns >= 0, got {ts!r}")
    if isinstance(held, str) or not all(isinstance(cid, str) for cid in held):
        raise InvalidValue("INVALID_HELD", "held must be a collection of client order ids")
    held = frozenset(held)
    open_orders = _validated_venue_orders(venue_open_orders)
    fills = _validated_fills(venue_fills)
    positions = _validated_positions(venue_positions)

    by_venue_id = {
        order.venue_order_id: cid
        for cid, order in recovered.orders.items()
        if order.venue_order_id is not None
    }
    external_orders: list[VenueOpenOrder] = []
    venue_order_of: dict[str, VenueOpenOrder] = {}
    for venue_order in open_orders:
        cid = venue_order.client_order_id
        if cid is None or cid not in recovered.orders:
            cid = by_venue_id.get(venue_order.venue_order_id)
        if cid is None:
            external_orders.append(venue_order)
        else:
            venue_order_of[cid] = venue_order

    external_fills: list[OrderFilled] = []
    missing: dict[str, list[OrderFilled]] = {}
    seen = set(recovered.trade_ids)
    for fill in fills:
        local = recovered.orders.get(fill.client_order_id)
        if local is None:
            external_fills.append(fill)
            continue
        if (fill.client_order_id, fill.trade_id) in seen:
            continue
        seen.add((fill.client_order_id, fill.trade_id))
        missing.setdefault(fill.client_order_id, []).append(
            msgspec.structs.replace(
                fill, strategy_id=local.strategy_id, instrument_id=local.instrument_id, ts_init=ts
            )
        )

    events: list[OrderEvent] = []
    missing_fills: list[OrderFilled] = []
    lost: list[str] = []
    mismatches: list[OrderMismatch] = []
    local_instrument = recovered.instrument_positions()
    for cid, order in recovered.orders.items():
        at_venue = venue_order_of.get(cid)
        order_fills = sorted(missing.get(cid, ()), key=lambda f: (f.ts_event, f.trade_id))
        working = order.is_open and not order.emulated and cid not in held
        if at_venue is None and not order_fills:
            if working:
                events.append(_lost(order, ts))
                lost.append(cid)
            continue
        if at_venue is not None and not working:
            local_status = order.closed_by or "EMULATED"
            mismatches.append(OrderMismatch(cid, "status", local_status, "OPEN"))
        if working and not order.submitted:
            events.append(OrderSubmitted(order.strategy_id, order.instrument_id, cid, ts, ts))
        if working and at_venue is not None and order.venue_order_id is None:
            events.append(
                OrderAccepted(
                    order.strategy_id, order.instrument_id, cid, at_venue.venue_order_id, ts, ts
                )
            )
        events.extend(order_fills)
        missing_fills.extend(order_fills)
        filled = order.filled_quantity
        for fill in order_fills:
            filled += fill.last_quantity
            delta = _SIDE_SIGN[fill.side] * fill.last_quantity
            local_instrument[fill.instrument_id] = (
                local_instrument.get(fill.instrument_id, 0) + delta
            )
        if not working:
            continue
        if at_venue is None:
            if order.quantity is None or filled < order.quantity:
                events.append(_lost(order, ts))
                lost.append(cid)
            continue
        if order.venue_order_id not in (None, at_venue.venue_order_id):
            mismatches.append(
                OrderMismatch(cid, "venue_order_id", order.venue_order_id, at_venue.venue_order_id)
            )
        if (at_venue.quantity, at_venue.price, at_venue.trigger_price) != (
            order.quantity,
            order.price,
            order.trigger_price,
        ):
            events.append(
                OrderUpdated(
                    order.strategy_id,
                    order.instrument_id,
                    cid,
                    at_venue.quantity,
                    at_venue.price,
                    at_venue.trigger_price,
                    ts,
                    ts,
                )
            )
        if filled != at_venue.filled_quantity:
            mismatches.append(
                OrderMismatch(cid, "filled_quantity", filled, at_venue.filled_quantity)
            )

    position_mismatches: list[PositionMismatch] = []
    if positions is not None:
        for instrument_id in sorted(set(local_instrument) | set(positions)):
            local_qty = local_instrument.get(instrument_id, 0)
            venue_qty = positions.get(instrument_id, 0)
            if local_qty != venue_qty:
                position_mismatches.append(PositionMismatch(instrument_id, local_qty, venue_qty))

    return ReconciliationReport(
        events=tuple(events),
        missing_fills=tuple(missing_fills),
        lost_orders=tuple(lost),
        external_orders=tuple(external_orders),
        external_fills=tuple(external_fills),
        order_mismatches=tuple(mismatches),
        position_mismatches=tuple(position_mismatches),
    )


def _lost(order: RecoveredOrder, ts: int) -> OrderCanceled:
    return OrderCanceled(
        order.strategy_id, order.instrument_id, order.client_order_id, LOST_ORDER_REASON, ts, ts
    )


def _validated_venue_orders(orders: Iterable[VenueOpenOrder]) -> list[VenueOpenOrder]:
    if isinstance(orders, str | bytes) or not isinstance(orders, Iterable):
        raise InvalidValue("INVALID_VENUE_ORDER", "venue_open_orders must be an iterable")
    result = []
    venue_ids: set[str] = set()
    client_ids: set[str] = set()
    for order in orders:
        if not isinstance(order, VenueOpenOrder):
            raise InvalidValue(
                "INVALID_VENUE_ORDER", f"expected VenueOpenOrder, got {type(order).__name__}"
            )
        try:
            msgspec.convert(msgspec.structs.asdict(order), VenueOpenOrder)
        except msgspec.ValidationError as exc:
            raise InvalidValue("INVALID_VENUE_ORDER", f"{order!r}: {exc}") from exc
        if not order.venue_order_id or not order.instrument_id or order.client_order_id == "":
            raise InvalidValue("INVALID_VENUE_ORDER", f"{order!r} has an empty id")
        if order.side not in _SIDE_SIGN:
            raise InvalidValue("INVALID_VENUE_ORDER", f"{order!r} has side {order.side}")
        if order.quantity <= 0 or not 0 <= order.filled_quantity < order.quantity:
            raise InvalidValue(
                "INVALID_VENUE_ORDER",
                f"{order!r}: a working order has 0 <= filled_quantity < quantity",
            )
        if order.venue_order_id in venue_ids or order.client_order_id in client_ids:
            raise InvalidValue("DUPLICATE_VENUE_ORDER", f"{order!r} is listed twice")
        venue_ids.add(order.venue_order_id)
        if order.client_order_id is not None:
            client_ids.add(order.client_order_id)
        result.append(order)
    return result


def _validated_fills(fills: Iterable[OrderFilled]) -> list[OrderFilled]:
    if isinstance(fills, str | bytes) or not isinstance(fills, Iterable):
        raise InvalidValue("INVALID_FILL", "venue_fills must be an iterable of OrderFilled")
    result = []
    for fill in fills:
        if not isinstance(fill, OrderFilled):
            raise InvalidValue("INVALID_FILL", f"expected OrderFilled, got {type(fill).__name__}")
        encode_event(fill)  # the store's own validation: ids, field types, timestamp
        if fill.side not in _SIDE_SIGN or fill.last_quantity <= 0:
            raise InvalidValue("INVALID_FILL", f"{fill!r} cannot move a position")
        result.append(fill)
    return result


def _validated_positions(positions: Mapping[str, int] | None) -> dict[str, int] | None:
    if positions is None:
        return None
    if not isinstance(positions, Mapping):
        raise InvalidValue("INVALID_POSITION", "venue_positions must be a mapping or None")
    result = {}
    for instrument_id, quantity in positions.items():
        if not isinstance(instrument_id, str) or not instrument_id:
            raise InvalidValue("INVALID_POSITION", f"instrument id {instrument_id!r} is invalid")
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise InvalidValue("INVALID_POSITION", f"{instrument_id}: {quantity!r} is not int lots")
        result[instrument_id] = quantity
    return result
