"""Kraken order entry over the authenticated WebSocket v2: a
:class:`~hftcore.venues.base.VenueClient` that sends ``add_order`` / ``amend_order`` /
``cancel_order`` with a token from ``GetWebSocketsToken`` (fetched fresh for every connection)
and turns the ``executions`` channel and the request responses into the node's order events.

Commands take a token of the ``orders`` bucket and go out in the order given: at once, inside
the node's call, when none is queued, a token is there and the connection takes the frame now;
otherwise queued (waiting for the token or the connection). A response is matched to its
command by ``req_id``. The response and the executions channel both tell an
acceptance; the first is the event. Venue order ids are Kraken's ``order_id``. On reconnection
the executions snapshot reports the orders still open (``snap_orders``: one we sent and never
heard of is accepted from it) and the latest fills (``snap_trades``: those missed while
disconnected are reported; each fill once, by trade id). A restarted node gives its working
orders back with :meth:`KrakenExecution.restore_order`; the first snapshot does the same for
them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import msgspec

from hftcore._core import Instrument
from hftcore.errors import ConfigError, InvalidValue
from hftcore.model.events import OrderAccepted, OrderFilled
from hftcore.model.money import to_money
from hftcore.model.orders import OrderType, PostOnly, TimeInForce
from hftcore.venues.base import ClientOrder, EventSink, RestoredOrder, VenueCapabilities
from hftcore.venues.kraken.config import KrakenConfig
from hftcore.venues.kraken.market_data import timestamp_ns
from hftcore.venues.kraken.wire import (
    ENCODER,
    EXECUTION_DATA,
    MESSAGE,
    ORDER_RESULT,
    TOKEN_RESPONSE,
    ExecutionData,
)
from hftcore.venues.live import (
    LIVE_EXTRA_HINT,
    Frame,
    LiveVenueClient,
    TokenBucket,
    VenueCommand,
    VenueRequestError,
    WebSocketSession,
    WireNumbers,
    secret_from_env,
)

try:
    import aiohttp
    from websockets.exceptions import WebSocketException
except ImportError as missing:
    raise ImportError(LIVE_EXTRA_HINT) from missing

logger = logging.getLogger(__name__)

TOKEN_PATH = "/0/private/GetWebSocketsToken"
# keyed by the enums, looked up by the specs' int codes (an IntEnum hashes as its int)
_TIME_IN_FORCE: dict[int, str] = {TimeInForce.GTC: "gtc", TimeInForce.IOC: "ioc"}
_ORDER_TYPE: dict[int, str] = {
    OrderType.MARKET: "market",
    OrderType.LIMIT: "limit",
    OrderType.STOP: "stop-loss",
    OrderType.STOP_LIMIT: "stop-loss-limit",
}


def api_sign(secret: str, path: str, nonce: str, post_data: str) -> str:
    """Kraken's ``API-Sign``: base64 HMAC-SHA512, keyed by the base64-decoded secret, of the
    URI path followed by SHA-256 of nonce + POST data."""
    digest = hashlib.sha256((nonce + post_data).encode()).digest()
    mac = hmac.new(base64.b64decode(secret), path.encode() + digest, hashlib.sha512)
    return base64.b64encode(mac.digest()).decode()


class KrakenExecution(LiveVenueClient):
    """Live order entry at Kraken (see the module docs); ``session`` is the authenticated
    connection."""

    session: _AuthSession

    def __init__(
        self,
        config: KrakenConfig,
        instruments: Mapping[Instrument, str],
        event_sink: EventSink | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        rng: random.Random | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
        venue: str = "KRAKEN",
    ) -> None:
        super().__init__(venue, instruments, event_sink)
        if not isinstance(config, KrakenConfig):
            raise ConfigError("INVALID_CONFIG", "config must be a KrakenConfig")
        self.config = config
        self._api_key = secret_from_env(config.api_key_env, environ)
        self._api_secret = secret_from_env(config.api_secret_env, environ)
        self.clock_ns = clock_ns
        self.orders_bucket = TokenBucket(config.orders)
        self._numbers = {iid: WireNumbers(lst.instrument) for iid, lst in self._listings.items()}
        self._symbols = {iid: config.symbol(iid) for iid in self._listings}
        self._kraken_ids: dict[str, str] = {}
        self._trade_ids: set[str] = set()
        self._in_flight: dict[int, VenueCommand] = {}
        self._request_ids = itertools.count(1)
        self.session = _AuthSession(self, rng)
        self.counters = self.session.counters
        self._capabilities = VenueCapabilities(
            order_types=frozenset(map(OrderType, _ORDER_TYPE)),
            time_in_force=frozenset(map(TimeInForce, _TIME_IN_FORCE)),
            post_only=frozenset({PostOnly.NONE, PostOnly.REJECT}),
            reduce_only=True,
        )

    @property
    def capabilities(self) -> VenueCapabilities:
        return self._capabilities

    def kraken_order_id(self, client_order_id: str) -> str | None:
        return self._kraken_ids.get(client_order_id)

    def restore_order(self, restored: RestoredOrder) -> None:
        """Takes back an order a restarted node's log says Kraken has (nothing is sent): its
        Kraken order id and the trade ids of its logged fills are known again, so the next
        executions snapshot and updates apply to it and no fill is reported twice."""
        self._adopt(restored)
        if restored.venue_order_id is not None:
            self._kraken_ids[restored.client_order_id] = restored.venue_order_id
        self._trade_ids.update(trade_id for trade_id, _, _ in restored.fills)

    async def fetch_token(self) -> str:
        """A WebSocket token from ``GetWebSocketsToken`` (signed with ``API-Sign``)."""
        nonce = str(time.time_ns() // 1000)
        post_data = urlencode({"nonce": nonce})
        headers = {
            "API-Key": self._api_key,
            "API-Sign": api_sign(self._api_secret, TOKEN_PATH, nonce, post_data),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        url = self.config.rest_url.rstrip("/") + TOKEN_PATH
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
                session.post(url, data=post_data, headers=headers) as response,
            ):
                body = await response.read()
        except (aiohttp.ClientError, TimeoutError) as error:
            raise VenueRequestError("UNREACHABLE", f"{TOKEN_PATH}: {error!r}") from None
        try:
            answer = TOKEN_RESPONSE.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError):
            raise VenueRequestError("BAD_ANSWER", f"{TOKEN_PATH}: {body[:200]!r}") from None
        if answer.error or answer.result is None:
            raise VenueRequestError(
                "TOKEN_REFUSED", f"{TOKEN_PATH}: {answer.error}", venue_code=";".join(answer.error)
            )
        return answer.result.token

    # ----- VenueClient hooks ------------------------------------------------------------------

    def _refusal(self, order: ClientOrder, ts: int) -> str | None:
        spec = order.spec
        if spec.post_only and spec.order_type != OrderType.LIMIT:
            return "POST_ONLY_NOT_ALLOWED"
        return None

    def _send_modify(
        self,
        order: ClientOrder,
        quantity: int | None,
        price: int | None,
        trigger_price: int | None,
        ts: int,
    ) -> None:
        """``amend_order``: new total quantity, limit or trigger price, in place."""
        self._enqueue(VenueCommand("MODIFY", order, quantity, price, trigger_price))

    # ----- sending ----------------------------------------------------------------------------

    def order_params(self, order: ClientOrder) -> dict[str, Any]:
        """``add_order`` parameters of an order (without the token)."""
        spec = order.spec
        instrument = self._listing(order.instrument_id).instrument
        params: dict[str, Any] = {
            "order_type": _ORDER_TYPE[spec.order_type],
            "side": "buy" if spec.side == 0 else "sell",
            "order_qty": _number(instrument.lots_to_str(order.quantity)),
            "symbol": self._symbols[order.instrument_id],
            "cl_ord_id": order.client_order_id,
            "time_in_force": _TIME_IN_FORCE[spec.time_in_force],
        }
        if order.price is not None:
            params["limit_price"] = _number(instrument.ticks_to_str(order.price))
        if order.trigger_price is not None:
            params["triggers"] = {
                "reference": "last",
                "price": _number(instrument.ticks_to_str(order.trigger_price)),
                "price_type": "static",
            }
        if spec.post_only:
            params["post_only"] = True
        if spec.reduce_only:
            params["reduce_only"] = True
        return params

    def amend_params(self, request: VenueCommand) -> dict[str, Any]:
        """``amend_order`` parameters of a modify (without the token)."""
        instrument = self._listing(request.order.instrument_id).instrument
        params: dict[str, Any] = {"cl_ord_id": request.order.client_order_id}
        if request.quantity is not None:
            params["order_qty"] = _number(instrument.lots_to_str(request.quantity))
        if request.price is not None:
            params["limit_price"] = _number(instrument.ticks_to_str(request.price))
        if request.trigger_price is not None:
            params["trigger_price"] = _number(instrument.ticks_to_str(request.trigger_price))
        return params

    def _request(self, command: VenueCommand) -> tuple[str, dict[str, Any]]:
        """The method and parameters (without the token) of a command."""
        if command.kind == "SUBMIT":
            return "add_order", self.order_params(command.order)
        if command.kind == "CANCEL":
            return "cancel_order", {"cl_ord_id": [command.order.client_order_id]}
        return "amend_order", self.amend_params(command)

    def _frame(
        self, command: VenueCommand, method: str, params: dict[str, Any]
    ) -> tuple[int, bytes]:
        """A new ``req_id``, under which the command now waits for its answer, and the
        request frame with the connection's token."""
        request_id = next(self._request_ids)
        params["token"] = self.session.token
        frame = ENCODER.encode({"method": method, "params": params, "req_id": request_id})
        self._in_flight[request_id] = command
        return request_id, frame

    def _send_at_once(self, command: VenueCommand) -> bool:
        if command.kind != "SUBMIT" and command.order.closed:
            return False  # refused by the send loop, outside the node's call
        session = self.session
        if not (
            session.connected.is_set()
            and session.can_send_now()
            and self.orders_bucket.try_acquire()
        ):
            return False
        _, frame = self._frame(command, *self._request(command))
        session.send_now(frame)
        return True

    async def _process(self, command: VenueCommand) -> None:
        order = command.order
        if command.kind != "SUBMIT" and order.closed:
            reject = (
                self._emit_cancel_rejected
                if command.kind == "CANCEL"
                else self._emit_modify_rejected
            )
            reject(order, "ORDER_CLOSED", self.clock_ns())
            return
        await self.orders_bucket.acquire()
        await self._send(command, *self._request(command))

    async def _send(self, request: VenueCommand, method: str, params: dict[str, Any]) -> None:
        """Sends once connected; a connection lost under the send is waited out (the session
        reconnects with a fresh token) and the command sent again: it never left."""
        while True:
            await self.session.connected.wait()
            request_id, frame = self._frame(request, method, params)
            try:
                await self.session.send(frame)
                return
            except (WebSocketException, ConfigError) as error:
                del self._in_flight[request_id]
                logger.warning(
                    "kraken: %s not sent (%r); waiting for the connection", method, error
                )
                await asyncio.sleep(self.config.reconnect.initial_delay_s)

    # ----- answers ----------------------------------------------------------------------------

    def on_auth_frame(self, frame: Frame, ts_init: int) -> None:
        counters = self.counters
        try:
            message = MESSAGE.decode(frame)
            if message.channel == "executions":
                entries = EXECUTION_DATA.decode(message.data)
                self._on_executions(entries, ts_init, snapshot=message.type == "snapshot")
            elif message.method in ("add_order", "cancel_order", "amend_order"):
                self._on_response(message.req_id, message.success, message.error, message.result)
            elif message.channel in ("heartbeat", "status") or message.method in (
                "subscribe",
                "pong",
            ):
                if not message.success:
                    counters.unexpected += 1
                    logger.warning("kraken auth: %s failed: %s", message.method, message.error)
            else:
                counters.unexpected += 1
                logger.warning("kraken auth: unexpected frame skipped: %.200r", frame)
        except (msgspec.DecodeError, msgspec.ValidationError, InvalidValue) as error:
            counters.malformed += 1
            logger.warning("kraken auth: malformed frame skipped (%s): %.200r", error, frame)

    def _on_response(
        self, request_id: int | None, success: bool, error: str, result: msgspec.Raw
    ) -> None:
        request = self._in_flight.pop(request_id, None) if request_id is not None else None
        if request is None:
            self.counters.unexpected += 1
            logger.warning("kraken: response to an unknown request %s", request_id)
            return
        order, now = request.order, self.clock_ns()
        if request.kind == "SUBMIT":
            if success:
                self._accepted(order, ORDER_RESULT.decode(result).order_id, now)
            elif not order.closed:
                self._emit_rejected(order, error or "REJECTED", now)
        elif request.kind == "MODIFY":
            if order.closed:
                return
            if success:
                self._emit_updated(
                    order,
                    order.quantity if request.quantity is None else request.quantity,
                    order.price if request.price is None else request.price,
                    order.trigger_price if request.trigger_price is None else request.trigger_price,
                    now,
                )
            else:
                self._emit_modify_rejected(order, error or "REJECTED", now)
        elif not success and not order.closed:
            self._emit_cancel_rejected(order, error or "REJECTED", now)

    def _accepted(self, order: ClientOrder, kraken_id: str, ts: int) -> None:
        if kraken_id:
            self._kraken_ids[order.client_order_id] = kraken_id
        if order.accepted or order.closed:
            return
        self._emit(
            OrderAccepted(
                order.strategy_id,
                order.instrument_id,
                order.client_order_id,
                self._kraken_ids.get(order.client_order_id, str(order.venue_order_id)),
                ts,
                ts,
            ),
            order,
        )

    def _on_executions(self, entries: list[ExecutionData], ts: int, *, snapshot: bool) -> None:
        for entry in entries:
            order = self._orders.get(entry.cl_ord_id or "")
            if order is None:
                if not snapshot:  # a snapshot lists the account's orders and fills, not ours only
                    self.counters.unexpected += 1
                    logger.warning("kraken: execution of an order not ours: %s", entry.order_id)
                continue
            if snapshot and entry.exec_type != "trade":
                # the snapshot lists the orders open now: one of ours there is live
                self._accepted(order, entry.order_id, ts)
                continue
            match entry.exec_type:
                case "new":
                    self._accepted(order, entry.order_id, ts)
                case "trade":
                    self._accepted(order, entry.order_id, ts)
                    self._fill(order, entry, ts)
                case "canceled":
                    if not order.closed:
                        self._emit_canceled(order, _cancel_reason(entry.reason), ts)
                case "expired":
                    if not order.closed:
                        self._emit_expired(order, ts)
                case "pending_new" | "filled" | "status" | "restated" | "amended":
                    pass  # state transitions the events above already tell
                case other:
                    self.counters.unexpected += 1
                    logger.warning("kraken: execution type %s of %s skipped", other, order)

    def _fill(self, order: ClientOrder, entry: ExecutionData, ts: int) -> None:
        if entry.last_price is None or entry.last_qty is None:
            raise InvalidValue("INVALID_FILL", f"trade of {entry.order_id} without price/qty")
        trade_id = f"{entry.symbol}-{entry.trade_id}" if entry.trade_id else entry.exec_id or ""
        if trade_id in self._trade_ids:
            return  # a snapshot repeats the latest fills: each is reported once
        numbers = self._numbers[order.instrument_id]
        quantity = numbers.quantity(entry.last_qty)
        if quantity <= 0 or quantity > order.leaves:
            raise InvalidValue(
                "INVALID_FILL", f"{order.client_order_id}: {quantity} lots, {order.leaves} left"
            )
        fee = entry.fees[0] if entry.fees else None
        self._emit(
            OrderFilled(
                strategy_id=order.strategy_id,
                instrument_id=order.instrument_id,
                client_order_id=order.client_order_id,
                venue_order_id=self._kraken_ids.get(order.client_order_id, entry.order_id),
                trade_id=trade_id,
                side=order.side,
                last_price=numbers.price(entry.last_price),
                last_quantity=quantity,
                liquidity="MAKER" if entry.liquidity_ind == "m" else "TAKER",
                commission=to_money(fee.qty, "fee") if fee else 0,
                currency=fee.asset if fee else self._listing(order.instrument_id).currency,
                ts_event=timestamp_ns(entry.timestamp),
                ts_init=ts,
            ),
            order,
        )
        self._trade_ids.add(trade_id)


