"""Binance spot wire messages as msgspec Structs: decoded straight from the frame bytes, no
dict walking. Field names are Binance's (single letters) mapped to readable attribute names;
fields we do not use are ignored, so additions on Binance's side do not break decoding.

Depth updates, the feed's hot path, are not here: the core decodes them straight into ticks and
lots (``hftcore._core.decode_binance_depth``), with no Python object per level."""

from __future__ import annotations

from typing import Final

import msgspec


class StreamName(msgspec.Struct, gc=False):
    """The stream of a combined-stream frame ``{"stream": "btcusdt@trade", "data": {...}}``
    (``data`` skipped), when it cannot be read off the frame's first bytes."""

    stream: str


class DepthSnapshot(msgspec.Struct, gc=False):
    """``GET /api/v3/depth``."""

    last_update_id: int = msgspec.field(name="lastUpdateId")
    bids: list[tuple[str, str]]
    asks: list[tuple[str, str]]


class TradeEvent(msgspec.Struct, gc=False):
    """``<symbol>@trade``; ``buyer_is_maker`` means the seller was the aggressor."""

    event_time: int = msgspec.field(name="E")
    symbol: str = msgspec.field(name="s")
    trade_id: int = msgspec.field(name="t")
    price: str = msgspec.field(name="p")
    quantity: str = msgspec.field(name="q")
    trade_time: int = msgspec.field(name="T")
    buyer_is_maker: bool = msgspec.field(name="m")


class BookTicker(msgspec.Struct, gc=False):
    """``<symbol>@bookTicker``: best bid and ask (spot carries no event time)."""

    update_id: int = msgspec.field(name="u")
    symbol: str = msgspec.field(name="s")
    bid_price: str = msgspec.field(name="b")
    bid_quantity: str = msgspec.field(name="B")
    ask_price: str = msgspec.field(name="a")
    ask_quantity: str = msgspec.field(name="A")


class TradeFrame(msgspec.Struct, gc=False):
    data: TradeEvent


class BookTickerFrame(msgspec.Struct, gc=False):
    data: BookTicker


class ExecutionReport(msgspec.Struct, tag="executionReport", tag_field="e", gc=False):
    """User data stream: one change of one of our orders."""

    event_time: int = msgspec.field(name="E")
    symbol: str = msgspec.field(name="s")
    client_order_id: str = msgspec.field(name="c")
    side: str = msgspec.field(name="S")
    order_type: str = msgspec.field(name="o")
    time_in_force: str = msgspec.field(name="f")
    execution_type: str = msgspec.field(name="x")
    order_status: str = msgspec.field(name="X")
    reject_reason: str = msgspec.field(name="r")
    order_id: int = msgspec.field(name="i")
    last_quantity: str = msgspec.field(name="l")
    cumulative_quantity: str = msgspec.field(name="z")
    last_price: str = msgspec.field(name="L")
    commission: str = msgspec.field(name="n")
    commission_asset: str | None = msgspec.field(name="N")
    transaction_time: int = msgspec.field(name="T")
    trade_id: int = msgspec.field(name="t")
    is_maker: bool = msgspec.field(name="m")
    original_client_order_id: str = msgspec.field(name="C", default="")


class AccountPosition(msgspec.Struct, tag="outboundAccountPosition", tag_field="e", gc=False):
    event_time: int = msgspec.field(name="E")


class BalanceUpdate(msgspec.Struct, tag="balanceUpdate", tag_field="e", gc=False):
    event_time: int = msgspec.field(name="E")


class ListenKeyExpired(msgspec.Struct, tag="listenKeyExpired", tag_field="e", gc=False):
    event_time: int = msgspec.field(name="E")


UserEvent = ExecutionReport | AccountPosition | BalanceUpdate | ListenKeyExpired


class OrderAck(msgspec.Struct, gc=False):
    """``POST /api/v3/order`` with ``newOrderRespType=ACK``."""

    symbol: str
    order_id: int = msgspec.field(name="orderId")
    client_order_id: str = msgspec.field(name="clientOrderId")


class OrderStatusReport(msgspec.Struct, gc=False):
    """``GET /api/v3/order`` and ``DELETE /api/v3/order``."""

    symbol: str
    order_id: int = msgspec.field(name="orderId")
    client_order_id: str = msgspec.field(name="clientOrderId")
    price: str
    orig_quantity: str = msgspec.field(name="origQty")
    executed_quantity: str = msgspec.field(name="executedQty")
    status: str
    time_in_force: str = msgspec.field(name="timeInForce")
    order_type: str = msgspec.field(name="type")
    side: str


class AccountTrade(msgspec.Struct, gc=False):
    """One entry of ``GET /api/v3/myTrades``."""

    symbol: str
    trade_id: int = msgspec.field(name="id")
    order_id: int = msgspec.field(name="orderId")
    price: str
    quantity: str = msgspec.field(name="qty")
    commission: str
    commission_asset: str = msgspec.field(name="commissionAsset")
    time: int
    is_maker: bool = msgspec.field(name="isMaker")


class ListenKey(msgspec.Struct, gc=False):
    listen_key: str = msgspec.field(name="listenKey")


class ServerTime(msgspec.Struct, gc=False):
    """``GET /api/v3/time``."""

    server_time: int = msgspec.field(name="serverTime")


class ErrorBody(msgspec.Struct, gc=False):
    """Binance's error answer: ``{"code": -2010, "msg": "..."}``."""

    code: int
    msg: str


STREAM_NAME: Final = msgspec.json.Decoder(StreamName)
TRADE_FRAME: Final = msgspec.json.Decoder(TradeFrame)
BOOK_TICKER_FRAME: Final = msgspec.json.Decoder(BookTickerFrame)
DEPTH_SNAPSHOT: Final = msgspec.json.Decoder(DepthSnapshot)
USER_EVENT: Final = msgspec.json.Decoder(UserEvent)
ORDER_ACK: Final = msgspec.json.Decoder(OrderAck)
ORDER_STATUS: Final = msgspec.json.Decoder(OrderStatusReport)
LISTEN_KEY: Final = msgspec.json.Decoder(ListenKey)
ACCOUNT_TRADES: Final = msgspec.json.Decoder(list[AccountTrade])
ERROR_BODY: Final = msgspec.json.Decoder(ErrorBody)
SERVER_TIME: Final = msgspec.json.Decoder(ServerTime)
