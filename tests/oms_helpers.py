"""Builders of OMS commands and events for the OMS tests."""

from __future__ import annotations

from typing import Any

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
    SubmitOrder,
)
from hftcore.model.orders import OrderType
from hftcore.oms.order import Order

STRATEGY = "S1"
INSTRUMENT = "X.SIM"
BUY, SELL = 0, 1


def spec(**fields: Any) -> OrderSpec:
    """A GTC limit buy of 10 at 100 on X.SIM, with ``fields`` overriding."""
    values: dict[str, Any] = {
        "instrument_id": INSTRUMENT,
        "side": BUY,
        "order_type": int(OrderType.LIMIT),
        "quantity": 10,
        "price": 100,
    }
    values.update(fields)
    return OrderSpec(**values)


def submit(client_order_id: str = "C1", order: OrderSpec | None = None, ts: int = 0) -> SubmitOrder:
    return SubmitOrder(STRATEGY, client_order_id, spec() if order is None else order, ts)


def initialized(client_order_id: str = "C1", order: OrderSpec | None = None) -> OrderInitialized:
    order = spec() if order is None else order
    return OrderInitialized(STRATEGY, order.instrument_id, client_order_id, order, 0, 0)


def new_order(client_order_id: str = "C1", order: OrderSpec | None = None) -> Order:
    return Order(initialized(client_order_id, order))


def fill(
    client_order_id: str,
    quantity: int,
    price: int = 100,
    trade_id: str | None = None,
    *,
    side: int = BUY,
    commission: int = 0,
    currency: str = "USD",
    ts: int = 10,
) -> OrderFilled:
    return OrderFilled(
        STRATEGY,
        INSTRUMENT,
        client_order_id,
        "V-" + client_order_id,
        trade_id if trade_id is not None else f"T-{client_order_id}-{quantity}-{price}-{ts}",
        side,
        price,
        quantity,
        "TAKER",
        commission,
        currency,
        ts,
        ts,
    )


def event(kind: type[Any], client_order_id: str = "C1", ts: int = 5, **fields: Any) -> OrderEvent:
    """An event of class ``kind`` for the order, with plausible field values."""
    ids = (STRATEGY, fields.pop("instrument_id", INSTRUMENT), client_order_id)
    stamps = {"ts_event": ts, "ts_init": ts}
    if kind is OrderFilled:
        return fill(client_order_id, fields.pop("quantity", 1), ts=ts, **fields)
    if kind is OrderInitialized:
        return initialized(client_order_id)
    extra: dict[str, Any] = {}
    if kind is OrderAccepted:
        extra = {"venue_order_id": "V-" + client_order_id}
    elif kind in (OrderRejected, OrderModifyRejected, OrderCancelRejected, OrderCanceled):
        extra = {"reason": "TEST"}
    elif kind is OrderDenied:
        extra = {"reason": "TEST", "message": "test"}
    elif kind is OrderReleased:
        extra = {"released_price": 100}
    elif kind is OrderUpdated:
        extra = {"quantity": 12, "price": 101, "trigger_price": None}
    extra.update(fields)
    built: OrderEvent = kind(*ids, **extra, **stamps)
    return built


ALL_EVENT_TYPES: tuple[type[Any], ...] = (
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
)


def snapshot(order: Order) -> tuple[Any, ...]:
    """Everything observable about an order, to compare before and after a refused event."""
    return (
        order.status,
        order.working_status,
        order.spec,
        order.filled_quantity,
        order.leaves_quantity,
        order.notional,
        order.average_price,
        order.commissions,
        order.venue_order_id,
        order.events,
        order.ts_last,
    )
