"""Throttling (token bucket per venue, queue and never drop) and batching of venue calls."""

from __future__ import annotations

from typing import Any

import pytest
from hftcore.errors import InvalidValue
from hftcore.model.events import (
    CancelAllOrders,
    CancelOrder,
    Command,
    ModifyOrder,
    SubmitOrder,
)
from hftcore.oms import BatchLimits, Throttler, VenueCall, batch_commands, venue_of
from hypothesis import given, settings
from hypothesis import strategies as st
from oms_helpers import INSTRUMENT, STRATEGY, spec, submit


def cancel(client_order_id: str, instrument_id: str = INSTRUMENT) -> CancelOrder:
    return CancelOrder(STRATEGY, instrument_id, client_order_id, 0)


def modify(client_order_id: str, instrument_id: str = INSTRUMENT) -> ModifyOrder:
    return ModifyOrder(STRATEGY, instrument_id, client_order_id, 5, None, None, 0)


def ids(commands: list[Command] | tuple[Command, ...]) -> list[str]:
    return [c.client_order_id if not isinstance(c, CancelAllOrders) else "ALL" for c in commands]


def drain_all(throttler: Throttler) -> list[Command]:
    released: list[Command] = []
    while throttler.queue_length:
        due = throttler.next_release_ts()
        assert due is not None
        out = throttler.drain(due)
        assert out, "the bucket must allow a command when next_release_ts says so"
        released += out
    return released


# -- throttling -------------------------------------------------------------------------------


def test_burst_then_steady_rate() -> None:
    throttler = Throttler(2, 1_000)  # 2 per microsecond, burst 2
    released = []
    for n in range(5):
        released += throttler.offer(submit(f"C{n}"), 0)
    assert ids(released) == ["C0", "C1"]
    assert throttler.queue_length == 3
    assert throttler.next_release_ts() == 500
    assert throttler.drain(499) == []
    assert ids(throttler.drain(500)) == ["C2"]
    assert ids(throttler.drain(1_500)) == ["C3", "C4"]
    assert throttler.queue_length == 0
    assert throttler.next_release_ts() is None
    assert throttler.available == 0
    # Idle time refills up to the burst only.
    assert throttler.drain(100_000) == []
    assert throttler.available == 2


def test_burst_larger_than_the_rate() -> None:
    throttler = Throttler(1, 1_000, burst=3)
    out = [throttler.offer(submit(f"C{n}"), 0) for n in range(4)]
    assert [len(o) for o in out] == [1, 1, 1, 0]
    assert throttler.next_release_ts() == 1_000
    assert ids(throttler.offer(submit("C4"), 2_000)) == ["C3", "C4"]


def test_cancels_go_first_but_never_ahead_of_what_they_target() -> None:
    throttler = Throttler(1, 1_000, burst=1)
    throttler.offer(submit("A"), 0)  # leaves at once, empties the bucket
    for name in ("B", "C", "D"):
        throttler.offer(submit(name), 0)
    throttler.offer(cancel("X"), 0)  # targets nothing queued: first
    throttler.offer(cancel("C"), 0)  # must follow C's submit
    throttler.offer(modify("B"), 0)
    throttler.offer(cancel("Y"), 0)  # after the earlier cancels
    throttler.offer(CancelAllOrders(STRATEGY, "Z.SIM", None, 0), 0)  # nothing of Z queued
    assert ids(throttler.queued) == ["X", "B", "C", "C", "Y", "ALL", "D", "B"]
    throttler.offer(CancelAllOrders(STRATEGY, INSTRUMENT, None, 0), 0)
    assert ids(throttler.queued)[-1] == "ALL"  # behind the modify of B on the instrument
    released = drain_all(throttler)
    assert ids(released) == ["X", "B", "C", "C", "Y", "ALL", "D", "B", "ALL"]


def test_without_priority_everything_is_fifo() -> None:
    throttler = Throttler(1, 1_000, burst=1, prioritize_cancels=False)
    offered: list[Command] = [submit("A"), submit("B"), cancel("Z"), submit("C")]
    released: list[Command] = []
    for command in offered:
        released += throttler.offer(command, 0)
    released += drain_all(throttler)
    assert released == offered


def test_withdraw_removes_an_orders_queued_commands() -> None:
    throttler = Throttler(1, 1_000, burst=1)
    throttler.offer(submit("A"), 0)
    throttler.offer(submit("B"), 0)
    throttler.offer(modify("B"), 0)
    throttler.offer(submit("C"), 0)
    withdrawn = throttler.withdraw("B")
    assert ids(withdrawn) == ["B", "B"]
    assert ids(throttler.queued) == ["C"]
    assert throttler.withdraw("nothing") == []


