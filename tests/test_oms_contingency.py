"""Contingent orders: OCO, OTO and brackets, with partial fills, over an order manager."""

from __future__ import annotations

from typing import Any

import pytest
from hftcore.errors import InvalidValue
from hftcore.model.events import (
    CancelOrder,
    Command,
    ModifyOrder,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderEvent,
    OrderInitialized,
    OrderPendingCancel,
    OrderPendingUpdate,
    OrderSubmitted,
    OrderUpdated,
    SubmitOrder,
)
from hftcore.model.orders import OrderType
from hftcore.oms import (
    ContingencyManager,
    OcoPolicy,
    OmsActions,
    OrderEmulator,
    OrderManager,
    OrderStatus,
    make_bracket,
)
from oms_helpers import BUY, INSTRUMENT, SELL, STRATEGY, event, fill, spec, submit


class Node:
    """The node's side of the contract, reduced to what contingencies need: every event is
    applied and fed back, commands are recorded and acknowledged by a pretend venue."""

    def __init__(self, policy: OcoPolicy = OcoPolicy.CANCEL_SIBLINGS, **emulator: Any) -> None:
        self.orders = OrderManager()
        self.lists = ContingencyManager(self.orders, oco_policy=policy)
        self.emulator = OrderEmulator(**emulator) if emulator else None
        self.sent: list[Command] = []
        self.local: list[OrderEvent] = []
        self.ts = 0
        self.trades = 0

    def tick(self) -> int:
        self.ts += 1
        return self.ts

    def submit(self, command: SubmitOrder) -> None:
        created = self.orders.create(command, self.tick())
        if isinstance(created, OrderInitialized):
            order = self.orders.order(command.client_order_id)
            assert order is not None
            self.process(self.lists.register(order, self.ts))

    def process(self, actions: OmsActions) -> None:
        for change in actions.events:
            self.local.append(change)
            self.on_event(change)
        for command in actions.commands:
            self.send(command)

    def on_event(self, change: OrderEvent) -> None:
        self.orders.apply(change)
        self.process(self.lists.on_event(change))

    def send(self, command: Command) -> None:
        ts = self.tick()
        order = self.orders.order(getattr(command, "client_order_id", ""))
        assert order is not None
        if isinstance(command, SubmitOrder):
            if self.emulator is not None and self.emulator.requires_emulation(command.order):
                self.process(self.emulator.hold(order, ts))
                return
            self.sent.append(command)
            self.on_event(event(OrderSubmitted, order.client_order_id, ts))
            self.on_event(event(OrderAccepted, order.client_order_id, ts))
        elif isinstance(command, CancelOrder):
            if order.is_emulated:
                assert self.emulator is not None
                self.sent.append(command)
                self.on_event(self.emulator.cancel(command, ts))
                return
            answer = self.orders.prepare_cancel(command, ts)
            self.on_event(answer)
            if isinstance(answer, OrderPendingCancel):
                self.sent.append(command)
        elif isinstance(command, ModifyOrder):
            answer_modify = self.orders.prepare_modify(command, ts)
            self.on_event(answer_modify)
            if isinstance(answer_modify, OrderPendingUpdate):
                self.sent.append(command)

    # The venue's answers.
    def fill(self, client_order_id: str, quantity: int, price: int = 100) -> None:
        order = self.orders.order(client_order_id)
        assert order is not None
        self.trades += 1
        self.on_event(
            fill(
                client_order_id,
                quantity,
                price,
                f"T{self.trades}",
                side=order.spec.side,
                ts=self.tick(),
            )
        )

    def ack_cancel(self, client_order_id: str) -> None:
        self.on_event(event(OrderCanceled, client_order_id, self.tick(), reason="REQUESTED"))

    def ack_modify(self, client_order_id: str) -> None:
        order = self.orders.order(client_order_id)
        assert order is not None
        modify = [
            c
            for c in self.sent
            if isinstance(c, ModifyOrder) and c.client_order_id == client_order_id
        ][-1]
        assert modify.quantity is not None
        self.on_event(
            event(
                OrderUpdated,
                client_order_id,
                self.tick(),
                quantity=modify.quantity,
                price=None,
                trigger_price=None,
            )
        )

    def status(self, client_order_id: str) -> OrderStatus:
        order = self.orders.order(client_order_id)
        assert order is not None
        return order.status

    def quantity(self, client_order_id: str) -> int:
        order = self.orders.order(client_order_id)
        assert order is not None
        return order.quantity

    def sent_kinds(self) -> list[tuple[str, str]]:
        return [(type(c).__name__, getattr(c, "client_order_id", "")) for c in self.sent]


