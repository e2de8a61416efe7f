"""Alpaca configuration: a msgspec Struct for the non-secret settings, keys from the
environment only (``APCA_API_KEY_ID`` / ``APCA_API_SECRET_KEY``, the names Alpaca's own tools
use)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from hftcore.errors import ConfigError

KEY_ID_VARIABLE = "APCA_API_KEY_ID"
SECRET_KEY_VARIABLE = "APCA_API_SECRET_KEY"


class AlpacaConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Settings of one Alpaca account.

    ``paper`` picks Alpaca's paper or live trading endpoints. The ``*_url`` fields override
    an endpoint (a proxy, or a local test server); left out, alpaca-py's defaults for the mode
    apply. ``asset_class`` picks the market data stream and history (``"stock"``: the
    ``feed``, IEX or SIP; ``"crypto"``). ``symbols`` maps an instrument id to its Alpaca symbol
    where the two differ (``"BTCUSD.ALPACA" = "BTC/USD"``); otherwise the symbol is the
    instrument id without its ``.VENUE`` suffix. ``reconnect_min_backoff_s`` is the first
    delay before a stream reconnects (then doubled per failure with jitter, up to 30 s).
    ``rest_timeout_s`` bounds each REST call (connect and each read), which alpaca-py leaves
    unbounded."""

    paper: bool = True
    asset_class: Literal["stock", "crypto"] = "stock"
    feed: Literal["iex", "sip"] = "iex"
    trading_url: str | None = None
    trading_stream_url: str | None = None
    data_url: str | None = None
    data_stream_url: str | None = None
    symbols: dict[str, str] = msgspec.field(default_factory=dict)
    reconnect_min_backoff_s: float = 1.0
    rest_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        for name, schemes in (
            ("trading_url", ("http://", "https://")),
            ("data_url", ("http://", "https://")),
            ("trading_stream_url", ("ws://", "wss://")),
            ("data_stream_url", ("ws://", "wss://")),
        ):
            url = getattr(self, name)
            if url is not None and not url.startswith(schemes):
                raise ConfigError(
                    "INVALID_CONFIG",
                    f"alpaca.{name}: {url!r} must start with {' or '.join(schemes)}",
                )
        if not 0 < self.reconnect_min_backoff_s <= 30:
            raise ConfigError(
                "INVALID_CONFIG",
                "alpaca.reconnect_min_backoff_s must be in (0, 30], got "
                f"{self.reconnect_min_backoff_s}",
            )
        if not 0 < self.rest_timeout_s <= 300:
            raise ConfigError(
                "INVALID_CONFIG",
                f"alpaca.rest_timeout_s must be in (0, 300], got {self.rest_timeout_s}",
            )
        for instrument_id, symbol in self.symbols.items():
            if not instrument_id or not symbol:
                raise ConfigError(
                    "INVALID_CONFIG", f"alpaca.symbols: empty entry {instrument_id!r} = {symbol!r}"
                )

    def symbol_of(self, instrument_id: str) -> str:
        """The Alpaca symbol of an instrument."""
        return self.symbols.get(instrument_id) or instrument_id.rpartition(".")[0] or instrument_id


def bound_rest_calls(client: Any, timeout_s: float) -> None:
    """Gives every request of an alpaca-py REST client a timeout (it sets none, so a silent
    server would hold the caller forever). alpaca-py sends through ``client._session``, a
    ``requests.Session``."""
    session = client._session
    send = session.request

    def request(method: str, url: str, **options: Any) -> Any:
        options.setdefault("timeout", timeout_s)
        return send(method, url, **options)

    session.request = request


def load_alpaca_config(section: Mapping[str, Any]) -> AlpacaConfig:
    """An :class:`AlpacaConfig` from a parsed TOML/JSON table; a bad field raises
    ``ConfigError`` naming it."""
    try:
        return msgspec.convert(section, AlpacaConfig)
    except msgspec.ValidationError as error:
        raise ConfigError("INVALID_CONFIG", f"alpaca: {error}") from None


@dataclass(frozen=True, slots=True)
class AlpacaCredentials:
    """An API key pair. Read it with :meth:`from_environment`; never put keys in a config."""

    key_id: str
    secret_key: str

    def __repr__(self) -> str:
        return f"AlpacaCredentials(key_id={self.key_id[:4]}..., secret_key=***)"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> AlpacaCredentials:
        """Keys from ``APCA_API_KEY_ID`` and ``APCA_API_SECRET_KEY``; a missing or empty one
        raises ``ConfigError`` (``MISSING_CREDENTIALS``) naming the variable."""
        source = os.environ if environ is None else environ
        values = []
        for variable in (KEY_ID_VARIABLE, SECRET_KEY_VARIABLE):
            value = source.get(variable, "")
            if not value:
                raise ConfigError(
                    "MISSING_CREDENTIALS", f"set the environment variable {variable} (Alpaca keys)"
                )
            values.append(value)
        return cls(values[0], values[1])


__all__ = [
    "KEY_ID_VARIABLE",
    "SECRET_KEY_VARIABLE",
    "AlpacaConfig",
    "AlpacaCredentials",
    "bound_rest_calls",
    "load_alpaca_config",
]
