"""Model types: instruments, orders, events and enums."""

from __future__ import annotations

from hftcore.model.orders import OrderType, PostOnly, SelfTradePrevention, TimeInForce

__all__ = ["OrderType", "PostOnly", "SelfTradePrevention", "TimeInForce"]
