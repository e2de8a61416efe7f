"""Orders in FIX 4.4 terms: the one mapping between an :class:`OrderSpec` (ticks, lots, enum
codes) and the fields of NewOrderSingle / OrderCancelReplaceRequest / ExecutionReport, used by
both the client and the venue simulator.

* instrument ``SYMBOL.VENUE``: Symbol (55) ``SYMBOL``;
* side BUY / SELL: Side (54) ``1`` / ``2``;
* MARKET, LIMIT, STOP, STOP_LIMIT, MARKET_TO_LIMIT: OrdType (40) ``1``, ``2``, ``3``, ``4``, ``K``;
* DAY, GTC, IOC, FOK, GTD: TimeInForce (59) ``0``, ``1``, ``3``, ``4``, ``6`` (+ ExpireTime 126);
* price, trigger_price (ticks): Price (44), StopPx (99) as decimals;
* quantity, display_quantity (lots): OrderQty (38), MaxFloor (111) as decimals;
* post_only REJECT: ExecInst (18) ``6`` (participate, do not initiate).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from hftcore._core import Instrument
from hftcore.errors import InvalidValue
from hftcore.model.events import OrderSpec
from hftcore.model.orders import OrderType, PostOnly, TimeInForce
from hftcore.venues.fix.codec import BadTagValue, Field, FixMessage, Tag
from hftcore.venues.fix.session import parse_utc_timestamp, utc_timestamp

SIDE_TO_FIX: Final = {0: "1", 1: "2"}
SIDE_FROM_FIX: Final = {value: key for key, value in SIDE_TO_FIX.items()}
ORD_TYPE_TO_FIX: Final = {
    OrderType.MARKET: "1",
    OrderType.LIMIT: "2",
    OrderType.STOP: "3",
    OrderType.STOP_LIMIT: "4",
    OrderType.MARKET_TO_LIMIT: "K",
}
ORD_TYPE_FROM_FIX: Final = {value: key for key, value in ORD_TYPE_TO_FIX.items()}
TIME_IN_FORCE_TO_FIX: Final = {
    TimeInForce.DAY: "0",
    TimeInForce.GTC: "1",
    TimeInForce.IOC: "3",
    TimeInForce.FOK: "4",
    TimeInForce.GTD: "6",
}
TIME_IN_FORCE_FROM_FIX: Final = {value: key for key, value in TIME_IN_FORCE_TO_FIX.items()}
PARTICIPATE_DO_NOT_INITIATE: Final = "6"


def fix_symbol(instrument_id: str) -> str:
    """Symbol (55) of an instrument: its id without the ``.VENUE`` suffix."""
    return instrument_id.rsplit(".", 1)[0]


def order_fields(spec: OrderSpec, instrument: Instrument) -> list[Field]:
    """Side, OrdType, OrderQty, Price, StopPx, TimeInForce, ExpireTime, ExecInst and MaxFloor of
    a NewOrderSingle for a checked ``spec``."""
    fields: list[Field] = [
        (Tag.SYMBOL, fix_symbol(spec.instrument_id)),
        (Tag.SIDE, SIDE_TO_FIX[spec.side]),
        (Tag.ORDER_QTY, instrument.lots_to_str(spec.quantity)),
        (Tag.ORD_TYPE, ORD_TYPE_TO_FIX[OrderType(spec.order_type)]),
    ]
    if spec.price is not None:
        fields.append((Tag.PRICE, instrument.ticks_to_str(spec.price)))
    if spec.trigger_price is not None:
        fields.append((Tag.STOP_PX, instrument.ticks_to_str(spec.trigger_price)))
    fields.append((Tag.TIME_IN_FORCE, TIME_IN_FORCE_TO_FIX[TimeInForce(spec.time_in_force)]))
    if spec.expire_ts is not None:
        fields.append((Tag.EXPIRE_TIME, utc_timestamp(spec.expire_ts)))
    if spec.post_only == PostOnly.REJECT:
        fields.append((Tag.EXEC_INST, PARTICIPATE_DO_NOT_INITIATE))
    if spec.display_quantity is not None:
        fields.append((Tag.MAX_FLOOR, instrument.lots_to_str(spec.display_quantity)))
    return fields


def lots_of(message: FixMessage, tag: int, instrument: Instrument) -> int:
    """A quantity field in lots; off the lot grid or not a number raises ``BadTagValue``."""
    text = message.require(tag)
    try:
        return instrument.quantity_to_lots(text)
    except (InvalidValue, ValueError):
        raise BadTagValue(tag, text) from None


def ticks_of(message: FixMessage, tag: int, instrument: Instrument) -> int:
    """A price field in ticks; off the tick grid or not a number raises ``BadTagValue``."""
    text = message.require(tag)
    try:
        return instrument.price_to_ticks(text)
    except (InvalidValue, ValueError):
        raise BadTagValue(tag, text) from None


def optional_ticks(message: FixMessage, tag: int, instrument: Instrument) -> int | None:
    return ticks_of(message, tag, instrument) if tag in message else None


def timestamp_of(message: FixMessage, tag: int) -> int:
    text = message.require(tag)
    try:
        return parse_utc_timestamp(text)
    except InvalidValue:
        raise BadTagValue(tag, text) from None


def coded(message: FixMessage, tag: int, table: Mapping[str, int]) -> int:
    """An enumerated field through ``table`` (FIX code -> ours)."""
    text = message.require(tag)
    code = table.get(text)
    if code is None:
        raise BadTagValue(tag, text)
    return code


def order_spec_from_message(
    message: FixMessage, instrument_id: str, instrument: Instrument
) -> OrderSpec:
    """The :class:`OrderSpec` of a NewOrderSingle; a missing or bad field raises
    ``MissingTag`` / ``BadTagValue`` (session Reject material)."""
    time_in_force = (
        coded(message, Tag.TIME_IN_FORCE, TIME_IN_FORCE_FROM_FIX)
        if Tag.TIME_IN_FORCE in message
        else TimeInForce.DAY  # FIX's default when TimeInForce is absent
    )
    exec_inst = message.get(Tag.EXEC_INST) or ""
    return OrderSpec(
        instrument_id=instrument_id,
        side=coded(message, Tag.SIDE, SIDE_FROM_FIX),
        order_type=coded(message, Tag.ORD_TYPE, ORD_TYPE_FROM_FIX),
        quantity=lots_of(message, Tag.ORDER_QTY, instrument),
        price=optional_ticks(message, Tag.PRICE, instrument),
        trigger_price=optional_ticks(message, Tag.STOP_PX, instrument),
        time_in_force=time_in_force,
        expire_ts=timestamp_of(message, Tag.EXPIRE_TIME) if Tag.EXPIRE_TIME in message else None,
        post_only=PostOnly.REJECT if PARTICIPATE_DO_NOT_INITIATE in exec_inst.split() else 0,
        display_quantity=(
            lots_of(message, Tag.MAX_FLOOR, instrument) if Tag.MAX_FLOOR in message else None
        ),
    )


__all__ = [
    "ORD_TYPE_FROM_FIX",
    "ORD_TYPE_TO_FIX",
    "SIDE_FROM_FIX",
    "SIDE_TO_FIX",
    "TIME_IN_FORCE_FROM_FIX",
    "TIME_IN_FORCE_TO_FIX",
    "coded",
    "fix_symbol",
    "lots_of",
    "optional_ticks",
    "order_fields",
    "order_spec_from_message",
    "ticks_of",
    "timestamp_of",
]
