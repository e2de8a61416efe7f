"""A market data catalog on local Parquet files.

Layout: one dataset per instrument and data type (bars: per bar type), each a directory of
Parquet parts in time order::

    <root>/trades/AAPL.XNAS/part-000000.parquet
    <root>/bars/1-DAY/MSFT.SIM/part-000000.parquet, part-000001.parquet, ...

(instrument ids are percent-encoded where a character is not safe in a file name). Columns are
integers (ticks, lots, ns; see :mod:`hftcore.data.schema`); every part carries the instrument
spec in its Parquet metadata, so a table read back knows how to turn ticks into prices
(:func:`instrument_of`). Parts are written whole to a temporary name and renamed into place; a
rejected write changes nothing. One writer per catalog at a time.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, unquote

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from hftcore._core import Instrument
from hftcore.data.bars import parse_bar_type
from hftcore.data.schema import (
    DATA_TYPES,
    INSTRUMENT_METADATA_KEY,
    SCHEMAS,
    DatasetKey,
    DataType,
    check_data_type,
    check_order,
    first_out_of_order,
    instrument_from_json,
    instrument_metadata,
    sort_by_time,
    to_events,
    to_table,
    validate_values,
)
from hftcore.data.timestamps import to_ns
from hftcore.errors import InvalidData, InvalidValue

__all__ = ["DataCatalog", "DatasetInfo", "MergedChunk"]

FORMAT_VERSION = "1"
_META_FORMAT = b"hftcore.format"
_META_DATASET = b"hftcore.dataset"
_PART_GLOB = "part-*.parquet"
WriteMode = Literal["append", "replace"]
DatasetSpec = DatasetKey | tuple[str, str] | tuple[str, str, str | None]


def _key_of(spec: DatasetSpec) -> DatasetKey:
    if isinstance(spec, DatasetKey):
        return spec
    if isinstance(spec, tuple) and len(spec) in (2, 3):
        return DatasetKey(*spec)
    raise InvalidValue(
        "BAD_DATASET",
        f"a dataset is a DatasetKey or (instrument_id, data_type[, bar_type]), got {spec!r}",
    )


def _optional_ns(value: object, name: str) -> int | None:
    return None if value is None else to_ns(value, name=name)


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidValue("BAD_OPTION", f"{name} must be a positive int, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class _RowGroup:
    index: int
    rows: int
    first_ts: int
    last_ts: int


@dataclass(frozen=True, slots=True)
class _Part:
    path: Path
    row_groups: tuple[_RowGroup, ...]

    @property
    def rows(self) -> int:
        return sum(group.rows for group in self.row_groups)


def _read_part(path: Path) -> _Part:
    metadata = pq.read_metadata(path)
    ts_index = metadata.schema.names.index("ts_event")
    groups = []
    for index in range(metadata.num_row_groups):
        group = metadata.row_group(index)
        if group.num_rows == 0:
            continue
        stats = group.column(ts_index).statistics
        if stats is not None and stats.has_min_max:
            first, last = int(stats.min), int(stats.max)
        else:
            ts = np.asarray(pq.ParquetFile(path).read_row_group(index, ["ts_event"])["ts_event"])
            first, last = int(ts[0]), int(ts[-1])
        groups.append(_RowGroup(index, group.num_rows, first, last))
    return _Part(path, tuple(groups))


def _row_group_pieces(
    parquet: pq.ParquetFile, group: _RowGroup, columns: list[str], batch_rows: int | None
) -> Iterator[tuple[pa.Table, int]]:
    """One row group as tables of at most ``batch_rows`` rows (all at once if None), each with
    its first row's offset in the group."""
    if batch_rows is None:
        yield parquet.read_row_group(group.index, columns=columns), 0
        return
    offset = 0
    for batch in parquet.iter_batches(
        batch_size=batch_rows, row_groups=[group.index], columns=columns
    ):
        yield pa.Table.from_batches([batch]), offset
        offset += batch.num_rows


