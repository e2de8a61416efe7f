"""SimulatedVenue from Python: fills, queue position, latency, impact, bulk replay, pickling,
determinism, and bad input (specific exception, venue unchanged)."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hftcore import (
    TRADE_DTYPE,
    Instrument,
    L2Stepper,
    LatencyModel,
    OrderBookL2,
    OrderEvent,
    QueueModel,
    Side,
    SimulatedVenue,
    l2_deltas,
    l2_replay_from_l3,
    l3_messages,
    synthetic_l3_messages,
    trade_prints,
)
from hftcore.errors import BookError, ConfigError, InvalidData, InvalidValue, OrderRejected
from hypothesis import given, settings
from hypothesis import strategies as st

BUY, SELL = int(Side.BUY), int(Side.SELL)


@pytest.fixture
def l2(instrument: Instrument) -> SimulatedVenue:
    """Bids 100 x 10, 99 x 20; asks 101 x 10, 102 x 20; at ts 0."""
    venue = SimulatedVenue(instrument, data="L2", queue_model=QueueModel.risk_averse())
    for side, price, quantity in [(BUY, 100, 10), (BUY, 99, 20), (SELL, 101, 10), (SELL, 102, 20)]:
        assert venue.on_l2_delta(0, side, price, quantity) == []
    return venue


def kinds(events: list[OrderEvent]) -> list[str]:
    return [event.kind for event in events]


def fills(events: list[OrderEvent]) -> list[tuple[int, int, int, str]]:
    return [
        (event.price, event.quantity, event.leaves, event.liquidity)
        for event in events
        if event.kind == "FILLED"
    ]


def test_a_crossing_limit_order_takes_liquidity_and_rests_the_rest(
    l2: SimulatedVenue, instrument: Instrument
) -> None:
    events = l2.submit_limit(0, order_id=1, side=BUY, price=102, quantity=35)
    assert kinds(events) == ["ACCEPTED", "FILLED", "FILLED"]
    assert fills(events) == [(101, 10, 25, "TAKER"), (102, 20, 5, "TAKER")]
    first = events[1]
    # 10 lots at 1.01 = 10.10; taker fee 3 bp = 0.00303.
    assert first.fee == Decimal("0.003030000000")
    assert first.trade_id == 1
    assert events[2].trade_id == 2
    assert all(event.ts == 0 for event in events)
    [order] = l2.open_orders()
    assert (order.order_id, order.price, order.quantity, order.leaves) == (1, 102, 35, 5)
    assert order.queue_ahead == 0


def test_trades_eat_the_queue_then_fill_us_as_maker_with_a_rebate(l2: SimulatedVenue) -> None:
    assert kinds(l2.submit_limit(0, 7, BUY, 100, 5)) == ["ACCEPTED"]
    assert l2.queue_ahead(7) == 10
    assert l2.on_trade(1, SELL, 100, 4) == []
    assert l2.queue_ahead(7) == 6
    # The update that reflects the trade is not taken for a cancel.
    l2.on_l2_delta(2, BUY, 100, 6)
    assert l2.queue_ahead(7) == 6
    # A decrease no trade explains is cancels, all behind us under the risk-averse model, but
    # the queue ahead cannot exceed what is displayed.
    l2.on_l2_delta(3, BUY, 100, 3)
    assert l2.queue_ahead(7) == 3
    events = l2.on_trade(4, SELL, 100, 5)
    assert fills(events) == [(100, 2, 3, "MAKER")]
    assert events[0].fee < 0
    assert events[0].side == BUY
    events = l2.on_trade(5, SELL, 100, 10)
    assert fills(events) == [(100, 3, 0, "MAKER")]
    assert l2.open_orders() == []


def test_market_orders_walk_the_book_and_impact_lasts_until_the_level_updates(
    instrument: Instrument,
) -> None:
    venue = SimulatedVenue(instrument, market_impact=True)
    venue.on_l2_delta(0, SELL, 101, 10)
    venue.on_l2_delta(0, SELL, 102, 10)
    assert fills(venue.submit_market(0, 1, BUY, 6)) == [(101, 6, 0, "TAKER")]
    assert venue.available_at(SELL, 101) == 4
    assert venue.market_quantity_at(SELL, 101) == 10
    events = venue.submit_market(0, 2, BUY, 20)
    assert fills(events) == [(101, 4, 16, "TAKER"), (102, 10, 6, "TAKER")]
    assert events[-1].kind == "CANCELED"
    assert events[-1].reason == "NO_LIQUIDITY"
    venue.on_l2_delta(1, SELL, 101, 3)
    assert venue.available_at(SELL, 101) == 3


def test_ioc_fok_and_post_only(l2: SimulatedVenue) -> None:
    events = l2.submit_limit(0, 1, BUY, 101, 15, time_in_force="IOC")
    assert kinds(events) == ["ACCEPTED", "FILLED", "CANCELED"]
    assert events[-1].reason == "IMMEDIATE_OR_CANCEL"
    assert events[-1].leaves == 5
    events = l2.submit_limit(0, 2, BUY, 101, 15, time_in_force="FOK")
    assert kinds(events) == ["ACCEPTED", "CANCELED"]
    assert events[1].reason == "FILL_OR_KILL"
    events = l2.submit_limit(0, 3, SELL, 100, 5, post_only=True)
    assert kinds(events) == ["REJECTED"]
    assert events[0].reason == "POST_ONLY_WOULD_CROSS"
    assert kinds(l2.submit_limit(0, 4, SELL, 101, 5, post_only=True)) == ["ACCEPTED"]
    [order] = l2.open_orders()
    assert order.post_only
    assert order.queue_ahead == 10


def test_cancel_and_modify(l2: SimulatedVenue) -> None:
    l2.submit_limit(0, 1, BUY, 100, 5)
    l2.on_l2_delta(1, BUY, 100, 14)
    [replaced] = l2.modify(1, 1, 100, 4)
    assert (replaced.kind, replaced.quantity, replaced.leaves) == ("REPLACED", 4, 4)
    assert l2.queue_ahead(1) == 10
    l2.modify(1, 1, 100, 6)
    assert l2.queue_ahead(1) == 14
    # Sent at 2 while the venue is at 1: it takes effect when venue time reaches 2.
    assert l2.cancel(2, 1) == []
    [canceled] = l2.advance_to(2)
    assert (canceled.kind, canceled.reason, canceled.leaves) == ("CANCELED", "REQUESTED", 6)
    [late] = l2.cancel(2, 1)
    assert (late.kind, late.reason) == ("REJECTED", "UNKNOWN_ORDER")


def test_latency_delays_orders_and_responses(instrument: Instrument) -> None:
    venue = SimulatedVenue(
        instrument,
        feed_latency=LatencyModel.constant(7),
        order_latency=LatencyModel.constant(50),
        response_latency=LatencyModel.constant(30),
    )
    venue.on_l2_delta(0, SELL, 101, 10)
    assert venue.last_feed_ts == 7
    assert venue.submit_market(100, 1, BUY, 10) == []
    assert venue.pending_commands == 1
    venue.on_l2_delta(140, SELL, 101, 4)  # before our order arrives at 150
    events = venue.advance_to(150)
    assert fills(events) == [(101, 4, 6, "TAKER")]
    assert {event.ts for event in events} == {180}
    assert venue.now == 150


def test_l3_queue_is_exact_fifo(instrument: Instrument) -> None:
    venue = SimulatedVenue(instrument, data="L3")
    assert venue.queue_model.kind == "FIFO"
    for order_id, price, quantity in [(1, 100, 5), (2, 100, 7)]:
        venue.on_l3_add(0, order_id, BUY, price, quantity)
    venue.submit_limit(0, 9, BUY, 100, 4)
    assert venue.queue_ahead(9) == 12
    venue.on_l3_add(1, 3, BUY, 100, 50)
    venue.on_l3_cancel(2, 1)
    venue.on_l3_reduce(3, 2, 2)
    assert venue.queue_ahead(9) == 5
    venue.on_l3_execute(4, 2, 5)
    assert venue.queue_ahead(9) == 0
    events = venue.on_l3_execute(5, 3, 6)
    assert fills(events) == [(100, 4, 0, "MAKER")]


def test_bulk_l2_replay_equals_single_calls(instrument: Instrument) -> None:
    deltas = l2_deltas(
        side=[BUY, SELL, BUY, BUY],
        price=[100, 101, 100, 100],
        quantity=[10, 10, 6, 3],
        ts_event=[0, 0, 20, 30],
    )
    trades = trade_prints([SELL, SELL], [100, 100], [4, 9], ts_event=[20, 40])
    bulk = SimulatedVenue(instrument, feed_latency=LatencyModel.constant(5))
    bulk.replay_l2(deltas[:2])
    bulk.submit_limit(0, 1, BUY, 100, 5)
    result = bulk.replay_l2(deltas[2:], trades, return_feed_ts=True)
    assert (result.applied, result.rejected) == (4, 0)
    assert result.feed_ts is not None
    assert result.trade_feed_ts is not None
    assert result.feed_ts.tolist() == [25, 35]
    assert result.trade_feed_ts.tolist() == [25, 45]
    assert fills(result.events) == [(100, 5, 0, "MAKER")]

    single = SimulatedVenue(instrument, feed_latency=LatencyModel.constant(5))
    single.on_l2_delta(0, BUY, 100, 10)
    single.on_l2_delta(0, SELL, 101, 10)
    single.submit_limit(0, 1, BUY, 100, 5)
    events = single.on_trade(20, SELL, 100, 4)
    events += single.on_l2_delta(20, BUY, 100, 6)
    events += single.on_l2_delta(30, BUY, 100, 3)
    events += single.on_trade(40, SELL, 100, 9)
    assert events == result.events
    assert single.snapshot() == bulk.snapshot()


def test_l2_data_derived_from_l3_has_one_print_per_execution() -> None:
    messages = synthetic_l3_messages(5_000, seed=3)
    deltas, trades = l2_replay_from_l3(messages)
    assert trades.dtype == TRADE_DTYPE
    assert len(deltas) == len(messages)
    assert len(trades) == int((messages["action"] == 4).sum())
    assert set(np.unique(trades["aggressor_side"]).tolist()) <= {0, 1}


def quoting_session(
    venue: SimulatedVenue, messages: Any, chunk: int = 500, flush: bool = True
) -> list[OrderEvent]:
    """Replays L3 messages (as L2 data for an L2 venue), keeping one order a side at the touch."""
    events: list[OrderEvent] = []
    deltas, trades = l2_replay_from_l3(messages)
    next_id = 0
    for start in range(0, len(messages), chunk):
        if venue.data == "L2":
            window = deltas[start : start + chunk]
            done = venue.now if venue.now is not None else -1
            last = window["ts_event"][-1]
            in_window = (trades["ts_event"] > done) & (trades["ts_event"] <= last)
            events += venue.replay_l2(window, trades[in_window]).events
        else:
            events += venue.replay_l3(messages[start : start + chunk]).events
        now = venue.now
        assert now is not None
        resting = {(order.side, order.price) for order in venue.open_orders()}
        for side, best in ((BUY, venue.best_bid()), (SELL, venue.best_ask())):
            if best is not None and (side, best[0]) not in resting:
                next_id += 1
                events += venue.submit_limit(now, next_id, side, best[0], 2)
    if flush:
        events += venue.advance_to((venue.now or 0) + 10_000_000)
    return events


def jittery(instrument: Instrument, data: str, seed: int) -> SimulatedVenue:
    return SimulatedVenue(
        instrument,
        data=data,  # type: ignore[arg-type]
        queue_model=QueueModel.power(2.0) if data == "L2" else None,
        feed_latency=LatencyModel.lognormal(9.0, 0.5, seed=seed + 1),
        order_latency=LatencyModel.normal(20_000.0, 8_000.0, seed=seed + 2),
        response_latency=LatencyModel.uniform(5_000.0, 50_000.0, seed=seed + 3),
        market_impact=True,
        seed=seed,
    )


@pytest.mark.parametrize("data", ["L2", "L3"])
def test_same_seed_and_inputs_give_identical_events(instrument: Instrument, data: str) -> None:
    messages = synthetic_l3_messages(20_000, seed=11)

    def run(seed: int) -> list[tuple[Any, ...]]:
        events = quoting_session(jittery(instrument, data, seed), messages)
        return [
            (e.kind, e.order_id, e.ts, e.trade_id, e.price, e.quantity, e.leaves, e.fee_raw)
            for e in events
        ]

    first = run(5)
    assert sum(1 for event in first if event[0] == "FILLED") > 10
    assert run(5) == first
    assert run(6) != first


def test_pickle_and_copy_continue_exactly_like_the_original(instrument: Instrument) -> None:
    messages = synthetic_l3_messages(6_000, seed=2)
    original = jittery(instrument, "L3", 1)
    quoting_session(original, messages[:3_000], flush=False)
    original.advance_to(int(messages["ts_event"][3_000]))
    best = original.best_bid()
    assert best is not None
    assert original.now is not None
    original.submit_limit(original.now, 999, BUY, best[0], 1)
    restored = pickle.loads(pickle.dumps(original))
    copied = copy.deepcopy(original)
    assert restored.snapshot() == original.snapshot() == copied.snapshot()
    assert restored.pending_commands == original.pending_commands >= 1
    rest = messages[3_000:]
    expected = original.replay_l3(rest).events
    assert restored.replay_l3(rest).events == expected
    assert copied.replay_l3(rest).events == expected
    assert pickle.loads(pickle.dumps(LatencyModel.table([(0, 1), (10, 5)]))) == LatencyModel.table(
        [(0, 1), (10, 5)]
    )
    assert pickle.loads(pickle.dumps(QueueModel.power(1.5))) == QueueModel.power(1.5)
    assert repr(LatencyModel.normal(1.0, 2.0, seed=3)) == "LatencyModel.normal(1.0, 2.0, seed=3)"


def test_copies_are_independent(l2: SimulatedVenue) -> None:
    duplicate = copy.copy(l2)
    duplicate.submit_limit(0, 1, BUY, 100, 5)
    assert l2.open_orders() == []
    assert len(duplicate.open_orders()) == 1


def test_queue_model_probabilities_follow_the_formulas() -> None:
    assert QueueModel.power(2.0).cancel_ahead_probability(3, 4) == pytest.approx(9 / 25)
    log = QueueModel.log().cancel_ahead_probability(10, 100)
    assert log == pytest.approx(np.log(11) / (np.log(11) + np.log(101)))
    assert QueueModel.risk_averse().cancel_ahead_probability(10, 10) == 0.0


# ----- bad input -------------------------------------------------------------------------------


def test_bad_commands_raise_specific_errors_and_change_nothing(l2: SimulatedVenue) -> None:
    l2.submit_limit(5, 1, BUY, 100, 5)
    l2.advance_to(5)
    before = l2.snapshot()
    cases: list[tuple[Callable[[], object], type[Exception], str]] = [
        (lambda: l2.submit_limit(4, 2, BUY, 100, 1), InvalidData, "TIMESTAMP_BEFORE_VENUE_TIME"),
        (lambda: l2.submit_limit(5, 1, BUY, 100, 1), OrderRejected, "DUPLICATE_ORDER_ID"),
        (lambda: l2.submit_limit(5, 2, BUY, 0, 1), InvalidValue, "NON_POSITIVE_PRICE"),
        (lambda: l2.submit_limit(5, 2, BUY, 100, -3), InvalidValue, "NON_POSITIVE_QUANTITY"),
        (lambda: l2.submit_limit(5, 2, 7, 100, 1), InvalidValue, "UNKNOWN_SIDE"),
        (
            lambda: l2.submit_limit(5, 2, BUY, 100, 1, time_in_force="XYZ"),  # type: ignore[arg-type]
            InvalidValue,
            "UNKNOWN_TIME_IN_FORCE",
        ),
        (
            lambda: l2.submit_limit(5, 2, BUY, 100, 1, time_in_force="DAY"),
            OrderRejected,
            "INVALID_TIME_IN_FORCE",
        ),
        (
            lambda: l2.submit_limit(5, 2, BUY, 100, 1, time_in_force="IOC", post_only=True),
            OrderRejected,
            "INVALID_TIME_IN_FORCE",
        ),
        (lambda: l2.submit_market(5, 2, BUY, 0), InvalidValue, "NON_POSITIVE_QUANTITY"),
        (lambda: l2.modify(5, 1, 2**62, 4), InvalidValue, "OVERFLOW"),
        (lambda: l2.modify(5, 1, -1, 1), InvalidValue, "NON_POSITIVE_PRICE"),
        (lambda: l2.cancel(4, 1), InvalidData, "TIMESTAMP_BEFORE_VENUE_TIME"),
        (lambda: l2.advance_to(4), InvalidData, "TIMESTAMP_BEFORE_VENUE_TIME"),
        (lambda: l2.queue_ahead(42), BookError, "UNKNOWN_ORDER"),
    ]
    for call, error, code in cases:
        with pytest.raises(error) as raised:
            call()
        assert raised.value.code == code  # type: ignore[attr-defined]
        assert l2.snapshot() == before


def test_bad_market_data_raises_and_lets_no_pending_command_through(
    instrument: Instrument,
) -> None:
    venue = SimulatedVenue(instrument, data="L3", order_latency=LatencyModel.constant(10))
    venue.on_l3_add(0, 1, SELL, 101, 5)
    venue.submit_market(0, 7, BUY, 1)
    before = venue.snapshot()
    cases: list[tuple[Callable[[], object], type[Exception], str]] = [
        (lambda: venue.on_l3_cancel(20, 99), BookError, "UNKNOWN_ORDER"),
        (lambda: venue.on_l3_execute(20, 1, 6), BookError, "QUANTITY_EXCEEDS_ORDER"),
        (lambda: venue.on_l3_add(20, 1, SELL, 101, 5), BookError, "DUPLICATE_ORDER_ID"),
        (lambda: venue.on_l3_add(20, 2, 3, 101, 5), InvalidValue, "UNKNOWN_SIDE"),
        (lambda: venue.on_l2_delta(20, SELL, 101, 5), InvalidData, "WRONG_DATA_KIND"),
        (lambda: venue.on_trade(20, BUY, 101, 0), InvalidValue, "NON_POSITIVE_QUANTITY"),
    ]
    for call, error, code in cases:
        with pytest.raises(error) as raised:
            call()
        assert raised.value.code == code  # type: ignore[attr-defined]
        assert venue.snapshot() == before
    assert venue.pending_commands == 1


def test_bad_arrays_and_records_raise_and_apply_nothing(l2: SimulatedVenue) -> None:
    l2.submit_limit(0, 1, BUY, 100, 5)
    before = l2.snapshot()
    good = l2_deltas(side=[BUY], price=[100], quantity=[4], ts_event=[2])
    bad_side = l2_deltas(side=[BUY, 5], price=[100, 100], quantity=[4, 4], ts_event=[2, 3])
    with pytest.raises(InvalidData) as raised:
        l2.replay_l2(bad_side)
    assert raised.value.code == "UNKNOWN_SIDE"
    assert "deltas[1]" in raised.value.message
    with pytest.raises(InvalidData) as raised:
        l2.replay_l2(np.zeros(3, dtype=np.int64))  # type: ignore[arg-type]
    assert raised.value.code == "BAD_ARRAY"
    with pytest.raises(InvalidData):
        l2.replay_l2(good, trades=good)
    with pytest.raises(InvalidData) as raised:
        l2.replay_l3(l3_messages([0], [1], [0], [100], [1]))
    assert raised.value.code == "WRONG_DATA_KIND"
    with pytest.raises(InvalidValue):
        l2.replay_l2(good, on_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(InvalidData) as raised:
        trade_prints([2], [100], [1])
    assert raised.value.code == "BAD_COLUMN"
    assert l2.snapshot() == before

    trades = trade_prints([SELL], [100], [20], ts_event=[2])
    skipped = l2.replay_l2(bad_side, trades, on_error="skip")
    assert (skipped.applied, skipped.rejected) == (2, 1)
    assert (skipped.first_error_array, skipped.first_error_index) == ("deltas", 1)
    assert skipped.first_error == "UNKNOWN_SIDE"
    assert fills(skipped.events) == [(100, 5, 0, "MAKER")]


def test_bad_configuration_raises_config_error(instrument: Instrument) -> None:
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: LatencyModel.constant(-1), "INVALID_LATENCY"),
        (lambda: LatencyModel.table([]), "INVALID_LATENCY"),
        (lambda: LatencyModel.table([(5, 1), (5, 2)]), "INVALID_LATENCY"),
        (lambda: LatencyModel.normal(-1.0, 1.0), "INVALID_LATENCY"),
        (lambda: LatencyModel.lognormal(float("nan"), 1.0), "INVALID_LATENCY"),
        (lambda: LatencyModel.uniform(3.0, 2.0), "INVALID_LATENCY"),
        (lambda: QueueModel.power(0.0), "INVALID_QUEUE_MODEL"),
        (
            lambda: SimulatedVenue(instrument, data="L3", queue_model=QueueModel.log()),
            "INVALID_QUEUE_MODEL",
        ),
        (
            lambda: SimulatedVenue(instrument, data="L2", queue_model=QueueModel.fifo()),
            "INVALID_QUEUE_MODEL",
        ),
        (lambda: SimulatedVenue(instrument, data="L4"), "INVALID_DATA_KIND"),  # type: ignore[arg-type]
    ]
    for call, code in cases:
        with pytest.raises(ConfigError) as raised:
            call()
        assert raised.value.code == code


def test_corrupt_snapshots_are_refused(l2: SimulatedVenue, instrument: Instrument) -> None:
    data = l2.snapshot()
    with pytest.raises(InvalidData) as raised:
        SimulatedVenue.from_snapshot(instrument, data[:-3])
    assert raised.value.code == "INVALID_SNAPSHOT"
    assert SimulatedVenue.from_snapshot(instrument, data).snapshot() == data


# ----- properties ------------------------------------------------------------------------------


@st.composite
def l2_streams(draw: st.DrawFn) -> tuple[Any, Any]:
    count = draw(st.integers(1, 60))
    ts = np.cumsum(draw(st.lists(st.integers(0, 5), min_size=count, max_size=count)))
    sides = draw(st.lists(st.integers(0, 1), min_size=count, max_size=count))
    offsets = draw(st.lists(st.integers(0, 3), min_size=count, max_size=count))
    prices = [100 - o if s == BUY else 101 + o for s, o in zip(sides, offsets, strict=True)]
    quantities = draw(st.lists(st.integers(0, 30), min_size=count, max_size=count))
    deltas = l2_deltas(side=sides, price=prices, quantity=quantities, ts_event=ts)
    trade_count = draw(st.integers(0, 20))

    def column(values: st.SearchStrategy[int]) -> Any:
        drawn = draw(st.lists(values, min_size=trade_count, max_size=trade_count))
        return np.asarray(drawn, dtype=np.int64)

    trades = trade_prints(
        column(st.integers(0, 1)),
        column(st.integers(98, 103)),
        column(st.integers(1, 15)),
        ts_event=np.sort(column(st.integers(0, int(ts[-1])))),
    )
    return deltas, trades


@settings(max_examples=60, deadline=None)
@given(stream=l2_streams(), model=st.sampled_from(["risk_averse", "log", "power"]))
def test_bulk_replay_equals_per_event_calls_and_fills_add_up(
    stream: tuple[Any, Any], model: str
) -> None:
    instrument = Instrument("PROP.SIM", "0.01", 2, "1", 0, maker_fee="-0.0001")
    queue = {"risk_averse": QueueModel.risk_averse(), "log": QueueModel.log()}.get(
        model, QueueModel.power(2.0)
    )
    deltas, trades = stream

    def fresh() -> SimulatedVenue:
        venue = SimulatedVenue(instrument, queue_model=queue, seed=9)
        venue.submit_limit(0, 1, BUY, 100, 8)
        venue.submit_limit(0, 2, SELL, 101, 8)
        return venue

    bulk = fresh()
    bulk_events = bulk.replay_l2(deltas, trades).events
    single = fresh()
    single_events: list[OrderEvent] = []
    order = sorted(
        [(int(t["ts_event"]), 0, i) for i, t in enumerate(trades)]
        + [(int(d["ts_event"]), 1, i) for i, d in enumerate(deltas)]
    )
    for ts, is_delta, index in order:
        if is_delta:
            d = deltas[index]
            single_events += single.on_l2_delta(
                ts, int(d["side"]), int(d["price"]), int(d["quantity"])
            )
        else:
            t = trades[index]
            single_events += single.on_trade(
                ts, int(t["aggressor_side"]), int(t["price"]), int(t["quantity"])
            )
    assert bulk_events == single_events
    assert bulk.snapshot() == single.snapshot()
    for order_id in (1, 2):
        filled = sum(
            e.quantity for e in bulk_events if e.kind == "FILLED" and e.order_id == order_id
        )
        open_order = bulk.open_order(order_id)
        assert filled + (open_order.leaves if open_order else 0) == 8
        if open_order is not None:
            assert open_order.queue_ahead >= 0
    assert all(e.liquidity == "MAKER" and e.fee_raw <= 0 for e in bulk_events if e.kind == "FILLED")


def test_stepping_stops_at_each_top_change_and_matches_one_bulk_replay(
    instrument: Instrument,
) -> None:
    """An order resting in the stream: stepping from change to change gives the same events and
    feed times as one bulk replay, and the node's book only ever holds deltas up to the one
    stepped to (or, while something is due first, the ones before)."""
    deltas, trades = l2_replay_from_l3(synthetic_l3_messages(20_000, seed=3))
    head, tail = 2_000, slice(2_000, None)

    def venue_with_order() -> SimulatedVenue:
        venue = SimulatedVenue(instrument, feed_latency=LatencyModel.constant(150_000))
        venue.replay_l2(deltas[:head], trades[trades["ts_event"] <= deltas["ts_event"][head - 1]])
        bid = venue.best_bid()
        assert bid is not None
        venue.submit_limit(int(deltas["ts_event"][head - 1]), 1, BUY, bid[0], 3)
        return venue

    rest_trades = trades[trades["ts_event"] > deltas["ts_event"][head - 1]]
    bulk = venue_with_order()
    expected = bulk.replay_l2(deltas[tail], rest_trades, return_feed_ts=True)
    assert expected.feed_ts is not None
    assert expected.trade_feed_ts is not None
    top = OrderBookL2(instrument).apply_deltas(deltas, return_top=True)
    columns = np.stack([top.bid_price, top.bid_quantity, top.ask_price, top.ask_quantity], 1)
    changes = np.flatnonzero(np.any(columns[head:] != columns[head - 1 : -1], axis=1))

    venue = venue_with_order()
    book = OrderBookL2(instrument)
    book.apply_deltas(deltas[:head])
    stepper = L2Stepper(venue, book, deltas[tail], rest_trades)
    events: list[OrderEvent] = []
    prints: list[tuple[int, int, int, int, int]] = []
    seen_at_changes = []
    ends = set()
    while True:
        end, seen, step_events, step_prints, pending = stepper.step(venue, book, True, 10**9)
        ends.add(end)
        events += step_events
        prints += step_prints
        # The venue never ran past the time of what the step hands back.
        assert venue.now is not None
        assert venue.now <= seen
        if pending:
            before = (book.best_bid(), book.best_ask())
            stepper.apply_pending(venue, book)
            assert (book.best_bid(), book.best_ask()) != before or end != "CHANGE"
        if end == "DONE":
            assert stepper.done
            break
        if end == "DUE":
            assert min(event.ts for event in step_events) == seen
            continue
        assert end == "CHANGE"
        seen_at_changes.append(seen)
        index = len(seen_at_changes) - 1
        assert tuple(int(v) for v in columns[head + changes[index]]) == (
            *(book.best_bid() or (0, 0)),
            *(book.best_ask() or (0, 0)),
        )
    assert stepper.done
    assert ends == {"CHANGE", "DUE", "DONE"}
    assert seen_at_changes == [int(expected.feed_ts[i]) for i in changes]
    assert events == expected.events
    assert any(event.kind == "FILLED" for event in events)
    assert [p[1] for p in prints] == expected.trade_feed_ts.tolist()
    assert [p[2] for p in prints] == rest_trades["price"].tolist()
    assert venue.snapshot() == bulk.snapshot()


def test_a_bad_chunk_is_refused_before_the_stepper_replays_anything(
    l2: SimulatedVenue, instrument: Instrument
) -> None:
    book = OrderBookL2(instrument)
    bad_price = l2_deltas(side=[BUY, BUY], price=[100, -1], quantity=[1, 1], ts_event=[5, 6])
    with pytest.raises(BookError, match=r"INVALID_PRICE: deltas\[1\]"):
        L2Stepper(l2, book, bad_price)
    stale = l2_deltas(side=[BUY], price=[100], quantity=[1], ts_event=[5], sequence=[3])
    book.apply_deltas(l2_deltas(side=[BUY], price=[99], quantity=[1], ts_event=[1], sequence=[7]))
    with pytest.raises(BookError, match="STALE_SEQUENCE"):
        L2Stepper(l2, book, stale)
    with pytest.raises(InvalidData, match="dtype"):
        L2Stepper(l2, book, np.zeros(3, dtype=TRADE_DTYPE))
    assert l2.now == 0
    assert l2.best_bid() == (100, 10)
