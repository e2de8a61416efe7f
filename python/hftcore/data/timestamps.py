"""Timestamps: integer nanoseconds since the Unix epoch, UTC, from text columns and from values.

:func:`parse_timestamps` turns a column of text into int64 ns in bulk (no Python object per
row). Formats are ``"iso"`` (``YYYY-MM-DD`` with an optional ``[T ]HH:MM[:SS[.fffffffff]]`` and
an optional ``Z`` or ``+HH:MM`` offset), ``"epoch_s"``/``"epoch_ms"``/``"epoch_us"``/``"epoch_ns"``
(integers), or a strptime-style pattern built from ``%Y %m %d %H %M %S %f`` and literal
characters: ``"%m/%d/%Y"`` reads ``1/4/1999``, ``"%d.%m.%Y %H:%M:%S.%f"`` reads
``01.01.2017 22:00:00.000``, ``"%Y%m"`` reads ``192607`` (``%m %d %H %M %S`` take one or two
digits, ``%f`` one to nine; ``%Y`` and ``%m`` are required, a missing ``%d`` means the 1st).
Text without an offset is wall-clock time in ``timezone`` (an IANA name, default UTC);
ambiguous or missing local times (DST changes) are rejected.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from hftcore.errors import InvalidData, InvalidValue

__all__ = ["EPOCH_FORMATS", "ISO", "parse_timestamps", "to_ns"]

ISO = "iso"
EPOCH_FORMATS: dict[str, int] = {
    "epoch_s": 1_000_000_000,
    "epoch_ms": 1_000_000,
    "epoch_us": 1_000,
    "epoch_ns": 1,
}
_ISO_PATTERN = (
    r"(?P<Y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"
    r"(?:[T ](?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?"
    r"(?P<z>Z|[+-]\d{2}:?\d{2})?"
)
_DIRECTIVES = {
    "Y": r"(?P<Y>\d{4})",
    "m": r"(?P<m>\d{1,2})",
    "d": r"(?P<d>\d{1,2})",
    "H": r"(?P<H>\d{1,2})",
    "M": r"(?P<M>\d{1,2})",
    "S": r"(?P<S>\d{1,2})",
    "f": r"(?P<f>\d{1,9})",
}
_DAY_NS = 86_400 * 1_000_000_000
Locate = Callable[[int], str]


def _pattern_of(fmt: str) -> str:
    if fmt == ISO:
        return _ISO_PATTERN
    parts: list[str] = []
    seen: set[str] = set()
    index = 0
    while index < len(fmt):
        char = fmt[index]
        if char != "%":
            parts.append(re.escape(char))
            index += 1
            continue
        directive = fmt[index + 1 : index + 2]
        if directive == "%":
            parts.append("%")
        elif directive in _DIRECTIVES and directive not in seen:
            parts.append(_DIRECTIVES[directive])
            seen.add(directive)
        else:
            raise InvalidValue(
                "BAD_TIMESTAMP_FORMAT",
                f"timestamp_format {fmt!r}: %{directive} is not one of %Y %m %d %H %M %S %f %% "
                "(each at most once)",
            )
        index += 2
    if not {"Y", "m"} <= seen:
        raise InvalidValue(
            "BAD_TIMESTAMP_FORMAT", f"timestamp_format {fmt!r} must contain %Y and %m"
        )
    return "".join(parts)


def _first_row(mask: npt.NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(mask)[0])


def _components(
    groups: pa.StructArray, name: str, *, width: int = 0, absent: int = 0
) -> npt.NDArray[np.int64]:
    if name not in [groups.type.field(i).name for i in range(groups.type.num_fields)]:
        return np.full(len(groups), absent, dtype=np.int64)
    text = groups.field(name)
    if width:
        text = pc.utf8_rpad(text, width=width, padding="0")
    text = pc.if_else(pc.equal(text, ""), "0", text)
    return np.asarray(pc.cast(text, pa.int64()), dtype=np.int64)


def _days_from_civil(
    year: npt.NDArray[np.int64], month: npt.NDArray[np.int64], day: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    # Proleptic Gregorian day count with 1970-01-01 = 0, in whole-array integer arithmetic
    # (eras of 400 years, years starting in March so the leap day comes last).
    shifted_year = year - (month <= 2)
    era = np.floor_divide(shifted_year, 400)
    year_of_era = shifted_year - era * 400
    day_of_year = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days: npt.NDArray[np.int64] = era * 146_097 + day_of_era - 719_468
    return days


def _days_in_month(
    year: npt.NDArray[np.int64], month: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    lengths = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
    days: npt.NDArray[np.int64] = lengths[np.clip(month, 0, 12)] + ((month == 2) & leap)
    return days


def _offset_ns(zone: pa.Array) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    text = pc.replace_substring(pc.replace_substring(zone, ":", ""), "Z", "+0000")
    has_offset = np.asarray(pc.not_equal(text, ""), dtype=bool)
    padded = pc.if_else(pc.equal(text, ""), "+0000", text)
    sign = np.where(np.asarray(pc.starts_with(padded, "-"), dtype=bool), -1, 1)
    hours = np.asarray(pc.cast(pc.utf8_slice_codeunits(padded, 1, 3), pa.int64()), dtype=np.int64)
    minutes = np.asarray(pc.cast(pc.utf8_slice_codeunits(padded, 3, 5), pa.int64()), dtype=np.int64)
    return sign * (hours * 60 + minutes) * 60 * 1_000_000_000, has_offset


def parse_timestamps(
    text: pa.Array | pa.ChunkedArray,
    fmt: str = ISO,
    *,
    timezone: str = "UTC",
    locate: Locate = lambda row: f"row {row}",
    column: str = "timestamp",
) -> npt.NDArray[np.int64]:
    """int64 ns UTC from a pyarrow string column; a bad row raises ``InvalidData`` naming it
    (``locate(row)``, e.g. ``"prices.csv line 12"``) and the column."""
    array = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    if not pa.types.is_string(array.type) and not pa.types.is_large_string(array.type):
        array = pc.cast(array, pa.string())
    array = pc.utf8_trim_whitespace(array)
    if fmt in EPOCH_FORMATS:
        return _parse_epoch(array, EPOCH_FORMATS[fmt], locate, column)
    pattern = _pattern_of(fmt)
    groups = pc.extract_regex(pc.fill_null(array, ""), pattern=f"^{pattern}$")
    matched = np.asarray(groups.is_valid(), dtype=bool)
    if not matched.all():
        row = _first_row(~matched)
        raise InvalidData(
            "BAD_TIMESTAMP",
            f"{locate(row)}: {column} {array[row].as_py()!r} does not match format {fmt!r}",
        )
    year, month = _components(groups, "Y"), _components(groups, "m")
    day = _components(groups, "d", absent=1)
    hour, minute, second = (_components(groups, name) for name in "HMS")
    fraction = _components(groups, "f", width=9)
    invalid = (
        (month < 1)
        | (month > 12)
        | (day < 1)
        | (day > _days_in_month(year, month))
        | (hour > 23)
        | (minute > 59)
        | (second > 59)
    )
    if invalid.any():
        row = _first_row(invalid)
        raise InvalidData(
            "BAD_TIMESTAMP",
            f"{locate(row)}: {column} {array[row].as_py()!r} is not a valid date/time",
        )
    days = _days_from_civil(year, month, day)
    if ((days < -106_000) | (days > 106_000)).any():
        row = _first_row((days < -106_000) | (days > 106_000))
        raise InvalidData(
            "BAD_TIMESTAMP",
            f"{locate(row)}: {column} {array[row].as_py()!r} is out of the ns range",
        )
    wall = days * _DAY_NS + ((hour * 60 + minute) * 60 + second) * 1_000_000_000 + fraction
    if fmt == ISO:
        offset, has_offset = _offset_ns(groups.field("z"))
        # Rows with an offset skip the timezone (their wall time may not exist there).
        local = _localize(np.where(has_offset, 0, wall), timezone, array, locate, column)
        return np.where(has_offset, wall - offset, local)
    return _localize(wall, timezone, array, locate, column)


def _parse_epoch(
    array: pa.Array, unit_ns: int, locate: Locate, column: str
) -> npt.NDArray[np.int64]:
    digits = np.asarray(pc.match_substring_regex(pc.fill_null(array, ""), r"^[+-]?\d{1,19}$"))
    if not digits.all():
        row = _first_row(~digits)
        raise InvalidData(
            "BAD_TIMESTAMP", f"{locate(row)}: {column} {array[row].as_py()!r} is not an integer"
        )
    try:
        values = np.asarray(pc.cast(array, pa.int64()), dtype=np.int64)
    except pa.ArrowInvalid as error:
        raise InvalidData("BAD_TIMESTAMP", f"{column}: {error}") from None
    limit = np.iinfo(np.int64).max // unit_ns
    if (np.abs(values) > limit).any():
        row = _first_row(np.abs(values) > limit)
        raise InvalidData("BAD_TIMESTAMP", f"{locate(row)}: {column} overflows int64 ns")
    return values * unit_ns


def _localize(
    wall: npt.NDArray[np.int64], timezone: str, text: pa.Array, locate: Locate, column: str
) -> npt.NDArray[np.int64]:
    if timezone == "UTC":
        return wall
    local = pa.array(wall, type=pa.timestamp("ns"))
    try:
        earliest = pc.assume_timezone(
            local, timezone=timezone, ambiguous="earliest", nonexistent="earliest"
        )
        latest = pc.assume_timezone(
            local, timezone=timezone, ambiguous="latest", nonexistent="latest"
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise InvalidValue("BAD_TIMEZONE", f"timezone {timezone!r}: {error}") from None
    first = np.asarray(pc.cast(earliest, pa.int64()), dtype=np.int64)
    unclear = first != np.asarray(pc.cast(latest, pa.int64()), dtype=np.int64)
    if unclear.any():
        row = _first_row(unclear)
        raise InvalidData(
            "AMBIGUOUS_TIMESTAMP",
            f"{locate(row)}: {column} {text[row].as_py()!r} is ambiguous or does not exist in "
            f"{timezone} (a DST change); give the UTC offset",
        )
    return first


def to_ns(value: object, *, name: str = "timestamp") -> int:
    """One timestamp as int ns UTC from an int (ns), an ISO string (UTC unless it has an
    offset), a timezone-aware ``datetime``, a ``date`` (midnight UTC) or a ``numpy.datetime64``."""
    if isinstance(value, bool):
        raise InvalidValue("BAD_TIMESTAMP", f"{name} must be a timestamp, not a bool")
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, str):
        return int(parse_timestamps(pa.array([value]), ISO, column=name)[0])
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidValue(
                "NAIVE_DATETIME", f"{name} {value!r} has no timezone; use an aware datetime"
            )
        since_epoch = value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        return since_epoch // dt.timedelta(microseconds=1) * 1_000
    if isinstance(value, dt.date):
        return (value - dt.date(1970, 1, 1)).days * _DAY_NS
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            raise InvalidValue("BAD_TIMESTAMP", f"{name} is NaT")
        return int(value.astype("datetime64[ns]").astype(np.int64))
    raise InvalidValue(
        "BAD_TIMESTAMP",
        f"{name} must be int ns, an ISO str, an aware datetime, a date or numpy.datetime64, "
        f"not {type(value).__name__}",
    )
