"""A hierarchical meta-agent: weights or selects specialist agents by market regime, and
records why.

On every bar the meta-agent classifies the instrument's regime
(:class:`~hftcore.signals.regime.RegimeDetector`: volatility regime, trend t-statistic, Hurst
exponent) and prefers a style of specialist:

* a trend (``|t| >= trend_t``) or a persistent series (Hurst ``>= hurst_trend``): ``trend``
  agents (momentum, breakout);
* an anti-persistent series without trend (Hurst ``<= hurst_mean_reversion``):
  ``mean_reversion`` agents;
* otherwise no preference.

``mode = "select"`` gives the preferred agents equal weights and the others none;
``"tilt"`` gives the preferred ones ``tilt`` of the weight and the rest the remainder (no
preference: equal weights). A high-volatility regime scales the combined direction by
``high_volatility_scale`` (volatility-managed exposure, Moreira and Muir 2017, "Volatility-managed
portfolios", *Journal of Finance* 72(4)). The weighted mean of the members' directions is the
meta-agent's signal; each decision is kept in :attr:`RegimeMetaAgent.decisions` (and logged at
DEBUG) with the regime's numbers and the reason.

Background: Lo (2004), the adaptive markets hypothesis (strategies work in some regimes and
not others); Mandelbrot and Wallis (1969) on the Hurst exponent of financial series.
"""

from __future__ import annotations

from collections import deque
from typing import Literal

import msgspec

from hftcore.agents.base import Signal
from hftcore.agents.ensemble import CompositeAgent, CompositeParams
from hftcore.model.data import Bar
from hftcore.signals.regime import Regime, RegimeDetector


class MetaParams(CompositeParams, frozen=True, kw_only=True):
    detector: RegimeDetector = msgspec.field(default_factory=RegimeDetector)
    mode: Literal["select", "tilt"] = "select"
    tilt: float = 0.8
    hurst_trend: float = 0.6
    hurst_mean_reversion: float = 0.4
    high_volatility_scale: float = 0.5
    decision_history: int = 100_000
    """Decisions kept in memory (oldest dropped first)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.hurst_mean_reversion < self.hurst_trend < 1:
            raise ValueError("need 0 < hurst_mean_reversion < hurst_trend < 1")
        if self.decision_history < 1:
            raise ValueError("decision_history must be >= 1")
        if not 0 < self.tilt <= 1 or not 0 <= self.high_volatility_scale <= 1:
            raise ValueError("tilt must be in (0, 1], high_volatility_scale in [0, 1]")


class MetaDecision(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Why the meta-agent weighted its specialists as it did for one bar."""

    ts: int
    instrument_id: str
    regime: Regime
    preferred_style: str | None
    weights: dict[str, float]
    scale: float
    direction: float
    reason: str


class RegimeMetaAgent(CompositeAgent):
    Params = MetaParams

    def on_start(self) -> None:
        super().on_start()
        self.decisions: deque[MetaDecision] = deque(maxlen=self.params.decision_history)
        self._closes = {
            i: deque[float](maxlen=self.params.detector.history) for i in self.params.instrument_ids
        }

    def on_bar(self, bar: Bar) -> None:
        if self.enabled:
            instrument = self.cache.instrument(bar.instrument_id)
            self._closes[bar.instrument_id].append(instrument.ticks_to_float(bar.close))
        super().on_bar(bar)

    def preferred_style(self, regime: Regime) -> tuple[str | None, str]:
        p = self.params
        hurst = "n/a" if regime.hurst is None else f"{regime.hurst:.2f}"
        if regime.trend != "none":
            return "trend", f"trend {regime.trend} (t {regime.trend_t:+.2f})"
        if regime.hurst is not None and regime.hurst >= p.hurst_trend:
            return "trend", f"persistent (Hurst {hurst})"
        if regime.hurst is not None and regime.hurst <= p.hurst_mean_reversion:
            return "mean_reversion", f"anti-persistent (Hurst {hurst}), no trend"
        return None, f"no trend, Hurst {hurst}"

    def combine(self, instrument_id: str, signals: dict[str, Signal], ts: int) -> Signal | None:
        p = self.params
        regime = p.detector.classify(list(self._closes[instrument_id]))
        style, why = self.preferred_style(regime)
        preferred = [n for n, m in self.members.items() if style is not None and m.style == style]
        others = [n for n in self.members if n not in preferred]
        if not preferred:
            weights = dict.fromkeys(self.members, 1.0 / len(self.members))
            why += ": no preference, equal weights"
        elif p.mode == "select" or not others:
            weights = {n: (1.0 / len(preferred) if n in preferred else 0.0) for n in self.members}
            why += f": selected {', '.join(preferred)}"
        else:
            weights = {
                n: p.tilt / len(preferred) if n in preferred else (1 - p.tilt) / len(others)
                for n in self.members
            }
            why += f": tilted to {', '.join(preferred)}"
        scale = p.high_volatility_scale if regime.volatility == "high" else 1.0
        if scale != 1.0:
            why += f"; high volatility (ratio {regime.volatility_ratio:.2f}), exposure x{scale:g}"
        direction = scale * sum(weights[n] * s.direction for n, s in signals.items())
        decision = MetaDecision(ts, instrument_id, regime, style, weights, scale, direction, why)
        self.decisions.append(decision)
        self.log.debug("%s %s: %s", instrument_id, ts, why)
        return self._signal(instrument_id, direction, abs(direction), ts, why)
