"""The Avellaneda-Stoikov market maker on L2 flow through the simulated venue."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from hftcore import l2_replay_from_l3, synthetic_l3_messages
from hftcore.agents.market_making import AvellanedaStoikov
from hftcore.errors import ConfigError
from hftcore.model.events import OrderFilled
from hftcore.node.book_backtest import DEMO_VENUE, SYNTHETIC_INSTRUMENT, book_node, run_book

INSTRUMENT_ID = SYNTHETIC_INSTRUMENT["instrument_id"]


@cache
def balanced_flow(seed: int) -> tuple[Any, Any]:
    """Poisson limit and market orders, as many buys as sells on average: two-sided flow."""
    return l2_replay_from_l3(synthetic_l3_messages(300_000, seed=seed))


class Tracked(AvellanedaStoikov):
    """Notes the inventory after every fill."""

    def on_start(self) -> None:
        super().on_start()
        self.inventory: list[int] = []

    def on_fill(self, fill: OrderFilled) -> None:
        self.inventory.append(self.portfolio.net_quantity(INSTRUMENT_ID, self.strategy_id))


@pytest.mark.parametrize("seed", [7, 11, 31, 42])
def test_inventory_stays_within_limits_and_the_spread_is_earned(seed: int) -> None:
    deltas, trades = balanced_flow(seed)
    node = book_node(DEMO_VENUE)
    params = {"instrument_id": INSTRUMENT_ID, "quantity": 3, "max_position": 6, "gamma": 0.002}
    agent = Tracked("AS", params)
    node.add_strategy(agent)
    result = run_book(node, deltas, trades, chunk=50_000)
    assert len(agent.inventory) >= 15
    assert max(abs(q) for q in agent.inventory) <= 6
    buys = [(f.price, f.quantity) for f in result.fills if f.side == "BUY"]
    sells = [(f.price, f.quantity) for f in result.fills if f.side == "SELL"]
    assert buys
    assert sells
    average_buy = sum(p * q for p, q in buys) / sum(q for _, q in buys)
    average_sell = sum(p * q for p, q in sells) / sum(q for _, q in sells)
    assert average_sell > average_buy  # bought on the bid, sold on the ask
    assert sum(f.fee <= 0 for f in result.fills) >= 0.9 * len(result.fills)  # maker rebates
    assert result.equity[-1] > result.equity[0]
    assert agent.variance > 0
    # Quotes follow the book: stale ones were canceled and sent again.
    assert result.order_counts().get("CANCELED", 0) >= 10
    assert len(result.orders) > len(result.fills)


def quotes(agent: AvellanedaStoikov, position: int, variance: float) -> tuple[float, float]:
    class Book:
        def microprice(self) -> float:
            return 100_000.0

    agent.variance = variance
    agent._last = None
    prices = agent.quote_prices(Book(), position)
    assert prices is not None
    return prices


def test_spread_widens_with_volatility_and_quotes_skew_against_inventory() -> None:
    node = book_node(DEMO_VENUE)
    agent = AvellanedaStoikov("AS", {"instrument_id": INSTRUMENT_ID, "gamma": 0.1, "k": 1.0})
    node.add_strategy(agent)
    node.start()
    calm_bid, calm_ask = quotes(agent, 0, 0.01)
    wild_bid, wild_ask = quotes(agent, 0, 1.0)
    assert wild_ask - wild_bid > calm_ask - calm_bid
    assert calm_bid < 100_000 < calm_ask
    long_bid, long_ask = quotes(agent, 5, 0.5)
    short_bid, short_ask = quotes(agent, -5, 0.5)
    flat_bid, flat_ask = quotes(agent, 0, 0.5)
    assert long_bid < flat_bid < short_bid
    assert long_ask < flat_ask < short_ask
    # reservation r = s - q gamma sigma^2 tau; spread = gamma sigma^2 tau + 2/gamma ln(1 + gamma/k)
    assert (flat_bid + flat_ask) / 2 - (long_bid + long_ask) / 2 == pytest.approx(
        5 * 0.1 * 0.5 * 60.0
    )


def test_disabled_market_maker_stops_quoting() -> None:
    deltas, trades = balanced_flow(7)
    node = book_node(DEMO_VENUE)
    agent = Tracked("AS", {"instrument_id": INSTRUMENT_ID})
    agent.set_enabled(False)
    node.add_strategy(agent)
    result = run_book(node, deltas, trades, chunk=50_000)
    assert result.orders == []


def test_bad_params_name_the_field() -> None:
    with pytest.raises(ConfigError, match="gamma"):
        AvellanedaStoikov("AS", {"instrument_id": INSTRUMENT_ID, "gamma": 0})
    with pytest.raises(ConfigError, match="max_position"):
        AvellanedaStoikov("AS", {"instrument_id": INSTRUMENT_ID, "quantity": 5, "max_position": 2})
