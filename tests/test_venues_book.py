"""SimulatedBookVenue: core events become model events with our ids (answers matched to the
commands in flight), unsupported orders are rejected, synthetic L2/L3 flow replays
deterministically with our resting orders filled, and bad input changes nothing."""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np
import pytest
from hftcore import (
    Instrument,
    LatencyModel,
    QueueModel,
    SimulatedVenue,
    l2_replay_from_l3,
    synthetic_l3_messages,
)
from hftcore.errors import BookError, ConfigError, InvalidData, InvalidValue
from hftcore.model.data import Bar, BookDelta, Trade
from hftcore.model.events import OrderEvent, OrderFilled
from hftcore.model.orders import OrderType, PostOnly, TimeInForce
from hftcore.venues import (
    BookVenueConfig,
    ConstantLatency,
    LognormalLatency,
    QueueModelConfig,
    SimulatedBookVenue,
    UniformLatency,
)
from venue_helpers import INSTRUMENT_ID, Recorder, spec, summary

BUY, SELL = 0, 1
MARKET, LIMIT = OrderType.MARKET, OrderType.LIMIT


def make_venue(
    instrument: Instrument, config: BookVenueConfig | None = None
) -> tuple[SimulatedBookVenue, Recorder]:
    recorder = Recorder()
    venue = SimulatedBookVenue("SIM", {instrument: "USD"}, config, event_sink=recorder)
    return venue, recorder


def with_book(
    instrument: Instrument, config: BookVenueConfig | None = None
) -> tuple[SimulatedBookVenue, Recorder]:
    """Bids 100 x 10, 99 x 20; asks 101 x 10, 102 x 20; at ts 0."""
    venue, recorder = make_venue(instrument, config)
    for side, price, quantity in [(BUY, 100, 10), (BUY, 99, 20), (SELL, 101, 10), (SELL, 102, 20)]:
        venue.on_book_delta(BookDelta(INSTRUMENT_ID, side, price, quantity, 0, 0, 0))
    return venue, recorder


def test_fills_carry_client_ids_trade_ids_fees_and_currency(instrument: Instrument) -> None:
    venue, recorder = with_book(instrument)
    venue.submit("C-1", spec(BUY, LIMIT, 35, price=102), 0, strategy_id="S1")
    accepted, first, second = recorder.take()
    assert summary([accepted]) == [("OrderAccepted", "C-1", 0)]
    assert accepted.venue_order_id == "1"  # type: ignore[union-attr]
    assert isinstance(first, OrderFilled)
    assert isinstance(second, OrderFilled)
    assert (first.trade_id, second.trade_id) == ("TEST.SIM-1", "TEST.SIM-2")
    assert (first.last_price, first.last_quantity, first.liquidity) == (101, 10, "TAKER")
    # 10 lots at 1.01 = 10.10; taker fee 3 bp = 0.00303.
    assert (first.commission, first.currency, first.strategy_id) == (3_030_000_000, "USD", "S1")
    assert (second.last_price, second.last_quantity) == (102, 20)
    assert venue.order("C-1").leaves == 5
    assert venue.open_orders() == ["C-1"]
    venue.cancel("C-1", 1)
    venue.cancel("C-1", 2)
    assert recorder.events == []  # ahead of venue time: they arrive when time gets there
    venue.advance_to(2)
    assert summary(recorder.take()) == [
        ("OrderCanceled", "C-1", "REQUESTED", 1),
        ("OrderCancelRejected", "C-1", "UNKNOWN_ORDER", 2),
    ]
    assert venue.open_orders() == []


