"""Position sizing: how much to hold, then how much of it the risk gate would let through.

The sizing rules return fractions of equity (weights) or quantities in the instrument's units;
:func:`target_lots` turns money into whole lots and :func:`clip_to_gate` cuts an order to what
the pre-trade gate's limits leave room for. Sizing never overrides the gate: the clipped order
still goes through :meth:`hftcore.RiskGate.check_order`, which stays the final authority (a
price move or another strategy's fill between sizing and checking is the gate's to catch).
Formulas and conventions: ``docs/risk.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_DOWN, Decimal
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy import optimize

from hftcore._core import Instrument, RiskGate
from hftcore.errors import InvalidValue
from hftcore.model.risk import AccountLimits, InstrumentLimits, RejectReason, TradingState
from hftcore.risk import _checks as checks
from hftcore.risk import performance

__all__ = [
    "GateClip",
    "atr_position_size",
    "average_true_range",
    "cap_weights",
    "clip_to_gate",
    "fixed_fractional_size",
    "kelly_fraction",
    "kelly_from_returns",
    "kelly_multi_asset",
    "order_towards",
    "risk_contributions",
    "risk_parity_weights",
    "target_lots",
    "volatility_target_weight",
]

FloatArray = checks.FloatArray
ArrayLike = Sequence[float] | Sequence[Sequence[float]] | npt.NDArray[np.floating]


# --- Kelly -----------------------------------------------------------------------------------


def _fraction(name: str, value: float) -> float:
    result = checks.number(name, value)
    if not 0.0 < result <= 1.0:
        raise InvalidValue("OUT_OF_RANGE", f"{name} must be in (0, 1], got {value!r}")
    return result


def _cap(value: float, cap: float | None) -> float:
    if cap is None:
        return value
    limit = checks.positive_number("cap", cap)
    return max(-limit, min(limit, value))


def kelly_fraction(
    win_probability: float,
    win_loss_ratio: float,
    *,
    fraction: float = 1.0,
    cap: float | None = None,
) -> float:
    """Kelly stake of a repeated bet won with probability ``p`` paying ``b`` per unit lost:
    ``f* = p - (1 - p) / b``, times ``fraction`` (half Kelly: 0.5), clipped to ``[-cap, cap]``.
    A negative result means the bet has a negative edge (take the other side or stay out)."""
    p = checks.probability("win_probability", win_probability)
    b = checks.positive_number("win_loss_ratio", win_loss_ratio)
    return _cap(_fraction("fraction", fraction) * (p - (1.0 - p) / b), cap)


def kelly_from_returns(
    returns: ArrayLike, *, fraction: float = 1.0, cap: float | None = None
) -> float:
    """Continuous-time Kelly leverage of one asset from its per-period (excess) returns:
    ``f* = mean / variance`` (sample, ``ddof=1``), times ``fraction``, clipped to ``cap``."""
    series = checks.float_series("returns", returns)
    if series.size < 2:
        raise InvalidValue("TOO_FEW_OBSERVATIONS", "Kelly needs at least 2 returns")
    variance = float(np.var(series, ddof=1))
    if variance == 0.0:
        raise InvalidValue("ZERO_VARIANCE", "returns without variance give no Kelly bound")
    return _cap(_fraction("fraction", fraction) * float(np.mean(series)) / variance, cap)


def kelly_multi_asset(
    mean: ArrayLike,
    covariance: ArrayLike,
    *,
    fraction: float = 1.0,
    max_leverage: float | None = None,
) -> FloatArray:
    """Growth-optimal weights of several assets: ``f* = covariance^-1 mean`` (the maximiser of
    ``f' mu - f' S f / 2``), times ``fraction``; scaled down as a whole (directions kept) when
    its gross leverage ``sum |f|`` exceeds ``max_leverage``."""
    mu = checks.float_series("mean", mean)
    cov = checks.float_matrix("covariance", covariance)
    if cov.shape != (mu.size, mu.size):
        raise InvalidValue("LENGTH_MISMATCH", f"mean has {mu.size} assets, covariance {cov.shape}")
    try:
        weights = np.linalg.solve(cov, mu) * _fraction("fraction", fraction)
    except np.linalg.LinAlgError:
        raise InvalidValue("SINGULAR_COVARIANCE", "covariance is singular") from None
    if max_leverage is not None:
        limit = checks.positive_number("max_leverage", max_leverage)
        gross = float(np.abs(weights).sum())
        if gross > limit:
            weights *= limit / gross
    return np.asarray(weights, dtype=np.float64)


# --- volatility, ATR and fixed-fractional ----------------------------------------------------


def volatility_target_weight(
    returns: ArrayLike,
    *,
    target_volatility: float,
    periods_per_year: float,
    window: int | None = None,
    max_leverage: float | None = None,
) -> float:
    """Weight that scales the asset to an annual ``target_volatility``: ``target / realised``,
    the realised volatility being :func:`hftcore.risk.performance.annual_volatility` of the
    last ``window`` returns (all by default); capped at ``max_leverage``."""
    series = checks.float_series("returns", returns)
    target = checks.positive_number("target_volatility", target_volatility)
    if window is not None:
        series = series[-checks.positive_int("window", window) :]
    realised = performance.annual_volatility(series, periods_per_year=periods_per_year)
    if not realised > 0.0:
        raise InvalidValue("ZERO_VARIANCE", "realised volatility is zero or undefined")
    weight = target / realised
    if max_leverage is not None:
        weight = min(weight, checks.positive_number("max_leverage", max_leverage))
    return weight


def average_true_range(
    high: ArrayLike, low: ArrayLike, close: ArrayLike, *, window: int = 14
) -> FloatArray:
    """Wilder's average true range: ``TR_t = max(H_t - L_t, |H_t - C_(t-1)|, |L_t - C_(t-1)|)``
    (``H_0 - L_0`` on the first bar), ``ATR`` the mean of the first ``window`` true ranges, then
    ``ATR_t = (ATR_(t-1) (n - 1) + TR_t) / n``; ``nan`` before the first full window."""
    highs = checks.float_series("high", high)
    lows = checks.float_series("low", low)
    closes = checks.float_series("close", close)
    if not highs.size == lows.size == closes.size:
        raise InvalidValue("LENGTH_MISMATCH", "high, low and close must have equal lengths")
    if (highs < lows).any():
        raise InvalidValue("HIGH_BELOW_LOW", f"high < low at bar {int(np.argmax(highs < lows))}")
    length = checks.positive_int("window", window)
    if length > highs.size:
        raise InvalidValue("TOO_FEW_OBSERVATIONS", f"window {length} exceeds {highs.size} bars")
    previous = np.concatenate([[np.nan], closes[:-1]])
    true_range = np.fmax(highs - lows, np.fmax(np.abs(highs - previous), np.abs(lows - previous)))
    result = np.full(highs.size, np.nan)
    result[length - 1] = true_range[:length].mean()
    for index in range(length, highs.size):
        result[index] = (result[index - 1] * (length - 1) + true_range[index]) / length
    return result


def atr_position_size(
    equity: float,
    *,
    risk_fraction: float,
    atr: float,
    atr_multiple: float = 2.0,
    multiplier: float = 1.0,
) -> float:
    """Units such that a move of ``atr_multiple`` ATRs against the position loses
    ``risk_fraction`` of ``equity``: ``equity * risk_fraction / (atr * atr_multiple *
    multiplier)`` (``multiplier``: money per unit of price per unit held)."""
    capital = checks.positive_number("equity", equity)
    risk = _fraction("risk_fraction", risk_fraction)
    stop_distance = (
        checks.positive_number("atr", atr)
        * checks.positive_number("atr_multiple", atr_multiple)
        * checks.positive_number("multiplier", multiplier)
    )
    return capital * risk / stop_distance


def fixed_fractional_size(
    equity: float,
    *,
    risk_fraction: float,
    entry_price: float,
    stop_price: float,
    multiplier: float = 1.0,
) -> float:
    """Units such that being stopped out at ``stop_price`` loses ``risk_fraction`` of
    ``equity``: ``equity * risk_fraction / (|entry - stop| * multiplier)``."""
    capital = checks.positive_number("equity", equity)
    risk = _fraction("risk_fraction", risk_fraction)
    entry = checks.positive_number("entry_price", entry_price)
    stop = checks.positive_number("stop_price", stop_price)
    if entry == stop:
        raise InvalidValue("ZERO_STOP_DISTANCE", "stop_price must differ from entry_price")
    return capital * risk / (abs(entry - stop) * checks.positive_number("multiplier", multiplier))


# --- risk parity and caps --------------------------------------------------------------------


def risk_contributions(weights: ArrayLike, covariance: ArrayLike) -> FloatArray:
    """Each weight's share of the portfolio variance: ``w_i (S w)_i / (w' S w)`` (sums to 1)."""
    w = checks.float_series("weights", weights)
    cov = checks.float_matrix("covariance", covariance)
    if cov.shape != (w.size, w.size):
        raise InvalidValue("LENGTH_MISMATCH", f"{w.size} weights, covariance {cov.shape}")
    variance = float(w @ cov @ w)
    if variance <= 0.0:
        raise InvalidValue("ZERO_VARIANCE", "the portfolio has no variance")
    result: FloatArray = w * (cov @ w) / variance
    return result


def risk_parity_weights(
    covariance: ArrayLike, *, budgets: ArrayLike | None = None, tolerance: float = 1e-12
) -> FloatArray:
    """Long-only weights (summing to 1) whose risk contributions equal ``budgets`` (equal by
    default). Solved as the convex problem ``min y' S y / 2 - sum b_i ln y_i`` over ``y > 0``
    (Spinu 2013) with scipy's L-BFGS-B and an analytic gradient, then ``w = y / sum(y)``."""
    cov = checks.float_matrix("covariance", covariance)
    size = cov.shape[0]
    if cov.shape != (size, size) or not np.allclose(cov, cov.T, rtol=1e-10, atol=0.0):
        raise InvalidValue("NOT_SYMMETRIC", "covariance must be a symmetric square matrix")
    if (np.diag(cov) <= 0.0).any():
        raise InvalidValue("ZERO_VARIANCE", "every asset needs a positive variance")
    if budgets is None:
        shares = np.full(size, 1.0 / size)
    else:
        shares = checks.float_series("budgets", budgets)
        if shares.size != size or (shares <= 0.0).any():
            raise InvalidValue("INVALID_BUDGETS", f"budgets must be {size} positive numbers")
        shares = shares / shares.sum()
    scale = float(np.sqrt(np.diag(cov)).mean())
    scaled = cov / scale**2  # well-conditioned units for the optimiser

    def objective(y: FloatArray) -> tuple[float, FloatArray]:
        product = scaled @ y
        value = 0.5 * float(y @ product) - float(shares @ np.log(y))
        return value, product - shares / y

    start = shares / np.sqrt(np.diag(scaled))
    solution = optimize.minimize(
        objective,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=[(1e-12, None)] * size,
        options={"ftol": tolerance, "gtol": 1e-10, "maxiter": 10_000},
    )
    if not solution.success:
        raise InvalidValue("NOT_CONVERGED", f"risk parity did not converge: {solution.message}")
    y = np.asarray(solution.x, dtype=np.float64)
    result: FloatArray = y / y.sum()
    return result


