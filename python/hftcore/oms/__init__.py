"""The order management system: order state, contingent orders, emulation, throttling and
batching. Pure Python over the model events; see docs/oms.md."""

from __future__ import annotations

from hftcore.oms.actions import OmsActions
from hftcore.oms.batching import BatchLimits, VenueCall, batch_commands, venue_of
from hftcore.oms.contingency import ContingencyManager, OcoPolicy, make_bracket
from hftcore.oms.emulator import OrderEmulator, TriggerSource, released_spec, trailing_distance
from hftcore.oms.manager import DUPLICATE_CLIENT_ORDER_ID, OrderManager
from hftcore.oms.order import TRANSITIONS, Effect, Order, OrderStatus, modify_error, validate_spec
from hftcore.oms.throttle import Throttler

__all__ = [
    "DUPLICATE_CLIENT_ORDER_ID",
    "TRANSITIONS",
    "BatchLimits",
    "ContingencyManager",
    "Effect",
    "OcoPolicy",
    "OmsActions",
    "Order",
    "OrderEmulator",
    "OrderManager",
    "OrderStatus",
    "Throttler",
    "TriggerSource",
    "VenueCall",
    "batch_commands",
    "make_bracket",
    "modify_error",
    "released_spec",
    "trailing_distance",
    "validate_spec",
    "venue_of",
]