def test_answers_after_latency_are_matched_to_the_commands_in_flight(
    instrument: Instrument,
) -> None:
    config = BookVenueConfig(
        order_latency=ConstantLatency(1_000), response_latency=ConstantLatency(500)
    )
    venue, recorder = with_book(instrument, config)
    venue.submit("C-1", spec(BUY, LIMIT, 5, price=101), 10, strategy_id="S")
    venue.cancel("C-1", 20)  # in flight behind the order, which will have filled
    venue.submit("C-2", spec(BUY, LIMIT, 5, price=98), 30, strategy_id="S")
    venue.modify("C-2", 6, 97, None, 40)
    assert recorder.events == []
    venue.advance_to(5_000)
    assert summary(recorder.take()) == [
        ("OrderAccepted", "C-1", 1_510),
        ("OrderFilled", "C-1", 101, 5, "TAKER", 1_510),
        ("OrderCancelRejected", "C-1", "UNKNOWN_ORDER", 1_520),
        ("OrderAccepted", "C-2", 1_530),
        ("OrderUpdated", "C-2", 6, 97, None, 1_540),
    ]
    assert venue.order("C-2").quantity == 6


def test_modify_answers(instrument: Instrument) -> None:
    venue, recorder = with_book(instrument)
    venue.submit("R", spec(BUY, LIMIT, 5, price=100), 0, strategy_id="S")
    venue.submit(
        "P", spec(SELL, LIMIT, 5, price=103, post_only=PostOnly.REJECT), 0, strategy_id="S"
    )
    venue.submit("M", spec(SELL, MARKET, 1), 0, strategy_id="S")
    recorder.take()
    assert venue.queue_ahead("R") == 10
    venue.on_trade(Trade(INSTRUMENT_ID, 100, 13, SELL, "x", 1, 1))  # eats 10 ahead, fills 3
    venue.modify("P", None, 100, None, 2)  # would cross the bid
    venue.advance_to(2)
    venue.modify("M", 2, None, None, 2)  # a market order never rests: refused at once
    venue.modify("R", 3, None, None, 3)  # at the filled quantity: the rest is canceled
    venue.modify("R", 9, None, None, 4)
    venue.advance_to(4)
    assert summary(recorder.take()) == [
        ("OrderFilled", "R", 100, 3, "MAKER", 1),
        ("OrderModifyRejected", "P", "POST_ONLY_WOULD_CROSS", 2),
        ("OrderModifyRejected", "M", "ORDER_NOT_MODIFIABLE", 2),
        ("OrderCanceled", "R", "REQUESTED", 3),
        ("OrderModifyRejected", "R", "UNKNOWN_ORDER", 4),
    ]


@pytest.mark.parametrize(
    ("order", "events"),
    [
        (
            spec(BUY, LIMIT, 5, price=101, post_only=PostOnly.REJECT),
            [("OrderRejected", "O", "POST_ONLY_WOULD_CROSS", 0)],
        ),
        (
            spec(BUY, LIMIT, 15, price=101, tif=TimeInForce.IOC),
            [
                ("OrderAccepted", "O", 0),
                ("OrderFilled", "O", 101, 10, "TAKER", 0),
                ("OrderCanceled", "O", "IMMEDIATE_OR_CANCEL", 0),
            ],
        ),
        (
            spec(BUY, LIMIT, 15, price=101, tif=TimeInForce.FOK),
            [("OrderAccepted", "O", 0), ("OrderCanceled", "O", "FILL_OR_KILL", 0)],
        ),
        (
            spec(SELL, MARKET, 40),
            [
                ("OrderAccepted", "O", 0),
                ("OrderFilled", "O", 100, 10, "TAKER", 0),
                ("OrderFilled", "O", 99, 20, "TAKER", 0),
                ("OrderCanceled", "O", "NO_LIQUIDITY", 0),
            ],
        ),
        (
            spec(BUY, OrderType.STOP, 1, trigger=105),
            [("OrderRejected", "O", "UNSUPPORTED_ORDER_TYPE", 0)],
        ),
        (
            spec(BUY, LIMIT, 1, price=99, tif=TimeInForce.DAY),
            [("OrderRejected", "O", "UNSUPPORTED_TIME_IN_FORCE", 0)],
        ),
        (
            spec(BUY, MARKET, 1, tif=TimeInForce.FOK),
            [("OrderRejected", "O", "UNSUPPORTED_TIME_IN_FORCE", 0)],
        ),
        (
            spec(BUY, LIMIT, 1, price=99, tif=TimeInForce.IOC, post_only=PostOnly.REJECT),
            [("OrderRejected", "O", "POST_ONLY_NOT_ALLOWED", 0)],
        ),
        (
            spec(BUY, LIMIT, 1, price=99, post_only=PostOnly.SLIDE),
            [("OrderRejected", "O", "UNSUPPORTED_POST_ONLY", 0)],
        ),
    ],
)
def test_order_outcomes_and_refusals(
    instrument: Instrument, order: Any, events: list[tuple[Any, ...]]
) -> None:
    venue, recorder = with_book(instrument)
    venue.submit("O", order, 0, strategy_id="S")
    assert summary(recorder.take()) == events


