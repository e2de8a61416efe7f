"""Binance spot order entry: a :class:`~hftcore.venues.base.VenueClient` that sends orders,
quantity amends and cancels as HMAC-SHA256 signed REST requests and learns what happens to
them from the user data stream (``executionReport``), turned into the node's order events.

Commands are queued and sent one at a time, in the order given (a cancel never overtakes its
order), each after a token of the order-rate bucket. The REST answer and the stream both
report an acceptance or a cancel; whichever comes first is the event, the other is ignored.
Venue order ids are Binance's ``orderId``. Whenever the user stream connects, every order still
open is queried (``GET /api/v3/order``): fills the stream missed are rebuilt from
``GET /api/v3/myTrades`` (by trade id), and a close it missed is reported. A restarted node gives
its working orders back with :meth:`BinanceExecution.restore_order`; they are queried the same
way on the first connection.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import msgspec

from hftcore._core import Instrument
from hftcore.errors import ConfigError, InvalidValue
from hftcore.model.events import OrderFilled
from hftcore.model.money import to_money
from hftcore.model.orders import OrderType, PostOnly, TimeInForce
from hftcore.venues.base import ClientOrder, EventSink, RestoredOrder, VenueCapabilities
from hftcore.venues.binance.config import BinanceConfig
from hftcore.venues.binance.rest import BinanceRest, Params
from hftcore.venues.binance.wire import (
    ACCOUNT_TRADES,
    LISTEN_KEY,
    ORDER_ACK,
    ORDER_STATUS,
    USER_EVENT,
    ExecutionReport,
    ListenKeyExpired,
    OrderStatusReport,
)
from hftcore.venues.live import (
    FeedCounters,
    Frame,
    LiveVenueClient,
    VenueCommand,
    VenueRequestError,
    WebSocketSession,
    WireNumbers,
    secret_from_env,
)

logger = logging.getLogger(__name__)

UNKNOWN_ORDER = -2013
"""Binance's "Order does not exist."."""
PROVISIONAL_IDS = 1 << 62
"""Venue order ids before Binance gives its ``orderId`` start here, far above Binance's."""

_TIME_IN_FORCE = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK"}
_SIDE = ("BUY", "SELL")
_CLOSED_STATUSES = frozenset({"CANCELED", "EXPIRED", "REJECTED", "EXPIRED_IN_MATCH", "FILLED"})


