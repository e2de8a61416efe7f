"""Data types of the catalog: their columns, validation, and conversions to records and events.

Every data type is a table of integer columns (prices in ticks, sizes in lots of the instrument,
timestamps in ns UTC) sorted by ``ts_event``:

============== ==================================================================================
data type      columns
============== ==================================================================================
``bars``       ts_event, ts_init, open, high, low, close, volume (one dataset per bar type)
``quotes``     ts_event, ts_init, bid_price, bid_size, ask_price, ask_size
``trades``     ts_event, ts_init, price, size, aggressor_side (int8: 0 buy, 1 sell, -1 unknown),
               trade_id (string)
``l2_deltas``  ts_event, ts_init, sequence (uint64), price, quantity, side (uint8), flags (uint8)
               -- the fields of ``hftcore.L2_DELTA_DTYPE``
``l3_messages`` ts_event, ts_init, sequence, order_id (uint64), price, quantity, side, action
               (uint8) -- the fields of ``hftcore.L3_MESSAGE_DTYPE``
============== ==================================================================================
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import msgspec
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from hftcore._core import L2_DELTA_DTYPE, L3_MESSAGE_DTYPE, Instrument
from hftcore.data.bars import BAR_DTYPE, parse_bar_type
from hftcore.errors import InvalidData, InvalidValue
from hftcore.model.data import Bar, BookDelta, Quote, Trade
from hftcore.model.enums import BookAction, DeltaFlag

__all__ = [
    "DATA_TYPES",
    "SCHEMAS",
    "DataType",
    "DatasetKey",
    "instrument_of",
    "to_events",
    "to_records",
]

DataType = Literal["l3_messages", "l2_deltas", "quotes", "trades", "bars"]
DATA_TYPES: tuple[DataType, ...] = get_args(DataType)
"""All data types, in the order that breaks timestamp ties when datasets are merged: book
updates first, then quotes and trades, then the bars that summarise them."""

_TS = [pa.field("ts_event", pa.int64(), False), pa.field("ts_init", pa.int64(), False)]


def _ints(*names: str, kind: pa.DataType | None = None) -> list[pa.Field]:
    return [pa.field(name, kind or pa.int64(), False) for name in names]


SCHEMAS: dict[DataType, pa.Schema] = {
    "bars": pa.schema([*_TS, *_ints("open", "high", "low", "close", "volume")]),
    "quotes": pa.schema([*_TS, *_ints("bid_price", "bid_size", "ask_price", "ask_size")]),
    "trades": pa.schema(
        [
            *_TS,
            *_ints("price", "size"),
            pa.field("aggressor_side", pa.int8(), False),
            pa.field("trade_id", pa.string(), False),
        ]
    ),
    "l2_deltas": pa.schema(
        [
            *_TS,
            pa.field("sequence", pa.uint64(), False),
            *_ints("price", "quantity"),
            *_ints("side", "flags", kind=pa.uint8()),
        ]
    ),
    "l3_messages": pa.schema(
        [
            *_TS,
            *_ints("sequence", "order_id", kind=pa.uint64()),
            *_ints("price", "quantity"),
            *_ints("side", "action", kind=pa.uint8()),
        ]
    ),
}
"""The Parquet/Arrow schema of each data type (no nulls anywhere)."""

PRICE_COLUMNS: dict[DataType, tuple[str, ...]] = {
    "bars": ("open", "high", "low", "close"),
    "quotes": ("bid_price", "ask_price"),
    "trades": ("price",),
    "l2_deltas": ("price",),
    "l3_messages": ("price",),
}
SIZE_COLUMNS: dict[DataType, tuple[str, ...]] = {
    "bars": ("volume",),
    "quotes": ("bid_size", "ask_size"),
    "trades": ("size",),
    "l2_deltas": ("quantity",),
    "l3_messages": ("quantity",),
}
DEFAULTS: dict[str, object] = {
    "sequence": 0,
    "flags": 0,
    "aggressor_side": -1,
    "trade_id": "",
}
"""Values of optional columns left out of written data; ``ts_init`` defaults to ``ts_event``."""

_RECORD_DTYPES: dict[DataType, np.dtype[np.void]] = {
    "bars": BAR_DTYPE,
    "l2_deltas": L2_DELTA_DTYPE,
    "l3_messages": L3_MESSAGE_DTYPE,
}
_MODEL_TYPES: dict[DataType, type[msgspec.Struct]] = {
    "bars": Bar,
    "quotes": Quote,
    "trades": Trade,
    "l2_deltas": BookDelta,
}
Locate = Callable[[int], str]
INSTRUMENT_METADATA_KEY = b"hftcore.instrument"


def instrument_metadata(instrument: Instrument) -> dict[bytes, bytes]:
    """Schema metadata recording ``instrument`` (its constructor arguments as JSON)."""
    # The constructor's own arguments: Instrument equality compares them as given.
    arguments = list(instrument.__getnewargs__())
    return {INSTRUMENT_METADATA_KEY: json.dumps(arguments).encode()}


def instrument_from_json(text: bytes, where: str) -> Instrument:
    try:
        return Instrument(*json.loads(text))
    except (ValueError, TypeError) as error:
        raise InvalidData("BAD_METADATA", f"{where}: unreadable instrument spec: {error}") from None


def instrument_of(table: pa.Table) -> Instrument:
    """The instrument whose ticks and lots a catalog table holds (from its schema metadata)."""
    metadata = table.schema.metadata or {}
    if INSTRUMENT_METADATA_KEY not in metadata:
        raise InvalidData("NO_INSTRUMENT", "the table carries no hftcore instrument metadata")
    return instrument_from_json(metadata[INSTRUMENT_METADATA_KEY], "table")


def check_data_type(data_type: object) -> DataType:
    if data_type not in DATA_TYPES:
        raise InvalidValue(
            "UNKNOWN_DATA_TYPE", f"data_type must be one of {list(DATA_TYPES)}, got {data_type!r}"
        )
    return data_type


@dataclass(frozen=True, slots=True)
class DatasetKey:
    """Names one dataset: an instrument's data of one type (bars: of one bar type)."""

    instrument_id: str
    data_type: DataType
    bar_type: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.instrument_id, str) or not self.instrument_id.strip():
            raise InvalidValue("BAD_INSTRUMENT_ID", "instrument_id must be a non-empty str")
        if self.instrument_id in (".", "..") or any(ord(c) < 32 for c in self.instrument_id):
            raise InvalidValue(
                "BAD_INSTRUMENT_ID", f"instrument_id {self.instrument_id!r} is not usable"
            )
        check_data_type(self.data_type)
        if self.data_type == "bars":
            if self.bar_type is None:
                raise InvalidValue("MISSING_BAR_TYPE", "bars need a bar_type such as '1-DAY'")
            object.__setattr__(self, "bar_type", str(parse_bar_type(self.bar_type)))
        elif self.bar_type is not None:
            raise InvalidValue(
                "UNEXPECTED_BAR_TYPE", f"bar_type applies to bars only, not {self.data_type}"
            )

    def __str__(self) -> str:
        suffix = f" {self.bar_type}" if self.bar_type else ""
        return f"{self.instrument_id} {self.data_type}{suffix}"


