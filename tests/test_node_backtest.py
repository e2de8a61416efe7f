"""The trading node end to end on real bundled daily bars: strategy -> OMS -> risk gate ->
bar venue -> portfolio -> result; isolation of failing strategies; risk denials."""

from __future__ import annotations

from typing import Any

import pytest
from hftcore.errors import InvalidData
from hftcore.model.data import Bar, Quote, Trade
from hftcore.model.events import OrderDenied, OrderEvent, OrderFilled
from hftcore.node.backtest import _Recorder, bundled_bar_events, run_bars
from hftcore.node.config import parse_config
from hftcore.node.kernel import TradingNode
from hftcore.node.strategy import Strategy, load_strategy_class
from hftcore.venues.bars import BarVenue


def msft_bars() -> list[Bar]:
    return bundled_bar_events("msft_daily_ohlcv")[1]


def make_node(
    risk: dict[str, Any] | None = None, limits: dict[str, Any] | None = None
) -> TradingNode:
    config = parse_config(
        {
            "node": {"starting_balances": {"USD": "1000000"}},
            "instruments": [
                {
                    "instrument_id": "MSFT.XNAS",
                    "tick_size": "0.00001",
                    "price_precision": 5,
                    "lot_size": "1",
                    "size_precision": 0,
                    **({"limits": limits} if limits else {}),
                }
            ],
            "risk": risk or {},
        },
        environ={},
    )
    node = TradingNode(config)
    instrument = node.cache.instrument("MSFT.XNAS")
    node.add_venue("XNAS", BarVenue("XNAS", {instrument: "USD"}))
    return node


def test_sma_crossover_backtest_on_real_msft_bars() -> None:
    node = make_node()
    strategy_class = load_strategy_class("hftcore.strategies.sma_crossover:SmaCrossover")
    node.add_strategy(strategy_class("SMA", {"instrument_ids": ["MSFT.XNAS"]}))
    bars = msft_bars()
    result = run_bars(node, bars)
    fills = result.fills
    assert len(fills) > 20, "a 30-year trend follower trades many times"
    # Entries are buys, exits sells, alternating: the strategy is long or flat, never short.
    position = 0.0
    for fill in fills:
        position += fill.signed_quantity
        assert position >= 0
    # Market orders fill at the next bar's open: every fill price is some bar's open.
    opens = {round(bar.open / 1e5, 5) for bar in bars}
    assert all(round(fill.price, 5) in opens for fill in fills)
    # The portfolio's equity moves with the position and ends where cash + position says.
    final_cash = node.portfolio.balance("USD") / 1e12
    last_close = bars[-1].close / 1e5
    held = node.portfolio.net_quantity("MSFT.XNAS")
    assert result.equity[-1] == pytest.approx(final_cash + held * last_close, rel=1e-9)
    assert result.statistics.total_return == pytest.approx(result.equity[-1] / 1_000_000 - 1)
    assert all(order.status in ("FILLED", "CANCELED") for order in result.orders)