def cap_weights(weights: ArrayLike, *, max_weight: float) -> FloatArray:
    """Clips every weight to ``[-max_weight, max_weight]`` (the max position per asset); the
    excess is not redistributed, so the total may fall (capital stays in cash)."""
    w = checks.float_series("weights", weights)
    limit = checks.positive_number("max_weight", max_weight)
    result: FloatArray = np.clip(w, -limit, limit)
    return result


# --- from money to lots, within the gate's limits --------------------------------------------


def target_lots(money: float | Decimal, price: float | Decimal, instrument: Instrument) -> int:
    """Signed whole lots worth at most ``|money|`` at ``price`` (rounded toward zero: sizing
    never rounds risk up)."""
    amount = Decimal(str(checks.number("money", money)))
    unit_price = Decimal(str(checks.positive_number("price", price)))
    units = amount / unit_price
    lots = (units / Decimal(instrument.lot_size)).to_integral_value(rounding=ROUND_DOWN)
    return int(lots)


class GateClip(NamedTuple):
    """An order cut to the gate's limits: ``lots`` (signed, 0 = nothing may go) and the
    ``RejectReason`` of the limit that bound it (``APPROVED`` if none did)."""

    lots: int
    binding: RejectReason


def _limit_lots(instrument: Instrument, value: object) -> int | None:
    if value is None:
        return None
    # the gate refused an off-grid limit at configuration, so this divides exactly
    return int(Decimal(str(value)) / Decimal(instrument.lot_size))


