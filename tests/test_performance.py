"""hftcore.risk.performance: every measure against empyrical-reloaded and quantstats on real
data (tests/data), hand-computed cases, undefined cases and bad input.

Tolerances (docs/performance.md): the references compute the same formulas in another order,
so floats agree to a relative 1e-10 (observed: about 1e-14); counts and durations exactly.
"""

from __future__ import annotations

import itertools
import math
from decimal import Decimal

import empyrical
import numpy as np
import pandas as pd
import pytest
import quantstats as qs
from hftcore.errors import InvalidValue
from hftcore.risk import performance as perf
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import real_data

REFERENCE_RTOL = 1e-10
RISK_FREE_RATE = 0.03
REQUIRED_RETURN = 0.05


class RealSeries:
    """One real return series with its sampling frequency, as NumPy and as pandas."""

    def __init__(
        self, name: str, timestamps: np.ndarray, returns: np.ndarray, periods_per_year: int
    ):
        self.name = name
        self.returns = returns
        self.periods_per_year = periods_per_year
        # One timestamp per equity point: the first price's date starts the curve.
        self.equity_timestamps = timestamps
        self.series = pd.Series(returns, index=pd.to_datetime(timestamps[1:], unit="ns"))
        self.equity = perf.equity_from_returns(returns)
        self.rf_per_period = (1.0 + RISK_FREE_RATE) ** (1.0 / periods_per_year) - 1.0


def _real_series() -> list[RealSeries]:
    sp500 = real_data.sp500()
    etfs = real_data.factor_etfs()
    market, _ = real_data.fama_french_monthly()
    month_starts = pd.date_range("1926-06-01", periods=market.size + 1, freq="MS")
    series = [
        RealSeries(
            "sp500",
            sp500.timestamps,
            real_data.simple_returns(sp500.columns["SP500"]),
            252,
        )
    ]
    series += [
        RealSeries(name, etfs.timestamps, real_data.simple_returns(prices), 252)
        for name, prices in etfs.columns.items()
    ]
    series.append(RealSeries("us_market_monthly", month_starts.asi8.astype(np.int64), market, 12))
    return series


REAL = _real_series()


@pytest.fixture(params=REAL, ids=[s.name for s in REAL])
def real(request: pytest.FixtureRequest) -> RealSeries:
    return request.param  # type: ignore[no-any-return]


def close(actual: float, *expected: float) -> None:
    for value in expected:
        assert actual == pytest.approx(float(value), rel=REFERENCE_RTOL, abs=0.0)


# --- against the reference libraries, on real data -----------------------------------------


def test_real_series_are_long_and_move(real: RealSeries) -> None:
    assert real.returns.size > 1000
    assert np.count_nonzero(real.returns) > 0.9 * real.returns.size


def test_total_return(real: RealSeries) -> None:
    close(
        perf.total_return(real.returns),
        empyrical.cum_returns_final(real.returns),
        qs.stats.comp(real.series),
    )


def test_annual_return(real: RealSeries) -> None:
    ppy = real.periods_per_year
    close(
        perf.annual_return(real.returns, periods_per_year=ppy),
        empyrical.annual_return(real.returns, annualization=ppy),
        qs.stats.cagr(real.series, periods=ppy),
    )


def test_annual_volatility(real: RealSeries) -> None:
    ppy = real.periods_per_year
    close(
        perf.annual_volatility(real.returns, periods_per_year=ppy),
        empyrical.annual_volatility(real.returns, annualization=ppy),
        qs.stats.volatility(real.series, periods=ppy),
    )


def test_sharpe_ratio(real: RealSeries) -> None:
    ppy = real.periods_per_year
    close(
        perf.sharpe_ratio(real.returns, periods_per_year=ppy, risk_free_rate=RISK_FREE_RATE),
        empyrical.sharpe_ratio(real.returns, risk_free=real.rf_per_period, annualization=ppy),
        qs.stats.sharpe(real.series, rf=RISK_FREE_RATE, periods=ppy),
    )
    close(
        perf.sharpe_ratio(real.returns, periods_per_year=ppy),
        empyrical.sharpe_ratio(real.returns, annualization=ppy),
    )


