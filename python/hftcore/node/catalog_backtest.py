"""Backtests over the Parquet data catalog: bars, quotes, trades, L2 deltas and L3 messages of
several instruments in one run, merged in timestamp order, through the simulated venues.

Each configured instrument gets a venue from its data (or from ``[backtest] venues``):

* ``bars``: a :class:`BarVenue` filling on the instrument's bars (``docs/venues.md``);
* ``L2``: a :class:`SimulatedBookVenue` whose book is rebuilt from the instrument's L2 deltas,
  or from its quotes (each quote replaces the top level of each side), with its trade prints;
* ``L3``: a :class:`SimulatedBookVenue` on the instrument's L3 messages (FIFO queues).

Three runners, chosen by the data (the results agree where they overlap; the first two are
the fast paths):

1. bars only: :func:`hftcore.node.backtest.run_bars`;
2. one instrument's L2 deltas (and its prints, aggressor known): ``run_book``;
3. anything else: :class:`CatalogReplay`, event by event in merged order, with two clocks as in
   ``run_book`` (``docs/book-backtest.md``): a record at exchange time ``T`` is given to its
   venue once every node event seen before ``T`` has been delivered, and reaches the node at
   its feed time ``f >= T`` (venue events at their ``ts_event``), in time order across
   instruments. Strategies therefore never see data their venue has not replayed, and their
   orders never reach a venue in its past.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import msgspec
import numpy as np
import numpy.typing as npt

from hftcore._core import L2_DELTA_DTYPE, TRADE_DTYPE, Instrument, OrderBookL3
from hftcore.data.catalog import DataCatalog, MergedChunk
from hftcore.data.schema import DatasetKey, to_events, to_records
from hftcore.data.timestamps import to_ns
from hftcore.errors import ConfigError, InvalidData, InvalidValue
from hftcore.model.data import Bar, Quote, Trade
from hftcore.model.events import OrderEvent
from hftcore.model.risk_controls import RiskControlsConfig
from hftcore.node.backtest import _Recorder, run_bars
from hftcore.node.book_backtest import SECONDS_PER_YEAR, run_book
from hftcore.node.clock import SimulatedClock
from hftcore.node.config import BacktestSection, NodeConfig, ReplayDataType
from hftcore.node.kernel import TradingNode
from hftcore.node.strategy import load_strategy_class
from hftcore.oms.order import OrderStatus
from hftcore.reports.backtest import BacktestResult
from hftcore.venues.bars import BarVenue, BarVenueConfig
from hftcore.venues.simulated import SimulatedBookVenue

if TYPE_CHECKING:
    from hftcore.risk.live import RiskMonitor

logger = logging.getLogger(__name__)

VenueKind = Literal["bars", "L2", "L3"]
REPLAY_DATA_TYPES: tuple[ReplayDataType, ...] = (
    "bars",
    "quotes",
    "trades",
    "l2_deltas",
    "l3_messages",
)
BAR_VENUE, L2_VENUE, L3_VENUE = "SIM", "SIM-L2", "SIM-L3"
_BOOK_TYPES = frozenset({"quotes", "trades", "l2_deltas", "l3_messages"})

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while a backtest runs, in nanoseconds of data time
(``total``: the span of the replayed data)."""


@dataclass(frozen=True, slots=True)
class ReplayPlan:
    """What a catalog backtest replays: the datasets in merge order (ties: this order), the
    venue of each instrument, and the span of data time in ``[start, end)``."""

    datasets: tuple[DatasetKey, ...]
    venues: dict[str, VenueKind]
    start: int | None
    end: int | None
    first_ts: int
    last_ts: int

    @property
    def runner(self) -> Literal["bars", "book", "merged"]:
        """``bars`` (bar data only), ``book`` (one instrument's L2 deltas and prints) or
        ``merged``; see the module docs."""
        types = {key.data_type for key in self.datasets}
        if types == {"bars"} and set(self.venues.values()) == {"bars"}:
            return "bars"
        if len(self.venues) == 1 and "l2_deltas" in types and types <= {"l2_deltas", "trades"}:
            return "book"
        return "merged"