def _check_scanned_order(
    ts: npt.NDArray[np.int64], previous: tuple[int, Path, int] | None, path: Path, first_row: int
) -> None:
    """Raises ``OUT_OF_ORDER`` naming the file and row (0-based, in that file) of the first
    row of ``ts`` earlier than the row before it (``previous``: the last row read before)."""
    if previous is not None and len(ts) and ts[0] < previous[0]:
        before_ts, before_path, before_row = previous
        where = f"row {before_row}" if before_path == path else f"{before_path} row {before_row}"
        raise InvalidData(
            "OUT_OF_ORDER",
            f"{path} row {first_row}: ts_event {int(ts[0])} is earlier than {before_ts} at "
            f"{where}; sort the dataset (sort=True, hftcore backtest --sort)",
        )
    row = first_out_of_order(ts)
    if row is not None:
        raise InvalidData(
            "OUT_OF_ORDER",
            f"{path} row {first_row + row}: ts_event {int(ts[row])} is earlier than "
            f"{int(ts[row - 1])} on the row before; sort the dataset (sort=True, "
            "hftcore backtest --sort)",
        )


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    """One dataset of the catalog: its key, instrument, row count and time span."""

    key: DatasetKey
    instrument: Instrument
    rows: int
    first_ts: int | None
    last_ts: int | None
    files: tuple[Path, ...]

    @property
    def instrument_id(self) -> str:
        return self.key.instrument_id

    @property
    def data_type(self) -> DataType:
        return self.key.data_type

    @property
    def bar_type(self) -> str | None:
        return self.key.bar_type


def _sort_order(key: DatasetKey) -> tuple[int, int, str, str]:
    duration = 0
    if key.bar_type is not None:
        spec = parse_bar_type(key.bar_type)
        duration = spec.duration_ns if spec.is_time else 0
    return (DATA_TYPES.index(key.data_type), duration, key.bar_type or "", key.instrument_id)


