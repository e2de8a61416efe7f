"""Paper trading: the node on a live clock, a bar stream replayed in real time (or faster),
a simulated venue, and every command and event in a SQLite event store first.

What survives a crash (``kill -9`` included), and why nothing acknowledged is lost:

- The **event store** (``<data_dir>/events.sqlite``) holds every strategy command (the intent
  log) and every order event, each committed (WAL, ``synchronous=FULL``) before the node acts
  on it. A strategy, the OMS or the portfolio only ever sees what is already durable.
- The **simulated venue** lives in the node's process and dies with it. Its state is a function
  of the log: an order reaches it only after its ``OrderSubmitted`` is committed, and each of
  its answers (accept, fill, cancel) is committed before anyone hears of it. On restart
  :meth:`PaperVenue.restore` re-creates every order the log says was sent and is still working,
  with its filled quantity, venue order id and terms, without emitting anything; trade and venue
  order numbers resume above the highest logged ones, so they never collide.
- The **replay position** (``paper.next_bar`` in the store's meta) is written before a bar is
  processed: a restart resumes after the last bar the node began, never feeding a bar twice.
  Fills that bar caused and the node had not committed are lost with it; they were never
  acknowledged, and no strategy saw them.
- What is not persisted: strategy instance variables (a strategy rebuilds what it needs from its
  ``on_start``), the cache (prices come back with the next bar), timers.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import itertools
import logging
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

import msgspec

from hftcore._core import Instrument
from hftcore.errors import ConfigError, InvalidValue
from hftcore.model.data import Bar
from hftcore.node.clock import LiveClock
from hftcore.node.config import NodeConfig
from hftcore.node.kernel import Recovery, TradingNode
from hftcore.node.strategy import load_strategy_class
from hftcore.oms.manager import OrderManager
from hftcore.oms.order import OrderStatus
from hftcore.store.base import EventStore
from hftcore.store.recovery import RecoveredState
from hftcore.store.sqlite import DEFAULT_SQLITE_FILENAME, SqliteEventStore
from hftcore.venues.bars import BarVenue, _BarOrder
from hftcore.venues.base import ClientOrder

if TYPE_CHECKING:
    from hftcore.risk.live import RiskMonitor

logger = logging.getLogger(__name__)

REPLAY_POSITION_KEY = "paper.next_bar"
BAR_STAMP_PREFIX = "paper.bar_ts."
RESTARTS_KEY = "paper.restarts"
"""The replay positions (``paper.next_bar``) at which the session was recovered and resumed."""
PAPER_VENUE = "SIM"

AT_VENUE = frozenset(
    {
        OrderStatus.SUBMITTED,
        OrderStatus.ACCEPTED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PENDING_UPDATE,
        OrderStatus.PENDING_CANCEL,
        OrderStatus.TRIGGERED,
    }
)
"""Sent to the venue and not known to be closed: the venue had these orders when the node
stopped."""


class PaperVenue(BarVenue):
    """The bar venue, able to take back its working orders from a rebuilt OMS."""

    def restore(self, oms: OrderManager, state: RecoveredState) -> int:
        """Re-creates the working orders the log says this venue had, silently (their events
        are already logged). Returns how many. Call it on a fresh venue only."""
        if self._orders:
            raise InvalidValue("VENUE_NOT_EMPTY", "restore a paper venue before any order")
        used_ids = [
            int(order.venue_order_id)
            for order in oms
            if order.venue_order_id is not None and order.venue_order_id.isdigit()
        ]
        next_id = max(used_ids, default=0) + 1
        restored = 0
        for order in oms.orders(open_only=True):
            if order.status not in AT_VENUE or order.instrument_id not in self._listings:
                continue
            known = order.venue_order_id
            if known is not None and known.isdigit():
                venue_order_id = int(known)
            else:
                venue_order_id, next_id = next_id, next_id + 1
            spec = order.spec
            client_order = ClientOrder(
                strategy_id=order.strategy_id,
                client_order_id=order.client_order_id,
                venue_order_id=venue_order_id,
                spec=spec,
                submitted_ts=order.ts_init,
                quantity=order.quantity,
                price=spec.price,
                trigger_price=spec.trigger_price,
                filled=order.filled_quantity,
                accepted=known is not None,
                triggered=order.status is OrderStatus.TRIGGERED,
            )
            self._orders[order.client_order_id] = client_order
            self._by_venue_id[venue_order_id] = client_order
            working = _BarOrder(client_order, order.ts_last, filled_notional=order.notional)
            self._working[order.instrument_id][venue_order_id] = working
            if spec.expire_ts is not None:
                self._expiring[order.instrument_id][venue_order_id] = working
            restored += 1
        self._venue_ids = itertools.count(next_id)
        # What its reduce-only orders (bracket exits) reduce: the positions the log's fills made.
        self._positions = {
            owner: lots for owner, lots in state.positions.items() if owner[1] in self._listings
        }
        self._trade_ids = max(
            (_trailing_number(trade_id) for _, trade_id in state.trade_ids), default=0
        )
        return restored


def bar_stamp_key(index: int) -> str:
    """The meta key holding the wall-clock ns at which bar ``index`` was replayed."""
    return f"{BAR_STAMP_PREFIX}{index}"


def _trailing_number(trade_id: str) -> int:
    tail = trade_id.rpartition("-")[2]
    return int(tail) if tail.isdigit() else 0


BUNDLED_PREFIX = "bundled:"


def load_paper_bars(config: NodeConfig, data: str, *, bar_type: str = "1-DAY") -> list[Bar]:
    """The bars to replay: ``bundled:NAME`` (a bundled daily series) or a catalog root (the
    configured instruments' ``bar_type`` bars, merged in time order)."""
    if data.startswith(BUNDLED_PREFIX):
        from hftcore.node.backtest import bundled_bar_events

        _, bars = bundled_bar_events(data[len(BUNDLED_PREFIX) :])
        return bars
    from hftcore.data.catalog import DataCatalog
    from hftcore.data.schema import DatasetKey

    catalog = DataCatalog(data)
    datasets = [DatasetKey(entry.instrument_id, "bars", bar_type) for entry in config.instruments]
    return [event for _, event in catalog.events(datasets) if isinstance(event, Bar)]


@dataclass(frozen=True, slots=True)
class PaperSummary:
    """A node's state in plain values (for comparison across restarts): per order its status
    and filled lots, per ``"strategy|instrument"`` the net lots, balances per currency."""

    last_seq: int
    orders: dict[str, tuple[str, int]]
    positions: dict[str, int]
    balances: dict[str, int]

    def to_json(self) -> bytes:
        return msgspec.json.encode(
            {
                "last_seq": self.last_seq,
                "orders": self.orders,
                "positions": self.positions,
                "balances": self.balances,
            }
        )


def summarize(node: TradingNode, last_seq: int) -> PaperSummary:
    orders = {
        order.client_order_id: (order.status.name, order.filled_quantity)
        for order in node.execution.oms
    }
    positions = {}
    for strategy_id in sorted({order.strategy_id for order in node.execution.oms}):
        for instrument in node.cache.instruments():
            net = node.portfolio.net_quantity(instrument.instrument_id, strategy_id)
            if net:
                positions[f"{strategy_id}|{instrument.instrument_id}"] = net
    return PaperSummary(last_seq, orders, positions, node.portfolio.balances())


class PaperSession:
    """One paper node over a bar stream, with its event store; see the module docs."""

    def __init__(
        self,
        config: NodeConfig,
        bars: Sequence[Bar],
        *,
        speed: float = 1.0,
        store_path: str | Path | None = None,
    ) -> None:
        if config.node.mode != "paper":
            raise ConfigError(
                "INVALID_CONFIG", f"node.mode: expected 'paper', got {config.node.mode!r}"
            )
        if not config.strategies:
            raise ConfigError("INVALID_CONFIG", "strategies: at least one strategy is needed")
        if not speed > 0:
            raise InvalidValue("INVALID_SPEED", f"speed must be > 0, got {speed!r}")
        self.bars = list(bars)
        for index in range(1, len(self.bars)):
            if self.bars[index].ts_event < self.bars[index - 1].ts_event:
                raise InvalidValue(
                    "OUT_OF_ORDER", f"bar {index} comes before bar {index - 1} in time"
                )
        self.speed = speed
        path = (
            Path(store_path)
            if store_path is not None
            else Path(config.node.data_dir) / DEFAULT_SQLITE_FILENAME
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        self.store: EventStore = SqliteEventStore(path)
        self.clock = LiveClock()
        self.node = TradingNode(config, clock=self.clock, store=self.store)
        instruments: Mapping[Instrument, str] = {
            self.node.cache.instrument(entry.instrument_id): entry.quote_currency
            for entry in config.instruments
        }
        self.venue = PaperVenue(PAPER_VENUE, instruments)
        self.node.add_venue(PAPER_VENUE, self.venue)
        for strategy_config in config.strategies:
            strategy_class = load_strategy_class(strategy_config.path)
            self.node.add_strategy(
                strategy_class(strategy_config.strategy_id, strategy_config.params),
                on_error=strategy_config.on_error,
            )
        self.bars_processed = 0
        # Imported here: hftcore.risk.live builds on the node modules this one sits beside.
        from hftcore.risk.live import RiskMonitor, control_directory

        controls = msgspec.structs.replace(
            config.risk_controls, control_dir=str(control_directory(config))
        )
        self.risk_monitor = RiskMonitor(self.node, controls, store=self.store)

    def recover(self) -> Recovery:
        """Rebuilds the node and the venue from the store (a no-op on an empty store)."""
        resumed_at = self.store.get_meta(REPLAY_POSITION_KEY)
        if isinstance(resumed_at, int) and not isinstance(resumed_at, bool):
            # Kept so that a comparison with a backtest can tell what a restart changed.
            earlier = self.store.get_meta(RESTARTS_KEY, [])
            restarts = earlier if isinstance(earlier, list) else []
            self.store.put_meta(RESTARTS_KEY, [*restarts, resumed_at])
        state = self.node.rebuild_from(self.store)
        restored = self.venue.restore(self.node.execution.oms, state)
        # The log's trips and kill switch hold before reconciliation may send anything (children
        # released but never sent before the stop).
        self.risk_monitor.restore(self.store)
        recovery = self.node.reconcile_venues(self.store, state)
        logger.info(
            "recovered %d events, %d orders (%d working at the venue), %d abandoned submits",
            state.event_count,
            len(state.orders),
            restored,
            len(recovery.abandoned_submits),
        )
        return recovery

    def summary(self) -> PaperSummary:
        return summarize(self.node, self.store.last_seq())

    async def run(
        self, *, duration_s: float | None = None, stop: asyncio.Event | None = None
    ) -> int:
        """Replays the bars not yet processed (paced by their timestamps / ``speed``) until
        they run out, ``duration_s`` passes or ``stop`` is set; returns the bars processed."""
        stop = stop if stop is not None else asyncio.Event()
        loop = asyncio.get_running_loop()
        deadline = None if duration_s is None else loop.time() + duration_s
        start = self.store.get_meta(REPLAY_POSITION_KEY, 0)
        first = int(start) if isinstance(start, int) else 0
        self.node.start()
        try:
            anchor_wall = loop.time()
            for index in range(first, len(self.bars)):
                bar = self.bars[index]
                due = anchor_wall + (bar.ts_event - self.bars[first].ts_event) / 1e9 / self.speed
                if deadline is not None:
                    due = min(due, deadline)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=max(0.0, due - loop.time()))
                if stop.is_set() or (deadline is not None and loop.time() >= deadline):
                    break
                now = self.clock.timestamp_ns()
                # The bar's replay stamp goes with the position, in one commit: a comparison
                # with a backtest maps the log's wall-clock stamps back to bars through it.
                self.store.append_many(
                    (), meta={REPLAY_POSITION_KEY: index + 1, bar_stamp_key(index): now}
                )
                self.node.advance_to(now)
                # Reactions to the bar are stamped with its time, as in a backtest: an order
                # sent at a bar's close is eligible for the next bar at the bar venue.
                with self.clock.held_at(now):
                    self.node.process_bar(msgspec.structs.replace(bar, ts_event=now, ts_init=now))
                self.bars_processed += 1
            if deadline is not None and not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=max(0.0, deadline - loop.time()))
        finally:
            self.node.stop()
        return self.bars_processed

    def close(self) -> None:
        self.risk_monitor.close()
        self.store.close()


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop when it is installed, else asyncio's."""
    try:
        # Imported by name: uvloop is optional and not installed everywhere mypy runs.
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


