"""Node configuration: one TOML file validated into msgspec Structs.

Every field has a type and, where it makes sense, a default; a wrong field is reported with its
path and the expected type (``ConfigError``, code ``INVALID_CONFIG``).
``HFTCORE_<SECTION>__<FIELD>`` environment variables override scalar fields
(``HFTCORE_NODE__MODE=paper``); secrets are read only from the environment, never from the file
(a ``[[venues]]`` table holding something that looks like a key is refused,
``SECRET_IN_CONFIG``).
"""

from __future__ import annotations

import importlib
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

import msgspec

from hftcore._core import Instrument
from hftcore.errors import ConfigError
from hftcore.model.risk import AccountLimits, InstrumentLimits
from hftcore.model.risk_controls import RiskControlsConfig
from hftcore.node.heap import GcPolicy
from hftcore.venues.bars import BarVenueConfig
from hftcore.venues.simulated import BookVenueConfig

if TYPE_CHECKING:
    from hftcore.venues.alpaca.config import AlpacaConfig
    from hftcore.venues.binance.config import BinanceConfig
    from hftcore.venues.fix.config import FixSessionConfig
    from hftcore.venues.kraken.config import KrakenConfig

    AdapterSettings: TypeAlias = AlpacaConfig | BinanceConfig | KrakenConfig | FixSessionConfig

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


VenueAdapter = Literal["alpaca", "binance", "kraken", "fix"]


@dataclass(frozen=True, slots=True)
class _Adapter:
    """What the config needs to know of a venue adapter; its code is imported only when a
    config names it, so a config without ``[[venues]]`` needs no extra."""

    module: str
    settings_type: str
    extra: str | None
    market_data: bool
    keys: str
    """Where the adapter's keys come from: the end of the error refusing a key in the file."""
    mode_in_settings: bool = False
    """The settings Struct has a ``mode`` of its own, which ``node.mode`` sets."""


_ADAPTERS: dict[str, _Adapter] = {
    "alpaca": _Adapter(
        "hftcore.venues.alpaca.config",
        "AlpacaConfig",
        "alpaca",
        market_data=True,
        keys="Alpaca keys come from the environment variables APCA_API_KEY_ID and "
        "APCA_API_SECRET_KEY",
    ),
    "binance": _Adapter(
        "hftcore.venues.binance.config",
        "BinanceConfig",
        "live",
        market_data=True,
        keys="Binance keys come from the environment variables named by settings.api_key_env "
        "and settings.api_secret_env (default BINANCE_API_KEY, BINANCE_API_SECRET)",
        mode_in_settings=True,
    ),
    "kraken": _Adapter(
        "hftcore.venues.kraken.config",
        "KrakenConfig",
        "live",
        market_data=True,
        keys="Kraken keys come from the environment variables named by settings.api_key_env "
        "and settings.api_secret_env (default KRAKEN_API_KEY, KRAKEN_API_SECRET)",
        mode_in_settings=True,
    ),
    "fix": _Adapter(
        "hftcore.venues.fix.config",
        "FixSessionConfig",
        None,
        market_data=False,
        keys="a FIX session is identified by its CompIDs and takes no password",
    ),
}

_SECRET_WORDS = ("key", "secret", "password", "passphrase", "token")


class VenueConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A ``[[venues]]`` table: one venue adapter that ``hftcore live`` connects
    (``docs/venues.md``). ``instruments`` (ids of ``[[instruments]]``) are traded at it and, if
    it carries market data, fed by it; ``feed_only`` instruments are fed by it and traded
    elsewhere (or nowhere: data a strategy only watches). ``name`` is the venue's name in the
    node (default: the adapter's name in capitals). ``settings`` is the adapter's own
    configuration (``AlpacaConfig``, ``BinanceConfig``, ``KrakenConfig``,
    ``FixSessionConfig``), validated by :func:`parse_config` and returned typed by
    :meth:`adapter_settings`; keys are never in it. ``paper_venue`` configures the simulated
    venue that fills orders in paper mode."""

    adapter: VenueAdapter
    instruments: list[str] = msgspec.field(default_factory=list)
    feed_only: list[str] = msgspec.field(default_factory=list)
    name: str | None = None
    settings: dict[str, Any] = msgspec.field(default_factory=dict)
    paper_venue: BookVenueConfig = msgspec.field(default_factory=BookVenueConfig)

    @property
    def venue(self) -> str:
        return self.name if self.name is not None else self.adapter.upper()

    @property
    def has_market_data(self) -> bool:
        return _ADAPTERS[self.adapter].market_data

    def adapter_settings(self) -> AdapterSettings:
        """``settings`` as the adapter's config Struct (``ConfigError`` naming a bad field)."""
        settings: AdapterSettings = _convert_settings(self.adapter, self.settings, "settings")
        return settings


def _settings_type(adapter: str, path: str) -> type[msgspec.Struct]:
    spec = _ADAPTERS[adapter]
    try:
        module = importlib.import_module(spec.module)
    except ImportError as missing:
        raise ConfigError(
            "MISSING_EXTRA",
            f"{path}: the {adapter} adapter needs the {spec.extra!r} extra: "
            f"pip install 'hftcore[{spec.extra}]' ({missing})",
        ) from None
    settings_type: type[msgspec.Struct] = getattr(module, spec.settings_type)
    return settings_type


def _convert_settings(adapter: str, raw: Mapping[str, Any], path: str) -> Any:
    settings_type = _settings_type(adapter, path)
    try:
        return msgspec.convert(raw, settings_type, strict=False)
    except msgspec.ValidationError as error:
        # A check in the Struct's __post_init__ arrives as "CODE: sentence".
        text = re.sub(r"^[A-Z_]+: ", "", str(error))
        where = f"`$.{path}"
        located = text.replace("`$", where, 1) if " - at `$" in text else f"{text} - at {where}`"
        raise ConfigError("INVALID_CONFIG", located) from None


class LiveSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``[live]``: how ``hftcore live`` runs the node (``docs/venues.md``)."""

    tick_interval_s: Annotated[float, msgspec.Meta(gt=0)] = 0.1
    """How often a paper venue's time moves when no market data does: orders sent to it
    arrive and its latencies elapse in a quiet market."""
    connect_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    """How long strategies wait for every venue to take orders before they start anyway."""
    stop_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    """On shutdown, how long the commands still queued for a venue may take to go out."""


class NodeConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    node: NodeSection = msgspec.field(default_factory=NodeSection)
    instruments: list[InstrumentConfig] = msgspec.field(default_factory=list)
    strategies: list[StrategyConfig] = msgspec.field(default_factory=list)
    risk: AccountLimits = msgspec.field(default_factory=AccountLimits)
    risk_controls: RiskControlsConfig = msgspec.field(default_factory=RiskControlsConfig)
    backtest: BacktestSection = msgspec.field(default_factory=BacktestSection)
    venues: list[VenueConfig] = msgspec.field(default_factory=list)
    live: LiveSection = msgspec.field(default_factory=LiveSection)


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
        _refuse_unknown_adapters_and_secrets(merged.get("venues"))
        config = msgspec.convert(merged, NodeConfig, strict=False)
        _check_venues(config)
    except msgspec.ValidationError as error:
        raise ConfigError("INVALID_CONFIG", f"{source}: {error}") from None
    except ConfigError as error:
        raise ConfigError(error.code, f"{source}: {error.message}") from None
    return config


def _looks_secret(field: str) -> bool:
    lowered = field.lower()
    return not lowered.endswith("_env") and any(word in lowered for word in _SECRET_WORDS)


def _refuse_unknown_adapters_and_secrets(venues: object) -> None:
    """Before the tables are typed (which would call a key only an unknown field): an
    unknown adapter, and any unknown field of a venue table or its settings that looks like a
    key or secret, are refused by name."""
    if not isinstance(venues, Sequence) or isinstance(venues, str):
        return
    entry_fields = set(VenueConfig.__struct_fields__)
    for index, entry in enumerate(venues):
        if not isinstance(entry, Mapping):
            continue
        path = f"venues[{index}]"
        adapter = entry.get("adapter")
        if isinstance(adapter, str) and adapter not in _ADAPTERS:
            raise ConfigError(
                "UNKNOWN_ADAPTER",
                f"{path}.adapter: unknown adapter {adapter!r}; expected one of "
                f"{', '.join(_ADAPTERS)}",
            )
        settings = entry.get("settings")
        fields = [(f"{path}.{key}", key) for key in entry if key not in entry_fields]
        if isinstance(adapter, str) and isinstance(settings, Mapping):
            settings_fields = set(_settings_type(adapter, f"{path}.settings").__struct_fields__)
            fields += [
                (f"{path}.settings.{key}", key) for key in settings if key not in settings_fields
            ]
        for where, key in fields:
            if isinstance(key, str) and _looks_secret(key):
                keys = (
                    _ADAPTERS[adapter].keys
                    if isinstance(adapter, str)
                    else "keys come from the environment"
                )
                raise ConfigError(
                    "SECRET_IN_CONFIG",
                    f"{where}: keys and secrets are never read from a config file; {keys}",
                )


def _check_venues(config: NodeConfig) -> None:
    """What the types cannot say: the adapter settings, the mode, the instruments."""
    configured = {entry.instrument_id for entry in config.instruments}
    trading: dict[str, str] = {}
    feeding: dict[str, str] = {}
    names: dict[str, int] = {}
    for index, entry in enumerate(config.venues):
        path = f"venues[{index}]"
        if entry.venue in names:
            raise ConfigError(
                "DUPLICATE_VENUE",
                f"{path}.name: venue {entry.venue!r} is also venues[{names[entry.venue]}]",
            )
        names[entry.venue] = index
        spec = _ADAPTERS[entry.adapter]
        if spec.mode_in_settings and "mode" in entry.settings:
            raise ConfigError(
                "INVALID_CONFIG",
                f"{path}.settings.mode: node.mode decides whether a venue trades paper or live; "
                "remove this field",
            )
        _convert_settings(entry.adapter, entry.settings, f"{path}.settings")
        if not spec.market_data and config.node.mode == "paper":
            raise ConfigError(
                "INVALID_CONFIG",
                f"{path}.adapter: {entry.adapter} carries no market data, so a paper venue would "
                "have nothing to fill against; use it with node.mode = 'live'",
            )
        if not entry.instruments and not entry.feed_only:
            raise ConfigError(
                "INVALID_CONFIG", f"{path}.instruments: list at least one instrument to trade"
            )
        if entry.feed_only and not spec.market_data:
            raise ConfigError(
                "INVALID_CONFIG", f"{path}.feed_only: {entry.adapter} carries no market data"
            )
        fed = entry.instruments if spec.market_data else []
        for field, instrument_ids, seen, verb in (
            ("instruments", entry.instruments, trading, "traded"),
            ("instruments", fed, feeding, "fed"),
            ("feed_only", entry.feed_only, feeding, "fed"),
        ):
            for instrument_id in instrument_ids:
                if instrument_id not in configured:
                    raise ConfigError(
                        "UNKNOWN_INSTRUMENT",
                        f"{path}.{field}: {instrument_id!r} is not in [[instruments]]",
                    )
                if instrument_id in seen:
                    raise ConfigError(
                        "DUPLICATE_INSTRUMENT",
                        f"{path}.{field}: {instrument_id!r} is already {verb} by venue "
                        f"{seen[instrument_id]!r}",
                    )
                seen[instrument_id] = entry.venue


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
