"""Order commands and order events: immutable msgspec Structs, the contract between strategies,
the OMS, the risk engine, venue adapters, the portfolio and the event store.

Every order state change is one event. Prices are integer ticks and quantities integer lots of
the instrument; money (commissions) is an integer count of 1e-12 units of ``currency`` (the
core's ``Money``), so sums are exact. Timestamps are ns since the Unix epoch, UTC: ``ts_event``
when it happened (at the venue for venue events), ``ts_init`` when the node created the object.

All events share ``strategy_id``, ``instrument_id`` and ``client_order_id`` (unique per node,
e.g. ``"S1-000042"``); ``tag=True`` in each Struct makes the class name part of the encoding, so
one decoder reads a mixed stream (``ORDER_EVENT_DECODER``).
"""

from __future__ import annotations

from typing import Final

import msgspec

# ---------------------------------------------------------------------------------------------
# Order parameters


class OrderSpec(msgspec.Struct, frozen=True, gc=False):
    """Everything that defines an order when it is created. Enum fields hold the int codes of
    ``hftcore.model.orders`` (``OrderType``, ``TimeInForce``, ``PostOnly``) and ``Side``.

    ``trigger_price`` is for stops; ``trailing_offset`` with ``trailing_offset_type``
    (``"PRICE"`` ticks, ``"BASIS_POINTS"``, ``"TICKS"``) makes a trailing stop, which the OMS
    emulates when the venue lacks it. ``display_quantity`` makes an iceberg. ``expire_ts`` is for
    GTD. Contingent orders share an ``order_list_id`` and name their ``contingency``: ``"OCO"``
    (one cancels the other), ``"OTO"`` (the parent's fill releases the children, listed in
    ``linked_order_ids``), or ``"BRACKET"`` (OTO entry with an OCO take-profit/stop-loss pair).
    """

    instrument_id: str
    side: int
    order_type: int
    quantity: int
    price: int | None = None
    trigger_price: int | None = None
    time_in_force: int = 0
    expire_ts: int | None = None
    post_only: int = 0
    reduce_only: bool = False
    display_quantity: int | None = None
    trailing_offset: int | None = None
    trailing_offset_type: str | None = None
    order_list_id: str | None = None
    contingency: str | None = None
    parent_order_id: str | None = None
    linked_order_ids: tuple[str, ...] = ()
    emulated: bool = False


# ---------------------------------------------------------------------------------------------
# Commands (strategy -> OMS -> risk -> venue)


class SubmitOrder(msgspec.Struct, frozen=True, gc=False, tag=True):
    strategy_id: str
    client_order_id: str
    order: OrderSpec
    ts_init: int


class ModifyOrder(msgspec.Struct, frozen=True, gc=False, tag=True):
    """Cancel/replace: a price change or a size increase loses queue priority."""

    strategy_id: str
    instrument_id: str
    client_order_id: str
    quantity: int | None
    price: int | None
    trigger_price: int | None
    ts_init: int


class CancelOrder(msgspec.Struct, frozen=True, gc=False, tag=True):
    strategy_id: str
    instrument_id: str
    client_order_id: str
    ts_init: int


class CancelAllOrders(msgspec.Struct, frozen=True, gc=False, tag=True):
    """Cancels the strategy's working orders on one instrument (``side`` None for both)."""

    strategy_id: str
    instrument_id: str
    side: int | None
    ts_init: int


Command = SubmitOrder | ModifyOrder | CancelOrder | CancelAllOrders

# ---------------------------------------------------------------------------------------------
# Order events


class OrderInitialized(msgspec.Struct, frozen=True, gc=False, tag=True):
    strategy_id: str
    instrument_id: str
    client_order_id: str
    order: OrderSpec
    ts_event: int
    ts_init: int


class OrderDenied(msgspec.Struct, frozen=True, gc=False, tag=True):
    """Refused inside the node (risk gate, OMS validation): never sent to a venue. ``reason`` is
    the reason code (e.g. ``"MAX_LONG_POSITION"``, ``"DUPLICATE_CLIENT_ORDER_ID"``)."""

    strategy_id: str
    instrument_id: str
    client_order_id: str
    reason: str
    message: str
    ts_event: int
    ts_init: int


