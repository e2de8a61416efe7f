"""The node with an event store, in process: the intent log, duplicates not applied twice, and
TradingNode.recover with the restorable paper venue."""

from __future__ import annotations

from pathlib import Path

import pytest
from hftcore.errors import InvalidValue
from hftcore.model.data import Bar
from hftcore.model.events import OrderAccepted, OrderDenied, OrderFilled, OrderSpec, SubmitOrder
from hftcore.model.orders import OrderType
from hftcore.model.risk import TradingState
from hftcore.model.risk_controls import ACCOUNT, RiskTripped
from hftcore.node.config import NodeConfig, parse_config
from hftcore.node.kernel import TradingNode
from hftcore.node.paper import PAPER_VENUE, PaperSession, PaperSummary, PaperVenue, summarize
from hftcore.node.strategy import Strategy
from hftcore.oms.contingency import make_bracket
from hftcore.store.sqlite import SqliteEventStore

INSTRUMENT = "ABC.SIM"
DAY = 86_400 * 10**9


def _config() -> NodeConfig:
    return parse_config(
        {
            "node": {"mode": "paper"},
            "instruments": [
                {
                    "instrument_id": INSTRUMENT,
                    "tick_size": "0.01",
                    "price_precision": 2,
                    "lot_size": "1",
                    "size_precision": 0,
                }
            ],
        },
        environ={},
    )


def _node(store: SqliteEventStore) -> tuple[TradingNode, PaperVenue]:
    node = TradingNode(_config(), store=store)
    venue = PaperVenue(PAPER_VENUE, {node.cache.instrument(INSTRUMENT): "USD"})
    node.add_venue(PAPER_VENUE, venue)
    return node, venue


def _bar(day: int, low: int, high: int) -> Bar:
    return Bar(INSTRUMENT, "1-DAY", low, high, low, high, 1_000, day * DAY, day * DAY)


def _submit(node: TradingNode, spec: OrderSpec) -> str:
    client_order_id = node.next_client_order_id("S")
    node.execute(SubmitOrder("S", client_order_id, spec, node.clock.timestamp_ns()))
    return client_order_id


def _kinds(store: SqliteEventStore, client_order_id: str) -> list[str]:
    return [type(stored.event).__name__ for stored in store.events(client_order_id=client_order_id)]


def _session(tmp_path: Path) -> tuple[str, str, str, PaperSummary]:
    """A first node: a filled market order, a working limit and a trailing stop (emulated:
    the paper venue has no trailing stops)."""
    with SqliteEventStore(tmp_path / "events.sqlite") as store:
        node, _ = _node(store)
        node.advance_to(DAY)
        node.process_bar(_bar(1, 10_000, 10_100))
        market = _submit(node, Strategy.market(INSTRUMENT, 0, 5))
        node.advance_to(2 * DAY)
        node.process_bar(_bar(2, 10_000, 10_100))
        limit = _submit(node, Strategy.limit(INSTRUMENT, 0, 3, 9_000))
        trailing = _submit(
            node,
            OrderSpec(
                INSTRUMENT,
                1,
                OrderType.STOP,
                5,
                trigger_price=9_500,
                trailing_offset=200,
                trailing_offset_type="PRICE",
            ),
        )
        assert node.portfolio.net_quantity(INSTRUMENT, "S") == 5
        return market, limit, trailing, summarize(node, store.last_seq())


def test_commands_are_logged_before_their_events(tmp_path: Path) -> None:
    market, limit, _, _ = _session(tmp_path)
    with SqliteEventStore(tmp_path / "events.sqlite") as store:
        assert _kinds(store, market) == [
            "SubmitOrder",
            "OrderInitialized",
            "OrderSubmitted",
            "OrderAccepted",
            "OrderFilled",
        ]
        assert _kinds(store, limit)[:2] == ["SubmitOrder", "OrderInitialized"]


def test_a_replayed_venue_event_is_not_applied_twice(tmp_path: Path) -> None:
    with SqliteEventStore(tmp_path / "events.sqlite") as store:
        node, _ = _node(store)
        node.advance_to(DAY)
        node.process_bar(_bar(1, 10_000, 10_100))
        limit = _submit(node, Strategy.limit(INSTRUMENT, 0, 3, 9_000))
        accepted = next(
            stored.event for stored in store.events(client_order_id=limit, kinds=[OrderAccepted])
        )
        processed, rows = node.execution.events_processed, store.last_seq()
        replay = OrderAccepted(
            accepted.strategy_id,
            accepted.instrument_id,
            accepted.client_order_id,
            accepted.venue_order_id,
            accepted.ts_event,
            accepted.ts_init + 1,
        )
        node.execution.on_venue_event(replay)
        assert node.execution.events_processed == processed
        assert store.last_seq() == rows


