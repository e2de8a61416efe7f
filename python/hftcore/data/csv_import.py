"""CSV import: text columns to validated integer tables (ticks, lots, ns) of a catalog data type.

Prices and sizes go through the instrument's own exact decimal conversion
(``Instrument.price_to_ticks`` / ``quantity_to_lots``) once per distinct value, so a million
rows with a few thousand distinct prices cost a few thousand conversions. Off-grid values are
rejected unless ``price_rounding`` / ``size_rounding`` say how to round. Any bad row raises
``InvalidData`` naming the file and its line (line 1 is the header; blank lines count and are
rejected as empty values).
"""

from __future__ import annotations

import csv
import gzip
import os
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from hftcore._core import Instrument
from hftcore.data.bars import parse_bar_type
from hftcore.data.catalog import DataCatalog, DatasetInfo
from hftcore.data.schema import (
    PRICE_COLUMNS,
    SCHEMAS,
    SIZE_COLUMNS,
    DatasetKey,
    check_data_type,
    check_order,
    instrument_metadata,
    sort_by_time,
    to_table,
    validate_values,
)
from hftcore.data.timestamps import ISO, parse_timestamps
from hftcore.errors import InvalidData, InvalidValue

__all__ = ["COLUMN_ALIASES", "CSV_DATA_TYPES", "import_csv", "read_csv"]

RoundingMode = Literal["exact", "nearest", "down", "up"] | None
BarTimestamp = Literal["open", "close"]
CSV_DATA_TYPES = ("bars", "quotes", "trades", "l2_deltas")
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "ts_event": ("ts_event", "timestamp", "time", "date", "datetime"),
    "ts_init": ("ts_init",),
    "open": ("open",),
    "high": ("high",),
    "low": ("low",),
    "close": ("close",),
    "volume": ("volume",),
    "bid_price": ("bid_price", "bid"),
    "bid_size": ("bid_size",),
    "ask_price": ("ask_price", "ask"),
    "ask_size": ("ask_size",),
    "price": ("price",),
    "size": ("size", "quantity", "qty"),
    "quantity": ("quantity", "size", "qty"),
    "aggressor_side": ("aggressor_side",),
    "trade_id": ("trade_id",),
    "side": ("side",),
    "sequence": ("sequence",),
    "flags": ("flags",),
}
"""CSV headers matched (case-insensitively) to each field when ``columns`` does not name one."""

_OPTIONAL = {"ts_init", "volume", "aggressor_side", "trade_id", "sequence", "flags"}
_SIDE_CODES = {"0": 0, "1": 1, "BUY": 0, "B": 0, "BID": 0, "SELL": 1, "S": 1, "ASK": 1, "A": 1}
_AGGRESSOR_CODES = {**_SIDE_CODES, "": -1, "-1": -1, "UNKNOWN": -1}
_ROUNDINGS = (None, "exact", "nearest", "down", "up")
Locate = Callable[[int], str]


def _header(path: Path, delimiter: str) -> list[str]:
    opener: Callable[..., Any] = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            return next(csv.reader(handle, delimiter=delimiter), [])
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidData("BAD_CSV", f"{path}: cannot read the header: {error}") from None


def _resolve_columns(
    path: Path, header: list[str], fields: list[str], columns: Mapping[str, str] | None
) -> dict[str, str]:
    """Field -> CSV header for every field the file provides (required ones must be there)."""
    explicit = dict(columns or {})
    unknown = sorted(set(explicit) - set(fields))
    if unknown:
        raise InvalidValue(
            "UNKNOWN_FIELD", f"columns maps unknown fields {unknown}; the fields are {fields}"
        )
    by_lower = {name.strip().lower(): name for name in header}
    resolved: dict[str, str] = {}
    for field in fields:
        if field in explicit:
            if explicit[field] not in header:
                raise InvalidData(
                    "MISSING_COLUMN",
                    f"{path}: no column {explicit[field]!r} (for {field}); header: {header}",
                )
            resolved[field] = explicit[field]
            continue
        match = next((by_lower[a] for a in COLUMN_ALIASES[field] if a in by_lower), None)
        if match is not None:
            resolved[field] = match
        elif field not in _OPTIONAL:
            raise InvalidData(
                "MISSING_COLUMN",
                f"{path}: no column for {field!r} (looked for {list(COLUMN_ALIASES[field])}, "
                f"case-insensitive); header: {header}; map it with columns={{{field!r}: ...}}",
            )
    return resolved


