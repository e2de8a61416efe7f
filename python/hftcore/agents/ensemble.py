"""Ensembles: many agents' signals, one target per instrument.

A :class:`CompositeAgent` hosts member agents (built from ``members``: an id, a class path and
params; instruments and bar type default to the host's). Members see the host's data and
publish signals to it, never orders. On every bar the host first scores each member's previous
view against the bar's return (its "shadow" return: direction held times the instrument's
return, before costs), then lets the members update, then combines their latest signals for
each instrument that changed into one signal of its own, which it trades (or hands to its own
host).

:class:`Ensemble` combines by ``vote``:

* ``majority``: each member one vote (its direction's sign); more than half for one side sets
  the direction, confidence is that share;
* ``weighted``: ``sum(w_i d_i)`` with the dynamic weights; confidence its absolute value;
* ``unanimity``: a side needs at least ``threshold`` of the members (1.0: all of them);
* ``consensus``: the confidence-weighted mean ``sum(w_i c_i d_i) / sum(w_i c_i)``, traded when
  the agreement ``|sum(w_i c_i sign d_i)| / sum(w_i c_i)`` reaches ``threshold``; the
  agreement is the signal's confidence.

Weights (``weighting``) start equal and follow the shadow returns:

* ``ew_sharpe``: proportional to the positive part of each member's exponentially weighted
  Sharpe ratio (half-life ``half_life_bars``), equal while all are at or below zero;
* ``multiplicative``: the Hedge rule of multiplicative weights (Littlestone and Warmuth 1994;
  Freund and Schapire 1997), ``w_i <- w_i exp(eta r_i)``, renormalised;
* ``equal``.

then are held within ``[floor, cap]`` (clipped and renormalised until both hold), so no member
is ever dropped or allowed to dominate completely.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import msgspec

from hftcore.agents.base import Agent, AgentParams, MemberContext, Signal
from hftcore.errors import ConfigError, InvalidValue
from hftcore.model.data import Bar
from hftcore.node.strategy import load_strategy_class


class MemberConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    agent_id: str
    path: str
    params: dict[str, Any] = msgspec.field(default_factory=dict)


class CompositeParams(AgentParams, frozen=True, kw_only=True):
    members: list[MemberConfig]
    weighting: Literal["equal", "ew_sharpe", "multiplicative"] = "ew_sharpe"
    half_life_bars: float = 63.0
    eta: float = 20.0
    floor: float = 0.05
    cap: float = 0.8

    def __post_init__(self) -> None:
        super().__post_init__()
        ids = [member.agent_id for member in self.members]
        if not ids or len(set(ids)) != len(ids):
            raise ValueError("members must be non-empty with distinct agent ids")
        if not 0 <= self.floor <= 1 / len(ids) <= self.cap <= 1:
            raise ValueError(f"need 0 <= floor <= 1/{len(ids)} <= cap <= 1")
        if self.half_life_bars <= 0 or self.eta <= 0:
            raise ValueError("half_life_bars and eta must be positive")


def bounded_weights(raw: dict[str, float], floor: float, cap: float) -> dict[str, float]:
    """``raw`` (non-negative) normalised to sum 1 with every weight in ``[floor, cap]``: weights
    outside are pinned to the bound and the rest share what is left, until all fit."""
    names = list(raw)
    if any(not math.isfinite(value) or value < 0 for value in raw.values()):
        raise InvalidValue("INVALID_WEIGHTS", f"weights must be finite and >= 0: {raw}")
    if not 0 <= floor * len(names) <= 1 <= cap * len(names):
        raise InvalidValue("INVALID_BOUNDS", f"floor {floor} and cap {cap} cannot sum to 1")
    pinned: dict[str, float] = {}
    while True:
        free = [name for name in names if name not in pinned]
        left = 1.0 - sum(pinned.values())
        if not free:
            # Every weight sits on a bound: the floored ones take up what is left.
            floored = [name for name, value in pinned.items() if value == floor]
            for name in floored:
                pinned[name] += left / len(floored)
            return pinned
        total = sum(raw[name] for name in free)
        share = {
            name: left * (raw[name] / total if total > 0 else 1.0 / len(free)) for name in free
        }
        above = {name for name, value in share.items() if value > cap}
        below = {name for name, value in share.items() if value < floor}
        if not above and not below:
            return {**pinned, **share}
        # Caps first: pinning them hands their excess to the rest, which may lift some of
        # them off the floor.
        for name in above or below:
            pinned[name] = cap if above else floor


class CompositeAgent(Agent):
    """Hosts member agents and combines their signals (see the module docs)."""

    Params: ClassVar[type[msgspec.Struct]] = CompositeParams
    fixed_while_running = (*Agent.fixed_while_running, "members", "bar_type")

    def __init__(self, strategy_id: str, params: msgspec.Struct | dict[str, Any] | None = None):
        super().__init__(strategy_id, params)
        self.members: dict[str, Agent] = {}
        for member in self.params.members:
            self.members[member.agent_id] = self._build_member(member)
        self._performance = {name: _Performance() for name in self.members}
        self._log_weights = dict.fromkeys(self.members, 0.0)
        self._held: dict[tuple[str, str], float] = {}
        self._last_close: dict[str, float] = {}
        self._touched: set[str] = set()

    def _build_member(self, member: MemberConfig) -> Agent:
        cls = load_strategy_class(member.path)
        if not issubclass(cls, Agent):
            raise ConfigError("INVALID_MEMBER", f"member {member.agent_id}: {cls} is not an Agent")
        params = {
            "instrument_ids": list(self.params.instrument_ids),
            "bar_type": self.params.bar_type,
            **member.params,
        }
        agent = cls(member.agent_id, params)
        if getattr(agent.params, "bar_type", self.params.bar_type) != self.params.bar_type:
            raise ConfigError("INVALID_MEMBER", f"member {member.agent_id} uses other bars")
        if not set(getattr(agent.params, "instrument_ids", [])) <= set(self.params.instrument_ids):
            raise ConfigError(
                "INVALID_MEMBER", f"member {member.agent_id} trades other instruments"
            )
        return agent

    def on_start(self) -> None:
        for member in self.members.values():
            if member._context is None:
                member.bind(MemberContext(self))
                member.attach(self._on_member_signal)
            member.on_start()
        for instrument_id in self.params.instrument_ids:
            self.subscribe_bars(instrument_id, self.params.bar_type)

    def on_stop(self) -> None:
        for member in self.members.values():
            member.on_stop()

    def _on_member_signal(self, signal: Signal) -> None:
        self._touched.add(signal.instrument_id)

    # -- performance ----------------------------------------------------------------------

    def _score(self, bar: Bar) -> None:
        close = self.cache.instrument(bar.instrument_id).ticks_to_float(bar.close)
        previous = self._last_close.get(bar.instrument_id)
        self._last_close[bar.instrument_id] = close
        if previous is None:
            return
        change = close / previous - 1.0
        alpha = 1.0 - 0.5 ** (1.0 / self.params.half_life_bars)
        for name, member in self.members.items():
            held = self._held.get((name, bar.instrument_id), 0.0) if member.enabled else 0.0
            shadow = held * change
            self._performance[name].update(shadow, alpha)
            self._log_weights[name] += self.params.eta * shadow

    def weights(self) -> dict[str, float]:
        """The members' current weights (they sum to 1), shared by all instruments: a member's
        record pools its shadow returns over every instrument bar."""
        p = self.params
        if p.weighting == "ew_sharpe":
            raw = {name: max(0.0, perf.sharpe) for name, perf in self._performance.items()}
        elif p.weighting == "multiplicative":
            top = max(self._log_weights.values())
            raw = {name: math.exp(value - top) for name, value in self._log_weights.items()}
        else:
            raw = dict.fromkeys(self.members, 1.0)
        return bounded_weights(raw, p.floor, p.cap)

    def sharpe(self, agent_id: str) -> float:
        """A member's exponentially weighted Sharpe ratio of shadow returns (per bar)."""
        return self._performance[agent_id].sharpe

    # -- events ---------------------------------------------------------------------------

    def on_bar(self, bar: Bar) -> None:
        if not self.enabled:
            return
        self._score(bar)
        for member in self.members.values():
            if member.enabled:
                member.on_bar(bar)
        touched, self._touched = self._touched, set()
        touched.add(bar.instrument_id)
        for instrument_id in sorted(touched):
            signals = {
                name: member.signals[instrument_id]
                for name, member in self.members.items()
                if member.enabled and instrument_id in member.signals
            }
            for name, signal in signals.items():
                self._held[(name, instrument_id)] = signal.direction
            if signals:
                combined = self.combine(instrument_id, signals, bar.ts_event)
                if combined is not None:
                    self.publish(combined)

    def combine(self, instrument_id: str, signals: dict[str, Signal], ts: int) -> Signal | None:
        """One signal out of the members' latest ones (weighted mean by default)."""
        weights = self.weights()
        direction = sum(weights[name] * signal.direction for name, signal in signals.items())
        return self._signal(instrument_id, direction, abs(direction), ts, "weighted mean")

    def _signal(
        self, instrument_id: str, direction: float, confidence: float, ts: int, reason: str
    ) -> Signal:
        return Signal(
            self.strategy_id,
            instrument_id,
            max(-1.0, min(1.0, direction)),
            max(0.0, min(1.0, confidence)),
            ts,
            reason,
        )