# ----------------------------------------------------------------------------------------------
# Input to a table of the exact schema


def _from_structs(items: Sequence[Any], key: DatasetKey) -> dict[str, list[Any]]:
    expected = _MODEL_TYPES.get(key.data_type)
    if expected is None:
        raise InvalidData(
            "BAD_INPUT", f"{key}: write l3 messages as an L3_MESSAGE_DTYPE array or a table"
        )
    columns: dict[str, list[Any]] = {name: [] for name in expected.__struct_fields__}
    for row, item in enumerate(items):
        if type(item) is not expected:
            raise InvalidData(
                "BAD_INPUT",
                f"{key}: item {row} is a {type(item).__name__}, not {expected.__name__}",
            )
        values = msgspec.structs.asdict(item)
        if values["instrument_id"] != key.instrument_id:
            raise InvalidData(
                "INSTRUMENT_MISMATCH",
                f"{key}: item {row} belongs to {values['instrument_id']!r}",
            )
        if key.data_type == "bars" and str(parse_bar_type(values["bar_type"])) != key.bar_type:
            raise InvalidData(
                "BAR_TYPE_MISMATCH", f"{key}: item {row} is a {values['bar_type']} bar"
            )
        for name, column in columns.items():
            column.append(values[name])
    columns.pop("instrument_id")
    columns.pop("bar_type", None)
    return columns


def _input_columns(data: Any, key: DatasetKey) -> dict[str, Any]:
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    if isinstance(data, pa.Table):
        return {name: data.column(name) for name in data.column_names}
    if isinstance(data, np.ndarray):
        if data.dtype.names is None:
            raise InvalidData("BAD_INPUT", f"{key}: a NumPy array must be a structured array")
        return {name: data[name] for name in data.dtype.names}
    if isinstance(data, Mapping):
        return dict(data)
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        return _from_structs(data, key)
    raise InvalidData(
        "BAD_INPUT",
        f"{key}: expected a pyarrow Table, a NumPy structured array, a mapping of columns or a "
        f"list of model events, got {type(data).__name__}",
    )


