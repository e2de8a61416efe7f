"""Stress testing: named historical crises, custom shocks, Monte Carlo stress and replays.

A portfolio is a list of :class:`StressPosition`: money held (in the base currency), factor
loadings (an equity's beta to ``equity_us``, ``-duration`` of a bond to ``rates_us_10y``), a
sector and a currency. A :class:`Shock` moves factors, sectors, single assets and currencies;
:func:`apply_shock` prices it:

* local return of a position: its own asset shock if the shock names it, otherwise
  ``sum_f loading_f * factor_f + sector shock``;
* the base-currency P&L ``value * ((1 + local) * (1 + fx) - 1)`` with ``fx`` the move of the
  position's currency against the base currency (``fx`` keys are ISO codes);
* attribution: each factor ``value * loading_f * factor_f``, the sector and asset shocks by
  name, and the currency term ``value * (1 + local) * fx``; the parts sum to the total.

The historical scenarios hold approximate published moves of broad indices over each crisis
window; ``docs/risk.md`` cites the source of every figure. Where the bundled data covers a
window, :func:`replay` revalues the portfolio along the actual daily path instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from functools import cache
from typing import NamedTuple

import msgspec
import numpy as np
import numpy.typing as npt

from hftcore.errors import InvalidValue
from hftcore.risk import _checks as checks
from hftcore.risk import var as risk_var

__all__ = [
    "HISTORICAL_SCENARIOS",
    "LimitBreach",
    "MonteCarloStress",
    "ReplayResult",
    "Shock",
    "StressLimits",
    "StressPosition",
    "StressResult",
    "apply_shock",
    "bundled_series",
    "monte_carlo_stress",
    "replay",
    "run_scenarios",
    "sector_rotation",
]

FloatArray = checks.FloatArray
NS_PER_DAY = 86_400_000_000_000


class StressPosition(msgspec.Struct, frozen=True, kw_only=True):
    """One holding: ``value`` in the base currency (negative: short), its factor
    ``loadings``, ``sector`` and ``currency`` (the base currency when it has no FX risk)."""

    name: str
    value: float
    loadings: dict[str, float] = {}
    sector: str | None = None
    currency: str | None = None


class Shock(msgspec.Struct, frozen=True, kw_only=True):
    """Moves as fractions (``-0.2``: minus 20 %), rate factors in decimal yield change
    (``0.01``: +100 bp). ``start``/``end`` are the ISO dates of a historical window."""

    name: str
    factors: dict[str, float] = {}
    sectors: dict[str, float] = {}
    assets: dict[str, float] = {}
    fx: dict[str, float] = {}
    start: str | None = None
    end: str | None = None
    description: str = ""


class StressLimits(msgspec.Struct, frozen=True, kw_only=True):
    """Losses (positive money) a stress result must stay within; ``None``: not checked."""

    max_loss: float | None = None
    max_position_loss: float | None = None


class LimitBreach(NamedTuple):
    limit: str
    loss: float
    threshold: float
    position: str | None


class StressResult(NamedTuple):
    scenario: str
    pnl: float
    pnl_by_position: dict[str, float]
    pnl_by_factor: dict[str, float]
    breaches: list[LimitBreach]


def _validated(positions: Sequence[StressPosition]) -> list[StressPosition]:
    if not positions:
        raise InvalidValue("EMPTY", "the portfolio has no positions")
    names: set[str] = set()
    for position in positions:
        if not isinstance(position, StressPosition):
            raise InvalidValue("INVALID_POSITION", f"not a StressPosition: {position!r}")
        if position.name in names:
            raise InvalidValue("DUPLICATE_POSITION", f"position {position.name!r} appears twice")
        names.add(position.name)
        checks.number(f"{position.name}.value", position.value)
        for factor, loading in position.loadings.items():
            checks.number(f"{position.name}.loadings[{factor!r}]", loading)
    return list(positions)


def _check_shock(shock: Shock) -> None:
    for group in (shock.factors, shock.sectors, shock.assets, shock.fx):
        for key, move in group.items():
            checks.number(f"{shock.name}[{key!r}]", move)
    for move in (*shock.assets.values(), *shock.fx.values(), *shock.sectors.values()):
        if move < -1.0:
            raise InvalidValue("RETURN_BELOW_MINUS_ONE", f"{shock.name}: a move below -100 %")


def apply_shock(
    positions: Sequence[StressPosition], shock: Shock, *, limits: StressLimits | None = None
) -> StressResult:
    """The P&L of ``positions`` under ``shock`` (see the module docs), by position and by
    factor, and the limits it breaches."""
    book = _validated(positions)
    _check_shock(shock)
    by_position: dict[str, float] = {}
    by_factor: dict[str, float] = {}

    def attribute(key: str, amount: float) -> None:
        if amount:
            by_factor[key] = by_factor.get(key, 0.0) + amount

    for position in book:
        value = position.value
        if position.name in shock.assets:
            local = shock.assets[position.name]
            attribute(f"asset:{position.name}", value * local)
        else:
            local = 0.0
            for factor, loading in position.loadings.items():
                move = loading * shock.factors.get(factor, 0.0)
                local += move
                attribute(factor, value * move)
            if position.sector is not None and position.sector in shock.sectors:
                move = shock.sectors[position.sector]
                local += move
                attribute(f"sector:{position.sector}", value * move)
        fx = shock.fx.get(position.currency, 0.0) if position.currency else 0.0
        attribute(f"fx:{position.currency}", value * (1.0 + local) * fx)
        by_position[position.name] = value * ((1.0 + local) * (1.0 + fx) - 1.0)
    total = float(sum(by_position.values()))
    return StressResult(
        shock.name, total, by_position, by_factor, _breaches(total, by_position, limits)
    )


def _breaches(
    total: float, by_position: Mapping[str, float], limits: StressLimits | None
) -> list[LimitBreach]:
    if limits is None:
        return []
    found: list[LimitBreach] = []
    if limits.max_loss is not None:
        threshold = checks.positive_number("max_loss", limits.max_loss)
        if -total > threshold:
            found.append(LimitBreach("max_loss", -total, threshold, None))
    if limits.max_position_loss is not None:
        threshold = checks.positive_number("max_position_loss", limits.max_position_loss)
        for name, pnl in by_position.items():
            if -pnl > threshold:
                found.append(LimitBreach("max_position_loss", -pnl, threshold, name))
    return found


def run_scenarios(
    positions: Sequence[StressPosition],
    scenarios: Sequence[Shock] | None = None,
    *,
    limits: StressLimits | None = None,
) -> list[StressResult]:
    """Every scenario (the historical ones by default), worst P&L first."""
    chosen = list(HISTORICAL_SCENARIOS.values()) if scenarios is None else list(scenarios)
    if not chosen:
        raise InvalidValue("EMPTY", "no scenarios to run")
    results = [apply_shock(positions, shock, limits=limits) for shock in chosen]
    return sorted(results, key=lambda result: result.pnl)


def sector_rotation(name: str, *, out_of: Sequence[str], into: Sequence[str], move: float) -> Shock:
    """A rotation: the ``out_of`` sectors fall by ``move`` and the ``into`` sectors rise by it
    (``move`` a positive fraction), every other sector unchanged."""
    size = checks.positive_number("move", move)
    if size >= 1.0:
        raise InvalidValue("OUT_OF_RANGE", "move must be below 1 (a sector cannot lose > 100 %)")
    if set(out_of) & set(into):
        raise InvalidValue("OVERLAPPING_SECTORS", "a sector cannot rotate both out and in")
    if not out_of or not into:
        raise InvalidValue("EMPTY", "a rotation needs sectors to leave and sectors to enter")
    sectors = {sector: -size for sector in out_of} | {sector: size for sector in into}
    return Shock(name=name, sectors=sectors, description=f"rotation {move:.0%}")


# --- Monte Carlo stress ----------------------------------------------------------------------


class MonteCarloStress(NamedTuple):
    """Stressed VaR/ES and the single worst simulated scenario, by position."""

    estimate: risk_var.VarEstimate
    worst_pnl: float
    worst_by_position: dict[str, float]
    breaches: list[LimitBreach]


def monte_carlo_stress(
    names: Sequence[str],
    returns: object,
    positions: object,
    *,
    correlation_shift: float = 1.0,
    volatility_multiplier: float = 1.0,
    degrees_of_freedom: float = 3.0,
    confidence: float = 0.99,
    scenarios: int = 100_000,
    seed: int | None = None,
    limits: StressLimits | None = None,
) -> MonteCarloStress:
    """Monte Carlo under stressed dependence: the sample correlation ``C`` pushed toward one,
    ``C' = (1 - k) C + k 11'`` (``k = correlation_shift``; 1: every asset moves together),
    volatilities times ``volatility_multiplier``, and fat Student-t tails (``nu`` degrees of
    freedom, scaled to that covariance). ``C'`` stays positive semi-definite for ``k`` in
    [0, 1] (a convex mix of two such matrices)."""
    matrix = checks.float_matrix("returns", returns)
    weights = checks.float_series("positions", positions)
    labels = [str(name) for name in names]
    if len(labels) != matrix.shape[1] or weights.size != matrix.shape[1]:
        raise InvalidValue(
            "LENGTH_MISMATCH",
            f"{len(labels)} names, {matrix.shape[1]} return columns, {weights.size} positions",
        )
    shift = checks.number("correlation_shift", correlation_shift)
    if not 0.0 <= shift <= 1.0:
        raise InvalidValue("OUT_OF_RANGE", f"correlation_shift must be in [0, 1], got {shift}")
    multiplier = checks.positive_number("volatility_multiplier", volatility_multiplier)
    if matrix.shape[0] < 2:
        raise InvalidValue("TOO_FEW_OBSERVATIONS", "a covariance needs at least 2 periods")
    covariance = np.atleast_2d(np.cov(matrix, rowvar=False))
    deviations = np.sqrt(np.diag(covariance))
    if (deviations == 0.0).any():
        raise InvalidValue("ZERO_VARIANCE", "every asset needs a positive variance")
    correlation = covariance / np.outer(deviations, deviations)
    stressed_correlation = (1.0 - shift) * correlation + shift * np.ones_like(correlation)
    stressed_deviations = deviations * multiplier
    stressed = stressed_correlation * np.outer(stressed_deviations, stressed_deviations)
    stressed = (stressed + stressed.T) / 2.0
    simulated = risk_var.monte_carlo_scenarios(
        matrix.mean(axis=0),
        stressed,
        weights,
        scenarios=scenarios,
        distribution="student_t",
        degrees_of_freedom=degrees_of_freedom,
        seed=seed,
        antithetic=scenarios % 2 == 0,
    )
    estimate = risk_var.scenario_var(
        simulated.pnl, confidence=confidence, method="monte_carlo_stress"
    )
    worst = int(np.argmin(simulated.pnl))
    contributions = simulated.asset_returns(np.array([worst]))[0] * weights
    by_position = dict(zip(labels, (float(c) for c in contributions), strict=True))
    breaches = _breaches(float(simulated.pnl[worst]), by_position, limits)
    return MonteCarloStress(estimate, float(simulated.pnl[worst]), by_position, breaches)


# --- replays of actual paths -----------------------------------------------------------------


class ReplayResult(NamedTuple):
    """The portfolio revalued along the actual daily path of a window: ``pnl[t]`` is the P&L
    since the first date (``timestamps[0]``), ``worst_pnl`` its minimum and when it happened,
    ``uncovered`` the positions the data did not cover (valued flat)."""

    timestamps: npt.NDArray[np.int64]
    pnl: FloatArray
    pnl_by_position: dict[str, float]
    worst_pnl: float
    worst_ts: int
    uncovered: list[str]


_STOCKS = [
    "AAPL",
    "AMD",
    "BAC",
    "BBY",
    "CVX",
    "GE",
    "HD",
    "JNJ",
    "JPM",
    "KO",
    "LLY",
    "MRK",
    "MSFT",
    "PEP",
    "PFE",
    "PG",
    "RRC",
    "UNH",
    "WMT",
    "XOM",
]

#: Bundled series a position name can replay against: file and column.
BUNDLED_SERIES: dict[str, tuple[str, str]] = {
    "SP500": ("sp500_index_daily_close", "SP500"),
    "NASDAQ": ("nasdaq_index_daily_ohlcv", "adj_close"),
    "VIX": ("vix_daily", "vix"),
    "EURUSD": ("eurusd_1h_ask_ohlcv", "close"),
    **{etf: ("factor_etfs_daily_close", etf) for etf in ("MTUM", "QUAL", "SIZE", "USMV", "VLUE")},
    **{stock: ("sp500_20_stocks_daily_adjclose", stock) for stock in _STOCKS},
}


@cache
def bundled_series(name: str) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Timestamps (ns) and prices of a bundled series named in :data:`BUNDLED_SERIES`, rows
    with a missing price dropped."""
    from hftcore.data.loaders import load_bundled

    if name not in BUNDLED_SERIES:
        raise InvalidValue(
            "UNKNOWN_SERIES", f"no bundled series {name!r}; known: {sorted(BUNDLED_SERIES)}"
        )
    file, column = BUNDLED_SERIES[name]
    table = load_bundled(file)
    prices = table.column(column).to_numpy(zero_copy_only=False).astype(np.float64)
    stamps = table.column("ts").to_numpy().astype(np.int64)
    present = ~np.isnan(prices)
    return stamps[present], prices[present]