def clip_to_gate(
    gate: RiskGate,
    instrument: Instrument,
    order_lots: int,
    price_ticks: int,
    *,
    instrument_limits: InstrumentLimits | None = None,
    account_limits: AccountLimits | None = None,
    instruments: Mapping[str, Instrument] | None = None,
) -> GateClip:
    """The largest part of a signed order (``+`` buy, ``-`` sell) of ``order_lots`` at
    ``price_ticks`` that the gate's state and limits leave room for: nothing while the kill
    switch is engaged or trading is HALTED; only the reducing part while REDUCING; then cut to
    the instrument's maximum quantity, ``max_order_quantity``, ``max_order_notional``, the long
    and short position limits (counting open orders on the same side) and the account's gross
    and net exposure headroom at the reference prices. Pass the limits the gate was configured
    with (the node's ``NodeConfig``) and, for exposure limits, every instrument the gate
    knows by id (to value their positions)."""
    if isinstance(order_lots, bool) or not isinstance(order_lots, int):
        raise InvalidValue("NOT_INTEGER", f"order_lots must be an int, got {order_lots!r}")
    if order_lots == 0:
        return GateClip(0, RejectReason.APPROVED)
    index = gate.instrument_index(instrument.instrument_id)
    state = gate.position(index)
    buying = order_lots > 0
    wanted = abs(order_lots)
    binding = RejectReason.APPROVED

    def bound(limit: int | None, reason: RejectReason) -> None:
        nonlocal wanted, binding
        if limit is not None and limit < wanted:
            wanted, binding = max(limit, 0), reason

    if gate.kill_switch_engaged:
        return GateClip(0, RejectReason.KILL_SWITCH)
    trading = gate.trading_state
    if trading is TradingState.HALTED:
        reason = (
            RejectReason.DAILY_LOSS_LIMIT
            if gate.circuit_breaker_trip is not None
            else RejectReason.TRADING_HALTED
        )
        return GateClip(0, reason)
    if trading is TradingState.REDUCING:
        if buying:
            room = -(state.position + state.open_buy_quantity)
        else:
            room = state.position - state.open_sell_quantity
        bound(max(room, 0), RejectReason.REDUCE_ONLY)
    bound(instrument.max_quantity, RejectReason.QUANTITY_OUT_OF_RANGE)
    limits = instrument_limits or InstrumentLimits()
    bound(_limit_lots(instrument, limits.max_order_quantity), RejectReason.MAX_ORDER_QUANTITY)
    lot_notional = Decimal(instrument.notional(price_ticks, 1))
    if limits.max_order_notional is not None and lot_notional > 0:
        cap = Decimal(str(limits.max_order_notional)) / lot_notional
        bound(int(cap.to_integral_value(rounding=ROUND_DOWN)), RejectReason.MAX_ORDER_NOTIONAL)
    if buying:
        long_cap = _limit_lots(instrument, limits.max_long_position)
        if long_cap is not None:
            bound(
                long_cap - state.position - state.open_buy_quantity, RejectReason.MAX_LONG_POSITION
            )
    else:
        short_cap = _limit_lots(instrument, limits.max_short_position)
        if short_cap is not None:
            bound(
                short_cap + state.position - state.open_sell_quantity,
                RejectReason.MAX_SHORT_POSITION,
            )
    account = account_limits or AccountLimits()
    if state.reference_price is not None and (
        account.max_gross_exposure is not None or account.max_net_exposure is not None
    ):
        known = dict(instruments or {})
        known.setdefault(instrument.instrument_id, instrument)
        wanted, binding = _exposure_room(
            gate, known, index, buying=buying, wanted=wanted, binding=binding, account=account
        )
    if wanted < instrument.min_quantity:
        return GateClip(0, RejectReason.QUANTITY_OUT_OF_RANGE)
    return GateClip(wanted if buying else -wanted, binding)


