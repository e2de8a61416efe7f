"""Slow, obviously-correct pure-Python order books that the compiled books are tested against."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ReferenceL2:
    """Dict per side; levels sorted on demand."""

    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)

    def apply(self, side: int, price: int, quantity: int) -> bool:
        if side not in (0, 1) or price <= 0 or quantity < 0:
            return False
        levels = self.bids if side == 0 else self.asks
        if quantity == 0:
            levels.pop(price, None)
        else:
            levels[price] = quantity
        return True

    def levels(self, side: int) -> list[tuple[int, int]]:
        levels = self.bids if side == 0 else self.asks
        return sorted(levels.items(), reverse=side == 0)


@dataclass
class ReferenceL3:
    """Every order in one list, in time priority."""

    orders: list[list[int]] = field(default_factory=list)  # [order_id, side, price, quantity]

    def find(self, order_id: int) -> int | None:
        for index, order in enumerate(self.orders):
            if order[0] == order_id:
                return index
        return None

    def add(self, order_id: int, side: int, price: int, quantity: int) -> bool:
        if side not in (0, 1) or price <= 0 or quantity <= 0 or self.find(order_id) is not None:
            return False
        self.orders.append([order_id, side, price, quantity])
        return True

    def cancel(self, order_id: int) -> bool:
        index = self.find(order_id)
        if index is None:
            return False
        del self.orders[index]
        return True

    def reduce(self, order_id: int, by: int) -> bool:
        index = self.find(order_id)
        if index is None or by <= 0 or by > self.orders[index][3]:
            return False
        self.orders[index][3] -= by
        if self.orders[index][3] == 0:
            del self.orders[index]
        return True

    def replace(self, order_id: int, price: int, quantity: int) -> bool:
        index = self.find(order_id)
        if index is None or price <= 0 or quantity <= 0:
            return False
        order = self.orders[index]
        if price == order[2] and quantity <= order[3]:
            order[3] = quantity
        else:
            del self.orders[index]
            self.orders.append([order_id, order[1], price, quantity])
        return True

    def queue_ahead(self, order_id: int) -> int | None:
        index = self.find(order_id)
        if index is None:
            return None
        _, side, price, _ = self.orders[index]
        return sum(o[3] for o in self.orders[:index] if o[1] == side and o[2] == price)

    def levels(self, side: int) -> list[tuple[int, int]]:
        totals: dict[int, int] = {}
        for _, order_side, price, quantity in self.orders:
            if order_side == side:
                totals[price] = totals.get(price, 0) + quantity
        return sorted(totals.items(), reverse=side == 0)
