"""Market regimes of one price series: volatility, trend, and the Hurst exponent.

* **Volatility regime**: realised volatility of the last ``short_window`` log returns against
  that of the last ``long_window`` (a ratio above ``high_ratio`` is ``"high"``, below
  ``low_ratio`` ``"low"``), in the spirit of volatility-regime switching (Hamilton 1989,
  Ang and Bekaert 2002) without fitting a Markov chain.
* **Trend regime**: the t-statistic of the mean log return over ``trend_window`` (drift over
  its standard error); ``|t| >= trend_t`` is ``"up"`` or ``"down"``, else ``"none"``.
* **Hurst exponent**: the slope of ``log std(p_{t+tau} - p_t)`` against ``log tau`` for log
  prices ``p`` (the variogram of fractional Brownian motion, Mandelbrot and Van Ness 1968;
  Hurst 1951): about 0.5 for a random walk, above it for persistent (trending) increments,
  below it for anti-persistent (mean-reverting) ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import msgspec
import numpy as np

from hftcore.errors import InvalidValue
from hftcore.signals.indicators import FloatArray, prices

VolatilityRegime = Literal["low", "normal", "high"]
TrendRegime = Literal["up", "down", "none"]


def hurst_exponent(closes: Sequence[float] | FloatArray, max_lag: int = 20) -> float | None:
    """Hurst exponent of a price series from the scaling of its lagged differences over lags
    ``2 .. max_lag``; ``None`` with fewer than ``4 * max_lag`` prices or a flat series."""
    if isinstance(max_lag, bool) or not isinstance(max_lag, int) or max_lag < 4:
        raise InvalidValue("INVALID_WINDOW", f"max_lag must be an int >= 4, got {max_lag!r}")
    series = prices(closes, "closes")
    if series.size < 4 * max_lag:
        return None
    logs = np.log(series)
    lags = np.arange(2, max_lag + 1)
    spreads = np.array([np.std(logs[lag:] - logs[:-lag]) for lag in lags])
    if (spreads <= 0).any():
        return None
    slope = np.polyfit(np.log(lags), np.log(spreads), 1)[0]
    return float(slope)


def trend_t_statistic(closes: Sequence[float] | FloatArray, window: int) -> float | None:
    """t-statistic of the mean of the last ``window`` log returns."""
    series = prices(closes, "closes")
    if window < 3 or series.size < window + 1:
        return None
    returns = np.diff(np.log(series[-(window + 1) :]))
    deviation = float(returns.std(ddof=1))
    if deviation == 0.0:
        return None
    return float(returns.mean() / (deviation / math.sqrt(window)))


class Regime(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The regime of one series at one moment, with the numbers that decided it."""

    volatility: VolatilityRegime
    trend: TrendRegime
    hurst: float | None
    volatility_ratio: float | None
    trend_t: float | None


class RegimeDetector(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Classifies the latest point of a price window (see the module docs for the rules)."""

    short_window: int = 20
    long_window: int = 250
    high_ratio: float = 1.3
    low_ratio: float = 0.75
    trend_window: int = 60
    trend_t: float = 2.0
    hurst_max_lag: int = 20

    def __post_init__(self) -> None:
        if not 2 <= self.short_window < self.long_window:
            raise InvalidValue("INVALID_WINDOW", "need 2 <= short_window < long_window")
        if not 0 < self.low_ratio < 1 < self.high_ratio:
            raise InvalidValue("INVALID_THRESHOLD", "need 0 < low_ratio < 1 < high_ratio")
        if self.trend_window < 3 or self.trend_t <= 0 or self.hurst_max_lag < 4:
            raise InvalidValue(
                "INVALID_WINDOW", "need trend_window >= 3, trend_t > 0, hurst_max_lag >= 4"
            )

    @property
    def history(self) -> int:
        """Prices needed for every measure to be defined."""
        return max(self.long_window, self.trend_window, 4 * self.hurst_max_lag) + 1

    def classify(self, closes: Sequence[float] | FloatArray) -> Regime:
        series = prices(closes, "closes")
        ratio = None
        if series.size > self.long_window:
            returns = np.diff(np.log(series[-(self.long_window + 1) :]))
            long_vol = float(returns.std(ddof=1))
            short_vol = float(returns[-self.short_window :].std(ddof=1))
            ratio = short_vol / long_vol if long_vol > 0 else None
        volatility: VolatilityRegime = "normal"
        if ratio is not None and ratio >= self.high_ratio:
            volatility = "high"
        elif ratio is not None and ratio <= self.low_ratio:
            volatility = "low"
        t_stat = trend_t_statistic(series, self.trend_window)
        trend: TrendRegime = "none"
        if t_stat is not None and abs(t_stat) >= self.trend_t:
            trend = "up" if t_stat > 0 else "down"
        hurst = hurst_exponent(series, self.hurst_max_lag)
        return Regime(volatility, trend, hurst, ratio, t_stat)
