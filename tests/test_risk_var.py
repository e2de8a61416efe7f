"""hftcore.risk.var on real bundled data against independent references (empyrical, quantstats,
scipy.stats, arch), decomposition identities, backtests and bad input.

Tolerances (docs/risk.md): closed forms and sample quantiles agree to a relative 1e-9;
Monte Carlo estimates with 200,000 scenarios agree with their closed form to 2 % (the sampling
error of a 99 % quantile at that size is ~0.5 %); bootstrapped GARCH paths (ours and arch's,
different random streams) to 4 %.
"""

from __future__ import annotations

import math

import empyrical
import numpy as np
import pandas as pd
import pytest
import quantstats as qs
from arch import arch_model
from hftcore.errors import InvalidValue
from hftcore.risk import var as risk_var
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from tests import risk_data

EXACT = 1e-9
MONTE_CARLO = 0.02


@pytest.fixture(scope="module")
def recent() -> tuple[np.ndarray, np.ndarray]:
    """The last 2,000 days of the 20 stocks and a long/short book of money positions."""
    _, returns, _ = risk_data.stocks()
    positions = np.linspace(-50_000.0, 150_000.0, returns.shape[1])
    return returns[-2000:], positions


def test_historical_var_and_es_match_empyrical_on_sp500() -> None:
    returns = risk_data.sp500()
    for confidence in (0.95, 0.99, 0.975):
        estimate = risk_var.historical_var(returns, [1.0], confidence=confidence)
        cutoff = 1.0 - confidence
        assert estimate.var == pytest.approx(
            -empyrical.value_at_risk(returns, cutoff=cutoff), rel=EXACT
        )
        assert estimate.expected_shortfall == pytest.approx(
            -empyrical.conditional_value_at_risk(returns, cutoff=cutoff), rel=EXACT
        )
        assert estimate.expected_shortfall > estimate.var > 0.0


def test_historical_var_scales_with_the_position_and_flips_for_a_short() -> None:
    returns = risk_data.sp500()
    long = risk_var.historical_var(returns, [2_000_000.0])
    short = risk_var.historical_var(returns, [-2_000_000.0])
    unit = risk_var.historical_var(returns, [1.0])
    assert long.var == pytest.approx(2_000_000.0 * unit.var, rel=EXACT)
    # a short loses on the upper tail: -quantile of -pnl
    assert short.var == pytest.approx(2_000_000.0 * float(np.quantile(returns, 0.99)), rel=EXACT)


def test_historical_horizon_uses_overlapping_compounded_returns() -> None:
    returns = risk_data.sp500()[-1000:]
    ten_day = pd.Series(1.0 + returns).rolling(10).apply(np.prod, raw=True).dropna() - 1.0
    estimate = risk_var.historical_var(returns, [1.0], horizon=10)
    assert estimate.var == pytest.approx(-float(np.quantile(ten_day.to_numpy(), 0.01)), rel=EXACT)
    assert estimate.horizon == 10


def test_parametric_var_matches_quantstats_and_scipy(recent: tuple[np.ndarray, np.ndarray]) -> None:
    returns, positions = recent
    pnl = returns @ positions
    series = pd.Series(pnl, index=pd.bdate_range("2015-01-01", periods=pnl.size))
    estimate = risk_var.parametric_var(returns, positions, confidence=0.99)
    reference_var = -qs.stats.value_at_risk(series, sigma=1, confidence=0.99, prepare_returns=False)
    assert estimate.var == pytest.approx(reference_var, rel=EXACT)
    mean, deviation = pnl.mean(), pnl.std(ddof=1)
    cut = stats.norm.ppf(0.01, mean, deviation)
    tail_mean = stats.norm.expect(lambda x: x, loc=mean, scale=deviation, ub=cut, conditional=True)
    assert estimate.expected_shortfall == pytest.approx(-tail_mean, rel=1e-7)


def test_parametric_horizon_scales_mean_by_h_and_deviation_by_sqrt_h() -> None:
    returns = risk_data.sp500()
    one = risk_var.parametric_var(returns, [1.0], confidence=0.99, horizon=1)
    ten = risk_var.parametric_var(returns, [1.0], confidence=0.99, horizon=10)
    mean, deviation = returns.mean(), returns.std(ddof=1)
    assert ten.var == pytest.approx(
        -stats.norm.ppf(0.01, 10 * mean, math.sqrt(10) * deviation), rel=EXACT
    )
    assert ten.var > one.var


