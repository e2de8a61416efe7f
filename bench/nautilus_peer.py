"""NautilusTrader (benchmark-only, the ``bench`` extra) on the same data as ``bench_node.py``.

Both runs use a ``BacktestEngine`` with logging bypassed and a strategy equivalent to ours:

* :func:`run_daily_bars`: every bar of the 20 stocks as a Nautilus ``Bar`` on one simulated
  cash venue, a strategy subscribed to every instrument's bars that counts them and keeps each
  instrument's last close (``bench_node.BarWatcher``).
* :func:`run_l2_stream`: the L2 deltas as ``OrderBookDelta`` (``UPDATE`` sets a level,
  ``DELETE`` removes it; each delta is its own batch, ``F_LAST``) on an L2 book venue, the
  prints as ``TradeTick``; a strategy subscribed to the deltas, called on every one, that reads
  the top of the managed book and, when it changed, the microprice
  (``bench_node.BookReader``). Nautilus has no "top of book changed" subscription, so its
  strategy is called on every delta and checks for a change itself.

Conversion to Nautilus objects happens in :func:`bar_data` / :func:`l2_data`, outside the
timed ``engine.run()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hftcore._core import Instrument
from hftcore.model.data import Bar
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig, StrategyConfig
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.data import Bar as NautilusBar
from nautilus_trader.model.data import BarType, BookOrder, OrderBookDelta, TradeTick
from nautilus_trader.model.enums import (
    AccountType,
    AggressorSide,
    BookAction,
    BookType,
    OmsType,
    OrderSide,
    RecordFlag,
)
from nautilus_trader.model.identifiers import InstrumentId, Symbol, TradeId, Venue
from nautilus_trader.model.instruments import Equity
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.trading.strategy import Strategy

BAR_VENUE = "XNAS"
BOOK_VENUE = "SIM"
BOOK_SYMBOL = "SYNTH"


def equity(symbol: str, venue: str, instrument: Instrument) -> Equity:
    """A Nautilus equity with the tick size and lot size of one of ours."""
    return Equity(
        instrument_id=InstrumentId(Symbol(symbol), Venue(venue)),
        raw_symbol=Symbol(symbol),
        currency=USD,
        price_precision=instrument.price_precision,
        price_increment=Price.from_str(str(instrument.tick_size)),
        lot_size=Quantity.from_int(1),
        ts_event=0,
        ts_init=0,
    )


def engine(venue: str, book_type: BookType) -> BacktestEngine:
    backtest = BacktestEngine(
        BacktestEngineConfig(trader_id="BENCH-001", logging=LoggingConfig(bypass_logging=True))
    )
    backtest.add_venue(
        Venue(venue),
        oms_type=OmsType.NETTING,
        account_type=AccountType.CASH,
        starting_balances=[Money(1_000_000, USD)],
        base_currency=USD,
        book_type=book_type,
    )
    return backtest


# -- daily bars -------------------------------------------------------------------------------


class BarWatcherConfig(StrategyConfig, frozen=True):
    bar_types: tuple[str, ...] = ()


class NautilusBarWatcher(Strategy):
    """Subscribed to every instrument's daily bars; counts them, keeps the last close."""

    def __init__(self, config: BarWatcherConfig) -> None:
        super().__init__(config)
        self.bars = 0
        self.last_close: dict[str, Price] = {}

    def on_start(self) -> None:
        for bar_type in self.config.bar_types:
            self.subscribe_bars(BarType.from_str(bar_type))

    def on_bar(self, bar: NautilusBar) -> None:
        self.bars += 1
        self.last_close[bar.bar_type.instrument_id.symbol.value] = bar.close


def bar_type_of(symbol: str) -> str:
    return f"{symbol}.{BAR_VENUE}-1-DAY-LAST-EXTERNAL"


@dataclass
class BarData:
    instruments: list[Equity]
    bars: list[list[NautilusBar]]
    """One list per instrument, in time order."""
    bar_types: tuple[str, ...]


def bar_data(instruments: Sequence[Instrument], bars: Sequence[Bar]) -> BarData:
    """Our instruments and bars (``SYMBOL.SIM`` ids) as Nautilus equities and bars."""
    by_id = {i.instrument_id: i for i in instruments}
    symbols = {i.instrument_id: i.instrument_id.split(".")[0] for i in instruments}
    bar_types = {iid: BarType.from_str(bar_type_of(s)) for iid, s in symbols.items()}

    def price(iid: str, ticks: int) -> Price:
        return Price.from_str(by_id[iid].ticks_to_str(ticks))

    converted: dict[str, list[NautilusBar]] = {iid: [] for iid in by_id}
    for bar in bars:
        converted[bar.instrument_id].append(
            NautilusBar(
                bar_types[bar.instrument_id],
                price(bar.instrument_id, bar.open),
                price(bar.instrument_id, bar.high),
                price(bar.instrument_id, bar.low),
                price(bar.instrument_id, bar.close),
                Quantity.from_int(bar.volume),
                bar.ts_event,
                bar.ts_init,
            )
        )
    return BarData(
        [equity(symbols[i.instrument_id], BAR_VENUE, i) for i in instruments],
        list(converted.values()),
        tuple(str(bar_type) for bar_type in bar_types.values()),
    )


