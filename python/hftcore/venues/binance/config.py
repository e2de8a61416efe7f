"""Binance spot adapter configuration (a msgspec Struct, decodable from TOML or JSON). Keys
and secrets never appear here: only the names of the environment variables holding them."""

from __future__ import annotations

from typing import Literal

import msgspec

from hftcore.errors import ConfigError
from hftcore.venues.live import Mode, RateLimit, ReconnectPolicy

SNAPSHOT_LIMITS = (5, 10, 20, 50, 100, 500, 1000, 5000)


def snapshot_weight(limit: int) -> int:
    """Request weight of ``GET /api/v3/depth`` with ``limit`` levels, as Binance documents it."""
    if limit <= 100:
        return 5
    if limit <= 500:
        return 25
    if limit <= 1000:
        return 50
    return 250


class BinanceConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``symbols`` maps instrument ids to Binance symbols; an instrument not listed uses the
    part of its id before the last ``.`` (``BTCUSDT.BINANCE`` -> ``BTCUSDT``).

    The default limits stay well inside Binance's (6,000 request weight a minute; 50 orders in
    10 s): ``request_weight`` 20 a second with bursts of 1,200, ``orders`` 5 a second with
    bursts of 50."""

    mode: Mode = "paper"
    symbols: dict[str, str] = msgspec.field(default_factory=dict)
    ws_url: str = "wss://stream.binance.com:9443"
    rest_url: str = "https://api.binance.com"
    depth_interval_ms: Literal[100, 1000] = 100
    snapshot_limit: int = 1000
    trades: bool = True
    book_ticker: bool = True
    max_buffered_updates: int = 10_000
    snapshot_retry_delay_s: float = 0.25
    reconnect: ReconnectPolicy = msgspec.field(default_factory=ReconnectPolicy)
    ping_interval_s: float | None = 20.0
    ping_timeout_s: float | None = 20.0
    idle_timeout_s: float | None = 60.0
    request_weight: RateLimit = msgspec.field(
        default_factory=lambda: RateLimit(rate=20.0, burst=1200.0)
    )
    orders: RateLimit = msgspec.field(default_factory=lambda: RateLimit(rate=5.0, burst=50.0))
    recv_window_ms: int = 5000
    listen_key_keepalive_s: float = 1800.0
    api_key_env: str = "BINANCE_API_KEY"
    api_secret_env: str = "BINANCE_API_SECRET"

    def __post_init__(self) -> None:
        if self.snapshot_limit not in SNAPSHOT_LIMITS:
            raise ConfigError("INVALID_CONFIG", f"snapshot_limit must be one of {SNAPSHOT_LIMITS}")
        if self.max_buffered_updates < 1:
            raise ConfigError("INVALID_CONFIG", "max_buffered_updates must be >= 1")
        if not 1 <= self.recv_window_ms <= 60_000:
            raise ConfigError("INVALID_CONFIG", "recv_window_ms must be in [1, 60000]")

    def symbol(self, instrument_id: str) -> str:
        return self.symbols.get(instrument_id) or instrument_id.rpartition(".")[0] or instrument_id