def test_cornish_fisher_against_textbook_formula_with_pandas_moments() -> None:
    returns = risk_data.sp500()[-2500:]
    series = pd.Series(returns)
    skew, kurt = float(series.skew()), float(series.kurt())  # unbiased, excess
    z = stats.norm.ppf(0.05)
    z_cf = (
        z + (z**2 - 1) * skew / 6 + (z**3 - 3 * z) * kurt / 24 - (2 * z**3 - 5 * z) * skew**2 / 36
    )
    estimate = risk_var.cornish_fisher_var(returns, [1.0], confidence=0.95)
    assert estimate.var == pytest.approx(-(series.mean() + z_cf * series.std()), rel=EXACT)
    # ES: the tail mean of the corrected quantile function, checked by a fine midpoint rule
    grid = (np.arange(200_000) + 0.5) / 200_000 * 0.05
    zs = stats.norm.ppf(grid)
    corrected = (
        zs
        + (zs**2 - 1) * skew / 6
        + (zs**3 - 3 * zs) * kurt / 24
        - (2 * zs**3 - 5 * zs) * skew**2 / 36
    )
    expected_es = -(series.mean() + series.std() * corrected.mean())
    assert estimate.expected_shortfall == pytest.approx(expected_es, rel=1e-4)


def test_cornish_fisher_equals_normal_for_symmetric_mesokurtic_sample() -> None:
    # the normal quantiles of an even grid: zero sample skewness, excess kurtosis near 0
    sample = stats.norm.ppf((np.arange(1, 20_001) - 0.5) / 20_000) * 0.01
    cf = risk_var.cornish_fisher_var(sample, [1.0], confidence=0.99)
    normal = risk_var.parametric_var(sample, [1.0], confidence=0.99)
    assert cf.var == pytest.approx(normal.var, rel=0.01)


def test_monte_carlo_normal_converges_to_the_parametric_var(
    recent: tuple[np.ndarray, np.ndarray],
) -> None:
    returns, positions = recent
    simulated = risk_var.monte_carlo_var(returns, positions, scenarios=200_000, seed=7)
    normal = risk_var.parametric_var(returns, positions)
    assert simulated.var == pytest.approx(normal.var, rel=MONTE_CARLO)
    assert simulated.expected_shortfall == pytest.approx(normal.expected_shortfall, rel=MONTE_CARLO)
    again = risk_var.monte_carlo_var(returns, positions, scenarios=200_000, seed=7)
    assert again == simulated  # seeded: reproducible


def test_monte_carlo_student_t_matches_scipy_t_quantile_and_tail_mean() -> None:
    returns = risk_data.sp500()
    nu = 4.0
    estimate = risk_var.monte_carlo_var(
        returns,
        [1.0],
        scenarios=200_000,
        distribution="student_t",
        degrees_of_freedom=nu,
        seed=3,
    )
    mean, deviation = returns.mean(), returns.std(ddof=1)
    scale = deviation * math.sqrt((nu - 2) / nu)
    cut = stats.t.ppf(0.01, nu, loc=mean, scale=scale)
    tail = stats.t.expect(lambda x: x, args=(nu,), loc=mean, scale=scale, ub=cut, conditional=True)
    assert estimate.var == pytest.approx(-cut, rel=MONTE_CARLO)
    assert estimate.expected_shortfall == pytest.approx(-tail, rel=MONTE_CARLO)


def test_monte_carlo_student_t_fits_degrees_of_freedom_when_not_given() -> None:
    returns = risk_data.sp500()
    fitted = risk_var.monte_carlo_var(
        returns, [1.0], scenarios=100_000, distribution="student_t", seed=1
    )
    normal = risk_var.parametric_var(returns, [1.0])
    # daily index returns are fat-tailed: the fitted t puts more mass far out than the normal
    assert fitted.expected_shortfall > normal.expected_shortfall


def test_filtered_historical_one_day_matches_arch_directly() -> None:
    returns = risk_data.sp500()[-3000:]
    result = risk_var.filtered_historical_var(returns, [1_000_000.0], confidence=0.99)
    fit = arch_model(100 * returns, mean="Constant", vol="GARCH", p=1, q=1).fit(disp="off")
    forecast = fit.forecast(horizon=1, reindex=False)
    mu = forecast.mean.to_numpy()[-1, 0]
    sigma = math.sqrt(forecast.variance.to_numpy()[-1, 0])
    q = np.quantile(fit.std_resid, 0.01)
    assert result.estimate.var == pytest.approx(-(mu + sigma * q) / 100 * 1_000_000, rel=EXACT)
    assert result.next_volatility[0] == pytest.approx(sigma / 100, rel=EXACT)


def test_filtered_historical_ten_days_agrees_with_arch_bootstrap() -> None:
    returns = risk_data.sp500()[-3000:]
    ours = risk_var.filtered_historical_var(
        returns, [1.0], confidence=0.99, horizon=10, scenarios=40_000, seed=11
    )
    fit = arch_model(100 * returns, mean="Constant", vol="GARCH", p=1, q=1).fit(disp="off")
    forecast = fit.forecast(
        horizon=10,
        method="bootstrap",
        simulations=40_000,
        reindex=False,
        random_state=np.random.RandomState(5),
    )
    paths = forecast.simulations.values[-1]  # simulations x horizon, percent
    reference = -np.quantile(paths.sum(axis=1) / 100, 0.01)
    assert ours.estimate.var == pytest.approx(reference, rel=0.04)


