"""Capital allocation across agents and per-agent limits in the node's risk gate."""

from __future__ import annotations

import itertools
from decimal import Decimal

import numpy as np
import pytest
from agent_helpers import DAY, bar_node, bars_from_closes, ornstein_uhlenbeck, random_walk, spx_bars
from hftcore.agents.allocation import CapitalAllocator, risk_parity_weights
from hftcore.agents.mean_reversion import MeanReversion
from hftcore.agents.momentum import TimeSeriesMomentum
from hftcore.errors import ConfigError, InvalidValue
from hftcore.model.events import OrderDenied, OrderSpec
from hftcore.model.orders import OrderType
from hftcore.model.risk import AccountLimits
from hftcore.node.backtest import run_bars
from hftcore.node.kernel import TradingNode


def test_risk_parity_equalises_risk_contributions() -> None:
    rng = np.random.default_rng(4)
    for size in (2, 3, 6):
        factors = rng.normal(size=(size, size))
        covariance = factors @ factors.T + np.diag(rng.uniform(0.1, 1.0, size))
        weights = risk_parity_weights(covariance)
        contributions = weights * (covariance @ weights)
        assert weights.sum() == pytest.approx(1.0)
        assert (weights > 0).all()
        assert contributions == pytest.approx(np.full(size, contributions.mean()), rel=1e-6)
    diagonal = np.diag([0.04, 0.01])  # vols 20 % and 10 %: weights 1/3 and 2/3
    assert risk_parity_weights(diagonal) == pytest.approx([1 / 3, 2 / 3])
    with pytest.raises(InvalidValue, match="INVALID_COVARIANCE"):
        risk_parity_weights(np.diag([0.04, 0.0]))


def two_agents(
    instrument_id: str, **node_kwargs: str
) -> tuple[TradingNode, TimeSeriesMomentum, MeanReversion]:
    node = bar_node([instrument_id], balance="1000000", **node_kwargs)
    momentum = TimeSeriesMomentum("MOM", {"instrument_ids": [instrument_id]})
    reversion = MeanReversion("MR", {"instrument_ids": [instrument_id]})
    node.add_strategy(momentum)
    node.add_strategy(reversion)
    return node, momentum, reversion


def test_risk_parity_budgets_on_real_sp500_are_rebalanced_on_schedule() -> None:
    instrument_id, bars = spx_bars()
    node, momentum, reversion = two_agents(instrument_id, tick="0.000001", precision=6)
    allocator = CapitalAllocator(
        node,
        [momentum, reversion],
        {"total_capital": 1_000_000, "rebalance_interval_ns": 63 * DAY, "floor": 0.2, "cap": 0.8},
    )
    allocator.start()
    result = run_bars(node, bars)
    history = allocator.history
    span = (bars[-1].ts_event - bars[0].ts_event) // (63 * DAY)
    assert span - 1 <= len(history) - 1 <= span + 1
    for earlier, later in itertools.pairwise(history[1:]):  # [0]: the start
        assert later.ts - earlier.ts >= 63 * DAY
        assert later.ts - earlier.ts < 63 * DAY + 5 * DAY  # the first bar after it is due
    for allocation in history:
        assert sum(allocation.budgets.values()) == pytest.approx(1_000_000)
        assert all(0.2 - 1e-9 <= share <= 0.8 + 1e-9 for share in allocation.shares.values())
    assert len({round(a.shares["MOM"], 6) for a in history}) > 10
    assert momentum.capital == pytest.approx(history[-1].budgets["MOM"])
    assert not any(order.status == "DENIED" for order in result.orders)


def test_performance_budgets_favour_the_better_agent() -> None:
    for closes, better in (
        (random_walk(600, 1, drift=0.002), "MOM"),
        (ornstein_uhlenbeck(600, 1), "MR"),
    ):
        node, momentum, reversion = two_agents("X.SIM")
        allocator = CapitalAllocator(
            node,
            [momentum, reversion],
            {
                "total_capital": 1_000_000,
                "method": "performance",
                "rebalance_interval_ns": 21 * DAY,
            },
        )
        allocator.start()
        run_bars(node, bars_from_closes("X.SIM", closes))
        assert allocator.history[-1].shares[better] > 0.6


