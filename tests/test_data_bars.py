"""Bar types and bar aggregation: bulk and incremental against plain Python loops."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hftcore import BookAction, synthetic_l3_messages
from hftcore.data import (
    BAR_DTYPE,
    BarAggregator,
    aggregate_quotes,
    aggregate_trades,
    bars_to_events,
    load_bundled,
    mid_prices,
    parse_bar_type,
)
from hftcore.errors import InvalidData, InvalidValue
from hftcore.model import Bar, Quote, Trade
from hypothesis import given, settings
from hypothesis import strategies as st

UNIT_NS = {"SECOND": 10**9, "MINUTE": 60 * 10**9, "HOUR": 3600 * 10**9, "DAY": 86400 * 10**9}


@dataclass
class Event:
    ts_event: int
    ts_init: int
    price: int
    size: int


def reference_bars(events: list[Event], bar_type: str, include_partial: bool) -> list[tuple]:
    """Bars by the documented rules, one plain loop per kind; tuples in BAR_DTYPE field order."""
    step_text, unit = bar_type.split("-")
    step = int(step_text)
    bars: list[tuple] = []
    if unit in UNIT_NS:
        duration = step * UNIT_NS[unit]
        groups: dict[int, list[Event]] = {}
        for event in events:
            groups.setdefault(event.ts_event // duration, []).append(event)
        for bucket, members in groups.items():
            prices = [e.price for e in members]
            close_time = (bucket + 1) * duration
            volume = sum(e.size for e in members)
            bars.append(
                (close_time, close_time, prices[0], max(prices), min(prices), prices[-1], volume)
            )
        return bars if include_partial else bars[:-1]
    if unit == "TICK":
        for first in range(0, len(events), step):
            members = events[first : first + step]
            if len(members) < step and not include_partial:
                break
            prices = [e.price for e in members]
            last = members[-1]
            volume = sum(e.size for e in members)
            bars.append(
                (
                    last.ts_event,
                    last.ts_init,
                    prices[0],
                    max(prices),
                    min(prices),
                    prices[-1],
                    volume,
                )
            )
        return bars
    # VOLUME: walk lot by lot ranges; a trade joins every bar its volume overlaps.
    current: list[Event] = []
    filled = 0
    for event in events:
        remaining = event.size
        while remaining:
            taken = min(remaining, step - filled)
            current.append(event)
            filled += taken
            remaining -= taken
            if filled == step:
                prices = [e.price for e in current]
                bars.append(
                    (event.ts_event, event.ts_init, prices[0], max(prices), min(prices),
                     prices[-1], step)
                )  # fmt: skip
                current, filled = [], 0
    if current and include_partial:
        prices = [e.price for e in current]
        last = current[-1]
        bars.append(
            (last.ts_event, last.ts_init, prices[0], max(prices), min(prices), prices[-1], filled)
        )
    return bars


def as_columns(events: list[Event]) -> dict[str, np.ndarray]:
    return {
        name: np.array([getattr(e, name) for e in events], dtype=np.int64)
        for name in ("ts_event", "ts_init", "price", "size")
    }


def incremental(events: list[Event], bar_type: str, flush: bool) -> list[tuple]:
    aggregator = BarAggregator("X.SIM", bar_type)
    bars: list[Bar] = []
    for number, e in enumerate(events):
        bars += aggregator.on_trade(
            Trade("X.SIM", e.price, e.size, -1, str(number), e.ts_event, e.ts_init)
        )
    if flush and (last := aggregator.flush()) is not None:
        bars.append(last)
    return [(b.ts_event, b.ts_init, b.open, b.high, b.low, b.close, b.volume) for b in bars]


def as_tuples(bars: np.ndarray) -> list[tuple]:
    assert bars.dtype == BAR_DTYPE
    return [tuple(int(v) for v in row) for row in bars]


@st.composite
def trade_streams(draw: st.DrawFn) -> list[Event]:
    count = draw(st.integers(0, 60))
    gaps = draw(st.lists(st.integers(0, 90 * 10**9), min_size=count, max_size=count))
    prices = draw(st.lists(st.integers(1, 50), min_size=count, max_size=count))
    sizes = draw(st.lists(st.integers(1, 40), min_size=count, max_size=count))
    ts = draw(st.integers(-(10**12), 10**12))
    events = []
    for gap, price, size in zip(gaps, prices, sizes, strict=True):
        ts += gap
        events.append(Event(ts, ts + 7, 1000 + price, size))
    return events


BAR_TYPES = st.sampled_from(
    ["1-SECOND", "30-SECOND", "1-MINUTE", "3-MINUTE", "1-HOUR", "1-DAY", "1-TICK", "3-TICK",
     "7-TICK", "1-VOLUME", "10-VOLUME", "25-VOLUME", "100-VOLUME"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(trade_streams(), BAR_TYPES, st.booleans())
def test_bulk_and_incremental_bars_equal_the_plain_loop(
    events: list[Event], bar_type: str, include_partial: bool
) -> None:
    expected = reference_bars(events, bar_type, include_partial)
    bulk = aggregate_trades(as_columns(events), bar_type, include_partial=include_partial)
    assert as_tuples(bulk) == expected
    assert incremental(events, bar_type, flush=include_partial) == expected


def synthetic_trades() -> list[Event]:
    """Executions of the seeded zero-intelligence L3 order flow, as trade prints."""
    messages = synthetic_l3_messages(60_000, seed=11)
    executions = messages[messages["action"] == BookAction.EXECUTE]
    return [
        Event(int(m["ts_event"]), int(m["ts_init"]), int(m["price"]), int(m["quantity"]))
        for m in executions
    ]


@pytest.mark.parametrize("bar_type", ["1-MINUTE", "250-TICK", "5000-VOLUME", "17-VOLUME"])
def test_bars_from_synthetic_order_flow_match_the_plain_loop(bar_type: str) -> None:
    events = synthetic_trades()
    assert len(events) > 1_000
    bulk = aggregate_trades(as_columns(events), bar_type, include_partial=True)
    assert as_tuples(bulk) == reference_bars(events, bar_type, include_partial=True)
    assert int(bulk["volume"].sum()) == sum(e.size for e in events)


def eurusd_hourly_closes() -> list[Event]:
    """Real data: each EURUSD hourly close as a print at the end of its hour (ticks of 0.00001,
    the hour's volume in lots of 0.1)."""
    table = load_bundled("eurusd_1h_ask_ohlcv")
    hour = 3600 * 10**9
    events = []
    for ts, close, volume in zip(
        table["ts"].to_pylist(), table["close"].to_pylist(), table["volume"].to_pylist(),
        strict=True,
    ):  # fmt: skip
        events.append(Event(ts + hour, ts + hour, round(close * 100_000), round(volume * 10)))
    return events


@pytest.mark.parametrize("bar_type", ["1-DAY", "4-HOUR", "24-TICK", "100000000000-VOLUME"])
def test_bars_from_real_eurusd_prints_match_the_plain_loop(bar_type: str) -> None:
    events = eurusd_hourly_closes()
    bulk = aggregate_trades(as_columns(events), bar_type, include_partial=True)
    assert as_tuples(bulk) == reference_bars(events, bar_type, include_partial=True)
    assert incremental(events, bar_type, flush=True) == as_tuples(bulk)


def test_daily_bars_of_real_eurusd_close_on_the_last_hour_of_each_utc_day() -> None:
    events = eurusd_hourly_closes()
    daily = aggregate_trades(as_columns(events), "1-DAY", include_partial=True)
    # 2017-01-03: the prints of hours ending 01:00 .. 24:00 UTC on that day.
    day_end = 1483488000 * 10**9
    members = [e for e in events if day_end - 86400 * 10**9 <= e.ts_event < day_end]
    (bar,) = daily[daily["ts_event"] == day_end]
    assert bar["close"] == members[-1].price
    assert bar["open"] == members[0].price
    assert bar["high"] == max(e.price for e in members)
    assert bar["volume"] == sum(e.size for e in members)


def test_mid_bars_round_half_to_even_and_carry_no_volume() -> None:
    bid = np.array([100, 100, 101, 101, 99], dtype=np.int64)
    ask = np.array([101, 103, 102, 104, 100], dtype=np.int64)
    # Mids: 100.5 -> 100, 101.5 -> 102, 101.5 -> 102, 102.5 -> 102, 99.5 -> 100.
    assert mid_prices(bid, ask).tolist() == [100, 102, 102, 102, 100]
    ts = np.arange(5, dtype=np.int64) * 10**9
    quotes = {"ts_event": ts, "bid_price": bid, "ask_price": ask}
    bars = aggregate_quotes(quotes, "2-TICK", include_partial=True)
    assert as_tuples(bars) == [
        (10**9, 10**9, 100, 102, 100, 102, 0),
        (3 * 10**9, 3 * 10**9, 102, 102, 102, 102, 0),
        (4 * 10**9, 4 * 10**9, 100, 100, 100, 100, 0),
    ]
    aggregator = BarAggregator("X.SIM", "2-TICK", source="mid")
    emitted = [
        bar
        for i in range(5)
        for bar in aggregator.on_quote(
            Quote("X.SIM", int(bid[i]), 1, int(ask[i]), 1, int(ts[i]), int(ts[i]))
        )
    ]
    assert [(b.open, b.high, b.low, b.close) for b in emitted] == [
        (100, 102, 100, 102),
        (102, 102, 102, 102),
    ]


def test_on_time_closes_a_time_bar_and_later_events_for_it_are_rejected() -> None:
    aggregator = BarAggregator("X.SIM", "1-MINUTE")
    minute = 60 * 10**9
    assert aggregator.on_trade(Trade("X.SIM", 10, 1, 0, "a", 5 * 10**9, 5 * 10**9)) == []
    assert aggregator.on_time(minute - 1) == []
    (bar,) = aggregator.on_time(minute + 3)
    assert (bar.open, bar.close, bar.volume, bar.ts_event) == (10, 10, 1, minute)
    assert not aggregator.has_partial
    with pytest.raises(InvalidData) as error:
        aggregator.on_trade(Trade("X.SIM", 11, 1, 0, "late", minute - 5, minute - 5))
    assert error.value.code == "OUT_OF_ORDER"
    assert not aggregator.has_partial  # the rejected print changed nothing
    # A print after the closed bar's end but before the timer's clock is on time.
    assert aggregator.on_trade(Trade("X.SIM", 12, 2, 0, "b", minute + 1, minute + 1)) == []
    assert aggregator.flush() == Bar("X.SIM", "1-MINUTE", 12, 12, 12, 12, 2, 2 * minute, 2 * minute)


def test_a_flushed_time_bar_is_final() -> None:
    aggregator = BarAggregator("X.SIM", "1-MINUTE")
    aggregator.on_trade(Trade("X.SIM", 10, 1, 0, "a", 5, 5))
    flushed = aggregator.flush()
    assert flushed is not None
    assert flushed.ts_event == 60 * 10**9
    with pytest.raises(InvalidData) as error:
        aggregator.on_trade(Trade("X.SIM", 11, 1, 0, "b", 6, 6))
    assert error.value.code == "OUT_OF_ORDER"
    assert aggregator.flush() is None


def test_a_large_trade_completes_several_volume_bars() -> None:
    aggregator = BarAggregator("X.SIM", "10-VOLUME")
    assert aggregator.on_trade(Trade("X.SIM", 50, 4, 0, "a", 1, 1)) == []
    bars = aggregator.on_trade(Trade("X.SIM", 51, 25, 1, "b", 2, 2))
    assert [(b.open, b.high, b.low, b.close, b.volume) for b in bars] == [
        (50, 51, 50, 51, 10),
        (51, 51, 51, 51, 10),
    ]
    assert aggregator.flush() == Bar("X.SIM", "10-VOLUME", 51, 51, 51, 51, 9, 2, 2)


def test_rejected_events_leave_the_aggregator_unchanged() -> None:
    aggregator = BarAggregator("X.SIM", "3-TICK")
    aggregator.on_trade(Trade("X.SIM", 10, 1, 0, "a", 100, 100))
    bad_calls = [
        (
            lambda: aggregator.on_trade(Trade("Y.SIM", 10, 1, 0, "b", 200, 200)),
            "UNKNOWN_INSTRUMENT",
        ),
        (lambda: aggregator.on_trade(Trade("X.SIM", 10, 0, 0, "c", 200, 200)), "NON_POSITIVE_SIZE"),
        (lambda: aggregator.on_trade(Trade("X.SIM", 0, 1, 0, "d", 200, 200)), "BAD_EVENT"),
        (lambda: aggregator.on_trade(Trade("X.SIM", 10, 1, 0, "e", 99, 99)), "OUT_OF_ORDER"),
        (lambda: aggregator.on_quote(Quote("X.SIM", 9, 1, 11, 1, 200, 200)), "WRONG_SOURCE"),
    ]
    for call, code in bad_calls:
        with pytest.raises((InvalidValue, InvalidData)) as error:
            call()
        assert error.value.code == code  # type: ignore[union-attr]
    aggregator.on_trade(Trade("X.SIM", 12, 1, 0, "f", 300, 300))
    (bar,) = aggregator.on_trade(Trade("X.SIM", 11, 1, 0, "g", 400, 400))
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (10, 12, 10, 11, 3)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "not 'N-UNIT'"),
        ("5", "not 'N-UNIT'"),
        ("0-MINUTE", "positive integer"),
        ("05-MINUTE", "leading zeros"),
        ("5-minute", "upper case"),
        ("5-WEEK", "unknown unit 'WEEK'"),
        ("-5-MINUTE", "not 'N-UNIT'"),
        ("5 MINUTE", "not 'N-UNIT'"),
        ("1.5-HOUR", "not 'N-UNIT'"),
        ("999999999999-DAY", "too large"),
        (5, "must be a str"),
        (None, "must be a str"),
    ],
)
def test_bad_bar_types_are_named(text: object, fragment: str) -> None:
    with pytest.raises(InvalidValue) as error:
        parse_bar_type(text)
    assert error.value.code == "BAD_BAR_TYPE"
    assert fragment in error.value.message


