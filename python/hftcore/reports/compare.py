"""Paper vs backtest, fill by fill: a recorded paper session next to a backtest of the same
strategies over the same bars, every difference with its category and its cause.

The paper side is read from the session's event store: its orders (commands and order events),
fills and risk trips, and the bars it replayed (``paper.next_bar``; each bar's wall-clock
replay stamp maps the log's times back to bars). The backtest side runs the same config over
exactly those bars (or over all the data's bars with ``full_period=True``) on a simulated clock,
with its commands and events recorded in the same form. Client order ids and times differ
between the two, so orders are matched per strategy in the order they were submitted, as
decisions: same instrument, side, order type and bar (a sequence alignment, so an order present
on one side only does not shift the rest). See docs/compare.md.
"""

from __future__ import annotations

import bisect
import difflib
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Final

import msgspec

from hftcore._core import Instrument
from hftcore.errors import ConfigError, InvalidValue
from hftcore.model.data import Bar
from hftcore.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderExpired,
    OrderFilled,
    OrderInitialized,
    OrderRejected,
    OrderSpec,
    OrderSubmitted,
    OrderUpdated,
    SubmitOrder,
)
from hftcore.model.money import money_to_decimal, notional_per_tick_lot
from hftcore.model.risk_controls import RiskReset, RiskTripped
from hftcore.node.config import NodeConfig
from hftcore.store.base import Appended, StorableEvent, StoredEvent
from hftcore.venues.bars import BarVenueConfig

logger = logging.getLogger(__name__)

ABANDONED_REASON: Final = "NOT_PROCESSED_BEFORE_RESTART"
RECONCILIATION_REASON: Final = "NOT_FOUND_AT_VENUE"
PAPER_VENUE_CONFIG: Final = BarVenueConfig()
"""The fill model of the paper session's venue (``PaperVenue`` is built with the defaults)."""
_BUY: Final = 0


class Difference(StrEnum):
    """What differs between the two modes for one fill or order."""

    PRICE_DIFFERS = "PRICE_DIFFERS"
    """Both filled on the same bar, at different prices."""
    LATER_BAR = "LATER_BAR"
    """Paper filled on a later bar than the backtest."""
    EARLIER_BAR = "EARLIER_BAR"
    """Paper filled on an earlier bar than the backtest."""
    QUANTITY_DIFFERS = "QUANTITY_DIFFERS"
    """Both filled on the same bar, different quantities."""
    FILLED_ONLY_IN_BACKTEST = "FILLED_ONLY_IN_BACKTEST"
    FILLED_ONLY_IN_PAPER = "FILLED_ONLY_IN_PAPER"
    ORDER_ONLY_IN_BACKTEST = "ORDER_ONLY_IN_BACKTEST"
    """An order (never filled) the paper session did not send."""
    ORDER_ONLY_IN_PAPER = "ORDER_ONLY_IN_PAPER"
    """An order (never filled) the backtest did not send."""
    ORDER_TERMS_DIFFER = "ORDER_TERMS_DIFFER"
    """The same decision (bar, side, type) with another quantity or price."""
    OUTCOME_DIFFERS = "OUTCOME_DIFFERS"
    """Neither filled, but one was refused (denied or rejected) and the other was not."""


class Cause(StrEnum):
    """Why it differs, as far as the paper session's log and the configs tell."""

    SESSION_STOPPED = "SESSION_STOPPED"
    """The paper session stopped before that bar (or while handling it)."""
    ABANDONED_AT_RESTART = "ABANDONED_AT_RESTART"
    """An intent logged before a crash and denied at the restart (never sent)."""
    RECONCILIATION_CANCEL = "RECONCILIATION_CANCEL"
    """Canceled at a restart because the venue did not have it."""
    RISK_DENIED = "RISK_DENIED"
    """Refused by the risk gate or a circuit breaker in one mode only."""
    SESSION_RESTARTED = "SESSION_RESTARTED"
    """The session was stopped while handling that bar and resumed after it: the bar's fills
    not yet stored were lost, and its strategies never saw it."""
    KILL_SWITCH = "KILL_SWITCH"
    """Denied or canceled while the paper session's kill switch was engaged."""
    VENUE_REJECTED = "VENUE_REJECTED"
    CANCELED = "CANCELED"
    """Canceled or expired in one mode before it filled."""
    VENUE_MODEL = "VENUE_MODEL"
    """The backtest's bar venue fills with another model than the paper venue."""
    DIVERGED = "DIVERGED"
    """Follows an earlier difference or a restart: the strategy's position or state differs
    from there (a strategy's instance state is not kept across restarts)."""
    UNEXPLAINED = "UNEXPLAINED"


@dataclass(slots=True)
class FillTrace:
    price: int
    quantity: int
    commission: int
    currency: str
    ts_init: int
    bar: int | None
    """The bar it filled on (from its ``ts_event``)."""


