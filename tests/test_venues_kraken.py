"""Kraken WebSocket v2 adapter against a local Kraken (tests/kraken_fake.py): checksum-verified
book in every documented situation, trades, heartbeats and pings, authenticated order entry.
After each scenario the client's book equals the market's visible book (the top ``depth``
levels of the market's own dict book)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest
from hftcore import Instrument, OrderBookL2
from hftcore._core import kraken_book_checksum
from hftcore.errors import ConfigError
from hftcore.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderFilled,
    OrderModifyRejected,
    OrderRejected,
    OrderSpec,
    OrderUpdated,
)
from hftcore.model.orders import OrderType, PostOnly
from hftcore.venues.kraken import (
    KrakenBook,
    KrakenConfig,
    KrakenExecution,
    KrakenMarketData,
    api_sign,
)
from hftcore.venues.kraken.wire import BOOK_DATA, MESSAGE, BookData
from hftcore.venues.live import FeedCounters, RateLimit, ReconnectPolicy, WireNumbers
from kraken_fake import (
    SYMBOL,
    FakeKraken,
    Market,
    checksum_of,
    close,
    pause,
    price_text,
    qty_text,
    raw,
    updates,
    wait_resubscribed,
    wait_subscribed,
)
from live_helpers import RecordingHandler

BTC = Instrument("BTC/USD.KRAKEN", "0.1", 1, "0.00000001", 8)
FAST = ReconnectPolicy(initial_delay_s=0.01, max_delay_s=0.05)


def config(server: FakeKraken, **overrides: Any) -> KrakenConfig:
    return KrakenConfig(
        ws_url=server.ws_url,
        ws_auth_url=server.ws_auth_url,
        rest_url=server.rest_url,
        reconnect=FAST,
        **overrides,
    )


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), timeout)


@dataclass
class Outcome:
    server: FakeKraken
    feed: KrakenMarketData
    handler: RecordingHandler
    live_at_end: bool


def run_scenario(scripts: list[list[Any]], **overrides: Any) -> Outcome:
    async def main() -> Outcome:
        async with FakeKraken(Market(), scripts) as server:
            handler = RecordingHandler()
            feed = KrakenMarketData(
                config(server, **overrides), [BTC], handler, rng=random.Random(2)
            )
            task = asyncio.ensure_future(feed.run())
            await asyncio.wait_for(server.scripts_done.wait(), 10)
            # every frame the server sent has been handled
            await until(lambda: feed.counters.frames >= server.sent)
            live = feed.is_live(BTC.instrument_id)
            await feed.stop()
            await task
            return Outcome(server, feed, handler, live)

    return asyncio.run(main())


def assert_book_is_market(outcome: Outcome) -> None:
    book = outcome.feed.book(BTC.instrument_id)
    bids, asks = outcome.server.market.visible()
    assert (book.levels(0), book.levels(1)) == (bids, asks)
    assert outcome.live_at_end


def test_normal_flow_keeps_the_book_at_the_subscribed_depth_with_every_checksum_verified() -> None:
    outcome = run_scenario([[wait_subscribed(), raw('{"channel":"heartbeat"}'), updates(60)]])
    server, feed, handler = outcome.server, outcome.feed, outcome.handler
    assert_book_is_market(outcome)
    assert feed.counters.checksum_mismatches == 0
    assert feed.counters.malformed == 0
    assert len(handler.book_updates) > 40  # the snapshot and every visible change
    book_request = server.requests[0]
    assert book_request["method"] == "subscribe"
    assert book_request["params"] == {"channel": "book", "symbol": [SYMBOL], "depth": 10}
    assert server.requests[1]["params"]["channel"] == "trade"
    assert feed.counters.resyncs == 0


def test_bad_checksum_takes_the_update_back_and_resubscribes() -> None:
    outcome = run_scenario(
        [
            [
                wait_subscribed(),
                updates(10),
                updates(1, bad_checksum=True),
                wait_resubscribed(),
                updates(20),
            ]
        ]
    )
    server, feed, handler = outcome.server, outcome.feed, outcome.handler
    assert_book_is_market(outcome)
    assert feed.counters.checksum_mismatches == 1
    assert feed.counters.resyncs == 1
    methods = [(r["method"], r.get("params", {}).get("channel")) for r in server.requests]
    assert methods.count(("unsubscribe", "book")) == 1
    assert methods.count(("subscribe", "book")) == 2
    assert (BTC.instrument_id, "checksum mismatch") in handler.invalidations


def test_a_lost_update_is_caught_by_the_next_checksum() -> None:
    outcome = run_scenario(
        [
            [
                wait_subscribed(),
                updates(5),
                updates(1, lose=True),
                updates(1),
                wait_resubscribed(),
                updates(15),
            ]
        ]
    )
    server, feed, _handler = outcome.server, outcome.feed, outcome.handler
    assert_book_is_market(outcome)
    assert feed.counters.checksum_mismatches >= 1
    assert server.subscriptions == 2


def test_garbage_frames_are_counted_skipped_and_change_nothing() -> None:
    off_grid = (
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":'
        '[{"price":45000.05,"qty":1.0}],"asks":[],"checksum":1}]}'
    )
    outcome = run_scenario(
        [
            [
                wait_subscribed(),
                updates(5),
                raw("garbage{"),
                raw(b"\x00\x01"),
                raw(off_grid),
                raw(off_grid.replace("45000.05", "true")),  # not a number
                raw('{"channel":"book","type":"update","data":[{"symbol":"BTC/USD"}]}'),
                raw('{"channel":"ohlc","type":"update","data":[]}'),
                raw(
                    '{"channel":"book","type":"update","data":[{"symbol":"ETH/USD","bids":[],"asks":[],"checksum":0}]}'
                ),
                updates(10),
            ]
        ]
    )
    _server, feed, _handler = outcome.server, outcome.feed, outcome.handler
    assert_book_is_market(outcome)
    assert feed.counters.malformed == 5
    assert feed.counters.unexpected == 2
    assert feed.counters.checksum_mismatches == 0


def test_disconnect_mid_stream_reconnects_resubscribes_and_resyncs() -> None:
    outcome = run_scenario(
        [
            [wait_subscribed(), updates(8), close()],
            [wait_subscribed(), updates(12)],
        ]
    )
    server, feed, handler = outcome.server, outcome.feed, outcome.handler
    assert_book_is_market(outcome)
    assert server.connections == 2
    assert feed.counters.connects == 2
    assert (BTC.instrument_id, "disconnected") in handler.invalidations
    subscribes = [r for r in server.requests if r["method"] == "subscribe"]
    assert len(subscribes) == 4  # book and trade, twice


def test_silence_past_the_heartbeat_timeout_reconnects() -> None:
    outcome = run_scenario(
        [
            [wait_subscribed(), updates(3), pause(0.5)],
            [wait_subscribed(), updates(3)],
        ],
        idle_timeout_s=0.2,
    )
    server, _feed, _handler = outcome.server, outcome.feed, outcome.handler
    assert_book_is_market(outcome)
    assert server.connections == 2


def test_frames_closer_than_the_heartbeat_timeout_keep_the_connection() -> None:
    steady = [step for _ in range(8) for step in (updates(1), pause(0.1))]
    outcome = run_scenario([[wait_subscribed(), *steady]], idle_timeout_s=0.3)
    assert_book_is_market(outcome)
    assert outcome.server.connections == 1  # 0.8 s in all, never 0.3 s without a frame
    assert outcome.feed.counters.connects == 1


def test_pings_are_answered_and_a_missing_pong_reconnects() -> None:
    async def main() -> tuple[FakeKraken, KrakenMarketData]:
        async with FakeKraken(
            Market(), [[wait_subscribed(), updates(2)], [wait_subscribed()]]
        ) as server:
            feed = KrakenMarketData(
                config(server, app_ping_interval_s=0.05), [BTC], RecordingHandler()
            )
            task = asyncio.ensure_future(feed.run())
            await until(lambda: feed.pongs >= 2)
            server.answer_pings = False
            await until(lambda: server.connections == 2)
            await feed.stop()
            await task
            return server, feed

    server, feed = asyncio.run(main())
    assert feed.pongs >= 2
    assert sum(1 for r in server.requests if r["method"] == "ping") >= 3


def test_trades_become_model_events() -> None:
    trades = (
        '{"channel":"trade","type":"update","data":['
        '{"symbol":"BTC/USD","side":"sell","price":45001.5,"qty":0.00120000,"ord_type":"limit",'
        '"trade_id":4665846,"timestamp":"2026-11-25T12:00:01.000123Z"},'
        '{"symbol":"BTC/USD","side":"buy","price":45001.6,"qty":2,"ord_type":"market",'
        '"trade_id":4665847,"timestamp":"2026-11-25T12:00:01.5Z"}]}'
    )
    bad = trades.replace('"qty":2', '"qty":-2')
    outcome = run_scenario([[wait_subscribed(), raw(trades), raw(bad)]])
    _server, feed, handler = outcome.server, outcome.feed, outcome.handler
    first, second = handler.trades
    assert (first.price, first.size, first.aggressor_side, first.trade_id) == (
        450015,
        120000,
        1,
        "4665846",
    )
    assert first.ts_event == 1_795_608_001_000_123_000
    assert (second.size, second.aggressor_side) == (200_000_000, 0)
    assert feed.counters.malformed == 1  # the whole bad message: no trade of it given out


# ----- the checksum and the book alone ---------------------------------------------------------


def test_checksum_matches_the_documented_text_rules() -> None:
    # The guide's example: price "45285.2" -> "452852", qty "0.00100000" -> "100000".
    book = OrderBookL2(BTC)
    book.apply_snapshot([(452_851, 50_000_000)], [(452_852, 100_000)])
    expected = checksum_of([("45285.2", "0.00100000")], [("45285.1", "0.50000000")])
    assert kraken_book_checksum(book) == expected
    # A tick of 0.5 at precision 1: 3 ticks is "1.5", written "15"; only 10 levels a side count.
    coarse = Instrument("X.KRAKEN", "0.5", 1, "0.01", 2)
    book = OrderBookL2(coarse)
    bids = [(ticks, 100) for ticks in range(3, 15)]
    book.apply_snapshot(bids, [(20, 5)])
    expected = checksum_of(
        [("10.0", "0.05")],
        [(f"{ticks * 5 // 10}.{ticks * 5 % 10}", "1.00") for ticks in range(14, 4, -1)],
    )
    assert kraken_book_checksum(book) == expected


@pytest.mark.parametrize("seed", [10, 1000])
def test_checksum_covers_the_top_ten_of_books_shallower_and_deeper_than_ten(seed: int) -> None:
    rng = random.Random(seed)
    book = OrderBookL2(BTC)
    for levels in (0, 1, 9, 10, 11, 40):
        bids = [(450_000 - 3 * k, rng.randint(1, 10**9)) for k in range(levels)]
        asks = [(450_001 + 2 * k, rng.randint(1, 10**9)) for k in range(levels)]
        book.apply_snapshot(bids, asks)
        expected = checksum_of(
            [(price_text(p), qty_text(q)) for p, q in asks],
            [(price_text(p), qty_text(q)) for p, q in bids],
        )
        assert kraken_book_checksum(book) == expected


def book_data(frame: str) -> BookData:
    """The one symbol's data of a book frame, decoded as the feed decodes it."""
    (data,) = BOOK_DATA.decode(MESSAGE.decode(frame).data)
    return data


