"""The kill switch over OCO / OTO / bracket lists, on a node trading on a matching-engine venue
(native stops and reduce-only, as bracket exits need) with an event store.

The test plays the rest of the market in the engine. A :class:`Wire` between the venue and the
node can hold the venue's answers in transit, so a fill the engine made before our cancel
reached it arrives at the node after the kill (a fill in flight). What is checked: every
working order is canceled, no held child is ever sent (not on a late parent fill, not after a
reset, not after a restart), ``flatten`` leaves the account flat with no exit working."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from execution_helpers import instrument_config
from hftcore import MatchingEngine
from hftcore.model.data import Trade
from hftcore.model.events import (
    OrderCanceled,
    OrderCancelRejected,
    OrderDenied,
    OrderEvent,
    OrderModifyRejected,
)
from hftcore.model.orders import TimeInForce
from hftcore.model.risk_controls import RiskTripped
from hftcore.node.config import parse_config
from hftcore.node.kernel import TradingNode
from hftcore.node.strategy import Strategy
from hftcore.oms.contingency import make_bracket
from hftcore.risk.alerts import AlertDispatcher, LogChannel
from hftcore.risk.live import RiskMonitor
from hftcore.store.sqlite import SqliteEventStore
from hftcore.venues import MatchingVenue

INSTRUMENT = "ABC.XCH"
VENUE = "XCH"
SECRET = "kill-lists-secret"
OURS, OTHERS = 0, 9
BUY, SELL = 0, 1
STEP = 1_000_000  # ns between the test's actions
FIRST_VENUE_ID = 1 << 48
RESTARTED_ID_OFFSET = 1_000
ENTRY, TAKE_PROFIT, STOP_LOSS = 10_000, 10_100, 9_900  # 100.00, 101.00, 99.00


class Wire:
    """The venue's answers on their way to the node: delivered at once unless ``hold`` is on,
    then queued (in transit) until :meth:`deliver`."""

    def __init__(self, node: TradingNode, venue: MatchingVenue) -> None:
        self._node = node
        self.hold = False
        self.in_transit: list[OrderEvent] = []
        venue.set_event_sink(self._receive)

    def _receive(self, event: OrderEvent) -> None:
        if self.hold:
            self.in_transit.append(event)
        else:
            self._node.execution.on_venue_event(event)

    def deliver(self) -> None:
        self.hold = False
        arriving, self.in_transit = self.in_transit, []
        for event in arriving:
            self._node.execution.on_venue_event(event)


class Desk:
    """A node, its risk monitor and store, one matching venue, and the rest of the market."""

    def __init__(
        self, store_path: Path, engine: MatchingEngine, start: int, *, restarted: bool = False
    ) -> None:
        config = parse_config({"instruments": [instrument_config(INSTRUMENT)]}, environ={})
        self.store = SqliteEventStore(store_path)
        self.node = TradingNode(config, store=self.store)
        # A restarted client numbers its orders past the first one's: the engine remembers them.
        self.venue = MatchingVenue(
            VENUE,
            {self.node.cache.instrument(INSTRUMENT): "USD"},
            engine,
            first_order_id=FIRST_VENUE_ID + (RESTARTED_ID_OFFSET if restarted else 0),
        )
        self.node.add_venue(VENUE, self.venue)
        self.wire = Wire(self.node, self.venue)
        self.monitor = RiskMonitor(
            self.node,
            store=self.store,
            dispatcher=AlertDispatcher([LogChannel()]),
            environ={"HFTCORE_RISK_RESET_TOKEN": SECRET},
        )
        self.ts = start
        self._other_ids = itertools.count(start + 1)
        self.node.advance_to(self.ts)
        # The market's last print: the gate needs a reference price before any order.
        self.node.process_trade(Trade(INSTRUMENT, ENTRY, 1, BUY, f"open-{start}", start, start))

    def tick(self) -> int:
        self.ts += STEP
        self.node.advance_to(self.ts)
        return self.ts

    def trade(self, side: int, price: int, quantity: int, *, rest: bool = False) -> None:
        """Another participant's order (IOC unless ``rest``); a print reaches the node."""
        ts = self.tick()
        events = self.venue.engine.submit(
            next(self._other_ids),
            OTHERS,
            0,
            side,
            price,
            quantity,
            ts,
            time_in_force=TimeInForce.GTC if rest else TimeInForce.IOC,
        )
        self.venue.on_engine_events(events)
        traded = sum(e.quantity for e in events if e.kind == "FILLED") // 2
        if traded:
            self.node.process_trade(Trade(INSTRUMENT, price, traded, side, str(ts), ts, ts))

    def bracket(self, quantity: int, list_id: str) -> tuple[str, str, str]:
        ids = tuple(self.node.next_client_order_id("S") for _ in range(3))
        entry = Strategy.limit(INSTRUMENT, BUY, quantity, ENTRY)
        ts = self.tick()
        for submit in make_bracket(
            "S",
            entry,
            take_profit_price=TAKE_PROFIT,
            stop_loss_trigger=STOP_LOSS,
            client_order_ids=(ids[0], ids[1], ids[2]),
            order_list_id=list_id,
            ts=ts,
        ):
            self.node.execute(submit)
        return ids[0], ids[1], ids[2]

    def status(self, *client_order_ids: str) -> list[str]:
        oms = self.node.execution.oms
        return [oms.order(cid).status.name for cid in client_order_ids]  # type: ignore[union-attr]

    def stored(self, client_order_id: str) -> list[str]:
        return [
            type(stored.event).__name__
            for stored in self.store.events(client_order_id=client_order_id)
        ]

    def ours_in_engine(self) -> list[int]:
        """Venue ids of our orders the engine still works (resting or awaiting a trigger)."""
        engine = self.venue.engine
        ids = range(FIRST_VENUE_ID, FIRST_VENUE_ID + 2 * RESTARTED_ID_OFFSET)
        return [i for i in ids if (o := engine.order(i)) is not None and o.owner == OURS]

    def sweep_exit_levels(self) -> None:
        """Trades through the take-profit and the stop-loss levels: any exit still working
        would trade or trigger."""
        self.trade(BUY, TAKE_PROFIT, 50)
        self.trade(SELL, STOP_LOSS, 50)
        self.trade(SELL, STOP_LOSS - 100, 50)

    def close(self) -> None:
        self.monitor.close()
        self.store.close()


