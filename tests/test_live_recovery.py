"""``hftcore live`` stopped and started again on the same event store: in live mode the orders
a venue works are given back to its client and what happened to them while the node was down
comes in once (Binance, in a process stopped by SIGTERM; Kraken; Alpaca; FIX); in paper mode
the simulated venue's orders died with it and are canceled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from binance_fake import FakeBinance, emit, wait_snapshot_request
from binance_fake import Market as BinanceMarket
from fake_alpaca import KEY_ID, SECRET_KEY, FakeAlpaca
from fix_helpers import free_port
from hftcore import Instrument
from hftcore.model.events import OrderSpec
from hftcore.model.orders import OrderType
from hftcore.venues.fix import FixSessionConfig, FixVenueClient, FixVenueSimulator
from kraken_fake import SYMBOL, FakeKraken, wait_subscribed
from kraken_fake import Market as KrakenMarket
from live_helpers import (
    BINANCE_INSTRUMENT,
    FAST_RECONNECT,
    GUARD_S,
    KRAKEN_INSTRUMENT,
    ServerThread,
    keep_trying,
    kinds,
    node_config,
    run_live,
    signal_when,
    store_events,
    stored_kinds,
    strategy,
)

FILLED_AFTER_RESTART = [
    "SubmitOrder",
    "OrderInitialized",
    "OrderSubmitted",
    "OrderAccepted",
    "OrderFilled",
]


def summary_of(path: Path) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads(path.read_text())
    return summary


# ----- Binance, in a process stopped by SIGTERM ------------------------------------------------


class BinanceAccount:
    """The fake's order handler: one resting order, which the test fills while the node is
    down (then only GET /api/v3/order and /api/v3/myTrades tell)."""

    def __init__(self) -> None:
        self.params: dict[str, str] = {}
        self.filled = False

    def handle(self, method: str, path: str, params: dict[str, str]) -> tuple[int, Any]:
        if method == "POST" and path == "/api/v3/order":
            self.params = params
            return 200, {"symbol": "BTCUSDT", "orderId": 900, "clientOrderId": "x"}
        if path == "/api/v3/myTrades":
            return 200, [
                {
                    "symbol": "BTCUSDT",
                    "id": 77,
                    "orderId": 900,
                    "price": self.params["price"],
                    "qty": self.params["quantity"],
                    "commission": "0.00000010",
                    "commissionAsset": "BTC",
                    "time": 2,
                    "isBuyer": True,
                    "isMaker": True,
                }
            ]
        if method == "GET" and path == "/api/v3/order":
            return 200, {
                "symbol": "BTCUSDT",
                "orderId": 900,
                "clientOrderId": self.params["newClientOrderId"],
                "price": self.params["price"],
                "origQty": self.params["quantity"],
                "executedQty": self.params["quantity"] if self.filled else "0",
                "status": "FILLED" if self.filled else "NEW",
                "timeInForce": "GTC",
                "type": "LIMIT",
                "side": "BUY",
            }
        return 400, {"code": -1100, "msg": f"unexpected {method} {path}"}


def _live_process(
    config: Path, summary: Path, environ: dict[str, str], done: Callable[[], bool]
) -> subprocess.CompletedProcess[str]:
    """``hftcore live`` in a process of its own, stopped by SIGTERM once ``done()`` holds."""
    command = [sys.executable, "-m", "hftcore.cli", "live", "--config", str(config)]
    command += ["--duration", str(GUARD_S), "--summary", str(summary)]
    process = subprocess.Popen(
        command, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        keep_trying(lambda: done() or process.poll() is not None, GUARD_S).join(GUARD_S)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=GUARD_S)
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def test_binance_restart_reports_once_the_fill_of_an_order_filled_while_down(
    tmp_path: Path,
) -> None:
    account = BinanceAccount()
    market = BinanceMarket()
    scripts = [[emit(2), wait_snapshot_request()], [emit(2), wait_snapshot_request()]]
    thread = ServerThread(FakeBinance(market, scripts))
    with thread as server:
        server.order_handler = account.handle
        venue = f"""
