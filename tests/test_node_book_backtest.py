"""L2 backtests on the trading node: deltas and prints through a SimulatedBookVenue, strategies
called at the venue's feed times, the market maker's inventory limits and determinism."""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec
import numpy as np
import pytest
from hftcore import l2_replay_from_l3, synthetic_l3_messages
from hftcore.errors import BookError, ConfigError, InvalidData, InvalidValue
from hftcore.model.data import Trade
from hftcore.model.events import OrderFilled
from hftcore.model.orders import TimeInForce
from hftcore.node.book_backtest import (
    DEMO_VENUE,
    SYNTHETIC_INSTRUMENT,
    book_node,
    run_book,
    run_market_making_demo,
)
from hftcore.node.strategy import Strategy
from hftcore.reports.backtest import BacktestResult
from hftcore.strategies.market_maker import MarketMaker
from hftcore.venues.simulated import (
    BookVenueConfig,
    LognormalLatency,
    SimulatedBookVenue,
)

INSTRUMENT_ID = SYNTHETIC_INSTRUMENT["instrument_id"]
RANDOM_FEED = msgspec.structs.replace(
    DEMO_VENUE, feed_latency=LognormalLatency(mu=12.0, sigma=0.6, seed=5)
)


@cache
def flow(count: int, seed: int) -> tuple[Any, Any]:
    return l2_replay_from_l3(synthetic_l3_messages(count, seed=seed))


class Recorder(Strategy):
    """Records what it is shown and when; never trades."""

    def on_start(self) -> None:
        self.books: list[tuple[int, tuple[int, int, int, int]]] = []
        self.trades: list[tuple[int, Trade]] = []
        self.tops_at_trades: list[tuple[tuple[int, int, int, int], tuple[int, int, int, int]]] = []
        self.subscribe_book(INSTRUMENT_ID)
        self.subscribe_trades(INSTRUMENT_ID)

    def top(self) -> tuple[int, int, int, int]:
        book = self.cache.book(INSTRUMENT_ID)
        bid, ask = book.best_bid(), book.best_ask()
        return (
            bid[0] if bid else 0,
            bid[1] if bid else 0,
            ask[0] if ask else 0,
            ask[1] if ask else 0,
        )

    def on_book(self, instrument_id: str) -> None:
        self.books.append((self.clock.timestamp_ns(), self.top()))

    def on_trade(self, trade: Trade) -> None:
        self.trades.append((self.clock.timestamp_ns(), trade))
        # What the book shows at a print and what the last book callback showed.
        last_published = self.books[-1][1] if self.books else (0, 0, 0, 0)
        self.tops_at_trades.append((self.top(), last_published))


class FillClock(MarketMaker):
    """The market maker, noting the local time at which each fill reaches it."""

    def on_start(self) -> None:
        super().on_start()
        self.fill_times: list[tuple[int, OrderFilled]] = []

    def on_fill(self, fill: OrderFilled) -> None:
        self.fill_times.append((self.clock.timestamp_ns(), fill))


def reference(config: BookVenueConfig, deltas: Any, trades: Any) -> tuple[Any, Any, Any]:
    """Feed times of every record from one bulk replay on a fresh venue, and the top of book
    after every delta record."""
    node = book_node(config)
    instrument = node.cache.instrument(INSTRUMENT_ID)
    venue = SimulatedBookVenue("REF", {instrument: "USD"}, config, lambda event: None)
    replay = venue.on_l2_deltas(INSTRUMENT_ID, deltas, trades)
    top = node.cache.book(INSTRUMENT_ID).apply_deltas(deltas, return_top=True)
    columns = np.stack([top.bid_price, top.bid_quantity, top.ask_price, top.ask_quantity], 1)
    return replay.feed_ts, replay.trade_feed_ts, columns


def market_maker_run(seed: int, params: dict[str, Any]) -> tuple[BacktestResult, FillClock]:
    deltas, trades = flow(300_000, seed)
    node = book_node(DEMO_VENUE)
    strategy = FillClock("MM", {"instrument_id": INSTRUMENT_ID, **params})
    node.add_strategy(strategy)
    return run_book(node, deltas, trades, chunk=20_000), strategy


@pytest.mark.parametrize("config", [DEMO_VENUE, RANDOM_FEED], ids=["constant", "lognormal"])
@pytest.mark.parametrize("chunk", [977, 1_000_000])
def test_callbacks_run_at_the_feed_time_of_each_top_of_book_change(
    config: BookVenueConfig, chunk: int
) -> None:
    deltas, trades = flow(40_000, 11)
    feed, trade_feed, top = reference(config, deltas, trades)
    node = book_node(config)
    recorder = Recorder("REC")
    node.add_strategy(recorder)
    run_book(node, deltas, trades, chunk=chunk, sample_interval_ns=100_000_000)

    changed = np.ones(len(deltas), dtype=bool)
    changed[1:] = np.any(top[1:] != top[:-1], axis=1)
    expected = [(int(feed[i]), tuple(int(v) for v in top[i])) for i in np.flatnonzero(changed)]
    assert recorder.books == expected
    # Never earlier than the venue says the data can be seen, and time never goes back.
    times = [ts for ts, _ in recorder.books]
    assert times == sorted(times)
    exchange = deltas["ts_event"][np.flatnonzero(changed)]
    assert all(ts >= int(t) for ts, t in zip(times, exchange, strict=True))
    assert [ts for ts, _ in recorder.trades] == [int(ts) for ts in trade_feed]
    assert [trade.price for _, trade in recorder.trades] == [int(p) for p in trades["price"]]
    assert all(trade.ts_init == ts >= trade.ts_event for ts, trade in recorder.trades)
    # No callback sees a delta before its time: at a print, the book is the one last published.
    assert all(shown == published for shown, published in recorder.tops_at_trades)


