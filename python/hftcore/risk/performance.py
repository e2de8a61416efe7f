"""Performance measures: one implementation, used by backtest reports, live monitors and reports.

Every function is pure NumPy over plain arrays and validates its arguments: empty, non-numeric,
multi-dimensional, NaN or infinite input, mismatched lengths, non-positive equity, returns below
-100 %, unsorted timestamps and out-of-range parameters raise
:class:`hftcore.errors.InvalidValue` whose message names the argument.

Conventions (see ``docs/performance.md``):

* ``returns`` are simple per-period returns ``r_t = E_t / E_{t-1} - 1``, one per period, of a
  strategy sampled at a fixed frequency; ``periods_per_year`` (252 for US trading days, 12 for
  months, 365 * 24 for hourly crypto) is always passed explicitly.
* ``equity`` is an equity (wealth) curve, strictly positive; drawdowns are measured on it.
  ``equity_from_returns`` builds one from returns, starting at a baseline *before* the first
  return so a first-period loss counts as a drawdown.
* Annual rates (``risk_free_rate``, ``required_return``) are converted to a per-period rate
  geometrically: ``(1 + rate) ** (1 / periods_per_year) - 1``.
* Standard deviations are sample deviations (``ddof=1``); annualisation multiplies per-period
  means by ``periods_per_year`` inside compounding and deviations by ``sqrt(periods_per_year)``.
* A measure that is undefined for the data it got (a ratio whose denominator is zero, a standard
  deviation of one observation, a win rate of no trades) is ``nan``; ``nan`` never means bad
  input, which always raises.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from hftcore.errors import InvalidValue
from hftcore.risk import _checks as checks

__all__ = [
    "DrawdownEpisode",
    "annual_return",
    "annual_volatility",
    "average_loss",
    "average_win",
    "calmar_ratio",
    "drawdown_episodes",
    "drawdown_series",
    "equity_from_returns",
    "expectancy",
    "exposure",
    "hit_ratio",
    "max_drawdown",
    "max_drawdown_duration",
    "max_drawdown_duration_time",
    "omega_ratio",
    "per_period_rate",
    "profit_factor",
    "returns_from_equity",
    "round_trip_pnls",
    "sharpe_ratio",
    "sortino_ratio",
    "tail_ratio",
    "total_fees",
    "total_return",
    "turnover",
    "win_rate",
]

FloatArray = checks.FloatArray
ArrayLike = Sequence[float] | npt.NDArray[np.floating] | npt.NDArray[np.integer]


class DrawdownEpisode(NamedTuple):
    """One stay below a previous peak of an equity curve, as indices into that curve.

    ``recovery_index`` is the first index at or above the peak again, ``None`` if the curve
    ends under water; ``depth`` is ``equity[trough] / equity[peak] - 1`` (negative)."""

    peak_index: int
    trough_index: int
    recovery_index: int | None
    depth: float


# --- validation ------------------------------------------------------------------------------


def _returns(values: ArrayLike) -> FloatArray:
    returns = checks.float_series("returns", values)
    if (returns < -1.0).any():
        index = int(np.argmax(returns < -1.0))
        raise InvalidValue(
            "RETURN_BELOW_MINUS_ONE",
            f"returns[{index}] is {float(returns[index])!r}; a period cannot lose more than 100 %",
        )
    return returns


def _equity(values: ArrayLike) -> FloatArray:
    return checks.positive_series("equity", values, code="NON_POSITIVE_EQUITY")


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator != 0.0 else math.nan


# --- conversions -----------------------------------------------------------------------------


def per_period_rate(annual_rate: float, *, periods_per_year: float) -> float:
    """The per-period rate compounding to ``annual_rate`` over a year:
    ``(1 + annual_rate) ** (1 / periods_per_year) - 1``."""
    return _per_period("annual_rate", annual_rate, periods_per_year)


def _per_period(name: str, annual_rate: float, periods_per_year: float) -> float:
    rate = checks.annual_rate(name, annual_rate)
    periods = checks.positive_number("periods_per_year", periods_per_year)
    return float((1.0 + rate) ** (1.0 / periods) - 1.0)


def returns_from_equity(equity: ArrayLike) -> FloatArray:
    """Simple returns ``equity[t] / equity[t - 1] - 1`` (one fewer than the equity points)."""
    curve = _equity(equity)
    return curve[1:] / curve[:-1] - 1.0


def equity_from_returns(returns: ArrayLike, *, initial_equity: float = 1.0) -> FloatArray:
    """The equity curve ``initial_equity * cumprod(1 + returns)`` with ``initial_equity``
    prepended, so it has ``len(returns) + 1`` points and a first-period loss is a drawdown.

    Raises ``NON_POSITIVE_EQUITY`` if a return of -100 % wipes the curve out."""
    rets = _returns(returns)
    start = checks.positive_number("initial_equity", initial_equity)
    curve = np.empty(rets.size + 1, dtype=np.float64)
    curve[0] = start
    np.cumprod(1.0 + rets, out=curve[1:])
    curve[1:] *= start
    return _equity(curve)


# --- return-based measures -------------------------------------------------------------------


def total_return(returns: ArrayLike) -> float:
    """Compounded return over the whole series: ``prod(1 + r) - 1``."""
    rets = _returns(returns)
    return float(np.prod(1.0 + rets) - 1.0)


def annual_return(returns: ArrayLike, *, periods_per_year: float) -> float:
    """Compound annual growth rate (CAGR): ``prod(1 + r) ** (periods_per_year / n) - 1``, where
    ``n`` is the number of returns, so the length of the sample in years is
    ``n / periods_per_year`` (not calendar time)."""
    rets = _returns(returns)
    periods = checks.positive_number("periods_per_year", periods_per_year)
    wealth = float(np.prod(1.0 + rets))
    return float(wealth ** (periods / rets.size) - 1.0)


def annual_volatility(returns: ArrayLike, *, periods_per_year: float) -> float:
    """Sample standard deviation of the returns (``ddof=1``) times ``sqrt(periods_per_year)``;
    ``nan`` for fewer than two returns."""
    rets = _returns(returns)
    periods = checks.positive_number("periods_per_year", periods_per_year)
    if rets.size < 2:
        return math.nan
    return float(np.std(rets, ddof=1) * math.sqrt(periods))


def _excess(returns: ArrayLike, periods_per_year: float, risk_free_rate: float) -> FloatArray:
    rets = _returns(returns)
    return rets - _per_period("risk_free_rate", risk_free_rate, periods_per_year)


def sharpe_ratio(
    returns: ArrayLike, *, periods_per_year: float, risk_free_rate: float = 0.0
) -> float:
    """Annualised Sharpe ratio: ``mean(x) / std(x, ddof=1) * sqrt(periods_per_year)`` of the
    excess returns ``x = r - rf`` (``rf`` the per-period rate of the annual
    ``risk_free_rate``); ``nan`` for fewer than two returns or constant excess returns."""
    excess = _excess(returns, periods_per_year, risk_free_rate)
    if excess.size < 2 or np.ptp(excess) == 0.0:
        return math.nan
    return float(np.mean(excess) / np.std(excess, ddof=1) * math.sqrt(periods_per_year))


def sortino_ratio(
    returns: ArrayLike, *, periods_per_year: float, risk_free_rate: float = 0.0
) -> float:
    """Annualised Sortino ratio: ``mean(x) / downside * sqrt(periods_per_year)`` with excess
    returns ``x = r - rf`` and downside deviation ``downside = sqrt(mean(min(x, 0) ** 2))`` over
    *all* periods (the target semideviation); ``nan`` when no period is below the target."""
    excess = _excess(returns, periods_per_year, risk_free_rate)
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
    return _ratio(float(np.mean(excess)), downside) * math.sqrt(periods_per_year)


def calmar_ratio(returns: ArrayLike, *, periods_per_year: float) -> float:
    """Annual return (CAGR) divided by the magnitude of the maximum drawdown of
    ``equity_from_returns(returns)``; ``nan`` without a drawdown."""
    cagr = annual_return(returns, periods_per_year=periods_per_year)
    worst = max_drawdown(equity_from_returns(returns))
    return _ratio(cagr, abs(worst))


def omega_ratio(
    returns: ArrayLike, *, periods_per_year: float, required_return: float = 0.0
) -> float:
    """Omega ratio at the per-period threshold ``t`` of the annual ``required_return``:
    ``sum(max(r - t, 0)) / sum(max(t - r, 0))``; ``nan`` when no return is below ``t``."""
    rets = _returns(returns)
    threshold = _per_period("required_return", required_return, periods_per_year)
    above = rets - threshold
    gains = float(np.sum(above[above > 0.0]))
    losses = float(-np.sum(above[above < 0.0]))
    return _ratio(gains, losses)


def tail_ratio(returns: ArrayLike, *, cutoff: float = 0.95) -> float:
    """``|q(cutoff)| / |q(1 - cutoff)|`` of the returns, quantiles ``q`` linearly interpolated
    (NumPy's default); 0.95 compares the 95th and 5th percentiles. ``nan`` when the lower
    quantile is zero."""
    rets = _returns(returns)
    level = checks.number("cutoff", cutoff)
    if not 0.5 < level < 1.0:
        raise InvalidValue("OUT_OF_RANGE", f"cutoff must be in (0.5, 1), got {cutoff!r}")
    upper = abs(float(np.percentile(rets, 100.0 * level)))
    lower = abs(float(np.percentile(rets, 100.0 * (1.0 - level))))
    return _ratio(upper, lower)


def hit_ratio(returns: ArrayLike) -> float:
    """Fraction of the periods with a non-zero return whose return is positive (flat periods
    are neither hits nor misses); ``nan`` if every return is zero."""
    rets = _returns(returns)
    moved = int(np.count_nonzero(rets))
    return _ratio(float(np.count_nonzero(rets > 0.0)), float(moved))


# --- drawdowns -------------------------------------------------------------------------------


def drawdown_series(equity: ArrayLike) -> FloatArray:
    """``equity[t] / max(equity[:t + 1]) - 1`` at every point: 0 at a new high, negative
    below it."""
    curve = _equity(equity)
    return curve / np.maximum.accumulate(curve) - 1.0


def max_drawdown(equity: ArrayLike) -> float:
    """The deepest drawdown, ``min(drawdown_series(equity))``: a number in (-1, 0], e.g. -0.25
    for a fall of 25 % from a peak; 0 for a curve that never falls."""
    return float(np.min(drawdown_series(equity)))


def drawdown_episodes(equity: ArrayLike) -> list[DrawdownEpisode]:
    """Every maximal run of points strictly below the running peak, in time order."""
    curve = _equity(equity)
    underwater = curve < np.maximum.accumulate(curve)
    # Run boundaries: +1 where a run starts, -1 one past where it ends.
    edges = np.diff(np.concatenate(([0], underwater.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    episodes = []
    for start, stop in zip(starts.tolist(), stops.tolist(), strict=True):
        peak = start - 1
        trough = start + int(np.argmin(curve[start:stop]))
        recovery = stop if stop < curve.size else None
        depth = float(curve[trough] / curve[peak] - 1.0)
        episodes.append(DrawdownEpisode(peak, trough, recovery, depth))
    return episodes


def _episode_end(episode: DrawdownEpisode, last_index: int) -> int:
    return last_index if episode.recovery_index is None else episode.recovery_index


def max_drawdown_duration(equity: ArrayLike) -> int:
    """The longest time, in periods, from a peak until the curve is back at that peak (or until
    its last point if it never recovers); 0 for a curve that never falls."""
    curve = _equity(equity)
    last = curve.size - 1
    return max((_episode_end(e, last) - e.peak_index for e in drawdown_episodes(curve)), default=0)


def max_drawdown_duration_time(equity: ArrayLike, timestamps: object) -> int:
    """As ``max_drawdown_duration`` but in time: the longest
    ``timestamps[recovery or last] - timestamps[peak]``, in the unit of ``timestamps``
    (integer nanoseconds since the epoch in hftcore), one timestamp per equity point."""
    curve = _equity(equity)
    times = checks.timestamps("timestamps", timestamps, curve.size, "equity")
    last = curve.size - 1
    return max(
        (int(times[_episode_end(e, last)] - times[e.peak_index]) for e in drawdown_episodes(curve)),
        default=0,
    )


# --- trade-based measures --------------------------------------------------------------------


def _pnls(trade_pnls: ArrayLike) -> FloatArray:
    return checks.float_series("trade_pnls", trade_pnls, allow_empty=True)


def win_rate(trade_pnls: ArrayLike) -> float:
    """Fraction of closed trades with a positive P&L (break-even trades count as not won);
    ``nan`` without trades."""
    pnls = _pnls(trade_pnls)
    return _ratio(float(np.count_nonzero(pnls > 0.0)), float(pnls.size))


def profit_factor(trade_pnls: ArrayLike) -> float:
    """Gross profit over gross loss: ``sum(p[p > 0]) / -sum(p[p < 0])``; ``nan`` without a
    losing trade."""
    pnls = _pnls(trade_pnls)
    return _ratio(float(np.sum(pnls[pnls > 0.0])), float(-np.sum(pnls[pnls < 0.0])))


def average_win(trade_pnls: ArrayLike) -> float:
    """Mean P&L of the winning trades; ``nan`` without one."""
    pnls = _pnls(trade_pnls)
    wins = pnls[pnls > 0.0]
    return float(np.mean(wins)) if wins.size else math.nan


def average_loss(trade_pnls: ArrayLike) -> float:
    """Mean P&L of the losing trades (a negative number); ``nan`` without one."""
    pnls = _pnls(trade_pnls)
    losses = pnls[pnls < 0.0]
    return float(np.mean(losses)) if losses.size else math.nan


def expectancy(trade_pnls: ArrayLike) -> float:
    """Mean P&L per closed trade, ``win_rate * average_win + loss_rate * average_loss``;
    ``nan`` without trades."""
    pnls = _pnls(trade_pnls)
    return float(np.mean(pnls)) if pnls.size else math.nan


def round_trip_pnls(
    signed_quantities: ArrayLike,
    prices: ArrayLike,
    fees: ArrayLike,
    *,
    multiplier: float = 1.0,
) -> FloatArray:
    """Net P&L of each closed round trip of one instrument's fills, in fill order.

    A round trip runs from a flat position to flat again. Its P&L is its cash flow,
    ``-sum(q * price * multiplier) - sum(fee)``, with ``q`` positive for buys. A fill that
    flips the position closes the round trip with the part that reaches flat and opens the next
    with the rest; its fee is split in proportion. A round trip still open after the last fill
    is not counted. Quantities are read as the decimals they print as (``repr``), so lot sizes
    such as 0.1 add up to exactly flat."""
    quantities = checks.float_series("signed_quantities", signed_quantities, allow_empty=True)
    fill_prices = checks.float_series("prices", prices, allow_empty=True)
    fill_fees = checks.float_series("fees", fees, allow_empty=True)
    if not quantities.size == fill_prices.size == fill_fees.size:
        raise InvalidValue(
            "LENGTH_MISMATCH",
            f"signed_quantities, prices and fees have {quantities.size}, {fill_prices.size} "
            f"and {fill_fees.size} values",
        )
    if (quantities == 0.0).any():
        raise InvalidValue(
            "ZERO_QUANTITY", f"signed_quantities[{int(np.argmax(quantities == 0.0))}] is 0"
        )
    if (fill_prices <= 0.0).any():
        raise InvalidValue(
            "NON_POSITIVE", f"prices[{int(np.argmax(fill_prices <= 0.0))}] must be > 0"
        )
    contract = checks.positive_number("multiplier", multiplier)
    closed: list[float] = []
    position = Decimal(0)
    cash = 0.0
    for quantity_value, price, fee in zip(
        quantities.tolist(), fill_prices.tolist(), fill_fees.tolist(), strict=True
    ):
        quantity = Decimal(repr(quantity_value))
        after = position + quantity
        if position != 0 and after != 0 and (after > 0) != (position > 0):
            closing_share = float(-position / quantity)
            cash -= float(-position) * price * contract + fee * closing_share
            closed.append(cash)
            cash = -float(after) * price * contract - fee * (1.0 - closing_share)
        else:
            cash -= quantity_value * price * contract + fee
            if after == 0:
                closed.append(cash)
                cash = 0.0
        position = after
    return np.asarray(closed, dtype=np.float64)


# --- activity --------------------------------------------------------------------------------


def exposure(positions: object, timestamps: object = None) -> float:
    """Fraction of the periods in which a position was held.

    ``positions`` has one row per equity point (shape ``(n,)`` for one instrument or ``(n, k)``
    for ``k``); row ``t`` is the position held from point ``t`` to point ``t + 1``, so the last
    row ends the sample and is not weighed. Without ``timestamps`` every period weighs the same;
    with them a period weighs its length ``timestamps[t + 1] - timestamps[t]``. ``nan`` for a
    single point."""
    held = checks.float_array("positions", positions)
    if held.ndim not in (1, 2):
        raise InvalidValue(
            "NOT_ONE_DIMENSIONAL",
            f"positions must have shape (n,) or (n, instruments), got {held.shape}",
        )
    if held.shape[0] == 0:
        raise InvalidValue("EMPTY", "positions is empty")
    checks.require_finite("positions", held)
    invested = held != 0.0 if held.ndim == 1 else (held != 0.0).any(axis=1)
    if held.shape[0] < 2:
        return math.nan
    if timestamps is None:
        return float(np.mean(invested[:-1]))
    times = checks.timestamps("timestamps", timestamps, held.shape[0], "positions")
    lengths = np.diff(times).astype(np.float64)
    return float(np.sum(lengths[invested[:-1]]) / np.sum(lengths))


def turnover(traded_notional: ArrayLike, equity: ArrayLike) -> float:
    """Traded notional over average equity: ``sum(|notional|) / mean(equity)``; 2.0 means the
    strategy traded twice its average capital (a full round trip of the book counts buy and
    sell)."""
    notional = checks.float_series("traded_notional", traded_notional, allow_empty=True)
    curve = _equity(equity)
    return float(np.sum(np.abs(notional)) / np.mean(curve))


def total_fees(fees: ArrayLike) -> float:
    """Sum of the fees paid (negative fees are rebates), summed exactly rounded (``fsum``)."""
    return math.fsum(checks.float_series("fees", fees, allow_empty=True).tolist())