class BinanceExecution(LiveVenueClient):
    """Live order entry at Binance spot (see the module docs); ``session`` is the user data
    stream."""

    session: _UserStream

    def __init__(
        self,
        config: BinanceConfig,
        instruments: Mapping[Instrument, str],
        event_sink: EventSink | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        rest: BinanceRest | None = None,
        rng: random.Random | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
        venue: str = "BINANCE",
    ) -> None:
        super().__init__(venue, instruments, event_sink, first_venue_order_id=PROVISIONAL_IDS)
        if not isinstance(config, BinanceConfig):
            raise ConfigError("INVALID_CONFIG", "config must be a BinanceConfig")
        self.config = config
        self.rest = rest or BinanceRest(
            config.rest_url,
            config.request_weight,
            config.orders,
            api_key=secret_from_env(config.api_key_env, environ),
            api_secret=secret_from_env(config.api_secret_env, environ),
            recv_window_ms=config.recv_window_ms,
        )
        self.clock_ns = clock_ns
        self._numbers = {
            instrument_id: WireNumbers(listing.instrument)
            for instrument_id, listing in self._listings.items()
        }
        self._by_symbol = {config.symbol(iid): iid for iid in self._listings}
        self._trade_ids: set[str] = set()
        self._unconfirmed: set[str] = set()
        """Restored orders whose submit was never answered: asked for on the next connection."""
        self.session = _UserStream(self, rng)
        self.counters = self.session.counters
        self._capabilities = VenueCapabilities(
            order_types=frozenset(
                {OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT}
            ),
            time_in_force=frozenset(_TIME_IN_FORCE),
            post_only=frozenset({PostOnly.NONE, PostOnly.REJECT}),
        )

    @property
    def capabilities(self) -> VenueCapabilities:
        return self._capabilities

    async def stop(self) -> None:
        await super().stop()
        await self.rest.close()

    def restore_order(self, restored: RestoredOrder) -> None:
        """Takes back an order a restarted node's log says Binance has (nothing is sent): the
        trade ids of its logged fills are never reported again, and on the next user stream
        connection it is queried like every open order; one never acknowledged is looked up
        first (unknown to Binance: rejected ``NOT_CONFIRMED_BEFORE_RESTART``)."""
        known = restored.venue_order_id
        order = self._adopt(restored, int(known) if known is not None and known.isdigit() else None)
        self._trade_ids.update(trade_id for trade_id, _, _ in restored.fills)
        if not order.accepted:
            self._unconfirmed.add(order.client_order_id)

    async def confirm_restored_orders(self) -> None:
        """Looks up the restored orders whose submit was never answered (see
        :meth:`restore_order`)."""
        for client_order_id in sorted(self._unconfirmed):
            self._unconfirmed.discard(client_order_id)
            order = self._orders[client_order_id]
            if not order.closed:
                await self._resolve_unknown_submit(
                    order,
                    VenueRequestError(
                        "NOT_CONFIRMED_BEFORE_RESTART",
                        "the node stopped before Binance answered this order",
                    ),
                )

    # ----- VenueClient hooks ------------------------------------------------------------------

    def _refusal(self, order: ClientOrder, ts: int) -> str | None:
        spec = order.spec
        if spec.order_type in (OrderType.MARKET, OrderType.STOP):
            if spec.time_in_force == TimeInForce.FOK:
                return "UNSUPPORTED_TIME_IN_FORCE"
            if spec.post_only:
                return "POST_ONLY_NOT_ALLOWED"
        if spec.post_only and (
            spec.order_type != OrderType.LIMIT or spec.time_in_force != TimeInForce.GTC
        ):
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
        """Binance spot amends in place only to reduce a quantity (keeping queue priority,
        ``PUT /api/v3/order/amend/keepPriority``); a total at or below the filled quantity
        cancels the rest. Any other change is refused (``UNSUPPORTED_MODIFY``): the node
        cancels and submits again instead."""
        changes_terms = (price is not None and price != order.price) or (
            trigger_price is not None and trigger_price != order.trigger_price
        )
        if changes_terms or quantity is None or quantity >= order.quantity:
            self._emit_modify_rejected(order, "UNSUPPORTED_MODIFY", ts)
        elif quantity <= order.filled:
            self._enqueue(VenueCommand("CANCEL", order))
        else:
            self._enqueue(VenueCommand("MODIFY", order, quantity))

    # ----- sending ----------------------------------------------------------------------------

    async def _process(self, command: VenueCommand) -> None:
        if command.kind == "SUBMIT":
            await self._submit(command.order)
        elif command.kind == "CANCEL":
            await self._cancel(command.order)
        else:
            await self._amend(command)

    async def _amend(self, command: VenueCommand) -> None:
        order, quantity = command.order, command.quantity
        assert quantity is not None  # _send_modify queues amends with a quantity only
        if order.closed:
            self._emit_modify_rejected(order, "ORDER_CLOSED", self.clock_ns())
            return
        if quantity <= order.filled:  # filled meanwhile up to the new total: the rest goes
            await self._cancel(order)
            return
        instrument = self._listing(order.instrument_id).instrument
        params: Params = [
            ("symbol", self.config.symbol(order.instrument_id)),
            ("origClientOrderId", order.client_order_id),
            ("newClientOrderId", order.client_order_id),  # keeps the node's id
            ("newQty", instrument.lots_to_str(quantity)),
        ]
        try:
            await self.rest.signed("PUT", "/api/v3/order/amend/keepPriority", params, weight=4)
        except VenueRequestError as error:
            logger.warning("binance: amend of %s refused: %s", order.client_order_id, error)
            if not order.closed:
                self._emit_modify_rejected(order, _reason(error), self.clock_ns())
            return
        if not order.closed:
            self._emit_updated(order, quantity, order.price, order.trigger_price, self.clock_ns())

    def order_params(self, order: ClientOrder) -> Params:
        """The ``POST /api/v3/order`` parameters of an order (before signing)."""
        spec = order.spec
        instrument = self._listing(order.instrument_id).instrument
        order_type = OrderType(spec.order_type)
        params: Params = [
            ("symbol", self.config.symbol(order.instrument_id)),
            ("side", _SIDE[spec.side]),
        ]
        if order_type == OrderType.LIMIT and spec.post_only == PostOnly.REJECT:
            params.append(("type", "LIMIT_MAKER"))
        else:
            params.append(
                (
                    "type",
                    {
                        OrderType.MARKET: "MARKET",
                        OrderType.LIMIT: "LIMIT",
                        OrderType.STOP: "STOP_LOSS",
                        OrderType.STOP_LIMIT: "STOP_LOSS_LIMIT",
                    }[order_type],
                )
            )
            if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
                params.append(("timeInForce", _TIME_IN_FORCE[TimeInForce(spec.time_in_force)]))
        params.append(("quantity", instrument.lots_to_str(order.quantity)))
        if order.price is not None:
            params.append(("price", instrument.ticks_to_str(order.price)))
        if order.trigger_price is not None:
            params.append(("stopPrice", instrument.ticks_to_str(order.trigger_price)))
        params.append(("newClientOrderId", order.client_order_id))
        params.append(("newOrderRespType", "ACK"))
        return params

    async def _submit(self, order: ClientOrder) -> None:
        try:
            body = await self.rest.signed(
                "POST", "/api/v3/order", self.order_params(order), order=True
            )
        except VenueRequestError as error:
            if _outcome_unknown(error):
                await self._resolve_unknown_submit(order, error)
                return
            logger.warning("binance: order %s rejected: %s", order.client_order_id, error)
            if not order.closed:
                self._emit_rejected(order, _reason(error), self.clock_ns())
            return
        try:
            ack = ORDER_ACK.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError):
            self.counters.malformed += 1
            await self._resolve_unknown_submit(
                order, VenueRequestError("BAD_ANSWER", f"order answer {body[:200]!r}")
            )
            return
        self._accepted(order, ack.order_id, self.clock_ns())

    async def _resolve_unknown_submit(self, order: ClientOrder, error: VenueRequestError) -> None:
        """No answer, or a 5xx (Binance: "the execution status is unknown"): the order may be
        live, so it is asked for before anything is said. Unknown to Binance: rejected with
        the original error; known: accepted (and closed if it is); no answer: left pending
        for the reconciliation after the next user stream connection."""
        logger.warning("binance: order %s outcome unknown (%s); querying", order, error)
        try:
            report = await self.query_order(order.instrument_id, order.client_order_id)
        except VenueRequestError as query_error:
            if query_error.venue_code == UNKNOWN_ORDER:
                self._emit_rejected(order, _reason(error), self.clock_ns())
            else:
                logger.warning("binance: %s still unknown: %s", order, query_error)
            return
        self._closed_by_status(order, report, self.clock_ns())

    async def _cancel(self, order: ClientOrder) -> None:
        if order.closed:
            self._emit_cancel_rejected(order, "ORDER_CLOSED", self.clock_ns())
            return
        params: Params = [
            ("symbol", self.config.symbol(order.instrument_id)),
            ("origClientOrderId", order.client_order_id),
        ]
        try:
            body = await self.rest.signed("DELETE", "/api/v3/order", params)
        except VenueRequestError as error:
            logger.warning("binance: cancel of %s refused: %s", order.client_order_id, error)
            if not order.closed:
                self._emit_cancel_rejected(order, _reason(error), self.clock_ns())
            return
        report = ORDER_STATUS.decode(body)
        self._closed_by_status(order, report, self.clock_ns())

    async def query_order(self, instrument_id: str, client_order_id: str) -> OrderStatusReport:
        """``GET /api/v3/order`` of one of our orders (``VenueRequestError`` if Binance does
        not know it)."""
        body = await self.rest.signed(
            "GET",
            "/api/v3/order",
            [
                ("symbol", self.config.symbol(instrument_id)),
                ("origClientOrderId", client_order_id),
            ],
            weight=4,
        )
        return ORDER_STATUS.decode(body)

    async def reconcile_open_orders(self) -> int:
        """Queries every accepted order not known to be closed and reports what the user
        stream missed: fills (from ``GET /api/v3/myTrades``, those whose trade id was not
        reported yet), then a close. Returns how many orders were queried."""
        queried = 0
        for client_order_id in self.open_orders():
            order = self._orders[client_order_id]
            if not order.accepted:
                continue
            try:
                report = await self.query_order(order.instrument_id, client_order_id)
                queried += 1
                executed = self._numbers[order.instrument_id].quantity(report.executed_quantity)
                if executed > order.filled:
                    await self._recover_fills(order)
            except VenueRequestError as error:
                logger.warning("binance: query of %s failed: %s", client_order_id, error)
                continue
            except (msgspec.DecodeError, msgspec.ValidationError, InvalidValue) as error:
                self.counters.malformed += 1
                logger.warning("binance: answer about %s skipped: %s", client_order_id, error)
                continue
            self._closed_by_status(order, report, self.clock_ns())
        return queried

    async def _recover_fills(self, order: ClientOrder) -> None:
        symbol = self.config.symbol(order.instrument_id)
        body = await self.rest.signed(
            "GET",
            "/api/v3/myTrades",
            [("symbol", symbol), ("orderId", str(order.venue_order_id))],
            weight=5,
        )
        now = self.clock_ns()
        for trade in sorted(ACCOUNT_TRADES.decode(body), key=lambda trade: trade.trade_id):
            if f"{symbol}-{trade.trade_id}" not in self._trade_ids:
                self._fill(
                    order,
                    _Execution(
                        symbol,
                        trade.trade_id,
                        trade.price,
                        trade.quantity,
                        trade.commission,
                        trade.commission_asset,
                        trade.is_maker,
                    ),
                    now,
                )

    # ----- answers ----------------------------------------------------------------------------

    def _accepted(self, order: ClientOrder, venue_order_id: int, ts: int) -> None:
        if order.venue_order_id != venue_order_id:
            self._by_venue_id.pop(order.venue_order_id, None)
            order.venue_order_id = venue_order_id
            self._by_venue_id[venue_order_id] = order
        if not order.accepted and not order.closed:
            self._emit_accepted(order, ts)

    def _closed_by_status(self, order: ClientOrder, report: OrderStatusReport, ts: int) -> None:
        self._accepted(order, report.order_id, ts)
        if order.closed or report.status not in _CLOSED_STATUSES or report.status == "FILLED":
            return
        if report.status == "REJECTED":
            self._emit_rejected(order, "REJECTED", ts)
        elif report.status == "CANCELED":
            self._emit_canceled(order, "REQUESTED", ts)
        else:
            self._expired(order, ts)

    def _expired(self, order: ClientOrder, ts: int) -> None:
        """Binance says EXPIRED for the unfilled rest of IOC, FOK and market orders too;
        the node calls those cancels, with the reason."""
        spec = order.spec
        if spec.order_type == OrderType.MARKET:
            self._emit_canceled(order, "NO_LIQUIDITY", ts)
        elif spec.time_in_force == TimeInForce.IOC:
            self._emit_canceled(order, "IMMEDIATE_OR_CANCEL", ts)
        elif spec.time_in_force == TimeInForce.FOK:
            self._emit_canceled(order, "FILL_OR_KILL", ts)
        else:
            self._emit_expired(order, ts)

    def on_user_frame(self, frame: Frame, ts_init: int) -> None:
        """One user data stream frame."""
        counters = self.counters
        try:
            event = USER_EVENT.decode(frame)
        except msgspec.ValidationError as error:
            counters.unexpected += 1
            logger.warning("binance user stream: unexpected event skipped (%s)", error)
            return
        except msgspec.DecodeError as error:
            counters.malformed += 1
            logger.warning("binance user stream: malformed frame skipped (%s)", error)
            return
        if isinstance(event, ListenKeyExpired):
            self.session.listen_key = None
            self.session.reconnect_soon()
            return
        if not isinstance(event, ExecutionReport):
            return  # balances and positions: the node's portfolio keeps its own
        order = self._orders.get(event.client_order_id) or self._orders.get(
            event.original_client_order_id
        )
        if order is None or self._by_symbol.get(event.symbol) != order.instrument_id:
            counters.unexpected += 1
            logger.warning(
                "binance: report of an order not ours skipped: %s", event.client_order_id
            )
            return
        try:
            self._on_report(order, event, ts_init)
        except InvalidValue as error:
            counters.malformed += 1
            logger.warning("binance: execution report skipped: %s", error)

    def _on_report(self, order: ClientOrder, event: ExecutionReport, ts: int) -> None:
        match event.execution_type:
            case "NEW":
                self._accepted(order, event.order_id, ts)
            case "TRADE":
                self._accepted(order, event.order_id, ts)
                self._fill(
                    order,
                    _Execution(
                        event.symbol,
                        event.trade_id,
                        event.last_price,
                        event.last_quantity,
                        event.commission,
                        event.commission_asset,
                        event.is_maker,
                    ),
                    ts,
                )
            case "CANCELED":
                self._accepted(order, event.order_id, ts)
                if not order.closed:
                    self._emit_canceled(order, "REQUESTED", ts)
            case "EXPIRED":
                if not order.closed:
                    self._expired(order, ts)
            case "TRADE_PREVENTION":
                if not order.closed:
                    self._emit_canceled(order, "SELF_TRADE", ts)
            case "REJECTED":
                if not order.closed:
                    self._emit_rejected(order, event.reject_reason or "REJECTED", ts)
            case "REPLACED":
                pass  # an amend, already reported from its answer
            case other:
                self.counters.unexpected += 1
                logger.warning("binance: execution type %s of %s skipped", other, order)

    def _fill(self, order: ClientOrder, execution: _Execution, ts: int) -> None:
        numbers = self._numbers[order.instrument_id]
        price = numbers.price(execution.price)
        quantity = numbers.quantity(execution.quantity)
        if quantity <= 0 or quantity > order.leaves:
            raise InvalidValue(
                "INVALID_FILL",
                f"{order.client_order_id}: fill of {quantity} lots, {order.leaves} left",
            )
        trade_id = f"{execution.symbol}-{execution.trade_id}"
        self._trade_ids.add(trade_id)
        self._emit(
            OrderFilled(
                strategy_id=order.strategy_id,
                instrument_id=order.instrument_id,
                client_order_id=order.client_order_id,
                venue_order_id=str(order.venue_order_id),
                trade_id=trade_id,
                side=order.side,
                last_price=price,
                last_quantity=quantity,
                liquidity="MAKER" if execution.is_maker else "TAKER",
                commission=to_money(execution.commission, "commission"),
                currency=execution.commission_asset or self._listing(order.instrument_id).currency,
                ts_event=ts,
                ts_init=ts,
            ),
            order,
        )