def _read_table(path: Path, delimiter: str, header: list[str], needed: list[str]) -> pa.Table:
    def options(threads: bool, handler: Callable[[Any], str] | None) -> dict[str, Any]:
        return {
            "read_options": pa_csv.ReadOptions(use_threads=threads),
            "parse_options": pa_csv.ParseOptions(
                delimiter=delimiter, ignore_empty_lines=False, invalid_row_handler=handler
            ),
            "convert_options": pa_csv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                strings_can_be_null=False,
                include_columns=needed,
            ),
        }

    try:
        return pa_csv.read_csv(path, **options(True, None))
    except pa.ArrowInvalid:
        pass
    # Parallel parsing does not know line numbers: parse again serially to name the line.
    bad: list[Any] = []

    def record(row: Any) -> str:
        bad.append(row)
        return "error"

    try:
        return pa_csv.read_csv(path, **options(False, record))
    except pa.ArrowInvalid as error:
        if bad:
            row = bad[0]
            raise InvalidData(
                "BAD_CSV",
                f"{path} line {row.number}: expected {row.expected_columns} fields, got "
                f"{row.actual_columns}: {row.text!r}",
            ) from None
        raise InvalidData("BAD_CSV", f"{path}: {error}") from None


def _grid_value(text: str, convert: Callable[[str, Any], int], rounding: Any, zero: bool) -> int:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidValue("NOT_A_NUMBER", "not a number") from None
    if not number.is_finite():
        raise InvalidValue("NOT_A_NUMBER", "not a finite number")
    if zero and number == 0:
        return 0
    return convert(format(number, "f"), rounding)


def _grid_column(
    text: pa.Array,
    convert: Callable[[str, Any], int],
    rounding: RoundingMode,
    *,
    zero_allowed: bool,
    locate: Locate,
    column: str,
) -> npt.NDArray[np.int64]:
    """Ticks or lots of a text column, converting each distinct value once."""
    encoded = pc.dictionary_encode(text)
    distinct = encoded.dictionary.to_pylist()
    indices = np.asarray(encoded.indices, dtype=np.int64)
    values = np.zeros(len(distinct), dtype=np.int64)
    failures: dict[int, InvalidValue] = {}
    for index, raw in enumerate(distinct):
        try:
            values[index] = _grid_value(raw, convert, rounding, zero_allowed)
        except InvalidValue as error:
            failures[index] = error
    if failures:
        row = int(np.flatnonzero(np.isin(indices, list(failures)))[0])
        failure = failures[int(indices[row])]
        raise InvalidData(
            failure.code, f"{locate(row)}: {column} {distinct[indices[row]]!r}: {failure.message}"
        )
    return values[indices]


def _code_column(
    text: pa.Array, codes: Mapping[str, int], *, locate: Locate, column: str
) -> npt.NDArray[np.int64]:
    encoded = pc.dictionary_encode(pc.utf8_upper(pc.utf8_trim_whitespace(text)))
    distinct = encoded.dictionary.to_pylist()
    indices = np.asarray(encoded.indices, dtype=np.int64)
    unknown = [index for index, raw in enumerate(distinct) if raw not in codes]
    if unknown:
        row = int(np.flatnonzero(np.isin(indices, unknown))[0])
        raise InvalidData(
            "BAD_VALUE",
            f"{locate(row)}: {column} {text[row].as_py()!r} is not one of {sorted(codes)}",
        )
    return np.array([codes[raw] for raw in distinct], dtype=np.int64)[indices]