def test_sortino_ratio(real: RealSeries) -> None:
    ppy = real.periods_per_year
    close(
        perf.sortino_ratio(real.returns, periods_per_year=ppy, risk_free_rate=RISK_FREE_RATE),
        empyrical.sortino_ratio(
            real.returns, required_return=real.rf_per_period, annualization=ppy
        ),
        qs.stats.sortino(real.series, rf=RISK_FREE_RATE, periods=ppy),
    )


def test_calmar_ratio(real: RealSeries) -> None:
    ppy = real.periods_per_year
    close(
        perf.calmar_ratio(real.returns, periods_per_year=ppy),
        empyrical.calmar_ratio(real.returns, annualization=ppy),
        qs.stats.calmar(real.series, periods=ppy),
    )


def test_omega_ratio(real: RealSeries) -> None:
    ppy = real.periods_per_year
    close(
        perf.omega_ratio(real.returns, periods_per_year=ppy, required_return=REQUIRED_RETURN),
        empyrical.omega_ratio(real.returns, required_return=REQUIRED_RETURN, annualization=ppy),
        qs.stats.omega(real.series, required_return=REQUIRED_RETURN, periods=ppy),
    )


def test_drawdowns(real: RealSeries) -> None:
    close(
        perf.max_drawdown(real.equity),
        empyrical.max_drawdown(real.returns),
        qs.stats.max_drawdown(real.series),
    )
    ours = perf.drawdown_series(real.equity)
    assert ours[0] == 0.0
    np.testing.assert_allclose(
        ours[1:], qs.stats.to_drawdown_series(real.series).to_numpy(), rtol=0, atol=1e-12
    )


def _quantstats_episodes(real: RealSeries) -> pd.DataFrame:
    details = qs.stats.drawdown_details(qs.stats.to_drawdown_series(real.series))
    assert len(details) > 3
    return details


def test_max_drawdown_duration_in_periods(real: RealSeries) -> None:
    # quantstats lists each episode's first and last day under water. Our duration runs from the
    # peak (the point before the first day under water) to the recovery (the point after the
    # last), or to the end of the data for an episode still under water at the end.
    dates = real.series.index
    last = len(dates) - 1
    longest = 0
    for _, row in _quantstats_episodes(real).iterrows():
        first, final = dates.get_loc(row["start"]), dates.get_loc(row["end"])
        recovered = final < last
        longest = max(longest, final - first + 1 + (1 if recovered else 0))
    assert perf.max_drawdown_duration(real.equity) == longest


def test_max_drawdown_duration_in_time(real: RealSeries) -> None:
    times = real.equity_timestamps
    # Equity point k + 1 is the close of return k's date.
    point = {pd.Timestamp(t): k for k, t in enumerate(pd.to_datetime(times, unit="ns"))}
    last = times.size - 1
    longest = 0
    for _, row in _quantstats_episodes(real).iterrows():
        peak = point[pd.Timestamp(row["start"])] - 1
        end = min(point[pd.Timestamp(row["end"])] + 1, last)
        longest = max(longest, int(times[end] - times[peak]))
    assert perf.max_drawdown_duration_time(real.equity, times) == longest


def test_drawdown_episodes_match_quantstats(real: RealSeries) -> None:
    ours = perf.drawdown_episodes(real.equity)
    theirs = _quantstats_episodes(real)
    assert len(ours) == len(theirs)
    dates = real.series.index
    for episode, (_, row) in zip(ours, theirs.iterrows(), strict=True):
        # Equity point k is the close of return k - 1.
        assert dates[episode.peak_index] == pd.Timestamp(row["start"])
        assert dates[episode.trough_index - 1] == pd.Timestamp(row["valley"])
        assert episode.depth * 100 == pytest.approx(row["max drawdown"], rel=REFERENCE_RTOL)


def test_tail_ratio(real: RealSeries) -> None:
    close(
        perf.tail_ratio(real.returns),
        empyrical.tail_ratio(real.returns),
        qs.stats.tail_ratio(real.series),
    )
    close(perf.tail_ratio(real.returns, cutoff=0.9), qs.stats.tail_ratio(real.series, 0.9))


def test_hit_ratio(real: RealSeries) -> None:
    close(perf.hit_ratio(real.returns), qs.stats.win_rate(real.series))


