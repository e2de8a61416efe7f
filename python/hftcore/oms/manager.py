"""The order manager: creates orders from submit commands, applies events, answers queries.

Client order ids are unique and idempotent: an id is taken for good by the first
``SubmitOrder`` that uses it, whether that order was created or denied, so a repeated submit
gets ``OrderDenied`` ``DUPLICATE_CLIENT_ORDER_ID`` and is never sent twice.

Events come back from :meth:`OrderManager.create` and the ``prepare_*`` methods; the node applies
them (:meth:`OrderManager.apply`), publishes them and sends the command on. ``create`` is the one
exception: the order it creates already holds its ``OrderInitialized``, and applying that same
event again is a no-op, so a generic "apply, then publish" loop stays correct.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Final

from hftcore.errors import InvalidValue
from hftcore.model.events import (
    CancelAllOrders,
    CancelOrder,
    ModifyOrder,
    OrderCanceled,
    OrderCancelRejected,
    OrderDenied,
    OrderEvent,
    OrderFilled,
    OrderInitialized,
    OrderModifyRejected,
    OrderPendingCancel,
    OrderPendingUpdate,
    OrderSpec,
    OrderUpdated,
    SubmitOrder,
)
from hftcore.oms.order import (
    LOCAL_STATUSES,
    Order,
    OrderStatus,
    modify_error,
    validate_spec,
)

logger = logging.getLogger(__name__)

DUPLICATE_CLIENT_ORDER_ID: Final = "DUPLICATE_CLIENT_ORDER_ID"


def _require_text(value: object, code: str, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidValue(code, f"{what} must be a non-empty string, got {value!r}")
    return value


def _require_ts(ts: object) -> int:
    if not isinstance(ts, int) or isinstance(ts, bool) or ts < 0:
        raise InvalidValue("INVALID_TIMESTAMP", f"ts must be an int >= 0 (ns), got {ts!r}")
    return ts


class OrderManager:
    """Every order of the node, by client order id."""

    def __init__(self) -> None:
        self._orders: dict[str, Order] = {}
        self._open: dict[str, Order] = {}
        # Ids of submits denied before they became orders (invalid spec): taken for good.
        self._refused_ids: set[str] = set()
        self._counters: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._orders)

    def __contains__(self, client_order_id: object) -> bool:
        return client_order_id in self._orders

    def __iter__(self) -> Iterator[Order]:
        return iter(list(self._orders.values()))

    # -- ids -----------------------------------------------------------------------------------

    def next_client_order_id(self, strategy_id: str) -> str:
        """A fresh id ``"{strategy_id}-{n:06d}"`` (n counts per strategy from 1, skipping ids
        already taken, e.g. by orders rebuilt from the event store)."""
        if type(strategy_id) is not str or not strategy_id:
            _require_text(strategy_id, "INVALID_STRATEGY_ID", "strategy_id")
        n = self._counters.get(strategy_id, 0)
        prefix = strategy_id + "-"
        while True:
            n += 1
            candidate = prefix + str(n).zfill(6)  # as f"{n:06d}", at half the cost
            if not self.is_taken(candidate):
                self._counters[strategy_id] = n
                return candidate

    def is_taken(self, client_order_id: str) -> bool:
        """Whether a submit already used this id (created or denied)."""
        return client_order_id in self._orders or client_order_id in self._refused_ids

    # -- creating ------------------------------------------------------------------------------

    def create(self, command: SubmitOrder, ts: int) -> OrderInitialized | OrderDenied:
        """Creates the order of a submit command at ``ts`` and returns its ``OrderInitialized``
        (already applied), or ``OrderDenied`` when the id is taken
        (``DUPLICATE_CLIENT_ORDER_ID``: nothing changes) or the spec is malformed (the reason
        code of :func:`~hftcore.oms.order.validate_spec`; the id is taken from then on).
        Structure only: instrument limits are checked by the risk gate and the venue.

        Raises :class:`~hftcore.errors.InvalidValue` for a command that is not a
        ``SubmitOrder`` or has no usable strategy or client order id, and for a bad ``ts``.
        """
        if not isinstance(command, SubmitOrder):
            raise InvalidValue(
                "INVALID_COMMAND", f"create takes a SubmitOrder, got {type(command).__name__}"
            )
        # The checks' fast form; the helpers raise the specific error for anything else.
        if type(ts) is not int or ts < 0:
            _require_ts(ts)
        if type(command.strategy_id) is not str or not command.strategy_id:
            _require_text(command.strategy_id, "INVALID_STRATEGY_ID", "strategy_id")
        client_order_id = command.client_order_id
        if type(client_order_id) is not str or not client_order_id:
            _require_text(client_order_id, "INVALID_CLIENT_ORDER_ID", "client_order_id")
        if self.is_taken(client_order_id):
            logger.warning("submit %s denied: duplicate client order id", client_order_id)
            message = f"client order id {client_order_id!r} was already used"
            return self._deny(command, DUPLICATE_CLIENT_ORDER_ID, message, ts)
        spec = command.order
        try:
            validate_spec(spec, ts)
        except InvalidValue as error:
            self._refused_ids.add(client_order_id)
            logger.info("submit %s denied: %s", client_order_id, error)
            return self._deny(command, error.code, error.message, ts)
        initialized = OrderInitialized(
            command.strategy_id, spec.instrument_id, client_order_id, spec, ts, ts
        )
        self._orders[client_order_id] = self._open[client_order_id] = Order._checked(initialized)
        return initialized

    @staticmethod
    def _deny(command: SubmitOrder, reason: str, message: str, ts: int) -> OrderDenied:
        spec = command.order
        instrument_id = (
            spec.instrument_id
            if isinstance(spec, OrderSpec) and isinstance(spec.instrument_id, str)
            else ""
        )
        return OrderDenied(
            strategy_id=command.strategy_id,
            instrument_id=instrument_id,
            client_order_id=command.client_order_id,
            reason=reason,
            message=message,
            ts_event=ts,
            ts_init=ts,
        )

    def _register(self, order: Order) -> None:
        self._orders[order.client_order_id] = order
        self._open[order.client_order_id] = order

    # -- applying events -----------------------------------------------------------------------

    def apply(self, event: OrderEvent) -> Order | None:
        """Applies an event to its order and returns the order, or None when the event belongs
        to no order: an ``OrderDenied`` of a submit refused before it became an order (a
        duplicate id, or a malformed spec rebuilt from the event log).

        An ``OrderInitialized`` for a new id registers its order (rebuilding from the event
        log); one equal to an order's own first event is a no-op. A fill whose ``trade_id``
        was already applied is ignored (see :meth:`is_duplicate_fill`). Errors are those of
        :meth:`Order.apply`, plus ``InvalidValue`` ``UNKNOWN_ORDER`` and
        ``DUPLICATE_CLIENT_ORDER_ID``; the manager is unchanged after any error.
        """
        # Exact types, as Order.apply requires (and cheaper than isinstance with Struct types).
        if type(event) is OrderInitialized:
            return self._apply_initialized(event)
        client_order_id = getattr(event, "client_order_id", None)
        order = self._orders.get(client_order_id) if isinstance(client_order_id, str) else None
        if type(event) is OrderDenied and (
            order is None or event.reason == DUPLICATE_CLIENT_ORDER_ID
        ):
            # A refused submit, not a change of any order: the duplicate's id belongs to the
            # order that took it first and must not deny that one.
            if order is None:
                self._refused_ids.add(event.client_order_id)
            return None
        if order is None:
            raise InvalidValue("UNKNOWN_ORDER", f"no order {client_order_id!r}")
        order.apply(event)
        if order.is_closed:
            self._open.pop(order.client_order_id, None)
        return order

    def _apply_initialized(self, event: OrderInitialized) -> Order:
        existing = self._orders.get(event.client_order_id)
        if existing is not None and existing.initialized == event:
            return existing
        if self.is_taken(event.client_order_id):
            raise InvalidValue(
                DUPLICATE_CLIENT_ORDER_ID, f"client order id {event.client_order_id!r} is taken"
            )
        order = Order(event)
        self._register(order)
        return order

    def is_duplicate_fill(self, event: OrderFilled) -> bool:
        """Whether this fill's ``trade_id`` was already applied to its order (such a fill must
        not reach the portfolio again)."""
        order = self._orders.get(event.client_order_id)
        return order is not None and order.has_trade(event.trade_id)

    # -- queries -------------------------------------------------------------------------------

    def order(self, client_order_id: str) -> Order | None:
        return self._orders.get(client_order_id)

    def orders(
        self,
        strategy_id: str | None = None,
        instrument_id: str | None = None,
        open_only: bool = False,
        status: OrderStatus | None = None,
    ) -> list[Order]:
        """Orders in creation order, filtered by each argument that is given."""
        pool = self._open if open_only else self._orders
        return [
            order
            for order in pool.values()
            if (strategy_id is None or order.strategy_id == strategy_id)
            and (instrument_id is None or order.instrument_id == instrument_id)
            and (status is None or order.status is status)
        ]

    # -- modify and cancel ---------------------------------------------------------------------

    def _target(self, command: ModifyOrder | CancelOrder) -> Order:
        order = self._orders.get(command.client_order_id)
        if order is None:
            raise InvalidValue("UNKNOWN_ORDER", f"no order {command.client_order_id!r}")
        if order.strategy_id != command.strategy_id or order.instrument_id != command.instrument_id:
            raise InvalidValue(
                "WRONG_ORDER",
                f"order {order.client_order_id} belongs to {order.strategy_id} on "
                f"{order.instrument_id}, not {command.strategy_id} on {command.instrument_id}",
            )
        if order.is_emulated:
            raise InvalidValue(
                "ORDER_EMULATED",
                f"order {order.client_order_id} is emulated: modify or cancel it through the "
                "OrderEmulator",
            )
        return order

    def prepare_modify(
        self, command: ModifyOrder, ts: int
    ) -> OrderPendingUpdate | OrderUpdated | OrderModifyRejected:
        """The event that answers a modify request (cancel/replace), not yet applied:

        - ``OrderModifyRejected`` if it cannot be made (``ORDER_CLOSED``, ``PENDING_CANCEL``,
          or a value reason of :func:`~hftcore.oms.order.modify_error`);
        - ``OrderUpdated`` for an order the OMS still holds (INITIALIZED or RELEASED): changed
          locally, nothing goes to the venue;
        - ``OrderPendingUpdate`` otherwise: send the command to the venue, whose
          ``OrderUpdated`` or ``OrderModifyRejected`` ends the pending state.

        Raises ``InvalidValue`` for an unknown order (``UNKNOWN_ORDER``), another strategy's or
        instrument's order (``WRONG_ORDER``) and an emulated one (``ORDER_EMULATED``).
        """
        if not isinstance(command, ModifyOrder):
            raise InvalidValue(
                "INVALID_COMMAND", f"expected ModifyOrder, got {type(command).__name__}"
            )
        _require_ts(ts)
        order = self._target(command)
        ids = (order.strategy_id, order.instrument_id, order.client_order_id)
        if order.is_closed:
            reason, message = "ORDER_CLOSED", f"order is {order.status.name}"
        elif order.status is OrderStatus.PENDING_CANCEL:
            reason, message = "PENDING_CANCEL", "a cancel is in flight"
        else:
            error = modify_error(
                order.spec,
                order.filled_quantity,
                command.quantity,
                command.price,
                command.trigger_price,
            )
            if error is None:
                if order.status in LOCAL_STATUSES:
                    return OrderUpdated(
                        *ids,
                        quantity=order.quantity if command.quantity is None else command.quantity,
                        price=command.price,
                        trigger_price=command.trigger_price,
                        ts_event=ts,
                        ts_init=ts,
                    )
                return OrderPendingUpdate(*ids, ts_event=ts, ts_init=ts)
            reason, message = error
        logger.info("modify of %s rejected: %s %s", order.client_order_id, reason, message)
        return OrderModifyRejected(*ids, reason=reason, ts_event=ts, ts_init=ts)

    def prepare_cancel(
        self, command: CancelOrder, ts: int
    ) -> OrderPendingCancel | OrderCanceled | OrderCancelRejected:
        """The event that answers a cancel request, not yet applied: ``OrderCancelRejected``
        (``ORDER_CLOSED``, ``ALREADY_PENDING_CANCEL``), ``OrderCanceled`` ``REQUESTED`` for an
        order the OMS still holds (withdraw it from the throttler if queued there), else
        ``OrderPendingCancel`` (send the command to the venue). Raises like
        :meth:`prepare_modify`."""
        if not isinstance(command, CancelOrder):
            raise InvalidValue(
                "INVALID_COMMAND", f"expected CancelOrder, got {type(command).__name__}"
            )
        _require_ts(ts)
        order = self._target(command)
        return self._cancel_event(order, ts)

    def prepare_cancel_all(
        self, command: CancelAllOrders, ts: int
    ) -> list[OrderPendingCancel | OrderCanceled]:
        """The events that answer a cancel-all, not yet applied: for each open order of the
        strategy on the instrument (and side, if given) that is not emulated and not already
        pending cancel, ``OrderCanceled`` if held locally else ``OrderPendingCancel``. Emulated
        orders are the emulator's (``OrderEmulator.cancel_all``)."""
        if not isinstance(command, CancelAllOrders):
            raise InvalidValue(
                "INVALID_COMMAND", f"expected CancelAllOrders, got {type(command).__name__}"
            )
        _require_ts(ts)
        if command.side not in (None, 0, 1) or isinstance(command.side, bool):
            raise InvalidValue("INVALID_SIDE", f"side must be None, 0 or 1, got {command.side!r}")
        events: list[OrderPendingCancel | OrderCanceled] = []
        for order in self.orders(command.strategy_id, command.instrument_id, open_only=True):
            if order.is_emulated or order.status is OrderStatus.PENDING_CANCEL:
                continue
            if command.side is not None and order.spec.side != command.side:
                continue
            event = self._cancel_event(order, ts)
            if not isinstance(event, OrderCancelRejected):
                events.append(event)
        return events

    @staticmethod
    def _cancel_event(
        order: Order, ts: int
    ) -> OrderPendingCancel | OrderCanceled | OrderCancelRejected:
        ids = (order.strategy_id, order.instrument_id, order.client_order_id)
        if order.is_closed:
            return OrderCancelRejected(*ids, reason="ORDER_CLOSED", ts_event=ts, ts_init=ts)
        if order.status is OrderStatus.PENDING_CANCEL:
            return OrderCancelRejected(
                *ids, reason="ALREADY_PENDING_CANCEL", ts_event=ts, ts_init=ts
            )
        if order.status in LOCAL_STATUSES:
            return OrderCanceled(*ids, reason="REQUESTED", ts_event=ts, ts_init=ts)
        return OrderPendingCancel(*ids, ts_event=ts, ts_init=ts)