@dataclass(slots=True)
class OrderTrace:
    """One order as a log tells it: its original terms, the bar it was decided on, its
    lifecycle stamps, its outcome and its fills."""

    strategy_id: str
    client_order_id: str
    spec: OrderSpec
    bar: int | None
    ts_command: int | None = None
    ts_submitted: int | None = None
    ts_accepted: int | None = None
    quantity: int = 0
    status: str = "OPEN"
    reason: str = ""
    closed_bar: int | None = None
    trip: str | None = None
    """The risk trigger in force when the order was denied or canceled (e.g. KILL_SWITCH)."""
    fills: list[FillTrace] = field(default_factory=list)

    @property
    def signature(self) -> tuple[str, int, int, int | None]:
        return (self.spec.instrument_id, self.spec.side, self.spec.order_type, self.bar)


_CLOSED: Final = {
    OrderDenied: "DENIED",
    OrderRejected: "REJECTED",
    OrderCanceled: "CANCELED",
    OrderExpired: "EXPIRED",
}


class _BarClock:
    """Maps a log's timestamps to bar numbers: the index of the bar time among the distinct
    times of the bars compared (bars of several instruments at one time are one bar number)."""

    def __init__(self, stamps: Sequence[int], bar_numbers: Sequence[int]) -> None:
        self._stamps = stamps
        self._numbers = bar_numbers

    def bar_of(self, ts: int) -> int | None:
        index = bisect.bisect_right(self._stamps, ts) - 1
        return None if index < 0 else self._numbers[index]


def _read_log(events: Iterable[StoredEvent], clock: _BarClock) -> list[OrderTrace]:
    """Every order of a log, in the order it first appears, with its fills."""
    orders: dict[str, OrderTrace] = {}
    trip: str | None = None
    for stored in events:
        event = stored.event
        if isinstance(event, RiskTripped):
            trip = event.trigger
            continue
        if isinstance(event, RiskReset):
            if event.authorised:
                trip = None
            continue
        if isinstance(event, SubmitOrder | OrderInitialized):
            order = orders.get(event.client_order_id)
            if order is None:
                ts = event.ts_init if isinstance(event, SubmitOrder) else event.ts_event
                order = OrderTrace(
                    event.strategy_id,
                    event.client_order_id,
                    event.order,
                    clock.bar_of(ts),
                    quantity=event.order.quantity,
                )
                orders[event.client_order_id] = order
            if isinstance(event, SubmitOrder):
                order.ts_command = event.ts_init
            continue
        client_order_id = getattr(event, "client_order_id", None)
        order = orders.get(client_order_id) if isinstance(client_order_id, str) else None
        if order is None:
            continue
        if isinstance(event, OrderSubmitted):
            order.ts_submitted = event.ts_init
        elif isinstance(event, OrderAccepted):
            order.ts_accepted = event.ts_init
        elif isinstance(event, OrderUpdated):
            order.quantity = event.quantity
        elif isinstance(event, OrderFilled):
            order.fills.append(
                FillTrace(
                    event.last_price,
                    event.last_quantity,
                    event.commission,
                    event.currency,
                    event.ts_init,
                    clock.bar_of(event.ts_event),
                )
            )
        elif isinstance(event, OrderDenied | OrderRejected | OrderCanceled | OrderExpired):
            order.status = _CLOSED[type(event)]
            order.reason = getattr(event, "reason", "")
            order.closed_bar = clock.bar_of(event.ts_event)
            order.trip = trip
    for order in orders.values():
        if order.status == "OPEN" and sum(fill.quantity for fill in order.fills) >= order.quantity:
            order.status = "FILLED"
    return list(orders.values())


class _MemoryLog:
    """The backtest node's event sink: the same commands and events a paper store holds."""

    def __init__(self) -> None:
        self.events: list[StoredEvent] = []

    def append(self, event: StorableEvent) -> Appended:
        self.events.append(StoredEvent(len(self.events) + 1, event))
        return Appended(len(self.events), False)


def money_text(units: int) -> str:
    """Money units (1e-12) as plain decimal text, without trailing zeros."""
    return format(money_to_decimal(units).normalize(), "f")


@dataclass(frozen=True, slots=True)
class ComparedFill:
    """One fill (or unfilled order) of either mode; ``difference`` is None when both modes
    agree on it. Prices are ticks, quantities lots, bars numbers of the compared bars."""

    strategy_id: str
    instrument_id: str
    side: str
    paper_order_id: str | None
    backtest_order_id: str | None
    paper_quantity: int | None
    backtest_quantity: int | None
    paper_price: int | None
    backtest_price: int | None
    paper_bar: int | None
    backtest_bar: int | None
    slippage_ticks: int | None
    """Paper's price against the backtest's, positive when paper traded worse."""
    slippage_bps: float | None
    difference: Difference | None
    cause: Cause | None
    explanation: str

    @property
    def bar(self) -> int:
        """The bar the row is about: the earlier fill's, else (no fill) the earlier order's."""
        filled = [
            bar
            for bar, price in (
                (self.paper_bar, self.paper_price),
                (self.backtest_bar, self.backtest_price),
            )
            if bar is not None and price is not None
        ]
        known = filled or [bar for bar in (self.paper_bar, self.backtest_bar) if bar is not None]
        return min(known, default=-1)


