"""Shared helpers of the venue and portfolio tests."""

from __future__ import annotations

from typing import Any

from hftcore.model.data import Bar
from hftcore.model.events import OrderEvent, OrderSpec
from hftcore.model.orders import OrderType, TimeInForce

INSTRUMENT_ID = "TEST.SIM"


class Recorder:
    """An event sink that keeps what it receives."""

    def __init__(self) -> None:
        self.events: list[OrderEvent] = []

    def __call__(self, event: OrderEvent) -> None:
        self.events.append(event)

    def take(self) -> list[OrderEvent]:
        taken, self.events = self.events, []
        return taken

    def kinds(self) -> list[str]:
        return [type(event).__name__ for event in self.take()]


def bar(ts: int, o: int, h: int, lo: int, c: int, *, volume: int = 1_000_000) -> Bar:
    return Bar(INSTRUMENT_ID, "1-MINUTE", o, h, lo, c, volume, ts, ts)


def spec(
    side: int,
    order_type: OrderType,
    quantity: int,
    *,
    price: int | None = None,
    trigger: int | None = None,
    tif: TimeInForce = TimeInForce.GTC,
    instrument_id: str = INSTRUMENT_ID,
    **extra: Any,
) -> OrderSpec:
    return OrderSpec(
        instrument_id,
        side,
        order_type,
        quantity,
        price=price,
        trigger_price=trigger,
        time_in_force=tif,
        **extra,
    )


def summary(events: list[OrderEvent]) -> list[tuple[Any, ...]]:
    """(type, client order id, and the fields that matter) of each event."""
    rows: list[tuple[Any, ...]] = []
    for event in events:
        name = type(event).__name__
        row: tuple[Any, ...] = (name, event.client_order_id)
        if name == "OrderFilled":
            row += (event.last_price, event.last_quantity, event.liquidity)  # type: ignore[union-attr]
        elif hasattr(event, "reason"):
            row += (event.reason,)
        elif name == "OrderUpdated":
            row += (event.quantity, event.price, event.trigger_price)  # type: ignore[union-attr]
        rows.append((*row, event.ts_event))
    return rows