def _integer_column(text: pa.Array, *, locate: Locate, column: str) -> npt.NDArray[np.int64]:
    trimmed = pc.utf8_trim_whitespace(text)
    valid = np.asarray(pc.match_substring_regex(trimmed, r"^[+-]?\d{1,19}$"), dtype=bool)
    if not valid.all():
        row = int(np.flatnonzero(~valid)[0])
        raise InvalidData(
            "NOT_AN_INTEGER", f"{locate(row)}: {column} {text[row].as_py()!r} is not an integer"
        )
    try:
        return np.asarray(pc.cast(trimmed, pa.int64()), dtype=np.int64)
    except pa.ArrowInvalid as error:
        raise InvalidData("NOT_AN_INTEGER", f"{column}: {error}") from None


class _RowRecorder:
    """A ``locate`` that remembers the row it was asked about, so the earliest bad row across
    all columns can be reported."""

    def __init__(self, locate: Locate) -> None:
        self._locate = locate
        self.row: int | None = None

    def __call__(self, row: int) -> str:
        self.row = row
        return self._locate(row)


def _convert_column(
    field: str,
    values: pa.Array,
    *,
    key: DatasetKey,
    instrument: Instrument,
    locate: Locate,
    column: str,
    timestamp_format: str,
    timezone: str,
    price_rounding: RoundingMode,
    size_rounding: RoundingMode,
) -> Any:
    if field in ("ts_event", "ts_init"):
        return parse_timestamps(
            values, timestamp_format, timezone=timezone, locate=locate, column=column
        )
    if field in PRICE_COLUMNS[key.data_type]:
        return _grid_column(
            values,
            instrument.price_to_ticks,
            price_rounding,
            zero_allowed=False,
            locate=locate,
            column=column,
        )
    if field in SIZE_COLUMNS[key.data_type]:
        return _grid_column(
            values,
            instrument.quantity_to_lots,
            size_rounding,
            zero_allowed=key.data_type != "trades",
            locate=locate,
            column=column,
        )
    if field in ("side", "aggressor_side"):
        codes = _SIDE_CODES if field == "side" else _AGGRESSOR_CODES
        return _code_column(values, codes, locate=locate, column=column)
    if field == "trade_id":
        return values
    return _integer_column(values, locate=locate, column=column)


def _check_options(
    *,
    path: object,
    instrument: object,
    data_type: object,
    bar_type: str | None,
    bar_timestamp: object,
    price_rounding: object,
    size_rounding: object,
    delimiter: object,
) -> tuple[Path, DatasetKey]:
    if not isinstance(instrument, Instrument):
        raise InvalidValue(
            "BAD_INSTRUMENT", f"instrument must be an Instrument, got {type(instrument).__name__}"
        )
    kind = check_data_type(data_type)
    if kind not in CSV_DATA_TYPES:
        raise InvalidValue(
            "UNSUPPORTED_DATA_TYPE", f"CSV import covers {list(CSV_DATA_TYPES)}, not {kind!r}"
        )
    key = DatasetKey(instrument.instrument_id, kind, bar_type)
    if kind == "bars":
        if bar_timestamp not in ("open", "close"):
            raise InvalidValue(
                "BAD_OPTION",
                "bar_timestamp must be 'open' or 'close': whether the CSV's time labels the start "
                f"of each bar (most daily and hourly files) or its end, got {bar_timestamp!r}",
            )
        if bar_timestamp == "open" and not parse_bar_type(bar_type).is_time:
            raise InvalidValue(
                "BAD_OPTION", f"bar_timestamp='open' needs a time bar type, not {bar_type}"
            )
    for name, rounding in (("price_rounding", price_rounding), ("size_rounding", size_rounding)):
        if rounding not in _ROUNDINGS:
            raise InvalidValue(
                "BAD_OPTION", f"{name} must be one of {_ROUNDINGS}, got {rounding!r}"
            )
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise InvalidValue("BAD_OPTION", f"delimiter must be one character, got {delimiter!r}")
    if not isinstance(path, str | os.PathLike):
        raise InvalidValue("BAD_OPTION", f"path must be a str or path, got {type(path).__name__}")
    file = Path(path)
    if not file.is_file():
        raise InvalidValue("NO_SUCH_FILE", f"{file} is not a file")
    return file, key


