"""The one place that imports ``alpaca-py`` (the ``alpaca`` extra).

alpaca-py's WebSocket clients import ``websockets.legacy``, which warns on import since
websockets 14; that warning is about alpaca-py's code, not ours, so it is silenced here only.
"""

from __future__ import annotations

import warnings

from hftcore.errors import ConfigError

try:
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="websockets.legacy is deprecated", category=DeprecationWarning
        )
        from alpaca.common.enums import Sort
        from alpaca.common.exceptions import APIError
        from alpaca.data.enums import DataFeed
        from alpaca.data.historical.crypto import CryptoHistoricalDataClient
        from alpaca.data.historical.stock import StockHistoricalDataClient
        from alpaca.data.live.crypto import CryptoDataStream
        from alpaca.data.live.stock import StockDataStream
        from alpaca.data.live.websocket import DataStream
        from alpaca.data.requests import CryptoBarsRequest, StockBarsRequest
        from alpaca.data.timeframe import TimeFrame, TimeFrameUnit
        from alpaca.trading.client import TradingClient
        from alpaca.trading.enums import (
            OrderClass,
            OrderSide,
            OrderType,
            QueryOrderStatus,
            TimeInForce,
        )
        from alpaca.trading.requests import (
            GetOrdersRequest,
            LimitOrderRequest,
            MarketOrderRequest,
            OrderRequest,
            ReplaceOrderRequest,
            StopLimitOrderRequest,
            StopLossRequest,
            StopOrderRequest,
            TakeProfitRequest,
            TrailingStopOrderRequest,
        )
        from alpaca.trading.stream import TradingStream
except ImportError as error:
    raise ConfigError(
        "MISSING_DEPENDENCY",
        f"hftcore.venues.alpaca needs alpaca-py: pip install 'hftcore[alpaca]' ({error})",
    ) from error

__all__ = [
    "APIError",
    "CryptoBarsRequest",
    "CryptoDataStream",
    "CryptoHistoricalDataClient",
    "DataFeed",
    "DataStream",
    "GetOrdersRequest",
    "LimitOrderRequest",
    "MarketOrderRequest",
    "OrderClass",
    "OrderRequest",
    "OrderSide",
    "OrderType",
    "QueryOrderStatus",
    "ReplaceOrderRequest",
    "Sort",
    "StockBarsRequest",
    "StockDataStream",
    "StockHistoricalDataClient",
    "StopLimitOrderRequest",
    "StopLossRequest",
    "StopOrderRequest",
    "TakeProfitRequest",
    "TimeFrame",
    "TimeFrameUnit",
    "TimeInForce",
    "TradingClient",
    "TradingStream",
    "TrailingStopOrderRequest",
]
