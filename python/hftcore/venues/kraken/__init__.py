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
from hftcore.venues.kraken.market_data import KrakenBook, KrakenMarketData
from hftcore.venues.live import LiveAdapter, attach_adapter
from hftcore.venues.simulated import BookVenueConfig

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
    return attach_adapter(
        node,
        config.mode,
        instrument_ids,
        venue=venue,
        live_client=lambda listings: KrakenExecution(
            config, listings, environ=environ, venue=venue
        ),
        feed=lambda instruments, handler, books: KrakenMarketData(
            config, instruments, handler, books=books
        ),
        paper_venue=paper_venue,
    )


__all__ = [
    "KrakenBook",
    "KrakenConfig",
    "KrakenExecution",
    "KrakenMarketData",
    "api_sign",
    "attach_kraken",
]
