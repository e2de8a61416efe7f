"""Technical indicators over the most recent window of a price series (NumPy, float64).

Each function takes the window an agent keeps (oldest first) and returns the indicator's value
for its last point, or ``None`` when the window is too short or the value undefined (a flat
window has no z-score, a series that does not revert has no half-life). Windows are validated:
non-finite or non-positive prices raise :class:`hftcore.errors.InvalidValue`.

References: Wilder (1978) for the average true range; Donchian (1960) for the price channel;
Uhlenbeck and Ornstein (1930) and Chan, *Algorithmic Trading* (2013, ch. 2) for the half-life of
mean reversion from the AR(1) regression of price changes on the lagged price.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from hftcore.errors import InvalidValue

FloatArray = npt.NDArray[np.float64]


def prices(values: Sequence[float] | FloatArray, name: str = "prices") -> FloatArray:
    """A 1-d float64 array of finite, strictly positive prices."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise InvalidValue("INVALID_SERIES", f"{name} must be one-dimensional")
    if array.size and (not np.isfinite(array).all() or (array <= 0).any()):
        raise InvalidValue("INVALID_SERIES", f"{name} must be finite and positive")
    return array


def _window(window: int) -> int:
    if isinstance(window, bool) or not isinstance(window, int) or window < 2:
        raise InvalidValue("INVALID_WINDOW", f"window must be an int >= 2, got {window!r}")
    return window


def simple_moving_average(closes: Sequence[float] | FloatArray, window: int) -> float | None:
    """Mean of the last ``window`` closes."""
    series = prices(closes, "closes")
    if series.size < _window(window):
        return None
    return float(series[-window:].mean())


def log_return(closes: Sequence[float] | FloatArray, lookback: int, skip: int = 0) -> float | None:
    """``log(close[t - skip] / close[t - skip - lookback])``: the return over ``lookback``
    periods ending ``skip`` periods ago (momentum skips the last month, Jegadeesh-Titman)."""
    series = prices(closes, "closes")
    if lookback < 1 or skip < 0:
        raise InvalidValue("INVALID_WINDOW", f"need lookback >= 1, skip >= 0: {lookback}, {skip}")
    if series.size < lookback + skip + 1:
        return None
    end = series.size - 1 - skip
    return float(math.log(series[end] / series[end - lookback]))


def volatility(closes: Sequence[float] | FloatArray, window: int) -> float | None:
    """Sample standard deviation of the last ``window`` log returns (per period)."""
    series = prices(closes, "closes")
    if series.size < _window(window) + 1:
        return None
    returns = np.diff(np.log(series[-(window + 1) :]))
    return float(returns.std(ddof=1))


def z_score(closes: Sequence[float] | FloatArray, window: int) -> float | None:
    """``(close - mean) / std`` over the last ``window`` closes: the distance from the middle
    of the Bollinger bands (Bollinger 2001) in band widths of one standard deviation."""
    series = prices(closes, "closes")
    if series.size < _window(window):
        return None
    tail = series[-window:]
    deviation = float(tail.std(ddof=1))
    if deviation == 0.0:
        return None
    return float((tail[-1] - tail.mean()) / deviation)


def ou_half_life(closes: Sequence[float] | FloatArray, window: int) -> float | None:
    """Half-life (in periods) of mean reversion of the last ``window`` closes, from the OLS fit
    ``dp_t = a + b * p_{t-1}``: ``-ln 2 / ln(1 + b)``, the discrete Ornstein-Uhlenbeck
    half-life. ``None`` when ``b >= 0`` (no reversion) or the fit is degenerate."""
    series = prices(closes, "closes")
    if series.size < max(_window(window), 3):
        return None
    tail = series[-window:]
    lagged, change = tail[:-1], np.diff(tail)
    centred = lagged - lagged.mean()
    denominator = float(centred @ centred)
    if denominator == 0.0:
        return None
    slope = float(centred @ (change - change.mean())) / denominator
    if not -1.0 < slope < 0.0:
        return None
    return -math.log(2.0) / math.log1p(slope)


def average_true_range(
    highs: Sequence[float] | FloatArray,
    lows: Sequence[float] | FloatArray,
    closes: Sequence[float] | FloatArray,
    window: int,
) -> float | None:
    """Wilder's average true range over the last ``window`` bars (simple mean of the true
    ranges ``max(high, prev close) - min(low, prev close)``)."""
    high, low, close = prices(highs, "highs"), prices(lows, "lows"), prices(closes, "closes")
    if not high.size == low.size == close.size:
        raise InvalidValue("LENGTH_MISMATCH", "highs, lows and closes differ in length")
    if high.size < _window(window) + 1:
        return None
    previous = close[-(window + 1) : -1]
    top = np.maximum(high[-window:], previous)
    bottom = np.minimum(low[-window:], previous)
    return float((top - bottom).mean())


def donchian_channel(
    highs: Sequence[float] | FloatArray, lows: Sequence[float] | FloatArray, window: int
) -> tuple[float, float] | None:
    """Highest high and lowest low of the ``window`` bars BEFORE the last one (so the last bar
    can break out of it)."""
    high, low = prices(highs, "highs"), prices(lows, "lows")
    if high.size != low.size:
        raise InvalidValue("LENGTH_MISMATCH", "highs and lows differ in length")
    if high.size < _window(window) + 1:
        return None
    return float(high[-(window + 1) : -1].max()), float(low[-(window + 1) : -1].min())
