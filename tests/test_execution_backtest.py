"""The algorithms unchanged in an L2 backtest (``run_book``) with queue position and latency:
data clocking, schedules kept, participation tracked, shortfall reported."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hftcore import l2_replay_from_l3, synthetic_l3_messages
from hftcore.execution.algos import AlgoStatus, PovAlgorithm, TwapAlgorithm
from hftcore.node.book_backtest import DEMO_VENUE, book_node, run_book

IID = "SYNTH.SIM"


def test_twap_and_pov_in_an_l2_backtest() -> None:
    deltas, trades = l2_replay_from_l3(synthetic_l3_messages(200_000, seed=7))
    first, last = int(deltas["ts_event"][0]), int(deltas["ts_event"][-1])
    start, duration = first + (last - first) // 10, (last - first) // 2
    node = book_node(DEMO_VENUE)
    twap = TwapAlgorithm(
        "TWAP",
        {"instrument_id": IID, "side": "BUY", "quantity": 100, "duration_ns": duration,
         "slices": 10, "start_ns": start, "clocking": "data"},
    )  # fmt: skip
    pov = PovAlgorithm(
        "POV",
        {"instrument_id": IID, "side": "SELL", "quantity": 10_000, "participation_rate": 0.05,
         "interval_ns": duration // 20, "duration_ns": duration, "start_ns": start,
         "clocking": "data"},
    )  # fmt: skip
    node.add_strategy(twap)
    node.add_strategy(pov)
    result = run_book(node, deltas, trades)
    assert node.failure("TWAP") is None
    assert node.failure("POV") is None

    assert twap.status is AlgoStatus.COMPLETED
    assert twap.filled_quantity == 100
    assert twap.start_ts is not None
    assert twap.start_ts >= start
    interval = duration // 10
    passive_sends = [c.ts_sent for c in twap.children.values() if not c.aggressive]
    # one passive child per slice, each at the first book update after its due time
    assert len(passive_sends) == 10
    for k, sent in enumerate(passive_sends):
        assert twap.start_ts + k * interval <= sent < twap.start_ts + (k + 1) * interval
    assert sum(f.quantity for f in result.fills if f.side == "BUY") == 100

    assert pov.status is AlgoStatus.EXPIRED
    assert pov.filled_quantity == pytest.approx(0.05 * pov.market_volume, rel=0.1)
    assert pov.filled_quantity <= 0.05 * pov.market_volume
    assert sum(f.quantity for f in result.fills if f.side == "SELL") == pov.filled_quantity

    for algo in (twap, pov):
        shortfall = algo.shortfall()
        assert shortfall is not None
        assert shortfall.fees == sum(fill.commission for fill in algo.fills)
        assert isinstance(shortfall.arrival_price, Fraction)
