"""Ensembles: voting, bounded dynamic weights that move toward the better agent, one target
per instrument."""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np
import pytest
from agent_helpers import bar_node, bars_from_closes, ornstein_uhlenbeck, random_walk, spx_bars
from hftcore.agents.base import Signal
from hftcore.agents.ensemble import Ensemble, bounded_weights
from hftcore.errors import ConfigError, InvalidValue
from hftcore.model.data import Bar
from hftcore.node.backtest import run_bars
from hftcore.node.strategy import StrategyError

MOMENTUM = {"agent_id": "MOM", "path": "hftcore.agents.momentum:TimeSeriesMomentum"}
REVERSION = {"agent_id": "MR", "path": "hftcore.agents.mean_reversion:MeanReversion"}
BREAKOUT = {"agent_id": "BO", "path": "hftcore.agents.breakout:Breakout"}


def fixed(agent_id: str, direction: float = 0.0) -> dict[str, Any]:
    return {
        "agent_id": agent_id,
        "path": "agent_helpers:FixedSignal",
        "params": {"direction": direction},
    }


def voter(vote: str, threshold: float = 1.0) -> Ensemble:
    return Ensemble(
        "ENS",
        {
            "instrument_ids": ["X.SIM"],
            "members": [fixed("A"), fixed("B"), fixed("C")],
            "vote": vote,
            "threshold": threshold,
            "weighting": "equal",
            "floor": 0.0,
            "cap": 1.0,
        },
    )


def views(*pairs: tuple[float, float]) -> dict[str, Signal]:
    return {
        name: Signal(name, "X.SIM", direction, confidence, 1)
        for name, (direction, confidence) in zip("ABC", pairs, strict=True)
    }


def test_majority_vote() -> None:
    ensemble = voter("majority")
    signal = ensemble.combine("X.SIM", views((1, 1), (0.5, 1), (-1, 1)), 1)
    assert signal is not None
    assert (signal.direction, signal.confidence) == (1.0, pytest.approx(2 / 3))
    tie = ensemble.combine("X.SIM", views((1, 1), (-1, 1), (0, 1)), 1)
    assert tie is not None
    assert tie.direction == 0.0


def test_unanimity_threshold() -> None:
    split = views((1, 1), (1, 1), (-1, 1))
    all_long = views((1, 1), (0.3, 1), (1, 1))
    strict, lenient = voter("unanimity", 1.0), voter("unanimity", 0.6)
    assert strict.combine("X.SIM", split, 1).direction == 0.0  # type: ignore[union-attr]
    assert strict.combine("X.SIM", all_long, 1).direction == 1.0  # type: ignore[union-attr]
    assert lenient.combine("X.SIM", split, 1).direction == 1.0  # type: ignore[union-attr]


def test_consensus_with_confidence() -> None:
    signals = views((1, 1), (1, 1), (-1, 0.2))
    agreement = (1 + 1 - 0.2) / 2.2
    confident = voter("consensus", 0.8).combine("X.SIM", signals, 1)
    assert confident is not None
    assert confident.confidence == pytest.approx(agreement)
    assert confident.direction == pytest.approx(agreement)  # directions are +-1 here
    doubtful = voter("consensus", 0.9).combine("X.SIM", signals, 1)
    assert doubtful is not None
    assert doubtful.direction == 0.0
    weighted = voter("weighted").combine("X.SIM", views((1, 1), (0.5, 1), (-0.3, 1)), 1)
    assert weighted is not None
    assert weighted.direction == pytest.approx(1.2 / 3)


def test_bounded_weights_sum_to_one_within_bounds() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        raw = dict(zip("abcde", rng.exponential(1.0, 5) ** 3, strict=True))
        weights = bounded_weights(raw, 0.05, 0.4)
        assert sum(weights.values()) == pytest.approx(1.0)
        assert all(0.05 - 1e-12 <= w <= 0.4 + 1e-12 for w in weights.values())
        # Order is kept: a larger raw weight never gets a smaller share.
        ordered = sorted(raw, key=raw.__getitem__)
        shares = [weights[name] for name in ordered]
        assert shares == sorted(shares)
    assert bounded_weights({"a": 1.0, "b": 0.0, "c": 0.0}, 0.05, 0.8) == pytest.approx(
        {"a": 0.8, "b": 0.1, "c": 0.1}
    )
    with pytest.raises(InvalidValue, match="INVALID_BOUNDS"):
        bounded_weights({"a": 1.0, "b": 1.0}, 0.6, 0.9)


def ensemble_on(closes: Any, weighting: str) -> tuple[Ensemble, Any]:
    node = bar_node(["X.SIM"], balance="1000000")
    ensemble = Ensemble(
        "ENS",
        {
            "instrument_ids": ["X.SIM"],
            "capital": 1_000_000,
            "members": [MOMENTUM, REVERSION],
            "weighting": weighting,
            "half_life_bars": 250,
        },
    )
    node.add_strategy(ensemble)
    return ensemble, run_bars(node, bars_from_closes("X.SIM", closes))