def test_mismatch_leaves_the_book_at_its_last_verified_state() -> None:
    market = Market(seed=5)
    book = OrderBookL2(BTC)
    handler = RecordingHandler()
    state = KrakenBook(
        BTC.instrument_id, WireNumbers(BTC), book, handler, counters=FeedCounters(), depth=10
    )
    snapshot = market.snapshot_frame()
    assert state.on_snapshot(book_data(snapshot), 1)
    for _ in range(5):
        bids, asks = market.change()
        assert state.on_update(book_data(market.update_frame(bids, asks, market.checksum())), 2)
    verified = (book.levels(0), book.levels(1))
    bids, asks = market.change()
    while not (bids or asks):
        bids, asks = market.change()
    wrong = market.update_frame(bids, asks, market.checksum() ^ 7)
    assert not state.on_update(book_data(wrong), 3)
    assert (book.levels(0), book.levels(1)) == verified
    assert state.state == "SYNCING"
    bad_snapshot = msgspec.structs.replace(
        book_data(snapshot), checksum=book_data(snapshot).checksum ^ 1
    )
    assert not state.on_snapshot(bad_snapshot, 4)
    assert (book.levels(0), book.levels(1)) == verified


# ----- order entry ----------------------------------------------------------------------------

ENV_NAMES = {"KRAKEN_API_KEY": "kr4k3n"}