def oco(client_order_id: str, other: str, side: int = SELL, **fields: Any) -> SubmitOrder:
    order_spec = spec(
        side=side, order_list_id="L1", contingency="OCO", linked_order_ids=(other,), **fields
    )
    return submit(client_order_id, order_spec)


def oto_parent(children: tuple[str, ...], quantity: int = 10) -> SubmitOrder:
    return submit(
        "P",
        spec(quantity=quantity, order_list_id="L1", contingency="OTO", linked_order_ids=children),
    )


def oto_child(client_order_id: str, quantity: int = 10, **fields: Any) -> SubmitOrder:
    values: dict[str, Any] = {"order_list_id": "L1", "parent_order_id": "P"}
    values.update(fields)
    return submit(client_order_id, spec(side=SELL, price=110, quantity=quantity, **values))


def bracket(node: Node, quantity: int = 10) -> None:
    entry = spec(quantity=quantity)
    for command in make_bracket(
        STRATEGY,
        entry,
        take_profit_price=110,
        stop_loss_trigger=95,
        client_order_ids=("E", "TP", "SL"),
        order_list_id="B1",
        ts=0,
    ):
        node.submit(command)


# -- plain orders -----------------------------------------------------------------------------


def test_an_order_outside_any_list_goes_at_once() -> None:
    node = Node()
    node.submit(submit("C1"))
    assert node.sent_kinds() == [("SubmitOrder", "C1")]
    assert not node.lists.is_held("C1")


# -- OCO --------------------------------------------------------------------------------------


def test_oco_first_fill_cancels_the_sibling() -> None:
    node = Node()
    node.submit(oco("A", "B", price=110))
    node.submit(oco("B", "A", order_type=int(OrderType.STOP), price=None, trigger_price=95))
    assert node.sent_kinds() == [("SubmitOrder", "A"), ("SubmitOrder", "B")]
    node.fill("A", 3)
    assert node.sent_kinds()[-1] == ("CancelOrder", "B")
    assert node.status("B") is OrderStatus.PENDING_CANCEL
    node.ack_cancel("B")
    # Our own cancel of B does not propagate back to A, which keeps working.
    assert node.status("A") is OrderStatus.PARTIALLY_FILLED
    node.fill("A", 7)
    assert node.status("A") is OrderStatus.FILLED
    assert [k for k in node.sent_kinds() if k[0] == "CancelOrder"] == [("CancelOrder", "B")]


def test_oco_reduce_policy_follows_partial_fills() -> None:
    node = Node(OcoPolicy.REDUCE_SIBLINGS)
    node.submit(oco("A", "B", price=110))
    node.submit(oco("B", "A", price=120))
    node.fill("A", 3)
    reduce = node.sent[-1]
    assert isinstance(reduce, ModifyOrder)
    assert (reduce.client_order_id, reduce.quantity, reduce.price, reduce.trigger_price) == (
        "B",
        7,
        None,
        None,
    )
    node.ack_modify("B")
    assert (node.status("B"), node.quantity("B")) == (OrderStatus.ACCEPTED, 7)
    node.fill("A", 2)
    assert node.sent[-1].client_order_id == "B"
    assert isinstance(node.sent[-1], ModifyOrder)
    assert node.sent[-1].quantity == 5
    node.ack_modify("B")
    node.fill("A", 5)
    assert node.sent_kinds()[-1] == ("CancelOrder", "B")


