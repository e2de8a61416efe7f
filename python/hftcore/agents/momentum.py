"""Momentum agents.

* :class:`TimeSeriesMomentum`: long an instrument whose return over the last ``lookback``
  bars is positive, short when negative (Moskowitz, Ooi and Pedersen 2012, "Time series
  momentum", *Journal of Financial Economics* 104(2)), with a trend filter: the signal counts
  only when the close is on the same side of its ``trend_window`` simple moving average (the
  200-day rule of Faber 2007). Confidence is the lookback return in units of its standard
  deviation, capped at 1.
* :class:`CrossSectionalMomentum`: ranks the instruments by their return over ``lookback``
  bars ending ``skip`` bars ago (Jegadeesh and Titman 1993, "Returns to buying winners and
  selling losers", *Journal of Finance* 48(1): 12-1 months, the last month skipped), long the
  top ``quantile``, short the bottom one, rebalanced every ``rebalance_bars``; the trend filter
  keeps a winner only above its moving average and a loser only below it (absolute momentum,
  Antonacci 2014). Rankings happen once every instrument has its bar of the same time.
"""

from __future__ import annotations

import math

from hftcore.agents.base import AgentParams, BarAgent, Signal
from hftcore.model.data import Bar
from hftcore.signals.indicators import log_return, simple_moving_average, volatility


class TimeSeriesMomentumParams(AgentParams, frozen=True, kw_only=True):
    lookback: int = 126
    trend_window: int = 200
    vol_window: int = 60

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.lookback < 1 or self.trend_window < 2 or self.vol_window < 2:
            raise ValueError("need lookback >= 1, trend_window >= 2, vol_window >= 2")


class TimeSeriesMomentum(BarAgent):
    Params = TimeSeriesMomentumParams
    style = "trend"

    def history(self) -> int:
        p = self.params
        return int(max(p.lookback + 1, p.trend_window, p.vol_window + 1))

    def evaluate(self, bar: Bar) -> Signal | None:
        p = self.params
        closes = self.closes[bar.instrument_id]
        if len(closes) < self.history():
            return None
        momentum = log_return(closes, p.lookback)
        average = simple_moving_average(closes, p.trend_window)
        vol = volatility(closes, p.vol_window)
        if momentum is None or average is None:
            return None
        close = closes[-1]
        direction = 0.0
        if momentum > 0 and close > average:
            direction = 1.0
        elif momentum < 0 and close < average:
            direction = -1.0
        strength = abs(momentum) / (vol * math.sqrt(p.lookback)) if vol else 1.0
        reason = f"{p.lookback}-bar return {momentum:+.3f}, close {close:g} vs SMA {average:g}"
        return self.signal(bar, direction, strength, reason)


class CrossSectionalMomentumParams(AgentParams, frozen=True, kw_only=True):
    lookback: int = 252
    skip: int = 21
    quantile: float = 0.2
    rebalance_bars: int = 21
    trend_window: int = 200

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.instrument_ids) < 2:
            raise ValueError("cross-sectional momentum needs at least two instruments")
        if self.lookback < 1 or self.skip < 0 or self.rebalance_bars < 1 or self.trend_window < 2:
            raise ValueError(
                "need lookback >= 1, skip >= 0, rebalance_bars >= 1, trend_window >= 2"
            )
        if not 0.0 < self.quantile <= 0.5:
            raise ValueError("quantile must be in (0, 0.5]")


class CrossSectionalMomentum(BarAgent):
    Params = CrossSectionalMomentumParams
    style = "trend"

    def history(self) -> int:
        p = self.params
        return int(max(p.lookback + p.skip + 1, p.trend_window))

    def on_start(self) -> None:
        super().on_start()
        self._pending_ts: int | None = None
        self._arrived: set[str] = set()
        self._rankings = 0

    def evaluate(self, bar: Bar) -> Signal | None:
        if bar.ts_event != self._pending_ts:
            self._pending_ts, self._arrived = bar.ts_event, set()
        self._arrived.add(bar.instrument_id)
        if len(self._arrived) < len(self.params.instrument_ids):
            return None
        self._rank(bar)
        return None

    def _rank(self, bar: Bar) -> None:
        p = self.params
        if any(len(self.closes[i]) < self.history() for i in p.instrument_ids):
            return
        self._rankings += 1
        if (self._rankings - 1) % p.rebalance_bars:
            return
        scores = {
            i: log_return(self.closes[i], p.lookback, p.skip) or 0.0 for i in p.instrument_ids
        }
        ranked = sorted(p.instrument_ids, key=lambda i: scores[i])
        count = max(1, int(len(ranked) * p.quantile))
        losers, winners = set(ranked[:count]), set(ranked[-count:])
        for instrument_id in p.instrument_ids:
            closes = self.closes[instrument_id]
            average = simple_moving_average(closes, p.trend_window) or closes[-1]
            direction = 0.0
            if instrument_id in winners and closes[-1] > average:
                direction = 1.0
            elif instrument_id in losers and closes[-1] < average:
                direction = -1.0
            rank = ranked.index(instrument_id) + 1
            reason = f"rank {rank}/{len(ranked)}, return {scores[instrument_id]:+.3f}"
            self.publish(
                Signal(self.strategy_id, instrument_id, direction, 1.0, bar.ts_event, reason)
            )
