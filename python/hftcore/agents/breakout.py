"""Donchian channel breakout with ATR confirmation and a false-breakout filter.

The channel is the highest high and lowest low of the previous ``channel`` bars (Donchian
1960; the Turtle rules, Faith 2007: 55-bar entries, 20-bar exits, stops of 2 ATR). A long entry
needs the close above the channel's top by at least ``confirm_atr`` average true ranges
(Wilder 1978), a short one below its bottom by as much: small pokes through the range are not
breakouts. False-breakout filter: a position whose close falls back inside the broken level
within ``false_breakout_bars`` bars is closed, and that level is not traded again until the
price moves back out. Otherwise a long exits below the lowest low of the last ``exit_channel``
bars or ``stop_atr`` ATRs below its entry (shorts mirror).
"""

from __future__ import annotations

from dataclasses import dataclass

from hftcore.agents.base import AgentParams, BarAgent, Signal
from hftcore.model.data import Bar
from hftcore.signals.indicators import average_true_range, donchian_channel


class BreakoutParams(AgentParams, frozen=True, kw_only=True):
    channel: int = 55
    exit_channel: int = 20
    atr_window: int = 20
    confirm_atr: float = 0.25
    false_breakout_bars: int = 3
    stop_atr: float = 2.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.channel < 2 or self.exit_channel < 2 or self.atr_window < 2:
            raise ValueError("channel, exit_channel and atr_window must be >= 2")
        if self.confirm_atr < 0 or self.stop_atr <= 0 or self.false_breakout_bars < 0:
            raise ValueError("need confirm_atr >= 0, stop_atr > 0, false_breakout_bars >= 0")


@dataclass(slots=True)
class _Position:
    direction: float = 0.0
    level: float = 0.0
    entry: float = 0.0
    atr: float = 0.0
    bars: int = 0
    failed_level: float | None = None


class Breakout(BarAgent):
    Params = BreakoutParams
    style = "trend"

    def history(self) -> int:
        p = self.params
        return int(max(p.channel, p.exit_channel, p.atr_window)) + 1

    def on_start(self) -> None:
        super().on_start()
        self._state = {i: _Position() for i in self.params.instrument_ids}

    def evaluate(self, bar: Bar) -> Signal | None:
        p = self.params
        i = bar.instrument_id
        highs, lows, closes = self.highs[i], self.lows[i], self.closes[i]
        if len(closes) < self.history():
            return None
        entry_channel = donchian_channel(highs, lows, p.channel)
        exit_channel = donchian_channel(highs, lows, p.exit_channel)
        atr = average_true_range(highs, lows, closes, p.atr_window)
        if entry_channel is None or exit_channel is None or atr is None:
            return None
        top, bottom = entry_channel
        close, state = closes[-1], self._state[i]
        reason = self._step(
            state, close=close, top=top, bottom=bottom, exit_channel=exit_channel, atr=atr
        )
        return self.signal(bar, state.direction, min(1.0, state.bars / 10 + 0.5), reason)

    def _step(
        self,
        state: _Position,
        *,
        close: float,
        top: float,
        bottom: float,
        exit_channel: tuple[float, float],
        atr: float,
    ) -> str:
        p = self.params
        if state.failed_level is not None and bottom <= close <= top:
            state.failed_level = None
        if state.direction == 0.0:
            margin = p.confirm_atr * atr
            if close > top + margin and state.failed_level != top:
                state.direction, state.level = 1.0, top
            elif close < bottom - margin and state.failed_level != bottom:
                state.direction, state.level = -1.0, bottom
            else:
                return f"inside channel [{bottom:g}, {top:g}]"
            state.entry, state.atr, state.bars = close, atr, 0
            return f"breakout {'up' if state.direction > 0 else 'down'} through {state.level:g}"
        state.bars += 1
        sign = state.direction
        back_inside = (close - state.level) * sign < 0
        if back_inside and state.bars <= p.false_breakout_bars:
            state.failed_level, state.direction = state.level, 0.0
            return f"false breakout: back through {state.level:g} after {state.bars} bars"
        exit_level = exit_channel[1] if sign > 0 else exit_channel[0]
        stop = state.entry - sign * p.stop_atr * state.atr
        if (close - exit_level) * sign < 0 or (close - stop) * sign < 0:
            state.direction = 0.0
            return f"exit: close {close:g} past exit channel {exit_level:g} or stop {stop:g}"
        return f"holding since {state.entry:g}"
