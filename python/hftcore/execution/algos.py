"""Execution algorithms: strategies that work one parent order as child orders on the OMS.

Each algorithm is a :class:`~hftcore.node.strategy.Strategy`, so it runs unchanged in backtest,
paper and live, and every child passes the OMS and the risk gate. What they share
(:class:`ExecutionAlgorithm`):

* **Never over-fills.** A child is sized at most ``quantity - committed``, where ``committed``
  is the filled quantity plus the unfilled rest of every open child; a child counts until the
  venue confirms it closed (filled, canceled, expired, rejected), so late fills of a child being
  canceled cannot push the total past the parent.
* **Limit price.** No child is priced through ``limit_price``: a buy never above it, a sell
  never below it.
* **Parent cancel** (:meth:`ExecutionAlgorithm.cancel`, or the node stopping) cancels every open
  child; the status becomes ``CANCELED`` once they are all closed.
* **Child rejects** close the child and free its quantity; ``max_rejects`` rejects (or denials)
  in a row with no accept or fill between them stop the algorithm as ``FAILED``.
* **Implementation shortfall** against the arrival price (the touch's mid when the algorithm
  starts, else the last price; else the first price seen after), fees included
  (:mod:`hftcore.execution.shortfall`).

The scheduled algorithms (TWAP, VWAP, POV) decide at ``start + k * interval``. At decision ``k``
the schedule says how much should be done (``target``). The **passive/aggressive rule**:

1. Quantity that the *previous* decision scheduled and that is still not filled is behind
   schedule: the resting passive children are canceled and, once their cancels are confirmed,
   that quantity is sent once as an IOC limit at the far touch (the best ask for a buy), if the
   far touch is within the limit price; otherwise it stays passive.
2. The rest of the target is posted passively, a GTC limit joining the near touch (the best bid
   for a buy), never through the limit price. A resting child at another price is canceled and
   re-posted at the touch.
3. At the end time (TWAP and VWAP) everything left is sent as an IOC at the far touch; what does
   not fill then is left unfilled (status ``EXPIRED``). POV never sweeps: at its end time only
   what fell behind crosses (rule 1), then it stops as ``EXPIRED``.

So each scheduled lot waits one decision interval at the touch and crosses the spread only when
it fell behind or the deadline came. The iceberg shows one child of at most ``display_quantity``
at its limit price and sends the next slice when that child is done.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Any, ClassVar, Literal

import msgspec

from hftcore.execution.schedule import (
    even_schedule,
    exact_rate,
    participation_target,
    profile_schedule,
)
from hftcore.execution.shortfall import ShortfallReport, implementation_shortfall
from hftcore.model.data import Quote, Trade
from hftcore.model.enums import Side
from hftcore.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderDenied,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from hftcore.model.orders import TimeInForce
from hftcore.node.clock import TimeEvent
from hftcore.node.strategy import Strategy

logger = logging.getLogger(__name__)


class AlgoStatus(StrEnum):
    PENDING = "PENDING"
    """Waiting for its start time."""
    RUNNING = "RUNNING"
    STOPPING = "STOPPING"
    """Finished deciding; waiting for open children to close."""
    COMPLETED = "COMPLETED"
    """The parent quantity is filled."""
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    """The end time came with a part unfilled."""
    FAILED = "FAILED"
    """``max_rejects`` child rejects in a row."""


_TERMINAL = frozenset(
    {AlgoStatus.COMPLETED, AlgoStatus.CANCELED, AlgoStatus.EXPIRED, AlgoStatus.FAILED}
)


def require_param(condition: bool, message: str) -> None:
    """Parameter checks in ``__post_init__``: msgspec turns the ValueError into a validation
    error, which the strategy reports as ``ConfigError`` ``INVALID_PARAMS`` with this text."""
    if not condition:
        raise ValueError(message)


class ParentParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The parent order every algorithm works: prices in ticks, quantities in lots, times in
    ns."""

    side: Literal["BUY", "SELL"]
    quantity: int
    limit_price: int | None = None
    start_ns: int | None = None
    """None: when the strategy starts."""
    max_rejects: int = 3
    clocking: Literal["timer", "data"] = "timer"
    """``timer``: start and decide on clock timers, and act on order events at once.
    ``data``: start, decide and act on order events only at the first quote or book update at
    or after they are due; for L2 backtests (``run_book`` lets strategies send orders from
    ``on_book`` only: its venue runs ahead of timers, prints and order events) and venues whose
    quotes are dense enough."""

    def __post_init__(self) -> None:
        require_param(self.quantity > 0, f"quantity must be > 0 lots, got {self.quantity}")
        require_param(
            self.limit_price is None or self.limit_price > 0,
            f"limit_price must be > 0 ticks, got {self.limit_price}",
        )
        require_param(
            self.start_ns is None or self.start_ns >= 0,
            f"start_ns must be >= 0, got {self.start_ns}",
        )
        require_param(self.max_rejects > 0, f"max_rejects must be > 0, got {self.max_rejects}")