def _day(text: str) -> int:
    try:
        moment = dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
    except ValueError:
        raise InvalidValue("INVALID_DATE", f"{text!r} is not an ISO date") from None
    return int(moment.timestamp()) * 1_000_000_000


def replay(
    positions: Sequence[StressPosition],
    start: str,
    end: str,
    *,
    series: Mapping[str, tuple[npt.NDArray[np.int64], FloatArray]] | None = None,
) -> ReplayResult:
    """Revalues each position along its own price path from ``start`` to ``end`` (ISO dates,
    inclusive): ``value * (p_t / p_start - 1)`` on the dates every covered series has. Prices
    come from ``series`` (name -> timestamps, prices) or else the bundled data for positions
    named like a bundled series (``SP500``, ``NASDAQ``, ``AAPL``, ``MTUM``...)."""
    book = _validated(positions)
    first, last = _day(start), _day(end) + NS_PER_DAY - 1
    if last < first:
        raise InvalidValue("INVALID_WINDOW", f"end {end} is before start {start}")
    paths: dict[str, tuple[npt.NDArray[np.int64], FloatArray]] = {}
    uncovered: list[str] = []
    for position in book:
        if series is not None and position.name in series:
            stamps, prices = series[position.name]
        elif position.name in BUNDLED_SERIES:
            stamps, prices = bundled_series(position.name)
        else:
            uncovered.append(position.name)
            continue
        inside = (stamps >= first) & (stamps <= last)
        # a series that starts or stops more than a week inside the window does not cover it
        starts_late = stamps[0] > first + 7 * NS_PER_DAY
        stops_early = stamps[-1] < last - 7 * NS_PER_DAY
        if not inside.any() or starts_late or stops_early:
            uncovered.append(position.name)
            continue
        paths[position.name] = (stamps[inside], prices[inside])
    if not paths:
        raise InvalidValue("NO_DATA", f"no position has prices between {start} and {end}")
    common = np.array(sorted(set.intersection(*(set(s.tolist()) for s, _ in paths.values()))))
    if common.size < 2:
        raise InvalidValue("NO_DATA", "the covered series share fewer than 2 dates")
    values = {position.name: position.value for position in book}
    total = np.zeros(common.size)
    by_position: dict[str, float] = {}
    for name, (stamps, prices) in paths.items():
        aligned = prices[np.searchsorted(stamps, common)]
        path = values[name] * (aligned / aligned[0] - 1.0)
        total += path
        by_position[name] = float(path[-1])
    for name in uncovered:
        by_position[name] = 0.0
    worst = int(np.argmin(total))
    return ReplayResult(
        common.astype(np.int64),
        total,
        by_position,
        float(total[worst]),
        int(common[worst]),
        uncovered,
    )


