"""Avellaneda-Stoikov market making on the L2 book.

Avellaneda and Stoikov (2008, "High-frequency trading in a limit order book", *Quantitative
Finance* 8(3)): a market maker with inventory ``q``, risk aversion ``gamma`` and mid-price
variance ``sigma^2`` per unit time, facing market orders whose arrival intensity decays as
``A exp(-k delta)`` with the distance ``delta`` from the mid, quotes around the reservation
price

    r = s - q gamma sigma^2 tau

with a total spread

    delta_a + delta_b = gamma sigma^2 tau + (2 / gamma) ln(1 + gamma / k),

``tau`` being the time left. Here ``tau`` is a constant rolling horizon ``horizon_s`` (the
stationary reading of Gueant, Lehalle and Fernandez-Tapia 2013), ``s`` the microprice, prices
in ticks, ``q`` in lots, ``gamma`` per tick-lot and ``sigma^2`` the exponentially weighted
variance of microprice changes per second (half-life ``vol_half_life_s``): the spread widens as
volatility rises (vol-scaled spread), and the quotes shift against inventory (inventory skew).

Orders, inventory limits and quote refresh are the bundled market maker's
(:mod:`hftcore.strategies.market_maker`): one order per side, sized so the inventory never
exceeds ``max_position`` whatever the fills, a quote ``requote_ticks`` from its target canceled
and replaced on a later book change.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec

from hftcore.agents.base import Agent
from hftcore.strategies.market_maker import MarketMaker

NS_PER_SECOND = 1e9


class AvellanedaStoikovParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    instrument_id: str
    quantity: int = 5
    max_position: int = 50
    gamma: float = 0.01
    """Risk aversion per tick-lot."""
    k: float = 3.0
    """Decay of order arrival intensity per tick of distance from the mid."""
    horizon_s: float = 60.0
    vol_half_life_s: float = 30.0
    initial_variance: float = 0.05
    """Ticks^2 per second before the estimate has data."""
    min_half_spread_ticks: float = 0.5
    requote_ticks: int = 1

    def __post_init__(self) -> None:
        if self.quantity <= 0 or self.max_position < self.quantity:
            raise ValueError("need quantity > 0 and max_position >= quantity")
        for name in ("gamma", "k", "horizon_s", "vol_half_life_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be positive")
        if self.initial_variance < 0 or self.min_half_spread_ticks < 0:
            raise ValueError("initial_variance and min_half_spread_ticks must be >= 0")
        if self.requote_ticks < 1:
            raise ValueError("requote_ticks must be >= 1")


class AvellanedaStoikov(MarketMaker, Agent):
    """Avellaneda-Stoikov quotes (module docs) with the bundled market maker's order handling."""

    Params = AvellanedaStoikovParams
    style = "market_making"

    def on_start(self) -> None:
        super().on_start()
        self.variance = self.params.initial_variance
        self._last: tuple[int, float] | None = None

    def on_book(self, instrument_id: str) -> None:
        if not self.enabled:
            return
        super().on_book(instrument_id)

    def quote_prices(self, book: Any, position: int) -> tuple[float, float] | None:
        micro = book.microprice()
        if micro is None:
            return None
        p = self.params
        now = self.clock.timestamp_ns()
        if self._last is not None and now > self._last[0]:
            elapsed = (now - self._last[0]) / NS_PER_SECOND
            weight = 1.0 - 0.5 ** (elapsed / p.vol_half_life_s)
            rate = (micro - self._last[1]) ** 2 / elapsed
            self.variance += weight * (rate - self.variance)
        self._last = (now, micro)
        risk = p.gamma * self.variance * p.horizon_s
        reservation = micro - position * risk
        half_spread = max(
            p.min_half_spread_ticks, (risk + (2.0 / p.gamma) * math.log1p(p.gamma / p.k)) / 2.0
        )
        return reservation - half_spread, reservation + half_spread
