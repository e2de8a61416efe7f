"""Child-order schedules: how much of a parent order should be done by each decision point.

Every schedule is cumulative lots, non-decreasing, and ends at the parent quantity (or, for
participation, never above it), computed in exact integer/rational arithmetic so the children
always sum to the parent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from fractions import Fraction

from hftcore.errors import InvalidData, InvalidValue
from hftcore.model.data import Bar

NS_PER_DAY = 86_400_000_000_000


def exact_rate(value: float, field: str) -> Fraction:
    """A float parameter as the exact decimal its text shows (0.3 is 3/10, not the binary
    0.29999...), so ``floor(0.3 * 10)`` is 3."""
    if not math.isfinite(value):
        raise InvalidValue("NOT_A_NUMBER", f"{field} must be finite, got {value!r}")
    return Fraction(repr(value))


def even_schedule(quantity: int, slices: int) -> list[int]:
    """TWAP: cumulative lots after each of ``slices`` equal slices; slice sizes differ by at
    most one lot and sum to ``quantity``."""
    _check_quantity(quantity)
    if slices <= 0:
        raise InvalidValue("INVALID_SLICES", f"slices must be > 0, got {slices}")
    return [quantity * (k + 1) // slices for k in range(slices)]


def profile_schedule(quantity: int, weights: Sequence[float]) -> list[int]:
    """VWAP: cumulative lots after each slice, ``floor(quantity * cumulative weight share)``;
    the last is ``quantity``."""
    _check_quantity(quantity)
    exact = [exact_rate(weight, f"volume_profile[{i}]") for i, weight in enumerate(weights)]
    if not exact:
        raise InvalidValue("INVALID_PROFILE", "volume_profile must have at least one weight")
    for i, weight in enumerate(exact):
        if weight < 0:
            raise InvalidValue("INVALID_PROFILE", f"volume_profile[{i}] is negative")
    total = sum(exact, Fraction(0))
    if total <= 0:
        raise InvalidValue("INVALID_PROFILE", "volume_profile weights sum to zero")
    cumulative = Fraction(0)
    schedule = []
    for weight in exact:
        cumulative += weight
        schedule.append(int(quantity * cumulative / total))
    return schedule


def participation_target(rate: Fraction, market_volume: int, quantity: int) -> int:
    """POV: ``floor(rate * market_volume)``, at most ``quantity``."""
    return min(quantity, int(rate * market_volume))


def intraday_volume_profile(
    bars: Iterable[Bar], start_ns: int, interval_ns: int, slices: int
) -> tuple[float, ...]:
    """Weights of ``slices`` consecutive windows of ``interval_ns`` from ``start_ns``, from
    historical intraday bars: a window's weight is the share of the history's volume in bars
    whose close time of day falls in that window's time of day (``(window start, window
    end]``), over all days of the history. Bars longer than a window blur the profile; use
    bars no longer than ``interval_ns``.

    Raises ``InvalidValue`` ``INVALID_SLICES`` / ``INVALID_INTERVAL`` (a window set longer than
    a day), ``InvalidData`` ``NO_VOLUME`` (no historical volume in any window)."""
    if slices <= 0:
        raise InvalidValue("INVALID_SLICES", f"slices must be > 0, got {slices}")
    if interval_ns <= 0 or interval_ns * slices > NS_PER_DAY:
        raise InvalidValue(
            "INVALID_INTERVAL", "interval_ns must be > 0 and the windows at most one day"
        )
    first = start_ns % NS_PER_DAY
    volumes = [0] * slices
    for bar in bars:
        # time of day of the close, measured from the first window's start (wrapping midnight)
        offset = (bar.ts_event % NS_PER_DAY - first) % NS_PER_DAY
        if offset == 0:
            continue  # a close exactly at the start belongs to the window before it
        window = (offset - 1) // interval_ns
        if window < slices:
            volumes[window] += bar.volume
    total = sum(volumes)
    if total <= 0:
        raise InvalidData("NO_VOLUME", "no historical volume falls in the schedule's windows")
    return tuple(volume / total for volume in volumes)


def _check_quantity(quantity: int) -> None:
    if quantity <= 0:
        raise InvalidValue("NON_POSITIVE_QUANTITY", f"quantity must be > 0, got {quantity}")


__all__ = [
    "NS_PER_DAY",
    "even_schedule",
    "exact_rate",
    "intraday_volume_profile",
    "participation_target",
    "profile_schedule",
]
