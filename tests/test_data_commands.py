"""The ``data import`` / ``data list`` command handlers."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from hftcore.data import DataCatalog, bundled_path
from hftcore.data.commands import (
    add_import_arguments,
    add_list_arguments,
    import_command,
    list_command,
)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="hftcore data")
    commands = root.add_subparsers(dest="command", required=True)
    add_import_arguments(commands.add_parser("import"))
    add_list_arguments(commands.add_parser("list"))
    return root


def run(argv: list[str]) -> tuple[int, str, str]:
    args = parser().parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    handler = import_command if args.command == "import" else list_command
    return handler(args, out, err), out.getvalue(), err.getvalue()


def test_import_then_list_a_bundled_file(tmp_path: Path) -> None:
    root = str(tmp_path / "catalog")
    status, out, err = run(
        ["import", str(bundled_path("sp500_index_daily_ohlcv")), "--catalog", root,
         "--instrument", "SPX.SIM", "--data-type", "bars", "--tick-size", "0.000001",
         "--bar-type", "1-DAY", "--bar-timestamp", "open", "--timestamp-format", "%m/%d/%Y"]
    )  # fmt: skip
    assert (status, err) == (0, "")
    assert out == (
        "SPX.SIM bars 1-DAY: 5,031 rows, 1999-01-05T00:00:00.000000000Z .. "
        "2019-01-01T00:00:00.000000000Z\n"
    )
    assert DataCatalog(root).instrument("SPX.SIM").tick_size == "0.000001"
    status, out, _ = run(["list", "--catalog", root])
    assert status == 0
    header, line = out.splitlines()
    assert header.split() == ["instrument", "data", "type", "rows", "first", "last"]
    assert line.split() == [
        "SPX.SIM", "bars", "1-DAY", "5,031", "1999-01-05T00:00:00.000000000Z",
        "2019-01-01T00:00:00.000000000Z",
    ]  # fmt: skip


def test_a_known_instrument_needs_no_spec_and_a_bad_file_reports_its_line(tmp_path: Path) -> None:
    root = str(tmp_path / "catalog")
    first = tmp_path / "a.csv"
    first.write_text("Date,Last,Qty\n2024-01-02,10.00,1\n")
    status, _, err = run(
        ["import", str(first), "--catalog", root, "--instrument", "X.SIM", "--data-type",
         "trades", "--column", "price=Last"]
    )  # fmt: skip
    assert status == 2
    assert "UNKNOWN_INSTRUMENT" in err
    assert "--tick-size" in err
    assert run(
        ["import", str(first), "--catalog", root, "--instrument", "X.SIM", "--data-type",
         "trades", "--column", "price=Last", "--tick-size", "0.01"]
    )[0] == 0  # fmt: skip
    second = tmp_path / "b.csv"
    second.write_text("Date,Last,Qty\n2024-01-03,10.00,1\n2024-01-04,10.005,1\n")
    status, out, err = run(
        ["import", str(second), "--catalog", root, "--instrument", "X.SIM", "--data-type",
         "trades", "--column", "price=Last"]
    )  # fmt: skip
    assert (status, out) == (2, "")
    assert err.startswith("error: OFF_GRID: ")
    assert f"{second} line 3" in err
    status, _, err = run(
        ["import", str(second), "--catalog", root, "--instrument", "X.SIM", "--data-type",
         "trades", "--column", "price"]
    )  # fmt: skip
    assert (status, "--column takes FIELD=HEADER" in err) == (2, True)
    status, out, _ = run(["list", "--catalog", root, "--data-type", "trades"])
    assert status == 0
    assert "X.SIM" in out.splitlines()[1]
    assert run(["list", "--catalog", root, "--data-type", "ticks"])[0] == 2
