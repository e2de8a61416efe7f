"""MatchingEngine through Python: behaviour of each rule and bad input on every entry point."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hftcore import (
    Instrument,
    MatchingEngine,
    OrderType,
    PostOnly,
    SelfTradePrevention,
    TimeInForce,
    errors,
)
from hftcore.model import OrderType as ModelOrderType

BUY, SELL = 0, 1


def make_engine() -> MatchingEngine:
    engine = MatchingEngine()
    engine.add_instrument(
        Instrument(
            "BTCUSDT.SIM",
            "0.5",
            1,
            "0.001",
            3,
            min_quantity="0.002",
            max_quantity="100",
            min_notional="5",
            maker_fee="-0.0001",
            taker_fee="0.0002",
        )
    )
    return engine


def kinds(events: list[Any]) -> list[tuple[str, int]]:
    return [(event.kind, event.order_id) for event in events]


def test_a_trade_reports_taker_and_maker_fills_with_exact_fees() -> None:
    engine = make_engine()
    engine.submit(1, 10, 0, SELL, 200_000, 1_000, ts=1)  # 100000.0 x 1.000
    events = engine.submit(2, 20, 0, BUY, 200_001, 1_500, ts=2)
    assert kinds(events) == [("ACCEPTED", 2), ("FILLED", 2), ("FILLED", 1)]
    taker, maker = events[1], events[2]
    assert taker.trade_id == maker.trade_id == 1
    assert (taker.liquidity, maker.liquidity) == ("TAKER", "MAKER")
    assert (taker.price, taker.quantity, taker.leaves) == (200_000, 1_000, 500)
    assert taker.fee == Decimal("20.000000000000")
    assert maker.fee == Decimal("-10.000000000000")
    assert engine.best_bid(0) == (200_001, 500, 1)
    assert engine.best_ask(0) is None
    assert engine.last_price(0) == 200_000
    assert engine.position(20, 0) == 1_000
    assert engine.position(10, 0) == -1_000


def test_enums_are_the_core_codes() -> None:
    assert ModelOrderType is OrderType
    engine = make_engine()
    engine.submit(1, 1, 0, SELL, 200_000, 10, ts=1)
    events = engine.submit(
        2,
        2,
        0,
        BUY,
        0,
        20,
        ts=2,
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.IOC,
        self_trade_prevention=SelfTradePrevention.CANCEL_NEWEST,
    )
    assert [event.kind for event in events] == ["ACCEPTED", "FILLED", "FILLED", "CANCELED"]
    assert events[-1].reason == "NO_LIQUIDITY"
    engine.submit(3, 1, 0, SELL, 200_010, 10, ts=3)
    slid = engine.submit(4, 2, 0, BUY, 200_020, 10, ts=4, post_only=PostOnly.SLIDE)
    assert [(e.kind, e.price) for e in slid] == [("ACCEPTED", 0), ("REPLACED", 200_009)]
    view = engine.order(4)
    assert view is not None
    assert (view.price, view.post_only, view.order_type, view.state) == (
        200_009,
        PostOnly.SLIDE,
        OrderType.LIMIT,
        "RESTING",
    )


def test_iceberg_shows_only_its_slice() -> None:
    engine = make_engine()
    engine.submit(1, 1, 0, SELL, 200_000, 50, ts=1, display_quantity=10)
    engine.submit(2, 2, 0, SELL, 200_000, 5, ts=2)
    assert engine.levels(0, SELL) == [(200_000, 15, 2)]
    engine.submit(3, 3, 0, BUY, 200_000, 10, ts=3)
    assert engine.queue(0, SELL, 200_000) == [2, 1]
    assert engine.depth_at(0, SELL, 200_000) == 15


def test_stops_trigger_and_reduce_only_follows_the_position() -> None:
    engine = make_engine()
    engine.submit(1, 1, 0, SELL, 200_000, 10, ts=1)
    engine.submit(2, 2, 0, BUY, 200_000, 10, ts=2)
    stop = engine.submit(
        3,
        2,
        0,
        SELL,
        0,
        30,
        ts=3,
        order_type=OrderType.STOP,
        trigger_price=199_990,
        reduce_only=True,
    )
    assert [(e.kind, e.quantity) for e in stop] == [("ACCEPTED", 0), ("REPLACED", 10)]
    waiting = engine.order(3)
    assert waiting is not None
    assert waiting.state == "AWAITING_TRIGGER"
    engine.submit(4, 5, 0, BUY, 199_980, 10, ts=4)
    engine.submit(5, 6, 0, SELL, 199_990, 5, ts=5)
    triggered = engine.submit(6, 7, 0, BUY, 199_990, 5, ts=6)
    # The trade at 199990 triggers the stop, which sells its 10 into order 4's bid.
    assert kinds(triggered)[3:] == [("TRIGGERED", 3), ("FILLED", 3), ("FILLED", 4)]
    assert engine.order(3) is None
    assert engine.position(2, 0) == 0
    assert engine.position(5, 0) == 10
    assert engine.working_order_count == 0


def test_day_and_gtd_orders_expire() -> None:
    engine = make_engine()
    engine.submit(1, 1, 0, BUY, 100_000, 10, ts=1, time_in_force=TimeInForce.DAY)
    engine.submit(2, 1, 0, BUY, 100_001, 10, ts=1, time_in_force=TimeInForce.GTD, expire_ts=100)
    assert engine.advance_time(99) == []
    assert kinds(engine.advance_time(100)) == [("EXPIRED", 2)]
    assert kinds(engine.end_session(200)) == [("EXPIRED", 1)]


def test_pickle_and_copy_snapshot_the_whole_engine() -> None:
    engine = make_engine()
    engine.submit(1, 1, 0, BUY, 100_000, 10, ts=1)
    engine.submit(2, 2, 0, SELL, 100_004, 10, ts=1, display_quantity=4)
    for clone in (pickle.loads(pickle.dumps(engine)), copy.deepcopy(engine), copy.copy(engine)):
        assert clone.snapshot() == engine.snapshot()
        assert clone.instruments == engine.instruments
        assert kinds(clone.cancel(1, ts=2)) == [("CANCELED", 1)]
    assert engine.order(1) is not None


# ----- bad input: a specific exception, and the engine unchanged -----

Call = Callable[[MatchingEngine], object]

REJECTED_CALLS: list[tuple[str, Call, str]] = [
    ("duplicate id", lambda e: e.submit(1, 1, 0, BUY, 100_000, 10, ts=5), "DUPLICATE_ORDER_ID"),
    ("unknown instrument", lambda e: e.submit(9, 1, 7, BUY, 100, 10, ts=5), "UNKNOWN_INSTRUMENT"),
    ("negative price", lambda e: e.submit(9, 1, 0, BUY, -5, 10, ts=5), "INVALID_PRICE"),
    ("zero quantity", lambda e: e.submit(9, 1, 0, BUY, 100_000, 0, ts=5), "INVALID_QUANTITY"),
    ("negative quantity", lambda e: e.submit(9, 1, 0, BUY, 100_000, -3, ts=5), "INVALID_QUANTITY"),
    ("below min", lambda e: e.submit(9, 1, 0, BUY, 100_000, 1, ts=5), "QUANTITY_BELOW_MINIMUM"),
    (
        "above max",
        lambda e: e.submit(9, 1, 0, BUY, 100_000, 100_001, ts=5),
        "QUANTITY_ABOVE_MAXIMUM",
    ),
    ("min notional", lambda e: e.submit(9, 1, 0, BUY, 1, 10, ts=5), "NOTIONAL_BELOW_MINIMUM"),
    (
        "notional overflow",
        lambda e: e.submit(9, 1, 0, BUY, 2**62, 100_000, ts=5),
        "NOTIONAL_TOO_LARGE",
    ),
    (
        "market with GTC",
        lambda e: e.submit(9, 1, 0, BUY, 0, 10, ts=5, order_type=OrderType.MARKET),
        "INVALID_TIME_IN_FORCE",
    ),
    (
        "stop without trigger",
        lambda e: e.submit(9, 1, 0, BUY, 0, 10, ts=5, order_type=OrderType.STOP),
        "INVALID_TRIGGER_PRICE",
    ),
    (
        "display above quantity",
        lambda e: e.submit(9, 1, 0, BUY, 100_000, 10, ts=5, display_quantity=11),
        "INVALID_DISPLAY_QUANTITY",
    ),
    (
        "post-only crossing",
        lambda e: e.submit(9, 1, 0, BUY, 100_004, 10, ts=5, post_only=PostOnly.REJECT),
        "POST_ONLY_WOULD_CROSS",
    ),
    (
        "post-only IOC",
        lambda e: e.submit(
            9, 1, 0, BUY, 100_000, 10, ts=5, post_only=1, time_in_force=TimeInForce.IOC
        ),
        "POST_ONLY_NOT_ALLOWED",
    ),
    (
        "GTD in the past",
        lambda e: e.submit(9, 1, 0, BUY, 100_000, 10, ts=5, time_in_force=4, expire_ts=5),
        "INVALID_EXPIRY",
    ),
    (
        "reduce-only without position",
        lambda e: e.submit(9, 1, 0, BUY, 100_000, 10, ts=5, reduce_only=True),
        "REDUCE_ONLY_WOULD_INCREASE",
    ),
    ("cancel unknown id", lambda e: e.cancel(77, ts=5), "UNKNOWN_ORDER"),
    ("modify unknown id", lambda e: e.modify(77, 100_000, 10, ts=5), "UNKNOWN_ORDER"),
    ("modify negative price", lambda e: e.modify(1, -1, 10, ts=5), "INVALID_PRICE"),
    ("modify zero quantity", lambda e: e.modify(1, 100_000, 0, ts=5), "INVALID_QUANTITY"),
    (
        "modify above max",
        lambda e: e.modify(1, 100_000, 10**9, ts=5),
        "QUANTITY_ABOVE_MAXIMUM",
    ),
    ("cancel_all unknown instrument", lambda e: e.cancel_all(3, ts=5), "UNKNOWN_INSTRUMENT"),
]

INVALID_VALUE_CALLS: list[tuple[str, Call, str]] = [
    ("float price", lambda e: e.submit(9, 1, 0, BUY, 100.5, 10, ts=5), "NOT_AN_INTEGER"),
    ("NaN price", lambda e: e.submit(9, 1, 0, BUY, float("nan"), 10, ts=5), "NOT_AN_INTEGER"),
    ("Decimal lots", lambda e: e.submit(9, 1, 0, BUY, 100, Decimal(10), ts=5), "NOT_AN_INTEGER"),
    ("str ts", lambda e: e.submit(9, 1, 0, BUY, 100, 10, ts="5"), "NOT_AN_INTEGER"),
    ("bool owner", lambda e: e.submit(9, True, 0, BUY, 100, 10, ts=5), "NOT_AN_INTEGER"),
    ("negative id", lambda e: e.submit(-9, 1, 0, BUY, 100_000, 10, ts=5), "NEGATIVE"),
    ("id overflow", lambda e: e.submit(2**64, 1, 0, BUY, 100_000, 10, ts=5), "OVERFLOW"),
    ("price overflow", lambda e: e.submit(9, 1, 0, BUY, 2**63, 10, ts=5), "OVERFLOW"),
    ("owner overflow", lambda e: e.submit(9, 2**32, 0, BUY, 100_000, 10, ts=5), "OVERFLOW"),
    ("side code", lambda e: e.submit(9, 1, 0, 2, 100_000, 10, ts=5), "UNKNOWN_SIDE"),
    (
        "order type code",
        lambda e: e.submit(9, 1, 0, BUY, 100_000, 10, ts=5, order_type=9),
        "UNKNOWN_ORDER_TYPE",
    ),
    (
        "tif code",
        lambda e: e.submit(9, 1, 0, BUY, 100_000, 10, ts=5, time_in_force=5),
        "UNKNOWN_TIME_IN_FORCE",
    ),
    (
        "post-only code",
        lambda e: e.submit(9, 1, 0, BUY, 100_000, 10, ts=5, post_only=3),
        "UNKNOWN_POST_ONLY",
    ),
    (
        "stp code",
        lambda e: e.submit(9, 1, 0, BUY, 100_000, 10, ts=5, self_trade_prevention=-1),
        "NEGATIVE",
    ),
    ("modify float", lambda e: e.modify(1, 100_000.0, 10, ts=5), "NOT_AN_INTEGER"),
    ("cancel overflow", lambda e: e.cancel(2**70, ts=5), "OVERFLOW"),
    ("cancel_all side", lambda e: e.cancel_all(0, ts=5, side=7), "UNKNOWN_SIDE"),
    ("cancel_all owner", lambda e: e.cancel_all(0, ts=5, owner=-1), "NEGATIVE"),
    ("advance_time float", lambda e: e.advance_time(1.0), "NOT_AN_INTEGER"),
    ("end_session overflow", lambda e: e.end_session(2**63), "OVERFLOW"),
    ("best_bid instrument", lambda e: e.best_bid(1), "UNKNOWN_INSTRUMENT"),
    ("best_ask instrument", lambda e: e.best_ask(-1), "NEGATIVE"),
    ("levels depth", lambda e: e.levels(0, BUY, -1), "NEGATIVE"),
    ("levels side", lambda e: e.levels(0, 3), "UNKNOWN_SIDE"),
    ("depth_at price", lambda e: e.depth_at(0, BUY, 1.5), "NOT_AN_INTEGER"),
    ("queue instrument", lambda e: e.queue(4, BUY, 100), "UNKNOWN_INSTRUMENT"),
    ("order id", lambda e: e.order(-1), "NEGATIVE"),
    ("position instrument", lambda e: e.position(1, 9), "UNKNOWN_INSTRUMENT"),
    ("last_price instrument", lambda e: e.last_price(2**40), "OVERFLOW"),
]


def populated() -> MatchingEngine:
    engine = make_engine()
    engine.submit(1, 1, 0, BUY, 100_000, 10, ts=1)
    engine.submit(2, 2, 0, SELL, 100_004, 10, ts=2)
    return engine


@pytest.mark.parametrize(
    ("name", "call", "code"), REJECTED_CALLS, ids=[c[0] for c in REJECTED_CALLS]
)
def test_refused_requests_raise_order_rejected_and_change_nothing(
    name: str, call: Call, code: str
) -> None:
    engine = populated()
    before = engine.snapshot()
    with pytest.raises(errors.OrderRejected) as raised:
        call(engine)
    assert raised.value.code == code, name
    assert engine.snapshot() == before


@pytest.mark.parametrize(
    ("name", "call", "code"), INVALID_VALUE_CALLS, ids=[c[0] for c in INVALID_VALUE_CALLS]
)
def test_unusable_arguments_raise_invalid_value_and_change_nothing(
    name: str, call: Call, code: str
) -> None:
    engine = populated()
    before = engine.snapshot()
    with pytest.raises(errors.InvalidValue) as raised:
        call(engine)
    assert raised.value.code == code, name
    assert engine.snapshot() == before


def test_numpy_integers_are_accepted_as_ints() -> None:
    engine = make_engine()
    events = engine.submit(np.uint64(1), np.int32(1), 0, BUY, np.int64(100_000), 10, ts=np.int64(1))
    assert [event.kind for event in events] == ["ACCEPTED"]
    with pytest.raises(errors.InvalidValue) as raised:
        engine.submit(2, 1, 0, BUY, np.float64(100_000.0), 10, ts=1)
    assert raised.value.code == "NOT_AN_INTEGER"


def test_add_instrument_takes_only_instruments() -> None:
    engine = populated()
    before = engine.snapshot()
    with pytest.raises(TypeError):
        engine.add_instrument("BTCUSDT")  # type: ignore[arg-type]
    assert engine.snapshot() == before
    assert len(engine.instruments) == 1


def test_order_lookup_of_unknown_or_finished_ids_is_none() -> None:
    engine = populated()
    assert engine.order(12345) is None
    engine.cancel(1, ts=3)
    assert engine.order(1) is None


@pytest.mark.parametrize(
    "state",
    [
        b"garbage",
        ("not a list", b""),
        ([], b"HFTMATCH"),
    ],
)
def test_restoring_bad_state_raises_invalid_data_and_keeps_the_engine(state: object) -> None:
    engine = populated()
    before = engine.snapshot()
    with pytest.raises(errors.InvalidData) as raised:
        engine.__setstate__(state)  # type: ignore[arg-type]
    assert raised.value.code == "BAD_SNAPSHOT"
    assert engine.snapshot() == before


def test_restoring_with_mismatched_instruments_is_refused() -> None:
    engine = populated()
    other = Instrument("ETHUSDT.SIM", "0.01", 2, "0.01", 2)
    with pytest.raises(errors.InvalidData):
        MatchingEngine().__setstate__(([other], engine.snapshot()))
