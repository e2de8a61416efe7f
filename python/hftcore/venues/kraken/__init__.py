"""Kraken WebSocket v2: checksum-verified book and trades (:class:`KrakenMarketData`),
authenticated order entry (:class:`KrakenExecution`), and :func:`attach_kraken`, which
connects both to a trading node in paper or live mode.

Needs the ``live`` extra (``websockets``, ``aiohttp``). See ``docs/venues-binance-kraken.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from hftcore.venues.kraken.config import KrakenConfig
from hftcore.venues.kraken.execution import KrakenExecution, api_sign
from hftcore.venues.kraken.market_data import ChecksumText, KrakenBook, KrakenMarketData
from hftcore.venues.live import LiveAdapter, NodeMarketData, node_listings
from hftcore.venues.simulated import BookVenueConfig, SimulatedBookVenue

if TYPE_CHECKING:
    from hftcore.node.kernel import TradingNode


def attach_kraken(
    node: TradingNode,
    config: KrakenConfig,
    instrument_ids: Sequence[str],
    *,
    venue: str = "KRAKEN",
    paper_venue: BookVenueConfig | None = None,
    environ: Mapping[str, str] | None = None,
) -> LiveAdapter:
    """Adds Kraken to ``node`` for ``instrument_ids`` (configured in the node): the market
    data feed keeps the node's cache books; orders go to Kraken (``config.mode == "live"``,
    keys from the environment variables the config names) or to a :class:`SimulatedBookVenue`
    replaying the live book (``"paper"``). Call ``start()`` on the result in the event loop."""
    listings = node_listings(node, instrument_ids)
    client: KrakenExecution | SimulatedBookVenue
    if config.mode == "live":
        client = KrakenExecution(config, listings, environ=environ, venue=venue)
        handler = NodeMarketData(node)
    else:
        client = SimulatedBookVenue(venue, listings, paper_venue)
        handler = NodeMarketData(node, paper_venue=client)
    node.add_venue(venue, client)
    feed = KrakenMarketData(
        config,
        list(listings),
        handler,
        books={iid: node.cache.book(iid) for iid in instrument_ids},
    )
    return LiveAdapter(config.mode, feed, handler, client)


__all__ = [
    "ChecksumText",
    "KrakenBook",
    "KrakenConfig",
    "KrakenExecution",
    "KrakenMarketData",
    "api_sign",
    "attach_kraken",
]