def test_an_agent_over_its_budget_is_denied_by_the_risk_gate() -> None:
    node, momentum, reversion = two_agents("X.SIM")
    allocator = CapitalAllocator(
        node, [momentum, reversion], {"total_capital": 200_000, "max_leverage": 1.0}
    )
    allocator.start()
    denied: list[OrderDenied] = []
    node.bus.subscribe(
        "events.order.>", lambda e: denied.append(e) if isinstance(e, OrderDenied) else None
    )
    bars = bars_from_closes("X.SIM", random_walk(10, 0))
    node.start()
    node.advance_to(bars[0].ts_event)
    node.process_bar(bars[0])  # price ~100: the budget of 100,000 buys about 1,000 lots
    momentum.submit_order(OrderSpec("X.SIM", 0, OrderType.MARKET, 1_200))
    momentum.submit_order(OrderSpec("X.SIM", 0, OrderType.MARKET, 900))
    reversion.submit_order(OrderSpec("X.SIM", 0, OrderType.MARKET, 900))
    assert [(d.strategy_id, d.reason) for d in denied] == [("MOM", "MAX_GROSS_EXPOSURE")]
    assert "strategy MOM" in denied[0].message
    node.advance_to(bars[1].ts_event)
    node.process_bar(bars[1])
    assert node.portfolio.net_quantity("X.SIM", "MOM") == 900
    gate = node.risk.strategy_gate("MOM")
    assert gate is not None
    assert gate.position(0).position == 900  # fills reach the agent's gate
    momentum.submit_order(OrderSpec("X.SIM", 0, OrderType.MARKET, 200))
    assert denied[-1].reason == "MAX_GROSS_EXPOSURE"  # 1,100 lots held would exceed it
    node.risk.set_strategy_limits("MOM", AccountLimits(max_gross_exposure=Decimal(200_000)), 0)
    momentum.submit_order(OrderSpec("X.SIM", 0, OrderType.MARKET, 200))
    assert len(denied) == 2


def test_bad_allocations_are_refused() -> None:
    node, momentum, _ = two_agents("X.SIM")
    with pytest.raises(ConfigError, match="total_capital"):
        CapitalAllocator(node, [momentum], {"total_capital": -1})
    with pytest.raises(ConfigError, match="INVALID_ALLOCATION"):
        CapitalAllocator(node, [momentum, momentum], {"total_capital": 1})
    stranger = TimeSeriesMomentum("OTHER", {"instrument_ids": ["X.SIM"]})
    with pytest.raises(ConfigError, match="UNKNOWN_STRATEGY"):
        CapitalAllocator(node, [stranger], {"total_capital": 1})


def test_an_agent_past_its_loss_limit_is_stopped_by_its_own_gate() -> None:
    node, momentum, reversion = two_agents("X.SIM")
    allocator = CapitalAllocator(
        node, [momentum, reversion], {"total_capital": 200_000, "loss_limit_fraction": 0.01}
    )
    allocator.start()
    denied: list[OrderDenied] = []
    node.bus.subscribe(
        "events.order.>", lambda e: denied.append(e) if isinstance(e, OrderDenied) else None
    )
    falling = bars_from_closes("X.SIM", [100.0, 100.0, 97.0, 96.0])
    node.start()
    node.advance_to(falling[0].ts_event)
    node.process_bar(falling[0])
    momentum.submit_order(OrderSpec("X.SIM", 0, OrderType.MARKET, 500))  # about 50,000 USD
    for bar in falling[1:3]:
        node.advance_to(bar.ts_event)
        node.process_bar(bar)
    # A 3 % fall on 50,000 USD loses 1,500 > 1 % of its 100,000 budget: its gate halts it.
    momentum.submit_order(OrderSpec("X.SIM", 0, OrderType.MARKET, 10))
    reversion.submit_order(OrderSpec("X.SIM", 0, OrderType.MARKET, 10))
    assert [(d.strategy_id, d.reason) for d in denied] == [("MOM", "DAILY_LOSS_LIMIT")]
    gate = node.risk.strategy_gate("MOM")
    assert gate is not None
    assert gate.circuit_breaker_trip is not None
    assert node.risk.gate.circuit_breaker_trip is None  # the account trades on