@dataclass(frozen=True, slots=True)
class ModeTotals:
    """One mode's orders, fills, fees and P&L (money in 1e-12 units per currency; P&L is
    realised plus open positions marked at the last compared bar's close)."""

    orders: int
    fills: int
    fees: dict[str, int]
    pnl: dict[str, int]


@dataclass(frozen=True, slots=True)
class LatencyStats:
    """Differences of the paper log's stamps over the orders that have both, in ns."""

    count: int
    p50_ns: int
    p99_ns: int
    max_ns: int


@dataclass(frozen=True, slots=True)
class Comparison:
    bars_processed: int
    """Bars the paper session replayed."""
    bars_compared: int
    """Bars the backtest ran over (the same, or all the data's with ``full_period``)."""
    bar_times: list[int]
    """The compared bars' times (ns), indexed by bar number."""
    rows: list[ComparedFill]
    paper: ModeTotals
    backtest: ModeTotals
    latency: dict[str, LatencyStats]
    venue_model: str
    """How the backtest's venue fill model differs from the paper venue's ("" when not)."""
    instruments: dict[str, Instrument] = field(repr=False)

    @property
    def differences(self) -> list[ComparedFill]:
        return [row for row in self.rows if row.difference is not None]

    @property
    def matched_fills(self) -> int:
        return sum(
            1 for row in self.rows if row.paper_price is not None and row.backtest_price is not None
        )

    @property
    def pnl_difference(self) -> dict[str, int]:
        """Paper's P&L minus the backtest's, per currency."""
        currencies = sorted(set(self.paper.pnl) | set(self.backtest.pnl))
        return {
            ccy: self.paper.pnl.get(ccy, 0) - self.backtest.pnl.get(ccy, 0) for ccy in currencies
        }

    def price_text(self, instrument_id: str, ticks: int | None) -> str:
        return "" if ticks is None else self.instruments[instrument_id].ticks_to_str(ticks)

    def quantity_text(self, instrument_id: str, lots: int | None) -> str:
        return "" if lots is None else self.instruments[instrument_id].lots_to_str(lots)

    def to_json(self) -> bytes:
        """The comparison as JSON: prices and quantities as decimal text, money as decimal
        text per currency, latencies in ns."""

        def money(values: dict[str, int]) -> dict[str, str]:
            return {ccy: money_text(units) for ccy, units in values.items()}

        def totals(mode: ModeTotals) -> dict[str, object]:
            return {
                "orders": mode.orders,
                "fills": mode.fills,
                "fees": money(mode.fees),
                "pnl": money(mode.pnl),
            }

        rows = [
            {
                "strategy_id": row.strategy_id,
                "instrument_id": row.instrument_id,
                "side": row.side,
                "paper_order_id": row.paper_order_id,
                "backtest_order_id": row.backtest_order_id,
                "paper_quantity": self.quantity_text(row.instrument_id, row.paper_quantity),
                "backtest_quantity": self.quantity_text(row.instrument_id, row.backtest_quantity),
                "paper_price": self.price_text(row.instrument_id, row.paper_price),
                "backtest_price": self.price_text(row.instrument_id, row.backtest_price),
                "paper_bar": row.paper_bar,
                "backtest_bar": row.backtest_bar,
                "slippage_ticks": row.slippage_ticks,
                "slippage_bps": row.slippage_bps,
                "difference": row.difference,
                "cause": row.cause,
                "explanation": row.explanation,
            }
            for row in self.rows
        ]
        return msgspec.json.encode(
            {
                "bars_processed": self.bars_processed,
                "bars_compared": self.bars_compared,
                "matched_fills": self.matched_fills,
                "differences": len(self.differences),
                "venue_model": self.venue_model,
                "paper": totals(self.paper),
                "backtest": totals(self.backtest),
                "pnl_difference": money(self.pnl_difference),
                "latency": {name: asdict(stats) for name, stats in self.latency.items()},
                "rows": rows,
            }
        )


