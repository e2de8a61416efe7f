"""Order enums shared by the matching engine, the simulated venue and the OMS.

Each is an ``IntEnum`` whose values are the compiled core's codes, so members can be passed
straight to :class:`hftcore.MatchingEngine` (and compare equal to the ints it returns).
"""

from __future__ import annotations

from enum import IntEnum


class OrderType(IntEnum):
    """How an order is priced and when it becomes active."""

    MARKET = 0
    LIMIT = 1
    STOP = 2
    """Becomes a market order when the last trade reaches the trigger price."""
    STOP_LIMIT = 3
    """Becomes a limit order when the last trade reaches the trigger price."""
    MARKET_TO_LIMIT = 4
    """Trades as a market order; the remainder rests as a limit at the first fill's price."""


class TimeInForce(IntEnum):
    """How long an order stays working."""

    GTC = 0
    """Good till canceled."""
    IOC = 1
    """Immediate or cancel: the unfilled remainder is canceled."""
    FOK = 2
    """Fill or kill: fills completely at once or not at all."""
    DAY = 3
    """Expires when the session ends (``MatchingEngine.end_session``)."""
    GTD = 4
    """Good till the order's ``expire_ts`` (``MatchingEngine.advance_time``)."""


class SelfTradePrevention(IntEnum):
    """What the incoming order does when it would trade with its owner's resting order."""

    NONE = 0
    CANCEL_NEWEST = 1
    """The incoming order's remainder is canceled."""
    CANCEL_OLDEST = 2
    """The resting order is canceled and matching goes on."""
    CANCEL_BOTH = 3
    DECREMENT = 4
    """Both shrink by the smaller quantity without a trade; one reaching zero is canceled."""


class PostOnly(IntEnum):
    """What a post-only order does if its price would take liquidity."""

    NONE = 0
    REJECT = 1
    """Refuse the order (``POST_ONLY_WOULD_CROSS``)."""
    SLIDE = 2
    """Reprice it one tick behind the opposite best."""


__all__ = ["OrderType", "PostOnly", "SelfTradePrevention", "TimeInForce"]
