"""Alpaca's wire formats as msgspec Structs, and their conversion to model values.

The trading stream sends JSON ``{"stream": ..., "data": ...}`` frames; ``trade_updates`` data
is a :class:`WireTradeUpdate` whose ``order`` has the REST API's order shape
(:class:`WireOrder`). The market data stream sends msgpack arrays of messages tagged by ``T``
(``"t"`` trade, ``"q"`` quote, ``"b"`` minute bar; ``"success"``, ``"subscription"``,
``"error"`` are control messages) with msgpack timestamps (extension type -1, exact to the ns).
Prices and sizes arrive as decimal strings (trading) or floats (market data) and become ticks
and lots exactly (a float through its shortest repr); an off-grid value is refused, never
rounded.
"""

from __future__ import annotations

import struct
from decimal import Decimal
from typing import Final

import msgspec

from hftcore.data.timestamps import to_ns
from hftcore.errors import InvalidData
from hftcore.model.data import Bar

Number = str | float


class WireOrder(msgspec.Struct, frozen=True):
    """An order as the REST API and the ``trade_updates`` stream describe it (fields we use)."""

    id: str
    client_order_id: str
    status: str
    symbol: str | None = None
    side: str | None = None
    type: str | None = None
    order_class: str | None = None
    qty: Number | None = None
    filled_qty: Number | None = None
    filled_avg_price: Number | None = None
    limit_price: Number | None = None
    stop_price: Number | None = None
    replaced_by: str | None = None
    replaces: str | None = None
    legs: list[WireOrder] | None = None


class WireTradeUpdate(msgspec.Struct, frozen=True):
    """One ``trade_updates`` event; ``price``/``qty`` are the execution's on fills."""

    event: str
    order: WireOrder
    timestamp: str | None = None
    execution_id: str | None = None
    price: Number | None = None
    qty: Number | None = None
    position_qty: Number | None = None


class WireTradingFrame(msgspec.Struct, frozen=True):
    stream: str
    data: msgspec.Raw = msgspec.Raw(b"null")


class WirePosition(msgspec.Struct, frozen=True):
    symbol: str
    qty: Number
    side: str | None = None
    avg_entry_price: Number | None = None
    market_value: Number | None = None
    unrealized_pl: Number | None = None


class WireAccount(msgspec.Struct, frozen=True):
    id: str
    status: str
    currency: str = "USD"
    cash: Number | None = None
    equity: Number | None = None
    buying_power: Number | None = None
    trading_blocked: bool = False


class WireError(msgspec.Struct, frozen=True):
    """A REST error body: ``{"code": 40310000, "message": "insufficient buying power"}``."""

    message: str
    code: int | None = None


Timestamp = msgspec.msgpack.Ext | str


class WireTrade(msgspec.Struct, frozen=True, tag_field="T", tag="t"):
    S: str
    p: float
    s: float
    t: Timestamp
    i: int = 0
    tks: str | None = None
    """Crypto only: ``"B"`` the buyer took liquidity, ``"S"`` the seller did."""


class WireQuote(msgspec.Struct, frozen=True, tag_field="T", tag="q"):
    S: str
    bp: float
    bs: float
    ap: float
    ask_size: float = msgspec.field(name="as")
    t: Timestamp


class WireBar(msgspec.Struct, frozen=True, tag_field="T", tag="b"):
    """A one-minute bar; ``t`` is its start."""

    S: str
    o: float
    h: float
    l: float  # noqa: E741 - Alpaca's field name
    c: float
    v: float
    t: Timestamp


class WireMessageType(msgspec.Struct, frozen=True):
    T: str


MarketMessage = WireTrade | WireQuote | WireBar

CONTROL_TYPES: Final = frozenset({"success", "subscription", "error"})
"""Market-data messages alpaca-py's session handling needs to see."""
UNUSED_TYPES: Final = frozenset({"u", "d", "s", "l", "c", "x", "o", "n"})
"""Market-data messages hftcore does not subscribe to (updated/daily bars, statuses, LULD,
corrections, cancels, order books, news): skipped and counted as ignored."""

