"""The execution path of the node, identical in backtest, paper and live.

Requests go: strategy command -> OMS (``OrderManager``: unique ids, validation, state) ->
contingencies (OTO/OCO/bracket hold children) -> emulator (stops and trailing stops the venue
cannot take) -> **pre-trade risk gate** (the compiled ``RiskGate``; no order reaches a venue
without its approval) -> throttler (queue at the venue's rate limit, never drop) -> venue client.

Events come back: venue client -> event store (appended before anything acts on it) -> OMS ->
risk gate (fills move positions, closed orders free room) -> portfolio -> contingencies
(which may cancel siblings or release children) -> the bus (``events.order.{strategy_id}``,
``events.fill.{strategy_id}``).
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Callable, Mapping
from typing import Protocol

from hftcore._core import Instrument, RiskGate
from hftcore.errors import HftcoreError, InvalidValue, StoreError
from hftcore.model.events import (
    CancelAllOrders,
    CancelOrder,
    Command,
    ModifyOrder,
    OrderCanceled,
    OrderCancelRejected,
    OrderDenied,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderPendingCancel,
    OrderPendingUpdate,
    OrderRejected,
    OrderSpec,
    OrderSubmitted,
    SubmitOrder,
)
from hftcore.model.orders import OrderType
from hftcore.model.risk import AccountLimits, InstrumentLimits, RejectReason
from hftcore.node.bus import MessageBus
from hftcore.node.cache import Cache
from hftcore.node.portfolio import Portfolio
from hftcore.oms.actions import OmsActions
from hftcore.oms.contingency import ContingencyManager
from hftcore.oms.emulator import OrderEmulator
from hftcore.oms.manager import DUPLICATE_CLIENT_ORDER_ID, OrderManager
from hftcore.oms.order import OrderStatus
from hftcore.oms.throttle import Throttler
from hftcore.venues.base import VenueClient

logger = logging.getLogger(__name__)


class Acknowledgement(Protocol):
    """What an append returns: ``duplicate`` is True when the event was already stored (a
    replay), which must then not be acted on again."""

    @property
    def duplicate(self) -> bool: ...


class EventSink(Protocol):
    """Where acknowledged events and commands go first (the event store)."""

    def append(self, event: OrderEvent | Command) -> Acknowledgement: ...


class RiskEngine:
    """The compiled risk gate, addressed by client order id and instrument id.

    Optionally a strategy gets limits of its own (:meth:`set_strategy_limits`: an agent's
    capital budget, say): a second compiled gate that sees only that strategy's orders and
    fills. Its orders must pass both gates, the strategy's first."""

    def __init__(self, limits: AccountLimits | None = None) -> None:
        self.gate = RiskGate(limits)
        self._indices: dict[str, int] = {}
        self._order_ids: dict[str, int] = {}
        self._numbers = itertools.count(1)
        self._instruments: list[Instrument] = []
        self._strategy_gates: dict[str, RiskGate] = {}
        self._order_gate: dict[int, RiskGate] = {}
        self.last_denied_by: str | None = None
        """The strategy whose own limits refused the last refused order; None: the account's."""

    def register(self, instrument: Instrument, limits: InstrumentLimits | None) -> None:
        self._indices[instrument.instrument_id] = self.gate.register_instrument(instrument, limits)
        self._instruments.append(instrument)
        for gate in self._strategy_gates.values():
            gate.register_instrument(instrument)

    def index(self, instrument_id: str) -> int:
        """The gate's index of an instrument (asked once, at registration: every price and
        order needs it); an unknown one raises the gate's error."""
        index = self._indices.get(instrument_id)
        return self.gate.instrument_index(instrument_id) if index is None else index

    def set_strategy_limits(
        self,
        strategy_id: str,
        limits: AccountLimits,
        ts: int,
        positions: Mapping[str, tuple[int, str | None]] | None = None,
    ) -> RiskGate:
        """Limits of one strategy's own orders, from the next check on. The first call
        creates its gate, marked at the account gate's reference prices and holding
        ``positions`` (instrument id -> signed lots and average price text); orders the
        strategy has working at that moment are not counted in it. Later calls replace the
        limits. Bad limits raise ``ConfigError`` naming the field."""
        gate = self._strategy_gates.get(strategy_id)
        if gate is not None:
            gate.set_account_limits(limits)
            return gate
        gate = RiskGate(limits)
        for instrument in self._instruments:
            index = gate.register_instrument(instrument)
            reference = self.gate.position(self.index(instrument.instrument_id)).reference_price
            if reference is not None:
                gate.on_price(index, reference, ts)
        for instrument_id, (quantity, average_price) in (positions or {}).items():
            gate.set_position(gate.instrument_index(instrument_id), quantity, average_price)
        self._strategy_gates[strategy_id] = gate
        return gate

    def strategy_gate(self, strategy_id: str) -> RiskGate | None:
        return self._strategy_gates.get(strategy_id)

    def check_submit(
        self,
        client_order_id: str,
        spec: OrderSpec,
        price: int,
        ts: int,
        strategy_id: str | None = None,
    ) -> int:
        """0 when approved (the gates then count the order as open), else a RejectReason;
        :attr:`last_denied_by` names the strategy when its own gate refused."""
        number = self._order_ids.get(client_order_id)
        if number is None:
            number = self._order_ids[client_order_id] = next(self._numbers)
        index = self._indices.get(spec.instrument_id)
        if index is None:
            index = self.index(spec.instrument_id)
        self.last_denied_by = None
        if not self._strategy_gates:
            return self.gate.check_order(number, index, spec.side, price, spec.quantity, ts)
        own = self._strategy_gates.get(strategy_id) if strategy_id is not None else None
        if own is not None:
            verdict = own.check_order(number, index, spec.side, price, spec.quantity, ts)
            if verdict:
                self.last_denied_by = strategy_id
                return verdict
        verdict = self.gate.check_order(number, index, spec.side, price, spec.quantity, ts)
        if own is not None:
            if verdict:
                own.on_order_closed(number)
            else:
                self._order_gate[number] = own
        return verdict

    def restore_open_order(
        self, client_order_id: str, instrument_id: str, side: int, price: int, quantity: int
    ) -> None:
        """Tracks an order rebuilt from the event store as working, without checking it."""
        number = self._order_ids.get(client_order_id)
        if number is None:
            number = self._order_ids[client_order_id] = next(self._numbers)
        self.gate.add_open_order(number, self.index(instrument_id), side, price, quantity)

    def check_cancel(self, client_order_id: str, ts: int) -> int:
        """The gate's cancel-rate verdict for an order it counts as open; an order it does not
        (denied by it, already closed) is left to the OMS to answer."""
        number = self._order_ids.get(client_order_id)
        if number is None or self.gate.open_order(number) is None:
            return 0
        return self.gate.check_cancel(number, ts)

    def on_fill(self, fill: OrderFilled, fee: str) -> None:
        number = self._order_ids.get(fill.client_order_id)
        if number is None:
            return
        own = self._order_gate.get(number)
        for gate in (self.gate, own):
            if gate is not None and gate.open_order(number) is not None:
                gate.on_fill(number, fill.last_price, fill.last_quantity, fill.ts_event, fee)
        if own is not None and own.open_order(number) is None:
            del self._order_gate[number]

    def on_closed(self, client_order_id: str) -> None:
        number = self._order_ids.get(client_order_id)
        if number is None:
            return
        for gate in (self.gate, self._order_gate.pop(number, None)):
            if gate is not None and gate.open_order(number) is not None:
                gate.on_order_closed(number)

    def on_price(self, instrument_id: str, price: int, ts: int) -> None:
        index = self._indices.get(instrument_id)
        if index is None:
            index = self.index(instrument_id)
        self.gate.on_price(index, price, ts)
        if self._strategy_gates:
            for gate in self._strategy_gates.values():
                gate.on_price(index, price, ts)


