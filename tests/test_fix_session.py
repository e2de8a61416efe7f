"""The FIX session layer, driven byte by byte: a raw TCP peer (messages built with our codec,
whose bytes are checked in test_fix_codec.py and by QuickFIX in test_fix_interop.py) talks to
the venue simulator's acceptor. Heartbeats and test requests, garbage and bad checksums,
session rejects, sequence numbers too high / too low, PossDupFlag, SequenceReset in both modes,
resend requests, and sequence numbers kept across restarts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec
import pytest
from fix_helpers import wait_until
from hftcore import Instrument
from hftcore.errors import ConfigError
from hftcore.model.events import OrderEvent, OrderSpec
from hftcore.model.orders import OrderType
from hftcore.venues.fix import (
    FixMessage,
    FixSessionConfig,
    FixSessionStore,
    FixStreamParser,
    FixVenueClient,
    FixVenueSimulator,
    encode_message,
)
from hftcore.venues.fix.codec import Field, Tag
from hftcore.venues.fix.session import parse_utc_timestamp, utc_timestamp

BTC = Instrument("BTCUSDT.SIM", "0.1", 1, "0.001", 3, maker_fee="-0.0001", taker_fee="0.0002")
INSTRUMENTS = {BTC: "USDT"}


class RawPeer:
    """A FIX counterparty with no session logic: it sends what the test says, numbered as the
    test says, and collects what arrives."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.parser = FixStreamParser()
        self.seq = 1
        self.received: list[FixMessage] = []

    @classmethod
    async def connect(cls, port: int) -> RawPeer:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    def send(
        self,
        msg_type: str,
        body: list[Field],
        *,
        seq: int | None = None,
        header: list[Field] | None = None,
        sender: str = "CLIENT",
    ) -> None:
        number = self.seq if seq is None else seq
        if seq is None:
            self.seq += 1
        self.writer.write(
            encode_message(
                [
                    (Tag.MSG_TYPE, msg_type),
                    (Tag.SENDER_COMP_ID, sender),
                    (Tag.TARGET_COMP_ID, "VENUE"),
                    (Tag.MSG_SEQ_NUM, number),
                    *(header or []),
                    (Tag.SENDING_TIME, utc_timestamp(time.time_ns())),
                    *body,
                ]
            )
        )

    def logon(self, heartbeat: int = 30, reset: bool = False) -> None:
        body: list[Field] = [(Tag.ENCRYPT_METHOD, 0), (Tag.HEART_BT_INT, heartbeat)]
        if reset:
            body.append((Tag.RESET_SEQ_NUM_FLAG, "Y"))
        self.send("A", body)

    def new_order(self, cl_ord_id: str, *, seq: int | None = None, **header: str) -> None:
        self.send("D", order_body(cl_ord_id), seq=seq, header=list(header_fields(header)))

    async def receive(self, msg_type: str, timeout: float = 10.0) -> FixMessage:
        """The next message of ``msg_type`` not yet taken (others stay in ``received``)."""

        async def read() -> FixMessage:
            while True:
                for index, message in enumerate(self.received):
                    if message.msg_type == msg_type:
                        return self.received.pop(index)
                data = await self.reader.read(65536)
                if not data:
                    raise AssertionError(f"connection closed while waiting for {msg_type}")
                for item in self.parser.feed(data):
                    assert isinstance(item, FixMessage), item
                    self.received.append(item)

        return await asyncio.wait_for(read(), timeout)

    async def closed(self, timeout: float = 10.0) -> None:
        """Reads until the other side closes (fails after ``timeout``)."""

        async def drain() -> None:
            while data := await self.reader.read(65536):
                self.received += [m for m in self.parser.feed(data) if isinstance(m, FixMessage)]

        await asyncio.wait_for(drain(), timeout)
        self.close()

    def close(self) -> None:
        self.writer.close()


def header_fields(header: dict[str, str]) -> list[Field]:
    tags = {"poss_dup": Tag.POSS_DUP_FLAG, "orig_sending_time": Tag.ORIG_SENDING_TIME}
    return [(tags[name], value) for name, value in header.items()]