def test_market_maker_keeps_inventory_within_limits_and_fills_both_sides() -> None:
    result, strategy = market_maker_run(7, {"quantity": 3, "max_position": 7})
    buys = [fill for fill in result.fills if fill.side == "BUY"]
    sells = [fill for fill in result.fills if fill.side == "SELL"]
    assert len(buys) >= 5
    assert len(sells) >= 5
    inventory = 0.0
    for fill in result.fills:
        inventory += fill.quantity if fill.side == "BUY" else -fill.quantity
        assert -7 <= inventory <= 7
    assert max(abs(p) for p in result.positions[INSTRUMENT_ID]) <= 7
    # Fills reach the strategy at (never before) the time the venue says they are seen.
    assert strategy.fill_times
    assert all(now == fill.ts_event for now, fill in strategy.fill_times)
    # Only limit orders of at most `quantity` lots, none left working after on_stop.
    assert all(order.order_type == "LIMIT" and order.quantity <= 3 for order in result.orders)
    assert {order.status for order in result.orders} <= {
        "FILLED",
        "CANCELED",
        "PENDING_CANCEL",
        "REJECTED",
        "DENIED",
    }


def test_same_seed_gives_identical_fills() -> None:
    first, _ = market_maker_run(7, {})
    second, _ = market_maker_run(7, {})
    assert first.fills
    assert first.fills == second.fills
    assert first.orders == second.orders
    assert first.equity == second.equity
    other, _ = market_maker_run(8, {})
    assert other.fills != first.fills


def test_equity_is_sampled_on_the_time_grid() -> None:
    deltas, trades = flow(40_000, 11)
    node = book_node(DEMO_VENUE)
    node.add_strategy(MarketMaker("MM", {"instrument_id": INSTRUMENT_ID}))
    result = run_book(node, deltas, trades, sample_interval_ns=250_000_000)
    steps = np.diff(np.asarray(result.timestamps))
    assert len(result.timestamps) >= 4
    assert set(steps.tolist()) == {250_000_000}
    assert result.timestamps[0] >= int(trades["ts_event"][0])


def bad_inputs() -> list[tuple[dict[str, Any], type[Exception], str]]:
    deltas, _ = flow(2_000, 3)
    swapped = deltas.copy()
    swapped[[10, 11]] = swapped[[11, 10]]
    earlier = deltas.copy()
    earlier["ts_event"][11] = earlier["ts_event"][10] - 1
    return [
        ({"deltas": np.zeros(3, [("ts_event", "<i8")])}, InvalidData, "INVALID_RECORDS"),
        ({"deltas": deltas, "trades": deltas}, InvalidData, "INVALID_RECORDS"),
        ({"deltas": earlier}, InvalidData, "TIMESTAMP_BEFORE_VENUE_TIME"),
        ({"deltas": swapped}, BookError, "SEQUENCE_GAP"),
        ({"deltas": deltas[:0]}, InvalidData, "TOO_FEW_RECORDS"),
        ({"deltas": deltas, "chunk": 0}, InvalidValue, "INVALID_CHUNK"),
        ({"deltas": deltas, "chunk": 2.5}, InvalidValue, "INVALID_CHUNK"),
        ({"deltas": deltas, "sample_interval_ns": -1}, InvalidValue, "INVALID_INTERVAL"),
        ({"deltas": deltas, "instrument_id": "NOPE.SIM"}, InvalidValue, "UNKNOWN_INSTRUMENT"),
    ]


@pytest.mark.parametrize(("kwargs", "error", "code"), bad_inputs())
def test_bad_input_is_refused_before_anything_runs(
    kwargs: dict[str, Any], error: type[Exception], code: str
) -> None:
    node = book_node(DEMO_VENUE)
    strategy = MarketMaker("MM", {"instrument_id": INSTRUMENT_ID})
    node.add_strategy(strategy)
    with pytest.raises(error) as raised:
        run_book(node, **kwargs)
    assert getattr(raised.value, "code", None) == code
    assert node.clock.timestamp_ns() == 0
    assert list(node.execution.oms) == []
    assert node.cache.book(INSTRUMENT_ID).best_bid() is None
    assert not hasattr(strategy, "_quotes")  # never started
    # The node is still usable: a good run afterwards works.
    deltas, trades = flow(40_000, 11)
    assert run_book(node, deltas, trades).timestamps


