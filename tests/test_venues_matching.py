"""MatchingVenue: our orders in a matching engine shared with other participants."""

from __future__ import annotations

import pytest
from hftcore import Instrument, MatchingEngine
from hftcore.errors import ConfigError, InvalidData, InvalidValue
from hftcore.model.events import OrderFilled
from hftcore.model.orders import OrderType, SelfTradePrevention, TimeInForce
from hftcore.venues import MatchingVenue
from venue_helpers import INSTRUMENT_ID, Recorder, spec, summary

BUY, SELL = 0, 1
OTHER_OWNER = 9


def make_venue(instrument: Instrument, **options: object) -> tuple[MatchingVenue, Recorder]:
    recorder = Recorder()
    venue = MatchingVenue("PAPER", {instrument: "USD"}, event_sink=recorder, **options)  # type: ignore[arg-type]
    return venue, recorder


def test_another_participant_fills_our_resting_order(instrument: Instrument) -> None:
    engine = MatchingEngine()
    venue, recorder = make_venue(instrument, engine=engine)
    venue.submit("BID", spec(BUY, OrderType.LIMIT, 10, price=100), 1, strategy_id="S")
    events = engine.submit(1, OTHER_OWNER, 0, SELL, 100, 4, 2)  # their id is below ours
    emitted = venue.on_engine_events(events)
    assert summary(recorder.take()) == [
        ("OrderAccepted", "BID", 1),
        ("OrderFilled", "BID", 100, 4, "MAKER", 2),
    ]
    assert emitted[0].client_order_id == "BID"
    fill = emitted[0]
    assert isinstance(fill, OrderFilled)
    # 4 lots at 1.00, maker -1 bp: a rebate of 0.0004.
    assert (fill.commission, fill.currency, fill.trade_id) == (-400_000_000, "USD", "1")
    assert int(fill.venue_order_id) == 1 << 48
    assert engine.position(0, 0) == 4


def test_stops_trigger_from_the_engines_trades(instrument: Instrument) -> None:
    engine = MatchingEngine()
    venue, recorder = make_venue(instrument, engine=engine)
    engine.submit(1, OTHER_OWNER, 0, SELL, 105, 10, 1)
    venue.submit("STOP", spec(BUY, OrderType.STOP, 3, trigger=104), 2, strategy_id="S")
    engine.submit(2, OTHER_OWNER + 1, 0, SELL, 104, 1, 3)
    venue.on_engine_events(engine.submit(3, OTHER_OWNER + 2, 0, BUY, 104, 1, 4))  # prints 104
    assert summary(recorder.take()) == [
        ("OrderAccepted", "STOP", 2),
        ("OrderTriggered", "STOP", 4),
        ("OrderFilled", "STOP", 105, 3, "TAKER", 4),
    ]


def test_rejections_and_expiries_become_events(instrument: Instrument) -> None:
    venue, recorder = make_venue(instrument)
    venue.submit(
        "RO", spec(SELL, OrderType.LIMIT, 1, price=100, reduce_only=True), 1, strategy_id="S"
    )
    venue.submit(
        "GTD",
        spec(BUY, OrderType.LIMIT, 1, price=90, tif=TimeInForce.GTD, expire_ts=50),
        1,
        strategy_id="S",
    )
    venue.submit(
        "DAY", spec(BUY, OrderType.LIMIT, 1, price=91, tif=TimeInForce.DAY), 1, strategy_id="S"
    )
    venue.submit("MKT", spec(BUY, OrderType.MARKET, 1), 2, strategy_id="S")  # GTC: sent as IOC
    venue.cancel("RO", 3)
    venue.modify("GTD", None, 95, None, 4)
    venue.modify("DAY", 5, None, None, 4)
    venue.advance_to(60)
    venue.end_session(70)
    assert summary(recorder.take()) == [
        ("OrderRejected", "RO", "REDUCE_ONLY_WOULD_INCREASE", 1),
        ("OrderAccepted", "GTD", 1),
        ("OrderAccepted", "DAY", 1),
        ("OrderAccepted", "MKT", 2),
        ("OrderCanceled", "MKT", "NO_LIQUIDITY", 2),
        ("OrderCancelRejected", "RO", "UNKNOWN_ORDER", 3),
        ("OrderUpdated", "GTD", 1, 95, None, 4),
        ("OrderUpdated", "DAY", 5, 91, None, 4),
        ("OrderExpired", "GTD", 60),
        ("OrderExpired", "DAY", 70),
    ]
    assert venue.open_orders() == []


def test_stop_triggers_cannot_be_modified(instrument: Instrument) -> None:
    venue, recorder = make_venue(instrument)
    venue.submit("STOP", spec(BUY, OrderType.STOP, 3, trigger=104), 1, strategy_id="S")
    venue.modify("STOP", None, None, 103, 2)
    venue.modify("STOP", 4, None, None, 3)
    assert summary(recorder.take())[1:] == [
        ("OrderModifyRejected", "STOP", "ORDER_NOT_MODIFIABLE", 2),
        ("OrderModifyRejected", "STOP", "ORDER_NOT_MODIFIABLE", 3),
    ]


def test_our_strategies_share_one_account_with_self_trade_prevention(
    instrument: Instrument,
) -> None:
    venue, recorder = make_venue(
        instrument, self_trade_prevention=SelfTradePrevention.CANCEL_NEWEST
    )
    venue.submit("A", spec(SELL, OrderType.LIMIT, 5, price=100), 1, strategy_id="S")
    venue.submit("B", spec(BUY, OrderType.LIMIT, 5, price=100), 2, strategy_id="T")
    assert summary(recorder.take()) == [
        ("OrderAccepted", "A", 1),
        ("OrderAccepted", "B", 2),
        ("OrderCanceled", "B", "SELF_TRADE", 2),
    ]


def test_bad_input_and_configuration(instrument: Instrument) -> None:
    venue, recorder = make_venue(instrument)
    venue.submit("A", spec(BUY, OrderType.LIMIT, 5, price=100), 10, strategy_id="S")
    recorder.take()
    with pytest.raises(InvalidData) as late:
        venue.cancel("A", 9)
    assert late.value.code == "TIMESTAMP_BEFORE_VENUE_TIME"
    with pytest.raises(InvalidValue) as unknown:
        venue.cancel("B", 11)
    assert unknown.value.code == "UNKNOWN_CLIENT_ORDER_ID"
    assert recorder.events == []
    assert venue.engine.order(1 << 48) is not None
    other = Instrument(INSTRUMENT_ID, "0.1", 1, "1", 0)
    with pytest.raises(ConfigError) as mismatch:
        MatchingVenue("PAPER", {other: "USD"}, engine=venue.engine)
    assert mismatch.value.code == "INSTRUMENT_MISMATCH"
    assert venue.capabilities.reduce_only
    assert not venue.capabilities.trailing_stop