def test_market_order_on_an_empty_side_and_instrument_minimums_are_venue_rejections() -> None:
    instrument = Instrument(INSTRUMENT_ID, "0.01", 2, "1", 0, min_quantity=2)
    venue, recorder = make_venue(instrument)
    venue.submit("A", spec(BUY, MARKET, 5), 0, strategy_id="S")
    venue.submit("B", spec(BUY, LIMIT, 1, price=100), 0, strategy_id="S")
    venue.advance_to(0)
    assert summary(recorder.take()) == [
        ("OrderRejected", "A", "NO_LIQUIDITY", 0),
        ("OrderRejected", "B", "QUANTITY_BELOW_MINIMUM", 0),
    ]


def test_trade_with_unknown_aggressor_is_placed_against_the_book(instrument: Instrument) -> None:
    venue, recorder = with_book(instrument)
    venue.submit("A", spec(SELL, LIMIT, 5, price=101), 0, strategy_id="S")
    recorder.take()
    venue.on_trade(Trade(INSTRUMENT_ID, 101, 15, -1, "t1", 5, 5))  # at the ask: a buyer
    assert summary(recorder.take()) == [("OrderFilled", "A", 101, 5, "MAKER", 5)]
    venue.on_book_delta(BookDelta(INSTRUMENT_ID, BUY, 100, 0, 0, 6, 6))  # bid now 99
    venue.submit("B", spec(BUY, LIMIT, 5, price=99), 7, strategy_id="S")
    venue.advance_to(7)
    recorder.take()
    venue.on_trade(Trade(INSTRUMENT_ID, 100, 50, -1, "t2", 9, 9))  # inside the spread: time only
    assert recorder.events == []
    assert venue.now(INSTRUMENT_ID) == 9
    with pytest.raises(InvalidData) as error:
        venue.on_trade(Trade(INSTRUMENT_ID, 100, 1, 3, "t3", 10, 10))
    assert error.value.code == "UNKNOWN_SIDE"
    with pytest.raises(InvalidValue) as negative:
        venue.on_trade(Trade(INSTRUMENT_ID, -100, 1, -1, "t4", 10, 10))
    assert negative.value.code == "NON_POSITIVE_PRICE"
    assert venue.now(INSTRUMENT_ID) == 9


def test_advance_to_merges_the_instruments_events_in_time_order() -> None:
    first = Instrument("A.SIM", "0.01", 2, "1", 0)
    second = Instrument("B.SIM", "0.01", 2, "1", 0)
    recorder = Recorder()
    venue = SimulatedBookVenue(
        "SIM",
        {first: "USD", second: "USD"},
        BookVenueConfig(order_latency=ConstantLatency(1_000)),
        event_sink=recorder,
    )
    venue.submit("B-1", spec(BUY, LIMIT, 1, price=10, instrument_id="B.SIM"), 0, strategy_id="S")
    venue.submit("A-1", spec(BUY, LIMIT, 1, price=10, instrument_id="A.SIM"), 100, strategy_id="S")
    venue.advance_to(2_000)
    assert summary(recorder.take()) == [
        ("OrderAccepted", "B-1", 1_000),
        ("OrderAccepted", "A-1", 1_100),
    ]
    assert venue.instrument_ids == ["A.SIM", "B.SIM"]


# ----- synthetic flow ----------------------------------------------------------------------------

