"""hftcore: a Rust order-book, matching and risk core under a typed Python face.

The compiled module is :mod:`hftcore._core`; this package re-exports its public classes with
the documented Python helpers around them.
"""

from __future__ import annotations

from hftcore import errors
from hftcore._core import (
    Instrument,
    MatchingEngine,
    OrderEvent,
    RiskGate,
    WorkingOrder,
    __version__,
)
from hftcore.book import (
    L2_DELTA_DTYPE,
    L3_MESSAGE_DTYPE,
    OrderBookL2,
    OrderBookL3,
    ReplayResult,
    l2_deltas,
    l2_deltas_from_l3,
    l3_messages,
    synthetic_l3_messages,
)
from hftcore.model import (
    AccountLimits,
    BookAction,
    CircuitBreakerTrip,
    DeltaFlag,
    InstrumentLimits,
    OpenOrder,
    OrderType,
    PostOnly,
    RejectReason,
    RiskPosition,
    SelfTradePrevention,
    Side,
    ThrottleLimit,
    TimeInForce,
    TradingState,
)
from hftcore.simulated_venue import (
    TRADE_DTYPE,
    L2Stepper,
    LatencyModel,
    QueueModel,
    SimulatedVenue,
    VenueOrder,
    VenueReplayResult,
    l2_replay_from_l3,
    trade_prints,
)

__all__ = [
    "L2_DELTA_DTYPE",
    "L3_MESSAGE_DTYPE",
    "TRADE_DTYPE",
    "AccountLimits",
    "BookAction",
    "CircuitBreakerTrip",
    "DeltaFlag",
    "Instrument",
    "InstrumentLimits",
    "L2Stepper",
    "LatencyModel",
    "MatchingEngine",
    "OpenOrder",
    "OrderBookL2",
    "OrderBookL3",
    "OrderEvent",
    "OrderType",
    "PostOnly",
    "QueueModel",
    "RejectReason",
    "ReplayResult",
    "RiskGate",
    "RiskPosition",
    "SelfTradePrevention",
    "Side",
    "SimulatedVenue",
    "ThrottleLimit",
    "TimeInForce",
    "TradingState",
    "VenueOrder",
    "VenueReplayResult",
    "WorkingOrder",
    "__version__",
    "errors",
    "l2_deltas",
    "l2_deltas_from_l3",
    "l2_replay_from_l3",
    "l3_messages",
    "synthetic_l3_messages",
    "trade_prints",
]
