"""Argument checks shared by the performance measures and the reports built on them.

Each check returns the value converted (a float64 or int64 array, a float) or raises
:class:`hftcore.errors.InvalidValue` whose message names the argument.
"""

from __future__ import annotations

import math
from decimal import Decimal
from numbers import Real

import numpy as np
import numpy.typing as npt

from hftcore.errors import InvalidValue

FloatArray = npt.NDArray[np.float64]


def float_series(name: str, values: object, *, allow_empty: bool = False) -> FloatArray:
    """``values`` as a finite one-dimensional float64 array."""
    array = float_array(name, values)
    if array.ndim != 1:
        raise InvalidValue(
            "NOT_ONE_DIMENSIONAL", f"{name} must be one-dimensional, got shape {array.shape}"
        )
    if array.size == 0 and not allow_empty:
        raise InvalidValue("EMPTY", f"{name} is empty")
    require_finite(name, array)
    return array


def float_array(name: str, values: object) -> FloatArray:
    """``values`` as a float64 array of any shape (not yet checked for finiteness)."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidValue("NOT_NUMERIC", f"{name} must hold numbers ({exc})") from None


def require_finite(name: str, array: FloatArray) -> None:
    finite = np.isfinite(array)
    if not finite.all():
        position = np.unravel_index(int(np.argmin(finite)), array.shape)
        index = position[0] if len(position) == 1 else tuple(int(i) for i in position)
        raise InvalidValue(
            "NOT_FINITE", f"{name}[{index}] is {float(array[position])!r}; values must be finite"
        )


def positive_series(name: str, values: object, *, code: str = "NON_POSITIVE") -> FloatArray:
    """A non-empty finite one-dimensional series of values > 0."""
    array = float_series(name, values)
    if (array <= 0.0).any():
        index = int(np.argmax(array <= 0.0))
        raise InvalidValue(code, f"{name}[{index}] is {float(array[index])!r}; values must be > 0")
    return array


def timestamps(name: str, values: object, length: int, length_of: str) -> npt.NDArray[np.int64]:
    """Strictly increasing integer timestamps, one per element of the series ``length_of``."""
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise InvalidValue("NOT_INTEGER", f"{name} must hold integers ({exc})") from None
    if array.ndim != 1 or (array.dtype.kind not in "iu" and array.size):
        raise InvalidValue(
            "NOT_INTEGER",
            f"{name} must be a one-dimensional array of integer nanoseconds since the epoch",
        )
    if array.size != length:
        raise InvalidValue(
            "LENGTH_MISMATCH", f"{name} has {array.size} values but {length_of} has {length}"
        )
    if array.dtype.kind == "u" and array.size and int(array.max()) > np.iinfo(np.int64).max:
        raise InvalidValue("OUT_OF_RANGE", f"{name} must fit in 64-bit signed nanoseconds")
    array = array.astype(np.int64)
    steps = np.diff(array)
    if (steps <= 0).any():
        index = int(np.argmax(steps <= 0)) + 1
        raise InvalidValue(
            "NOT_INCREASING", f"{name}[{index}] does not come after {name}[{index - 1}]"
        )
    return array


def number(name: str, value: object) -> float:
    """A finite real number: an int, float, Decimal or NumPy number (``bool`` is refused: it
    is never meant as a number here)."""
    if isinstance(value, bool) or not isinstance(value, Real | Decimal):
        raise InvalidValue("NOT_NUMERIC", f"{name} must be a number, got {value!r}")
    result = float(value)
    if not math.isfinite(result):
        raise InvalidValue("NOT_FINITE", f"{name} must be finite, got {value!r}")
    return result


def positive_number(name: str, value: object) -> float:
    result = number(name, value)
    if result <= 0.0:
        raise InvalidValue("NON_POSITIVE", f"{name} must be > 0, got {value!r}")
    return result


def annual_rate(name: str, value: object) -> float:
    """An annual rate of return, which cannot be -100 % or below."""
    rate = number(name, value)
    if rate <= -1.0:
        raise InvalidValue("OUT_OF_RANGE", f"{name} must be > -1 (an annual rate), got {value!r}")
    return rate


def float_matrix(name: str, values: object) -> FloatArray:
    """``values`` as a finite two-dimensional float64 array with at least one row and column;
    a one-dimensional series becomes one column."""
    array = float_array(name, values)
    if array.ndim == 1:
        array = array[:, np.newaxis]
    if array.ndim != 2:
        raise InvalidValue(
            "NOT_TWO_DIMENSIONAL", f"{name} must be a matrix (rows x columns), got {array.shape}"
        )
    if array.size == 0:
        raise InvalidValue("EMPTY", f"{name} is empty")
    require_finite(name, array)
    return array


def probability(name: str, value: object, *, low: float = 0.0, high: float = 1.0) -> float:
    """A number strictly between ``low`` and ``high`` (a confidence level, a quantile)."""
    result = number(name, value)
    if not low < result < high:
        raise InvalidValue("OUT_OF_RANGE", f"{name} must be in ({low}, {high}), got {value!r}")
    return result


def positive_int(name: str, value: object) -> int:
    """An ``int`` >= 1 (``bool`` refused)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidValue("NOT_INTEGER", f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise InvalidValue("NON_POSITIVE", f"{name} must be >= 1, got {value!r}")
    return int(value)
