"""Real market data shipped with hftcore (``hftcore/data/bundled/``, provenance in its README).

* :func:`load_bundled` gives a file as an analytics table: ``ts`` (the file's date or time label
  as int64 ns UTC) and its numeric columns (float64, or int64 where the file has integers;
  missing values are null).
* :func:`bundled_bars` / :func:`import_bundled` turn the tradable series into validated bars of
  the catalog schema (ticks, lots, ``ts_event`` = bar close), ready for a backtest.

Bundled prices are end-of-day composites (adjusted closes, index levels) not tied to one
exchange, so their default instrument ids use the simulated venue ``SIM`` (``AAPL.SIM``,
``SPX.SIM``, ``EURUSD.SIM``); MSFT's split-adjusted OHLCV, a NASDAQ listing, is ``MSFT.XNAS``.
Daily files are labelled by date: a bar's ``ts_event`` is the following midnight UTC; hourly
bars close an hour after their label.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.csv as pa_csv

from hftcore._core import Instrument
from hftcore.data.catalog import DataCatalog, DatasetInfo
from hftcore.data.csv_import import RoundingMode, read_csv
from hftcore.data.timestamps import ISO, parse_timestamps
from hftcore.errors import InvalidValue

__all__ = [
    "BUNDLED",
    "BundledFile",
    "BundledSeries",
    "bundled_bars",
    "bundled_instrument",
    "bundled_path",
    "import_bundled",
    "load_bundled",
]

BUNDLED_DIR = Path(__file__).parent / "bundled"
_OHLCV = {"open": "Open", "high": "High", "low": "Low", "close": "Close", "volume": "Volume"}


@dataclass(frozen=True, slots=True)
class BundledSeries:
    """One tradable series of a bundled file and the instrument its bars are stored under."""

    instrument_id: str
    tick_size: str
    price_precision: int
    columns: Mapping[str, str]
    lot_size: str = "1"
    size_precision: int = 0
    price_rounding: RoundingMode = None

    def instrument(self) -> Instrument:
        return Instrument(
            self.instrument_id,
            self.tick_size,
            self.price_precision,
            self.lot_size,
            self.size_precision,
        )


@dataclass(frozen=True, slots=True)
class BundledFile:
    """A bundled CSV: what it holds, where it comes from and how to read it."""

    name: str
    description: str
    source: str
    time_column: str
    time_format: str
    bar_type: str | None = None
    series: tuple[BundledSeries, ...] = ()
    null_values: tuple[str, ...] = field(default=())

    @property
    def path(self) -> Path:
        return BUNDLED_DIR / f"{self.name}.csv.gz"


_OHLCV_PRICES = ("open", "high", "low", "close")


def _close_series(tickers: Iterable[str], tick: str, precision: int) -> tuple[BundledSeries, ...]:
    """Close-only series: every bar price read from the ticker's column."""
    return tuple(
        BundledSeries(f"{ticker}.SIM", tick, precision, dict.fromkeys(_OHLCV_PRICES, ticker))
        for ticker in tickers
    )


SP500_20_TICKERS = (
    "AAPL", "AMD", "BAC", "BBY", "CVX", "GE", "HD", "JNJ", "JPM", "KO",
    "LLY", "MRK", "MSFT", "PEP", "PFE", "PG", "RRC", "UNH", "WMT", "XOM",
)  # fmt: skip
FACTOR_ETFS = ("MTUM", "QUAL", "SIZE", "USMV", "VLUE")

