"""``hftcore data import`` and ``hftcore data list``: argument definitions and handlers.

The ``hftcore`` command wires them up (``add_import_arguments(subparser)`` then
``import_command(args)``); each handler prints to ``out`` and returns the exit status, with any
rejected input reported on ``err`` as ``error: CODE: sentence``.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

import numpy as np

from hftcore._core import Instrument
from hftcore.data.catalog import DataCatalog
from hftcore.data.csv_import import CSV_DATA_TYPES, import_csv
from hftcore.data.timestamps import ISO
from hftcore.errors import HftcoreError, InvalidValue

__all__ = ["add_import_arguments", "add_list_arguments", "import_command", "list_command"]

_ROUNDING_CHOICES = ("exact", "nearest", "down", "up")


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``hftcore data import``."""
    parser.add_argument("path", help="CSV file (may be .gz)")
    parser.add_argument("--catalog", required=True, help="catalog root directory")
    parser.add_argument("--instrument", required=True, help="instrument id, e.g. AAPL.XNAS")
    parser.add_argument("--data-type", required=True, choices=CSV_DATA_TYPES)
    parser.add_argument(
        "--tick-size", help="price grid, e.g. 0.01 (default: the spec stored in the catalog)"
    )
    parser.add_argument("--lot-size", default="1", help="size grid (default 1)")
    parser.add_argument("--bar-type", help="bars only: N-UNIT, e.g. 1-DAY")
    parser.add_argument(
        "--bar-timestamp", choices=("open", "close"), help="bars only: what the time column marks"
    )
    parser.add_argument(
        "--timestamp-format", default=ISO, help="iso, epoch_ns, or e.g. %%m/%%d/%%Y"
    )
    parser.add_argument("--timezone", default="UTC", help="zone of times without an offset")
    parser.add_argument("--price-rounding", choices=_ROUNDING_CHOICES)
    parser.add_argument("--size-rounding", choices=_ROUNDING_CHOICES)
    parser.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="FIELD=HEADER",
        help="map a field to a CSV header (repeatable), e.g. --column ts_event=Date",
    )
    parser.add_argument("--delimiter", default=",")
    parser.add_argument("--sort", action="store_true", help="sort rows by time instead of failing")
    parser.add_argument("--replace", action="store_true", help="replace the dataset")


def add_list_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``hftcore data list``."""
    parser.add_argument("--catalog", required=True, help="catalog root directory")
    parser.add_argument("--instrument", help="only this instrument id")
    parser.add_argument("--data-type", help="only this data type")


def _decimals(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


def _instrument(args: argparse.Namespace, catalog: DataCatalog) -> Instrument:
    if args.tick_size is None:
        known = {instrument.instrument_id: instrument for instrument in catalog.instruments()}
        if args.instrument not in known:
            raise InvalidValue(
                "UNKNOWN_INSTRUMENT",
                f"{args.instrument!r} is not in {catalog.root} yet: pass --tick-size (and "
                "--lot-size) to define it",
            )
        return known[args.instrument]
    return Instrument(
        args.instrument, args.tick_size, _decimals(args.tick_size), args.lot_size,
        _decimals(args.lot_size),
    )  # fmt: skip


def _columns(pairs: list[str]) -> dict[str, str]:
    columns = {}
    for pair in pairs:
        field, separator, header = pair.partition("=")
        if not separator or not field or not header:
            raise InvalidValue("BAD_OPTION", f"--column takes FIELD=HEADER, got {pair!r}")
        columns[field] = header
    return columns


def _timestamp(ns: int | None) -> str:
    return "" if ns is None else str(np.datetime64(ns, "ns")) + "Z"


def import_command(
    args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    """Imports one CSV into the catalog and prints the dataset's new state."""
    try:
        catalog = DataCatalog(args.catalog)
        info = import_csv(
            args.path,
            _instrument(args, catalog),
            args.data_type,
            catalog=catalog,
            mode="replace" if args.replace else "append",
            sort=args.sort,
            columns=_columns(args.column),
            timestamp_format=args.timestamp_format,
            timezone=args.timezone,
            bar_type=args.bar_type,
            bar_timestamp=args.bar_timestamp,
            price_rounding=args.price_rounding,
            size_rounding=args.size_rounding,
            delimiter=args.delimiter,
        )
    except HftcoreError as error:
        err.write(f"error: {error}\n")
        return 2
    out.write(
        f"{info.key}: {info.rows:,} rows, {_timestamp(info.first_ts)} .. "
        f"{_timestamp(info.last_ts)}\n"
    )
    return 0


def list_command(
    args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    """Prints one line per dataset: instrument, data type, rows, first and last ``ts_event``."""
    try:
        datasets = DataCatalog(args.catalog).list_datasets(args.instrument, args.data_type)
    except HftcoreError as error:
        err.write(f"error: {error}\n")
        return 2
    header = f"{'instrument':<16}{'data type':<22}{'rows':>12}  {'first':<31}{'last':<31}"
    lines = [header]
    for info in datasets:
        kind = info.data_type + (f" {info.bar_type}" if info.bar_type else "")
        lines.append(
            f"{info.instrument_id:<16}{kind:<22}{info.rows:>12,}  "
            f"{_timestamp(info.first_ts):<31}{_timestamp(info.last_ts):<31}".rstrip()
        )
    out.write("\n".join(lines) + "\n")
    return 0
