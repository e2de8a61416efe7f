"""Simulated venue for backtests.

``SimulatedVenue`` rests our orders in a book replayed from L2 or L3 market data, with queue
position (``QueueModel``), separate feed, order-entry and response latency (``LatencyModel``),
optional market impact, and the instrument's maker and taker fees. ``trade_prints`` builds the
``TRADE_DTYPE`` array of trade prints that L2 replays take beside the deltas;
``l2_replay_from_l3`` derives both from an L3 message stream. See ``docs/simulated-venue.md``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from hftcore._core import (
    TRADE_DTYPE,
    L2Stepper,
    LatencyModel,
    QueueModel,
    SimulatedVenue,
    VenueOrder,
    VenueReplayResult,
    l2_replay_from_l3,
)
from hftcore.book import Column, _fill
from hftcore.errors import InvalidData

__all__ = [
    "TRADE_DTYPE",
    "L2Stepper",
    "LatencyModel",
    "QueueModel",
    "SimulatedVenue",
    "VenueOrder",
    "VenueReplayResult",
    "l2_replay_from_l3",
    "trade_prints",
]


def trade_prints(
    aggressor_side: Column,
    price: Column,
    quantity: Column,
    *,
    ts_event: Column | None = None,
    ts_init: Column | None = None,
) -> npt.NDArray[np.void]:
    """A ``TRADE_DTYPE`` array from columns: prices in ticks, quantities in lots, the aggressor
    0 (a buyer lifted the ask) or 1 (a seller hit the bid)."""
    sides = np.asarray(aggressor_side)
    if sides.size and (sides.dtype.kind not in "iu" or sides.min() < 0 or sides.max() > 1):
        raise InvalidData("BAD_COLUMN", "column 'aggressor_side' must hold 0 (buy) or 1 (sell)")
    return _fill(
        TRADE_DTYPE,
        {"aggressor_side": aggressor_side, "price": price, "quantity": quantity},
        {"ts_event": ts_event, "ts_init": ts_init},
    )