def test_bad_input_is_refused_and_changes_nothing() -> None:
    throttler = Throttler(2, 1_000)
    throttler.offer(submit("A"), 100)
    before = (throttler.queued, throttler.available, throttler.next_release_ts())
    for call, code in [
        (lambda: throttler.offer(submit("B"), 50), "TIME_WENT_BACKWARDS"),
        (lambda: throttler.drain(-1), "INVALID_TIMESTAMP"),
        (lambda: throttler.offer("submit", 200), "INVALID_COMMAND"),
        (lambda: Throttler(0, 1_000), "INVALID_RATE_LIMIT"),
        (lambda: Throttler(1, 0), "INVALID_RATE_LIMIT"),
        (lambda: Throttler(1, 10, burst=0), "INVALID_RATE_LIMIT"),
    ]:
        with pytest.raises(InvalidValue) as error:
            call()
        assert error.value.code == code
    assert (throttler.queued, throttler.available, throttler.next_release_ts()) == before


@st.composite
def bursts(draw: st.DrawFn) -> tuple[int, int, int, list[tuple[int, Command]]]:
    limit = draw(st.integers(1, 5))
    interval = draw(st.integers(1, 1_000))
    burst = draw(st.integers(1, 8))
    steps = draw(
        st.lists(st.tuples(st.integers(0, 700), st.integers(0, 12)), min_size=1, max_size=30)
    )
    offers: list[tuple[int, Command]] = []
    ts = 0
    n = 0
    for gap, count in steps:
        ts += gap
        for _ in range(count):
            offers.append((ts, submit(f"C{n}")))
            n += 1
    return limit, interval, burst, offers


@settings(max_examples=200, deadline=None)
@given(bursts())
def test_throttler_never_drops_keeps_order_and_respects_the_rate(
    case: tuple[int, int, int, list[tuple[int, Command]]],
) -> None:
    limit, interval, burst, offers = case
    throttler = Throttler(limit, interval, burst=burst, prioritize_cancels=False)
    released: list[tuple[int, Command]] = []
    for ts, command in offers:
        released += [(ts, c) for c in throttler.offer(command, ts)]
        assert len(released) + throttler.queue_length == offers.index((ts, command)) + 1
        # Never more than the burst plus what the elapsed time allows.
        elapsed = ts - offers[0][0]
        assert len(released) <= burst + elapsed * limit // interval
    while throttler.queue_length:
        due = throttler.next_release_ts()
        assert due is not None
        out = throttler.drain(due)
        assert out, "the bucket must allow a command when next_release_ts says so"
        released += [(due, c) for c in out]
    assert [c for _, c in released] == [c for _, c in offers]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(["submit", "modify", "cancel", "cancel_all"]), max_size=40), st.data()
)
def test_priority_cancels_never_overtake_their_targets(
    kinds: list[str], data: st.DataObject
) -> None:
    throttler = Throttler(1, 100, burst=1)
    offered: list[Command] = []
    for kind in kinds:
        name = f"C{data.draw(st.integers(0, 5))}"
        instrument = data.draw(st.sampled_from([INSTRUMENT, "Y.SIM"]))
        command: Command
        if kind == "submit":
            command = submit(name, spec(instrument_id=instrument))
        elif kind == "modify":
            command = modify(name, instrument)
        elif kind == "cancel":
            command = cancel(name, instrument)
        else:
            command = CancelAllOrders(STRATEGY, instrument, None, 0)
        offered.append(command)
    released: list[Command] = []
    for command in offered:
        released += throttler.offer(command, 0)
    released += drain_all(throttler)
    assert sorted(map(id, released)) == sorted(map(id, offered))
    position = {id(c): i for i, c in enumerate(released)}
    non_cancels = [c for c in offered if not isinstance(c, (CancelOrder, CancelAllOrders))]
    assert [c for c in released if not isinstance(c, (CancelOrder, CancelAllOrders))] == non_cancels
    for later_index, later in enumerate(offered):
        if not isinstance(later, (CancelOrder, CancelAllOrders)):
            continue
        for earlier in offered[:later_index]:
            if isinstance(earlier, (CancelOrder, CancelAllOrders)):
                concerned = True
            elif isinstance(later, CancelOrder):
                concerned = earlier.client_order_id == later.client_order_id
            else:
                instrument = (
                    earlier.order.instrument_id
                    if isinstance(earlier, SubmitOrder)
                    else earlier.instrument_id
                )
                concerned = instrument == later.instrument_id
            if concerned:
                assert position[id(earlier)] < position[id(later)]


# -- batching ---------------------------------------------------------------------------------


