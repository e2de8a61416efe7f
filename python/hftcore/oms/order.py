"""The order: a state object built from ``OrderInitialized`` and changed only by order events.

An :class:`Order` never changes except through :meth:`Order.apply`. Every status change is an
entry of :data:`TRANSITIONS`, the single transition table: an event whose (status, event type)
pair is not in the table raises :class:`~hftcore.errors.InvalidStateTransition` with code
``ILLEGAL_TRANSITION``, is logged, and leaves the order exactly as it was. Quantities are lots,
prices ticks and commissions money ints (1e-12 units of their currency), so the filled quantity,
the notional and the average price are exact.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from enum import Enum, IntEnum
from fractions import Fraction
from types import MappingProxyType
from typing import Final

import msgspec

from hftcore.errors import InvalidStateTransition, InvalidValue
from hftcore.model.enums import Side
from hftcore.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderDenied,
    OrderEmulated,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderInitialized,
    OrderModifyRejected,
    OrderPendingCancel,
    OrderPendingUpdate,
    OrderRejected,
    OrderReleased,
    OrderSpec,
    OrderSubmitted,
    OrderTriggered,
    OrderUpdated,
)
from hftcore.model.orders import OrderType, PostOnly, TimeInForce

logger = logging.getLogger(__name__)


class OrderStatus(IntEnum):
    """Where an order is in its life. See docs/oms.md for the full state table."""

    INITIALIZED = 0
    """Created by the OMS, not sent yet (queued, or held as a contingent child)."""
    DENIED = 1
    """Refused inside the node (risk gate); never reached a venue. Closed."""
    EMULATED = 2
    """Held by the OMS's emulator until its trigger."""
    RELEASED = 3
    """Let go by the emulator as a market or limit order; on its way to the venue."""
    SUBMITTED = 4
    """Sent to the venue, not acknowledged yet."""
    ACCEPTED = 5
    """Working at the venue."""
    REJECTED = 6
    """Refused by the venue. Closed."""
    PENDING_UPDATE = 7
    """A modify is in flight."""
    PENDING_CANCEL = 8
    """A cancel is in flight."""
    TRIGGERED = 9
    """A stop whose trigger was reached; working as a market or limit order."""
    PARTIALLY_FILLED = 10
    """Filled in part, the rest still working."""
    FILLED = 11
    """Filled completely. Closed."""
    CANCELED = 12
    """Canceled (by request, or by the venue: IOC remainder, self-trade, OCO ...). Closed."""
    EXPIRED = 13
    """Its time in force ran out (DAY, GTD). Closed."""


class Effect(Enum):
    """Table entries whose target status depends on the order, not only on the event."""

    KEEP = "KEEP"
    """The status stays as it is (replies to requests, local updates)."""
    RESUME = "RESUME"
    """The pending request is resolved: back to the working status the order had before."""
    FILL = "FILL"
    """``FILLED`` when nothing is left, else ``PARTIALLY_FILLED`` (behind a pending status)."""


CLOSED_STATUSES: Final = frozenset(
    {
        OrderStatus.DENIED,
        OrderStatus.REJECTED,
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
        OrderStatus.EXPIRED,
    }
)
PENDING_STATUSES: Final = frozenset({OrderStatus.PENDING_UPDATE, OrderStatus.PENDING_CANCEL})
WORKING_STATUSES: Final = frozenset(
    {
        OrderStatus.ACCEPTED,
        OrderStatus.TRIGGERED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PENDING_UPDATE,
        OrderStatus.PENDING_CANCEL,
    }
)
LOCAL_STATUSES: Final = frozenset({OrderStatus.INITIALIZED, OrderStatus.RELEASED})
"""Orders the OMS still has in hand: modified and canceled locally, never at a venue."""

# Statuses an order can be in *behind* a pending request: while PENDING_UPDATE or
# PENDING_CANCEL, an event targeting one of these changes the remembered working status and the
# visible status stays pending until the request is answered.
_BEHIND_PENDING: Final = frozenset(
    {OrderStatus.ACCEPTED, OrderStatus.TRIGGERED, OrderStatus.PARTIALLY_FILLED}
)