def test_recover_rebuilds_orders_positions_gate_and_venue(tmp_path: Path) -> None:
    market, limit, trailing, before = _session(tmp_path)
    with SqliteEventStore(tmp_path / "events.sqlite") as store:
        logged = store.last_seq()
        node, venue = _node(store)
        state = node.rebuild_from(store)
        assert venue.restore(node.execution.oms, state) == 1
        recovery = node.reconcile_venues(store, state)
        assert recovery.report.consistent
        assert recovery.abandoned_submits == ()
        assert store.last_seq() == logged

        oms = node.execution.oms
        assert oms.order(market).status.name == "FILLED"
        assert oms.order(limit).status.name == "ACCEPTED"
        assert oms.order(trailing).status.name == "EMULATED"
        assert trailing in node.execution.emulator_for(INSTRUMENT)
        assert node.portfolio.net_quantity(INSTRUMENT, "S") == 5
        gate_position = node.risk.gate.position(node.risk.index(INSTRUMENT))
        assert gate_position.position == 5
        assert gate_position.open_buy_quantity == 3
        assert node.risk.gate.open_order_count == 1
        assert venue.open_orders() == [limit]
        assert summarize(node, logged) == before

        # The restored limit still trades: a bar through 90.00 fills it, with a fresh trade id.
        node.advance_to(3 * DAY)
        node.process_bar(_bar(3, 8_900, 10_000))
        assert oms.order(limit).status.name == "FILLED"
        assert node.portfolio.net_quantity(INSTRUMENT, "S") == 8
        fresh = node.next_client_order_id("S")
        assert fresh not in {market, limit, trailing}
        assert _kinds(store, fresh) == []


def test_recover_denies_an_intent_the_node_never_acted_on(tmp_path: Path) -> None:
    _session(tmp_path)
    with SqliteEventStore(tmp_path / "events.sqlite") as store:
        orphan = SubmitOrder("S", "S-000042", Strategy.limit(INSTRUMENT, 0, 1, 9_500), 5 * DAY)
        store.append(orphan)
        node, venue = _node(store)
        recovery = node.recover(store)
        assert recovery.abandoned_submits == ("S-000042",)
        denied = [
            stored.event for stored in store.events(client_order_id="S-000042", kinds=[OrderDenied])
        ]
        assert [event.reason for event in denied] == ["NOT_PROCESSED_BEFORE_RESTART"]
        assert "S-000042" not in venue.open_orders()
        assert node.execution.oms.is_taken("S-000042")
        # The restored node's venue had nothing restored (recover() does not touch it), so the
        # working limit it thought it had is canceled as lost, and never re-sent.
        assert len(recovery.report.lost_orders) == 1
        assert all(node.next_client_order_id("S") != "S-000042" for _ in range(50))


def test_recover_refuses_a_started_node_and_writes_nothing(tmp_path: Path) -> None:
    _session(tmp_path)
    with SqliteEventStore(tmp_path / "events.sqlite") as store:
        logged = store.last_seq()
        node, _ = _node(store)
        node.start()
        with pytest.raises(InvalidValue) as raised:
            node.recover(store)
        assert raised.value.code == "NODE_RUNNING"
        assert store.last_seq() == logged
        assert len(node.execution.oms) == 0


def test_a_recovered_id_submitted_again_is_denied_and_never_sent(tmp_path: Path) -> None:
    _, limit, _, _ = _session(tmp_path)
    with SqliteEventStore(tmp_path / "events.sqlite") as store:
        node, venue = _node(store)
        node.recover(store)
        status = node.execution.oms.order(limit).status
        again = SubmitOrder("S", limit, Strategy.limit(INSTRUMENT, 1, 1, 11_000), 9 * DAY)
        node.execute(again)
        denials = [
            stored.event.reason
            for stored in store.events(client_order_id=limit, kinds=[OrderDenied])
            if isinstance(stored.event, OrderDenied)
        ]
        assert denials == ["DUPLICATE_CLIENT_ORDER_ID"]
        assert _kinds(store, limit).count("SubmitOrder") == 1
        assert _kinds(store, limit).count("OrderSubmitted") == 1
        assert node.execution.oms.order(limit).status is status
        assert venue.open_orders() == []


def _bracket(node: TradingNode) -> tuple[str, str, str]:
    """A buy limit at 99.00 (resting on bars above it) with a take-profit at 105.00 and a
    stop-loss at 95.00 (both reduce-only) held until it fills."""
    ids = tuple(node.next_client_order_id("S") for _ in range(3))
    entry, take_profit, stop_loss = ids
    for bracket_submit in make_bracket(
        "S",
        Strategy.limit(INSTRUMENT, 0, 4, 9_900),
        take_profit_price=10_500,
        stop_loss_trigger=9_500,
        client_order_ids=(entry, take_profit, stop_loss),
        order_list_id="L1",
        ts=node.clock.timestamp_ns(),
    ):
        node.execute(bracket_submit)
    return entry, take_profit, stop_loss


def _statuses(node: TradingNode, *ids: str) -> list[str]:
    oms = node.execution.oms
    return [oms.order(cid).status.name for cid in ids]  # type: ignore[union-attr]


def _recover(store: SqliteEventStore) -> tuple[TradingNode, PaperVenue]:
    node, venue = _node(store)
    state = node.rebuild_from(store)
    venue.restore(node.execution.oms, state)
    assert node.reconcile_venues(store, state).report.consistent
    return node, venue