class Raises(Strategy):
    def on_start(self) -> None:
        self.subscribe_bars("MSFT.XNAS")
        self.seen = 0

    def on_bar(self, bar: Bar) -> None:
        self.seen += 1
        if self.seen == 1:
            self.submit_order(self.limit("MSFT.XNAS", 0, 10, bar.close // 2))
        if self.seen == 3:
            raise RuntimeError("bug in user code")


class Recorder(Strategy):
    def on_start(self) -> None:
        self.subscribe_bars("MSFT.XNAS")
        self.bars = 0
        self.events: list[OrderEvent] = []

    def on_bar(self, bar: Bar) -> None:
        self.bars += 1

    def on_order_event(self, event: OrderEvent) -> None:
        self.events.append(event)


def test_a_failing_strategy_is_stopped_its_orders_canceled_and_the_node_goes_on() -> None:
    node = make_node()
    failing, healthy = Raises("BAD"), Recorder("GOOD")
    node.add_strategy(failing, on_error="stop_and_cancel")
    node.add_strategy(healthy)
    bars = msft_bars()[:50]
    run_bars(node, bars)
    assert not node.is_running("BAD")
    assert isinstance(node.failure("BAD"), RuntimeError)
    assert failing.seen == 3
    assert healthy.bars == 50
    orders = list(node.execution.oms.orders("BAD"))
    assert len(orders) == 1
    assert orders[0].status.name == "CANCELED"


class Oversized(Recorder):
    def on_bar(self, bar: Bar) -> None:
        super().on_bar(bar)
        if self.bars == 1:
            self.submit_order(self.market("MSFT.XNAS", 0, 5_000))
            self.submit_order(self.market("MSFT.XNAS", 0, 50))


def test_every_order_passes_the_risk_gate() -> None:
    node = make_node(limits={"max_order_quantity": 1000})
    strategy = Oversized("RISK")
    node.add_strategy(strategy)
    run_bars(node, msft_bars()[:5])
    denied = [e for e in strategy.events if isinstance(e, OrderDenied)]
    filled = [e for e in strategy.events if isinstance(e, OrderFilled)]
    assert [d.reason for d in denied] == ["MAX_ORDER_QUANTITY"]
    assert sum(f.last_quantity for f in filled) == 50
    assert node.portfolio.net_quantity("MSFT.XNAS") == 50


def test_out_of_order_bars_name_the_bar() -> None:
    node = make_node()
    bars = msft_bars()[:3]
    with pytest.raises(InvalidData) as error:
        run_bars(node, [bars[1], bars[0], bars[2]])
    assert error.value.code == "OUT_OF_ORDER"
    assert "bar 1" in str(error.value)


class Listener(Recorder):
    def on_start(self) -> None:
        super().on_start()
        self.subscribe_quotes("MSFT.XNAS")
        self.subscribe_trades("MSFT.XNAS")
        self.quotes: list[Quote] = []
        self.trades: list[Trade] = []

    def on_quote(self, quote: Quote) -> None:
        self.quotes.append(quote)

    def on_trade(self, trade: Trade) -> None:
        self.trades.append(trade)


def test_quotes_and_trades_reach_subscribers_cache_and_risk_reference() -> None:
    node = make_node()
    strategy = Listener("LISTEN")
    node.add_strategy(strategy)
    node.start()
    # No price known yet: a market order cannot be checked and is denied.
    strategy.submit_order(strategy.market("MSFT.XNAS", 0, 10))
    assert [e.reason for e in strategy.events if isinstance(e, OrderDenied)] == [
        "NO_REFERENCE_PRICE"
    ]
    quote = Quote("MSFT.XNAS", 5_000_000, 100, 5_000_100, 200, 1_000, 1_000)
    node.advance_to(1_000)
    node.process_quote(quote)
    trade = Trade("MSFT.XNAS", 5_000_050, 10, 0, "t1", 2_000, 2_000)
    node.advance_to(2_000)
    node.process_trade(trade)
    assert strategy.quotes == [quote]
    assert strategy.trades == [trade]
    assert node.cache.quote("MSFT.XNAS") == quote
    assert node.cache.last_price("MSFT.XNAS") == 5_000_050
    # Now the gate has a reference price: the same order passes the risk checks.
    strategy.submit_order(strategy.market("MSFT.XNAS", 0, 10))
    assert any(type(e).__name__ == "OrderSubmitted" for e in strategy.events)


class BuyThenTrim(Recorder):
    """Buys 10 on the first bar and sells 4 on the third (each fills at the next open)."""

    def on_bar(self, bar: Bar) -> None:
        super().on_bar(bar)
        if self.bars == 1:
            self.submit_order(self.market("MSFT.XNAS", 0, 10))
        if self.bars == 3:
            self.submit_order(self.market("MSFT.XNAS", 1, 4))


def test_the_result_samples_positions_and_closes_at_every_bar() -> None:
    node = make_node()
    node.add_strategy(BuyThenTrim("TRIM"))
    bars = msft_bars()[:6]
    result = run_bars(node, bars)
    assert result.timestamps == [bar.ts_event for bar in bars]
    assert result.positions["MSFT.XNAS"] == [0.0, 10.0, 10.0, 6.0, 6.0, 6.0]
    assert result.prices["MSFT.XNAS"] == [bar.close / 1e5 for bar in bars]
    assert [fill.price for fill in result.fills] == [bars[1].open / 1e5, bars[3].open / 1e5]


def test_a_sample_without_a_known_price_repeats_the_last_one() -> None:
    node = make_node()
    recorder = _Recorder(node)
    node.start()
    recorder.sample(1_000)  # no price yet
    node.advance_to(2_000)
    node.process_quote(Quote("MSFT.XNAS", 5_000_000, 100, 5_000_100, 200, 2_000, 2_000))
    recorder.sample(2_000)
    node.advance_to(3_000)
    node.process_quote(Quote("MSFT.XNAS", 0, 0, 5_000_300, 200, 3_000, 3_000))  # one-sided
    assert node.cache.last_price("MSFT.XNAS") is None
    recorder.sample(3_000)
    positions, prices = recorder.series()
    assert prices == {"MSFT.XNAS": [0.0, 50.0005, 50.0005]}
    assert positions == {"MSFT.XNAS": [0.0, 0.0, 0.0]}
    assert recorder.equity == [1_000_000.0] * 3


def test_last_prices_match_last_price_per_instrument() -> None:
    cache = make_node().cache
    assert cache.last_prices(["MSFT.XNAS"]) == [None]
    cache.update_bar(Bar("MSFT.XNAS", "1-DAY", 10, 12, 9, 11, 100, 5, 5))
    assert cache.last_prices(["MSFT.XNAS"]) == [11]
    cache.update_quote(Quote("MSFT.XNAS", 20, 1, 24, 1, 6, 6))
    assert cache.last_prices(["MSFT.XNAS"]) == [22] == [cache.last_price("MSFT.XNAS")]
    cache.update_trade(Trade("MSFT.XNAS", 23, 1, 0, "t", 7, 7))
    assert cache.last_prices(["MSFT.XNAS"]) == [23]