def order_body(cl_ord_id: str, side: str = "1", price: str = "65000.0") -> list[Field]:
    return [
        (Tag.CL_ORD_ID, cl_ord_id),
        (Tag.SYMBOL, "BTCUSDT"),
        (Tag.SIDE, side),
        (Tag.TRANSACT_TIME, utc_timestamp(time.time_ns())),
        (Tag.ORDER_QTY, "0.5"),
        (Tag.ORD_TYPE, "2"),
        (Tag.PRICE, price),
        (Tag.TIME_IN_FORCE, "1"),
    ]


Scenario = Callable[[FixVenueSimulator, int], Awaitable[None]]


def run(scenario: Scenario, data_dir: Path | None = None) -> FixVenueSimulator:
    """Runs ``scenario(simulator, port)`` against a fresh simulator with one session,
    VENUE <- CLIENT, and returns the simulator (stopped) for inspection."""

    async def main() -> FixVenueSimulator:
        simulator = FixVenueSimulator(
            "SIM",
            INSTRUMENTS,
            [
                FixSessionConfig(
                    "VENUE", "CLIENT", data_dir=None if data_dir is None else str(data_dir)
                )
            ],
        )
        port = await simulator.start()
        try:
            await scenario(simulator, port)
        finally:
            await simulator.stop()
        return simulator

    return asyncio.run(main())


async def logged_on_peer(port: int, heartbeat: int = 30) -> RawPeer:
    peer = await RawPeer.connect(port)
    peer.logon(heartbeat)
    logon = await peer.receive("A")
    assert logon.get(Tag.HEART_BT_INT) == str(heartbeat)
    return peer


def test_test_request_heartbeats_and_silence_timeout() -> None:
    seen: dict[str, FixMessage] = {}

    async def scenario(simulator: FixVenueSimulator, port: int) -> None:
        peer = await logged_on_peer(port, heartbeat=1)
        peer.send("1", [(Tag.TEST_REQ_ID, "ping-7")])
        answer = await peer.receive("0")
        seen["answer"] = answer
        # Now silence: the venue heartbeats, then asks with a TestRequest, then hangs up.
        seen["test_request"] = await peer.receive("1")
        await peer.closed()

    simulator = run(scenario)
    assert seen["answer"].get(Tag.TEST_REQ_ID) == "ping-7"
    assert seen["test_request"].get(Tag.TEST_REQ_ID) == "TEST-1"
    stats = simulator.session("CLIENT").stats
    assert stats.test_requests_sent == 1
    assert stats.heartbeat_timeouts == 1


def test_garbage_and_a_bad_checksum_are_counted_and_the_gap_is_resent() -> None:
    seen: dict[str, FixMessage] = {}

    async def scenario(simulator: FixVenueSimulator, port: int) -> None:
        peer = await logged_on_peer(port)
        peer.writer.write(b"\x00\xffnot FIX at all")
        good = encode_message([(35, "D"), (49, "CLIENT"), (56, "VENUE"), (34, 2)])
        peer.writer.write(good[:-4] + b"999\x01")  # the checksum of message 2 is wrong
        peer.seq = 3
        peer.new_order("B")  # message 3: ahead of the expected 2
        request = await peer.receive("2")
        seen["request"] = request
        sending_time = utc_timestamp(time.time_ns())
        resent = {"poss_dup": "Y", "orig_sending_time": sending_time}
        peer.new_order("A", seq=2, **resent)
        peer.new_order("B", seq=3, **resent)
        seen["a"] = await peer.receive("8")
        seen["b"] = await peer.receive("8")
        peer.close()

    simulator = run(scenario)
    assert (seen["request"].get(Tag.BEGIN_SEQ_NO), seen["request"].get(Tag.END_SEQ_NO)) == (
        "2",
        "0",
    )
    assert [seen[key].get(Tag.CL_ORD_ID) for key in ("a", "b")] == ["A", "B"]
    assert simulator.venue_of("CLIENT").open_orders() == ["A", "B"]
    session = simulator.session("CLIENT")
    assert session.stats.garbled_messages == 1
    assert session.stats.garbage_bytes >= len(b"\x00\xffnot FIX at all")
    assert session.stats.resend_requests_sent == 1
    assert session.next_target_seq == 4