class DataCatalog:
    """Market data of many instruments in Parquet under ``root`` (created on first write)."""

    def __init__(self, root: str | os.PathLike[str], *, row_group_size: int = 131_072) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise InvalidValue("NOT_A_DIRECTORY", f"catalog root {self.root} is not a directory")
        self.row_group_size = _positive_int(row_group_size, "row_group_size")

    def __repr__(self) -> str:
        return f"DataCatalog({str(self.root)!r})"

    # -- layout ---------------------------------------------------------------------------------

    def _directory(self, key: DatasetKey) -> Path:
        base = self.root / key.data_type
        if key.bar_type is not None:
            base = base / key.bar_type
        return base / quote(key.instrument_id, safe="")

    def _parts(self, key: DatasetKey) -> list[Path]:
        directory = self._directory(key)
        return sorted(directory.glob(_PART_GLOB)) if directory.is_dir() else []

    def _keys(self) -> list[DatasetKey]:
        keys = []
        for data_type in DATA_TYPES:
            base = self.root / data_type
            if not base.is_dir():
                continue
            groups = (
                [(d.name, d) for d in base.iterdir() if d.is_dir() and not d.name.startswith(".")]
                if data_type == "bars"
                else [(None, base)]
            )
            for bar_type, group in groups:
                for directory in group.iterdir():
                    if directory.name.startswith(".") or not any(directory.glob(_PART_GLOB)):
                        continue
                    keys.append(DatasetKey(unquote(directory.name), data_type, bar_type))
        return sorted(keys, key=_sort_order)

    # -- inspection -----------------------------------------------------------------------------

    def list_datasets(
        self, instrument_id: str | None = None, data_type: str | None = None
    ) -> list[DatasetInfo]:
        """Every dataset (optionally of one instrument and/or data type) with its row count and
        first/last ``ts_event``, read from Parquet footers only."""
        if data_type is not None:
            check_data_type(data_type)
        return [
            self._info(key)
            for key in self._keys()
            if (instrument_id is None or key.instrument_id == instrument_id)
            and (data_type is None or key.data_type == data_type)
        ]

    def info(
        self, instrument_id: str, data_type: str, *, bar_type: str | None = None
    ) -> DatasetInfo:
        """One dataset's :class:`DatasetInfo`; an unknown dataset raises ``InvalidValue``."""
        return self._info(self._existing_key(instrument_id, data_type, bar_type))

    def instruments(self) -> list[Instrument]:
        """The instruments that have data, by id."""
        seen: dict[str, Instrument] = {}
        for key in self._keys():
            if key.instrument_id not in seen:
                seen[key.instrument_id] = self._instrument_at(key)
        return [seen[name] for name in sorted(seen)]

    def instrument(self, instrument_id: str) -> Instrument:
        """The spec stored with ``instrument_id``'s data."""
        for key in self._keys():
            if key.instrument_id == instrument_id:
                return self._instrument_at(key)
        raise self._unknown(DatasetKey(instrument_id, "quotes"))

    def _instrument_at(self, key: DatasetKey) -> Instrument:
        path = self._parts(key)[0]
        metadata = pq.read_schema(path).metadata or {}
        if INSTRUMENT_METADATA_KEY not in metadata:
            raise InvalidData("BAD_METADATA", f"{path} carries no hftcore instrument metadata")
        return instrument_from_json(metadata[INSTRUMENT_METADATA_KEY], str(path))

    def _info(self, key: DatasetKey) -> DatasetInfo:
        parts = [_read_part(path) for path in self._parts(key)]
        groups = [group for part in parts for group in part.row_groups]
        return DatasetInfo(
            key=key,
            instrument=self._instrument_at(key),
            rows=sum(part.rows for part in parts),
            first_ts=groups[0].first_ts if groups else None,
            last_ts=groups[-1].last_ts if groups else None,
            files=tuple(part.path for part in parts),
        )

    def _unknown(self, key: DatasetKey) -> InvalidValue:
        held = [k for k in self._keys() if k.instrument_id == key.instrument_id]
        if not held:
            known = sorted({k.instrument_id for k in self._keys()})
            return InvalidValue(
                "UNKNOWN_INSTRUMENT",
                f"no data for instrument {key.instrument_id!r} in {self.root}; "
                f"known instruments: {known}",
            )
        return InvalidValue(
            "UNKNOWN_DATASET",
            f"no {key.data_type}{' ' + key.bar_type if key.bar_type else ''} for "
            f"{key.instrument_id!r} in {self.root}; it has: {[str(k) for k in held]}",
        )

    def _existing(self, key: DatasetKey) -> DatasetKey:
        if not self._parts(key):
            raise self._unknown(key)
        return key

    def _existing_key(self, instrument_id: str, data_type: str, bar_type: str | None) -> DatasetKey:
        return self._existing(DatasetKey(instrument_id, check_data_type(data_type), bar_type))

    # -- writing --------------------------------------------------------------------------------

    def write(
        self,
        instrument: Instrument,
        data_type: str,
        data: Any,
        *,
        bar_type: str | None = None,
        mode: WriteMode = "append",
        sort: bool = False,
        source: str | None = None,
    ) -> DatasetInfo:
        """Validates ``data`` and stores it as ``instrument``'s ``data_type`` dataset.

        ``data`` is a pyarrow Table, a NumPy structured array (``L2_DELTA_DTYPE``,
        ``L3_MESSAGE_DTYPE``, ``BAR_DTYPE``, ...), a mapping of integer columns, or a list of
        model events (``Quote``, ``Trade``, ``Bar``, ``BookDelta``). Rows must be in
        ``ts_event`` order; otherwise the error names the first offending row (of ``source``,
        e.g. a file name, when given) unless ``sort=True``, which sorts stably instead (and, on
        append, merges with rows already stored). ``mode="append"`` adds a part after the
        stored rows; ``"replace"`` swaps the whole dataset. Every instrument keeps one spec: a
        write with a different spec than stored data is rejected (``INSTRUMENT_MISMATCH``).
        """
        if not isinstance(instrument, Instrument):
            raise InvalidValue(
                "BAD_INSTRUMENT",
                f"instrument must be an Instrument, got {type(instrument).__name__}",
            )
        key = DatasetKey(instrument.instrument_id, check_data_type(data_type), bar_type)
        if mode not in ("append", "replace"):
            raise InvalidValue("BAD_OPTION", f"mode must be 'append' or 'replace', got {mode!r}")
        label = source or f"{key} input"

        def locate(row: int) -> str:
            return f"{label} row {row}"

        table = to_table(data, key)
        validate_values(table, key.data_type, locate)
        if sort:
            table = sort_by_time(table)
        else:
            check_order(table, locate)
        self._check_spec(instrument, key, replacing=mode == "replace")
        parts = self._parts(key) if mode == "append" else []
        if parts and table.num_rows:
            stored_last = self._info(key).last_ts
            first_new = int(table.column("ts_event")[0].as_py())
            if stored_last is not None and first_new < stored_last:
                if not sort:
                    raise InvalidData(
                        "OUT_OF_ORDER",
                        f"{locate(0)}: ts_event {first_new} is earlier than the last stored row "
                        f"({stored_last}) of {parts[-1]}; pass sort=True to merge",
                    )
                stored = self.read(key.instrument_id, key.data_type, bar_type=key.bar_type)
                table = sort_by_time(pa.concat_tables([stored.cast(table.schema), table]))
                mode = "replace"
        if mode == "append" and parts and not table.num_rows:
            return self._info(key)
        self._store(key, instrument, table, replace=mode == "replace")
        return self._info(key)

    def _check_spec(self, instrument: Instrument, key: DatasetKey, *, replacing: bool) -> None:
        for other in self._keys():
            if other.instrument_id != key.instrument_id or (replacing and other == key):
                continue
            stored = self._instrument_at(other)
            if stored != instrument:
                raise InvalidValue(
                    "INSTRUMENT_MISMATCH",
                    f"{key.instrument_id!r} is stored with {stored!r} ({other}); the new data "
                    f"uses {instrument!r}: ticks and lots would mean different prices. Delete "
                    "the old datasets or use another instrument id",
                )

    def _store(
        self, key: DatasetKey, instrument: Instrument, table: pa.Table, *, replace: bool
    ) -> None:
        metadata = {
            **instrument_metadata(instrument),
            _META_FORMAT: FORMAT_VERSION.encode(),
            _META_DATASET: json.dumps(
                {
                    "instrument_id": key.instrument_id,
                    "data_type": key.data_type,
                    "bar_type": key.bar_type,
                }
            ).encode(),
        }
        table = table.replace_schema_metadata(metadata)
        directory = self._directory(key)
        directory.parent.mkdir(parents=True, exist_ok=True)
        token = uuid.uuid4().hex
        if not replace:
            directory.mkdir(exist_ok=True)
            existing = self._parts(key)
            number = int(existing[-1].stem.split("-")[1]) + 1 if existing else 0
            target = directory / f"part-{number:06d}.parquet"
            staging = directory / f".{target.name}.{token}.tmp"
            self._write_file(table, staging)
            os.replace(staging, target)
            return
        staging_dir = directory.parent / f".{directory.name}.{token}.new"
        staging_dir.mkdir()
        self._write_file(table, staging_dir / "part-000000.parquet")
        retired = directory.parent / f".{directory.name}.{token}.old"
        if directory.exists():
            os.replace(directory, retired)
        os.replace(staging_dir, directory)
        shutil.rmtree(retired, ignore_errors=True)

    def _write_file(self, table: pa.Table, path: Path) -> None:
        pq.write_table(
            table,
            path,
            row_group_size=self.row_group_size,
            compression="zstd",
            write_statistics=True,
        )

    def delete(self, instrument_id: str, data_type: str, *, bar_type: str | None = None) -> None:
        """Removes one dataset."""
        key = self._existing_key(instrument_id, data_type, bar_type)
        shutil.rmtree(self._directory(key))

    # -- reading --------------------------------------------------------------------------------

    def read(
        self,
        instrument_id: str,
        data_type: str,
        *,
        bar_type: str | None = None,
        start: object = None,
        end: object = None,
        columns: Sequence[str] | None = None,
        sort: bool = False,
    ) -> pa.Table:
        """Rows with ``start <= ts_event < end`` (either bound optional; ints in ns, ISO
        strings, aware datetimes, dates or ``numpy.datetime64``). Only row groups whose
        ``ts_event`` statistics overlap the range are read. The table's metadata carries the
        instrument (:func:`instrument_of`). Stored rows out of time order raise
        ``OUT_OF_ORDER`` naming the file and row, unless ``sort=True`` sorts them."""
        key = self._existing_key(instrument_id, data_type, bar_type)
        schema = SCHEMAS[key.data_type]
        names = self._columns(key, columns)
        start_ns, end_ns = _optional_ns(start, "start"), _optional_ns(end, "end")
        tables = list(self._scan(key, start_ns, end_ns, names, batch_rows=None, sort=sort))
        table = pa.concat_tables(tables) if tables else schema.empty_table().select(names)
        return table.replace_schema_metadata(instrument_metadata(self._instrument_at(key)))

    def _columns(self, key: DatasetKey, columns: Sequence[str] | None) -> list[str]:
        names: list[str] = SCHEMAS[key.data_type].names
        if columns is None:
            return names
        unknown = [name for name in columns if name not in names]
        if isinstance(columns, str) or unknown:
            raise InvalidValue("UNKNOWN_COLUMN", f"{key}: columns {columns!r} not all in {names}")
        return list(columns)

    def _scan(
        self,
        key: DatasetKey,
        start: int | None,
        end: int | None,
        columns: list[str],
        batch_rows: int | None,
        *,
        sort: bool = False,
    ) -> Iterator[pa.Table]:
        """Tables of consecutive rows in time order, a row group (or ``batch_rows`` rows) at a
        time; row groups outside ``[start, end)`` are skipped from their statistics.

        Rows whose ``ts_event`` goes back in time (inside a file, or from one part to the
        next: files written by other tools, or edited by hand) raise ``InvalidData``
        (``OUT_OF_ORDER``) naming the file and its row, unless ``sort`` is set: then the
        selected rows are read whole and stably sorted by ``ts_event`` first."""
        if sort:
            yield from self._scan_sorted(key, start, end, columns, batch_rows)
            return
        read_columns = columns if "ts_event" in columns else ["ts_event", *columns]
        previous: tuple[int, Path, int] | None = None  # ts_event, file and row of the last row
        for path in self._parts(key):
            part = _read_part(path)
            with pq.ParquetFile(path) as parquet:
                first_row = 0
                for group in part.row_groups:
                    group_row, first_row = first_row, first_row + group.rows
                    if (start is not None and group.last_ts < start) or (
                        end is not None and group.first_ts >= end
                    ):
                        # Skipped from its statistics; its own order is checked when read.
                        previous = None
                        continue
                    for piece, offset in _row_group_pieces(
                        parquet, group, read_columns, batch_rows
                    ):
                        ts = np.asarray(piece.column("ts_event"))
                        _check_scanned_order(ts, previous, path, group_row + offset)
                        previous = (int(ts[-1]), path, group_row + offset + len(ts) - 1)
                        first = 0 if start is None else int(np.searchsorted(ts, start, "left"))
                        stop = len(ts) if end is None else int(np.searchsorted(ts, end, "left"))
                        if stop > first:
                            yield piece.slice(first, stop - first).select(columns)

    def _scan_sorted(
        self,
        key: DatasetKey,
        start: int | None,
        end: int | None,
        columns: list[str],
        batch_rows: int | None,
    ) -> Iterator[pa.Table]:
        read_columns = columns if "ts_event" in columns else ["ts_event", *columns]
        tables = []
        for path in self._parts(key):
            part = _read_part(path)
            # min/max statistics hold whatever the row order, so they still select row groups.
            wanted = [
                group.index
                for group in part.row_groups
                if (start is None or group.last_ts >= start)
                and (end is None or group.first_ts < end)
            ]
            if wanted:
                with pq.ParquetFile(path) as parquet:
                    tables.append(parquet.read_row_groups(wanted, columns=read_columns))
        if not tables:
            return
        table = sort_by_time(pa.concat_tables(tables))
        ts = np.asarray(table.column("ts_event"))
        first = 0 if start is None else int(np.searchsorted(ts, start, "left"))
        stop = len(ts) if end is None else int(np.searchsorted(ts, end, "left"))
        step = stop - first if batch_rows is None else batch_rows
        for offset in range(first, stop, max(step, 1)):
            yield table.slice(offset, min(step, stop - offset)).select(columns)

    # -- merged replay --------------------------------------------------------------------------

    def stream(
        self,
        datasets: Iterable[DatasetSpec] | None = None,
        *,
        start: object = None,
        end: object = None,
        batch_rows: int = 65_536,
        sort: bool = False,
    ) -> Iterator[MergedChunk]:
        """The rows of several datasets merged in ``ts_event`` order, as chunks.

        Ties (equal ``ts_event``) are broken by the order of ``datasets``, then by the order of
        rows within a dataset, so the merge is stable and deterministic. With ``datasets=None``
        every dataset is merged, ordered by data type (``l3_messages``, ``l2_deltas``,
        ``quotes``, ``trades``, ``bars``; shorter bar types first) and then instrument id: at one
        instant, book updates come before the trades they explain and bars come last. Each
        dataset is read ``batch_rows`` rows at a time, so memory stays bounded by a few batches
        per dataset whatever the length of the replay (more only while one dataset holds more
        than a batch of rows at a single timestamp).

        A dataset whose stored rows go back in time raises ``InvalidData`` (``OUT_OF_ORDER``)
        naming the file and row when the merge reaches it; ``sort=True`` instead reads each
        dataset's selected rows whole and sorts them stably by ``ts_event`` (memory: the
        selected rows of every dataset).
        """
        keys = self._keys() if datasets is None else [_key_of(spec) for spec in datasets]
        duplicated = sorted({str(k) for k in keys if keys.count(k) > 1})
        if duplicated:
            raise InvalidValue("DUPLICATE_DATASET", f"datasets listed twice: {duplicated}")
        for key in keys:
            self._existing(key)
        rows = _positive_int(batch_rows, "batch_rows")
        start_ns, end_ns = _optional_ns(start, "start"), _optional_ns(end, "end")
        cursors = [
            _Cursor(
                self._scan(key, start_ns, end_ns, SCHEMAS[key.data_type].names, rows, sort=sort),
                SCHEMAS[key.data_type],
            )
            for key in keys
        ]
        instruments = tuple(self._instrument_at(key) for key in keys)
        while True:
            for cursor in cursors:
                cursor.fill_past_one_instant()
            pending = [cursor.last_ts() for cursor in cursors if not cursor.exhausted]
            horizon = min(pending) if pending else None
            taken = [cursor.take_before(horizon) for cursor in cursors]
            if not any(table.num_rows for table in taken):
                return
            yield MergedChunk.merge(tuple(keys), instruments, taken)

    def events(
        self,
        datasets: Iterable[DatasetSpec] | None = None,
        *,
        start: object = None,
        end: object = None,
        batch_rows: int = 65_536,
        sort: bool = False,
    ) -> Iterator[tuple[DatasetKey, Any]]:
        """``(dataset, event)`` pairs in merged order (see :meth:`stream`): ``Quote``,
        ``Trade`` and ``Bar`` events, and NumPy records for book data. One Python object per
        row: for the event-driven path; bulk work should use :meth:`stream` chunks."""
        for chunk in self.stream(datasets, start=start, end=end, batch_rows=batch_rows, sort=sort):
            yield from chunk.events()