def _build_transitions() -> Mapping[tuple[OrderStatus, type[OrderEvent]], OrderStatus | Effect]:
    s = OrderStatus
    keep, resume, fill = Effect.KEEP, Effect.RESUME, Effect.FILL
    venue_working: dict[type[OrderEvent], OrderStatus | Effect] = {
        OrderPendingUpdate: s.PENDING_UPDATE,
        OrderPendingCancel: s.PENDING_CANCEL,
        OrderUpdated: keep,
        OrderCanceled: s.CANCELED,
        OrderExpired: s.EXPIRED,
        OrderFilled: fill,
    }
    pending: dict[type[OrderEvent], OrderStatus | Effect] = {
        OrderPendingCancel: s.PENDING_CANCEL,
        OrderAccepted: s.ACCEPTED,
        OrderTriggered: s.TRIGGERED,
        OrderRejected: s.REJECTED,
        OrderCanceled: s.CANCELED,
        OrderExpired: s.EXPIRED,
        OrderFilled: fill,
    }
    by_status: dict[OrderStatus, dict[type[OrderEvent], OrderStatus | Effect]] = {
        s.INITIALIZED: {
            OrderDenied: s.DENIED,
            OrderEmulated: s.EMULATED,
            OrderSubmitted: s.SUBMITTED,
            OrderUpdated: keep,
            OrderCanceled: s.CANCELED,
            OrderExpired: s.EXPIRED,
        },
        s.EMULATED: {
            OrderUpdated: keep,
            OrderTriggered: s.TRIGGERED,
            OrderCanceled: s.CANCELED,
            OrderExpired: s.EXPIRED,
        },
        s.RELEASED: {
            OrderSubmitted: s.SUBMITTED,
            OrderDenied: s.DENIED,
            OrderUpdated: keep,
            OrderCanceled: s.CANCELED,
            OrderExpired: s.EXPIRED,
        },
        s.SUBMITTED: {
            OrderAccepted: s.ACCEPTED,
            OrderRejected: s.REJECTED,
            OrderPendingUpdate: s.PENDING_UPDATE,
            OrderPendingCancel: s.PENDING_CANCEL,
            OrderCanceled: s.CANCELED,
            OrderExpired: s.EXPIRED,
            OrderFilled: fill,
        },
        s.ACCEPTED: {**venue_working, OrderTriggered: s.TRIGGERED},
        s.TRIGGERED: {**venue_working, OrderReleased: s.RELEASED},
        s.PARTIALLY_FILLED: venue_working,
        s.PENDING_UPDATE: {
            **pending,
            OrderPendingUpdate: s.PENDING_UPDATE,
            OrderUpdated: resume,
            OrderModifyRejected: resume,
        },
        s.PENDING_CANCEL: {**pending, OrderUpdated: keep, OrderCancelRejected: resume},
    }
    table: dict[tuple[OrderStatus, type[OrderEvent]], OrderStatus | Effect] = {}
    for status in OrderStatus:
        row = by_status.get(status, {})
        for event_type, target in row.items():
            table[(status, event_type)] = target
        # A rejected modify or cancel is a reply, not a state change: it is recorded from any
        # status (a cancel commonly loses the race against the last fill).
        for reply in (OrderModifyRejected, OrderCancelRejected):
            table.setdefault((status, reply), keep)
    return MappingProxyType(table)


# Members the per-order code compares with, read once: reading a member off its Enum class
# costs about 100 ns in Python 3.11, several times a module global.
_INITIALIZED: Final = OrderStatus.INITIALIZED
_KEEP: Final = Effect.KEEP
_RESUME: Final = Effect.RESUME
_SIDES: Final = (Side.BUY, Side.SELL)
_GTD: Final = TimeInForce.GTD
_NO_POST_ONLY: Final = PostOnly.NONE

TRANSITIONS: Final = _build_transitions()
"""(status, event type) -> the target status, or the :class:`Effect` that computes it. A pair
that is not here is an illegal transition."""

