"""Contingent orders: OCO, OTO and brackets.

Orders link through their spec: every order of a list shares ``order_list_id``.

- **OCO** members have ``contingency="OCO"``. By default (:attr:`OcoPolicy.CANCEL_SIBLINGS`)
  the first fill of any member, partial or complete, cancels the others; the member that filled
  keeps working for its remaining quantity. With :attr:`OcoPolicy.REDUCE_SIBLINGS` each fill of
  a member reduces every other member by the quantity filled (their remaining quantity follows
  the filled member's), and a complete fill cancels them. In both policies a member that ends
  without being completely filled (canceled, expired, rejected or denied) other than at this
  manager's request cancels all the others: the list lives and dies together.
- **OTO**: the parent has ``contingency="OTO"`` and lists its children in
  ``linked_order_ids``; each child names it in ``parent_order_id``. Children are held (never
  sent) until the parent fills. The parent's first fill releases them with quantity
  ``min(child quantity, parent filled quantity)``; each later parent fill grows them to the new
  filled quantity with a ``ModifyOrder``. A parent that ends with nothing filled cancels its
  held children; one canceled after a partial fill leaves them at the size filled.
- **BRACKET**: an OTO whose entry has ``contingency="BRACKET"`` and exactly two children on the
  other side of the same instrument, a take-profit and a stop-loss, which form an OCO
  (``contingency="OCO"``): released on the entry's fill, the first to fill (or to end) cancels
  the other. :func:`make_bracket` builds the three submits.

Register every created order of a list (:meth:`ContingencyManager.register`) before anything
of it is sent (an order outside any list may be registered too, and gets its own submit back,
but needs nothing from this manager), then pass the order events applied to the
``OrderManager`` to :meth:`ContingencyManager.on_event` (only those of list members,
:meth:`ContingencyManager.follows`, can cause anything). Both return
:class:`~hftcore.oms.actions.OmsActions`: local events for held orders (``OrderUpdated`` of a
child's size, ``OrderCanceled`` with reason ``"OCO"`` or ``"OTO"``, ``OrderDenied`` of a
malformed list member) and the commands to issue (``SubmitOrder`` of orders that may go now,
``CancelOrder`` / ``ModifyOrder`` of sent ones). Feeding the returned events back through
``on_event`` is safe: nothing is requested twice. Children must be submitted after their
parent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import msgspec

from hftcore.errors import InvalidValue
from hftcore.model.events import (
    CancelOrder,
    Command,
    ModifyOrder,
    OrderCanceled,
    OrderDenied,
    OrderEvent,
    OrderFilled,
    OrderInitialized,
    OrderSpec,
    OrderUpdated,
    SubmitOrder,
)
from hftcore.model.orders import OrderType
from hftcore.oms.actions import OmsActions
from hftcore.oms.manager import OrderManager
from hftcore.oms.order import Order, OrderStatus


class OcoPolicy(Enum):
    """What a partial fill of one OCO member does to the others."""

    CANCEL_SIBLINGS = "CANCEL_SIBLINGS"
    """Any fill of a member cancels the others (the standard)."""
    REDUCE_SIBLINGS = "REDUCE_SIBLINGS"
    """A partial fill reduces the others by the filled quantity; a complete fill cancels them."""


@dataclass(slots=True)
class _Link:
    client_order_id: str
    parent_id: str | None
    group_id: str | None
    full_quantity: int
    held: bool = True
    requested_quantity: int | None = None
    cancel_requested: bool = False


@dataclass(slots=True)
class _Group:
    members: list[str] = field(default_factory=list)
    first_filled: str | None = None
    closed: bool = False


class _Step:
    __slots__ = ("commands", "events")

    def __init__(self) -> None:
        self.events: list[OrderEvent] = []
        self.commands: list[Command] = []

    def actions(self) -> OmsActions:
        return OmsActions(tuple(self.events), tuple(self.commands))


class ContingencyManager:
    """Follows OCO, OTO and bracket lists over the orders of an :class:`OrderManager`."""

    def __init__(
        self, orders: OrderManager, *, oco_policy: OcoPolicy = OcoPolicy.CANCEL_SIBLINGS
    ) -> None:
        if not isinstance(orders, OrderManager):
            raise InvalidValue("INVALID_ARGUMENT", "ContingencyManager needs an OrderManager")
        if not isinstance(oco_policy, OcoPolicy):
            raise InvalidValue("INVALID_ARGUMENT", f"unknown OCO policy {oco_policy!r}")
        self._orders = orders
        self._policy = oco_policy
        self._registered: set[str] = set()
        self._links: dict[str, _Link] = {}
        self._children: dict[str, list[str]] = {}
        self._groups: dict[str, _Group] = {}

    def follows(self, client_order_id: str) -> bool:
        """Whether the order is a member of a list (for any other order :meth:`on_event`
        has nothing to do)."""
        return client_order_id in self._links

    def is_held(self, client_order_id: str) -> bool:
        """Whether the order is held here (a child waiting for its parent's fill)."""
        link = self._links.get(client_order_id)
        if link is None or not link.held or link.cancel_requested:
            return False
        order = self._orders.order(client_order_id)
        return order is not None and not order.is_closed  # canceled while held (a kill)

    def children(self, parent_order_id: str) -> list[str]:
        return list(self._children.get(parent_order_id, ()))

    def siblings(self, client_order_id: str) -> list[str]:
        """The other members of the order's OCO group."""
        link = self._links.get(client_order_id)
        if link is None or link.group_id is None:
            return []
        return [m for m in self._groups[link.group_id].members if m != client_order_id]

    # -- registering ---------------------------------------------------------------------------

    def register(self, order: Order, ts: int) -> OmsActions:
        """Takes a newly created (INITIALIZED) order. Returns its own ``SubmitOrder`` if it may
        go now (every order outside a list, a parent, an OCO member of a live list, a child
        whose parent has filled), nothing if it is held, an ``OrderCanceled`` if its list is
        already over, or an ``OrderDenied`` (``UNKNOWN_PARENT_ORDER``,
        ``INVALID_CONTINGENCY``) if it does not fit its list."""
        if not isinstance(order, Order):
            raise InvalidValue("UNKNOWN_ORDER", "register takes an order of the OrderManager")
        client_order_id = order.client_order_id
        if self._orders.order(client_order_id) is not order:
            raise InvalidValue("UNKNOWN_ORDER", "register takes an order of the OrderManager")
        if not isinstance(ts, int) or isinstance(ts, bool) or ts < 0:
            raise InvalidValue("INVALID_TIMESTAMP", f"ts must be an int >= 0 (ns), got {ts!r}")
        if client_order_id in self._registered:
            raise InvalidValue("ALREADY_REGISTERED", f"order {client_order_id} is registered")
        if order.status is not OrderStatus.INITIALIZED:
            raise InvalidValue(
                "INVALID_STATE", f"only INITIALIZED orders register, not {order.status.name}"
            )
        spec = order.spec
        if spec.order_list_id is None:
            self._registered.add(client_order_id)
            return OmsActions(commands=(_submit(order, spec, ts),))
        problem = self._list_problem(order)
        if problem is not None:
            reason, message = problem
            denied = OrderDenied(
                order.strategy_id,
                order.instrument_id,
                order.client_order_id,
                reason=reason,
                message=message,
                ts_event=ts,
                ts_init=ts,
            )
            return OmsActions(events=(denied,))
        self._registered.add(order.client_order_id)
        group_id = spec.order_list_id if spec.contingency == "OCO" else None
        link = _Link(order.client_order_id, spec.parent_order_id, group_id, spec.quantity)
        self._links[link.client_order_id] = link
        if link.parent_id is not None:
            self._children.setdefault(link.parent_id, []).append(link.client_order_id)
        if group_id is not None:
            self._groups.setdefault(group_id, _Group()).members.append(link.client_order_id)
        step = _Step()
        self._settle(link, ts, step)
        return step.actions()

    def _list_problem(self, order: Order) -> tuple[str, str] | None:
        spec = order.spec
        if spec.parent_order_id is not None:
            parent = self._orders.order(spec.parent_order_id)
            if parent is None or spec.parent_order_id not in self._links:
                return "UNKNOWN_PARENT_ORDER", f"parent {spec.parent_order_id!r} is not registered"
            parent_spec = parent.spec
            if (
                parent_spec.contingency not in ("OTO", "BRACKET")
                or order.client_order_id not in parent_spec.linked_order_ids
                or parent_spec.order_list_id != spec.order_list_id
            ):
                return (
                    "INVALID_CONTINGENCY",
                    f"{spec.parent_order_id} is not an OTO/BRACKET parent listing "
                    f"{order.client_order_id} in list {spec.order_list_id}",
                )
            if parent_spec.contingency == "BRACKET" and (
                spec.instrument_id != parent_spec.instrument_id
                or spec.side == parent_spec.side
                or spec.contingency != "OCO"
            ):
                return (
                    "INVALID_CONTINGENCY",
                    "a bracket child is an OCO order on the other side of the entry's instrument",
                )
        if spec.contingency == "OCO":
            group = self._groups.get(spec.order_list_id or "")
            for member_id in group.members if group is not None else ():
                member = self._orders.order(member_id)
                assert member is not None
                if (
                    member.instrument_id != order.instrument_id
                    or member.spec.parent_order_id != spec.parent_order_id
                ):
                    return (
                        "INVALID_CONTINGENCY",
                        "OCO members share their instrument and their parent",
                    )
        return None

    # -- following events ----------------------------------------------------------------------

    def on_event(self, event: OrderEvent, ts: int | None = None) -> OmsActions:
        """Reacts to an order event already applied to the ``OrderManager``; ``ts`` (default:
        the event's ``ts_init``) stamps what it returns."""
        client_order_id = getattr(event, "client_order_id", None)
        if not isinstance(client_order_id, str):
            raise InvalidValue("INVALID_EVENT", f"not an order event: {type(event).__name__}")
        stamp = event.ts_init if ts is None else ts
        if not isinstance(stamp, int) or isinstance(stamp, bool) or stamp < 0:
            raise InvalidValue("INVALID_TIMESTAMP", f"ts must be an int >= 0 (ns), got {stamp!r}")
        children = self._children.get(client_order_id)
        link = self._links.get(client_order_id)
        if children is None and (link is None or link.group_id is None):
            return OmsActions()
        order = self._orders.order(client_order_id)
        if order is None:
            raise InvalidValue("UNKNOWN_ORDER", f"no order {client_order_id!r}")
        if not (isinstance(event, OrderFilled) or order.is_closed):
            return OmsActions()
        step = _Step()
        for child_id in children or ():
            self._settle(self._links[child_id], stamp, step)
        if link is not None and link.group_id is not None:
            group = self._groups[link.group_id]
            if isinstance(event, OrderFilled) and group.first_filled is None:
                group.first_filled = client_order_id
            ended_early = order.is_closed and not link.cancel_requested
            if order.status is OrderStatus.FILLED or ended_early:
                group.closed = True
            for member_id in group.members:
                self._settle(self._links[member_id], stamp, step)
        return step.actions()

    # -- after a restart ----------------------------------------------------------------------

    def replay(self, order: Order, event: OrderEvent) -> None:
        """Rebuilding from the event log: follows ``event``, already applied to ``order`` by the
        ``OrderManager``, as it did live (an ``OrderInitialized`` registers the order), without
        acting: what was decided then is in the log after it. Call :meth:`resume_after_replay`
        once the log is replayed."""
        if isinstance(event, OrderInitialized):
            if order.client_order_id not in self._registered:
                self.register(order, event.ts_init)
        else:
            self.on_event(event)

    def resume_after_replay(self) -> None:
        """Undoes the replay's decisions the log shows were not carried out before the node
        stopped: a member released but never sent (still INITIALIZED) is held again, and a
        cancel requested of a member still working (not PENDING_CANCEL) is forgotten. The next
        :meth:`settle_all` decides them anew."""
        for link in self._links.values():
            order = self._orders.order(link.client_order_id)
            assert order is not None
            if order.is_closed:
                continue
            if order.status is OrderStatus.INITIALIZED:
                link.held = True
                link.cancel_requested = False
            elif link.cancel_requested and order.status is not OrderStatus.PENDING_CANCEL:
                link.cancel_requested = False

    def held_orders(self) -> frozenset[str]:
        """Client order ids of the members held here (children waiting for their parent)."""
        return frozenset(cid for cid in self._links if self.is_held(cid))

    def settle_all(self, ts: int) -> OmsActions:
        """Brings every list member in line with its parent and group (after a restart: what
        the lists still need, e.g. the children of a parent filled while the node was down)."""
        step = _Step()
        for link in self._links.values():
            self._settle(link, ts, step)
        return step.actions()

    # -- the rules -----------------------------------------------------------------------------

    def _settle(self, link: _Link, ts: int, step: _Step) -> None:
        """Brings one list member in line with its parent and its OCO group."""
        order = self._orders.order(link.client_order_id)
        assert order is not None
        if order.is_closed or link.cancel_requested or order.status is OrderStatus.PENDING_CANCEL:
            return  # ended or ending: a cancel already on its way (a kill's) is not asked again
        if link.group_id is not None and self._groups[link.group_id].closed:
            self._cancel(link, order, "OCO", ts, step)
            return
        if link.parent_id is not None:
            parent = self._orders.order(link.parent_id)
            assert parent is not None
            if parent.filled_quantity == 0:
                if parent.is_closed:
                    self._cancel(link, order, "OTO", ts, step)
                return
        target = self._target_quantity(link)
        if target <= order.filled_quantity:
            self._cancel(link, order, "OCO" if link.group_id else "OTO", ts, step)
        elif link.held:
            self._release(link, order, target, ts, step)
        elif target != link.requested_quantity:
            link.requested_quantity = target
            step.commands.append(
                ModifyOrder(
                    order.strategy_id,
                    order.instrument_id,
                    order.client_order_id,
                    quantity=target,
                    price=None,
                    trigger_price=None,
                    ts_init=ts,
                )
            )

    def _target_quantity(self, link: _Link) -> int:
        """The total quantity the member should have now (<= its filled quantity: cancel)."""
        base = link.full_quantity
        if link.parent_id is not None:
            parent = self._orders.order(link.parent_id)
            assert parent is not None
            base = min(base, parent.filled_quantity)
        if link.group_id is None:
            return base
        group = self._groups[link.group_id]
        if group.closed:
            return 0
        if self._policy is OcoPolicy.CANCEL_SIBLINGS and group.first_filled not in (
            None,
            link.client_order_id,
        ):
            return 0
        filled_by_others = 0
        for member_id in group.members:
            if member_id != link.client_order_id:
                member = self._orders.order(member_id)
                assert member is not None
                filled_by_others += member.filled_quantity
        return base - filled_by_others

    def _release(self, link: _Link, order: Order, quantity: int, ts: int, step: _Step) -> None:
        link.held = False
        link.requested_quantity = quantity
        spec = order.spec
        if quantity != spec.quantity:
            step.events.append(
                OrderUpdated(
                    order.strategy_id,
                    order.instrument_id,
                    order.client_order_id,
                    quantity=quantity,
                    price=None,
                    trigger_price=None,
                    ts_event=ts,
                    ts_init=ts,
                )
            )
            spec = msgspec.structs.replace(spec, quantity=quantity)
            if spec.display_quantity is not None and spec.display_quantity > quantity:
                spec = msgspec.structs.replace(spec, display_quantity=quantity)
        step.commands.append(_submit(order, spec, ts))

    @staticmethod
    def _cancel(link: _Link, order: Order, reason: str, ts: int, step: _Step) -> None:
        link.cancel_requested = True
        ids = (order.strategy_id, order.instrument_id, order.client_order_id)
        if link.held:
            step.events.append(OrderCanceled(*ids, reason=reason, ts_event=ts, ts_init=ts))
        else:
            step.commands.append(CancelOrder(*ids, ts_init=ts))


def _submit(order: Order, spec: OrderSpec, ts: int) -> SubmitOrder:
    return SubmitOrder(
        strategy_id=order.strategy_id, client_order_id=order.client_order_id, order=spec, ts_init=ts
    )


def make_bracket(
    strategy_id: str,
    entry: OrderSpec,
    *,
    take_profit_price: int,
    stop_loss_trigger: int,
    client_order_ids: tuple[str, str, str],
    order_list_id: str,
    ts: int,
    stop_loss_limit_price: int | None = None,
) -> tuple[SubmitOrder, SubmitOrder, SubmitOrder]:
    """The three submits of a bracket, in the order to submit them: the entry (as given, made
    the BRACKET parent), a LIMIT take-profit and a STOP (or STOP_LIMIT if
    ``stop_loss_limit_price`` is given) stop-loss, both GTC on the other side for the entry's
    quantity, reduce-only, as an OCO pair. ``client_order_ids`` are (entry, take-profit,
    stop-loss)."""
    entry_id, take_profit_id, stop_loss_id = client_order_ids
    parent = msgspec.structs.replace(
        entry,
        order_list_id=order_list_id,
        contingency="BRACKET",
        parent_order_id=None,
        linked_order_ids=(take_profit_id, stop_loss_id),
    )
    exit_side = 1 - entry.side
    take_profit = OrderSpec(
        instrument_id=entry.instrument_id,
        side=exit_side,
        order_type=int(OrderType.LIMIT),
        quantity=entry.quantity,
        price=take_profit_price,
        reduce_only=True,
        order_list_id=order_list_id,
        contingency="OCO",
        parent_order_id=entry_id,
        linked_order_ids=(stop_loss_id,),
    )
    stop_loss = OrderSpec(
        instrument_id=entry.instrument_id,
        side=exit_side,
        order_type=int(OrderType.STOP if stop_loss_limit_price is None else OrderType.STOP_LIMIT),
        quantity=entry.quantity,
        price=stop_loss_limit_price,
        trigger_price=stop_loss_trigger,
        reduce_only=True,
        order_list_id=order_list_id,
        contingency="OCO",
        parent_order_id=entry_id,
        linked_order_ids=(take_profit_id,),
    )
    return (
        SubmitOrder(strategy_id, entry_id, parent, ts),
        SubmitOrder(strategy_id, take_profit_id, take_profit, ts),
        SubmitOrder(strategy_id, stop_loss_id, stop_loss, ts),
    )