def sizes(calls: list[VenueCall]) -> list[tuple[str, str, int]]:
    return [(call.venue, type(call.commands[0]).__name__, len(call.commands)) for call in calls]


def test_batches_are_cut_at_the_venue_limit() -> None:
    commands: list[Command] = [submit(f"C{n}") for n in range(7)]
    calls = batch_commands(commands, {"SIM": BatchLimits(max_submits=3)})
    assert sizes(calls) == [
        ("SIM", "SubmitOrder", 3),
        ("SIM", "SubmitOrder", 3),
        ("SIM", "SubmitOrder", 1),
    ]
    assert [c for call in calls for c in call.commands] == commands
    assert calls[0].is_batch
    assert not calls[2].is_batch


def test_venue_without_batches_gets_one_call_per_command() -> None:
    commands: list[Command] = [submit("A"), submit("B"), cancel("A")]
    assert sizes(batch_commands(commands)) == [
        ("SIM", "SubmitOrder", 1),
        ("SIM", "SubmitOrder", 1),
        ("SIM", "CancelOrder", 1),
    ]


def test_kinds_and_venues_split_calls_without_reordering_a_venue() -> None:
    limits = {"SIM": BatchLimits(max_submits=5, max_cancels=2), "BIN": BatchLimits(max_submits=5)}
    commands: list[Command] = [
        submit("A"),
        submit("B", spec(instrument_id="BTC.BIN")),
        submit("C"),
        cancel("X"),
        cancel("Y"),
        cancel("Z"),
        modify("A"),
        submit("D", spec(instrument_id="ETH.BIN")),
        submit("E"),
        CancelAllOrders(STRATEGY, INSTRUMENT, None, 0),
        CancelAllOrders(STRATEGY, INSTRUMENT, None, 0),
    ]
    calls = batch_commands(commands, limits)
    assert [(call.venue, ids(call.commands)) for call in calls] == [
        ("SIM", ["A", "C"]),
        ("BIN", ["B", "D"]),
        ("SIM", ["X", "Y"]),
        ("SIM", ["Z"]),
        ("SIM", ["A"]),
        ("SIM", ["E"]),
        ("SIM", ["ALL"]),
        ("SIM", ["ALL"]),
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["submit", "cancel", "modify"]), st.sampled_from(["A.SIM", "B.BIN"])
        ),
        max_size=40,
    ),
    st.integers(1, 6),
    st.integers(1, 6),
)
def test_batching_preserves_each_venues_order_and_limits(
    spec_list: list[tuple[str, str]], max_submits: int, max_cancels: int
) -> None:
    commands: list[Command] = []
    for n, (kind, instrument) in enumerate(spec_list):
        name = f"C{n}"
        if kind == "submit":
            commands.append(submit(name, spec(instrument_id=instrument)))
        elif kind == "cancel":
            commands.append(cancel(name, instrument))
        else:
            commands.append(modify(name, instrument))
    limits = {"SIM": BatchLimits(max_submits, max_cancels)}
    calls = batch_commands(commands, limits)
    for venue in ("SIM", "BIN"):
        expected = [c for c in commands if venue_of(_instrument(c)) == venue]
        assert [c for call in calls if call.venue == venue for c in call.commands] == expected
    for call in calls:
        kinds = {type(c) for c in call.commands}
        assert len(kinds) == 1
        kind = kinds.pop()
        cap = 1
        if call.venue == "SIM":
            cap = {SubmitOrder: max_submits, CancelOrder: max_cancels}.get(kind, 1)
        assert len(call.commands) <= cap
    first_index = [commands.index(call.commands[0]) for call in calls]
    assert first_index == sorted(first_index)


def _instrument(command: Any) -> str:
    return (
        command.order.instrument_id if isinstance(command, SubmitOrder) else command.instrument_id
    )


def test_batching_bad_input() -> None:
    for call, code in [
        (lambda: venue_of("NOVENUE"), "INVALID_INSTRUMENT_ID"),
        (lambda: venue_of(".SIM"), "INVALID_INSTRUMENT_ID"),
        (lambda: BatchLimits(max_submits=0), "INVALID_BATCH_SIZE"),
        (lambda: batch_commands([submit("A")], {"SIM": 3}), "INVALID_BATCH_SIZE"),
        (lambda: batch_commands(["submit"]), "INVALID_COMMAND"),
        (lambda: batch_commands([submit("A", spec(instrument_id="BAD"))]), "INVALID_INSTRUMENT_ID"),
    ]:
        with pytest.raises(InvalidValue) as error:
            call()
        assert error.value.code == code
    assert venue_of("BTC.USDT.BINANCE") == "BINANCE"
