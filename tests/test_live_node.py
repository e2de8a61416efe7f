"""``hftcore live`` end to end: a node config with ``[[venues]]`` pointing at the local fake
venues (Kraken, Binance, Alpaca, our FIX simulator fed by Binance), a strategy that sends an
order, and what the venue received, what the node stored and the summary it wrote; paper mode
on a live feed with simulated fills and nothing sent to the venue."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from binance_fake import FakeBinance, emit, raw, release_snapshot, wait_snapshot_request
from binance_fake import Market as BinanceMarket
from fake_alpaca import KEY_ID, SECRET_KEY, FakeAlpaca
from fix_helpers import free_port
from hftcore import Instrument
from hftcore.model.events import OrderSpec
from hftcore.model.orders import OrderType
from hftcore.node.config import load_config
from hftcore.node.live import LiveSession, LiveSummary
from hftcore.venues.fix import FixSessionConfig, FixVenueClient, FixVenueSimulator
from kraken_fake import SYMBOL, FakeKraken, Step, updates, wait_subscribed
from kraken_fake import Market as KrakenMarket
from live_helpers import (
    BINANCE_INSTRUMENT,
    FAST_RECONNECT,
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
from websockets.asyncio.server import ServerConnection

# ----- Kraken, live ----------------------------------------------------------------------------


def prints_until_an_order() -> Step:
    """Prints stamped by the exchange 50 ms before they are sent (older than the book updates
    the node stamped on receipt, as real prints are), every 50 ms until an order arrives."""

    async def step(server: FakeKraken, connection: ServerConnection) -> None:
        trade_id = 0
        while not any(request.get("method") == "add_order" for request in server.requests):
            trade_id += 1
            sent = datetime.fromtimestamp(time.time() - 0.05, UTC)
            trade = {
                "symbol": SYMBOL,
                "side": "buy",
                "price": 45_000.5,
                "qty": 0.01,
                "ord_type": "limit",
                "trade_id": trade_id,
                "timestamp": sent.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            }
            frame = {"channel": "trade", "type": "update", "data": [trade]}
            await server.send(connection, json.dumps(frame))
            await asyncio.sleep(0.05)

    return step


def test_live_kraken_order_reaches_the_venue_and_its_fill_is_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    market = KrakenMarket()
    script = [wait_subscribed(), updates(3), prints_until_an_order()]
    thread = ServerThread(FakeKraken(market, [script]))
    with thread as server:
        best_ask: list[int] = []

        def answer(request: dict[str, Any]) -> dict[str, Any] | None:
            params = request["params"]
            base = {"method": request["method"], "req_id": request["req_id"]}
            if request["method"] != "add_order":
                return {**base, "success": False, "error": "EGeneral:Invalid arguments"}
            best_ask.append(market.visible()[1][0][0])
            entry = {
                "order_id": "OKRK-1",
                "cl_ord_id": params["cl_ord_id"],
                "symbol": SYMBOL,
                "timestamp": "2026-11-25T12:00:02.000001Z",
            }
            fill = {
                **entry,
                "exec_type": "trade",
                "exec_id": "TX1",
                "trade_id": 501,
                "last_qty": params["order_qty"],
                "last_price": best_ask[0] / 10,
                "liquidity_ind": "t",
                "fees": [{"asset": "USD", "qty": 0.5}],
                "order_status": "filled",
            }
            thread.soon(server.push_execution([{**entry, "exec_type": "new"}, fill]))
            return {**base, "success": True, "result": {"order_id": "OKRK-1"}}

        server.order_answer = answer
        monkeypatch.setenv("KRAKEN_API_KEY", server.api_key)
        monkeypatch.setenv("KRAKEN_API_SECRET", server.api_secret)
        config = node_config(
            tmp_path,
            "live",
            KRAKEN_INSTRUMENT
            + strategy("BTC/USD.KRAKEN", quantity=100_000, after_trade=True)
            + f"""
