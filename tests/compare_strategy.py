"""A strategy for the paper vs backtest comparison: its decision depends on the bar alone (no
state a restart would lose), so a restarted session decides as a backtest does."""

from __future__ import annotations

import msgspec
from hftcore.model.data import Bar
from hftcore.node.strategy import Strategy


class Params(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    instrument_id: str
    quantity: int = 1


class FollowTheBar(Strategy):
    """At each bar's close, a market order in the bar's direction: buy after an up bar, sell
    after a down bar."""

    Params = Params

    def on_start(self) -> None:
        self.subscribe_bars(self.params.instrument_id)

    def on_bar(self, bar: Bar) -> None:
        side = 0 if bar.close >= bar.open else 1
        self.submit_order(self.market(self.params.instrument_id, side, self.params.quantity))
