"""Mean reversion on z-scores with an Ornstein-Uhlenbeck half-life.

The half-life of reversion is estimated from the last ``estimation_window`` closes
(``dp_t = a + b p_{t-1} + e``, half-life ``-ln 2 / ln(1 + b)``: Uhlenbeck and Ornstein 1930;
Chan, *Algorithmic Trading*, 2013, ch. 2). Only a series that reverts within
``[min_half_life, max_half_life]`` bars is traded, over a z-score lookback of
``half_life_multiple`` half-lives. Entry when the close is ``entry_z`` standard deviations
from its mean (outside the Bollinger bands, Bollinger 2001): short above, long below; exit when
it comes back within ``exit_z``. Confidence grows with ``|z|``.
"""

from __future__ import annotations

from hftcore.agents.base import AgentParams, BarAgent, Signal
from hftcore.model.data import Bar
from hftcore.signals.indicators import ou_half_life, z_score


class MeanReversionParams(AgentParams, frozen=True, kw_only=True):
    estimation_window: int = 120
    entry_z: float = 2.0
    exit_z: float = 0.5
    min_half_life: float = 1.0
    max_half_life: float = 40.0
    half_life_multiple: float = 2.0
    min_lookback: int = 5

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 <= self.exit_z < self.entry_z:
            raise ValueError("need 0 <= exit_z < entry_z")
        if not 0 < self.min_half_life < self.max_half_life:
            raise ValueError("need 0 < min_half_life < max_half_life")
        if self.estimation_window < 10 or self.min_lookback < 2 or self.half_life_multiple <= 0:
            raise ValueError("need estimation_window >= 10, min_lookback >= 2, multiple > 0")


class MeanReversion(BarAgent):
    Params = MeanReversionParams
    style = "mean_reversion"

    def history(self) -> int:
        return int(self.params.estimation_window)

    def on_start(self) -> None:
        super().on_start()
        self._direction = dict.fromkeys(self.params.instrument_ids, 0.0)

    def evaluate(self, bar: Bar) -> Signal | None:
        p = self.params
        closes = self.closes[bar.instrument_id]
        if len(closes) < p.estimation_window:
            return None
        half_life = ou_half_life(closes, p.estimation_window)
        held = self._direction[bar.instrument_id]
        if half_life is None or not p.min_half_life <= half_life <= p.max_half_life:
            self._direction[bar.instrument_id] = 0.0
            return self.signal(bar, 0.0, 0.0, f"not mean reverting (half-life {half_life})")
        lookback = max(p.min_lookback, min(len(closes), round(p.half_life_multiple * half_life)))
        z = z_score(closes, lookback)
        if z is None:
            return None
        direction = held
        if abs(z) >= p.entry_z:
            direction = -1.0 if z > 0 else 1.0
        elif abs(z) <= p.exit_z or (held > 0 and z > 0) or (held < 0 and z < 0):
            direction = 0.0
        self._direction[bar.instrument_id] = direction
        reason = f"z {z:+.2f} over {lookback} bars, half-life {half_life:.1f}"
        return self.signal(bar, direction, abs(z) / (2 * p.entry_z), reason)