TRADING_FRAME_DECODER: Final = msgspec.json.Decoder(WireTradingFrame)
TRADE_UPDATE_DECODER: Final = msgspec.json.Decoder(WireTradeUpdate)
DATA_FRAME_DECODER: Final = msgspec.msgpack.Decoder(list[MarketMessage])
"""The fast path: a frame of trades, quotes and bars only (the usual case)."""
FRAME_DECODER: Final = msgspec.msgpack.Decoder(list[msgspec.Raw])
"""The general path: a frame split into messages, each decoded on its own."""
MESSAGE_DECODER: Final = msgspec.msgpack.Decoder(MarketMessage)
MESSAGE_TYPE_DECODER: Final = msgspec.msgpack.Decoder(WireMessageType)
FRAME_ENCODER: Final = msgspec.msgpack.Encoder()

MINUTE_NS: Final = 60_000_000_000
_TIMESTAMP_96: Final = struct.Struct(">Iq")
_TIMESTAMP_64: Final = struct.Struct(">Q")


def check_bar(bar: Bar) -> None:
    """Raises ``InvalidData`` (``INVALID_BAR``) unless ``0 < low <= open, close <= high`` and
    the volume is not negative."""
    if not (0 < bar.low <= min(bar.open, bar.close) and max(bar.open, bar.close) <= bar.high):
        raise InvalidData("INVALID_BAR", f"{bar.instrument_id} bar at {bar.ts_event}: bad OHLC")
    if bar.volume < 0:
        raise InvalidData("INVALID_BAR", f"{bar.instrument_id} bar at {bar.ts_event}: volume < 0")


def timestamp_ns(value: Timestamp) -> int:
    """ns since the epoch of a msgpack timestamp (32, 64 or 96 bit) or an RFC 3339 string."""
    if isinstance(value, str):
        return to_ns(value)
    if value.code != -1:
        raise InvalidData("BAD_TIMESTAMP", f"msgpack extension {value.code} is not a timestamp")
    data = memoryview(value.data)
    size = len(data)
    if size == 12:
        nanoseconds, seconds = _TIMESTAMP_96.unpack(data)
        return int(seconds) * 1_000_000_000 + int(nanoseconds)
    if size == 8:
        (packed,) = _TIMESTAMP_64.unpack(data)
        return (int(packed) & 0x3_FFFF_FFFF) * 1_000_000_000 + (int(packed) >> 34)
    if size == 4:
        return int.from_bytes(data, "big") * 1_000_000_000
    raise InvalidData("BAD_TIMESTAMP", f"a msgpack timestamp has 4, 8 or 12 bytes, not {len(data)}")


def decimal_of(value: Number, what: str) -> Decimal:
    """An exact Decimal of a wire number (a float through its shortest repr)."""
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except ArithmeticError:
        raise InvalidData("BAD_NUMBER", f"{what} {value!r} is not a number") from None
    if not number.is_finite():
        raise InvalidData("BAD_NUMBER", f"{what} {value!r} is not finite")
    return number


__all__ = [
    "CONTROL_TYPES",
    "DATA_FRAME_DECODER",
    "FRAME_DECODER",
    "FRAME_ENCODER",
    "MESSAGE_DECODER",
    "MESSAGE_TYPE_DECODER",
    "MINUTE_NS",
    "TRADE_UPDATE_DECODER",
    "TRADING_FRAME_DECODER",
    "UNUSED_TYPES",
    "MarketMessage",
    "WireAccount",
    "WireBar",
    "WireError",
    "WireOrder",
    "WirePosition",
    "WireQuote",
    "WireTrade",
    "WireTradeUpdate",
    "WireTradingFrame",
    "check_bar",
    "decimal_of",
    "timestamp_ns",
]
