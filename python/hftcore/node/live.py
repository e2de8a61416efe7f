"""A node on real venues: the config's ``[[venues]]`` adapters attached as market data feeds
and order clients, the config's strategies, a live clock and the event store (``hftcore
live``; ``docs/venues.md``).

``node.mode`` means what it means everywhere: in ``"paper"`` each venue's market data is live
and its orders go to a simulated venue fed by that data (a ``SimulatedBookVenue``; an Alpaca
paper venue whose book is Alpaca's quotes); in ``"live"`` they go to the venue. The node, the
OMS, the risk gate and the strategies are the same in both, and the same as in a backtest.

Every command and order event is committed to the event store before the node acts on it. On
a restart the node rebuilds its orders, positions and balances from the store
(:meth:`LiveSession.recover`), then:

- **live**: each order the log says a venue is working is given back to that venue's client
  (``restore_order``), so what the venue reports of it is recognised and no logged fill is
  applied twice; each adapter then asks its venue what happened while the node was down as it
  connects (Binance queries every open order, Kraken's executions snapshot, Alpaca's resync,
  the FIX session's resend of the sequence gap);
- **paper**: the simulated venue died with the process, and its book with it: the orders it
  was working are canceled (``OrderCanceled`` ``NOT_FOUND_AT_VENUE``) by the reconciliation,
  and strategies see those cancels.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import msgspec

from hftcore.errors import ConfigError, HftcoreError
from hftcore.model.events import OrderFilled
from hftcore.node.clock import LiveClock
from hftcore.node.config import NodeConfig, VenueConfig
from hftcore.node.kernel import Recovery, TradingNode
from hftcore.node.paper import AT_VENUE, run_session, summarize
from hftcore.node.strategy import load_strategy_class
from hftcore.oms.order import OrderStatus
from hftcore.store import DEFAULT_SQLITE_FILENAME, EventStore, SqliteEventStore, open_event_store
from hftcore.venues.assembly import Mode
from hftcore.venues.base import RestoredOrder, VenueClient

if TYPE_CHECKING:
    from hftcore.venues.alpaca import AlpacaMarketData
    from hftcore.venues.live import WebSocketSession

logger = logging.getLogger(__name__)

STORE_URL_PREFIXES = ("sqlite:///", "postgresql://", "postgres://")


class AttachedVenue(Protocol):
    """A venue adapter on the node: what :func:`attach_venue` returns."""

    @property
    def venue(self) -> VenueClient:
        """The client the node sends this venue's orders to."""

    def start(self) -> None:
        """Starts the connections in the running event loop."""

    async def stop(self) -> None:
        """Closes the connections."""

    def counters(self) -> dict[str, int]:
        """What the adapter's connections saw (frames, malformed messages, reconnections...)."""

    def on_clock_tick(self, ts: int) -> None:
        """The session's clock reached ``ts``: a paper venue moves there (orders in flight
        arrive even when no market data comes)."""

    async def wait_ready(self) -> None:
        """Returns once orders can go out (the order connection is up)."""


@runtime_checkable
class RestorableVenue(Protocol):
    """A live venue client that takes back, after a restart, the orders its venue works."""

    def restore_order(self, restored: RestoredOrder) -> None: ...


@runtime_checkable
class DrainableVenue(Protocol):
    """A venue client with a command queue that can be waited for."""

    async def drain(self) -> None: ...


def attach_venue(
    node: TradingNode, entry: VenueConfig, mode: Mode, environ: Mapping[str, str] | None = None
) -> AttachedVenue:
    """Adds the venue a ``[[venues]]`` table describes to ``node`` in ``mode``; keys come from
    ``environ`` (default: the process environment)."""
    # Each adapter is imported when a config names it: each needs its package's extra.
    settings = entry.adapter_settings()
    if entry.adapter == "binance":
        from hftcore.venues.binance import BinanceConfig, attach_binance

        assert isinstance(settings, BinanceConfig)
        return attach_binance(
            node,
            msgspec.structs.replace(settings, mode=mode),
            entry.instruments,
            venue=entry.venue,
            paper_venue=entry.paper_venue,
            environ=environ,
        )
    if entry.adapter == "kraken":
        from hftcore.venues.kraken import KrakenConfig, attach_kraken

        assert isinstance(settings, KrakenConfig)
        return attach_kraken(
            node,
            msgspec.structs.replace(settings, mode=mode),
            entry.instruments,
            venue=entry.venue,
            paper_venue=entry.paper_venue,
            environ=environ,
        )
    if entry.adapter == "alpaca":
        from hftcore.venues.alpaca import AlpacaConfig, attach_alpaca

        assert isinstance(settings, AlpacaConfig)
        return attach_alpaca(
            node,
            settings,
            entry.instruments,
            mode=mode,
            venue=entry.venue,
            paper_venue=entry.paper_venue,
            environ=environ,
        )
    from hftcore.venues.fix import FixSessionConfig, attach_fix

    assert isinstance(settings, FixSessionConfig)
    if settings.data_dir is None:
        # Sequence numbers must outlive the process, or the venue refuses the next logon.
        data_dir = Path(node.config.node.data_dir) / "fix" / entry.venue
        settings = msgspec.structs.replace(settings, data_dir=str(data_dir))
    return attach_fix(node, settings, entry.instruments, venue=entry.venue)


