"""Market data events: immutable msgspec Structs carrying integer ticks and lots.

Prices are ticks and sizes lots of the instrument named by ``instrument_id`` (``SYMBOL.VENUE``);
convert with the instrument (``Instrument.price_to_ticks`` / ``ticks_to_str``) at the edges.
Timestamps are integer nanoseconds since the Unix epoch, UTC: ``ts_event`` when it happened at
the source, ``ts_init`` when we saw it.
"""

from __future__ import annotations

import msgspec


class Quote(msgspec.Struct, frozen=True, gc=False):
    """Top of book."""

    instrument_id: str
    bid_price: int
    bid_size: int
    ask_price: int
    ask_size: int
    ts_event: int
    ts_init: int


class Trade(msgspec.Struct, frozen=True, gc=False):
    """A print; ``aggressor_side`` is 0 (buyer took the offer), 1 (seller hit the bid) or -1
    (unknown)."""

    instrument_id: str
    price: int
    size: int
    aggressor_side: int
    trade_id: str
    ts_event: int
    ts_init: int


class Bar(msgspec.Struct, frozen=True, gc=False):
    """An OHLCV bar. ``bar_type`` names its aggregation, e.g. ``"1-DAY"``, ``"5-MINUTE"``,
    ``"100-TICK"``, ``"10000-VOLUME"``; ``ts_event`` is the bar's close time."""

    instrument_id: str
    bar_type: str
    open: int
    high: int
    low: int
    close: int
    volume: int
    ts_event: int
    ts_init: int


class BookDelta(msgspec.Struct, frozen=True, gc=False):
    """One L2 update (set the quantity at a price; 0 removes the level). Bulk replay uses
    ``L2_DELTA_DTYPE`` arrays instead of these."""

    instrument_id: str
    side: int
    price: int
    quantity: int
    sequence: int
    ts_event: int
    ts_init: int
