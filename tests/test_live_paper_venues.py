"""The simulated venues of paper mode on live data: Alpaca's quotes as a one-level book (fills
against the quoted size, a moved quote replaces its level), and a paper venue's time after the
node's clock tick (data received earlier is stamped no earlier than the tick)."""

from __future__ import annotations

import pytest
from hftcore import Instrument
from hftcore.errors import HftcoreError
from hftcore.model.data import Bar, BookDelta, Quote, Trade
from hftcore.model.events import OrderCanceled, OrderEvent, OrderFilled, OrderSpec
from hftcore.model.orders import OrderType
from hftcore.node.clock import LiveClock
from hftcore.node.config import parse_config
from hftcore.node.kernel import TradingNode
from hftcore.venues.alpaca import AlpacaPaperVenue
from hftcore.venues.kraken import KrakenConfig, attach_kraken
from hftcore.venues.simulated import SimulatedBookVenue

AAPL = Instrument("AAPL.ALPACA", "0.01", 2, "1", 0)
ID = "AAPL.ALPACA"
KRAKEN_ID = "BTC/USD.KRAKEN"


def quote(bid: int, bid_size: int, ask: int, ask_size: int, ts: int) -> Quote:
    return Quote(ID, bid, bid_size, ask, ask_size, ts, ts)


def test_the_alpaca_paper_book_is_the_latest_quote() -> None:
    venue = AlpacaPaperVenue("ALPACA", {AAPL: "USD"})
    events: list[OrderEvent] = []
    venue.set_event_sink(events.append)
    for number, (bid, bid_size, ask, ask_size) in enumerate(
        [
            (18_995, 300, 19_001, 100),
            (19_001, 50, 19_003, 80),  # moved up through the old ask: never crossed on the way
            (19_001, 70, 19_003, 0),  # the ask side emptied
            (18_990, 10, 18_999, 5),  # both moved down
        ],
        start=1,
    ):
        venue.on_quote(quote(bid, bid_size, ask, ask_size, number))
        assert venue.best_bid(ID) == (bid, bid_size)
        assert venue.best_ask(ID) == ((ask, ask_size) if ask_size else None)
    assert events == []


def test_a_paper_order_fills_against_the_quoted_size_only() -> None:
    venue = AlpacaPaperVenue("ALPACA", {AAPL: "USD"})
    events: list[OrderEvent] = []
    venue.set_event_sink(events.append)
    venue.on_quote(quote(18_995, 300, 19_001, 100, 10))
    venue.submit("S-1", OrderSpec(ID, 0, OrderType.MARKET, 150), 11, strategy_id="S")
    venue.advance_to(11)  # the order arrives (the session's clock tick, or the next data)
    fills = [event for event in events if isinstance(event, OrderFilled)]
    assert [(fill.last_price, fill.last_quantity) for fill in fills] == [(19_001, 100)]
    canceled = [event for event in events if isinstance(event, OrderCanceled)]
    assert [event.reason for event in canceled] == ["NO_LIQUIDITY"]
    # a bar says nothing about the book: accepted and ignored
    venue.on_bar(Bar(ID, "1-MINUTE", 19_000, 19_010, 18_990, 19_005, 1_000, 12, 12))
    assert venue.best_ask(ID) == (19_001, 100)


def test_alpaca_data_older_than_the_paper_venue_is_stamped_with_its_time() -> None:
    venue = AlpacaPaperVenue("ALPACA", {AAPL: "USD"})
    venue.set_event_sink(lambda event: None)
    venue.on_quote(quote(18_995, 300, 19_001, 100, 1_000))
    venue.advance_to(5_000)  # the node's clock tick
    venue.on_quote(quote(18_996, 300, 19_002, 100, 2_000))  # received before the tick
    assert venue.now(ID) == 5_000
    assert venue.venue_time(ID, 4_000) == 5_000
    assert venue.venue_time(ID, 6_000) == 6_000


def test_book_data_after_a_tick_is_stamped_no_earlier_than_the_tick() -> None:
    config = parse_config(
        {
            "node": {"mode": "paper"},
            "instruments": [
                {
                    "instrument_id": KRAKEN_ID,
                    "tick_size": "0.1",
                    "price_precision": 1,
                    "lot_size": "0.00000001",
                    "size_precision": 8,
                }
            ],
        },
        environ={},
    )
    node = TradingNode(config, clock=LiveClock())
    adapter = attach_kraken(node, KrakenConfig(mode="paper"), [KRAKEN_ID])  # not connected
    venue = adapter.venue
    assert isinstance(venue, SimulatedBookVenue)
    book = node.cache.book(KRAKEN_ID)
    changes = [(0, 449_995, 300), (1, 450_001, 100)]
    for side, price, quantity in changes:
        book.apply_delta(side, price, quantity)
    adapter.handler.on_book(KRAKEN_ID, changes, 1_000, 1_000)
    adapter.on_clock_tick(5_000)
    assert venue.now(KRAKEN_ID) == 5_000
    book.apply_delta(1, 450_001, 40)
    adapter.handler.on_book(KRAKEN_ID, [(1, 450_001, 40)], 2_000, 2_000)  # received before
    assert venue.best_ask(KRAKEN_ID) == (450_001, 40)
    adapter.handler.on_trade(Trade(KRAKEN_ID, 450_001, 10, 0, "T1", 1_500, 3_000))
    assert venue.now(KRAKEN_ID) == 5_000
    assert node.cache.trade(KRAKEN_ID) is not None  # the node took the trade too


def test_without_the_mark_an_update_older_than_the_tick_is_refused() -> None:
    """Why the tick marks the venue's time first: the core refuses to go back in time."""
    venue = SimulatedBookVenue("SIM", {AAPL: "USD"})
    venue.set_event_sink(lambda event: None)
    venue.advance_to(5_000)
    with pytest.raises(HftcoreError) as refused:
        venue.on_book_delta(BookDelta(ID, 1, 19_001, 40, 0, 2_000, 2_000))
    assert refused.value.code == "TIMESTAMP_BEFORE_VENUE_TIME"