class AttachedFeed(Protocol):
    """A venue adapter's market data alone, for instruments traded elsewhere (``feed_only``)."""

    def start(self) -> None: ...

    async def stop(self) -> None: ...

    def counters(self) -> dict[str, int]: ...


@dataclass(slots=True)
class _SessionFeed:
    """A Binance or Kraken market data session feeding the node's cache books."""

    feed: WebSocketSession
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self.feed.run())

    async def stop(self) -> None:
        await self.feed.stop()
        if self._task is not None:
            await self._task

    def counters(self) -> dict[str, int]:
        return asdict(self.feed.counters)


@dataclass(slots=True)
class _AlpacaFeed:
    """Alpaca's market data stream into the node."""

    market_data: AlpacaMarketData
    _starting: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._starting = asyncio.ensure_future(self.market_data.start())

    async def stop(self) -> None:
        if self._starting is not None:
            await self._starting
        await self.market_data.stop()

    def counters(self) -> dict[str, int]:
        return msgspec.structs.asdict(self.market_data.stats)


def attach_feed(
    node: TradingNode, entry: VenueConfig, environ: Mapping[str, str] | None = None
) -> AttachedFeed:
    """The market data of ``entry.feed_only`` from the adapter ``entry`` names, into the
    node's cache books (no venue: their orders go wherever ``instruments`` sends them)."""
    settings = entry.adapter_settings()
    instruments = [node.cache.instrument(instrument_id) for instrument_id in entry.feed_only]
    if entry.adapter == "alpaca":
        from hftcore.venues.alpaca import (
            AlpacaConfig,
            AlpacaCredentials,
            AlpacaMarketData,
            AlpacaNodeFeed,
        )

        assert isinstance(settings, AlpacaConfig)
        credentials = AlpacaCredentials.from_environment(environ)
        return _AlpacaFeed(
            AlpacaMarketData(
                settings, instruments, AlpacaNodeFeed(node, None), credentials=credentials
            )
        )
    from hftcore.venues.live import NodeMarketData

    handler = NodeMarketData(node)
    books = {iid: node.cache.book(iid) for iid in entry.feed_only}
    if entry.adapter == "binance":
        from hftcore.venues.binance import BinanceConfig, BinanceMarketData

        assert isinstance(settings, BinanceConfig)
        return _SessionFeed(BinanceMarketData(settings, instruments, handler, books=books))
    from hftcore.venues.kraken import KrakenConfig, KrakenMarketData

    assert isinstance(settings, KrakenConfig)
    return _SessionFeed(KrakenMarketData(settings, instruments, handler, books=books))


def open_store(config: NodeConfig, store: str | Path | None) -> EventStore:
    """The event store: ``store`` as a ``sqlite:///`` or ``postgresql://`` URL or a SQLite
    file path; None: ``<data_dir>/events.sqlite``."""
    if isinstance(store, str) and store.startswith(STORE_URL_PREFIXES):
        return open_event_store(store)
    path = Path(config.node.data_dir) / DEFAULT_SQLITE_FILENAME if store is None else Path(store)
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteEventStore(path)


@dataclass(frozen=True, slots=True)
class LiveSummary:
    """A live session's state in plain values: per order its status and filled lots, per
    ``"strategy|instrument"`` the net lots, balances per currency, and per venue what its
    adapter's connections saw."""

    mode: str
    last_seq: int
    orders: dict[str, tuple[str, int]]
    positions: dict[str, int]
    balances: dict[str, int]
    venues: dict[str, dict[str, int]]

    def to_json(self) -> bytes:
        return msgspec.json.encode(
            {
                "mode": self.mode,
                "last_seq": self.last_seq,
                "orders": self.orders,
                "positions": self.positions,
                "balances": self.balances,
                "venues": self.venues,
            }
        )