BUNDLED: dict[str, BundledFile] = {
    entry.name: entry
    for entry in (
        BundledFile(
            "sp500_20_stocks_daily_adjclose",
            "daily adjusted close of 20 S&P 500 stocks, 1990-01-02 .. 2022-12-28",
            "skfolio 1.12.2 skfolio/datasets/data/sp500_dataset.csv.gz (BSD-3)",
            "Date",
            ISO,
            "1-DAY",
            _close_series(SP500_20_TICKERS, "0.001", 3),
        ),
        BundledFile(
            "sp500_index_daily_close",
            "S&P 500 index daily close, 1990-01-02 .. 2022-12-28",
            "skfolio 1.12.2 sp500_index.csv.gz (BSD-3)",
            "Date",
            ISO,
            "1-DAY",
            (BundledSeries("SP500.SIM", "0.01", 2, dict.fromkeys(_OHLCV_PRICES, "SP500")),),
        ),
        BundledFile(
            "factor_etfs_daily_close",
            "factor ETFs MTUM, QUAL, SIZE, USMV, VLUE daily close, 2014-01-02 .. 2022-12-28",
            "skfolio 1.12.2 factors_dataset.csv.gz (BSD-3)",
            "Date",
            ISO,
            "1-DAY",
            _close_series(FACTOR_ETFS, "0.001", 3),
        ),
        BundledFile(
            "sp500_index_daily_ohlcv",
            "S&P 500 index daily OHLCV + Adj Close, 1999-01-04 .. 2018-12-31",
            "arch 8.0.0 arch/data/sp500 (NCSA)",
            "Date",
            "%m/%d/%Y",
            "1-DAY",
            (BundledSeries("SPX.SIM", "0.000001", 6, _OHLCV),),
        ),
        BundledFile(
            "nasdaq_index_daily_ohlcv",
            "NASDAQ Composite daily OHLCV + Adj Close, 1999-01-04 .. 2018-12-31",
            "arch 8.0.0 arch/data/nasdaq (NCSA)",
            "Date",
            "%m/%d/%Y",
            "1-DAY",
            (BundledSeries("IXIC.SIM", "0.000001", 6, _OHLCV),),
        ),
        BundledFile(
            "msft_daily_ohlcv",
            "MSFT daily OHLCV (split-adjusted), 1986-03-13 .. 2017-11-10",
            "pmdarima 2.1.1 pmdarima/datasets/data/msft.tar.gz (MIT)",
            "Date",
            ISO,
            "1-DAY",
            # Prices are float renderings such as 0.08388999999999999: round to 5 decimals.
            (BundledSeries("MSFT.XNAS", "0.00001", 5, _OHLCV, price_rounding="nearest"),),
        ),
        BundledFile(
            "eurusd_1h_ask_ohlcv",
            "EURUSD hourly ask OHLCV, 2017 (UTC)",
            "gym-anytrading 2.0.0 FOREX_EURUSD_1H_ASK.csv (MIT)",
            "Time",
            "%d.%m.%Y %H:%M:%S.%f",
            "1-HOUR",
            (BundledSeries("EURUSD.SIM", "0.00001", 5, _OHLCV, lot_size="0.1", size_precision=1),),
        ),
        BundledFile(
            "fama_french_3_monthly",
            "Fama-French Mkt-RF, SMB, HML, RF monthly in percent, 1926-07 .. 2018-11",
            "arch 8.0.0 arch/data/frenchdata (NCSA)",
            "Date",
            "%Y%m",
        ),
        BundledFile(
            "vix_daily",
            "VIX daily close, 2014-01-03 .. 2019-01-03; '.' marks a missing value",
            "arch 8.0.0 arch/data/vix (NCSA)",
            "Date",
            "%m/%d/%Y",
            null_values=(".",),
        ),
    )
}
"""The bundled files by name."""


def _entry(name: str) -> BundledFile:
    if name not in BUNDLED:
        raise InvalidValue(
            "UNKNOWN_BUNDLED", f"no bundled data named {name!r}; available: {sorted(BUNDLED)}"
        )
    return BUNDLED[name]


def bundled_path(name: str) -> Path:
    """The path of a bundled ``.csv.gz`` file."""
    return _entry(name).path


_OHLCV_HEADERS = {*_OHLCV.values(), "Adj Close", "OpenInt"}