def compare_paper_to_backtest(
    config: NodeConfig,
    store_path: str | Path,
    data: str,
    *,
    bar_type: str = "1-DAY",
    full_period: bool = False,
    venue_config: BarVenueConfig | None = None,
) -> Comparison:
    """Compares the paper session recorded in ``store_path`` with a backtest of ``config``'s
    strategies over the bars the session replayed from ``data`` (a catalog root or
    ``bundled:NAME``, as given to ``hftcore paper``); ``full_period`` runs the backtest over all
    of them instead, so what the session did not reach shows as ``SESSION_STOPPED``. The
    backtest's bar venue is ``venue_config``, else ``config.backtest.bar_venue``; where its fill
    model differs from the paper venue's, differences it explains are ``VENUE_MODEL``.

    Raises ``InvalidValue`` ``STORE_NOT_FOUND`` (no file), ``NOT_A_PAPER_SESSION`` (a store no
    paper session wrote), ``NO_BAR_STAMPS`` (a session recorded without bar stamps), and
    ``ConfigError`` ``CONFIG_MISMATCH`` when the log's strategies or instruments are not the
    config's, or the session replayed more bars than ``data`` holds."""
    from hftcore.node.paper import load_paper_bars

    if not isinstance(data, str) or not data:
        raise InvalidValue("INVALID_DATA", f"data is a catalog root or bundled:NAME, got {data!r}")
    path = Path(store_path)
    if not path.is_file():
        raise InvalidValue("STORE_NOT_FOUND", f"no event store file at {path}")
    bars = load_paper_bars(config, data, bar_type=bar_type)
    processed, stamps, restarts, events = _read_session(path, data, len(bars))
    _check_log_matches(config, events)
    compared = bars if full_period else bars[:processed]
    bar_times = sorted({bar.ts_event for bar in compared})
    number_of = {ts: number for number, ts in enumerate(bar_times)}
    paper_numbers = [number_of[bar.ts_event] for bar in bars[:processed]]
    paper_clock = _BarClock(stamps, paper_numbers)
    paper_orders = _read_log(events, paper_clock)
    venue = config.backtest.bar_venue if venue_config is None else venue_config
    backtest_events = _run_backtest(config, compared, venue)
    backtest_orders = _read_log(backtest_events, _BarClock(bar_times, range(len(bar_times))))

    instruments = {entry.instrument_id: entry.build() for entry in config.instruments}
    currencies = {entry.instrument_id: entry.quote_currency for entry in config.instruments}
    context = _Context(
        venue_model=_venue_model_difference(venue),
        paper_last_bar=paper_numbers[-1] if paper_numbers else -1,
        bars_processed=processed,
        # The bar in progress when the session stopped, before each restart.
        restart_bars=tuple(paper_numbers[resumed - 1] for resumed in restarts if resumed >= 1),
        bar_times=bar_times,
    )
    rows: list[ComparedFill] = []
    for paper_order, backtest_order in _pair(paper_orders, backtest_orders):
        rows.extend(_rows(paper_order, backtest_order, context))
    rows.sort(key=lambda row: (row.bar, row.strategy_id))
    rows = _mark_divergence(rows, context)
    return Comparison(
        bars_processed=processed,
        bars_compared=len(compared),
        bar_times=bar_times,
        rows=rows,
        paper=_totals(paper_orders, _last_closes(bars[:processed]), currencies, instruments),
        backtest=_totals(backtest_orders, _last_closes(compared), currencies, instruments),
        latency=_latency(paper_orders),
        venue_model=context.venue_model,
        instruments=instruments,
    )


def _read_session(
    path: Path, data: str, bars_held: int
) -> tuple[int, list[int], list[int], list[StoredEvent]]:
    """The bars the session replayed, their wall-clock stamps, the replay positions at which it
    was restarted and the whole log."""
    from hftcore.node.paper import REPLAY_POSITION_KEY, RESTARTS_KEY, bar_stamp_key
    from hftcore.store.sqlite import SqliteEventStore

    with SqliteEventStore(path) as store:
        processed = store.get_meta(REPLAY_POSITION_KEY)
        if isinstance(processed, bool) or not isinstance(processed, int):
            raise InvalidValue(
                "NOT_A_PAPER_SESSION",
                f"{path} holds no paper session (no {REPLAY_POSITION_KEY} in its meta)",
            )
        if processed > bars_held:
            raise ConfigError(
                "CONFIG_MISMATCH",
                f"the session replayed {processed} bars but {data} holds {bars_held}",
            )
        stamps: list[int] = []
        for index in range(processed):
            stamp = store.get_meta(bar_stamp_key(index))
            if isinstance(stamp, bool) or not isinstance(stamp, int):
                raise InvalidValue(
                    "NO_BAR_STAMPS",
                    f"{path} has no replay stamp of bar {index}: the session was recorded by a "
                    "version that did not keep them",
                )
            stamps.append(stamp)
        recorded = store.get_meta(RESTARTS_KEY, [])
        restarts = [
            position
            for position in (recorded if isinstance(recorded, list) else [])
            if isinstance(position, int) and 0 <= position <= processed
        ]
        return processed, stamps, restarts, list(store.events())


