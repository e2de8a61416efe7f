"""The agent registry: validated, persisted, and applied from the agent's next event."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from agent_helpers import bar_node, bars_from_closes, random_walk
from hftcore.agents.momentum import TimeSeriesMomentum
from hftcore.agents.registry import AgentRecord, AgentRegistry
from hftcore.errors import ConfigError, InvalidValue

PATH = "hftcore.agents.momentum:TimeSeriesMomentum"


def test_register_list_enable_update_and_persist(tmp_path: Path) -> None:
    file = tmp_path / "agents.sqlite"
    registry = AgentRegistry(file)
    registry.register("TSM", PATH, {"instrument_ids": ["X.SIM"], "lookback": 60})
    registry.register(
        "MR", "hftcore.agents.mean_reversion:MeanReversion", {"instrument_ids": ["X.SIM"]}
    )
    assert [r.agent_id for r in registry.list()] == ["MR", "TSM"]
    record = registry.get("TSM")
    assert record.params["lookback"] == 60
    assert record.params["trend_window"] == 200  # defaults are stored explicitly
    registry.set_enabled("MR", False)
    updated = registry.update_params("TSM", {"lookback": 90})
    assert updated.version == 2
    registry.close()
    reopened = AgentRegistry(file)
    assert reopened.get("TSM").params["lookback"] == 90
    assert reopened.get("MR").enabled is False
    as_json = msgspec.json.encode(reopened.get("TSM"))
    assert msgspec.json.decode(as_json, type=AgentRecord) == reopened.get("TSM")
    reopened.remove("MR")
    assert [r.agent_id for r in reopened.list()] == ["TSM"]


def test_bad_changes_are_refused_and_change_nothing(tmp_path: Path) -> None:
    registry = AgentRegistry(tmp_path / "agents.sqlite")
    registry.register("TSM", PATH, {"instrument_ids": ["X.SIM"]})
    agent = registry.build("TSM")
    with pytest.raises(ConfigError, match="lookback"):
        registry.update_params("TSM", {"lookback": 0})
    with pytest.raises(ConfigError, match="nonsense"):
        registry.update_params("TSM", {"nonsense": 1})
    assert registry.get("TSM").version == 1
    assert agent.params.lookback == 126
    with pytest.raises(InvalidValue, match="DUPLICATE_AGENT"):
        registry.register("TSM", PATH, {"instrument_ids": ["X.SIM"]})
    with pytest.raises(InvalidValue, match="UNKNOWN_AGENT"):
        registry.set_enabled("NOPE", True)
    with pytest.raises(ConfigError, match="INVALID_STRATEGY_PATH"):
        registry.register("X", "hftcore.agents.nothing:Agent", {})
    with pytest.raises(ConfigError, match="NOT_AN_AGENT"):
        registry.register("X", "hftcore.strategies.sma_crossover:SmaCrossover", {})
    with pytest.raises(InvalidValue, match="INVALID_AGENT_ID"):
        registry.register("a.b", PATH, {"instrument_ids": ["X.SIM"]})
    with pytest.raises(ConfigError, match="instrument_ids"):
        registry.register("Y", PATH, {})
    assert [r.agent_id for r in registry.list()] == ["TSM"]


def test_a_parameter_change_takes_effect_on_the_next_event() -> None:
    registry = AgentRegistry(":memory:")
    registry.register("TSM", PATH, {"instrument_ids": ["X.SIM"], "capital": 100_000})
    agent = registry.build("TSM")
    assert isinstance(agent, TimeSeriesMomentum)
    node = bar_node(["X.SIM"])
    node.add_strategy(agent)
    bars = bars_from_closes("X.SIM", random_walk(400, 0, drift=-0.003))
    node.start()
    for bar in bars[:300]:
        node.advance_to(bar.ts_event)
        node.process_bar(bar)
    assert agent.targets["X.SIM"].quantity < 0  # short the fall
    short = node.portfolio.net_quantity("X.SIM", "TSM")
    assert short < 0
    registry.update_params("TSM", {"long_only": True})
    assert agent.params.long_only
    assert agent.targets["X.SIM"].quantity < 0  # nothing happens between events
    node.advance_to(bars[300].ts_event)
    node.process_bar(bars[300])
    assert agent.targets["X.SIM"].quantity == 0  # the very next bar
    assert agent.signals["X.SIM"].direction == 0.0
    node.advance_to(bars[301].ts_event)
    node.process_bar(bars[301])
    assert node.portfolio.net_quantity("X.SIM", "TSM") == 0  # closed at the next open


def test_disabling_flattens_and_silences_the_agent() -> None:
    registry = AgentRegistry(":memory:")
    registry.register("TSM", PATH, {"instrument_ids": ["X.SIM"], "capital": 100_000})
    agent = registry.build("TSM")
    node = bar_node(["X.SIM"])
    node.add_strategy(agent)
    bars = bars_from_closes("X.SIM", random_walk(400, 0, drift=0.003))
    node.start()
    for bar in bars[:300]:
        node.advance_to(bar.ts_event)
        node.process_bar(bar)
    assert node.portfolio.net_quantity("X.SIM", "TSM") > 0
    last_signal = agent.signals["X.SIM"]
    registry.set_enabled("TSM", False)
    node.advance_to(bars[300].ts_event)
    node.process_bar(bars[300])
    assert node.portfolio.net_quantity("X.SIM", "TSM") == 0
    assert agent.signals["X.SIM"] is last_signal  # it ignores data while disabled
    registry.set_enabled("TSM", True)
    node.advance_to(bars[301].ts_event)
    node.process_bar(bars[301])
    assert agent.signals["X.SIM"].ts == bars[301].ts_event
    with pytest.raises(ConfigError, match="IMMUTABLE_PARAM"):
        registry.update_params("TSM", {"instrument_ids": ["Y.SIM"]})