@dataclass(frozen=True, slots=True)
class _Execution:
    """One of our trades, from an execution report or from ``myTrades``."""

    symbol: str
    trade_id: int
    price: str
    quantity: str
    commission: str
    commission_asset: str | None
    is_maker: bool


def _outcome_unknown(error: VenueRequestError) -> bool:
    return error.code == "UNREACHABLE" or error.code.startswith("HTTP_5")


def _reason(error: VenueRequestError) -> str:
    return f"BINANCE_{error.venue_code}" if error.venue_code is not None else error.code


class _UserStream(WebSocketSession):
    """The user data stream: a listen key from ``POST /api/v3/userDataStream``, kept alive by
    ``PUT`` every ``listen_key_keepalive_s``; a new key after expiry or a failed keep-alive."""

    def __init__(self, execution: BinanceExecution, rng: random.Random | None) -> None:
        config = execution.config
        super().__init__(
            "binance user stream",
            config.reconnect,
            counters=FeedCounters(),
            ping_interval_s=config.ping_interval_s,
            ping_timeout_s=config.ping_timeout_s,
            rng=rng,
            clock_ns=execution.clock_ns,
        )
        self.execution = execution
        self.listen_key: str | None = None
        self._keeping_alive = False

    async def url(self) -> str:
        if self.listen_key is None:
            body = await self.execution.rest.with_key("POST", "/api/v3/userDataStream", [])
            self.listen_key = LISTEN_KEY.decode(body).listen_key
        return f"{self.execution.config.ws_url.rstrip('/')}/ws/{self.listen_key}"

    async def on_connected(self) -> None:
        if not self._keeping_alive:
            self._keeping_alive = True
            self.spawn(self._keep_alive())
        await self.execution.confirm_restored_orders()
        await self.execution.reconcile_open_orders()

    def on_frame(self, frame: Frame, ts_init: int) -> None:
        self.execution.on_user_frame(frame, ts_init)

    async def on_disconnected(self) -> None:
        """Orders keep their state; what the stream misses is queried on reconnection."""

    def reconnect_soon(self) -> None:
        self.spawn(self.close_connection())

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self.execution.config.listen_key_keepalive_s)
            key = self.listen_key
            if key is None:
                continue
            try:
                await self.execution.rest.with_key(
                    "PUT", "/api/v3/userDataStream", [("listenKey", key)]
                )
            except VenueRequestError as error:
                logger.warning("binance: listen key keep-alive failed (%s); renewing", error)
                self.listen_key = None
                await self.close_connection()


__all__ = ["BinanceExecution"]