def _check_log_matches(config: NodeConfig, events: Sequence[StoredEvent]) -> None:
    strategies = {entry.strategy_id for entry in config.strategies}
    instruments = {entry.instrument_id for entry in config.instruments}
    for stored in events:
        if isinstance(stored.event, SubmitOrder | OrderInitialized):
            strategy_id = stored.event.strategy_id
            instrument_id = stored.event.order.instrument_id
            if strategy_id not in strategies or instrument_id not in instruments:
                raise ConfigError(
                    "CONFIG_MISMATCH",
                    f"the session's order {stored.event.client_order_id} (seq {stored.seq}) is "
                    f"strategy {strategy_id!r} on {instrument_id!r}, which the config does not "
                    f"have (strategies {sorted(strategies)}, instruments {sorted(instruments)})",
                )


def _run_backtest(
    config: NodeConfig, bars: Sequence[Bar], venue_config: BarVenueConfig
) -> list[StoredEvent]:
    """The config's strategies over ``bars`` on the paper session's venue (same name, the
    given fill model) and its risk controls; returns what a store would hold."""
    from hftcore.node.backtest import run_bars
    from hftcore.node.catalog_backtest import _risk_monitor
    from hftcore.node.kernel import TradingNode
    from hftcore.node.paper import PAPER_VENUE
    from hftcore.node.strategy import load_strategy_class
    from hftcore.venues.bars import BarVenue

    log = _MemoryLog()
    node = TradingNode(config, store=log)
    listed = {
        node.cache.instrument(entry.instrument_id): entry.quote_currency
        for entry in config.instruments
    }
    node.add_venue(PAPER_VENUE, BarVenue(PAPER_VENUE, listed, venue_config))
    for strategy_config in config.strategies:
        strategy_class = load_strategy_class(strategy_config.path)
        node.add_strategy(
            strategy_class(strategy_config.strategy_id, strategy_config.params),
            on_error=strategy_config.on_error,
        )
    monitor = _risk_monitor(node, config)
    try:
        run_bars(node, bars, name="paper comparison")
    finally:
        if monitor is not None:
            monitor.close()
    return log.events


def _venue_model_difference(venue: BarVenueConfig) -> str:
    ours = msgspec.structs.asdict(venue)
    paper = msgspec.structs.asdict(PAPER_VENUE_CONFIG)
    return ", ".join(
        f"{name}: backtest {ours[name]!r}, paper {paper[name]!r}"
        for name in ours
        if ours[name] != paper[name]
    )


@dataclass(frozen=True, slots=True)
class _Context:
    venue_model: str
    paper_last_bar: int
    bars_processed: int
    restart_bars: tuple[int, ...]
    bar_times: Sequence[int]

    def bar_text(self, bar: int | None) -> str:
        if bar is None:
            return "before the first bar"
        return f"bar {bar} ({_time_text(self.bar_times[bar])})"

    def restart_between(self, first: int | None, last: int | None) -> int | None:
        """The bar a restart interrupted in ``[first, last)``, if any."""
        if first is None or last is None:
            return None
        return next((bar for bar in self.restart_bars if first <= bar < last), None)

    def restart_text(self, bar: int) -> str:
        return (
            f"the session stopped while handling {self.bar_text(bar)} and resumed after it: "
            "the fills of that bar not yet stored were lost, and its strategies never saw it"
        )


def _time_text(ts: int) -> str:
    from datetime import UTC, datetime

    moment = datetime.fromtimestamp(ts / 1e9, UTC)
    return moment.strftime("%Y-%m-%d" if ts % 86_400_000_000_000 == 0 else "%Y-%m-%d %H:%M:%S")


def _pair(
    paper: Sequence[OrderTrace], backtest: Sequence[OrderTrace]
) -> list[tuple[OrderTrace | None, OrderTrace | None]]:
    """Per strategy, the two modes' orders aligned as decisions (instrument, side, type, bar)
    in submission order; an order without a counterpart is paired with None."""
    pairs: list[tuple[OrderTrace | None, OrderTrace | None]] = []
    strategies = dict.fromkeys(order.strategy_id for order in (*paper, *backtest))
    for strategy_id in strategies:
        ours = [order for order in paper if order.strategy_id == strategy_id]
        theirs = [order for order in backtest if order.strategy_id == strategy_id]
        matcher = difflib.SequenceMatcher(
            None, [o.signature for o in ours], [o.signature for o in theirs], autojunk=False
        )
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                pairs.extend(zip(ours[i1:i2], theirs[j1:j2], strict=True))
                continue
            pairs.extend((order, None) for order in ours[i1:i2])
            pairs.extend((None, order) for order in theirs[j1:j2])
    return pairs


def _terms(spec: OrderSpec, quantity: int) -> tuple[int, int | None, int | None]:
    return (quantity, spec.price, spec.trigger_price)


def _refused(order: OrderTrace) -> bool:
    return order.status in ("DENIED", "REJECTED")


def _one_side(
    order: OrderTrace | None, fill: FillTrace | None, other_fill: FillTrace | None
) -> tuple[int | None, int | None]:
    """A row's quantity and bar on one side: the fill's; else, for a row about the order, the
    order's quantity (none when the row is the other side's fill) and the bar it was sent on."""
    if fill is not None:
        return fill.quantity, fill.bar
    if order is None:
        return None, None
    return (order.quantity if other_fill is None else None), order.bar


