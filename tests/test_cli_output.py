"""What the ``hftcore`` command prints: ``--help`` on every command, rich summary tables with the
values the results hold, and progress bars only on a terminal and never with ``--quiet``."""

from __future__ import annotations

import argparse
import io
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hftcore import Instrument
from hftcore.cli import build_parser, main
from hftcore.data.catalog import DataCatalog
from hftcore.data.loaders import import_bundled
from hftcore.demo import DEMO_STAGES
from hftcore.reports import BacktestResult
from hftcore.reports.backtest import statistic_text

CONFIG = """
[node]
mode = "{mode}"
data_dir = "{data_dir}"
starting_balances = {{USD = "1000000"}}

[[instruments]]
instrument_id = "MSFT.XNAS"
tick_size = "0.00001"
price_precision = 5
lot_size = "1"
size_precision = 0

[[strategies]]
strategy_id = "SMA"
path = "hftcore.strategies.sma_crossover:SmaCrossover"
params = {{instrument_ids = ["MSFT.XNAS"], fast = 10, slow = 50}}
"""


class Terminal(io.StringIO):
    """Standard output as an interactive terminal."""

    def isatty(self) -> bool:
        return True


def commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from commands(child, (*path, name))


def test_every_command_has_help_naming_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    found = list(commands(build_parser()))
    assert {path for path, _ in found} >= {
        (),
        ("demo",),
        ("backtest",),
        ("paper",),
        ("data",),
        ("data", "import"),
        ("data", "list"),
    }
    for path, parser in found:
        with pytest.raises(SystemExit) as exit_info:
            main([*path, "--help"])
        assert exit_info.value.code == 0, path
        text = capsys.readouterr().out
        assert text.startswith("usage: hftcore"), path
        options = [
            option
            for action in parser._actions
            for option in action.option_strings
            if option.startswith("--")
        ]
        assert "--help" in options
        for option in options:
            assert option in text, (path, option)
    backtest_help = dict(found)[("backtest",)].format_help()
    for option in ("--data-types", "--start", "--end", "--sort", "--quiet", "--param"):
        assert option in backtest_help


@pytest.fixture
def msft_catalog(tmp_path: Path) -> Path:
    catalog = tmp_path / "catalog"
    import_bundled(catalog, ["msft_daily_ohlcv"])
    return catalog


def write_config(tmp_path: Path, mode: str = "backtest") -> Path:
    config = tmp_path / "node.toml"
    config.write_text(CONFIG.format(mode=mode, data_dir=tmp_path / "data"))
    return config


def table_row(output: str, label: str) -> str:
    (line,) = [line for line in output.splitlines() if re.search(rf"│ {re.escape(label)} +│", line)]
    return line