class _Cursor:
    """A dataset's buffered rows during a merge."""

    def __init__(self, batches: Iterator[pa.Table], schema: pa.Schema) -> None:
        self._batches = batches
        self._buffer: pa.Table = schema.empty_table()
        self._ts: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self.exhausted = False

    def fill_past_one_instant(self) -> None:
        """Reads batches until the buffer spans more than one timestamp (or the data ends), so
        a merge can always release the rows before the last buffered instant."""
        while not self.exhausted and (len(self._ts) == 0 or self._ts[0] == self._ts[-1]):
            batch = next(self._batches, None)
            if batch is None:
                self.exhausted = True
                return
            ts = np.asarray(batch.column("ts_event"))
            if self._buffer.num_rows == 0:
                self._buffer, self._ts = batch, ts
            else:
                self._buffer = pa.concat_tables([self._buffer, batch])
                self._ts = np.concatenate([self._ts, ts])

    def last_ts(self) -> int:
        return int(self._ts[-1])

    def take_before(self, horizon: int | None) -> pa.Table:
        """Removes and returns the buffered rows with ``ts_event < horizon`` (all if None)."""
        count = len(self._ts) if horizon is None else int(np.searchsorted(self._ts, horizon))
        head = self._buffer.slice(0, count)
        self._buffer = self._buffer.slice(count)
        self._ts = self._ts[count:]
        return head


