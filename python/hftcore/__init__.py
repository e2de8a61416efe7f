"""hftcore: a Rust order-book, matching and risk core under a typed Python face.

The compiled module is :mod:`hftcore._core`; this package re-exports its public classes with
the documented Python helpers around them.
"""

from __future__ import annotations

from hftcore import errors
from hftcore._core import Instrument, MatchingEngine, OrderEvent, WorkingOrder, __version__
from hftcore.model.orders import OrderType, PostOnly, SelfTradePrevention, TimeInForce

__all__ = [
    "Instrument",
    "MatchingEngine",
    "OrderEvent",
    "OrderType",
    "PostOnly",
    "SelfTradePrevention",
    "TimeInForce",
    "WorkingOrder",
    "__version__",
    "errors",
]