def test_trade_measures_on_real_pnls(real: RealSeries) -> None:
    # Any array of P&Ls will do: the non-zero periods stand in for closed trades.
    pnls = real.returns[real.returns != 0.0]
    series = pd.Series(pnls)
    close(perf.win_rate(pnls), qs.stats.win_rate(series))
    close(perf.profit_factor(pnls), qs.stats.profit_factor(series))
    close(perf.average_win(pnls), qs.stats.avg_win(series))
    close(perf.average_loss(pnls), qs.stats.avg_loss(series))
    close(
        perf.expectancy(pnls),
        perf.win_rate(pnls) * perf.average_win(pnls)
        + (1 - perf.win_rate(pnls)) * perf.average_loss(pnls),
    )


def test_monthly_risk_free_series_is_what_the_market_beat() -> None:
    # The Fama-French file also has the risk-free return; at its average rate the Sharpe ratio
    # of the market equals the one computed on its excess returns (up to the variance of RF).
    market, risk_free = real_data.fama_french_monthly()
    annual_rf = float(np.prod(1.0 + risk_free) ** (12 / risk_free.size) - 1.0)
    ours = perf.sharpe_ratio(market, periods_per_year=12, risk_free_rate=annual_rf)
    direct = perf.sharpe_ratio(market - risk_free, periods_per_year=12)
    assert ours == pytest.approx(direct, rel=0.05)
    assert 0.3 < ours < 0.6


# --- hand-computed cases -------------------------------------------------------------------


def test_conversions() -> None:
    assert perf.per_period_rate(0.21, periods_per_year=2) == pytest.approx(0.1)
    np.testing.assert_allclose(
        perf.equity_from_returns([0.1, -0.5], initial_equity=100), [100, 110, 55]
    )
    np.testing.assert_allclose(perf.returns_from_equity([100, 110, 55]), [0.1, -0.5])


def test_return_measures_by_hand() -> None:
    assert perf.total_return([0.1, -0.1]) == pytest.approx(-0.01)
    assert perf.annual_return([0.1, 0.1], periods_per_year=1) == pytest.approx(0.1)
    assert perf.annual_return([0.1, 0.1], periods_per_year=2) == pytest.approx(0.21)
    assert perf.annual_return([-1.0, 0.5], periods_per_year=1) == -1.0
    assert perf.annual_volatility([0.01, -0.01], periods_per_year=4) == pytest.approx(
        0.02 * math.sqrt(2)
    )
    assert perf.sharpe_ratio([0.01, 0.03], periods_per_year=1) == pytest.approx(math.sqrt(2))
    # rf 1 % a year at one period a year: excess returns 0 and 2 %.
    assert perf.sharpe_ratio(
        [0.01, 0.03], periods_per_year=1, risk_free_rate=0.01
    ) == pytest.approx(1 / math.sqrt(2))
    # mean 0.5 %, downside sqrt((1e-4 + 4e-4) / 4)
    assert perf.sortino_ratio([0.03, -0.01, 0.02, -0.02], periods_per_year=1) == pytest.approx(
        1 / math.sqrt(5)
    )
    assert perf.sortino_ratio([0.03, -0.01, 0.02, -0.02], periods_per_year=4) == pytest.approx(
        2 / math.sqrt(5)
    )
    # equity 1, 1.1, 0.55, 0.66: CAGR -34 % over one year, max drawdown -50 %.
    assert perf.calmar_ratio([0.1, -0.5, 0.2], periods_per_year=3) == pytest.approx(-0.68)
    assert perf.omega_ratio([0.02, -0.01, 0.03, -0.02], periods_per_year=1) == pytest.approx(5 / 3)
    # A 1 % threshold: gains 0.01 + 0.02, losses 0.02 + 0.03.
    assert perf.omega_ratio(
        [0.02, -0.01, 0.03, -0.02], periods_per_year=1, required_return=0.01
    ) == pytest.approx(0.6)
    # 11 evenly spaced returns: the 95th percentile interpolates to 7.5 %, the 5th to -1.5 %.
    assert perf.tail_ratio(np.arange(-2, 9) / 100) == pytest.approx(5.0)
    assert perf.hit_ratio([0.01, 0.0, -0.01, 0.02]) == pytest.approx(2 / 3)