def test_oco_cancel_of_one_cancels_the_other() -> None:
    node = Node()
    node.submit(oco("A", "B", price=110))
    node.submit(oco("B", "A", price=120))
    node.on_event(
        node.orders.prepare_cancel(CancelOrder(STRATEGY, INSTRUMENT, "A", 0), node.tick())
    )
    assert node.sent_kinds() == [("SubmitOrder", "A"), ("SubmitOrder", "B")]
    node.ack_cancel("A")
    assert node.sent_kinds()[-1] == ("CancelOrder", "B")


def test_oco_member_arriving_after_the_list_is_over_is_never_sent() -> None:
    node = Node()
    node.submit(oco("A", "B", price=110))
    node.fill("A", 10)
    node.submit(oco("B", "A", price=120))
    assert node.status("B") is OrderStatus.CANCELED
    assert ("SubmitOrder", "B") not in node.sent_kinds()
    canceled = [e for e in node.local if isinstance(e, OrderCanceled)]
    assert [(e.client_order_id, e.reason) for e in canceled] == [("B", "OCO")]


# -- OTO --------------------------------------------------------------------------------------


def test_oto_children_wait_for_the_fill_and_are_sized_to_it() -> None:
    node = Node()
    node.submit(oto_parent(("K",)))
    node.submit(oto_child("K"))
    assert node.sent_kinds() == [("SubmitOrder", "P")]
    assert node.lists.is_held("K")
    assert node.status("K") is OrderStatus.INITIALIZED
    node.fill("P", 4)
    assert not node.lists.is_held("K")
    child_submit = node.sent[-1]
    assert isinstance(child_submit, SubmitOrder)
    assert (child_submit.client_order_id, child_submit.order.quantity) == ("K", 4)
    assert node.quantity("K") == 4  # the OMS learned the size through OrderUpdated
    node.fill("P", 6)
    grow = node.sent[-1]
    assert isinstance(grow, ModifyOrder)
    assert (grow.client_order_id, grow.quantity) == ("K", 10)
    node.ack_modify("K")
    assert node.quantity("K") == 10


def test_oto_child_smaller_than_the_parent_is_capped_at_its_own_quantity() -> None:
    node = Node()
    node.submit(oto_parent(("K",)))
    node.submit(oto_child("K", quantity=5))
    node.fill("P", 3)
    node.fill("P", 7)
    assert node.sent_kinds() == [("SubmitOrder", "P"), ("SubmitOrder", "K"), ("ModifyOrder", "K")]
    modify = node.sent[-1]
    assert isinstance(modify, ModifyOrder)
    assert modify.quantity == 5


def test_oto_parent_ending_unfilled_cancels_held_children_locally() -> None:
    node = Node()
    node.submit(oto_parent(("K1", "K2")))
    node.submit(oto_child("K1"))
    node.submit(oto_child("K2"))
    node.on_event(event(OrderCanceled, "P", node.tick(), reason="REQUESTED"))
    assert node.status("K1") is node.status("K2") is OrderStatus.CANCELED
    assert node.sent_kinds() == [("SubmitOrder", "P")]
    assert [(e.client_order_id, e.reason) for e in node.local if isinstance(e, OrderCanceled)] == [
        ("K1", "OTO"),
        ("K2", "OTO"),
    ]


def test_oto_parent_canceled_after_a_partial_fill_leaves_children_at_that_size() -> None:
    node = Node()
    node.submit(oto_parent(("K",)))
    node.submit(oto_child("K"))
    node.fill("P", 3)
    node.ack_cancel("P")
    assert (node.status("K"), node.quantity("K")) == (OrderStatus.ACCEPTED, 3)
    assert node.sent_kinds() == [("SubmitOrder", "P"), ("SubmitOrder", "K")]