@pytest.fixture
def engine() -> MatchingEngine:
    return MatchingEngine()


def _venue_errors(desk: Desk) -> list[OrderEvent]:
    return [
        stored.event
        for stored in desk.store.events(kinds=[OrderCancelRejected, OrderModifyRejected])
    ]


def test_kill_cancels_a_working_entry_with_its_held_exits_and_its_fill_in_flight_releases_nothing(
    tmp_path: Path, engine: MatchingEngine
) -> None:
    desk = Desk(tmp_path / "events.sqlite", engine, 1_000 * STEP)
    entry, take_profit, stop_loss = desk.bracket(10, "L1")
    assert desk.status(entry, take_profit, stop_loss) == ["ACCEPTED", "INITIALIZED", "INITIALIZED"]
    assert desk.node.execution.contingencies.held_orders() == {take_profit, stop_loss}
    # The engine fills the entry; the fill is still on the wire when the kill switch engages.
    desk.wire.hold = True
    desk.trade(SELL, ENTRY, 10)
    assert desk.wire.in_transit
    tripped = desk.monitor.kill(reason="desk stop")
    assert tripped.values["open_orders_canceled"] == "3"
    assert desk.status(take_profit, stop_loss) == ["CANCELED", "CANCELED"]
    assert desk.node.execution.contingencies.held_orders() == frozenset()
    desk.wire.deliver()  # the fill, then the venue's answer to our cancel (too late)
    assert desk.status(entry, take_profit, stop_loss) == ["FILLED", "CANCELED", "CANCELED"]
    assert desk.node.portfolio.net_quantity(INSTRUMENT) == 10  # the fill counts...
    for child in (take_profit, stop_loss):  # ...but no exit was released for it
        assert "OrderSubmitted" not in desk.stored(child)
        assert desk.stored(child).count("OrderCanceled") == 1
    assert desk.ours_in_engine() == []
    assert desk.venue.open_orders() == []
    desk.sweep_exit_levels()
    assert desk.node.portfolio.net_quantity(INSTRUMENT) == 10
    # After an authorised reset the old list stays dead; a new bracket works as before.
    assert desk.monitor.reset(SECRET)
    desk.sweep_exit_levels()
    assert desk.status(take_profit, stop_loss) == ["CANCELED", "CANCELED"]
    assert desk.ours_in_engine() == []
    desk.trade(BUY, ENTRY, 100, rest=False)  # nothing of ours to hit
    assert desk.node.portfolio.net_quantity(INSTRUMENT) == 10
    entry2, take_profit2, stop_loss2 = desk.bracket(5, "L2")
    desk.trade(SELL, ENTRY, 5)
    assert desk.status(entry2, take_profit2, stop_loss2) == ["FILLED", "ACCEPTED", "ACCEPTED"]
    assert sorted(desk.venue.open_orders()) == sorted([take_profit2, stop_loss2])
    desk.close()