REALISTIC = BookVenueConfig(
    queue_model=QueueModelConfig("POWER", 2.0),
    feed_latency=LognormalLatency(10.0, 0.4, seed=1),
    order_latency=ConstantLatency(35_000),
    response_latency=UniformLatency(20_000, 40_000, seed=3),
    market_impact=True,
    seed=42,
)


def l2_session(instrument: Instrument, config: BookVenueConfig) -> tuple[list[OrderEvent], Any]:
    """Replays synthetic L2 flow in two chunks with resting orders placed at the touch (and
    one far away) in between."""
    deltas, trades = l2_replay_from_l3(synthetic_l3_messages(20_000, seed=11))
    split = deltas["ts_event"][4_000]
    venue, recorder = make_venue(instrument, config)
    head = venue.on_l2_deltas(
        INSTRUMENT_ID, deltas[deltas["ts_event"] < split], trades[trades["ts_event"] < split]
    )
    now = venue.now(INSTRUMENT_ID)
    assert now is not None
    bid, ask = venue.best_bid(INSTRUMENT_ID), venue.best_ask(INSTRUMENT_ID)
    assert bid is not None
    assert ask is not None
    venue.submit("BID", spec(BUY, LIMIT, 5, price=bid[0]), now, strategy_id="MM")
    venue.submit("ASK", spec(SELL, LIMIT, 5, price=ask[0]), now, strategy_id="MM")
    venue.submit("FAR", spec(BUY, LIMIT, 5, price=bid[0] - 500), now, strategy_id="MM")
    tail = venue.on_l2_deltas(
        INSTRUMENT_ID, deltas[deltas["ts_event"] >= split], trades[trades["ts_event"] >= split]
    )
    assert head.events == []
    return recorder.take(), (head, tail, venue)


def test_synthetic_l2_replay_fills_resting_orders_and_is_deterministic(
    instrument: Instrument,
) -> None:
    events, (head, tail, venue) = l2_session(instrument, REALISTIC)
    again, _ = l2_session(instrument, REALISTIC)
    assert events == again
    maker_fills = {e.client_order_id for e in events if isinstance(e, OrderFilled)}
    assert {"BID", "ASK"} <= maker_fills
    assert all(e.liquidity == "MAKER" for e in events if isinstance(e, OrderFilled))
    assert "FAR" in venue.open_orders()
    # The replay result carries the events it gave the sink and when each record is seen.
    assert tail.events == [e for e in events if e.ts_event >= tail.events[0].ts_event]
    assert len(head.feed_ts) + len(tail.feed_ts) == 20_000
    assert tail.trade_feed_ts is not None
    assert np.all(np.diff(tail.feed_ts) >= 0)
    assert tail.applied == len(tail.feed_ts) + len(tail.trade_feed_ts)
    events_ts = [e.ts_event for e in events]
    assert events_ts == sorted(events_ts)


def test_the_client_reports_exactly_what_the_core_venue_does(instrument: Instrument) -> None:
    events, _ = l2_session(instrument, REALISTIC)
    deltas, trades = l2_replay_from_l3(synthetic_l3_messages(20_000, seed=11))
    split = deltas["ts_event"][4_000]
    core = SimulatedVenue(
        instrument,
        data="L2",
        queue_model=QueueModel.power(2.0),
        feed_latency=LatencyModel.lognormal(10.0, 0.4, seed=1),
        order_latency=LatencyModel.constant(35_000),
        response_latency=LatencyModel.uniform(20_000, 40_000, seed=3),
        market_impact=True,
        seed=42,
    )
    core.replay_l2(deltas[deltas["ts_event"] < split], trades[trades["ts_event"] < split])
    now = core.now
    assert now is not None
    bid, ask = core.best_bid(), core.best_ask()
    assert bid is not None
    assert ask is not None
    expected = core.submit_limit(now, 1, BUY, bid[0], 5)
    expected += core.submit_limit(now, 2, SELL, ask[0], 5)
    expected += core.submit_limit(now, 3, BUY, bid[0] - 500, 5)
    expected += core.replay_l2(
        deltas[deltas["ts_event"] >= split], trades[trades["ts_event"] >= split]
    ).events
    names = {1: "BID", 2: "ASK", 3: "FAR"}
    assert [
        (type(e).__name__, e.client_order_id, e.ts_event, getattr(e, "last_quantity", None))
        for e in events
    ] == [
        (
            "OrderAccepted" if c.kind == "ACCEPTED" else "OrderFilled",
            names[c.order_id],
            c.ts,
            c.quantity if c.kind == "FILLED" else None,
        )
        for c in expected
    ]
    assert [e.commission for e in events if isinstance(e, OrderFilled)] == [
        c.fee_raw for c in expected if c.kind == "FILLED"
    ]