class OrderEmulated(msgspec.Struct, frozen=True, gc=False, tag=True):
    """Held by the OMS's emulator (trailing stop, stop on a venue without stops) until its
    trigger; then released to the venue as a market or limit order."""

    strategy_id: str
    instrument_id: str
    client_order_id: str
    ts_event: int
    ts_init: int


class OrderReleased(msgspec.Struct, frozen=True, gc=False, tag=True):
    strategy_id: str
    instrument_id: str
    client_order_id: str
    released_price: int | None
    ts_event: int
    ts_init: int


class OrderSubmitted(msgspec.Struct, frozen=True, gc=False, tag=True):
    strategy_id: str
    instrument_id: str
    client_order_id: str
    ts_event: int
    ts_init: int


class OrderAccepted(msgspec.Struct, frozen=True, gc=False, tag=True):
    strategy_id: str
    instrument_id: str
    client_order_id: str
    venue_order_id: str
    ts_event: int
    ts_init: int


class OrderRejected(msgspec.Struct, frozen=True, gc=False, tag=True):
    """Refused by the venue."""

    strategy_id: str
    instrument_id: str
    client_order_id: str
    reason: str
    ts_event: int
    ts_init: int


class OrderPendingUpdate(msgspec.Struct, frozen=True, gc=False, tag=True):
    strategy_id: str
    instrument_id: str
    client_order_id: str
    ts_event: int
    ts_init: int


class OrderPendingCancel(msgspec.Struct, frozen=True, gc=False, tag=True):
    strategy_id: str
    instrument_id: str
    client_order_id: str
    ts_event: int
    ts_init: int


class OrderUpdated(msgspec.Struct, frozen=True, gc=False, tag=True):
    strategy_id: str
    instrument_id: str
    client_order_id: str
    quantity: int
    price: int | None
    trigger_price: int | None
    ts_event: int
    ts_init: int


class OrderModifyRejected(msgspec.Struct, frozen=True, gc=False, tag=True):
    strategy_id: str
    instrument_id: str
    client_order_id: str
    reason: str
    ts_event: int
    ts_init: int


class OrderCancelRejected(msgspec.Struct, frozen=True, gc=False, tag=True):
    strategy_id: str
    instrument_id: str
    client_order_id: str
    reason: str
    ts_event: int
    ts_init: int


class OrderTriggered(msgspec.Struct, frozen=True, gc=False, tag=True):
    strategy_id: str
    instrument_id: str
    client_order_id: str
    ts_event: int
    ts_init: int


class OrderCanceled(msgspec.Struct, frozen=True, gc=False, tag=True):
    """``reason`` e.g. ``"REQUESTED"``, ``"IMMEDIATE_OR_CANCEL"``, ``"OCO"``, ``"SELF_TRADE"``."""

    strategy_id: str
    instrument_id: str
    client_order_id: str
    reason: str
    ts_event: int
    ts_init: int


class OrderExpired(msgspec.Struct, frozen=True, gc=False, tag=True):
    strategy_id: str
    instrument_id: str
    client_order_id: str
    ts_event: int
    ts_init: int


class OrderFilled(msgspec.Struct, frozen=True, gc=False, tag=True):
    """One execution. ``liquidity`` is ``"MAKER"`` or ``"TAKER"``; ``commission`` is money in
    1e-12 units of ``currency`` (negative is a rebate)."""

    strategy_id: str
    instrument_id: str
    client_order_id: str
    venue_order_id: str
    trade_id: str
    side: int
    last_price: int
    last_quantity: int
    liquidity: str
    commission: int
    currency: str
    ts_event: int
    ts_init: int


OrderEvent = (
    OrderInitialized
    | OrderDenied
    | OrderEmulated
    | OrderReleased
    | OrderSubmitted
    | OrderAccepted
    | OrderRejected
    | OrderPendingUpdate
    | OrderPendingCancel
    | OrderUpdated
    | OrderModifyRejected
    | OrderCancelRejected
    | OrderTriggered
    | OrderCanceled
    | OrderExpired
    | OrderFilled
)

ORDER_EVENT_DECODER: Final = msgspec.json.Decoder(OrderEvent)
COMMAND_DECODER: Final = msgspec.json.Decoder(Command)
ENCODER: Final = msgspec.json.Encoder()