def test_kill_after_a_partial_entry_fill_cancels_the_exits_and_the_rest_in_flight_grows_none(
    tmp_path: Path, engine: MatchingEngine
) -> None:
    desk = Desk(tmp_path / "events.sqlite", engine, 1_000 * STEP)
    entry, take_profit, stop_loss = desk.bracket(10, "L1")
    desk.trade(SELL, ENTRY, 4)  # 4 of 10: both exits released for 4
    assert desk.status(entry, take_profit, stop_loss) == [
        "PARTIALLY_FILLED",
        "ACCEPTED",
        "ACCEPTED",
    ]
    desk.wire.hold = True
    desk.trade(SELL, ENTRY, 6)  # the rest fills at the engine; the node has not heard yet
    desk.monitor.kill(reason="desk stop")
    desk.wire.deliver()
    assert desk.status(entry, take_profit, stop_loss) == ["FILLED", "CANCELED", "CANCELED"]
    assert desk.node.portfolio.net_quantity(INSTRUMENT) == 10
    assert desk.ours_in_engine() == []
    for child in (take_profit, stop_loss):
        assert desk.stored(child).count("OrderSubmitted") == 1  # released once, before the kill
        assert "ModifyOrder" not in desk.stored(child)  # the late fill grew no exit
    # Only the entry's cancel came too late: nothing was asked of a list member after the kill.
    assert [e.client_order_id for e in _venue_errors(desk)] == [entry]
    desk.sweep_exit_levels()
    assert desk.node.portfolio.net_quantity(INSTRUMENT) == 10
    desk.close()


def test_kill_cancels_a_released_bracket_pair_without_tripping_over_the_oco_rule(
    tmp_path: Path, engine: MatchingEngine
) -> None:
    desk = Desk(tmp_path / "events.sqlite", engine, 1_000 * STEP)
    _, take_profit, stop_loss = desk.bracket(10, "L1")
    desk.trade(SELL, ENTRY, 10)
    assert desk.status(take_profit, stop_loss) == ["ACCEPTED", "ACCEPTED"]
    tripped = desk.monitor.kill(reason="desk stop")
    assert tripped.values["open_orders_canceled"] == "2"
    assert tripped.values["still_open"] == "0"
    assert desk.status(take_profit, stop_loss) == ["CANCELED", "CANCELED"]
    assert desk.ours_in_engine() == []
    # One cancel each, nothing refused: the first exit's cancel does not make the OCO rule ask
    # again for the second's, already on its way.
    assert _venue_errors(desk) == []
    for child in (take_profit, stop_loss):
        assert desk.stored(child).count("OrderCanceled") == 1
    desk.close()


def test_kill_with_flatten_closes_the_bracket_position_and_leaves_no_exit_working(
    tmp_path: Path, engine: MatchingEngine
) -> None:
    desk = Desk(tmp_path / "events.sqlite", engine, 1_000 * STEP)
    _, take_profit, stop_loss = desk.bracket(10, "L1")
    desk.trade(SELL, ENTRY, 10)
    assert desk.node.portfolio.net_quantity(INSTRUMENT) == 10
    desk.trade(BUY, ENTRY - 50, 100, rest=True)  # a bid the flatten order can sell into
    tripped = desk.monitor.kill(reason="flatten", flatten=True)
    assert tripped.values["flatten_orders"] == "1"
    assert tripped.values["still_open"] == "0"
    assert desk.node.portfolio.net_quantity(INSTRUMENT) == 0
    assert desk.status(take_profit, stop_loss) == ["CANCELED", "CANCELED"]
    assert desk.ours_in_engine() == []
    assert desk.venue.open_orders() == []
    desk.sweep_exit_levels()
    assert desk.node.portfolio.net_quantity(INSTRUMENT) == 0
    assert desk.node.risk.gate.kill_switch_engaged
    desk.close()