def _number(text: str) -> msgspec.Raw:
    """A decimal as a JSON number written exactly as given (``0.00000020``; a ``Decimal``
    would be written ``2.0E-7``)."""
    return msgspec.Raw(text.encode())


def _cancel_reason(reason: str | None) -> str:
    if reason is None or reason.lower().startswith("user request"):
        return "REQUESTED"
    return reason.upper().replace(" ", "_")


class _AuthSession(WebSocketSession):
    """The authenticated connection: a fresh token, then the executions subscription."""

    def __init__(self, execution: KrakenExecution, rng: random.Random | None) -> None:
        config = execution.config
        super().__init__(
            "kraken orders",
            config.reconnect,
            ping_interval_s=config.ping_interval_s,
            ping_timeout_s=config.ping_timeout_s,
            rng=rng,
            clock_ns=execution.clock_ns,
        )
        self.execution = execution
        self.token = ""

    async def url(self) -> str:
        self.token = await self.execution.fetch_token()
        return self.execution.config.ws_auth_url

    async def on_connected(self) -> None:
        await self.send(
            ENCODER.encode(
                {
                    "method": "subscribe",
                    "params": {
                        "channel": "executions",
                        "token": self.token,
                        "snap_orders": True,
                        "snap_trades": True,
                    },
                }
            )
        )

    def on_frame(self, frame: Frame, ts_init: int) -> None:
        self.execution.on_auth_frame(frame, ts_init)

    async def on_disconnected(self) -> None:
        """Open orders come back in the executions snapshot of the next connection."""


__all__ = ["KrakenExecution", "api_sign"]
