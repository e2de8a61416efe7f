"""hftcore.risk.dependence and hftcore.risk.exposure: beta and correlations on real bundled data
against empyrical and pandas (relative 1e-9), regime-break alerts, concentration and grouped
exposure computed by hand, bad input."""

from __future__ import annotations

from decimal import Decimal

import empyrical
import numpy as np
import pandas as pd
import pytest
from hftcore.errors import InvalidValue
from hftcore.risk import dependence, exposure

from tests import risk_data

EXACT = 1e-9


def test_beta_matches_empyrical_for_every_stock() -> None:
    names, returns, _ = risk_data.stocks()
    market = risk_data.sp500()
    for column, name in enumerate(names):
        assert dependence.beta(returns[:, column], market) == pytest.approx(
            empyrical.beta(returns[:, column], market), rel=EXACT
        ), name


def test_rolling_beta_matches_empyrical_roll_beta() -> None:
    _, returns, _ = risk_data.stocks()
    market = risk_data.sp500()
    ours = dependence.rolling_beta(returns[-1500:, 12], market[-1500:], window=120)
    reference = np.asarray(empyrical.roll_beta(returns[-1500:, 12], market[-1500:], 120))
    assert np.isnan(ours[:119]).all()
    np.testing.assert_allclose(ours[119:], reference, rtol=EXACT)


def test_correlation_matrix_and_rolling_correlation_match_pandas() -> None:
    names, returns, _ = risk_data.factor_etfs()
    frame = pd.DataFrame(returns, columns=names)
    np.testing.assert_allclose(
        dependence.correlation_matrix(returns), frame.corr().to_numpy(), rtol=EXACT
    )
    rolling = dependence.rolling_correlation(returns[:, 0], returns[:, 3], window=60)
    reference = frame[names[0]].rolling(60).corr(frame[names[3]]).to_numpy()
    np.testing.assert_allclose(rolling[59:], reference[59:], rtol=1e-7)
    assert np.isnan(rolling[:59]).all()


def test_correlation_break_is_alerted_once_right_after_the_regime_changes() -> None:
    rng = np.random.default_rng(2)
    common = rng.standard_normal(800)
    noise = rng.standard_normal(800)
    first = common
    second = np.where(np.arange(800) < 600, 0.9 * common + 0.3 * noise, -0.9 * common + 0.3 * noise)
    breaks = dependence.correlation_breaks(
        np.column_stack([first, second]) * 0.01, short_window=20, long_window=250
    )
    assert len(breaks) == 1
    alert = breaks[0]
    assert 600 <= alert.row < 620  # within the short window after the change
    assert alert.baseline > 0.8
    assert alert.recent < alert.baseline - 0.2
    assert alert.z < 0


def test_correlation_breaks_on_real_stocks_flag_2008_and_2020() -> None:
    names, returns, timestamps = risk_data.stocks()
    picked = [names.index("JNJ"), names.index("XOM"), names.index("KO")]
    breaks = dependence.correlation_breaks(returns[:, picked], short_window=20, long_window=250)
    years = {pd.Timestamp(int(timestamps[b.row]), unit="ns").year for b in breaks}
    assert {2008, 2020} <= years  # the crises moved these defensives' correlations
    assert all(abs(b.recent - b.baseline) >= 0.2 and abs(b.z) > 3.29 for b in breaks)
    # one alert per entry into a broken state: no two alerts of a pair on consecutive rows
    seen = {(b.first, b.second, b.row) for b in breaks}
    assert not any((b.first, b.second, b.row - 1) in seen for b in breaks)


def test_concentration_by_hand() -> None:
    result = exposure.concentration({"A": 50.0, "B": -30.0, "C": 20.0}, top_n=2)
    assert result.weights == {"A": 0.5, "B": 0.3, "C": 0.2}
    assert result.hhi == pytest.approx(0.25 + 0.09 + 0.04)
    assert result.effective_positions == pytest.approx(1 / 0.38)
    assert result.top == [("A", 0.5), ("B", 0.3)]
    assert result.top_share == pytest.approx(0.8)
    equal = exposure.concentration({str(i): np.float64(10.0) for i in range(8)})
    assert equal.hhi == pytest.approx(1 / 8)


def test_exposure_by_group_is_exact() -> None:
    exposures = {"AAPL": 0.1, "MSFT": 0.2, "XOM": -0.3, "EURUSD": Decimal("1000.05")}
    sectors = {"AAPL": "tech", "MSFT": "tech", "XOM": "energy", "EURUSD": "fx"}
    grouped = exposure.exposure_by_group(exposures, sectors)
    assert grouped["tech"] == exposure.GroupExposure(
        Decimal("0.3"), Decimal("0.3"), Decimal("0.3"), Decimal(0)
    )
    assert grouped["energy"] == exposure.GroupExposure(
        Decimal("0.3"), Decimal("-0.3"), Decimal(0), Decimal("0.3")
    )
    assert list(grouped) == ["energy", "fx", "tech"]


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: dependence.beta([0.1, 0.2], [0.1]), "LENGTH_MISMATCH"),
        (lambda: dependence.rolling_beta([0.1] * 5, [0.2] * 5, window=6), "TOO_FEW_OBSERVATIONS"),
        (lambda: dependence.rolling_correlation([0.1] * 5, [0.2] * 5, window=1), "OUT_OF_RANGE"),
        (lambda: dependence.correlation_matrix([[0.1, 0.2]]), "TOO_FEW_OBSERVATIONS"),
        (
            lambda: dependence.correlation_breaks(np.zeros((100, 2)), long_window=250),
            "TOO_FEW_OBSERVATIONS",
        ),
        (lambda: exposure.concentration({}), "EMPTY"),
        (lambda: exposure.concentration({"A": 0}), "NO_EXPOSURE"),
        (lambda: exposure.concentration({"A": float("inf")}), "NOT_A_NUMBER"),
        (lambda: exposure.concentration({"A": [1.0]}), "NOT_A_NUMBER"),
        (lambda: exposure.exposure_by_group({"A": 1}, {"B": "x"}), "UNLABELLED_POSITION"),
    ],
)
def test_bad_input_raises_a_coded_error(call: object, code: str) -> None:
    with pytest.raises(InvalidValue) as error:
        call()  # type: ignore[operator]
    assert error.value.code == code


def test_beta_of_a_constant_benchmark_is_undefined() -> None:
    assert np.isnan(dependence.beta([0.1, 0.2, 0.3], [0.01, 0.01, 0.01]))