def test_a_repeated_flatten_closes_what_filled_in_flight_after_the_first(
    tmp_path: Path, engine: MatchingEngine
) -> None:
    desk = Desk(tmp_path / "events.sqlite", engine, 1_000 * STEP)
    entry, take_profit, stop_loss = desk.bracket(10, "L1")
    desk.trade(SELL, ENTRY, 4)  # long 4, both exits working for 4
    desk.trade(BUY, ENTRY - 50, 100, rest=True)
    desk.wire.hold = True
    desk.trade(SELL, ENTRY, 6)  # the entry's rest fills at the engine, unheard
    first = desk.monitor.kill(reason="flatten", flatten=True)
    # The exits' cancels are not confirmed yet: the gate still counts them, so selling the 4
    # lots on top could leave the account short and the flatten order is refused.
    (flatten_order,) = [
        s.event for s in desk.store.events(kinds=[OrderDenied]) if s.event.reason == "REDUCE_ONLY"
    ]
    assert first.values["flatten_orders"] == "1"
    desk.wire.deliver()  # the cancels' answers and the entry's late fill
    assert desk.status(entry, take_profit, stop_loss) == ["FILLED", "CANCELED", "CANCELED"]
    assert desk.node.portfolio.net_quantity(INSTRUMENT) == 10
    assert desk.node.risk.gate.kill_switch_engaged
    second = desk.monitor.kill(reason="flatten again", flatten=True)
    assert second.values["flatten_orders"] == "1"
    assert second.values["still_open"] == "0"
    assert desk.node.portfolio.net_quantity(INSTRUMENT) == 0
    assert desk.node.risk.gate.kill_switch_engaged
    assert desk.ours_in_engine() == []
    assert flatten_order.client_order_id not in desk.venue.open_orders()
    desk.close()


def test_a_restart_while_killed_brings_no_list_member_back(
    tmp_path: Path, engine: MatchingEngine
) -> None:
    path = tmp_path / "events.sqlite"
    desk = Desk(path, engine, 1_000 * STEP)
    held_entry, held_tp, held_sl = desk.bracket(10, "L1")  # entry working, exits held
    entry, take_profit, stop_loss = desk.bracket(10, "L2")
    desk.trade(SELL, ENTRY, 14)  # L1 fills, L2 fills 4: its exits are released for 4
    desk.wire.hold = True
    desk.trade(SELL, ENTRY, 6)  # L2's rest fills at the engine...
    desk.monitor.kill(reason="before the restart")
    desk.wire.deliver()  # ...and reaches the node after the kill
    end = desk.ts
    logged_kinds = {cid: desk.stored(cid) for cid in (held_tp, held_sl, take_profit, stop_loss)}
    desk.close()
    restarted = Desk(path, engine, end + STEP, restarted=True)
    recovery = restarted.node.recover(restarted.store)
    restarted.monitor.restore(restarted.store)
    assert recovery.report.consistent
    assert restarted.node.risk.gate.kill_switch_engaged
    assert restarted.node.execution.contingencies.held_orders() == frozenset()
    assert restarted.status(held_entry, held_tp, held_sl, entry, take_profit, stop_loss) == [
        "FILLED",
        "CANCELED",
        "CANCELED",
        "FILLED",
        "CANCELED",
        "CANCELED",
    ]
    for cid, kinds in logged_kinds.items():
        assert restarted.stored(cid) == kinds  # the recovery sent and canceled nothing
    restarted.node.start()
    restarted.sweep_exit_levels()
    assert restarted.node.portfolio.net_quantity(INSTRUMENT) == 20
    assert restarted.ours_in_engine() == []
    assert [e.trigger for e in _stored_trips(restarted)] == ["KILL_SWITCH"]
    restarted.close()


def test_a_bracket_submitted_while_killed_is_denied_and_its_exits_never_leave(
    tmp_path: Path, engine: MatchingEngine
) -> None:
    desk = Desk(tmp_path / "events.sqlite", engine, 1_000 * STEP)
    desk.monitor.kill(reason="desk stop")
    entry, take_profit, stop_loss = desk.bracket(10, "L1")
    assert desk.status(entry, take_profit, stop_loss) == ["DENIED", "CANCELED", "CANCELED"]
    canceled = [stored.event for stored in desk.store.events(kinds=[OrderCanceled])]
    assert [(e.client_order_id, e.reason) for e in canceled] == [
        (take_profit, "OTO"),
        (stop_loss, "OTO"),
    ]
    assert desk.ours_in_engine() == []
    for child in (take_profit, stop_loss):
        assert "OrderSubmitted" not in desk.stored(child)
    desk.close()


def _stored_trips(desk: Desk) -> list[RiskTripped]:
    return [stored.event for stored in desk.store.events(kinds=[RiskTripped])]
