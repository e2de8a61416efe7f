"""The compiled L2/L3 books against pure-Python references, bulk replay, snapshots and bad
input."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from hftcore import (
    L2_DELTA_DTYPE,
    BookAction,
    Instrument,
    OrderBookL2,
    OrderBookL3,
    Side,
    l2_deltas,
    l2_deltas_from_l3,
    l3_messages,
    synthetic_l3_messages,
)
from hftcore.errors import BookError, HftcoreError, InvalidData, InvalidValue
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.reference_books import ReferenceL2, ReferenceL3

INSTRUMENT = Instrument("TEST.SIM", "0.01", 2, "1", 0)

deltas = st.lists(
    st.tuples(st.integers(0, 1), st.integers(-2, 30), st.integers(-2, 40)), max_size=200
)


@settings(max_examples=200, deadline=None)
@given(deltas)
def test_l2_book_matches_reference(operations: list[tuple[int, int, int]]) -> None:
    book = OrderBookL2(INSTRUMENT)
    reference = ReferenceL2()
    for side, price, quantity in operations:
        expected = reference.apply(side, price, quantity)
        try:
            book.apply_delta(side, price, quantity)
            applied = True
        except BookError:
            applied = False
        assert applied == expected
    for side in (0, 1):
        assert book.levels(side) == reference.levels(side)
    bids, asks = reference.levels(0), reference.levels(1)
    assert book.best_bid() == (bids[0] if bids else None)
    assert book.best_ask() == (asks[0] if asks else None)
    if bids and asks:
        assert book.spread() == asks[0][0] - bids[0][0]
        assert book.mid() == (asks[0][0] + bids[0][0]) / 2
        expected_crossing = (
            "CROSSED"
            if bids[0][0] > asks[0][0]
            else "LOCKED"
            if bids[0][0] == asks[0][0]
            else "NORMAL"
        )
        assert book.crossing() == expected_crossing


l3_operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"),
            st.integers(0, 25),
            st.integers(0, 2),
            st.integers(-1, 10),
            st.integers(-1, 15),
        ),
        st.tuples(st.just("cancel"), st.integers(0, 25)),
        st.tuples(st.just("reduce"), st.integers(0, 25), st.integers(-1, 15)),
        st.tuples(st.just("replace"), st.integers(0, 25), st.integers(-1, 10), st.integers(-1, 15)),
    ),
    max_size=200,
)


@settings(max_examples=200, deadline=None)
@given(l3_operations)
def test_l3_book_matches_reference(operations: list[tuple[object, ...]]) -> None:
    book = OrderBookL3(INSTRUMENT)
    reference = ReferenceL3()
    for operation in operations:
        name, *args = operation
        expected = getattr(reference, str(name))(*args)
        before = copy.copy(book)
        try:
            getattr(book, str(name))(*args)
            applied = True
        except (BookError, InvalidValue):
            applied = False
            assert book == before, "a refused operation changed the book"
        assert applied == expected, operation
    for side in (0, 1):
        assert book.levels(side) == reference.levels(side)
    for order_id, *_ in reference.orders:
        assert book.queue_ahead(order_id) == reference.queue_ahead(order_id)
    assert len(book) == len(reference.orders)


def test_l3_queue_position_and_l2_view() -> None:
    book = OrderBookL3(INSTRUMENT)
    book.add(1, Side.BUY, 10_000, 5)
    book.add(2, Side.BUY, 10_000, 7)
    book.add(3, Side.SELL, 10_010, 4)
    assert book.queue_ahead(2) == 5
    assert book.order(2) == (2, 0, 10_000, 7, 1)
    book.reduce(1, 2)
    assert book.queue_ahead(2) == 3
    book.replace(1, 10_000, 10)
    assert [order[0] for order in book.queue(Side.BUY, 10_000)] == [2, 1]
    assert book.execute(2, 7) == 0
    assert 2 not in book
    l2 = book.to_l2()
    assert l2.best_bid() == (10_000, 10)
    assert l2.best_ask() == (10_010, 4)


def test_features_on_a_known_book(instrument: Instrument) -> None:
    book = OrderBookL2(instrument)
    book.apply_snapshot([(100, 30), (99, 10)], [(102, 10), (103, 5), (105, 20)], sequence=7)
    assert book.microprice() == pytest.approx(101.5)
    assert book.imbalance(1) == pytest.approx(0.5)
    filled, average, levels_used, worst = book.walk(Side.BUY, 12)
    assert (filled, levels_used, worst) == (12, 2, 103)
    assert average == pytest.approx((102 * 10 + 103 * 2) / 12)
    prices, quantities = book.depth(Side.SELL, 4)
    assert prices.tolist() == [102, 103, 105, 0]
    assert quantities.tolist() == [10, 5, 20, 0]
    book.apply_delta_sequenced(8, Side.BUY, 101, 1)
    assert book.last_sequence() == 8
    with pytest.raises(BookError) as gap:
        book.apply_delta_sequenced(10, Side.BUY, 101, 2)
    assert gap.value.code == "SEQUENCE_GAP"
    assert book.quantity_at(Side.BUY, 101) == 1


def test_bulk_replay_equals_one_by_one_and_reports_top_after_each_event() -> None:
    messages = synthetic_l3_messages(20_000, seed=3)
    deltas = l2_deltas_from_l3(messages)
    bulk = OrderBookL2(INSTRUMENT)
    result = bulk.apply_deltas(deltas, return_top=True)
    assert result.applied == len(deltas)
    assert result.rejected == 0
    single = OrderBookL2(INSTRUMENT)
    assert result.bid_price is not None
    assert result.ask_quantity is not None
    for index, record in enumerate(deltas[:2000]):
        single.apply_delta(int(record["side"]), int(record["price"]), int(record["quantity"]))
        bid, _bid_quantity, _ask, ask_quantity = single.top()
        assert result.bid_price[index] == bid
        assert result.ask_quantity[index] == ask_quantity
    l3 = OrderBookL3(INSTRUMENT)
    l3_result = l3.apply_messages(messages, return_top=True)
    assert l3_result.applied == len(messages)
    assert l3.to_l2() == bulk
    assert l3_result.bid_price is not None
    assert result.bid_price is not None
    assert np.array_equal(l3_result.bid_price, result.bid_price)


def test_snapshots_round_trip_through_pickle_and_copy() -> None:
    messages = synthetic_l3_messages(5_000, seed=11)
    l3 = OrderBookL3(INSTRUMENT)
    l3.apply_messages(messages)
    restored = pickle.loads(pickle.dumps(l3))
    assert restored == l3
    assert restored.instrument == INSTRUMENT
    some_order = next(iter(l3.queue(Side.BUY, l3.best_bid()[0])))  # type: ignore[index]
    assert restored.queue_ahead(some_order[0]) == l3.queue_ahead(some_order[0])
    l2 = l3.to_l2()
    for clone in (pickle.loads(pickle.dumps(l2)), copy.copy(l2), copy.deepcopy(l2)):
        assert clone == l2
    clone = copy.deepcopy(l2)
    clone.clear()
    assert clone != l2
    assert l2.level_counts() != (0, 0)


# --- bad input: a specific exception, and the book unchanged ----------------------------------


def test_bad_scalar_input_is_refused_and_changes_nothing() -> None:
    l2 = OrderBookL2(INSTRUMENT)
    l2.apply_delta(0, 100, 5)
    l2_before = copy.copy(l2)
    for call, code in [
        (lambda: l2.apply_delta(0, -1, 5), "INVALID_PRICE"),
        (lambda: l2.apply_delta(0, 100, -5), "INVALID_QUANTITY"),
        (lambda: l2.apply_delta(2, 100, 5), "UNKNOWN_SIDE"),
        (lambda: l2.apply_snapshot([(100, 1), (100, 2)], []), "DUPLICATE_LEVEL"),
        (lambda: l2.walk(0, 0), "INVALID_QUANTITY"),
    ]:
        with pytest.raises(HftcoreError) as error:
            call()
        assert error.value.code == code
        assert l2 == l2_before
    with pytest.raises(OverflowError):
        l2.apply_delta(0, 2**63, 1)
    with pytest.raises(TypeError):
        l2.apply_delta(0, 100.5, 1)  # type: ignore[arg-type]
    assert l2 == l2_before

    l3 = OrderBookL3(INSTRUMENT)
    l3.add(1, 0, 100, 5)
    l3_before = copy.copy(l3)
    for call, code in [
        (lambda: l3.add(1, 0, 100, 5), "DUPLICATE_ORDER_ID"),
        (lambda: l3.add(2, 0, 0, 5), "INVALID_PRICE"),
        (lambda: l3.add(2, 0, 100, 0), "INVALID_QUANTITY"),
        (lambda: l3.cancel(99), "UNKNOWN_ORDER"),
        (lambda: l3.execute(1, 6), "QUANTITY_EXCEEDS_ORDER"),
        (lambda: l3.reduce(1, -1), "INVALID_QUANTITY"),
        (lambda: l3.replace(99, 100, 1), "UNKNOWN_ORDER"),
        (lambda: l3.queue_ahead(99), "UNKNOWN_ORDER"),
    ]:
        with pytest.raises(BookError) as book_error:
            call()
        assert book_error.value.code == code
        assert l3 == l3_before
    with pytest.raises(OverflowError):
        l3.add(-1, 0, 100, 5)
    assert l3 == l3_before


def test_bad_bulk_input_is_refused_and_changes_nothing() -> None:
    book = OrderBookL2(INSTRUMENT)
    book.apply_delta(0, 100, 5)
    before = copy.copy(book)
    good = l2_deltas([0, 1], [101, 103], [1, 2], sequence=[1, 2])
    with pytest.raises(InvalidData):
        book.apply_deltas(np.zeros(3, dtype=np.int64))
    with pytest.raises(InvalidData):
        book.apply_deltas(np.zeros((2, 2), dtype=L2_DELTA_DTYPE))
    with pytest.raises(InvalidData):
        book.apply_deltas(np.zeros(4, dtype=L2_DELTA_DTYPE)[::2])
    with pytest.raises(InvalidData):
        book.apply_deltas([1, 2, 3])
    with pytest.raises(InvalidValue):
        book.apply_deltas(good, on_error="ignore")  # type: ignore[arg-type]
    bad_side = good.copy()
    bad_side["side"][1] = 9
    with pytest.raises(BookError) as error:
        book.apply_deltas(bad_side)
    assert "record 1" in str(error.value)
    gap = good.copy()
    gap["sequence"][1] = 5
    with pytest.raises(BookError) as gap_error:
        book.apply_deltas(gap)
    assert gap_error.value.code == "SEQUENCE_GAP"
    assert book == before

    skipped = book.apply_deltas(bad_side, on_error="skip")
    assert (skipped.applied, skipped.rejected, skipped.first_error_index) == (1, 1, 1)
    assert skipped.first_error == "UNKNOWN_ACTION"

    l3 = OrderBookL3(INSTRUMENT)
    l3.add(1, 0, 100, 5)
    l3_before = copy.copy(l3)
    messages = l3_messages(
        [BookAction.ADD, BookAction.EXECUTE, BookAction.CANCEL],
        [2, 2, 77],
        [0, 0, 0],
        [100, 100, 0],
        [3, 1, 0],
    )
    with pytest.raises(BookError) as unknown:
        l3.apply_messages(messages)
    assert unknown.value.code == "UNKNOWN_ORDER"
    assert l3 == l3_before, "a refused batch must leave the L3 book as it was"
    result = l3.apply_messages(messages, on_error="skip")
    assert (result.applied, result.rejected) == (2, 1)
    assert l3.best_bid() == (100, 7)


def test_record_builders_validate_columns() -> None:
    with pytest.raises(InvalidData):
        l2_deltas([0, 1], [100], [1, 2])
    with pytest.raises(InvalidData):
        l2_deltas([0], [100.5], [1])  # type: ignore[list-item]
    with pytest.raises(InvalidData):
        l2_deltas([300], [100], [1])
    with pytest.raises(InvalidValue):
        synthetic_l3_messages(10, cancel_rate=-1.0)
    with pytest.raises(BookError):
        l2_deltas_from_l3(l3_messages([BookAction.CANCEL], [5], [0], [0], [0]))