@pytest.mark.parametrize("weighting", ["ew_sharpe", "multiplicative"])
def test_weights_move_toward_the_better_agent(weighting: str) -> None:
    for seed in range(3):
        trending, result = ensemble_on(random_walk(800, seed, drift=0.002), weighting)
        weights = trending.weights()
        assert weights["MOM"] > 0.6  # from 0.5 each
        assert weights["MR"] < 0.4
        assert trending.sharpe("MOM") > trending.sharpe("MR")
        # One target per instrument: only the ensemble orders.
        assert {order.strategy_id for order in result.orders} == {"ENS"}
        reverting, _ = ensemble_on(ornstein_uhlenbeck(800, seed), weighting)
        weights = reverting.weights()
        assert weights["MR"] > 0.6
        assert weights["MOM"] < 0.4


class Watched(Ensemble):
    def on_start(self) -> None:
        super().on_start()
        self.history: list[dict[str, float]] = []

    def on_bar(self, bar: Bar) -> None:
        super().on_bar(bar)
        self.history.append(self.weights())


def test_ensemble_on_real_sp500_keeps_weights_bounded() -> None:
    instrument_id, bars = spx_bars()
    node = bar_node([instrument_id], tick="0.000001", precision=6, balance="1000000")
    ensemble = Watched(
        "ENS",
        {
            "instrument_ids": [instrument_id],
            "capital": 1_000_000,
            "members": [MOMENTUM, REVERSION, BREAKOUT],
            "floor": 0.1,
            "cap": 0.6,
        },
    )
    node.add_strategy(ensemble)
    result = run_bars(node, bars)
    assert len(ensemble.history) == len(bars)
    for weights in ensemble.history:
        assert sum(weights.values()) == pytest.approx(1.0)
        assert min(weights.values()) >= 0.1 - 1e-12
        assert max(weights.values()) <= 0.6 + 1e-12
    assert len({tuple(w.values()) for w in ensemble.history}) > 100  # they do move
    assert {order.strategy_id for order in result.orders} == {"ENS"}
    assert result.statistics.fills > 10


def test_members_cannot_order_and_bad_members_are_refused() -> None:
    ensemble = voter("majority")
    node = bar_node(["X.SIM"])
    node.add_strategy(ensemble)
    node.start()
    member = ensemble.members["A"]
    with pytest.raises(StrategyError, match="SIGNAL_ONLY"):
        member.submit_order(member.market("X.SIM", 0, 1))
    with pytest.raises(ConfigError, match="INVALID_PARAMS"):
        Ensemble("E", {"instrument_ids": ["X.SIM"], "members": [fixed("A"), fixed("A")]})
    with pytest.raises(ConfigError, match="INVALID_MEMBER"):
        Ensemble(
            "E",
            {
                "instrument_ids": ["X.SIM"],
                "members": [
                    fixed("A"),
                    {"agent_id": "S", "path": "hftcore.strategies.sma_crossover:SmaCrossover"},
                ],
            },
        )
    with pytest.raises(ConfigError, match="INVALID_PARAMS"):
        Ensemble(
            "E", {"instrument_ids": ["X.SIM"], "members": [fixed("A"), fixed("B")], "floor": 0.9}
        )


def test_members_may_cover_part_of_the_instruments_but_not_other_bars() -> None:
    ids = ["X.SIM", "Y.SIM"]
    ensemble = Ensemble(
        "ENS",
        {
            "instrument_ids": ids,
            "capital": 1_000_000,
            "members": [
                {**fixed("LONGX", 1.0), "params": {"direction": 1.0, "instrument_ids": ["X.SIM"]}},
                fixed("FLAT"),
            ],
            "weighting": "equal",
        },
    )
    node = bar_node(ids, balance="1000000")
    node.add_strategy(ensemble)
    bars = bars_from_closes("X.SIM", random_walk(30, 1)) + bars_from_closes(
        "Y.SIM", random_walk(30, 2)
    )
    run_bars(node, sorted(bars, key=lambda bar: bar.ts_event))
    assert ensemble.signals["X.SIM"].direction == pytest.approx(0.5)
    assert ensemble.signals["Y.SIM"].direction == 0.0
    assert node.portfolio.net_quantity("X.SIM", "ENS") > 0
    with pytest.raises(ConfigError, match="members cannot change"):
        ensemble.reconfigure(
            {**msgspec.to_builtins(ensemble.params), "members": [fixed("A"), fixed("B")]}
        )
    with pytest.raises(ConfigError, match="INVALID_MEMBER"):
        Ensemble(
            "E",
            {
                "instrument_ids": ["X.SIM"],
                "members": [fixed("A"), {**fixed("B"), "params": {"bar_type": "1-HOUR"}}],
            },
        )
