"""Value at Risk and Expected Shortfall of a position vector; their decomposition; backtests.

Conventions (see ``docs/risk.md``):

* ``returns`` is a ``T x N`` matrix of simple per-period returns of ``N`` assets (a single
  series is one column); ``positions`` is the money held in each asset (negative: short), in
  one currency. The portfolio's P&L in a period is ``returns @ positions``.
* VaR and ES are **losses**, reported as positive money: ``VaR_c`` is the loss exceeded with
  probability ``1 - c``, ``ES_c`` the mean loss in that tail. A portfolio whose tail is a gain
  has a negative VaR.
* ``horizon`` is a whole number of periods. Historical VaR uses overlapping ``horizon``-period
  compounded returns; parametric and Monte Carlo methods scale the mean by ``h`` and the
  covariance by ``h`` (independent periods); filtered historical simulation simulates the
  GARCH variance path step by step.
* Quantiles are NumPy's linear interpolation; the tail of a sample is every P&L at or below
  the VaR quantile (as empyrical's ``conditional_value_at_risk``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt
from scipy import integrate, stats

from hftcore.errors import InvalidValue
from hftcore.risk import _checks as checks

__all__ = [
    "ComponentVar",
    "CoverageTest",
    "FilteredSimulation",
    "ScenarioSet",
    "VarEstimate",
    "christoffersen_test",
    "component_var_parametric",
    "component_var_scenarios",
    "cornish_fisher_var",
    "filtered_historical_var",
    "historical_var",
    "horizon_returns",
    "kupiec_test",
    "monte_carlo_scenarios",
    "monte_carlo_var",
    "parametric_var",
    "portfolio_pnl",
    "rolling_historical_var",
    "scenario_var",
    "var_exceptions",
]

FloatArray = checks.FloatArray
ArrayLike = Sequence[float] | Sequence[Sequence[float]] | npt.NDArray[np.floating]
Distribution = Literal["normal", "student_t"]


class VarEstimate(NamedTuple):
    """A VaR and the Expected Shortfall beyond it, as positive losses in money."""

    var: float
    expected_shortfall: float
    confidence: float
    horizon: int
    method: str


class ComponentVar(NamedTuple):
    """Euler decomposition of a VaR: ``component`` sums to ``var``; ``marginal[i]`` is the
    change of VaR per unit of money added to position ``i``; ``component_es`` sums to ``es``."""

    var: float
    expected_shortfall: float
    marginal: FloatArray
    component: FloatArray
    component_es: FloatArray


class ScenarioSet(NamedTuple):
    """Simulated P&L scenarios; ``asset_returns(rows)`` recomputes the per-asset returns of
    chosen scenarios (for the decomposition) without keeping every one in memory."""

    pnl: FloatArray
    positions: FloatArray
    standard_normals: npt.NDArray[np.float32]
    mixing: FloatArray
    mean: FloatArray
    cholesky: FloatArray
    antithetic: bool

    def asset_returns(self, rows: npt.NDArray[np.intp]) -> FloatArray:
        half = self.standard_normals.shape[0]
        base = rows % half if self.antithetic else rows
        sign = np.where(rows >= half, -1.0, 1.0) if self.antithetic else 1.0
        draws = self.standard_normals[base].astype(np.float64) * np.reshape(sign, (-1, 1))
        shocks = draws @ self.cholesky.T
        result: FloatArray = self.mean + shocks * self.mixing[rows, np.newaxis]
        return result


class CoverageTest(NamedTuple):
    """A likelihood-ratio backtest: the statistic, its chi-squared degrees of freedom and
    p-value, and what was counted (``reject`` at the test's significance level)."""

    statistic: float
    degrees_of_freedom: int
    p_value: float
    exceptions: int
    observations: int
    reject: bool


class FilteredSimulation(NamedTuple):
    """What filtered historical simulation fitted: per asset the GARCH(1,1) parameters (in
    percent returns, arch's scale) and the one-step-ahead conditional volatility (fraction)."""

    estimate: VarEstimate
    mu: FloatArray
    omega: FloatArray
    alpha: FloatArray
    beta: FloatArray
    next_volatility: FloatArray


# --- validation ------------------------------------------------------------------------------


def _inputs(returns: ArrayLike, positions: ArrayLike) -> tuple[FloatArray, FloatArray]:
    matrix = checks.float_matrix("returns", returns)
    if (matrix < -1.0).any():
        row, column = np.argwhere(matrix < -1.0)[0]
        raise InvalidValue(
            "RETURN_BELOW_MINUS_ONE",
            f"returns[{row}, {column}] is {matrix[row, column]!r}; an asset cannot lose > 100 %",
        )
    weights = checks.float_series("positions", positions)
    if weights.size != matrix.shape[1]:
        raise InvalidValue(
            "LENGTH_MISMATCH",
            f"positions has {weights.size} values but returns has {matrix.shape[1]} columns",
        )
    return matrix, weights


def _confidence(confidence: float) -> float:
    return checks.probability("confidence", confidence, low=0.5)


def _enough(observations: int, confidence: float, what: str) -> None:
    if observations * (1.0 - confidence) < 1.0:
        raise InvalidValue(
            "TOO_FEW_OBSERVATIONS",
            f"{observations} {what} leave no tail at confidence {confidence}; "
            f"need at least {math.ceil(1.0 / (1.0 - confidence))}",
        )


# --- P&L and the sample tail -----------------------------------------------------------------


def portfolio_pnl(returns: ArrayLike, positions: ArrayLike) -> FloatArray:
    """The P&L of ``positions`` (money per asset) in each period: ``returns @ positions``."""
    matrix, weights = _inputs(returns, positions)
    result: FloatArray = matrix @ weights
    return result


def horizon_returns(returns: ArrayLike, horizon: int) -> FloatArray:
    """Overlapping ``horizon``-period compounded returns ``prod(1 + r) - 1`` of each column
    (``T - horizon + 1`` rows)."""
    matrix = checks.float_matrix("returns", returns)
    steps = checks.positive_int("horizon", horizon)
    if steps > matrix.shape[0]:
        raise InvalidValue(
            "TOO_FEW_OBSERVATIONS", f"horizon {steps} is longer than the {matrix.shape[0]} rows"
        )
    if steps == 1:
        return matrix
    growth = np.log1p(matrix)
    cumulative = np.vstack([np.zeros((1, matrix.shape[1])), np.cumsum(growth, axis=0)])
    result: FloatArray = np.expm1(cumulative[steps:] - cumulative[:-steps])
    return result


def _tail(pnl: FloatArray, confidence: float) -> tuple[float, float, npt.NDArray[np.bool_]]:
    threshold = float(np.quantile(pnl, 1.0 - confidence))
    in_tail = pnl <= threshold
    return -threshold, -float(np.mean(pnl[in_tail])), in_tail


def scenario_var(
    pnl: ArrayLike, *, confidence: float = 0.99, horizon: int = 1, method: str = "scenarios"
) -> VarEstimate:
    """VaR and ES of a sample of P&L outcomes (historical or simulated), each a loss in money."""
    outcomes = checks.float_series("pnl", pnl)
    level = _confidence(confidence)
    _enough(outcomes.size, level, "scenarios")
    var, shortfall, _ = _tail(outcomes, level)
    return VarEstimate(var, shortfall, level, checks.positive_int("horizon", horizon), method)


def historical_var(
    returns: ArrayLike, positions: ArrayLike, *, confidence: float = 0.99, horizon: int = 1
) -> VarEstimate:
    """Historical-simulation VaR/ES: the empirical quantile of the P&L the positions would have
    made over every (overlapping) ``horizon``-period window of ``returns``."""
    matrix, weights = _inputs(returns, positions)
    pnl = horizon_returns(matrix, horizon) @ weights
    return scenario_var(pnl, confidence=confidence, horizon=horizon, method="historical")


def rolling_historical_var(pnl: ArrayLike, *, window: int, confidence: float = 0.99) -> FloatArray:
    """One-period historical VaR forecasts from the previous ``window`` P&L values: element
    ``t`` is the VaR for period ``t`` (``nan`` for the first ``window`` periods), ready for
    :func:`var_exceptions` and the coverage tests."""
    outcomes = checks.float_series("pnl", pnl)
    length = checks.positive_int("window", window)
    level = _confidence(confidence)
    _enough(length, level, "observations per window")
    forecasts = np.full(outcomes.size, np.nan)
    if outcomes.size > length:
        windows = np.lib.stride_tricks.sliding_window_view(outcomes[:-1], length)
        forecasts[length:] = -np.quantile(windows, 1.0 - level, axis=1)
    return forecasts


# --- parametric ------------------------------------------------------------------------------


def _moments(pnl: FloatArray) -> tuple[float, float]:
    if pnl.size < 2:
        raise InvalidValue("TOO_FEW_OBSERVATIONS", "a parametric VaR needs at least 2 periods")
    return float(np.mean(pnl)), float(np.std(pnl, ddof=1))


def parametric_var(
    returns: ArrayLike, positions: ArrayLike, *, confidence: float = 0.99, horizon: int = 1
) -> VarEstimate:
    """Normal (delta-normal) VaR/ES of the P&L: with ``m, s`` its sample mean and deviation
    over ``h`` periods (``m h``, ``s sqrt(h)``) and ``z = Phi^-1(1 - c)``:
    ``VaR = -(m + z s)``, ``ES = -(m - s phi(z) / (1 - c))``."""
    mean, deviation = _moments(portfolio_pnl(returns, positions))
    level = _confidence(confidence)
    steps = checks.positive_int("horizon", horizon)
    mean, deviation = mean * steps, deviation * math.sqrt(steps)
    z = float(stats.norm.ppf(1.0 - level))
    var = -(mean + z * deviation)
    shortfall = -(mean - deviation * float(stats.norm.pdf(z)) / (1.0 - level))
    return VarEstimate(var, shortfall, level, steps, "normal")


def _cornish_fisher_quantile(
    z: FloatArray | float, skewness: float, excess_kurtosis: float
) -> FloatArray:
    z = np.asarray(z, dtype=np.float64)
    result: FloatArray = (
        z
        + (z**2 - 1.0) * skewness / 6.0
        + (z**3 - 3.0 * z) * excess_kurtosis / 24.0
        - (2.0 * z**3 - 5.0 * z) * skewness**2 / 36.0
    )
    return result


def cornish_fisher_var(
    returns: ArrayLike, positions: ArrayLike, *, confidence: float = 0.99, horizon: int = 1
) -> VarEstimate:
    """Modified (Cornish-Fisher) VaR: the normal quantile ``z`` corrected by the P&L's sample
    skewness ``S`` and excess kurtosis ``K`` (unbiased estimators; over ``h`` independent
    periods ``S / sqrt(h)``, ``K / h``):
    ``z_cf = z + (z^2 - 1) S / 6 + (z^3 - 3 z) K / 24 - (2 z^3 - 5 z) S^2 / 36``,
    ``VaR = -(m + z_cf s)``. ES averages the corrected quantile over the tail,
    ``ES = -(m + s / (1 - c) * integral_0^(1-c) z_cf(Phi^-1(u)) du``, by adaptive quadrature."""
    pnl = portfolio_pnl(returns, positions)
    if pnl.size < 4:
        raise InvalidValue("TOO_FEW_OBSERVATIONS", "Cornish-Fisher VaR needs at least 4 periods")
    mean, deviation = _moments(pnl)
    level = _confidence(confidence)
    steps = checks.positive_int("horizon", horizon)
    if deviation == 0.0:
        return VarEstimate(-mean * steps, -mean * steps, level, steps, "cornish_fisher")
    skewness = float(stats.skew(pnl, bias=False)) / math.sqrt(steps)
    kurtosis = float(stats.kurtosis(pnl, fisher=True, bias=False)) / steps
    mean, deviation = mean * steps, deviation * math.sqrt(steps)
    z = float(stats.norm.ppf(1.0 - level))
    var = -(mean + float(_cornish_fisher_quantile(z, skewness, kurtosis)) * deviation)

    def corrected(u: float) -> float:
        return float(_cornish_fisher_quantile(float(stats.norm.ppf(u)), skewness, kurtosis))

    tail_integral, _ = integrate.quad(corrected, 0.0, 1.0 - level, limit=200)
    shortfall = -(mean + deviation * tail_integral / (1.0 - level))
    return VarEstimate(var, shortfall, level, steps, "cornish_fisher")


def component_var_parametric(
    returns: ArrayLike, positions: ArrayLike, *, confidence: float = 0.99, horizon: int = 1
) -> ComponentVar:
    """Delta-normal Euler decomposition from the sample mean ``mu`` and covariance ``S`` of
    the asset returns: with ``s_p = sqrt(w' S w h)``,
    ``marginal_i = -mu_i h - z (S w)_i h / s_p``, ``component_i = w_i marginal_i``; the
    components sum to the normal VaR (and ES, with ``phi(z) / (1 - c)`` in place of ``-z``)."""
    matrix, weights = _inputs(returns, positions)
    if matrix.shape[0] < 2:
        raise InvalidValue("TOO_FEW_OBSERVATIONS", "a covariance needs at least 2 periods")
    level = _confidence(confidence)
    steps = checks.positive_int("horizon", horizon)
    mean = matrix.mean(axis=0) * steps
    covariance = np.atleast_2d(np.cov(matrix, rowvar=False)) * steps
    exposure = covariance @ weights
    deviation = math.sqrt(max(float(weights @ exposure), 0.0))
    if deviation == 0.0 or np.ptp(matrix @ weights) == 0.0:
        raise InvalidValue("ZERO_VARIANCE", "the portfolio has no variance to decompose")
    z = float(stats.norm.ppf(1.0 - level))
    tail_factor = float(stats.norm.pdf(z)) / (1.0 - level)
    marginal = -mean - z * exposure / deviation
    marginal_es = -mean + tail_factor * exposure / deviation
    component = weights * marginal
    component_es = weights * marginal_es
    return ComponentVar(
        float(component.sum()), float(component_es.sum()), marginal, component, component_es
    )


# --- Monte Carlo -----------------------------------------------------------------------------


def _covariance_factor(covariance: FloatArray) -> FloatArray:
    """A lower-triangular ``L`` with ``L L' = covariance``; a positive semi-definite matrix
    (collinear assets) falls back to its eigen-decomposition."""
    try:
        return np.asarray(np.linalg.cholesky(covariance), dtype=np.float64)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(covariance)
        if values.min() < -1e-10 * max(values.max(), 1e-300):
            raise InvalidValue(
                "NOT_POSITIVE_SEMIDEFINITE", "covariance has a negative eigenvalue"
            ) from None
        root: FloatArray = vectors * np.sqrt(np.clip(values, 0.0, None))
        return root


def monte_carlo_scenarios(
    mean: ArrayLike,
    covariance: ArrayLike,
    positions: ArrayLike,
    *,
    scenarios: int = 100_000,
    distribution: Distribution = "normal",
    degrees_of_freedom: float = 5.0,
    horizon: int = 1,
    seed: int | None = None,
    antithetic: bool = True,
) -> ScenarioSet:
    """Simulated P&L of ``positions`` under returns with the given per-period ``mean`` and
    ``covariance`` over ``horizon`` periods (``mean h``, ``covariance h``): multivariate
    normal, or multivariate Student-t with ``degrees_of_freedom`` (> 2) scaled to the same
    covariance, ``r = mu + L z sqrt((nu - 2) / W)``, ``W ~ chi2(nu)``.

    Standard normals are drawn in float32 (the sampling error, ~1/sqrt(scenarios), dwarfs their
    rounding) and, with ``antithetic``, each draw ``z`` is used again as ``-z``: half the draws
    and a symmetric sample. The portfolio P&L of every scenario is ``z . (L' w)`` in float64;
    per-asset returns are rebuilt only for the scenarios a decomposition asks for."""
    means = checks.float_series("mean", mean)
    cov = checks.float_matrix("covariance", covariance)
    weights = checks.float_series("positions", positions)
    if cov.shape != (means.size, means.size) or weights.size != means.size:
        raise InvalidValue(
            "LENGTH_MISMATCH",
            f"mean has {means.size} assets, covariance {cov.shape}, positions {weights.size}",
        )
    if not np.allclose(cov, cov.T, rtol=1e-10, atol=0.0):
        raise InvalidValue("NOT_SYMMETRIC", "covariance must be symmetric")
    count = checks.positive_int("scenarios", scenarios)
    steps = checks.positive_int("horizon", horizon)
    if antithetic and count % 2:
        raise InvalidValue("ODD_SCENARIOS", "antithetic sampling needs an even scenario count")
    if distribution not in ("normal", "student_t"):
        raise InvalidValue("UNKNOWN_DISTRIBUTION", f"distribution {distribution!r} is unknown")
    nu = checks.number("degrees_of_freedom", degrees_of_freedom)
    if distribution == "student_t" and nu <= 2.0:
        raise InvalidValue("OUT_OF_RANGE", "degrees_of_freedom must be > 2 (finite variance)")
    factor = _covariance_factor(cov * steps)
    loadings = factor.T @ weights
    rng = np.random.default_rng(seed)
    draws = count // 2 if antithetic else count
    normals = rng.standard_normal((draws, means.size), dtype=np.float32)
    # einsum accumulates in float64 without a float64 copy of the draws, on one thread (BLAS
    # threads gain nothing on a matrix-vector product and spin when the cores are busy)
    core: FloatArray = np.einsum("ij,j->i", normals, loadings)
    if antithetic:
        core = np.concatenate([core, -core])
    if distribution == "student_t":
        mixing = np.sqrt((nu - 2.0) / rng.chisquare(nu, draws))
        if antithetic:
            mixing = np.concatenate([mixing, mixing])
    else:
        mixing = np.ones(count)
    pnl = float(means @ weights) * steps + core * mixing
    return ScenarioSet(pnl, weights, normals, mixing, means * steps, factor, antithetic)


def monte_carlo_var(
    returns: ArrayLike,
    positions: ArrayLike,
    *,
    confidence: float = 0.99,
    horizon: int = 1,
    scenarios: int = 100_000,
    distribution: Distribution = "normal",
    degrees_of_freedom: float | None = None,
    seed: int | None = None,
) -> VarEstimate:
    """Monte Carlo VaR/ES from the sample mean and covariance of ``returns``. For
    ``student_t`` without ``degrees_of_freedom``, it is fitted to the portfolio's P&L by
    maximum likelihood (``scipy.stats.t.fit``), floored at 2.5."""
    matrix, weights = _inputs(returns, positions)
    if matrix.shape[0] < 2:
        raise InvalidValue("TOO_FEW_OBSERVATIONS", "a covariance needs at least 2 periods")
    level = _confidence(confidence)
    count = checks.positive_int("scenarios", scenarios)
    _enough(count, level, "scenarios")
    nu = 5.0
    if distribution == "student_t":
        if degrees_of_freedom is None:
            fitted, _, _ = stats.t.fit(matrix @ weights)
            nu = max(float(fitted), 2.5)
        else:
            nu = checks.number("degrees_of_freedom", degrees_of_freedom)
    simulated = monte_carlo_scenarios(
        matrix.mean(axis=0),
        np.atleast_2d(np.cov(matrix, rowvar=False)),
        weights,
        scenarios=count,
        distribution=distribution,
        degrees_of_freedom=nu,
        horizon=horizon,
        seed=seed,
        antithetic=count % 2 == 0,
    )
    return scenario_var(
        simulated.pnl, confidence=level, horizon=horizon, method=f"monte_carlo_{distribution}"
    )


def component_var_scenarios(
    simulated: ScenarioSet, *, confidence: float = 0.99, bandwidth: float = 0.0025
) -> ComponentVar:
    """Euler decomposition from scenarios: ``component_i = -E[w_i r_i | P&L = -VaR]``,
    estimated by the mean contribution of the scenarios whose P&L ranks within ``bandwidth``
    (a fraction of the scenarios, each side) of the VaR quantile, rescaled to sum to the VaR;
    ``component_es_i = -E[w_i r_i | P&L <= -VaR]`` sums to the ES exactly. ``marginal`` is
    ``component / w`` (``nan`` where a position is 0)."""
    level = _confidence(confidence)
    width = checks.probability("bandwidth", bandwidth, high=0.5)
    pnl = simulated.pnl
    _enough(pnl.size, level, "scenarios")
    var, shortfall, in_tail = _tail(pnl, level)
    order = np.argsort(pnl, kind="stable")
    rank = (pnl.size - 1) * (1.0 - level)
    half = max(1, round(width * pnl.size))
    low = max(0, math.floor(rank) - half + 1)
    near = order[low : math.ceil(rank) + half]
    near_contribution = -(simulated.asset_returns(near) * simulated.positions).mean(axis=0)
    total = float(near_contribution.sum())
    component = near_contribution * (var / total) if total != 0.0 else near_contribution
    tail_rows = np.flatnonzero(in_tail)
    component_es = -(simulated.asset_returns(tail_rows) * simulated.positions).mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        marginal = np.where(simulated.positions != 0.0, component / simulated.positions, np.nan)
    return ComponentVar(var, shortfall, marginal, component, component_es)


# --- filtered historical simulation ----------------------------------------------------------


def filtered_historical_var(
    returns: ArrayLike,
    positions: ArrayLike,
    *,
    confidence: float = 0.99,
    horizon: int = 1,
    scenarios: int = 10_000,
    seed: int | None = None,
) -> FilteredSimulation:
    """Filtered historical simulation (Barone-Adesi et al. 1999): a GARCH(1,1) with constant
    mean is fitted to each asset by the ``arch`` package (returns in percent); the
    standardised residuals ``e_t`` of every date are the shocks, drawn whole-date so the
    cross-asset dependence of the day is kept, and rescaled by each asset's simulated
    conditional volatility, ``r = mu + sigma_t e``, ``sigma_(t+1)^2 = omega + alpha (sigma_t
    e)^2 + beta sigma_t^2``. For ``horizon`` 1 every historical date is one scenario (no
    randomness); for longer horizons ``scenarios`` paths are bootstrapped and their one-period
    returns summed (as arch's simulated forecast paths aggregate)."""
    try:
        from arch import arch_model
    except ImportError:  # pragma: no cover - the `risk` extra is documented
        raise InvalidValue(
            "MISSING_DEPENDENCY", "filtered historical simulation needs `pip install hftcore[risk]`"
        ) from None
    matrix, weights = _inputs(returns, positions)
    level = _confidence(confidence)
    steps = checks.positive_int("horizon", horizon)
    count = checks.positive_int("scenarios", scenarios)
    if matrix.shape[0] < 100:
        raise InvalidValue("TOO_FEW_OBSERVATIONS", "a GARCH fit needs at least 100 periods")
    assets = matrix.shape[1]
    fitted = np.empty((4, assets))
    residuals = np.empty_like(matrix)
    last_variance = np.empty(assets)
    for column in range(assets):
        model = arch_model(100.0 * matrix[:, column], mean="Constant", vol="GARCH", p=1, q=1)
        result = model.fit(disp="off")
        params = result.params
        fitted[:, column] = [params["mu"], params["omega"], params["alpha[1]"], params["beta[1]"]]
        residuals[:, column] = result.std_resid
        forecast = result.forecast(horizon=1, reindex=False)
        last_variance[column] = float(forecast.variance.to_numpy()[-1, 0])
    mu, omega, alpha, beta = fitted
    if steps == 1:
        simulated = (mu + np.sqrt(last_variance) * residuals) / 100.0
        _enough(simulated.shape[0], level, "historical dates")
    else:
        _enough(count, level, "scenarios")
        rng = np.random.default_rng(seed)
        variance = np.broadcast_to(last_variance, (count, assets)).copy()
        total = np.zeros((count, assets))
        for _ in range(steps):
            shocks = residuals[rng.integers(0, matrix.shape[0], count)]
            innovation = np.sqrt(variance) * shocks
            total += mu + innovation
            variance = omega + alpha * innovation**2 + beta * variance
        simulated = total / 100.0
    estimate = scenario_var(
        simulated @ weights, confidence=level, horizon=steps, method="filtered_historical"
    )
    return FilteredSimulation(estimate, mu, omega, alpha, beta, np.sqrt(last_variance) / 100.0)


# --- backtests -------------------------------------------------------------------------------


def var_exceptions(pnl: ArrayLike, var_forecasts: ArrayLike) -> npt.NDArray[np.bool_]:
    """``pnl[t] < -var[t]`` for each period with a forecast (``nan`` forecasts are dropped)."""
    outcomes = checks.float_series("pnl", pnl)
    forecasts = checks.float_array("var_forecasts", var_forecasts)
    if forecasts.shape != outcomes.shape:
        raise InvalidValue(
            "LENGTH_MISMATCH", f"var_forecasts has {forecasts.size} values, pnl {outcomes.size}"
        )
    known = ~np.isnan(forecasts)
    checks.require_finite("var_forecasts", forecasts[known])
    result: npt.NDArray[np.bool_] = outcomes[known] < -forecasts[known]
    return result


def _exceptions(values: object) -> npt.NDArray[np.bool_]:
    array = np.asarray(values)
    if array.ndim != 1 or array.size == 0 or array.dtype != np.bool_:
        raise InvalidValue(
            "NOT_BOOLEAN", "exceptions must be a non-empty one-dimensional boolean array"
        )
    return array


def _bernoulli_loglik(hits: int, total: int, rate: float) -> float:
    """``hits log(rate) + (total - hits) log(1 - rate)`` with ``0 log 0 = 0``."""
    result = 0.0
    if hits:
        result += hits * math.log(rate)
    if total - hits:
        result += (total - hits) * math.log1p(-rate)
    return result


def kupiec_test(
    exceptions: object, *, confidence: float = 0.99, significance: float = 0.05
) -> CoverageTest:
    """Kupiec's proportion-of-failures test: with ``x`` exceptions in ``T`` periods and
    expected rate ``p = 1 - c``, ``LR = -2 [ln L(p) - ln L(x / T)]`` ~ chi2(1)."""
    hits = _exceptions(exceptions)
    level = _confidence(confidence)
    alpha = checks.probability("significance", significance)
    total, count = hits.size, int(hits.sum())
    expected = 1.0 - level
    statistic = -2.0 * (
        _bernoulli_loglik(count, total, expected) - _bernoulli_loglik(count, total, count / total)
    )
    statistic = max(statistic, 0.0)
    p_value = float(stats.chi2.sf(statistic, 1))
    return CoverageTest(statistic, 1, p_value, count, total, p_value < alpha)


def christoffersen_test(
    exceptions: object,
    *,
    confidence: float = 0.99,
    significance: float = 0.05,
    conditional: bool = True,
) -> CoverageTest:
    """Christoffersen's independence test (first-order Markov exceptions against independent
    ones, ~ chi2(1)), or with ``conditional`` the conditional-coverage test
    ``LR_cc = LR_pof + LR_ind`` ~ chi2(2). Transition counts ``n_ij`` run over consecutive
    pairs; ``pi_01 = n_01 / (n_00 + n_01)``, ``pi_11 = n_11 / (n_10 + n_11)``."""
    hits = _exceptions(exceptions)
    level = _confidence(confidence)
    alpha = checks.probability("significance", significance)
    if hits.size < 2:
        raise InvalidValue("TOO_FEW_OBSERVATIONS", "the independence test needs 2 periods")
    previous, current = hits[:-1], hits[1:]
    n01 = int(np.sum(~previous & current))
    n00 = int(np.sum(~previous & ~current))
    n11 = int(np.sum(previous & current))
    n10 = int(np.sum(previous & ~current))
    from_zero, from_one = n00 + n01, n10 + n11
    pooled = (n01 + n11) / (from_zero + from_one)
    restricted = _bernoulli_loglik(n01 + n11, from_zero + from_one, pooled)
    unrestricted = (_bernoulli_loglik(n01, from_zero, n01 / from_zero) if from_zero else 0.0) + (
        _bernoulli_loglik(n11, from_one, n11 / from_one) if from_one else 0.0
    )
    statistic = max(-2.0 * (restricted - unrestricted), 0.0)
    freedom = 1
    if conditional:
        statistic += kupiec_test(hits, confidence=level).statistic
        freedom = 2
    p_value = float(stats.chi2.sf(statistic, freedom))
    return CoverageTest(statistic, freedom, p_value, int(hits.sum()), hits.size, p_value < alpha)
