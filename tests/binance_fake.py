"""A local Binance for tests: a market whose every book change is logged (the reference book is
a plain dict replayed from that log), a combined-stream WebSocket server (``websockets``) that
plays a script per connection, and a REST server (aiohttp) for depth snapshots, signed orders
and the user data stream, all in Binance's documented formats."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web
from websockets.asyncio.server import ServerConnection, serve

PRICE_DECIMALS = 8
"""Binance pads prices and quantities to 8 decimals."""
LOT_DECIMALS = 5  # quantities in lots of 0.00001


def qty_text(lots: int) -> str:
    whole, frac = divmod(lots, 10**LOT_DECIMALS)
    return f"{whole}.{frac:0{LOT_DECIMALS}d}".ljust(len(str(whole)) + 1 + PRICE_DECIMALS, "0")


def exact_price_text(ticks: int) -> str:
    whole, frac = divmod(ticks, 100)
    return f"{whole}.{frac:02d}".ljust(len(str(whole)) + 1 + PRICE_DECIMALS, "0")


@dataclass
class DepthEvent:
    first: int
    last: int
    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]
    event_time: int

    def frame(self, stream: str, symbol: str = "BTCUSDT") -> str:
        return json.dumps(
            {
                "stream": stream,
                "data": {
                    "e": "depthUpdate",
                    "E": self.event_time,
                    "s": symbol,
                    "U": self.first,
                    "u": self.last,
                    "b": [[exact_price_text(p), qty_text(q)] for p, q in self.bids],
                    "a": [[exact_price_text(p), qty_text(q)] for p, q in self.asks],
                },
            }
        )


@dataclass
class Market:
    """The exchange's truth: a log of single-level updates, each with its update id, grouped
    into depth events. The book at any update id is the log replayed into two dicts."""

    seed: int = 1
    mid: int = 6_500_000
    log: list[tuple[int, int, int, int]] = field(default_factory=list)
    next_id: int = 1000
    clock_ms: int = 1_700_000_000_000

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        for offset in range(1, 21):  # an initial book: 20 levels a side
            self._record(0, self.mid - offset, self.rng.randint(1, 500_000))
            self._record(1, self.mid + offset, self.rng.randint(1, 500_000))

    def _record(self, side: int, price: int, qty: int) -> None:
        self.next_id += 1
        self.log.append((self.next_id, side, price, qty))

    @property
    def last_id(self) -> int:
        return self.next_id

    def book(self, at_id: int | None = None) -> tuple[dict[int, int], dict[int, int]]:
        """Reference book (bids, asks) after update ``at_id`` (default: all)."""
        sides: tuple[dict[int, int], dict[int, int]] = ({}, {})
        for update_id, side, price, qty in self.log:
            if at_id is not None and update_id > at_id:
                break
            if qty:
                sides[side][price] = qty
            else:
                sides[side].pop(price, None)
        return sides

    def event(self) -> DepthEvent:
        """Several updates (1-4 levels, sometimes the same level twice) as one event."""
        first = self.next_id + 1
        bids, asks = self.book()
        for _ in range(self.rng.randint(1, 4)):
            side = self.rng.randint(0, 1)
            levels = bids if side == 0 else asks
            if levels and self.rng.random() < 0.3:
                price = self.rng.choice(sorted(levels))
                qty = 0
            else:
                distance = self.rng.randint(1, 25)
                price = self.mid - distance if side == 0 else self.mid + distance
                qty = self.rng.randint(1, 500_000)
            self._record(side, price, qty)
            if qty:
                levels[price] = qty
            else:
                levels.pop(price, None)
        touched = [entry for entry in self.log if entry[0] >= first]
        final: dict[tuple[int, int], int] = {}
        for _, side, price, qty in touched:
            final[(side, price)] = qty
        self.clock_ms += 100
        return DepthEvent(
            first,
            self.next_id,
            [(p, q) for (s, p), q in final.items() if s == 0],
            [(p, q) for (s, p), q in final.items() if s == 1],
            self.clock_ms,
        )

    def snapshot_body(self, at_id: int | None = None) -> dict[str, Any]:
        last = self.last_id if at_id is None else at_id
        bids, asks = self.book(last)
        return {
            "lastUpdateId": last,
            "bids": [
                [exact_price_text(p), qty_text(q)] for p, q in sorted(bids.items(), reverse=True)
            ],
            "asks": [[exact_price_text(p), qty_text(q)] for p, q in sorted(asks.items())],
        }

    def expected_levels(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        bids, asks = self.book()
        return sorted(bids.items(), reverse=True), sorted(asks.items())


Step = Callable[["FakeBinance", ServerConnection], Any]


class FakeBinance:
    """WebSocket + REST servers on 127.0.0.1. ``scripts``: one list of async steps per
    connection (after the last script a connection just stays open)."""

    def __init__(self, market: Market, scripts: list[list[Step]], secret: str = "s3cr3t") -> None:
        self.market = market
        self.markets = {"BTCUSDT": market}
        """Every symbol's market; snapshots are served by the ``symbol`` asked for."""
        self.scripts = list(scripts)
        self.secret = secret
        self.api_key = "k3y"
        self.depth_requests = 0
        self.snapshot_hold: asyncio.Event | None = None
        self.snapshot_requested = asyncio.Event()
        self.stale_snapshots: list[int] = []
        self.connections = 0
        self.pongs = 0
        self.paths: list[str] = []
        self.scripts_done = asyncio.Event()
        self.rest_calls: list[tuple[str, str, dict[str, str]]] = []
        self.order_handler: Callable[[str, str, dict[str, str]], Any] | None = None
        self.user_connections: list[ServerConnection] = []
        self.user_connected = asyncio.Event()
        self.rate_limit_next = 0
        self.clock_ahead_ms = 0
        """How far Binance's clock is ahead of ours."""
        self._ws_server: Any = None
        self._runner: web.AppRunner | None = None
        self.ws_url = ""
        self.rest_url = ""

    async def __aenter__(self) -> FakeBinance:
        self._ws_server = await serve(self._on_connection, "127.0.0.1", 0)
        port = self._ws_server.sockets[0].getsockname()[1]
        self.ws_url = f"ws://127.0.0.1:{port}"
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._on_rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        rest_port = self._runner.addresses[0][1]
        self.rest_url = f"http://127.0.0.1:{rest_port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._ws_server.close()
        await self._ws_server.wait_closed()
        assert self._runner is not None
        await self._runner.cleanup()

    # ----- WebSocket ------------------------------------------------------------------------

    async def _on_connection(self, connection: ServerConnection) -> None:
        path = connection.request.path if connection.request else ""
        self.paths.append(path)
        if path.startswith("/ws/"):
            self.user_connections.append(connection)
            self.user_connected.set()
            await connection.wait_closed()
            return
        self.connections += 1
        if self.scripts:
            script = self.scripts.pop(0)
            for step in script:
                if await step(self, connection) == "closed":
                    return
            if not self.scripts:
                self.scripts_done.set()
        await connection.wait_closed()

    # ----- REST -----------------------------------------------------------------------------

    async def _on_rest(self, request: web.Request) -> web.Response:
        params = dict(parse_qsl(urlsplit(str(request.url)).query))
        self.rest_calls.append((request.method, request.path, params))
        if self.rate_limit_next:
            self.rate_limit_next -= 1
            return web.json_response(
                {"code": -1003, "msg": "Too many requests"},
                status=429,
                headers={"Retry-After": "0"},
            )
        if request.path == "/api/v3/time":
            return web.json_response({"serverTime": self.server_time_ms()})
        if request.path == "/api/v3/depth":
            return await self._depth(params["symbol"])
        if request.path == "/api/v3/userDataStream":
            if request.headers.get("X-MBX-APIKEY") != self.api_key:
                return web.json_response(
                    {"code": -2014, "msg": "API-key format invalid."}, status=401
                )
            return web.json_response(
                {"listenKey": "LISTENKEY1"} if request.method == "POST" else {}
            )
        if request.path.startswith("/api/v3/order") or request.path == "/api/v3/myTrades":
            if not self.signature_ok(str(request.url), request.headers.get("X-MBX-APIKEY")):
                return web.json_response({"code": -1022, "msg": "Signature invalid."}, status=400)
            assert self.order_handler is not None
            status, body = self.order_handler(request.method, request.path, params)
            return web.json_response(body, status=status)
        return web.json_response({"code": -1, "msg": "unknown path"}, status=404)

    def server_time_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.clock_ahead_ms

    def signature_ok(self, url: str, api_key: str | None) -> bool:
        query = urlsplit(url).query
        payload, _, signature = query.rpartition("&signature=")
        expected = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        return api_key == self.api_key and hmac.compare_digest(signature, expected)

    async def _depth(self, symbol: str) -> web.Response:
        self.depth_requests += 1
        market = self.markets[symbol]
        at_id = market.last_id
        self.snapshot_requested.set()
        if self.stale_snapshots:
            at_id = self.stale_snapshots.pop(0)
        if self.snapshot_hold is not None:
            hold, self.snapshot_hold = self.snapshot_hold, None
            await hold.wait()
        return web.json_response(market.snapshot_body(at_id))

    async def push_user_event(self, event: dict[str, Any]) -> None:
        await self.user_connections[-1].send(json.dumps(event))