[[venues]]
adapter = "kraken"
instruments = ["BTC/USD.KRAKEN"]
[venues.settings]
ws_url = "{server.ws_url}"
ws_auth_url = "{server.ws_auth_url}"
rest_url = "{server.rest_url}"
{FAST_RECONNECT}
""",
        )
        store = tmp_path / "data" / "events.sqlite"
        signal_when(lambda: stored_kinds(store)["OrderFilled"] > 0)
        code = run_live(config, tmp_path / "summary.json")
        requests = list(server.requests)

    assert code == 0
    adds = [request["params"] for request in requests if request["method"] == "add_order"]
    assert len(adds) == 1
    assert adds[0]["order_type"] == "market"
    assert adds[0]["side"] == "buy"
    assert adds[0]["order_qty"] == 0.001
    assert adds[0]["token"] == "TOKEN1"  # authenticated with the keys from the environment
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["mode"] == "live"
    assert list(summary["orders"].values()) == [["FILLED", 100_000]]
    assert summary["positions"] == {"BUYER|BTC/USD.KRAKEN": 100_000}
    assert summary["venues"]["KRAKEN"]["connects"] >= 1
    assert summary["venues"]["KRAKEN"]["malformed"] == 0  # the late-stamped print too
    events = store_events(store)
    assert kinds(events) == [
        "SubmitOrder",
        "OrderInitialized",
        "OrderSubmitted",
        "OrderAccepted",
        "OrderFilled",
    ]
    fill = events[-1]
    assert (fill.venue_order_id, fill.trade_id) == ("OKRK-1", "BTC/USD-501")
    assert fill.last_price == best_ask[0]
    assert fill.commission == 500_000_000_000  # 0.5 USD, exact
    out = capsys.readouterr().out
    assert "venue KRAKEN" in out
    assert "kraken; trades BTC/USD.KRAKEN" in out
    assert "orders with fills" in out
    assert "Venue KRAKEN" in out


# ----- Binance, paper --------------------------------------------------------------------------


def test_paper_binance_fills_at_a_simulated_venue_on_the_live_book(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("BINANCE_API_KEY", "BINANCE_API_SECRET"):
        monkeypatch.delenv(variable, raising=False)  # paper mode needs no key
    market = BinanceMarket()
    # The snapshot holds every update sent before it: after it the book is the market's.
    thread = ServerThread(FakeBinance(market, [[emit(3), wait_snapshot_request()]]))
    with thread as server:
        config = node_config(
            tmp_path,
            "paper",
            BINANCE_INSTRUMENT
            + strategy("BTCUSDT.BINANCE", quantity=3)
            + f"""
[[venues]]
adapter = "binance"
instruments = ["BTCUSDT.BINANCE"]
[venues.settings]
ws_url = "{server.ws_url}"
rest_url = "{server.rest_url}"
{FAST_RECONNECT}
[venues.paper_venue]
queue_model = {{ kind = "RISK_AVERSE" }}
""",
            currency="USDT",
        )
        store = tmp_path / "paper-events.sqlite"
        signal_when(lambda: stored_kinds(store)["OrderFilled"] > 0)
        code = run_live(config, tmp_path / "summary.json", "--store", f"sqlite:///{store}")
        rest_calls = list(server.rest_calls)

    assert code == 0
    assert [path for _, path, _ in rest_calls] == ["/api/v3/depth"]  # no order went to Binance
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["mode"] == "paper"
    assert list(summary["orders"].values()) == [["FILLED", 3]]
    assert summary["positions"] == {"BUYER|BTCUSDT.BINANCE": 3}
    _, asks = market.expected_levels()
    events = store_events(store)
    fills = [event for event in events if type(event).__name__ == "OrderFilled"]
    assert len(fills) == 1
    assert fills[0].last_price == asks[0][0]  # the live book's best ask
    assert fills[0].liquidity == "TAKER"
    spent = 3 * asks[0][0]  # lots x ticks = 1e-7 USDT units
    assert summary["balances"]["USDT"] == (1_000_000 * 10**7 - spent) * 10**5
    assert summary["venues"]["BINANCE"]["gaps"] == 0
    assert not (tmp_path / "data" / "events.sqlite").exists()  # the store given was used


# ----- Alpaca, paper and live ------------------------------------------------------------------

ALPACA_INSTRUMENT = """
[[instruments]]
instrument_id = "AAPL.ALPACA"
tick_size = "0.01"
price_precision = 2
lot_size = "1"
size_precision = 0
"""
QUOTE = {"T": "q", "S": "AAPL", "bp": 189.95, "bs": 300, "ap": 190.01, "as": 100}


def _alpaca_venue(fake: FakeAlpaca) -> str:
    return f"""
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