@dataclass(frozen=True, slots=True)
class MergedChunk:
    """Rows of several datasets in merged order.

    ``tables[i]`` holds this chunk's rows of ``datasets[i]`` (in their own order); the merged
    order is given by the columns ``ts_event``, ``source`` (index into ``datasets``) and
    ``row`` (index into ``tables[source]``). :meth:`runs` walks it as maximal slices of one
    dataset (bulk consumers), :meth:`events` row by row."""

    datasets: tuple[DatasetKey, ...]
    instruments: tuple[Instrument, ...]
    tables: tuple[pa.Table, ...]
    ts_event: npt.NDArray[np.int64]
    source: npt.NDArray[np.int32]
    row: npt.NDArray[np.int64]

    @staticmethod
    def merge(
        datasets: tuple[DatasetKey, ...],
        instruments: tuple[Instrument, ...],
        tables: Sequence[pa.Table],
    ) -> MergedChunk:
        ts = [np.asarray(table.column("ts_event"), dtype=np.int64) for table in tables]
        all_ts = np.concatenate(ts)
        sources = np.concatenate(
            [np.full(len(part), index, dtype=np.int32) for index, part in enumerate(ts)]
        )
        rows = np.concatenate([np.arange(len(part), dtype=np.int64) for part in ts])
        # Stable on ts alone: the concatenation is already ordered by (source, row).
        order = np.argsort(all_ts, kind="stable")
        return MergedChunk(
            datasets, instruments, tuple(tables), all_ts[order], sources[order], rows[order]
        )

    def __len__(self) -> int:
        return len(self.ts_event)

    def run_bounds(
        self,
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """The maximal runs of consecutive rows from one dataset, as three columns: dataset
        index, first row in ``tables[index]``, row count (no Python object per run)."""
        if not len(self):
            empty = np.zeros(0, dtype=np.int64)
            return np.zeros(0, dtype=np.int32), empty, empty
        starts = np.flatnonzero(np.concatenate(([True], self.source[1:] != self.source[:-1])))
        counts = np.diff(np.append(starts, len(self)))
        return self.source[starts], self.row[starts], counts

    def runs(self) -> Iterator[tuple[DatasetKey, pa.Table]]:
        """Maximal runs of consecutive rows from one dataset, in merged order, as table slices
        (one slice per run: cheap for bursts of one dataset; for finely interleaved data use
        :meth:`run_bounds` or :meth:`events`)."""
        sources, firsts, counts = self.run_bounds()
        for index, first, count in zip(
            sources.tolist(), firsts.tolist(), counts.tolist(), strict=True
        ):
            yield self.datasets[index], self.tables[index].slice(first, count)

    def events(self) -> Iterator[tuple[DatasetKey, Any]]:
        """``(dataset, event)`` for every row in merged order (see :func:`to_events`)."""
        converted = [
            list(to_events(table, key)) if table.num_rows else []
            for key, table in zip(self.datasets, self.tables, strict=True)
        ]
        for index, row in zip(self.source.tolist(), self.row.tolist(), strict=True):
            yield self.datasets[index], converted[index][row]