def prepare_daily_bars(data: BarData) -> tuple[BacktestEngine, NautilusBarWatcher]:
    backtest = engine(BAR_VENUE, BookType.L1_MBP)
    for instrument in data.instruments:
        backtest.add_instrument(instrument)
    for series in data.bars:
        backtest.add_data(series)
    watcher = NautilusBarWatcher(BarWatcherConfig(bar_types=data.bar_types))
    backtest.add_strategy(watcher)
    return backtest, watcher


# -- L2 stream --------------------------------------------------------------------------------


class NautilusBookReader(Strategy):
    """Called on every book delta; when the top of book (best prices and sizes) changed,
    counts a call and reads the microprice."""

    def __init__(self) -> None:
        super().__init__()
        self.deltas = 0
        self.calls = 0
        self.trades = 0
        self.instrument_id = InstrumentId(Symbol(BOOK_SYMBOL), Venue(BOOK_VENUE))
        self._top: tuple[Any, Any, Any, Any] | None = None
        self.last = 0.0

    def on_start(self) -> None:
        self.subscribe_order_book_deltas(self.instrument_id, BookType.L2_MBP)
        self.subscribe_trade_ticks(self.instrument_id)

    def on_order_book_deltas(self, deltas: Any) -> None:
        self.deltas += 1
        book = self.cache.order_book(self.instrument_id)
        bid, ask = book.best_bid_price(), book.best_ask_price()
        bid_size, ask_size = book.best_bid_size(), book.best_ask_size()
        top = (bid, ask, bid_size, ask_size)
        if top == self._top:
            return
        self._top = top
        self.calls += 1
        if bid is not None and ask is not None:
            b, a = bid.as_double(), ask.as_double()
            bs, as_ = bid_size.as_double(), ask_size.as_double()
            self.last = (b * as_ + a * bs) / (bs + as_)

    def on_trade_tick(self, tick: TradeTick) -> None:
        self.trades += 1


class NautilusIdle(Strategy):
    """Subscribes to nothing and never trades."""


@dataclass
class L2Data:
    instrument: Equity
    deltas: list[OrderBookDelta]
    trades: list[TradeTick]


def l2_data(instrument: Instrument, deltas: Any, trades: Any) -> L2Data:
    """Our L2 delta and trade records (``L2_DELTA_DTYPE``, ``TRADE_DTYPE``) as Nautilus
    ``OrderBookDelta`` and ``TradeTick`` objects (the engine merges them by ``ts_init``)."""
    nautilus = equity(BOOK_SYMBOL, BOOK_VENUE, instrument)
    iid = nautilus.id
    scale = Decimal(str(instrument.tick_size))
    precision = instrument.price_precision
    prices: dict[int, Price] = {}

    def price(ticks: int) -> Price:
        cached = prices.get(ticks)
        if cached is None:
            cached = prices[ticks] = Price(float(ticks * scale), precision)
        return cached

    sides = {0: OrderSide.BUY, 1: OrderSide.SELL}
    book_deltas = []
    for ts_event, ts_init, sequence, ticks, quantity, side, _ in deltas.tolist():
        action = BookAction.UPDATE if quantity else BookAction.DELETE
        order = BookOrder(sides[side], price(ticks), Quantity.from_int(quantity), ticks)
        book_deltas.append(
            OrderBookDelta(iid, action, order, RecordFlag.F_LAST, sequence, ts_event, ts_init)
        )
    aggressors = {0: AggressorSide.BUYER, 1: AggressorSide.SELLER}
    ticks_list = [
        TradeTick(
            iid,
            price(ticks),
            Quantity.from_int(quantity),
            aggressors.get(aggressor, AggressorSide.NO_AGGRESSOR),
            TradeId(str(number + 1)),
            ts_event,
            ts_init,
        )
        for number, (ts_event, ts_init, ticks, quantity, aggressor) in enumerate(trades.tolist())
    ]
    return L2Data(nautilus, book_deltas, ticks_list)


def prepare_l2_stream(data: L2Data, strategy: Strategy) -> BacktestEngine:
    backtest = engine(BOOK_VENUE, BookType.L2_MBP)
    backtest.add_instrument(data.instrument)
    backtest.add_data(data.deltas)
    backtest.add_data(data.trades)
    backtest.add_strategy(strategy)
    return backtest


def top_of_book(backtest: BacktestEngine, instrument_id: InstrumentId) -> tuple[Any, ...]:
    """``((bid, bid size), (ask, ask size))`` of the book in the engine's cache (kept for a
    strategy subscribed to it) as decimal text."""
    book = backtest.cache.order_book(instrument_id)
    return (
        (str(book.best_bid_price()), str(book.best_bid_size())),
        (str(book.best_ask_price()), str(book.best_ask_size())),
    )