def _rows(
    paper: OrderTrace | None, backtest: OrderTrace | None, context: _Context
) -> list[ComparedFill]:
    either = paper if paper is not None else backtest
    assert either is not None  # _pair never pairs None with None
    spec = either.spec

    def row(
        paper_fill: FillTrace | None,
        backtest_fill: FillTrace | None,
        difference: Difference | None,
        cause: Cause | None,
        explanation: str,
    ) -> ComparedFill:
        paper_price = None if paper_fill is None else paper_fill.price
        backtest_price = None if backtest_fill is None else backtest_fill.price
        slippage: int | None = None
        bps: float | None = None
        if paper_price is not None and backtest_price is not None:
            slippage = (
                paper_price - backtest_price if spec.side == _BUY else backtest_price - paper_price
            )
            bps = slippage / backtest_price * 1e4 if backtest_price else None
        paper_quantity, paper_bar = _one_side(paper, paper_fill, backtest_fill)
        backtest_quantity, backtest_bar = _one_side(backtest, backtest_fill, paper_fill)
        return ComparedFill(
            strategy_id=either.strategy_id,
            instrument_id=spec.instrument_id,
            side="BUY" if spec.side == _BUY else "SELL",
            paper_order_id=None if paper is None else paper.client_order_id,
            backtest_order_id=None if backtest is None else backtest.client_order_id,
            paper_quantity=paper_quantity,
            backtest_quantity=backtest_quantity,
            paper_price=paper_price,
            backtest_price=backtest_price,
            paper_bar=paper_bar,
            backtest_bar=backtest_bar,
            slippage_ticks=slippage,
            slippage_bps=bps,
            difference=difference,
            cause=cause,
            explanation=explanation,
        )

    rows: list[ComparedFill] = []
    if paper is not None and backtest is not None:
        ours, theirs = _terms(paper.spec, paper.quantity), _terms(backtest.spec, backtest.quantity)
        if ours != theirs:
            cause = Cause.VENUE_MODEL if context.venue_model else Cause.UNEXPLAINED
            rows.append(
                row(
                    None,
                    None,
                    Difference.ORDER_TERMS_DIFFER,
                    cause,
                    f"the same decision on {context.bar_text(paper.bar)} with other terms "
                    f"(quantity, price, trigger): paper {ours}, backtest {theirs}",
                )
            )
    paper_fills = [] if paper is None else paper.fills
    backtest_fills = [] if backtest is None else backtest.fills
    for index in range(max(len(paper_fills), len(backtest_fills))):
        paper_fill = paper_fills[index] if index < len(paper_fills) else None
        backtest_fill = backtest_fills[index] if index < len(backtest_fills) else None
        if paper_fill is not None and backtest_fill is not None:
            difference, explanation = _fill_difference(paper_fill, backtest_fill, context)
            fill_cause: Cause | None = None
            restart = context.restart_between(backtest_fill.bar, paper_fill.bar)
            if difference is Difference.LATER_BAR and restart is not None:
                fill_cause = Cause.SESSION_RESTARTED
                explanation += f"; {context.restart_text(restart)}"
            elif difference is not None:
                fill_cause = Cause.VENUE_MODEL if context.venue_model else Cause.UNEXPLAINED
                if context.venue_model:
                    explanation += f"; the fill models differ: {context.venue_model}"
            rows.append(row(paper_fill, backtest_fill, difference, fill_cause, explanation))
        elif backtest_fill is not None:
            decided = None if backtest is None else backtest.bar
            cause, explanation = _why_not_in_paper(paper, backtest_fill.bar, context, decided)
            rows.append(
                row(None, backtest_fill, Difference.FILLED_ONLY_IN_BACKTEST, cause, explanation)
            )
        elif paper_fill is not None:
            cause, explanation = _why_not_in_backtest(backtest, paper_fill.bar, context)
            rows.append(row(paper_fill, None, Difference.FILLED_ONLY_IN_PAPER, cause, explanation))
    if paper_fills or backtest_fills:
        return rows
    if backtest is None and paper is not None:
        cause, explanation = _why_not_in_backtest(None, paper.bar, context)
        if paper.status == "DENIED" and paper.reason == ABANDONED_REASON:
            cause, explanation = _why_not_in_paper(paper, paper.bar, context)
        rows.append(row(None, None, Difference.ORDER_ONLY_IN_PAPER, cause, explanation))
    elif paper is None and backtest is not None:
        cause, explanation = _why_not_in_paper(None, backtest.bar, context, backtest.bar)
        rows.append(row(None, None, Difference.ORDER_ONLY_IN_BACKTEST, cause, explanation))
    elif paper is not None and backtest is not None and _refused(paper) != _refused(backtest):
        if _refused(paper):
            cause, explanation = _why_not_in_paper(paper, backtest.bar, context)
        else:
            cause, explanation = _why_not_in_backtest(backtest, paper.bar, context)
        rows.append(row(None, None, Difference.OUTCOME_DIFFERS, cause, explanation))
    return rows