def test_a_node_without_a_book_venue_is_refused() -> None:
    from hftcore.node.config import parse_config
    from hftcore.node.kernel import TradingNode
    from hftcore.venues.bars import BarVenue

    node = TradingNode(parse_config({"instruments": [SYNTHETIC_INSTRUMENT]}, environ={}))
    node.add_venue("BARS", BarVenue("BARS", {node.cache.instrument(INSTRUMENT_ID): "USD"}))
    deltas, _ = flow(2_000, 3)
    with pytest.raises(ConfigError) as raised:
        run_book(node, deltas)
    assert raised.value.code == "UNSUPPORTED_VENUE"


def test_market_making_demo_reports_a_session() -> None:
    summary = run_market_making_demo(100_000, 7)
    buys, sells = (int(n.replace(",", "")) for n in summary["fills (buy / sell)"].split(" / "))
    assert buys > 0
    assert sells > 0
    assert float(summary["max |inventory| (lots)"]) <= 50
    assert summary == run_market_making_demo(100_000, 7) | {
        "replay events/s": summary["replay events/s"]
    }
    with pytest.raises(InvalidValue):
        run_market_making_demo(0, 7)


class Reactive(Strategy):
    """Acts outside book callbacks: a new one-lot bid at the touch from every fill, and an IOC
    order from a timer every 50 ms, as strategies that hedge or re-quote on fills do."""

    def on_start(self) -> None:
        self.subscribe_book(INSTRUMENT_ID)
        self.from_fills = 0
        self.from_timer = 0
        self.refused: list[str] = []
        self.sent: list[str] = []
        self.started = False
        self.side = 0

    def _bid(self) -> None:
        bid = self.cache.book(INSTRUMENT_ID).best_bid()
        if bid is not None:
            self.sent.append(self.submit_order(self.limit(INSTRUMENT_ID, 0, 1, bid[0])))

    def on_book(self, instrument_id: str) -> None:
        if not self.started:
            self.started = True
            self._bid()
            self.set_timer("ioc", 50_000_000)

    def on_fill(self, fill: OrderFilled) -> None:
        if fill.side == 0:
            self.from_fills += 1
            self._bid()

    def on_timer(self, event: Any) -> None:
        if self.started:
            self.from_timer += 1
            self.side = 1 - self.side
            self.sent.append(self.submit_order(self.market(INSTRUMENT_ID, self.side, 1)))

    def on_order_event(self, event: Any) -> None:
        reason = getattr(event, "reason", None)
        if isinstance(reason, str) and "TIMESTAMP" in reason:
            self.refused.append(reason)


@pytest.mark.parametrize("config", [DEMO_VENUE, RANDOM_FEED], ids=["constant", "lognormal"])
def test_orders_sent_from_fills_and_timers_reach_the_venue_in_time(
    config: BookVenueConfig,
) -> None:
    """The venue never runs ahead of a time at which the node may still act (a fill's or a
    timer's), so orders sent then are not refused as coming before the venue's time."""
    deltas, trades = flow(60_000, 5)
    node = book_node(config)
    strategy = Reactive("R")
    node.add_strategy(strategy)
    run_book(node, deltas, trades, sample_interval_ns=100_000_000)
    assert node.failure("R") is None
    assert strategy.from_fills > 5
    assert strategy.from_timer > 5
    assert strategy.refused == []
    orders = list(node.execution.oms)
    assert [order.client_order_id for order in orders] == strategy.sent
    assert len(strategy.sent) >= strategy.from_fills + strategy.from_timer
    assert all(order.status.name not in ("REJECTED", "DENIED") for order in orders)
    assert sum(order.filled_quantity for order in orders) > strategy.from_fills


class ImmediateAlarm(Strategy):
    """On the first two-sided book, sets a one-shot alert due at the current time; it must
    fire (and trade) without stalling the replay."""

    def on_start(self) -> None:
        self.subscribe_book(INSTRUMENT_ID)
        self.fired: list[int] = []

    def on_book(self, instrument_id: str) -> None:
        book = self.cache.book(instrument_id)
        two_sided = book.best_bid() is not None and book.best_ask() is not None
        if two_sided and not hasattr(self, "armed"):
            self.armed = True
            now = self.clock.timestamp_ns()
            self.clock.set_time_alert(f"{self.strategy_id}.now", now, self.on_timer)

    def on_timer(self, event: Any) -> None:
        self.fired.append(self.clock.timestamp_ns())
        ask = self.cache.book(INSTRUMENT_ID).best_ask()
        assert ask is not None
        self.submit_order(self.limit(INSTRUMENT_ID, 0, 1, ask[0], time_in_force=TimeInForce.IOC))


def test_an_alert_due_at_the_current_time_fires_at_once() -> None:
    deltas, trades = flow(20_000, 5)
    node = book_node(DEMO_VENUE)
    strategy = ImmediateAlarm("A")
    node.add_strategy(strategy)
    run_book(node, deltas, trades, sample_interval_ns=100_000_000)
    assert node.failure("A") is None
    assert len(strategy.fired) == 1
    orders = list(node.execution.oms)
    assert [order.status.name for order in orders] == ["FILLED"]
