"""``[[venues]]`` in the node config and what ``hftcore live`` refuses: every bad config names
the field and what was expected; keys are never taken from the file; a missing key is named
before anything connects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hftcore.cli import main
from hftcore.errors import ConfigError
from hftcore.node.config import load_config, parse_config
from hftcore.node.live import LiveSession
from hftcore.venues.alpaca import AlpacaConfig
from hftcore.venues.binance import BinanceConfig
from hftcore.venues.fix import FixSessionConfig
from hftcore.venues.kraken import KrakenConfig
from hftcore.venues.live import RateLimit

CONFIGS = Path(__file__).resolve().parent.parent / "configs"

INSTRUMENTS = [
    {
        "instrument_id": "BTCUSDT.BINANCE",
        "tick_size": "0.01",
        "price_precision": 2,
        "lot_size": "0.00001",
        "size_precision": 5,
        "quote_currency": "USDT",
    },
    {
        "instrument_id": "BTC/USD.KRAKEN",
        "tick_size": "0.1",
        "price_precision": 1,
        "lot_size": "0.00000001",
        "size_precision": 8,
    },
    {
        "instrument_id": "AAPL.ALPACA",
        "tick_size": "0.01",
        "price_precision": 2,
        "lot_size": "1",
        "size_precision": 0,
    },
]
STRATEGY = {
    "strategy_id": "S",
    "path": "hftcore.strategies.sma_crossover:SmaCrossover",
    "params": {"instrument_ids": ["BTCUSDT.BINANCE"]},
}
BINANCE = {"adapter": "binance", "instruments": ["BTCUSDT.BINANCE"]}
KRAKEN = {"adapter": "kraken", "instruments": ["BTC/USD.KRAKEN"]}
ALPACA = {"adapter": "alpaca", "instruments": ["AAPL.ALPACA"]}
FIX = {
    "adapter": "fix",
    "instruments": ["BTCUSDT.BINANCE"],
    "settings": {"sender_comp_id": "ME", "target_comp_id": "BROKER"},
}


def raw(venues: list[dict[str, Any]], mode: str = "live", **sections: Any) -> dict[str, Any]:
    return {
        "node": {"mode": mode},
        "instruments": INSTRUMENTS,
        "strategies": [STRATEGY],
        "venues": venues,
        **sections,
    }


def refused(venues: list[dict[str, Any]], mode: str = "live", **sections: Any) -> ConfigError:
    with pytest.raises(ConfigError) as error:
        parse_config(raw(venues, mode, **sections), environ={}, source="node.toml")
    return error.value


def test_venue_tables_become_the_adapters_own_config_structs() -> None:
    config = parse_config(
        raw(
            [
                {
                    **BINANCE,
                    "settings": {
                        "snapshot_limit": 500,
                        "orders": {"rate": 2.0, "burst": 20.0},
                        "reconnect": {"initial_delay_s": 1.0, "max_delay_s": 60.0},
                    },
                    "paper_venue": {"queue_model": {"kind": "LOG"}},
                },
                {**KRAKEN, "name": "KRK", "settings": {"depth": 25}},
                {**ALPACA, "settings": {"paper": False, "feed": "sip"}},
            ],
            live={"tick_interval_s": 0.5},
        ),
        environ={},
    )
    binance, kraken, alpaca = config.venues
    settings = binance.adapter_settings()
    assert isinstance(settings, BinanceConfig)
    assert (settings.snapshot_limit, settings.orders) == (500, RateLimit(rate=2.0, burst=20.0))
    assert settings.reconnect.max_delay_s == 60.0
    assert binance.paper_venue.queue_model is not None
    assert binance.venue == "BINANCE"  # the adapter's name by default
    assert kraken.venue == "KRK"
    assert isinstance(kraken.adapter_settings(), KrakenConfig)
    assert alpaca.adapter_settings() == AlpacaConfig(paper=False, feed="sip")
    assert config.live.tick_interval_s == 0.5
    fix = parse_config(raw([FIX]), environ={}).venues[0]
    assert fix.adapter_settings() == FixSessionConfig("ME", "BROKER")
    assert not fix.has_market_data


def test_the_node_mode_comes_from_the_environment_like_any_field() -> None:
    config = parse_config(raw([BINANCE], mode="paper"), environ={"HFTCORE_NODE__MODE": "live"})
    assert config.node.mode == "live"


@pytest.mark.parametrize(
    ("venue", "field", "where_keys_come_from"),
    [
        (
            {**BINANCE, "settings": {"api_key": "abc"}},
            "venues[0].settings.api_key",
            "BINANCE_API_KEY",
        ),
        ({**BINANCE, "api_secret": "abc"}, "venues[0].api_secret", "BINANCE_API_SECRET"),
        (
            {**KRAKEN, "settings": {"private_key": "abc"}},
            "venues[0].settings.private_key",
            "KRAKEN",
        ),
        ({**ALPACA, "settings": {"secret_key": "abc"}}, "venues[0].settings.secret_key", "APCA_"),
        ({**ALPACA, "settings": {"APCA_API_KEY_ID": "abc"}}, "settings.APCA_API_KEY_ID", "APCA_"),
        ({**FIX, "settings": {**FIX["settings"], "password": "x"}}, "settings.password", "CompIDs"),
    ],
)
def test_a_key_in_the_file_is_refused_by_name(
    venue: dict[str, Any], field: str, where_keys_come_from: str
) -> None:
    error = refused([venue])
    assert error.code == "SECRET_IN_CONFIG"
    assert field in error.message
    assert where_keys_come_from in error.message
    assert "abc" not in error.message  # the secret itself is never echoed


def test_the_names_of_key_variables_are_settings_not_secrets() -> None:
    config = parse_config(
        raw([{**BINANCE, "settings": {"api_key_env": "MY_KEY", "api_secret_env": "MY_SECRET"}}]),
        environ={},
    )
    settings = config.venues[0].adapter_settings()
    assert isinstance(settings, BinanceConfig)
    assert (settings.api_key_env, settings.api_secret_env) == ("MY_KEY", "MY_SECRET")


@pytest.mark.parametrize(
    ("venues", "mode", "code", "fragments"),
    [
        (
            [{"adapter": "bitmex", "instruments": ["BTCUSDT.BINANCE"]}],
            "live",
            "UNKNOWN_ADAPTER",
            ["venues[0].adapter", "'bitmex'", "alpaca, binance, kraken, fix"],
        ),
        (
            [{**BINANCE, "settings": {"snapshot_limit": "many"}}],
            "live",
            "INVALID_CONFIG",
            ["Expected `int`, got `str`", "$.venues[0].settings.snapshot_limit"],
        ),
        (
            [BINANCE, {**KRAKEN, "settings": {"reconnect": {"initial_delay_s": "soon"}}}],
            "live",
            "INVALID_CONFIG",
            ["Expected `float`", "$.venues[1].settings.reconnect.initial_delay_s"],
        ),
        (
            [{**BINANCE, "settings": {"snapshot_limit": 7}}],
            "live",
            "INVALID_CONFIG",
            ["snapshot_limit must be one of", "$.venues[0].settings"],
        ),
        (
            [{**BINANCE, "settings": {"websocket": "wss://x"}}],
            "live",
            "INVALID_CONFIG",
            ["unknown field `websocket`", "$.venues[0].settings"],
        ),
        (
            [{**BINANCE, "instruments": "BTCUSDT.BINANCE"}],
            "live",
            "INVALID_CONFIG",
            ["Expected `array`, got `str`", "$.venues[0].instruments"],
        ),
        (
            [{**BINANCE, "settings": {"mode": "live"}}],
            "paper",
            "INVALID_CONFIG",
            ["venues[0].settings.mode", "node.mode decides"],
        ),
        (
            [FIX],
            "paper",
            "INVALID_CONFIG",
            ["venues[0].adapter", "fix carries no market data", "node.mode = 'live'"],
        ),
        (
            [{**FIX, "feed_only": ["BTC/USD.KRAKEN"]}],
            "live",
            "INVALID_CONFIG",
            ["venues[0].feed_only", "fix carries no market data"],
        ),
        (
            [{**FIX, "settings": {"sender_comp_id": "ME"}}],
            "live",
            "INVALID_CONFIG",
            ["missing required field `target_comp_id`", "$.venues[0].settings"],
        ),
        (
            [{"adapter": "binance", "instruments": ["ETHUSDT.BINANCE"]}],
            "live",
            "UNKNOWN_INSTRUMENT",
            ["venues[0].instruments", "'ETHUSDT.BINANCE' is not in [[instruments]]"],
        ),
        (
            [BINANCE, {**FIX, "name": "BROKER"}],
            "live",
            "DUPLICATE_INSTRUMENT",
            ["venues[1].instruments", "already traded by venue 'BINANCE'"],
        ),
        (
            [BINANCE, {**KRAKEN, "feed_only": ["BTCUSDT.BINANCE"]}],
            "live",
            "DUPLICATE_INSTRUMENT",
            ["venues[1].feed_only", "already fed by venue 'BINANCE'"],
        ),
        (
            [BINANCE, {**KRAKEN, "name": "BINANCE"}],
            "live",
            "DUPLICATE_VENUE",
            ["venues[1].name", "venue 'BINANCE' is also venues[0]"],
        ),
        (
            [{"adapter": "kraken"}],
            "live",
            "INVALID_CONFIG",
            ["venues[0].instruments", "at least one instrument"],
        ),
    ],
)
def test_bad_venue_tables_name_the_field_and_what_was_expected(
    venues: list[dict[str, Any]], mode: str, code: str, fragments: list[str]
) -> None:
    error = refused(venues, mode)
    assert error.code == code
    assert error.message.startswith("node.toml: ")
    for fragment in fragments:
        assert fragment in error.message


def test_the_live_section_is_checked() -> None:
    error = refused([BINANCE], live={"tick_interval_s": 0})
    assert error.code == "INVALID_CONFIG"
    assert "Expected `float` > 0.0 - at `$.live.tick_interval_s`" in error.message


def test_a_missing_key_is_named_with_its_venue_before_anything_connects(tmp_path: Path) -> None:
    config = parse_config(
        raw(
            [BINANCE, {**KRAKEN, "settings": {"api_key_env": "DESK_KRAKEN_KEY"}}],
            node={"mode": "live", "data_dir": str(tmp_path)},
        ),
        environ={},
    )
    with pytest.raises(ConfigError) as error:
        LiveSession(config, environ={"BINANCE_API_KEY": "k", "BINANCE_API_SECRET": "s"})
    assert error.value.code == "MISSING_CREDENTIALS"
    assert error.value.message == (
        "venues[1] (KRAKEN): environment variable DESK_KRAKEN_KEY is not set"
    )
    paper = parse_config(raw([ALPACA], node={"mode": "paper", "data_dir": str(tmp_path)}), {})
    with pytest.raises(ConfigError) as error:
        LiveSession(paper, environ={})  # Alpaca's market data needs the keys, paper or not
    assert error.value.code == "MISSING_CREDENTIALS"
    assert "venues[0] (ALPACA)" in error.value.message
    assert "APCA_API_KEY_ID" in error.value.message


def test_paper_mode_on_crypto_venues_needs_no_key(tmp_path: Path) -> None:
    config = parse_config(
        raw([BINANCE, KRAKEN], node={"mode": "paper", "data_dir": str(tmp_path)}), environ={}
    )
    session = LiveSession(config, environ={})
    try:
        assert sorted(session.adapters) == ["BINANCE", "KRAKEN"]
        assert {type(adapter.venue).__name__ for adapter in session.adapters.values()} == {
            "SimulatedBookVenue"
        }
    finally:
        session.close()


@pytest.mark.parametrize(
    ("node", "venues", "message"),
    [
        ({"mode": "backtest"}, [BINANCE], "node.mode: expected 'paper' or 'live', got 'backtest'"),
        ({"mode": "live"}, [], "venues: at least one [[venues]] table is needed"),
    ],
)
def test_live_needs_a_paper_or_live_node_with_venues(
    tmp_path: Path, node: dict[str, str], venues: list[dict[str, Any]], message: str
) -> None:
    config = parse_config(raw(venues, node={**node, "data_dir": str(tmp_path)}), environ={})
    with pytest.raises(ConfigError) as error:
        LiveSession(config, environ={})
    assert error.value.message == message


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_command_prints_the_error_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("BINANCE_API_KEY", "BINANCE_API_SECRET"):
        monkeypatch.delenv(variable, raising=False)
    head = f"""