class LiveSession:
    """One node on the config's venue adapters, with its event store; see the module docs.

    Construction checks the config (``node.mode`` paper or live, at least one strategy and one
    venue), opens the store and attaches every venue (a missing key raises ``ConfigError``
    ``MISSING_CREDENTIALS`` naming the variable and the venue) without connecting anything:
    :meth:`run` connects."""

    def __init__(
        self,
        config: NodeConfig,
        *,
        store: str | Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        mode = config.node.mode
        if mode not in ("paper", "live"):
            raise ConfigError(
                "INVALID_CONFIG", f"node.mode: expected 'paper' or 'live', got {mode!r}"
            )
        if not config.strategies:
            raise ConfigError("INVALID_CONFIG", "strategies: at least one strategy is needed")
        if not config.venues:
            raise ConfigError("INVALID_CONFIG", "venues: at least one [[venues]] table is needed")
        self.config = config
        self.mode: Mode = mode
        self.store = open_store(config, store)
        try:
            self.clock = LiveClock()
            self.node = TradingNode(config, clock=self.clock, store=self.store)
            self.adapters: dict[str, AttachedVenue] = {}
            self.feeds: dict[str, AttachedFeed] = {}
            for index, entry in enumerate(config.venues):
                try:
                    if entry.instruments:
                        self.adapters[entry.venue] = attach_venue(self.node, entry, mode, environ)
                    if entry.feed_only:
                        self.feeds[entry.venue] = attach_feed(self.node, entry, environ)
                except ConfigError as error:
                    raise ConfigError(
                        error.code, f"venues[{index}] ({entry.venue}): {error.message}"
                    ) from None
            for strategy_config in config.strategies:
                strategy_class = load_strategy_class(strategy_config.path)
                self.node.add_strategy(
                    strategy_class(strategy_config.strategy_id, strategy_config.params),
                    on_error=strategy_config.on_error,
                )
            # Imported here: hftcore.risk.live builds on the node modules this one sits beside.
            from hftcore.risk.live import RiskMonitor, control_directory

            controls = msgspec.structs.replace(
                config.risk_controls, control_dir=str(control_directory(config))
            )
            self.risk_monitor = RiskMonitor(self.node, controls, store=self.store)
        except BaseException:
            self.store.close()
            raise

    def recover(self) -> Recovery:
        """Rebuilds the node from the store (a no-op on an empty store); in live mode gives the
        venues' clients back the orders they work. Call it before :meth:`run`."""
        state = self.node.rebuild_from(self.store)
        restored = self._restore_working_orders() if self.mode == "live" else 0
        # The log's trips and kill switch hold before reconciliation may send anything.
        self.risk_monitor.restore(self.store)
        recovery = self.node.reconcile_venues(self.store, state)
        logger.info(
            "recovered %d events, %d orders (%d working at live venues), %d abandoned submits, "
            "%d orders the venues no longer have",
            state.event_count,
            len(state.orders),
            restored,
            len(recovery.abandoned_submits),
            len(recovery.report.lost_orders),
        )
        return recovery

    def _restore_working_orders(self) -> int:
        restored = 0
        for order in self.node.execution.oms.orders(open_only=True):
            if order.status not in AT_VENUE:
                continue
            _, venue = self.node.execution.venue_for(order.instrument_id)
            if not isinstance(venue, RestorableVenue):
                continue
            fills = tuple(
                (event.trade_id, event.last_price, event.last_quantity)
                for event in order.events
                if isinstance(event, OrderFilled)
            )
            venue.restore_order(
                RestoredOrder(
                    strategy_id=order.strategy_id,
                    client_order_id=order.client_order_id,
                    spec=order.spec,
                    submitted_ts=order.ts_init,
                    venue_order_id=order.venue_order_id,
                    fills=fills,
                    triggered=order.status is OrderStatus.TRIGGERED,
                )
            )
            restored += 1
        return restored

    def summary(self) -> LiveSummary:
        state = summarize(self.node, self.store.last_seq())
        return LiveSummary(
            self.mode,
            state.last_seq,
            state.orders,
            state.positions,
            state.balances,
            {
                **{name: adapter.counters() for name, adapter in self.adapters.items()},
                **{f"{name} feed_only": feed.counters() for name, feed in self.feeds.items()},
            },
        )

    async def run(
        self, *, duration_s: float | None = None, stop: asyncio.Event | None = None
    ) -> None:
        """Connects every venue, starts the strategies once every venue can take orders (or
        after ``live.connect_timeout_s``, with an error logged), then runs until ``stop`` is set
        or ``duration_s`` passes. Market data that arrives before the strategies start is
        already in the cache when they do. On the way out the strategies stop first (what they
        cancel still reaches the venues), the commands queued for each venue go out (for up to
        ``live.stop_timeout_s``), then the connections close."""
        stop = stop if stop is not None else asyncio.Event()
        loop = asyncio.get_running_loop()
        deadline = None if duration_s is None else loop.time() + duration_s
        started: list[AttachedVenue | AttachedFeed] = []
        ticks: asyncio.Task[None] | None = None
        try:
            for connection in [*self.adapters.values(), *self.feeds.values()]:
                connection.start()
                started.append(connection)
            if not await self._until_ready(stop, deadline):
                return
            self.node.start()
            ticks = asyncio.create_task(self._tick())
            remaining = None if deadline is None else max(0.0, deadline - loop.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=remaining)
        finally:
            if ticks is not None:
                ticks.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticks
                self.node.stop()
            await self._close(started)

    async def _until_ready(self, stop: asyncio.Event, deadline: float | None) -> bool:
        """Waits until every venue can take orders; False if the session ends first."""
        loop = asyncio.get_running_loop()
        timeout = self.config.live.connect_timeout_s
        if deadline is not None:
            timeout = min(timeout, max(0.0, deadline - loop.time()))
        waits = {
            name: asyncio.ensure_future(adapter.wait_ready())
            for name, adapter in self.adapters.items()
        }
        everyone = asyncio.gather(*waits.values())
        stopping = asyncio.ensure_future(stop.wait())
        either: set[asyncio.Future[Any]] = {everyone, stopping}
        try:
            await asyncio.wait(either, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            everyone.cancel()
            # Retrieved, so that a cancelled wait is not reported as an unhandled error.
            await asyncio.gather(everyone, stopping, return_exceptions=True)
        if stop.is_set() or (deadline is not None and loop.time() >= deadline):
            return False
        late = [name for name, wait in waits.items() if wait.cancelled()]
        if late:
            logger.error(
                "venues %s cannot take orders after %s s; starting the strategies anyway",
                late,
                timeout,
            )
        return True

    async def _tick(self) -> None:
        # Only the paper venues' time: the node's own time is the data's (ts_init), and moving
        # it ahead of data still to come would make that data look late.
        interval = self.config.live.tick_interval_s
        while True:
            await asyncio.sleep(interval)
            now = self.clock.timestamp_ns()
            for name, adapter in self.adapters.items():
                try:
                    adapter.on_clock_tick(now)
                except HftcoreError as error:  # a refusal must not stop the clock
                    logger.error("venue %s: moving its time to %d failed: %s", name, now, error)

    async def _close(self, connections: list[AttachedVenue | AttachedFeed]) -> None:
        timeout = self.config.live.stop_timeout_s
        queued = [
            venue.drain()
            for venue in (adapter.venue for adapter in self.adapters.values())
            if isinstance(venue, DrainableVenue)
        ]
        if queued:
            try:
                await asyncio.wait_for(asyncio.gather(*queued), timeout)
            except TimeoutError:
                logger.error("commands still queued for a venue after %s s: not sent", timeout)
        errors: list[BaseException] = []
        for connection in connections:
            try:
                await connection.stop()
            except Exception as error:  # every connection gets closed, whatever one raised
                logger.exception("closing %r failed", connection)
                errors.append(error)
        if errors:
            raise errors[0]

    def close(self) -> None:
        self.risk_monitor.close()
        self.store.close()


def run_live(
    session: LiveSession,
    *,
    duration_s: float | None = None,
    summary_path: Path | None = None,
) -> LiveSummary:
    """:func:`~hftcore.node.paper.run_session` of a live session."""
    return run_session(session, duration_s=duration_s, summary_path=summary_path)


__all__ = [
    "AttachedFeed",
    "AttachedVenue",
    "DrainableVenue",
    "LiveSession",
    "LiveSummary",
    "RestorableVenue",
    "attach_feed",
    "attach_venue",
    "open_store",
    "run_live",
]
