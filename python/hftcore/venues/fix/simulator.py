"""A FIX 4.4 venue simulator: an acceptor whose orders trade in the core's matching engine.

Each configured session (one counterparty CompID) is one participant of a shared
:class:`~hftcore.MatchingEngine`: its orders go through a :class:`MatchingVenue` of its own
(owner ``1, 2, ...`` in the order of the configs), so clients connected at the same time trade
with each other, and with anyone else who submits to ``engine`` directly. Every order event of
a participant becomes an ExecutionReport on its session; while it is disconnected the reports
are kept in its store and resent when it logs on again and asks for the gap.

Messages accepted: NewOrderSingle (D), OrderCancelRequest (F), OrderCancelReplaceRequest (G).
A malformed one gets a session Reject (a required tag missing, a bad value); an order the engine
refuses gets an ExecutionReport with ExecType 8 and the reason in Text; a cancel or replace of
an unknown or closed order gets an OrderCancelReject. Fills carry LastLiquidityInd and the fee
in the MiscFees group (MiscFeeType 4, exchange fees).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from hftcore._core import Instrument, MatchingEngine
from hftcore._core import OrderEvent as CoreEvent
from hftcore.errors import ConfigError, HftcoreError
from hftcore.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderModifyRejected,
    OrderRejected,
    OrderTriggered,
    OrderUpdated,
)
from hftcore.model.money import money_to_decimal
from hftcore.model.orders import OrderType
from hftcore.venues.base import ClientOrder
from hftcore.venues.fix.codec import (
    BadTagValue,
    Field,
    FixDecodeError,
    FixMessage,
    FixStreamParser,
    Tag,
    group_fields,
)
from hftcore.venues.fix.config import FixSessionConfig
from hftcore.venues.fix.orders import (
    ORD_TYPE_TO_FIX,
    SIDE_TO_FIX,
    fix_symbol,
    lots_of,
    optional_ticks,
    order_spec_from_message,
)
from hftcore.venues.fix.session import (
    FixApplication,
    FixSession,
    UnsupportedMessageType,
    utc_timestamp,
)
from hftcore.venues.simulated import MatchingVenue

logger = logging.getLogger(__name__)

EXCHANGE_FEES = "4"
UNKNOWN_ORDER = "1"
OTHER = "99"


class _SharedEngineVenue(MatchingVenue):
    """A participant's :class:`MatchingVenue`: the engine events of any participant's call are
    handed to every participant, so a fill of one's resting order by another reaches it."""

    def __init__(
        self,
        simulator: FixVenueSimulator,
        instruments: Mapping[Instrument, str],
        owner: int,
        sink: Callable[[OrderEvent], None],
    ) -> None:
        super().__init__(
            simulator.venue,
            instruments,
            simulator.engine,
            owner=owner,
            first_order_id=owner << 40,
            event_sink=sink,
        )
        self._simulator = simulator

    def on_engine_events(self, events: Iterable[CoreEvent]) -> list[OrderEvent]:
        return self._simulator.dispatch(list(events))

    def own_engine_events(self, events: list[CoreEvent]) -> list[OrderEvent]:
        return super().on_engine_events(events)


@dataclass(slots=True)
class _Request:
    """The cancel or replace request being executed, to answer with its ClOrdID."""

    cl_ord_id: str
    orig_cl_ord_id: str
    msg_type: str


