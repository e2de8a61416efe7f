"""``hftcore agents table``: every agent and ensemble on the bundled real data, after costs."""

from __future__ import annotations

import numpy as np
import pytest
from hftcore.cli import main
from hftcore.data.loaders import load_bundled
from hftcore.risk import performance as perf


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def table_rows(output: str) -> dict[str, list[str]]:
    return {cells(line)[0]: cells(line) for line in output.strip().splitlines()[2:]}


def test_table_over_a_window_has_every_agent_after_costs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    arguments = ["agents", "table", "--start", "2013-01-01", "--end", "2019-01-01"]
    assert main([*arguments, "--commission-bps", "5"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    rows = {cells(line)[0]: cells(line) for line in lines[2:]}
    assert cells(lines[0])[2:] == [
        "total return", "annual return", "Sharpe", "max drawdown", "turnover/yr", "fills"
    ]  # fmt: skip
    assert set(rows) == {
        "buy and hold (no costs)",
        "time-series momentum",
        "mean reversion",
        "Donchian breakout",
        "ensemble: weighted, EW Sharpe",
        "ensemble: majority vote",
        "ensemble: consensus >= 0.6, mult. weights",
        "regime meta-agent",
        "MOM + MR, risk-parity budgets",
        "cross-sectional momentum",
    }
    # The reference row is the index itself over the window (bar closes in [start, end)).
    table = load_bundled("sp500_index_daily_ohlcv")
    ts = table.column("ts").to_numpy() + 86_400 * 10**9  # a daily bar closes at midnight after
    closes = table.column("close").to_numpy()
    start, end = np.datetime64("2013-01-01", "ns"), np.datetime64("2019-01-01", "ns")
    window = closes[(ts >= start.astype(np.int64)) & (ts < end.astype(np.int64))]
    expected = perf.total_return(perf.returns_from_equity(window))
    assert rows["buy and hold (no costs)"][2] == f"{expected:.1%}"
    for name, row in rows.items():
        fills = int(row[7])
        if name != "buy and hold (no costs)":
            assert fills > 0, name
            assert float(row[6]) > 0, name  # traded: turnover after costs is reported
        assert -1.0 < float(row[5].rstrip("%")) / 100 <= 0.0  # drawdown


def test_costs_lower_every_agents_return(capsys: pytest.CaptureFixture[str]) -> None:
    arguments = ["agents", "table", "--start", "2013-01-01", "--end", "2019-01-01"]
    assert main([*arguments, "--commission-bps", "0"]) == 0
    free = table_rows(capsys.readouterr().out)
    assert main([*arguments, "--commission-bps", "20"]) == 0
    costly = table_rows(capsys.readouterr().out)
    for name in ("time-series momentum", "mean reversion", "cross-sectional momentum"):
        assert float(costly[name][2].rstrip("%")) < float(free[name][2].rstrip("%")), name


def test_bad_table_arguments_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agents", "table", "--start", "yesterday"]) == 2
    assert "INVALID_DATE" in capsys.readouterr().err
    assert main(["agents", "table", "--start", "2018-06-01"]) == 2
    assert "TOO_FEW_BARS" in capsys.readouterr().err
    assert main(["agents", "table", "--commission-bps", "-1"]) == 2
    assert "INVALID_COST" in capsys.readouterr().err