[node]
mode = "live"
data_dir = "{tmp_path / "data"}"

[[instruments]]
instrument_id = "BTCUSDT.BINANCE"
tick_size = "0.01"
price_precision = 2
lot_size = "0.00001"
size_precision = 5

[[strategies]]
strategy_id = "S"
path = "hftcore.strategies.sma_crossover:SmaCrossover"

[[venues]]
adapter = "binance"
instruments = ["BTCUSDT.BINANCE"]
"""
    cases = [
        ("", ["error: MISSING_CREDENTIALS: venues[0] (BINANCE): ", "BINANCE_API_KEY"]),
        (
            '[venues.settings]\napi_secret = "s3cr3t"\n',
            ["error: SECRET_IN_CONFIG: ", str(tmp_path), "venues[0].settings.api_secret"],
        ),
        (
            '[venues.settings]\ndepth_interval_ms = "fast"\n',
            ["error: INVALID_CONFIG: ", "$.venues[0].settings.depth_interval_ms"],
        ),
    ]
    for extra, expected in cases:
        config = _write(tmp_path, head + extra)
        assert main(["live", "--config", str(config), "--duration", "1"]) == 2
        captured = capsys.readouterr()
        assert captured.err.startswith(expected[0])
        for fragment in expected[1:]:
            assert fragment in captured.err
        assert "s3cr3t" not in captured.err
        assert captured.out == ""  # refused before the session table


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["live", "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    for option in ("--config", "--duration", "--store", "--summary"):
        assert option in text


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.toml")), ids=lambda path: path.name)
def test_the_sample_configs_are_valid(path: Path) -> None:
    config = load_config(path, environ={})
    assert config.node.mode in ("paper", "live")
    assert config.venues
    for entry in config.venues:
        entry.adapter_settings()
