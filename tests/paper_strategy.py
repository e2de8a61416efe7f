"""A strategy for the paper crash test: on a fast timer it places limit orders around the last
close, cancels the older ones and now and then sends a market order, so the log gets submits,
accepts, cancels and fills."""

from __future__ import annotations

import msgspec
from hftcore.model.data import Bar
from hftcore.model.events import OrderEvent
from hftcore.node.clock import TimeEvent
from hftcore.node.strategy import Strategy


class Params(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    instrument_id: str
    interval_ms: int = 40


class PlaceAndCancel(Strategy):
    Params = Params

    def __init__(self, strategy_id: str, params: dict[str, object] | None = None) -> None:
        super().__init__(strategy_id, params)
        # Events of the restart's reconciliation may arrive before on_start.
        self._close: int | None = None
        self._open: list[str] = []
        self._ticks = 0

    def on_start(self) -> None:
        self.subscribe_bars(self.params.instrument_id)
        self.set_timer("churn", self.params.interval_ms * 1_000_000)

    def on_bar(self, bar: Bar) -> None:
        self._close = bar.close

    def on_order_event(self, event: OrderEvent) -> None:
        if event.client_order_id in self._open and type(event).__name__ in (
            "OrderCanceled",
            "OrderFilled",
            "OrderDenied",
            "OrderRejected",
        ):
            self._open.remove(event.client_order_id)

    def on_timer(self, event: TimeEvent) -> None:
        if self._close is None:
            return
        self._ticks += 1
        instrument_id = self.params.instrument_id
        if len(self._open) >= 3:
            self.cancel_order(self._open.pop(0))
        side = self._ticks % 2
        if self._ticks % 5 == 0:
            self.submit_order(self.market(instrument_id, 0, 1))
            return
        offset = self._close // 200
        price = self._close - offset if side == 0 else self._close + offset
        self._open.append(self.submit_order(self.limit(instrument_id, side, 1, price)))
