"""Alpaca as a node venue: orders through alpaca-py's REST client, order events from its
``trade_updates`` stream.

REST calls are blocking in alpaca-py, so they run one at a time on a worker thread (in the order
sent: a cancel never overtakes its submit) and their answers come back on the event loop;
``submit``/``modify``/``cancel`` return at once, as the node's venue contract wants. Every
event reaches the sink from the event loop thread.

Identities: the node's client order id is sent as Alpaca's ``client_order_id``. A replace
creates a new Alpaca order; it is sent with the client order id ``"{id}.r{n}"`` so that its
stream events are recognised before the REST answer arrives, and it stays the same node order.
Events carry Alpaca's order id (a UUID) as ``venue_order_id``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Final, TypeVar

import msgspec

from hftcore._core import Instrument
from hftcore.data.timestamps import to_ns
from hftcore.errors import ConfigError, HftcoreError, InvalidData, InvalidValue
from hftcore.model.data import Bar, Quote, Trade
from hftcore.model.events import OrderAccepted, OrderFilled, OrderSpec, SubmitOrder
from hftcore.model.money import to_money
from hftcore.model.orders import OrderType, TimeInForce
from hftcore.venues.alpaca import _sdk as sdk
from hftcore.venues.alpaca.config import AlpacaConfig, AlpacaCredentials, bound_rest_calls
from hftcore.venues.alpaca.streams import (
    EMPTY_JSON,
    Frame,
    StreamSession,
    TappedTradingStream,
    preview,
    stop_stream,
)
from hftcore.venues.alpaca.wire import (
    TRADE_UPDATE_DECODER,
    TRADING_FRAME_DECODER,
    WireAccount,
    WireError,
    WireOrder,
    WirePosition,
    WireTradeUpdate,
    decimal_of,
)
from hftcore.venues.base import (
    ClientOrder,
    EventSink,
    RestoredOrder,
    VenueCapabilities,
    VenueClient,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

_TIME_IN_FORCE: Final = {
    TimeInForce.GTC: sdk.TimeInForce.GTC,
    TimeInForce.IOC: sdk.TimeInForce.IOC,
    TimeInForce.FOK: sdk.TimeInForce.FOK,
    TimeInForce.DAY: sdk.TimeInForce.DAY,
}
_REJECT_LABELS: Final = {
    400: "INVALID_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "UNKNOWN_ORDER",
    422: "UNPROCESSABLE",
    429: "RATE_LIMITED",
}
_ACCEPTING_STATUSES: Final = frozenset({"new", "accepted", "partially_filled", "filled"})
_IGNORED_EVENTS: Final = frozenset(
    {
        "pending_new",
        "pending_cancel",
        "pending_replace",
        "calculated",
        "done_for_day",
        "stopped",
        "suspended",
        "restated",
        "held",
        "order_replace_pending",
    }
)
_MAX_UNMATCHED: Final = 1_000
"""Updates of unknown Alpaca orders kept for a REST answer still in flight."""


class AlpacaStats(msgspec.Struct):
    """Counters of what the trading stream brought."""

    updates: int = 0
    malformed: int = 0
    """Frames or updates that could not be decoded or applied (logged and skipped)."""
    ignored: int = 0
    """Intermediate events with no model event (``pending_new``, ``pending_cancel``, ...)."""
    unknown_orders: int = 0
    """Updates of orders this client did not send (another session, the dashboard)."""
    resyncs: int = 0


@dataclass(frozen=True, slots=True)
class AlpacaPosition:
    """An open position: signed quantity in lots, the average entry price as Alpaca reports
    it (exact, not necessarily on the tick grid)."""

    instrument_id: str
    quantity: int
    average_price: Decimal | None


@dataclass(frozen=True, slots=True)
class AlpacaAccount:
    """Account values in exact money units (1e-12 of ``currency``)."""

    account_id: str
    status: str
    currency: str
    cash: int
    equity: int
    buying_power: int
    trading_blocked: bool


class AlpacaVenue(VenueClient):
    """Alpaca trading through alpaca-py; see the module docs and ``docs/venues-alpaca.md``.

    Call ``await start()`` inside the node's event loop before sending anything, and
    ``await stop()`` at the end. Keys come from the environment unless ``credentials`` is given.
    """

    def __init__(
        self,
        config: AlpacaConfig,
        instruments: Mapping[Instrument, str],
        event_sink: EventSink | None = None,
        *,
        credentials: AlpacaCredentials | None = None,
        venue: str = "ALPACA",
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        if not isinstance(config, AlpacaConfig):
            raise ConfigError("INVALID_CONFIG", f"expected an AlpacaConfig, got {config!r}")
        super().__init__(venue, instruments, event_sink)
        keys = credentials if credentials is not None else AlpacaCredentials.from_environment()
        self.config = config
        self._clock_ns = clock_ns
        self._symbols = {
            instrument_id: config.symbol_of(instrument_id) for instrument_id in self._listings
        }
        self._instrument_of_symbol = {symbol: iid for iid, symbol in self._symbols.items()}
        self.rest = sdk.TradingClient(
            keys.key_id,
            keys.secret_key,
            paper=config.paper,
            raw_data=True,
            url_override=config.trading_url,
        )
        bound_rest_calls(self.rest, config.rest_timeout_s)
        self.session = StreamSession(self._on_stream_open)
        stream_options: dict[str, Any] = {"paper": config.paper, "raw_data": True}
        if config.trading_stream_url is not None:
            # alpaca-py types the override as a str whose absence means its default URL.
            stream_options["url_override"] = config.trading_stream_url
        self._stream = TappedTradingStream(keys.key_id, keys.secret_key, **stream_options)
        self._stream.tap(self._consume_frame, self.session, config.reconnect_min_backoff_s)
        self._stream.subscribe_trade_updates(self._on_unexpected_dispatch)
        self.stats = AlpacaStats()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alpaca-rest")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stream_task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Future[Any]] = set()
        self._by_alpaca_id: dict[str, ClientOrder] = {}
        self._by_alpaca_client_id: dict[str, ClientOrder] = {}
        self._alpaca_ids: dict[str, str] = {}
        self._pending_modify: dict[str, tuple[int, int | None, int | None]] = {}
        self._cancel_requested: set[str] = set()
        self._list_members: set[str] = set()
        self._executions: set[str] = set()
        self._filled_value: dict[str, Decimal] = {}
        self._unmatched: dict[str, list[WireTradeUpdate]] = {}
        self._replacements = itertools.count(1)
        self._resync_on_open = False
        """Set by :meth:`restore_order`: the first stream connection resyncs too."""

    # ----- contract -------------------------------------------------------------------------

    @property
    def capabilities(self) -> VenueCapabilities:
        return VenueCapabilities(
            order_types=frozenset(
                {OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT}
            ),
            time_in_force=frozenset(_TIME_IN_FORCE),
            trailing_stop=True,
            market_data=frozenset({"QUOTE", "TRADE", "BAR"}),
        )

    def advance_to(self, ts: int) -> None:
        """Alpaca keeps its own time: nothing to do."""

    def _check_time(self, instrument_id: str, ts: int) -> None:
        """A live venue has no past to protect: any time is accepted."""

    # Market data goes to strategies through the node; the real venue fills from its own market.
    def on_quote(self, quote: Quote) -> None:
        """Not needed: Alpaca matches against its own market."""

    def on_trade(self, trade: Trade) -> None:
        """Not needed: Alpaca matches against its own market."""

    def on_bar(self, bar: Bar) -> None:
        """Not needed: Alpaca matches against its own market."""

    def _refusal(self, order: ClientOrder, ts: int) -> str | None:
        spec = order.spec
        if spec.trailing_offset is not None and spec.order_type != OrderType.STOP:
            return "UNSUPPORTED_TRAILING_STOP"
        if (
            spec.trailing_offset_type == "BASIS_POINTS"
            and spec.trailing_offset is not None
            and spec.trailing_offset >= 10_000
        ):
            return "INVALID_TRAILING_OFFSET"
        return None

    # ----- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Starts the ``trade_updates`` stream on the running loop (it reconnects by itself)."""
        if self._stream_task is not None:
            raise ConfigError("ALREADY_STARTED", f"venue {self.venue} is already started")
        self._loop = asyncio.get_running_loop()
        # alpaca-py's public run() owns a loop of its own; its coroutine shares ours.
        self._stream_task = asyncio.create_task(
            self._stream._run_forever()  # type: ignore[no-untyped-call]  # unannotated in alpaca-py
        )

    async def wait_ready(self, timeout_s: float = 10.0) -> None:
        """Waits until the stream is authenticated and listening."""
        await asyncio.wait_for(self.session.ready.wait(), timeout_s)

    async def drain(self) -> None:
        """Waits until every REST call sent so far has been answered and handled."""
        while self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)
            await asyncio.sleep(0)

    async def stop(self) -> None:
        """Answers the REST calls in flight, then closes the stream."""
        await self.drain()
        if self._stream_task is not None:
            await stop_stream(self._stream, self._stream_task)
            self._stream_task = None
        self._executor.shutdown(wait=True)

    def restore_order(self, restored: RestoredOrder) -> None:
        """Takes back an order a restarted node's log says Alpaca has (nothing is sent): its
        Alpaca id, the execution ids and value of its logged fills are known again, and once
        the trading stream is open it is resynchronised (:meth:`resync`), which reports what
        happened to it while the node was down."""
        order = self._adopt(restored)
        instrument = self._listing(order.instrument_id).instrument
        self._executions.update(trade_id for trade_id, _, _ in restored.fills)
        self._filled_value[order.client_order_id] = sum(
            (
                Decimal(instrument.ticks_to_str(price)) * Decimal(instrument.lots_to_str(lots))
                for _, price, lots in restored.fills
            ),
            Decimal(0),
        )
        if restored.venue_order_id is not None:
            self._link(order, restored.venue_order_id)
        self._resync_on_open = True

    # ----- queries (REST, off the loop) -------------------------------------------------------

    async def account(self) -> AlpacaAccount:
        wire = _answer(await self._fetch(self.rest.get_account), WireAccount)
        return AlpacaAccount(
            account_id=wire.id,
            status=wire.status,
            currency=wire.currency,
            cash=_money(wire.cash, "cash"),
            equity=_money(wire.equity, "equity"),
            buying_power=_money(wire.buying_power, "buying_power"),
            trading_blocked=wire.trading_blocked,
        )

    async def positions(self) -> list[AlpacaPosition]:
        """Open positions in the instruments of this venue (others are skipped)."""
        found = []
        for wire in _answer(await self._fetch(self.rest.get_all_positions), list[WirePosition]):
            instrument_id = self._instrument_of_symbol.get(wire.symbol)
            if instrument_id is None:
                continue
            instrument = self._listing(instrument_id).instrument
            quantity = instrument.quantity_to_lots(wire.qty)
            average = (
                None
                if wire.avg_entry_price is None
                else decimal_of(wire.avg_entry_price, "avg_entry_price")
            )
            found.append(AlpacaPosition(instrument_id, quantity, average))
        return found

    async def venue_orders(self, status: str = "open") -> list[WireOrder]:
        """Orders as Alpaca has them (``status``: ``open``, ``closed`` or ``all``)."""
        if status not in ("open", "closed", "all"):
            raise InvalidValue("INVALID_STATUS", f"status is open, closed or all, not {status!r}")
        request = sdk.GetOrdersRequest(status=sdk.QueryOrderStatus(status), nested=True)
        return _answer(await self._fetch(lambda: self.rest.get_orders(request)), list[WireOrder])

    async def _fetch(self, call: Callable[[], Any]) -> Any:
        loop = self._require_loop()
        return await loop.run_in_executor(self._executor, call)

    # ----- commands ---------------------------------------------------------------------------

    def _send_submit(self, order: ClientOrder, ts: int) -> None:
        request = self._order_request(order.spec, order.client_order_id)
        self._call(
            lambda: self._post_order(request, order.client_order_id),
            lambda result, error: self._on_submitted([order], result, error),
        )

    def _post_order(self, request: Any, client_order_id: str) -> Any:
        """Runs on the REST thread. When the answer is lost (a network error), the order may
        still have reached Alpaca: it is looked up by its client order id before giving up."""
        try:
            return self.rest.submit_order(request)
        except sdk.APIError:
            raise
        except OSError as error:
            logger.warning("venue %s: submit of %s: %s", self.venue, client_order_id, error)
            try:
                return self.rest.get_order_by_client_id(client_order_id)
            except (sdk.APIError, OSError):
                raise error from None

    def submit_order_list(self, commands: Sequence[SubmitOrder], ts: int) -> None:
        """Sends a bracket or an OCO pair natively, as one Alpaca order with legs.

        A bracket is three submits as :func:`hftcore.oms.make_bracket` builds them: a MARKET
        or LIMIT entry with ``contingency="BRACKET"``, then a LIMIT take-profit and a STOP or
        STOP_LIMIT stop-loss on the other side for the same quantity. An OCO is two submits
        with ``contingency="OCO"``: a LIMIT take-profit and a STOP or STOP_LIMIT stop-loss on
        the same side for the same quantity (an exit of a position held). Each member is a node
        order with its own client order id and events; a list of another shape raises
        ``InvalidValue`` (``INVALID_ORDER_LIST``) and sends nothing."""
        batch: set[str] = set()
        orders = []
        for command in commands:
            if not isinstance(command, SubmitOrder):
                raise InvalidValue("NOT_A_SUBMIT_ORDER", f"expected SubmitOrder, got {command!r}")
            orders.append(
                self._prepare_submit(
                    command.client_order_id, command.order, ts, command.strategy_id, batch
                )
            )
            batch.add(command.client_order_id)
        # The exits are reduce-only by construction (make_bracket marks them so); Alpaca's
        # legs are exits by nature, so that flag is not a refusal here.
        refusal = None
        for order in orders:
            spec = msgspec.structs.replace(order.spec, reduce_only=False)
            refusal = self.capabilities.refusal(spec) or self._refusal(order, ts)
            if refusal is not None:
                break
        request = None if refusal is not None else self._list_request(orders)
        for order in orders:
            order.venue_order_id = next(self._venue_ids)
            self._orders[order.client_order_id] = order
            self._by_venue_id[order.venue_order_id] = order
            self._list_members.add(order.client_order_id)
        if refusal is not None:
            for order in orders:
                self._emit_rejected(order, refusal, self._clock_ns())
            return
        self._call(
            lambda: self._post_order(request, orders[0].client_order_id),
            lambda result, error: self._on_submitted(orders, result, error),
        )

    def _send_modify(
        self,
        order: ClientOrder,
        quantity: int | None,
        price: int | None,
        trigger_price: int | None,
        ts: int,
    ) -> None:
        cid = order.client_order_id
        if order.closed:
            self._emit_modify_rejected(order, "ORDER_CLOSED", self._clock_ns())
            return
        if order.spec.trailing_offset is not None and trigger_price is not None:
            self._emit_modify_rejected(order, "TRAILING_STOP_TRIGGER", self._clock_ns())
            return
        instrument = self._listing(order.instrument_id).instrument
        fields: dict[str, Any] = {}
        if quantity is not None:
            shares = Decimal(instrument.lots_to_str(quantity))
            if shares != shares.to_integral_value():
                # Alpaca replaces whole-share quantities only.
                self._emit_modify_rejected(order, "FRACTIONAL_QUANTITY", self._clock_ns())
                return
            fields["qty"] = int(shares)
        if price is not None:
            fields["limit_price"] = float(instrument.ticks_to_str(price))
        if trigger_price is not None:
            fields["stop_price"] = float(instrument.ticks_to_str(trigger_price))
        replacement_id = f"{cid}.r{next(self._replacements)}"
        fields["client_order_id"] = replacement_id
        request = sdk.ReplaceOrderRequest(**fields)
        self._by_alpaca_client_id[replacement_id] = order
        self._pending_modify[cid] = (
            order.quantity if quantity is None else quantity,
            order.price if price is None else price,
            order.trigger_price if trigger_price is None else trigger_price,
        )

        def replace() -> Any:
            return self.rest.replace_order_by_id(self._current_alpaca_id(order), request)

        self._call(replace, lambda result, error: self._on_replaced(order, result, error))

    def _send_cancel(self, order: ClientOrder, ts: int) -> None:
        if order.closed:
            self._emit_cancel_rejected(order, "ORDER_CLOSED", self._clock_ns())
            return
        self._cancel_requested.add(order.client_order_id)

        def cancel() -> None:
            self.rest.cancel_order_by_id(self._current_alpaca_id(order))

        self._call(cancel, lambda _result, error: self._on_cancel_sent(order, error))

    def _current_alpaca_id(self, order: ClientOrder) -> str:
        """Runs on the REST thread: the order's Alpaca id, looked up by client order id when
        the submit's answer has not been handled yet."""
        known = self._alpaca_ids.get(order.client_order_id)
        if known is not None:
            return known
        found = msgspec.convert(self.rest.get_order_by_client_id(order.client_order_id), WireOrder)
        return found.id

    # ----- request building -----------------------------------------------------------------

    def _common_fields(self, spec: OrderSpec, client_order_id: str | None) -> dict[str, Any]:
        instrument = self._listing(spec.instrument_id).instrument
        fields: dict[str, Any] = {
            "symbol": self._symbols[spec.instrument_id],
            "qty": float(instrument.lots_to_str(spec.quantity)),
            "side": sdk.OrderSide.BUY if spec.side == 0 else sdk.OrderSide.SELL,
            "time_in_force": _TIME_IN_FORCE[TimeInForce(spec.time_in_force)],
        }
        if client_order_id is not None:
            fields["client_order_id"] = client_order_id
        return fields

    def _price(self, spec: OrderSpec, ticks_value: int | None) -> float:
        """A price for alpaca-py (which takes floats; the shortest repr of a price on the tick
        grid is its exact decimal text)."""
        if ticks_value is None:
            raise InvalidValue("MISSING_PRICE", f"{spec.instrument_id}: a price is missing")
        return float(self._listing(spec.instrument_id).instrument.ticks_to_str(ticks_value))

    def _optional_price(self, spec: OrderSpec, ticks_value: int | None) -> float | None:
        return None if ticks_value is None else self._price(spec, ticks_value)

    def _order_request(self, spec: OrderSpec, client_order_id: str) -> Any:
        fields = self._common_fields(spec, client_order_id)
        order_type = OrderType(spec.order_type)
        if order_type is OrderType.MARKET:
            return sdk.MarketOrderRequest(**fields)
        if order_type is OrderType.LIMIT:
            return sdk.LimitOrderRequest(limit_price=self._price(spec, spec.price), **fields)
        if order_type is OrderType.STOP and spec.trailing_offset is not None:
            if spec.trailing_offset_type == "BASIS_POINTS":
                return sdk.TrailingStopOrderRequest(
                    trail_percent=float(Decimal(spec.trailing_offset) / 100), **fields
                )
            # "PRICE" and "TICKS" offsets are both counted in ticks.
            return sdk.TrailingStopOrderRequest(
                trail_price=self._price(spec, spec.trailing_offset), **fields
            )
        if order_type is OrderType.STOP:
            return sdk.StopOrderRequest(stop_price=self._price(spec, spec.trigger_price), **fields)
        return sdk.StopLimitOrderRequest(
            stop_price=self._price(spec, spec.trigger_price),
            limit_price=self._price(spec, spec.price),
            **fields,
        )

    def _list_request(self, orders: list[ClientOrder]) -> Any:
        specs = [order.spec for order in orders]
        if len(specs) == 3 and specs[0].contingency == "BRACKET":
            entry, take_profit, stop_loss = specs
            exit_side = 1 - entry.side
            if OrderType(entry.order_type) not in (OrderType.MARKET, OrderType.LIMIT):
                raise InvalidValue("INVALID_ORDER_LIST", "a bracket entry is MARKET or LIMIT")
            order_class = sdk.OrderClass.BRACKET
            base = entry
            legs_side_ok = take_profit.side == exit_side and stop_loss.side == exit_side
        elif len(specs) == 2 and all(spec.contingency == "OCO" for spec in specs):
            take_profit, stop_loss = specs
            order_class = sdk.OrderClass.OCO
            base = take_profit
            legs_side_ok = take_profit.side == stop_loss.side
        else:
            raise InvalidValue(
                "INVALID_ORDER_LIST",
                "expected a bracket (entry, take-profit, stop-loss) or an OCO pair "
                "(take-profit, stop-loss)",
            )
        if (
            not legs_side_ok
            or OrderType(take_profit.order_type) is not OrderType.LIMIT
            or OrderType(stop_loss.order_type) not in (OrderType.STOP, OrderType.STOP_LIMIT)
            or stop_loss.trailing_offset is not None
            or len({spec.instrument_id for spec in specs}) != 1
            or len({spec.quantity for spec in specs}) != 1
        ):
            raise InvalidValue(
                "INVALID_ORDER_LIST",
                "the take-profit must be a LIMIT and the stop-loss a STOP or STOP_LIMIT, on the "
                "exit side, of the same instrument and quantity",
            )
        fields = self._common_fields(base, orders[0].client_order_id)
        fields["order_class"] = order_class
        fields["take_profit"] = sdk.TakeProfitRequest(
            limit_price=self._price(take_profit, take_profit.price)
        )
        fields["stop_loss"] = sdk.StopLossRequest(
            stop_price=self._price(stop_loss, stop_loss.trigger_price),
            limit_price=self._optional_price(stop_loss, stop_loss.price),
        )
        if order_class is sdk.OrderClass.OCO:
            return sdk.LimitOrderRequest(**fields)
        if OrderType(base.order_type) is OrderType.LIMIT:
            return sdk.LimitOrderRequest(limit_price=self._price(base, base.price), **fields)
        return sdk.MarketOrderRequest(**fields)

    # ----- REST answers (on the loop) -------------------------------------------------------

    def _call(
        self, request: Callable[[], Any], answer: Callable[[Any, BaseException | None], None]
    ) -> None:
        loop = self._require_loop()
        future = loop.run_in_executor(self._executor, request)
        self._inflight.add(future)

        def done(finished: asyncio.Future[Any]) -> None:
            self._inflight.discard(finished)
            if finished.cancelled():
                return
            error = finished.exception()
            try:
                answer(None if error is not None else finished.result(), error)
            except HftcoreError:
                self.stats.malformed += 1
                logger.exception("venue %s: could not apply a REST answer", self.venue)

        future.add_done_callback(done)

    def _require_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise ConfigError("NOT_STARTED", f"venue {self.venue}: await start() first")
        return self._loop

    def _decode_order(self, raw: Any) -> WireOrder | None:
        try:
            return msgspec.convert(raw, WireOrder)
        except msgspec.ValidationError as error:
            self.stats.malformed += 1
            logger.error("venue %s: malformed order in a REST answer: %s", self.venue, error)
            return None

    def _on_submitted(
        self, orders: list[ClientOrder], result: Any, error: BaseException | None
    ) -> None:
        now = self._clock_ns()
        if error is not None:
            reason = _rejection(error)
            logger.warning(
                "venue %s: submit of %s refused: %s", self.venue, orders[0].client_order_id, reason
            )
            for order in orders:
                if not order.closed:
                    self._emit_rejected(order, reason, now)
            return
        wire = self._decode_order(result)
        if wire is None:
            return
        self._link(orders[0], wire.id)
        legs = wire.legs or []
        for order in orders[1:]:
            leg = _leg_for(order.spec, legs)
            if leg is not None:
                self._link(order, leg.id)
        if wire.status in _ACCEPTING_STATUSES:
            self._accept(orders[0], wire.id, now)
        elif wire.status == "rejected":
            for order in orders:
                self._emit_rejected(order, "VENUE_REJECTED", now)

    def _on_replaced(self, order: ClientOrder, result: Any, error: BaseException | None) -> None:
        if error is not None:
            self._pending_modify.pop(order.client_order_id, None)
            if not order.closed:
                self._emit_modify_rejected(order, _rejection(error), self._clock_ns())
            return
        wire = self._decode_order(result)
        if wire is not None:
            self._link(order, wire.id)

    def _on_cancel_sent(self, order: ClientOrder, error: BaseException | None) -> None:
        if error is None:
            return
        self._cancel_requested.discard(order.client_order_id)
        self._emit_cancel_rejected(order, _rejection(error), self._clock_ns())

    def _link(self, order: ClientOrder, alpaca_id: str) -> None:
        """Records ``alpaca_id`` as the order's current Alpaca order, then applies updates of it
        that arrived first."""
        self._by_alpaca_id[alpaca_id] = order
        self._alpaca_ids[order.client_order_id] = alpaca_id
        for update in self._unmatched.pop(alpaca_id, []):
            self._apply_update(order, update)

    # ----- the trade_updates stream ---------------------------------------------------------

    def _consume_frame(self, frame: Frame) -> Frame:
        try:
            envelope = TRADING_FRAME_DECODER.decode(frame)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            return self._malformed(f"frame {preview(frame)}: {error}")
        if envelope.stream != "trade_updates":
            if envelope.stream == "listening":
                self.session.opened()
            return frame  # authorization, listening: alpaca-py's session needs them
        try:
            update = TRADE_UPDATE_DECODER.decode(envelope.data)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            return self._malformed(f"trade update {preview(bytes(envelope.data))}: {error}")
        self.stats.updates += 1
        order = self._order_of(update.order)
        if order is None:
            if len(self._unmatched) < _MAX_UNMATCHED:
                self._unmatched.setdefault(update.order.id, []).append(update)
            self.stats.unknown_orders += 1
            logger.info(
                "venue %s: update %s of unknown order %s", self.venue, update.event, update.order.id
            )
            return EMPTY_JSON
        try:
            self._apply_update(order, update)
        except HftcoreError as error:
            return self._malformed(
                f"trade update {update.event} of {order.client_order_id}: {error}"
            )
        return EMPTY_JSON

    def _malformed(self, what: str) -> Frame:
        self.stats.malformed += 1
        logger.warning("venue %s: skipped a malformed %s", self.venue, what)
        return EMPTY_JSON

    def _order_of(self, wire: WireOrder) -> ClientOrder | None:
        order = self._by_alpaca_id.get(wire.id)
        if order is None:
            order = self._orders.get(wire.client_order_id) or self._by_alpaca_client_id.get(
                wire.client_order_id
            )
            if order is not None and wire.status != "replaced":
                self._link(order, wire.id)
        return order

    async def _on_unexpected_dispatch(self, message: Any) -> None:
        """alpaca-py's handler: only reached if a trade update got past the tap."""
        self.stats.malformed += 1
        logger.error("venue %s: a trade update bypassed the decoder: %r", self.venue, message)

    def _apply_update(self, order: ClientOrder, update: WireTradeUpdate) -> None:
        event = update.event
        now = self._clock_ns()
        ts = _event_time(update, now)
        cid = order.client_order_id
        if event in ("new", "accepted"):
            if not order.accepted and not order.closed:
                self._accept(order, update.order.id, ts)
        elif event in ("fill", "partial_fill"):
            self._fill(order, update, ts)
        elif event == "canceled":
            if not order.closed:
                reason = (
                    "REQUESTED"
                    if cid in self._cancel_requested
                    else "OCO"
                    if cid in self._list_members
                    else "VENUE"
                )
                self._emit_canceled(order, reason, ts)
        elif event == "expired":
            if not order.closed:
                self._emit_expired(order, ts)
        elif event == "rejected":
            if not order.closed:
                self._emit_rejected(order, "VENUE_REJECTED", ts)
        elif event == "replaced":
            self._replaced(order, update, ts)
        elif event == "order_replace_rejected":
            self._pending_modify.pop(cid, None)
            self._emit_modify_rejected(order, "VENUE_REJECTED", ts)
        elif event == "order_cancel_rejected":
            self._cancel_requested.discard(cid)
            self._emit_cancel_rejected(order, "VENUE_REJECTED", ts)
        elif event in _IGNORED_EVENTS:
            self.stats.ignored += 1
        else:
            self.stats.malformed += 1
            logger.warning("venue %s: unknown trade update event %r", self.venue, event)

    def _accept(self, order: ClientOrder, alpaca_id: str, ts: int) -> None:
        if order.accepted or order.closed:
            return
        self._emit(
            OrderAccepted(
                order.strategy_id, order.instrument_id, order.client_order_id, alpaca_id, ts, ts
            ),
            order,
        )

    def _fill(self, order: ClientOrder, update: WireTradeUpdate, ts: int) -> None:
        if update.price is None or update.qty is None:
            raise InvalidValue("INVALID_FILL", "a fill without price or qty")
        trade_id = update.execution_id or f"{update.order.id}-{update.order.filled_qty}"
        if trade_id in self._executions:
            self.stats.ignored += 1
            return
        instrument = self._listing(order.instrument_id).instrument
        price = instrument.price_to_ticks(update.price)
        quantity = instrument.quantity_to_lots(update.qty)
        if quantity <= 0 or quantity > order.quantity - order.filled:
            raise InvalidValue(
                "INVALID_FILL",
                f"fill of {quantity} lots on an order with {order.quantity - order.filled} left",
            )
        self._record_fill(order, update.order.id, trade_id, price=price, quantity=quantity, ts=ts)

    def _record_fill(
        self,
        order: ClientOrder,
        alpaca_id: str,
        trade_id: str,
        *,
        price: int,
        quantity: int,
        ts: int,
    ) -> None:
        if not order.accepted:
            self._accept(order, alpaca_id, ts)
        self._executions.add(trade_id)
        instrument = self._listing(order.instrument_id).instrument
        value = Decimal(instrument.ticks_to_str(price)) * Decimal(instrument.lots_to_str(quantity))
        self._filled_value[order.client_order_id] = (
            self._filled_value.get(order.client_order_id, Decimal(0)) + value
        )
        self._emit(
            OrderFilled(
                strategy_id=order.strategy_id,
                instrument_id=order.instrument_id,
                client_order_id=order.client_order_id,
                venue_order_id=alpaca_id,
                trade_id=trade_id,
                side=order.side,
                last_price=price,
                last_quantity=quantity,
                # Alpaca reports neither liquidity nor a per-fill fee (stock trades are
                # commission-free; crypto fees are booked separately by Alpaca).
                liquidity="TAKER",
                commission=0,
                currency=self._listing(order.instrument_id).currency,
                ts_event=ts,
                ts_init=ts,
            ),
            order,
        )

    def _replaced(self, order: ClientOrder, update: WireTradeUpdate, ts: int) -> None:
        wire = update.order
        if wire.replaced_by is not None:
            self._link(order, wire.replaced_by)
        elif wire.replaces is not None:
            self._link(order, wire.id)
        terms = self._pending_modify.pop(order.client_order_id, None)
        if terms is None:
            # Replaced outside this client: its terms are not ours to guess.
            self.stats.unknown_orders += 1
            logger.warning("venue %s: %s was replaced elsewhere", self.venue, order.client_order_id)
            return
        if not order.closed:
            quantity, price, trigger = terms
            self._emit_updated(order, quantity, price, trigger, ts)

    # ----- resync after a reconnect ---------------------------------------------------------

    def _on_stream_open(self, connections: int) -> None:
        if connections > 1 or self._resync_on_open:
            self._resync_on_open = False
            self.resync()

    def resync(self) -> None:
        """Asks Alpaca for every order not known to be closed and applies what the stream may
        have missed while disconnected: fills (at the price that makes the average Alpaca
        reports, to the nearest tick) and the end of the order."""
        self.stats.resyncs += 1
        targets = [
            (order, self._alpaca_ids[order.client_order_id])
            for order in self._orders.values()
            if not order.closed and order.client_order_id in self._alpaca_ids
        ]

        def fetch() -> list[tuple[ClientOrder, Any]]:
            found = []
            for order, alpaca_id in targets:
                try:
                    found.append((order, self.rest.get_order_by_id(alpaca_id)))
                except sdk.APIError as error:
                    logger.error("venue %s: resync of %s: %s", self.venue, alpaca_id, error)
            return found

        self._call(fetch, self._on_resync)

    def _on_resync(self, result: Any, error: BaseException | None) -> None:
        if error is not None:
            logger.error("venue %s: resync failed: %s", self.venue, error)
            return
        now = self._clock_ns()
        for order, raw in result:
            wire = self._decode_order(raw)
            if wire is None or order.closed:
                continue
            self._catch_up_fills(order, wire, now)
            if order.closed:
                continue
            if wire.status == "canceled":
                reason = "REQUESTED" if order.client_order_id in self._cancel_requested else "VENUE"
                self._emit_canceled(order, reason, now)
            elif wire.status == "expired":
                self._emit_expired(order, now)
            elif wire.status == "rejected":
                self._emit_rejected(order, "VENUE_REJECTED", now)
            elif wire.status in _ACCEPTING_STATUSES:
                self._accept(order, wire.id, now)

    def _catch_up_fills(self, order: ClientOrder, wire: WireOrder, ts: int) -> None:
        if wire.filled_qty is None or wire.filled_avg_price is None:
            return
        instrument = self._listing(order.instrument_id).instrument
        filled = instrument.quantity_to_lots(wire.filled_qty)
        missing = filled - order.filled
        if missing <= 0:
            return
        total_value = decimal_of(wire.filled_avg_price, "filled_avg_price") * decimal_of(
            wire.filled_qty, "filled_qty"
        )
        missing_value = total_value - self._filled_value.get(order.client_order_id, Decimal(0))
        missing_shares = Decimal(instrument.lots_to_str(missing))
        tick = Decimal(instrument.tick_size)
        price_ticks = int(
            (missing_value / missing_shares / tick).to_integral_value(ROUND_HALF_EVEN)
        )
        trade_id = f"{wire.id}-resync-{filled}"
        logger.warning(
            "venue %s: %s had %d lots filled while the stream was down",
            self.venue,
            order.client_order_id,
            missing,
        )
        self._record_fill(order, wire.id, trade_id, price=price_ticks, quantity=missing, ts=ts)