def test_synthetic_l3_replay_fills_resting_orders_in_fifo_order(instrument: Instrument) -> None:
    def session() -> list[OrderEvent]:
        messages = synthetic_l3_messages(20_000, seed=5)
        config = BookVenueConfig(data="L3", order_latency=ConstantLatency(10_000), seed=9)
        venue, recorder = make_venue(instrument, config)
        venue.on_l3_messages(INSTRUMENT_ID, messages[:5_000])
        now = venue.now(INSTRUMENT_ID)
        bid, ask = venue.best_bid(INSTRUMENT_ID), venue.best_ask(INSTRUMENT_ID)
        assert now is not None
        assert bid is not None
        assert ask is not None
        venue.submit("BID", spec(BUY, LIMIT, 3, price=bid[0]), now, strategy_id="MM")
        venue.submit("ASK", spec(SELL, LIMIT, 3, price=ask[0]), now, strategy_id="MM")
        result = venue.on_l3_messages(INSTRUMENT_ID, messages[5_000:])
        assert len(result.feed_ts) == 15_000
        assert result.trade_feed_ts is None
        return recorder.take()

    events = session()
    assert events == session()
    filled = {e.client_order_id: 0 for e in events if isinstance(e, OrderFilled)}
    for event in events:
        if isinstance(event, OrderFilled):
            filled[event.client_order_id] += event.last_quantity
    assert filled == {"BID": 3, "ASK": 3}


# ----- bad input ---------------------------------------------------------------------------------


def test_bad_input_raises_and_changes_nothing(instrument: Instrument) -> None:
    venue, recorder = with_book(instrument)
    venue.submit("A", spec(BUY, LIMIT, 5, price=100), 10, strategy_id="S")
    venue.advance_to(10)
    recorder.take()
    bad_deltas = l2_replay_from_l3(synthetic_l3_messages(100, seed=1))[0]
    bad_deltas["price"][50] = -3
    bad_deltas["ts_event"] += 1_000_000
    cases: list[tuple[Any, type[Exception], str]] = [
        (
            lambda: venue.submit("B", spec(BUY, LIMIT, 1, price=-1), 20, strategy_id="S"),
            InvalidValue,
            "NON_POSITIVE_PRICE",
        ),
        (
            lambda: venue.submit(
                "B", spec(BUY, LIMIT, 1, price=100, instrument_id="X.SIM"), 20, strategy_id="S"
            ),
            InvalidValue,
            "UNKNOWN_INSTRUMENT",
        ),
        (
            lambda: venue.submit("B", spec(BUY, LIMIT, 1, price=100), 5, strategy_id="S"),
            InvalidData,
            "TIMESTAMP_BEFORE_VENUE_TIME",
        ),
        (
            lambda: venue.submit("B", spec(BUY, LIMIT, 2**20, price=2**50), 20, strategy_id="S"),
            InvalidValue,
            "OVERFLOW",
        ),
        (lambda: venue.cancel("Z", 20), InvalidValue, "UNKNOWN_CLIENT_ORDER_ID"),
        (lambda: venue.modify("A", None, None, 99, 20), InvalidValue, "UNEXPECTED_TRIGGER_PRICE"),
        (lambda: venue.on_l2_deltas("X.SIM", bad_deltas), InvalidValue, "UNKNOWN_INSTRUMENT"),
        (lambda: venue.on_l2_deltas(INSTRUMENT_ID, bad_deltas), BookError, "INVALID_PRICE"),
        (
            lambda: venue.on_l3_messages(INSTRUMENT_ID, synthetic_l3_messages(10)),
            InvalidData,
            "WRONG_DATA_KIND",
        ),
        (
            lambda: venue.on_book_delta(BookDelta(INSTRUMENT_ID, BUY, 100, 5, 0, 5, 5)),
            InvalidData,
            "TIMESTAMP_BEFORE_VENUE_TIME",
        ),
        (
            lambda: venue.on_bar(Bar(INSTRUMENT_ID, "1-DAY", 1, 1, 1, 1, 1, 20, 20)),
            InvalidData,
            "UNSUPPORTED_DATA",
        ),
        (lambda: venue.advance_to(5), InvalidData, "TIMESTAMP_BEFORE_VENUE_TIME"),
    ]
    for call, error_type, code in cases:
        with pytest.raises(error_type) as error:
            call()
        assert error.value.code == code  # type: ignore[attr-defined]
    assert recorder.events == []
    assert venue.open_orders() == ["A"]
    assert venue.now(INSTRUMENT_ID) == 10
    assert venue.best_bid(INSTRUMENT_ID) == (100, 10)
    # The refused overflow left its client id free, and nothing in flight.
    venue.submit("B", spec(BUY, LIMIT, 1, price=99), 20, strategy_id="S")
    venue.cancel("A", 20)
    venue.advance_to(20)
    assert summary(recorder.take()) == [
        ("OrderAccepted", "B", 20),
        ("OrderCanceled", "A", "REQUESTED", 20),
    ]


