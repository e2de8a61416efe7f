"""Execution algorithms on a node whose venue is a matching engine the test trades in: TWAP,
VWAP, POV and iceberg schedules, the passive/aggressive rule, limits, cancels, rejects and
never over-filling."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from execution_helpers import BUY, SELL, Market, instrument_config
from hftcore.errors import ConfigError
from hftcore.execution.algos import (
    AlgoStatus,
    ExecutionAlgorithm,
    IcebergAlgorithm,
    PovAlgorithm,
    TwapAlgorithm,
    VwapAlgorithm,
)
from hftcore.model.data import BookDelta, Quote, Trade
from hftcore.model.events import OrderCanceled
from hftcore.model.orders import TimeInForce
from hftcore.node.config import parse_config
from hftcore.node.kernel import TradingNode
from hftcore.venues import SimulatedBookVenue
from hftcore.venues.simulated import BookVenueConfig, ConstantLatency

IID = "TEST.SIM"
BID, ASK = 9990, 10010
START = 1_000


def market_with_depth(risk: dict[str, Any] | None = None, **limits: Any) -> Market:
    """Others rest 1,000 lots on each side at 99.90 / 100.10, and the node knows it."""
    market = Market({IID: "0.0003"}, limits or None, risk)
    market.advance(START)
    market.rest(IID, BUY, BID, 1_000)
    market.rest(IID, SELL, ASK, 1_000)
    market.quote(IID, BID, ASK)
    return market


def run(market: Market, algo: ExecutionAlgorithm) -> None:
    market.node.add_strategy(algo)
    market.node.start()


def twap(**params: Any) -> TwapAlgorithm:
    base = {"instrument_id": IID, "side": "BUY", "quantity": 100, "duration_ns": 4_000, "slices": 4}
    return TwapAlgorithm("TWAP", base | params)


def children(algo: ExecutionAlgorithm, aggressive: bool) -> list[tuple[int, int, int]]:
    """(sent at, quantity, price) of the passive or the aggressive children."""
    return [
        (child.ts_sent, child.quantity, child.price)
        for child in algo.children.values()
        if child.aggressive == aggressive
    ]


def test_twap_posts_even_slices_at_even_times_and_crosses_what_fell_behind() -> None:
    market = market_with_depth()
    algo = twap()
    run(market, algo)
    for ts in range(2_000, 5_001, 1_000):
        market.advance(ts)
    # Nobody sells into our bid: each slice waits one interval at the touch, then crosses.
    assert children(algo, aggressive=False) == [
        (ts, 25, BID) for ts in (1_000, 2_000, 3_000, 4_000)
    ]
    assert children(algo, aggressive=True) == [(ts, 25, ASK) for ts in (2_000, 3_000, 4_000, 5_000)]
    assert algo.decisions == [(1_000, 25), (2_000, 50), (3_000, 75), (4_000, 100), (5_000, 100)]
    assert algo.status is AlgoStatus.COMPLETED
    assert algo.filled_quantity == 100
    assert sum(fill.last_quantity for fill in market.fills("TWAP")) == 100
    assert market.node.portfolio.net_quantity(IID, "TWAP") == 100
    passive_orders = [o for o in market.node.execution.oms.orders("TWAP") if o.spec.price == BID]
    assert all(o.spec.time_in_force == TimeInForce.GTC for o in passive_orders)
    assert all(isinstance(o.last_event, OrderCanceled) for o in passive_orders)


def test_twap_on_schedule_never_crosses_and_uneven_slices_sum_to_the_parent() -> None:
    market = market_with_depth()
    algo = twap(quantity=10, slices=3, duration_ns=3_000)
    run(market, algo)
    for ts in (START, 2_000, 3_000):
        market.advance(ts)
        # others sell into the bid: their 1,000 lots ahead of us, then our slice
        open_lots = sum(child.leaves for child in algo.open_children())
        market.take(IID, SELL, BID, 1_000 + open_lots)
        market.rest(IID, BUY, BID, 1_000)
    market.advance(4_000)
    assert children(algo, aggressive=False) == [(1_000, 3, BID), (2_000, 3, BID), (3_000, 4, BID)]
    assert children(algo, aggressive=True) == []
    assert algo.report().passive_filled == 10
    assert algo.status is AlgoStatus.COMPLETED


def test_vwap_follows_the_volume_profile() -> None:
    market = market_with_depth()
    algo = VwapAlgorithm(
        "VWAP",
        {
            "instrument_id": IID,
            "side": "SELL",
            "quantity": 100,
            "duration_ns": 4_000,
            "volume_profile": [1.0, 3.0, 4.0, 2.0],
        },
    )
    run(market, algo)
    done_after_each_slice = []
    for ts in (START, 2_000, 3_000, 4_000):
        market.advance(ts)
        open_lots = sum(child.leaves for child in algo.open_children())
        market.take(IID, BUY, ASK, 1_000 + open_lots)  # buyers lift the offer, ours last
        market.rest(IID, SELL, ASK, 1_000)
        done_after_each_slice.append(algo.filled_quantity)
    assert done_after_each_slice == [10, 40, 80, 100]
    assert [quantity for _, quantity, _ in children(algo, aggressive=False)] == [10, 30, 40, 20]
    assert algo.status is AlgoStatus.COMPLETED
    assert market.node.portfolio.net_quantity(IID, "VWAP") == -100


def test_pov_tracks_the_participation_rate() -> None:
    market = market_with_depth()
    algo = PovAlgorithm(
        "POV",
        {
            "instrument_id": IID,
            "side": "BUY",
            "quantity": 1_000,
            "participation_rate": 0.1,
            "interval_ns": 1_000,
            "duration_ns": 20_000,
        },
    )
    run(market, algo)
    volume_at = {}
    for step in range(1, 21):
        ts = START + step * 1_000
        for size in (37, 55, 21):  # other traders' prints during the interval
            market.print_trade(IID, 10_000, size)
        volume_at[ts] = algo.market_volume
        market.advance(ts)
        # never ahead of the rate, at most one interval behind it
        assert algo.filled_quantity <= algo.market_volume // 10
        previous = volume_at.get(ts - 1_000, 0)
        assert algo.filled_quantity >= previous // 10
    assert algo.market_volume == 20 * 113
    assert algo.status is AlgoStatus.EXPIRED  # it never sweeps at the end
    assert abs(algo.filled_quantity / algo.market_volume - 0.1) <= 0.01


def test_iceberg_never_shows_more_than_its_display_and_refills_on_fill() -> None:
    market = market_with_depth()
    market.take(IID, SELL, BID, 1_000)  # nobody else on the bid: every sell hits us
    algo = IcebergAlgorithm(
        "ICE",
        {
            "instrument_id": IID,
            "side": "BUY",
            "quantity": 50,
            "display_quantity": 10,
            "limit_price": 9_995,
        },
    )
    run(market, algo)
    engine = market.venues[IID].engine
    shown = []
    while algo.status is AlgoStatus.RUNNING:
        level = engine.best_bid(0)
        assert level is not None
        shown.append(level[1])
        assert level[0] == 9_995
        assert sum(child.leaves for child in algo.open_children()) == level[1] <= 10
        market.take(IID, SELL, 9_995, 7)
    assert max(shown) == 10
    assert [child.quantity for child in algo.children.values()] == [10] * 5
    assert algo.filled_quantity == 50
    assert algo.status is AlgoStatus.COMPLETED
    assert engine.best_bid(0) is None


def test_limit_price_holds_and_the_unfilled_rest_expires() -> None:
    market = market_with_depth()
    algo = twap(limit_price=10_000, quantity=40, slices=2, duration_ns=2_000)
    run(market, algo)
    market.advance(2_000)
    market.advance(3_000)
    # the ask (100.10) is above the limit (100.00): nothing crosses, passives join the bid
    assert children(algo, aggressive=True) == []
    assert all(child.price <= 10_000 for child in algo.children.values())
    assert algo.status is AlgoStatus.EXPIRED
    assert algo.filled_quantity == 0
    assert market.node.execution.oms.orders("TWAP", open_only=True) == []


def test_a_partial_cross_stays_behind_and_crosses_again() -> None:
    market = Market({IID: "0.0003"})
    market.advance(START)
    market.rest(IID, BUY, BID, 1_000)
    market.rest(IID, SELL, ASK, 10)  # the quote says 100, the engine has 10
    market.quote(IID, BID, ASK, ask_size=100)
    algo = twap(quantity=60, slices=2, duration_ns=2_000)
    run(market, algo)
    market.advance(2_000)
    assert algo.filled_quantity == 10  # 30 due, 10 taken; IOC rest canceled
    market.rest(IID, SELL, ASK, 1_000)
    market.advance(3_000)  # the end: all the rest crosses
    assert [quantity for _, quantity, _ in children(algo, aggressive=True)] == [30, 50]
    assert algo.filled_quantity == 60
    assert algo.status is AlgoStatus.COMPLETED


def test_parent_cancel_cancels_children_and_stops_the_schedule() -> None:
    market = market_with_depth()
    algo = twap()
    run(market, algo)
    market.advance(1_500)
    assert len(algo.open_children()) == 1
    algo.cancel()
    assert algo.status is AlgoStatus.CANCELED
    assert algo.open_children() == []
    market.advance(5_000)
    assert len(algo.children) == 1
    assert market.node.execution.oms.orders("TWAP", open_only=True) == []


def test_child_denials_in_a_row_fail_the_algorithm() -> None:
    market = market_with_depth(max_order_quantity="5")
    algo = IcebergAlgorithm(
        "ICE",
        {
            "instrument_id": IID,
            "side": "BUY",
            "quantity": 50,
            "display_quantity": 10,
            "limit_price": BID,
            "max_rejects": 3,
        },
    )
    run(market, algo)
    assert algo.status is AlgoStatus.FAILED
    assert len(algo.children) == 3
    assert all(child.closed and child.filled == 0 for child in algo.children.values())


def test_shortfall_against_the_arrival_mid_includes_fees() -> None:
    market = market_with_depth()
    algo = twap(quantity=20, slices=1, duration_ns=1_000)
    run(market, algo)
    market.advance(2_000)  # the passive child waited one interval; the end crosses all 20
    report = algo.report()
    shortfall = report.shortfall
    assert shortfall is not None
    assert shortfall.arrival_price == Fraction(BID + ASK, 2)
    # bought 20 at 100.10 against 100.00: 2.00 USD, plus 3 bp taker fee on 2,002.00 = 0.6006
    assert shortfall.price_cost == 2 * 10**12
    assert shortfall.fees == 600_600_000_000
    assert shortfall.total_cost == 2_600_600_000_000
    assert shortfall.cost_bps == pytest.approx(2.6006 / 2_000 * 10_000)
    assert (report.passive_filled, report.aggressive_filled) == (0, 20)


def test_a_fill_while_a_cancel_is_in_flight_is_never_over_filled() -> None:
    """A venue with 100 ns order-entry and response latency: the slice's passive child fills
    in part while its cancel travels; the cross waits for the cancel's answer and takes only
    what is still missing."""
    node = TradingNode(parse_config({"instruments": [instrument_config(IID)]}))
    latency = ConstantLatency(ns=100)
    venue = SimulatedBookVenue(
        "SIM",
        {node.cache.instrument(IID): "USD"},
        BookVenueConfig(order_latency=latency, response_latency=latency),
    )
    node.add_venue("SIM", venue)
    node.advance_to(START)
    for sequence, (side, price) in enumerate(((BUY, BID), (SELL, ASK)), start=1):
        venue.on_book_delta(BookDelta(IID, side, price, 1_000, sequence, START, START))
    node.process_quote(Quote(IID, BID, 1_000, ASK, 1_000, START, START))
    algo = twap()
    node.add_strategy(algo)
    node.start()

    def sell_print(ts: int, size: int) -> None:
        node.advance_to(ts)
        trade = Trade(IID, BID, size, SELL, str(ts), ts, ts)
        venue.on_trade(trade)
        node.process_trade(trade)

    sell_print(1_500, 1_000)  # the queue ahead of our bid trades away
    node.advance_to(2_000)  # decision 1: 25 behind, the passive child's cancel leaves now
    sell_print(2_050, 10)  # reaches the venue before the cancel does (at 2,100)
    first = algo.children["TWAP-000001"]
    for ts in range(2_060, 2_100, 10):
        node.advance_to(ts)
        assert first.canceling
        assert len(algo.children) == 1  # nothing is sent while the cancel is unanswered
    node.advance_to(2_100)  # the venue's answers: the fill of 10, then the cancel of 15
    assert (first.filled, first.closed) == (10, True)
    crossing = [c for c in algo.children.values() if c.aggressive]
    assert [(c.quantity, c.ts_sent) for c in crossing] == [(15, 2_100)]
    assert algo.committed <= 100
    for ts in range(2_300, 6_001, 100):
        node.advance_to(ts)
    assert algo.status is AlgoStatus.COMPLETED
    assert algo.filled_quantity == 100
    assert node.portfolio.net_quantity(IID, "TWAP") == 100
    assert sum(f.last_quantity for f in algo.fills) == 100


@pytest.mark.parametrize(
    ("algo_class", "params", "field"),
    [
        (TwapAlgorithm, {"quantity": 0}, "quantity"),
        (TwapAlgorithm, {"slices": 0}, "slices"),
        (TwapAlgorithm, {"duration_ns": 3}, "duration_ns"),
        (TwapAlgorithm, {"limit_price": -5}, "limit_price"),
        (TwapAlgorithm, {"side": "HOLD"}, "side"),
        (TwapAlgorithm, {"max_rejects": 0}, "max_rejects"),
        (TwapAlgorithm, {"slice": 4}, "slice"),
        (VwapAlgorithm, {"volume_profile": []}, "volume_profile"),
        (VwapAlgorithm, {"volume_profile": [1.0, -1.0]}, "volume_profile"),
        (PovAlgorithm, {"participation_rate": 0.0}, "participation_rate"),
        (PovAlgorithm, {"participation_rate": 1.5}, "participation_rate"),
        (PovAlgorithm, {"interval_ns": 0}, "interval_ns"),
        (IcebergAlgorithm, {"display_quantity": 0}, "display_quantity"),
        (IcebergAlgorithm, {"display_quantity": 500}, "display_quantity"),
        (IcebergAlgorithm, {"limit_price": None}, "limit_price"),
    ],
)
def test_bad_parameters_raise_config_errors_naming_the_field(
    algo_class: type[ExecutionAlgorithm], params: dict[str, Any], field: str
) -> None:
    valid: dict[type[ExecutionAlgorithm], dict[str, Any]] = {
        TwapAlgorithm: {"duration_ns": 4_000, "slices": 4},
        VwapAlgorithm: {"duration_ns": 4_000, "volume_profile": [1.0, 2.0]},
        PovAlgorithm: {"participation_rate": 0.1, "interval_ns": 1_000},
        IcebergAlgorithm: {"display_quantity": 10, "limit_price": BID},
    }
    base = {"instrument_id": IID, "side": "BUY", "quantity": 100} | valid[algo_class]
    algo_class("OK", base)  # the valid base is accepted
    with pytest.raises(ConfigError) as error:
        algo_class("BAD", base | params)
    assert error.value.code == "INVALID_PARAMS"
    assert field in error.value.message


def test_an_unknown_instrument_stops_the_algorithm_with_the_name() -> None:
    market = market_with_depth()
    algo = twap(instrument_id="NOPE.SIM")
    run(market, algo)
    failure = market.node.failure("TWAP")
    assert failure is not None
    assert "NOPE.SIM" in str(failure)
    assert algo.children == {}


def test_a_later_start_waits_and_the_arrival_is_the_mid_then() -> None:
    market = market_with_depth()
    algo = twap(start_ns=3_000)
    run(market, algo)
    market.advance(2_000)
    market.quote(IID, BID + 2, ASK)  # the market moves before the start
    assert algo.status is AlgoStatus.PENDING
    assert algo.children == {}
    market.advance(3_000)
    assert algo.status is AlgoStatus.RUNNING
    assert algo.arrival_price == Fraction(BID + 2 + ASK, 2)
    assert children(algo, aggressive=False) == [(3_000, 25, BID + 2)]


def test_a_refused_cancel_is_sent_again_and_the_parent_still_stops() -> None:
    market = market_with_depth(risk={"cancel_rate": {"capacity": 1, "refill_per_second": 1}})
    algo = twap()
    run(market, algo)
    market.advance(2_000)  # decision 1: cancels the passive child (the one cancel allowed)
    market.advance(2_500)
    working = algo.open_children()
    assert [child.aggressive for child in working] == [False]
    algo.cancel()  # the gate refuses this cancel (CANCEL_RATE)
    assert algo.status is AlgoStatus.STOPPING
    assert not working[0].canceling
    market.advance(1_002_000_000)  # a second later the rate allows a cancel again
    market.quote(IID, BID, ASK)  # the next market update retries it
    assert algo.status is AlgoStatus.CANCELED
    assert algo.open_children() == []