def order_towards(
    gate: RiskGate,
    instrument: Instrument,
    target_lots: int,
    price_ticks: int,
    *,
    instrument_limits: InstrumentLimits | None = None,
    account_limits: AccountLimits | None = None,
    instruments: Mapping[str, Instrument] | None = None,
) -> GateClip:
    """The order (signed lots) that moves the gate's position in ``instrument`` toward the
    signed ``target_lots`` (a sizing rule's output through :func:`target_lots`), counting the
    orders already open on that side as on their way, cut by :func:`clip_to_gate`."""
    if isinstance(target_lots, bool) or not isinstance(target_lots, int):
        raise InvalidValue("NOT_INTEGER", f"target_lots must be an int, got {target_lots!r}")
    state = gate.position(gate.instrument_index(instrument.instrument_id))
    if target_lots > state.position:
        wanted = max(target_lots - state.position - state.open_buy_quantity, 0)
    else:
        wanted = min(target_lots - state.position + state.open_sell_quantity, 0)
    return clip_to_gate(
        gate,
        instrument,
        wanted,
        price_ticks,
        instrument_limits=instrument_limits,
        account_limits=account_limits,
        instruments=instruments,
    )


def _exposure_room(
    gate: RiskGate,
    instruments: Mapping[str, Instrument],
    index: int,
    *,
    buying: bool,
    wanted: int,
    binding: RejectReason,
    account: AccountLimits,
) -> tuple[int, RejectReason]:
    """Largest quantity <= ``wanted`` not raising gross/net exposure past the limits (the
    gate's worst-case model, see docs/risk-gate.md), by bisection over exact money."""
    ids = gate.instrument_ids
    states = [gate.position(i) for i in range(len(ids))]
    lot_values: list[Decimal] = []
    for instrument_id, s in zip(ids, states, strict=True):
        if s.reference_price is None:
            lot_values.append(Decimal(0))
            continue
        known = instruments.get(instrument_id)
        if known is None:
            raise InvalidValue(
                "UNKNOWN_INSTRUMENT", f"instruments lacks {instrument_id!r}, needed for exposure"
            )
        lot_values.append(Decimal(known.notional(s.reference_price, 1)))

    def exposures(extra: int) -> tuple[Decimal, Decimal]:
        gross, upper, lower = Decimal(0), Decimal(0), Decimal(0)
        for i, s in enumerate(states):
            buys = s.open_buy_quantity + (extra if i == index and buying else 0)
            sells = s.open_sell_quantity + (extra if i == index and not buying else 0)
            up, down = (s.position + buys) * lot_values[i], (s.position - sells) * lot_values[i]
            gross += max(abs(up), abs(down))
            upper, lower = upper + up, lower + down
        return gross, max(abs(upper), abs(lower))

    base_gross, base_net = exposures(0)
    gross_cap = (
        None if account.max_gross_exposure is None else Decimal(str(account.max_gross_exposure))
    )
    net_cap = None if account.max_net_exposure is None else Decimal(str(account.max_net_exposure))

    def violation(quantity: int) -> RejectReason | None:
        gross, net = exposures(quantity)
        if gross_cap is not None and gross > gross_cap and gross > base_gross:
            return RejectReason.MAX_GROSS_EXPOSURE
        if net_cap is not None and net > net_cap and net > base_net:
            return RejectReason.MAX_NET_EXPOSURE
        return None

    first = violation(wanted)
    if first is None:
        return wanted, binding
    low, high = 0, wanted  # violation(high) holds, violation(low) does not (0 changes nothing)
    while high - low > 1:
        middle = (low + high) // 2
        if violation(middle) is None:
            low = middle
        else:
            high = middle
    return low, first
