"""CSV import: exact prices, timestamps in the bundled formats, and bad rows named by line."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hftcore import Instrument
from hftcore.data import (
    DataCatalog,
    bundled_path,
    import_csv,
    instrument_of,
    parse_timestamps,
    read_csv,
    to_ns,
)
from hftcore.errors import InvalidData, InvalidValue
from hypothesis import given, settings
from hypothesis import strategies as st

SPX = Instrument("SPX.SIM", "0.000001", 6, "1", 0)
STOCK = Instrument("AAPL.XNAS", "0.01", 2, "1", 0)


def csv_lines(name: str) -> list[list[str]]:
    with gzip.open(bundled_path(name), "rt") as handle:
        return [line.strip().split(",") for line in handle.read().splitlines()[1:]]


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_m_d_yyyy_bars_import_exactly_with_ts_at_the_bar_close() -> None:
    table = read_csv(
        bundled_path("sp500_index_daily_ohlcv"), SPX, "bars", bar_type="1-DAY",
        timestamp_format="%m/%d/%Y", bar_timestamp="open",
    )  # fmt: skip
    rows = csv_lines("sp500_index_daily_ohlcv")
    assert table.num_rows == len(rows) == 5031
    expected_ts = [
        int(dt.datetime.strptime(r[0], "%m/%d/%Y").replace(tzinfo=dt.UTC).timestamp()) * 10**9
        + 86_400 * 10**9
        for r in rows
    ]
    assert table["ts_event"].to_pylist() == expected_ts
    assert table["open"].to_pylist() == [SPX.price_to_ticks(r[1]) for r in rows]
    assert table["low"].to_pylist() == [SPX.price_to_ticks(r[3]) for r in rows]
    assert table["volume"].to_pylist() == [int(r[6]) for r in rows]
    assert instrument_of(table) == SPX


def test_day_first_times_with_milliseconds_and_exponent_volumes_convert_exactly() -> None:
    pair = Instrument("EURUSD.SIM", "0.00001", 5, "0.1", 1)
    table = read_csv(
        bundled_path("eurusd_1h_ask_ohlcv"), pair, "bars", bar_type="1-HOUR",
        columns={"ts_event": "Time"}, timestamp_format="%d.%m.%Y %H:%M:%S.%f",
        bar_timestamp="close",
    )  # fmt: skip
    rows = csv_lines("eurusd_1h_ask_ohlcv")
    expected_ts = [
        int(dt.datetime.strptime(r[0], "%d.%m.%Y %H:%M:%S.%f").replace(tzinfo=dt.UTC).timestamp())
        * 10**9
        for r in rows
    ]
    assert table["ts_event"].to_pylist() == expected_ts
    assert table["volume"].to_pylist() == [int(Decimal(r[5]) * 10) for r in rows]
    exponent_row = next(i for i, r in enumerate(rows) if "E" in r[5])
    assert table["volume"][exponent_row].as_py() == 1_005_320_000_000  # 1.00532E+11 in 0.1 lots


def test_off_grid_prices_are_rejected_with_file_and_line_unless_rounding_is_asked() -> None:
    msft = Instrument("MSFT.XNAS", "0.00001", 5, "1", 0)
    path = bundled_path("msft_daily_ohlcv")
    rows = csv_lines("msft_daily_ohlcv")
    grid = Decimal("0.00001")
    first_bad = next(i for i, r in enumerate(rows) if any(Decimal(v) % grid for v in r[1:5]))
    with pytest.raises(InvalidData) as error:
        read_csv(path, msft, "bars", bar_type="1-DAY", bar_timestamp="open")
    assert error.value.code == "OFF_GRID"
    assert f"{path} line {first_bad + 2}:" in error.value.message
    table = read_csv(
        path, msft, "bars", bar_type="1-DAY", bar_timestamp="open", price_rounding="nearest"
    )
    assert table["close"].to_pylist() == [msft.price_to_ticks(r[4], "nearest") for r in rows]


def test_missing_values_name_the_line() -> None:
    vix = Instrument("VIX.SIM", "0.01", 2, "1", 0)
    with pytest.raises(InvalidData) as error:
        read_csv(
            bundled_path("vix_daily"), vix, "bars", bar_type="1-DAY", timestamp_format="%m/%d/%Y",
            columns={"open": "vix", "high": "vix", "low": "vix", "close": "vix"},
            bar_timestamp="open",
        )  # fmt: skip
    assert error.value.code == "NOT_A_NUMBER"
    assert "vix_daily.csv.gz line 13: vix '.'" in error.value.message


@pytest.mark.parametrize(
    ("text", "code", "fragment"),
    [
        ("time,price,size\n2024-01-02,10.00,1\n2024-01-02,abc,1\n", "NOT_A_NUMBER", "line 3"),
        ("time,price,size\n2024-01-02,10.00,1\n2024-01-02,,1\n", "NOT_A_NUMBER", "line 3"),
        ("time,price,size\n2024-01-02,10.00,1\n2024-01-02,10.001,1\n", "OFF_GRID", "line 3"),
        ("time,price,size\n2024-01-02,10.00,1\n2024-01-02,-10.00,1\n", "NON_POSITIVE_PRICE",
         "line 3"),
        ("time,price,size\n2024-01-02,10.00,1\n2024-01-02,10.00,0\n", "NON_POSITIVE_QUANTITY",
         "line 3"),
        ("time,price,size\n2024-01-02,10.00,1\n2024-13-02,10.00,1\n", "BAD_TIMESTAMP", "line 3"),
        ("time,price,size\n2024-02-30,10.00,1\n", "BAD_TIMESTAMP", "line 2"),
        ("time,price,size\n2024-01-02,10.00,1\n01/03/2024,10.00,1\n", "BAD_TIMESTAMP",
         "does not match format 'iso'"),
        ("time,price,size\n2024-01-02,10.00,1\n2024-01-02,10.00\n", "BAD_CSV",
         "line 3: expected 3 fields, got 2"),
        ("time,price,size\n2024-01-02,10.00,1\n\n2024-01-03,10.00,1\n", "BAD_TIMESTAMP",
         "line 3"),
        ("time,price,size\n2024-01-02,10.00,1\n2024-01-02,10.00,x\n2024-01-02,y,1\n",
         "NOT_A_NUMBER", "line 3: size 'x'"),
        ("time,price,size\n2024-01-03,10.00,1\n2024-01-02,10.00,1\n", "OUT_OF_ORDER",
         "line 3: ts_event"),
        ("time,price,size,aggressor_side\n2024-01-02,10.00,1,up\n", "BAD_VALUE", "line 2"),
        ("time,price\n2024-01-02,10.00\n", "MISSING_COLUMN", "no column for 'size'"),
        ("time,price,price\n2024-01-02,10.00,1\n", "BAD_CSV", "repeats"),
    ],
)  # fmt: skip
def test_bad_rows_are_named_by_file_and_line(
    tmp_path: Path, text: str, code: str, fragment: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InvalidData) as error:
        read_csv(path, STOCK, "trades")
    assert error.value.code == code
    assert str(path) in error.value.message
    assert fragment in error.value.message


def test_sort_on_request_orders_rows_stably(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "time,price,size,trade_id\n2024-01-03,10.00,1,a\n2024-01-02,10.01,2,b\n"
        "2024-01-03,10.02,3,c\n2024-01-02,10.03,4,d\n",
    )
    table = read_csv(path, STOCK, "trades", sort=True)
    assert table["trade_id"].to_pylist() == ["b", "d", "a", "c"]
    assert table["price"].to_pylist() == [1001, 1003, 1000, 1002]


def test_trades_quotes_and_l2_deltas_import_with_defaults_and_aliases(tmp_path: Path) -> None:
    trades_csv = write(
        tmp_path,
        "Timestamp,Price,Qty,Aggressor_Side,Trade_ID\n"
        "2024-01-02T14:30:00.000000001Z,189.95,100,BUY,t1\n"
        "2024-01-02T09:30:00.5-05:00,189.96,5,s,t2\n"
        "2024-01-02 14:30:01,189.97,7,,t3\n",
        "trades.csv",
    )
    trades = read_csv(trades_csv, STOCK, "trades")
    base = to_ns("2024-01-02T14:30:00Z")
    assert trades["ts_event"].to_pylist() == [base + 1, base + 500_000_000, base + 10**9]
    assert trades["ts_init"].to_pylist() == trades["ts_event"].to_pylist()
    assert trades["aggressor_side"].to_pylist() == [0, 1, -1]
    assert trades["size"].to_pylist() == [100, 5, 7]
    quotes_csv = write(
        tmp_path, "ts,bid,bid_size,ask,ask_size\n1704205800,189.95,3,189.97,0\n", "quotes.csv"
    )
    quotes = read_csv(
        quotes_csv, STOCK, "quotes", columns={"ts_event": "ts"}, timestamp_format="epoch_s"
    )
    assert quotes.to_pylist() == [
        {"ts_event": 1704205800 * 10**9, "ts_init": 1704205800 * 10**9, "bid_price": 18995,
         "bid_size": 3, "ask_price": 18997, "ask_size": 0}
    ]  # fmt: skip
    deltas_csv = write(
        tmp_path, "ts_event,side,price,size,sequence\n5,bid,189.95,10,1\n6,ASK,190.00,0,2\n",
        "deltas.csv",
    )  # fmt: skip
    deltas = read_csv(deltas_csv, STOCK, "l2_deltas", timestamp_format="epoch_ns")
    assert deltas.select(["side", "price", "quantity", "sequence", "flags"]).to_pylist() == [
        {"side": 0, "price": 18995, "quantity": 10, "sequence": 1, "flags": 0},
        {"side": 1, "price": 19000, "quantity": 0, "sequence": 2, "flags": 0},
    ]


def test_local_times_are_converted_and_ambiguous_ones_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "time,price,size\n2024-07-01 09:30:00,10.00,1\n")
    table = read_csv(path, STOCK, "trades", timezone="America/New_York")
    assert table["ts_event"][0].as_py() == to_ns("2024-07-01T13:30:00Z")
    ambiguous = write(
        tmp_path, "time,price,size\n2024-11-03 00:30:00,10.00,1\n2024-11-03 01:30:00,10.00,1\n",
        "fall_back.csv",
    )  # fmt: skip
    with pytest.raises(InvalidData) as error:
        read_csv(ambiguous, STOCK, "trades", timezone="America/New_York")
    assert error.value.code == "AMBIGUOUS_TIMESTAMP"
    assert "line 3" in error.value.message
    with pytest.raises(InvalidValue) as value_error:
        read_csv(path, STOCK, "trades", timezone="Mars/Olympus")
    assert value_error.value.code == "BAD_TIMEZONE"


@pytest.mark.parametrize(
    ("options", "code", "fragment"),
    [
        ({"data_type": "bars", "bar_type": "1-DAY"}, "BAD_OPTION", "bar_timestamp"),
        ({"data_type": "bars", "bar_type": "10-TICK", "bar_timestamp": "open"}, "BAD_OPTION",
         "time bar"),
        ({"data_type": "bars"}, "MISSING_BAR_TYPE", "bar_type"),
        ({"data_type": "l3_messages"}, "UNSUPPORTED_DATA_TYPE", "l3_messages"),
        ({"data_type": "ticks"}, "UNKNOWN_DATA_TYPE", "ticks"),
        ({"price_rounding": "half-up"}, "BAD_OPTION", "price_rounding"),
        ({"delimiter": ";;"}, "BAD_OPTION", "delimiter"),
        ({"timestamp_format": "%Y-%q"}, "BAD_TIMESTAMP_FORMAT", "%q"),
        ({"timestamp_format": "%d/%H"}, "BAD_TIMESTAMP_FORMAT", "%Y and %m"),
        ({"columns": {"px": "price"}}, "UNKNOWN_FIELD", "px"),
        ({"instrument": "AAPL"}, "BAD_INSTRUMENT", "Instrument"),
        ({"path": "/nonexistent/file.csv"}, "NO_SUCH_FILE", "/nonexistent/file.csv"),
    ],
)  # fmt: skip
def test_bad_options_are_named(
    tmp_path: Path, options: dict[str, object], code: str, fragment: str
) -> None:
    arguments: dict[str, object] = {
        "path": write(tmp_path, "time,price,size\n2024-01-02,10.00,1\n"),
        "instrument": STOCK,
        "data_type": "trades",
        **options,
    }
    with pytest.raises(InvalidValue) as error:
        read_csv(**arguments)  # type: ignore[arg-type]
    assert error.value.code == code
    assert fragment in error.value.message


def test_an_explicit_column_that_is_absent_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "time,price,size\n2024-01-02,10.00,1\n")
    with pytest.raises(InvalidData) as error:
        read_csv(path, STOCK, "trades", columns={"price": "Last"})
    assert error.value.code == "MISSING_COLUMN"
    assert "'Last'" in error.value.message


def test_import_writes_to_the_catalog_and_a_bad_file_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    good = write(tmp_path, "time,price,size\n2024-01-02,10.00,1\n2024-01-03,10.50,2\n", "a.csv")
    info = import_csv(good, STOCK, "trades", catalog=root)
    assert (info.rows, info.first_ts, info.last_ts) == (
        2, to_ns("2024-01-02"), to_ns("2024-01-03")
    )  # fmt: skip
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*.parquet")}
    late = write(tmp_path, "time,price,size\n2024-01-01,10.00,1\n", "late.csv")
    with pytest.raises(InvalidData) as error:
        import_csv(late, STOCK, "trades", catalog=DataCatalog(root))
    assert error.value.code == "OUT_OF_ORDER"
    assert "late.csv row 0" in error.value.message
    bad = write(tmp_path, "time,price,size\n2024-01-04,10.00,1\n2024-01-05,x,1\n", "bad.csv")
    with pytest.raises(InvalidData):
        import_csv(bad, STOCK, "trades", catalog=root)
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*.parquet")}
    assert after == before
    merged = import_csv(late, STOCK, "trades", catalog=root, sort=True)
    assert merged.rows == 3
    assert merged.first_ts == to_ns("2024-01-01")


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(min_value=dt.datetime(1700, 1, 1), max_value=dt.datetime(2250, 12, 31)),
    st.sampled_from(
        ["%Y-%m-%d %H:%M:%S.%f", "%d.%m.%Y %H:%M:%S.%f", "%m/%d/%Y %H:%M", "%Y%m%d", "iso"]
    ),
)
def test_timestamp_formats_agree_with_datetime(moment: dt.datetime, fmt: str) -> None:
    aware = moment.replace(tzinfo=dt.UTC)
    if fmt == "iso":
        text, expected = aware.isoformat(), aware
    else:
        text = moment.strftime(fmt)
        expected = dt.datetime.strptime(text, fmt).replace(tzinfo=dt.UTC)
    since = expected - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    nanos = since // dt.timedelta(microseconds=1) * 1_000
    parsed = parse_timestamps(pa.array([text]), fmt)
    assert parsed.tolist() == [nanos]


def test_to_ns_accepts_the_documented_types_and_names_the_rest() -> None:
    expected = 1_704_067_200 * 10**9
    assert to_ns(expected) == expected
    assert to_ns("2024-01-01") == expected
    assert to_ns("2024-01-01T01:00:00+01:00") == expected
    assert to_ns(dt.date(2024, 1, 1)) == expected
    assert to_ns(dt.datetime(2024, 1, 1, tzinfo=dt.UTC)) == expected
    assert to_ns(np.datetime64("2024-01-01T00:00:00")) == expected
    for bad, code in [
        (True, "BAD_TIMESTAMP"),
        (1.5, "BAD_TIMESTAMP"),
        (dt.datetime(2024, 1, 1), "NAIVE_DATETIME"),
        (np.datetime64("NaT"), "BAD_TIMESTAMP"),
    ]:
        with pytest.raises(InvalidValue) as error:
            to_ns(bad)
        assert error.value.code == code
    with pytest.raises(InvalidData) as data_error:
        to_ns("yesterday")
    assert data_error.value.code == "BAD_TIMESTAMP"