def plan_replay(
    config: NodeConfig,
    catalog: DataCatalog,
    *,
    data_types: Iterable[str] | None = None,
    bar_type: str = "1-DAY",
    start: object = None,
    end: object = None,
    venues: dict[str, Literal["bars", "book"]] | None = None,
) -> ReplayPlan:
    """Checks the configured instruments against the catalog and picks datasets and venues.

    Raises ``InvalidValue``: ``UNKNOWN_INSTRUMENT`` (an instrument the catalog has no data for,
    naming the ones it has; or a ``venues`` entry for an instrument not configured),
    ``INSTRUMENT_MISMATCH`` (the config's tick or lot differs from the catalog's spec),
    ``UNKNOWN_DATA_TYPE``, ``NO_DATA`` (nothing of the selected types for an instrument, naming
    what it has); ``ConfigError`` ``CONFLICTING_DATA`` (two sources for one book: quotes and
    L2, or L3 with quotes, trades or L2)."""
    if not config.instruments:
        raise ConfigError("INVALID_CONFIG", "instruments: at least one instrument is needed")
    selected = _data_types(data_types)
    overrides = dict(venues or {})
    configured = {entry.instrument_id: entry for entry in config.instruments}
    for instrument_id in overrides:
        if instrument_id not in configured:
            raise InvalidValue(
                "UNKNOWN_INSTRUMENT",
                f"backtest.venues names {instrument_id!r}, which is not among the configured "
                f"instruments {sorted(configured)}",
            )
    known = {instrument.instrument_id: instrument for instrument in catalog.instruments()}
    datasets: list[DatasetKey] = []
    kinds: dict[str, VenueKind] = {}
    first: list[int] = []
    last: list[int] = []
    for instrument_id, entry in configured.items():
        if instrument_id not in known:
            raise InvalidValue(
                "UNKNOWN_INSTRUMENT",
                f"the catalog {catalog.root} has no data for instrument {instrument_id!r}; "
                f"it has: {sorted(known)}",
            )
        _check_spec(entry.build(), known[instrument_id])
        held = catalog.list_datasets(instrument_id)
        chosen = [
            info
            for info in held
            if info.data_type in selected
            and (info.data_type != "bars" or info.bar_type == bar_type)
        ]
        types: set[str] = {info.data_type for info in chosen}
        kind = _venue_kind(instrument_id, types, overrides.get(instrument_id))
        if not chosen or kind is None:
            wanted = overrides.get(instrument_id, "any")
            raise InvalidValue(
                "NO_DATA",
                f"{instrument_id}: nothing to replay for venue {wanted!r} among "
                f"{sorted(selected)} (bars of {bar_type}); it has {[str(i.key) for i in held]}",
            )
        kinds[instrument_id] = kind
        for info in chosen:
            datasets.append(info.key)
            if info.first_ts is not None and info.last_ts is not None:
                first.append(info.first_ts)
                last.append(info.last_ts)
    if not first:
        raise InvalidData("TOO_FEW_RECORDS", "the selected datasets hold no rows")
    start_ns = None if start is None else to_ns(start, name="start")
    end_ns = None if end is None else to_ns(end, name="end")
    first_ts = min(first) if start_ns is None else max(min(first), start_ns)
    last_ts = max(last) if end_ns is None else min(max(last), end_ns)
    # The catalog's canonical merge order: at one instant book data, then quotes, trades and
    # bars (bars summarise what came before), instruments in config order within a type.
    canonical = ("l3_messages", "l2_deltas", "quotes", "trades", "bars")
    ordered = sorted(datasets, key=lambda key: canonical.index(key.data_type))
    return ReplayPlan(tuple(ordered), kinds, start_ns, end_ns, first_ts, max(first_ts, last_ts))


def _data_types(data_types: Iterable[str] | None) -> frozenset[str]:
    if data_types is None:
        return frozenset(REPLAY_DATA_TYPES)
    chosen = frozenset(data_types)
    unknown = sorted(chosen - set(REPLAY_DATA_TYPES))
    if unknown or not chosen:
        raise InvalidValue(
            "UNKNOWN_DATA_TYPE",
            f"data types must be some of {list(REPLAY_DATA_TYPES)}, got {sorted(chosen)}",
        )
    return chosen


def _check_spec(configured: Instrument, stored: Instrument) -> None:
    fields = ("tick_size", "price_precision", "lot_size", "size_precision")
    if any(getattr(configured, name) != getattr(stored, name) for name in fields):
        raise InvalidValue(
            "INSTRUMENT_MISMATCH",
            f"{configured.instrument_id}: the config says tick {configured.tick_size} / lot "
            f"{configured.lot_size}, the catalog's data is in tick {stored.tick_size} / lot "
            f"{stored.lot_size}: ticks and lots would mean other prices",
        )