_CLOSING = frozenset({OrderCanceled, OrderExpired, OrderRejected, OrderDenied})


class ExecutionEngine:
    """Routes commands to venues through the OMS and the risk gate, and events back."""

    def __init__(
        self,
        bus: MessageBus,
        cache: Cache,
        portfolio: Portfolio,
        risk: RiskEngine,
        *,
        clock_ns: Callable[[], int],
        store: EventSink | None = None,
    ) -> None:
        self.bus = bus
        self.cache = cache
        self.portfolio = portfolio
        self.risk = risk
        self.oms = OrderManager()
        self.contingencies = ContingencyManager(self.oms)
        self._clock_ns = clock_ns
        self._store = store
        self._venues: dict[str, VenueClient] = {}
        self._emulators: dict[str, OrderEmulator] = {}
        self._throttlers: dict[str, Throttler] = {}
        self._venue_of_instrument: dict[str, str] = {}
        self._emulator_of_instrument: dict[str, OrderEmulator] = {}
        self._pending: deque[OrderEvent] = deque()
        self._draining = False
        self._event_topics: dict[str, tuple[str, str]] = {}
        """Per strategy id, its order and fill event topics (built once, not per event)."""
        self.events_processed = 0

    # -- venues --------------------------------------------------------------------------

    def add_venue(self, name: str, venue: VenueClient, throttler: Throttler | None = None) -> None:
        if name in self._venues:
            raise InvalidValue("DUPLICATE_VENUE", f"venue {name!r} is already added")
        capabilities = venue.capabilities
        self._venues[name] = venue
        self._emulators[name] = OrderEmulator(
            native_stops=OrderType.STOP in capabilities.order_types,
            native_trailing_stops=capabilities.trailing_stop,
        )
        if throttler is not None:
            self._throttlers[name] = throttler
        for instrument_id in venue.instrument_ids:
            self._venue_of_instrument[instrument_id] = name
            self._emulator_of_instrument[instrument_id] = self._emulators[name]
        venue.set_event_sink(self.on_venue_event)

    def venues(self) -> list[VenueClient]:
        return list(self._venues.values())

    def venue_for(self, instrument_id: str) -> tuple[str, VenueClient]:
        name = self._venue_of_instrument.get(instrument_id)
        if name is None:
            raise InvalidValue("UNKNOWN_INSTRUMENT", f"no venue trades {instrument_id!r}")
        return name, self._venues[name]

    def emulator_for(self, instrument_id: str) -> OrderEmulator:
        emulator = self._emulator_of_instrument.get(instrument_id)
        if emulator is None:
            raise InvalidValue("UNKNOWN_INSTRUMENT", f"no venue trades {instrument_id!r}")
        return emulator

    # -- commands ------------------------------------------------------------------------

    def execute(self, command: Command) -> None:
        """Handles one strategy command; the events it causes are published on the bus.

        With a store, the command is appended first (the intent log): a command already stored
        (a replay) is not handled again. A submit reusing a stored client order id goes on to
        the OMS, which denies it ``DUPLICATE_CLIENT_ORDER_ID``."""
        if self._store is not None and not self._log_command(command):
            return
        ts = self._clock_ns()
        if isinstance(command, SubmitOrder):
            self._submit(command, ts)
        elif isinstance(command, CancelOrder):
            self._cancel(command, ts)
        elif isinstance(command, ModifyOrder):
            self._modify(command, ts)
        elif isinstance(command, CancelAllOrders):
            self._cancel_all(command, ts)
        else:
            raise InvalidValue("INVALID_COMMAND", f"not a command: {type(command).__name__}")
        self._drain()

    def _log_command(self, command: Command) -> bool:
        """Appends a command to the store; False when it was already stored."""
        if self._store is None:
            return True
        try:
            return not self._store.append(command).duplicate
        except StoreError as error:
            if error.code != DUPLICATE_CLIENT_ORDER_ID:
                raise
            return True

    def _submit(self, command: SubmitOrder, ts: int) -> None:
        created = self.oms.create(command, ts)
        self._emit(created)
        if type(created) is OrderDenied:
            return
        if command.order.instrument_id not in self._venue_of_instrument:
            self._emit(
                OrderDenied(
                    command.strategy_id,
                    command.order.instrument_id,
                    command.client_order_id,
                    reason="UNKNOWN_INSTRUMENT",
                    message=f"no venue trades {command.order.instrument_id!r}",
                    ts_event=ts,
                    ts_init=ts,
                )
            )
            return
        if command.order.order_list_id is None:
            # Outside any list the contingencies have nothing to hold or follow: the order may
            # go as soon as its OrderInitialized is processed.
            self._drain()
            self._route_submit(command, ts)
            return
        order = self.oms.order(command.client_order_id)
        if order is None:
            return
        self.apply_actions(self.contingencies.register(order, ts), ts)

    def _route_submit(self, command: SubmitOrder, ts: int) -> None:
        """A submit that may go now: emulate it, or check it and send it."""
        order = self.oms.order(command.client_order_id)
        if order is None or order.is_closed:
            return
        spec = command.order
        name, venue = self.venue_for(spec.instrument_id)
        emulator = self._emulators[name]
        if emulator.requires_emulation(spec) and order.status is OrderStatus.INITIALIZED:
            self.apply_actions(emulator.hold(order, ts), ts)
            return
        price = spec.price or spec.trigger_price or self.cache.last_price(spec.instrument_id)
        if price is None:
            verdict_name, sentence = "NO_REFERENCE_PRICE", "no price known for a market order"
        else:
            verdict = self.risk.check_submit(
                command.client_order_id, spec, price, ts, command.strategy_id
            )
            verdict_name = RejectReason(verdict).name if verdict else ""
            sentence = RejectReason(verdict).description if verdict else ""
            if verdict and self.risk.last_denied_by is not None:
                sentence += f" (a limit of strategy {self.risk.last_denied_by})"
        if verdict_name:
            self._emit(
                OrderDenied(
                    command.strategy_id,
                    spec.instrument_id,
                    command.client_order_id,
                    reason=verdict_name,
                    message=sentence,
                    ts_event=ts,
                    ts_init=ts,
                )
            )
            return
        throttler = self._throttlers.get(name)
        if throttler is None:
            self._send_submit(venue, command, ts)
        else:
            self._send(name, venue, throttler.offer(command, ts), ts)

    def _send_submit(self, venue: VenueClient, command: SubmitOrder, ts: int) -> None:
        """``OrderSubmitted`` is processed (stored, applied, published) before the venue
        hears of the order."""
        self._emit(
            OrderSubmitted(
                command.strategy_id,
                command.order.instrument_id,
                command.client_order_id,
                ts_event=ts,
                ts_init=ts,
            )
        )
        self._drain()
        venue.submit(command.client_order_id, command.order, ts, strategy_id=command.strategy_id)

    def _send(self, name: str, venue: VenueClient, commands: list[Command], ts: int) -> None:
        for command in commands:
            if isinstance(command, SubmitOrder):
                self._send_submit(venue, command, ts)
            elif isinstance(command, CancelOrder):
                venue.cancel(command.client_order_id, ts)
            elif isinstance(command, ModifyOrder):
                venue.modify(
                    command.client_order_id,
                    command.quantity,
                    command.price,
                    command.trigger_price,
                    ts,
                )

    def _cancel(self, command: CancelOrder, ts: int) -> None:
        order = self.oms.order(command.client_order_id)
        if order is not None and order.is_emulated:
            emulator = self.emulator_for(order.instrument_id)
            self._emit(emulator.cancel(command, ts))
            return
        if self.risk.check_cancel(command.client_order_id, ts):
            self._emit(
                OrderCancelRejected(
                    command.strategy_id,
                    command.instrument_id,
                    command.client_order_id,
                    reason=RejectReason.CANCEL_RATE.name,
                    ts_event=ts,
                    ts_init=ts,
                )
            )
            return
        answer = self.oms.prepare_cancel(command, ts)
        self._emit(answer)
        if isinstance(answer, OrderCanceled):
            self._withdraw_queued(command.instrument_id, command.client_order_id)
        if isinstance(answer, OrderPendingCancel):
            name, venue = self.venue_for(command.instrument_id)
            throttler = self._throttlers.get(name)
            if throttler is not None:
                throttler.withdraw(command.client_order_id)
                ready: list[Command] = throttler.offer(command, ts)
            else:
                ready = [command]
            self._drain()
            self._send(name, venue, ready, ts)

    def _modify(self, command: ModifyOrder, ts: int) -> None:
        order = self.oms.order(command.client_order_id)
        if order is not None and order.is_emulated:
            self.apply_actions(self.emulator_for(order.instrument_id).modify(command, ts), ts)
            return
        answer = self.oms.prepare_modify(command, ts)
        self._emit(answer)
        if isinstance(answer, OrderPendingUpdate):
            name, venue = self.venue_for(command.instrument_id)
            self._drain()
            self._send(name, venue, [command], ts)

    def _cancel_all(self, command: CancelAllOrders, ts: int) -> None:
        emulator = self.emulator_for(command.instrument_id)
        for canceled in emulator.cancel_all(command, ts):
            self._emit(canceled)
        venue = self.venue_for(command.instrument_id)[1]
        for answer in self.oms.prepare_cancel_all(command, ts):
            order = self.oms.order(answer.client_order_id)
            if order is None or order.is_closed or order.status is OrderStatus.PENDING_CANCEL:
                # An earlier cancel of this sweep already took it (an OCO sibling canceled by
                # the list's rule): a second cancel would only come back refused.
                continue
            self._emit(answer)
            self._drain()
            if isinstance(answer, OrderCanceled):
                self._withdraw_queued(command.instrument_id, answer.client_order_id)
            else:
                venue.cancel(answer.client_order_id, ts)

    def _withdraw_queued(self, instrument_id: str, client_order_id: str) -> None:
        """An order canceled before it was sent: its submit must not leave the throttler."""
        throttler = self._throttlers.get(self.venue_for(instrument_id)[0])
        if throttler is not None:
            throttler.withdraw(client_order_id)

    def apply_actions(self, actions: OmsActions, ts: int) -> None:
        """Emits the local events of ``actions`` and issues their commands, as the OMS parts
        (contingencies, emulators) decided them."""
        for event in actions.events:
            self._emit(event)
        self._drain()
        for command in actions.commands:
            if isinstance(command, SubmitOrder):
                self._route_submit(command, ts)
            elif isinstance(command, CancelOrder):
                self._cancel(command, ts)
            elif isinstance(command, ModifyOrder):
                self._modify(command, ts)
            else:
                self._cancel_all(command, ts)
            # What a command brought (a denial, say) is applied before the next one, as after
            # any command: an OCO sibling of a denied order is canceled, not sent.
            self._drain()

    # -- time and prices -----------------------------------------------------------------

    def on_time(self, ts: int) -> None:
        """The clock moved: release throttled commands and expire emulated orders."""
        for name, throttler in self._throttlers.items():
            ready = throttler.drain(ts)
            if ready:
                self._send(name, self._venues[name], ready, ts)
        for emulator in self._emulators.values():
            for expired in emulator.advance_time(ts):
                self._emit(expired)
        for venue in self._venues.values():
            venue.advance_to(ts)
        self._drain()

    def on_price(
        self, instrument_id: str, bid: int | None, ask: int | None, last: int | None, ts: int
    ) -> None:
        """A new market price: the emulator may release orders, the gate marks positions."""
        emulator = self._emulator_of_instrument.get(instrument_id)
        if emulator is None:
            emulator = self.emulator_for(instrument_id)  # raises UNKNOWN_INSTRUMENT
        actions = emulator.on_price(instrument_id, bid, ask, last, ts)
        if actions.events or actions.commands:
            self.apply_actions(actions, ts)
        mark = (
            last
            if last is not None
            else ((bid + ask) // 2 if bid is not None and ask is not None else None)
        )
        if mark is not None:
            self.risk.on_price(instrument_id, mark, ts)
            self.portfolio.mark(instrument_id, mark)
        if self._pending:
            self._drain()

    # -- events --------------------------------------------------------------------------

    def on_venue_event(self, event: OrderEvent) -> None:
        """The sink every venue client reports to."""
        self._emit(event)
        self._drain()

    def _emit(self, event: OrderEvent) -> None:
        self._pending.append(event)

    def _drain(self) -> None:
        """Processes queued events in order; re-entrant calls append and return."""
        if self._draining:
            return
        self._draining = True
        pending = self._pending
        store = self._store
        try:
            while pending:
                event = pending.popleft()
                if store is not None and store.append(event).duplicate:
                    logger.info(
                        "%s of %s was already stored: not applied again",
                        type(event).__name__,
                        getattr(event, "client_order_id", None),
                    )
                    continue
                self.act_on(event)
        finally:
            self._draining = False

    def apply_recovered(self, events: list[OrderEvent]) -> None:
        """Acts on events already appended to the store (reconciliation after a restart)."""
        for event in events:
            self.act_on(event)
        self._drain()

    def act_on(self, event: OrderEvent) -> None:
        """OMS -> risk gate -> portfolio -> contingencies -> bus, for a stored event."""
        try:
            order = self.oms.apply(event)
        except HftcoreError as error:
            logger.error("event %s refused by the OMS: %s", type(event).__name__, error)
            return
        self.events_processed += 1
        if order is None:
            return
        # Exact types: the OMS applied the event, so it is one of its event types (and a type
        # test is several times cheaper than isinstance with a Struct type).
        if type(event) is OrderFilled:
            self.risk.on_fill(event, _money_text(event.commission))
            self.portfolio.apply_fill(event)
        elif type(event) in _CLOSING:
            self.risk.on_closed(event.client_order_id)
        ts = event.ts_event
        # Only members of an OCO/OTO/bracket list have anything to follow.
        follow = (
            self.contingencies.on_event(event, ts)
            if self.contingencies.follows(event.client_order_id)
            else None
        )
        topics = self._event_topics.get(event.strategy_id)
        if topics is None:
            strategy_id = event.strategy_id
            topics = (f"events.order.{strategy_id}", f"events.fill.{strategy_id}")
            self._event_topics[strategy_id] = topics
        self.bus.publish(topics[0], event)
        if type(event) is OrderFilled:
            self.bus.publish(topics[1], event)
        if follow:
            self.apply_actions(follow, ts)


def _money_text(raw: int) -> str:
    """Money in 1e-12 units as exact decimal text."""
    sign = "-" if raw < 0 else ""
    whole, fraction = divmod(abs(raw), 10**12)
    return f"{sign}{whole}.{fraction:012d}"
