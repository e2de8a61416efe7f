"""BarVenue: each fill rule on hand-made bars, time in force, the volume cap, commissions,
event mapping and bad input."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import numpy as np
import pytest
from hftcore import Instrument
from hftcore.errors import ConfigError, InvalidData, InvalidValue
from hftcore.model.data import Bar, Quote
from hftcore.model.events import OrderFilled, OrderSpec, SubmitOrder
from hftcore.model.orders import OrderType, PostOnly, TimeInForce
from hftcore.venues import (
    BarVenue,
    BarVenueConfig,
    FixedCommission,
    InstrumentFees,
    PercentCommission,
    PerLotCommission,
)
from venue_helpers import INSTRUMENT_ID, Recorder, bar, spec, summary

BUY, SELL = 0, 1
MARKET, LIMIT, STOP, STOP_LIMIT, MTL = (
    OrderType.MARKET,
    OrderType.LIMIT,
    OrderType.STOP,
    OrderType.STOP_LIMIT,
    OrderType.MARKET_TO_LIMIT,
)
DAY_NS = 86_400_000_000_000


def make_venue(**config: object) -> tuple[BarVenue, Recorder]:
    instrument = Instrument(INSTRUMENT_ID, "0.01", 2, "1", 0, max_quantity=100_000)
    recorder = Recorder()
    venue = BarVenue(
        "BARS",
        {instrument: "USD"},
        BarVenueConfig(**config),
        event_sink=recorder,  # type: ignore[arg-type]
    )
    return venue, recorder


def fills(events: list[object]) -> list[tuple[int, int, str]]:
    return [
        (event.last_price, event.last_quantity, event.liquidity)
        for event in events
        if isinstance(event, OrderFilled)
    ]


def run(order: OrderSpec, *bars: tuple[int, int, int, int], **config: object) -> list[object]:
    """Submits ``order`` at time 0 after a first bar closing at 0, then feeds ``bars`` (open,
    high, low, close) closing at 100, 200, ...; returns the events after the acceptance."""
    venue, recorder = make_venue(**config)
    venue.on_bar(bar(0, 10_000, 10_000, 10_000, 10_000))
    venue.submit("O-1", order, 0, strategy_id="S")
    assert recorder.kinds() == ["OrderAccepted"]
    for k, (o, h, lo, c) in enumerate(bars, start=1):
        venue.on_bar(bar(100 * k, o, h, lo, c))
    return list(recorder.take())


# ----- market orders ----------------------------------------------------------------------------


def test_market_order_fills_at_the_next_bars_open_never_the_current_one() -> None:
    venue, recorder = make_venue()
    venue.on_bar(bar(100, 10_000, 10_100, 9_900, 10_050))
    venue.submit("O-1", spec(BUY, MARKET, 10), 100, strategy_id="S")
    recorder.take()
    venue.on_bar(bar(200, 10_070, 10_200, 10_060, 10_150))
    [filled] = recorder.take()
    assert isinstance(filled, OrderFilled)
    assert (filled.last_price, filled.last_quantity, filled.liquidity) == (10_070, 10, "TAKER")
    assert (filled.side, filled.ts_event, filled.client_order_id, filled.strategy_id) == (
        BUY,
        200,
        "O-1",
        "S",
    )
    assert venue.open_orders() == []


def test_market_orders_slip_against_us() -> None:
    assert fills(run(spec(BUY, MARKET, 5), (10_000, 10_010, 9_990, 10_000), slippage_ticks=3)) == [
        (10_003, 5, "TAKER")
    ]
    assert fills(run(spec(SELL, MARKET, 5), (10_000, 10_010, 9_990, 10_000), slippage_ticks=3)) == [
        (9_997, 5, "TAKER")
    ]


def test_a_slipped_sell_never_goes_below_one_tick() -> None:
    assert fills(run(spec(SELL, MARKET, 1), (2, 3, 1, 2), slippage_ticks=5)) == [(1, 1, "TAKER")]


def test_an_order_sent_inside_a_bar_waits_for_the_first_bar_that_starts_after_it() -> None:
    venue, recorder = make_venue()
    venue.on_bar(bar(100, 10_000, 10_000, 10_000, 10_000))
    venue.submit("O-1", spec(BUY, MARKET, 1), 150, strategy_id="S")
    venue.on_bar(bar(200, 10_100, 10_100, 10_100, 10_100))  # opened at 100, before the order
    assert recorder.kinds() == ["OrderAccepted"]
    venue.on_bar(bar(300, 10_200, 10_200, 10_200, 10_200))
    assert fills(recorder.take()) == [(10_200, 1, "TAKER")]


# ----- limit orders -----------------------------------------------------------------------------


def test_limit_buy_touched_inside_the_bar_fills_at_the_limit_as_maker() -> None:
    events = run(spec(BUY, LIMIT, 4, price=9_950), (10_000, 10_020, 9_950, 10_010))
    assert fills(events) == [(9_950, 4, "MAKER")]


def test_limit_buy_not_reached_stays_working() -> None:
    venue, recorder = make_venue()
    venue.submit("O-1", spec(BUY, LIMIT, 4, price=9_949), 0, strategy_id="S")
    venue.on_bar(bar(100, 10_000, 10_020, 9_950, 10_010))
    assert recorder.kinds() == ["OrderAccepted"]
    assert venue.open_orders() == ["O-1"]


def test_limit_fill_through_needs_a_price_beyond_the_limit() -> None:
    touch_only = (10_000, 10_020, 9_950, 10_010)
    assert fills(run(spec(BUY, LIMIT, 4, price=9_950), touch_only, limit_fill="THROUGH")) == []
    through = (10_000, 10_020, 9_949, 10_010)
    assert fills(run(spec(BUY, LIMIT, 4, price=9_950), through, limit_fill="THROUGH")) == [
        (9_950, 4, "MAKER")
    ]


def test_limit_buy_gapping_down_fills_at_the_open_as_taker() -> None:
    events = run(spec(BUY, LIMIT, 4, price=9_950), (9_900, 9_960, 9_880, 9_950))
    assert fills(events) == [(9_900, 4, "TAKER")]


def test_limit_sell_touch_and_gap_up_mirror_the_buy() -> None:
    assert fills(run(spec(SELL, LIMIT, 2, price=10_050), (10_000, 10_050, 9_990, 10_000))) == [
        (10_050, 2, "MAKER")
    ]
    assert fills(run(spec(SELL, LIMIT, 2, price=10_050), (10_080, 10_100, 10_060, 10_090))) == [
        (10_080, 2, "TAKER")
    ]
    assert fills(run(spec(SELL, LIMIT, 2, price=10_050), (10_000, 10_049, 9_990, 10_000))) == []


def test_limit_orders_take_no_slippage() -> None:
    events = run(spec(BUY, LIMIT, 4, price=9_950), (9_900, 9_960, 9_880, 9_950), slippage_ticks=7)
    assert fills(events) == [(9_900, 4, "TAKER")]


# ----- stops ------------------------------------------------------------------------------------


def test_stop_buy_triggers_inside_the_bar_and_fills_at_the_trigger_plus_slippage() -> None:
    events = run(
        spec(BUY, STOP, 3, trigger=10_050), (10_000, 10_060, 9_990, 10_055), slippage_ticks=2
    )
    assert summary(events) == [
        ("OrderTriggered", "O-1", 100),
        ("OrderFilled", "O-1", 10_052, 3, "TAKER", 100),
    ]


def test_stop_buy_gapping_up_fills_at_the_open() -> None:
    events = run(spec(BUY, STOP, 3, trigger=10_050), (10_100, 10_150, 10_090, 10_120))
    assert fills(events) == [(10_100, 3, "TAKER")]


def test_stop_not_reached_does_not_trigger() -> None:
    events = run(spec(BUY, STOP, 3, trigger=10_050), (10_000, 10_049, 9_990, 10_010))
    assert events == []


def test_stop_sell_triggers_on_the_low_and_on_a_gap_down() -> None:
    inside = run(
        spec(SELL, STOP, 3, trigger=9_950), (10_000, 10_010, 9_940, 9_960), slippage_ticks=1
    )
    assert summary(inside) == [
        ("OrderTriggered", "O-1", 100),
        ("OrderFilled", "O-1", 9_949, 3, "TAKER", 100),
    ]
    gap = run(spec(SELL, STOP, 3, trigger=9_950), (9_900, 9_920, 9_850, 9_900))
    assert fills(gap) == [(9_900, 3, "TAKER")]


def test_stop_limit_triggered_at_a_gap_is_a_limit_order_for_the_whole_bar() -> None:
    # Opens at 10 100 >= trigger 10 050; the limit 10 080 is below the open but the low reaches it.
    events = run(
        spec(BUY, STOP_LIMIT, 2, price=10_080, trigger=10_050), (10_100, 10_120, 10_070, 10_110)
    )
    assert summary(events) == [
        ("OrderTriggered", "O-1", 100),
        ("OrderFilled", "O-1", 10_080, 2, "MAKER", 100),
    ]
    at_open = run(
        spec(BUY, STOP_LIMIT, 2, price=10_200, trigger=10_050), (10_100, 10_120, 10_090, 10_110)
    )
    assert fills(at_open) == [(10_100, 2, "TAKER")]


def test_stop_limit_triggered_inside_the_bar_fills_at_the_trigger_if_the_limit_allows() -> None:
    events = run(
        spec(BUY, STOP_LIMIT, 2, price=10_060, trigger=10_050), (10_000, 10_070, 9_990, 10_060)
    )
    assert fills(events) == [(10_050, 2, "TAKER")]


def test_stop_limit_with_limit_below_trigger_waits_for_the_next_bars_after_triggering() -> None:
    events = run(
        spec(BUY, STOP_LIMIT, 2, price=10_030, trigger=10_050),
        (10_000, 10_070, 9_990, 10_060),  # triggers; the low came maybe before the trigger
        (10_060, 10_070, 10_040, 10_050),  # limit not reached
        (10_050, 10_060, 10_020, 10_030),  # reached
    )
    assert summary(events) == [
        ("OrderTriggered", "O-1", 100),
        ("OrderFilled", "O-1", 10_030, 2, "MAKER", 300),
    ]


def test_stop_trigger_can_be_modified_until_it_triggers() -> None:
    venue, recorder = make_venue()
    venue.submit("O-1", spec(BUY, STOP, 3, trigger=10_500), 0, strategy_id="S")
    venue.modify("O-1", None, None, 10_050, 10)
    venue.on_bar(bar(100, 10_000, 10_060, 9_990, 10_055))
    assert summary(recorder.take()) == [
        ("OrderAccepted", "O-1", 0),
        ("OrderUpdated", "O-1", 3, None, 10_050, 10),
        ("OrderTriggered", "O-1", 100),
        ("OrderFilled", "O-1", 10_050, 3, "TAKER", 100),
    ]


# ----- volume cap, market-to-limit, time in force ---------------------------------------------


def test_volume_cap_is_shared_by_orders_in_time_priority() -> None:
    venue, recorder = make_venue(max_volume_participation=Decimal("0.1"))
    venue.submit("A", spec(BUY, MARKET, 60), 0, strategy_id="S")
    venue.submit("B", spec(BUY, MARKET, 60), 0, strategy_id="S")
    recorder.take()
    venue.on_bar(bar(100, 10_000, 10_000, 10_000, 10_000, volume=1_009))  # cap floor(100.9)
    assert [(e.client_order_id, e.last_quantity) for e in recorder.take()] == [  # type: ignore[union-attr]
        ("A", 60),
        ("B", 40),
    ]
    venue.on_bar(bar(200, 10_010, 10_010, 10_010, 10_010, volume=1_000))
    assert fills(recorder.take()) == [(10_010, 20, "TAKER")]
    assert venue.open_orders() == []


def test_market_to_limit_rests_its_remainder_at_the_first_fill_price() -> None:
    venue, recorder = make_venue(max_volume_participation=Decimal("0.5"))
    venue.submit("O-1", spec(BUY, MTL, 30), 0, strategy_id="S")
    recorder.take()
    venue.on_bar(bar(100, 10_000, 10_020, 9_990, 10_010, volume=20))
    assert summary(recorder.take()) == [
        ("OrderFilled", "O-1", 10_000, 10, "TAKER", 100),
        ("OrderUpdated", "O-1", 30, 10_000, None, 100),
    ]
    venue.on_bar(bar(200, 10_050, 10_060, 10_001, 10_020, volume=1_000))  # never back to 10 000
    assert recorder.take() == []
    venue.on_bar(bar(300, 10_020, 10_030, 9_990, 10_000, volume=1_000))
    assert fills(recorder.take()) == [(10_000, 20, "MAKER")]


def test_ioc_fills_what_the_cap_allows_then_cancels_the_rest() -> None:
    venue, recorder = make_venue(max_volume_participation=Decimal("0.5"))
    venue.submit("O-1", spec(BUY, LIMIT, 30, price=10_000, tif=TimeInForce.IOC), 0, strategy_id="S")
    recorder.take()
    venue.on_bar(bar(100, 10_000, 10_000, 10_000, 10_000, volume=20))
    assert summary(recorder.take()) == [
        ("OrderFilled", "O-1", 10_000, 10, "TAKER", 100),
        ("OrderCanceled", "O-1", "IMMEDIATE_OR_CANCEL", 100),
    ]


def test_ioc_without_a_match_is_canceled_after_its_bar() -> None:
    events = run(
        spec(BUY, LIMIT, 3, price=9_000, tif=TimeInForce.IOC), (10_000, 10_000, 9_990, 10_000)
    )
    assert summary(events) == [("OrderCanceled", "O-1", "IMMEDIATE_OR_CANCEL", 100)]


def test_fok_fills_all_or_nothing() -> None:
    capped = run(
        spec(BUY, MARKET, 30, tif=TimeInForce.FOK),
        (10_000, 10_000, 10_000, 10_000),
        max_volume_participation=Decimal("0.00001"),
    )
    assert summary(capped) == [("OrderCanceled", "O-1", "FILL_OR_KILL", 100)]
    whole = run(spec(BUY, MARKET, 30, tif=TimeInForce.FOK), (10_000, 10_000, 10_000, 10_000))
    assert fills(whole) == [(10_000, 30, "TAKER")]


def test_day_order_works_one_trading_day_then_expires_at_its_end() -> None:
    venue, recorder = make_venue()
    close = 21 * 3_600_000_000_000  # 21:00 UTC
    venue.on_bar(bar(close, 10_000, 10_000, 10_000, 10_000))
    venue.submit(
        "O-1", spec(BUY, LIMIT, 1, price=9_000, tif=TimeInForce.DAY), close, strategy_id="S"
    )
    venue.on_bar(bar(DAY_NS + close, 10_000, 10_100, 9_500, 10_000))  # its day: not reached
    venue.on_bar(bar(2 * DAY_NS + close, 8_000, 8_100, 7_900, 8_000))  # a later day: expired first
    assert summary(recorder.take()) == [
        ("OrderAccepted", "O-1", close),
        ("OrderExpired", "O-1", 2 * DAY_NS),
    ]


def test_day_orders_expire_at_end_session_and_when_time_moves_into_a_later_day() -> None:
    venue, recorder = make_venue(session_offset_ns=3_600_000_000_000)
    venue.submit("A", spec(BUY, LIMIT, 1, price=9_000, tif=TimeInForce.DAY), 0, strategy_id="S")
    venue.submit("B", spec(BUY, LIMIT, 1, price=9_000, tif=TimeInForce.DAY), 0, strategy_id="S")
    venue.on_bar(bar(10, 10_000, 10_000, 10_000, 10_000))
    venue.cancel("A", 20)
    recorder.take()
    venue.advance_to(3_600_000_000_000 - 1)  # still the same trading day (offset 1 h)
    assert recorder.take() == []
    venue.advance_to(3_600_000_000_000)
    assert summary(recorder.take()) == [("OrderExpired", "B", 3_600_000_000_000)]
    venue.submit(
        "C",
        spec(BUY, LIMIT, 1, price=9_000, tif=TimeInForce.DAY),
        4_000_000_000_000,
        strategy_id="S",
    )
    venue.end_session(5_000_000_000_000)
    assert summary(recorder.take()) == [
        ("OrderAccepted", "C", 4_000_000_000_000),
        ("OrderExpired", "C", 5_000_000_000_000),
    ]


def test_gtd_order_uses_bars_closing_by_its_expiry_and_expires_then() -> None:
    venue, recorder = make_venue()
    gtd = spec(BUY, LIMIT, 1, price=9_000, tif=TimeInForce.GTD, expire_ts=200)
    venue.submit("A", gtd, 0, strategy_id="S")
    venue.submit(
        "B",
        spec(BUY, LIMIT, 1, price=9_000, tif=TimeInForce.GTD, expire_ts=150),
        0,
        strategy_id="S",
    )
    venue.on_bar(bar(100, 10_000, 10_000, 10_000, 10_000))
    recorder.take()
    venue.on_bar(bar(200, 9_500, 9_600, 8_900, 9_000))  # B expired at 150, before this bar; A fills
    assert summary(recorder.take()) == [
        ("OrderExpired", "B", 150),
        ("OrderFilled", "A", 9_000, 1, "MAKER", 200),
    ]
    venue.submit(
        "C",
        spec(BUY, LIMIT, 1, price=9_000, tif=TimeInForce.GTD, expire_ts=250),
        200,
        strategy_id="S",
    )
    venue.advance_to(249)
    venue.advance_to(250)
    assert summary(recorder.take()) == [("OrderAccepted", "C", 200), ("OrderExpired", "C", 250)]


# ----- modify and cancel ------------------------------------------------------------------------


def test_modify_changes_terms_and_cancel_closes() -> None:
    venue, recorder = make_venue()
    venue.submit("O-1", spec(BUY, LIMIT, 10, price=9_000), 0, strategy_id="S")
    venue.modify("O-1", 12, 9_500, None, 5)
    venue.on_bar(bar(100, 10_000, 10_000, 9_500, 10_000))
    venue.cancel("O-1", 110)
    assert summary(recorder.take()) == [
        ("OrderAccepted", "O-1", 0),
        ("OrderUpdated", "O-1", 12, 9_500, None, 5),
        ("OrderFilled", "O-1", 9_500, 12, "MAKER", 100),
        ("OrderCancelRejected", "O-1", "UNKNOWN_ORDER", 110),
    ]
    venue.modify("O-1", 5, None, None, 120)
    assert summary(recorder.take()) == [("OrderModifyRejected", "O-1", "UNKNOWN_ORDER", 120)]


def test_modify_to_at_most_the_filled_quantity_cancels_the_rest() -> None:
    venue, recorder = make_venue(max_volume_participation=Decimal("0.5"))
    venue.submit("O-1", spec(BUY, LIMIT, 10, price=10_000), 0, strategy_id="S")
    venue.on_bar(bar(100, 10_000, 10_000, 10_000, 10_000, volume=8))
    venue.modify("O-1", 4, None, None, 150)
    assert summary(recorder.take())[1:] == [
        ("OrderFilled", "O-1", 10_000, 4, "TAKER", 100),
        ("OrderCanceled", "O-1", "REQUESTED", 150),
    ]


def test_a_modified_order_skips_the_bar_it_was_modified_in() -> None:
    venue, recorder = make_venue()
    venue.on_bar(bar(100, 10_000, 10_000, 10_000, 10_000))
    venue.submit("O-1", spec(BUY, LIMIT, 1, price=9_000), 100, strategy_id="S")
    venue.modify("O-1", None, 10_000, None, 150)
    venue.on_bar(bar(200, 10_000, 10_000, 10_000, 10_000))
    assert fills(recorder.take()) == []
    venue.on_bar(bar(300, 10_000, 10_000, 10_000, 10_000))
    assert fills(recorder.take()) == [(10_000, 1, "TAKER")]


def test_modify_of_values_an_order_does_not_have_is_refused() -> None:
    venue, recorder = make_venue()
    venue.submit("M", spec(BUY, MARKET, 1), 0, strategy_id="S")
    venue.submit("T", spec(BUY, STOP, 1, trigger=10_050), 0, strategy_id="S")
    with pytest.raises(InvalidValue) as price:
        venue.modify("M", None, 10_000, None, 1)
    assert price.value.code == "UNEXPECTED_PRICE"
    with pytest.raises(InvalidValue) as trigger:
        venue.modify("M", None, None, 10_000, 1)
    assert trigger.value.code == "UNEXPECTED_TRIGGER_PRICE"
    with pytest.raises(InvalidValue) as empty:
        venue.modify("T", None, None, None, 1)
    assert empty.value.code == "EMPTY_MODIFY"
    venue.on_bar(bar(100, 10_000, 10_040, 9_990, 10_010))
    assert [e.client_order_id for e in recorder.take()] == ["M", "T", "M"]
    venue.on_bar(bar(200, 10_000, 10_060, 9_990, 10_010))  # T triggers and fills
    venue.submit("SL", spec(BUY, STOP_LIMIT, 1, price=10_030, trigger=10_050), 200, strategy_id="S")
    venue.on_bar(bar(300, 10_040, 10_060, 10_035, 10_040))  # triggers, limit not reached
    recorder.take()
    venue.modify("SL", None, None, 10_055, 310)
    assert summary(recorder.take()) == [("OrderModifyRejected", "SL", "ORDER_NOT_MODIFIABLE", 310)]


def test_cancel_all_picks_instrument_side_and_strategy() -> None:
    venue, recorder = make_venue()
    for cid, side, strategy in [
        ("A", BUY, "S"),
        ("B", SELL, "S"),
        ("C", BUY, "T"),
        ("D", BUY, "S"),
    ]:
        price = 9_000 if side == BUY else 11_000
        venue.submit(cid, spec(side, LIMIT, 1, price=price), 0, strategy_id=strategy)
    recorder.take()
    assert venue.cancel_all(INSTRUMENT_ID, BUY, 5, strategy_id="S") == ["A", "D"]
    assert summary(recorder.take()) == [
        ("OrderCanceled", "A", "REQUESTED", 5),
        ("OrderCanceled", "D", "REQUESTED", 5),
    ]
    assert venue.cancel_all(INSTRUMENT_ID, None, 6) == ["B", "C"]
    assert venue.open_orders() == []


# ----- reduce-only ---------------------------------------------------------------------------


def _long(venue: BarVenue, recorder: Recorder, lots: int, strategy: str = "S") -> None:
    """Buys ``lots`` at market for ``strategy`` on the bar closing at 100."""
    venue.on_bar(bar(0, 10_000, 10_000, 10_000, 10_000))
    venue.submit(f"ENTRY-{strategy}", spec(BUY, MARKET, lots), 0, strategy_id=strategy)
    venue.on_bar(bar(100, 10_000, 10_010, 9_990, 10_000, volume=100_000_000))
    assert fills(recorder.take()) == [(10_000, lots, "TAKER")]


def test_reduce_only_is_refused_when_it_would_open_or_grow_a_position() -> None:
    venue, recorder = make_venue()
    _long(venue, recorder, 5)
    venue.submit("GROW", spec(BUY, LIMIT, 1, price=9_000, reduce_only=True), 100, strategy_id="S")
    # another strategy's position is not this one's: flat for "T"
    venue.submit(
        "OTHER", spec(SELL, LIMIT, 1, price=11_000, reduce_only=True), 100, strategy_id="T"
    )
    assert summary(recorder.take()) == [
        ("OrderRejected", "GROW", "REDUCE_ONLY_WOULD_INCREASE", 100),
        ("OrderRejected", "OTHER", "REDUCE_ONLY_WOULD_INCREASE", 100),
    ]


def test_reduce_only_is_cut_to_the_position_on_entry_and_never_turns_it() -> None:
    venue, recorder = make_venue()
    _long(venue, recorder, 5)
    venue.submit("EXIT", spec(SELL, MARKET, 8, reduce_only=True), 100, strategy_id="S")
    assert summary(recorder.take()) == [
        ("OrderAccepted", "EXIT", 100),
        ("OrderUpdated", "EXIT", 5, None, None, 100),
    ]
    venue.on_bar(bar(200, 10_020, 10_030, 10_010, 10_020))
    assert fills(recorder.take()) == [(10_020, 5, "TAKER")]
    assert venue.open_orders() == []


def test_a_bracket_exit_filling_cancels_the_other_and_a_partial_exit_shrinks_it() -> None:
    venue, recorder = make_venue(max_volume_participation=Decimal("0.000003"))  # 3 lots a bar
    _long(venue, recorder, 5)
    recorder.take()
    venue.submit("TAKE", spec(SELL, LIMIT, 5, price=10_100, reduce_only=True), 100, strategy_id="S")
    venue.submit("STOP", spec(SELL, STOP, 5, trigger=9_900, reduce_only=True), 100, strategy_id="S")
    recorder.take()
    venue.on_bar(bar(200, 10_000, 10_150, 9_990, 10_120))  # the take-profit fills 3 of 5
    assert summary(recorder.take()) == [
        ("OrderFilled", "TAKE", 10_100, 3, "MAKER", 200),
        ("OrderUpdated", "STOP", 2, None, 9_900, 200),
    ]
    # both would fill on this bar; the take-profit comes first and leaves nothing to stop
    venue.on_bar(bar(300, 10_120, 10_150, 9_800, 9_850))
    assert summary(recorder.take()) == [
        ("OrderFilled", "TAKE", 10_120, 2, "TAKER", 300),  # opened above the limit
        ("OrderCanceled", "STOP", "REDUCE_ONLY", 300),
    ]
    assert venue.open_orders() == []


# ----- refusals and bad input --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "reason"),
    [
        (spec(BUY, LIMIT, 200_000, price=10_000), "QUANTITY_ABOVE_MAXIMUM"),
        (spec(BUY, STOP, 1, trigger=10_000, tif=TimeInForce.IOC), "INVALID_TIME_IN_FORCE"),
        (spec(BUY, MTL, 1, tif=TimeInForce.FOK), "INVALID_TIME_IN_FORCE"),
        (spec(BUY, LIMIT, 1, price=10_000, tif=TimeInForce.GTD, expire_ts=50), "INVALID_EXPIRY"),
        (spec(BUY, LIMIT, 1, price=10_000, post_only=PostOnly.REJECT), "UNSUPPORTED_POST_ONLY"),
        (spec(BUY, LIMIT, 2, price=10_000, display_quantity=1), "UNSUPPORTED_DISPLAY_QUANTITY"),
        (spec(BUY, LIMIT, 2, price=10_000, reduce_only=True), "REDUCE_ONLY_WOULD_INCREASE"),
        (
            spec(SELL, STOP, 1, trailing_offset=5, trailing_offset_type="TICKS"),
            "UNSUPPORTED_TRAILING_STOP",
        ),
    ],
)
def test_orders_the_venue_cannot_work_are_rejected_with_a_reason(
    order: OrderSpec, reason: str
) -> None:
    venue, recorder = make_venue()
    venue.submit("O-1", order, 100, strategy_id="S")
    assert summary(recorder.take()) == [("OrderRejected", "O-1", reason, 100)]
    assert venue.open_orders() == []
    with pytest.raises(InvalidValue) as duplicate:
        venue.submit("O-1", spec(BUY, MARKET, 1), 100, strategy_id="S")
    assert duplicate.value.code == "DUPLICATE_CLIENT_ORDER_ID"


def test_minimum_notional_and_quantity_come_from_the_instrument() -> None:
    instrument = Instrument(INSTRUMENT_ID, "0.01", 2, "1", 0, min_quantity=5, min_notional="100")
    recorder = Recorder()
    venue = BarVenue("BARS", {instrument: "USD"}, event_sink=recorder)
    venue.submit("A", spec(BUY, LIMIT, 4, price=10_000), 0, strategy_id="S")
    venue.submit("B", spec(BUY, LIMIT, 5, price=1_999), 0, strategy_id="S")  # 99.95 < 100
    venue.submit("C", spec(BUY, LIMIT, 5, price=2_000), 0, strategy_id="S")
    assert summary(recorder.take()) == [
        ("OrderRejected", "A", "QUANTITY_BELOW_MINIMUM", 0),
        ("OrderRejected", "B", "NOTIONAL_BELOW_MINIMUM", 0),
        ("OrderAccepted", "C", 0),
    ]


@pytest.mark.parametrize(
    ("order", "code"),
    [
        (spec(BUY, LIMIT, 1, price=-5), "NON_POSITIVE_PRICE"),
        (spec(BUY, LIMIT, 0, price=5), "NON_POSITIVE_QUANTITY"),
        (spec(BUY, LIMIT, 1), "MISSING_PRICE"),
        (spec(BUY, MARKET, 1, price=5), "UNEXPECTED_PRICE"),
        (spec(BUY, STOP, 1), "MISSING_TRIGGER_PRICE"),
        (spec(BUY, LIMIT, 1, price=5, trigger=4), "UNEXPECTED_TRIGGER_PRICE"),
        (spec(2, MARKET, 1), "UNKNOWN_SIDE"),
        (spec(BUY, 9, 1), "UNKNOWN_ORDER_TYPE"),  # type: ignore[arg-type]
        (spec(BUY, MARKET, 1, tif=7), "UNKNOWN_TIME_IN_FORCE"),  # type: ignore[arg-type]
        (spec(BUY, MARKET, 1.5), "NOT_AN_INTEGER"),  # type: ignore[arg-type]
        (spec(BUY, MARKET, True), "NOT_AN_INTEGER"),
        (spec(BUY, LIMIT, 1, price=5, tif=TimeInForce.GTD), "MISSING_EXPIRE_TS"),
        (spec(BUY, LIMIT, 1, price=5, expire_ts=10), "UNEXPECTED_EXPIRE_TS"),
        (spec(BUY, LIMIT, 2, price=5, display_quantity=3), "INVALID_DISPLAY_QUANTITY"),
        (
            spec(BUY, STOP, 1, trailing_offset=5, trailing_offset_type="PERCENT"),
            "UNKNOWN_TRAILING_OFFSET_TYPE",
        ),
        (OrderSpec("OTHER.SIM", BUY, MARKET, 1), "UNKNOWN_INSTRUMENT"),
    ],
)
def test_malformed_orders_raise_and_change_nothing(order: OrderSpec, code: str) -> None:
    venue, recorder = make_venue()
    venue.submit("FIRST", spec(BUY, LIMIT, 1, price=9_000), 0, strategy_id="S")
    recorder.take()
    with pytest.raises(InvalidValue) as error:
        venue.submit("O-1", order, 10, strategy_id="S")
    assert error.value.code == code
    assert recorder.events == []
    assert venue.open_orders() == ["FIRST"]
    venue.submit("O-1", spec(BUY, LIMIT, 1, price=9_000), 10, strategy_id="S")  # id still free
    assert venue.order("O-1").venue_order_id == 2


def test_bad_commands_raise_specific_errors_and_change_nothing() -> None:
    venue, recorder = make_venue()
    venue.on_bar(bar(100, 10_000, 10_000, 10_000, 10_000))
    venue.submit("A", spec(BUY, LIMIT, 1, price=9_000), 100, strategy_id="S")
    recorder.take()
    cases = [
        (lambda: venue.cancel("NOPE", 200), InvalidValue, "UNKNOWN_CLIENT_ORDER_ID"),
        (lambda: venue.modify("NOPE", 2, None, None, 200), InvalidValue, "UNKNOWN_CLIENT_ORDER_ID"),
        (lambda: venue.modify("A", -2, None, None, 200), InvalidValue, "NON_POSITIVE_QUANTITY"),
        (lambda: venue.modify("A", None, 0, None, 200), InvalidValue, "NON_POSITIVE_PRICE"),
        (lambda: venue.cancel("A", 99), InvalidData, "TIMESTAMP_BEFORE_VENUE_TIME"),
        (
            lambda: venue.submit("B", spec(BUY, MARKET, 1), 99, strategy_id="S"),
            InvalidData,
            "TIMESTAMP_BEFORE_VENUE_TIME",
        ),
        (
            lambda: venue.submit("B", spec(BUY, MARKET, 1), 200, strategy_id=""),
            InvalidValue,
            "INVALID_ID",
        ),
        (lambda: venue.cancel_all("OTHER.SIM", None, 200), InvalidValue, "UNKNOWN_INSTRUMENT"),
        (lambda: venue.cancel_all(INSTRUMENT_ID, 3, 200), InvalidValue, "UNKNOWN_SIDE"),
        (lambda: venue.advance_to(50), InvalidData, "TIMESTAMP_BEFORE_VENUE_TIME"),
        (lambda: venue.on_bar(bar(200, 10_000, 9_990, 10_010, 10_000)), InvalidData, "INVALID_BAR"),
        (lambda: venue.on_bar(bar(200, 10_000, 10_000, 0, 10_000)), InvalidData, "INVALID_BAR"),
        (
            lambda: venue.on_bar(bar(200, 10_000, 10_000, 9_000, 10_000, volume=-1)),
            InvalidData,
            "INVALID_BAR",
        ),
        (
            lambda: venue.on_bar(bar(50, 10_000, 10_000, 9_000, 10_000)),
            InvalidData,
            "TIMESTAMP_BEFORE_VENUE_TIME",
        ),
        (
            lambda: venue.on_quote(Quote(INSTRUMENT_ID, 1, 1, 2, 1, 200, 200)),
            InvalidData,
            "UNSUPPORTED_DATA",
        ),
    ]
    for call, error_type, code in cases:
        with pytest.raises(error_type) as error:
            call()
        assert error.value.code == code
    assert recorder.events == []
    assert venue.open_orders() == ["A"]
    assert venue.order("A").quantity == 1
    assert venue.now == 100
    venue.on_bar(bar(200, 9_000, 9_000, 9_000, 9_000))
    assert fills(recorder.take()) == [(9_000, 1, "TAKER")]


def test_a_venue_without_an_event_sink_refuses_commands() -> None:
    instrument = Instrument(INSTRUMENT_ID, "0.01", 2, "1", 0)
    venue = BarVenue("BARS", {instrument: "USD"})
    with pytest.raises(ConfigError) as error:
        venue.submit("A", spec(BUY, MARKET, 1), 0, strategy_id="S")
    assert error.value.code == "NO_EVENT_SINK"
    assert venue.open_orders() == []
    with pytest.raises(ConfigError):
        venue.set_event_sink("not callable")  # type: ignore[arg-type]


def test_submit_batch_validates_every_order_before_sending_any() -> None:
    venue, recorder = make_venue()
    good = SubmitOrder("S", "A", spec(BUY, MARKET, 1), 0)
    duplicate = SubmitOrder("S", "A", spec(BUY, MARKET, 1), 0)
    with pytest.raises(InvalidValue) as error:
        venue.submit_batch([good, duplicate], 0)
    assert error.value.code == "DUPLICATE_CLIENT_ORDER_ID"
    assert recorder.events == []
    venue.submit_batch([good, SubmitOrder("T", "B", spec(SELL, MARKET, 1), 0)], 0)
    assert summary(recorder.take()) == [("OrderAccepted", "A", 0), ("OrderAccepted", "B", 0)]
    assert venue.order("B").strategy_id == "T"


def test_capabilities_describe_the_bar_venue() -> None:
    venue, _ = make_venue()
    capabilities = venue.capabilities
    assert capabilities.order_types == frozenset(OrderType)
    assert capabilities.market_data == frozenset({"BAR"})
    assert not capabilities.trailing_stop
    assert capabilities.max_batch_size == 1


# ----- commissions -------------------------------------------------------------------------------

MONEY = 10**12


def commission_of(model: object, quantities: list[int], price: int = 10_000) -> list[int]:
    """Commissions of the fills of one market order filling ``quantities`` on successive bars
    (the volume cap at 100 % of each bar's volume)."""
    venue, recorder = make_venue(commission=model, max_volume_participation=Decimal(1))
    venue.submit("O-1", spec(BUY, MARKET, sum(quantities)), 0, strategy_id="S")
    for k, quantity in enumerate(quantities, start=1):
        venue.on_bar(bar(100 * k, price, price, price, price, volume=quantity))
    return [event.commission for event in recorder.take() if isinstance(event, OrderFilled)]


def test_per_lot_commission_with_a_minimum_per_order() -> None:
    model = PerLotCommission(per_lot=Decimal("0.005"), minimum=Decimal("1"))
    # 50 lots: 0.25 < minimum 1.00; after 350 lots: 1.75, so the second fill pays 0.75.
    assert commission_of(model, [50, 300]) == [1 * MONEY, 75 * MONEY // 100]
    assert commission_of(model, [1_000]) == [5 * MONEY]


def test_percent_commission_is_exact_and_rounded_once_per_order() -> None:
    model = PercentCommission(rate=Decimal("0.0001"), minimum=Decimal(0))
    # 3 lots at 33.33 = 99.99: 0.009999; then 1 lot more: total 133.32 -> 0.013332.
    assert commission_of(model, [3, 1], price=3_333) == [9_999_000_000, 3_333_000_000]
    # One lot at 0.01 is 1e10 money units, its commission 0.4 units: rounded per fill it would
    # be 0 each time; rounded per order the totals are 0, 1 (0.8), 1 (1.2).
    tiny = PercentCommission(rate=Decimal("0.00000000004"))
    assert commission_of(tiny, [1, 1, 1], price=1) == [0, 1, 0]
    with_minimum = PercentCommission(rate=Decimal("0.001"), minimum=Decimal("2.5"))
    assert commission_of(with_minimum, [10, 100]) == [25 * MONEY // 10, 85 * MONEY // 10]


def test_fixed_commission_is_charged_with_the_first_fill() -> None:
    assert commission_of(FixedCommission(per_order=Decimal("4.95")), [10, 20, 5]) == [
        495 * MONEY // 100,
        0,
        0,
    ]


def test_instrument_fees_charge_maker_and_taker_rates() -> None:
    instrument = Instrument(
        INSTRUMENT_ID, "0.01", 2, "1", 0, maker_fee="-0.0001", taker_fee="0.0003"
    )
    recorder = Recorder()
    venue = BarVenue("BARS", {instrument: "EUR"}, BarVenueConfig(InstrumentFees()), recorder)
    venue.submit("T", spec(BUY, MARKET, 7), 0, strategy_id="S")
    venue.submit("M", spec(SELL, LIMIT, 7, price=10_001), 0, strategy_id="S")
    venue.on_bar(bar(100, 10_000, 10_001, 10_000, 10_000))
    taker, maker = [event for event in recorder.take() if isinstance(event, OrderFilled)]
    assert (taker.liquidity, taker.commission, taker.currency) == ("TAKER", 210_000_000_000, "EUR")
    # 7 x 100.01 = 700.07; x -0.0001 = -0.070007
    assert (maker.liquidity, maker.commission) == ("MAKER", -70_007_000_000)


@pytest.mark.parametrize(
    "config",
    [
        {"slippage_ticks": -1},
        {"max_volume_participation": Decimal(0)},
        {"max_volume_participation": Decimal("1.5")},
        {"max_volume_participation": "lots"},
        {"session_offset_ns": DAY_NS},
    ],
)
def test_bad_bar_venue_config_is_refused(config: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        BarVenueConfig(**config)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "model",
    [
        PerLotCommission(per_lot=Decimal("0.0000000000001")),
        PerLotCommission(per_lot=Decimal("-1")),
        PercentCommission(rate=Decimal("-0.1")),
        FixedCommission(per_order=Decimal("NaN")),
    ],
)
def test_bad_commission_models_are_refused(model: object) -> None:
    with pytest.raises(ConfigError) as error:
        make_venue(commission=model)
    assert error.value.code == "INVALID_COMMISSION"


def test_config_decodes_from_json_with_a_tagged_commission_model() -> None:
    config = msgspec.json.decode(
        b'{"commission": {"type": "PER_LOT", "per_lot": "0.005", "minimum": "1"},'
        b' "slippage_ticks": 2, "max_volume_participation": "0.25"}',
        type=BarVenueConfig,
    )
    assert config.commission == PerLotCommission(per_lot=Decimal("0.005"), minimum=Decimal(1))
    assert config.max_volume_participation == Decimal("0.25")
    with pytest.raises(msgspec.ValidationError, match="slippage_ticks"):
        msgspec.json.decode(b'{"slippage_ticks": -3}', type=BarVenueConfig)


def test_same_inputs_give_the_same_events() -> None:
    def session() -> list[object]:
        venue, recorder = make_venue(slippage_ticks=1, max_volume_participation=Decimal("0.3"))
        venue.submit("A", spec(BUY, MARKET, 50), 0, strategy_id="S")
        venue.submit("B", spec(SELL, STOP, 20, trigger=9_990), 0, strategy_id="S")
        venue.submit("C", spec(BUY, LIMIT, 30, price=9_995), 0, strategy_id="T")
        for k in range(1, 8):
            venue.on_bar(bar(100 * k, 10_000 - k, 10_010, 9_980 + k, 10_000, volume=40 + k))
        return recorder.take()

    first = session()
    assert first == session()
    assert len(fills(first)) >= 4


@pytest.mark.parametrize(
    ("field", "value"),
    [("open", 10_000.0), ("high", True), ("close", "10000"), ("volume", 1.5), ("ts_event", None)],
)
def test_a_bar_field_that_is_not_an_integer_is_refused(field: str, value: object) -> None:
    venue, recorder = make_venue()
    good = bar(100, 10_000, 10_000, 10_000, 10_000)
    with pytest.raises(InvalidData) as error:
        venue.on_bar(msgspec.structs.replace(good, **{field: value}))
    assert error.value.code == "INVALID_BAR"
    assert venue.now is None
    assert recorder.events == []


def test_numpy_integer_bar_fields_are_accepted_with_and_without_working_orders() -> None:
    venue, recorder = make_venue()
    venue.on_bar(
        Bar(INSTRUMENT_ID, "1-MINUTE", *np.array([10_000, 10_010, 9_990, 10_000, 5, 100, 100]))
    )
    assert venue.now == 100
    venue.submit("A", spec(BUY, MARKET, 1), 100, strategy_id="S")
    recorder.take()
    venue.on_bar(
        Bar(INSTRUMENT_ID, "1-MINUTE", *np.array([10_020, 10_030, 10_000, 10_010, 5, 200, 200]))
    )
    assert fills(recorder.take()) == [(10_020, 1, "TAKER")]
