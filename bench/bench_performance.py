"""Speed of the performance measures and of the backtest report on long runs.

Run with timings: ``.venv/bin/pytest bench/bench_performance.py --benchmark-enable``. In the
test suite these run once each with timings off; each still checks its result.
"""

from __future__ import annotations

from typing import Any

import empyrical
import numpy as np
import pytest
from hftcore.reports import BacktestResult, FillRecord
from hftcore.risk import performance as perf

Benchmark = Any
POINTS = 1_000_000
FILLS = 10_000
MINUTE_NS = 60_000_000_000
MINUTES_PER_YEAR = 365 * 24 * 60


@pytest.fixture(scope="module")
def returns() -> np.ndarray[Any, Any]:
    return np.random.default_rng(11).normal(0.0, 0.001, POINTS - 1)


@pytest.fixture(scope="module")
def run(returns: np.ndarray[Any, Any]) -> dict[str, Any]:
    equity = perf.equity_from_returns(returns, initial_equity=1e6)
    prices = 100.0 * perf.equity_from_returns(returns)
    times = np.arange(POINTS, dtype=np.int64) * MINUTE_NS
    steps = np.linspace(0, POINTS - 1, FILLS, dtype=np.int64)
    fills = [
        FillRecord(
            int(times[t]),
            "X.SIM",
            "BUY" if k % 2 == 0 else "SELL",
            float(prices[t]),
            1.0,
            0.01,
            f"O-{k}",
            "bench",
        )
        for k, t in enumerate(steps.tolist())
    ]
    positions = np.zeros(POINTS)
    for start, stop in zip(steps[::2], steps[1::2], strict=True):
        positions[start:stop] = 1.0
    return {
        "instrument_ids": ["X.SIM"],
        "timestamps": times,
        "equity": equity,
        "positions": {"X.SIM": positions},
        "prices": {"X.SIM": prices},
        "fills": fills,
        "periods_per_year": MINUTES_PER_YEAR,
    }


def test_sharpe_and_max_drawdown_of_a_million_returns(
    benchmark: Benchmark, returns: np.ndarray[Any, Any]
) -> None:
    def measure() -> tuple[float, float]:
        return (
            perf.sharpe_ratio(returns, periods_per_year=MINUTES_PER_YEAR),
            perf.max_drawdown(perf.equity_from_returns(returns)),
        )

    sharpe, worst = benchmark.pedantic(measure, rounds=10, iterations=1)
    assert sharpe == pytest.approx(
        empyrical.sharpe_ratio(returns, annualization=MINUTES_PER_YEAR), rel=1e-9
    )
    assert worst == pytest.approx(empyrical.max_drawdown(returns), rel=1e-9)


def test_empyrical_sharpe_and_max_drawdown_of_a_million_returns(
    benchmark: Benchmark, returns: np.ndarray[Any, Any]
) -> None:
    # The same two measures by the reference library, side by side.
    def measure() -> tuple[float, float]:
        return (
            empyrical.sharpe_ratio(returns, annualization=MINUTES_PER_YEAR),
            empyrical.max_drawdown(returns),
        )

    sharpe, worst = benchmark.pedantic(measure, rounds=10, iterations=1)
    assert sharpe == pytest.approx(perf.sharpe_ratio(returns, periods_per_year=MINUTES_PER_YEAR))
    assert worst < 0


def test_drawdown_duration_of_a_million_points(
    benchmark: Benchmark, returns: np.ndarray[Any, Any]
) -> None:
    equity = perf.equity_from_returns(returns)
    times = np.arange(equity.size, dtype=np.int64) * MINUTE_NS
    periods, time = benchmark.pedantic(
        lambda: (
            perf.max_drawdown_duration(equity),
            perf.max_drawdown_duration_time(equity, times),
        ),
        rounds=10,
        iterations=1,
    )
    assert time == periods * MINUTE_NS


def test_build_a_result_of_a_million_points(benchmark: Benchmark, run: dict[str, Any]) -> None:
    result = benchmark.pedantic(lambda: BacktestResult.build(**run), rounds=5, iterations=1)
    assert result.statistics.fills == FILLS
    assert result.statistics.trades == FILLS // 2


def test_json_round_trip_of_a_million_points(benchmark: Benchmark, run: dict[str, Any]) -> None:
    result = BacktestResult.build(**run)
    again = benchmark.pedantic(
        lambda: BacktestResult.from_json(result.to_json()), rounds=5, iterations=1
    )
    assert again == result


def test_render_the_report_of_a_million_points(benchmark: Benchmark, run: dict[str, Any]) -> None:
    result = BacktestResult.build(**run)
    html = benchmark.pedantic(result.render_html, rounds=5, iterations=1)
    assert html.count('class="fill-marker') == FILLS
    assert len(html) < 8_000_000