def test_drawdowns_by_hand() -> None:
    equity = [100, 120, 90, 100, 130, 65, 70]
    np.testing.assert_allclose(
        perf.drawdown_series(equity), [0, 0, -0.25, -1 / 6, 0, -0.5, -60 / 130]
    )
    assert perf.max_drawdown(equity) == pytest.approx(-0.5)
    assert perf.drawdown_episodes(equity) == [
        perf.DrawdownEpisode(1, 2, 4, pytest.approx(-0.25)),
        perf.DrawdownEpisode(4, 5, None, pytest.approx(-0.5)),
    ]
    # Peak 1 to recovery 4 is the longer in periods; peak 4 to the end the longer in time.
    assert perf.max_drawdown_duration(equity) == 3
    assert perf.max_drawdown_duration_time(equity, [0, 1, 2, 3, 4, 5, 100]) == 96
    # Back at the peak counts as recovered.
    assert perf.drawdown_episodes([100, 90, 100]) == [
        perf.DrawdownEpisode(0, 1, 2, pytest.approx(-0.1))
    ]
    assert perf.max_drawdown_duration([100, 90, 100]) == 2


def test_never_falling_curve_has_no_drawdown() -> None:
    equity = [1.0, 1.0, 2.0, 3.0]
    assert perf.max_drawdown(equity) == 0.0
    assert perf.drawdown_episodes(equity) == []
    assert perf.max_drawdown_duration(equity) == 0
    assert perf.max_drawdown_duration_time(equity, [1, 2, 3, 4]) == 0


def test_trade_measures_by_hand() -> None:
    pnls = [10.0, -5.0, 0.0, 20.0, -15.0]
    assert perf.win_rate(pnls) == pytest.approx(0.4)
    assert perf.profit_factor(pnls) == pytest.approx(1.5)
    assert perf.average_win(pnls) == pytest.approx(15.0)
    assert perf.average_loss(pnls) == pytest.approx(-10.0)
    assert perf.expectancy(pnls) == pytest.approx(2.0)


def test_round_trips_by_hand() -> None:
    # Buy 2 @ 10, sell 1 @ 12 and 1 @ 13: one round trip of -20 + 12 + 13 less fees.
    np.testing.assert_allclose(
        perf.round_trip_pnls([2, -1, -1], [10, 12, 13], [0.2, 0.1, 0.1]), [4.6]
    )
    # Long 1 @ 10, sell 3 @ 11 flips to short 2: the sale's fee splits 1/3 : 2/3; the short
    # closes buying 2 @ 9.
    np.testing.assert_allclose(
        perf.round_trip_pnls([1, -3, 2], [10, 11, 9], [0.1, 0.3, 0.0]), [0.8, 3.8]
    )
    # A contract multiplier scales the price move; an open trade at the end is not counted.
    np.testing.assert_allclose(
        perf.round_trip_pnls([-1, 1, 1], [100, 98, 97], [0, 0, 0], multiplier=50), [100.0]
    )
    # Lots of 0.1 + 0.2 close a 0.3 position exactly, though 0.1 + 0.2 != 0.3 in floats.
    np.testing.assert_allclose(
        perf.round_trip_pnls([0.1, 0.2, -0.3], [10, 10, 11], [0, 0, 0]), [0.3]
    )
    assert perf.round_trip_pnls([], [], []).size == 0


def test_activity_measures_by_hand() -> None:
    positions = [0, 1, 1, 0, 5]
    assert perf.exposure(positions) == pytest.approx(0.5)
    # Held over the periods of length 10 (10 -> 20) and 30 (20 -> 50) out of 60.
    assert perf.exposure(positions, [0, 10, 20, 50, 60]) == pytest.approx(40 / 60)
    assert perf.exposure([[0, 0], [0, -1], [0, 0]]) == pytest.approx(0.5)
    assert perf.turnover([1000.0, -500.0], [1000.0, 2000.0]) == pytest.approx(1.0)
    assert perf.turnover([], [1000.0]) == 0.0
    assert perf.total_fees([0.1] * 10) == 1.0
    assert perf.total_fees([0.5, -0.2]) == pytest.approx(0.3)
    assert perf.total_fees([]) == 0.0