def with_orders(
    body: Callable[[FakeKraken, KrakenExecution, list[Any]], Awaitable[None]],
    answer: Callable[[dict[str, Any]], dict[str, Any] | None],
    **overrides: Any,
) -> tuple[FakeKraken, KrakenExecution, list[Any]]:
    async def main() -> tuple[FakeKraken, KrakenExecution, list[Any]]:
        async with FakeKraken(Market(), []) as server:
            server.order_answer = answer
            events: list[Any] = []
            environ = {**ENV_NAMES, "KRAKEN_API_SECRET": server.api_secret}
            execution = KrakenExecution(
                config(server, **overrides), {BTC: "USD"}, events.append, environ=environ
            )
            execution.start()
            await asyncio.wait_for(server.auth_ready.wait(), 10)
            await body(server, execution, events)
            await execution.stop()
            return server, execution, events

    return asyncio.run(main())


def test_orders_over_the_authenticated_websocket() -> None:
    def answer(request: dict[str, Any]) -> dict[str, Any] | None:
        params = request["params"]
        base = {"method": request["method"], "req_id": request["req_id"]}
        if request["method"] == "add_order":
            if params["side"] == "sell":
                return {**base, "success": False, "error": "EOrder:Insufficient funds"}
            return {
                **base,
                "success": True,
                "result": {"order_id": "OABC12-XYZ", "cl_ord_id": params["cl_ord_id"]},
            }
        if params["cl_ord_id"] == ["S1-9"]:
            return {**base, "success": False, "error": "EOrder:Unknown order"}
        return {**base, "success": True, "result": {"cl_ord_id": params["cl_ord_id"][0]}}

    async def body(server: FakeKraken, execution: KrakenExecution, events: list[Any]) -> None:
        execution.submit(
            "S1-1",
            OrderSpec(
                "BTC/USD.KRAKEN",
                0,
                OrderType.LIMIT,
                120_000,
                price=450_015,
                post_only=PostOnly.REJECT,
            ),
            1,
            strategy_id="S1",
        )
        execution.submit(
            "S1-2", OrderSpec("BTC/USD.KRAKEN", 1, OrderType.MARKET, 5), 1, strategy_id="S1"
        )
        await until(lambda: len(events) >= 2)
        await server.push_execution(
            [
                {
                    "exec_type": "trade",
                    "order_id": "OABC12-XYZ",
                    "cl_ord_id": "S1-1",
                    "symbol": SYMBOL,
                    "exec_id": "TX1",
                    "trade_id": 77,
                    "last_qty": 0.0005,
                    "last_price": 45001.5,
                    "liquidity_ind": "m",
                    "fees": [{"asset": "USD", "qty": 0.0225}],
                    "order_status": "partially_filled",
                    "timestamp": "2026-11-25T12:00:02.000001Z",
                },
                {
                    "exec_type": "new",
                    "order_id": "OTHER",
                    "cl_ord_id": "NOT-OURS",
                    "timestamp": "2026-11-25T12:00:02Z",
                },
            ]
        )
        await until(lambda: len(events) >= 3)
        execution.cancel("S1-1", 2)
        await execution.drain()
        await server.push_execution(
            [
                {
                    "exec_type": "canceled",
                    "order_id": "OABC12-XYZ",
                    "cl_ord_id": "S1-1",
                    "reason": "User requested",
                    "timestamp": "2026-11-25T12:00:03Z",
                }
            ]
        )
        await until(lambda: len(events) >= 4)

    server, execution, events = with_orders(body, answer)
    assert server.token_requests == 1
    adds = [r for r in server.requests if r["method"] == "add_order"]
    assert adds[0]["params"] == {
        "order_type": "limit",
        "side": "buy",
        "order_qty": 0.0012,
        "symbol": "BTC/USD",
        "cl_ord_id": "S1-1",
        "time_in_force": "gtc",
        "limit_price": 45001.5,
        "post_only": True,
        "token": "TOKEN1",
    }
    assert [type(e) for e in events] == [OrderAccepted, OrderRejected, OrderFilled, OrderCanceled]
    accepted, rejected, fill, canceled = events
    assert accepted.venue_order_id == "OABC12-XYZ"
    assert rejected.reason == "EOrder:Insufficient funds"
    assert (fill.last_price, fill.last_quantity, fill.liquidity, fill.currency) == (
        450015,
        50_000,
        "MAKER",
        "USD",
    )
    assert fill.commission == 22_500_000_000
    assert canceled.reason == "REQUESTED"
    assert execution.counters.unexpected == 1  # the order that is not ours


