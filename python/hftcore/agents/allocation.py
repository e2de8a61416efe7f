"""Capital allocation across agents: budgets by risk parity or by performance, rebalanced on a
schedule, each agent's budget enforced by the node's risk gate.

:class:`CapitalAllocator` records each agent's return (the change of its own P&L net of
commissions over its capital) at every new bar time and, every ``rebalance_interval_ns`` of
bar time, splits ``total_capital`` between them:

* ``risk_parity``: equal risk contributions (Maillard, Roncalli and Teiletche 2010, "The
  properties of equally weighted risk contribution portfolios", *Journal of Portfolio
  Management* 36(4)) over the covariance of the agents' last ``lookback`` returns, solved by
  cyclical coordinate descent (Griveau-Billion, Richard and Roncalli 2013);
* ``performance``: proportional to the positive part of each agent's Sharpe ratio over the
  last ``lookback`` returns (``hftcore.risk.performance.sharpe_ratio``), equal while none is
  positive;

shares held within ``[floor, cap]``. Until ``min_history`` returns are in, budgets are equal.
Each budget becomes the agent's capital (``Agent.set_capital``) and the limits of its own risk
gate (``RiskEngine.set_strategy_limits``): gross exposure at most ``max_leverage`` times the
budget and, if ``loss_limit_fraction`` is set, the gate's daily loss limit at that share of
it (the node does not roll trading days into the gates yet, so the loss counts from the
gate's creation). An agent
trying to exceed them gets ``OrderDenied`` from the gate, like any other limit.

The allocator runs on the node's bus ahead of the strategies (it sees a bar first), so a
rebalance applies to the agents' decisions on that same bar.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

import msgspec
import numpy as np

from hftcore.agents.base import Agent
from hftcore.agents.ensemble import bounded_weights
from hftcore.errors import ConfigError, InvalidValue
from hftcore.model.data import Bar
from hftcore.model.risk import AccountLimits
from hftcore.node.kernel import TradingNode
from hftcore.risk import performance as perf

DAY_NS = 86_400_000_000_000


class AllocationParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    total_capital: float
    method: Literal["risk_parity", "performance"] = "risk_parity"
    rebalance_interval_ns: int = 21 * DAY_NS
    lookback: int = 126
    min_history: int = 20
    floor: float = 0.05
    cap: float = 0.8
    max_leverage: float = 1.5
    loss_limit_fraction: float | None = None
    periods_per_year: float = 252.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.total_capital) and self.total_capital > 0):
            raise ValueError("total_capital must be positive")
        if self.rebalance_interval_ns <= 0 or self.lookback < 2:
            raise ValueError("need rebalance_interval_ns > 0 and lookback >= 2")
        if not 2 <= self.min_history <= self.lookback:
            raise ValueError("need 2 <= min_history <= lookback")
        if self.max_leverage <= 0 or self.periods_per_year <= 0:
            raise ValueError("max_leverage and periods_per_year must be positive")
        if self.loss_limit_fraction is not None and not 0 < self.loss_limit_fraction <= 1:
            raise ValueError("loss_limit_fraction must be in (0, 1]")


def risk_parity_weights(covariance: np.ndarray, iterations: int = 500) -> np.ndarray:
    """Long-only weights (summing to 1) with equal risk contributions ``w_i (C w)_i``."""
    matrix = np.asarray(covariance, dtype=np.float64)
    size = matrix.shape[0]
    if matrix.ndim != 2 or matrix.shape != (size, size) or not np.isfinite(matrix).all():
        raise InvalidValue("INVALID_COVARIANCE", "covariance must be a finite square matrix")
    diagonal = np.diag(matrix).copy()
    if (diagonal <= 0).any():
        raise InvalidValue("INVALID_COVARIANCE", "every variance must be positive")
    budget = 1.0 / size
    weights = 1.0 / np.sqrt(diagonal)
    weights /= weights.sum()
    for _ in range(iterations):
        previous = weights.copy()
        for i in range(size):
            others = float(matrix[i] @ weights) - weights[i] * diagonal[i]
            weights[i] = (-others + math.sqrt(others * others + 4 * diagonal[i] * budget)) / (
                2 * diagonal[i]
            )
        if np.abs(weights / weights.sum() - previous / previous.sum()).max() < 1e-10:
            break
    return np.asarray(weights / weights.sum())


class Allocation(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One rebalance: when, how, and each agent's share and budget."""

    ts: int
    method: str
    shares: dict[str, float]
    budgets: dict[str, float]
    reason: str


