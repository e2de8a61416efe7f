"""The agent base classes: a view per instrument (``Signal``), turned into a target position.

An :class:`Agent` is a :class:`~hftcore.node.strategy.Strategy`. It publishes a
:class:`Signal` per instrument (a direction in ``[-1, 1]``: the fraction of its capital per
instrument it wants long, or short; a confidence in ``[0, 1]``; a reason). Standing alone it
trades the signal: the :class:`TargetPosition` is ``direction * equity / n_instruments``
worth of lots at the last price (equity: its capital plus its own P&L net of commissions),
reached with a market order for the difference (skipped when the difference is under
``rebalance_band`` of the target, to save turnover). Hosted by an ensemble or meta-agent,
its signals go to the host instead and it never orders.

At run time an agent can be reconfigured (:meth:`Agent.reconfigure`, validated by its
``Params``), disabled (it goes flat and ignores data) and given a capital budget
(:meth:`Agent.set_capital`); the registry and the allocator use these, and they take effect
from the agent's next event.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn

import msgspec

from hftcore.errors import ConfigError, InvalidValue
from hftcore.model.data import Bar
from hftcore.model.events import (
    OrderCanceled,
    OrderDenied,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSpec,
)
from hftcore.node.clock import Clock
from hftcore.node.strategy import Strategy, StrategyError

MONEY_UNITS = 10**12
"""Money units (1e-12) per unit of currency."""
_CLOSING = (OrderCanceled, OrderDenied, OrderExpired, OrderRejected)


class Signal(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An agent's view of one instrument at ``ts``: ``direction`` in ``[-1, 1]`` (fraction of
    its per-instrument capital to hold, negative short), ``confidence`` in ``[0, 1]``."""

    agent_id: str
    instrument_id: str
    direction: float
    confidence: float
    ts: int
    reason: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.direction) and -1.0 <= self.direction <= 1.0):
            raise InvalidValue("INVALID_SIGNAL", f"direction {self.direction!r} not in [-1, 1]")
        if not (math.isfinite(self.confidence) and 0.0 <= self.confidence <= 1.0):
            raise InvalidValue("INVALID_SIGNAL", f"confidence {self.confidence!r} not in [0, 1]")


