"""A pure-Python reference of the matching engine, slow and obviously correct.

It covers the rules the binding tests drive: limit and market orders, GTC / IOC / FOK, icebergs,
post-only (reject and slide), self-trade prevention, modify, cancel and cancel-all. Working
orders live in one list; the best price and the queue head are found by scanning it; queue
priority is an explicit counter; a fill-or-kill check runs the order on a deep copy.

Events are tuples ``(kind, order_id, trade_id, side, price, quantity, leaves, liquidity,
fee_raw, reason)``, the fields of ``hftcore.OrderEvent``; a refused call returns
``("REJECTED", reason)`` and changes nothing.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

BUY, SELL = 0, 1
MARKET, LIMIT = 0, 1
GTC, IOC, FOK = 0, 1, 2
STP_NONE, CANCEL_NEWEST, CANCEL_OLDEST, CANCEL_BOTH, DECREMENT = range(5)
POST_NONE, POST_REJECT, POST_SLIDE = range(3)
FEE_DENOMINATOR = 1_000_000_000

Event = tuple[str, int, int, int, int, int, int, str, int, str]


class RejectionError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def fee(notional: int, rate: int) -> int:
    """The core's fee rounding: half away from zero."""
    raw = notional * rate
    half = FEE_DENOMINATOR // 2
    if raw >= 0:
        return (raw + half) // FEE_DENOMINATOR
    return -((-raw + half) // FEE_DENOMINATOR)


def event(kind: str, order_id: int, **fields: int | str) -> Event:
    return (
        kind,
        order_id,
        int(fields.get("trade_id", 0)),
        int(fields.get("side", 0)),
        int(fields.get("price", 0)),
        int(fields.get("quantity", 0)),
        int(fields.get("leaves", 0)),
        str(fields.get("liquidity", "")),
        int(fields.get("fee_raw", 0)),
        str(fields.get("reason", "")),
    )


@dataclass
class Order:
    order_id: int
    owner: int
    side: int
    order_type: int
    tif: int
    price: int
    quantity: int
    leaves: int
    display: int
    stp: int
    post_only: int
    visible: int = 0
    priority: int = 0
    resting: bool = False

    def slice(self) -> int:
        return min(self.display, self.leaves) if self.display else self.leaves


def crosses(side: int, limit: int, price: int) -> bool:
    return price <= limit if side == BUY else price >= limit


@dataclass
class Model:
    """One instrument with the given rules (quantities and prices in lots and ticks)."""

    min_quantity: int
    max_quantity: int
    notional_per_tick_lot: int
    maker_rate: int
    taker_rate: int
    orders: list[Order] = field(default_factory=list)
    positions: dict[int, int] = field(default_factory=dict)
    next_trade: int = 1
    next_priority: int = 0
    events: list[Event] = field(default_factory=list)

    # ----- queries -----

    def find(self, order_id: int) -> Order | None:
        return next((order for order in self.orders if order.order_id == order_id), None)

    def best(self, side: int) -> int | None:
        prices = [order.price for order in self.orders if order.resting and order.side == side]
        if not prices:
            return None
        return max(prices) if side == BUY else min(prices)

    def queue(self, side: int, price: int) -> list[Order]:
        at = [o for o in self.orders if o.resting and o.side == side and o.price == price]
        return sorted(at, key=lambda order: order.priority)

    def levels(self, side: int) -> list[tuple[int, int, int]]:
        prices = sorted(
            {order.price for order in self.orders if order.resting and order.side == side},
            reverse=side == BUY,
        )
        return [
            (price, sum(o.visible for o in self.queue(side, price)), len(self.queue(side, price)))
            for price in prices
        ]

    # ----- helpers -----

    def enqueue(self, order: Order) -> None:
        order.priority = self.next_priority
        self.next_priority += 1

    def rest(self, order: Order) -> None:
        order.resting = True
        order.visible = order.slice()
        self.enqueue(order)

    def finish(self, order: Order, reason: str) -> None:
        self.orders.remove(order)
        self.events.append(event("CANCELED", order.order_id, leaves=order.leaves, reason=reason))

    def replaced(self, order: Order) -> None:
        self.events.append(
            event(
                "REPLACED",
                order.order_id,
                price=order.price,
                quantity=order.quantity,
                leaves=order.leaves,
            )
        )

    def post_only_price(self, side: int, price: int, mode: int) -> int:
        best = self.best(1 - side)
        if mode == POST_NONE or best is None or not crosses(side, price, best):
            return price
        slid = best - 1 if side == BUY else best + 1
        if mode == POST_SLIDE and slid > 0:
            return slid
        raise RejectionError("POST_ONLY_WOULD_CROSS")

    # ----- calls -----

    def submit(
        self,
        order_id: int,
        *,
        owner: int,
        side: int,
        order_type: int,
        tif: int,
        price: int,
        quantity: int,
        display: int,
        stp: int,
        post_only: int,
    ) -> list[Event] | tuple[str, str]:
        self.events = []
        try:
            if self.find(order_id) is not None:
                raise RejectionError("DUPLICATE_ORDER_ID")
            if order_type == MARKET and tif not in (IOC, FOK):
                raise RejectionError("INVALID_TIME_IN_FORCE")
            if quantity <= 0:
                raise RejectionError("INVALID_QUANTITY")
            if quantity < self.min_quantity:
                raise RejectionError("QUANTITY_BELOW_MINIMUM")
            if quantity > self.max_quantity:
                raise RejectionError("QUANTITY_ABOVE_MAXIMUM")
            if (price <= 0) if order_type == LIMIT else (price != 0):
                raise RejectionError("INVALID_PRICE")
            if display and (
                order_type == MARKET
                or tif in (IOC, FOK)
                or display < self.min_quantity
                or display > quantity
            ):
                raise RejectionError("INVALID_DISPLAY_QUANTITY")
            if post_only and (order_type != LIMIT or tif in (IOC, FOK)):
                raise RejectionError("POST_ONLY_NOT_ALLOWED")
            entry_price = self.post_only_price(side, price, post_only)
        except RejectionError as rejected:
            return ("REJECTED", rejected.reason)
        order = Order(
            order_id,
            owner,
            side,
            order_type,
            tif,
            entry_price,
            quantity,
            quantity,
            display,
            stp,
            post_only,
        )
        self.orders.append(order)
        self.events.append(event("ACCEPTED", order_id))
        if entry_price != price:
            self.replaced(order)
        if post_only:
            self.rest(order)
        elif tif == FOK and not self.fills_completely(order_id):
            self.finish(order, "FILL_OR_KILL")
        else:
            self.match_and_settle(order)
        return self.events

    def fills_completely(self, order_id: int) -> bool:
        """Runs the order on a copy; it must trade its whole quantity on entry.

        Lots a self-trade decrement removes are not executed, so they do not count: the
        quantity is read before matching, which decrements it.
        """
        trial = copy.deepcopy(self)
        trial.events = []
        taker = trial.find(order_id)
        assert taker is not None
        quantity = taker.quantity
        trial.match(taker)
        filled = sum(e[5] for e in trial.events if e[0] == "FILLED" and e[1] == order_id)
        return filled == quantity

    def match_and_settle(self, order: Order) -> None:
        if not self.match(order):
            return
        if order.leaves == 0:
            self.orders.remove(order)
        elif order.price == 0:
            self.finish(order, "NO_LIQUIDITY")
        elif order.tif == IOC:
            self.finish(order, "IMMEDIATE_OR_CANCEL")
        elif order.tif == FOK:
            self.finish(order, "FILL_OR_KILL")
        else:
            self.rest(order)

    def match(self, taker: Order) -> bool:
        """Matches the taker; False if self-trade prevention ended it."""
        while taker.leaves > 0:
            best = self.best(1 - taker.side)
            if best is None or (taker.price and not crosses(taker.side, taker.price, best)):
                return True
            maker = self.queue(1 - taker.side, best)[0]
            if maker.owner == taker.owner and taker.stp != STP_NONE:
                if self.prevent_self_trade(taker, maker):
                    return False
                continue
            self.trade(taker, maker, best, min(taker.leaves, maker.visible))
        return True

    def prevent_self_trade(self, taker: Order, maker: Order) -> bool:
        if taker.stp == CANCEL_NEWEST:
            self.finish(taker, "SELF_TRADE")
            return True
        if taker.stp == CANCEL_OLDEST:
            self.finish(maker, "SELF_TRADE")
            return False
        if taker.stp == CANCEL_BOTH:
            self.finish(taker, "SELF_TRADE")
            self.finish(maker, "SELF_TRADE")
            return True
        amount = min(taker.leaves, maker.visible)
        taker_ends = taker.leaves == amount
        if taker_ends:
            self.finish(taker, "SELF_TRADE")
        else:
            taker.quantity -= amount
            taker.leaves -= amount
            self.replaced(taker)
        if maker.leaves == amount:
            self.finish(maker, "SELF_TRADE")
        else:
            maker.quantity -= amount
            maker.leaves -= amount
            maker.visible -= amount
            self.replaced(maker)
            if maker.visible == 0:
                maker.visible = maker.slice()
                self.enqueue(maker)
        return taker_ends

    def trade(self, taker: Order, maker: Order, price: int, quantity: int) -> None:
        trade_id = self.next_trade
        self.next_trade += 1
        notional = price * quantity * self.notional_per_tick_lot
        taker.leaves -= quantity
        maker.leaves -= quantity
        maker.visible -= quantity
        for order, liquidity, rate in (
            (taker, "TAKER", self.taker_rate),
            (maker, "MAKER", self.maker_rate),
        ):
            self.events.append(
                event(
                    "FILLED",
                    order.order_id,
                    trade_id=trade_id,
                    side=order.side,
                    price=price,
                    quantity=quantity,
                    leaves=order.leaves,
                    liquidity=liquidity,
                    fee_raw=fee(notional, rate),
                )
            )
        if maker.leaves == 0:
            self.orders.remove(maker)
        elif maker.visible == 0:
            maker.visible = maker.slice()
            self.enqueue(maker)
        if maker.owner != taker.owner:
            for order in (maker, taker):
                sign = 1 if order.side == BUY else -1
                self.positions[order.owner] = self.positions.get(order.owner, 0) + sign * quantity

    def cancel(self, order_id: int) -> list[Event] | tuple[str, str]:
        self.events = []
        order = self.find(order_id)
        if order is None:
            return ("REJECTED", "UNKNOWN_ORDER")
        self.finish(order, "REQUESTED")
        return self.events

    def cancel_all(self, side: int | None, owner: int | None) -> list[Event]:
        self.events = []
        # Working orders are kept in arrival order.
        for order in list(self.orders):
            if (side is None or order.side == side) and (owner is None or order.owner == owner):
                self.finish(order, "REQUESTED")
        return self.events

    def modify(self, order_id: int, price: int, quantity: int) -> list[Event] | tuple[str, str]:
        self.events = []
        order = self.find(order_id)
        try:
            if order is None:
                raise RejectionError("UNKNOWN_ORDER")
            if price <= 0:
                raise RejectionError("INVALID_PRICE")
            if quantity <= 0:
                raise RejectionError("INVALID_QUANTITY")
            if quantity > self.max_quantity:
                raise RejectionError("QUANTITY_ABOVE_MAXIMUM")
            filled = order.quantity - order.leaves
            if quantity <= filled:
                self.finish(order, "REQUESTED")
                return self.events
            if quantity < self.min_quantity:
                raise RejectionError("QUANTITY_BELOW_MINIMUM")
            new_price = self.post_only_price(order.side, price, order.post_only)
        except RejectionError as rejected:
            return ("REJECTED", rejected.reason)
        leaves = quantity - filled
        best = self.best(1 - order.side)
        crossing = best is not None and crosses(order.side, new_price, best)
        keeps_priority = new_price == order.price and leaves <= order.leaves
        order.price, order.quantity, order.leaves = new_price, quantity, leaves
        self.replaced(order)
        if keeps_priority:
            order.visible = min(order.visible, leaves)
        elif crossing:
            order.resting = False
            self.match_and_settle(order)
        else:
            self.rest(order)
        return self.events