def test_component_var_parametric_is_the_euler_gradient(
    recent: tuple[np.ndarray, np.ndarray],
) -> None:
    returns, positions = recent
    decomposition = risk_var.component_var_parametric(returns, positions, confidence=0.99)
    assert decomposition.var == pytest.approx(
        risk_var.parametric_var(returns, positions).var, rel=EXACT
    )
    assert decomposition.component.sum() == pytest.approx(decomposition.var, rel=EXACT)
    assert decomposition.component_es.sum() == pytest.approx(
        risk_var.parametric_var(returns, positions).expected_shortfall, rel=EXACT
    )
    step = 1.0
    for asset in (0, 7, 19):
        bumped = positions.copy()
        bumped[asset] += step
        numeric = (risk_var.parametric_var(returns, bumped).var - decomposition.var) / step
        assert decomposition.marginal[asset] == pytest.approx(numeric, rel=1e-4)


def test_component_var_from_scenarios_sums_exactly_and_matches_delta_normal(
    recent: tuple[np.ndarray, np.ndarray],
) -> None:
    returns, positions = recent
    simulated = risk_var.monte_carlo_scenarios(
        returns.mean(axis=0), np.cov(returns, rowvar=False), positions, scenarios=200_000, seed=4
    )
    scenarios = risk_var.component_var_scenarios(simulated, confidence=0.99)
    parametric = risk_var.component_var_parametric(returns, positions, confidence=0.99)
    assert scenarios.component.sum() == pytest.approx(scenarios.var, rel=1e-12)
    assert scenarios.component_es.sum() == pytest.approx(scenarios.expected_shortfall, rel=1e-12)
    # per position within 2 % of the total VaR (kernel estimate around the quantile)
    np.testing.assert_allclose(
        scenarios.component, parametric.component, atol=0.02 * parametric.var
    )
    np.testing.assert_allclose(
        scenarios.component_es, parametric.component_es, atol=0.02 * parametric.expected_shortfall
    )
    # the per-asset returns rebuilt for the tail reproduce their scenario P&L
    rows = np.array([0, 5, 150_000, 199_999])
    np.testing.assert_allclose(
        simulated.asset_returns(rows) @ positions, simulated.pnl[rows], rtol=1e-5
    )


def test_kupiec_against_binomial_likelihoods_from_scipy() -> None:
    rng = np.random.default_rng(0)
    hits = rng.random(1000) < 0.02
    x, n = int(hits.sum()), hits.size
    expected = -2 * (stats.binom.logpmf(x, n, 0.01) - stats.binom.logpmf(x, n, x / n))
    test = risk_var.kupiec_test(hits, confidence=0.99)
    assert test.statistic == pytest.approx(expected, rel=EXACT)
    assert test.p_value == pytest.approx(stats.chi2.sf(expected, 1), rel=EXACT)
    assert test.reject  # 2 % exceptions against a 1 % model
    fair = rng.random(5000) < 0.01
    assert not risk_var.kupiec_test(fair, confidence=0.99).reject


def test_christoffersen_detects_clustered_exceptions() -> None:
    hits = np.zeros(1000, dtype=bool)
    hits[[100, 101, 102, 103, 104, 500, 501, 502, 503, 504]] = True  # 1 % but in clusters
    independence = risk_var.christoffersen_test(hits, confidence=0.99, conditional=False)
    previous, current = hits[:-1], hits[1:]
    n01 = np.sum(~previous & current)
    n00 = np.sum(~previous & ~current)
    n11 = np.sum(previous & current)
    n10 = np.sum(previous & ~current)
    pi = (n01 + n11) / (n00 + n01 + n10 + n11)
    restricted = stats.bernoulli.logpmf(current, pi).sum()
    unrestricted = np.where(
        previous,
        stats.bernoulli.logpmf(current, n11 / (n10 + n11)),
        stats.bernoulli.logpmf(current, n01 / (n00 + n01)),
    ).sum()
    assert independence.statistic == pytest.approx(-2 * (restricted - unrestricted), rel=EXACT)
    assert independence.reject
    assert not risk_var.kupiec_test(hits, confidence=0.99).reject  # the count alone looks right
    conditional = risk_var.christoffersen_test(hits, confidence=0.99)
    assert conditional.degrees_of_freedom == 2
    assert conditional.statistic == pytest.approx(
        independence.statistic + risk_var.kupiec_test(hits, confidence=0.99).statistic, rel=EXACT
    )