[[venues]]
adapter = "binance"
instruments = ["BTCUSDT.BINANCE"]
[venues.settings]
ws_url = "{server.ws_url}"
rest_url = "{server.rest_url}"
{FAST_RECONNECT}
"""
        environ = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(sys.path),
            "BINANCE_API_KEY": server.api_key,
            "BINANCE_API_SECRET": server.secret,
        }
        store = tmp_path / "data" / "events.sqlite"
        bid = market.mid - 50
        buyer = strategy("BTCUSDT.BINANCE", quantity=4, limit_price=bid)
        first = _live_process(
            node_config(tmp_path, "live", BINANCE_INSTRUMENT + buyer + venue, "USDT", "first"),
            tmp_path / "first.json",
            environ,
            lambda: stored_kinds(store)["OrderAccepted"] > 0,
        )
        account.filled = True  # while the node is down: its user stream is gone
        watcher = strategy("BTCUSDT.BINANCE", send=False)
        second = _live_process(
            node_config(tmp_path, "live", BINANCE_INSTRUMENT + watcher + venue, "USDT", "second"),
            tmp_path / "second.json",
            environ,
            lambda: stored_kinds(store)["OrderFilled"] > 0,
        )
        rest_calls = list(server.rest_calls)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert "Live session" in second.stdout
    assert list(summary_of(tmp_path / "first.json")["orders"].values()) == [["ACCEPTED", 0]]
    posted = [p for m, path, p in rest_calls if m == "POST" and path == "/api/v3/order"]
    assert len(posted) == 1  # the restart sent nothing again
    assert (posted[0]["type"], posted[0]["price"], posted[0]["quantity"]) == (
        "LIMIT",
        "64999.50",
        "0.00004",
    )
    queried = [p for m, path, p in rest_calls if m == "GET" and path == "/api/v3/order"]
    assert queried  # the restarted node asked Binance about the order it had working
    assert {p["origClientOrderId"] for p in queried} == {posted[0]["newClientOrderId"]}
    summary = summary_of(tmp_path / "second.json")
    assert list(summary["orders"].values()) == [["FILLED", 4]]
    assert summary["positions"] == {"BUYER|BTCUSDT.BINANCE": 4}
    events = store_events(store)
    assert kinds(events) == FILLED_AFTER_RESTART
    fill = events[-1]
    assert (fill.trade_id, fill.last_price, fill.last_quantity) == ("BTCUSDT-77", bid, 4)
    assert (fill.liquidity, fill.commission, fill.currency) == ("MAKER", 100_000, "BTC")


# ----- Kraken: the executions snapshot after a restart --------------------------------------------


def _kraken_trade(client_order_id: str, trade_id: int, qty: float, price: float) -> dict[str, Any]:
    return {
        "exec_type": "trade",
        "order_id": "OKRK-7",
        "cl_ord_id": client_order_id,
        "symbol": SYMBOL,
        "exec_id": f"TX{trade_id}",
        "trade_id": trade_id,
        "last_qty": qty,
        "last_price": price,
        "liquidity_ind": "m",
        "fees": [],
        "timestamp": "2026-11-25T12:00:02.000001Z",
    }


def test_kraken_restart_applies_the_snapshot_fills_it_had_not_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    market = KrakenMarket()
    thread = ServerThread(FakeKraken(market, [[wait_subscribed()], [wait_subscribed()]]))
    with thread as server:
        bid = market.visible()[0][0][0] - 10
        placed: list[dict[str, Any]] = []

        def answer(request: dict[str, Any]) -> dict[str, Any] | None:
            params = request["params"]
            placed.append(params)
            base = {"method": request["method"], "req_id": request["req_id"]}
            first_fill = _kraken_trade(params["cl_ord_id"], 1, 0.0004, bid / 10)
            thread.soon(server.push_execution([first_fill]))
            return {**base, "success": True, "result": {"order_id": "OKRK-7"}}

        server.order_answer = answer
        monkeypatch.setenv("KRAKEN_API_KEY", server.api_key)
        monkeypatch.setenv("KRAKEN_API_SECRET", server.api_secret)
        venue = f"""
