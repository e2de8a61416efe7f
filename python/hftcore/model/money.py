"""Exact money: integer counts of 1e-12 units of a currency (the core's ``Money``).

Venues and the portfolio keep every amount (notional, commission, cash, P&L) as an ``int`` of
``MONEY_UNIT`` ths, so sums and comparisons are exact. Decimal amounts from configuration come in
through :func:`to_money`, which refuses anything finer than 1e-12 instead of rounding it; values
that are exact rationals (an average cost after a partial close, an amount converted at an
exchange rate) are rounded once, when reported, by :func:`round_half_away`, the rule the core
uses for fees.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction
from numbers import Integral
from typing import TypeGuard

from hftcore._core import Instrument
from hftcore.errors import InvalidValue

MONEY_SCALE = 12
"""Decimal places of money."""
MONEY_UNIT = 10**MONEY_SCALE
"""Money units in one unit of currency."""
FEE_RATE_DENOMINATOR = 1_000_000_000
"""Instrument fee rates are integers in parts per 1e9 of notional."""

MoneyInput = int | str | Decimal | float
"""An amount of currency as configuration gives it (whole units for ``int``)."""


def to_decimal(value: MoneyInput | Fraction, what: str) -> Decimal:
    """A finite ``Decimal`` from an int, str, Decimal or float (through its shortest repr)."""
    if isinstance(value, bool):
        raise InvalidValue("NOT_A_NUMBER", f"{what}: a bool is not an amount")
    if isinstance(value, Fraction):
        raise InvalidValue("NOT_A_NUMBER", f"{what}: give a Decimal, not a Fraction")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidValue("NOT_A_NUMBER", f"{what}: {value!r} is not a number") from None
    if not number.is_finite():
        raise InvalidValue("NOT_A_NUMBER", f"{what}: {value!r} is not finite")
    return number


def to_money(value: MoneyInput, what: str) -> int:
    """Exact money units of an amount; an amount finer than 1e-12 raises ``InvalidValue``
    (``NOT_EXACT_MONEY``) rather than being rounded."""
    scaled = to_decimal(value, what).scaleb(MONEY_SCALE)
    if scaled != scaled.to_integral_value():
        raise InvalidValue("NOT_EXACT_MONEY", f"{what}: {value!r} is finer than 1e-12")
    return int(scaled)


def money_to_decimal(units: int) -> Decimal:
    """The exact ``Decimal`` amount of ``units`` money units (for display and export)."""
    return Decimal(units).scaleb(-MONEY_SCALE)


def round_half_away(value: Fraction | int) -> int:
    """Nearest integer, halves away from zero (the core's fee rounding)."""
    if type(value) is int:
        return value
    exact = Fraction(value)
    return round_ratio(exact.numerator, exact.denominator)


def round_ratio(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` to the nearest integer, halves away from zero, in integer
    arithmetic."""
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    rounded = (abs(numerator) * 2 + denominator) // (denominator * 2)
    return rounded if numerator >= 0 else -rounded


def exact_ratio(numerator: int | Fraction, denominator: int) -> int | Fraction:
    """``numerator / denominator`` exactly: an int when it divides (the common case, and
    much cheaper to add up than a Fraction)."""
    if type(numerator) is int and numerator % denominator == 0:
        return numerator // denominator
    return Fraction(numerator, denominator)


def notional_per_tick_lot(instrument: Instrument) -> int:
    """Money units of one lot at one tick: ``notional = ticks * lots * this``, exactly."""
    return to_money(instrument.notional(1, 1), f"{instrument.instrument_id} notional")


def fee_rate(rate_text: str) -> int:
    """An instrument fee rate (decimal text, e.g. ``"0.0003"``) in parts per 1e9."""
    return int(Decimal(rate_text).scaleb(9))


def fee(notional: int, rate: int) -> int:
    """Fee on a notional at a rate in parts per 1e9, rounded half away from zero, exactly as
    the core's ``InstrumentSpec::fee``."""
    return round_half_away(Fraction(notional * rate, FEE_RATE_DENOMINATOR))


def is_integer(value: object) -> TypeGuard[Integral]:
    """An int (or NumPy integer), not a bool."""
    return type(value) is int or (isinstance(value, Integral) and not isinstance(value, bool))


_PLAIN_INT = frozenset({int})


def all_integers(values: tuple[object, ...]) -> bool:
    """Whether every value is an int (or NumPy integer), not a bool: :func:`is_integer` of
    each, with one C-level type check first for the usual all-``int`` case (hot data paths)."""
    return _PLAIN_INT.issuperset(map(type, values)) or all(map(is_integer, values))


__all__ = [
    "FEE_RATE_DENOMINATOR",
    "MONEY_SCALE",
    "MONEY_UNIT",
    "MoneyInput",
    "all_integers",
    "exact_ratio",
    "fee",
    "fee_rate",
    "is_integer",
    "money_to_decimal",
    "notional_per_tick_lot",
    "round_half_away",
    "round_ratio",
    "to_decimal",
    "to_money",
]
