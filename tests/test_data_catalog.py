"""The Parquet catalog: round trips, validation, range reads and the merged replay."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hftcore import (
    Instrument,
    OrderBookL2,
    OrderBookL3,
    l2_deltas_from_l3,
    synthetic_l3_messages,
)
from hftcore.data import (
    BAR_DTYPE,
    DataCatalog,
    DatasetKey,
    bundled_bars,
    bundled_path,
    import_bundled,
    instrument_of,
    to_records,
)
from hftcore.errors import InvalidData, InvalidValue
from hftcore.model import Bar, BookDelta, Quote, Trade

SIM = Instrument("TEST.SIM", "0.01", 2, "1", 0, maker_fee="-0.0001", taker_fee="0.0003")
OTHER = Instrument("OTHER.SIM", "0.5", 1, "0.001", 3)


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` with a digest of its bytes."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def trades(ts: list[int], price: int = 100, ids: list[str] | None = None) -> dict[str, object]:
    return {
        "ts_event": np.array(ts, dtype=np.int64),
        "price": np.full(len(ts), price, dtype=np.int64),
        "size": np.ones(len(ts), dtype=np.int64),
        "trade_id": ids or [str(i) for i in range(len(ts))],
    }


def test_bundled_msft_bars_round_trip_with_their_prices(tmp_path: Path) -> None:
    catalog = DataCatalog(tmp_path)
    bars = bundled_bars("msft_daily_ohlcv")
    (info,) = import_bundled(catalog, ["msft_daily_ohlcv"])
    assert (info.key, info.rows) == (DatasetKey("MSFT.XNAS", "bars", "1-DAY"), 7983)
    back = catalog.read("MSFT.XNAS", "bars", bar_type="1-DAY")
    assert back.equals(bars)
    instrument = instrument_of(back)
    assert instrument == info.instrument == catalog.instrument("MSFT.XNAS")
    # Every close read back is the CSV's close rounded to the instrument's 5 decimals.
    with gzip.open(bundled_path("msft_daily_ohlcv"), "rt") as handle:
        lines = handle.read().splitlines()[1:]
    closes = [Decimal(line.split(",")[4]).quantize(Decimal("0.00001")) for line in lines]
    assert [Decimal(instrument.ticks_to_str(t)) for t in back["close"].to_pylist()] == closes
    assert info.first_ts == back["ts_event"][0].as_py()
    assert info.last_ts == 1510358400 * 10**9  # 2017-11-10 labels the bar closing 11-11 00:00


def test_instrument_spec_survives_the_file_metadata(tmp_path: Path) -> None:
    catalog = DataCatalog(tmp_path)
    spec = Instrument(
        "ETH.X", "0.05", 2, "0.001", 3, min_quantity="0.002", max_quantity="500",
        min_notional="10", maker_fee="-0.0001", taker_fee="0.0004",
    )  # fmt: skip
    catalog.write(spec, "trades", trades([1, 2]))
    stored = catalog.instrument("ETH.X")
    assert stored == spec
    assert (stored.min_quantity, stored.max_quantity, stored.maker_fee) == (2, 500_000, "-0.0001")


def test_book_records_round_trip_and_replay_identically(tmp_path: Path) -> None:
    catalog = DataCatalog(tmp_path, row_group_size=5_000)
    messages = synthetic_l3_messages(20_000, seed=3)
    deltas = l2_deltas_from_l3(messages)
    catalog.write(SIM, "l3_messages", messages)
    catalog.write(SIM, "l2_deltas", deltas)
    l3_back = to_records(catalog.read("TEST.SIM", "l3_messages"), "l3_messages")
    l2_back = to_records(catalog.read("TEST.SIM", "l2_deltas"), "l2_deltas")
    assert l3_back.tobytes() == messages.tobytes()
    assert l2_back.tobytes() == deltas.tobytes()
    original, replayed = OrderBookL3(SIM), OrderBookL3(SIM)
    original.apply_messages(messages)
    replayed.apply_messages(l3_back)
    assert original.to_l2() == replayed.to_l2()
    book = OrderBookL2(SIM)
    assert book.apply_deltas(l2_back).applied == len(deltas)


def test_model_events_are_written_and_read_back(tmp_path: Path) -> None:
    catalog = DataCatalog(tmp_path)
    quotes = [Quote("TEST.SIM", 100, 5, 101, 7, ts, ts + 1) for ts in (10, 20, 20, 30)]
    catalog.write(SIM, "quotes", quotes)
    assert [event for _, event in catalog.events([("TEST.SIM", "quotes")])] == quotes
    prints = [Trade("TEST.SIM", 100, 3, 1, "t1", 5, 6), Trade("TEST.SIM", 101, 2, -1, "t2", 7, 7)]
    catalog.write(SIM, "trades", prints)
    assert [event for _, event in catalog.events([("TEST.SIM", "trades")])] == prints
    bars = [Bar("TEST.SIM", "1-MINUTE", 100, 102, 99, 101, 10, 60 * 10**9, 60 * 10**9)]
    catalog.write(SIM, "bars", bars, bar_type="1-MINUTE")
    assert [e for _, e in catalog.events([("TEST.SIM", "bars", "1-MINUTE")])] == bars
    with pytest.raises(InvalidData) as error:
        catalog.write(SIM, "quotes", [Quote("OTHER.SIM", 100, 5, 101, 7, 40, 40)])
    assert error.value.code == "INSTRUMENT_MISMATCH"
    with pytest.raises(InvalidData) as error:
        catalog.write(SIM, "bars", bars, bar_type="5-MINUTE")
    assert error.value.code == "BAR_TYPE_MISMATCH"
    with pytest.raises(InvalidData) as error:
        catalog.write(SIM, "l2_deltas", [BookDelta("TEST.SIM", 0, 100, 1, 0, 1, 1), quotes[0]])
    assert error.value.code == "BAD_INPUT"


def test_an_instrument_id_column_must_name_the_instrument(tmp_path: Path) -> None:
    catalog = DataCatalog(tmp_path)
    data = {**trades([1, 2, 3]), "instrument_id": ["TEST.SIM", "TEST.SIM", "OTHER.SIM"]}
    with pytest.raises(InvalidData) as error:
        catalog.write(SIM, "trades", data)
    assert error.value.code == "INSTRUMENT_MISMATCH"
    assert "row 2 belongs to 'OTHER.SIM'" in error.value.message
    assert catalog.list_datasets() == []
    data["instrument_id"] = ["TEST.SIM"] * 3
    assert catalog.write(SIM, "trades", pa.table(data)).rows == 3


def test_out_of_order_input_names_the_row_and_changes_nothing(tmp_path: Path) -> None:
    catalog = DataCatalog(tmp_path)
    catalog.write(SIM, "trades", trades([1, 2, 3]))
    before = snapshot(tmp_path)
    with pytest.raises(InvalidData) as error:
        catalog.write(SIM, "trades", trades([5, 6, 4, 7]), source="feed.csv")
    assert error.value.code == "OUT_OF_ORDER"
    assert "feed.csv row 2" in error.value.message
    assert "ts_event 4 is earlier than 6" in error.value.message
    assert snapshot(tmp_path) == before


def test_sort_on_request_is_stable(tmp_path: Path) -> None:
    catalog = DataCatalog(tmp_path)
    data = trades([30, 10, 20, 10, 30], ids=["a", "b", "c", "d", "e"])
    catalog.write(SIM, "trades", data, sort=True)
    table = catalog.read("TEST.SIM", "trades")
    assert table["ts_event"].to_pylist() == [10, 10, 20, 30, 30]
    assert table["trade_id"].to_pylist() == ["b", "d", "c", "a", "e"]


def test_append_adds_parts_and_an_overlap_is_refused_or_merged(tmp_path: Path) -> None:
    catalog = DataCatalog(tmp_path)
    catalog.write(SIM, "trades", trades([1, 2, 3], ids=["a", "b", "c"]))
    info = catalog.write(SIM, "trades", trades([3, 4], ids=["d", "e"]))
    assert (info.rows, len(info.files), info.first_ts, info.last_ts) == (5, 2, 1, 4)
    before = snapshot(tmp_path)
    with pytest.raises(InvalidData) as error:
        catalog.write(SIM, "trades", trades([2, 9], ids=["f", "g"]))
    assert error.value.code == "OUT_OF_ORDER"
    assert "part-000001.parquet" in error.value.message
    assert "row 0" in error.value.message
    assert snapshot(tmp_path) == before
    merged = catalog.write(SIM, "trades", trades([2, 9], ids=["f", "g"]), sort=True)
    assert merged.rows == 7
    table = catalog.read("TEST.SIM", "trades")
    assert table["trade_id"].to_pylist() == ["a", "b", "f", "c", "d", "e", "g"]


def test_replace_swaps_the_dataset(tmp_path: Path) -> None:
    catalog = DataCatalog(tmp_path)
    catalog.write(SIM, "trades", trades([1, 2, 3]))
    catalog.write(SIM, "trades", trades([7, 8]))
    info = catalog.write(SIM, "trades", trades([0, 5]), mode="replace")
    assert (info.rows, len(info.files)) == (2, 1)
    assert catalog.read("TEST.SIM", "trades")["ts_event"].to_pylist() == [0, 5]
    assert not [p for p in tmp_path.rglob(".*")]  # no staging leftovers


@pytest.mark.parametrize(
    ("data_type", "columns", "code", "fragment"),
    [
        ("trades", {"ts_event": [1, 2], "price": [100, -1], "size": [1, 1]}, "NON_POSITIVE_PRICE",
         "row 1"),
        ("trades", {"ts_event": [1, 2], "price": [100, 100], "size": [1, 0]}, "NON_POSITIVE_SIZE",
         "row 1"),
        ("trades", {"ts_event": [1], "price": [100], "size": [1], "aggressor_side": [2]},
         "BAD_SIDE", "row 0"),
        ("trades", {"ts_event": [1], "price": [100.5], "size": [1]}, "BAD_COLUMN", "integers"),
        ("trades", {"ts_event": [1], "price": [100], "size": [1], "venue": ["X"]},
         "UNEXPECTED_COLUMN", "venue"),
        ("trades", {"ts_event": [1], "size": [1]}, "MISSING_COLUMN", "'price'"),
        ("trades", {"ts_event": [1, 2], "price": [100, None], "size": [1, 1]}, "NULL_VALUE",
         "row 1"),
        ("trades", {"ts_event": [1, 2], "price": [100], "size": [1, 1]}, "LENGTH_MISMATCH",
         "differ"),
        ("quotes", {"ts_event": [1], "bid_price": [0], "bid_size": [1], "ask_price": [5],
                    "ask_size": [1]}, "NON_POSITIVE_PRICE", "bid_price"),
        ("quotes", {"ts_event": [1], "bid_price": [4], "bid_size": [-1], "ask_price": [5],
                    "ask_size": [1]}, "NEGATIVE_SIZE", "bid_size"),
        ("l2_deltas", {"ts_event": [1], "side": [2], "price": [5], "quantity": [1]}, "BAD_SIDE",
         "row 0"),
        ("l2_deltas", {"ts_event": [1], "side": [0], "price": [5], "quantity": [1], "flags": [4]},
         "BAD_FLAGS", "row 0"),
        ("l2_deltas", {"ts_event": [1], "side": [-1], "price": [5], "quantity": [1]},
         "BAD_COLUMN", "uint8"),
        ("l3_messages", {"ts_event": [1, 2], "action": [0, 9], "order_id": [1, 1], "side": [0, 0],
                         "price": [5, 5], "quantity": [1, 1]}, "BAD_ACTION", "row 1"),
        ("l3_messages", {"ts_event": [1], "action": [0], "order_id": [1], "side": [0],
                         "price": [0], "quantity": [1]}, "NON_POSITIVE_PRICE", "row 0"),
    ],
)  # fmt: skip
def test_bad_values_are_rejected_with_the_row_and_nothing_is_written(
    tmp_path: Path, data_type: str, columns: dict[str, list[object]], code: str, fragment: str
) -> None:
    catalog = DataCatalog(tmp_path)
    catalog.write(SIM, "bars", _bars([1]), bar_type="1-DAY")
    before = snapshot(tmp_path)
    with pytest.raises(InvalidData) as error:
        catalog.write(SIM, data_type, columns)
    assert error.value.code == code
    assert fragment in error.value.message
    assert snapshot(tmp_path) == before


def _bars(ts: list[int]) -> np.ndarray:
    bars = np.zeros(len(ts), dtype=BAR_DTYPE)
    bars["ts_event"] = ts
    bars["ts_init"] = ts
    for name, value in (("open", 100), ("high", 105), ("low", 95), ("close", 101)):
        bars[name] = value
    return bars


def test_bad_ohlc_is_rejected(tmp_path: Path) -> None:
    bars = _bars([1, 2])
    bars["high"][1] = 100  # below the close of 101
    with pytest.raises(InvalidData) as error:
        DataCatalog(tmp_path).write(SIM, "bars", bars, bar_type="1-DAY")
    assert (error.value.code, "row 1" in error.value.message) == ("BAD_OHLC", True)


def test_the_earliest_bad_row_is_named_whatever_the_check(tmp_path: Path) -> None:
    bars = _bars([1, 2, 3])
    bars["volume"][2] = -1
    bars["low"][1] = 102  # above the open: inconsistent
    with pytest.raises(InvalidData) as error:
        DataCatalog(tmp_path).write(SIM, "bars", bars, bar_type="1-DAY")
    assert error.value.code == "BAD_OHLC"
    assert "row 1" in error.value.message


def test_a_different_spec_for_a_stored_instrument_is_refused(tmp_path: Path) -> None:
    catalog = DataCatalog(tmp_path)
    catalog.write(SIM, "trades", trades([1, 2]))
    before = snapshot(tmp_path)
    coarser = Instrument("TEST.SIM", "0.05", 2, "1", 0)
    with pytest.raises(InvalidValue) as error:
        catalog.write(coarser, "quotes", {"ts_event": [1], "bid_price": [1], "bid_size": [1],
                                          "ask_price": [2], "ask_size": [1]})  # fmt: skip
    assert error.value.code == "INSTRUMENT_MISMATCH"
    assert snapshot(tmp_path) == before
    # Replacing the only dataset of the instrument may change its spec.
    catalog.write(coarser, "trades", trades([1]), mode="replace")
    assert catalog.instrument("TEST.SIM") == coarser


def test_listing_reports_rows_and_spans_in_a_canonical_order(tmp_path: Path) -> None:
    catalog = DataCatalog(tmp_path)
    catalog.write(OTHER, "trades", trades([5, 6, 7]))
    catalog.write(SIM, "bars", _bars([100, 200]), bar_type="1-DAY")
    catalog.write(SIM, "bars", _bars([10, 20, 30]), bar_type="1-MINUTE")
    catalog.write(SIM, "trades", trades([1, 9]))
    catalog.write(SIM, "l2_deltas", l2_deltas_from_l3(synthetic_l3_messages(50)))
    listing = [(str(i.key), i.rows, i.first_ts, i.last_ts) for i in catalog.list_datasets()]
    first_l2 = int(synthetic_l3_messages(50)["ts_event"][0])
    assert listing[0][0] == "TEST.SIM l2_deltas"
    assert listing[0][2] == first_l2
    assert listing[1:] == [
        ("OTHER.SIM trades", 3, 5, 7),
        ("TEST.SIM trades", 2, 1, 9),
        ("TEST.SIM bars 1-MINUTE", 3, 10, 30),
        ("TEST.SIM bars 1-DAY", 2, 100, 200),
    ]
    assert [str(i.key) for i in catalog.list_datasets(data_type="trades")] == [
        "OTHER.SIM trades",
        "TEST.SIM trades",
    ]
    assert [i.rows for i in catalog.list_datasets(instrument_id="OTHER.SIM")] == [3]
    assert [i.instrument_id for i in catalog.instruments()] == ["OTHER.SIM", "TEST.SIM"]


def test_range_reads_return_exactly_the_range_and_skip_other_row_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = DataCatalog(tmp_path, row_group_size=100)
    ts = np.arange(0, 5_000, 5, dtype=np.int64)  # 1,000 rows in 10 row groups
    catalog.write(SIM, "trades", trades(ts.tolist()))
    read_groups: list[int] = []
    original = pq.ParquetFile.read_row_group

    def spy(self: pq.ParquetFile, index: int, *args: object, **kwargs: object) -> pa.Table:
        read_groups.append(index)
        return original(self, index, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read_row_group", spy)
    table = catalog.read("TEST.SIM", "trades", start=1_003, end=1_500)
    assert table["ts_event"].to_pylist() == [t for t in ts.tolist() if 1_003 <= t < 1_500]
    assert read_groups == [2]  # rows 200..299 hold ts 1,000..1,495
    assert catalog.read("TEST.SIM", "trades", start=10_000).num_rows == 0
    assert catalog.read("TEST.SIM", "trades", end=0).num_rows == 0
    subset = catalog.read("TEST.SIM", "trades", end=12, columns=["price"])
    assert subset.column_names == ["price"]
    assert subset.num_rows == 3


def test_range_bounds_accept_dates_and_iso_text(tmp_path: Path) -> None:
    catalog = DataCatalog(tmp_path)
    import_bundled(catalog, ["sp500_index_daily_ohlcv"])
    table = catalog.read("SPX.SIM", "bars", bar_type="1-DAY", start="2018-12-28", end="2019-01-02")
    # Bars labelled 12/27, 12/28 and 12/31 close on the next midnight, inside [start, end).
    assert table["ts_event"].to_pylist() == [
        1545955200 * 10**9,
        1546041600 * 10**9,
        1546300800 * 10**9,
    ]
    assert instrument_of(table).ticks_to_str(table["close"][-1].as_py()) == "2506.850098"
    aware = catalog.read(
        "SPX.SIM", "bars", bar_type="1-DAY",
        start=dt.datetime(2018, 12, 28, tzinfo=dt.UTC), end=dt.date(2019, 1, 2),
    )  # fmt: skip
    assert aware.equals(table)
    with pytest.raises(InvalidValue) as error:
        catalog.read("SPX.SIM", "bars", bar_type="1-DAY", start=dt.datetime(2018, 12, 28))
    assert error.value.code == "NAIVE_DATETIME"


def test_unknown_instruments_and_datasets_are_named(tmp_path: Path) -> None:
    catalog = DataCatalog(tmp_path)
    catalog.write(SIM, "trades", trades([1]))
    with pytest.raises(InvalidValue) as error:
        catalog.read("NOPE.SIM", "trades")
    assert error.value.code == "UNKNOWN_INSTRUMENT"
    assert "TEST.SIM" in error.value.message
    with pytest.raises(InvalidValue) as error:
        catalog.read("TEST.SIM", "quotes")
    assert error.value.code == "UNKNOWN_DATASET"
    assert "TEST.SIM trades" in error.value.message
    for call, code in [
        (lambda: catalog.read("TEST.SIM", "ticks"), "UNKNOWN_DATA_TYPE"),
        (lambda: catalog.read("TEST.SIM", "bars"), "MISSING_BAR_TYPE"),
        (lambda: catalog.read("TEST.SIM", "trades", bar_type="1-DAY"), "UNEXPECTED_BAR_TYPE"),
        (lambda: catalog.read("TEST.SIM", "bars", bar_type="1-day"), "BAD_BAR_TYPE"),
        (lambda: catalog.read("TEST.SIM", "trades", columns=["px"]), "UNKNOWN_COLUMN"),
        (lambda: catalog.read("", "trades"), "BAD_INSTRUMENT_ID"),
        (lambda: catalog.write(SIM, "trades", trades([5]), mode="upsert"), "BAD_OPTION"),
        (lambda: catalog.write("TEST.SIM", "trades", trades([5])), "BAD_INSTRUMENT"),
        (lambda: list(catalog.stream(batch_rows=0)), "BAD_OPTION"),
        (lambda: catalog.delete("TEST.SIM", "quotes"), "UNKNOWN_DATASET"),
    ]:
        with pytest.raises(InvalidValue) as error:
            call()  # type: ignore[no-untyped-call]
        assert error.value.code == code
    with pytest.raises(InvalidValue) as error:
        DataCatalog(tmp_path / "trades" / "TEST.SIM" / "part-000000.parquet")
    assert error.value.code == "NOT_A_DIRECTORY"


def test_instrument_ids_with_unsafe_characters_are_stored(tmp_path: Path) -> None:
    catalog = DataCatalog(tmp_path)
    pair = Instrument("EUR/USD.SIM", "0.00001", 5, "1000", 0)
    catalog.write(pair, "trades", trades([1, 2]))
    assert [str(i.key) for i in catalog.list_datasets()] == ["EUR/USD.SIM trades"]
    assert catalog.read("EUR/USD.SIM", "trades").num_rows == 2
    catalog.delete("EUR/USD.SIM", "trades")
    assert catalog.list_datasets() == []


def merged_reference(catalog: DataCatalog, keys: list[DatasetKey]) -> list[tuple[int, int, int]]:
    """(ts_event, dataset index, row) sorted the documented way, by Python's sort."""
    rows = []
    for index, key in enumerate(keys):
        ts = catalog.read(key.instrument_id, key.data_type, bar_type=key.bar_type)["ts_event"]
        rows += [(t, index, row) for row, t in enumerate(ts.to_pylist())]
    return sorted(rows)


