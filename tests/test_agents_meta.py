"""The regime meta-agent: selects specialists by volatility, trend and Hurst regime, and
records why."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest
from agent_helpers import bar_node, bars_from_closes, ornstein_uhlenbeck, random_walk, spx_bars
from hftcore.agents.meta import MetaDecision, RegimeMetaAgent
from hftcore.errors import ConfigError
from hftcore.node.backtest import run_bars
from hftcore.reports.backtest import BacktestResult

MEMBERS = [
    {"agent_id": "MOM", "path": "hftcore.agents.momentum:TimeSeriesMomentum"},
    {"agent_id": "MR", "path": "hftcore.agents.mean_reversion:MeanReversion"},
    {"agent_id": "BO", "path": "hftcore.agents.breakout:Breakout"},
]


def run_meta(closes: Any, **params: Any) -> tuple[RegimeMetaAgent, BacktestResult]:
    node = bar_node(["X.SIM"], balance="1000000")
    meta = RegimeMetaAgent(
        "META",
        {"instrument_ids": ["X.SIM"], "capital": 1_000_000, "members": MEMBERS, **params},
    )
    node.add_strategy(meta)
    return meta, run_bars(node, bars_from_closes("X.SIM", closes))


def styles(decisions: list[MetaDecision]) -> Counter[str | None]:
    return Counter(decision.preferred_style for decision in decisions)


@pytest.mark.parametrize("seed", range(3))
def test_trend_followers_are_selected_on_a_trend(seed: int) -> None:
    meta, result = run_meta(random_walk(900, seed, drift=0.003))
    decisions = list(meta.decisions)[300:]
    counts = styles(decisions)
    assert counts["trend"] > 0.45 * len(decisions)
    assert counts["mean_reversion"] < 0.15 * len(decisions)
    for decision in decisions:
        if decision.preferred_style == "trend":
            assert decision.weights == {"MOM": 0.5, "MR": 0.0, "BO": 0.5}
            assert "trend up" in decision.reason or "persistent" in decision.reason
    assert result.statistics.total_return > 1.0


@pytest.mark.parametrize("seed", range(3))
def test_mean_reversion_is_selected_on_reverting_prices(seed: int) -> None:
    meta, result = run_meta(ornstein_uhlenbeck(900, seed))
    decisions = list(meta.decisions)[300:]
    assert styles(decisions)["mean_reversion"] > 0.95 * len(decisions)
    selected = [d for d in decisions if d.preferred_style == "mean_reversion"]
    assert all(d.weights == {"MOM": 0.0, "MR": 1.0, "BO": 0.0} for d in selected)
    assert all(d.regime.hurst is not None and d.regime.hurst < 0.4 for d in selected)
    assert result.statistics.total_return > 0.1


def test_tilt_mode_keeps_some_weight_on_the_others() -> None:
    meta, _ = run_meta(ornstein_uhlenbeck(600, 0), mode="tilt", tilt=0.7)
    selected = [d for d in meta.decisions if d.preferred_style == "mean_reversion"]
    assert selected
    assert all(d.weights == pytest.approx({"MOM": 0.15, "MR": 0.7, "BO": 0.15}) for d in selected)


def test_high_volatility_scales_exposure_down() -> None:
    calm = random_walk(600, 3, drift=0.002, vol=0.005)
    rng = np.random.default_rng(3)
    storm = calm[-1] * np.exp(np.cumsum(rng.normal(0.0, 0.04, 15)))
    meta, _ = run_meta(np.concatenate([calm, storm]), high_volatility_scale=0.25)
    last = meta.decisions[-1]
    assert last.regime.volatility == "high"
    assert last.scale == 0.25
    assert "high volatility" in last.reason
    members = {name: agent.signals["X.SIM"].direction for name, agent in meta.members.items()}
    expected = 0.25 * sum(last.weights[name] * members[name] for name in members)
    assert last.direction == pytest.approx(expected)
    assert meta.signals["X.SIM"].direction == pytest.approx(expected)


def test_decisions_on_real_sp500_explain_every_bar() -> None:
    instrument_id, bars = spx_bars()
    node = bar_node([instrument_id], tick="0.000001", precision=6, balance="1000000")
    meta = RegimeMetaAgent(
        "META", {"instrument_ids": [instrument_id], "capital": 1_000_000, "members": MEMBERS}
    )
    node.add_strategy(meta)
    result = run_bars(node, bars)
    decisions = list(meta.decisions)
    # One decision per bar from the first member's first signal (the breakout's 56th bar).
    assert len(decisions) == len(bars) - 55
    assert [d.ts for d in decisions] == [bar.ts_event for bar in bars[55:]]
    assert all(d.reason for d in decisions)
    assert all(sum(d.weights.values()) == pytest.approx(1.0) for d in decisions)
    late_2008 = [d for d in decisions if 1_225_497_600 * 10**9 <= d.ts <= 1_228_089_600 * 10**9]
    assert late_2008
    assert all(d.regime.volatility == "high" for d in late_2008)  # Nov 2008
    assert {order.strategy_id for order in result.orders} == {"META"}


def test_bad_meta_params_are_refused() -> None:
    with pytest.raises(ConfigError, match="hurst"):
        RegimeMetaAgent(
            "M",
            {
                "instrument_ids": ["X.SIM"],
                "members": MEMBERS,
                "hurst_trend": 0.4,
                "hurst_mean_reversion": 0.5,
            },
        )
    with pytest.raises(ConfigError, match="long_window"):
        RegimeMetaAgent(
            "M",
            {
                "instrument_ids": ["X.SIM"],
                "members": MEMBERS,
                "detector": {"short_window": 300, "long_window": 100},
            },
        )