[[venues]]
adapter = "kraken"
instruments = ["BTC/USD.KRAKEN"]
[venues.settings]
ws_url = "{server.ws_url}"
ws_auth_url = "{server.ws_auth_url}"
rest_url = "{server.rest_url}"
{FAST_RECONNECT}
"""
        store = tmp_path / "data" / "events.sqlite"
        buyer = strategy("BTC/USD.KRAKEN", quantity=100_000, limit_price=bid)
        signal_when(lambda: stored_kinds(store)["OrderFilled"] > 0)
        first = run_live(
            node_config(tmp_path, "live", KRAKEN_INSTRUMENT + buyer + venue, name="first"),
            tmp_path / "first.json",
        )
        # While the node is down the rest fills; Kraken's snapshot lists both fills.
        cid = placed[0]["cl_ord_id"]
        server.open_orders = [
            _kraken_trade(cid, 1, 0.0004, bid / 10),
            _kraken_trade(cid, 2, 0.0006, bid / 10),
        ]
        watcher = strategy("BTC/USD.KRAKEN", send=False)
        signal_when(lambda: stored_kinds(store)["OrderFilled"] > 1)
        second = run_live(
            node_config(tmp_path, "live", KRAKEN_INSTRUMENT + watcher + venue, name="second"),
            tmp_path / "second.json",
        )

    assert (first, second) == (0, 0)
    assert len(placed) == 1
    assert list(summary_of(tmp_path / "first.json")["orders"].values()) == [
        ["PARTIALLY_FILLED", 40_000]
    ]
    assert list(summary_of(tmp_path / "second.json")["orders"].values()) == [["FILLED", 100_000]]
    events = store_events(store)
    fills = [event for event in events if type(event).__name__ == "OrderFilled"]
    assert [(fill.trade_id, fill.last_quantity) for fill in fills] == [
        ("BTC/USD-1", 40_000),  # logged before the restart: not applied again
        ("BTC/USD-2", 60_000),
    ]
    assert "OrderCanceled" not in kinds(events)


# ----- Alpaca: the resync on the first connection after a restart --------------------------------

ALPACA_INSTRUMENT = """
[[instruments]]
instrument_id = "AAPL.ALPACA"
tick_size = "0.01"
price_precision = 2
lot_size = "1"
size_precision = 0
"""
QUOTE = {"T": "q", "S": "AAPL", "bp": 189.95, "bs": 300, "ap": 190.01, "as": 100}


def test_alpaca_restart_catches_up_a_fill_the_stream_never_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APCA_API_KEY_ID", KEY_ID)
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET_KEY)
    with FakeAlpaca() as fake:
        venue = f"""
[[venues]]
adapter = "alpaca"
instruments = ["AAPL.ALPACA"]
[venues.settings]
trading_url = "{fake.http_url}"
data_url = "{fake.http_url}"
trading_stream_url = "{fake.trading_stream_url}"
data_stream_url = "{fake.data_stream_url}"
reconnect_min_backoff_s = 0.05
"""
        store = tmp_path / "data" / "events.sqlite"

        def publish_quote() -> bool:
            if not fake.subscriptions:
                return False
            fake.publish([{**QUOTE, "t": 1_700_000_000_000_000_000}])
            return True

        keep_trying(publish_quote)
        signal_when(lambda: stored_kinds(store)["OrderAccepted"] > 0)
        buyer = strategy("AAPL.ALPACA", quantity=30, limit_price=18_990)
        first = run_live(
            node_config(tmp_path, "live", ALPACA_INSTRUMENT + buyer + venue, name="first"),
            tmp_path / "first.json",
        )
        order = next(iter(fake.orders.values()))
        fake.fill(order["client_order_id"], "30", "189.90", broadcast=False)
        watcher = strategy("AAPL.ALPACA", send=False)
        signal_when(lambda: stored_kinds(store)["OrderFilled"] > 0)
        second = run_live(
            node_config(tmp_path, "live", ALPACA_INSTRUMENT + watcher + venue, name="second"),
            tmp_path / "second.json",
        )
        orders_at_alpaca = len(fake.orders)

    assert (first, second) == (0, 0)
    assert orders_at_alpaca == 1
    assert list(summary_of(tmp_path / "second.json")["orders"].values()) == [["FILLED", 30]]
    events = store_events(store)
    assert kinds(events) == FILLED_AFTER_RESTART
    fill = events[-1]
    assert (fill.last_price, fill.last_quantity) == (18_990, 30)
    assert fill.venue_order_id == order["id"]


# ----- FIX: the venue resends what the node missed ---------------------------------------------

FIX_INSTRUMENT = """
[[instruments]]
instrument_id = "BTCUSDT.SIM"
tick_size = "0.01"
price_precision = 2
lot_size = "0.00001"
size_precision = 5
quote_currency = "USDT"
"""


class FixVenue:
    """Our FIX venue simulator, with a counterparty (OTHER) the test trades as."""

    def __init__(self) -> None:
        self.instruments = {Instrument("BTCUSDT.SIM", "0.01", 2, "0.00001", 5): "USDT"}
        self.port = 0

    async def __aenter__(self) -> FixVenue:
        # Made on the server's loop: the sessions' stores belong to its thread.
        self.simulator = FixVenueSimulator(
            "SIM",
            self.instruments,
            [FixSessionConfig("VENUE", "NODE"), FixSessionConfig("VENUE", "OTHER")],
        )
        self.port = await self.simulator.start("127.0.0.1", free_port())
        self.other = FixVenueClient(
            "SIM",
            self.instruments,
            FixSessionConfig("OTHER", "VENUE", port=self.port),
            event_sink=lambda event: None,
        )
        await self.other.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.other.stop()
        await self.simulator.stop()


def test_fix_restart_gets_the_fill_the_venue_resends_for_the_gap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("BINANCE_API_KEY", "BINANCE_API_SECRET"):
        monkeypatch.delenv(variable, raising=False)
    scripts = [[emit(2), wait_snapshot_request()], [emit(2), wait_snapshot_request()]]
    fix_thread = ServerThread(FixVenue())
    feed = ServerThread(FakeBinance(BinanceMarket(), scripts))
    with fix_thread as venue, feed as binance:
        venues = f"""
