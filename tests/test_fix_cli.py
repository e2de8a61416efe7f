"""``hftcore fix-venue``: the simulator as a process, traded with by two FIX clients."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from fix_helpers import wait_until
from hftcore import Instrument
from hftcore.errors import ConfigError
from hftcore.model.events import OrderEvent, OrderFilled, OrderSpec
from hftcore.model.orders import OrderType
from hftcore.venues.fix import FixSessionConfig, FixVenueClient
from hftcore.venues.fix.command import parse_instrument

AAPL = Instrument("AAPL.SIM", "0.01", 2, "1", 0, maker_fee="0", taker_fee="0.001")
PACKAGE = Path(__file__).resolve().parent.parent / "python"


def test_fix_venue_process_matches_two_clients(tmp_path: Path) -> None:
    environment = {**os.environ, "PYTHONPATH": str(PACKAGE)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hftcore",
            "fix-venue",
            "--port",
            "0",
            "--client-comp-id",
            "ALICE",
            "--client-comp-id",
            "BOB",
            "--instrument",
            "AAPL.SIM:0.01:1:USD:0:0.001",
            "--data-dir",
            str(tmp_path),
            "--duration",
            "120",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert banner.startswith("FIX 4.4 venue VENUE listening on 127.0.0.1:")
        port = int(banner.rsplit(":", 1)[1])
        events: dict[str, list[OrderEvent]] = {"ALICE": [], "BOB": []}

        async def trade() -> None:
            clients = [
                FixVenueClient(
                    "SIM",
                    {AAPL: "USD"},
                    FixSessionConfig(name, "VENUE", port=port),
                    event_sink=events[name].append,
                )
                for name in ("ALICE", "BOB")
            ]
            for client in clients:
                await client.connect()
            alice, bob = clients
            alice.submit(
                "A1",
                OrderSpec("AAPL.SIM", 1, OrderType.LIMIT, 100, price=18_995),
                1,
                strategy_id="S",
            )
            await wait_until(lambda: len(events["ALICE"]) == 1)
            bob.submit("B1", OrderSpec("AAPL.SIM", 0, OrderType.MARKET, 40), 2, strategy_id="S")
            await wait_until(lambda: len(events["ALICE"]) == 2 and len(events["BOB"]) == 2)
            for client in clients:
                await client.stop()

        asyncio.run(trade())
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "stopped: 4 execution reports, 1 orders working" in out
    fill = events["BOB"][1]
    assert isinstance(fill, OrderFilled)
    assert (fill.last_price, fill.last_quantity) == (18_995, 40)
    # 40 * 189.95 = 7598 USD at 0.1 %: 7.598 USD
    assert fill.commission == 7_598_000_000_000
    assert sorted(path.name for path in tmp_path.iterdir() if path.suffix == ".fixstore") == [
        "VENUE-ALICE.fixstore",
        "VENUE-BOB.fixstore",
    ]


def test_bad_instrument_is_an_error_with_exit_code_2() -> None:
    environment = {**os.environ, "PYTHONPATH": str(PACKAGE)}
    result = subprocess.run(
        [sys.executable, "-m", "hftcore", "fix-venue", "--port", "0", "--instrument", "X:abc:1"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "INVALID_INSTRUMENT" in result.stderr


def test_parse_instrument() -> None:
    instrument, currency = parse_instrument("AAPL.SIM:0.01:1:USD:0:0.001")
    assert instrument == AAPL
    assert currency == "USD"
    with pytest.raises(ConfigError, match="INVALID_INSTRUMENT"):
        parse_instrument("AAPL.SIM:0.01")
