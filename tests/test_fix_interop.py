"""Our FIX code against QuickFIX, an independent engine, both ways: our initiator
(FixVenueClient) with a QuickFIX acceptor, and a QuickFIX initiator with our acceptor (the
matching-engine venue simulator); each with a disconnect that leaves a sequence gap, recovered
by ResendRequest and resend with PossDupFlag=Y."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fix_helpers import free_port, wait_until
from hftcore import Instrument
from hftcore.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderEvent,
    OrderFilled,
    OrderSpec,
    OrderUpdated,
)
from hftcore.model.orders import OrderType
from hftcore.venues.fix import FixSessionConfig, FixVenueClient, FixVenueSimulator
from quickfix_peer import QuickfixPeer, start_engine, write_settings

BTC = Instrument("BTCUSDT.SIM", "0.1", 1, "0.001", 3, maker_fee="-0.0001", taker_fee="0.0002")


def limit(side: int, quantity: int, price: int) -> OrderSpec:
    return OrderSpec("BTCUSDT.SIM", side, OrderType.LIMIT, quantity, price=price)


def test_our_initiator_trades_with_quickfix_acceptor_and_recovers_a_gap(tmp_path: Path) -> None:
    port = free_port()
    peer = QuickfixPeer(venue=True)
    settings = write_settings(
        tmp_path / "qf", connection_type="acceptor", sender="QFVENUE", target="US", port=port
    )
    events: list[OrderEvent] = []
    config = FixSessionConfig(
        "US", "QFVENUE", port=port, heartbeat_interval=5, data_dir=str(tmp_path / "us")
    )

    async def scenario() -> FixVenueClient:
        acceptor = start_engine(settings, peer, acceptor=True)
        client = FixVenueClient("SIM", {BTC: "USDT"}, config, event_sink=events.append)
        try:
            await client.connect()
            client.submit("S1-1", limit(0, 1500, 650_001), 1, strategy_id="S1")
            await wait_until(lambda: len(events) == 1)
            client.modify("S1-1", 2000, 650_000, None, 2)
            await wait_until(lambda: len(events) == 2)
            # Their engine sends a partial fill; then we vanish without a Logout.
            peer.fill("S1-1:1", "0.5", "65000.0", "1.5", "0.5")
            await wait_until(lambda: len(events) == 3)
            client.session.disconnect()
            await client.session.disconnected_event.wait()
            await wait_until(lambda: peer.logouts == 1)
            # While we are away: a second fill, stored by their engine under the next number.
            peer.fill("S1-1:1", "1.5", "65000.0", "0", "2")
            await client.connect()  # their Logon is ahead of what we expect: a gap
            await wait_until(lambda: len(events) == 4)
            await client.stop()
        finally:
            await acceptor.stop()
        return client

    client = asyncio.run(scenario())
    assert [type(event) for event in events] == [
        OrderAccepted,
        OrderUpdated,
        OrderFilled,
        OrderFilled,
    ]
    accepted, updated, first_fill, second_fill = events
    assert isinstance(accepted, OrderAccepted)
    assert accepted.venue_order_id.startswith("QF-ORDER-")
    assert isinstance(updated, OrderUpdated)
    assert (updated.quantity, updated.price) == (
        2000,
        650_000,
    )
    assert isinstance(first_fill, OrderFilled)
    assert (
        first_fill.last_quantity,
        first_fill.last_price,
    ) == (500, 650_000)
    assert isinstance(second_fill, OrderFilled)
    assert second_fill.last_quantity == 1500
    assert first_fill.liquidity == "MAKER"
    assert client.order("S1-1").filled == 2000
    assert client.order("S1-1").closed
    stats = client.session.stats
    assert stats.resend_requests_sent == 1
    assert stats.garbled_messages == 0
    assert stats.rejects_received == 0
    # Their engine validated our messages against its FIX 4.4 dictionary and took them all.
    assert [m.msg_type for m in peer.app_messages] == ["D", "G"]
    assert peer.app_messages[1].fields[41] == "S1-1"
    assert peer.app_messages[1].fields[11] == "S1-1:1"
    assert not peer.admin("3")
    # The gap: one ResendRequest from us; their engine resent the fill and gap-filled its Logon.
    assert len(peer.admin("2")) == 1
    assert stats.messages_resent == 0
    assert stats.gap_fills_received == 1
    assert client.session.next_target_seq == 8
    assert client.session.next_sender_seq == 7


def test_quickfix_initiator_trades_on_our_simulator_and_recovers_gaps_both_ways(
    tmp_path: Path,
) -> None:
    """Their initiator rests a bid on our simulator; we cut the connection, and while it is
    away our own client sells into the bid (a fill report stored for it) and it queues an order
    of its own. When its engine reconnects both sides find a gap: our report is resent to it,
    its order is resent to us and executed once."""
    port = free_port()
    peer = QuickfixPeer(venue=False)
    settings = write_settings(
        tmp_path / "qf",
        connection_type="initiator",
        sender="QFCLIENT",
        target="VENUE",
        port=port,
        reconnect_interval=5,
    )
    events: list[OrderEvent] = []

    async def scenario() -> tuple[FixVenueSimulator, FixVenueClient]:
        simulator = FixVenueSimulator(
            "SIM",
            {BTC: "USDT"},
            [
                FixSessionConfig("VENUE", "QFCLIENT", data_dir=str(tmp_path / "venue")),
                FixSessionConfig("VENUE", "US"),
            ],
        )
        await simulator.start(port=port)
        ours = FixVenueClient(
            "SIM",
            {BTC: "USDT"},
            FixSessionConfig("US", "VENUE", port=port),
            event_sink=events.append,
        )
        await ours.connect()
        initiator = start_engine(settings, peer, acceptor=False)
        try:
            await wait_until(peer.logged_on)
            peer.new_order("QF-1", "1", "2", "65000.0", "BTCUSDT")
            await wait_until(lambda: len(peer.messages("8")) == 1)
            simulator.session("QFCLIENT").disconnect()
            await wait_until(lambda: not peer.logged_on())
            # Their engine reconnects after 5 s: everything below happens in that window.
            peer.new_order("QF-2", "2", "1", "65100.0", "BTCUSDT")
            ours.submit("S1-1", limit(1, 500, 649_000), 1, strategy_id="S1")
            await wait_until(lambda: any(isinstance(event, OrderFilled) for event in events))
            assert not peer.logged_on()
            await wait_until(lambda: len(peer.messages("8")) == 3)
        finally:
            await initiator.stop()
        await ours.stop()
        await simulator.stop()
        return simulator, ours

    simulator, _ours = asyncio.run(scenario())
    reports = peer.messages("8")
    new, fill, second_new = reports
    assert (new.fields[150], new.fields[39], new.fields[11]) == ("0", "0", "QF-1")
    # The fill happened while they were away and reached them as a resend.
    assert fill.possible_duplicate
    assert (fill.fields[150], fill.fields[32], fill.fields[31]) == ("F", "0.500", "65000.0")
    assert (fill.fields[151], fill.fields[14], fill.fields[39]) == ("1.500", "0.500", "1")
    # Their queued order was resent to us and executed once.
    assert (second_new.fields[11], second_new.fields[150]) == ("QF-2", "0")
    venue = simulator.venue_of("QFCLIENT")
    assert venue.open_orders() == ["QF-1", "QF-2"]
    assert venue.order("QF-1").filled == 500
    stats = simulator.session("QFCLIENT").stats
    # One ResendRequest from us (their order); theirs (our fill) answered with a resend. Their
    # engine may ask again for what crossed on the wire; it sees each report once all the same.
    assert stats.resend_requests_sent == 1
    assert stats.resend_requests_received >= 1
    assert stats.messages_resent >= 1
    assert stats.rejects_sent == 0
    assert stats.garbled_messages == 0
    assert [m.fields[7] for m in peer.admin("2")] == ["3"]  # our request: from the gap on
    assert not peer.admin("3")
    ours_fill = next(event for event in events if isinstance(event, OrderFilled))
    assert (ours_fill.last_price, ours_fill.last_quantity, ours_fill.liquidity) == (
        650_000,
        500,
        "TAKER",
    )


def test_heartbeats_both_ways_and_reset_on_logon_with_quickfix(tmp_path: Path) -> None:
    port = free_port()
    peer = QuickfixPeer(venue=True)
    settings = write_settings(
        tmp_path / "qf", connection_type="acceptor", sender="QFVENUE", target="US", port=port
    )
    numbers: list[tuple[int, int]] = []
    events: list[OrderEvent] = []

    def config(reset: bool) -> FixSessionConfig:
        return FixSessionConfig(
            "US",
            "QFVENUE",
            port=port,
            heartbeat_interval=1,
            reset_on_logon=reset,
            data_dir=str(tmp_path / "us"),
        )

    async def scenario() -> FixVenueClient:
        acceptor = start_engine(settings, peer, acceptor=True)
        try:
            client = FixVenueClient(
                "SIM", {BTC: "USDT"}, config(reset=False), event_sink=events.append
            )
            await client.connect()
            client.submit("S1-1", limit(1, 100, 700_000), 1, strategy_id="S1")
            await wait_until(lambda: len(events) == 1)
            client.cancel("S1-1", 2)
            await wait_until(lambda: len(events) == 2)
            # Silence on both sides' application level: only heartbeats keep the session up.
            await wait_until(lambda: len(peer.admin("0")) >= 3)
            await wait_until(lambda: client.session.stats.messages_received >= 4)
            assert client.session.logged_on
            await client.stop()
            numbers.append((client.session.next_sender_seq, client.session.next_target_seq))
            client = FixVenueClient("SIM", {BTC: "USDT"}, config(reset=True))
            await client.connect()
            numbers.append((client.session.next_sender_seq, client.session.next_target_seq))
            await client.stop()
        finally:
            await acceptor.stop()
        return client

    client = asyncio.run(scenario())
    assert [type(event) for event in events] == [OrderAccepted, OrderCanceled]
    assert [m.msg_type for m in peer.app_messages] == ["D", "F"]
    assert peer.app_messages[1].fields[41] == "S1-1"
    assert numbers[0][0] >= 7  # Logon, D, F, three or more Heartbeats, Logout
    assert numbers[1] == (2, 2)  # ResetSeqNumFlag=Y: their engine started over with us
    assert peer.logons == 2
    assert client.session.stats.heartbeat_timeouts == 0
    assert not peer.admin("3")