def _publish_quote_once_subscribed(fake: FakeAlpaca, ts: int) -> None:
    def publish() -> bool:
        if not fake.subscriptions:
            return False
        fake.publish([{**QUOTE, "t": ts}])
        return True

    keep_trying(publish)


def test_paper_alpaca_fills_at_the_quoted_ask_and_sends_nothing_to_alpaca(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APCA_API_KEY_ID", KEY_ID)  # Alpaca's market data needs the keys
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET_KEY)
    with FakeAlpaca() as fake:
        config = node_config(
            tmp_path,
            "paper",
            ALPACA_INSTRUMENT + strategy("AAPL.ALPACA", quantity=40) + _alpaca_venue(fake),
        )
        store = tmp_path / "data" / "events.sqlite"
        _publish_quote_once_subscribed(fake, 1_700_000_000_000_000_000)
        signal_when(lambda: stored_kinds(store)["OrderFilled"] > 0)
        code = run_live(config, tmp_path / "summary.json")
        orders_at_alpaca = dict(fake.orders)

    assert code == 0
    assert orders_at_alpaca == {}
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert list(summary["orders"].values()) == [["FILLED", 40]]
    assert summary["venues"]["ALPACA"]["quotes"] == 1
    fills = [e for e in store_events(store) if type(e).__name__ == "OrderFilled"]
    assert [(fill.last_price, fill.last_quantity) for fill in fills] == [(19_001, 40)]


def test_live_alpaca_order_goes_to_alpaca_and_its_fill_comes_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APCA_API_KEY_ID", KEY_ID)
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET_KEY)
    with FakeAlpaca() as fake:
        config = node_config(
            tmp_path,
            "live",
            ALPACA_INSTRUMENT + strategy("AAPL.ALPACA", quantity=40) + _alpaca_venue(fake),
        )
        store = tmp_path / "data" / "events.sqlite"
        _publish_quote_once_subscribed(fake, 1_700_000_000_000_000_000)

        def fill_once_accepted() -> bool:
            if stored_kinds(store)["OrderAccepted"] == 0:
                return False
            order = next(iter(fake.orders.values()))
            fake.fill(order["client_order_id"], "40", "190.02")
            return True

        keep_trying(fill_once_accepted)
        signal_when(lambda: stored_kinds(store)["OrderFilled"] > 0)
        code = run_live(config, tmp_path / "summary.json")
        orders_at_alpaca = list(fake.orders.values())

    assert code == 0
    assert [(o["symbol"], o["side"], o["type"], o["qty"]) for o in orders_at_alpaca] == [
        ("AAPL", "buy", "market", "40")
    ]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert list(summary["orders"].values()) == [["FILLED", 40]]
    assert summary["positions"] == {"BUYER|AAPL.ALPACA": 40}
    fills = [e for e in store_events(store) if type(e).__name__ == "OrderFilled"]
    assert [(fill.last_price, fill.last_quantity) for fill in fills] == [(19_002, 40)]
    assert fills[0].venue_order_id == orders_at_alpaca[0]["id"]


