"""Concentration and gross/net exposure of a portfolio, grouped by any label.

Exposures are money (the signed value of each position in one currency). Sums are exact:
amounts are taken as the decimals they print as (:func:`hftcore.model.money.to_decimal`) and
added as ``Decimal``, so a limit compared against them is never off by float rounding.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import NamedTuple

import numpy as np

from hftcore.errors import InvalidValue
from hftcore.model.money import to_decimal
from hftcore.risk import _checks as checks

__all__ = ["Concentration", "GroupExposure", "concentration", "exposure_by_group"]


class Concentration(NamedTuple):
    """``weights[i] = |x_i| / sum |x|``; ``hhi = sum(weights ** 2)`` (1/N for equal positions,
    1 for one position); ``effective_positions = 1 / hhi``; ``top`` the largest ``n`` weights
    with their names and ``top_share`` their sum."""

    weights: dict[str, float]
    hhi: float
    effective_positions: float
    top: list[tuple[str, float]]
    top_share: float


class GroupExposure(NamedTuple):
    """Gross (``sum |x|``), net (``sum x``), long and short (a magnitude) exposure of a group."""

    gross: Decimal
    net: Decimal
    long: Decimal
    short: Decimal


def _amounts(exposures: Mapping[str, object]) -> dict[str, Decimal]:
    if not isinstance(exposures, Mapping) or not exposures:
        raise InvalidValue("EMPTY", "exposures must be a non-empty mapping of name -> amount")
    amounts: dict[str, Decimal] = {}
    for name, value in exposures.items():
        # a NumPy scalar as the Python number it holds (its repr is not a decimal)
        plain = value.item() if isinstance(value, np.generic) else value
        if not isinstance(plain, int | float | str | Decimal):
            raise InvalidValue("NOT_A_NUMBER", f"exposures[{name!r}] is not an amount: {value!r}")
        amounts[str(name)] = to_decimal(plain, f"exposures[{name!r}]")
    return amounts


def concentration(exposures: Mapping[str, object], *, top_n: int = 5) -> Concentration:
    """Concentration of the positions by absolute exposure; a portfolio with no exposure at
    all raises ``NO_EXPOSURE``."""
    amounts = _amounts(exposures)
    count = checks.positive_int("top_n", top_n)
    gross = sum((abs(amount) for amount in amounts.values()), Decimal(0))
    if gross == 0:
        raise InvalidValue("NO_EXPOSURE", "every exposure is zero: concentration is undefined")
    weights = {name: float(abs(amount) / gross) for name, amount in amounts.items()}
    values = np.fromiter(weights.values(), dtype=np.float64)
    hhi = float(values @ values)
    ranked = sorted(weights.items(), key=lambda item: (-item[1], item[0]))[:count]
    return Concentration(weights, hhi, 1.0 / hhi, ranked, float(sum(w for _, w in ranked)))


def exposure_by_group(
    exposures: Mapping[str, object], groups: Mapping[str, str]
) -> dict[str, GroupExposure]:
    """Gross, net, long and short exposure per group label (asset class, sector, currency,
    ...). ``groups`` maps every position name to its label; a position without a label raises
    ``UNLABELLED_POSITION`` (an exposure that silently drops out of every group would hide)."""
    amounts = _amounts(exposures)
    if not isinstance(groups, Mapping):
        raise InvalidValue("INVALID_GROUPS", "groups must map each position to a label")
    totals: dict[str, list[Decimal]] = {}
    for name, amount in amounts.items():
        label = groups.get(name)
        if label is None:
            raise InvalidValue("UNLABELLED_POSITION", f"position {name!r} has no group label")
        gross, net, long, short = totals.setdefault(
            str(label), [Decimal(0), Decimal(0), Decimal(0), Decimal(0)]
        )
        totals[str(label)] = [
            gross + abs(amount),
            net + amount,
            long + max(amount, Decimal(0)),
            short + max(-amount, Decimal(0)),
        ]
    return {label: GroupExposure(*values) for label, values in sorted(totals.items())}