def test_numbers_of_any_kind_are_accepted() -> None:
    assert perf.sharpe_ratio(
        np.array([0.01, 0.03], dtype=np.float32), periods_per_year=np.int64(1)
    ) == pytest.approx(math.sqrt(2), rel=1e-6)
    assert perf.per_period_rate(Decimal("0.21"), periods_per_year=2) == pytest.approx(0.1)
    assert perf.max_drawdown(np.array([3, 2, 4])) == pytest.approx(-1 / 3)


@pytest.mark.parametrize(
    ("measure", "returns"),
    [
        (lambda r: perf.sharpe_ratio(r, periods_per_year=252), [0.01, 0.01, 0.01]),
        (lambda r: perf.sharpe_ratio(r, periods_per_year=252), [0.01]),
        (lambda r: perf.annual_volatility(r, periods_per_year=252), [0.01]),
        (lambda r: perf.sortino_ratio(r, periods_per_year=252), [0.01, 0.02]),
        (lambda r: perf.calmar_ratio(r, periods_per_year=252), [0.01, 0.02]),
        (lambda r: perf.omega_ratio(r, periods_per_year=252), [0.01, 0.02]),
        (perf.tail_ratio, [0.0, 0.0, 0.01]),
        (perf.hit_ratio, [0.0, 0.0]),
        (perf.win_rate, []),
        (perf.profit_factor, [1.0, 2.0]),
        (perf.average_win, [-1.0]),
        (perf.average_loss, [1.0]),
        (perf.expectancy, []),
        (perf.exposure, [1.0]),
    ],
)
def test_undefined_measures_are_nan(measure: object, returns: list[float]) -> None:
    assert callable(measure)
    assert math.isnan(measure(returns))


# --- bad input ---------------------------------------------------------------------------

DAILY = {"periods_per_year": 252}

RETURN_MEASURES = [
    perf.total_return,
    lambda r: perf.annual_return(r, **DAILY),
    lambda r: perf.annual_volatility(r, **DAILY),
    lambda r: perf.sharpe_ratio(r, **DAILY),
    lambda r: perf.sortino_ratio(r, **DAILY),
    lambda r: perf.calmar_ratio(r, **DAILY),
    lambda r: perf.omega_ratio(r, **DAILY),
    perf.tail_ratio,
    perf.hit_ratio,
    perf.equity_from_returns,
]
EQUITY_MEASURES = [
    perf.returns_from_equity,
    perf.drawdown_series,
    perf.max_drawdown,
    perf.drawdown_episodes,
    perf.max_drawdown_duration,
    lambda e: perf.max_drawdown_duration_time(e, np.arange(np.size(e))),
    lambda e: perf.turnover([1.0], e),
]
TRADE_MEASURES = [
    perf.win_rate,
    perf.profit_factor,
    perf.average_win,
    perf.average_loss,
    perf.expectancy,
    perf.total_fees,
]


def raises(code: str, argument: str) -> pytest.RaisesExc[InvalidValue]:
    return pytest.raises(InvalidValue, match=rf"^{code}: .*{argument}")


@pytest.mark.parametrize("measure", RETURN_MEASURES + EQUITY_MEASURES + TRADE_MEASURES)
@pytest.mark.parametrize(
    ("values", "code"),
    [
        ([0.01, math.nan], "NOT_FINITE"),
        ([math.inf, 0.01], "NOT_FINITE"),
        ([[0.01, 0.02]], "NOT_ONE_DIMENSIONAL"),
        (0.01, "NOT_ONE_DIMENSIONAL"),
        (["x", "y"], "NOT_NUMERIC"),
        ([None, 1.0], "NOT_FINITE"),
    ],
)
def test_malformed_series_are_refused(measure: object, values: object, code: str) -> None:
    assert callable(measure)
    with pytest.raises(InvalidValue, match=rf"^{code}: "):
        measure(values)


@pytest.mark.parametrize("measure", RETURN_MEASURES + EQUITY_MEASURES)
def test_empty_series_are_refused(measure: object) -> None:
    assert callable(measure)
    with pytest.raises(InvalidValue, match=r"^EMPTY: (returns|equity) is empty"):
        measure([])


@pytest.mark.parametrize("measure", RETURN_MEASURES)
def test_returns_below_minus_one_are_refused(measure: object) -> None:
    assert callable(measure)
    with raises("RETURN_BELOW_MINUS_ONE", r"returns\[1\]"):
        measure([0.01, -1.5, 0.02])


