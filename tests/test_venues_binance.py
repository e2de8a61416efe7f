"""Binance spot adapter against a local Binance (tests/binance_fake.py): depth synchronisation
in every documented situation, trades and book ticker, signed order entry and the user data
stream. After each scenario the client's book equals the market's reference book (a dict
replayed from the market's own log of changes)."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import pytest
from binance_fake import (
    STREAM,
    FakeBinance,
    Market,
    close,
    corrupted,
    emit,
    happen_unseen,
    ping_client,
    raw,
    release_snapshot,
    swapped,
    wait_depth_requests,
    wait_snapshot_request,
)
from hftcore import Instrument, OrderBookL2
from hftcore._core import BinanceDepthUpdate, decode_binance_depth
from hftcore.errors import ConfigError, InvalidValue
from hftcore.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderFilled,
    OrderRejected,
    OrderSpec,
)
from hftcore.model.orders import OrderType, PostOnly, TimeInForce
from hftcore.venues.binance import (
    BinanceConfig,
    BinanceExecution,
    BinanceMarketData,
    DepthSync,
    sign,
)
from hftcore.venues.binance.wire import DepthSnapshot
from hftcore.venues.live import (
    FeedCounters,
    RateLimit,
    ReconnectPolicy,
    WireNumbers,
)
from live_helpers import RecordingHandler

BTC = Instrument("BTCUSDT.BINANCE", "0.01", 2, "0.00001", 5)
FAST = ReconnectPolicy(initial_delay_s=0.01, max_delay_s=0.05)


def config(server: FakeBinance, **overrides: Any) -> BinanceConfig:
    return BinanceConfig(
        ws_url=server.ws_url,
        rest_url=server.rest_url,
        reconnect=FAST,
        snapshot_retry_delay_s=0.01,
        **overrides,
    )


def levels(book: OrderBookL2) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    return book.levels(0), book.levels(1)


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), timeout)


def run_scenario(
    scripts: Callable[[FakeBinance], list[list[Any]]],
    prepare: Callable[[FakeBinance], None] | None = None,
) -> tuple[FakeBinance, BinanceMarketData, RecordingHandler]:
    """Plays ``scripts`` against a feed until the server is done and the book has caught up
    with the market."""

    async def main() -> tuple[FakeBinance, BinanceMarketData, RecordingHandler]:
        market = Market()
        async with FakeBinance(market, []) as server:
            server.scripts = scripts(server)
            if prepare is not None:
                prepare(server)
            handler = RecordingHandler()
            feed = BinanceMarketData(config(server), [BTC], handler, rng=random.Random(3))
            task = asyncio.ensure_future(feed.run())
            sync = feed.syncs[BTC.instrument_id]
            await asyncio.wait_for(server.scripts_done.wait(), 10)
            await until(lambda: sync.state == "LIVE" and sync.last_update_id == market.last_id)
            await feed.stop()
            await task
            return server, feed, handler

    return asyncio.run(main())


def assert_book_is_market(feed: BinanceMarketData, market: Market) -> None:
    assert levels(feed.book(BTC.instrument_id)) == market.expected_levels()


def test_normal_flow_applies_buffered_updates_after_the_snapshot() -> None:
    hold = asyncio.Event()

    def scripts(server: FakeBinance) -> list[list[Any]]:
        server.snapshot_hold = hold
        # the snapshot is taken after 3 events but answered after 3 more: those 3 are
        # buffered, kept (u > lastUpdateId) and applied after the snapshot
        return [
            [
                emit(3),
                wait_snapshot_request(),
                emit(3),
                release_snapshot(hold),
                ping_client(),
                emit(30),
            ]
        ]

    server, feed, handler = run_scenario(scripts)
    assert_book_is_market(feed, server.market)
    counters = feed.counters
    assert (counters.gaps, counters.malformed, server.depth_requests) == (0, 0, 1)
    # one book callback for the snapshot, then one per applied event (33 after it)
    assert len(handler.book_updates) == 1 + 33
    assert handler.book_updates[1][2] > 0  # event time in ns
    assert server.pongs == 1


def test_gap_resynchronises_from_a_new_snapshot() -> None:
    def scripts(server: FakeBinance) -> list[list[Any]]:
        return [[emit(5), wait_snapshot_request(), emit(5), happen_unseen(1), emit(10)]]

    server, feed, handler = run_scenario(scripts)
    assert_book_is_market(feed, server.market)
    assert feed.counters.gaps == 1
    assert server.depth_requests == 2
    # the gap, then the disconnection when the test stops the feed
    assert handler.invalidations == [
        (BTC.instrument_id, "gap"),
        (BTC.instrument_id, "disconnected"),
    ]


def test_out_of_order_updates_are_detected_and_the_stale_one_ignored() -> None:
    def scripts(server: FakeBinance) -> list[list[Any]]:
        return [[emit(4), wait_snapshot_request(), emit(4), swapped(), emit(10)]]

    server, feed, _ = run_scenario(scripts)
    assert_book_is_market(feed, server.market)
    assert feed.counters.gaps >= 1
    assert feed.counters.stale >= 1
    assert server.depth_requests == 2


def test_a_snapshot_older_than_the_buffer_is_fetched_again() -> None:
    def prepare(server: FakeBinance) -> None:
        server.stale_snapshots = [server.market.last_id - 5]

    def scripts(server: FakeBinance) -> list[list[Any]]:
        return [[emit(3), wait_snapshot_request(), emit(3), wait_snapshot_request(), emit(5)]]

    server, feed, _ = run_scenario(scripts, prepare)
    assert_book_is_market(feed, server.market)
    assert server.depth_requests == 2
    assert feed.counters.gaps == 0


def test_garbage_frames_are_counted_and_skipped_and_a_damaged_update_resyncs() -> None:
    def scripts(server: FakeBinance) -> list[list[Any]]:
        return [
            [
                emit(3),
                wait_snapshot_request(),
                emit(3),
                raw("not json at all"),
                raw(b"\x00\xff\x10"),
                raw(json.dumps({"stream": STREAM, "data": {"e": "depthUpdate", "U": 1}})),
                raw(json.dumps({"stream": "ethusdt@trade", "data": {}})),
                raw(json.dumps({"result": None, "id": 1})),
                emit(3),
                # a real update arrives with an off-grid price: skipped whole, then resync
                corrupted(('"b": [["', '"b": [["0.001", "1.0"], ["')),
                emit(5),
                wait_snapshot_request(),
                emit(5),
            ]
        ]

    server, feed, handler = run_scenario(scripts)
    assert_book_is_market(feed, server.market)
    counters = feed.counters
    assert counters.malformed == 5  # text, binary, missing fields, no stream, off-grid
    assert counters.unexpected == 1  # a stream never subscribed
    assert (BTC.instrument_id, "malformed update") in handler.invalidations
    assert server.depth_requests == 2


def test_disconnect_mid_stream_reconnects_resubscribes_and_resyncs() -> None:
    def scripts(server: FakeBinance) -> list[list[Any]]:
        return [
            [emit(3), wait_snapshot_request(), emit(6), close()],
            [happen_unseen(4), emit(2), wait_snapshot_request(), emit(8)],
        ]

    server, feed, handler = run_scenario(scripts)
    assert_book_is_market(feed, server.market)
    assert server.connections == 2
    assert server.paths[0] == server.paths[1]  # the same streams again
    assert "btcusdt@depth@100ms" in server.paths[0]
    assert "btcusdt@trade" in server.paths[0]
    assert feed.counters.connects == 2
    assert feed.counters.disconnects >= 1
    assert (BTC.instrument_id, "disconnected") in handler.invalidations
    assert server.depth_requests == 2


def test_trades_and_book_ticker_become_model_events() -> None:
    trade = {
        "stream": "btcusdt@trade",
        "data": {
            "e": "trade",
            "E": 1_700_000_000_123,
            "s": "BTCUSDT",
            "t": 42,
            "p": "65000.01000000",
            "q": "0.12345000",
            "T": 1_700_000_000_120,
            "m": True,
            "M": True,
        },
    }
    buy = {**trade, "data": {**trade["data"], "t": 43, "m": False}}  # type: ignore[dict-item]
    ticker = {
        "stream": "btcusdt@bookTicker",
        "data": {
            "u": 400900217,
            "s": "BTCUSDT",
            "b": "64999.99000000",
            "B": "1.50000000",
            "a": "65000.02000000",
            "A": "0.00100000",
        },
    }
    bad_trade = {**trade, "data": {**trade["data"], "q": "0.00000000"}}  # type: ignore[dict-item]
    # the same stream with its keys the other way round: read by the slower, general path
    reordered = {"data": {**trade["data"], "t": 44}, "stream": "btcusdt@trade"}  # type: ignore[dict-item]

    def scripts(server: FakeBinance) -> list[list[Any]]:
        return [
            [
                raw(json.dumps(trade)),
                raw(json.dumps(buy)),
                raw(json.dumps(bad_trade)),
                raw(json.dumps(ticker)),
                raw(json.dumps(reordered)),
                emit(2),
                wait_snapshot_request(),
                emit(2),
            ]
        ]

    _server, feed, handler = run_scenario(scripts)
    first, second, third = handler.trades
    assert (first.price, first.size, first.aggressor_side, first.trade_id) == (
        6500001,
        12345,
        1,
        "42",
    )
    assert first.ts_event == 1_700_000_000_120_000_000
    assert second.aggressor_side == 0
    assert third.trade_id == "44"
    (quote,) = handler.quotes
    assert (quote.bid_price, quote.bid_size, quote.ask_price, quote.ask_size) == (
        6499999,
        150000,
        6500002,
        100,
    )
    assert feed.counters.malformed == 1


# ----- DepthSync alone: the book is never touched by what cannot be applied --------------------


def _update(event: Any, *, extra_ask: tuple[str, str] | None = None) -> BinanceDepthUpdate:
    frame = json.loads(event.frame(STREAM))
    if extra_ask is not None:
        frame["data"]["a"].append(list(extra_ask))
    return decode_binance_depth(json.dumps(frame).encode(), BTC)


def test_depth_sync_never_applies_part_of_a_bad_update() -> None:
    market = Market(seed=9)
    handler = RecordingHandler()
    book = OrderBookL2(BTC)
    sync = DepthSync(BTC.instrument_id, WireNumbers(BTC), book, handler, counters=FeedCounters())
    first = market.event()
    sync.on_update(_update(first), 1)
    assert sync.wants_snapshot
    snapshot = msgspec.json.decode(json.dumps(market.snapshot_body()), type=DepthSnapshot)
    assert sync.on_snapshot(snapshot, 2) == "APPLIED"
    for _ in range(5):
        sync.on_update(_update(market.event()), 3)
    good = levels(book)
    assert good == market.expected_levels()
    bad = market.event()
    damaged = _update(bad, extra_ask=("65000.015", "1.0"))  # off the 0.01 grid, after valid levels
    sync.on_update(damaged, 4)
    assert levels(book) == good  # nothing of it applied
    assert sync.state == "SYNCING"
    assert sync.counters.malformed == 1


def test_depth_sync_refuses_a_snapshot_that_buffered_updates_do_not_reach() -> None:
    market = Market(seed=4)
    sync = DepthSync(
        BTC.instrument_id,
        WireNumbers(BTC),
        OrderBookL2(BTC),
        RecordingHandler(),
        counters=FeedCounters(),
    )
    before = market.last_id
    sync.on_update(_update(market.event()), 1)
    old = msgspec.json.decode(json.dumps(market.snapshot_body(before - 3)), type=DepthSnapshot)
    assert sync.on_snapshot(old, 2) == "TOO_OLD"
    assert sync.state == "SYNCING"
    assert sync.book.levels(0) == []


# ----- order entry ----------------------------------------------------------------------------

ENV = {"BINANCE_API_KEY": "k3y", "BINANCE_API_SECRET": "s3cr3t"}


def report(
    params: dict[str, str], order_id: int, execution: str, status: str, **extra: Any
) -> dict[str, Any]:
    base = {
        "e": "executionReport",
        "E": 1_700_000_000_000,
        "s": params.get("symbol", "BTCUSDT"),
        "c": params.get("newClientOrderId", params.get("origClientOrderId", "")),
        "S": params.get("side", "BUY"),
        "o": params.get("type", "LIMIT"),
        "f": params.get("timeInForce", "GTC"),
        "q": params.get("quantity", "0"),
        "p": params.get("price", "0"),
        "P": "0.00000000",
        "x": execution,
        "X": status,
        "r": "NONE",
        "i": order_id,
        "l": "0.00000000",
        "z": "0.00000000",
        "L": "0.00000000",
        "n": "0",
        "N": None,
        "T": 1_700_000_000_001,
        "t": -1,
        "m": False,
        "C": "",
    }
    base.update(extra)
    return base


def with_execution(
    body: Callable[[FakeBinance, BinanceExecution, list[Any]], Awaitable[None]],
    handler: Callable[[str, str, dict[str, str]], tuple[int, Any]],
    **overrides: Any,
) -> tuple[FakeBinance, BinanceExecution, list[Any]]:
    async def main() -> tuple[FakeBinance, BinanceExecution, list[Any]]:
        async with FakeBinance(Market(), []) as server:
            server.order_handler = handler
            events: list[Any] = []
            execution = BinanceExecution(
                config(server, **overrides), {BTC: "USDT"}, events.append, environ=ENV
            )
            execution.start()
            await asyncio.wait_for(server.user_connected.wait(), 10)
            await body(server, execution, events)
            await execution.stop()
            return server, execution, events

    return asyncio.run(main())


def test_orders_are_signed_and_the_user_stream_reports_their_life() -> None:
    placed: list[dict[str, str]] = []

    def handler(method: str, path: str, params: dict[str, str]) -> tuple[int, Any]:
        if method == "POST":
            placed.append(params)
            return 200, {
                "symbol": "BTCUSDT",
                "orderId": 777,
                "orderListId": -1,
                "clientOrderId": params["newClientOrderId"],
                "transactTime": 1,
            }
        if method == "DELETE":
            return 200, {
                "symbol": "BTCUSDT",
                "orderId": 777,
                "clientOrderId": "x",
                "origClientOrderId": params["origClientOrderId"],
                "price": "65000.00000000",
                "origQty": "0.01000000",
                "executedQty": "0.00400000",
                "status": "CANCELED",
                "timeInForce": "GTC",
                "type": "LIMIT",
                "side": "BUY",
            }
        return 400, {"code": -2013, "msg": "Order does not exist."}

    async def body(server: FakeBinance, execution: BinanceExecution, events: list[Any]) -> None:
        spec = OrderSpec("BTCUSDT.BINANCE", 0, OrderType.LIMIT, 1000, price=6_500_000)
        execution.submit("S1-1", spec, 1, strategy_id="S1")
        await execution.drain()
        params = placed[0]
        await server.push_user_event(report(params, 777, "NEW", "NEW"))
        await server.push_user_event(
            report(
                params,
                777,
                "TRADE",
                "PARTIALLY_FILLED",
                l="0.00400000",
                z="0.00400000",
                L="64999.99000000",
                n="0.00000400",
                N="BTC",
                t=9001,
                m=True,
            )
        )
        await server.push_user_event({"e": "outboundAccountPosition", "E": 1, "u": 1, "B": []})
        await server.push_user_event({"e": "somethingNew", "E": 1})
        await server.push_user_event(
            report({**params, "newClientOrderId": "OTHER"}, 5, "NEW", "NEW")
        )
        await until(lambda: len(events) >= 2)
        execution.cancel("S1-1", 2)
        await execution.drain()
        await server.push_user_event(report(params, 777, "CANCELED", "CANCELED"))
        await asyncio.sleep(0.05)
        execution.cancel("S1-1", 3)
        await execution.drain()

    server, execution, events = with_execution(body, handler)
    posted = [
        call for call in server.rest_calls if call[1] == "/api/v3/order" and call[0] == "POST"
    ]
    params = posted[0][2]
    assert {
        k: params[k]
        for k in ("symbol", "side", "type", "timeInForce", "quantity", "price", "newClientOrderId")
    } == {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.01000",
        "price": "65000.00",
        "newClientOrderId": "S1-1",
    }
    assert "signature" in params
    assert "timestamp" in params
    kinds = [type(event) for event in events]
    assert kinds == [OrderAccepted, OrderFilled, OrderCanceled, OrderCancelRejected]
    accepted, fill, canceled, refused = events
    assert accepted.venue_order_id == "777"
    assert (fill.last_price, fill.last_quantity, fill.liquidity, fill.currency) == (
        6499999,
        400,
        "MAKER",
        "BTC",
    )
    assert fill.commission == 4_000_000  # 0.000004 BTC in 1e-12 units
    assert fill.trade_id == "BTCUSDT-9001"
    assert canceled.reason == "REQUESTED"
    assert refused.reason == "ORDER_CLOSED"
    assert execution.counters.unexpected == 2  # an unknown event kind, an order not ours
    assert execution.order("S1-1").filled == 400


def test_rejections_rate_limits_and_order_types() -> None:
    placed: list[dict[str, str]] = []

    def handler(method: str, path: str, params: dict[str, str]) -> tuple[int, Any]:
        placed.append(params)
        if params.get("side") == "SELL":
            return 400, {
                "code": -2010,
                "msg": "Account has insufficient balance for requested action.",
            }
        return 200, {
            "symbol": "BTCUSDT",
            "orderId": len(placed),
            "clientOrderId": params["newClientOrderId"],
        }

    async def body(server: FakeBinance, execution: BinanceExecution, events: list[Any]) -> None:
        server.rate_limit_next = 1  # the first order meets a 429 and is retried, not dropped
        specs = [
            OrderSpec("BTCUSDT.BINANCE", 0, OrderType.MARKET, 10),
            OrderSpec(
                "BTCUSDT.BINANCE", 0, OrderType.LIMIT, 10, price=100, post_only=PostOnly.REJECT
            ),
            OrderSpec(
                "BTCUSDT.BINANCE",
                0,
                OrderType.STOP_LIMIT,
                10,
                price=101,
                trigger_price=100,
                time_in_force=TimeInForce.IOC,
            ),
            OrderSpec("BTCUSDT.BINANCE", 1, OrderType.LIMIT, 10, price=100),
            OrderSpec("BTCUSDT.BINANCE", 0, OrderType.STOP, 10, trigger_price=100),
            OrderSpec("BTCUSDT.BINANCE", 0, OrderType.MARKET, 10, time_in_force=TimeInForce.FOK),
        ]
        for number, spec in enumerate(specs):
            execution.submit(f"S1-{number}", spec, 1, strategy_id="S1")
        await execution.drain()

    _server, execution, events = with_execution(
        body, handler, orders=RateLimit(rate=200.0, burst=2.0)
    )
    types = [p["type"] for p in placed]
    assert types == ["MARKET", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "LIMIT", "STOP_LOSS"]
    assert "timeInForce" not in placed[0]
    assert "timeInForce" not in placed[1]
    assert placed[2]["stopPrice"] == "1.00"
    assert placed[2]["timeInForce"] == "IOC"
    assert execution.rest.orders.waits >= 1  # more orders than the burst: they waited
    refusals = [event for event in events if isinstance(event, OrderRejected)]
    assert [(e.client_order_id, e.reason) for e in refusals] == [
        ("S1-5", "UNSUPPORTED_TIME_IN_FORCE"),  # refused at once, never sent
        ("S1-3", "BINANCE_-2010"),
    ]
    accepted = [e.client_order_id for e in events if isinstance(e, OrderAccepted)]
    assert accepted == ["S1-0", "S1-1", "S1-2", "S1-4"]


def test_keys_come_from_the_environment_only() -> None:
    with pytest.raises(ConfigError) as missing:
        BinanceExecution(BinanceConfig(), {BTC: "USDT"}, environ={"BINANCE_API_KEY": "k"})
    assert missing.value.code == "MISSING_CREDENTIALS"
    assert "BINANCE_API_SECRET" in missing.value.message


def test_signature_is_binance_documented_example() -> None:
    # The example of Binance's "SIGNED endpoint security" documentation.
    secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    payload = (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
        "&recvWindow=5000&timestamp=1499827319559"
    )
    assert (
        sign(secret, payload) == "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    )


def test_user_stream_reconnects_renews_an_expired_key_and_reconciles_open_orders() -> None:
    statuses = {"S1-1": "PARTIALLY_FILLED", "S1-2": "CANCELED"}
    executed = {"S1-1": "0.00007000", "S1-2": "0.00000000"}
    trades = [  # of S1-1: the first was reported by the stream, the second was missed
        {
            "symbol": "BTCUSDT",
            "id": 501,
            "orderId": 101,
            "orderListId": -1,
            "price": "1.00000000",
            "qty": "0.00003000",
            "quoteQty": "0.00003000",
            "commission": "0.00000003",
            "commissionAsset": "USDT",
            "time": 1,
            "isBuyer": True,
            "isMaker": True,
            "isBestMatch": True,
        },
        {
            "symbol": "BTCUSDT",
            "id": 502,
            "orderId": 101,
            "orderListId": -1,
            "price": "0.99000000",
            "qty": "0.00004000",
            "quoteQty": "0.0000396",
            "commission": "0.00000004",
            "commissionAsset": "USDT",
            "time": 2,
            "isBuyer": True,
            "isMaker": False,
            "isBestMatch": True,
        },
    ]

    def handler(method: str, path: str, params: dict[str, str]) -> tuple[int, Any]:
        if path == "/api/v3/myTrades":
            assert params["orderId"] == "101"
            return 200, trades
        if method == "POST":
            number = int(params["newClientOrderId"][-1])
            return 200, {"symbol": "BTCUSDT", "orderId": 100 + number, "clientOrderId": "x"}
        client_order_id = params["origClientOrderId"]
        return 200, {
            "symbol": "BTCUSDT",
            "orderId": 100 + int(client_order_id[-1]),
            "clientOrderId": client_order_id,
            "price": "1.00000000",
            "origQty": "0.00010000",
            "executedQty": executed[client_order_id],
            "status": statuses[client_order_id],
            "timeInForce": "GTC",
            "type": "LIMIT",
            "side": "BUY",
        }

    async def body(server: FakeBinance, execution: BinanceExecution, events: list[Any]) -> None:
        for client_order_id in statuses:
            spec = OrderSpec("BTCUSDT.BINANCE", 0, OrderType.LIMIT, 10, price=100)
            execution.submit(client_order_id, spec, 1, strategy_id="S1")
        await execution.drain()
        params = {"symbol": "BTCUSDT", "newClientOrderId": "S1-1"}
        await server.push_user_event(
            report(params, 101, "TRADE", "PARTIALLY_FILLED", l="0.00003000", L="1.00000000", t=501)
        )
        await until(lambda: len(events) == 3)
        server.user_connected.clear()
        await server.user_connections[-1].close()  # the stream drops
        await asyncio.wait_for(server.user_connected.wait(), 10)
        await until(lambda: any(isinstance(e, OrderCanceled) for e in events))
        server.user_connected.clear()
        await server.push_user_event({"e": "listenKeyExpired", "E": 1, "listenKey": "LISTENKEY1"})
        await until(lambda: execution.session.counters.connects == 3)

    server, execution, events = with_execution(body, handler)
    queried = [
        p["origClientOrderId"]
        for m, path, p in server.rest_calls
        if path == "/api/v3/order" and m == "GET"
    ]
    # both after the drop; after the key's renewal only the one still open
    assert sorted(queried) == ["S1-1", "S1-1", "S1-2"]
    assert [(type(e).__name__, e.client_order_id) for e in events] == [
        ("OrderAccepted", "S1-1"),
        ("OrderAccepted", "S1-2"),
        ("OrderFilled", "S1-1"),  # from the stream
        ("OrderFilled", "S1-1"),  # missed while it was down, rebuilt from myTrades
        ("OrderCanceled", "S1-2"),  # closed while it was down
    ]
    recovered = events[3]
    assert (recovered.trade_id, recovered.last_price, recovered.last_quantity) == (
        "BTCUSDT-502",
        99,
        4,
    )
    assert (recovered.liquidity, recovered.commission, recovered.currency) == (
        "TAKER",
        40_000,
        "USDT",
    )
    assert execution.order("S1-1").filled == 7
    keys = [m for m, path, _ in server.rest_calls if path == "/api/v3/userDataStream"]
    assert keys.count("POST") == 2  # a new listen key after the expiry
    assert len(server.user_connections) == 3
    assert execution.session.counters.connects == 3


def test_an_order_whose_outcome_is_unknown_is_asked_for_before_anything_is_said() -> None:
    def handler(method: str, path: str, params: dict[str, str]) -> tuple[int, Any]:
        if method == "POST" and params["newClientOrderId"] == "GARBLED":
            return 200, "not an order answer"
        if method == "POST":  # Binance: 5xx means "execution status unknown"
            return 503, {"code": -1006, "msg": "Unexpected response; execution status unknown."}
        if params["origClientOrderId"] == "LANDED":
            return 200, {
                "symbol": "BTCUSDT",
                "orderId": 4242,
                "clientOrderId": "LANDED",
                "price": "1.00000000",
                "origQty": "0.00010000",
                "executedQty": "0.00000000",
                "status": "NEW",
                "timeInForce": "GTC",
                "type": "LIMIT",
                "side": "BUY",
            }
        return 400, {"code": -2013, "msg": "Order does not exist."}

    async def body(server: FakeBinance, execution: BinanceExecution, events: list[Any]) -> None:
        for client_order_id in ("LANDED", "LOST", "GARBLED"):
            spec = OrderSpec("BTCUSDT.BINANCE", 0, OrderType.LIMIT, 10, price=100)
            execution.submit(client_order_id, spec, 1, strategy_id="S1")
        await execution.drain()

    _, execution, events = with_execution(body, handler)
    landed, lost, garbled = events
    assert isinstance(landed, OrderAccepted)
    assert (landed.client_order_id, landed.venue_order_id) == ("LANDED", "4242")
    assert isinstance(lost, OrderRejected)
    assert (lost.client_order_id, lost.reason) == ("LOST", "BINANCE_-1006")
    assert isinstance(garbled, OrderRejected)  # an answer that is not one: asked, unknown
    assert (garbled.client_order_id, garbled.reason) == ("GARBLED", "BAD_ANSWER")
    assert execution.counters.malformed == 1


def test_several_symbols_on_one_connection_keep_their_own_books() -> None:
    eth = Instrument("ETHUSDT.BINANCE", "0.01", 2, "0.00001", 5)

    async def main() -> tuple[FakeBinance, BinanceMarketData]:
        async with FakeBinance(Market(seed=1), []) as server:
            server.markets["ETHUSDT"] = Market(seed=2, mid=350_000)
            server.scripts = [
                [
                    emit(2),
                    emit(2, "ETHUSDT"),
                    wait_depth_requests(2),
                    emit(3),
                    emit(3, "ETHUSDT"),
                    happen_unseen(1),  # a BTC gap after its snapshot: only BTC fetches again
                    emit(4),
                    emit(4, "ETHUSDT"),
                ]
            ]
            feed = BinanceMarketData(config(server), [BTC, eth], RecordingHandler())
            task = asyncio.ensure_future(feed.run())
            await asyncio.wait_for(server.scripts_done.wait(), 10)
            syncs = feed.syncs
            await until(
                lambda: all(
                    syncs[f"{symbol}.BINANCE"].state == "LIVE"
                    and syncs[f"{symbol}.BINANCE"].last_update_id == market.last_id
                    for symbol, market in server.markets.items()
                )
            )
            await feed.stop()
            await task
            return server, feed

    server, feed = asyncio.run(main())
    for symbol, market in server.markets.items():
        assert levels(feed.book(f"{symbol}.BINANCE")) == market.expected_levels()
    depth_symbols = sorted(
        p["symbol"] for m, path, p in server.rest_calls if path == "/api/v3/depth"
    )
    assert depth_symbols == ["BTCUSDT", "BTCUSDT", "ETHUSDT"]
    assert feed.counters.gaps == 1


def test_a_clock_outside_the_recv_window_is_corrected_from_server_time() -> None:
    server_ref: list[FakeBinance] = []

    def handler(method: str, path: str, params: dict[str, str]) -> tuple[int, Any]:
        server = server_ref[0]
        skew = abs(int(params["timestamp"]) - server.server_time_ms())
        if skew > int(params["recvWindow"]):
            return 400, {
                "code": -1021,
                "msg": "Timestamp for this request is outside of the recvWindow.",
            }
        return 200, {"symbol": "BTCUSDT", "orderId": 9, "clientOrderId": params["newClientOrderId"]}

    async def body(server: FakeBinance, execution: BinanceExecution, events: list[Any]) -> None:
        server_ref.append(server)
        server.clock_ahead_ms = 3_600_000  # Binance's clock an hour ahead of ours
        spec = OrderSpec("BTCUSDT.BINANCE", 0, OrderType.LIMIT, 10, price=100)
        execution.submit("S1-1", spec, 1, strategy_id="S1")
        await execution.drain()

    server, execution, events = with_execution(body, handler)
    (accepted,) = events
    assert isinstance(accepted, OrderAccepted)
    assert abs(execution.rest.time_offset_ms - 3_600_000) < 5_000
    posts = [call for call in server.rest_calls if call[1] == "/api/v3/order"]
    assert len(posts) == 2  # refused once for its timestamp, then sent again
    assert [call[1] for call in server.rest_calls].count("/api/v3/time") == 1


def test_quantity_reductions_are_amends_that_keep_priority_and_other_changes_are_refused() -> None:
    def handler(method: str, path: str, params: dict[str, str]) -> tuple[int, Any]:
        if method == "POST":
            return 200, {
                "symbol": "BTCUSDT",
                "orderId": 77,
                "clientOrderId": params["newClientOrderId"],
            }
        if path == "/api/v3/order/amend/keepPriority":
            if params["newQty"] == "0.00003":
                return 400, {"code": -2038, "msg": "Order amend rejected."}
            return 200, {"transactTime": 1, "executionId": 2, "amendedOrder": {"orderId": 77}}
        return 200, {
            "symbol": "BTCUSDT",
            "orderId": 77,
            "clientOrderId": "S1-1",
            "price": "1.00000000",
            "origQty": "0.00010000",
            "executedQty": "0.00000000",
            "status": "CANCELED",
            "timeInForce": "GTC",
            "type": "LIMIT",
            "side": "BUY",
        }

    async def body(server: FakeBinance, execution: BinanceExecution, events: list[Any]) -> None:
        spec = OrderSpec("BTCUSDT.BINANCE", 0, OrderType.LIMIT, 10, price=100)
        execution.submit("S1-1", spec, 1, strategy_id="S1")
        execution.modify("S1-1", 6, None, None, 2)  # reduce: amended in place
        execution.modify("S1-1", 3, None, None, 3)  # refused by Binance
        execution.modify("S1-1", 6, 101, None, 4)  # a new price: not in place
        execution.modify("S1-1", 12, None, None, 5)  # an increase: not in place
        await execution.drain()

    server, execution, events = with_execution(body, handler)
    kinds = [(type(e).__name__, getattr(e, "reason", None)) for e in events]
    assert kinds == [
        ("OrderModifyRejected", "UNSUPPORTED_MODIFY"),  # answered at once, before the queue
        ("OrderModifyRejected", "UNSUPPORTED_MODIFY"),
        ("OrderAccepted", None),
        ("OrderUpdated", None),
        ("OrderModifyRejected", "BINANCE_-2038"),
    ]
    assert events[3].quantity == 6
    amends = [p for m, path, p in server.rest_calls if path == "/api/v3/order/amend/keepPriority"]
    assert [(p["newQty"], p["origClientOrderId"], p["newClientOrderId"]) for p in amends] == [
        ("0.00006", "S1-1", "S1-1"),
        ("0.00003", "S1-1", "S1-1"),
    ]
    assert execution.order("S1-1").quantity == 6


# ----- the core's depth decoder --------------------------------------------------------------


def _depth_frame(bids: list[list[str]], asks: list[list[str]]) -> bytes:
    data = {"e": "depthUpdate", "E": 1_700_000_000_123, "s": "BTCUSDT", "U": 7, "u": 9}
    return json.dumps({"stream": STREAM, "data": {**data, "b": bids, "a": asks}}).encode()


def test_depth_decoder_gives_exact_levels_bids_first_and_applies_them_whole() -> None:
    update = decode_binance_depth(
        _depth_frame([["64999.99", "0.5"], ["64999.98", "0.000"]], [["65000.01", "1.25"]]), BTC
    )
    assert (update.first_update_id, update.final_update_id) == (7, 9)
    assert update.event_time_ms == 1_700_000_000_123
    expected = [
        (0, BTC.price_to_ticks("64999.99"), BTC.quantity_to_lots("0.5")),
        (0, BTC.price_to_ticks("64999.98"), 0),
        (1, BTC.price_to_ticks("65000.01"), BTC.quantity_to_lots("1.25")),
    ]
    assert len(update) == 3
    assert list(update) == list(update) == expected
    book = OrderBookL2(BTC)
    book.apply_delta(0, BTC.price_to_ticks("64999.98"), 7)
    update.apply_to(book)
    assert book.levels(0) == [expected[0][1:]]
    assert book.levels(1) == [expected[2][1:]]


@pytest.mark.parametrize(
    ("bids", "code"),
    [
        ([["64999.995", "1"]], "OFF_GRID"),
        ([["64999.99", "-1"]], "NON_POSITIVE_QUANTITY"),
        ([["0", "1"]], "NON_POSITIVE_PRICE"),
        ([["1e999", "1"]], "OVERFLOW"),
        ([["sixty", "1"]], "NOT_A_NUMBER"),
    ],
)
def test_depth_decoder_keeps_the_ids_of_an_update_with_a_bad_value(
    bids: list[list[str]], code: str
) -> None:
    update = decode_binance_depth(_depth_frame([["64999.98", "1"], *bids], []), BTC)
    assert update.final_update_id == 9
    book = OrderBookL2(BTC)
    with pytest.raises(InvalidValue) as raised:
        update.apply_to(book)
    assert raised.value.code == code
    assert book.levels(0) == []  # the good level before the bad one is not applied either
    with pytest.raises(InvalidValue):
        list(update)


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"not json",
        b'{"stream":"btcusdt@depth@100ms"}',
        b'{"data":{"E":1,"U":"7","u":9,"b":[],"a":[]}}',
        b'{"data":{"E":1,"U":7,"u":9,"b":[["1","2","3"]],"a":[]}}',
        b'{"data":{"E":1,"U":7,"u":9,"b":[[64999.99,"1"]],"a":[]}}',
    ],
)
def test_depth_decoder_refuses_frames_without_the_update_shape(frame: bytes) -> None:
    with pytest.raises(InvalidValue) as raised:
        decode_binance_depth(frame, BTC)
    assert raised.value.code == "MALFORMED_FRAME"
