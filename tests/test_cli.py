"""The ``hftcore`` command and its demo."""

from __future__ import annotations

from pathlib import Path

import pytest
from hftcore.cli import main
from hftcore.demo import run_demo


def test_demo_replays_the_generated_flow_and_reports_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html = tmp_path / "report.html"
    assert main(["demo", "--events", "20000", "--seed", "3", "--report", str(html)]) == 0
    output = capsys.readouterr().out
    assert "SMA crossover backtest on real MSFT daily bars" in output
    assert "Sharpe" in output
    assert html.read_text().lstrip().lower().startswith("<!doctype html>")
    assert "L3 book bulk replay" in output
    assert "L2 book bulk replay" in output
    report = run_demo(events=20_000, seed=3)
    assert report.counts["L3 messages applied"] >= 20_000
    assert report.counts["L2 deltas applied"] == report.counts["L3 messages applied"]
    assert report.counts["resting orders at the end"] > 0
    # The flow reaches the matching engine through the risk gate: trades happen, and the gate
    # refuses the oversized orders the flow contains.
    assert report.counts["fill events"] > 0
    assert report.counts["volume traded (lots)"] >= report.counts["fill events"] // 2
    assert "risk gate + matching engine" in output
    assert all(rate > 0 for rate in report.stages.values())
    best_bid, best_ask = report.top_levels[0][1], report.top_levels[0][2]
    assert float(best_bid) < float(best_ask)


def test_bad_arguments_name_the_problem(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--events", "0"])
    assert exit_info.value.code == 2
    assert "--events" in capsys.readouterr().err
    with pytest.raises(ValueError, match="events must be positive"):
        run_demo(events=-1)


def test_data_import_and_list_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "bars.csv"
    csv.write_text(
        "date,open,high,low,close,volume\n"
        "2024-01-02,10.00,10.50,9.90,10.20,1000\n"
        "2024-01-03,10.20,10.40,10.00,10.10,1200\n"
    )
    catalog = tmp_path / "catalog"
    common = ["--catalog", str(catalog), "--instrument", "X.SIM", "--data-type", "bars"]
    common += ["--bar-type", "1-DAY", "--tick-size", "0.01", "--bar-timestamp", "close"]
    imported = main(["data", "import", str(csv), *common])
    assert imported == 0, capsys.readouterr().err
    assert "2 rows" in capsys.readouterr().out
    assert main(["data", "list", "--catalog", str(catalog)]) == 0
    listing = capsys.readouterr().out
    assert "X.SIM" in listing
    assert "bars 1-DAY" in listing
    bad = tmp_path / "bad.csv"
    bad.write_text("date,open,high,low,close,volume\n2024-01-02,10.001,10.5,9.9,10.2,1\n")
    status = main(["data", "import", str(bad), *common])
    assert status == 2
    assert "OFF_GRID" in capsys.readouterr().err


CONFIG = """
[node]
starting_balances = {USD = "1000000"}

[[instruments]]
instrument_id = "MSFT.XNAS"
tick_size = "0.00001"
price_precision = 5
lot_size = "1"
size_precision = 0

[[strategies]]
strategy_id = "SMA"
path = "hftcore.strategies.sma_crossover:SmaCrossover"
params = {instrument_ids = ["MSFT.XNAS"], fast = 10, slow = 50}
"""


def test_backtest_command_runs_a_config_over_the_catalog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hftcore.data.loaders import import_bundled

    catalog = tmp_path / "catalog"
    import_bundled(catalog, ["msft_daily_ohlcv"])
    config = tmp_path / "node.toml"
    config.write_text(CONFIG)
    report, result = tmp_path / "report.html", tmp_path / "result.json"
    arguments = ["backtest", "--config", str(config), "--data", str(catalog)]
    arguments += ["--start", "2000-01-01", "--end", "2010-01-01"]
    assert main([*arguments, "--report", str(report), "--json", str(result)]) == 0
    output = capsys.readouterr().out
    assert "Sharpe" in output
    assert "Fills" in output
    assert report.exists()
    from hftcore.reports import BacktestResult

    loaded = BacktestResult.from_json(result.read_bytes())
    assert loaded.fills
    assert all(2000 <= _year(fill.ts) < 2010 for fill in loaded.fills)

    config.write_text(CONFIG.replace("price_precision = 5", 'price_precision = "five"'))
    assert main(arguments) == 2
    assert "price_precision" in capsys.readouterr().err


def _year(ts: int) -> int:
    import datetime

    return datetime.datetime.fromtimestamp(ts / 1e9, tz=datetime.UTC).year