def flatten(chunks: list, keys: list[DatasetKey]) -> list[tuple[int, int, int]]:
    """The merged rows as (ts, dataset index, row within the dataset)."""
    seen = [0] * len(keys)
    out = []
    for chunk in chunks:
        offsets = list(seen)
        for ts, source, row in zip(
            chunk.ts_event.tolist(), chunk.source.tolist(), chunk.row.tolist(), strict=True
        ):
            out.append((ts, source, offsets[source] + row))
        for index, table in enumerate(chunk.tables):
            seen[index] += table.num_rows
    return out


def test_stream_merges_instruments_and_types_in_timestamp_order_with_bounded_chunks(
    tmp_path: Path,
) -> None:
    catalog = DataCatalog(tmp_path, row_group_size=1_000)
    import_bundled(catalog, ["eurusd_1h_ask_ohlcv", "msft_daily_ohlcv"])
    import_bundled(catalog, ["sp500_20_stocks_daily_adjclose"])
    messages = synthetic_l3_messages(3_000, seed=5, start_ts=1_483_400_000 * 10**9)
    catalog.write(SIM, "l3_messages", messages)
    keys = [
        DatasetKey("EURUSD.SIM", "bars", "1-HOUR"),
        DatasetKey("MSFT.XNAS", "bars", "1-DAY"),
        DatasetKey("MSFT.SIM", "bars", "1-DAY"),
        DatasetKey("TEST.SIM", "l3_messages"),
    ]
    chunks = list(catalog.stream(keys, batch_rows=256))
    assert flatten(chunks, keys) == merged_reference(catalog, keys)
    # MSFT.XNAS and MSFT.SIM share every date: ties follow the order the datasets were given.
    assert max(len(chunk) for chunk in chunks) <= 2 * 256 * len(keys)
    reversed_keys = keys[::-1]
    flipped = flatten(list(catalog.stream(reversed_keys, batch_rows=100)), reversed_keys)
    assert flipped == merged_reference(catalog, reversed_keys)
    # runs() covers every row once, in merged order, as slices of one dataset each, and
    # run_bounds() describes the same runs as columns.
    for chunk in chunks[:5]:
        runs = list(chunk.runs())
        ts = [t for _, table in runs for t in table["ts_event"].to_pylist()]
        assert ts == chunk.ts_event.tolist()
        sources, firsts, counts = chunk.run_bounds()
        assert [keys[i] for i in sources.tolist()] == [key for key, _ in runs]
        assert counts.tolist() == [table.num_rows for _, table in runs]
        assert all(np.diff(sources) != 0)
        consumed = [0] * len(keys)  # each dataset's runs continue where its last one stopped
        for index, first, count in zip(
            sources.tolist(), firsts.tolist(), counts.tolist(), strict=True
        ):
            assert first == consumed[index]
            consumed[index] += count
        assert consumed == [table.num_rows for table in chunk.tables]