def test_good_bar_types_parse_to_their_spec() -> None:
    assert parse_bar_type("5-MINUTE").duration_ns == 300 * 10**9
    assert str(parse_bar_type("100-TICK")) == "100-TICK"
    assert not parse_bar_type("10000-VOLUME").is_time
    with pytest.raises(InvalidValue) as error:
        _ = parse_bar_type("100-TICK").duration_ns
    assert error.value.code == "NOT_A_TIME_BAR"


def test_bulk_input_errors_name_the_row() -> None:
    columns = {
        "ts_event": np.array([1, 5, 4, 9]),
        "price": np.array([10, 10, 10, 10]),
        "size": np.array([1, 1, 1, 1]),
    }
    with pytest.raises(InvalidData) as error:
        aggregate_trades(columns, "2-TICK")
    assert error.value.code == "OUT_OF_ORDER"
    assert "row 2" in error.value.message
    columns["ts_event"] = np.array([1, 2, 3, 4])
    columns["size"] = np.array([1, 1, 0, 1])
    with pytest.raises(InvalidData) as error:
        aggregate_trades(columns, "2-TICK")
    assert (error.value.code, "row 2" in error.value.message) == ("NON_POSITIVE_SIZE", True)
    columns["price"] = np.array([10.0, 10.5, 11.0, 11.0])
    with pytest.raises(InvalidData) as error:
        aggregate_trades(columns, "2-TICK")
    assert error.value.code == "BAD_COLUMN"
    with pytest.raises(InvalidData) as error:
        aggregate_trades({"ts_event": np.array([1]), "price": np.array([1])}, "2-TICK")
    assert error.value.code == "MISSING_COLUMN"
    with pytest.raises(InvalidValue) as value_error:
        aggregate_quotes({"ts_event": [], "bid_price": [], "ask_price": []}, "5-VOLUME")
    assert value_error.value.code == "BAD_SOURCE"


def test_bars_to_events_builds_bar_structs() -> None:
    bars = aggregate_trades(
        {
            "ts_event": np.array([1, 2, 3]),
            "price": np.array([5, 7, 6]),
            "size": np.array([1, 1, 1]),
        },
        "3-TICK",
    )
    assert bars_to_events(bars, "X.SIM", "3-TICK") == [Bar("X.SIM", "3-TICK", 5, 7, 5, 6, 3, 3, 3)]
