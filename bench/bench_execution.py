"""Cost of the execution layer's decisions.

* ``test_plan_route``: one routing decision over 5 venues x 10 displayed levels (exact fee- and
  latency-adjusted scoring), a buy that takes levels on several venues.
* ``test_twap_children``: a TWAP of 1,000 slices on a matching-engine venue where every slice
  waits at the touch, then crosses: 2,000 children with their cancels and fills through the OMS,
  the risk gate and the portfolio. Units: decisions.

Run with timings: ``.venv/bin/pytest bench/bench_execution.py --benchmark-enable``.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

from hftcore.execution.algos import AlgoStatus, TwapAlgorithm
from hftcore.execution.router import VenueBook, plan_route

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from execution_helpers import BUY, SELL, Market

NOW = 1_000_000_000


def venues() -> list[VenueBook]:
    return [
        VenueBook(
            f"XYZ.V{v}",
            [(9_999 - level - v, 10 + level) for level in range(10)],
            [(10_001 + level + v, 10 + level) for level in range(10)],
            Fraction(v + 1, 10_000),
            v * 100_000,
            NOW - 1_000,
        )
        for v in range(5)
    ]


def test_plan_route(benchmark: Any) -> None:
    books = venues()
    plan = benchmark(
        plan_route,
        BUY,
        120,
        books,
        now_ns=NOW,
        stale_after_ns=1_000_000,
        latency_penalty_bps_per_ms=Fraction(1, 10),
    )
    assert plan.routed == 120
    assert plan.unrouted == 0
    # the cheapest venue (lowest price and fee) is taken first, through several of its levels
    assert plan.slices[0].instrument_id == "XYZ.V0"
    assert len({piece.instrument_id for piece in plan.slices}) > 1


def run_twap(slices: int) -> TwapAlgorithm:
    market = Market({"XYZ.A": "0.0003"})
    market.advance(1_000)
    market.rest("XYZ.A", BUY, 9_990, 1_000_000)
    market.rest("XYZ.A", SELL, 10_010, 1_000_000)
    market.quote("XYZ.A", 9_990, 10_010)
    algo = TwapAlgorithm(
        "TWAP",
        {"instrument_id": "XYZ.A", "side": "BUY", "quantity": slices * 10,
         "duration_ns": slices * 1_000, "slices": slices},
    )  # fmt: skip
    market.node.add_strategy(algo)
    market.node.start()
    market.advance(1_000 + slices * 1_000)
    return algo


def test_twap_children(benchmark: Any) -> None:
    algo = benchmark.pedantic(run_twap, args=(1_000,), rounds=3, iterations=1)
    assert algo.status is AlgoStatus.COMPLETED
    assert algo.filled_quantity == 10_000
    assert len(algo.children) == 2_000