def read_csv(
    path: str | os.PathLike[str],
    instrument: Instrument,
    data_type: str,
    *,
    columns: Mapping[str, str] | None = None,
    timestamp_format: str = ISO,
    timezone: str = "UTC",
    bar_type: str | None = None,
    bar_timestamp: BarTimestamp | None = None,
    price_rounding: RoundingMode = None,
    size_rounding: RoundingMode = None,
    delimiter: str = ",",
    sort: bool = False,
) -> pa.Table:
    """Reads a CSV (optionally ``.gz``) of ``bars``, ``quotes``, ``trades`` or ``l2_deltas``
    into a validated table of the catalog schema (see :mod:`hftcore.data.schema`).

    ``columns`` maps fields to CSV headers where the defaults (``COLUMN_ALIASES``) do not match.
    ``timestamp_format``/``timezone``: see :mod:`hftcore.data.timestamps`. For bars,
    ``bar_type`` (e.g. ``"1-DAY"``) is required and so is ``bar_timestamp``: ``"open"`` when
    the time column labels the start of each bar (``ts_event``, the close time, is then that
    label plus the bar's duration, so a backtest never sees a bar before it closed) or
    ``"close"``. A bar file without a volume column gets volume 0. Rows must be in time order
    (the error names the first line that is not) unless ``sort=True``.
    """
    file, key = _check_options(
        path=path,
        instrument=instrument,
        data_type=data_type,
        bar_type=bar_type,
        bar_timestamp=bar_timestamp,
        price_rounding=price_rounding,
        size_rounding=size_rounding,
        delimiter=delimiter,
    )
    parse_timestamps(pa.array([], pa.string()), timestamp_format, timezone=timezone)

    def locate(row: int) -> str:
        return f"{file} line {row + 2}"

    fields = [name for name in SCHEMAS[key.data_type].names if name in COLUMN_ALIASES]
    header = _header(file, delimiter)
    if len(set(header)) != len(header):
        raise InvalidData("BAD_CSV", f"{file}: the header repeats a column name: {header}")
    mapping = _resolve_columns(file, header, fields, columns)
    text = _read_table(file, delimiter, header, sorted(set(mapping.values())))
    source: dict[str, pa.Array] = {
        field: text.column(name).combine_chunks() for field, name in mapping.items()
    }
    built: dict[str, Any] = {}
    failures: list[tuple[int, int, InvalidData]] = []
    for order, (field, values) in enumerate(source.items()):
        recorder = _RowRecorder(locate)
        try:
            built[field] = _convert_column(
                field,
                values,
                key=key,
                instrument=instrument,
                locate=recorder,
                column=mapping[field],
                timestamp_format=timestamp_format,
                timezone=timezone,
                price_rounding=price_rounding,
                size_rounding=size_rounding,
            )
        except InvalidData as error:
            if recorder.row is None:
                raise
            failures.append((recorder.row, order, error))
    if failures:
        raise min(failures, key=lambda failure: failure[:2])[2]
    if key.data_type == "bars":
        if "volume" not in built:
            built["volume"] = np.zeros(text.num_rows, dtype=np.int64)
        if bar_timestamp == "open":
            duration = parse_bar_type(key.bar_type).duration_ns
            for field in ("ts_event", "ts_init"):
                if field in built:
                    built[field] = built[field] + duration
    table = to_table(built, key)
    validate_values(table, key.data_type, locate)
    if sort:
        table = sort_by_time(table)
    else:
        check_order(table, locate)
    return table.replace_schema_metadata(instrument_metadata(instrument))


def import_csv(
    path: str | os.PathLike[str],
    instrument: Instrument,
    data_type: str,
    *,
    catalog: DataCatalog | str | os.PathLike[str],
    mode: Literal["append", "replace"] = "append",
    sort: bool = False,
    **options: Any,
) -> DatasetInfo:
    """:func:`read_csv` then :meth:`DataCatalog.write` (``catalog`` may be a root path);
    returns the written dataset's info. ``options`` are those of :func:`read_csv`."""
    store = catalog if isinstance(catalog, DataCatalog) else DataCatalog(catalog)
    table = read_csv(path, instrument, data_type, sort=sort, **options)
    return store.write(
        instrument,
        data_type,
        table,
        bar_type=options.get("bar_type"),
        mode=mode,
        sort=sort,
        source=str(path),
    )