@pytest.mark.parametrize(
    ("msg_type", "body", "header", "reason", "ref_tag"),
    [
        (
            "D",
            [
                (Tag.CL_ORD_ID, "X"),
                (Tag.SYMBOL, "BTCUSDT"),
                (Tag.ORDER_QTY, "1"),
                (Tag.ORD_TYPE, "1"),
            ],
            [],
            "1",
            "54",
        ),
        ("D", [*order_body("X", side="9")], [], "5", "54"),
        ("D", [*order_body("X", price="65000.05")], [], "5", "44"),
        ("D", [*order_body("X")], [(Tag.POSS_DUP_FLAG, "Y")], "1", "122"),
        ("2", [(Tag.BEGIN_SEQ_NO, 0), (Tag.END_SEQ_NO, 0)], [], "5", "7"),
    ],
    ids=[
        "missing-side",
        "unknown-side",
        "price-off-grid",
        "possdup-without-origsendingtime",
        "resend-from-zero",
    ],
)
def test_bad_messages_get_a_session_reject_and_change_nothing(
    msg_type: str, body: list[Field], header: list[Field], reason: str, ref_tag: str
) -> None:
    seen: dict[str, FixMessage] = {}

    async def scenario(simulator: FixVenueSimulator, port: int) -> None:
        peer = await logged_on_peer(port)
        peer.send(msg_type, body, header=header)
        seen["reject"] = await peer.receive("3")
        peer.new_order("GOOD")
        seen["report"] = await peer.receive("8")
        peer.close()

    simulator = run(scenario)
    reject = seen["reject"]
    assert reject.get(Tag.REF_SEQ_NUM) == "2"
    assert reject.get(Tag.SESSION_REJECT_REASON) == reason
    assert reject.get(Tag.REF_TAG_ID) == ref_tag
    assert reject.get(Tag.REF_MSG_TYPE) == msg_type
    assert seen["report"].get(Tag.CL_ORD_ID) == "GOOD"
    assert simulator.venue_of("CLIENT").open_orders() == ["GOOD"]
    assert simulator.session("CLIENT").stats.rejects_sent == 1
    assert simulator.session("CLIENT").next_target_seq == 4


def test_orders_the_venue_cannot_take_get_a_rejected_report() -> None:
    seen: list[FixMessage] = []

    async def scenario(simulator: FixVenueSimulator, port: int) -> None:
        peer = await logged_on_peer(port)
        peer.new_order("A")
        seen.append(await peer.receive("8"))
        peer.new_order("A")  # the same ClOrdID again
        seen.append(await peer.receive("8"))
        market_with_price = [*order_body("M")]
        market_with_price[5] = (Tag.ORD_TYPE, "1")
        peer.send("D", market_with_price)
        seen.append(await peer.receive("8"))
        peer.send("F", [(Tag.ORIG_CL_ORD_ID, "NOPE"), (Tag.CL_ORD_ID, "C1"), (Tag.SIDE, "1")])
        seen.append(await peer.receive("9"))
        peer.close()

    simulator = run(scenario)
    accepted, duplicate, market, cancel_reject = seen
    assert accepted.get(Tag.EXEC_TYPE) == "0"
    assert (duplicate.get(Tag.EXEC_TYPE), duplicate.get(Tag.ORD_REJ_REASON)) == ("8", "6")
    assert duplicate.get(Tag.TEXT) == "DUPLICATE_CLIENT_ORDER_ID"
    assert (market.get(Tag.EXEC_TYPE), market.get(Tag.TEXT)) == ("8", "UNEXPECTED_PRICE")
    assert cancel_reject.get(Tag.CXL_REJ_REASON) == "1"
    assert cancel_reject.get(Tag.CXL_REJ_RESPONSE_TO) == "1"
    assert simulator.venue_of("CLIENT").open_orders() == ["A"]