def _venue_kind(
    instrument_id: str, types: set[str], wanted: Literal["bars", "book"] | None
) -> VenueKind | None:
    """The venue an instrument's data implies, None when ``wanted`` has no data to run on."""
    if "l3_messages" in types and types & {"quotes", "trades", "l2_deltas"}:
        raise ConfigError(
            "CONFLICTING_DATA",
            f"{instrument_id}: L3 messages are the whole book and its trades; leave out "
            f"{sorted(types & {'quotes', 'trades', 'l2_deltas'})} (--data-types)",
        )
    if {"quotes", "l2_deltas"} <= types:
        raise ConfigError(
            "CONFLICTING_DATA",
            f"{instrument_id}: quotes and L2 deltas would both set the book; choose one "
            "(--data-types)",
        )
    book: VenueKind | None = (
        "L3" if "l3_messages" in types else "L2" if types & _BOOK_TYPES else None
    )
    if wanted == "bars":
        return "bars" if "bars" in types else None
    if wanted == "book":
        return book
    return book if book is not None else "bars"


# ----- the node ---------------------------------------------------------------------------------


def build_node(config: NodeConfig, plan: ReplayPlan, section: BacktestSection) -> TradingNode:
    """A node with the configured strategies and one simulated venue per venue kind of the
    plan: ``SIM`` (bars), ``SIM-L2`` and ``SIM-L3`` (book venues with ``section.book_venue``'s
    latencies and queue model)."""
    if not config.strategies:
        raise ConfigError("INVALID_CONFIG", "strategies: at least one strategy is needed")
    node = TradingNode(config)
    currencies = {entry.instrument_id: entry.quote_currency for entry in config.instruments}
    for kind, name in (("bars", BAR_VENUE), ("L2", L2_VENUE), ("L3", L3_VENUE)):
        listed = {
            node.cache.instrument(instrument_id): currencies[instrument_id]
            for instrument_id, venue_kind in plan.venues.items()
            if venue_kind == kind
        }
        if not listed:
            continue
        if kind == "bars":
            node.add_venue(name, BarVenue(name, listed, section.bar_venue))
        else:
            book_config = msgspec.structs.replace(section.book_venue, data=kind)
            node.add_venue(name, SimulatedBookVenue(name, listed, book_config))
    for strategy_config in config.strategies:
        strategy_class = load_strategy_class(strategy_config.path)
        node.add_strategy(
            strategy_class(strategy_config.strategy_id, strategy_config.params),
            on_error=strategy_config.on_error,
        )
    return node


def backtest_catalog(
    config: NodeConfig,
    catalog_root: str | Path,
    *,
    data_types: Iterable[str] | None = None,
    bar_type: str | None = None,
    start: object = None,
    end: object = None,
    sort: bool | None = None,
    sample_interval_ns: int | None = None,
    periods_per_year: float | None = None,
    bar_venue: BarVenueConfig | None = None,
    progress: Progress | None = None,
    runner: Literal["auto", "merged"] = "auto",
) -> BacktestResult:
    """Runs the configured strategies over the catalog's data of the configured instruments
    in ``[start, end)``; every argument left None comes from ``config.backtest``. ``runner=
    "merged"`` forces the event-by-event runner (the fast paths give the same fills)."""
    if runner not in ("auto", "merged"):
        raise InvalidValue("BAD_OPTION", f"runner must be 'auto' or 'merged', got {runner!r}")
    section = config.backtest
    if bar_venue is not None:
        section = msgspec.structs.replace(section, bar_venue=bar_venue)
    catalog = DataCatalog(catalog_root)
    plan = plan_replay(
        config,
        catalog,
        data_types=data_types if data_types is not None else section.data_types,
        bar_type=bar_type if bar_type is not None else section.bar_type,
        start=start if start is not None else section.start,
        end=end if end is not None else section.end,
        venues=section.venues,
    )
    sort = section.sort if sort is None else sort
    interval = sample_interval_ns if sample_interval_ns is not None else section.sample_interval_ns
    per_year = periods_per_year if periods_per_year is not None else section.periods_per_year
    node = build_node(config, plan, section)
    monitor = _risk_monitor(node, config)
    try:
        return _run_plan(
            node,
            catalog,
            plan,
            runner=plan.runner if runner == "auto" else runner,
            sort=sort,
            interval=interval,
            per_year=per_year,
            report=_ProgressReport(plan, progress),
        )
    finally:
        if monitor is not None:
            monitor.close()