class CapitalAllocator:
    """Budgets for ``agents`` on ``node`` (module docs). Call :meth:`start` before the run."""

    def __init__(
        self,
        node: TradingNode,
        agents: Sequence[Agent],
        params: AllocationParams | dict[str, object],
    ) -> None:
        if not agents or len({agent.strategy_id for agent in agents}) != len(agents):
            raise ConfigError("INVALID_ALLOCATION", "need at least one agent, with distinct ids")
        for agent in agents:
            if node.strategies.get(agent.strategy_id) is not agent:
                raise ConfigError(
                    "UNKNOWN_STRATEGY", f"agent {agent.strategy_id} is not on this node"
                )
        try:
            self.params = (
                params
                if isinstance(params, AllocationParams)
                else msgspec.convert(params, AllocationParams, strict=False)
            )
        except msgspec.ValidationError as error:
            raise ConfigError("INVALID_PARAMS", f"allocation params: {error}") from None
        self.node = node
        self.agents = {agent.strategy_id: agent for agent in agents}
        self.history: list[Allocation] = []
        self._returns: dict[str, deque[float]] = {
            name: deque(maxlen=self.params.lookback) for name in self.agents
        }
        self._last_pnl: dict[str, float] = {}
        self._last_ts: int | None = None
        self._next_rebalance: int | None = None

    def start(self) -> None:
        """Equal budgets now; then on schedule as bars arrive."""
        self.node.bus.subscribe("data.bars.>", self._on_bar, priority=10)
        self.rebalance(self.node.clock.timestamp_ns())

    def _on_bar(self, bar: Bar) -> None:
        ts = bar.ts_event
        if ts == self._last_ts:
            return
        self._last_ts = ts
        for name, agent in self.agents.items():
            pnl = agent.pnl()
            if name in self._last_pnl and agent.capital > 0:
                self._returns[name].append((pnl - self._last_pnl[name]) / agent.capital)
            self._last_pnl[name] = pnl
        if self._next_rebalance is None:
            self._next_rebalance = ts + self.params.rebalance_interval_ns
        elif ts >= self._next_rebalance:
            self.rebalance(ts)

    def shares(self) -> tuple[dict[str, float], str]:
        """Each agent's share of the capital now, and why."""
        p = self.params
        names = list(self.agents)
        counts = min(len(self._returns[name]) for name in names)
        if counts < p.min_history or len(names) == 1:
            return bounded_weights(dict.fromkeys(names, 1.0), p.floor, p.cap), (
                f"equal: {counts} of {p.min_history} returns"
            )
        matrix = np.array([list(self._returns[name])[-counts:] for name in names])
        if p.method == "performance":
            sharpe = {
                name: perf.sharpe_ratio(row, periods_per_year=p.periods_per_year)
                for name, row in zip(names, matrix, strict=True)
            }
            raw = {
                name: max(0.0, value) if math.isfinite(value) else 0.0
                for name, value in sharpe.items()
            }
            text = ", ".join(f"{name} {value:.2f}" for name, value in sharpe.items())
            return bounded_weights(raw, p.floor, p.cap), f"Sharpe over {counts}: {text}"
        covariance = np.cov(matrix)
        variances = np.diag(covariance)
        # An agent that has not traded has no variance: give it the smallest seen, so it gets
        # a large but capped share instead of breaking the solver.
        smallest = variances[variances > 0].min() if (variances > 0).any() else 1.0
        covariance[np.diag_indices_from(covariance)] = np.where(variances > 0, variances, smallest)
        weights = risk_parity_weights(covariance)
        vols = ", ".join(
            f"{name} {math.sqrt(v * p.periods_per_year):.1%}"
            for name, v in zip(names, variances, strict=True)
        )
        raw = dict(zip(names, (float(w) for w in weights), strict=True))
        return bounded_weights(raw, p.floor, p.cap), f"equal risk over {counts}: vol {vols}"

    def rebalance(self, ts: int) -> Allocation:
        p = self.params
        shares, reason = self.shares()
        budgets = {name: share * p.total_capital for name, share in shares.items()}
        for name, budget in budgets.items():
            agent = self.agents[name]
            agent.set_capital(budget)
            loss = None if p.loss_limit_fraction is None else _money(budget * p.loss_limit_fraction)
            limits = AccountLimits(
                max_gross_exposure=_money(budget * p.max_leverage), daily_loss_limit=loss
            )
            self.node.risk.set_strategy_limits(name, limits, ts, self._positions(name))
        self._next_rebalance = ts + p.rebalance_interval_ns
        allocation = Allocation(ts, p.method, shares, budgets, reason)
        self.history.append(allocation)
        return allocation

    def _positions(self, strategy_id: str) -> dict[str, tuple[int, str | None]]:
        portfolio = self.node.portfolio
        held: dict[str, tuple[int, str | None]] = {}
        for instrument in self.node.cache.instruments():
            instrument_id = instrument.instrument_id
            quantity = portfolio.net_quantity(instrument_id, strategy_id)
            if quantity:
                average = portfolio.average_price_ticks(strategy_id, instrument_id)
                price = None if average is None else instrument.ticks_to_str(round(average))
                held[instrument_id] = (quantity, price)
        return held


def _money(amount: float) -> Decimal:
    return Decimal(f"{amount:.2f}")