def test_child_registered_after_the_parent_filled_goes_at_once() -> None:
    node = Node()
    node.submit(oto_parent(("K",)))
    node.fill("P", 6)
    node.submit(oto_child("K"))
    assert node.sent[-1] == SubmitOrder(
        STRATEGY,
        "K",
        spec(side=SELL, price=110, quantity=6, order_list_id="L1", parent_order_id="P"),
        node.ts - 1,
    )


# -- brackets ---------------------------------------------------------------------------------


def test_make_bracket_links_the_three_orders() -> None:
    entry, take_profit, stop_loss = make_bracket(
        STRATEGY,
        spec(quantity=10),
        take_profit_price=110,
        stop_loss_trigger=95,
        client_order_ids=("E", "TP", "SL"),
        order_list_id="B1",
        ts=0,
        stop_loss_limit_price=94,
    )
    assert (entry.order.contingency, entry.order.linked_order_ids) == ("BRACKET", ("TP", "SL"))
    assert (take_profit.order.order_type, take_profit.order.side, take_profit.order.price) == (
        OrderType.LIMIT,
        SELL,
        110,
    )
    assert (stop_loss.order.order_type, stop_loss.order.trigger_price, stop_loss.order.price) == (
        OrderType.STOP_LIMIT,
        95,
        94,
    )
    for child in (take_profit, stop_loss):
        assert (child.order.parent_order_id, child.order.contingency) == ("E", "OCO")
        assert child.order.order_list_id == "B1"
        assert child.order.reduce_only


def test_bracket_entry_fill_releases_the_pair_and_take_profit_cancels_stop_loss() -> None:
    node = Node()
    bracket(node)
    assert node.sent_kinds() == [("SubmitOrder", "E")]
    assert node.lists.is_held("TP")
    assert node.lists.is_held("SL")
    node.fill("E", 10)
    assert node.sent_kinds()[1:] == [("SubmitOrder", "TP"), ("SubmitOrder", "SL")]
    assert not any(isinstance(e, OrderUpdated) for e in node.local)  # full size: no resize
    node.fill("TP", 10, 110)
    assert node.sent_kinds()[-1] == ("CancelOrder", "SL")
    node.ack_cancel("SL")
    assert (node.status("TP"), node.status("SL")) == (OrderStatus.FILLED, OrderStatus.CANCELED)


def test_bracket_with_partial_entry_fills_and_an_early_exit() -> None:
    node = Node()
    bracket(node)
    node.fill("E", 6)
    assert (node.quantity("TP"), node.quantity("SL")) == (6, 6)
    node.fill("TP", 2, 110)  # first fill of the pair: the stop-loss is canceled
    assert node.sent_kinds()[-1] == ("CancelOrder", "SL")
    node.ack_cancel("SL")
    node.fill("E", 4)  # the entry completes: the surviving take-profit grows to 10
    grow = node.sent[-1]
    assert isinstance(grow, ModifyOrder)
    assert (grow.client_order_id, grow.quantity) == ("TP", 10)
    assert [k for k in node.sent_kinds() if k == ("CancelOrder", "SL")] == [("CancelOrder", "SL")]


def test_bracket_with_reduce_policy_keeps_the_stop_loss_covering_what_is_left() -> None:
    node = Node(OcoPolicy.REDUCE_SIBLINGS)
    bracket(node)
    node.fill("E", 10)
    node.fill("TP", 4, 110)
    modify = node.sent[-1]
    assert isinstance(modify, ModifyOrder)
    assert (modify.client_order_id, modify.quantity) == ("SL", 6)
    node.ack_modify("SL")
    node.fill("TP", 6, 110)
    assert node.sent_kinds()[-1] == ("CancelOrder", "SL")


