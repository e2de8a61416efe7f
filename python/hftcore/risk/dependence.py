"""Beta to a benchmark, correlation matrices, rolling correlations and their regime breaks.

Returns are simple per-period returns, aligned row by row (``docs/risk.md``). Rolling
measures use windows ending at each row: element ``t`` covers rows ``t - window + 1 .. t`` and
the first ``window - 1`` elements are ``nan``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy import stats

from hftcore.errors import InvalidValue
from hftcore.risk import _checks as checks

__all__ = [
    "CorrelationBreak",
    "beta",
    "correlation_breaks",
    "correlation_matrix",
    "rolling_beta",
    "rolling_correlation",
]

FloatArray = checks.FloatArray
ArrayLike = Sequence[float] | Sequence[Sequence[float]] | npt.NDArray[np.floating]


class CorrelationBreak(NamedTuple):
    """A pair whose recent correlation left its regime at ``row``: ``recent`` over the
    short window, ``baseline`` over the long window before it, ``z`` the Fisher z statistic."""

    row: int
    first: int
    second: int
    recent: float
    baseline: float
    z: float


def _pair(returns: ArrayLike, benchmark: ArrayLike) -> tuple[FloatArray, FloatArray]:
    asset = checks.float_series("returns", returns)
    market = checks.float_series("benchmark", benchmark)
    if asset.size != market.size:
        raise InvalidValue(
            "LENGTH_MISMATCH", f"returns has {asset.size} values but benchmark has {market.size}"
        )
    if asset.size < 2:
        raise InvalidValue("TOO_FEW_OBSERVATIONS", "beta needs at least 2 periods")
    return asset, market


def _window(window: int, rows: int) -> int:
    length = checks.positive_int("window", window)
    if length < 2:
        raise InvalidValue("OUT_OF_RANGE", "window must be at least 2 periods")
    if length > rows:
        raise InvalidValue("TOO_FEW_OBSERVATIONS", f"window {length} exceeds the {rows} rows")
    return length


def beta(returns: ArrayLike, benchmark: ArrayLike) -> float:
    """``cov(r, b) / var(b)`` over the whole sample; ``nan`` if the benchmark is constant."""
    asset, market = _pair(returns, benchmark)
    centred = market - market.mean()
    variance = float(centred @ centred)
    return float(centred @ (asset - asset.mean())) / variance if variance else math.nan


def rolling_beta(returns: ArrayLike, benchmark: ArrayLike, *, window: int) -> FloatArray:
    """:func:`beta` over each trailing ``window`` (``nan`` before the first full window)."""
    asset, market = _pair(returns, benchmark)
    length = _window(window, asset.size)
    result = np.full(asset.size, np.nan)
    asset_windows = np.lib.stride_tricks.sliding_window_view(asset, length)
    market_windows = np.lib.stride_tricks.sliding_window_view(market, length)
    centred = market_windows - market_windows.mean(axis=1, keepdims=True)
    variance = np.einsum("ij,ij->i", centred, centred)
    covariance = np.einsum("ij,ij->i", centred, asset_windows)
    with np.errstate(divide="ignore", invalid="ignore"):
        result[length - 1 :] = np.where(variance > 0.0, covariance / variance, np.nan)
    return result


def correlation_matrix(returns: ArrayLike) -> FloatArray:
    """Pearson correlations of the columns (``nan`` rows/columns for constant assets)."""
    matrix = checks.float_matrix("returns", returns)
    if matrix.shape[0] < 2:
        raise InvalidValue("TOO_FEW_OBSERVATIONS", "a correlation needs at least 2 periods")
    centred = matrix - matrix.mean(axis=0)
    scale = np.sqrt(np.einsum("ij,ij->j", centred, centred))
    with np.errstate(divide="ignore", invalid="ignore"):
        normalised = centred / scale
    result: FloatArray = np.clip(normalised.T @ normalised, -1.0, 1.0)
    return result


def rolling_correlation(first: ArrayLike, second: ArrayLike, *, window: int) -> FloatArray:
    """Pearson correlation of two series over each trailing ``window``."""
    left, right = _pair(first, second)
    length = _window(window, left.size)
    result = np.full(left.size, np.nan)
    a = np.lib.stride_tricks.sliding_window_view(left, length)
    b = np.lib.stride_tricks.sliding_window_view(right, length)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    numerator = np.einsum("ij,ij->i", a, b)
    denominator = np.sqrt(np.einsum("ij,ij->i", a, a) * np.einsum("ij,ij->i", b, b))
    with np.errstate(divide="ignore", invalid="ignore"):
        result[length - 1 :] = np.clip(numerator / denominator, -1.0, 1.0)
    return result


def correlation_breaks(
    returns: ArrayLike,
    *,
    short_window: int = 20,
    long_window: int = 250,
    significance: float = 0.001,
    min_change: float = 0.2,
) -> list[CorrelationBreak]:
    """Rows where a pair's correlation over the last ``short_window`` periods differs from its
    correlation over the ``long_window`` periods before them by at least ``min_change`` *and*
    significantly: Fisher's ``z = (atanh(r_s) - atanh(r_l)) / sqrt(1/(n_s - 3) + 1/(n_l - 3))``
    beyond the two-sided ``significance`` level. A pair alerts when it enters the broken state
    (not again on every row it stays there), so each break is one alert."""
    matrix = checks.float_matrix("returns", returns)
    short = _window(short_window, matrix.shape[0])
    long = _window(long_window, matrix.shape[0])
    if short < 4 or long < 4:
        raise InvalidValue("OUT_OF_RANGE", "both windows must be at least 4 periods (Fisher z)")
    alpha = checks.probability("significance", significance)
    change = checks.probability("min_change", min_change, high=2.0)
    if short + long > matrix.shape[0]:
        raise InvalidValue(
            "TOO_FEW_OBSERVATIONS", f"short + long windows exceed the {matrix.shape[0]} rows"
        )
    critical = float(stats.norm.ppf(1.0 - alpha / 2.0))
    spread = math.sqrt(1.0 / (short - 3) + 1.0 / (long - 3))
    breaks: list[CorrelationBreak] = []
    columns = matrix.shape[1]
    for i in range(columns):
        for j in range(i + 1, columns):
            recent = rolling_correlation(matrix[:, i], matrix[:, j], window=short)
            baseline = rolling_correlation(matrix[:, i], matrix[:, j], window=long)
            # the baseline ending just before the recent window starts
            lagged = np.full_like(baseline, np.nan)
            lagged[short:] = baseline[:-short]
            with np.errstate(invalid="ignore", divide="ignore"):
                clipped_recent = np.clip(recent, -0.999999, 0.999999)
                clipped_base = np.clip(lagged, -0.999999, 0.999999)
                z = (np.arctanh(clipped_recent) - np.arctanh(clipped_base)) / spread
                broken = (np.abs(z) > critical) & (np.abs(recent - lagged) >= change)
            entered = broken & ~np.concatenate([[False], broken[:-1]])
            for row in np.flatnonzero(entered):
                breaks.append(
                    CorrelationBreak(
                        int(row), i, j, float(recent[row]), float(lagged[row]), float(z[row])
                    )
                )
    breaks.sort(key=lambda item: (item.row, item.first, item.second))
    return breaks