def test_cancel_refusals() -> None:
    def answer(request: dict[str, Any]) -> dict[str, Any] | None:
        base = {"method": request["method"], "req_id": request["req_id"]}
        if request["method"] == "add_order":
            return {**base, "success": True, "result": {"order_id": "O1"}}
        return {**base, "success": False, "error": "EOrder:Unknown order"}

    async def body(server: FakeKraken, execution: KrakenExecution, events: list[Any]) -> None:
        execution.submit(
            "S1-1",
            OrderSpec("BTC/USD.KRAKEN", 0, OrderType.LIMIT, 10, price=100),
            1,
            strategy_id="S1",
        )
        await until(lambda: len(events) >= 1)
        execution.cancel("S1-1", 2)
        await until(lambda: len(events) >= 2)

    _, _, events = with_orders(body, answer)
    assert isinstance(events[1], OrderCancelRejected)
    assert events[1].reason == "EOrder:Unknown order"


def test_orders_go_out_at_once_while_tokens_last_and_the_rest_queue_behind_in_order() -> None:
    def answer(request: dict[str, Any]) -> dict[str, Any] | None:
        base = {"method": request["method"], "req_id": request["req_id"]}
        return {**base, "success": True, "result": {"order_id": "O"}}

    async def body(server: FakeKraken, execution: KrakenExecution, events: list[Any]) -> None:
        spec = OrderSpec("BTC/USD.KRAKEN", 0, OrderType.LIMIT, 10, price=100)
        for number in range(1, 5):
            execution.submit(f"S1-{number}", spec, 1, strategy_id="S1")
        assert execution.queued == 2  # the burst of two went out inside the submit calls
        execution.cancel("S1-1", 2)  # queued too: nothing overtakes a queued command
        assert execution.queued == 3
        await execution.drain()
        await until(lambda: len(server.requests) == 6)  # the subscription and five commands
        await asyncio.sleep(0.2)  # the bucket refills: an order goes out at once again
        execution.submit("S1-5", spec, 3, strategy_id="S1")
        assert execution.queued == 3
        await until(lambda: len(server.requests) == 7)

    server, execution, _ = with_orders(body, answer, orders=RateLimit(rate=10.0, burst=2.0))
    sent = [(request["method"], request["params"]["cl_ord_id"]) for request in server.requests[1:]]
    assert sent == [
        ("add_order", "S1-1"),
        ("add_order", "S1-2"),
        ("add_order", "S1-3"),
        ("add_order", "S1-4"),
        ("cancel_order", ["S1-1"]),
        ("add_order", "S1-5"),
    ]
    assert execution.orders_bucket.waits == 3  # the three queued commands waited for tokens
    assert len({request["req_id"] for request in server.requests[1:]}) == 6