# ----- FIX, live, fed by Binance ----------------------------------------------------------------

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
    """Our FIX venue simulator with two clients: the node (NODE) and a counterparty (OTHER)
    whose resting sell the node's buy takes."""

    def __init__(self) -> None:
        self.instruments = {Instrument("BTCUSDT.SIM", "0.01", 2, "0.00001", 5): "USDT"}
        self.other_events: list[Any] = []
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
            event_sink=self.other_events.append,
        )
        await self.other.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.other.stop()
        await self.simulator.stop()


def test_live_fix_order_fed_by_binance_trades_with_another_client_of_the_venue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("BINANCE_API_KEY", "BINANCE_API_SECRET"):
        monkeypatch.delenv(variable, raising=False)  # Binance only feeds: no key needed
    fix_thread = ServerThread(FixVenue())
    binance_thread = ServerThread(
        FakeBinance(BinanceMarket(), [[emit(3), wait_snapshot_request()]])
    )
    with fix_thread as venue, binance_thread as binance:
        ask = OrderSpec("BTCUSDT.SIM", 1, OrderType.LIMIT, 5, price=6_500_000)
        fix_thread.call(lambda: venue.other.submit("ASK-1", ask, 1, strategy_id="OTHER"))
        config = node_config(
            tmp_path,
            "live",
            FIX_INSTRUMENT
            + strategy("BTCUSDT.SIM", quantity=2, limit_price=6_500_100)
            + f"""
[[venues]]
adapter = "fix"
name = "SIM"
instruments = ["BTCUSDT.SIM"]
[venues.settings]
sender_comp_id = "NODE"
target_comp_id = "VENUE"
port = {venue.port}
heartbeat_interval = 5
reconnect_interval = 0.1

[[venues]]
adapter = "binance"
feed_only = ["BTCUSDT.SIM"]
[venues.settings]
ws_url = "{binance.ws_url}"
rest_url = "{binance.rest_url}"
symbols = {{ "BTCUSDT.SIM" = "BTCUSDT" }}
{FAST_RECONNECT}
""",
            currency="USDT",
        )
        store = tmp_path / "data" / "events.sqlite"
        signal_when(lambda: stored_kinds(store)["OrderFilled"] > 0)
        code = run_live(config, tmp_path / "summary.json")
        other_fills = [e for e in venue.other_events if type(e).__name__ == "OrderFilled"]

    assert code == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert list(summary["orders"].values()) == [["FILLED", 2]]
    assert summary["positions"] == {"BUYER|BTCUSDT.SIM": 2}
    assert summary["venues"]["SIM"]["unknown_reports"] == 0
    assert summary["venues"]["BINANCE feed_only"]["connects"] >= 1
    fills = [e for e in store_events(store) if type(e).__name__ == "OrderFilled"]
    assert [(f.last_price, f.last_quantity, f.liquidity) for f in fills] == [
        (6_500_000, 2, "TAKER")  # at the resting sell's price
    ]
    assert [(f.last_price, f.last_quantity, f.liquidity) for f in other_fills] == [
        (6_500_000, 2, "MAKER")
    ]
    # the session's sequence numbers live under the node's data directory
    assert list((tmp_path / "data" / "fix" / "SIM").iterdir())