def test_rolling_var_backtest_on_real_data_flags_the_normal_model() -> None:
    returns = risk_data.sp500()
    forecasts = risk_var.rolling_historical_var(returns, window=500, confidence=0.99)
    assert np.isnan(forecasts[:500]).all()
    assert forecasts[500] == pytest.approx(-np.quantile(returns[:500], 0.01), rel=EXACT)
    hits = risk_var.var_exceptions(returns, forecasts)
    assert hits.size == returns.size - 500
    # historical VaR from a trailing window lags volatility regimes: exceptions cluster
    assert risk_var.christoffersen_test(hits, confidence=0.99, conditional=False).reject


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: risk_var.historical_var([[0.1, 0.2]], [1.0]), "LENGTH_MISMATCH"),
        (lambda: risk_var.historical_var([0.01, float("nan")], [1.0]), "NOT_FINITE"),
        (lambda: risk_var.historical_var([0.01, -1.5], [1.0]), "RETURN_BELOW_MINUS_ONE"),
        (
            lambda: risk_var.historical_var([0.01] * 50, [1.0], confidence=0.99),
            "TOO_FEW_OBSERVATIONS",
        ),
        (lambda: risk_var.historical_var([0.01] * 500, [1.0], confidence=1.0), "OUT_OF_RANGE"),
        (lambda: risk_var.historical_var([0.01] * 500, [1.0], horizon=0), "NON_POSITIVE"),
        (lambda: risk_var.historical_var([0.01] * 500, [1.0], horizon=2.0), "NOT_INTEGER"),
        (lambda: risk_var.parametric_var([0.01], [1.0]), "TOO_FEW_OBSERVATIONS"),
        (lambda: risk_var.historical_var(np.zeros((2, 2, 2)), [1.0, 1.0]), "NOT_TWO_DIMENSIONAL"),
        (
            lambda: risk_var.monte_carlo_scenarios([0, 0], [[1, 2], [2, 1]], [1, 1], seed=1),
            "NOT_POSITIVE_SEMIDEFINITE",
        ),
        (
            lambda: risk_var.monte_carlo_scenarios([0, 0], [[1, 0.5], [0, 1]], [1, 1]),
            "NOT_SYMMETRIC",
        ),
        (lambda: risk_var.monte_carlo_scenarios([0], [[1]], [1], scenarios=101), "ODD_SCENARIOS"),
        (
            lambda: risk_var.monte_carlo_scenarios(
                [0], [[1]], [1], distribution="student_t", degrees_of_freedom=2
            ),
            "OUT_OF_RANGE",
        ),
        (
            lambda: risk_var.monte_carlo_scenarios([0], [[1]], [1], distribution="cauchy"),  # type: ignore[arg-type]
            "UNKNOWN_DISTRIBUTION",
        ),
        (lambda: risk_var.kupiec_test([0, 1, 0]), "NOT_BOOLEAN"),
        (lambda: risk_var.var_exceptions([1.0, 2.0], [1.0]), "LENGTH_MISMATCH"),
        (lambda: risk_var.filtered_historical_var([0.01] * 50, [1.0]), "TOO_FEW_OBSERVATIONS"),
        (
            lambda: risk_var.component_var_parametric([[0.01, 0.02]] * 10, [1.0, 1.0]),
            "ZERO_VARIANCE",
        ),
    ],
)
def test_bad_input_raises_a_coded_error(call: object, code: str) -> None:
    with pytest.raises(InvalidValue) as error:
        call()  # type: ignore[operator]
    assert error.value.code == code


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    scale=st.floats(0.01, 1000.0),
    confidence=st.sampled_from([0.9, 0.95, 0.975, 0.99]),
    horizon=st.integers(1, 5),
)
def test_var_is_positively_homogeneous_and_es_is_beyond_var(
    seed: int, scale: float, confidence: float, horizon: int
) -> None:
    rng = np.random.default_rng(seed)
    returns = rng.standard_t(4, (400, 3)) * 0.01
    positions = rng.normal(0.0, 1e5, 3)
    for method in (
        risk_var.historical_var,
        risk_var.parametric_var,
        risk_var.cornish_fisher_var,
    ):
        base = method(returns, positions, confidence=confidence, horizon=horizon)
        scaled = method(returns, positions * scale, confidence=confidence, horizon=horizon)
        assert scaled.var == pytest.approx(scale * base.var, rel=1e-9, abs=1e-9)
        assert scaled.expected_shortfall == pytest.approx(
            scale * base.expected_shortfall, rel=1e-9, abs=1e-9
        )
        assert base.expected_shortfall >= base.var - 1e-9 * abs(base.var)
    decomposition = risk_var.component_var_parametric(
        returns, positions, confidence=confidence, horizon=horizon
    )
    assert decomposition.component.sum() == pytest.approx(
        risk_var.parametric_var(returns, positions, confidence=confidence, horizon=horizon).var,
        rel=1e-9,
    )
