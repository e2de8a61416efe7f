"""Node configuration: one TOML file validated into msgspec Structs.

Every field has a type and, where it makes sense, a default; a wrong field is reported with its
path and the expected type (``ConfigError``, code ``INVALID_CONFIG``).
``HFTCORE_<SECTION>__<FIELD>`` environment variables override scalar fields
(``HFTCORE_NODE__MODE=paper``); secrets are read only from the environment, never from the file.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import msgspec

from hftcore._core import Instrument
from hftcore.errors import ConfigError
from hftcore.model.risk import AccountLimits, InstrumentLimits
from hftcore.model.risk_controls import RiskControlsConfig
from hftcore.node.heap import GcPolicy
from hftcore.venues.bars import BarVenueConfig
from hftcore.venues.simulated import BookVenueConfig

Mode = Literal["backtest", "paper", "live"]


class InstrumentConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An instrument's trading rules (see :class:`hftcore.Instrument`)."""

    instrument_id: str
    tick_size: str
    price_precision: int
    lot_size: str
    size_precision: int
    quote_currency: str = "USD"
    min_quantity: str | None = None
    max_quantity: str | None = None
    min_notional: str | None = None
    maker_fee: str = "0"
    taker_fee: str = "0"
    limits: InstrumentLimits | None = None

    def build(self) -> Instrument:
        return Instrument(
            self.instrument_id,
            self.tick_size,
            self.price_precision,
            self.lot_size,
            self.size_precision,
            min_quantity=self.min_quantity,
            max_quantity=self.max_quantity,
            min_notional=self.min_notional,
            maker_fee=self.maker_fee,
            taker_fee=self.taker_fee,
        )


class StrategyConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A strategy to load: ``path`` is ``package.module:Class`` or ``file.py:Class``."""

    strategy_id: str
    path: str
    params: dict[str, Any] = msgspec.field(default_factory=dict)
    on_error: Literal["stop", "stop_and_cancel", "stop_and_flatten"] = "stop_and_cancel"


class NodeSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    mode: Mode = "backtest"
    data_dir: str = "hftcore-data"
    base_currency: str = "USD"
    starting_balances: dict[str, str] = msgspec.field(default_factory=lambda: {"USD": "1000000"})
    gc: GcPolicy = "auto"
    """Garbage collection while the node runs (:mod:`hftcore.node.heap`): by default a paper
    or live node lets no collection start inside a strategy callback and freezes the heap it
    starts with; a backtest leaves CPython's collector as it is."""


ReplayDataType = Literal["bars", "quotes", "trades", "l2_deltas", "l3_messages"]


class BacktestSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``[backtest]``: what a backtest over the data catalog replays, and on which simulated
    venues (``docs/node.md``). Command-line options override these."""

    data_types: list[ReplayDataType] | None = None
    """Data types to replay; None: every type the catalog holds for the instruments."""
    bar_type: str = "1-DAY"
    start: str | None = None
    end: str | None = None
    venues: dict[str, Literal["bars", "book"]] = msgspec.field(default_factory=dict)
    """Per instrument id: fill on its bars (``BarVenue``) or on its book built from quotes,
    trades, L2 or L3 data (``SimulatedBookVenue``); default: book if it has such data."""
    bar_venue: BarVenueConfig = msgspec.field(default_factory=BarVenueConfig)
    book_venue: BookVenueConfig = msgspec.field(default_factory=BookVenueConfig)
    sample_interval_ns: int | None = None
    """Equity sampling step of local time; None: after every bar timestamp of a bar-only run,
    else every second."""
    periods_per_year: float | None = None
    """For annualised statistics; None: 252 for per-bar sampling, else a year of samples."""
    sort: bool = False
    """Sort stored rows that go back in time instead of failing on them."""


class NodeConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    node: NodeSection = msgspec.field(default_factory=NodeSection)
    instruments: list[InstrumentConfig] = msgspec.field(default_factory=list)
    strategies: list[StrategyConfig] = msgspec.field(default_factory=list)
    risk: AccountLimits = msgspec.field(default_factory=AccountLimits)
    risk_controls: RiskControlsConfig = msgspec.field(default_factory=RiskControlsConfig)
    backtest: BacktestSection = msgspec.field(default_factory=BacktestSection)


ENV_PREFIX = "HFTCORE_"


def _apply_environment(raw: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or "__" not in key:
            continue
        section, _, field = key[len(ENV_PREFIX) :].lower().partition("__")
        target = raw.setdefault(section, {})
        if not isinstance(target, dict):
            raise ConfigError("INVALID_CONFIG", f"{key}: section {section!r} is not a table")
        target[field] = value
    return raw


def parse_config(
    raw: Mapping[str, Any], environ: Mapping[str, str] | None = None, source: str = "<config>"
) -> NodeConfig:
    """Validates a mapping (as read from TOML) into a :class:`NodeConfig`; environment
    variables override. Errors name the field and the expected type."""
    merged = _apply_environment(dict(raw), os.environ if environ is None else environ)
    try:
        return msgspec.convert(merged, NodeConfig, strict=False)
    except msgspec.ValidationError as error:
        raise ConfigError("INVALID_CONFIG", f"{source}: {error}") from None


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> NodeConfig:
    """Reads and validates a TOML config file."""
    file = Path(path)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("CONFIG_NOT_FOUND", f"no config file at {file}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("INVALID_TOML", f"{file}: {error}") from None
    return parse_config(raw, environ, source=str(file))