class _Participant(FixApplication):
    """One counterparty session: FIX requests into its venue, its events into reports."""

    def __init__(self, simulator: FixVenueSimulator, config: FixSessionConfig, owner: int) -> None:
        self.simulator = simulator
        self.session = FixSession(config, self, clock_ns=simulator.clock_ns)
        self.venue = _SharedEngineVenue(simulator, simulator.instruments, owner, self._on_event)
        self._first_id: dict[str, str] = {}
        """Every ClOrdID of an order -> its first one (the venue's client order id)."""
        self._current_id: dict[str, str] = {}
        self._traded_ticks: dict[str, int] = {}
        self._request: _Request | None = None

    # ----- requests -----------------------------------------------------------------------

    def on_message(
        self, session: FixSession, message: FixMessage, possible_duplicate: bool
    ) -> None:
        msg_type = message.msg_type
        if msg_type not in ("D", "F", "G"):
            raise UnsupportedMessageType(msg_type)
        cl_ord_id = message.require(Tag.CL_ORD_ID)
        if possible_duplicate and cl_ord_id in self._first_id:
            return  # a resent request already executed
        match msg_type:
            case "D":
                self._new_order(message, cl_ord_id)
            case _:
                self._cancel_or_replace(message, cl_ord_id, msg_type)

    def _new_order(self, message: FixMessage, cl_ord_id: str) -> None:
        instrument_id = self.simulator.instrument_id(message)
        spec = order_spec_from_message(
            message, instrument_id, self.simulator.instrument(instrument_id)
        )
        ts = self.simulator.now()
        try:
            self.venue.submit(cl_ord_id, spec, ts, strategy_id=self.session.config.target_comp_id)
        except HftcoreError as error:
            # Invalid for the venue (a duplicate ClOrdID, a market order with a price, ...).
            self._send_report_without_order(message, cl_ord_id, error, ts)
            return
        self._first_id[cl_ord_id] = cl_ord_id
        self._current_id[cl_ord_id] = cl_ord_id

    def _cancel_or_replace(self, message: FixMessage, cl_ord_id: str, msg_type: str) -> None:
        orig = message.require(Tag.ORIG_CL_ORD_ID)
        first = self._first_id.get(orig)
        ts = self.simulator.now()
        if first is None or cl_ord_id in self._first_id:
            self._send_cancel_reject(
                cl_ord_id,
                orig,
                msg_type,
                "UNKNOWN_ORDER" if first is None else "DUPLICATE_CL_ORD_ID",
                ts,
            )
            return
        order = self.venue.order(first)
        instrument = self.simulator.instrument(order.instrument_id)
        self._first_id[cl_ord_id] = first
        self._request = _Request(cl_ord_id, orig, msg_type)
        try:
            if msg_type == "F":
                self.venue.cancel(first, ts)
            else:
                price = optional_ticks(message, Tag.PRICE, instrument)
                trigger = optional_ticks(message, Tag.STOP_PX, instrument)
                quantity = lots_of(message, Tag.ORDER_QTY, instrument)
                self.venue.modify(
                    first,
                    quantity if quantity != order.quantity else None,
                    price if price != order.price else None,
                    trigger if trigger != order.trigger_price else None,
                    ts,
                )
        except HftcoreError as error:
            self._send_cancel_reject(cl_ord_id, orig, msg_type, error.code, ts)
        finally:
            self._request = None

    # ----- events -> reports --------------------------------------------------------------

    def _on_event(self, event: OrderEvent) -> None:
        first = event.client_order_id
        order = self.venue.order(first)
        request = self._request
        answers_request = request is not None and self._first_id.get(request.cl_ord_id) == first
        match event:
            case OrderAccepted():
                self._send_report(order, "0", event.ts_event)
            case OrderRejected(reason=reason):
                self._send_report(order, "8", event.ts_event, text=reason)
            case OrderCanceled(reason=reason):
                self._send_report(
                    order,
                    "4",
                    event.ts_event,
                    text=reason,
                    request=request if answers_request else None,
                )
            case OrderExpired():
                self._send_report(order, "C", event.ts_event)
            case OrderTriggered():
                self._send_report(order, "L", event.ts_event)
            case OrderUpdated():
                if answers_request and request is not None:
                    self._current_id[first] = request.cl_ord_id
                self._send_report(
                    order, "5", event.ts_event, request=request if answers_request else None
                )
            case OrderFilled():
                self._traded_ticks[first] = (
                    self._traded_ticks.get(first, 0) + event.last_price * event.last_quantity
                )
                self._send_report(order, "F", event.ts_event, fill=event)
            case OrderCancelRejected(reason=reason) | OrderModifyRejected(reason=reason):
                if request is not None:
                    self._send_cancel_reject(
                        request.cl_ord_id,
                        request.orig_cl_ord_id,
                        request.msg_type,
                        reason,
                        event.ts_event,
                    )

    def _send_report(
        self,
        order: ClientOrder,
        exec_type: str,
        ts: int,
        *,
        text: str | None = None,
        request: _Request | None = None,
        fill: OrderFilled | None = None,
    ) -> None:
        first = order.client_order_id
        instrument = self.simulator.instrument(order.instrument_id)
        cl_ord_id = self._current_id.get(first, first) if request is None else request.cl_ord_id
        filled = order.filled
        leaves = order.leaves
        fields: list[Field] = [
            (Tag.ORDER_ID, order.venue_order_id),
            (Tag.CL_ORD_ID, cl_ord_id),
        ]
        if request is not None:
            fields.append((Tag.ORIG_CL_ORD_ID, request.orig_cl_ord_id))
        fields += [
            (Tag.EXEC_ID, self.simulator.next_exec_id()),
            (Tag.EXEC_TYPE, exec_type),
            (Tag.ORD_STATUS, _ord_status(order, exec_type)),
            (Tag.SYMBOL, fix_symbol(order.instrument_id)),
            (Tag.SIDE, SIDE_TO_FIX[order.side]),
            (Tag.ORDER_QTY, instrument.lots_to_str(order.quantity)),
            (Tag.ORD_TYPE, ORD_TYPE_TO_FIX[OrderType(order.spec.order_type)]),
        ]
        if order.price is not None:
            fields.append((Tag.PRICE, instrument.ticks_to_str(order.price)))
        if order.trigger_price is not None:
            fields.append((Tag.STOP_PX, instrument.ticks_to_str(order.trigger_price)))
        if fill is not None:
            fields += [
                (Tag.LAST_QTY, instrument.lots_to_str(fill.last_quantity)),
                (Tag.LAST_PX, instrument.ticks_to_str(fill.last_price)),
            ]
        average = (
            Decimal(instrument.ticks_to_str(1)) * self._traded_ticks[first] / filled
            if filled
            else Decimal(0)
        )
        fields += [
            (Tag.LEAVES_QTY, instrument.lots_to_str(leaves)),
            (Tag.CUM_QTY, instrument.lots_to_str(filled)),
            (Tag.AVG_PX, f"{average:f}"),
            (Tag.TRANSACT_TIME, utc_timestamp(ts)),
        ]
        if text is not None:
            fields.append((Tag.TEXT, text))
        if fill is not None:
            fields.append((Tag.LAST_LIQUIDITY_IND, "1" if fill.liquidity == "MAKER" else "2"))
            if fill.commission:
                fields += group_fields(
                    Tag.NO_MISC_FEES,
                    [
                        [
                            (Tag.MISC_FEE_AMT, f"{money_to_decimal(fill.commission):f}"),
                            (Tag.MISC_FEE_CURR, fill.currency),
                            (Tag.MISC_FEE_TYPE, EXCHANGE_FEES),
                        ]
                    ],
                )
        self.session.send("8", fields)

    def _send_report_without_order(
        self, message: FixMessage, cl_ord_id: str, error: HftcoreError, ts: int
    ) -> None:
        self.session.send(
            "8",
            [
                (Tag.ORDER_ID, "NONE"),
                (Tag.CL_ORD_ID, cl_ord_id),
                (Tag.EXEC_ID, self.simulator.next_exec_id()),
                (Tag.EXEC_TYPE, "8"),
                (Tag.ORD_STATUS, "8"),
                (Tag.ORD_REJ_REASON, "6" if error.code == "DUPLICATE_CLIENT_ORDER_ID" else OTHER),
                (Tag.SYMBOL, message.require(Tag.SYMBOL)),
                (Tag.SIDE, message.require(Tag.SIDE)),
                (Tag.LEAVES_QTY, 0),
                (Tag.CUM_QTY, 0),
                (Tag.AVG_PX, 0),
                (Tag.TRANSACT_TIME, utc_timestamp(ts)),
                (Tag.TEXT, error.code),
            ],
        )

    def _send_cancel_reject(
        self, cl_ord_id: str, orig_cl_ord_id: str, msg_type: str, reason: str, ts: int
    ) -> None:
        first = self._first_id.get(orig_cl_ord_id)
        self.session.send(
            "9",
            [
                (Tag.ORDER_ID, self.venue.order(first).venue_order_id if first else "NONE"),
                (Tag.CL_ORD_ID, cl_ord_id),
                (Tag.ORIG_CL_ORD_ID, orig_cl_ord_id),
                (Tag.ORD_STATUS, _ord_status(self.venue.order(first), "") if first else "8"),
                (Tag.TRANSACT_TIME, utc_timestamp(ts)),
                (Tag.CXL_REJ_RESPONSE_TO, "1" if msg_type == "F" else "2"),
                (Tag.CXL_REJ_REASON, UNKNOWN_ORDER if reason == "UNKNOWN_ORDER" else OTHER),
                (Tag.TEXT, reason),
            ],
        )


