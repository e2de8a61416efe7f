"""FixVenueClient against the FIX venue simulator: every order type and time in force through
NewOrderSingle / OrderCancelRequest / OrderCancelReplaceRequest and back as model events, two
clients trading with each other in the core's matching engine (maker rebate and taker fee from
the MiscFees group), rejects of each kind, the OMS driven by the events, and what the client
does while disconnected."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from fix_helpers import wait_until
from hftcore import Instrument
from hftcore.errors import InvalidValue
from hftcore.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderModifyRejected,
    OrderRejected,
    OrderSpec,
    OrderSubmitted,
    OrderTriggered,
    OrderUpdated,
    SubmitOrder,
)
from hftcore.model.money import MONEY_UNIT
from hftcore.model.orders import OrderType, PostOnly, TimeInForce
from hftcore.oms import OrderManager, OrderStatus
from hftcore.venues.fix import FixSessionConfig, FixVenueClient, FixVenueSimulator
from hftcore.venues.fix.codec import (
    FixMessage,
    FixStreamParser,
    Tag,
    decode_message,
    encode_message,
)
from hftcore.venues.fix.session import utc_timestamp

BTC = Instrument("BTCUSDT.SIM", "0.1", 1, "0.001", 3, maker_fee="-0.0001", taker_fee="0.0002")
INSTRUMENTS = {BTC: "USDT"}
ID = "BTCUSDT.SIM"
BUY, SELL = 0, 1


class Pair:
    """Two clients (A and B) of one simulator, their events by client."""

    def __init__(self, simulator: FixVenueSimulator, port: int) -> None:
        self.simulator = simulator
        self.events: dict[str, list[OrderEvent]] = {"A": [], "B": []}
        self.a = self._client("A", port)
        self.b = self._client("B", port)

    def _client(self, name: str, port: int) -> FixVenueClient:
        config = FixSessionConfig(name, "VENUE", port=port)
        return FixVenueClient("SIM", INSTRUMENTS, config, event_sink=self.events[name].append)

    async def settle(self, name: str, count: int) -> list[OrderEvent]:
        await wait_until(lambda: len(self.events[name]) >= count)
        return self.events[name]


Scenario = Callable[[Pair], Awaitable[None]]


def run(scenario: Scenario) -> Pair:
    async def main() -> Pair:
        simulator = FixVenueSimulator(
            "SIM", INSTRUMENTS, [FixSessionConfig("VENUE", "A"), FixSessionConfig("VENUE", "B")]
        )
        pair = Pair(simulator, await simulator.start())
        await pair.a.connect()
        await pair.b.connect()
        try:
            await scenario(pair)
        finally:
            await pair.a.stop()
            await pair.b.stop()
            await simulator.stop()
        return pair

    return asyncio.run(main())


def spec(side: int, order_type: OrderType, quantity: int, **fields: int) -> OrderSpec:
    return OrderSpec(ID, side, order_type, quantity, **fields)  # type: ignore[arg-type]


def kinds(events: list[OrderEvent]) -> list[str]:
    return [type(event).__name__ for event in events]


def test_two_clients_trade_with_fees_modify_and_cancel() -> None:
    async def scenario(pair: Pair) -> None:
        pair.a.submit("A-1", spec(BUY, OrderType.LIMIT, 1500, price=650_000), 1, strategy_id="S")
        await pair.settle("A", 1)
        pair.b.submit("B-1", spec(SELL, OrderType.LIMIT, 500, price=649_000), 2, strategy_id="S")
        await pair.settle("B", 2)
        await pair.settle("A", 2)
        pair.a.modify("A-1", 2000, 650_100, None, 3)
        await pair.settle("A", 3)
        pair.a.cancel("A-1", 4)
        await pair.settle("A", 4)
        pair.a.cancel("A-1", 5)  # closed by now
        await pair.settle("A", 5)

    pair = run(scenario)
    a, b = pair.events["A"], pair.events["B"]
    assert kinds(a) == [
        "OrderAccepted",
        "OrderFilled",
        "OrderUpdated",
        "OrderCanceled",
        "OrderCancelRejected",
    ]
    assert kinds(b) == ["OrderAccepted", "OrderFilled"]
    maker, taker = a[1], b[1]
    assert isinstance(maker, OrderFilled)
    assert isinstance(taker, OrderFilled)
    # 0.5 BTC at 65000.0: notional 32500 USDT; maker rebate 0.01 %, taker fee 0.02 %.
    assert (maker.last_price, maker.last_quantity, maker.liquidity) == (650_000, 500, "MAKER")
    assert maker.commission == -325 * MONEY_UNIT // 100
    assert (taker.last_price, taker.liquidity, taker.commission) == (
        650_000,
        "TAKER",
        650 * MONEY_UNIT // 100,
    )
    assert maker.currency == taker.currency == "USDT"
    assert maker.trade_id != taker.trade_id  # ExecIDs, unique per venue
    accepted = a[0]
    assert isinstance(accepted, OrderAccepted)
    assert accepted.venue_order_id == str(pair.simulator.venue_of("A").order("A-1").venue_order_id)
    updated = a[2]
    assert isinstance(updated, OrderUpdated)
    assert (updated.quantity, updated.price) == (2000, 650_100)
    canceled, late = a[3], a[4]
    assert isinstance(canceled, OrderCanceled)
    assert canceled.reason == "REQUESTED"
    assert isinstance(late, OrderCancelRejected)
    assert late.reason == "UNKNOWN_ORDER"
    assert pair.a.order("A-1").filled == 500
    assert pair.a.order("A-1").closed
    assert pair.simulator.engine.working_order_count == 0


def test_order_types_and_time_in_force() -> None:
    async def scenario(pair: Pair) -> None:
        # B rests liquidity on both sides.
        pair.b.submit("B-ask", spec(SELL, OrderType.LIMIT, 1000, price=651_000), 1, strategy_id="S")
        pair.b.submit("B-bid", spec(BUY, OrderType.LIMIT, 1000, price=649_000), 1, strategy_id="S")
        await pair.settle("B", 2)
        a = pair.a
        a.submit(
            "market",
            spec(BUY, OrderType.MARKET, 100, time_in_force=TimeInForce.IOC),
            2,
            strategy_id="S",
        )
        a.submit(
            "ioc",
            spec(BUY, OrderType.LIMIT, 100, price=640_000, time_in_force=TimeInForce.IOC),
            2,
            strategy_id="S",
        )
        a.submit(
            "fok",
            spec(BUY, OrderType.LIMIT, 5000, price=651_000, time_in_force=TimeInForce.FOK),
            2,
            strategy_id="S",
        )
        a.submit(
            "post",
            OrderSpec(ID, BUY, OrderType.LIMIT, 100, price=651_000, post_only=PostOnly.REJECT),
            2,
            strategy_id="S",
        )
        a.submit(
            "stop",
            spec(SELL, OrderType.STOP_LIMIT, 100, price=648_000, trigger_price=650_000),
            2,
            strategy_id="S",
        )
        a.submit(
            "iceberg",
            OrderSpec(ID, BUY, OrderType.LIMIT, 300, price=645_000, display_quantity=100),
            2,
            strategy_id="S",
        )
        expiry = (time.time_ns() // 1_000_000 + 300) * 1_000_000  # FIX carries milliseconds
        a.submit(
            "gtd",
            OrderSpec(
                ID,
                BUY,
                OrderType.LIMIT,
                100,
                price=640_000,
                time_in_force=TimeInForce.GTD,
                expire_ts=expiry,
            ),
            2,
            strategy_id="S",
        )
        await wait_until(lambda: len(pair.events["A"]) >= 10)
        # B sells through 650000: the stop triggers and its limit rests at 648000.
        pair.b.submit(
            "B-sell", spec(SELL, OrderType.LIMIT, 1000, price=649_000), 3, strategy_id="S"
        )
        await wait_until(lambda: any(isinstance(e, OrderTriggered) for e in pair.events["A"]))
        await asyncio.sleep(0.4)
        pair.simulator.expire_orders()
        await wait_until(lambda: any(isinstance(e, OrderExpired) for e in pair.events["A"]))

    pair = run(scenario)
    by_order: dict[str, list[str]] = {}
    for event in pair.events["A"]:
        by_order.setdefault(event.client_order_id, []).append(type(event).__name__)
    assert by_order["market"] == ["OrderAccepted", "OrderFilled"]
    assert by_order["ioc"] == ["OrderAccepted", "OrderCanceled"]
    assert by_order["fok"] == ["OrderAccepted", "OrderCanceled"]
    assert by_order["post"] == ["OrderRejected"]
    assert by_order["stop"] == ["OrderAccepted", "OrderTriggered"]
    assert by_order["iceberg"] == ["OrderAccepted"]
    assert by_order["gtd"] == ["OrderAccepted", "OrderExpired"]
    reasons = {
        event.client_order_id: event.reason
        for event in pair.events["A"]
        if isinstance(event, OrderCanceled | OrderRejected)
    }
    assert reasons == {
        "ioc": "IMMEDIATE_OR_CANCEL",
        "fok": "FILL_OR_KILL",
        "post": "POST_ONLY_WOULD_CROSS",
    }
    venue = pair.simulator.venue_of("A")
    assert venue.order("iceberg").spec.display_quantity == 100
    assert venue.order("stop").trigger_price == 650_000
    market_fill = next(e for e in pair.events["A"] if isinstance(e, OrderFilled))
    assert (market_fill.last_price, market_fill.last_quantity) == (651_000, 100)


def test_market_order_without_liquidity_and_a_modify() -> None:
    async def scenario(pair: Pair) -> None:
        pair.a.submit("lonely", spec(BUY, OrderType.MARKET, 1), 1, strategy_id="S")
        pair.a.submit("rest", spec(BUY, OrderType.LIMIT, 100, price=640_000), 1, strategy_id="S")
        await pair.settle("A", 2)
        with pytest.raises(InvalidValue, match="UNEXPECTED_TRIGGER_PRICE"):
            pair.a.modify("rest", None, None, 639_000, 2)  # caught before sending
        pair.a.modify("rest", 100, 639_000, None, 2)
        await pair.settle("A", 3)

    pair = run(scenario)
    events = pair.events["A"]
    lonely = [e for e in events if e.client_order_id == "lonely"]
    assert kinds(lonely) == ["OrderAccepted", "OrderCanceled"]
    assert lonely[1].reason == "NO_LIQUIDITY"  # type: ignore[union-attr]
    assert isinstance(events[-1], OrderUpdated)
    assert events[-1].price == 639_000


def test_a_disconnected_client_refuses_at_once() -> None:
    events: list[OrderEvent] = []
    client = FixVenueClient(
        "SIM", INSTRUMENTS, FixSessionConfig("A", "VENUE", port=1), event_sink=events.append
    )
    client.submit("X-1", spec(BUY, OrderType.LIMIT, 100, price=640_000), 5, strategy_id="S")
    client.cancel("X-1", 6)
    client.modify("X-1", 200, None, None, 7)
    assert kinds(events) == ["OrderRejected", "OrderCancelRejected", "OrderModifyRejected"]
    assert {event.reason for event in events} == {"VENUE_DISCONNECTED"}  # type: ignore[union-attr]
    with pytest.raises(InvalidValue, match="UNKNOWN_INSTRUMENT"):
        client.submit("X-2", OrderSpec("ETH.SIM", BUY, OrderType.MARKET, 1), 8, strategy_id="S")


def test_connect_failure_is_a_clear_error() -> None:
    client = FixVenueClient("SIM", INSTRUMENTS, FixSessionConfig("A", "VENUE", port=1))

    async def attempt() -> None:
        await client.connect()

    with pytest.raises(ConnectionError) as error:
        asyncio.run(attempt())
    assert getattr(error.value, "code", None) == "CONNECT_FAILED"


def test_reports_are_deduplicated_and_malformed_ones_change_nothing() -> None:
    async def scenario(pair: Pair) -> None:
        pair.a.submit("A-1", spec(BUY, OrderType.LIMIT, 1000, price=650_000), 1, strategy_id="S")
        await pair.settle("A", 1)
        base = [(35, "8"), (37, "1"), (11, "A-1"), (17, "X-1"), (150, "F"), (39, "1")]
        fill = decode_message(encode_message([*base, (31, "65000.0"), (32, "0.2")]))
        pair.a.on_execution_report(fill)
        pair.a.on_execution_report(fill)  # the same ExecID again (a resend after a reset)
        off_grid = decode_message(
            encode_message([*base[:3], (17, "X-2"), *base[4:], (31, "65000.05"), (32, "0.2")])
        )
        with pytest.raises(ValueError, match="BAD_TAG_VALUE"):
            pair.a.on_execution_report(off_grid)
        stranger = decode_message(
            encode_message([(35, "8"), (11, "NOPE"), (17, "X-3"), (150, "0")])
        )
        pair.a.on_execution_report(stranger)

    pair = run(scenario)
    fills = [e for e in pair.events["A"] if isinstance(e, OrderFilled)]
    assert len(fills) == 1
    assert pair.a.order("A-1").filled == 200
    assert pair.a.duplicate_executions == 1
    assert pair.a.unknown_reports == 1


def test_events_drive_the_oms() -> None:
    oms = OrderManager()

    async def scenario(pair: Pair) -> None:
        pair.a.set_event_sink(lambda event: (oms.apply(event), pair.events["A"].append(event)))
        order_id = oms.next_client_order_id("S1")
        command = SubmitOrder("S1", order_id, spec(BUY, OrderType.LIMIT, 1000, price=650_000), 1)
        oms.create(command, 1)
        oms.apply(OrderSubmitted("S1", ID, order_id, 1, 1))
        pair.a.submit(order_id, command.order, 1, strategy_id="S1")
        await pair.settle("A", 1)
        pair.b.submit("B-1", spec(SELL, OrderType.LIMIT, 400, price=650_000), 2, strategy_id="S")
        pair.b.submit(
            "B-2",
            spec(SELL, OrderType.MARKET, 600, time_in_force=TimeInForce.IOC),
            2,
            strategy_id="S",
        )
        await pair.settle("A", 3)

    pair = run(scenario)
    (order,) = oms.orders()
    assert order.status == OrderStatus.FILLED
    assert order.filled_quantity == 1000
    assert kinds(pair.events["A"]) == ["OrderAccepted", "OrderFilled", "OrderFilled"]


def test_ambiguous_modify_reject_and_unknown_cancel_reject() -> None:
    async def scenario(pair: Pair) -> None:
        pair.a.submit("A-1", spec(BUY, OrderType.LIMIT, 100, price=640_000), 1, strategy_id="S")
        await pair.settle("A", 1)
        pair.a.cancel("A-1", 2)
        await pair.settle("A", 2)
        pair.a.modify("A-1", 200, None, None, 3)
        await pair.settle("A", 3)

    pair = run(scenario)
    last = pair.events["A"][-1]
    assert isinstance(last, OrderModifyRejected)
    assert last.reason == "UNKNOWN_ORDER"


def test_start_reconnects_after_a_drop_and_stop_logs_out() -> None:
    events: list[OrderEvent] = []
    logons: list[int] = []

    async def main() -> FixVenueSimulator:
        simulator = FixVenueSimulator("SIM", INSTRUMENTS, [FixSessionConfig("VENUE", "A")])
        port = await simulator.start()
        config = FixSessionConfig("A", "VENUE", port=port, reconnect_interval=0.1)
        client = FixVenueClient("SIM", INSTRUMENTS, config, event_sink=events.append)
        client.start()
        await wait_until(lambda: client.session.logged_on)
        logons.append(client.session.next_target_seq)
        simulator.session("A").disconnect()
        await wait_until(lambda: not client.session.logged_on)
        client.submit("A-1", spec(BUY, OrderType.LIMIT, 100, price=640_000), 1, strategy_id="S")
        await wait_until(lambda: client.session.logged_on)
        logons.append(client.session.next_target_seq)
        client.submit("A-2", spec(BUY, OrderType.LIMIT, 100, price=640_000), 2, strategy_id="S")
        await wait_until(lambda: len(events) == 2)
        await client.stop()
        await wait_until(lambda: not simulator.session("A").connected)
        await simulator.stop()
        return simulator

    simulator = asyncio.run(main())
    assert kinds(events) == ["OrderRejected", "OrderAccepted"]
    assert events[0].reason == "VENUE_DISCONNECTED"  # type: ignore[union-attr]
    assert logons == [2, 3]  # the second Logon continued the numbers
    assert simulator.venue_of("A").open_orders() == ["A-2"]


def test_session_and_business_rejects_refuse_the_order_or_request() -> None:
    """A venue that answers a NewOrderSingle with a session Reject and a cancel with a
    BusinessMessageReject: the OMS hears OrderRejected and OrderCancelRejected."""
    events: list[OrderEvent] = []
    received: list[str] = []
    reject_reasons: list[str] = []

    async def venue(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        parser = FixStreamParser()
        seq = 0

        def send(msg_type: str, body: list[tuple[int, str | int]]) -> None:
            nonlocal seq
            seq += 1
            header = [
                (35, msg_type),
                (49, "VENUE"),
                (56, "A"),
                (34, seq),
                (52, utc_timestamp(time.time_ns())),
            ]
            writer.write(encode_message([*header, *body]))

        while data := await reader.read(65536):
            for message in parser.feed(data):
                assert isinstance(message, FixMessage)
                received.append(message.msg_type)
                if message.msg_type == "3":
                    reject_reasons.append(message.require(Tag.SESSION_REJECT_REASON))
                number = message.require(Tag.MSG_SEQ_NUM)
                match message.msg_type:
                    case "A":
                        send("A", [(98, 0), (108, 30)])
                    case "D" if message.get(Tag.CL_ORD_ID) == "bad":
                        send("3", [(45, number), (371, 44), (372, "D"), (373, 5), (58, "price")])
                    case "D":
                        cl_ord_id = message.require(Tag.CL_ORD_ID)
                        send("8", [(37, "V1"), (11, cl_ord_id), (17, "E1"), (150, "0"), (39, "0")])
                        # A fill whose MiscFees group says two instances and has one.
                        fill = [(37, "V1"), (11, cl_ord_id), (17, "E2"), (150, "F"), (39, "1")]
                        fees = [(136, 2), (137, "0.1"), (138, "USDT")]
                        send("8", [*fill, (31, "64000.0"), (32, "0.05"), *fees])
                    case "F":
                        ref = message.require(Tag.CL_ORD_ID)
                        send("j", [(45, number), (372, "F"), (379, ref), (380, 3), (58, "halted")])
                    case "5":
                        send("5", [])
        writer.close()

    async def main() -> FixVenueClient:
        server = await asyncio.start_server(venue, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = FixVenueClient(
            "SIM", INSTRUMENTS, FixSessionConfig("A", "VENUE", port=port), event_sink=events.append
        )
        await client.connect()
        client.submit("bad", spec(BUY, OrderType.LIMIT, 100, price=640_000), 1, strategy_id="S")
        client.submit("good", spec(BUY, OrderType.LIMIT, 100, price=640_000), 1, strategy_id="S")
        await wait_until(lambda: len(events) == 2)
        client.cancel("good", 2)
        await wait_until(lambda: len(events) == 3)
        await client.stop()
        server.close()
        await server.wait_closed()
        return client

    client = asyncio.run(main())
    assert kinds(events) == ["OrderRejected", "OrderAccepted", "OrderCancelRejected"]
    assert events[0].reason == "SESSION_REJECT_5: price"  # type: ignore[union-attr]
    assert events[2].reason == "halted"  # type: ignore[union-attr]
    assert client.order("bad").closed
    assert not client.order("good").closed
    assert client.session.stats.rejects_received == 1
    assert received == ["A", "D", "D", "3", "F", "5"]
    assert reject_reasons == ["16"]  # incorrect NumInGroup count
    assert client.order("good").filled == 0  # the malformed fill changed nothing