def test_a_bracket_keeps_its_children_held_across_a_restart(tmp_path: Path) -> None:
    with SqliteEventStore(tmp_path / "events.sqlite") as store:
        node, venue = _node(store)
        node.advance_to(DAY)
        node.process_bar(_bar(1, 10_000, 10_100))
        entry, take_profit, stop_loss = _bracket(node)
        assert _statuses(node, entry, take_profit, stop_loss) == [
            "ACCEPTED",
            "INITIALIZED",
            "INITIALIZED",
        ]
    with SqliteEventStore(tmp_path / "events.sqlite") as store:
        node, venue = _recover(store)
        # Held, not lost: reconciliation leaves the children alone and nothing was sent.
        assert node.execution.contingencies.held_orders() == {take_profit, stop_loss}
        assert _statuses(node, take_profit, stop_loss) == ["INITIALIZED", "INITIALIZED"]
        assert venue.open_orders() == [entry]
        # The list still works: once prices come again, the entry's fill releases both
        # children to the venue.
        node.advance_to(2 * DAY)
        node.process_bar(_bar(2, 9_950, 10_050))
        node.advance_to(3 * DAY)
        node.process_bar(_bar(3, 9_800, 10_000))
        assert _statuses(node, entry, take_profit) == ["FILLED", "ACCEPTED"]
        assert take_profit in venue.open_orders()
        assert node.execution.oms.order(stop_loss).is_open  # type: ignore[union-attr]
        assert node.execution.contingencies.held_orders() == frozenset()


def _crashed_after_the_entry_fill(tmp_path: Path) -> tuple[Path, str, str, str]:
    """A log that ends right after a bracket entry's fill was logged: the node died before it
    sent the children the fill released."""
    with SqliteEventStore(tmp_path / "first.sqlite") as store:
        node, _ = _node(store)
        node.advance_to(DAY)
        node.process_bar(_bar(1, 10_000, 10_100))
        entry, take_profit, stop_loss = _bracket(node)
        node.advance_to(2 * DAY)
        node.process_bar(_bar(2, 9_800, 10_000))
        logged = list(store.events())
    fill_seq = next(
        stored.seq
        for stored in logged
        if isinstance(stored.event, OrderFilled) and stored.event.client_order_id == entry
    )
    crashed = tmp_path / "crashed.sqlite"
    with SqliteEventStore(crashed) as store:
        store.append_many([stored.event for stored in logged if stored.seq <= fill_seq])
    return crashed, entry, take_profit, stop_loss


def test_children_released_but_not_sent_before_a_crash_are_sent_after_it(
    tmp_path: Path,
) -> None:
    crashed, entry, take_profit, stop_loss = _crashed_after_the_entry_fill(tmp_path)
    with SqliteEventStore(crashed) as store:
        assert _kinds(store, take_profit) == ["SubmitOrder", "OrderInitialized"]
        node, venue = _recover(store)
        assert _statuses(node, entry, take_profit) == ["FILLED", "ACCEPTED"]
        assert take_profit in venue.open_orders()
        assert node.execution.oms.order(stop_loss).is_open  # type: ignore[union-attr]
        for child in (take_profit, stop_loss):
            kinds = _kinds(store, child)
            assert kinds.count("OrderSubmitted") == 1
            assert kinds.count("OrderCanceled") == 0


def test_a_kill_switch_in_the_log_holds_back_the_children_a_restart_would_send(
    tmp_path: Path,
) -> None:
    crashed, entry, take_profit, stop_loss = _crashed_after_the_entry_fill(tmp_path)
    with SqliteEventStore(crashed) as store:
        store.append(
            RiskTripped(
                ACCOUNT, ACCOUNT, 1, "KILL_SWITCH", TradingState.HALTED, "desk", {}, "cli", 1, 1
            )
        )
    config = parse_config(
        {
            "node": {"mode": "paper", "data_dir": str(tmp_path / "data")},
            "instruments": [
                {
                    "instrument_id": INSTRUMENT,
                    "tick_size": "0.01",
                    "price_precision": 2,
                    "lot_size": "1",
                    "size_precision": 0,
                }
            ],
            "strategies": [
                {
                    "strategy_id": "PC",
                    "path": f"{Path(__file__).with_name('paper_strategy.py')}:PlaceAndCancel",
                    "params": {"instrument_id": INSTRUMENT, "interval_ms": 30},
                }
            ],
        },
        environ={},
    )
    session = PaperSession(config, [], store_path=crashed)
    try:
        session.recover()
        assert session.risk_monitor.killed
        assert session.venue.open_orders() == []
        for child in (take_profit, stop_loss):
            assert "OrderSubmitted" not in _kinds(session.store, child)  # type: ignore[arg-type]
            assert not session.node.execution.oms.order(child).is_open  # type: ignore[union-attr]
        # the gate's kill switch, restored from the log, denies the first; OCO ends the other
        assert _kinds(session.store, take_profit)[-1] == "OrderDenied"  # type: ignore[arg-type]
        assert _kinds(session.store, stop_loss)[-1] == "OrderCanceled"  # type: ignore[arg-type]
        assert _statuses(session.node, entry) == ["FILLED"]
    finally:
        session.close()
