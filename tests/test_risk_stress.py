"""hftcore.risk.stress: the documented scenario figures against the bundled index data they
summarise, shock pricing and attribution by hand, replays of actual paths, Monte Carlo stress
against a closed form, limits, bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hftcore.errors import InvalidValue
from hftcore.risk import stress
from hftcore.risk.stress import Shock, StressLimits, StressPosition
from scipy import stats

from tests import risk_data

SCENARIOS = stress.HISTORICAL_SCENARIOS

# (scenario, bundled series, factor) where the bundled data covers the window
COVERED = [
    ("dot_com_2000_2002", "SP500", "equity_us"),
    ("dot_com_2000_2002", "NASDAQ", "equity_us_tech"),
    ("gfc_2008", "SP500", "equity_us"),
    ("gfc_2008", "NASDAQ", "equity_us_tech"),
    ("covid_2020", "SP500", "equity_us"),
    ("covid_2020", "MTUM", "style_momentum"),
    ("covid_2020", "QUAL", "style_quality"),
    ("covid_2020", "SIZE", "style_size"),
    ("covid_2020", "USMV", "style_min_vol"),
    ("covid_2020", "VLUE", "style_value"),
    ("rates_inflation_2022", "SP500", "equity_us"),
    ("rates_inflation_2022", "MTUM", "style_momentum"),
    ("rates_inflation_2022", "USMV", "style_min_vol"),
]


@pytest.mark.parametrize(("scenario", "series", "factor"), COVERED)
def test_documented_moves_agree_with_the_replayed_bundled_path(
    scenario: str, series: str, factor: str
) -> None:
    shock = SCENARIOS[scenario]
    assert shock.start is not None
    assert shock.end is not None
    position = StressPosition(name=series, value=1_000_000.0, loadings={factor: 1.0})
    replayed = stress.replay([position], shock.start, shock.end)
    priced = stress.apply_shock([position], shock)
    # the published figures are rounded to 0.1 %: agree within half a point
    assert replayed.pnl_by_position[series] == pytest.approx(priced.pnl, abs=5_000.0)
    assert replayed.uncovered == []


def test_every_named_crisis_is_present_with_dates() -> None:
    assert set(SCENARIOS) == {
        "black_monday_1987",
        "dot_com_2000_2002",
        "gfc_2008",
        "flash_crash_2010",
        "chf_unpeg_2015",
        "covid_2020",
        "rates_inflation_2022",
    }
    for shock in SCENARIOS.values():
        assert shock.start is not None
        assert shock.end is not None
        assert shock.start <= shock.end
        assert shock.description
        assert shock.factors or shock.fx


def test_replay_of_gfc_finds_the_trough_and_follows_the_daily_path() -> None:
    shock = SCENARIOS["gfc_2008"]
    positions = [
        StressPosition(name="SP500", value=500_000.0),
        StressPosition(name="JPM", value=-100_000.0),
        StressPosition(name="PRIVATE_FUND", value=50_000.0),
    ]
    result = stress.replay(positions, "2007-10-09", "2009-03-09")
    assert result.uncovered == ["PRIVATE_FUND"]
    # the VIX series starts in 2014 and EUR/USD covers 2017 only: neither covers 2008
    later = stress.replay(
        [
            *positions,
            StressPosition(name="VIX", value=1.0),
            StressPosition(name="EURUSD", value=1.0),
        ],
        "2007-10-09",
        "2009-03-09",
    )
    assert later.uncovered == ["PRIVATE_FUND", "VIX", "EURUSD"]
    np.testing.assert_allclose(later.pnl, result.pnl)
    with pytest.raises(InvalidValue) as error:  # NASDAQ data stops at the end of 2018
        stress.replay([StressPosition(name="NASDAQ", value=1.0)], "2018-06-01", "2019-06-01")
    assert error.value.code == "NO_DATA"
    assert result.pnl[0] == 0.0
    assert result.worst_ts == result.timestamps[int(np.argmin(result.pnl))]
    assert result.worst_pnl == result.pnl.min() < result.pnl[-1]  # the short JPM recovered first
    assert pd.Timestamp(result.timestamps[-1]).date().isoformat() == "2009-03-09"
    names, returns, stamps = risk_data.stocks()
    jpm = np.cumprod(1 + returns[:, names.index("JPM")])
    window = (stamps >= result.timestamps[0]) & (stamps <= result.timestamps[-1])
    expected_jpm = -100_000.0 * (jpm[window][-1] / jpm[stamps == result.timestamps[0]][0] - 1)
    assert result.pnl_by_position["JPM"] == pytest.approx(expected_jpm, rel=1e-9)
    assert result.pnl[-1] == pytest.approx(sum(result.pnl_by_position.values()), rel=1e-12)
    assert shock.start == "2007-10-09"


def test_apply_shock_prices_factors_sectors_assets_and_fx_and_attributes_them() -> None:
    book = [
        StressPosition(name="SPY", value=1_000_000.0, loadings={"equity_us": 1.0}, sector="broad"),
        StressPosition(
            name="NVDA", value=200_000.0, loadings={"equity_us": 1.5}, sector="technology"
        ),
        StressPosition(name="UST10", value=500_000.0, loadings={"rates_us_10y": -8.0}),
        StressPosition(name="SAP", value=300_000.0, loadings={"equity_us": 0.8}, currency="EUR"),
        StressPosition(name="XOM", value=-100_000.0, loadings={"equity_us": 0.9}),
    ]
    shock = Shock(
        name="custom",
        factors={"equity_us": -0.1, "rates_us_10y": -0.01},
        sectors={"technology": -0.05},
        assets={"XOM": 0.2},
        fx={"EUR": -0.05},
    )
    result = stress.apply_shock(book, shock, limits=StressLimits(max_loss=100_000.0))
    spy, nvda, ust, sap, xom = (result.pnl_by_position[p.name] for p in book)
    assert spy == pytest.approx(-100_000.0)
    assert nvda == pytest.approx(200_000.0 * (1.5 * -0.1 - 0.05))
    assert ust == pytest.approx(500_000.0 * 0.08)
    assert sap == pytest.approx(300_000.0 * ((1 - 0.08) * 0.95 - 1))
    assert xom == pytest.approx(-100_000.0 * 0.2)
    assert result.pnl == pytest.approx(spy + nvda + ust + sap + xom)
    assert sum(result.pnl_by_factor.values()) == pytest.approx(result.pnl)
    assert result.pnl_by_factor["sector:technology"] == pytest.approx(-10_000.0)
    assert result.pnl_by_factor["fx:EUR"] == pytest.approx(300_000.0 * 0.92 * -0.05)
    assert result.pnl_by_factor["asset:XOM"] == pytest.approx(-20_000.0)
    assert result.breaches == [("max_loss", -result.pnl, 100_000.0, None)]


def test_run_scenarios_orders_worst_first_and_flags_position_limits() -> None:
    book = [
        StressPosition(name="equity", value=1_000_000.0, loadings={"equity_us": 1.0}),
        StressPosition(name="bonds", value=1_000_000.0, loadings={"rates_us_10y": -6.0}),
    ]
    results = stress.run_scenarios(book, limits=StressLimits(max_position_loss=300_000.0))
    assert [r.pnl for r in results] == sorted(r.pnl for r in results)
    assert results[0].scenario == "gfc_2008"  # -56.8 % equity, bonds rally +10.2 %
    breached = {r.scenario for r in results if r.breaches}
    assert breached == {"dot_com_2000_2002", "gfc_2008", "covid_2020"}
    rates = next(r for r in results if r.scenario == "rates_inflation_2022")
    assert rates.pnl_by_position["bonds"] == pytest.approx(-6.0 * 0.023 * 1_000_000.0)


def test_sector_rotation() -> None:
    shock = stress.sector_rotation("value_rotation", out_of=["tech"], into=["energy"], move=0.1)
    book = [
        StressPosition(name="A", value=100.0, sector="tech"),
        StressPosition(name="B", value=100.0, sector="energy"),
        StressPosition(name="C", value=100.0, sector="utilities"),
    ]
    result = stress.apply_shock(book, shock)
    assert result.pnl_by_position == pytest.approx({"A": -10.0, "B": 10.0, "C": 0.0})


def test_monte_carlo_stress_with_correlations_at_one_matches_the_comonotone_t() -> None:
    names, returns, _ = risk_data.stocks()
    picked = returns[-1500:, :5]
    positions = np.full(5, 100_000.0)
    nu = 4.0
    result = stress.monte_carlo_stress(
        names[:5],
        picked,
        positions,
        correlation_shift=1.0,
        volatility_multiplier=2.0,
        degrees_of_freedom=nu,
        scenarios=200_000,
        seed=8,
    )
    deviation = 2.0 * float(picked.std(axis=0, ddof=1) @ positions)  # perfectly correlated
    mean = float(picked.mean(axis=0) @ positions)
    expected = -(mean + deviation * math.sqrt((nu - 2) / nu) * stats.t.ppf(0.01, nu))
    assert result.estimate.var == pytest.approx(expected, rel=0.02)
    assert result.worst_pnl == pytest.approx(sum(result.worst_by_position.values()), rel=1e-5)
    assert all(pnl < 0 for pnl in result.worst_by_position.values())  # all fall together
    calm = stress.monte_carlo_stress(
        names[:5], picked, positions, correlation_shift=0.0, degrees_of_freedom=30, seed=8
    )
    assert result.estimate.var > 2 * calm.estimate.var


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: stress.apply_shock([], Shock(name="x")), "EMPTY"),
        (
            lambda: stress.apply_shock(
                [StressPosition(name="A", value=1.0), StressPosition(name="A", value=2.0)],
                Shock(name="x"),
            ),
            "DUPLICATE_POSITION",
        ),
        (
            lambda: stress.apply_shock(
                [StressPosition(name="A", value=float("nan"))], Shock(name="x")
            ),
            "NOT_FINITE",
        ),
        (
            lambda: stress.apply_shock(
                [StressPosition(name="A", value=1.0)], Shock(name="x", assets={"A": -2.0})
            ),
            "RETURN_BELOW_MINUS_ONE",
        ),
        (
            lambda: stress.sector_rotation("r", out_of=["a"], into=["a"], move=0.1),
            "OVERLAPPING_SECTORS",
        ),
        (
            lambda: stress.replay(
                [StressPosition(name="ZZZ", value=1.0)], "2008-01-01", "2008-02-01"
            ),
            "NO_DATA",
        ),
        (
            lambda: stress.replay(
                [StressPosition(name="SP500", value=1.0)], "2008-13-01", "2009-01-01"
            ),
            "INVALID_DATE",
        ),
        (
            lambda: stress.replay(
                [StressPosition(name="SP500", value=1.0)], "2009-01-01", "2008-01-01"
            ),
            "INVALID_WINDOW",
        ),
        (lambda: stress.bundled_series("GOLD"), "UNKNOWN_SERIES"),
        (
            lambda: stress.monte_carlo_stress(["a"], [[0.1], [0.2]], [1.0], correlation_shift=1.5),
            "OUT_OF_RANGE",
        ),
        (lambda: stress.run_scenarios([StressPosition(name="A", value=1.0)], []), "EMPTY"),
    ],
)
def test_bad_input_raises_a_coded_error(call: object, code: str) -> None:
    with pytest.raises(InvalidValue) as error:
        call()  # type: ignore[operator]
    assert error.value.code == code