@pytest.mark.parametrize("measure", EQUITY_MEASURES)
@pytest.mark.parametrize("bad", [0.0, -5.0])
def test_non_positive_equity_is_refused(measure: object, bad: float) -> None:
    assert callable(measure)
    with raises("NON_POSITIVE_EQUITY", r"equity\[2\]"):
        measure([100.0, 90.0, bad])


def test_a_wiped_out_curve_is_refused() -> None:
    with raises("NON_POSITIVE_EQUITY", "equity"):
        perf.equity_from_returns([0.1, -1.0])


ANNUALISED = [
    lambda **kw: perf.annual_return([0.01, 0.02], **kw),
    lambda **kw: perf.annual_volatility([0.01, 0.02], **kw),
    lambda **kw: perf.sharpe_ratio([0.01, 0.02], **kw),
    lambda **kw: perf.sortino_ratio([0.01, 0.02], **kw),
    lambda **kw: perf.calmar_ratio([0.01, 0.02], **kw),
    lambda **kw: perf.omega_ratio([0.01, 0.02], **kw),
    lambda **kw: perf.per_period_rate(0.05, **kw),
]


@pytest.mark.parametrize("measure", ANNUALISED)
@pytest.mark.parametrize(
    ("periods", "code"),
    [
        (0, "NON_POSITIVE"),
        (-252, "NON_POSITIVE"),
        (math.nan, "NOT_FINITE"),
        (True, "NOT_NUMERIC"),
        ("252", "NOT_NUMERIC"),
        (None, "NOT_NUMERIC"),
    ],
)
def test_bad_periods_per_year_is_refused(measure: object, periods: object, code: str) -> None:
    assert callable(measure)
    with raises(code, "periods_per_year"):
        measure(periods_per_year=periods)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (
            lambda rate: perf.sharpe_ratio([0.01, 0.02], periods_per_year=12, risk_free_rate=rate),
            "risk_free_rate",
        ),
        (
            lambda rate: perf.sortino_ratio([0.01, 0.02], periods_per_year=12, risk_free_rate=rate),
            "risk_free_rate",
        ),
        (
            lambda rate: perf.omega_ratio([0.01, 0.02], periods_per_year=12, required_return=rate),
            "required_return",
        ),
        (lambda rate: perf.per_period_rate(rate, periods_per_year=12), "annual_rate"),
    ],
)
@pytest.mark.parametrize(
    ("rate", "code"), [(-1.0, "OUT_OF_RANGE"), (-3.0, "OUT_OF_RANGE"), (math.inf, "NOT_FINITE")]
)
def test_bad_annual_rates_are_refused(call: object, argument: str, rate: float, code: str) -> None:
    assert callable(call)
    with raises(code, argument):
        call(rate)


@pytest.mark.parametrize("cutoff", [0.5, 1.0, 0.2, 1.5])
def test_bad_tail_cutoff_is_refused(cutoff: float) -> None:
    with raises("OUT_OF_RANGE", "cutoff"):
        perf.tail_ratio([0.01, -0.02, 0.03], cutoff=cutoff)


@pytest.mark.parametrize(
    ("timestamps", "code"),
    [
        ([0, 1], "LENGTH_MISMATCH"),
        ([0, 2, 1], "NOT_INCREASING"),
        ([0, 1, 1], "NOT_INCREASING"),
        ([0.0, 1.0, 2.0], "NOT_INTEGER"),
        ([[0, 1, 2]], "NOT_INTEGER"),
    ],
)
def test_bad_timestamps_are_refused(timestamps: object, code: str) -> None:
    with raises(code, "timestamps"):
        perf.max_drawdown_duration_time([1.0, 0.5, 1.0], timestamps)
    with raises(code, "timestamps"):
        perf.exposure([1.0, 0.0, 1.0], timestamps)


def test_bad_positions_are_refused() -> None:
    with raises("EMPTY", "positions"):
        perf.exposure([])
    with raises("NOT_FINITE", "positions"):
        perf.exposure([[0.0, 1.0], [math.nan, 0.0]])
    with raises("NOT_ONE_DIMENSIONAL", "positions"):
        perf.exposure(np.zeros((2, 2, 2)))


