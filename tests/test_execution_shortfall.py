"""Implementation shortfall and the schedules' arithmetic, against hand-computed examples."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hftcore import Instrument
from hftcore.errors import InvalidData, InvalidValue
from hftcore.execution.schedule import (
    NS_PER_DAY,
    even_schedule,
    exact_rate,
    intraday_volume_profile,
    participation_target,
    profile_schedule,
)
from hftcore.execution.shortfall import implementation_shortfall
from hftcore.model.data import Bar
from hftcore.model.enums import Side
from hftcore.model.events import OrderFilled

USD = 10**12  # money units per dollar


def fill(price: int, quantity: int, commission: int, currency: str = "USD") -> OrderFilled:
    return OrderFilled(
        "S", "TEST.SIM", "S-1", "1", f"t{price}{quantity}", Side.SELL, price, quantity,
        "TAKER", commission, currency, 0, 0,
    )  # fmt: skip


def test_sell_shortfall_against_a_half_tick_mid_with_a_rebate_and_a_fee(
    instrument: Instrument,
) -> None:
    # Sell 40 lots; arrival mid 100.005 (ticks 10000.5). Filled: 10 at 100.02 as maker
    # (rebate 1 bp of 1,000.20 = -0.10002), 20 at 99.98 as taker (3 bp of 1,999.60 = 0.59988).
    fills = [fill(10_002, 10, -100_020_000_000), fill(9_998, 20, 599_880_000_000)]
    report = implementation_shortfall(
        instrument, Side.SELL, Fraction(20_001, 2), 40, fills, mark_price=9_990
    )
    # price cost = -(10*100.02 + 20*99.98 - 30*100.005) = -(2,999.80 - 3,000.15) = 0.35
    assert report.price_cost == 350_000_000_000
    assert report.fees == 499_860_000_000
    assert report.total_cost == 849_860_000_000
    # 0.84986 over the arrival notional 30 * 100.005 = 3,000.15
    assert report.cost_bps == pytest.approx(0.84986 / 3_000.15 * 10_000, rel=1e-12)
    assert report.average_price == Fraction(299_980, 30)
    assert (report.filled_quantity, report.unfilled_quantity) == (30, 10)
    # the 10 unsold lots, marked at 99.90 against 100.005: 10 * 0.105 = 1.05 lost
    assert report.opportunity_cost == 1_050_000_000_000
    assert report.currency == "USD"


def test_buy_shortfall_gain_is_negative(instrument: Instrument) -> None:
    report = implementation_shortfall(instrument, Side.BUY, 10_000, 5, [fill(9_990, 5, 0)])
    # bought 5 at 99.90 against 100.00: 0.50 saved
    assert report.price_cost == -USD // 2
    assert report.cost_bps == pytest.approx(-10.0)
    nothing = implementation_shortfall(instrument, Side.BUY, 10_000, 5, [])
    assert (nothing.total_cost, nothing.cost_bps, nothing.average_price) == (0, 0.0, None)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"side": 2}, "INVALID_SIDE"),
        ({"arrival_price": 0}, "NON_POSITIVE_PRICE"),
        ({"mark_price": -1}, "NON_POSITIVE_PRICE"),
        ({"quantity": 0}, "NON_POSITIVE_QUANTITY"),
        ({"fills": [fill(10_000, 6, 0)]}, "OVERFILL"),
        ({"fills": [fill(10_000, 1, 0), fill(10_000, 1, 0, "EUR")]}, "MIXED_CURRENCY"),
    ],
)
def test_shortfall_refuses_bad_input(
    instrument: Instrument, changes: dict[str, Any], code: str
) -> None:
    arguments: dict[str, Any] = {
        "side": Side.BUY, "arrival_price": 10_000, "quantity": 5, "fills": [], "mark_price": None
    }  # fmt: skip
    with pytest.raises(InvalidValue) as error:
        implementation_shortfall(instrument, **(arguments | changes))
    assert error.value.code == code


def test_schedules_sum_to_the_parent_in_exact_arithmetic() -> None:
    assert even_schedule(10, 3) == [3, 6, 10]
    assert even_schedule(2, 4) == [0, 1, 1, 2]
    assert profile_schedule(100, [1.0, 3.0, 4.0, 2.0]) == [10, 40, 80, 100]
    assert profile_schedule(10, [0.3, 0.7]) == [3, 10]  # 0.3 is 3/10, not 0.2999...
    assert exact_rate(0.3, "rate") == Fraction(3, 10)
    assert participation_target(Fraction(3, 10), 10, 100) == 3
    assert participation_target(Fraction(1, 2), 1_000, 100) == 100
    for bad in (lambda: even_schedule(0, 3), lambda: even_schedule(3, 0)):
        with pytest.raises(InvalidValue):
            bad()
    with pytest.raises(InvalidValue) as negative:
        profile_schedule(10, [1.0, -1.0])
    assert "volume_profile[1]" in negative.value.message
    with pytest.raises(InvalidValue) as nan:
        exact_rate(float("nan"), "participation_rate")
    assert "participation_rate" in nan.value.message


def test_intraday_volume_profile_buckets_history_by_time_of_day() -> None:
    minute = 60_000_000_000
    day = 20_000 * NS_PER_DAY  # some day in 2024 at midnight UTC
    open_time = 9 * 60 + 30  # minutes after midnight

    def bar(days_back: int, minutes: int, volume: int) -> Bar:
        ts = day - days_back * NS_PER_DAY + minutes * minute
        return Bar("TEST.SIM", "5-MINUTE", 1, 1, 1, 1, volume, ts, ts)

    history = [
        bar(2, open_time, 999),  # closes exactly at the start: the window before
        bar(2, open_time + 5, 100),
        bar(2, open_time + 30, 100),  # (9:30, 10:00]
        bar(2, open_time + 35, 300),
        bar(2, open_time + 85, 200),
        bar(2, open_time + 95, 999),  # after the last window
        bar(1, open_time + 15, 200),
        bar(1, open_time + 60, 100),
    ]
    start = day + open_time * minute  # the day we execute
    profile = intraday_volume_profile(history, start, 30 * minute, 3)
    assert profile == pytest.approx((0.4, 0.4, 0.2))
    with pytest.raises(InvalidData) as empty:
        intraday_volume_profile(history[:1], start, 30 * minute, 3)
    assert empty.value.code == "NO_VOLUME"
    with pytest.raises(InvalidValue) as too_long:
        intraday_volume_profile(history, start, NS_PER_DAY, 2)
    assert too_long.value.code == "INVALID_INTERVAL"
    with pytest.raises(InvalidValue) as no_slices:
        intraday_volume_profile(history, start, minute, 0)
    assert no_slices.value.code == "INVALID_SLICES"
