"""What every venue adapter needs to join a trading node, whatever its extra."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from hftcore._core import Instrument
from hftcore.errors import ConfigError

if TYPE_CHECKING:
    from hftcore.node.kernel import TradingNode

Mode = Literal["paper", "live"]
"""``paper``: market data from the venue, orders to a simulated venue fed by that data;
``live``: market data and orders at the venue."""


def node_listings(node: TradingNode, instrument_ids: Sequence[str]) -> dict[Instrument, str]:
    """``{instrument: quote currency}`` of ``instrument_ids`` as the node configures them
    (``ConfigError`` ``UNKNOWN_INSTRUMENT`` for one it does not)."""
    entries = {entry.instrument_id: entry.quote_currency for entry in node.config.instruments}
    missing = [iid for iid in instrument_ids if iid not in entries]
    if missing:
        raise ConfigError("UNKNOWN_INSTRUMENT", f"instruments not in the node config: {missing}")
    if not instrument_ids:
        raise ConfigError("INVALID_CONFIG", "a venue adapter needs at least one instrument")
    return {node.cache.instrument(iid): entries[iid] for iid in instrument_ids}


__all__ = ["Mode", "node_listings"]