def test_skipping_bad_records_reports_the_first_error(instrument: Instrument) -> None:
    venue, _ = make_venue(instrument)
    deltas = l2_replay_from_l3(synthetic_l3_messages(100, seed=1))[0]
    deltas["quantity"][10] = -1
    result = venue.on_l2_deltas(INSTRUMENT_ID, deltas, on_error="skip")
    assert (result.rejected, result.first_error_array, result.first_error_index) == (
        1,
        "deltas",
        10,
    )
    assert result.first_error == "INVALID_QUANTITY"
    assert result.applied == 99


def test_config_decodes_from_json_and_bad_queue_models_are_refused(instrument: Instrument) -> None:
    config = msgspec.json.decode(
        b'{"data": "L2", "queue_model": {"kind": "POWER", "exponent": 3.0},'
        b' "order_latency": {"type": "TABLE", "points": [[0, 1000], [100, 3000]]},'
        b' "response_latency": {"type": "NORMAL", "mean": 5000, "std_dev": 100, "seed": 7}}',
        type=BookVenueConfig,
    )
    venue, recorder = with_book(instrument, config)
    venue.submit("A", spec(BUY, LIMIT, 1, price=99), 50, strategy_id="S")
    venue.advance_to(10_000)
    [accepted] = recorder.take()
    assert accepted.ts_event > 50 + 2_000  # 2 000 ns of order latency at t = 50, then a response
    for bad in [
        BookVenueConfig(queue_model=QueueModelConfig("POWER")),
        BookVenueConfig(queue_model=QueueModelConfig("LOG", 2.0)),
        BookVenueConfig(queue_model=QueueModelConfig("FIFO")),  # FIFO needs L3 data
        BookVenueConfig(order_latency=ConstantLatency(-5)),
    ]:
        with pytest.raises(ConfigError):
            make_venue(instrument, bad)


def test_capabilities_follow_the_data_kind(instrument: Instrument) -> None:
    l2, _ = make_venue(instrument)
    l3, _ = make_venue(instrument, BookVenueConfig(data="L3"))
    assert l2.capabilities.market_data == {"TRADE", "BOOK_DELTA", "L2_DELTAS"}
    assert l3.capabilities.market_data == {"TRADE", "L3_MESSAGES"}
    assert l2.capabilities.order_types == {OrderType.MARKET, OrderType.LIMIT}
    assert l2.quote_currency(INSTRUMENT_ID) == "USD"
