"""A local fake of Alpaca for end-to-end tests of the real alpaca-py client.

It speaks the parts of Alpaca's protocols hftcore uses, in their documented formats:

- REST (HTTP/1.1, JSON; keys in ``APCA-API-KEY-ID`` / ``APCA-API-SECRET-KEY``): ``POST/GET
  /v2/orders``, ``GET/PATCH/DELETE /v2/orders/{id}``, ``GET /v2/orders:by_client_order_id``,
  ``GET /v2/positions``, ``GET /v2/account``, ``GET /v2/stocks/bars`` and
  ``GET /v1beta3/crypto/us/bars`` (paged by ``next_page_token``). Errors are
  ``{"code", "message"}`` bodies with 403/404/422 statuses.
- The trading stream (JSON in binary frames): ``authenticate`` -> ``authorization``, ``listen``
  -> ``listening``, then ``trade_updates`` events.
- The market data stream (msgpack): ``[{"T":"success","msg":"connected"}]`` on connect,
  ``auth``, ``subscribe`` -> ``subscription``, then trade/quote/bar messages.

Everything runs on one event loop in a background thread; tests drive it through thread-safe
methods (``fill``, ``publish``, ``drop_trading``, ...), which return once done.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgpack
from websockets.asyncio.server import ServerConnection, serve

KEY_ID = "test-key-id"
SECRET_KEY = "test-secret-key"
_REASONS = {200: "OK", 204: "No Content", 403: "Forbidden", 404: "Not Found", 422: "Unprocessable"}
_OPEN = {"new", "accepted", "partially_filled", "held"}


def _iso(ns: int) -> str:
    seconds, nanos = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")


class FakeAlpaca:
    """See the module docs. ``buying_power`` bounds the notional of buy orders (403 above)."""

    def __init__(self, *, symbols: tuple[str, ...] = ("AAPL", "MSFT"), page_size: int = 2) -> None:
        self.symbols = set(symbols)
        self.page_size = page_size
        self.buying_power = Decimal(100_000)
        self.orders: dict[str, dict[str, Any]] = {}
        self.positions: dict[str, Decimal] = {}
        self.bars: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, str]] = []
        self.trading_sockets: list[ServerConnection] = []
        self.trading_connections = 0
        self.data_sockets: dict[ServerConnection, dict[str, set[str]]] = {}
        self.data_connections = 0
        self.subscriptions: list[dict[str, list[str]]] = []
        self._clock = itertools.count(1_700_000_000_000_000_000, 1_000_000)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._servers: list[Any] = []
        self._http_writers: set[asyncio.StreamWriter] = set()
        self.lose_next: str | None = None
        """``"answer"``: the next POST /v2/orders is executed but its connection drops before
        the answer; ``"request"``: it drops before the order is taken; ``"stall"``: it is
        executed and the answer never comes (the connection stays silent for 1 s)."""

    # ----- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> FakeAlpaca:
        self._thread.start()
        self.http_port, self.trading_port, self.data_port = self._run(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        self._run(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def trading_stream_url(self) -> str:
        return f"ws://127.0.0.1:{self.trading_port}/stream"

    @property
    def data_stream_url(self) -> str:
        return f"ws://127.0.0.1:{self.data_port}/v2/iex"

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    def call(self, function: Callable[[], Any]) -> Any:
        """Runs ``function`` on the server's loop (where all its state lives)."""

        async def run() -> Any:
            result = function()
            if asyncio.iscoroutine(result):
                result = await result
            return result

        return self._run(run())

    async def _start(self) -> tuple[int, int, int]:
        http = await asyncio.start_server(self._http, "127.0.0.1", 0)
        trading = await serve(self._trading, "127.0.0.1", 0)
        data = await serve(self._data, "127.0.0.1", 0)
        self._servers = [http, trading, data]
        return (
            http.sockets[0].getsockname()[1],
            next(iter(trading.sockets)).getsockname()[1],
            next(iter(data.sockets)).getsockname()[1],
        )

    async def _stop(self) -> None:
        for server in self._servers:
            server.close()
        for socket in [*self.trading_sockets, *self.data_sockets]:
            await socket.close()
        for writer in list(self._http_writers):
            writer.close()
        for server in self._servers:
            await server.wait_closed()
        current = asyncio.current_task()
        await asyncio.gather(
            *(task for task in asyncio.all_tasks() if task is not current), return_exceptions=True
        )

    # ----- REST -----------------------------------------------------------------------------

    async def _http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._http_writers.add(writer)
        try:
            while line := await reader.readline():
                method, target, _ = line.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while (header := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = header.decode().partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                lost, self.lose_next = (
                    (self.lose_next, None) if method == "POST" else (None, self.lose_next)
                )
                if lost == "request":
                    break
                status, payload = self._route(method, target, headers, body)
                if lost == "stall":
                    await asyncio.sleep(1)
                if lost in ("answer", "stall"):
                    break
                data = b"" if payload is None else json.dumps(payload).encode()
                writer.write(
                    f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._http_writers.discard(writer)
            writer.close()

    def _route(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any]:
        url = urlsplit(target)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        path = url.path
        self.requests.append((method, path))
        if (
            headers.get("apca-api-key-id") != KEY_ID
            or headers.get("apca-api-secret-key") != SECRET_KEY
        ):
            return 403, {"code": 40310000, "message": "request is not authorized"}
        if method == "POST" and path == "/v2/orders":
            return self._submit(json.loads(body))
        if method == "GET" and path == "/v2/orders":
            wanted = query.get("status", "open")
            found = [
                order
                for order in self.orders.values()
                if wanted == "all" or (order["status"] in _OPEN) == (wanted == "open")
            ]
            return 200, found
        if method == "GET" and path == "/v2/orders:by_client_order_id":
            for order in self.orders.values():
                if order["client_order_id"] == query.get("client_order_id"):
                    return 200, order
            return 404, {"code": 40410000, "message": "order not found"}
        if path.startswith("/v2/orders/"):
            order = self.orders.get(path.rsplit("/", 1)[1])
            if order is None:
                return 404, {"code": 40410000, "message": "order not found"}
            if method == "GET":
                return 200, order
            if method == "DELETE":
                return self._cancel(order)
            if method == "PATCH":
                return self._replace(order, json.loads(body))
        if method == "GET" and path == "/v2/positions":
            return 200, [
                {
                    "symbol": symbol,
                    "qty": _text(qty),
                    "side": "long" if qty > 0 else "short",
                    "avg_entry_price": "100.5",
                }
                for symbol, qty in self.positions.items()
                if qty
            ]
        if method == "GET" and path == "/v2/account":
            return 200, {
                "id": "acc-1",
                "status": "ACTIVE",
                "currency": "USD",
                "cash": "100000.25",
                "equity": "100500.75",
                "buying_power": _text(self.buying_power),
                "trading_blocked": False,
            }
        if method == "GET" and path in ("/v2/stocks/bars", "/v1beta3/crypto/us/bars"):
            return self._bars(query)
        return 404, {"code": 40410000, "message": f"no route {method} {path}"}

    def _new_order(self, request: dict[str, Any], **fields: Any) -> dict[str, Any]:
        now = _iso(next(self._clock))
        order = {
            "id": str(uuid.uuid4()),
            "client_order_id": request.get("client_order_id") or str(uuid.uuid4()),
            "created_at": now,
            "updated_at": now,
            "submitted_at": now,
            "symbol": request["symbol"],
            "asset_class": "us_equity",
            "qty": _text(Decimal(str(request["qty"]))),
            "filled_qty": "0",
            "filled_avg_price": None,
            "order_class": request.get("order_class") or "simple",
            "type": request["type"],
            "order_type": request["type"],
            "side": request["side"],
            "time_in_force": request["time_in_force"],
            "limit_price": None,
            "stop_price": None,
            "trail_price": None,
            "trail_percent": None,
            "status": "accepted",
            "extended_hours": False,
            "legs": None,
            "replaced_by": None,
            "replaces": None,
        }
        order.update(fields)
        self.orders[order["id"]] = order
        return order

    def _submit(self, request: dict[str, Any]) -> tuple[int, Any]:
        if request.get("symbol") not in self.symbols:
            return 422, {"code": 42210000, "message": f"asset {request.get('symbol')} not found"}
        if any(
            o["client_order_id"] == request.get("client_order_id") for o in self.orders.values()
        ):
            return 422, {"code": 40010001, "message": "client_order_id must be unique"}
        price = request.get("limit_price") or request.get("stop_price") or 100
        if (
            request["side"] == "buy"
            and Decimal(str(price)) * Decimal(str(request["qty"])) > self.buying_power
        ):
            return 403, {"code": 40310000, "message": "insufficient buying power"}
        order_class = request.get("order_class") or "simple"
        prices = {
            "limit_price": None
            if request.get("limit_price") is None
            else str(request["limit_price"]),
            "stop_price": None if request.get("stop_price") is None else str(request["stop_price"]),
            "trail_price": None
            if request.get("trail_price") is None
            else str(request["trail_price"]),
            "trail_percent": (
                None if request.get("trail_percent") is None else str(request["trail_percent"])
            ),
        }
        if order_class == "oco":
            prices["limit_price"] = str(request["take_profit"]["limit_price"])
        order = self._new_order(request, **prices)
        if order_class in ("bracket", "oco"):
            exit_side = (
                order["side"]
                if order_class == "oco"
                else ("sell" if order["side"] == "buy" else "buy")
            )
            leg_status = "held" if order_class == "bracket" else "new"
            legs = []
            if order_class == "bracket":
                legs.append(
                    self._new_order(
                        {**request, "side": exit_side, "type": "limit", "client_order_id": None},
                        limit_price=str(request["take_profit"]["limit_price"]),
                        status=leg_status,
                    )
                )
            stop = request["stop_loss"]
            legs.append(
                self._new_order(
                    {
                        **request,
                        "side": exit_side,
                        "type": "stop" if stop.get("limit_price") is None else "stop_limit",
                        "client_order_id": None,
                    },
                    stop_price=str(stop["stop_price"]),
                    limit_price=None
                    if stop.get("limit_price") is None
                    else str(stop["limit_price"]),
                    status=leg_status,
                )
            )
            order["legs"] = legs
            for leg in legs:
                leg["parent"] = order["id"]
        self._later(self._event("new", order, status="new"))
        if order_class == "oco":
            for leg in order["legs"]:
                self._later(self._event("new", leg, status="new"))
        return 200, {**order, "status": "accepted"}

    def _cancel(self, order: dict[str, Any]) -> tuple[int, Any]:
        if order["status"] not in _OPEN:
            return 422, {"code": 42210000, "message": "order is not cancelable"}
        self._later(self._event("canceled", order, status="canceled"))
        for leg in order.get("legs") or []:
            if leg["status"] in _OPEN:
                self._later(self._event("canceled", leg, status="canceled"))
        return 204, None

    def _replace(self, order: dict[str, Any], request: dict[str, Any]) -> tuple[int, Any]:
        if order["status"] not in _OPEN:
            return 422, {"code": 42210000, "message": "order is not replaceable"}
        fields = {
            "limit_price": str(request.get("limit_price", order["limit_price"]))
            if (request.get("limit_price") or order["limit_price"]) is not None
            else None,
            "stop_price": str(request.get("stop_price", order["stop_price"]))
            if (request.get("stop_price") or order["stop_price"]) is not None
            else None,
            "replaces": order["id"],
            "filled_qty": order["filled_qty"],
            "filled_avg_price": order["filled_avg_price"],
        }
        new = self._new_order(
            {
                **order,
                "qty": request.get("qty", order["qty"]),
                "client_order_id": request.get("client_order_id"),
                "order_class": order["order_class"],
            },
            **fields,
        )
        order["replaced_by"] = new["id"]
        self._later(self._event("replaced", order, status="replaced"))
        self._later(self._event("new", new, status="new"))
        return 200, new

    def _bars(self, query: dict[str, str]) -> tuple[int, Any]:
        symbol = query["symbols"]
        rows = self.bars.get(symbol, [])
        start = int(query.get("page_token") or 0)
        page = rows[start : start + self.page_size]
        next_token = str(start + self.page_size) if start + self.page_size < len(rows) else None
        return 200, {"bars": {symbol: page} if page else {}, "next_page_token": next_token}

    # ----- trading stream -------------------------------------------------------------------

    def _event(
        self, event: str, order: dict[str, Any], *, status: str, **extra: Any
    ) -> dict[str, Any]:
        order["status"] = status
        order["updated_at"] = _iso(next(self._clock))
        return {
            "stream": "trade_updates",
            "data": {
                "event": event,
                "timestamp": order["updated_at"],
                "order": dict(order),
                **extra,
            },
        }

    def _later(self, message: dict[str, Any]) -> None:
        self._loop.create_task(self._broadcast(json.dumps(message).encode()))

    async def _broadcast(self, frame: bytes) -> None:
        for socket in list(self.trading_sockets):
            try:
                await socket.send(frame)  # binary frames, as Alpaca's paper stream sends
            except Exception:  # a socket closing under us is a dropped connection
                self.trading_sockets.remove(socket)

    async def _trading(self, socket: ServerConnection) -> None:
        authorized = False
        try:
            async for raw in socket:
                message = json.loads(raw)
                if message.get("action") == "authenticate":
                    data = message.get("data", {})
                    authorized = (
                        data.get("key_id") == KEY_ID and data.get("secret_key") == SECRET_KEY
                    )
                    status = "authorized" if authorized else "unauthorized"
                    await socket.send(
                        json.dumps(
                            {
                                "stream": "authorization",
                                "data": {"status": status, "action": "authenticate"},
                            }
                        ).encode()
                    )
                elif message.get("action") == "listen" and authorized:
                    self.trading_connections += 1
                    self.trading_sockets.append(socket)
                    await socket.send(
                        json.dumps(
                            {"stream": "listening", "data": {"streams": ["trade_updates"]}}
                        ).encode()
                    )
        finally:
            if socket in self.trading_sockets:
                self.trading_sockets.remove(socket)

    def fill(self, client_order_id: str, qty: str, price: str, *, broadcast: bool = True) -> None:
        """Fills ``qty`` of an order at ``price`` (``broadcast=False``: while the stream is down,
        the update is lost as it would be for a disconnected client)."""

        def run() -> None:
            order = self.order_by_client_id(client_order_id)
            filled = Decimal(order["filled_qty"]) + Decimal(qty)
            previous = Decimal(order["filled_avg_price"] or 0) * Decimal(order["filled_qty"])
            order["filled_qty"] = _text(filled)
            order["filled_avg_price"] = _text((previous + Decimal(price) * Decimal(qty)) / filled)
            done = filled >= Decimal(order["qty"])
            sign = 1 if order["side"] == "buy" else -1
            self.positions[order["symbol"]] = self.positions.get(
                order["symbol"], Decimal(0)
            ) + sign * Decimal(qty)
            message = self._event(
                "fill" if done else "partial_fill",
                order,
                status="filled" if done else "partially_filled",
                execution_id=str(uuid.uuid4()),
                price=price,
                qty=qty,
                position_qty=_text(self.positions[order["symbol"]]),
            )
            if broadcast:
                self._later(message)
            if done:
                self._complete(order)

        self.call(run)

    def _complete(self, order: dict[str, Any]) -> None:
        """Bracket/OCO rules: a filled entry releases its legs, a filled leg cancels the other."""
        for leg in order.get("legs") or []:
            if leg["status"] == "held":
                self._later(self._event("new", leg, status="new"))
            elif order["order_class"] == "oco" and leg["status"] in _OPEN:
                self._later(self._event("canceled", leg, status="canceled"))
        parent = self.orders.get(order.get("parent", ""))
        if parent is not None:
            for sibling in [parent, *(parent.get("legs") or [])]:
                if (
                    sibling is not order
                    and sibling["status"] in _OPEN
                    and sibling.get("legs") is None
                ):
                    self._later(self._event("canceled", sibling, status="canceled"))
            if parent["order_class"] == "oco" and parent["status"] in _OPEN:
                self._later(self._event("canceled", parent, status="canceled"))

    def order_by_client_id(self, client_order_id: str) -> dict[str, Any]:
        return next(o for o in self.orders.values() if o["client_order_id"] == client_order_id)

    def send_trading_raw(self, frame: bytes | str) -> None:
        async def run() -> None:
            for socket in list(self.trading_sockets):
                await socket.send(frame)

        self.call(run)

    def send_trade_update(self, event: str, client_order_id: str, **extra: Any) -> None:
        def run() -> None:
            order = self.order_by_client_id(client_order_id)
            self._later(self._event(event, order, status=order["status"], **extra))

        self.call(run)

    def external_order(self, symbol: str) -> None:
        """An order placed elsewhere (another session, the dashboard), seen on the stream."""

        def run() -> None:
            request = {
                "symbol": symbol,
                "qty": 1,
                "side": "buy",
                "type": "market",
                "time_in_force": "day",
            }
            self._later(self._event("new", self._new_order(request), status="new"))

        self.call(run)

    def drop_trading(self) -> None:
        async def run() -> None:
            sockets, self.trading_sockets = list(self.trading_sockets), []
            for socket in sockets:
                socket.transport.abort()  # the connection drops: no close handshake

        self.call(run)

    # ----- market data stream -----------------------------------------------------------------

    async def _data(self, socket: ServerConnection) -> None:
        await socket.send(msgpack.packb([{"T": "success", "msg": "connected"}]))
        authorized = False
        try:
            async for raw in socket:
                message = msgpack.unpackb(raw)
                if message.get("action") == "auth":
                    authorized = (
                        message.get("key") == KEY_ID and message.get("secret") == SECRET_KEY
                    )
                    reply = (
                        {"T": "success", "msg": "authenticated"}
                        if authorized
                        else {"T": "error", "code": 402, "msg": "auth failed"}
                    )
                    await socket.send(msgpack.packb([reply]))
                elif message.get("action") == "subscribe" and authorized:
                    channels = {
                        name: set(message.get(name, [])) for name in ("trades", "quotes", "bars")
                    }
                    self.data_sockets[socket] = channels
                    self.data_connections += 1
                    self.subscriptions.append({k: sorted(v) for k, v in channels.items()})
                    await socket.send(
                        msgpack.packb(
                            [{"T": "subscription", **{k: sorted(v) for k, v in channels.items()}}]
                        )
                    )
        finally:
            self.data_sockets.pop(socket, None)

    def publish(self, messages: list[dict[str, Any]]) -> None:
        """Sends one msgpack frame of market data messages to every subscribed connection
        (``t`` given as int ns becomes a msgpack timestamp)."""
        channel = {"t": "trades", "q": "quotes", "b": "bars"}

        async def run() -> None:
            for socket, channels in list(self.data_sockets.items()):
                wanted = [
                    {**m, "t": msgpack.Timestamp.from_unix_nano(m["t"])}
                    if isinstance(m.get("t"), int)
                    else m
                    for m in messages
                    if m.get("T") not in channel or m.get("S") in channels[channel[m["T"]]]
                ]
                await socket.send(msgpack.packb(wanted))

        self.call(run)

    def send_data_raw(self, frame: bytes | str) -> None:
        async def run() -> None:
            for socket in list(self.data_sockets):
                await socket.send(frame)

        self.call(run)

    def drop_data(self) -> None:
        async def run() -> None:
            sockets = list(self.data_sockets)
            self.data_sockets.clear()
            for socket in sockets:
                socket.transport.abort()  # the connection drops: no close handshake

        self.call(run)
