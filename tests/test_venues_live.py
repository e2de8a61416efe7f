"""What the live adapters share: backoff with jitter, the queueing token bucket, exact wire
numbers, and paper mode on a trading node (market data from a local Binance / Kraken, orders
to a simulated venue fed by that data)."""

from __future__ import annotations

import asyncio
import random
import tomllib
from typing import Any

import msgspec
import pytest
from binance_fake import FakeBinance, emit, wait_snapshot_request
from binance_fake import Market as BinanceMarket
from hftcore import Instrument
from hftcore.errors import ConfigError, InvalidValue
from hftcore.model.events import OrderEvent, OrderFilled
from hftcore.node.clock import LiveClock
from hftcore.node.config import parse_config
from hftcore.node.kernel import TradingNode
from hftcore.node.strategy import Strategy
from hftcore.venues.binance import BinanceConfig, attach_binance
from hftcore.venues.kraken import KrakenConfig, attach_kraken
from hftcore.venues.live import (
    Backoff,
    RateLimit,
    ReconnectPolicy,
    TokenBucket,
    WireNumbers,
    parse_venue_config,
)
from hftcore.venues.simulated import SimulatedBookVenue
from kraken_fake import FakeKraken, updates, wait_subscribed
from kraken_fake import Market as KrakenMarket

FAST = ReconnectPolicy(initial_delay_s=0.01, max_delay_s=0.05)


