"""Nodes and synthetic series for the agent tests."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import numpy as np
from hftcore.agents.base import AgentParams, BarAgent, Signal
from hftcore.agents.ensemble import Ensemble
from hftcore.model.data import Bar
from hftcore.node.backtest import bundled_bar_events
from hftcore.node.config import parse_config
from hftcore.node.kernel import TradingNode
from hftcore.venues.bars import BarVenue, BarVenueConfig
from hftcore.venues.commission import PercentCommission

DAY = 86_400_000_000_000
START = 1_600_000_000 * 1_000_000_000 // DAY * DAY


def bar_node(
    instrument_ids: Sequence[str],
    *,
    tick: str = "0.01",
    precision: int = 2,
    commission_rate: str = "0.0005",
    balance: str = "10000000",
) -> TradingNode:
    """A backtest node trading ``instrument_ids`` on a bar venue charging ``commission_rate``
    of notional per fill."""
    config = parse_config(
        {
            "node": {"starting_balances": {"USD": balance}},
            "instruments": [
                {
                    "instrument_id": instrument_id,
                    "tick_size": tick,
                    "price_precision": precision,
                    "lot_size": "1",
                    "size_precision": 0,
                }
                for instrument_id in instrument_ids
            ],
        },
        environ={},
    )
    node = TradingNode(config)
    listings = {node.cache.instrument(i): "USD" for i in instrument_ids}
    venue_config = BarVenueConfig(commission=PercentCommission(rate=Decimal(commission_rate)))
    node.add_venue("SIM", BarVenue("SIM", listings, venue_config))
    return node


def bars_from_closes(
    instrument_id: str, closes: Sequence[float] | np.ndarray, *, tick: float = 0.01
) -> list[Bar]:
    """Daily bars whose open is the previous close and whose range spans both (plus 0.2 %)."""
    bars = []
    previous = float(closes[0])
    for index, close in enumerate(closes):
        open_ = previous
        high = max(open_, float(close)) * 1.002
        low = min(open_, float(close)) * 0.998
        ticks = [round(value / tick) for value in (open_, high, low, float(close))]
        ts = START + (index + 1) * DAY
        bars.append(Bar(instrument_id, "1-DAY", *ticks, 1_000_000, ts, ts))
        previous = float(close)
    return bars


def random_walk(count: int, seed: int, drift: float = 0.0, vol: float = 0.01) -> np.ndarray:
    """Prices from 100 with i.i.d. normal log returns of mean ``drift`` and sd ``vol``."""
    rng = np.random.default_rng(seed)
    return np.asarray(100.0 * np.exp(np.cumsum(rng.normal(drift, vol, count))))


def ornstein_uhlenbeck(
    count: int, seed: int, half_life: float = 5.0, vol: float = 0.01
) -> np.ndarray:
    """Prices around 100 whose log deviation reverts with ``half_life`` bars."""
    rng = np.random.default_rng(seed)
    keep = 0.5 ** (1.0 / half_life)
    level = np.zeros(count)
    for index in range(1, count):
        level[index] = keep * level[index - 1] + rng.normal(0.0, vol)
    return np.asarray(100.0 * np.exp(level))


def spx_bars() -> tuple[str, list[Bar]]:
    instrument, bars = bundled_bar_events("sp500_index_daily_ohlcv")
    return instrument.instrument_id, bars


class FixedParams(AgentParams, frozen=True, kw_only=True):
    direction: float = 0.0
    confidence: float = 1.0


class FixedSignal(BarAgent):
    """Always the same view (for voting tests); ``style`` from the ``trend`` family."""

    Params = FixedParams
    style = "trend"

    def evaluate(self, bar: Bar) -> Signal | None:
        return self.signal(bar, self.params.direction, self.params.confidence, "fixed")


class RecordingEnsemble(Ensemble):
    """An ensemble that keeps every signal it publishes."""

    def on_start(self) -> None:
        super().on_start()
        self.published: list[Signal] = []

    def publish(self, signal: Signal) -> None:
        self.published.append(signal)
        super().publish(signal)