def _fill_difference(
    paper: FillTrace, backtest: FillTrace, context: _Context
) -> tuple[Difference | None, str]:
    if paper.bar != backtest.bar:
        later = paper.bar is not None and (backtest.bar is None or paper.bar > backtest.bar)
        return (
            Difference.LATER_BAR if later else Difference.EARLIER_BAR,
            f"paper filled on {context.bar_text(paper.bar)}, the backtest on "
            f"{context.bar_text(backtest.bar)}",
        )
    if paper.price != backtest.price:
        return Difference.PRICE_DIFFERS, f"same bar, {context.bar_text(paper.bar)}, other price"
    if paper.quantity != backtest.quantity:
        return (
            Difference.QUANTITY_DIFFERS,
            f"{paper.quantity} lots in paper, {backtest.quantity} in the backtest, on "
            f"{context.bar_text(paper.bar)}",
        )
    return None, ""


def _why_not_in_paper(
    paper: OrderTrace | None, bar: int | None, context: _Context, decided: int | None = None
) -> tuple[Cause, str]:
    """Why the paper session has no such fill (or order) on ``bar``, from its log;
    ``decided`` is the bar the backtest sent its order on."""
    if bar is not None and bar > context.paper_last_bar:
        return (
            Cause.SESSION_STOPPED,
            f"the paper session stopped after {context.bar_text(context.paper_last_bar)} "
            f"({context.bars_processed} bars replayed); the backtest went on to "
            f"{context.bar_text(bar)}",
        )
    if paper is None:
        if decided is not None and decided in context.restart_bars:
            return Cause.SESSION_RESTARTED, (
                f"the paper session sent no such order: {context.restart_text(decided)}"
            )
        return Cause.UNEXPLAINED, "the paper session sent no such order"
    closed = context.bar_text(paper.closed_bar)
    if paper.status == "DENIED" and paper.reason == ABANDONED_REASON:
        return (
            Cause.ABANDONED_AT_RESTART,
            f"paper order {paper.client_order_id} was logged as an intent before a restart and "
            f"denied at recovery ({ABANDONED_REASON}): it was never sent",
        )
    if paper.trip == "KILL_SWITCH" and paper.status in ("DENIED", "CANCELED"):
        return (
            Cause.KILL_SWITCH,
            f"paper order {paper.client_order_id} was {paper.status.lower()} on {closed} "
            f"while the kill switch was engaged ({paper.reason})",
        )
    if paper.status == "DENIED":
        tripped = f", breaker {paper.trip} tripped" if paper.trip else ""
        return (
            Cause.RISK_DENIED,
            f"paper order {paper.client_order_id} was denied on {closed}: {paper.reason}{tripped}",
        )
    if paper.status == "CANCELED" and paper.reason == RECONCILIATION_REASON:
        return (
            Cause.RECONCILIATION_CANCEL,
            f"paper order {paper.client_order_id} was canceled by the reconciliation at a restart "
            f"({RECONCILIATION_REASON}): it was logged but never reached the venue",
        )
    if paper.status in ("CANCELED", "EXPIRED"):
        return (
            Cause.CANCELED,
            f"paper order {paper.client_order_id} was {paper.status.lower()} on {closed} "
            f"({paper.reason or 'no reason given'}) before it filled",
        )
    if paper.status == "REJECTED":
        return (
            Cause.VENUE_REJECTED,
            f"the paper venue rejected order {paper.client_order_id}: {paper.reason}",
        )
    if context.venue_model:
        return (
            Cause.VENUE_MODEL,
            f"paper order {paper.client_order_id} did not fill there; the venues' fill models "
            f"differ ({context.venue_model})",
        )
    if paper.status == "OPEN" and bar in context.restart_bars:
        return Cause.SESSION_RESTARTED, (
            f"paper order {paper.client_order_id} was working: {context.restart_text(bar)}"
        )
    if bar == context.paper_last_bar and paper.status == "OPEN":
        return (
            Cause.SESSION_STOPPED,
            f"paper order {paper.client_order_id} was still working when the session stopped "
            f"while handling its last bar, {context.bar_text(bar)}: that bar's fills were not "
            "stored",
        )
    return Cause.UNEXPLAINED, f"paper order {paper.client_order_id} is {paper.status}"