def test_bracket_entry_canceled_unfilled_cancels_both_children_locally() -> None:
    node = Node()
    bracket(node)
    node.ack_cancel("E")
    assert node.status("TP") is node.status("SL") is OrderStatus.CANCELED
    assert node.sent_kinds() == [("SubmitOrder", "E")]


def test_bracket_with_an_emulated_stop_loss() -> None:
    node = Node(native_stops=False)
    bracket(node)
    node.fill("E", 10)
    assert node.status("SL") is OrderStatus.EMULATED
    assert node.sent_kinds()[1:] == [("SubmitOrder", "TP")]
    node.fill("TP", 10, 110)
    assert node.status("SL") is OrderStatus.CANCELED
    assert node.emulator is not None
    assert len(node.emulator) == 0


def test_user_cancel_of_a_held_child_cancels_its_held_sibling() -> None:
    node = Node()
    bracket(node)
    node.on_event(
        node.orders.prepare_cancel(CancelOrder(STRATEGY, INSTRUMENT, "TP", 0), node.tick())
    )
    assert node.status("SL") is OrderStatus.CANCELED
    node.fill("E", 10)
    assert node.sent_kinds() == [("SubmitOrder", "E")]


# -- malformed lists and bad calls ------------------------------------------------------------


@pytest.mark.parametrize(
    ("child", "reason"),
    [
        (oto_child("K", parent_order_id="nobody"), "UNKNOWN_PARENT_ORDER"),
        (oto_child("X"), "INVALID_CONTINGENCY"),  # not listed by the parent
        (oto_child("K", order_list_id="L2"), "INVALID_CONTINGENCY"),
    ],
)
def test_children_that_do_not_fit_their_parent_are_denied(child: SubmitOrder, reason: str) -> None:
    node = Node()
    node.submit(oto_parent(("K",)))
    node.submit(child)
    denied = [e for e in node.local if isinstance(e, OrderDenied)]
    assert [(e.client_order_id, e.reason) for e in denied] == [(child.client_order_id, reason)]
    assert node.status(child.client_order_id) is OrderStatus.DENIED
    assert node.sent_kinds() == [("SubmitOrder", "P")]


def test_bracket_children_must_be_opposite_oco_orders_and_oco_members_share_an_instrument() -> None:
    node = Node()
    node.submit(
        submit("E", spec(order_list_id="B", contingency="BRACKET", linked_order_ids=("TP", "SL")))
    )
    node.submit(
        submit("TP", spec(side=BUY, order_list_id="B", parent_order_id="E", contingency="OCO"))
    )
    node.submit(oco("A", "B", price=110))
    node.submit(oco("B", "A", price=120, instrument_id="Y.SIM"))
    denied = [(e.client_order_id, e.reason) for e in node.local if isinstance(e, OrderDenied)]
    assert denied == [("TP", "INVALID_CONTINGENCY"), ("B", "INVALID_CONTINGENCY")]


def test_register_refuses_bad_calls() -> None:
    node = Node()
    node.submit(submit("C1"))
    order = node.orders.order("C1")
    assert order is not None
    other = OrderManager()
    other.create(submit("Z"), 0)
    foreign = other.order("Z")
    assert foreign is not None
    node.orders.create(submit("C2"), 1)
    fresh = node.orders.order("C2")
    assert fresh is not None
    node.lists.register(fresh, 2)
    for call, code in [
        (lambda: node.lists.register(foreign, 3), "UNKNOWN_ORDER"),
        (lambda: node.lists.register(order, 3), "ALREADY_REGISTERED"),
        (lambda: node.lists.register(fresh, 3), "ALREADY_REGISTERED"),
        (lambda: node.lists.on_event("event", 3), "INVALID_EVENT"),  # type: ignore[arg-type]
        (lambda: ContingencyManager(other, oco_policy="CANCEL"), "INVALID_ARGUMENT"),  # type: ignore[arg-type]
    ]:
        with pytest.raises(InvalidValue) as error:
            call()
        assert error.value.code == code
