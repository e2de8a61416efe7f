"""A local Kraken WebSocket v2 for tests: a market whose full book is a plain dict, of which
the subscribed depth is what a client sees (the reference book); a server answering
subscribe / unsubscribe / ping and playing a script, sending book snapshots and updates with
checksums computed here from the wire text, per Kraken's documented algorithm; the
authenticated side (token REST endpoint, add_order / cancel_order, executions)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import random
import time
import zlib
from collections.abc import Callable
from typing import Any

from aiohttp import web
from websockets.asyncio.server import ServerConnection, serve

SYMBOL = "BTC/USD"
PRICE_DECIMALS = 1
QTY_DECIMALS = 8


def price_text(ticks: int) -> str:
    whole, frac = divmod(ticks, 10**PRICE_DECIMALS)
    return f"{whole}.{frac:0{PRICE_DECIMALS}d}"


def qty_text(lots: int) -> str:
    whole, frac = divmod(lots, 10**QTY_DECIMALS)
    return f"{whole}.{frac:0{QTY_DECIMALS}d}"


def checksum_of(asks: list[tuple[str, str]], bids: list[tuple[str, str]]) -> int:
    """Kraken's algorithm over wire text: top 10 asks low to high, then top 10 bids high to
    low; '.' removed and leading zeros stripped from price and quantity."""
    text = "".join(
        price.replace(".", "").lstrip("0") + qty.replace(".", "").lstrip("0")
        for price, qty in asks[:10] + bids[:10]
    )
    return zlib.crc32(text.encode())


def level_json(levels: list[tuple[int, int]]) -> str:
    # JSON numbers written with full precision, as Kraken sends them
    return (
        "[" + ",".join(f'{{"price":{price_text(p)},"qty":{qty_text(q)}}}' for p, q in levels) + "]"
    )


class Market:
    """The exchange's full book; clients see its top ``depth`` levels."""

    def __init__(self, seed: int = 1, depth: int = 10) -> None:
        self.rng = random.Random(seed)
        self.depth = depth
        self.mid = 450_000
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        for offset in range(1, 16):
            self.bids[self.mid - offset * 3] = self.rng.randint(1, 10**8)
            self.asks[self.mid + offset * 3] = self.rng.randint(1, 10**8)

    def visible(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        bids = sorted(self.bids.items(), reverse=True)[: self.depth]
        asks = sorted(self.asks.items())[: self.depth]
        return bids, asks

    def checksum(self) -> int:
        bids, asks = self.visible()
        return checksum_of(
            [(price_text(p), qty_text(q)) for p, q in asks],
            [(price_text(p), qty_text(q)) for p, q in bids],
        )

    def snapshot_frame(self) -> str:
        bids, asks = self.visible()
        return (
            f'{{"channel":"book","type":"snapshot","data":[{{"symbol":"{SYMBOL}",'
            f'"bids":{level_json(bids)},"asks":{level_json(asks)},"checksum":{self.checksum()}}}]}}'
        )

    def change(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Changes the full book a little; returns what a depth subscriber is sent: levels
        that appeared or changed in view, and removals (qty 0) of levels deleted from the book
        (a level merely pushed out of view is not sent)."""
        old_bids, old_asks = self.visible()
        deleted: list[tuple[int, int]] = []
        for _ in range(self.rng.randint(1, 3)):
            side = self.rng.randint(0, 1)
            levels = self.bids if side == 0 else self.asks
            if self.rng.random() < 0.3 and levels:
                price = self.rng.choice(sorted(levels, reverse=side == 0)[: self.depth + 2])
                del levels[price]
                deleted.append((side, price))
            else:
                step = self.rng.randint(1, 40)
                price = self.mid - step if side == 0 else self.mid + step
                levels[price] = self.rng.randint(1, 10**8)
        new_bids, new_asks = self.visible()
        sent: tuple[list[tuple[int, int]], list[tuple[int, int]]] = ([], [])
        for side, old, new in ((0, old_bids, new_bids), (1, old_asks, new_asks)):
            old_map, new_map = dict(old), dict(new)
            for price, qty in new:
                if old_map.get(price) != qty:
                    sent[side].append((price, qty))
            for price in old_map:
                if price not in new_map and (side, price) in deleted:
                    sent[side].append((price, 0))
        return sent

    def update_frame(
        self, bids: list[tuple[int, int]], asks: list[tuple[int, int]], checksum: int
    ) -> str:
        return (
            f'{{"channel":"book","type":"update","data":[{{"symbol":"{SYMBOL}",'
            f'"bids":{level_json(bids)},"asks":{level_json(asks)},"checksum":{checksum},'
            '"timestamp":"2026-11-25T12:00:00.123456Z"}]}'
        )


Step = Callable[["FakeKraken", ServerConnection], Any]


class FakeKraken:
    """Public v2 WebSocket (scripted) + authenticated WebSocket + token REST endpoint."""

    def __init__(self, market: Market, scripts: list[list[Step]]) -> None:
        self.market = market
        self.scripts = scripts
        self.requests: list[dict[str, Any]] = []
        self.book_subscribed = False
        self.subscriptions = 0
        self.resubscribed = asyncio.Event()
        self.answer_pings = True
        self.connections = 0
        self.sent = 0
        self.scripts_done = asyncio.Event()
        self.api_key = "kr4k3n"
        self.api_secret = base64.b64encode(b"kraken secret bytes").decode()
        self.token_requests = 0
        self.auth_connection: ServerConnection | None = None
        self.auth_ready = asyncio.Event()
        self.order_answer: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None
        self.raw_private: list[str] = []
        self.private_frame_ns = 0
        """``perf_counter_ns`` when the latest authenticated frame came in, before any parsing."""
        self.open_orders: list[dict[str, Any]] = []
        """Listed in the executions snapshot of every authenticated connection."""
        self._servers: list[Any] = []
        self._runner: web.AppRunner | None = None
        self.ws_url = self.ws_auth_url = self.rest_url = ""

    async def __aenter__(self) -> FakeKraken:
        public = await serve(self._on_public, "127.0.0.1", 0)
        private = await serve(self._on_private, "127.0.0.1", 0)
        self._servers = [public, private]
        self.ws_url = f"ws://127.0.0.1:{public.sockets[0].getsockname()[1]}/v2"
        self.ws_auth_url = f"ws://127.0.0.1:{private.sockets[0].getsockname()[1]}/v2"
        app = web.Application()
        app.router.add_post("/0/private/GetWebSocketsToken", self._on_token)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.rest_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        for server in self._servers:
            server.close()
            await server.wait_closed()
        assert self._runner is not None
        await self._runner.cleanup()

    async def send(self, connection: ServerConnection, frame: str | bytes) -> None:
        self.sent += 1
        await connection.send(frame)

    # ----- public ---------------------------------------------------------------------------

    async def _on_public(self, connection: ServerConnection) -> None:
        self.connections += 1
        self.book_subscribed = False
        reader = asyncio.ensure_future(self._read(connection))
        try:
            if self.scripts:
                for step in self.scripts.pop(0):
                    if await step(self, connection) == "closed":
                        return
                if not self.scripts:
                    self.scripts_done.set()
            await connection.wait_closed()
        finally:
            reader.cancel()

    async def _read(self, connection: ServerConnection) -> None:
        async for frame in connection:
            request = json.loads(frame)
            self.requests.append(request)
            method, params = request.get("method"), request.get("params", {})
            answer: dict[str, Any] = {
                "method": method,
                "success": True,
                "req_id": request.get("req_id"),
            }
            if method == "ping":
                if self.answer_pings:
                    await self.send(connection, json.dumps({**answer, "method": "pong"}))
                continue
            channel = params.get("channel")
            answer["result"] = {"channel": channel, "symbol": SYMBOL}
            await self.send(connection, json.dumps(answer))
            if channel == "book" and method == "subscribe":
                self.book_subscribed = True
                self.subscriptions += 1
                await self.send(connection, self.market.snapshot_frame())
                if self.subscriptions > 1:
                    self.resubscribed.set()
            elif channel == "book" and method == "unsubscribe":
                self.book_subscribed = False

    # ----- private --------------------------------------------------------------------------

    async def _on_token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        body = await request.text()
        nonce = dict(pair.split("=") for pair in body.split("&"))["nonce"]
        digest = hashlib.sha256((nonce + body).encode()).digest()
        expected = base64.b64encode(
            hmac.new(
                base64.b64decode(self.api_secret), request.path.encode() + digest, hashlib.sha512
            ).digest()
        ).decode()
        if (
            request.headers.get("API-Key") != self.api_key
            or request.headers.get("API-Sign") != expected
        ):
            return web.json_response({"error": ["EAPI:Invalid key"]})
        return web.json_response(
            {"error": [], "result": {"token": f"TOKEN{self.token_requests}", "expires": 900}}
        )

    async def _on_private(self, connection: ServerConnection) -> None:
        self.auth_connection = connection
        async for frame in connection:
            self.private_frame_ns = time.perf_counter_ns()
            self.raw_private.append(str(frame))
            request = json.loads(frame)
            self.requests.append(request)
            method = request["method"]
            if method == "subscribe":
                await connection.send(
                    json.dumps(
                        {
                            "method": "subscribe",
                            "success": True,
                            "result": {"channel": "executions"},
                        }
                    )
                )
                snapshot = {"channel": "executions", "type": "snapshot", "data": self.open_orders}
                await connection.send(json.dumps(snapshot))
                self.auth_ready.set()
            elif self.order_answer is not None:
                answer = self.order_answer(request)
                if answer is not None:
                    await connection.send(json.dumps(answer))

    async def push_execution(self, entries: list[dict[str, Any]]) -> None:
        assert self.auth_connection is not None
        await self.auth_connection.send(
            json.dumps({"channel": "executions", "type": "update", "data": entries})
        )


# ----- script steps ----------------------------------------------------------------------------


def wait_subscribed() -> Step:
    async def step(server: FakeKraken, connection: ServerConnection) -> None:
        async def poll() -> None:
            while not server.book_subscribed:
                await asyncio.sleep(0.002)

        await asyncio.wait_for(poll(), 10)

    return step


def updates(count: int, *, lose: bool = False, bad_checksum: bool = False) -> Step:
    """``count`` market changes in view; each is sent while subscribed (a lost one is not; a
    bad one carries a wrong checksum)."""

    async def step(server: FakeKraken, connection: ServerConnection) -> None:
        for _ in range(count):
            bids, asks = server.market.change()
            while not (bids or asks):  # only changes a subscriber sees count
                bids, asks = server.market.change()
            if not server.book_subscribed or lose:
                continue
            checksum = server.market.checksum() ^ (1 if bad_checksum else 0)
            await server.send(connection, server.market.update_frame(bids, asks, checksum))

    return step


def wait_resubscribed() -> Step:
    async def step(server: FakeKraken, connection: ServerConnection) -> None:
        await asyncio.wait_for(server.resubscribed.wait(), 10)
        server.resubscribed.clear()

    return step


def raw(frame: str | bytes) -> Step:
    async def step(server: FakeKraken, connection: ServerConnection) -> None:
        await server.send(connection, frame)

    return step


def pause(seconds: float) -> Step:
    async def step(server: FakeKraken, connection: ServerConnection) -> None:
        await asyncio.sleep(seconds)

    return step


def close() -> Step:
    async def step(server: FakeKraken, connection: ServerConnection) -> str:
        await connection.close()
        return "closed"

    return step
