"""Tick-to-order latency on loopback through a whole live node: a Kraken v2 book update frame
sent by a local Kraken server -> WebSocket -> decode -> checksum-verified book -> node ->
strategy ``on_book`` -> ``submit_order`` -> OMS -> risk gate -> Kraken order client -> encode ->
``add_order`` frame -> received by the local server.

Closed loop: the server sends the next update only after the order for the previous one
arrived, so each sample is one tick's latency, not queueing. Two numbers per tick:

* **loopback**: server send of the update -> server receipt of the ``add_order`` (both WebSocket
  hops, the event loop, the whole node);
* **in process**: the client's ``on_frame`` entry -> the moment the ``add_order`` frame is
  handed to the socket, split into the data path (frame -> the strategy's ``on_book``) and the
  order path (``on_book`` -> frame out: OMS, risk gate, the order client's queue and rate
  limiter, encoding).

The local server runs in the same process and event loop as the node, so its work is in the
loopback numbers, and can delay the order client's task (the order path) too. The loop is the
one ``hftcore live`` and ``hftcore paper`` run on: uvloop's when installed (the ``live`` extra).

Percentiles are exact (every sample kept). The run asserts correctness too: one order per
update, in order, each with its own client order id, and the node's book equal to the market's.

Run with timings: ``.venv/bin/pytest bench/bench_crypto_loopback.py --benchmark-enable -s``.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import msgspec
import numpy as np
import pytest
from hftcore.node.clock import LiveClock
from hftcore.node.config import parse_config
from hftcore.node.kernel import TradingNode
from hftcore.node.paper import new_event_loop
from hftcore.node.strategy import Strategy
from hftcore.venues.kraken import KrakenConfig, KrakenExecution, attach_kraken
from hftcore.venues.live import RateLimit, ReconnectPolicy
from websockets.asyncio.server import ServerConnection

from tests.kraken_fake import FakeKraken, Market, wait_subscribed

TICKS = 2_000
WARMUP = 200
INSTRUMENT_ID = "BTC/USD.KRAKEN"
Benchmark = Any


class QuoteEveryTick(Strategy):
    """On every book update after the first, a one-lot buy 50 ticks under the best bid."""

    def __init__(self, strategy_id: str, params: dict[str, Any] | None = None) -> None:
        super().__init__(strategy_id, params)
        self.books = 0
        self.order_ids: list[str] = []
        self.frame_in: dict[str, int] = {}
        self.on_book_at: dict[str, int] = {}
        self.last_frame_in = 0

    def on_start(self) -> None:
        self.subscribe_book(INSTRUMENT_ID)

    def on_book(self, instrument_id: str) -> None:
        self.books += 1
        if self.books == 1:
            return  # the snapshot: the server's clock starts with the first update
        called = time.perf_counter_ns()
        bid = self.cache.book(instrument_id).best_bid()
        assert bid is not None
        client_order_id = self.submit_order(self.limit(instrument_id, 0, 1, bid[0] - 50))
        self.order_ids.append(client_order_id)
        self.frame_in[client_order_id] = self.last_frame_in
        self.on_book_at[client_order_id] = called


def run_loopback() -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        sent_at: list[int] = []
        received_at: dict[str, int] = {}
        received = asyncio.Event()

        def answer(request: dict[str, Any]) -> dict[str, Any] | None:
            client_order_id = request["params"]["cl_ord_id"]
            # the frame's arrival, not this call after the fake server's own JSON parse
            received_at[client_order_id] = server.private_frame_ns
            received.set()
            return {
                "method": "add_order",
                "req_id": request["req_id"],
                "success": True,
                "result": {"order_id": f"O-{client_order_id}"},
            }

        async def paced(server: FakeKraken, connection: ServerConnection) -> None:
            market = server.market
            for _ in range(TICKS):
                bids, asks = market.change()
                while not (bids or asks):
                    bids, asks = market.change()
                frame = market.update_frame(bids, asks, market.checksum())
                received.clear()
                sent_at.append(time.perf_counter_ns())
                await server.send(connection, frame)
                await asyncio.wait_for(received.wait(), 10)

        market = Market(seed=3)
        async with FakeKraken(market, [[wait_subscribed(), paced]]) as server:
            server.order_answer = answer
            config = parse_config(
                {
                    "node": {"mode": "live", "starting_balances": {"USD": "100000000"}},
                    "instruments": [
                        {
                            "instrument_id": INSTRUMENT_ID,
                            "tick_size": "0.1",
                            "price_precision": 1,
                            "lot_size": "0.00000001",
                            "size_precision": 8,
                        }
                    ],
                    "risk": {"max_open_orders": 1_048_576},
                },
                environ={},
            )
            node = TradingNode(config, clock=LiveClock())
            strategy = QuoteEveryTick("TICK")
            node.add_strategy(strategy)
            unlimited = RateLimit(rate=1e9, burst=1e9)
            kraken = KrakenConfig(
                mode="live",
                ws_url=server.ws_url,
                ws_auth_url=server.ws_auth_url,
                rest_url=server.rest_url,
                reconnect=ReconnectPolicy(initial_delay_s=0.01, max_delay_s=0.05),
                messages=unlimited,
                orders=unlimited,
            )
            environ = {"KRAKEN_API_KEY": server.api_key, "KRAKEN_API_SECRET": server.api_secret}
            adapter = attach_kraken(node, kraken, [INSTRUMENT_ID], environ=environ)
            client = adapter.venue
            assert isinstance(client, KrakenExecution)
            handed_out: list[tuple[int, bytes]] = []
            feed_on_frame = adapter.feed.on_frame
            session_send, session_send_now = client.session.send, client.session.send_now

            def timed_on_frame(frame: str | bytes, ts_init: int) -> None:
                strategy.last_frame_in = time.perf_counter_ns()
                feed_on_frame(frame, ts_init)

            # Frames reach the socket by send (queued) or send_now (at once): both are
            # stamped as they are called; which of them carried an order is read after the run.
            async def timed_send(message: bytes) -> None:
                handed_out.append((time.perf_counter_ns(), message))
                await session_send(message)

            def timed_send_now(message: bytes) -> None:
                handed_out.append((time.perf_counter_ns(), message))
                session_send_now(message)

            adapter.feed.on_frame = timed_on_frame  # type: ignore[method-assign]
            client.session.send = timed_send  # type: ignore[method-assign]
            client.session.send_now = timed_send_now  # type: ignore[method-assign]
            node.start()
            adapter.start()
            await asyncio.wait_for(server.scripts_done.wait(), 120)
            await adapter.stop()
            node.stop()
            order_ids = strategy.order_ids
            frame_out: dict[str, int] = {}
            for stamp, message in handed_out:
                sent = msgspec.json.decode(message)
                if sent.get("method") == "add_order":
                    frame_out[sent["params"]["cl_ord_id"]] = stamp
            return {
                "order_ids": order_ids,
                "received": [received_at.get(cid) for cid in order_ids],
                "sent_at": sent_at,
                "in_process": [frame_out[cid] - strategy.frame_in[cid] for cid in order_ids],
                "data_path": [
                    strategy.on_book_at[cid] - strategy.frame_in[cid] for cid in order_ids
                ],
                "order_path": [frame_out[cid] - strategy.on_book_at[cid] for cid in order_ids],
                "book": node.cache.book(INSTRUMENT_ID),
                "market": market,
                "counters": adapter.feed.counters,
            }

    # The loop the live and paper runners use (uvloop when installed), so the product is measured.
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main())


def percentiles(samples_ns: list[int]) -> dict[str, float]:
    values = np.asarray(samples_ns[WARMUP:], dtype=np.float64) / 1_000.0
    return {
        "p50_us": float(np.percentile(values, 50)),
        "p99_us": float(np.percentile(values, 99)),
        "p99.9_us": float(np.percentile(values, 99.9)),
        "max_us": float(values.max()),
    }


@pytest.mark.timeout(300)
def test_tick_to_order_loopback(benchmark: Benchmark) -> None:
    outcome = benchmark.pedantic(run_loopback, rounds=1, iterations=1)
    order_ids = outcome["order_ids"]
    assert len(order_ids) == TICKS
    assert len(set(order_ids)) == TICKS
    assert None not in outcome["received"]
    loopback = [
        received - sent
        for received, sent in zip(outcome["received"], outcome["sent_at"], strict=True)
    ]
    assert all(sample > 0 for sample in loopback)
    assert all(sample > 0 for sample in outcome["in_process"])
    counters = outcome["counters"]
    assert (counters.malformed, counters.checksum_mismatches, counters.resyncs) == (0, 0, 0)
    bids, asks = outcome["market"].visible()
    book = outcome["book"]
    assert (book.levels(0), book.levels(1)) == (bids, asks)
    benchmark.extra_info["loopback"] = percentiles(loopback)
    benchmark.extra_info["in_process"] = percentiles(outcome["in_process"])
    # where the in-process time goes: frame -> strategy callback, callback -> frame out
    benchmark.extra_info["data_path"] = percentiles(outcome["data_path"])
    benchmark.extra_info["order_path"] = percentiles(outcome["order_path"])
    print(json.dumps(benchmark.extra_info, indent=1))
