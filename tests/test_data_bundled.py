"""The real market data shipped inside the package."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
from decimal import Decimal
from pathlib import Path

import hftcore
import pytest
from hftcore.data import (
    BUNDLED,
    DataCatalog,
    bundled_bars,
    bundled_instrument,
    bundled_path,
    import_bundled,
    load_bundled,
)
from hftcore.errors import InvalidValue

README = Path(hftcore.__file__).parent / "data" / "bundled" / "README.md"


def raw_rows(name: str) -> list[list[str]]:
    with gzip.open(bundled_path(name), "rt") as handle:
        return [line.strip().split(",") for line in handle.read().splitlines()[1:]]


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_every_bundled_file_ships_in_the_package_with_its_provenance(name: str) -> None:
    path = bundled_path(name)
    assert path.is_file()
    assert path.parent == README.parent
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    rows = len(raw_rows(name))
    line = next(line for line in README.read_text().splitlines() if f"| {path.name} |" in line)
    assert f"| {rows:,} |" in line
    assert f"`{digest[:16]}`" in line


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("sp500_20_stocks_daily_adjclose", "%Y-%m-%d"),
        ("sp500_index_daily_ohlcv", "%m/%d/%Y"),
        ("msft_daily_ohlcv", "%Y-%m-%d"),
        ("eurusd_1h_ask_ohlcv", "%d.%m.%Y %H:%M:%S.%f"),
        ("fama_french_3_monthly", "%Y%m"),
        ("vix_daily", "%m/%d/%Y"),
    ],
)
def test_load_bundled_parses_labels_to_ns_utc_and_keeps_values(name: str, fmt: str) -> None:
    table = load_bundled(name)
    rows = raw_rows(name)
    assert table.num_rows == len(rows)
    expected = [
        int(dt.datetime.strptime(r[0], fmt).replace(tzinfo=dt.UTC).timestamp() * 10**6) * 1_000
        for r in rows
    ]
    assert table["ts"].to_pylist() == expected
    last_column = table.column_names[-1]
    values = table[last_column].to_pylist()
    assert values == [None if r[-1] == "." else float(r[-1]) for r in rows]


def test_load_bundled_names_ohlcv_columns_in_snake_case() -> None:
    assert load_bundled("sp500_index_daily_ohlcv").column_names == [
        "ts", "open", "high", "low", "close", "adj_close", "volume",
    ]  # fmt: skip
    assert load_bundled("sp500_20_stocks_daily_adjclose").column_names[:3] == ["ts", "AAPL", "AMD"]
    assert load_bundled("vix_daily")["vix"].null_count == 46


def test_close_only_series_become_flat_bars_at_the_next_midnight() -> None:
    bars = bundled_bars("sp500_20_stocks_daily_adjclose", "AAPL.SIM")
    rows = raw_rows("sp500_20_stocks_daily_adjclose")
    aapl = bundled_instrument("sp500_20_stocks_daily_adjclose", "AAPL.SIM")
    assert [aapl.ticks_to_str(t) for t in bars["close"].to_pylist()[:2]] == ["0.264", "0.266"]
    assert bars["close"].to_pylist() == [int(Decimal(r[1]) * 1000) for r in rows]
    assert bars["open"].equals(bars["close"])
    assert bars["high"].equals(bars["low"])
    assert set(bars["volume"].to_pylist()) == {0}
    first_label = int(dt.datetime(1990, 1, 2, tzinfo=dt.UTC).timestamp()) * 10**9
    assert bars["ts_event"][0].as_py() == first_label + 86_400 * 10**9


def test_import_bundled_writes_every_tradable_series_and_can_run_twice(tmp_path: Path) -> None:
    catalog = DataCatalog(tmp_path)
    written = import_bundled(catalog)
    again = import_bundled(catalog)
    tradable = sum(len(entry.series) for entry in BUNDLED.values())
    assert len(written) == len(again) == tradable == 20 + 1 + 5 + 4
    assert [(i.key, i.rows) for i in again] == [(i.key, i.rows) for i in written]
    assert {i.key.bar_type for i in catalog.list_datasets()} == {"1-DAY", "1-HOUR"}
    assert catalog.info("EURUSD.SIM", "bars", bar_type="1-HOUR").rows == 6225


def test_a_non_tradable_name_stops_the_import_before_anything_is_written(tmp_path: Path) -> None:
    catalog = DataCatalog(tmp_path)
    with pytest.raises(InvalidValue) as error:
        import_bundled(catalog, ["msft_daily_ohlcv", "vix_daily"])
    assert error.value.code == "NOT_TRADABLE"
    assert catalog.list_datasets() == []


def test_bad_bundled_requests_are_named() -> None:
    for call, code in [
        (lambda: load_bundled("sp501"), "UNKNOWN_BUNDLED"),
        (lambda: bundled_bars("sp500_20_stocks_daily_adjclose"), "AMBIGUOUS_SERIES"),
        (lambda: bundled_bars("msft_daily_ohlcv", "AAPL.SIM"), "UNKNOWN_INSTRUMENT"),
        (lambda: bundled_bars("vix_daily"), "NOT_TRADABLE"),
    ]:
        with pytest.raises(InvalidValue) as error:
            call()
        assert error.value.code == code