def test_unknown_msg_type_and_malformed_field_are_rejected() -> None:
    seen: list[FixMessage] = []

    async def scenario(simulator: FixVenueSimulator, port: int) -> None:
        peer = await logged_on_peer(port)
        peer.send("ZZ", [(Tag.TEXT, "what")])
        seen.append(await peer.receive("3"))
        body = b"35=D\x0149=CLIENT\x0156=VENUE\x0134=3\x01junk\x01"
        head = b"8=FIX.4.4\x019=" + str(len(body)).encode() + b"\x01"
        peer.writer.write(head + body + b"10=%03d\x01" % (sum(head + body) % 256))
        seen.append(await peer.receive("3"))
        peer.seq = 4
        peer.new_order("AFTER")
        await peer.receive("8")
        peer.close()

    simulator = run(scenario)
    unknown, malformed = seen
    assert (unknown.get(Tag.SESSION_REJECT_REASON), unknown.get(Tag.REF_SEQ_NUM)) == ("11", "2")
    assert (malformed.get(Tag.SESSION_REJECT_REASON), malformed.get(Tag.REF_SEQ_NUM)) == ("6", "3")
    assert simulator.venue_of("CLIENT").open_orders() == ["AFTER"]
    assert simulator.session("CLIENT").stats.garbled_messages == 1


def test_possdup_below_expected_is_ignored_and_plain_one_ends_the_session() -> None:
    seen: dict[str, FixMessage] = {}

    async def scenario(simulator: FixVenueSimulator, port: int) -> None:
        peer = await logged_on_peer(port)
        peer.new_order("A")
        await peer.receive("8")
        stamp = utc_timestamp(time.time_ns())
        peer.new_order("A", seq=2, poss_dup="Y", orig_sending_time=stamp)  # a duplicate
        peer.send("1", [(Tag.TEST_REQ_ID, "still-there")])
        seen["heartbeat"] = await peer.receive("0")
        peer.new_order("C", seq=2)  # too low, not a possible duplicate
        seen["logout"] = await peer.receive("5")
        await peer.closed()

    simulator = run(scenario)
    assert seen["heartbeat"].get(Tag.TEST_REQ_ID) == "still-there"
    assert "MsgSeqNum too low, expecting 4 but received 2" in (seen["logout"].get(Tag.TEXT) or "")
    assert simulator.venue_of("CLIENT").open_orders() == ["A"]
    assert simulator.session("CLIENT").stats.duplicates_ignored == 1


def test_sequence_reset_in_both_modes() -> None:
    seen: dict[str, FixMessage] = {}

    async def scenario(simulator: FixVenueSimulator, port: int) -> None:
        session = simulator.session("CLIENT")
        peer = await logged_on_peer(port)
        peer.send("4", [(Tag.NEW_SEQ_NO, 10)])  # Reset mode: MsgSeqNum ignored
        await wait_until(lambda: session.next_target_seq == 10)
        peer.seq = 10
        peer.send("4", [(Tag.NEW_SEQ_NO, 5)], seq=10)  # Reset backwards: refused
        seen["reject"] = await peer.receive("3")
        peer.send("4", [(Tag.GAP_FILL_FLAG, "Y"), (Tag.NEW_SEQ_NO, 20)], seq=10)
        await wait_until(lambda: session.next_target_seq == 20)
        peer.new_order("AFTER-GAP", seq=20)
        seen["report"] = await peer.receive("8")
        peer.close()

    simulator = run(scenario)
    assert seen["reject"].get(Tag.SESSION_REJECT_REASON) == "5"
    assert seen["report"].get(Tag.CL_ORD_ID) == "AFTER-GAP"
    assert simulator.session("CLIENT").stats.gap_fills_received == 1
    assert simulator.session("CLIENT").next_target_seq == 21


