"""Kernel pieces of the node: clocks and timers, the message bus, the priority inbox."""

from __future__ import annotations

import asyncio

import pytest
from hftcore.errors import InvalidValue
from hftcore.node.bus import MessageBus, topic_matches
from hftcore.node.clock import LiveClock, SimulatedClock, TimeEvent
from hftcore.node.inbox import PriorityInbox


def test_simulated_clock_fires_timers_and_alerts_in_time_order() -> None:
    clock = SimulatedClock(start_ns=1_000)
    fired: list[tuple[str, int, int]] = []

    def record(event: TimeEvent) -> None:
        fired.append((event.name, event.ts_event, clock.timestamp_ns()))

    clock.set_timer("every-100", 100, record, stop_ns=1_350)
    clock.set_time_alert("alert", 1_250, record)
    assert clock.next_due_ns() == 1_100
    assert clock.advance_to(1_400) == 4
    assert fired == [
        ("every-100", 1_100, 1_100),
        ("every-100", 1_200, 1_200),
        ("alert", 1_250, 1_250),
        ("every-100", 1_300, 1_300),
    ]
    assert clock.timestamp_ns() == 1_400
    assert clock.timer_names() == []


def test_canceled_and_replaced_timers_do_not_fire() -> None:
    clock = SimulatedClock()
    fired: list[str] = []
    clock.set_timer("t", 10, lambda event: fired.append(f"old@{event.ts_event}"))
    clock.advance_to(15)
    clock.cancel_timer("t")
    clock.set_timer("t", 7, lambda event: fired.append(f"new@{event.ts_event}"))
    clock.advance_to(30)
    assert fired == ["old@10", "new@22", "new@29"]


def test_clock_bad_input() -> None:
    clock = SimulatedClock(start_ns=100)
    with pytest.raises(InvalidValue) as error:
        clock.advance_to(50)
    assert error.value.code == "TIME_WENT_BACKWARDS"
    with pytest.raises(InvalidValue):
        clock.set_timer("x", 0, lambda event: None)
    with pytest.raises(InvalidValue):
        clock.set_timer("x", 10, lambda event: None, start_ns=100, stop_ns=50)
    clock.set_time_alert("a", 200, lambda event: None)
    with pytest.raises(InvalidValue) as duplicate:
        clock.set_time_alert("a", 300, lambda event: None)
    assert duplicate.value.code == "DUPLICATE_TIMER"
    with pytest.raises(InvalidValue):
        clock.cancel_timer("nope")
    assert clock.timestamp_ns() == 100
    assert clock.timer_names() == ["a"]


def test_live_clock_fires_from_the_event_loop() -> None:
    async def scenario() -> list[str]:
        clock = LiveClock()
        fired: list[str] = []
        done = asyncio.Event()

        def tick(event: TimeEvent) -> None:
            fired.append(event.name)
            assert event.ts_init >= event.ts_event - 1_000_000
            if len(fired) == 3:
                clock.cancel_timer("tick")
                done.set()

        clock.set_timer("tick", 2_000_000, tick)
        await asyncio.wait_for(done.wait(), timeout=5)
        return fired

    assert asyncio.run(scenario()) == ["tick", "tick", "tick"]


@pytest.mark.parametrize(
    ("pattern", "topic", "expected"),
    [
        ("data.quotes.*.BINANCE", "data.quotes.BTCUSDT.BINANCE", True),
        ("data.quotes.*.BINANCE", "data.quotes.BTCUSDT.KRAKEN", False),
        ("events.order.>", "events.order.S1", True),
        ("events.order.>", "events.order.S1.extra", True),
        ("events.order.>", "events.order", False),
        ("events.*", "events.order.S1", False),
        ("a.b", "a.b", True),
    ],
)
def test_topic_patterns(pattern: str, topic: str, expected: bool) -> None:
    assert topic_matches(pattern, topic) is expected


def test_bus_dispatches_synchronously_by_priority_and_serves_requests() -> None:
    bus = MessageBus()
    calls: list[str] = []
    bus.subscribe("data.quotes.>", lambda message: calls.append(f"wide:{message}"))
    bus.subscribe("data.quotes.X.SIM", lambda message: calls.append(f"exact:{message}"))
    risk = bus.subscribe("data.quotes.*.SIM", lambda m: calls.append(f"risk:{m}"), priority=10)
    bus.publish("data.quotes.X.SIM", 1)
    assert calls == ["risk:1", "wide:1", "exact:1"]
    bus.unsubscribe(risk)
    bus.publish("data.quotes.X.SIM", 2)
    assert calls[3:] == ["wide:2", "exact:2"]
    bus.publish("data.trades.X.SIM", 3)
    assert len(calls) == 5
    bus.register_endpoint("exec.submit", lambda command: f"accepted {command}")
    assert bus.request("exec.submit", "o1") == "accepted o1"


@pytest.mark.parametrize(
    "bad",
    ["", "a..b", "a.>.b", "a.b*", 7],
)
def test_bus_refuses_bad_topics(bad: object) -> None:
    bus = MessageBus()
    with pytest.raises(InvalidValue):
        bus.subscribe(bad, lambda message: None)  # type: ignore[arg-type]


def test_bus_refuses_bad_publishes_and_requests() -> None:
    bus = MessageBus()
    with pytest.raises(InvalidValue):
        bus.publish("data.*", 1)
    with pytest.raises(InvalidValue):
        bus.request("nobody.home", 1)
    bus.register_endpoint("a.b", lambda message: message)
    with pytest.raises(InvalidValue):
        bus.register_endpoint("a.b", lambda message: message)
    with pytest.raises(InvalidValue):
        bus.subscribe("a.b", "not callable")  # type: ignore[arg-type]


def test_cancels_are_never_starved_by_a_data_flood() -> None:
    async def scenario() -> list[tuple[str, object]]:
        inbox = PriorityInbox(max_data_items=100_000)
        for index in range(50_000):
            inbox.put_data(index)
        taken = [await inbox.get() for _ in range(5)]
        # A cancel arriving behind 49,995 waiting data items is the very next thing taken.
        inbox.put_command("cancel-all")
        taken.append(await inbox.get())
        taken.append(await inbox.get())
        return taken

    taken = asyncio.run(scenario())
    assert taken[:5] == [("data", index) for index in range(5)]
    assert taken[5] == ("command", "cancel-all")
    assert taken[6] == ("data", 5)


def test_data_lane_is_bounded_and_counts_refusals() -> None:
    async def scenario() -> PriorityInbox:
        inbox = PriorityInbox(max_data_items=3)
        assert all(inbox.put_data(index) for index in range(3))
        assert inbox.put_data(3) is False
        inbox.put_command("cancel")
        return inbox

    inbox = asyncio.run(scenario())
    assert inbox.dropped_data == 1
    assert inbox.get_nowait() == ("command", "cancel")
    assert inbox.get_nowait() == ("data", 0)


def test_a_held_live_clock_reads_the_event_time_and_refuses_bad_holds() -> None:
    clock = LiveClock()
    past = clock.timestamp_ns() - 5_000_000_000
    with clock.held_at(past):
        assert clock.timestamp_ns() == past
        with pytest.raises(InvalidValue, match="CLOCK_HELD"), clock.held_at(past):
            pass
    assert clock.timestamp_ns() > past + 4_000_000_000
    future = clock.timestamp_ns() + 60_000_000_000
    with pytest.raises(InvalidValue, match="INVALID_TIMESTAMP"), clock.held_at(future):
        pass
    with pytest.raises(InvalidValue, match="INVALID_TIMESTAMP"), clock.held_at(True):  # type: ignore[arg-type]
        pass