# ----- script steps ----------------------------------------------------------------------------

STREAM = "btcusdt@depth@100ms"


def emit(count: int, symbol: str = "BTCUSDT") -> Step:
    async def step(server: FakeBinance, connection: ServerConnection) -> None:
        market, stream = server.markets[symbol], f"{symbol.lower()}@depth@100ms"
        for _ in range(count):
            await connection.send(market.event().frame(stream, symbol))

    return step


def happen_unseen(count: int) -> Step:
    """Market events that happen but are not delivered (a gap, or while disconnected)."""

    async def step(server: FakeBinance, connection: ServerConnection) -> None:
        for _ in range(count):
            server.market.event()

    return step


def swapped() -> Step:
    """Two events delivered in the wrong order."""

    async def step(server: FakeBinance, connection: ServerConnection) -> None:
        first, second = server.market.event(), server.market.event()
        await connection.send(second.frame(STREAM))
        await connection.send(first.frame(STREAM))

    return step


def raw(frame: str | bytes) -> Step:
    async def step(server: FakeBinance, connection: ServerConnection) -> None:
        await connection.send(frame)

    return step


def corrupted(replace: tuple[str, str]) -> Step:
    """A real event whose frame arrives damaged (the market has it; the client cannot)."""

    async def step(server: FakeBinance, connection: ServerConnection) -> None:
        frame = server.market.event().frame(STREAM)
        await connection.send(frame.replace(*replace, 1))

    return step


def wait_snapshot_request() -> Step:
    async def step(server: FakeBinance, connection: ServerConnection) -> None:
        await asyncio.wait_for(server.snapshot_requested.wait(), 10)
        server.snapshot_requested.clear()

    return step


def wait_depth_requests(count: int) -> Step:
    async def step(server: FakeBinance, connection: ServerConnection) -> None:
        async def poll() -> None:
            while server.depth_requests < count:
                await asyncio.sleep(0.002)

        await asyncio.wait_for(poll(), 10)

    return step


def release_snapshot(hold: asyncio.Event) -> Step:
    async def step(server: FakeBinance, connection: ServerConnection) -> None:
        hold.set()

    return step


def ping_client() -> Step:
    """A protocol ping, as Binance sends every 20 s: the client must answer with a pong."""

    async def step(server: FakeBinance, connection: ServerConnection) -> None:
        pong = await connection.ping()
        await asyncio.wait_for(pong, 5)
        server.pongs += 1

    return step


def close() -> Step:
    async def step(server: FakeBinance, connection: ServerConnection) -> str:
        await connection.close()
        return "closed"

    return step