def _why_not_in_backtest(
    backtest: OrderTrace | None, bar: int | None, context: _Context
) -> tuple[Cause, str]:
    """Why the backtest has no such fill (or order) on ``bar``."""
    if backtest is None:
        return Cause.UNEXPLAINED, f"the backtest sent no such order on {context.bar_text(bar)}"
    closed = context.bar_text(backtest.closed_bar)
    name = backtest.client_order_id
    if backtest.status == "DENIED":
        return Cause.RISK_DENIED, f"backtest order {name} was denied on {closed}: {backtest.reason}"
    if backtest.status == "REJECTED":
        return Cause.VENUE_REJECTED, f"the backtest venue rejected {name}: {backtest.reason}"
    if backtest.status in ("CANCELED", "EXPIRED"):
        return (
            Cause.CANCELED,
            f"backtest order {name} was {backtest.status.lower()} on {closed} "
            f"({backtest.reason or 'no reason given'}) before it filled",
        )
    if context.venue_model:
        return (
            Cause.VENUE_MODEL,
            f"backtest order {name} did not fill there; the venues' fill models differ "
            f"({context.venue_model})",
        )
    return Cause.UNEXPLAINED, f"backtest order {name} is {backtest.status}"


def _mark_divergence(rows: list[ComparedFill], context: _Context) -> list[ComparedFill]:
    """A difference with no cause of its own follows from the latest restart before it, else
    from the first difference before it."""
    differing = [row.bar for row in rows if row.difference is not None]
    if not differing:
        return rows
    first = min(differing)
    marked = []
    for row in rows:
        origin = _divergence_origin(row, first, context)
        marked.append(
            row
            if origin is None
            else replace(row, cause=Cause.DIVERGED, explanation=f"{row.explanation}; {origin}")
        )
    return marked


def _divergence_origin(row: ComparedFill, first: int, context: _Context) -> str | None:
    if row.cause is not Cause.UNEXPLAINED:
        return None
    restarts = [bar for bar in context.restart_bars if bar < row.bar]
    if restarts and max(restarts) >= first:
        return (
            f"it follows the restart during {context.bar_text(max(restarts))}: a strategy's "
            "instance state is not kept across restarts"
        )
    if row.bar > first:
        return (
            f"it follows the first difference, on {context.bar_text(first)}: the strategy's "
            "position or state differs from there"
        )
    return None


def _last_closes(bars: Iterable[Bar]) -> dict[str, int]:
    closes: dict[str, int] = {}
    for bar in bars:
        closes[bar.instrument_id] = bar.close
    return closes


def _totals(
    orders: Sequence[OrderTrace],
    marks: dict[str, int],
    currencies: dict[str, str],
    instruments: dict[str, Instrument],
) -> ModeTotals:
    fees: defaultdict[str, int] = defaultdict(int)
    pnl: defaultdict[str, int] = defaultdict(int)
    net: defaultdict[str, int] = defaultdict(int)
    fills = 0
    for order in orders:
        instrument_id = order.spec.instrument_id
        unit = notional_per_tick_lot(instruments[instrument_id])
        sign = 1 if order.spec.side == _BUY else -1
        for fill in order.fills:
            fills += 1
            pnl[currencies[instrument_id]] -= sign * fill.price * fill.quantity * unit
            pnl[fill.currency] -= fill.commission
            fees[fill.currency] += fill.commission
            net[instrument_id] += sign * fill.quantity
    for instrument_id, lots in net.items():
        if lots:
            unit = notional_per_tick_lot(instruments[instrument_id])
            pnl[currencies[instrument_id]] += lots * marks[instrument_id] * unit
    return ModeTotals(orders=len(orders), fills=fills, fees=dict(fees), pnl=dict(pnl))


def _latency(orders: Sequence[OrderTrace]) -> dict[str, LatencyStats]:
    """From the paper log's stamps: strategy command to ``OrderSubmitted``, ``OrderSubmitted``
    to ``OrderAccepted``, command to the first fill."""
    spans: dict[str, list[int]] = {
        "command_to_submitted": [],
        "submitted_to_accepted": [],
        "command_to_first_fill": [],
    }
    for order in orders:
        if order.ts_command is not None and order.ts_submitted is not None:
            spans["command_to_submitted"].append(order.ts_submitted - order.ts_command)
        if order.ts_submitted is not None and order.ts_accepted is not None:
            spans["submitted_to_accepted"].append(order.ts_accepted - order.ts_submitted)
        if order.ts_command is not None and order.fills:
            spans["command_to_first_fill"].append(order.fills[0].ts_init - order.ts_command)
    return {name: _stats(values) for name, values in spans.items() if values}


def _stats(values: list[int]) -> LatencyStats:
    ordered = sorted(values)

    def rank(share: float) -> int:
        # Nearest rank: the smallest value with at least `share` of the values at or below it.
        return ordered[max(0, -(-len(ordered) * round(share * 100) // 100) - 1)]

    return LatencyStats(len(ordered), rank(0.50), rank(0.99), ordered[-1])


__all__ = [
    "Cause",
    "ComparedFill",
    "Comparison",
    "Difference",
    "LatencyStats",
    "ModeTotals",
    "compare_paper_to_backtest",
    "money_text",
]