TRAILING_OFFSET_TYPES: Final = frozenset({"PRICE", "BASIS_POINTS", "TICKS"})
CONTINGENCIES: Final = frozenset({"OCO", "OTO", "BRACKET"})
_PRICED_TYPES: Final = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT})
_STOP_TYPES: Final = frozenset({OrderType.STOP, OrderType.STOP_LIMIT})
_RESTING_TYPES: Final = frozenset(
    {OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.MARKET_TO_LIMIT}
)


_ORDER_TYPE_CODES: Final = frozenset(int(member) for member in OrderType)
_TIME_IN_FORCE_CODES: Final = frozenset(int(member) for member in TimeInForce)
_POST_ONLY_CODES: Final = frozenset(int(member) for member in PostOnly)


def _type_name(order_type: int) -> str:
    return OrderType(order_type).name


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_CODE_TYPES: Final = frozenset({int, Side, OrderType, TimeInForce, PostOnly})
"""Exact types that pass :func:`_is_int`: the types a spec's integer fields usually have."""


def _require_text(value: object, code: str, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidValue(code, f"{what} must be a non-empty string, got {value!r}")


def validate_spec(spec: OrderSpec, ts: int) -> None:
    """Checks the structure of an order spec created at ``ts``; raises
    :class:`~hftcore.errors.InvalidValue` whose code names the first problem. Instrument
    limits (tick and lot grid, min/max quantity, notional) are the risk gate's and the venue's
    business, not this check's."""
    if not isinstance(spec, OrderSpec):
        raise InvalidValue("INVALID_SPEC", f"expected an OrderSpec, got {type(spec).__name__}")
    if type(spec.instrument_id) is not str or not spec.instrument_id:
        _require_text(spec.instrument_id, "INVALID_INSTRUMENT_ID", "instrument_id")
    side, order_type, quantity = spec.side, spec.order_type, spec.quantity
    time_in_force, post_only = spec.time_in_force, spec.post_only
    # `type(v) in _CODE_TYPES or _is_int(v)` is `_is_int(v)`, without the call for the usual types.
    if side not in _SIDES or not (type(side) in _CODE_TYPES or _is_int(side)):
        raise InvalidValue("INVALID_SIDE", f"side must be 0 (buy) or 1 (sell), got {side!r}")
    if not (type(order_type) in _CODE_TYPES or _is_int(order_type)) or (
        order_type not in _ORDER_TYPE_CODES
    ):
        raise InvalidValue("INVALID_ORDER_TYPE", f"unknown order type {order_type!r}")
    if not (type(quantity) in _CODE_TYPES or _is_int(quantity)) or quantity <= 0:
        raise InvalidValue("INVALID_QUANTITY", f"quantity must be a positive int, got {quantity!r}")
    if not (type(time_in_force) in _CODE_TYPES or _is_int(time_in_force)) or (
        time_in_force not in _TIME_IN_FORCE_CODES
    ):
        raise InvalidValue("INVALID_TIME_IN_FORCE", f"unknown time in force {time_in_force!r}")
    _validate_prices(spec, order_type)
    if spec.trailing_offset is not None or spec.trailing_offset_type is not None:
        _validate_trailing(spec, order_type)
    if spec.display_quantity is not None:
        if order_type not in _RESTING_TYPES:
            raise InvalidValue(
                "DISPLAY_QUANTITY_NOT_APPLICABLE",
                f"a {_type_name(order_type)} order cannot have a display quantity",
            )
        if not _is_int(spec.display_quantity) or not 0 < spec.display_quantity <= spec.quantity:
            raise InvalidValue(
                "INVALID_DISPLAY_QUANTITY",
                f"display quantity must be in 1..{spec.quantity}, got {spec.display_quantity!r}",
            )
    if time_in_force == _GTD:
        if spec.expire_ts is None:
            raise InvalidValue("MISSING_EXPIRE_TS", "a GTD order needs expire_ts")
        if not _is_int(spec.expire_ts) or spec.expire_ts <= ts:
            raise InvalidValue(
                "EXPIRE_TS_NOT_IN_FUTURE", f"expire_ts {spec.expire_ts!r} is not after {ts}"
            )
    elif spec.expire_ts is not None:
        raise InvalidValue("UNEXPECTED_EXPIRE_TS", "expire_ts is only for GTD orders")
    if not (type(post_only) in _CODE_TYPES or _is_int(post_only)) or (
        post_only not in _POST_ONLY_CODES
    ):
        raise InvalidValue("INVALID_POST_ONLY", f"unknown post-only mode {post_only!r}")
    if post_only != _NO_POST_ONLY:
        if order_type not in _PRICED_TYPES:
            raise InvalidValue("INVALID_POST_ONLY", "post-only needs a LIMIT or STOP_LIMIT order")
        if time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            raise InvalidValue("INVALID_POST_ONLY", "a post-only order cannot be IOC or FOK")
    if not isinstance(spec.reduce_only, bool):
        raise InvalidValue("INVALID_SPEC", f"reduce_only must be a bool, got {spec.reduce_only!r}")
    if not isinstance(spec.emulated, bool):
        raise InvalidValue("INVALID_SPEC", f"emulated must be a bool, got {spec.emulated!r}")
    if spec.emulated and order_type not in _STOP_TYPES:
        raise InvalidValue(
            "EMULATION_NOT_SUPPORTED",
            f"only stop orders can be emulated, not {_type_name(order_type)}",
        )
    if (
        type(spec.linked_order_ids) is not tuple
        or spec.linked_order_ids
        or spec.order_list_id is not None
        or spec.contingency is not None
        or spec.parent_order_id is not None
    ):
        _validate_contingency(spec)


def _validate_prices(spec: OrderSpec, order_type: int) -> None:
    if order_type in _PRICED_TYPES:
        if spec.price is None:
            raise InvalidValue("MISSING_PRICE", f"a {_type_name(order_type)} order needs a price")
        if not (type(spec.price) in _CODE_TYPES or _is_int(spec.price)) or spec.price <= 0:
            raise InvalidValue("INVALID_PRICE", f"price must be a positive int, got {spec.price!r}")
    elif spec.price is not None:
        raise InvalidValue("UNEXPECTED_PRICE", f"a {_type_name(order_type)} order takes no price")
    trailing = spec.trailing_offset is not None or spec.trailing_offset_type is not None
    if order_type in _STOP_TYPES:
        # A trailing STOP may leave its first trigger to the market (set on the first price);
        # a trailing STOP_LIMIT needs one, its limit keeping its distance to the trigger.
        if spec.trigger_price is None and (not trailing or order_type == OrderType.STOP_LIMIT):
            raise InvalidValue(
                "MISSING_TRIGGER_PRICE", f"a {_type_name(order_type)} order needs a trigger price"
            )
        if spec.trigger_price is not None and (
            not _is_int(spec.trigger_price) or spec.trigger_price <= 0
        ):
            raise InvalidValue(
                "INVALID_TRIGGER_PRICE",
                f"trigger price must be a positive int, got {spec.trigger_price!r}",
            )
    elif spec.trigger_price is not None:
        raise InvalidValue(
            "UNEXPECTED_TRIGGER_PRICE", f"a {_type_name(order_type)} order takes no trigger price"
        )


def _validate_trailing(spec: OrderSpec, order_type: int) -> None:
    """The trailing fields of a spec that has at least one."""
    if order_type not in _STOP_TYPES:
        raise InvalidValue(
            "TRAILING_NOT_STOP",
            f"only STOP and STOP_LIMIT orders trail, not {_type_name(order_type)}",
        )
    if spec.trailing_offset is None:
        raise InvalidValue("MISSING_TRAILING_OFFSET", "a trailing stop needs trailing_offset")
    if spec.trailing_offset_type not in TRAILING_OFFSET_TYPES:
        raise InvalidValue(
            "INVALID_TRAILING_OFFSET_TYPE",
            f"trailing_offset_type must be one of {sorted(TRAILING_OFFSET_TYPES)}, "
            f"got {spec.trailing_offset_type!r}",
        )
    if not _is_int(spec.trailing_offset) or spec.trailing_offset <= 0:
        raise InvalidValue(
            "INVALID_TRAILING_OFFSET",
            f"trailing_offset must be a positive int, got {spec.trailing_offset!r}",
        )
    if spec.trailing_offset_type == "BASIS_POINTS" and spec.trailing_offset >= 10_000:
        raise InvalidValue(
            "INVALID_TRAILING_OFFSET", "a basis-point trailing offset must be below 10000"
        )


def _validate_contingency(spec: OrderSpec) -> None:
    """The list fields of a spec that has any (linked ids, list id, contingency, parent)."""
    linked = spec.linked_order_ids
    if not isinstance(linked, tuple) or not all(isinstance(i, str) and i for i in linked):
        raise InvalidValue("INVALID_CONTINGENCY", "linked_order_ids must be a tuple of ids")
    in_list = spec.contingency is not None or spec.parent_order_id is not None or bool(linked)
    if not in_list:
        if spec.order_list_id is not None:
            raise InvalidValue(
                "INVALID_CONTINGENCY", "order_list_id without a contingency or a parent"
            )
        return
    _require_text(spec.order_list_id, "INVALID_CONTINGENCY", "order_list_id of a contingent order")
    if spec.contingency is not None and spec.contingency not in CONTINGENCIES:
        raise InvalidValue(
            "INVALID_CONTINGENCY",
            f"contingency must be one of {sorted(CONTINGENCIES)}, got {spec.contingency!r}",
        )
    if spec.parent_order_id is not None:
        _require_text(spec.parent_order_id, "INVALID_CONTINGENCY", "parent_order_id")
        if spec.contingency in ("OTO", "BRACKET"):
            raise InvalidValue(
                "INVALID_CONTINGENCY", "a child order cannot itself be an OTO or BRACKET parent"
            )
    if spec.contingency == "OTO" and not linked:
        raise InvalidValue("INVALID_CONTINGENCY", "an OTO parent lists its children")
    if spec.contingency == "BRACKET" and len(linked) != 2:
        raise InvalidValue(
            "INVALID_CONTINGENCY",
            "a BRACKET entry lists exactly two children (take-profit, stop-loss)",
        )
    if len(set(linked)) != len(linked):
        raise InvalidValue("INVALID_CONTINGENCY", "linked_order_ids repeat an id")


class Order:
    """One order's state, derived from its events.

    Built from its ``OrderInitialized``; every change goes through :meth:`apply`. The filled
    quantity and the notional (sum of price x quantity over fills, ticks x lots) are ints, so
    :attr:`average_price` is an exact :class:`~fractions.Fraction` of ticks.
    """

    __slots__ = (
        "_commissions",
        "_events",
        "_filled",
        "_initialized",
        "_notional",
        "_spec",
        "_status",
        "_trade_ids",
        "_ts_last",
        "_venue_order_id",
        "_working_status",
    )

    def __init__(self, initialized: OrderInitialized) -> None:
        if not isinstance(initialized, OrderInitialized):
            raise InvalidValue(
                "INVALID_EVENT",
                f"an Order is built from OrderInitialized, got {type(initialized).__name__}",
            )
        _require_text(initialized.strategy_id, "INVALID_STRATEGY_ID", "strategy_id")
        _require_text(initialized.client_order_id, "INVALID_CLIENT_ORDER_ID", "client_order_id")
        validate_spec(initialized.order, initialized.ts_event)
        if initialized.instrument_id != initialized.order.instrument_id:
            raise InvalidValue(
                "INSTRUMENT_MISMATCH",
                f"event instrument {initialized.instrument_id!r} differs from the spec's "
                f"{initialized.order.instrument_id!r}",
            )
        self._start(initialized)

    @classmethod
    def _checked(cls, initialized: OrderInitialized) -> Order:
        """An order from an ``OrderInitialized`` the caller built from a validated spec."""
        order = cls.__new__(cls)
        order._start(initialized)
        return order

    def _start(self, initialized: OrderInitialized) -> None:
        self._initialized = initialized
        self._spec = initialized.order
        self._status = _INITIALIZED
        # The status behind PENDING_UPDATE / PENDING_CANCEL, restored when the request ends.
        self._working_status = _INITIALIZED
        self._venue_order_id: str | None = None
        self._filled = 0
        self._notional = 0
        self._commissions: dict[str, int] = {}
        self._trade_ids: set[str] = set()
        self._events: list[OrderEvent] = [initialized]
        self._ts_last = initialized.ts_event

    # -- identity and definition ---------------------------------------------------------------

    @property
    def client_order_id(self) -> str:
        return self._initialized.client_order_id

    @property
    def strategy_id(self) -> str:
        return self._initialized.strategy_id

    @property
    def instrument_id(self) -> str:
        return self._initialized.instrument_id

    @property
    def side(self) -> Side:
        return Side(self._spec.side)

    @property
    def spec(self) -> OrderSpec:
        """The order as it stands now: the initial spec with every ``OrderUpdated`` applied."""
        return self._spec

    @property
    def initialized(self) -> OrderInitialized:
        return self._initialized

    @property
    def venue_order_id(self) -> str | None:
        return self._venue_order_id

    # -- status --------------------------------------------------------------------------------

    @property
    def status(self) -> OrderStatus:
        return self._status

    @property
    def working_status(self) -> OrderStatus:
        """The status behind a pending request (equal to :attr:`status` when none is)."""
        return self._working_status if self._status in PENDING_STATUSES else self._status

    @property
    def is_closed(self) -> bool:
        """DENIED, REJECTED, FILLED, CANCELED or EXPIRED: nothing more can happen."""
        return self._status in CLOSED_STATUSES

    @property
    def is_open(self) -> bool:
        """Not closed: anywhere from INITIALIZED to working at the venue."""
        return self._status not in CLOSED_STATUSES

    @property
    def is_working(self) -> bool:
        """Acknowledged by the venue and able to trade (incl. with a request in flight)."""
        return self._status in WORKING_STATUSES

    @property
    def is_emulated(self) -> bool:
        return self._status is OrderStatus.EMULATED

    @property
    def is_inflight(self) -> bool:
        """Sent and waiting for the venue's answer (SUBMITTED or a pending request)."""
        return self._status is OrderStatus.SUBMITTED or self._status in PENDING_STATUSES

    # -- quantities and money ------------------------------------------------------------------

    @property
    def quantity(self) -> int:
        return self._spec.quantity

    @property
    def filled_quantity(self) -> int:
        return self._filled

    @property
    def leaves_quantity(self) -> int:
        """Quantity still to fill; 0 once the order is closed."""
        return 0 if self.is_closed else self._spec.quantity - self._filled

    @property
    def notional(self) -> int:
        """Sum of price x quantity over the fills, in ticks x lots."""
        return self._notional

    @property
    def average_price(self) -> Fraction | None:
        """Exact average fill price in ticks, None before the first fill."""
        return Fraction(self._notional, self._filled) if self._filled else None

    @property
    def average_price_float(self) -> float | None:
        """:attr:`average_price` as a float, for display only."""
        return self._notional / self._filled if self._filled else None

    @property
    def commissions(self) -> dict[str, int]:
        """Total commission per currency (money ints; negative is a rebate). A copy."""
        return dict(self._commissions)

    def commission(self, currency: str) -> int:
        return self._commissions.get(currency, 0)

    def has_trade(self, trade_id: str) -> bool:
        return trade_id in self._trade_ids

    # -- history -------------------------------------------------------------------------------

    @property
    def events(self) -> tuple[OrderEvent, ...]:
        """Every event applied, starting with the ``OrderInitialized``."""
        return tuple(self._events)

    @property
    def last_event(self) -> OrderEvent:
        return self._events[-1]

    @property
    def event_count(self) -> int:
        return len(self._events)

    @property
    def ts_init(self) -> int:
        return self._initialized.ts_init

    @property
    def ts_last(self) -> int:
        """``ts_event`` of the last event applied."""
        return self._ts_last

    def __repr__(self) -> str:
        return (
            f"Order({self.client_order_id!r}, {self._status.name}, "
            f"filled={self._filled}/{self._spec.quantity})"
        )

    # -- applying events -----------------------------------------------------------------------

    def apply(self, event: OrderEvent) -> bool:
        """Applies one event. Returns True if it changed the order, False for a fill whose
        ``trade_id`` was already applied (ignored idempotently and logged).

        Raises :class:`~hftcore.errors.InvalidValue` for an event of another order or a
        malformed one, :class:`~hftcore.errors.InvalidStateTransition` for a transition the
        table does not allow (``ILLEGAL_TRANSITION``) or a fill beyond the quantity
        (``OVERFILL``); in every case the order is unchanged.
        """
        kind = type(event)
        if kind not in _EVENT_TYPES:
            raise InvalidValue("INVALID_EVENT", f"not an order event: {kind.__name__}")
        initialized = self._initialized
        if (
            event.client_order_id != initialized.client_order_id
            or event.strategy_id != initialized.strategy_id
            or event.instrument_id != initialized.instrument_id
        ):
            raise InvalidValue(
                "WRONG_ORDER",
                f"event for {event.strategy_id}/{event.client_order_id}/{event.instrument_id} "
                f"applied to {self.strategy_id}/{self.client_order_id}/{self.instrument_id}",
            )
        if kind is OrderFilled:
            assert isinstance(event, OrderFilled)
            self._check_fill(event)
            if event.trade_id in self._trade_ids:
                logger.warning(
                    "order %s: duplicate fill %s ignored", self.client_order_id, event.trade_id
                )
                return False
        target = TRANSITIONS.get((self._status, kind))
        if target is None:
            message = f"{kind.__name__} cannot apply to an order in status {self._status.name}"
            logger.error("order %s: %s", self.client_order_id, message)
            raise InvalidStateTransition("ILLEGAL_TRANSITION", message)
        if kind is OrderFilled:
            assert isinstance(event, OrderFilled)
            self._apply_fill(event)
        elif kind is OrderUpdated:
            assert isinstance(event, OrderUpdated)
            self._apply_update(event, target)
        else:
            if kind is OrderAccepted:
                assert isinstance(event, OrderAccepted)
                self._venue_order_id = event.venue_order_id
            self._move(target)
        self._events.append(event)
        self._ts_last = event.ts_event
        return True

    def _check_fill(self, fill: OrderFilled) -> None:
        if not _is_int(fill.last_quantity) or fill.last_quantity <= 0:
            raise InvalidValue("INVALID_FILL", f"fill quantity {fill.last_quantity!r} is not > 0")
        if not _is_int(fill.last_price) or not _is_int(fill.commission):
            raise InvalidValue("INVALID_FILL", "fill price and commission must be ints")
        if fill.side != self._spec.side:
            raise InvalidValue(
                "INVALID_FILL",
                f"fill side {fill.side!r} differs from the order's {self._spec.side}",
            )
        if not isinstance(fill.trade_id, str) or not fill.trade_id:
            raise InvalidValue("INVALID_FILL", "a fill needs a trade_id")

    def _move(self, target: OrderStatus | Effect) -> None:
        """Sets the status for a non-fill event (all checks have passed)."""
        if target is _KEEP:
            return
        if target is _RESUME:
            self._status = self._working_status
            return
        assert isinstance(target, OrderStatus)  # FILL is handled by _apply_fill
        pending = self._status in PENDING_STATUSES
        if target in PENDING_STATUSES:
            if not pending:
                self._working_status = self._status
            self._status = target
        elif pending and target in _BEHIND_PENDING:
            self._working_status = target
        else:
            self._status = target

    def _apply_fill(self, fill: OrderFilled) -> None:
        filled = self._filled + fill.last_quantity
        if filled > self._spec.quantity:
            message = (
                f"fill {fill.trade_id} of {fill.last_quantity} would fill {filled} of "
                f"{self._spec.quantity}"
            )
            logger.error("order %s: %s", self.client_order_id, message)
            raise InvalidStateTransition("OVERFILL", message)
        self._filled = filled
        self._notional += fill.last_price * fill.last_quantity
        self._commissions[fill.currency] = self._commissions.get(fill.currency, 0) + fill.commission
        self._trade_ids.add(fill.trade_id)
        if self._venue_order_id is None:
            self._venue_order_id = fill.venue_order_id
        if filled == self._spec.quantity:
            self._status = OrderStatus.FILLED
        else:
            self._move(OrderStatus.PARTIALLY_FILLED)

    def _apply_update(self, update: OrderUpdated, target: OrderStatus | Effect) -> None:
        if not _is_int(update.quantity) or update.quantity <= self._filled:
            raise InvalidValue(
                "QUANTITY_NOT_ABOVE_FILLED",
                f"updated quantity {update.quantity!r} must exceed the filled {self._filled}",
            )
        for name, value in (("price", update.price), ("trigger_price", update.trigger_price)):
            if value is not None and (not _is_int(value) or value <= 0):
                raise InvalidValue("INVALID_UPDATE", f"updated {name} {value!r} is not > 0")
        self._spec = msgspec.structs.replace(
            self._spec,
            quantity=update.quantity,
            price=self._spec.price if update.price is None else update.price,
            trigger_price=(
                self._spec.trigger_price if update.trigger_price is None else update.trigger_price
            ),
        )
        self._move(target)


_EVENT_TYPES: Final[frozenset[type]] = frozenset(
    {
        OrderInitialized,
        OrderDenied,
        OrderEmulated,
        OrderReleased,
        OrderSubmitted,
        OrderAccepted,
        OrderRejected,
        OrderPendingUpdate,
        OrderPendingCancel,
        OrderUpdated,
        OrderModifyRejected,
        OrderCancelRejected,
        OrderTriggered,
        OrderCanceled,
        OrderExpired,
        OrderFilled,
    }
)


def modify_error(
    order_spec: OrderSpec,
    filled_quantity: int,
    quantity: int | None,
    price: int | None,
    trigger_price: int | None,
) -> tuple[str, str] | None:
    """Why a modify of an order (its current spec and filled quantity) to these values cannot
    be made, as ``(reason code, sentence)``, or None if it can. ``None`` values keep the
    current ones."""
    if quantity is None and price is None and trigger_price is None:
        return "NOTHING_TO_MODIFY", "a modify must change the quantity, price or trigger price"
    order_type = order_spec.order_type
    if quantity is not None:
        if not _is_int(quantity) or quantity <= 0:
            return "INVALID_QUANTITY", f"quantity must be a positive int, got {quantity!r}"
        if quantity <= filled_quantity:
            return (
                "QUANTITY_NOT_ABOVE_FILLED",
                f"quantity {quantity} must exceed the filled {filled_quantity}",
            )
        display = order_spec.display_quantity
        if display is not None and display > quantity:
            return (
                "INVALID_DISPLAY_QUANTITY",
                f"quantity {quantity} is below the display quantity {display}",
            )
    if price is not None:
        if order_type not in _PRICED_TYPES:
            return "PRICE_NOT_APPLICABLE", f"a {_type_name(order_type)} order has no price"
        if not _is_int(price) or price <= 0:
            return "INVALID_PRICE", f"price must be a positive int, got {price!r}"
    if trigger_price is not None:
        if order_type not in _STOP_TYPES:
            return (
                "TRIGGER_NOT_APPLICABLE",
                f"a {_type_name(order_type)} order has no trigger price",
            )
        if not _is_int(trigger_price) or trigger_price <= 0:
            return (
                "INVALID_TRIGGER_PRICE",
                f"trigger price must be a positive int, got {trigger_price!r}",
            )
    if (
        quantity in (None, order_spec.quantity)
        and price in (None, order_spec.price)
        and trigger_price in (None, order_spec.trigger_price)
    ):
        return "NO_CHANGE", "the modify repeats the order's current values"
    return None