def test_resend_request_is_answered_with_gap_fills_and_possdup_resends() -> None:
    seen: dict[str, object] = {}

    async def scenario(simulator: FixVenueSimulator, port: int) -> None:
        peer = await logged_on_peer(port)
        peer.new_order("A")
        original = await peer.receive("8")
        peer.send("1", [(Tag.TEST_REQ_ID, "t")])
        await peer.receive("0")
        peer.send("2", [(Tag.BEGIN_SEQ_NO, 1), (Tag.END_SEQ_NO, 0)])
        seen["original"] = original
        seen["gap_fill_logon"] = await peer.receive("4")
        seen["resent"] = await peer.receive("8")
        seen["gap_fill_heartbeat"] = await peer.receive("4")
        peer.close()

    run(scenario)
    original, resent = seen["original"], seen["resent"]
    assert isinstance(original, FixMessage)
    assert isinstance(resent, FixMessage)
    first, last = seen["gap_fill_logon"], seen["gap_fill_heartbeat"]
    assert isinstance(first, FixMessage)
    assert isinstance(last, FixMessage)
    assert (
        first.get(Tag.MSG_SEQ_NUM),
        first.get(Tag.NEW_SEQ_NO),
        first.get(Tag.GAP_FILL_FLAG),
    ) == (
        "1",
        "2",
        "Y",
    )
    assert resent.get(Tag.MSG_SEQ_NUM) == original.get(Tag.MSG_SEQ_NUM) == "2"
    assert resent.get(Tag.POSS_DUP_FLAG) == "Y"
    assert resent.get(Tag.ORIG_SENDING_TIME) == original.get(Tag.SENDING_TIME)
    assert resent.get(Tag.EXEC_ID) == original.get(Tag.EXEC_ID)
    assert (last.get(Tag.MSG_SEQ_NUM), last.get(Tag.NEW_SEQ_NO)) == ("3", "4")


def test_wrong_comp_id_is_rejected_and_logged_out_and_unknown_sessions_refused() -> None:
    seen: dict[str, FixMessage] = {}

    async def scenario(simulator: FixVenueSimulator, port: int) -> None:
        stranger = await RawPeer.connect(port)
        stranger.send("A", [(Tag.ENCRYPT_METHOD, 0), (Tag.HEART_BT_INT, 30)], sender="NOBODY")
        await stranger.closed()
        peer = await logged_on_peer(port)
        peer.send("0", [], sender="IMPOSTOR")
        seen["reject"] = await peer.receive("3")
        seen["logout"] = await peer.receive("5")
        await peer.closed()

    simulator = run(scenario)
    assert simulator.rejected_connections == 1
    assert seen["reject"].get(Tag.SESSION_REJECT_REASON) == "9"
    assert seen["logout"].get(Tag.TEXT) == "CompID problem"


def test_sequence_numbers_survive_a_restart_and_reset_on_logon_starts_over(tmp_path: Path) -> None:
    events: list[OrderEvent] = []
    numbers: list[tuple[int, int]] = []

    def client(port: int, reset: bool = False) -> FixVenueClient:
        config = FixSessionConfig(
            "CLIENT", "VENUE", port=port, data_dir=str(tmp_path / "client"), reset_on_logon=reset
        )
        return FixVenueClient("SIM", INSTRUMENTS, config, event_sink=events.append)

    async def first(simulator: FixVenueSimulator, port: int) -> None:
        ours = client(port)
        await ours.connect()
        ours.submit(
            "S1-1",
            OrderSpec("BTCUSDT.SIM", 0, OrderType.LIMIT, 500, price=650_000),
            1,
            strategy_id="S1",
        )
        await wait_until(lambda: len(events) == 1)
        await ours.stop()
        numbers.append((ours.session.next_sender_seq, ours.session.next_target_seq))

    async def second(simulator: FixVenueSimulator, port: int) -> None:
        ours = client(port)
        numbers.append((ours.session.next_sender_seq, ours.session.next_target_seq))
        await ours.connect()
        ours.submit(
            "S1-2",
            OrderSpec("BTCUSDT.SIM", 0, OrderType.LIMIT, 500, price=650_000),
            1,
            strategy_id="S1",
        )
        await wait_until(lambda: len(events) == 2)
        assert ours.session.stats.resend_requests_sent == 0
        assert simulator.session("CLIENT").stats.resend_requests_sent == 0
        await ours.stop()
        numbers.append((ours.session.next_sender_seq, ours.session.next_target_seq))

    async def third(simulator: FixVenueSimulator, port: int) -> None:
        ours = client(port, reset=True)
        await ours.connect()
        numbers.append((ours.session.next_sender_seq, ours.session.next_target_seq))
        await ours.stop()

    venue_dir = tmp_path / "venue"
    run(first, venue_dir)
    run(second, venue_dir)
    run(third, venue_dir)
    # Logon, D, Logout sent; Logon, report, Logout received.
    assert numbers[0] == (4, 4)
    assert numbers[1] == (4, 4)  # read back from the store by a new client
    assert numbers[2] == (7, 7)
    assert numbers[3] == (2, 2)  # ResetSeqNumFlag: both sides started at 1 again
    assert [event.client_order_id for event in events] == ["S1-1", "S1-2"]


