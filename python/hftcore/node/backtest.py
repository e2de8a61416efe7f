"""Backtests on the trading node: bars replayed in timestamp order through a :class:`BarVenue`.

For each bar, in order: the simulated clock moves to the bar's close (timers fire), the venue
fills what the bar implies for orders placed earlier (market orders at this bar's open, limits
and stops by its range — see ``docs/venues.md``), the portfolio is marked, and then strategies
see the bar and may act; their orders can fill from the next bar on. After the last bar of each
timestamp the portfolio is sampled, and the run becomes a :class:`BacktestResult`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
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


class _Recorder:
    """The equity curve and each instrument's position and price, sampled at chosen times.

    A sample stores rows (positions, shared until a fill; prices in ticks); they become the
    result's columns once, in :meth:`series`."""

    def __init__(self, node: TradingNode) -> None:
        self.node = node
        self.instruments = node.cache.instruments()
        self.instrument_ids = [instrument.instrument_id for instrument in self.instruments]
        self.timestamps: list[int] = []
        self.equity: list[float] = []
        self.fills: list[FillRecord] = []
        self._held_rows: list[tuple[float, ...]] = []
        self._price_rows: list[list[int | None]] = []
        self._held: tuple[float, ...] | None = None
        """Positions as of the last sample; None once a fill may have moved them."""

    def on_fill(self, fill: OrderFilled) -> None:
        self._held = None
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
        snapshot = self.node.portfolio.sample(ts)
        self.timestamps.append(ts)
        self.equity.append(snapshot.equity / 1e12)
        held = self._held
        if held is None:
            quantities = self.node.portfolio.net_quantities()
            held = self._held = tuple(
                instrument.lots_to_float(quantities.get(instrument.instrument_id, 0))
                for instrument in self.instruments
            )
        self._held_rows.append(held)
        self._price_rows.append(self.node.cache.last_prices(self.instrument_ids))

    def series(self) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
        """``(positions, prices)`` per instrument id, one float per sample: the position in
        lots' units, the last known price (the previous one while none is known, 0.0 before
        the first)."""
        count = len(self.instruments)
        held_columns = list(zip(*self._held_rows, strict=True)) or [()] * count
        price_columns = list(zip(*self._price_rows, strict=True)) or [()] * count
        positions: dict[str, list[float]] = {}
        prices: dict[str, list[float]] = {}
        for instrument, held, priced in zip(
            self.instruments, held_columns, price_columns, strict=True
        ):
            positions[instrument.instrument_id] = list(held)
            prices[instrument.instrument_id] = _prices(priced, instrument.ticks_to_float)
        return positions, prices

    def result(self, *, periods_per_year: float, name: str) -> BacktestResult:
        positions, prices = self.series()
        return BacktestResult.build(
            instrument_ids=self.instrument_ids,
            timestamps=self.timestamps,
            equity=self.equity,
            positions=positions,
            prices=prices,
            fills=self.fills,
            orders=order_records(self.node),
            periods_per_year=periods_per_year,
            name=name,
        )


def _prices(values: Sequence[int | None], convert: Callable[[int], float]) -> list[float]:
    """Each price converted; a None repeats the previous one (0.0 before the first)."""
    if None not in values:
        return list(map(convert, values))  # type: ignore[arg-type]  # no None, checked
    filled: list[float] = []
    current = 0.0
    for value in values:
        if value is not None:
            current = convert(value)
        filled.append(current)
    return filled


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
    recorder = _Recorder(node)
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
    return recorder.result(periods_per_year=periods_per_year, name=name)


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