def test_a_venue_that_cannot_take_orders_delays_the_strategies_until_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for variable in ("BINANCE_API_KEY", "BINANCE_API_SECRET"):
        monkeypatch.delenv(variable, raising=False)
    feed = ServerThread(FakeBinance(BinanceMarket(), [[emit(3), wait_snapshot_request()]]))
    with feed as binance:
        config = node_config(
            tmp_path,
            "live",
            FIX_INSTRUMENT
            + strategy("BTCUSDT.SIM", quantity=2, limit_price=6_500_100)
            + f"""
[[venues]]
adapter = "fix"
name = "SIM"
instruments = ["BTCUSDT.SIM"]
[venues.settings]
sender_comp_id = "NODE"
target_comp_id = "VENUE"
port = {free_port()}
reconnect_interval = 0.1

[[venues]]
adapter = "binance"
feed_only = ["BTCUSDT.SIM"]
[venues.settings]
ws_url = "{binance.ws_url}"
rest_url = "{binance.rest_url}"
symbols = {{ "BTCUSDT.SIM" = "BTCUSDT" }}
{FAST_RECONNECT}

[live]
connect_timeout_s = 0.5
""",
            currency="USDT",
        )
        store = tmp_path / "data" / "events.sqlite"
        signal_when(lambda: stored_kinds(store)["OrderRejected"] > 0)
        code = run_live(config, tmp_path / "summary.json")

    assert code == 0
    late = [r.getMessage() for r in caplog.records if "cannot take orders" in r.getMessage()]
    assert late == ["venues ['SIM'] cannot take orders after 0.5 s; starting the strategies anyway"]
    events = store_events(store)
    assert kinds(events)[-1] == "OrderRejected"
    assert events[-1].reason == "VENUE_DISCONNECTED"  # nothing left while the session was down


# ----- Binance: the book syncs while prints and updates keep coming -----------------------------

BINANCE_PRINT = {
    "stream": "btcusdt@trade",
    "data": {
        "e": "trade",
        "E": 1_700_000_000_123,
        "s": "BTCUSDT",
        "t": 42,
        "p": "65000.01000000",
        "q": "0.00100000",
        "T": 1_700_000_000_120,
        "m": True,
        "M": True,
    },
}


@pytest.mark.parametrize("mode", ["paper", "live"])
def test_binance_book_syncs_with_updates_and_prints_arriving_during_the_snapshot(
    tmp_path: Path, mode: str
) -> None:
    """Updates buffered while the snapshot is fetched are applied after it, though received
    before it, and prints keep coming meanwhile: the node's time must still only move forward
    (the emulator and the paper venue refuse to go back), or the sync starts over forever."""
    hold = asyncio.Event()
    market = BinanceMarket()
    script = [
        emit(2),
        wait_snapshot_request(),
        raw(json.dumps(BINANCE_PRINT)),
        emit(3),  # buffered: the snapshot is held
        release_snapshot(hold),
        raw(json.dumps({**BINANCE_PRINT, "data": {**BINANCE_PRINT["data"], "t": 43}})),
        emit(2),
    ]

    async def main() -> tuple[LiveSummary, list[tuple[int, int]], list[tuple[int, int]], Any]:
        async with FakeBinance(market, [script]) as server:
            server.snapshot_hold = hold
            server.order_handler = lambda method, path, params: (400, {"code": -1, "msg": "no"})
            path = node_config(
                tmp_path,
                mode,
                BINANCE_INSTRUMENT
                + strategy("BTCUSDT.BINANCE", send=False)
                + f"""
[[venues]]
adapter = "binance"
instruments = ["BTCUSDT.BINANCE"]
[venues.settings]
ws_url = "{server.ws_url}"
rest_url = "{server.rest_url}"
{FAST_RECONNECT}
""",
                currency="USDT",
            )
            session = LiveSession(
                load_config(path),
                environ={"BINANCE_API_KEY": server.api_key, "BINANCE_API_SECRET": server.secret},
            )
            session.recover()
            stop = asyncio.Event()
            runner = asyncio.create_task(session.run(stop=stop))
            book = session.node.cache.book("BTCUSDT.BINANCE")
            while (book.levels(0), book.levels(1)) != market.expected_levels():
                await asyncio.sleep(0.01)
            stop.set()
            await runner
            summary = session.summary()
            trade = session.node.cache.trade("BTCUSDT.BINANCE")
            session.close()
            return summary, book.levels(0), book.levels(1), trade

    summary, bids, asks, trade = asyncio.run(asyncio.wait_for(main(), 20))
    assert (bids, asks) == market.expected_levels()
    counters = summary.venues["BINANCE"]
    assert (counters["malformed"], counters["gaps"]) == (0, 0)
    assert trade is not None
    assert trade.trade_id == "43"
