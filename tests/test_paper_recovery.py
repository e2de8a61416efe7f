"""Paper mode survives ``kill -9``: a paper node is killed in the middle of a session and
restarted; nothing acknowledged is lost, no client order id is submitted twice, the recovered
state is the log's state, and the session goes on."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hftcore.errors import HftcoreError
from hftcore.model.events import (
    CancelAllOrders,
    CancelOrder,
    ModifyOrder,
    OrderFilled,
    SubmitOrder,
)
from hftcore.node.config import load_config
from hftcore.node.kernel import TradingNode
from hftcore.node.paper import PaperSession, summarize
from hftcore.store.sqlite import SqliteEventStore

STRATEGY = Path(__file__).with_name("paper_strategy.py")
GENEROUS_S = 90.0


def _write_config(tmp_path: Path) -> Path:
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
params = {{ instrument_id = "MSFT.XNAS", interval_ms = 30 }}
""",
        encoding="utf-8",
    )
    return config


def _paper_command(config: Path, *extra: str) -> list[str]:
    # 864000x: a daily bar every 0.1 s of wall time.
    return [
        sys.executable,
        "-m",
        "hftcore.cli",
        "paper",
        "--config",
        str(config),
        "--data",
        "bundled:msft_daily_ohlcv",
        "--speed",
        "864000",
        *extra,
    ]


def _counts_read_only(path: Path) -> Counter[str]:
    if not path.exists():
        return Counter()
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            rows = connection.execute("SELECT kind, count(*) FROM events GROUP BY kind").fetchall()
        finally:
            connection.close()
    except sqlite3.Error:
        return Counter()  # not created yet
    return Counter({kind: count for kind, count in rows})


def _rows(path: Path) -> list[tuple[int, str, str | None, bytes]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(
            "SELECT seq, kind, client_order_id, payload FROM events ORDER BY seq"
        ).fetchall()
    finally:
        connection.close()


def _rebuilt_summary(config: Path, store_path: Path, up_to_seq: int) -> dict[str, Any]:
    """The state the log implies up to a seq: its order events through a fresh OMS, its fills
    through a fresh portfolio, independently of the node's recovery code."""
    node = TradingNode(load_config(config))
    oms = node.execution.oms
    with SqliteEventStore(store_path) as store:
        for stored in store.events():
            if stored.seq > up_to_seq:
                break
            event = stored.event
            if isinstance(event, SubmitOrder | CancelOrder | ModifyOrder | CancelAllOrders):
                continue
            with contextlib.suppress(HftcoreError):  # refused live too, by the same OMS
                oms.apply(event)
            if isinstance(event, OrderFilled):
                node.portfolio.apply_fill(event)
    summary = summarize(node, up_to_seq)
    return json.loads(summary.to_json())


def _run_until_killed(config: Path, store_path: Path, log: Path) -> None:
    with log.open("wb") as output:
        process = subprocess.Popen(
            _paper_command(config), stdout=output, stderr=subprocess.STDOUT, env=os.environ.copy()
        )
        try:
            deadline = time.monotonic() + GENEROUS_S
            while True:
                counts = _counts_read_only(store_path)
                if counts["OrderFilled"] >= 3 and counts["OrderCanceled"] >= 3:
                    break
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, f"no activity: {counts}\n{log.read_text()}"
                time.sleep(0.02)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=GENEROUS_S)
    assert process.returncode == -signal.SIGKILL


def test_kill_9_mid_session_then_restart_keeps_everything_and_never_resubmits(
    tmp_path: Path,
) -> None:
    config = _write_config(tmp_path)
    store_path = tmp_path / "data" / "events.sqlite"

    _run_until_killed(config, store_path, tmp_path / "first.log")
    before = _rows(store_path)
    ids_before = {cid for _, kind, cid, _ in before if kind == "SubmitOrder"}
    assert before
    assert ids_before

    recovered_path, final_path = tmp_path / "recovered.json", tmp_path / "final.json"
    second = subprocess.run(
        _paper_command(
            config,
            "--duration",
            "3",
            "--recovered",
            str(recovered_path),
            "--summary",
            str(final_path),
        ),
        capture_output=True,
        timeout=GENEROUS_S,
        env=os.environ.copy(),
        check=False,
    )
    assert second.returncode == 0, second.stderr.decode()
    assert b"Traceback" not in second.stderr, second.stderr.decode()

    after = _rows(store_path)
    # Every event acknowledged before the kill is still there, in the same place.
    assert after[: len(before)] == before

    # No client order id was ever submitted (or sent to the venue) twice.
    submits = Counter(cid for _, kind, cid, _ in after if kind == "SubmitOrder")
    sent = Counter(cid for _, kind, cid, _ in after if kind == "OrderSubmitted")
    assert max(submits.values()) == 1
    assert max(sent.values()) == 1

    # The recovered state is the log's state, and so is the final one.
    recovered = json.loads(recovered_path.read_bytes())
    final = json.loads(final_path.read_bytes())
    assert recovered["last_seq"] >= len(before)
    assert recovered == _rebuilt_summary(config, store_path, recovered["last_seq"])
    assert final == _rebuilt_summary(config, store_path, final["last_seq"])
    # Each order submitted before the kill is recovered, unless the node died between logging
    # the intent and creating the order: then it is denied, never sent.
    abandoned = {
        cid
        for _, kind, cid, payload in after
        if kind == "OrderDenied" and b"NOT_PROCESSED_BEFORE_RESTART" in payload
    }
    initialized_before = {cid for _, kind, cid, _ in before if kind == "OrderInitialized"}
    assert not abandoned & initialized_before
    assert set(recovered["orders"]) | abandoned >= ids_before

    # The second run went on trading with fresh ids, after what it recovered.
    new_submits = [
        cid for seq, kind, cid, _ in after if kind == "SubmitOrder" and seq > recovered["last_seq"]
    ]
    assert new_submits
    assert not set(new_submits) & ids_before
    assert final["last_seq"] > recovered["last_seq"]


def test_paper_session_needs_paper_mode(tmp_path: Path) -> None:
    config = load_config(_write_config(tmp_path), environ={"HFTCORE_NODE__MODE": "backtest"})
    with pytest.raises(HftcoreError) as raised:
        PaperSession(config, [], store_path=tmp_path / "events.sqlite")
    assert raised.value.code == "INVALID_CONFIG"
    assert not (tmp_path / "events.sqlite").exists()


def test_paper_command_refuses_a_config_not_in_paper_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hftcore.cli import main

    config = _write_config(tmp_path)
    config.write_text(
        config.read_text(encoding="utf-8").replace('mode = "paper"', 'mode = "live"'),
        encoding="utf-8",
    )
    code = main(["paper", "--config", str(config), "--data", "bundled:msft_daily_ohlcv"])
    assert code == 2
    assert "node.mode" in capsys.readouterr().err
    assert not (tmp_path / "data" / "events.sqlite").exists()
