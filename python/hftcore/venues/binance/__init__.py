"""Binance spot: synchronised depth, trades and book ticker (:class:`BinanceMarketData`),
order entry by signed REST with the user data stream (:class:`BinanceExecution`), and
:func:`attach_binance`, which connects both to a trading node in paper or live mode.

Needs the ``live`` extra (``websockets``, ``aiohttp``). See ``docs/venues-binance-kraken.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from hftcore.venues.binance.config import BinanceConfig
from hftcore.venues.binance.execution import BinanceExecution
from hftcore.venues.binance.market_data import BinanceMarketData, DepthSync
from hftcore.venues.binance.rest import BinanceRest, sign
from hftcore.venues.live import LiveAdapter, attach_adapter
from hftcore.venues.simulated import BookVenueConfig

if TYPE_CHECKING:
    from hftcore.node.kernel import TradingNode


def attach_binance(
    node: TradingNode,
    config: BinanceConfig,
    instrument_ids: Sequence[str],
    *,
    venue: str = "BINANCE",
    paper_venue: BookVenueConfig | None = None,
    environ: Mapping[str, str] | None = None,
) -> LiveAdapter:
    """Adds Binance to ``node`` for ``instrument_ids`` (configured in the node): the market
    data feed keeps the node's cache books; orders go to Binance (``config.mode == "live"``,
    keys from the environment variables the config names) or to a :class:`SimulatedBookVenue`
    replaying the live book (``"paper"``, configured by ``paper_venue``). Call ``start()`` on
    the result inside the event loop."""
    return attach_adapter(
        node,
        config.mode,
        instrument_ids,
        venue=venue,
        live_client=lambda listings: BinanceExecution(
            config, listings, environ=environ, venue=venue
        ),
        feed=lambda instruments, handler, books: BinanceMarketData(
            config, instruments, handler, books=books
        ),
        paper_venue=paper_venue,
    )


__all__ = [
    "BinanceConfig",
    "BinanceExecution",
    "BinanceMarketData",
    "BinanceRest",
    "DepthSync",
    "attach_binance",
    "sign",
]
