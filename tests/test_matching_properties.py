"""Hypothesis tests of the MatchingEngine binding against the pure-Python reference."""

from __future__ import annotations

import pickle
from typing import Any

from hftcore import Instrument, MatchingEngine, OrderEvent, errors
from hypothesis import given, settings
from hypothesis import strategies as st
from matching_model import BUY, DECREMENT, FOK, GTC, IOC, LIMIT, MARKET, SELL, Event, Model

OWNERS = 3

Operation = tuple[Any, ...]


def instrument() -> Instrument:
    return Instrument(
        "TEST.SIM", "0.01", 2, "1", 0, max_quantity=40, maker_fee="-0.0001", taker_fee="0.0003"
    )


def model() -> Model:
    # 0.01 x 1 lot = 0.01 of quote = 10^10 money units; fee rates in parts per 1e9.
    return Model(
        min_quantity=1,
        max_quantity=40,
        notional_per_tick_lot=10**10,
        maker_rate=-100_000,
        taker_rate=300_000,
    )


def as_tuple(ev: OrderEvent) -> Event:
    return (
        ev.kind,
        ev.order_id,
        ev.trade_id,
        ev.side,
        ev.price,
        ev.quantity,
        ev.leaves,
        ev.liquidity,
        ev.fee_raw,
        ev.reason,
    )


submits = st.tuples(
    st.just("submit"),
    st.integers(0, OWNERS - 1),
    st.sampled_from([BUY, SELL]),
    st.sampled_from([LIMIT, LIMIT, LIMIT, MARKET]),
    st.sampled_from([GTC, GTC, IOC, FOK]),
    st.integers(97, 103),
    st.integers(-1, 12),
    st.sampled_from([0, 0, 0, 1, 2, 3]),
    st.integers(0, 4),
    st.sampled_from([0, 0, 0, 1, 2]),
)
picks = st.integers(0, 50)
others = st.one_of(
    st.tuples(st.just("cancel"), picks),
    st.tuples(st.just("modify"), picks, st.integers(96, 104), st.integers(-1, 14)),
    st.tuples(
        st.just("cancel_all"),
        st.one_of(st.none(), st.sampled_from([BUY, SELL])),
        st.one_of(st.none(), st.integers(0, OWNERS - 1)),
    ),
)
# Seven submits in ten operations keep the book busy enough to trade.
operations = st.lists(
    st.tuples(st.integers(0, 9), submits, others).map(lambda t: t[1] if t[0] < 7 else t[2]),
    min_size=8,
    max_size=60,
)


def pick(reference: Model, index: int) -> int:
    if not reference.orders:
        return 999_999
    return reference.orders[index % len(reference.orders)].order_id


def run(engine: MatchingEngine, call: str, *args: Any) -> list[Event] | tuple[str, str]:
    """Calls the engine; a rejection must raise OrderRejected and change nothing."""
    before = engine.snapshot()
    try:
        events = getattr(engine, call)(*args)
    except errors.OrderRejected as rejected:
        assert engine.snapshot() == before
        return ("REJECTED", rejected.code)
    return [as_tuple(ev) for ev in events]


def check_books(engine: MatchingEngine, reference: Model) -> None:
    for side in (BUY, SELL):
        levels = engine.levels(0, side)
        assert levels == reference.levels(side)
        for price, _, _ in levels:
            assert engine.queue(0, side, price) == [
                order.order_id for order in reference.queue(side, price)
            ]
    bid, ask = engine.best_bid(0), engine.best_ask(0)
    if bid is not None and ask is not None:
        assert bid[0] < ask[0]
    for owner in range(OWNERS):
        assert engine.position(owner, 0) == reference.positions.get(owner, 0)
    assert engine.working_order_count == len(reference.orders)
    for order in reference.orders:
        view = engine.order(order.order_id)
        assert view is not None
        assert (view.price, view.quantity, view.leaves, view.visible) == (
            order.price,
            order.quantity,
            order.leaves,
            order.visible,
        )