def test_stream_honours_the_range_and_long_runs_of_one_timestamp(tmp_path: Path) -> None:
    catalog = DataCatalog(tmp_path, row_group_size=64)
    catalog.write(SIM, "trades", trades([5] * 300 + [6] * 10 + [9]))
    catalog.write(OTHER, "trades", trades([5, 6, 6, 7, 8]))
    keys = [DatasetKey("OTHER.SIM", "trades"), DatasetKey("TEST.SIM", "trades")]
    merged = flatten(list(catalog.stream(keys, batch_rows=16)), keys)
    assert merged == merged_reference(catalog, keys)
    ranged = list(catalog.events(keys, start=6, end=9, batch_rows=16))
    assert [(key.instrument_id, event.ts_event) for key, event in ranged] == (
        [("OTHER.SIM", 6), ("OTHER.SIM", 6)]
        + [("TEST.SIM", 6)] * 10
        + [("OTHER.SIM", 7), ("OTHER.SIM", 8)]
    )


def test_stream_without_a_list_merges_everything_book_data_first(tmp_path: Path) -> None:
    catalog = DataCatalog(tmp_path)
    catalog.write(SIM, "trades", trades([5, 7]))
    catalog.write(SIM, "bars", _bars([5]), bar_type="1-SECOND")
    deltas = l2_deltas_from_l3(synthetic_l3_messages(10, start_ts=5, mean_interval_ns=0.0))
    catalog.write(SIM, "l2_deltas", deltas)
    kinds = [(key.data_type, int(np.asarray(event["ts_event"] if key.data_type == "l2_deltas"
                                            else event.ts_event)))
             for key, event in catalog.events()]  # fmt: skip
    assert kinds == [("l2_deltas", 5)] * len(deltas) + [("trades", 5), ("bars", 5), ("trades", 7)]
    assert all(isinstance(e, np.void) for k, e in catalog.events() if k.data_type == "l2_deltas")


def test_stream_rejects_duplicates_and_unknown_datasets(tmp_path: Path) -> None:
    catalog = DataCatalog(tmp_path)
    catalog.write(SIM, "trades", trades([1]))
    with pytest.raises(InvalidValue) as error:
        list(catalog.stream([("TEST.SIM", "trades"), DatasetKey("TEST.SIM", "trades")]))
    assert error.value.code == "DUPLICATE_DATASET"
    with pytest.raises(InvalidValue) as error:
        list(catalog.stream([("TEST.SIM", "quotes")]))
    assert error.value.code == "UNKNOWN_DATASET"
    with pytest.raises(InvalidValue) as error:
        list(catalog.stream(["TEST.SIM"]))  # type: ignore[list-item]
    assert error.value.code == "BAD_DATASET"
