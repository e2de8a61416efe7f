"""Value types of hftcore: enums, instruments, market data events and risk types shared by
every layer."""

from __future__ import annotations

from hftcore._core import Instrument
from hftcore.model.data import Bar, BookDelta, Quote, Trade
from hftcore.model.enums import BookAction, DeltaFlag, Side
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
    "Quote",
    "RejectReason",
    "RiskPosition",
    "Side",
    "ThrottleLimit",
    "Trade",
    "TradingState",
]