# --- the named crises ------------------------------------------------------------------------

#: Approximate published moves over each window (peak to trough where the window says so);
#: sources per figure in docs/risk.md. Factor keys: ``equity_us`` (S&P 500),
#: ``equity_us_tech`` (Nasdaq Composite), ``equity_ch`` (SMI), ``volatility`` (relative move
#: of the VIX level), ``rates_us_10y`` (change of the 10-year Treasury yield, decimal),
#: ``style_*`` (iShares MSCI USA factor ETFs); ``fx`` against the US dollar.
HISTORICAL_SCENARIOS: dict[str, Shock] = {
    shock.name: shock
    for shock in (
        Shock(
            name="black_monday_1987",
            start="1987-10-16",
            end="1987-10-19",
            description="Black Monday: the largest one-day fall of the S&P 500",
            factors={"equity_us": -0.205, "equity_us_tech": -0.114},
        ),
        Shock(
            name="dot_com_2000_2002",
            start="2000-03-24",
            end="2002-10-09",
            description="dot-com bust, S&P 500 peak to trough",
            factors={"equity_us": -0.491, "equity_us_tech": -0.776, "rates_us_10y": -0.026},
        ),
        Shock(
            name="gfc_2008",
            start="2007-10-09",
            end="2009-03-09",
            description="global financial crisis, S&P 500 peak to trough",
            factors={
                "equity_us": -0.568,
                "equity_us_tech": -0.548,
                "volatility": 1.9,
                "rates_us_10y": -0.017,
            },
            fx={"EUR": -0.10},
        ),
        Shock(
            name="flash_crash_2010",
            start="2010-05-05",
            end="2010-05-06",
            description="flash crash: S&P 500 intraday low against the previous close, VIX close",
            factors={"equity_us": -0.086, "volatility": 0.32},
        ),
        Shock(
            name="chf_unpeg_2015",
            start="2015-01-14",
            end="2015-01-15",
            description="the Swiss National Bank ends the EUR/CHF 1.20 floor; closing moves",
            factors={"equity_ch": -0.087},
            fx={"CHF": 0.15},
        ),
        Shock(
            name="covid_2020",
            start="2020-02-19",
            end="2020-03-23",
            description="COVID-19 crash, S&P 500 peak to trough",
            factors={
                "equity_us": -0.339,
                "equity_us_tech": -0.301,
                "volatility": 3.28,
                "rates_us_10y": -0.008,
                "style_momentum": -0.341,
                "style_quality": -0.341,
                "style_size": -0.391,
                "style_min_vol": -0.330,
                "style_value": -0.388,
            },
        ),
        Shock(
            name="rates_inflation_2022",
            start="2022-01-03",
            end="2022-10-12",
            description="inflation and rate hikes: S&P 500 high to low of 2022",
            factors={
                "equity_us": -0.254,
                "equity_us_tech": -0.34,
                "volatility": 1.0,
                "rates_us_10y": 0.023,
                "style_momentum": -0.254,
                "style_quality": -0.273,
                "style_size": -0.228,
                "style_min_vol": -0.173,
                "style_value": -0.236,
            },
            fx={"EUR": -0.14},
        ),
    )
}
