"""The kill switch of a running paper node (a real subprocess, its own event store): from the
CLI (``hftcore kill`` / ``hftcore reset`` through the control directory) and from SIGUSR1.
After the kill no order leaves; a reset with the wrong token changes nothing; the right one
lets orders flow again. Read from the store, independently of the node."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest
from hftcore.cli import main

STRATEGY = Path(__file__).with_name("paper_strategy.py")
GENEROUS_S = 90.0
SECRET = "reset-me-please"


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "paper.toml"
    config.write_text(
        f"""
[node]
mode = "paper"
data_dir = "{tmp_path / "data"}"

[[instruments]]
instrument_id = "MSFT.XNAS"
tick_size = "0.00001"
price_precision = 5
lot_size = "1"
size_precision = 0

[[strategies]]
strategy_id = "PC"
path = "{STRATEGY}:PlaceAndCancel"
params = {{ instrument_id = "MSFT.XNAS", interval_ms = 20 }}
""",
        encoding="utf-8",
    )
    return config


def _rows(path: Path) -> list[tuple[int, str, bytes]]:
    if not path.exists():
        return []
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return connection.execute(
                "SELECT seq, kind, payload FROM events ORDER BY seq"
            ).fetchall()
        finally:
            connection.close()
    except sqlite3.Error:
        return []


def _wait(condition: Callable[[], bool], what: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + GENEROUS_S
    while not condition():
        assert process.poll() is None, f"the node exited while waiting for {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _seqs(path: Path, kind: str) -> list[int]:
    return [seq for seq, row_kind, _ in _rows(path) if row_kind == kind]


def _payloads(path: Path, kind: str) -> list[dict[str, object]]:
    return [msgspec.json.decode(p) for _, k, p in _rows(path) if k == kind]


def _start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = os.environ.copy()
    env["HFTCORE_RISK_RESET_TOKEN"] = SECRET
    command = [
        sys.executable, "-m", "hftcore.cli", "paper", "--config", str(config),
        "--data", "bundled:msft_daily_ohlcv", "--speed", "864000",
    ]  # fmt: skip
    with log.open("wb") as output:
        return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)


def _stop(process: subprocess.Popen[bytes], log: Path) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=GENEROUS_S) == 0, log.read_text()
    assert "Traceback" not in log.read_text(), log.read_text()


def _after(path: Path, kind: str, seq: int) -> int:
    return sum(1 for s in _seqs(path, kind) if s > seq)


def test_cli_kill_blocks_every_order_and_only_the_right_token_resets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    store = tmp_path / "data" / "events.sqlite"
    log = tmp_path / "node.log"
    process = _start(config, log)
    try:
        _wait(lambda: len(_seqs(store, "OrderSubmitted")) >= 5, "orders", process)
        assert main(["kill", "--config", str(config), "--reason", "desk says stop"]) == 0
        _wait(lambda: bool(_seqs(store, "RiskTripped")), "the kill", process)
        [killed_at] = _seqs(store, "RiskTripped")
        [trip] = _payloads(store, "RiskTripped")
        assert trip["trigger"] == "KILL_SWITCH"
        assert trip["source"] == "cli"
        assert trip["reason"] == "desk says stop"
        assert trip["values"]["still_open"] == "0"
        # the strategy keeps trying; the gate denies every attempt, nothing is submitted
        _wait(lambda: _after(store, "OrderDenied", killed_at) >= 5, "denied orders", process)
        assert _after(store, "OrderSubmitted", killed_at) == 0

        monkeypatch.setenv("HFTCORE_RISK_RESET_TOKEN", "guess")
        assert main(["reset", "--config", str(config)]) == 0
        _wait(lambda: bool(_seqs(store, "RiskReset")), "the refused reset", process)
        assert [r["authorised"] for r in _payloads(store, "RiskReset")] == [False]
        denied_before = _after(store, "OrderDenied", killed_at)
        _wait(lambda: _after(store, "OrderDenied", killed_at) > denied_before + 3, "more", process)
        assert _after(store, "OrderSubmitted", killed_at) == 0

        monkeypatch.setenv("HFTCORE_RISK_RESET_TOKEN", SECRET)
        assert main(["reset", "--config", str(config), "--reason", "all clear"]) == 0
        _wait(lambda: len(_seqs(store, "RiskReset")) == 2, "the reset", process)
        assert [r["authorised"] for r in _payloads(store, "RiskReset")] == [False, True]
        reset_at = _seqs(store, "RiskReset")[-1]
        _wait(lambda: _after(store, "OrderSubmitted", reset_at) >= 3, "orders again", process)
    finally:
        _stop(process, log)
    assert "kill request written" in capsys.readouterr().out


def test_sigusr1_engages_the_kill_switch(tmp_path: Path) -> None:
    config = _config(tmp_path)
    store = tmp_path / "data" / "events.sqlite"
    log = tmp_path / "node.log"
    process = _start(config, log)
    try:
        _wait(lambda: len(_seqs(store, "OrderSubmitted")) >= 3, "orders", process)
        process.send_signal(signal.SIGUSR1)
        _wait(lambda: bool(_seqs(store, "RiskTripped")), "the kill", process)
        [killed_at] = _seqs(store, "RiskTripped")
        assert _payloads(store, "RiskTripped")[0]["source"] == "signal"
        _wait(lambda: _after(store, "OrderDenied", killed_at) >= 3, "denied orders", process)
        assert _after(store, "OrderSubmitted", killed_at) == 0
    finally:
        _stop(process, log)


def test_reset_without_a_token_in_the_environment_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HFTCORE_RISK_RESET_TOKEN", raising=False)
    assert main(["reset", "--config", str(_config(tmp_path))]) == 2
    assert "HFTCORE_RISK_RESET_TOKEN" in capsys.readouterr().err
    assert not (tmp_path / "data" / "control").exists()