def _column_name(header: str) -> str:
    return header.lower().replace(" ", "_") if header in _OHLCV_HEADERS else header


def load_bundled(name: str) -> pa.Table:
    """A bundled file as a typed table: ``ts`` (int64 ns UTC of the row's date/time label: a
    day's or month's midnight, an hour's start) then the numeric columns. OHLCV headers become
    lower snake case (``open``, ``adj_close``, ``volume``); series named after a ticker or factor
    keep their names (``AAPL``, ``SP500``, ``Mkt-RF``)."""
    entry = _entry(name)
    table = pa_csv.read_csv(
        entry.path,
        convert_options=pa_csv.ConvertOptions(
            column_types={entry.time_column: pa.string()},
            null_values=list(entry.null_values),
            strings_can_be_null=False,
        ),
    )

    def locate(row: int) -> str:
        return f"{entry.path} line {row + 2}"

    ts = parse_timestamps(
        table.column(entry.time_column),
        entry.time_format,
        locate=locate,
        column=entry.time_column,
    )
    others = [column for column in table.column_names if column != entry.time_column]
    return pa.Table.from_arrays(
        [pa.array(ts), *(table.column(column) for column in others)],
        names=["ts", *(_column_name(column) for column in others)],
    )


def _series(entry: BundledFile, instrument_id: str | None) -> BundledSeries:
    if not entry.series:
        raise InvalidValue("NOT_TRADABLE", f"{entry.name} holds no tradable price series")
    if instrument_id is None:
        if len(entry.series) > 1:
            ids = [s.instrument_id for s in entry.series]
            raise InvalidValue(
                "AMBIGUOUS_SERIES", f"{entry.name} holds {len(ids)} series; pick one of {ids}"
            )
        return entry.series[0]
    for series in entry.series:
        if series.instrument_id == instrument_id:
            return series
    raise InvalidValue(
        "UNKNOWN_INSTRUMENT",
        f"{entry.name} has no series {instrument_id!r}; it has "
        f"{[s.instrument_id for s in entry.series]}",
    )


def bundled_instrument(name: str, instrument_id: str | None = None) -> Instrument:
    """The instrument of a bundled series (``instrument_id`` may be left out for files with a
    single series)."""
    return _series(_entry(name), instrument_id).instrument()


def bundled_bars(name: str, instrument_id: str | None = None) -> pa.Table:
    """One bundled series as a validated bars table (catalog schema, instrument in its
    metadata). Close-only series give bars with open = high = low = close and volume 0."""
    entry = _entry(name)
    series = _series(entry, instrument_id)
    return read_csv(
        entry.path,
        series.instrument(),
        "bars",
        columns={"ts_event": entry.time_column, **series.columns},
        timestamp_format=entry.time_format,
        bar_type=entry.bar_type,
        bar_timestamp="open",
        price_rounding=series.price_rounding,
    )


def import_bundled(
    catalog: DataCatalog | str | os.PathLike[str],
    names: Iterable[str] | None = None,
    *,
    mode: Literal["append", "replace"] = "replace",
) -> list[DatasetInfo]:
    """Writes the bars of every tradable series of the named bundled files (default: all) into
    ``catalog``; by default each dataset is replaced, so running it twice is harmless."""
    store = catalog if isinstance(catalog, DataCatalog) else DataCatalog(catalog)
    selected = [_entry(name) for name in (sorted(BUNDLED) if names is None else names)]
    if names is not None:
        for entry in selected:
            if not entry.series:
                raise InvalidValue("NOT_TRADABLE", f"{entry.name} holds no tradable price series")
    written = []
    for entry in selected:
        for series in entry.series:
            table = bundled_bars(entry.name, series.instrument_id)
            written.append(
                store.write(
                    series.instrument(),
                    "bars",
                    table,
                    bar_type=entry.bar_type,
                    mode=mode,
                    source=str(entry.path),
                )
            )
    return written