def test_a_cancel_of_a_closed_order_is_refused_without_a_request() -> None:
    def answer(request: dict[str, Any]) -> dict[str, Any] | None:
        base = {"method": request["method"], "req_id": request["req_id"]}
        return {**base, "success": False, "error": "EOrder:Insufficient funds"}

    async def body(server: FakeKraken, execution: KrakenExecution, events: list[Any]) -> None:
        spec = OrderSpec("BTC/USD.KRAKEN", 0, OrderType.LIMIT, 10, price=100)
        execution.submit("S1-1", spec, 1, strategy_id="S1")
        await until(lambda: len(events) == 1)
        execution.cancel("S1-1", 2)
        await execution.drain()

    server, _, events = with_orders(body, answer)
    rejected, refused = events
    assert isinstance(rejected, OrderRejected)
    assert isinstance(refused, OrderCancelRejected)
    assert refused.reason == "ORDER_CLOSED"
    assert [request["method"] for request in server.requests] == ["subscribe", "add_order"]


def test_api_sign_and_keys_from_the_environment() -> None:
    # Kraken's documented example of API-Sign.
    secret = (
        "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
    )
    post_data = "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"
    documented = (
        "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="
    )
    assert api_sign(secret, "/0/private/AddOrder", "1616492376594", post_data) == documented
    with pytest.raises(ConfigError) as missing:
        KrakenExecution(KrakenConfig(), {BTC: "USD"}, environ={})
    assert missing.value.code == "MISSING_CREDENTIALS"