def test_backtest_prints_the_statistics_the_result_holds(
    tmp_path: Path, msft_catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "result.json"
    arguments = ["backtest", "--config", str(write_config(tmp_path)), "--data", str(msft_catalog)]
    arguments += ["--start", "2000-01-01", "--end", "2010-01-01", "--json", str(saved)]
    assert main(arguments) == 0
    output = capsys.readouterr().out
    result = BacktestResult.from_json(saved.read_bytes())
    statistics = result.statistics
    assert statistics.sharpe_ratio is not None
    assert output.splitlines()[0].strip() == "Backtest statistics"  # no progress bar off a tty
    assert "\x1b[" not in output  # nor colour codes
    rows = {
        "Sharpe ratio": statistic_text(statistics.sharpe_ratio, "ratio"),
        "Max drawdown": statistic_text(statistics.max_drawdown, "percent"),
        "Total return": statistic_text(statistics.total_return, "percent"),
        "Fills": f"{len(result.fills):,}",
    }
    for label, value in rows.items():
        line = table_row(output, label)
        assert value in line, (label, value, line)
    assert rows["Max drawdown"].startswith("-")
    # The same run again prints the same table.
    assert main(arguments) == 0
    assert capsys.readouterr().out == output


def test_backtest_strategy_argument_and_params_replace_the_config_strategies(
    tmp_path: Path, msft_catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "result.json"
    arguments = ["backtest", "hftcore.strategies.sma_crossover:SmaCrossover"]
    arguments += ["--param", 'instrument_ids=["MSFT.XNAS"]', "--param", "fast=5"]
    arguments += ["--param", "slow=20", "--config", str(write_config(tmp_path))]
    arguments += ["--data", str(msft_catalog), "--start", "2005-01-01", "--end", "2006-01-01"]
    assert main([*arguments, "--json", str(saved)]) == 0
    capsys.readouterr()
    result = BacktestResult.from_json(saved.read_bytes())
    assert result.orders
    assert {order.strategy_id for order in result.orders} == {"SmaCrossover"}
    assert main([*arguments[:-4], "--param", "fast=oops"]) == 2
    assert "fast" in capsys.readouterr().err


def test_backtest_data_types_and_out_of_order_errors_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "catalog"
    catalog = DataCatalog(root)
    instrument = Instrument("AAA.SIM", "0.01", 2, "1", 0)
    start = 1_262_564_100_000_000_000
    count = 50
    ts = start + 60_000_000_000 * np.arange(count, dtype=np.int64)
    bid = 10_000 + np.arange(count) % 4
    catalog.write(
        instrument,
        "quotes",
        {"ts_event": ts, "bid_price": bid, "bid_size": np.full(count, 5),
         "ask_price": bid + 1, "ask_size": np.full(count, 5)},
    )  # fmt: skip
    config = tmp_path / "node.toml"
    config.write_text(
        "[[instruments]]\n"
        'instrument_id = "AAA.SIM"\ntick_size = "0.01"\nprice_precision = 2\n'
        'lot_size = "1"\nsize_precision = 0\n'
        "[[strategies]]\n"
        'strategy_id = "REC"\n'
        f'path = "{Path(__file__).parent / "fixtures" / "replay_strategy.py"}:ReplayRecorder"\n'
        'params = {quotes = ["AAA.SIM"], market_buy_on_first_quote = {"AAA.SIM" = 2}}\n'
    )
    base = ["backtest", "--config", str(config), "--data", str(root), "--sample-interval", "60"]
    saved = tmp_path / "result.json"
    assert main([*base, "--data-types", "quotes", "--json", str(saved)]) == 0
    output = capsys.readouterr().out
    result = BacktestResult.from_json(saved.read_bytes())
    # A sample a minute over the 50 minutes of quotes; the market buy on the first quote.
    assert len(result.timestamps) in (49, 50, 51)
    assert re.search(rf"│ +{result.statistics.periods} │", table_row(output, "Periods"))
    assert re.search(r"│ +1 │", table_row(output, "Fills"))
    assert result.fills[0].price == 100.01  # the first ask
    assert main([*base, "--data-types", "bars"]) == 2
    assert "NO_DATA" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*base, "--data-types", "ticks"])
    assert "--data-types" in capsys.readouterr().err

    # Another tool rewrites the file with two rows swapped: the error names file and row,
    # and --sort replays the rows in time order instead.
    import pyarrow.parquet as pq

    (part,) = catalog.info("AAA.SIM", "quotes").files
    table = pq.read_table(part)
    pq.write_table(table.take([0, 1, 3, 2, *range(4, count)]), part)
    assert main([*base, "--json", str(saved)]) == 2
    error = capsys.readouterr().err
    assert "OUT_OF_ORDER" in error
    assert f"{part} row 3" in error
    assert main([*base, "--sort", "--json", str(saved)]) == 0
    assert BacktestResult.from_json(saved.read_bytes()).fills[0].price == 100.01


def run_on_terminal(monkeypatch: pytest.MonkeyPatch, arguments: list[str]) -> tuple[int, str]:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    status = main(arguments)
    monkeypatch.setattr(sys, "stdout", sys.__stdout__)
    return status, terminal.getvalue()


def test_progress_bars_show_on_a_terminal_unless_quiet(
    tmp_path: Path, msft_catalog: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backtest = ["backtest", "--config", str(write_config(tmp_path)), "--data", str(msft_catalog)]
    status, shown = run_on_terminal(monkeypatch, backtest)
    assert status == 0
    assert "backtest " in shown.split("Backtest statistics")[0]
    assert "━" in shown.split("Backtest statistics")[0]
    status, quiet = run_on_terminal(monkeypatch, [*backtest, "--quiet"])
    assert status == 0
    assert quiet.split("Backtest statistics")[0].strip() in ("", "\x1b[3m")  # title style only
    assert "━" not in quiet.split("Backtest statistics")[0]

    (tmp_path / "paper_run").mkdir()
    paper_config = write_config(tmp_path / "paper_run", mode="paper")
    paper = ["paper", "--config", str(paper_config), "--data", "bundled:msft_daily_ohlcv"]
    paper += ["--speed", "1e9", "--store", str(tmp_path / "paper_run" / "events.sqlite")]
    status, shown = run_on_terminal(monkeypatch, paper)
    assert status == 0
    before, _, table = shown.partition("Paper session")
    assert "paper replay" in before
    bars = re.search(r"bars replayed\D*([\d,]+)", table)
    assert bars is not None
    replayed = int(bars.group(1).replace(",", ""))
    assert replayed > 7_900  # MSFT 1986-2017, every bar
    assert f"{replayed}/{replayed}" in before

    status, shown = run_on_terminal(
        monkeypatch, ["demo", "--events", "20000", "--report", str(tmp_path / "demo.html")]
    )
    assert status == 0
    before, _, tables = shown.partition("hftcore demo: 20,000")
    assert f"{len(DEMO_STAGES)}/{len(DEMO_STAGES)}" in before
    for stage in DEMO_STAGES:  # the bar names each stage as it runs
        assert f"demo: {stage}" in before
    for stage in ("generate L3 order flow", "risk gate + matching engine"):
        assert stage in tables
    assert "SMA crossover backtest on real MSFT daily bars" in tables
    assert "Sharpe ratio" in tables