def to_table(data: Any, key: DatasetKey) -> pa.Table:
    """``data`` as a table of the exact schema of ``key.data_type`` (types checked, optional
    columns filled in); values are not validated here (see :func:`validate`)."""
    schema = SCHEMAS[key.data_type]
    columns = _input_columns(data, key)
    extra = sorted(set(columns) - set(schema.names) - {"instrument_id"})  # checked below
    if extra:
        raise InvalidData(
            "UNEXPECTED_COLUMN", f"{key}: unknown columns {extra}; expected {schema.names}"
        )
    if "instrument_id" in columns:
        raw = columns.pop("instrument_id")
        ids = raw if isinstance(raw, pa.Array | pa.ChunkedArray) else pa.array(raw)
        foreign = np.flatnonzero(np.asarray(pc.not_equal(ids, key.instrument_id).fill_null(True)))
        if foreign.size:
            raise InvalidData(
                "INSTRUMENT_MISMATCH",
                f"{key}: row {int(foreign[0])} belongs to {ids[int(foreign[0])].as_py()!r}",
            )
    if "ts_event" in columns and "ts_init" not in columns:
        columns["ts_init"] = columns["ts_event"]
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise InvalidData("LENGTH_MISMATCH", f"{key}: columns differ in length: {lengths}")
    length = next(iter(lengths.values()), 0)
    arrays = []
    for field in schema:
        if field.name not in columns:
            if field.name not in DEFAULTS:
                raise InvalidData(
                    "MISSING_COLUMN", f"{key}: no {field.name!r} column; expected {schema.names}"
                )
            columns[field.name] = pa.array([DEFAULTS[field.name]] * length, field.type)
        arrays.append(_typed_column(columns[field.name], field, key))
    return pa.Table.from_arrays(arrays, schema=schema)


