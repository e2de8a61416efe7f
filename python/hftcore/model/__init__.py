"""Value types of hftcore: enums, instruments, market data and order events, risk types,
shared by every layer."""

from __future__ import annotations

from hftcore._core import Instrument
from hftcore.model.data import Bar, BookDelta, Quote, Trade
from hftcore.model.enums import BookAction, DeltaFlag, Side
from hftcore.model.orders import OrderType, PostOnly, SelfTradePrevention, TimeInForce
from hftcore.model.risk import (
    AccountLimits,
    CircuitBreakerTrip,
    InstrumentLimits,
    OpenOrder,
    RejectReason,
    RiskPosition,
    ThrottleLimit,
    TradingState,
)

__all__ = [
    "AccountLimits",
    "Bar",
    "BookAction",
    "BookDelta",
    "CircuitBreakerTrip",
    "DeltaFlag",
    "Instrument",
    "InstrumentLimits",
    "OpenOrder",
    "OrderType",
    "PostOnly",
    "Quote",
    "RejectReason",
    "RiskPosition",
    "SelfTradePrevention",
    "Side",
    "ThrottleLimit",
    "TimeInForce",
    "Trade",
    "TradingState",
]