def test_backoff_grows_exponentially_up_to_the_cap_with_jitter_below_it() -> None:
    policy = ReconnectPolicy(initial_delay_s=1.0, max_delay_s=8.0, multiplier=2.0, jitter=0.5)
    backoff = Backoff(policy, random.Random(1))
    delays = [backoff.next_delay() for _ in range(6)]
    ceilings = [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling * 0.5 <= delay <= ceiling
    assert len(set(delays)) == 6  # jittered: no two alike
    backoff.reset()
    assert backoff.next_delay() <= 1.0
    exact = Backoff(ReconnectPolicy(initial_delay_s=1.0, max_delay_s=8.0, jitter=0.0))
    assert [exact.next_delay() for _ in range(5)] == [1.0, 2.0, 4.0, 8.0, 8.0]


@pytest.mark.parametrize(
    "fields",
    [
        {"initial_delay_s": 0.0},
        {"initial_delay_s": 5.0, "max_delay_s": 1.0},
        {"multiplier": 0.5},
        {"jitter": 1.5},
    ],
)
def test_reconnect_policy_refuses_nonsense(fields: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        ReconnectPolicy(**fields)


def test_token_bucket_queues_in_order_and_drops_nothing() -> None:
    now = [0.0]

    async def sleep(seconds: float) -> None:  # time passes only when the bucket waits
        now[0] += seconds
        await asyncio.sleep(0)

    async def main() -> tuple[list[int], int]:
        bucket = TokenBucket(RateLimit(rate=4.0, burst=3.0), clock=lambda: now[0], sleep=sleep)
        served: list[int] = []

        async def ask(number: int) -> None:
            await bucket.acquire()
            served.append(number)

        await asyncio.gather(*(ask(number) for number in range(12)))
        return served, bucket.waits

    served, waits = asyncio.run(main())
    assert served == list(range(12))  # first come, first served, none dropped
    assert waits == 9  # the burst of 3 went at once, the others waited for tokens
    assert now[0] == pytest.approx(9 / 4.0)  # one token's time each, at 4 a second
    with pytest.raises(ConfigError):
        RateLimit(rate=0.0, burst=1.0)


def test_token_bucket_refills_by_its_clock() -> None:
    now = [0.0]
    bucket = TokenBucket(RateLimit(rate=10.0, burst=5.0), clock=lambda: now[0])

    async def take(count: int) -> None:
        for _ in range(count):
            await bucket.acquire()

    asyncio.run(take(5))
    assert bucket.available() == 0.0
    now[0] = 0.25
    assert bucket.available() == 2.5
    now[0] = 10.0
    assert bucket.available() == 5.0  # never above the burst

    async def too_big() -> None:
        await bucket.acquire(6)

    with pytest.raises(InvalidValue):
        asyncio.run(too_big())


def test_token_bucket_gives_a_token_at_once_only_if_it_has_one_and_nobody_waits() -> None:
    now = [0.0]
    release = asyncio.Event()

    async def sleep(seconds: float) -> None:
        await release.wait()
        now[0] += seconds

    async def main() -> None:
        bucket = TokenBucket(RateLimit(rate=1.0, burst=2.0), clock=lambda: now[0], sleep=sleep)
        assert bucket.try_acquire()
        assert bucket.try_acquire()
        assert not bucket.try_acquire()  # none left
        now[0] = 0.5
        assert not bucket.try_acquire()  # half a token, not taken
        assert bucket.available() == 0.5
        waiter = asyncio.ensure_future(bucket.acquire())
        await asyncio.sleep(0)  # it waits for the other half
        now[0] = 3.0
        assert not bucket.try_acquire()  # tokens again, but the waiter asked first
        release.set()
        await waiter
        assert bucket.try_acquire()
        with pytest.raises(InvalidValue):
            bucket.try_acquire(3.0)

    asyncio.run(main())


def test_wire_numbers_are_exact_and_refuse_what_is_off_grid() -> None:
    numbers = WireNumbers(Instrument("BTCUSDT.BINANCE", "0.01", 2, "0.00001", 5))
    assert numbers.price("65000.01000000") == 6_500_001
    assert numbers.quantity("0.00000000") == 0
    assert numbers.quantity("1.23450000") == 123_450
    for bad in ("65000.015", "-1", "abc"):
        with pytest.raises(InvalidValue):
            numbers.price(bad)
    for bad in ("-0.1", "0.000001", "NaN"):
        with pytest.raises(InvalidValue):
            numbers.quantity(bad)


def test_wire_numbers_read_the_bytes_of_json_numbers_and_of_strings_holding_one() -> None:
    numbers = WireNumbers(Instrument("BTC/USD.KRAKEN", "0.1", 1, "0.00000001", 8))
    assert numbers.price(b"45000.1") == 450_001
    assert numbers.price(b'"45000.1"') == 450_001
    assert numbers.price(b"4.50001e4") == 450_001
    assert numbers.quantity(b"0.00000000") == 0
    assert numbers.quantity(b'"0.0"') == 0
    assert numbers.quantity(b"1.5E-7") == 15
    refusals = {
        b"45000.05": "OFF_GRID",
        b"-1": "NON_POSITIVE_PRICE",
        b'"abc"': "NOT_A_NUMBER",
        b"null": "NOT_A_NUMBER",
        b"true": "NOT_A_NUMBER",
        b'{"price":1}': "NOT_A_NUMBER",
    }
    for bad, code in refusals.items():
        with pytest.raises(InvalidValue) as refused:
            numbers.price(bad)
        assert refused.value.code == code
    with pytest.raises(InvalidValue) as refused:
        numbers.quantity(b"-0.1")
    assert refused.value.code == "NON_POSITIVE_QUANTITY"


# ----- paper mode on a node --------------------------------------------------------------------


class TakeOnceParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    instrument_id: str


class TakeOnce(Strategy):
    """Buys one lot at market on the first book that has an ask, remembering that ask."""

    Params = TakeOnceParams

    def __init__(self, strategy_id: str, params: dict[str, Any] | None = None) -> None:
        super().__init__(strategy_id, params)
        self.instrument_id = self.params.instrument_id
        self.ask_seen: int | None = None
        self.books = 0
        self.events: list[OrderEvent] = []

    def on_start(self) -> None:
        self.subscribe_book(self.instrument_id)

    def on_book(self, instrument_id: str) -> None:
        self.books += 1
        ask = self.cache.book(instrument_id).best_ask()
        if self.ask_seen is None and ask is not None:
            self.ask_seen = ask[0]
            self.submit_order(self.market(instrument_id, 0, 1))

    def on_order_event(self, event: OrderEvent) -> None:
        self.events.append(event)


def paper_node(instrument: dict[str, Any]) -> tuple[TradingNode, TakeOnce]:
    config = parse_config(
        {
            "node": {"mode": "paper", "starting_balances": {"USD": "1000000"}},
            "instruments": [instrument],
        },
        environ={},
    )
    node = TradingNode(config, clock=LiveClock())
    strategy = TakeOnce("TAKER", {"instrument_id": instrument["instrument_id"]})
    node.add_strategy(strategy)
    return node, strategy


def test_binance_paper_mode_trades_against_the_live_book() -> None:
    instrument = {
        "instrument_id": "BTCUSDT.BINANCE",
        "tick_size": "0.01",
        "price_precision": 2,
        "lot_size": "0.00001",
        "size_precision": 5,
    }

    async def main() -> tuple[TradingNode, TakeOnce, BinanceMarket, Any]:
        market = BinanceMarket()
        scripts = [[emit(3), wait_snapshot_request(), emit(10)]]
        async with FakeBinance(market, scripts) as server:
            node, strategy = paper_node(instrument)
            config = BinanceConfig(ws_url=server.ws_url, rest_url=server.rest_url, reconnect=FAST)
            adapter = attach_binance(node, config, ["BTCUSDT.BINANCE"])
            node.start()
            adapter.start()
            await asyncio.wait_for(server.scripts_done.wait(), 10)
            sync = adapter.feed.syncs["BTCUSDT.BINANCE"]  # type: ignore[attr-defined]
            while sync.last_update_id != market.last_id or not strategy.events:
                await asyncio.sleep(0.005)
            await adapter.stop()
            node.stop()
            return node, strategy, market, adapter

    node, strategy, market, adapter = asyncio.run(main())
    book = node.cache.book("BTCUSDT.BINANCE")
    bids, asks = market.expected_levels()
    assert (book.levels(0), book.levels(1)) == (bids, asks)  # the node's book is the feed's
    venue = adapter.venue
    assert isinstance(venue, SimulatedBookVenue)
    assert venue.best_bid("BTCUSDT.BINANCE") == bids[0]  # the paper venue got every change
    assert venue.best_ask("BTCUSDT.BINANCE") == asks[0]
    fills = [event for event in strategy.events if isinstance(event, OrderFilled)]
    assert len(fills) == 1
    assert fills[0].last_price == strategy.ask_seen  # filled at the live ask
    assert strategy.books >= 11  # the snapshot and every update reached the strategy
    assert node.portfolio.net_quantity("BTCUSDT.BINANCE") == 1


def test_kraken_paper_mode_keeps_the_node_book() -> None:
    instrument = {
        "instrument_id": "BTC/USD.KRAKEN",
        "tick_size": "0.1",
        "price_precision": 1,
        "lot_size": "0.00000001",
        "size_precision": 8,
    }

    async def main() -> tuple[TradingNode, TakeOnce, KrakenMarket, Any]:
        market = KrakenMarket()
        async with FakeKraken(market, [[wait_subscribed(), updates(15)]]) as server:
            node, strategy = paper_node(instrument)
            config = KrakenConfig(ws_url=server.ws_url, reconnect=FAST)
            adapter = attach_kraken(node, config, ["BTC/USD.KRAKEN"])
            node.start()
            adapter.start()
            await asyncio.wait_for(server.scripts_done.wait(), 10)
            while adapter.feed.counters.frames < server.sent or not strategy.events:
                await asyncio.sleep(0.005)
            await adapter.stop()
            node.stop()
            return node, strategy, market, adapter

    node, strategy, market, adapter = asyncio.run(main())
    bids, asks = market.visible()
    book = node.cache.book("BTC/USD.KRAKEN")
    assert (book.levels(0), book.levels(1)) == (bids, asks)
    assert adapter.venue.best_ask("BTC/USD.KRAKEN") == asks[0]
    assert any(isinstance(event, OrderFilled) for event in strategy.events)


def test_attach_refuses_instruments_the_node_does_not_configure() -> None:
    node, _ = paper_node(
        {
            "instrument_id": "BTCUSDT.BINANCE",
            "tick_size": "0.01",
            "price_precision": 2,
            "lot_size": "0.00001",
            "size_precision": 5,
        }
    )
    with pytest.raises(ConfigError) as refused:
        attach_binance(node, BinanceConfig(), ["ETHUSDT.BINANCE"])
    assert refused.value.code == "UNKNOWN_INSTRUMENT"
    with pytest.raises(ConfigError):
        BinanceConfig(snapshot_limit=7)


def test_venue_configs_come_from_toml_tables_and_name_bad_fields() -> None:
    table = tomllib.loads(
        """
        [venues.binance]
        mode = "live"
        depth_interval_ms = 1000
        snapshot_limit = 500
        orders = { rate = 2.0, burst = 20.0 }
        reconnect = { initial_delay_s = 1.0, max_delay_s = 60.0 }

        [venues.kraken]
        depth = 25
        symbols = { "XBTUSD.KRAKEN" = "BTC/USD" }
        """
    )["venues"]
    binance = parse_venue_config(table["binance"], BinanceConfig, "node.toml")
    assert (binance.mode, binance.depth_interval_ms, binance.snapshot_limit) == ("live", 1000, 500)
    assert binance.orders == RateLimit(rate=2.0, burst=20.0)
    assert binance.reconnect.max_delay_s == 60.0
    kraken = parse_venue_config(table["kraken"], KrakenConfig)
    assert kraken.symbol("XBTUSD.KRAKEN") == "BTC/USD"
    assert kraken.symbol("ETH/USD.KRAKEN") == "ETH/USD"
    for bad, field in (
        ({"mode": "demo"}, "mode"),
        ({"api_key": "secret"}, "api_key"),  # keys never in a file: no such field
        ({"snapshot_limit": 7}, "snapshot_limit"),
        ({"orders": {"rate": 0, "burst": 1}}, "rate"),
    ):
        with pytest.raises(ConfigError) as refused:
            parse_venue_config(bad, BinanceConfig, "node.toml")
        assert refused.value.code == "INVALID_CONFIG"
        assert field in refused.value.message