def _ord_status(order: ClientOrder, exec_type: str) -> str:
    """OrdStatus (39) of an order as its events tell it."""
    if exec_type in ("8", "4", "C"):
        return exec_type
    if order.closed and order.filled < order.quantity:
        return "4"
    if order.filled >= order.quantity:
        return "2"
    return "1" if order.filled else "0"


class FixVenueSimulator:
    """A FIX acceptor over a matching engine; see the module doc.

    ``sessions`` are the acceptor's side of each session (``sender_comp_id`` the venue's
    CompID, ``target_comp_id`` the client's). Time is ``clock_ns`` made non-decreasing.
    :meth:`start` listens; :meth:`stop` logs every session out and closes.
    """

    def __init__(
        self,
        venue: str,
        instruments: Mapping[Instrument, str],
        sessions: Sequence[FixSessionConfig],
        *,
        engine: MatchingEngine | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        if not sessions:
            raise ConfigError("NO_SESSIONS", "a FIX venue simulator needs at least one session")
        self.venue = venue
        self.instruments = dict(instruments)
        self.engine = MatchingEngine() if engine is None else engine
        self._clock = clock_ns
        self._last_ts = 0
        self._exec_ids = 0
        self._by_id = {instrument.instrument_id: instrument for instrument in self.instruments}
        self._by_symbol = {
            fix_symbol(instrument.instrument_id): instrument for instrument in self.instruments
        }
        if len(self._by_symbol) != len(self.instruments):
            raise ConfigError("DUPLICATE_SYMBOL", "two instruments share a FIX Symbol")
        self.participants: dict[tuple[str, str], _Participant] = {}
        for owner, config in enumerate(sessions, start=1):
            key = (config.sender_comp_id, config.target_comp_id)
            if key in self.participants:
                raise ConfigError("DUPLICATE_SESSION", f"session {key} is configured twice")
            self.participants[key] = _Participant(self, config, owner)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.rejected_connections = 0

    def clock_ns(self) -> int:
        return self.now()

    def now(self) -> int:
        self._last_ts = max(self._last_ts, self._clock())
        return self._last_ts

    @property
    def execution_reports(self) -> int:
        """ExecutionReports sent so far, over all sessions."""
        return self._exec_ids

    def next_exec_id(self) -> str:
        self._exec_ids += 1
        return f"{self.venue}-{self._exec_ids}"

    def instrument(self, instrument_id: str) -> Instrument:
        return self._by_id[instrument_id]

    def instrument_id(self, message: FixMessage) -> str:
        symbol = message.require(Tag.SYMBOL)
        instrument = self._by_symbol.get(symbol)
        if instrument is None:
            raise BadTagValue(Tag.SYMBOL, symbol)
        return instrument.instrument_id

    def session(self, client_comp_id: str) -> FixSession:
        """The session with a client CompID."""
        for (_, target), participant in self.participants.items():
            if target == client_comp_id:
                return participant.session
        raise ConfigError("UNKNOWN_SESSION", f"no session with client {client_comp_id!r}")

    def venue_of(self, client_comp_id: str) -> MatchingVenue:
        """The participant's venue (its orders, by first ClOrdID)."""
        for (_, target), participant in self.participants.items():
            if target == client_comp_id:
                return participant.venue
        raise ConfigError("UNKNOWN_SESSION", f"no session with client {client_comp_id!r}")

    def dispatch(self, events: list[CoreEvent]) -> list[OrderEvent]:
        """Hands engine events to every participant; returns the model events emitted."""
        emitted: list[OrderEvent] = []
        for participant in self.participants.values():
            emitted += participant.venue.own_engine_events(events)
        return emitted

    def expire_orders(self) -> None:
        """GTD orders whose time is up expire (called every second while listening)."""
        ts = self.now()
        self.dispatch(self.engine.advance_time(ts))

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listens; returns the port (useful with ``port=0``)."""
        self._server = await asyncio.start_server(self._on_connection, host, port)
        self._expiry = asyncio.create_task(self._expire_periodically())
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._expiry.cancel()
        for participant in self.participants.values():
            await participant.session.logout(timeout=1.0)
        await asyncio.gather(*self._connections)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        for participant in self.participants.values():
            participant.session.store.close()

    async def _expire_periodically(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.expire_orders()

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._serve(reader, writer)
        finally:
            self._connections.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Reads up to the first message, finds its session by CompIDs and runs it."""
        parser = FixStreamParser()
        items: list[FixMessage | FixDecodeError] = []
        try:
            while not any(isinstance(item, FixMessage) for item in items):
                data = await asyncio.wait_for(reader.read(65536), 30.0)
                if not data:
                    break
                items += parser.feed(data)
        except (TimeoutError, OSError):
            pass  # silent or gone before logging on: refused below like a bad logon
        first = next((item for item in items if isinstance(item, FixMessage)), None)
        participant = None
        if first is not None and first.msg_type == "A":
            participant = self.participants.get(
                (first.get(Tag.TARGET_COMP_ID) or "", first.get(Tag.SENDER_COMP_ID) or "")
            )
        if participant is None or participant.session.connected:
            self.rejected_connections += 1
            logger.warning("FIX connection refused: first message %r", first)
            writer.close()
            return
        await participant.session.run_connection(
            reader, writer, initiate=False, parser=parser, first_items=items
        )


__all__ = ["FixVenueSimulator"]
