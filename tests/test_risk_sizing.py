"""hftcore.risk.sizing: each rule against an independent computation (scipy optimisers, pandas,
hand formulas) on real bundled data, and ``clip_to_gate`` against the compiled gate itself:
what it lets through is approved, one lot more is refused for the reason it names."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hftcore import AccountLimits, Instrument, InstrumentLimits, RejectReason, RiskGate
from hftcore.data.loaders import load_bundled
from hftcore.errors import InvalidValue
from hftcore.model.risk import TradingState
from hftcore.risk import sizing
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

from tests import risk_data

BUY, SELL = 0, 1


def test_kelly_fraction_maximises_expected_log_growth() -> None:
    p, b = 0.55, 1.5
    growth = optimize.minimize_scalar(
        lambda f: -(p * math.log1p(f * b) + (1 - p) * math.log1p(-f)),
        bounds=(0.0, 0.99),
        method="bounded",
        options={"xatol": 1e-10},
    )
    assert sizing.kelly_fraction(p, b) == pytest.approx(growth.x, abs=1e-6)
    assert sizing.kelly_fraction(p, b, fraction=0.5) == pytest.approx(growth.x / 2, abs=1e-6)
    assert sizing.kelly_fraction(p, b, cap=0.1) == 0.1
    assert sizing.kelly_fraction(0.4, 1.0) < 0.0  # no edge: negative stake


def test_kelly_from_returns_is_mean_over_variance_of_real_returns() -> None:
    returns = risk_data.sp500()
    series = pd.Series(returns)
    assert sizing.kelly_from_returns(returns) == pytest.approx(
        series.mean() / series.var(), rel=1e-12
    )
    assert sizing.kelly_from_returns(returns, fraction=0.25, cap=1.0) == pytest.approx(
        min(1.0, 0.25 * series.mean() / series.var()), rel=1e-12
    )


def test_multi_asset_kelly_maximises_quadratic_growth() -> None:
    names, returns, _ = risk_data.factor_etfs()
    mean, covariance = returns.mean(axis=0), np.cov(returns, rowvar=False)
    found = optimize.minimize(
        lambda f: -(f @ mean - 0.5 * f @ covariance @ f),
        np.zeros(len(names)),
        jac=lambda f: -(mean - covariance @ f),
        method="BFGS",
        options={"gtol": 1e-12},
    )
    weights = sizing.kelly_multi_asset(mean, covariance)
    np.testing.assert_allclose(weights, found.x, rtol=1e-4, atol=1e-3)
    capped = sizing.kelly_multi_asset(mean, covariance, fraction=0.5, max_leverage=2.0)
    assert np.abs(capped).sum() == pytest.approx(2.0)
    np.testing.assert_allclose(capped / np.abs(capped).sum(), weights / np.abs(weights).sum())


def test_volatility_target_uses_the_shared_volatility_measure() -> None:
    returns = risk_data.sp500()
    realised = pd.Series(returns[-60:]).std() * math.sqrt(252)
    weight = sizing.volatility_target_weight(
        returns, target_volatility=0.10, periods_per_year=252, window=60
    )
    assert weight == pytest.approx(0.10 / realised, rel=1e-12)
    assert (
        sizing.volatility_target_weight(
            returns, target_volatility=10.0, periods_per_year=252, max_leverage=3.0
        )
        == 3.0
    )


def test_average_true_range_on_real_sp500_bars_matches_wilder_by_pandas() -> None:
    table = load_bundled("sp500_index_daily_ohlcv")
    frame = table.to_pandas()
    high, low, close = frame["high"], frame["low"], frame["close"]
    previous = close.shift(1)
    true_range = pd.concat(
        [high - low, (high - previous).abs(), (low - previous).abs()], axis=1
    ).max(axis=1)
    seeded = true_range.copy()
    seeded.iloc[:13] = np.nan
    seeded.iloc[13] = true_range.iloc[:14].mean()
    reference = seeded.ewm(alpha=1 / 14, adjust=False, ignore_na=True).mean()
    ours = sizing.average_true_range(high, low, close, window=14)
    assert np.isnan(ours[:13]).all()
    np.testing.assert_allclose(ours[13:], reference.to_numpy()[13:], rtol=1e-10)
    units = sizing.atr_position_size(1_000_000, risk_fraction=0.01, atr=ours[-1], atr_multiple=2)
    assert units * ours[-1] * 2 == pytest.approx(10_000.0)


def test_fixed_fractional_size_loses_the_fraction_at_the_stop() -> None:
    units = sizing.fixed_fractional_size(
        250_000, risk_fraction=0.02, entry_price=50.0, stop_price=47.5, multiplier=100
    )
    assert units * 2.5 * 100 == pytest.approx(5_000.0)


def test_risk_parity_equalises_risk_contributions_on_real_stocks() -> None:
    _, returns, _ = risk_data.stocks()
    covariance = np.cov(returns[-1000:], rowvar=False)
    weights = sizing.risk_parity_weights(covariance)
    assert weights.sum() == pytest.approx(1.0)
    assert (weights > 0).all()
    np.testing.assert_allclose(
        sizing.risk_contributions(weights, covariance), np.full(20, 1 / 20), atol=1e-6
    )
    budgets = np.arange(1, 21, dtype=float)
    tilted = sizing.risk_parity_weights(covariance, budgets=budgets)
    np.testing.assert_allclose(
        sizing.risk_contributions(tilted, covariance), budgets / budgets.sum(), atol=1e-6
    )


def test_risk_parity_of_uncorrelated_assets_is_inverse_volatility() -> None:
    deviations = np.array([0.1, 0.2, 0.4, 0.05])
    weights = sizing.risk_parity_weights(np.diag(deviations**2))
    expected = (1 / deviations) / (1 / deviations).sum()
    np.testing.assert_allclose(weights, expected, rtol=1e-6)


def test_cap_weights_and_target_lots_round_toward_zero() -> None:
    np.testing.assert_array_equal(
        sizing.cap_weights([0.5, -0.4, 0.1], max_weight=0.25), [0.25, -0.25, 0.1]
    )
    btc = Instrument("BTCUSDT.SIM", "0.01", 2, "0.001", 3)
    assert sizing.target_lots(1000.0, 30_000.0, btc) == 33  # 0.0333.. BTC -> 0.033
    assert sizing.target_lots(-1000.0, 30_000.0, btc) == -33
    assert (
        sizing.target_lots(Decimal("0.3"), Decimal("0.1"), Instrument("X.SIM", "0.01", 2, "1", 0))
        == 3
    )


# --- clip_to_gate against the compiled gate --------------------------------------------------


def _instrument(name: str = "AAPL.SIM") -> Instrument:
    return Instrument(name, "0.01", 2, "1", 0, "1", "100000", "1")


def _gate(
    account: AccountLimits, limits: InstrumentLimits, position: int, other_position: int
) -> tuple[RiskGate, Instrument, dict[str, Instrument]]:
    gate = RiskGate(account)
    main, other = _instrument(), _instrument("MSFT.SIM")
    gate.register_instrument(main, limits)
    gate.register_instrument(other, None)
    gate.on_price(0, 10_000, 0)
    gate.on_price(1, 20_000, 0)
    if position:
        gate.set_position(0, position, "100.00")
    if other_position:
        gate.set_position(1, other_position, "200.00")
    return gate, main, {"AAPL.SIM": main, "MSFT.SIM": other}


@settings(max_examples=300, deadline=None)
@given(
    order=st.integers(-5_000, 5_000).filter(bool),
    position=st.integers(-2_000, 2_000),
    other_position=st.integers(-500, 500),
    max_order_quantity=st.one_of(st.none(), st.integers(1, 3_000)),
    max_order_notional=st.one_of(st.none(), st.integers(100, 300_000)),
    max_long=st.one_of(st.none(), st.integers(0, 4_000)),
    max_short=st.one_of(st.none(), st.integers(0, 4_000)),
    max_gross=st.one_of(st.none(), st.integers(1_000, 800_000)),
    max_net=st.one_of(st.none(), st.integers(1_000, 800_000)),
    state=st.sampled_from([TradingState.ACTIVE, TradingState.REDUCING]),
)
def test_clip_to_gate_is_approved_and_one_lot_more_is_refused(
    *,
    order: int,
    position: int,
    other_position: int,
    max_order_quantity: int | None,
    max_order_notional: int | None,
    max_long: int | None,
    max_short: int | None,
    max_gross: int | None,
    max_net: int | None,
    state: TradingState,
) -> None:
    account = AccountLimits(max_gross_exposure=max_gross, max_net_exposure=max_net)
    limits = InstrumentLimits(
        max_order_quantity=max_order_quantity,
        max_order_notional=max_order_notional,
        max_long_position=max_long,
        max_short_position=max_short,
    )
    gate, main, instruments = _gate(account, limits, position, other_position)
    gate.set_trading_state(state)
    clip = sizing.clip_to_gate(
        gate,
        main,
        order,
        10_000,
        instrument_limits=limits,
        account_limits=account,
        instruments=instruments,
    )
    assert abs(clip.lots) <= abs(order)
    assert clip.lots == 0 or (clip.lots > 0) == (order > 0)
    side = BUY if order > 0 else SELL
    if clip.lots:
        probe, _, _ = _gate(account, limits, position, other_position)
        probe.set_trading_state(state)
        assert probe.check_order(1, 0, side, 10_000, abs(clip.lots), 1) == RejectReason.APPROVED
    if abs(clip.lots) < abs(order):
        assert clip.binding != RejectReason.APPROVED
        probe, _, _ = _gate(account, limits, position, other_position)
        probe.set_trading_state(state)
        verdict = probe.check_order(1, 0, side, 10_000, abs(clip.lots) + 1, 1)
        assert verdict != RejectReason.APPROVED
    else:
        assert clip.binding == RejectReason.APPROVED


def test_clip_to_gate_blocks_everything_under_kill_switch_and_halt() -> None:
    gate, main, _ = _gate(AccountLimits(), InstrumentLimits(), 10, 0)
    gate.engage_kill_switch()
    assert sizing.clip_to_gate(gate, main, 5, 10_000) == (0, RejectReason.KILL_SWITCH)
    gate.reset_kill_switch()
    gate.set_trading_state(TradingState.HALTED)
    assert sizing.clip_to_gate(gate, main, -5, 10_000) == (0, RejectReason.TRADING_HALTED)


def test_clip_to_gate_needs_every_instrument_for_exposure_limits() -> None:
    account = AccountLimits(max_gross_exposure=10_000)
    gate, main, _ = _gate(account, InstrumentLimits(), 10, 5)
    with pytest.raises(InvalidValue) as error:
        sizing.clip_to_gate(gate, main, 5, 10_000, account_limits=account)
    assert error.value.code == "UNKNOWN_INSTRUMENT"


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: sizing.kelly_fraction(1.0, 2.0), "OUT_OF_RANGE"),
        (lambda: sizing.kelly_fraction(0.5, 0.0), "NON_POSITIVE"),
        (lambda: sizing.kelly_fraction(0.5, 2.0, fraction=1.5), "OUT_OF_RANGE"),
        (lambda: sizing.kelly_from_returns([0.01, 0.01]), "ZERO_VARIANCE"),
        (lambda: sizing.kelly_multi_asset([0.1, 0.1], [[1, 1], [1, 1]]), "SINGULAR_COVARIANCE"),
        (lambda: sizing.kelly_multi_asset([0.1], [[1, 0], [0, 1]]), "LENGTH_MISMATCH"),
        (
            lambda: sizing.volatility_target_weight(
                [0.0, 0.0, 0.0], target_volatility=0.1, periods_per_year=252
            ),
            "ZERO_VARIANCE",
        ),
        (lambda: sizing.average_true_range([1, 2], [2, 1], [1, 1], window=2), "HIGH_BELOW_LOW"),
        (
            lambda: sizing.fixed_fractional_size(
                1000, risk_fraction=0.01, entry_price=10, stop_price=10
            ),
            "ZERO_STOP_DISTANCE",
        ),
        (lambda: sizing.risk_parity_weights([[1, 0.5], [0.4, 1]]), "NOT_SYMMETRIC"),
        (lambda: sizing.risk_parity_weights(np.eye(2), budgets=[1, -1]), "INVALID_BUDGETS"),
        (lambda: sizing.cap_weights([0.1], max_weight=0), "NON_POSITIVE"),
        (
            lambda: sizing.clip_to_gate(RiskGate(), _instrument(), 1.5, 100),  # type: ignore[arg-type]
            "NOT_INTEGER",
        ),
    ],
)
def test_bad_input_raises_a_coded_error(call: object, code: str) -> None:
    with pytest.raises(InvalidValue) as error:
        call()  # type: ignore[operator]
    assert error.value.code == code


def test_order_towards_a_target_counts_open_orders_and_stays_within_limits() -> None:
    limits = InstrumentLimits(max_long_position=500)
    gate, main, _ = _gate(AccountLimits(), limits, 100, 0)
    assert sizing.order_towards(gate, main, 100, 10_000, instrument_limits=limits) == (
        0,
        RejectReason.APPROVED,
    )
    assert gate.check_order(1, 0, BUY, 9_900, 50, 1) == RejectReason.APPROVED  # 50 on the way
    assert sizing.order_towards(gate, main, 300, 10_000, instrument_limits=limits) == (
        150,
        RejectReason.APPROVED,
    )
    assert sizing.order_towards(gate, main, 1_000, 10_000, instrument_limits=limits) == (
        350,
        RejectReason.MAX_LONG_POSITION,
    )
    assert sizing.order_towards(gate, main, -100, 10_000, instrument_limits=limits) == (
        -200,
        RejectReason.APPROVED,
    )
    money = 25_000.0  # a sizing rule's output, in money, at 100.00
    target = sizing.target_lots(money, 100.0, main)
    assert target == 250
    assert sizing.order_towards(gate, main, target, 10_000).lots == 100  # 250 - 100 - 50
