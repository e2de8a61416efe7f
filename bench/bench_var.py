"""Speed of Monte Carlo VaR: 100,000 scenarios of 500 assets, VaR/ES and the Euler component
VaR of every position (target: under 1 s on the 2-core reference machine).

Run with timings: ``.venv/bin/pytest bench/bench_var.py --benchmark-enable``. In the test
suite it runs once with timings off and still checks the result against the closed form.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hftcore.risk import var as risk_var

Benchmark = Any
ASSETS = 500
SCENARIOS = 100_000
FACTORS = 10


@pytest.fixture(scope="module")
def book() -> dict[str, Any]:
    """A factor-model covariance (10 factors + idiosyncratic risk) of 500 assets and a
    long/short book of money positions."""
    rng = np.random.default_rng(5)
    loadings = rng.normal(0.0, 0.006, (ASSETS, FACTORS))
    covariance = loadings @ loadings.T + np.diag(rng.uniform(0.005, 0.02, ASSETS) ** 2)
    return {
        "mean": rng.normal(0.0003, 0.0002, ASSETS),
        "covariance": covariance,
        "positions": rng.normal(10_000.0, 20_000.0, ASSETS),
    }


def _monte_carlo_with_components(book: dict[str, Any]) -> risk_var.ComponentVar:
    simulated = risk_var.monte_carlo_scenarios(
        book["mean"], book["covariance"], book["positions"], scenarios=SCENARIOS, seed=9
    )
    return risk_var.component_var_scenarios(simulated, confidence=0.99)


def test_monte_carlo_var_and_component_var(benchmark: Benchmark, book: dict[str, Any]) -> None:
    result = benchmark(_monte_carlo_with_components, book)
    positions, covariance, mean = book["positions"], book["covariance"], book["mean"]
    deviation = float(np.sqrt(positions @ covariance @ positions))
    closed_form_var = -(float(mean @ positions) - 2.3263478740408408 * deviation)
    assert result.var == pytest.approx(closed_form_var, rel=0.02)
    assert result.component.sum() == pytest.approx(result.var, rel=1e-9)
    assert result.component_es.sum() == pytest.approx(result.expected_shortfall, rel=1e-9)
    euler = positions * (-mean + 2.3263478740408408 * (covariance @ positions) / deviation)
    np.testing.assert_allclose(result.component, euler, atol=0.02 * closed_form_var)
