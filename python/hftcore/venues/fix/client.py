"""A FIX 4.4 venue client: the node's :class:`VenueClient` over an initiator session.

Commands become NewOrderSingle (D), OrderCancelRequest (F) and OrderCancelReplaceRequest (G);
ExecutionReports (8), OrderCancelRejects (9) and BusinessMessageRejects (j) become model order
events. The node's client order id is the order's first ClOrdID; each cancel or replace request
gets its own ClOrdID (``<client order id>:<n>``) with OrigClOrdID the id the venue knows the
order by, which a confirmed replace moves to the request's. Executions are told apart by
ExecID, so a report resent with PossDupFlag=Y after a reconnect is applied once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from decimal import Decimal

from hftcore._core import Instrument
from hftcore.errors import HftcoreError, InvalidValue
from hftcore.model.events import (
    OrderAccepted,
    OrderFilled,
)
from hftcore.model.money import to_money
from hftcore.model.orders import OrderType, PostOnly, TimeInForce
from hftcore.venues.base import (
    ClientOrder,
    EventSink,
    RestoredOrder,
    VenueCapabilities,
    VenueClient,
)
from hftcore.venues.fix.codec import BadTagValue, Field, FixMessage, Tag
from hftcore.venues.fix.config import FixSessionConfig
from hftcore.venues.fix.orders import (
    ORD_TYPE_TO_FIX,
    SIDE_TO_FIX,
    TIME_IN_FORCE_TO_FIX,
    fix_symbol,
    lots_of,
    optional_ticks,
    order_fields,
    ticks_of,
    timestamp_of,
)
from hftcore.venues.fix.session import (
    FixApplication,
    FixSession,
    UnsupportedMessageType,
    utc_timestamp,
)

logger = logging.getLogger(__name__)

MISC_FEE_MEMBERS = (Tag.MISC_FEE_AMT, Tag.MISC_FEE_CURR, Tag.MISC_FEE_TYPE)
LIQUIDITY = {"1": "MAKER", "2": "TAKER"}
SENT_MEMORY = 100_000
"""Order messages remembered by MsgSeqNum for a late session Reject (oldest forgotten first)."""
IGNORED_EXEC_TYPES = frozenset({"3", "6", "A", "D", "E", "I"})
"""Done for day, pending cancel / new / replace, restated, order status: nothing changes."""


class FixConnectionError(HftcoreError, ConnectionError):
    """The initiator could not connect or log on (``code``: ``CONNECT_FAILED``,
    ``LOGON_TIMEOUT``)."""


class FixVenueClient(VenueClient):
    """A venue reached through a FIX 4.4 initiator session (``config``).

    :meth:`connect` opens one connection and returns once logged on; :meth:`run` keeps the
    session connected, reconnecting every ``config.reconnect_interval`` seconds; :meth:`stop`
    logs out. Orders sent while the session is not logged on are answered at once with
    ``OrderRejected`` / ``OrderCancelRejected`` / ``OrderModifyRejected`` ``VENUE_DISCONNECTED``
    (an order must not leave hours late). ``ts_event`` of an event is the report's
    TransactTime (else the time it arrived), ``ts_init`` the time it arrived (``clock_ns``).

    Counters: ``unknown_reports`` (reports of orders this client did not send),
    ``duplicate_executions`` (an ExecID seen before).
    """

    def __init__(
        self,
        venue: str,
        instruments: Mapping[Instrument, str],
        config: FixSessionConfig,
        *,
        event_sink: EventSink | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        super().__init__(venue, instruments, event_sink)
        self.clock_ns = clock_ns
        self.session = FixSession(config, _ClientApplication(self), clock_ns=clock_ns)
        self._by_cl_ord_id: dict[str, ClientOrder] = {}
        self._current_cl_ord_id: dict[str, str] = {}
        self._requests: dict[str, str] = {}
        """ClOrdID of a cancel / replace request in flight -> ``"CANCEL"`` or ``"MODIFY"``."""
        self._request_numbers: dict[str, int] = {}
        self._sent: dict[int, tuple[str, ClientOrder]] = {}
        """MsgSeqNum of each order message sent -> its MsgType and order, so a session-level
        Reject of it can be told to the OMS."""
        self._executions: set[str] = set()
        self.unknown_reports = 0
        self.duplicate_executions = 0
        self._capabilities = VenueCapabilities(
            order_types=frozenset(OrderType),
            time_in_force=frozenset(TimeInForce),
            post_only=frozenset({PostOnly.NONE, PostOnly.REJECT}),
            iceberg=True,
        )
        self._runner: asyncio.Task[None] | None = None
        self.stopping = False
        """Set by :meth:`stop`: a disconnection from then on is expected."""

    @property
    def capabilities(self) -> VenueCapabilities:
        return self._capabilities

    # ----- connection ---------------------------------------------------------------------

    async def connect(self) -> asyncio.Task[None]:
        """One connection: returns its task once logged on; raises ``FixConnectionError``."""
        config = self.session.config
        try:
            reader, writer = await asyncio.open_connection(config.host, config.port)
        except OSError as error:
            raise FixConnectionError(
                "CONNECT_FAILED", f"{config.host}:{config.port}: {error}"
            ) from None
        task = asyncio.create_task(self.session.run_connection(reader, writer, initiate=True))
        logged_on = asyncio.create_task(self.session.logged_on_event.wait())
        await asyncio.wait(
            {task, logged_on}, timeout=config.logon_timeout, return_when="FIRST_COMPLETED"
        )
        if not self.session.logged_on:
            logged_on.cancel()
            self.session.disconnect()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise FixConnectionError(
                "LOGON_TIMEOUT",
                f"no Logon from {config.target_comp_id} at {config.host}:{config.port}",
            )
        return task

    async def run(self) -> None:
        """Keeps the session connected until cancelled (or :meth:`stop`)."""
        while True:
            try:
                await (await self.connect())
            except FixConnectionError as error:
                logger.warning("%s: %s", self.venue, error)
            await asyncio.sleep(self.session.config.reconnect_interval)

    def start(self) -> asyncio.Task[None]:
        """Runs :meth:`run` in a task."""
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self.run())
        return self._runner

    async def stop(self) -> None:
        """Logs out, stops reconnecting and closes the sequence store (the client is done;
        a new one continues the numbers from the store)."""
        self.stopping = True
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None
        await self.session.logout()
        self.session.store.close()

    def restore_order(self, restored: RestoredOrder) -> None:
        """Takes back an order a restarted node's log says the venue has (nothing is sent):
        ExecutionReports of it, resent by the venue for the sequence gap or new, apply to it,
        and ExecIDs of its logged fills are not applied again. Its cancel and replace requests
        are numbered from the session's next MsgSeqNum, above any number used before the
        restart (unless the session resets its numbers on logon)."""
        order = self._adopt(restored)
        client_order_id = order.client_order_id
        self._by_cl_ord_id[client_order_id] = order
        self._current_cl_ord_id[client_order_id] = client_order_id
        self._request_numbers[client_order_id] = self.session.next_sender_seq
        self._executions.update(trade_id for trade_id, _, _ in restored.fills)

    # ----- VenueClient hooks --------------------------------------------------------------

    def advance_to(self, ts: int) -> None:
        """A live venue keeps its own time: nothing to move."""

    def _check_time(self, instrument_id: str, ts: int) -> None:
        """A live venue takes commands at its own time of arrival: any ``ts`` is accepted."""

    def _send_submit(self, order: ClientOrder, ts: int) -> None:
        if not self.session.logged_on:
            self._emit_rejected(order, "VENUE_DISCONNECTED", ts)
            return
        cl_ord_id = order.client_order_id
        self._by_cl_ord_id[cl_ord_id] = order
        self._current_cl_ord_id[cl_ord_id] = cl_ord_id
        instrument = self._listing(order.instrument_id).instrument
        seq = self.session.send(
            "D",
            [
                (Tag.CL_ORD_ID, cl_ord_id),
                *order_fields(order.spec, instrument),
                (Tag.TRANSACT_TIME, utc_timestamp(ts)),
            ],
        )
        self._remember(seq, "D", order)

    def _send_cancel(self, order: ClientOrder, ts: int) -> None:
        if not self.session.logged_on:
            self._emit_cancel_rejected(order, "VENUE_DISCONNECTED", ts)
            return
        instrument = self._listing(order.instrument_id).instrument
        self._send_request(
            order,
            "F",
            "CANCEL",
            [
                (Tag.SYMBOL, fix_symbol(order.instrument_id)),
                (Tag.SIDE, SIDE_TO_FIX[order.side]),
                (Tag.TRANSACT_TIME, utc_timestamp(ts)),
                (Tag.ORDER_QTY, instrument.lots_to_str(order.quantity)),
            ],
        )

    def _send_modify(
        self,
        order: ClientOrder,
        quantity: int | None,
        price: int | None,
        trigger_price: int | None,
        ts: int,
    ) -> None:
        if not self.session.logged_on:
            self._emit_modify_rejected(order, "VENUE_DISCONNECTED", ts)
            return
        instrument = self._listing(order.instrument_id).instrument
        spec = order.spec
        fields: list[Field] = [
            (Tag.SYMBOL, fix_symbol(order.instrument_id)),
            (Tag.SIDE, SIDE_TO_FIX[order.side]),
            (Tag.TRANSACT_TIME, utc_timestamp(ts)),
            (
                Tag.ORDER_QTY,
                instrument.lots_to_str(order.quantity if quantity is None else quantity),
            ),
            (Tag.ORD_TYPE, ORD_TYPE_TO_FIX[OrderType(spec.order_type)]),
        ]
        new_price = order.price if price is None else price
        if new_price is not None:
            fields.append((Tag.PRICE, instrument.ticks_to_str(new_price)))
        new_trigger = order.trigger_price if trigger_price is None else trigger_price
        if new_trigger is not None:
            fields.append((Tag.STOP_PX, instrument.ticks_to_str(new_trigger)))
        fields.append((Tag.TIME_IN_FORCE, TIME_IN_FORCE_TO_FIX[TimeInForce(spec.time_in_force)]))
        self._send_request(order, "G", "MODIFY", fields)

    def _send_request(
        self, order: ClientOrder, msg_type: str, kind: str, fields: list[Field]
    ) -> None:
        client_order_id = order.client_order_id
        number = self._request_numbers.get(client_order_id, 0) + 1
        self._request_numbers[client_order_id] = number
        request_id = f"{client_order_id}:{number}"
        self._by_cl_ord_id[request_id] = order
        self._requests[request_id] = kind
        seq = self.session.send(
            msg_type,
            [
                (Tag.ORIG_CL_ORD_ID, self._current_cl_ord_id[client_order_id]),
                (Tag.CL_ORD_ID, request_id),
                *fields,
            ],
        )
        self._remember(seq, request_id, order)

    def _remember(self, seq: int, request: str, order: ClientOrder) -> None:
        self._sent[seq] = (request, order)
        if len(self._sent) > SENT_MEMORY:
            del self._sent[next(iter(self._sent))]

    # ----- venue messages -----------------------------------------------------------------

    def on_execution_report(self, message: FixMessage) -> None:
        cl_ord_id = message.require(Tag.CL_ORD_ID)
        order = self._by_cl_ord_id.get(cl_ord_id)
        if order is None:
            self.unknown_reports += 1
            logger.warning("%s: ExecutionReport for unknown ClOrdID %r", self.venue, cl_ord_id)
            return
        exec_id = message.require(Tag.EXEC_ID)
        if exec_id in self._executions:
            self.duplicate_executions += 1
            return
        exec_type = message.require(Tag.EXEC_TYPE)
        ts_init = self.clock_ns()
        ts = timestamp_of(message, Tag.TRANSACT_TIME) if Tag.TRANSACT_TIME in message else ts_init
        listing = self._listing(order.instrument_id)
        instrument = listing.instrument
        text = message.get(Tag.TEXT)
        match exec_type:
            case "0":
                if not order.accepted:
                    self._emit(
                        OrderAccepted(
                            order.strategy_id,
                            order.instrument_id,
                            order.client_order_id,
                            message.require(Tag.ORDER_ID),
                            ts,
                            ts_init,
                        ),
                        order,
                    )
            case "8":
                reason = text or f"ORD_REJ_REASON_{message.get(Tag.ORD_REJ_REASON) or 'OTHER'}"
                self._emit_rejected(order, reason, ts)
            case "4":
                request = self._requests.pop(cl_ord_id, None)
                self._emit_canceled(order, text or ("REQUESTED" if request else "CANCELED"), ts)
            case "5":
                quantity = lots_of(message, Tag.ORDER_QTY, instrument)
                price = optional_ticks(message, Tag.PRICE, instrument)
                trigger = optional_ticks(message, Tag.STOP_PX, instrument)
                self._requests.pop(cl_ord_id, None)
                self._current_cl_ord_id[order.client_order_id] = cl_ord_id
                self._emit_updated(order, quantity, price, trigger, ts)
            case "F":
                self._emit(
                    OrderFilled(
                        strategy_id=order.strategy_id,
                        instrument_id=order.instrument_id,
                        client_order_id=order.client_order_id,
                        venue_order_id=message.require(Tag.ORDER_ID),
                        trade_id=exec_id,
                        side=order.side,
                        last_price=ticks_of(message, Tag.LAST_PX, instrument),
                        last_quantity=lots_of(message, Tag.LAST_QTY, instrument),
                        liquidity=LIQUIDITY.get(message.get(Tag.LAST_LIQUIDITY_IND) or "", "TAKER"),
                        commission=self._fees(message, listing.currency),
                        currency=listing.currency,
                        ts_event=ts,
                        ts_init=ts_init,
                    ),
                    order,
                )
            case "C":
                self._emit_expired(order, ts)
            case "L":
                self._emit_triggered(order, ts)
            case _ if exec_type in IGNORED_EXEC_TYPES:
                logger.debug("%s: ExecType %s for %s", self.venue, exec_type, cl_ord_id)
            case _:
                raise BadTagValue(Tag.EXEC_TYPE, exec_type)
        self._executions.add(exec_id)

    def on_cancel_reject(self, message: FixMessage) -> None:
        request_id = message.require(Tag.CL_ORD_ID)
        order = self._by_cl_ord_id.get(request_id)
        if order is None:
            self.unknown_reports += 1
            logger.warning("%s: OrderCancelReject for unknown ClOrdID %r", self.venue, request_id)
            return
        kind = self._requests.pop(request_id, None)
        response_to = message.get(Tag.CXL_REJ_RESPONSE_TO)
        reason = message.get(Tag.TEXT) or f"CXL_REJ_REASON_{message.get(Tag.CXL_REJ_REASON)}"
        ts = self.clock_ns()
        if response_to == "2" or (response_to is None and kind == "MODIFY"):
            self._emit_modify_rejected(order, reason, ts)
        else:
            self._emit_cancel_rejected(order, reason, ts)

    def on_business_reject(self, message: FixMessage) -> None:
        """A BusinessMessageReject naming one of our ClOrdIDs (BusinessRejectRefID) refuses
        that order or request; others are logged."""
        ref_id = message.get(Tag.BUSINESS_REJECT_REF_ID) or ""
        text = message.get(Tag.TEXT) or f"BUSINESS_REJECT_{message.get(Tag.BUSINESS_REJECT_REASON)}"
        order = self._by_cl_ord_id.get(ref_id)
        if order is None:
            logger.warning("%s: BusinessMessageReject %r: %s", self.venue, ref_id, text)
            return
        self._refuse(order, ref_id, text)

    def on_session_reject(self, message: FixMessage) -> None:
        """A session-level Reject of an order message we sent refuses that order or request
        (reason ``SESSION_REJECT_<373>: <Text>``); a Reject of anything else is only logged."""
        ref_seq = message.get(Tag.REF_SEQ_NUM) or ""
        sent = self._sent.pop(int(ref_seq), None) if ref_seq.isdigit() else None
        if sent is None:
            return
        reason = f"SESSION_REJECT_{message.get(Tag.SESSION_REJECT_REASON)}: {message.get(Tag.TEXT)}"
        request, order = sent
        self._refuse(order, order.client_order_id if request == "D" else request, reason)

    def _refuse(self, order: ClientOrder, cl_ord_id: str, reason: str) -> None:
        """The venue refused the message with ``cl_ord_id``: the order itself (its first
        ClOrdID, not yet accepted) or a cancel / replace request."""
        ts = self.clock_ns()
        kind = self._requests.pop(cl_ord_id, None)
        if kind == "CANCEL":
            self._emit_cancel_rejected(order, reason, ts)
        elif kind == "MODIFY":
            self._emit_modify_rejected(order, reason, ts)
        elif cl_ord_id == order.client_order_id and not order.accepted and not order.closed:
            self._emit_rejected(order, reason, ts)
        else:
            logger.warning("%s: refusal of %r after the fact: %s", self.venue, cl_ord_id, reason)

    def _fees(self, message: FixMessage, currency: str) -> int:
        """Commission of a fill: the MiscFees group's amounts in the quote currency."""
        total = 0
        for fee in message.group(Tag.NO_MISC_FEES, MISC_FEE_MEMBERS):
            amount = fee.get(Tag.MISC_FEE_AMT, "")
            if fee.get(Tag.MISC_FEE_CURR, currency) != currency:
                raise BadTagValue(Tag.MISC_FEE_CURR, fee[Tag.MISC_FEE_CURR])
            try:
                total += to_money(Decimal(amount), "MiscFeeAmt")
            except (InvalidValue, ArithmeticError):
                raise BadTagValue(Tag.MISC_FEE_AMT, amount) from None
        return total


class _ClientApplication(FixApplication):
    def __init__(self, client: FixVenueClient) -> None:
        self._client = client

    def on_logon(self, session: FixSession) -> None:
        logger.info("%s: FIX session logged on", self._client.venue)

    def on_logout(self, session: FixSession) -> None:
        # After stop() this is the expected end; otherwise the connection was lost.
        level = logging.INFO if self._client.stopping else logging.WARNING
        logger.log(level, "%s: FIX session disconnected", self._client.venue)

    def on_message(
        self, session: FixSession, message: FixMessage, possible_duplicate: bool
    ) -> None:
        match message.msg_type:
            case "8":
                self._client.on_execution_report(message)
            case "9":
                self._client.on_cancel_reject(message)
            case "j":
                self._client.on_business_reject(message)
            case other:
                raise UnsupportedMessageType(other)

    def on_session_reject(self, session: FixSession, message: FixMessage) -> None:
        self._client.on_session_reject(message)


__all__ = ["FixConnectionError", "FixVenueClient"]
