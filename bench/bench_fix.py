"""FIX 4.4 speed. The codec: encoding NewOrderSingles, decoding ExecutionReports, and cutting a
TCP byte stream into messages, each over a batch of ``MESSAGES`` messages (ns per message = the
batch time / ``MESSAGES``; messages/s = ``MESSAGES`` / the batch time). The whole path: order
round trips from the venue client to the simulator over loopback (p50/p99 in extra_info).

Run with timings: ``.venv/bin/pytest bench/bench_fix.py --benchmark-enable``. In the test suite
these run once each with timings off, and the round trips are still asserted.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from hftcore import Instrument
from hftcore.model.events import OrderSpec
from hftcore.venues.fix import FixSessionConfig, FixVenueClient, FixVenueSimulator
from hftcore.venues.fix.codec import (
    Field,
    FixMessage,
    FixStreamParser,
    Tag,
    decode_message,
    encode_message,
)

Benchmark = Any
MESSAGES = 10_000
CHUNK = 4096
"""Bytes per socket read in the stream benchmark."""
BTC = Instrument("BTCUSDT.SIM", "0.1", 1, "0.001", 3)


def new_order_single(seq: int) -> list[Field]:
    return [
        (Tag.MSG_TYPE, "D"),
        (Tag.SENDER_COMP_ID, "CLIENT"),
        (Tag.TARGET_COMP_ID, "VENUE"),
        (Tag.MSG_SEQ_NUM, seq),
        (Tag.SENDING_TIME, "20261125-12:00:00.123"),
        (Tag.CL_ORD_ID, f"S1-{seq:06d}"),
        (Tag.SYMBOL, "BTCUSDT"),
        (Tag.SIDE, "1"),
        (Tag.ORDER_QTY, "0.500"),
        (Tag.ORD_TYPE, "2"),
        (Tag.PRICE, "65000.1"),
        (Tag.TIME_IN_FORCE, "1"),
        (Tag.TRANSACT_TIME, "20261125-12:00:00.123"),
    ]


def execution_report(seq: int) -> list[Field]:
    return [
        (Tag.MSG_TYPE, "8"),
        (Tag.SENDER_COMP_ID, "VENUE"),
        (Tag.TARGET_COMP_ID, "CLIENT"),
        (Tag.MSG_SEQ_NUM, seq),
        (Tag.SENDING_TIME, "20261125-12:00:00.123"),
        (Tag.ORDER_ID, str(1_099_511_627_776 + seq)),
        (Tag.CL_ORD_ID, f"S1-{seq:06d}"),
        (Tag.EXEC_ID, f"SIM-{seq}"),
        (Tag.EXEC_TYPE, "F"),
        (Tag.ORD_STATUS, "1"),
        (Tag.SYMBOL, "BTCUSDT"),
        (Tag.SIDE, "1"),
        (Tag.ORDER_QTY, "0.500"),
        (Tag.ORD_TYPE, "2"),
        (Tag.PRICE, "65000.1"),
        (Tag.LAST_QTY, "0.200"),
        (Tag.LAST_PX, "65000.1"),
        (Tag.LEAVES_QTY, "0.300"),
        (Tag.CUM_QTY, "0.200"),
        (Tag.AVG_PX, "65000.1"),
        (Tag.TRANSACT_TIME, "20261125-12:00:00.123"),
        (Tag.LAST_LIQUIDITY_IND, "1"),
        (Tag.NO_MISC_FEES, 1),
        (Tag.MISC_FEE_AMT, "-1.30002"),
        (Tag.MISC_FEE_CURR, "USDT"),
        (Tag.MISC_FEE_TYPE, "4"),
    ]


def as_text(fields: list[Field]) -> list[tuple[int, str]]:
    return [(tag, str(value)) for tag, value in fields]


def test_encode_new_order_single(benchmark: Benchmark) -> None:
    orders = [new_order_single(seq) for seq in range(1, MESSAGES + 1)]
    encoded = benchmark(lambda: [encode_message(fields) for fields in orders])
    assert len(encoded) == MESSAGES
    for fields, raw in zip(orders[:: MESSAGES // 100], encoded[:: MESSAGES // 100], strict=True):
        assert decode_message(raw).fields == as_text(fields)
    benchmark.extra_info["messages"] = MESSAGES


def decode_all(wire: list[bytes]) -> int:
    """Decodes every message, keeping none (as a session does): the number of fills."""
    return sum(decode_message(raw).get(Tag.EXEC_TYPE) == "F" for raw in wire)


def test_decode_execution_report(benchmark: Benchmark) -> None:
    reports = [execution_report(seq) for seq in range(1, MESSAGES + 1)]
    wire = [encode_message(fields) for fields in reports]
    assert benchmark(decode_all, wire) == MESSAGES
    assert [decode_message(raw).fields for raw in wire] == [as_text(f) for f in reports]
    benchmark.extra_info["messages"] = MESSAGES


def parse_stream(chunks: list[bytes]) -> list[str]:
    """Feeds the chunks to a parser as a socket would: the ExecIDs of the messages."""
    parser = FixStreamParser()
    exec_ids = []
    for chunk in chunks:
        for item in parser.feed(chunk):
            assert isinstance(item, FixMessage)
            exec_ids.append(item.require(Tag.EXEC_ID))
    assert parser.garbage_bytes == 0
    return exec_ids


def test_parse_execution_report_stream(benchmark: Benchmark) -> None:
    stream = b"".join(encode_message(execution_report(seq)) for seq in range(1, MESSAGES + 1))
    chunks = [stream[start : start + CHUNK] for start in range(0, len(stream), CHUNK)]
    exec_ids = benchmark(parse_stream, chunks)
    assert exec_ids == [f"SIM-{seq}" for seq in range(1, MESSAGES + 1)]
    benchmark.extra_info["messages"] = MESSAGES


ROUND_TRIPS = 500


def order_round_trips(count: int) -> list[int]:
    """``count`` limit orders, one at a time, from a FixVenueClient to the FIX venue simulator
    over loopback TCP: ns from ``submit`` to the ``OrderAccepted`` event of each (encode, the
    session, the socket, the simulator's decode, the matching engine, its ExecutionReport back,
    our decode and mapping)."""

    async def run() -> list[int]:
        simulator = FixVenueSimulator("SIM", {BTC: "USDT"}, [FixSessionConfig("VENUE", "US")])
        port = await simulator.start()
        accepted = asyncio.Event()
        client = FixVenueClient(
            "SIM",
            {BTC: "USDT"},
            FixSessionConfig("US", "VENUE", port=port),
            event_sink=lambda event: accepted.set(),
        )
        await client.connect()
        latencies = []
        for n in range(count):
            accepted.clear()
            start = time.perf_counter_ns()
            client.submit(
                f"S1-{n}", OrderSpec(BTC.instrument_id, 0, 1, 1, price=600_000), n, strategy_id="S1"
            )
            await accepted.wait()
            latencies.append(time.perf_counter_ns() - start)
        await client.stop()
        await simulator.stop()
        assert simulator.venue_of("US").open_orders() == [f"S1-{n}" for n in range(count)]
        return latencies

    return asyncio.run(run())


def test_order_round_trip_over_loopback(benchmark: Benchmark) -> None:
    latencies = benchmark.pedantic(order_round_trips, args=(ROUND_TRIPS,), rounds=3)
    assert len(latencies) == ROUND_TRIPS
    ordered = sorted(latencies)
    benchmark.extra_info["p50_us"] = ordered[len(ordered) // 2] / 1000
    benchmark.extra_info["p99_us"] = ordered[len(ordered) * 99 // 100] / 1000