class _Performance:
    """Exponentially weighted mean and variance of one member's shadow returns."""

    __slots__ = ("mean", "observations", "variance")

    def __init__(self) -> None:
        self.mean = 0.0
        self.variance = 0.0
        self.observations = 0

    def update(self, value: float, alpha: float) -> None:
        self.observations += 1
        delta = value - self.mean
        self.mean += alpha * delta
        self.variance = (1.0 - alpha) * (self.variance + alpha * delta * delta)

    @property
    def sharpe(self) -> float:
        if self.observations < 2 or self.variance <= 0:
            return 0.0
        return self.mean / math.sqrt(self.variance)


class EnsembleParams(CompositeParams, frozen=True, kw_only=True):
    vote: Literal["majority", "weighted", "unanimity", "consensus"] = "weighted"
    threshold: float = 1.0
    """``unanimity``: share of members that must agree; ``consensus``: minimum agreement."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.threshold <= 1:
            raise ValueError("threshold must be in (0, 1]")


class Ensemble(CompositeAgent):
    """Votes or weighs the members' signals into one per instrument (module docs)."""

    Params = EnsembleParams

    def combine(self, instrument_id: str, signals: dict[str, Signal], ts: int) -> Signal | None:
        p = self.params
        count = len(self.members)
        longs = sum(1 for s in signals.values() if s.direction > 0)
        shorts = sum(1 for s in signals.values() if s.direction < 0)
        if p.vote == "majority":
            side = 1.0 if longs > count / 2 else -1.0 if shorts > count / 2 else 0.0
            share = max(longs, shorts) / count
            return self._signal(instrument_id, side, share, ts, f"majority {longs}L/{shorts}S")
        if p.vote == "unanimity":
            share = max(longs, shorts) / count
            side = (1.0 if longs > shorts else -1.0) if share >= p.threshold else 0.0
            return self._signal(instrument_id, side, share, ts, f"agreement {share:.2f}")
        if p.vote == "consensus":
            weights = self.weights()
            mass = sum(weights[n] * s.confidence for n, s in signals.items())
            if mass == 0:
                return self._signal(instrument_id, 0.0, 0.0, ts, "no confident member")
            mean = sum(weights[n] * s.confidence * s.direction for n, s in signals.items()) / mass
            agreement = (
                abs(sum(weights[n] * s.confidence * _sign(s.direction) for n, s in signals.items()))
                / mass
            )
            direction = mean if agreement >= p.threshold else 0.0
            return self._signal(
                instrument_id, direction, agreement, ts, f"consensus {agreement:.2f}"
            )
        return super().combine(instrument_id, signals, ts)


def _sign(value: float) -> float:
    return 1.0 if value > 0 else -1.0 if value < 0 else 0.0