def _risk_monitor(node: TradingNode, config: NodeConfig) -> RiskMonitor | None:
    """The configured live risk controls, acting in a backtest exactly as live; their alerts
    only go to the log (a simulation does not page the desk) and nobody can send a kill request
    to it. None when no control is configured."""
    if config.risk_controls == RiskControlsConfig():
        return None
    from hftcore.risk.alerts import AlertDispatcher, LogChannel
    from hftcore.risk.live import RiskMonitor

    return RiskMonitor(
        node,
        msgspec.structs.replace(config.risk_controls, control_dir=None),
        dispatcher=AlertDispatcher([LogChannel()]),
    )


def _run_plan(
    node: TradingNode,
    catalog: DataCatalog,
    plan: ReplayPlan,
    *,
    runner: str,
    sort: bool,
    interval: int | None,
    per_year: float | None,
    report: _ProgressReport,
) -> BacktestResult:
    kind = runner
    if kind == "bars" and interval is None:
        result = run_bars(
            node,
            _bar_events(catalog, plan, sort, report),
            periods_per_year=252.0 if per_year is None else per_year,
            name="backtest",
        )
        report.done()
        return result
    interval_ns = interval
    if interval is None and plan.runner != "bars":
        interval_ns = default_sample_interval(plan.last_ts - plan.first_ts)
    if kind == "book" and interval_ns is not None:
        book_result = _run_book_from_catalog(
            node, catalog, plan, sort=sort, interval_ns=interval_ns, periods_per_year=per_year
        )
        if book_result is not None:
            report.done()
            return book_result
    replay = CatalogReplay(node, plan, sample_interval_ns=interval_ns)
    for chunk in catalog.stream(plan.datasets, start=plan.start, end=plan.end, sort=sort):
        replay.feed(chunk)
        report.update(int(chunk.ts_event[-1]))
    report.done()
    if per_year is None:
        per_year = 252.0 if interval_ns is None else SECONDS_PER_YEAR * 1e9 / interval_ns
    return replay.finish(periods_per_year=per_year)


SAMPLE_STEPS_NS = (10**9, 60 * 10**9, 3_600 * 10**9, 86_400 * 10**9)
MAX_DEFAULT_SAMPLES = 100_000


def default_sample_interval(span_ns: int) -> int:
    """The equity sampling step when none is configured: the first of a second, a minute,
    an hour and a day that gives at most ``MAX_DEFAULT_SAMPLES`` samples over ``span_ns``."""
    for step in SAMPLE_STEPS_NS:
        if span_ns // step <= MAX_DEFAULT_SAMPLES:
            return step
    return SAMPLE_STEPS_NS[-1]


@dataclass(slots=True)
class _ProgressReport:
    plan: ReplayPlan
    callback: Progress | None

    def update(self, ts: int) -> None:
        if self.callback is not None:
            total = self.plan.last_ts - self.plan.first_ts
            self.callback(min(max(ts - self.plan.first_ts, 0), total), total)

    def done(self) -> None:
        self.update(self.plan.last_ts)


def _bar_events(
    catalog: DataCatalog, plan: ReplayPlan, sort: bool, report: _ProgressReport
) -> Iterator[Bar]:
    for chunk in catalog.stream(plan.datasets, start=plan.start, end=plan.end, sort=sort):
        for _, event in chunk.events():
            yield event
        report.update(int(chunk.ts_event[-1]))


def _run_book_from_catalog(
    node: TradingNode,
    catalog: DataCatalog,
    plan: ReplayPlan,
    *,
    sort: bool,
    interval_ns: int,
    periods_per_year: float | None,
) -> BacktestResult | None:
    """The L2 fast path: the instrument's deltas and prints read whole and given to
    ``run_book``. None when a print has no known aggressor (the bulk replay needs one): the
    merged runner infers it from the book."""
    (instrument_id,) = plan.venues
    types = {key.data_type for key in plan.datasets}
    trades = None
    if "trades" in types:
        table = catalog.read(instrument_id, "trades", start=plan.start, end=plan.end, sort=sort)
        aggressor = np.asarray(table.column("aggressor_side"))
        if np.any((aggressor != 0) & (aggressor != 1)):
            return None
        trades = np.zeros(table.num_rows, dtype=TRADE_DTYPE)
        for field, column in (
            ("ts_event", "ts_event"),
            ("ts_init", "ts_init"),
            ("price", "price"),
            ("quantity", "size"),
            ("aggressor_side", "aggressor_side"),
        ):
            trades[field] = np.asarray(table.column(column))
    deltas = to_records(
        catalog.read(instrument_id, "l2_deltas", start=plan.start, end=plan.end, sort=sort),
        "l2_deltas",
    )
    return run_book(
        node,
        deltas,
        trades,
        instrument_id=instrument_id,
        sample_interval_ns=interval_ns,
        periods_per_year=SECONDS_PER_YEAR * 1e9 / interval_ns
        if periods_per_year is None
        else periods_per_year,
        name="backtest",
    )