class TargetPosition(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The position (signed lots) a strategy wants in an instrument from ``ts`` on."""

    strategy_id: str
    instrument_id: str
    quantity: int
    ts: int
    reason: str = ""


class AgentParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Parameters every bar agent has; subclasses add their method's."""

    instrument_ids: list[str]
    capital: float = 100_000.0
    """Money the agent trades, split equally over its instruments (an allocator may change it)."""
    bar_type: str = "1-DAY"
    long_only: bool = False
    rebalance_band: float = 0.2
    """A target is traded only when it differs from the position by more than this share of it."""

    def __post_init__(self) -> None:
        if not self.instrument_ids or len(set(self.instrument_ids)) != len(self.instrument_ids):
            raise ValueError("instrument_ids must be non-empty and distinct")
        if not (math.isfinite(self.capital) and self.capital > 0):
            raise ValueError("capital must be positive")
        if not 0.0 <= self.rebalance_band < 1.0:
            raise ValueError("rebalance_band must be in [0, 1)")


SignalListener = Callable[[Signal], None]


@dataclass(slots=True)
class _InFlight:
    instrument_id: str
    remaining: int
    """Signed lots not yet filled."""


class Agent(Strategy):
    """Base of every agent (see the module docs). Subclasses call :meth:`publish`."""

    fixed_while_running: ClassVar[tuple[str, ...]] = ("instrument_ids", "instrument_id")
    """Parameters :meth:`reconfigure` refuses to change once the agent is on a node."""
    style: ClassVar[str] = "other"
    """What the agent exploits: ``trend``, ``mean_reversion``, ``market_making``, ``sentiment``
    (the meta-agent selects by it)."""

    def __init__(self, strategy_id: str, params: msgspec.Struct | dict[str, Any] | None = None):
        super().__init__(strategy_id, params)
        self.enabled = True
        self.capital: float = float(getattr(self.params, "capital", 0.0))
        self._pnl_at_capital = 0.0
        self.signals: dict[str, Signal] = {}
        self.targets: dict[str, TargetPosition] = {}
        self._listener: SignalListener | None = None
        self._in_flight: dict[str, _InFlight] = {}
        self._submitting = False
        self._closed_early: set[str] = set()
        """Orders closed (denied) while ``submit_order`` had not yet returned their id."""

    # -- run-time control (registry, allocator) -------------------------------------------

    def reconfigure(self, params: msgspec.Struct | dict[str, Any]) -> None:
        """Replaces the parameters (validated; a bad value raises ``ConfigError`` and changes
        nothing). Instruments cannot change while the agent is on a node."""
        new = self._validate_params(params)
        old = self.params
        if self._context is not None:
            for name in self.fixed_while_running:
                if getattr(new, name, None) != getattr(old, name, None):
                    raise ConfigError("IMMUTABLE_PARAM", f"{name} cannot change on a running agent")
        self.params = new
        if getattr(old, "capital", None) != getattr(new, "capital", None):
            self.set_capital(float(getattr(new, "capital", self.capital)))
        self.on_params_changed(old)

    def on_params_changed(self, old: Any) -> None:
        """Called after :meth:`reconfigure` (drop state that depended on old values)."""

    def set_enabled(self, enabled: bool) -> None:
        """A disabled agent ignores data and, if it trades, goes flat."""
        self.enabled = enabled
        if not enabled and self._context is not None and self._listener is None:
            for instrument_id in _instruments(self.params):
                self.cancel_all(instrument_id)
                self.close_position(instrument_id)
            self._in_flight.clear()

    def set_capital(self, capital: float) -> None:
        """The money the agent trades from now on (its P&L counts from here)."""
        if not (math.isfinite(capital) and capital >= 0):
            raise InvalidValue("INVALID_CAPITAL", f"capital must be >= 0, got {capital!r}")
        self.capital = float(capital)
        self._pnl_at_capital = self.pnl() if self._context is not None else 0.0

    def attach(self, listener: SignalListener | None) -> None:
        """Sends signals to ``listener`` (an ensemble) instead of trading them."""
        self._listener = listener

    # -- signals to orders ----------------------------------------------------------------

    def publish(self, signal: Signal) -> None:
        if getattr(self.params, "long_only", False) and signal.direction < 0:
            signal = msgspec.structs.replace(signal, direction=0.0)
        self.signals[signal.instrument_id] = signal
        if self._listener is not None:
            self._listener(signal)
            return
        self.trade_to(self.target_for(signal.instrument_id, signal.direction, signal.reason))

    def pnl(self) -> float:
        """This agent's P&L net of commissions so far, in the quote currency."""
        total = 0
        for instrument_id in _instruments(self.params):
            position = self.portfolio.position(self.strategy_id, instrument_id)
            if position is not None:
                total += position.realized_pnl + position.unrealized_pnl
                total -= sum(position.commissions.values())
        return total / MONEY_UNITS

    def equity(self) -> float:
        """Capital plus the P&L made since it was set: sizing follows it, so losses shrink
        positions instead of raising leverage."""
        return self.capital + self.pnl() - self._pnl_at_capital

    def target_for(self, instrument_id: str, direction: float, reason: str = "") -> TargetPosition:
        """``direction`` of this agent's capital per instrument, in lots at the last price."""
        instrument = self.cache.instrument(instrument_id)
        price = self.cache.last_price(instrument_id)
        lots = 0
        if price is not None and direction != 0.0:
            per_instrument = max(0.0, self.equity()) / len(_instruments(self.params))
            units = direction * per_instrument / instrument.ticks_to_float(price)
            whole = math.floor(abs(units) / instrument.lots_to_float(1) + 1e-9)
            lots = whole if units > 0 else -whole
        return TargetPosition(
            self.strategy_id, instrument_id, lots, self.clock.timestamp_ns(), reason
        )

    def trade_to(self, target: TargetPosition) -> str | None:
        """Sends a market order for the difference between ``target`` and the position plus
        orders in flight; None when nothing is sent."""
        instrument_id = target.instrument_id
        self.targets[instrument_id] = target
        held = self.portfolio.net_quantity(instrument_id, self.strategy_id)
        held += sum(
            f.remaining for f in self._in_flight.values() if f.instrument_id == instrument_id
        )
        difference = target.quantity - held
        if difference == 0:
            return None
        if target.quantity != 0 and abs(difference) <= self.params.rebalance_band * abs(
            target.quantity
        ):
            return None
        side = 0 if difference > 0 else 1
        self._submitting = True
        try:
            client_order_id = self.submit_order(self.market(instrument_id, side, abs(difference)))
        finally:
            self._submitting = False
        if client_order_id in self._closed_early:
            self._closed_early.discard(client_order_id)
        else:
            self._in_flight[client_order_id] = _InFlight(instrument_id, difference)
        return client_order_id

    def on_order_event(self, event: OrderEvent) -> None:
        flight = self._in_flight.get(event.client_order_id)
        if flight is None:
            if self._submitting and isinstance(event, _CLOSING):
                self._closed_early.add(event.client_order_id)
            return
        if isinstance(event, OrderFilled):
            signed = event.last_quantity if event.side == 0 else -event.last_quantity
            flight.remaining -= signed
            if flight.remaining == 0:
                del self._in_flight[event.client_order_id]
        elif isinstance(event, _CLOSING):
            del self._in_flight[event.client_order_id]


def _instruments(params: Any) -> list[str]:
    if hasattr(params, "instrument_ids"):
        return list(params.instrument_ids)
    return [params.instrument_id]


class BarAgent(Agent, ABC):
    """An agent on bars: keeps each instrument's recent highs, lows and closes (in price
    units) and calls :meth:`evaluate` on every bar; a returned signal is published."""

    Params: ClassVar[type[msgspec.Struct]] = AgentParams

    def history(self) -> int:
        """Bars to keep per instrument."""
        return 2

    def on_start(self) -> None:
        self.highs: dict[str, deque[float]] = {}
        self.lows: dict[str, deque[float]] = {}
        self.closes: dict[str, deque[float]] = {}
        self._reset_history()
        for instrument_id in self.params.instrument_ids:
            self.subscribe_bars(instrument_id, self.params.bar_type)

    def _reset_history(self) -> None:
        keep = self.history()
        for instrument_id in self.params.instrument_ids:
            for store in (self.highs, self.lows, self.closes):
                previous = store.get(instrument_id, ())
                store[instrument_id] = deque(previous, maxlen=keep)

    def on_params_changed(self, old: Any) -> None:
        if hasattr(self, "closes"):
            self._reset_history()

    def on_bar(self, bar: Bar) -> None:
        if not self.enabled or bar.instrument_id not in self.closes:
            return
        instrument = self.cache.instrument(bar.instrument_id)
        self.highs[bar.instrument_id].append(instrument.ticks_to_float(bar.high))
        self.lows[bar.instrument_id].append(instrument.ticks_to_float(bar.low))
        self.closes[bar.instrument_id].append(instrument.ticks_to_float(bar.close))
        signal = self.evaluate(bar)
        if signal is not None:
            self.publish(signal)

    @abstractmethod
    def evaluate(self, bar: Bar) -> Signal | None:
        """The view after ``bar``; None to keep the previous one."""

    def signal(self, bar: Bar, direction: float, confidence: float, reason: str) -> Signal:
        return Signal(
            self.strategy_id,
            bar.instrument_id,
            max(-1.0, min(1.0, direction)),
            max(0.0, min(1.0, confidence)),
            bar.ts_event,
            reason,
        )


class MemberContext:
    """The node as a hosted member sees it: the host's clock, cache and portfolio; its data
    subscriptions are recorded for the host to serve; it may not order."""

    def __init__(self, host: Strategy) -> None:
        self._host = host
        self.subscriptions: list[tuple[str, str, str | None]] = []

    @property
    def clock(self) -> Clock:
        return self._host.clock

    @property
    def cache(self) -> Any:
        return self._host.cache

    @property
    def portfolio(self) -> Any:
        return self._host.portfolio

    def subscribe(
        self, strategy: Strategy, kind: str, instrument_id: str, bar_type: str | None = None
    ) -> None:
        self.subscriptions.append((kind, instrument_id, bar_type))

    def _refuse(self, strategy: Strategy) -> NoReturn:
        raise StrategyError(
            "SIGNAL_ONLY", f"{strategy.strategy_id} is hosted by {self._host.strategy_id}"
        )

    def submit(self, strategy: Strategy, order: OrderSpec) -> str:
        self._refuse(strategy)

    def modify(
        self,
        strategy: Strategy,
        client_order_id: str,
        quantity: int | None,
        price: int | None,
        trigger_price: int | None,
    ) -> None:
        self._refuse(strategy)

    def cancel(self, strategy: Strategy, client_order_id: str) -> None:
        self._refuse(strategy)

    def cancel_all(self, strategy: Strategy, instrument_id: str, side: int | None) -> None:
        self._refuse(strategy)

    def close_position(self, strategy: Strategy, instrument_id: str) -> str | None:
        self._refuse(strategy)
