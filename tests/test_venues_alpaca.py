"""The Alpaca adapter end to end: the real alpaca-py clients against tests/fake_alpaca.py."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import msgpack
import pytest
from fake_alpaca import KEY_ID, SECRET_KEY, FakeAlpaca
from hftcore import Instrument
from hftcore.data.catalog import DataCatalog
from hftcore.errors import ConfigError, InvalidData, InvalidValue
from hftcore.model.data import Bar, Quote, Trade
from hftcore.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderEvent,
    OrderFilled,
    OrderModifyRejected,
    OrderRejected,
    OrderSpec,
    OrderUpdated,
    SubmitOrder,
)
from hftcore.model.orders import OrderType, TimeInForce
from hftcore.node.clock import LiveClock
from hftcore.node.config import InstrumentConfig, NodeConfig, NodeSection
from hftcore.node.kernel import TradingNode
from hftcore.node.strategy import Strategy
from hftcore.oms import make_bracket
from hftcore.venues.alpaca import (
    AlpacaConfig,
    AlpacaCredentials,
    AlpacaMarketData,
    AlpacaVenue,
    import_bars,
    load_alpaca_config,
)
from hftcore.venues.alpaca.wire import MESSAGE_DECODER, timestamp_ns

AAPL = Instrument("AAPL.ALPACA", "0.01", 2, "1", 0)
MSFT = Instrument("MSFT.ALPACA", "0.01", 2, "1", 0)
KEYS = AlpacaCredentials(KEY_ID, SECRET_KEY)


@pytest.fixture
def fake() -> Iterator[FakeAlpaca]:
    with FakeAlpaca() as server:
        yield server


def config_for(fake: FakeAlpaca, **extra: Any) -> AlpacaConfig:
    return AlpacaConfig(
        trading_url=fake.http_url,
        trading_stream_url=fake.trading_stream_url,
        data_url=fake.http_url,
        data_stream_url=fake.data_stream_url,
        reconnect_min_backoff_s=0.05,
        **extra,
    )


async def until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def run_venue(
    fake: FakeAlpaca,
    scenario: Callable[[AlpacaVenue, list[OrderEvent]], Awaitable[None]],
    **config: Any,
) -> list[OrderEvent]:
    events: list[OrderEvent] = []

    async def main() -> None:
        venue = AlpacaVenue(
            config_for(fake, **config), {AAPL: "USD", MSFT: "USD"}, events.append, credentials=KEYS
        )
        await venue.start()
        await venue.wait_ready()
        try:
            await scenario(venue, events)
        finally:
            await venue.stop()

    asyncio.run(main())
    return events


def of(events: list[OrderEvent], kind: type[Any], cid: str | None = None) -> list[Any]:
    return [e for e in events if isinstance(e, kind) and (cid is None or e.client_order_id == cid)]


def limit(side: int, quantity: int, price: int, **extra: Any) -> OrderSpec:
    return OrderSpec("AAPL.ALPACA", side, OrderType.LIMIT, quantity, price=price, **extra)


def test_limit_order_is_accepted_then_partially_and_fully_filled(fake: FakeAlpaca) -> None:
    async def scenario(venue: AlpacaVenue, events: list[OrderEvent]) -> None:
        venue.submit("S1-1", limit(0, 100, 18_995), 1, strategy_id="S1")
        await until(lambda: bool(of(events, OrderAccepted)))
        fake.fill("S1-1", "40", "189.95")
        fake.fill("S1-1", "60", "189.9")
        await until(lambda: len(of(events, OrderFilled)) == 2)

    events = run_venue(fake, scenario)
    order = fake.order_by_client_id("S1-1")
    assert (order["type"], order["limit_price"], order["qty"], order["side"]) == (
        "limit",
        "189.95",
        "100",
        "buy",
    )
    assert [type(e).__name__ for e in events] == ["OrderAccepted", "OrderFilled", "OrderFilled"]
    accepted, first, second = events
    assert accepted.venue_order_id == order["id"]
    assert [(f.last_price, f.last_quantity) for f in (first, second)] == [
        (18_995, 40),
        (18_990, 60),
    ]
    assert first.trade_id != second.trade_id
    assert first.currency == "USD"


def test_each_order_type_reaches_alpaca_with_its_prices(fake: FakeAlpaca) -> None:
    specs = {
        "M": OrderSpec("AAPL.ALPACA", 1, OrderType.MARKET, 5, time_in_force=TimeInForce.DAY),
        "S": OrderSpec("AAPL.ALPACA", 1, OrderType.STOP, 5, trigger_price=17_000),
        "SL": OrderSpec(
            "AAPL.ALPACA", 1, OrderType.STOP_LIMIT, 5, price=16_950, trigger_price=17_000
        ),
        "TP": OrderSpec(
            "AAPL.ALPACA", 1, OrderType.STOP, 5, trailing_offset=150, trailing_offset_type="PRICE"
        ),
        "TB": OrderSpec(
            "AAPL.ALPACA",
            1,
            OrderType.STOP,
            5,
            trailing_offset=125,
            trailing_offset_type="BASIS_POINTS",
        ),
        "IOC": limit(0, 5, 10_000, time_in_force=TimeInForce.IOC),
    }

    async def scenario(venue: AlpacaVenue, events: list[OrderEvent]) -> None:
        for cid, spec in specs.items():
            venue.submit(cid, spec, 1, strategy_id="S1")
        await until(lambda: len(of(events, OrderAccepted)) == len(specs))

    run_venue(fake, scenario)
    sent = {cid: fake.order_by_client_id(cid) for cid in specs}
    fields = ("type", "time_in_force", "limit_price", "stop_price", "trail_price", "trail_percent")
    assert {cid: tuple(order[f] for f in fields) for cid, order in sent.items()} == {
        "M": ("market", "day", None, None, None, None),
        "S": ("stop", "gtc", None, "170.0", None, None),
        "SL": ("stop_limit", "gtc", "169.5", "170.0", None, None),
        "TP": ("trailing_stop", "gtc", None, None, "1.5", None),
        "TB": ("trailing_stop", "gtc", None, None, None, "1.25"),
        "IOC": ("limit", "ioc", "100.0", None, None, None),
    }


def test_rejections_carry_alpacas_reason_and_unsupported_orders_never_leave(
    fake: FakeAlpaca,
) -> None:
    posts_before: list[int] = []

    async def scenario(venue: AlpacaVenue, events: list[OrderEvent]) -> None:
        venue.submit("BIG", limit(0, 10_000, 50_000), 1, strategy_id="S1")  # 5 M > buying power
        venue.submit("DUP", limit(0, 1, 10_000), 1, strategy_id="S1")
        await until(lambda: len(of(events, OrderAccepted)) == 1)
        venue._orders.pop("DUP")  # a second node session reusing an id Alpaca already has
        venue.submit("DUP", limit(0, 1, 10_000), 1, strategy_id="S1")
        await until(lambda: len(of(events, OrderRejected)) == 2)
        posts_before.append(sum(1 for m, p in fake.requests if m == "POST"))
        venue.submit(
            "GTD",
            limit(0, 1, 10_000, time_in_force=TimeInForce.GTD, expire_ts=10**19),
            1,
            strategy_id="S1",
        )
        venue.submit(
            "TSL",
            OrderSpec(
                "AAPL.ALPACA",
                1,
                OrderType.STOP_LIMIT,
                1,
                price=9_000,
                trigger_price=9_500,
                trailing_offset=10,
                trailing_offset_type="PRICE",
            ),
            1,
            strategy_id="S1",
        )
        await venue.drain()

    events = run_venue(fake, scenario)
    reasons = {e.client_order_id: e.reason for e in of(events, OrderRejected)}
    assert reasons == {
        "BIG": "FORBIDDEN: insufficient buying power",
        "DUP": "UNPROCESSABLE: client_order_id must be unique",
        "GTD": "UNSUPPORTED_TIME_IN_FORCE",
        "TSL": "UNSUPPORTED_TRAILING_STOP",
    }
    assert sum(1 for m, p in fake.requests if m == "POST") == posts_before[0]


def test_unknown_symbol_is_rejected_by_alpaca(fake: FakeAlpaca) -> None:
    async def scenario(venue: AlpacaVenue, events: list[OrderEvent]) -> None:
        venue.submit("X", OrderSpec("MSFT.ALPACA", 0, OrderType.MARKET, 1), 1, strategy_id="S1")
        await until(lambda: bool(of(events, OrderRejected)))

    fake.symbols.discard("MSFT")
    events = run_venue(fake, scenario)
    assert [e.reason for e in of(events, OrderRejected)] == ["UNPROCESSABLE: asset MSFT not found"]


def test_replace_updates_the_order_and_later_fills_stay_on_it(fake: FakeAlpaca) -> None:
    async def scenario(venue: AlpacaVenue, events: list[OrderEvent]) -> None:
        venue.submit("R", limit(0, 10, 10_000), 1, strategy_id="S1")
        await until(lambda: bool(of(events, OrderAccepted)))
        fake.fill("R", "3", "100")
        await until(lambda: bool(of(events, OrderFilled)))
        venue.modify("R", 20, 10_050, None, 2)
        await until(lambda: bool(of(events, OrderUpdated)))
        fake.fill("R.r1", "17", "100.5")
        await until(lambda: len(of(events, OrderFilled)) == 2)
        venue.modify("R", None, 10_100, None, 3)  # the order is closed now
        await venue.drain()

    events = run_venue(fake, scenario)
    (updated,) = of(events, OrderUpdated)
    assert (updated.quantity, updated.price, updated.trigger_price) == (20, 10_050, None)
    fills = of(events, OrderFilled, "R")
    assert [(f.last_quantity, f.last_price) for f in fills] == [(3, 10_000), (17, 10_050)]
    new_order = fake.order_by_client_id("R.r1")
    assert fills[1].venue_order_id == new_order["id"]
    assert new_order["replaces"] == fake.order_by_client_id("R")["id"]
    assert (new_order["qty"], new_order["limit_price"]) == ("20", "100.5")
    assert [e.reason for e in of(events, OrderModifyRejected)] == ["ORDER_CLOSED"]


def test_cancel_and_cancel_after_an_unseen_fill(fake: FakeAlpaca) -> None:
    async def scenario(venue: AlpacaVenue, events: list[OrderEvent]) -> None:
        venue.submit("C1", limit(0, 5, 10_000), 1, strategy_id="S1")
        venue.submit("C2", limit(0, 5, 10_000), 1, strategy_id="S1")
        venue.cancel("C1", 2)  # sent right behind its submit: the REST thread keeps the order
        await until(lambda: bool(of(events, OrderCanceled)) and len(of(events, OrderAccepted)) == 2)
        fake.fill("C2", "5", "100", broadcast=False)
        venue.cancel("C2", 3)
        venue.modify("C2", None, 9_900, None, 3)
        await until(
            lambda: bool(of(events, OrderCancelRejected)) and bool(of(events, OrderModifyRejected))
        )

    events = run_venue(fake, scenario)
    assert [(e.client_order_id, e.reason) for e in of(events, OrderCanceled)] == [
        ("C1", "REQUESTED")
    ]
    assert [e.reason for e in of(events, OrderCancelRejected)] == [
        "UNPROCESSABLE: order is not cancelable"
    ]
    assert [e.reason for e in of(events, OrderModifyRejected)] == [
        "UNPROCESSABLE: order is not replaceable"
    ]


def test_native_bracket_releases_legs_and_one_exit_cancels_the_other(fake: FakeAlpaca) -> None:
    bracket = make_bracket(
        "S1",
        limit(0, 10, 10_000),
        take_profit_price=10_500,
        stop_loss_trigger=9_500,
        client_order_ids=("E", "TP", "SL"),
        order_list_id="L1",
        ts=1,
    )

    async def scenario(venue: AlpacaVenue, events: list[OrderEvent]) -> None:
        venue.submit_order_list(bracket, 1)
        await until(lambda: bool(of(events, OrderAccepted, "E")))
        fake.fill("E", "10", "100")
        await until(lambda: len(of(events, OrderAccepted)) == 3)
        take_profit_id = venue._alpaca_ids["TP"]
        fake.fill(fake.orders[take_profit_id]["client_order_id"], "10", "105")
        await until(lambda: bool(of(events, OrderCanceled)))

    events = run_venue(fake, scenario)
    entry = fake.order_by_client_id("E")
    assert entry["order_class"] == "bracket"
    assert [
        (leg["type"], leg["side"], leg["limit_price"], leg["stop_price"]) for leg in entry["legs"]
    ] == [
        ("limit", "sell", "105.0", None),
        ("stop", "sell", None, "95.0"),
    ]
    assert [(e.client_order_id, e.last_price) for e in of(events, OrderFilled)] == [
        ("E", 10_000),
        ("TP", 10_500),
    ]
    assert [(e.client_order_id, e.reason) for e in of(events, OrderCanceled)] == [("SL", "OCO")]


def test_native_oco_pair(fake: FakeAlpaca) -> None:
    common = {"order_list_id": "O1", "contingency": "OCO"}
    pair = [
        SubmitOrder("S1", "OTP", limit(1, 5, 11_000, **common), 1),
        SubmitOrder(
            "S1",
            "OSL",
            OrderSpec("AAPL.ALPACA", 1, OrderType.STOP, 5, trigger_price=9_000, **common),
            1,
        ),
    ]

    async def scenario(venue: AlpacaVenue, events: list[OrderEvent]) -> None:
        venue.submit_order_list(pair, 1)
        await until(lambda: len(of(events, OrderAccepted)) == 2)
        stop_id = venue._alpaca_ids["OSL"]
        fake.fill(fake.orders[stop_id]["client_order_id"], "5", "89.5")
        await until(lambda: bool(of(events, OrderCanceled)))
        gtd = limit(0, 5, 10_000, time_in_force=TimeInForce.GTD, expire_ts=10**19)
        venue.submit_order_list(
            make_bracket(
                "S1",
                gtd,
                take_profit_price=10_500,
                stop_loss_trigger=9_500,
                client_order_ids=("GE", "GTP", "GSL"),
                order_list_id="L2",
                ts=2,
            ),
            2,
        )
        lonely = SubmitOrder("S1", "LONE", limit(1, 5, 11_000, **common), 2)
        with pytest.raises(InvalidValue, match="INVALID_ORDER_LIST"):
            venue.submit_order_list([lonely], 2)
        assert "LONE" not in venue.open_orders()

    events = run_venue(fake, scenario)
    top = fake.order_by_client_id("OTP")
    assert (top["order_class"], top["limit_price"], top["legs"][0]["stop_price"]) == (
        "oco",
        "110.0",
        "90.0",
    )
    assert [(e.client_order_id, e.last_price) for e in of(events, OrderFilled)] == [("OSL", 8_950)]
    assert [(e.client_order_id, e.reason) for e in of(events, OrderCanceled)] == [("OTP", "OCO")]
    assert [(e.client_order_id, e.reason) for e in of(events, OrderRejected)] == [
        ("GE", "UNSUPPORTED_TIME_IN_FORCE"),
        ("GTP", "UNSUPPORTED_TIME_IN_FORCE"),
        ("GSL", "UNSUPPORTED_TIME_IN_FORCE"),
    ]
    assert sum(1 for m, p in fake.requests if m == "POST") == 1


def test_account_positions_and_orders(fake: FakeAlpaca) -> None:
    found: dict[str, Any] = {}

    async def scenario(venue: AlpacaVenue, events: list[OrderEvent]) -> None:
        venue.submit("P", limit(0, 7, 10_000), 1, strategy_id="S1")
        venue.submit("Q", limit(0, 2, 9_000), 1, strategy_id="S1")
        await until(lambda: len(of(events, OrderAccepted)) == 2)
        fake.fill("P", "7", "100")
        await until(lambda: bool(of(events, OrderFilled)))
        found["account"] = await venue.account()
        found["positions"] = await venue.positions()
        found["open"] = [o.client_order_id for o in await venue.venue_orders("open")]
        with pytest.raises(InvalidValue, match="INVALID_STATUS"):
            await venue.venue_orders("pending")

    run_venue(fake, scenario)
    account = found["account"]
    assert (account.cash, account.equity, account.buying_power) == (
        100_000_250_000_000_000,
        100_500_750_000_000_000,
        100_000 * 10**12,
    )
    (position,) = found["positions"]
    assert (position.instrument_id, position.quantity, str(position.average_price)) == (
        "AAPL.ALPACA",
        7,
        "100.5",
    )
    assert found["open"] == ["Q"]


def test_malformed_trade_updates_are_counted_and_skipped(fake: FakeAlpaca) -> None:
    stats: dict[str, int] = {}

    async def scenario(venue: AlpacaVenue, events: list[OrderEvent]) -> None:
        venue.submit("G", limit(0, 10, 10_000), 1, strategy_id="S1")
        await until(lambda: bool(of(events, OrderAccepted)))
        fake.send_trading_raw(b"\x00not json")
        fake.send_trading_raw(b"[1, 2]")
        fake.send_trading_raw(b'{"stream": "trade_updates", "data": {"event": "fill"}}')
        fake.send_trade_update("fill", "G", execution_id="x1", price="100.001", qty="1")  # off grid
        fake.send_trade_update("fill", "G", execution_id="x2", price="100", qty="11")  # overfill
        fake.send_trade_update("teleported", "G")
        fake.send_trade_update("pending_cancel", "G")
        fake.external_order("MSFT")
        fake.fill("G", "4", "100")
        await until(lambda: bool(of(events, OrderFilled)))
        stats.update(
            malformed=venue.stats.malformed,
            ignored=venue.stats.ignored,
            unknown=venue.stats.unknown_orders,
        )

    events = run_venue(fake, scenario)
    assert stats == {"malformed": 6, "ignored": 1, "unknown": 1}
    assert [(e.last_quantity, e.last_price) for e in of(events, OrderFilled)] == [(4, 10_000)]


def test_trading_stream_reconnects_and_resyncs_missed_fills(fake: FakeAlpaca) -> None:
    async def scenario(venue: AlpacaVenue, events: list[OrderEvent]) -> None:
        venue.submit("D", limit(0, 10, 10_000), 1, strategy_id="S1")
        venue.submit("E", limit(0, 10, 10_000), 1, strategy_id="S1")
        await until(lambda: len(of(events, OrderAccepted)) == 2)
        fake.fill("D", "4", "100")
        await until(lambda: bool(of(events, OrderFilled)))
        fake.drop_trading()
        fake.fill("D", "6", "101", broadcast=False)  # happens while we are away
        fake.call(lambda: fake.orders[venue._alpaca_ids["E"]].update(status="canceled"))
        await until(lambda: venue.session.connections == 2)
        await until(lambda: len(of(events, OrderFilled)) == 2 and bool(of(events, OrderCanceled)))
        fake.send_trade_update("fill", "D", execution_id="late", price="101", qty="1")
        await until(lambda: venue.stats.malformed == 1)  # a fill beyond the order: skipped
        assert venue.stats.resyncs == 1

    events = run_venue(fake, scenario)
    fills = of(events, OrderFilled, "D")
    assert [(f.last_quantity, f.last_price) for f in fills] == [(4, 10_000), (6, 10_100)]
    assert [(e.client_order_id, e.reason) for e in of(events, OrderCanceled)] == [("E", "VENUE")]
    assert fake.trading_connections == 2


class Recorder:
    def __init__(self) -> None:
        self.quotes: list[Quote] = []
        self.trades: list[Trade] = []
        self.bars: list[Bar] = []

    def process_quote(self, quote: Quote) -> None:
        self.quotes.append(quote)

    def process_trade(self, trade: Trade) -> None:
        self.trades.append(trade)

    def process_bar(self, bar: Bar) -> None:
        self.bars.append(bar)


T0 = 1_700_000_000_123_456_789


def run_data(
    fake: FakeAlpaca, scenario: Callable[[AlpacaMarketData, Recorder], Awaitable[None]]
) -> Recorder:
    recorder = Recorder()

    async def main() -> None:
        stream = AlpacaMarketData(
            config_for(fake), [AAPL, MSFT], recorder, credentials=KEYS, clock_ns=lambda: 42
        )
        await stream.start()
        await stream.wait_ready()
        try:
            await scenario(stream, recorder)
        finally:
            await stream.stop()

    asyncio.run(main())
    return recorder


def test_market_data_stream_becomes_model_events(fake: FakeAlpaca) -> None:
    stats: dict[str, int] = {}

    async def scenario(stream: AlpacaMarketData, recorder: Recorder) -> None:
        fake.publish(
            [
                {"T": "q", "S": "AAPL", "bp": 189.95, "bs": 300, "ap": 190.01, "as": 100, "t": T0},
                {"T": "t", "S": "MSFT", "p": 410.5, "s": 25, "i": 7781, "t": T0 + 1},
                {
                    "T": "b",
                    "S": "AAPL",
                    "o": 189.9,
                    "h": 190.2,
                    "l": 189.5,
                    "c": 190.0,
                    "v": 12000,
                    "t": T0,
                },
                {"T": "q", "S": "AAPL", "bp": 189.955, "bs": 1, "ap": 190.0, "as": 1, "t": T0},
                {"T": "t", "S": "AAPL", "p": "x", "t": T0},
                {"T": "s", "S": "AAPL", "sc": "H"},
                {
                    "T": "b",
                    "S": "AAPL",
                    "o": 189.9,
                    "h": 189.0,
                    "l": 189.5,
                    "c": 190.0,
                    "v": 1,
                    "t": T0,
                },
            ]
        )
        fake.publish([{"T": "error", "code": 405, "msg": "symbol limit exceeded"}])
        fake.send_data_raw(b"\xc1garbage")
        fake.send_data_raw("text frame")
        fake.publish([{"T": "t", "S": "AAPL", "p": 190.02, "s": 3, "i": 9, "t": T0 + 2}])
        await until(lambda: len(recorder.trades) == 2)
        stats.update(
            malformed=stream.stats.malformed,
            ignored=stream.stats.ignored,
            quotes=stream.stats.quotes,
            errors=stream.stats.errors,
        )

    recorder = run_data(fake, scenario)
    assert recorder.quotes == [Quote("AAPL.ALPACA", 18_995, 300, 19_001, 100, T0, 42)]
    assert recorder.trades == [
        Trade("MSFT.ALPACA", 41_050, 25, -1, "7781", T0 + 1, 42),
        Trade("AAPL.ALPACA", 19_002, 3, -1, "9", T0 + 2, 42),
    ]
    assert recorder.bars == [
        Bar("AAPL.ALPACA", "1-MINUTE", 18_990, 19_020, 18_950, 19_000, 12_000, T0 + 60 * 10**9, 42)
    ]
    assert stats == {"malformed": 5, "ignored": 1, "quotes": 1, "errors": 1}
    assert fake.subscriptions[0] == {
        "bars": ["AAPL", "MSFT"],
        "quotes": ["AAPL", "MSFT"],
        "trades": ["AAPL", "MSFT"],
    }


def test_market_data_stream_reconnects_and_resubscribes(fake: FakeAlpaca) -> None:
    async def scenario(stream: AlpacaMarketData, recorder: Recorder) -> None:
        fake.publish([{"T": "t", "S": "AAPL", "p": 190.0, "s": 1, "i": 1, "t": T0}])
        await until(lambda: len(recorder.trades) == 1)
        fake.drop_data()
        await until(lambda: stream.session.connections == 2)
        fake.publish([{"T": "t", "S": "AAPL", "p": 191.0, "s": 2, "i": 2, "t": T0 + 5}])
        await until(lambda: len(recorder.trades) == 2)

    recorder = run_data(fake, scenario)
    assert [(t.price, t.trade_id) for t in recorder.trades] == [(19_000, "1"), (19_100, "2")]
    assert fake.data_connections == 2
    assert fake.subscriptions[0] == fake.subscriptions[1]


def test_historical_bars_go_into_the_catalog_page_by_page(fake: FakeAlpaca, tmp_path: Any) -> None:
    day = 86_400 * 10**9
    fake.bars["AAPL"] = [
        {
            "t": f"2024-01-0{d}T05:00:00Z",
            "o": 100 + d,
            "h": 101 + d,
            "l": 99 + d,
            "c": 100.5 + d,
            "v": 1000 * d,
            "n": 5,
            "vw": 100.0,
        }
        for d in range(2, 7)
    ]
    fake.bars["AAPL"][2]["c"] = 104.123  # off the grid: skipped, counted
    catalog = DataCatalog(tmp_path)
    info, history = import_bars(
        catalog,
        config_for(fake),
        AAPL,
        "2024-01-01",
        "2024-02-01",
        bar_type="1-DAY",
        credentials=KEYS,
    )
    assert history.skipped == 1
    assert info.rows == 4
    stored = catalog.read("AAPL.ALPACA", "bars", bar_type="1-DAY").to_pylist()
    first_close = 1_704_171_600 * 10**9 + day
    assert [(r["ts_event"], r["open"], r["close"], r["volume"]) for r in stored] == [
        (first_close, 10_200, 10_250, 2_000),
        (first_close + day, 10_300, 10_350, 3_000),
        (first_close + 3 * day, 10_500, 10_550, 5_000),
        (first_close + 4 * day, 10_600, 10_650, 6_000),
    ]
    assert sum(1 for m, p in fake.requests if p == "/v2/stocks/bars") == 3
    with pytest.raises(InvalidValue, match="UNSUPPORTED_BAR_TYPE"):
        import_bars(
            catalog,
            config_for(fake),
            AAPL,
            "2024-01-01",
            "2024-02-01",
            bar_type="5-SECOND",
            credentials=KEYS,
        )


def test_a_silent_server_times_out_and_the_order_is_found(
    fake: FakeAlpaca, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(venue: AlpacaVenue, events: list[OrderEvent]) -> None:
        fake.lose_next = "stall"
        venue.submit("SLOW", limit(0, 1, 10_000), 1, strategy_id="S1")
        await venue.drain()
        await until(lambda: bool(of(events, OrderAccepted)))

    with caplog.at_level(logging.WARNING, logger="hftcore.venues.alpaca.execution"):
        events = run_venue(fake, scenario, rest_timeout_s=0.3)
    assert "submit of SLOW" in caplog.text
    assert "Read timed out. (read timeout=0.3)" in caplog.text
    assert [e.client_order_id for e in events] == ["SLOW"]
    assert of(events, OrderAccepted)[0].venue_order_id == fake.order_by_client_id("SLOW")["id"]


def test_config_and_credentials_are_checked() -> None:
    with pytest.raises(
        ConfigError, match="MISSING_CREDENTIALS: set the environment variable APCA_API_SECRET_KEY"
    ):
        AlpacaCredentials.from_environment({"APCA_API_KEY_ID": "k"})
    keys = AlpacaCredentials.from_environment(
        {"APCA_API_KEY_ID": "k1", "APCA_API_SECRET_KEY": "s1"}
    )
    assert (keys.key_id, keys.secret_key) == ("k1", "s1")
    assert "s1" not in repr(keys)
    with pytest.raises(ConfigError, match="trading_url"):
        AlpacaConfig(trading_url="ftp://x")
    with pytest.raises(ConfigError, match="rest_timeout_s"):
        AlpacaConfig(rest_timeout_s=0)
    with pytest.raises(ConfigError, match="reconnect_min_backoff_s"):
        load_alpaca_config({"reconnect_min_backoff_s": -1})
    with pytest.raises(ConfigError, match="INVALID_CONFIG"):
        load_alpaca_config({"paper": True, "papr": False})
    config = load_alpaca_config({"paper": False, "symbols": {"BTCUSD.ALPACA": "BTC/USD"}})
    assert config.symbol_of("BTCUSD.ALPACA") == "BTC/USD"
    assert config.symbol_of("AAPL.ALPACA") == "AAPL"
    live = AlpacaVenue(config, {AAPL: "USD"}, credentials=keys)
    paper = AlpacaVenue(AlpacaConfig(), {AAPL: "USD"}, credentials=keys)
    assert live.rest._base_url == "https://api.alpaca.markets"
    assert paper.rest._base_url == "https://paper-api.alpaca.markets"
    assert live._stream._endpoint == "wss://api.alpaca.markets/stream"
    assert paper._stream._endpoint == "wss://paper-api.alpaca.markets/stream"
    with pytest.raises(
        ConfigError, match="INVALID_HANDLER: the market data handler has no process_quote"
    ):
        AlpacaMarketData(config, [AAPL], object(), credentials=keys)
    with pytest.raises(ConfigError, match="INVALID_INSTRUMENTS"):
        AlpacaMarketData(config, [], Recorder(), credentials=keys)
    with pytest.raises(ConfigError, match="INVALID_CONFIG"):
        AlpacaMarketData(
            config, [AAPL], Recorder(), credentials=keys, quotes=False, trades=False, bars=False
        )
    paper.set_event_sink(lambda event: None)
    with pytest.raises(ConfigError, match="NOT_STARTED"):
        paper.submit("A", limit(0, 1, 100), 1, strategy_id="S1")
    assert paper.open_orders() == []


class BuyOnFirstQuote(Strategy):
    """Joins the bid with a 10-lot buy on the first quote, then replaces it one tick higher
    once accepted."""

    def __init__(self, strategy_id: str) -> None:
        super().__init__(strategy_id)
        self.order_id: str | None = None
        self.events: list[str] = []

    def on_start(self) -> None:
        self.subscribe_quotes("AAPL.ALPACA")

    def on_quote(self, quote: Quote) -> None:
        if self.order_id is None:
            self.order_id = self.submit_order(Strategy.limit("AAPL.ALPACA", 0, 10, quote.bid_price))

    def on_order_event(self, event: OrderEvent) -> None:
        self.events.append(type(event).__name__)
        if isinstance(event, OrderAccepted) and self.order_id is not None:
            self.modify_order(self.order_id, price=18_996)


def test_trading_node_runs_a_strategy_on_alpaca_data_and_orders(fake: FakeAlpaca) -> None:
    config = NodeConfig(
        node=NodeSection(mode="live"),
        instruments=[InstrumentConfig("AAPL.ALPACA", "0.01", 2, "1", 0)],
    )
    strategy = BuyOnFirstQuote("S1")
    found: dict[str, Any] = {}

    async def main() -> None:
        node = TradingNode(config, clock=LiveClock())
        venue = AlpacaVenue(config_for(fake), {AAPL: "USD"}, credentials=KEYS)
        node.add_venue("ALPACA", venue)
        node.add_strategy(strategy)
        data = AlpacaMarketData(config_for(fake), [AAPL], node, credentials=KEYS, bars=False)
        await venue.start()
        await data.start()
        await venue.wait_ready()
        await data.wait_ready()
        node.start()
        fake.publish(
            [{"T": "q", "S": "AAPL", "bp": 189.95, "bs": 300, "ap": 190.01, "as": 100, "t": T0}]
        )
        await until(lambda: "OrderUpdated" in strategy.events)
        assert strategy.order_id is not None
        fake.fill(f"{strategy.order_id}.r1", "10", "189.96")
        await until(lambda: "OrderFilled" in strategy.events)
        found["net"] = node.portfolio.net_quantity("AAPL.ALPACA", "S1")
        found["order"] = node.execution.oms.order(strategy.order_id)
        node.stop()
        await data.stop()
        await venue.stop()

    asyncio.run(main())
    assert strategy.events == [
        "OrderInitialized",
        "OrderSubmitted",
        "OrderAccepted",
        "OrderPendingUpdate",
        "OrderUpdated",
        "OrderFilled",
    ]
    assert found["net"] == 10
    order = found["order"]
    assert (order.status.name, order.filled_quantity, order.spec.price) == ("FILLED", 10, 18_996)
    assert fake.order_by_client_id(strategy.order_id or "")["limit_price"] == "189.95"


def test_a_lost_submit_answer_is_recovered_by_client_order_id(fake: FakeAlpaca) -> None:
    async def scenario(venue: AlpacaVenue, events: list[OrderEvent]) -> None:
        fake.lose_next = "answer"
        venue.submit("LOST", limit(0, 1, 10_000), 1, strategy_id="S1")
        await venue.drain()
        fake.lose_next = "request"
        venue.submit("NEVER", limit(0, 1, 10_000), 1, strategy_id="S1")
        await venue.drain()
        await until(lambda: bool(of(events, OrderAccepted)))

    events = run_venue(fake, scenario)
    assert [e.client_order_id for e in of(events, OrderAccepted)] == ["LOST"]
    assert fake.order_by_client_id("LOST")["status"] == "new"
    assert of(events, OrderAccepted)[0].venue_order_id == fake.order_by_client_id("LOST")["id"]
    (rejected,) = of(events, OrderRejected)
    assert rejected.client_order_id == "NEVER"
    assert rejected.reason.startswith("VENUE_UNREACHABLE: ConnectionError")
    assert all(o["client_order_id"] != "NEVER" for o in fake.orders.values())


@pytest.mark.parametrize(
    ("seconds", "nanoseconds"),
    [(1_700_000_000, 0), (1_700_000_000, 123_456_789), (2**35, 5), (-5, 7)],
)
def test_msgpack_timestamps_of_every_width_are_exact_to_the_ns(
    seconds: int, nanoseconds: int
) -> None:
    packed = msgpack.packb(
        {"T": "t", "S": "A", "p": 1.0, "s": 1, "t": msgpack.Timestamp(seconds, nanoseconds)}
    )
    message = MESSAGE_DECODER.decode(packed)
    assert timestamp_ns(message.t) == seconds * 10**9 + nanoseconds
    assert timestamp_ns("2024-01-02T14:30:00.123456789Z") == 1_704_205_800_123_456_789


def test_an_extension_that_is_not_a_timestamp_is_refused() -> None:
    packed = msgpack.packb({"T": "t", "S": "A", "p": 1.0, "s": 1, "t": msgpack.ExtType(5, b"1234")})
    with pytest.raises(InvalidData, match="BAD_TIMESTAMP"):
        timestamp_ns(MESSAGE_DECODER.decode(packed).t)


BTC = Instrument("BTCUSD.ALPACA", "0.01", 2, "0.0001", 4)


def test_crypto_stream_and_history_use_the_configured_symbol(
    fake: FakeAlpaca, tmp_path: Any
) -> None:
    config = config_for(fake, asset_class="crypto", symbols={"BTCUSD.ALPACA": "BTC/USD"})
    recorder = Recorder()

    async def main() -> None:
        stream = AlpacaMarketData(config, [BTC], recorder, credentials=KEYS, clock_ns=lambda: 7)
        await stream.start()
        await stream.wait_ready()
        fake.publish(
            [
                {"T": "t", "S": "BTC/USD", "p": 64_000.5, "s": 0.0123, "i": 5, "tks": "S", "t": T0},
                {
                    "T": "t",
                    "S": "BTC/USD",
                    "p": 64_001.0,
                    "s": 0.5,
                    "i": 6,
                    "tks": "B",
                    "t": T0 + 1,
                },
            ]
        )
        await until(lambda: len(recorder.trades) == 2)
        await stream.stop()

    asyncio.run(main())
    assert recorder.trades == [
        Trade("BTCUSD.ALPACA", 6_400_050, 123, 1, "5", T0, 7),
        Trade("BTCUSD.ALPACA", 6_400_100, 5_000, 0, "6", T0 + 1, 7),
    ]
    assert fake.subscriptions[0]["trades"] == ["BTC/USD"]
    fake.bars["BTC/USD"] = [
        {
            "t": "2024-03-01T10:00:00Z",
            "o": 61_000.0,
            "h": 61_500.25,
            "l": 60_900.0,
            "c": 61_200.0,
            "v": 12.3456,
        }
    ]
    catalog = DataCatalog(tmp_path)
    info, history = import_bars(
        catalog, config, BTC, "2024-03-01", "2024-03-02", bar_type="1-HOUR", credentials=KEYS
    )
    assert (info.rows, history.skipped) == (1, 0)
    (bar,) = history.bars
    assert (bar.high, bar.volume, bar.ts_event) == (6_150_025, 123_456, 1_709_290_800 * 10**9)
    assert ("GET", "/v1beta3/crypto/us/bars") in fake.requests


def test_without_alpaca_py_the_import_names_the_extra() -> None:
    script = (
        "import sys\n"
        "sys.modules['alpaca'] = None\n"
        "from hftcore.errors import ConfigError\n"
        "try:\n"
        "    import hftcore.venues.alpaca\n"
        "except ConfigError as error:\n"
        "    print(error.code, error.message)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.startswith("MISSING_DEPENDENCY hftcore.venues.alpaca needs alpaca-py")
    assert "pip install 'hftcore[alpaca]'" in result.stdout