def _leg_for(spec: OrderSpec, legs: list[WireOrder]) -> WireOrder | None:
    """The leg of an Alpaca bracket/OCO answer that is this member (by its order type)."""
    wanted = "limit" if OrderType(spec.order_type) is OrderType.LIMIT else None
    for leg in legs:
        if (leg.type == "limit") == (wanted == "limit"):
            return leg
    return None


def _event_time(update: WireTradeUpdate, default: int) -> int:
    if update.timestamp is None:
        return default
    try:
        return to_ns(update.timestamp)
    except HftcoreError:
        return default


def _answer(raw: Any, kind: type[T]) -> T:
    """A REST answer as ``kind``; a malformed one raises ``InvalidData``
    (``MALFORMED_ANSWER``)."""
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as error:
        raise InvalidData("MALFORMED_ANSWER", f"Alpaca answered {raw!r:.200}: {error}") from None


def _money(value: str | float | None, what: str) -> int:
    return 0 if value is None else to_money(decimal_of(value, what), what)


def _rejection(error: BaseException) -> str:
    """A reject reason from a failed REST call: ``LABEL: Alpaca's message``."""
    if isinstance(error, sdk.APIError):
        status = error.status_code
        label = (
            _REJECT_LABELS.get(status, f"HTTP_{status}") if status is not None else "VENUE_ERROR"
        )
        try:
            message = msgspec.json.decode(str(error), type=WireError).message
        except (msgspec.DecodeError, msgspec.ValidationError):
            message = str(error)[:200]
        return f"{label}: {message}"
    return f"VENUE_UNREACHABLE: {type(error).__name__}: {error}"


__all__ = ["AlpacaAccount", "AlpacaPosition", "AlpacaStats", "AlpacaVenue"]