def test_an_order_sent_as_the_connection_drops_goes_out_on_the_next_with_a_fresh_token() -> None:
    def answer(request: dict[str, Any]) -> dict[str, Any] | None:
        base = {"method": request["method"], "req_id": request["req_id"]}
        return {**base, "success": True, "result": {"order_id": "O7"}}

    async def body(server: FakeKraken, execution: KrakenExecution, events: list[Any]) -> None:
        assert server.auth_connection is not None
        server.auth_ready.clear()
        await server.auth_connection.close()
        spec = OrderSpec("BTC/USD.KRAKEN", 0, OrderType.LIMIT, 10, price=100)
        execution.submit("S1-1", spec, 1, strategy_id="S1")
        await asyncio.wait_for(server.auth_ready.wait(), 10)
        await until(lambda: len(events) == 1)

    server, execution, events = with_orders(body, answer)
    (accepted,) = events
    assert isinstance(accepted, OrderAccepted)
    assert accepted.venue_order_id == "O7"
    adds = [r for r in server.requests if r["method"] == "add_order"]
    assert [add["params"]["token"] for add in adds] == ["TOKEN2"]  # sent once, after the drop
    assert server.token_requests == 2
    assert execution.session.counters.connects == 2


def test_an_order_unconfirmed_at_a_disconnection_is_accepted_from_the_next_snapshot() -> None:
    async def body(server: FakeKraken, execution: KrakenExecution, events: list[Any]) -> None:
        spec = OrderSpec("BTC/USD.KRAKEN", 0, OrderType.LIMIT, 10, price=100)
        execution.submit("S1-1", spec, 1, strategy_id="S1")
        await until(lambda: any(r["method"] == "add_order" for r in server.requests))
        # the order landed, its answer was lost with the connection
        server.open_orders = [
            {
                "order_id": "OSNAP1",
                "cl_ord_id": "S1-1",
                "exec_type": "new",
                "order_status": "new",
                "symbol": SYMBOL,
                "timestamp": "2026-11-25T12:00:00Z",
            }
        ]
        server.auth_ready.clear()
        assert server.auth_connection is not None
        await server.auth_connection.close()
        await asyncio.wait_for(server.auth_ready.wait(), 10)
        await until(lambda: len(events) == 1)

    _, execution, events = with_orders(body, lambda request: None)
    (accepted,) = events
    assert isinstance(accepted, OrderAccepted)
    assert accepted.venue_order_id == "OSNAP1"
    assert execution.kraken_order_id("S1-1") == "OSNAP1"