[[venues]]
adapter = "fix"
name = "SIM"
instruments = ["BTCUSDT.SIM"]
[venues.settings]
sender_comp_id = "NODE"
target_comp_id = "VENUE"
port = {venue.port}
reconnect_interval = 0.1

[[venues]]
adapter = "binance"
feed_only = ["BTCUSDT.SIM"]
[venues.settings]
ws_url = "{binance.ws_url}"
rest_url = "{binance.rest_url}"
symbols = {{ "BTCUSDT.SIM" = "BTCUSDT" }}
{FAST_RECONNECT}
"""
        store = tmp_path / "data" / "events.sqlite"
        buyer = strategy("BTCUSDT.SIM", quantity=3, limit_price=6_499_900)
        signal_when(lambda: stored_kinds(store)["OrderAccepted"] > 0)
        first = run_live(
            node_config(tmp_path, "live", FIX_INSTRUMENT + buyer + venues, "USDT", "first"),
            tmp_path / "first.json",
        )
        # The node is logged out: the venue keeps the fill report for the sequence gap.
        sell = OrderSpec("BTCUSDT.SIM", 1, OrderType.MARKET, 3)
        fix_thread.call(lambda: venue.other.submit("HIT-1", sell, 1, strategy_id="OTHER"))
        watcher = strategy("BTCUSDT.SIM", send=False)
        signal_when(lambda: stored_kinds(store)["OrderFilled"] > 0)
        second = run_live(
            node_config(tmp_path, "live", FIX_INSTRUMENT + watcher + venues, "USDT", "second"),
            tmp_path / "second.json",
        )

    assert (first, second) == (0, 0)
    assert list(summary_of(tmp_path / "first.json")["orders"].values()) == [["ACCEPTED", 0]]
    summary = summary_of(tmp_path / "second.json")
    assert list(summary["orders"].values()) == [["FILLED", 3]]
    assert summary["venues"]["SIM"]["unknown_reports"] == 0
    events = store_events(store)
    assert kinds(events) == FILLED_AFTER_RESTART
    assert (events[-1].last_price, events[-1].last_quantity) == (6_499_900, 3)


# ----- paper: the simulated venue's orders die with the process -----------------------------------


def test_paper_restart_cancels_the_orders_the_simulated_venue_lost(tmp_path: Path) -> None:
    market = BinanceMarket()
    scripts = [[emit(3), wait_snapshot_request()], [emit(3), wait_snapshot_request()]]
    thread = ServerThread(FakeBinance(market, scripts))
    with thread as server:
        venue = f"""
[[venues]]
adapter = "binance"
instruments = ["BTCUSDT.BINANCE"]
[venues.settings]
ws_url = "{server.ws_url}"
rest_url = "{server.rest_url}"
{FAST_RECONNECT}
"""
        store = tmp_path / "data" / "events.sqlite"
        resting = strategy("BTCUSDT.BINANCE", quantity=5, limit_price=market.mid - 500)
        signal_when(lambda: stored_kinds(store)["OrderAccepted"] > 0)
        first = run_live(
            node_config(tmp_path, "paper", BINANCE_INSTRUMENT + resting + venue, "USDT", "first"),
            tmp_path / "first.json",
        )
        watcher = strategy("BTCUSDT.BINANCE", send=False)
        signal_when(lambda: stored_kinds(store)["OrderCanceled"] > 0)
        second = run_live(
            node_config(tmp_path, "paper", BINANCE_INSTRUMENT + watcher + venue, "USDT", "second"),
            tmp_path / "second.json",
        )

    assert (first, second) == (0, 0)
    assert list(summary_of(tmp_path / "first.json")["orders"].values()) == [["ACCEPTED", 0]]
    assert list(summary_of(tmp_path / "second.json")["orders"].values()) == [["CANCELED", 0]]
    events = store_events(store)
    assert kinds(events)[-1] == "OrderCanceled"
    assert events[-1].reason == "NOT_FOUND_AT_VENUE"
