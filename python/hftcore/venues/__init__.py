"""Venue clients: the node's execution engine sends orders through a :class:`VenueClient` and
receives every venue happening as a model order event. Simulated venues for backtests and paper
trading: :class:`SimulatedBookVenue` (L2/L3 book replay), :class:`BarVenue` (bars) and
:class:`MatchingVenue` (the matching engine). See ``docs/venues.md``."""

from __future__ import annotations

from hftcore.venues.bars import BarVenue, BarVenueConfig
from hftcore.venues.base import (
    BookReplay,
    ClientOrder,
    EventSink,
    MarketDataKind,
    VenueCapabilities,
    VenueClient,
    check_order_spec,
)
from hftcore.venues.commission import (
    CommissionModel,
    FixedCommission,
    InstrumentFees,
    PercentCommission,
    PerLotCommission,
)
from hftcore.venues.simulated import (
    BookVenueConfig,
    ConstantLatency,
    LatencyConfig,
    LognormalLatency,
    MatchingVenue,
    NormalLatency,
    QueueModelConfig,
    SimulatedBookVenue,
    TableLatency,
    UniformLatency,
)

__all__ = [
    "BarVenue",
    "BarVenueConfig",
    "BookReplay",
    "BookVenueConfig",
    "ClientOrder",
    "CommissionModel",
    "ConstantLatency",
    "EventSink",
    "FixedCommission",
    "InstrumentFees",
    "LatencyConfig",
    "LognormalLatency",
    "MarketDataKind",
    "MatchingVenue",
    "NormalLatency",
    "PerLotCommission",
    "PercentCommission",
    "QueueModelConfig",
    "SimulatedBookVenue",
    "TableLatency",
    "UniformLatency",
    "VenueCapabilities",
    "VenueClient",
    "check_order_spec",
]
