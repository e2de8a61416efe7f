"""Backtests on the trading node: bars replayed in timestamp order through a :class:`BarVenue`.

For each bar, in order: the simulated clock moves to the bar's close (timers fire), the venue
fills what the bar implies for orders placed earlier (market orders at this bar's open, limits
and stops by its range — see ``docs/venues.md``), the portfolio is marked, and then strategies
see the bar and may act; their orders can fill from the next bar on. After the last bar of each
timestamp the portfolio is sampled, and the run becomes a :class:`BacktestResult`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from hftcore._core import Instrument
from hftcore.data.loaders import bundled_bars, bundled_instrument
from hftcore.data.schema import DatasetKey, to_events
from hftcore.errors import InvalidData
from hftcore.model.data import Bar
from hftcore.model.events import OrderFilled
from hftcore.node.config import NodeConfig
from hftcore.node.kernel import TradingNode
from hftcore.reports.backtest import BacktestResult, FillRecord, OrderRecord
from hftcore.venues.bars import BarVenueConfig


def bundled_bar_events(name: str, instrument_id: str | None = None) -> tuple[Instrument, list[Bar]]:
    """A bundled real daily series (see ``hftcore.data.loaders.BUNDLED``) as ``Bar`` events."""
    instrument = bundled_instrument(name, instrument_id)
    key = DatasetKey(instrument.instrument_id, "bars", "1-DAY")
    return instrument, list(to_events(bundled_bars(name, instrument_id), key))


@dataclass(slots=True)
class _Series:
    """One instrument's sampled position and price. Most samples repeat the previous value
    (an instrument's price moves once per bar, its position on fills), so each exact value is
    converted to a float only when it changes."""

    instrument: Instrument
    positions: list[float]
    prices: list[float]
    quantity: int = 0
    quantity_value: float = 0.0
    price: int | None = None
    price_value: float = 0.0
    """The last known price as a float, 0.0 before the first one."""

    def record(self, quantity: int, price: int | None) -> None:
        if quantity != self.quantity:
            self.quantity = quantity
            self.quantity_value = self.instrument.lots_to_float(quantity)
        self.positions.append(self.quantity_value)
        if price is not None and price != self.price:
            self.price = price
            self.price_value = self.instrument.ticks_to_float(price)
        self.prices.append(self.price_value)


@dataclass(slots=True)
class _Recorder:
    node: TradingNode
    timestamps: list[int]
    equity: list[float]
    positions: dict[str, list[float]]
    prices: dict[str, list[float]]
    fills: list[FillRecord]
    series: list[_Series] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.series = [
            _Series(self.node.cache.instrument(instrument_id), series, self.prices[instrument_id])
            for instrument_id, series in self.positions.items()
        ]

    def on_fill(self, fill: OrderFilled) -> None:
        instrument = self.node.cache.instrument(fill.instrument_id)
        self.fills.append(
            FillRecord(
                ts=fill.ts_event,
                instrument_id=fill.instrument_id,
                side="BUY" if fill.side == 0 else "SELL",
                price=instrument.ticks_to_float(fill.last_price),
                quantity=instrument.lots_to_float(fill.last_quantity),
                fee=fill.commission / 1e12,
                order_id=fill.client_order_id,
                strategy_id=fill.strategy_id,
            )
        )

    def sample(self, ts: int) -> None:
        portfolio, cache = self.node.portfolio, self.node.cache
        snapshot = portfolio.sample(ts)
        self.timestamps.append(ts)
        self.equity.append(snapshot.equity / 1e12)
        held = portfolio.net_quantities()
        for series in self.series:
            instrument_id = series.instrument.instrument_id
            series.record(held.get(instrument_id, 0), cache.last_price(instrument_id))


def run_bars(
    node: TradingNode,
    bars: Iterable[Bar],
    *,
    periods_per_year: float = 252.0,
    name: str = "backtest",
) -> BacktestResult:
    """Replays ``bars`` (in non-decreasing ``ts_event`` order across instruments) through the
    node and returns the run's result. Out-of-order bars raise ``InvalidData`` naming the
    position of the first one."""
    ids = [instrument.instrument_id for instrument in node.cache.instruments()]
    recorder = _Recorder(node, [], [], {i: [] for i in ids}, {i: [] for i in ids}, [])
    node.bus.subscribe("events.fill.>", recorder.on_fill)
    node.start()
    current: int | None = None
    for index, bar in enumerate(bars):
        ts = bar.ts_event
        if ts != current:
            if current is not None:
                if ts < current:
                    raise InvalidData(
                        "OUT_OF_ORDER",
                        f"bar {index} ({bar.instrument_id}) at {ts} comes after {current}",
                    )
                recorder.sample(current)
            node.advance_to(ts)
            current = ts
        node.process_bar(bar)
    if current is not None:
        recorder.sample(current)
    node.stop()
    if len(recorder.timestamps) < 2:
        raise InvalidData("TOO_FEW_BARS", "a backtest needs bars at two timestamps at least")
    return BacktestResult.build(
        instrument_ids=ids,
        timestamps=recorder.timestamps,
        equity=recorder.equity,
        positions=recorder.positions,
        prices=recorder.prices,
        fills=recorder.fills,
        orders=order_records(node),
        periods_per_year=periods_per_year,
        name=name,
    )


def order_records(node: TradingNode) -> list[OrderRecord]:
    """Every order the node's OMS knows, as report rows."""
    return [
        OrderRecord(
            order_id=order.client_order_id,
            strategy_id=order.strategy_id,
            instrument_id=order.instrument_id,
            side="BUY" if order.spec.side == 0 else "SELL",
            order_type=_order_type_name(order.spec.order_type),
            quantity=node.cache.instrument(order.instrument_id).lots_to_float(order.quantity),
            filled_quantity=node.cache.instrument(order.instrument_id).lots_to_float(
                order.filled_quantity
            ),
            status=order.status.name,
            ts_init=order.ts_init,
            ts_last=order.ts_last,
            average_fill_price=None
            if order.average_price is None
            else node.cache.instrument(order.instrument_id).ticks_to_float(
                round(order.average_price)
            ),
        )
        for order in node.execution.oms
    ]


def _order_type_name(code: int) -> str:
    from hftcore.model.orders import OrderType

    return OrderType(code).name


def backtest_from_catalog(
    config: NodeConfig,
    catalog_root: str | Path,
    *,
    bar_type: str | None = None,
    start: object = None,
    end: object = None,
    periods_per_year: float | None = None,
    venue_config: BarVenueConfig | None = None,
    data_types: Iterable[str] | None = None,
    sort: bool | None = None,
    sample_interval_ns: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Runs the configured strategies over the catalog's data of the configured instruments
    (``[start, end)``, any timestamp form the catalog takes): bars, quotes, trades, L2 deltas
    and L3 messages merged in timestamp order across instruments, each instrument on the
    simulated venue its data calls for. Arguments left None come from ``config.backtest``;
    see :func:`hftcore.node.catalog_backtest.backtest_catalog`."""
    from hftcore.node.catalog_backtest import backtest_catalog

    return backtest_catalog(
        config,
        catalog_root,
        data_types=data_types,
        bar_type=bar_type,
        start=start,
        end=end,
        sort=sort,
        sample_interval_ns=sample_interval_ns,
        periods_per_year=periods_per_year,
        bar_venue=venue_config,
        progress=progress,
    )