def _typed_column(values: Any, field: pa.Field, key: DatasetKey) -> pa.Array:
    try:
        array = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as error:
        raise InvalidData("BAD_COLUMN", f"{key}: column {field.name!r}: {error}") from None
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.null_count:
        row = int(np.flatnonzero(np.asarray(array.is_null()))[0])
        raise InvalidData("NULL_VALUE", f"{key}: row {row}: column {field.name!r} is empty")
    integer = pa.types.is_integer(field.type)
    if integer and not pa.types.is_integer(array.type) and len(array):
        raise InvalidData(
            "BAD_COLUMN",
            f"{key}: column {field.name!r} must hold integers (ticks, lots, ns), not {array.type}"
            "; convert prices and sizes with the Instrument or import with import_csv",
        )
    try:
        return array.cast(field.type, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise InvalidData(
            "BAD_COLUMN", f"{key}: column {field.name!r} does not fit {field.type}: {error}"
        ) from None


# ----------------------------------------------------------------------------------------------
# Validation


def _column(table: pa.Table, name: str) -> npt.NDArray[Any]:
    return np.asarray(table.column(name))


def first_out_of_order(ts_event: npt.NDArray[np.int64]) -> int | None:
    """Index of the first row whose ``ts_event`` is below the previous row's, or None."""
    backwards = np.flatnonzero(ts_event[1:] < ts_event[:-1])
    return int(backwards[0]) + 1 if backwards.size else None


def check_order(table: pa.Table, locate: Locate) -> None:
    ts_event = _column(table, "ts_event")
    row = first_out_of_order(ts_event)
    if row is not None:
        raise InvalidData(
            "OUT_OF_ORDER",
            f"{locate(row)}: ts_event {ts_event[row]} is earlier than {ts_event[row - 1]} on the "
            "row before (pass sort=True to sort by ts_event instead)",
        )


def sort_by_time(table: pa.Table) -> pa.Table:
    """Rows stably sorted by ``ts_event`` (equal timestamps keep their input order)."""
    order = np.argsort(_column(table, "ts_event"), kind="stable")
    return table.take(pa.array(order))


_POSITIVE: dict[DataType, tuple[str, ...]] = {
    "bars": ("open", "high", "low", "close"),
    "quotes": ("bid_price", "ask_price"),
    "trades": ("price", "size"),
    "l2_deltas": ("price",),
    "l3_messages": (),  # depends on the action: see _validate_l3
}
_NON_NEGATIVE: dict[DataType, tuple[str, ...]] = {
    "bars": ("volume",),
    "quotes": ("bid_size", "ask_size"),
    "l2_deltas": ("quantity",),
}


Check = tuple[npt.NDArray[np.bool_], str, str]  # (bad rows, reason code, what is wrong)


def validate_values(table: pa.Table, data_type: DataType, locate: Locate) -> None:
    """Checks the values of every row (not their order); raises ``InvalidData`` for the first
    bad row, named through ``locate(row)``. Crossed or locked quotes are accepted: venues
    publish them."""
    checks: list[Check] = []
    for name in _POSITIVE[data_type]:
        code = "NON_POSITIVE_SIZE" if name in SIZE_COLUMNS[data_type] else "NON_POSITIVE_PRICE"
        checks.append((_column(table, name) <= 0, code, f"{name} must be > 0"))
    for name in _NON_NEGATIVE.get(data_type, ()):
        checks.append((_column(table, name) < 0, "NEGATIVE_SIZE", f"{name} must be >= 0"))
    checks += _CHECKS.get(data_type, _no_checks)(table)
    first: tuple[int, str, str] | None = None
    for bad, code, what in checks:
        rows = np.flatnonzero(bad)
        if rows.size and (first is None or rows[0] < first[0]):
            first = (int(rows[0]), code, what)
    if first is not None:
        row, code, what = first
        raise InvalidData(code, f"{locate(row)}: {what}")


def _no_checks(table: pa.Table) -> list[Check]:
    del table
    return []


def _bar_checks(table: pa.Table) -> list[Check]:
    open_, high, low, close = (_column(table, name) for name in ("open", "high", "low", "close"))
    inconsistent = (low > np.minimum(open_, close)) | (high < np.maximum(open_, close))
    return [(inconsistent, "BAD_OHLC", "needs low <= open, close <= high")]


def _trade_checks(table: pa.Table) -> list[Check]:
    side = _column(table, "aggressor_side")
    return [((side < -1) | (side > 1), "BAD_SIDE", "aggressor_side must be -1, 0 or 1")]


def _l2_checks(table: pa.Table) -> list[Check]:
    known = int(DeltaFlag.CLEAR)
    return [
        (_column(table, "side") > 1, "BAD_SIDE", "side must be 0 (bid) or 1 (ask)"),
        (
            (_column(table, "flags") & ~np.uint8(known)) != 0,
            "BAD_FLAGS",
            f"flags may only hold DeltaFlag bits ({known})",
        ),
    ]


def _l3_checks(table: pa.Table) -> list[Check]:
    action = _column(table, "action")
    side, price, quantity = (_column(table, name) for name in ("side", "price", "quantity"))
    add = action == BookAction.ADD
    priced = add | (action == BookAction.REPLACE)
    sized = priced | (action == BookAction.REDUCE) | (action == BookAction.EXECUTE)
    return [
        (action > max(BookAction), "BAD_ACTION", "action is not a BookAction"),
        (add & (side > 1), "BAD_SIDE", "side must be 0 (bid) or 1 (ask)"),
        (priced & (price <= 0), "NON_POSITIVE_PRICE", "price must be > 0"),
        (sized & (quantity <= 0), "NON_POSITIVE_SIZE", "quantity must be > 0"),
    ]


_CHECKS: dict[DataType, Callable[[pa.Table], list[Check]]] = {
    "bars": _bar_checks,
    "trades": _trade_checks,
    "l2_deltas": _l2_checks,
    "l3_messages": _l3_checks,
}


# ----------------------------------------------------------------------------------------------
# Output: records and events


def to_records(table: pa.Table, data_type: DataType) -> npt.NDArray[np.void]:
    """A catalog table as a NumPy record array: ``L2_DELTA_DTYPE`` / ``L3_MESSAGE_DTYPE`` (ready
    for ``OrderBookL2.apply_deltas`` / ``OrderBookL3.apply_messages``) or ``BAR_DTYPE``; quotes
    and trades get a record dtype of their integer columns."""
    dtype = _RECORD_DTYPES.get(check_data_type(data_type))
    if dtype is None:
        fields = [f for f in SCHEMAS[data_type] if pa.types.is_integer(f.type)]
        dtype = np.dtype([(f.name, f.type.to_pandas_dtype()) for f in fields])
    records = np.zeros(table.num_rows, dtype=dtype)
    for name in dtype.names or ():
        records[name] = np.asarray(table.column(name))
    return records


def to_events(table: pa.Table, key: DatasetKey) -> Iterator[Any]:
    """The rows of a catalog table as model events (``Quote``, ``Trade``, ``Bar``) in order; book
    data (``l2_deltas``, ``l3_messages``) stays in record form and comes out as NumPy records of
    ``L2_DELTA_DTYPE`` / ``L3_MESSAGE_DTYPE`` (the model's ``BookDelta`` has no ``flags``)."""
    if key.data_type in ("l2_deltas", "l3_messages"):
        yield from to_records(table, key.data_type)
        return
    model = _MODEL_TYPES[key.data_type]
    fields = model.__struct_fields__
    columns = [
        [key.instrument_id] * table.num_rows
        if name == "instrument_id"
        else [key.bar_type] * table.num_rows
        if name == "bar_type"
        else table.column(name).to_pylist()
        for name in fields
    ]
    for values in zip(*columns, strict=True):
        yield model(*values)