def test_bad_fills_are_refused() -> None:
    with raises("LENGTH_MISMATCH", "signed_quantities, prices and fees"):
        perf.round_trip_pnls([1, -1], [10.0], [0.0, 0.0])
    with raises("ZERO_QUANTITY", r"signed_quantities\[1\]"):
        perf.round_trip_pnls([1, 0], [10.0, 11.0], [0.0, 0.0])
    with raises("NON_POSITIVE", r"prices\[0\]"):
        perf.round_trip_pnls([1, -1], [0.0, 11.0], [0.0, 0.0])
    with raises("NON_POSITIVE", "multiplier"):
        perf.round_trip_pnls([1, -1], [10.0, 11.0], [0.0, 0.0], multiplier=0)
    with raises("NOT_FINITE", "fees"):
        perf.round_trip_pnls([1, -1], [10.0, 11.0], [0.0, math.nan])
    with raises("NOT_FINITE", "traded_notional"):
        perf.turnover([math.inf], [1.0])


def test_inputs_are_left_unchanged() -> None:
    returns = np.array([0.01, -0.02, 0.03, 0.0])
    equity = np.array([100.0, 90.0, 95.0, 101.0])
    positions = np.array([[0.0, 1.0], [2.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    kept = (returns.copy(), equity.copy(), positions.copy())
    for measure in RETURN_MEASURES + TRADE_MEASURES:
        measure(returns)
    for measure in EQUITY_MEASURES:
        measure(equity)
    perf.exposure(positions, np.arange(4))
    perf.round_trip_pnls(returns + 1.0, equity, returns)
    for before, after in zip(kept, (returns, equity, positions), strict=True):
        np.testing.assert_array_equal(before, after)


# --- properties ----------------------------------------------------------------------------

returns_lists = st.lists(
    st.floats(min_value=-0.5, max_value=0.5, allow_nan=False), min_size=3, max_size=200
)


@settings(max_examples=200, deadline=None)
@given(returns_lists)
def test_properties_against_empyrical(returns: list[float]) -> None:
    rets = np.asarray(returns)
    equity = perf.equity_from_returns(rets)
    np.testing.assert_allclose(perf.returns_from_equity(equity), rets, rtol=1e-9, atol=1e-12)
    drawdown = perf.drawdown_series(equity)
    assert (drawdown <= 0).all()
    assert -1 < perf.max_drawdown(equity) <= 0
    assert perf.max_drawdown(equity) == pytest.approx(empyrical.max_drawdown(rets), abs=1e-12)
    if np.ptp(rets) > 1e-6:
        assert perf.sharpe_ratio(rets, periods_per_year=252) == pytest.approx(
            empyrical.sharpe_ratio(rets), rel=1e-7
        )
    durations = [
        (len(equity) - 1 if e.recovery_index is None else e.recovery_index) - e.peak_index
        for e in perf.drawdown_episodes(equity)
    ]
    assert perf.max_drawdown_duration(equity) == max(durations, default=0)
    assert sum(d for d in durations) <= len(equity)


fills = st.lists(
    st.tuples(
        st.integers(min_value=-5, max_value=5).filter(bool),
        st.integers(min_value=1, max_value=200),
        st.integers(min_value=0, max_value=3),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(fills, st.integers(min_value=1, max_value=200))
def test_round_trips_add_up_to_the_cash_flow(
    trades: list[tuple[int, int, int]], closing_price: int
) -> None:
    quantities = [q / 10 for q, _, _ in trades]
    prices = [float(p) for _, p, _ in trades]
    fees = [f / 100 for _, _, f in trades]
    # Close whatever is left so that every round trip ends.
    held = sum(Decimal(q) for q, _, _ in trades) / 10
    if held:
        quantities.append(float(-held))
        prices.append(float(closing_price))
        fees.append(0.0)
    pnls = perf.round_trip_pnls(quantities, prices, fees, multiplier=2.0)
    cash = -sum(q * p * 2.0 + f for q, p, f in zip(quantities, prices, fees, strict=True))
    assert float(np.sum(pnls)) == pytest.approx(cash, abs=1e-6)
    # One trip ends each time the position reaches or crosses zero.
    path = np.cumsum([0, *(round(q * 10) for q in quantities)])
    ends = sum(1 for before, after in itertools.pairwise(path) if before and after * before <= 0)
    assert pnls.size == ends