def test_modifications_are_amend_orders() -> None:
    raw_frames: list[str] = []

    def answer(request: dict[str, Any]) -> dict[str, Any] | None:
        base = {"method": request["method"], "req_id": request["req_id"]}
        if request["method"] == "add_order":
            return {**base, "success": True, "result": {"order_id": "OAM1"}}
        if request["method"] == "amend_order" and "limit_price" in request["params"]:
            return {**base, "success": True, "result": {"amend_id": "A1", "cl_ord_id": "S1-1"}}
        return {**base, "success": False, "error": "EOrder:Invalid order"}

    async def body(server: FakeKraken, execution: KrakenExecution, events: list[Any]) -> None:
        spec = OrderSpec("BTC/USD.KRAKEN", 0, OrderType.LIMIT, 30, price=450_000)
        execution.submit("S1-1", spec, 1, strategy_id="S1")
        await until(lambda: len(events) == 1)
        execution.modify("S1-1", 20, 450_010, None, 2)
        await until(lambda: len(events) == 2)
        execution.modify("S1-1", 25, None, None, 3)
        await until(lambda: len(events) == 3)
        raw_frames.extend(server.raw_private)

    server, execution, events = with_orders(body, answer)
    accepted, updated, refused = events
    assert isinstance(accepted, OrderAccepted)
    assert isinstance(updated, OrderUpdated)
    assert (updated.quantity, updated.price) == (20, 450_010)
    assert isinstance(refused, OrderModifyRejected)
    assert refused.reason == "EOrder:Invalid order"
    amends = [r["params"] for r in server.requests if r["method"] == "amend_order"]
    assert amends[0] == {
        "cl_ord_id": "S1-1",
        "order_qty": 2e-07,
        "limit_price": 45001.0,
        "token": "TOKEN1",
    }
    # the numbers go out written exactly, never in exponent form
    assert any('"order_qty":0.00000020,"limit_price":45001.0' in frame for frame in raw_frames)
    order = execution.order("S1-1")
    assert (order.quantity, order.price) == (20, 450_010)


def test_fills_missed_while_disconnected_come_from_the_next_snapshot_once() -> None:
    def answer(request: dict[str, Any]) -> dict[str, Any] | None:
        base = {"method": request["method"], "req_id": request["req_id"]}
        return {**base, "success": True, "result": {"order_id": "OF1"}}

    def trade(trade_id: int, qty: float) -> dict[str, Any]:
        return {
            "exec_type": "trade",
            "order_id": "OF1",
            "cl_ord_id": "S1-1",
            "symbol": SYMBOL,
            "exec_id": f"T{trade_id}",
            "trade_id": trade_id,
            "last_qty": qty,
            "last_price": 45000.0,
            "liquidity_ind": "t",
            "fees": [{"asset": "USD", "qty": 0.01}],
            "order_status": "partially_filled",
            "timestamp": "2026-11-25T12:00:00Z",
        }

    async def body(server: FakeKraken, execution: KrakenExecution, events: list[Any]) -> None:
        spec = OrderSpec("BTC/USD.KRAKEN", 0, OrderType.LIMIT, 10, price=450_000)
        execution.submit("S1-1", spec, 1, strategy_id="S1")
        await until(lambda: len(events) == 1)
        await server.push_execution([trade(1, 0.00000002)])
        await until(lambda: len(events) == 2)
        # disconnected; meanwhile a second fill; the snapshot repeats the first one too
        server.open_orders = [
            trade(1, 0.00000002),
            trade(2, 0.00000003),
            {
                "exec_type": "trade",
                "order_id": "OTHER",
                "cl_ord_id": "X",
                "timestamp": "2026-11-25T12:00:00Z",
            },
        ]
        server.auth_ready.clear()
        assert server.auth_connection is not None
        await server.auth_connection.close()
        await asyncio.wait_for(server.auth_ready.wait(), 10)
        await until(lambda: len(events) == 3)

    server, execution, events = with_orders(body, answer)
    fills = [event for event in events if isinstance(event, OrderFilled)]
    assert [(fill.trade_id, fill.last_quantity) for fill in fills] == [
        ("BTC/USD-1", 2),
        ("BTC/USD-2", 3),
    ]
    assert execution.order("S1-1").filled == 5
    assert execution.counters.unexpected == 0  # others' fills in a snapshot are not unexpected
    subscribe = next(r for r in server.requests if r["method"] == "subscribe")
    assert subscribe["params"]["snap_trades"] is True
