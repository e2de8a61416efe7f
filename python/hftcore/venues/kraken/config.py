"""Kraken adapter configuration (a msgspec Struct, decodable from TOML or JSON). Keys and
secrets never appear here: only the names of the environment variables holding them."""

from __future__ import annotations

from typing import Literal

import msgspec

from hftcore.errors import ConfigError
from hftcore.venues.live import Mode, RateLimit, ReconnectPolicy


class KrakenConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``symbols`` maps instrument ids to Kraken v2 symbols; an instrument not listed uses the
    part of its id before the last ``.`` (``BTC/USD.KRAKEN`` -> ``BTC/USD``). Each
    instrument's price and size precision must be the pair's ``price_precision`` and
    ``qty_precision`` (the checksum is computed from them).

    ``messages`` limits what we send on each connection (subscriptions, pings, orders);
    ``orders`` the order requests alone. A resubscription after a checksum mismatch waits for
    its token like any other message."""

    mode: Mode = "paper"
    symbols: dict[str, str] = msgspec.field(default_factory=dict)
    ws_url: str = "wss://ws.kraken.com/v2"
    ws_auth_url: str = "wss://ws-auth.kraken.com/v2"
    rest_url: str = "https://api.kraken.com"
    depth: Literal[10, 25, 100, 500, 1000] = 10
    trades: bool = True
    reconnect: ReconnectPolicy = msgspec.field(default_factory=ReconnectPolicy)
    ping_interval_s: float | None = 20.0
    ping_timeout_s: float | None = 20.0
    app_ping_interval_s: float = 15.0
    """Kraken's own ``{"method": "ping"}``; a missing ``pong`` by the next one reconnects."""
    idle_timeout_s: float | None = 10.0
    """Kraken sends a heartbeat every second once subscribed: this much silence reconnects."""
    messages: RateLimit = msgspec.field(default_factory=lambda: RateLimit(rate=5.0, burst=20.0))
    orders: RateLimit = msgspec.field(default_factory=lambda: RateLimit(rate=2.0, burst=10.0))
    api_key_env: str = "KRAKEN_API_KEY"
    api_secret_env: str = "KRAKEN_API_SECRET"

    def __post_init__(self) -> None:
        if self.app_ping_interval_s <= 0:
            raise ConfigError("INVALID_CONFIG", "app_ping_interval_s must be > 0")

    def symbol(self, instrument_id: str) -> str:
        return self.symbols.get(instrument_id) or instrument_id.rpartition(".")[0] or instrument_id