class AlgoParams(ParentParams, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A parent order on one instrument."""

    instrument_id: str


@dataclass(slots=True)
class ChildOrder:
    """One child order as the algorithm tracks it from its events."""

    client_order_id: str
    instrument_id: str
    price: int
    quantity: int
    aggressive: bool
    ts_sent: int
    filled: int = 0
    closed: bool = False
    canceling: bool = False

    @property
    def leaves(self) -> int:
        return 0 if self.closed else self.quantity - self.filled


@dataclass(frozen=True, slots=True)
class AlgoReport:
    """Where a parent order stands: quantities in lots, the shortfall once an arrival price is
    known."""

    status: AlgoStatus
    quantity: int
    filled_quantity: int
    passive_filled: int
    aggressive_filled: int
    children: int
    shortfall: ShortfallReport | None


class ExecutionAlgorithm(Strategy, ABC):
    """Base of the algorithms: child bookkeeping, limits, cancels, rejects and shortfall.

    Subclasses implement :meth:`_step` (send what the algorithm wants now) and may override
    :meth:`_on_begin` (the start time came) and :meth:`_on_print`. :meth:`react` runs
    ``_step`` whenever something changed; a venue answering inside a submit or cancel call
    makes the calls nest, so ``react`` runs ``_step`` again after the outer call instead of
    inside it, and every step sees settled state."""

    Params: ClassVar[type[msgspec.Struct]] = AlgoParams

    def __init__(self, strategy_id: str, params: msgspec.Struct | dict[str, Any] | None = None):
        super().__init__(strategy_id, params)
        self.side = Side[self.params.side]
        self.status = AlgoStatus.PENDING
        self.children: dict[str, ChildOrder] = {}
        self._open: dict[str, ChildOrder] = {}
        self.fills: list[OrderFilled] = []
        self.filled_quantity = 0
        self.arrival_price: Fraction | None = None
        self.start_ts: int | None = None
        self._ending: AlgoStatus | None = None
        self._rejects_in_row = 0
        self._early_events: dict[str, list[OrderEvent]] = {}
        self._reacting = False
        self._react_again = False
        self._react_on_data = False

    # -- lifecycle -----------------------------------------------------------------------

    def listings(self) -> tuple[str, ...]:
        """The instruments this algorithm trades (one, or one per venue for the router)."""
        return (self.params.instrument_id,)

    def on_start(self) -> None:
        for instrument_id in self.listings():
            self.cache.instrument(instrument_id)  # unknown instruments fail here, by name
            self.subscribe_quotes(instrument_id)
            self.subscribe_trades(instrument_id)
            self.subscribe_book(instrument_id)
        now = self.clock.timestamp_ns()
        start = self.params.start_ns
        if start is None or start <= now:
            self._begin(now)
        elif self.params.clocking == "timer":
            self.clock.set_time_alert(
                self._timer_name("start"), start, lambda event: self._begin(event.ts_event)
            )

    def on_stop(self) -> None:
        self.cancel()

    def cancel(self) -> None:
        """Cancels the parent: every open child is canceled; ``CANCELED`` once all closed."""
        self._end(AlgoStatus.CANCELED)

    def _begin(self, ts: int) -> None:
        if self.status is not AlgoStatus.PENDING:
            return
        self.start_ts = ts
        self.status = AlgoStatus.RUNNING
        self._capture_arrival()
        self._on_begin(ts)

    def _on_begin(self, ts: int) -> None:
        """The start time came: the first step."""
        self.react()

    @abstractmethod
    def _step(self) -> None:
        """Sends (or cancels) what the algorithm wants now; only called while running."""

    def react(self) -> None:
        """Runs :meth:`_step` until a pass changes nothing that asks for another."""
        if self._reacting:
            self._react_again = True
            return
        self._reacting = True
        try:
            self._react_again = True
            while self._react_again and self.status is AlgoStatus.RUNNING:
                self._react_again = False
                self._step()
        finally:
            self._reacting = False

    def _end(self, status: AlgoStatus) -> None:
        """Stops deciding; ``status`` applies once every open child is closed."""
        if self.status in _TERMINAL or self._ending is not None:
            return
        self._ending = status
        self.status = AlgoStatus.STOPPING
        prefix = f"{self.strategy_id}."
        for name in self.clock.timer_names():
            if name.startswith(prefix):
                self.clock.cancel_timer(name)
        self.cancel_children(self.open_children())
        self._settle_if_idle()

    def _settle_if_idle(self) -> None:
        if self._ending is None or self.open_children():
            return
        # a parent canceled while its last lots were filling is complete all the same
        filled = self.filled_quantity >= self.params.quantity
        self.status = AlgoStatus.COMPLETED if filled else self._ending
        report = self.report()
        shortfall = report.shortfall
        logger.info(
            "%s %s: filled %d of %d lots, shortfall %s bps",
            self.strategy_id,
            self.status,
            self.filled_quantity,
            self.params.quantity,
            "n/a" if shortfall is None else f"{shortfall.cost_bps:.2f}",
        )

    def _timer_name(self, name: str) -> str:
        return f"{self.strategy_id}.{name}"

    # -- market ----------------------------------------------------------------------------

    def touch(self) -> tuple[int, int] | None:
        """``(best bid, best ask)`` from the node's book, else its last quote; None when a
        side is missing or the market is crossed or locked."""
        instrument_id = self.params.instrument_id
        book = self.cache.book(instrument_id)
        best_bid, best_ask = book.best_bid(), book.best_ask()
        if best_bid is not None and best_ask is not None:
            bid, ask = best_bid[0], best_ask[0]
        else:
            quote: Quote | None = self.cache.quote(instrument_id)
            if quote is None or quote.bid_size <= 0 or quote.ask_size <= 0:
                return None
            bid, ask = quote.bid_price, quote.ask_price
        if bid <= 0 or bid >= ask:
            return None
        return bid, ask

    def passive_price(self, touch: tuple[int, int]) -> int:
        """Joins the near touch, never through the limit price (a buy never above it)."""
        limit = self.params.limit_price
        if self.side is Side.BUY:
            return touch[0] if limit is None else min(touch[0], limit)
        return touch[1] if limit is None else max(touch[1], limit)

    def aggressive_price(self, touch: tuple[int, int]) -> int | None:
        """The far touch, or None when it is beyond the limit price."""
        limit = self.params.limit_price
        far = touch[1] if self.side is Side.BUY else touch[0]
        if limit is not None and (far > limit if self.side is Side.BUY else far < limit):
            return None
        return far

    def _capture_arrival(self) -> None:
        if self.arrival_price is not None:
            return
        touch = self.touch()
        if touch is not None:
            self.arrival_price = Fraction(touch[0] + touch[1], 2)
            return
        last = self.cache.last_price(self.listings()[0])
        if last is not None:
            self.arrival_price = Fraction(last)

    def on_quote(self, quote: Quote) -> None:
        self._market_changed()

    def on_book(self, instrument_id: str) -> None:
        self._market_changed()

    def on_trade(self, trade: Trade) -> None:
        if self.status is AlgoStatus.RUNNING:
            self._on_print(trade)
            self._capture_arrival()

    def _market_changed(self) -> None:
        """Market data came: a data-clocked start may be due; the arrival price may be known."""
        start = self.params.start_ns
        if (
            self.status is AlgoStatus.PENDING
            and start is not None
            and self.params.clocking == "data"
            and self.clock.timestamp_ns() >= start
        ):
            self._begin(self.clock.timestamp_ns())
        elif self.status is AlgoStatus.STOPPING:
            self.cancel_children(self.open_children())  # again, after a refused cancel
        elif self.status is AlgoStatus.RUNNING:
            self._capture_arrival()
            if self._react_on_data:
                self._react_on_data = False
                self.react()

    def _on_print(self, trade: Trade) -> None:
        """A print while running (POV counts volume here)."""

    # -- children --------------------------------------------------------------------------

    def open_children(self) -> list[ChildOrder]:
        return list(self._open.values())

    @property
    def committed(self) -> int:
        """Filled plus what open children may still fill: never above the parent quantity."""
        return self.filled_quantity + sum(child.leaves for child in self._open.values())

    def send_child(
        self, quantity: int, price: int, *, aggressive: bool, instrument_id: str | None = None
    ) -> ChildOrder | None:
        """A limit child (IOC when ``aggressive``, else GTC), cut to what is not committed,
        on ``instrument_id`` (default: the first listing)."""
        quantity = min(quantity, self.params.quantity - self.committed)
        if quantity <= 0 or price <= 0 or self.status is not AlgoStatus.RUNNING:
            return None
        instrument_id = self.listings()[0] if instrument_id is None else instrument_id
        tif = TimeInForce.IOC if aggressive else TimeInForce.GTC
        spec = self.limit(instrument_id, self.side, quantity, price, time_in_force=tif)
        now = self.clock.timestamp_ns()
        client_order_id = self.submit_order(spec)
        child = ChildOrder(client_order_id, instrument_id, price, quantity, aggressive, now)
        self.children[client_order_id] = child
        self._open[client_order_id] = child
        # A venue answering at once reports before submit_order returns the id.
        for event in self._early_events.pop(client_order_id, []):
            self._apply(child, event)
        return child

    def cancel_children(self, children: list[ChildOrder]) -> None:
        """Marks every child canceling before sending any cancel, so that a venue answering
        inside a cancel call never finds the others still counted as working."""
        pending = [child for child in children if not (child.closed or child.canceling)]
        for child in pending:
            child.canceling = True
        for child in pending:
            self.cancel_order(child.client_order_id)

    def on_order_event(self, event: OrderEvent) -> None:
        child = self.children.get(event.client_order_id)
        if child is None:
            self._early_events.setdefault(event.client_order_id, []).append(event)
            return
        self._apply(child, event)

    def _apply(self, child: ChildOrder, event: OrderEvent) -> None:
        if child.closed:
            return
        if isinstance(event, OrderFilled):
            child.filled += event.last_quantity
            self.filled_quantity += event.last_quantity
            self.fills.append(event)
            self._rejects_in_row = 0
            child.closed = child.filled >= child.quantity
        elif isinstance(event, OrderRejected | OrderDenied):
            child.closed = True
            self._rejects_in_row += 1
            self.log.warning("child %s refused: %s", child.client_order_id, event.reason)
        elif isinstance(event, OrderCanceled | OrderExpired):
            child.closed = True
        elif isinstance(event, OrderCancelRejected):
            child.canceling = False  # still working; the next decision may cancel it again
            return
        elif isinstance(event, OrderAccepted):
            self._rejects_in_row = 0
            return
        else:
            return
        if child.closed:
            del self._open[child.client_order_id]
        if self.filled_quantity >= self.params.quantity:
            self._end(AlgoStatus.COMPLETED)
        elif self._rejects_in_row >= self.params.max_rejects:
            self._end(AlgoStatus.FAILED)
        if self._ending is not None:
            self._settle_if_idle()
        elif child.closed and self.status is AlgoStatus.RUNNING:
            if self.params.clocking == "data":
                self._react_on_data = True
            else:
                self.react()

    # -- reporting -------------------------------------------------------------------------

    def shortfall(self, mark_price: int | None = None) -> ShortfallReport | None:
        """Implementation shortfall so far; None before an arrival price is known."""
        if self.arrival_price is None:
            return None
        return implementation_shortfall(
            self.cache.instrument(self.listings()[0]),
            self.side,
            self.arrival_price,
            self.params.quantity,
            self.fills,
            mark_price=mark_price,
        )

    def report(self, mark_price: int | None = None) -> AlgoReport:
        passive = sum(
            fill.last_quantity
            for fill in self.fills
            if not self.children[fill.client_order_id].aggressive
        )
        return AlgoReport(
            status=self.status,
            quantity=self.params.quantity,
            filled_quantity=self.filled_quantity,
            passive_filled=passive,
            aggressive_filled=self.filled_quantity - passive,
            children=len(self.children),
            shortfall=self.shortfall(mark_price),
        )


# ----- scheduled algorithms ---------------------------------------------------------------


class ScheduledAlgorithm(ExecutionAlgorithm):
    """Decides at ``start + k * interval_ns`` with the passive/aggressive rule (module docs).

    Subclasses give :attr:`interval_ns`, :attr:`last_decision` (the index of the end time, or
    None) and :meth:`target_at` (cumulative lots due by decision ``k``)."""

    sweep_at_end: ClassVar[bool] = True

    def __init__(self, strategy_id: str, params: msgspec.Struct | dict[str, Any] | None = None):
        super().__init__(strategy_id, params)
        self.decisions: list[tuple[int, int]] = []
        """``(ts, target)`` of every decision made."""
        self._decided = -1
        self._target = 0
        self._due = 0
        self._crossed = False
        self._final = False

    @property
    @abstractmethod
    def interval_ns(self) -> int:
        """Time between decisions."""

    @property
    @abstractmethod
    def last_decision(self) -> int | None:
        """Index of the decision at the end time; None: no end time."""

    @abstractmethod
    def target_at(self, decision: int) -> int:
        """Cumulative lots due by decision ``decision``."""

    def _on_begin(self, ts: int) -> None:
        last = self.last_decision
        if self.params.clocking == "timer":
            self.clock.set_timer(
                self._timer_name("decide"),
                self.interval_ns,
                self._on_decision_timer,
                start_ns=ts,
                stop_ns=None if last is None else ts + last * self.interval_ns,
            )
        self._decide(0, ts)

    def _on_decision_timer(self, event: TimeEvent) -> None:
        if self.start_ts is not None:
            self._decide((event.ts_event - self.start_ts) // self.interval_ns, event.ts_event)

    def _market_changed(self) -> None:
        super()._market_changed()
        if self.params.clocking == "data" and self.start_ts is not None:
            now = self.clock.timestamp_ns()
            due = (now - self.start_ts) // self.interval_ns
            last = self.last_decision
            self._decide(due if last is None else min(due, last), now)

    def _decide(self, decision: int, ts: int) -> None:
        """Decision ``decision`` (decisions missed by a data-clocked algorithm are skipped: the
        targets are cumulative)."""
        if self.status is not AlgoStatus.RUNNING or decision <= self._decided:
            return
        self._decided = decision
        self._capture_arrival()
        quantity = self.params.quantity
        last = self.last_decision
        self._final = last is not None and decision >= last
        if self._final:
            self._due = quantity if self.sweep_at_end else self._target
            self._target = self._due
        else:
            self._due = self._target
            self._target = min(quantity, self.target_at(decision))
        self._crossed = False
        self.decisions.append((ts, self._target))
        touch = self.touch()
        behind = self._due > self.filled_quantity
        self.cancel_children(
            [
                child
                for child in self.open_children()
                if not child.aggressive
                and (behind or touch is None or child.price != self.passive_price(touch))
            ]
        )
        self.react()

    def _step(self) -> None:
        """Sends what the current decision wants once no cancel is pending."""
        if any(child.canceling for child in self.open_children()):
            return
        touch = self.touch()
        if not self._crossed and touch is not None:
            behind = self._due - self.committed
            price = self.aggressive_price(touch)
            if behind > 0 and price is not None:
                self._crossed = True  # once per decision: our own fills do not move the book
                self.send_child(behind, price, aggressive=True)
        if self._final:
            self._crossed = True
            if self.status is AlgoStatus.RUNNING and not self.open_children():
                self._end(AlgoStatus.EXPIRED)
            return
        wanted = self._target - self.committed
        if wanted > 0 and touch is not None and self.status is AlgoStatus.RUNNING:
            self.send_child(wanted, self.passive_price(touch), aggressive=False)


class TwapParams(AlgoParams, frozen=True, forbid_unknown_fields=True, kw_only=True):
    duration_ns: int
    slices: int

    def __post_init__(self) -> None:
        super().__post_init__()
        require_param(self.slices > 0, f"slices must be > 0, got {self.slices}")
        require_param(
            self.duration_ns >= self.slices,
            f"duration_ns must be >= slices (1 ns per slice), got {self.duration_ns}",
        )


class TwapAlgorithm(ScheduledAlgorithm):
    """Time-weighted: ``slices`` equal slices over ``duration_ns`` (sizes differ by at most
    one lot), one decision per slice plus the end."""

    Params = TwapParams

    def __init__(self, strategy_id: str, params: msgspec.Struct | dict[str, Any] | None = None):
        super().__init__(strategy_id, params)
        self.schedule = even_schedule(self.params.quantity, self.params.slices)

    @property
    def interval_ns(self) -> int:
        return int(self.params.duration_ns // self.params.slices)

    @property
    def last_decision(self) -> int:
        return int(self.params.slices)

    def target_at(self, decision: int) -> int:
        return self.schedule[min(decision, len(self.schedule) - 1)]


class VwapParams(AlgoParams, frozen=True, forbid_unknown_fields=True, kw_only=True):
    duration_ns: int
    volume_profile: tuple[float, ...]
    """One weight per slice, e.g. from
    :func:`~hftcore.execution.schedule.intraday_volume_profile`."""

    def __post_init__(self) -> None:
        super().__post_init__()
        require_param(len(self.volume_profile) > 0, "volume_profile must have at least one weight")
        require_param(
            all(weight >= 0 for weight in self.volume_profile) and sum(self.volume_profile) > 0,
            "volume_profile weights must be >= 0 and not all zero",
        )
        require_param(
            self.duration_ns >= len(self.volume_profile),
            f"duration_ns must be >= the number of slices, got {self.duration_ns}",
        )


class VwapAlgorithm(ScheduledAlgorithm):
    """Volume-weighted: slice ``k`` gets ``volume_profile[k]`` of the parent (a historical
    volume profile), so the cumulative target follows the expected cumulative volume."""

    Params = VwapParams

    def __init__(self, strategy_id: str, params: msgspec.Struct | dict[str, Any] | None = None):
        super().__init__(strategy_id, params)
        self.schedule = profile_schedule(self.params.quantity, self.params.volume_profile)

    @property
    def interval_ns(self) -> int:
        return int(self.params.duration_ns // len(self.params.volume_profile))

    @property
    def last_decision(self) -> int:
        return len(self.params.volume_profile)

    def target_at(self, decision: int) -> int:
        return self.schedule[min(decision, len(self.schedule) - 1)]


class PovParams(AlgoParams, frozen=True, forbid_unknown_fields=True, kw_only=True):
    participation_rate: float
    interval_ns: int
    duration_ns: int | None = None
    """None: until filled or canceled."""

    def __post_init__(self) -> None:
        super().__post_init__()
        require_param(
            0 < self.participation_rate <= 1,
            f"participation_rate must be in (0, 1], got {self.participation_rate}",
        )
        require_param(self.interval_ns > 0, f"interval_ns must be > 0, got {self.interval_ns}")
        require_param(
            self.duration_ns is None or self.duration_ns >= self.interval_ns,
            f"duration_ns must be >= interval_ns, got {self.duration_ns}",
        )


class PovAlgorithm(ScheduledAlgorithm):
    """Percentage of volume: the target is ``floor(participation_rate * V)``, ``V`` the volume
    printed on the instrument since the start (prints as the venue reports them, ours
    included), re-evaluated every ``interval_ns``. At its end it crosses only what fell
    behind, never the rest of the parent."""

    Params = PovParams
    sweep_at_end = False

    def __init__(self, strategy_id: str, params: msgspec.Struct | dict[str, Any] | None = None):
        super().__init__(strategy_id, params)
        self.rate = exact_rate(self.params.participation_rate, "participation_rate")
        self.market_volume = 0

    @property
    def interval_ns(self) -> int:
        return int(self.params.interval_ns)

    @property
    def last_decision(self) -> int | None:
        duration = self.params.duration_ns
        return None if duration is None else int(duration // self.params.interval_ns)

    def target_at(self, decision: int) -> int:
        return participation_target(self.rate, self.market_volume, self.params.quantity)

    def _on_print(self, trade: Trade) -> None:
        self.market_volume += trade.size


# ----- iceberg ------------------------------------------------------------------------------


class IcebergParams(AlgoParams, frozen=True, forbid_unknown_fields=True, kw_only=True):
    display_quantity: int

    def __post_init__(self) -> None:
        super().__post_init__()
        require_param(self.limit_price is not None, "limit_price is required for an iceberg")
        require_param(
            0 < self.display_quantity <= self.quantity,
            f"display_quantity must be in (0, quantity], got {self.display_quantity}",
        )


class IcebergAlgorithm(ExecutionAlgorithm):
    """Shows one child of at most ``display_quantity`` at ``limit_price``; when it is done
    (filled, or canceled or refused by the venue) the next slice is sent, so the market never
    sees more than the display."""

    Params = IcebergParams

    def _step(self) -> None:
        if self.open_children():
            return
        remaining = self.params.quantity - self.committed
        self.send_child(
            min(self.params.display_quantity, remaining), self.params.limit_price, aggressive=False
        )


__all__ = [
    "AlgoParams",
    "AlgoReport",
    "AlgoStatus",
    "ChildOrder",
    "ExecutionAlgorithm",
    "IcebergAlgorithm",
    "IcebergParams",
    "ParentParams",
    "PovAlgorithm",
    "PovParams",
    "ScheduledAlgorithm",
    "TwapAlgorithm",
    "TwapParams",
    "VwapAlgorithm",
    "VwapParams",
    "require_param",
]
