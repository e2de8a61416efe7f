"""Kraken WebSocket v2 wire messages as msgspec Structs. Prices and quantities are JSON numbers
on the wire; they are decoded exactly as sent, never through a float: as ``Decimal``, or, in
book levels (the hot path), kept as their JSON text, which is cheaper to decode and to look up
than a ``Decimal`` (see :class:`~hftcore.venues.live.WireNumbers`). One decode reads any
frame's header and leaves ``data`` / ``result`` raw until the channel or method says what they
are."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Final

import msgspec


class Message(msgspec.Struct, gc=False):
    """Any frame: a channel message (``channel``, ``type``, ``data``) or a method response
    (``method``, ``success``, ``result`` or ``error``, ``req_id``)."""

    channel: str = ""
    type: str = ""
    data: msgspec.Raw = msgspec.Raw(b"[]")
    method: str = ""
    success: bool = True
    result: msgspec.Raw = msgspec.Raw(b"null")
    error: str = ""
    req_id: int | None = None


class BookLevel(msgspec.Struct, gc=False):
    """JSON texts of a level's price and quantity (``bytes(level.price)``)."""

    price: msgspec.Raw
    qty: msgspec.Raw


class BookData(msgspec.Struct, gc=False):
    symbol: str
    bids: list[BookLevel]
    asks: list[BookLevel]
    checksum: int
    timestamp: datetime | None = None


class TradeData(msgspec.Struct, gc=False):
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    trade_id: int
    timestamp: datetime


class Fee(msgspec.Struct, gc=False):
    asset: str
    qty: Decimal


class ExecutionData(msgspec.Struct, gc=False):
    """One entry of the ``executions`` channel."""

    exec_type: str
    order_id: str
    timestamp: datetime
    cl_ord_id: str | None = None
    symbol: str | None = None
    order_status: str | None = None
    exec_id: str | None = None
    trade_id: int | None = None
    last_qty: Decimal | None = None
    last_price: Decimal | None = None
    liquidity_ind: str | None = None
    fees: list[Fee] = msgspec.field(default_factory=list)
    reason: str | None = None


class OrderResult(msgspec.Struct, gc=False):
    """``result`` of ``add_order`` / ``cancel_order``."""

    order_id: str = ""
    cl_ord_id: str | None = None


class TokenResult(msgspec.Struct, gc=False):
    token: str


class TokenResponse(msgspec.Struct, gc=False):
    """``POST /0/private/GetWebSocketsToken``."""

    error: list[str]
    result: TokenResult | None = None


MESSAGE: Final = msgspec.json.Decoder(Message)
BOOK_DATA: Final = msgspec.json.Decoder(list[BookData])
TRADE_DATA: Final = msgspec.json.Decoder(list[TradeData])
EXECUTION_DATA: Final = msgspec.json.Decoder(list[ExecutionData])
ORDER_RESULT: Final = msgspec.json.Decoder(OrderResult)
TOKEN_RESPONSE: Final = msgspec.json.Decoder(TokenResponse)
ENCODER: Final = msgspec.json.Encoder()
"""Requests (decimals are given as ``msgspec.Raw`` JSON numbers, written exactly)."""