# ----- the merged runner --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _BookUpdate:
    """Book records of one instrument the node sees at one local time: one record, a stretch
    replayed in bulk while nothing could observe the steps in between, or the deltas of one
    ``quote``."""

    instrument_id: str
    records: npt.NDArray[np.void]
    quote: Quote | None = None


_Held = tuple[int, int, "OrderEvent | Quote | Trade | Bar | _BookUpdate"]
_IN_FLIGHT = frozenset(
    {OrderStatus.SUBMITTED, OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_UPDATE}
)
_DRAIN_FIRST_STEP_NS = 1_000_000
_DRAIN_STEPS = 40  # up to about 2^40 ms: latencies beyond that are not modelled anyway


@dataclass(slots=True)
class _Sampling:
    interval: int | None
    next_sample: int | None = None
    last_item_ts: int | None = None


class CatalogReplay:
    """The event-by-event runner over merged catalog chunks (see the module docs): build it
    on a node from :func:`build_node`, :meth:`feed` it the chunks of
    ``DataCatalog.stream(plan.datasets)`` in order, then :meth:`finish`.

    Equity is sampled after every timestamp the node sees (``sample_interval_ns`` None, for
    bars) or on a grid of local time from the first price on."""

    def __init__(
        self, node: TradingNode, plan: ReplayPlan, *, sample_interval_ns: int | None = None
    ) -> None:
        clock = node.clock
        if not isinstance(clock, SimulatedClock):
            raise ConfigError("UNSUPPORTED_CLOCK", "a catalog backtest needs a SimulatedClock")
        if sample_interval_ns is not None and (
            isinstance(sample_interval_ns, bool)
            or not isinstance(sample_interval_ns, int)
            or sample_interval_ns <= 0
        ):
            raise InvalidValue(
                "INVALID_INTERVAL",
                f"sample_interval_ns must be a positive int, not {sample_interval_ns!r}",
            )
        self.node = node
        self.clock = clock
        self.plan = plan
        self.book_venues: dict[str, SimulatedBookVenue] = {}
        for instrument_id, kind in plan.venues.items():
            venue = node.execution.venue_for(instrument_id)[1]
            if kind != "bars":
                if not isinstance(venue, SimulatedBookVenue):
                    raise ConfigError(
                        "UNSUPPORTED_VENUE",
                        f"{instrument_id} is on {type(venue).__name__}, not a book venue",
                    )
                self.book_venues[instrument_id] = venue
            elif not isinstance(venue, BarVenue):
                raise ConfigError(
                    "UNSUPPORTED_VENUE", f"{instrument_id} is on {type(venue).__name__}"
                )
        for venue in {id(v): v for v in self.book_venues.values()}.values():
            venue.set_event_sink(self._hold_event)
        # The node's view of each L3 book (its cache holds L2 books: snapshots of these).
        self.l3_books = {
            instrument_id: OrderBookL3(node.cache.instrument(instrument_id))
            for instrument_id, kind in plan.venues.items()
            if kind == "L3"
        }
        self.quoted: dict[str, tuple[int, int]] = {}  # last bid / ask price given to a venue
        self.marked: dict[str, tuple[int, int]] = {}
        self.held: list[_Held] = []
        self.arrivals = 0
        self.draining = False
        self.recorder = _Recorder(node)
        self.sampling = _Sampling(sample_interval_ns)
        self.unpriced = list(self.recorder.instrument_ids)
        node.bus.subscribe("events.fill.>", self.recorder.on_fill)
        node.start()

    # -- time ------------------------------------------------------------------------------

    def _hold(self, item: OrderEvent | Quote | Trade | Bar | _BookUpdate, ts: int) -> None:
        self.arrivals += 1
        heapq.heappush(self.held, (ts, self.arrivals, item))

    def _hold_event(self, event: OrderEvent) -> None:
        self._hold(event, event.ts_event)

    def _before_record(self, ts: int) -> None:
        """Everything the node sees before ``ts`` is delivered and its clock moves to ``ts``
        (timers due by then fire): a record at ``ts`` may then go to its venue, which has no
        data after ``ts`` and never gets a command from before its data."""
        self._release_before(ts)
        self._advance(ts)

    def _release_before(self, ts: int | None) -> None:
        """Delivers what the node sees before ``ts`` (None: everything held)."""
        held = self.held
        while held and (ts is None or held[0][0] < ts):
            local, _, item = heapq.heappop(held)
            self._advance(local)
            self._deliver(item, local)

    def _move_node(self, ts: int) -> None:
        """The node's clock to ``ts``. Time-driven execution work (throttlers, expiries,
        command arrivals at the venues) exists only with open orders; without any, moving the
        clock (timers fire) is the same and much cheaper."""
        if not self.draining and self.node.execution.oms.orders(open_only=True):
            self.node.advance_to(ts)
        else:
            self.clock.advance_to(ts)

    def _advance(self, ts: int) -> None:
        sampling = self.sampling
        if ts > self.clock.timestamp_ns():
            if sampling.interval is None:
                if sampling.last_item_ts is not None and self._priced():
                    self.recorder.sample(sampling.last_item_ts)
            elif sampling.next_sample is not None:
                while sampling.next_sample <= ts:
                    if sampling.next_sample > self.clock.timestamp_ns():
                        self._move_node(sampling.next_sample)
                    self.recorder.sample(sampling.next_sample)
                    sampling.next_sample += sampling.interval
            self._move_node(ts)
        sampling.last_item_ts = ts

    def _priced(self) -> bool:
        """Whether every instrument has a price: the report marks each one in every sample,
        so sampling starts then."""
        if not self.unpriced:
            return True
        last_price = self.node.cache.last_price
        self.unpriced = [i for i in self.unpriced if last_price(i) is None]
        return not self.unpriced

    def _start_grid(self, ts: int) -> None:
        sampling = self.sampling
        if sampling.interval is not None and sampling.next_sample is None and self._priced():
            sampling.next_sample = ts

    # -- input -------------------------------------------------------------------------------

    def feed(self, chunk: MergedChunk) -> None:
        """Replays one merged chunk (chunks in order: those of one ``stream`` call)."""
        # Each dataset's rows are converted once per chunk (events, records, quote deltas);
        # the runs of the merged order then index into them.
        converted: list[Any] = []
        quote_deltas: list[npt.NDArray[np.void] | None] = []
        for key, table in zip(chunk.datasets, chunk.tables, strict=True):
            if key.data_type in ("l2_deltas", "l3_messages"):
                converted.append(to_records(table, key.data_type))
                quote_deltas.append(None)
                continue
            events = list(to_events(table, key))
            converted.append(events)
            quote_deltas.append(
                self._quote_deltas(key.instrument_id, events)
                if events and key.data_type == "quotes" and key.instrument_id in self.book_venues
                else None
            )
        sources, firsts, counts = chunk.run_bounds()
        for index, first, count in zip(
            sources.tolist(), firsts.tolist(), counts.tolist(), strict=True
        ):
            key = chunk.datasets[index]
            rows = converted[index]
            if key.data_type in ("l2_deltas", "l3_messages"):
                self._book_records(key, rows[first : first + count])
                continue
            deltas = quote_deltas[index]
            for row in range(first, first + count):
                event = rows[row]
                self._before_record(event.ts_event)
                if deltas is None:
                    self._market_data(event)
                else:
                    self._quote(event, deltas[4 * row : 4 * row + 4])

    def _market_data(self, event: Trade | Bar | Quote) -> None:
        """A print (to its book venue, if it has one) or data the node only shows strategies."""
        venue = self.book_venues.get(event.instrument_id)
        if venue is None or not isinstance(event, Trade):
            self._hold(event, event.ts_event)
            return
        venue.on_trade(event)
        seen = max(event.ts_event, venue.last_feed_ts(event.instrument_id) or event.ts_event)
        self._hold_seen(event, seen)

    def _quote(self, quote: Quote, deltas: npt.NDArray[np.void]) -> None:
        """A quote of a book-venue instrument: its deltas go to the venue now, and to the
        node's book with the quote when the node sees it."""
        instrument_id = quote.instrument_id
        venue = self.book_venues[instrument_id]
        seen = max(venue.on_l2_deltas(instrument_id, deltas).feed_ts.tolist())
        if quote.ts_init != seen:
            quote = msgspec.structs.replace(quote, ts_init=seen)
        self._hold(_BookUpdate(instrument_id, deltas, quote), seen)

    def _hold_seen(self, event: Trade, seen: int) -> None:
        """Holds a print until the node sees it, at ``seen`` (its ``ts_init``)."""
        if event.ts_init != seen:
            event = msgspec.structs.replace(event, ts_init=seen)
        self._hold(event, seen)

    def _quote_deltas(self, instrument_id: str, quotes: list[Quote]) -> npt.NDArray[np.void]:
        """Quotes as L2 deltas, four per quote: the previous top levels go (unless the price
        stays), then the new ones are set; removals first, so the book never crosses."""
        count = len(quotes)
        bid = np.fromiter((q.bid_price for q in quotes), np.int64, count)
        ask = np.fromiter((q.ask_price for q in quotes), np.int64, count)
        bid_size = np.fromiter((q.bid_size for q in quotes), np.int64, count)
        ask_size = np.fromiter((q.ask_size for q in quotes), np.int64, count)
        first_bid, first_ask = self.quoted.get(instrument_id, (int(bid[0]), int(ask[0])))
        old_bid = np.concatenate(([first_bid], bid[:-1]))
        old_ask = np.concatenate(([first_ask], ask[:-1]))
        self.quoted[instrument_id] = (int(bid[-1]), int(ask[-1]))
        deltas = np.zeros((count, 4), dtype=L2_DELTA_DTYPE)
        for field in ("ts_event", "ts_init"):
            deltas[field] = np.fromiter((getattr(q, field) for q in quotes), np.int64, count)[
                :, None
            ]
        deltas["side"] = (0, 1, 0, 1)
        deltas["price"] = np.stack([old_bid, old_ask, bid, ask], axis=1)
        deltas["quantity"] = np.stack(
            [
                np.where(old_bid == bid, bid_size, 0),
                np.where(old_ask == ask, ask_size, 0),
                bid_size,
                ask_size,
            ],
            axis=1,
        )
        return deltas.reshape(-1)

    def _book_records(self, key: DatasetKey, records: npt.NDArray[np.void]) -> None:
        instrument_id = key.instrument_id
        venue = self.book_venues[instrument_id]
        replay = venue.on_l2_deltas if key.data_type == "l2_deltas" else venue.on_l3_messages
        ts = records["ts_event"]
        position = 0
        while position < len(records):
            self._before_record(int(ts[position]))
            stop = position + 1
            if self._unobserved(instrument_id):
                # Nobody can see the steps in between: replay in bulk up to the next moment
                # the node acts (a held event, a timer, an equity sample); with no order of
                # ours the venue emits no event meanwhile.
                bound = self._next_node_time()
                stop = len(records) if bound is None else int(ts.searchsorted(bound, "right"))
                stop = max(stop, position + 1)
            part = records[position:stop]
            seen = int(replay(instrument_id, part).feed_ts.max())
            self._hold(_BookUpdate(instrument_id, part), seen)
            position = stop

    def _next_node_time(self) -> int | None:
        times = [self.held[0][0]] if self.held else []
        timer = self.clock.next_due_ns()
        if timer is not None:
            times.append(timer)
        if self.sampling.next_sample is not None:
            times.append(self.sampling.next_sample)
        return min(times) if times else None

    def _unobserved(self, instrument_id: str) -> bool:
        node = self.node
        return not node.bus.handlers(f"data.book.{instrument_id}") and not (
            node.execution.oms.orders(instrument_id=instrument_id, open_only=True)
        )

    # -- delivery ----------------------------------------------------------------------------

    def _deliver(self, item: OrderEvent | Quote | Trade | Bar | _BookUpdate, local: int) -> None:
        node = self.node
        if isinstance(item, Bar):
            if item.instrument_id in self.book_venues:
                # Bars of an instrument that fills on its book: data for strategies only.
                node.cache.update_bar(item)
                self._publish(item.instrument_id, None, None, item.close, local)
                node.bus.publish(f"data.bars.{item.instrument_id}.{item.bar_type}", item)
            else:
                node.process_bar(item)
            self._start_grid(local)
        elif isinstance(item, Quote):
            self._show_quote(item, local)
            node.bus.publish(f"data.quotes.{item.instrument_id}", item)
        elif isinstance(item, Trade):
            node.cache.update_trade(item)
            self._publish(item.instrument_id, None, None, item.price, local)
            node.bus.publish(f"data.trades.{item.instrument_id}", item)
            self._start_grid(local)
        elif isinstance(item, _BookUpdate):
            self._book_update(item, local)
        else:
            node.execution.on_venue_event(item)

    def _publish(
        self, instrument_id: str, bid: int | None, ask: int | None, last: int | None, ts: int
    ) -> None:
        # As the node's process_* do, at the local time the data is seen (the engines run on
        # the local clock; the event keeps its exchange time in ts_event).
        self.node.execution.on_price(instrument_id, bid, ask, last, ts)

    def _book_update(self, update: _BookUpdate, local: int) -> None:
        instrument_id = update.instrument_id
        node = self.node
        book = node.cache.book(instrument_id)
        l3 = self.l3_books.get(instrument_id)
        if l3 is None:
            book.apply_deltas(update.records)
        else:
            l3.apply_messages(update.records)
            book.apply_snapshot(l3.levels(0), l3.levels(1))
        if update.quote is not None:
            self._show_quote(update.quote, local)
            node.bus.publish(f"data.quotes.{instrument_id}", update.quote)
        else:
            bid, ask = book.best_bid(), book.best_ask()
            if bid is not None and ask is not None:
                # The top of the book is the instrument's quote in the cache (its mark when
                # it has no prints).
                exchange_ts = int(update.records["ts_event"][-1])
                top = Quote(instrument_id, bid[0], bid[1], ask[0], ask[1], exchange_ts, local)
                self._show_quote(top, local)
        node.bus.publish(f"data.book.{instrument_id}", instrument_id)

    def _show_quote(self, quote: Quote, local: int) -> None:
        """The cache's quote; the marks and emulated orders when a price changed (only a new
        price can trigger an order or move a mark)."""
        self.node.cache.update_quote(quote)
        prices = (quote.bid_price, quote.ask_price)
        if prices != self.marked.get(quote.instrument_id):
            self.marked[quote.instrument_id] = prices
            self._publish(quote.instrument_id, prices[0], prices[1], None, local)
        self._start_grid(local)

    # -- end ---------------------------------------------------------------------------------

    def _in_flight(self) -> bool:
        return any(
            order.status in _IN_FLIGHT and order.instrument_id in self.book_venues
            for order in self.node.execution.oms.orders(open_only=True)
        )

    def _drain_in_flight(self) -> None:
        """After the data: moves the book venues on (1 ms, then doubling steps) until no
        command of the node is on its way or unanswered, delivering what comes back."""
        venues = {id(venue): venue for venue in self.book_venues.values()}.values()
        # The venues now run ahead of the node's clock: the clock alone follows the answers.
        self.draining = True
        step = _DRAIN_FIRST_STEP_NS
        for _ in range(_DRAIN_STEPS):
            if not self._in_flight():
                return
            target = self.clock.timestamp_ns() + step
            for venue in venues:
                times = [venue.now(i) for i in venue.instrument_ids]
                venue.advance_to(max([target, *(t for t in times if t is not None)]))
            self._release_before(None)
            step *= 2
        logger.warning("commands still unanswered %d steps after the data ended", _DRAIN_STEPS)

    def finish(self, *, periods_per_year: float, name: str = "backtest") -> BacktestResult:
        """Delivers everything still held, stops the strategies (``on_stop``: they may cancel),
        lets the commands still in flight reach the book venues and their answers the node,
        and returns the run's result."""
        self._release_before(None)
        self.node.stop()
        self._drain_in_flight()
        sampling = self.sampling
        if sampling.interval is None:
            if sampling.last_item_ts is not None and self._priced():
                self.recorder.sample(sampling.last_item_ts)
        elif sampling.next_sample is not None:
            self._advance(sampling.next_sample)
        for venue in self.book_venues.values():
            venue.set_event_sink(self.node.execution.on_venue_event)
        recorder = self.recorder
        if len(recorder.timestamps) < 2:
            raise InvalidData(
                "TOO_FEW_RECORDS",
                "the replayed data spans less than two equity samples (timestamps, or sample "
                "intervals of local time)",
            )
        return recorder.result(periods_per_year=periods_per_year, name=name)


__all__ = [
    "BAR_VENUE",
    "L2_VENUE",
    "L3_VENUE",
    "REPLAY_DATA_TYPES",
    "CatalogReplay",
    "Progress",
    "ReplayPlan",
    "backtest_catalog",
    "build_node",
    "default_sample_interval",
    "plan_replay",
]
