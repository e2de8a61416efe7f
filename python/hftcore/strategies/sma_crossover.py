"""Moving-average crossover on daily bars: long when the fast average is above the slow one,
flat otherwise (classic trend following, e.g. Brock, Lakonishok and LeBaron 1992).

Trades a fixed notional per entry, rounded down to whole lots, with market orders (filled at the
next bar's open by the bar venue).
"""

from __future__ import annotations

from collections import deque

import msgspec

from hftcore.model.data import Bar
from hftcore.node.strategy import Strategy


class Params(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    instrument_ids: list[str]
    fast: int = 20
    slow: int = 100
    notional_per_entry: float = 100_000.0
    bar_type: str = "1-DAY"

    def __post_init__(self) -> None:
        if not 0 < self.fast < self.slow:
            raise ValueError(f"need 0 < fast < slow, got fast={self.fast} slow={self.slow}")
        if self.notional_per_entry <= 0:
            raise ValueError("notional_per_entry must be positive")


class SmaCrossover(Strategy):
    Params = Params

    def on_start(self) -> None:
        self.closes: dict[str, deque[int]] = {}
        for instrument_id in self.params.instrument_ids:
            self.closes[instrument_id] = deque(maxlen=self.params.slow)
            self.subscribe_bars(instrument_id, self.params.bar_type)

    def on_bar(self, bar: Bar) -> None:
        closes = self.closes[bar.instrument_id]
        closes.append(bar.close)
        if len(closes) < self.params.slow:
            return
        slow = sum(closes) / len(closes)
        fast = sum(list(closes)[-self.params.fast :]) / self.params.fast
        position = self.portfolio.net_quantity(bar.instrument_id, self.strategy_id)
        if fast > slow and position == 0:
            instrument = self.cache.instrument(bar.instrument_id)
            price = instrument.ticks_to_float(bar.close)
            lots = instrument.quantity_to_lots(
                max(1.0, self.params.notional_per_entry / price), "down"
            )
            self.submit_order(self.market(bar.instrument_id, 0, lots))
        elif fast < slow and position > 0:
            self.close_position(bar.instrument_id)