def run_against_the_reference(
    ops: list[Operation],
) -> tuple[MatchingEngine, list[list[Event] | tuple[str, str]]]:
    """Applies ``ops`` to an engine and to the reference, checking they agree after each one;
    returns the engine and each operation's events."""
    results: list[list[Event] | tuple[str, str]] = []
    engine = MatchingEngine()
    engine.add_instrument(instrument())
    reference = model()
    next_id = 0
    for ts, op in enumerate(ops, start=1):
        if op[0] == "submit":
            _, owner, side, order_type, tif, price, quantity, display, stp, post_only = op
            if order_type == MARKET:
                price, tif, display, post_only = 0, (IOC if tif in (GTC, IOC) else FOK), 0, 0
            next_id += 1
            got = run(
                engine,
                "submit",
                next_id,
                owner,
                0,
                side,
                price,
                quantity,
                ts,
                order_type,
                tif,
                0,
                display,
                post_only,
                False,
                stp,
            )
            want = reference.submit(
                next_id,
                owner=owner,
                side=side,
                order_type=order_type,
                tif=tif,
                price=price,
                quantity=quantity,
                display=display,
                stp=stp,
                post_only=post_only,
            )
        elif op[0] == "cancel":
            order_id = pick(reference, op[1])
            got = run(engine, "cancel", order_id, ts)
            want = reference.cancel(order_id)
        elif op[0] == "modify":
            order_id = pick(reference, op[1])
            got = run(engine, "modify", order_id, op[2], op[3], ts)
            want = reference.modify(order_id, op[2], op[3])
        else:
            got = run(engine, "cancel_all", 0, ts, op[1], op[2])
            want = reference.cancel_all(op[1], op[2])
        assert got == want, op
        check_books(engine, reference)
        results.append(got)
    return engine, results


@settings(max_examples=150, deadline=None)
@given(operations)
def test_engine_agrees_with_the_python_reference(ops: list[Operation]) -> None:
    run_against_the_reference(ops)


def test_decrementing_fill_or_kill_that_meets_an_own_order_is_killed() -> None:
    """The sequence hypothesis found: lots removed by a self-trade decrement are not executed,
    so the fill-or-kill buy of 6 (owner 1) that would first meet its owner's 5-lot ask can
    trade only 1 lot with owner 0, and is killed without touching either ask."""
    rejected_zero_quantity = ("submit", 0, BUY, LIMIT, GTC, 97, 0, 0, 0, 0)
    ops: list[Operation] = [
        *[rejected_zero_quantity] * 19,
        ("submit", 1, SELL, LIMIT, GTC, 97, 5, 0, 0, 0),
        ("submit", 0, SELL, LIMIT, GTC, 97, 1, 0, 0, 0),
        ("submit", 1, BUY, LIMIT, FOK, 97, 6, 0, DECREMENT, 0),
    ]
    engine, results = run_against_the_reference(ops)
    assert results[:19] == [("REJECTED", "INVALID_QUANTITY")] * 19
    assert results[-1] == [
        ("ACCEPTED", 22, 0, 0, 0, 0, 0, "", 0, ""),
        ("CANCELED", 22, 0, 0, 0, 0, 6, "", 0, "FILL_OR_KILL"),
    ]
    assert engine.queue(0, SELL, 97) == [20, 21]
    assert engine.levels(0, SELL) == [(97, 6, 2)]
    assert engine.levels(0, BUY) == []


@settings(max_examples=40, deadline=None)
@given(operations)
def test_pickled_engines_continue_identically(ops: list[Operation]) -> None:
    engine = MatchingEngine()
    engine.add_instrument(instrument())
    for order_id, op in enumerate(ops, start=1):
        if op[0] != "submit" or op[3] == MARKET:
            continue
        _, owner, side, _, tif, price, quantity, _, _, _ = op
        try:
            engine.submit(order_id, owner, 0, side, price, quantity, order_id, LIMIT, tif, 0, 0)
        except errors.OrderRejected:
            continue
    copy = pickle.loads(pickle.dumps(engine))
    assert copy.snapshot() == engine.snapshot()
    assert copy.levels(0, BUY) == engine.levels(0, BUY)
    for side in (BUY, SELL):
        a = engine.submit(10_000 + side, 9, 0, side, 0, 25, 999, MARKET, IOC)
        b = copy.submit(10_000 + side, 9, 0, side, 0, 25, 999, MARKET, IOC)
        assert [as_tuple(ev) for ev in a] == [as_tuple(ev) for ev in b]