class _Summary(Protocol):
    def to_json(self) -> bytes: ...


SummaryT = TypeVar("SummaryT", bound=_Summary)
SummaryT_co = TypeVar("SummaryT_co", bound=_Summary, covariant=True)


class RunnableSession(Protocol[SummaryT_co]):
    """What :func:`run_session` runs: a paper or a live session."""

    @property
    def risk_monitor(self) -> RiskMonitor: ...

    def recover(self) -> Recovery: ...

    async def run(
        self, *, duration_s: float | None = None, stop: asyncio.Event | None = None
    ) -> object: ...

    def summary(self) -> SummaryT_co: ...

    def close(self) -> None: ...


def run_session(
    session: RunnableSession[SummaryT],
    *,
    duration_s: float | None = None,
    summary_path: Path | None = None,
    after_recovery: Callable[[], None] | None = None,
) -> SummaryT:
    """Recovers the session (then calls ``after_recovery``), runs it on a fresh event loop
    until it ends, ``duration_s`` passes or SIGINT/SIGTERM stop it cleanly (SIGUSR1 and
    requests in the control directory reach the kill switch), and returns its final summary
    (also written to ``summary_path`` as JSON when given). The session is closed at the end."""
    loop = new_event_loop()
    try:
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            # Not on every platform or thread: then only --duration (or the data) ends a run.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
        session.risk_monitor.install_signal_handler(loop)

        async def main() -> None:
            session.recover()
            if after_recovery is not None:
                after_recovery()
            controls = asyncio.create_task(session.risk_monitor.watch_controls())
            try:
                await session.run(duration_s=duration_s, stop=stop)
            finally:
                controls.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await controls

        loop.run_until_complete(main())
        summary = session.summary()
        if summary_path is not None:
            summary_path.write_bytes(summary.to_json())
        return summary
    finally:
        loop.close()
        session.close()


def run_paper(
    session: PaperSession,
    *,
    duration_s: float | None = None,
    summary_path: Path | None = None,
    recovered_path: Path | None = None,
) -> PaperSummary:
    """:func:`run_session` of a paper session; the state right after recovery goes to
    ``recovered_path`` as JSON when given."""

    def note_recovered() -> None:
        if recovered_path is not None:
            recovered_path.write_bytes(session.summary().to_json())

    return run_session(
        session, duration_s=duration_s, summary_path=summary_path, after_recovery=note_recovered
    )


__all__ = [
    "AT_VENUE",
    "BAR_STAMP_PREFIX",
    "PAPER_VENUE",
    "REPLAY_POSITION_KEY",
    "RESTARTS_KEY",
    "PaperSession",
    "PaperSummary",
    "PaperVenue",
    "bar_stamp_key",
    "load_paper_bars",
    "new_event_loop",
    "run_paper",
    "run_session",
    "summarize",
]
