"""Alpaca (US stocks, ETFs, crypto) through alpaca-py: install the ``alpaca`` extra.

* :class:`AlpacaVenue`: the node's venue client: market, limit, stop, stop-limit and
  trailing-stop orders, replace and cancel, native brackets and OCO pairs, account, positions
  and orders; ``trade_updates`` mapped into model order events.
* :class:`AlpacaMarketData`: trades, quotes and minute bars into model events.
* :func:`download_bars` / :func:`import_bars`: historical bars into the Parquet data catalog.
* :func:`attach_alpaca`: both on a trading node, in paper or live mode.

Keys come from ``APCA_API_KEY_ID`` / ``APCA_API_SECRET_KEY`` only. See ``docs/venues-alpaca.md``.
"""

from __future__ import annotations

from hftcore.venues.alpaca.config import (
    KEY_ID_VARIABLE,
    SECRET_KEY_VARIABLE,
    AlpacaConfig,
    AlpacaCredentials,
    load_alpaca_config,
)
from hftcore.venues.alpaca.execution import (
    AlpacaAccount,
    AlpacaPosition,
    AlpacaStats,
    AlpacaVenue,
)
from hftcore.venues.alpaca.history import HistoricalBars, download_bars, import_bars
from hftcore.venues.alpaca.market_data import (
    BAR_TYPE,
    AlpacaMarketData,
    MarketDataHandler,
    MarketDataStats,
)
from hftcore.venues.alpaca.node import (
    AlpacaAdapter,
    AlpacaNodeFeed,
    AlpacaPaperVenue,
    attach_alpaca,
)

__all__ = [
    "BAR_TYPE",
    "KEY_ID_VARIABLE",
    "SECRET_KEY_VARIABLE",
    "AlpacaAccount",
    "AlpacaAdapter",
    "AlpacaConfig",
    "AlpacaCredentials",
    "AlpacaMarketData",
    "AlpacaNodeFeed",
    "AlpacaPaperVenue",
    "AlpacaPosition",
    "AlpacaStats",
    "AlpacaVenue",
    "HistoricalBars",
    "MarketDataHandler",
    "MarketDataStats",
    "attach_alpaca",
    "download_bars",
    "import_bars",
    "load_alpaca_config",
]