def test_store_keeps_numbers_and_messages(tmp_path: Path) -> None:
    store = FixSessionStore(tmp_path, "US", "THEM")
    store.record_sent(1, b"one")
    store.record_sent(2, b"two")
    store.set_next_target_seq(9)
    store.close()
    again = FixSessionStore(tmp_path, "US", "THEM")
    assert (again.next_sender_seq, again.next_target_seq) == (3, 9)
    assert again.sent_messages(2, 5) == {2: b"two"}
    again.reset()
    assert (again.next_sender_seq, again.next_target_seq, again.sent_messages(1, 9)) == (1, 1, {})
    with pytest.raises(ConfigError, match="INVALID_COMP_ID"):
        FixSessionStore(tmp_path, "../etc", "THEM")


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"sender_comp_id": ""}, "INVALID_COMP_ID"),
        ({"target_comp_id": "US"}, "INVALID_COMP_ID"),
        ({"heartbeat_interval": 0}, "INVALID_HEARTBEAT_INTERVAL"),
        ({"port": 70000}, "INVALID_PORT"),
        ({"logon_timeout": 0}, "INVALID_CONFIG"),
    ],
)
def test_config_is_validated(fields: dict[str, object], code: str) -> None:
    values: dict[str, object] = {"sender_comp_id": "US", "target_comp_id": "THEM", **fields}
    with pytest.raises(ConfigError) as error:
        FixSessionConfig(**values)  # type: ignore[arg-type]
    assert error.value.code == code


def test_config_decodes_from_toml_data() -> None:
    data = {"sender_comp_id": "US", "target_comp_id": "THEM", "heartbeat_interval": 5}
    config = msgspec.convert(data, FixSessionConfig)
    assert (config.heartbeat_interval, config.reset_on_logon, config.data_dir) == (5, False, None)
    with pytest.raises(msgspec.ValidationError, match="INVALID_HEARTBEAT_INTERVAL"):
        msgspec.convert({**data, "heartbeat_interval": -1}, FixSessionConfig)
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.convert({**data, "heartbeat": 5}, FixSessionConfig)


def test_utc_timestamps() -> None:
    ts = 1_700_000_000_123_456_789  # 2023-11-14 22:13:20 UTC
    assert utc_timestamp(ts) == "20231114-22:13:20.123"
    assert parse_utc_timestamp("20231114-22:13:20.123456789") == ts
    assert parse_utc_timestamp("20231114-22:13:20.123") == ts - 456_789
    assert parse_utc_timestamp("20231114-22:13:20") == ts - 123_456_789
    for bad in ("2026-11-25", "20261125-08:40:00.12", "20261325-08:40:00"):
        with pytest.raises(ValueError, match="BAD_TIMESTAMP"):
            parse_utc_timestamp(bad)
