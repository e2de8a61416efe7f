"""Value types of hftcore: enums, instruments and risk types shared by every layer."""

from __future__ import annotations

from hftcore._core import Instrument
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
    "BookAction",
    "CircuitBreakerTrip",
    "DeltaFlag",
    "Instrument",
    "InstrumentLimits",
    "OpenOrder",
    "RejectReason",
    "RiskPosition",
    "Side",
    "ThrottleLimit",
    "TradingState",
]
