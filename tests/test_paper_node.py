"""The node with an event store, in process: the intent log, duplicates not applied twice, and
TradingNode.recover with the restorable paper venue."""

from __future__ import annotations

from pathlib import Path

import pytest
from hftcore.errors import InvalidValue
from hftcore.model.data import Bar
from hftcore.model.events import OrderAccepted, OrderDenied, OrderSpec, SubmitOrder
from hftcore.model.orders import OrderType
from hftcore.node.config import NodeConfig, parse_config
from hftcore.node.kernel import TradingNode
from hftcore.node.paper import PAPER_VENUE, PaperSummary, PaperVenue, summarize
from hftcore.node.strategy import Strategy
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
