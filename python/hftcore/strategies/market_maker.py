"""A simple market maker: one bid and one ask around the microprice, skewed against inventory,
within hard inventory limits.

On every top-of-book change the reservation price is ``microprice - skew_ticks_per_lot * q``
(``q``: this strategy's net position in lots; long inventory lowers both quotes, so the ask gets
hit more and the bid less). The bid goes at ``floor(reservation - half_spread_ticks)``, the ask
at ``ceil(reservation + half_spread_ticks)``, never through the opposite best price. A working
quote more than ``requote_ticks`` away from its target is canceled, and the side is quoted again
on a later book change once the cancel is confirmed.

Inventory limits hold whatever the fills and latencies: each side has at most one order working
(or in flight), sized when sent to at most ``max_position - q`` on the bid and
``max_position + q`` on the ask, and only that side's fills move ``q`` towards that limit. So
``-max_position <= q <= max_position`` at every moment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import msgspec

from hftcore.model.events import (
    OrderCanceled,
    OrderDenied,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from hftcore.node.strategy import Strategy

_BUY, _SELL = 0, 1
_CLOSING = (OrderCanceled, OrderDenied, OrderExpired, OrderRejected)


class Params(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    instrument_id: str
    quantity: int = 5
    max_position: int = 50
    half_spread_ticks: float = 0.5
    skew_ticks_per_lot: float = 0.05
    requote_ticks: int = 1

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError("quantity must be a positive number of lots")
        if self.max_position < self.quantity:
            raise ValueError("max_position must be at least quantity")
        if self.half_spread_ticks < 0 or self.skew_ticks_per_lot < 0:
            raise ValueError("half_spread_ticks and skew_ticks_per_lot must be >= 0")
        if self.requote_ticks < 1:
            raise ValueError("requote_ticks must be >= 1")


@dataclass(slots=True)
class _Quote:
    client_order_id: str
    price: int
    quantity: int
    filled: int = 0
    canceling: bool = False


class MarketMaker(Strategy):
    Params: ClassVar[type[msgspec.Struct]] = Params

    def on_start(self) -> None:
        self._quotes: dict[int, _Quote | None] = {_BUY: None, _SELL: None}
        self._closed_before_known: set[str] = set()
        self.subscribe_book(self.params.instrument_id)

    def on_stop(self) -> None:
        self.cancel_all(self.params.instrument_id)

    def on_book(self, instrument_id: str) -> None:
        book = self.cache.book(instrument_id)
        best_bid, best_ask = book.best_bid(), book.best_ask()
        if best_bid is None or best_ask is None:
            return
        params = self.params
        position = self.portfolio.net_quantity(instrument_id, self.strategy_id)
        targets = self.quote_prices(book, position)
        if targets is None:
            return
        bid = min(math.floor(targets[0]), best_ask[0] - 1)
        ask = max(math.ceil(targets[1]), best_bid[0] + 1)
        self._quote(_BUY, bid, min(params.quantity, params.max_position - position))
        self._quote(_SELL, ask, min(params.quantity, params.max_position + position))

    def quote_prices(self, book: Any, position: int) -> tuple[float, float] | None:
        """Target bid and ask in (fractional) ticks for ``position`` lots held; rounded away
        from the mid and kept off the opposite best price by :meth:`on_book`. Subclasses
        (``hftcore.agents.market_making``) price quotes differently."""
        micro = book.microprice()
        if micro is None:
            return None
        params = self.params
        reservation = micro - params.skew_ticks_per_lot * position
        return reservation - params.half_spread_ticks, reservation + params.half_spread_ticks

    def _quote(self, side: int, price: int, quantity: int) -> None:
        working = self._quotes[side]
        if working is not None:
            stale = abs(working.price - price) >= self.params.requote_ticks or quantity <= 0
            if stale and not working.canceling:
                working.canceling = True
                self.cancel_order(working.client_order_id)
            return
        if quantity <= 0 or price <= 0:
            return
        instrument_id = self.params.instrument_id
        client_order_id = self.submit_order(self.limit(instrument_id, side, quantity, price))
        if client_order_id in self._closed_before_known:
            self._closed_before_known.discard(client_order_id)
        else:
            self._quotes[side] = _Quote(client_order_id, price, quantity)

    def on_order_event(self, event: OrderEvent) -> None:
        if not isinstance(event, (OrderFilled, *_CLOSING)):
            return
        for side, quote in self._quotes.items():
            if quote is not None and quote.client_order_id == event.client_order_id:
                if isinstance(event, OrderFilled):
                    quote.filled += event.last_quantity
                    if quote.filled < quote.quantity:
                        return
                self._quotes[side] = None
                return
        if isinstance(event, _CLOSING):
            # Denied or rejected while submit_order had not yet returned the id.
            self._closed_before_known.add(event.client_order_id)
