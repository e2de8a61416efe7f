"""The result of a backtest: what happened (equity, positions, prices, orders, fills), its
performance statistics, a JSON export and a self-contained HTML report.

Every statistic comes from :mod:`hftcore.risk.performance`; nothing here re-implements one.
Amounts are floats in the quote currency: a report is an analytic view at the edge, the exact
ledger stays with the portfolio and the event store.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Literal, NamedTuple

import msgspec
import numpy as np
import numpy.typing as npt

from hftcore.errors import InvalidData, InvalidValue
from hftcore.reports.charts import Line, Marker, time_chart
from hftcore.risk import _checks as checks
from hftcore.risk import performance as perf
from hftcore.risk import var

__all__ = [
    "FORMAT_VERSION",
    "BacktestResult",
    "FillRecord",
    "OrderRecord",
    "PerformanceStatistics",
    "statistic_rows",
    "statistic_text",
]

FORMAT_VERSION = 1
FILLS_TABLE_ROWS = 500


class FillRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One fill: ``quantity`` > 0 in instrument units, ``price`` per unit, ``fee`` paid in
    quote currency (negative for a rebate), ``ts`` in ns since the epoch (UTC). Numbers may be
    given as int, float, ``Decimal`` or NumPy scalars; they are stored as ``int``/``float``."""

    ts: int
    instrument_id: str
    side: Literal["BUY", "SELL"]
    price: float
    quantity: float
    fee: float
    order_id: str
    strategy_id: str

    def __post_init__(self) -> None:
        _set(self, "ts", _timestamp("ts", self.ts))
        _check_side(self.side)
        _set(self, "price", checks.positive_number("price", self.price))
        _set(self, "quantity", checks.positive_number("quantity", self.quantity))
        _set(self, "fee", checks.number("fee", self.fee))
        _check_text("instrument_id", self.instrument_id)
        _check_text("order_id", self.order_id)
        _check_text("strategy_id", self.strategy_id, allow_empty=True)

    @property
    def signed_quantity(self) -> float:
        """``quantity`` for a buy, ``-quantity`` for a sell."""
        return self.quantity if self.side == "BUY" else -self.quantity


class OrderRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One order as it ended the backtest: ``status`` is the OMS's final ``OrderStatus`` name
    (e.g. ``FILLED``, ``CANCELED``, ``REJECTED``); ``average_fill_price`` is ``None`` for an
    order that never filled."""

    order_id: str
    strategy_id: str
    instrument_id: str
    side: Literal["BUY", "SELL"]
    order_type: str
    quantity: float
    filled_quantity: float
    status: str
    ts_init: int
    ts_last: int
    average_fill_price: float | None = None

    def __post_init__(self) -> None:
        _check_text("order_id", self.order_id)
        _check_text("strategy_id", self.strategy_id, allow_empty=True)
        _check_text("instrument_id", self.instrument_id)
        _check_side(self.side)
        _check_text("order_type", self.order_type)
        _check_text("status", self.status)
        quantity = checks.positive_number("quantity", self.quantity)
        filled = checks.number("filled_quantity", self.filled_quantity)
        if not 0.0 <= filled <= quantity:
            raise InvalidValue(
                "OUT_OF_RANGE", f"filled_quantity {filled!r} is not within [0, quantity]"
            )
        ts_init = _timestamp("ts_init", self.ts_init)
        ts_last = _timestamp("ts_last", self.ts_last)
        if ts_last < ts_init:
            raise InvalidValue("NOT_INCREASING", "ts_last comes before ts_init")
        _set(self, "quantity", quantity)
        _set(self, "filled_quantity", filled)
        _set(self, "ts_init", ts_init)
        _set(self, "ts_last", ts_last)
        if self.average_fill_price is not None:
            price = checks.positive_number("average_fill_price", self.average_fill_price)
            _set(self, "average_fill_price", price)


class PerformanceStatistics(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The statistics of a backtest (definitions in ``hftcore.risk.performance``).

    Fractions are plain numbers (0.1 is 10 %); ``None`` marks a measure that is undefined for
    this run (e.g. a profit factor without a losing trade, a Sharpe ratio of constant returns).
    Money amounts are in the quote currency; durations are in periods and in nanoseconds."""

    periods: int
    total_return: float
    annual_return: float
    annual_volatility: float | None
    sharpe_ratio: float | None
    sortino_ratio: float | None
    calmar_ratio: float | None
    omega_ratio: float | None
    max_drawdown: float
    max_drawdown_duration_periods: int
    max_drawdown_duration_ns: int
    tail_ratio: float | None
    hit_ratio: float | None
    trades: int
    win_rate: float | None
    profit_factor: float | None
    average_win: float | None
    average_loss: float | None
    expectancy: float | None
    exposure: float | None
    turnover: float
    total_fees: float
    fills: int
    orders: int
    value_at_risk_95: float | None = None
    """One-period historical VaR of the returns at 95 % (``hftcore.risk.var``), a positive
    fraction of equity; None with fewer than 20 periods."""
    expected_shortfall_95: float | None = None
    """The mean return beyond that VaR, as a positive fraction of equity."""


def _tail_risk(returns: npt.NDArray[np.float64]) -> tuple[float | None, float | None]:
    """Historical VaR and ES of one period's return at 95 %, by the same implementation the
    risk analytics and live monitors use."""
    try:
        estimate = var.scenario_var(returns, confidence=0.95)
    except InvalidValue:  # too few periods for a 5 % tail
        return None, None
    return estimate.var, estimate.expected_shortfall


def _compute_statistics(
    *,
    timestamps: npt.NDArray[np.int64],
    equity: npt.NDArray[np.float64],
    positions: npt.NDArray[np.float64],
    fills: Sequence[FillRecord],
    orders: int,
    contract_multipliers: Mapping[str, float],
    periods_per_year: float,
    risk_free_rate: float,
) -> PerformanceStatistics:
    """Statistics of one run: ``positions`` has one row per timestamp and one column per
    instrument; trade statistics are over the closed round trips of each instrument's fills
    (``risk.performance.round_trip_pnls``)."""
    returns = perf.returns_from_equity(equity)
    annual = {"periods_per_year": periods_per_year}
    trade_pnls = np.concatenate(
        [np.zeros(0)]
        + [
            perf.round_trip_pnls(
                [f.signed_quantity for f in group],
                [f.price for f in group],
                [f.fee for f in group],
                multiplier=contract_multipliers[instrument_id],
            )
            for instrument_id, group in _fills_by_instrument(fills).items()
        ]
    )
    notional = [f.price * f.quantity * contract_multipliers[f.instrument_id] for f in fills]
    value_at_risk, expected_shortfall = _tail_risk(returns)
    return PerformanceStatistics(
        periods=int(returns.size),
        total_return=perf.total_return(returns),
        annual_return=perf.annual_return(returns, **annual),
        annual_volatility=_defined(perf.annual_volatility(returns, **annual)),
        sharpe_ratio=_defined(perf.sharpe_ratio(returns, **annual, risk_free_rate=risk_free_rate)),
        sortino_ratio=_defined(
            perf.sortino_ratio(returns, **annual, risk_free_rate=risk_free_rate)
        ),
        calmar_ratio=_defined(perf.calmar_ratio(returns, **annual)),
        omega_ratio=_defined(perf.omega_ratio(returns, **annual)),
        max_drawdown=perf.max_drawdown(equity),
        max_drawdown_duration_periods=perf.max_drawdown_duration(equity),
        max_drawdown_duration_ns=perf.max_drawdown_duration_time(equity, timestamps),
        tail_ratio=_defined(perf.tail_ratio(returns)),
        hit_ratio=_defined(perf.hit_ratio(returns)),
        trades=int(trade_pnls.size),
        win_rate=_defined(perf.win_rate(trade_pnls)),
        profit_factor=_defined(perf.profit_factor(trade_pnls)),
        average_win=_defined(perf.average_win(trade_pnls)),
        average_loss=_defined(perf.average_loss(trade_pnls)),
        expectancy=_defined(perf.expectancy(trade_pnls)),
        exposure=_defined(perf.exposure(positions, timestamps)),
        turnover=perf.turnover(notional, equity),
        total_fees=perf.total_fees([f.fee for f in fills]),
        fills=len(fills),
        orders=orders,
        value_at_risk_95=value_at_risk,
        expected_shortfall_95=expected_shortfall,
    )


class _Run(NamedTuple):
    """The checked data fields of a BacktestResult, the series as arrays (:meth:`plain`
    turns them into the lists a result holds)."""

    name: str
    instrument_ids: list[str]
    timestamps: npt.NDArray[np.int64]
    equity: npt.NDArray[np.float64]
    returns: npt.NDArray[np.float64]
    positions: dict[str, npt.NDArray[np.float64]]
    prices: dict[str, npt.NDArray[np.float64]]
    fills: list[FillRecord]
    orders: list[OrderRecord]
    contract_multipliers: dict[str, float]
    periods_per_year: float
    risk_free_rate: float

    def plain(self) -> dict[str, object]:
        """The fields as plain Python values, by name."""
        return {
            **self._asdict(),
            "timestamps": self.timestamps.tolist(),
            "equity": self.equity.tolist(),
            "returns": self.returns.tolist(),
            "positions": {i: series.tolist() for i, series in self.positions.items()},
            "prices": {i: series.tolist() for i, series in self.prices.items()},
        }


class BacktestResult(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Everything a backtest produced, aligned on ``timestamps`` (ns since the epoch, UTC).

    ``equity[t]``, ``prices[i][t]`` (the mark price of instrument ``i``) and
    ``positions[i][t]`` (signed quantity held from ``timestamps[t]`` on) are sampled at
    ``timestamps[t]``; ``returns[t] = equity[t + 1] / equity[t] - 1``. Build one with
    :meth:`build`, which computes ``returns`` and ``statistics``. Construction and
    :meth:`from_json` check every field (shapes, finiteness, signs, known instruments), store
    arrays as lists of Python numbers and keep the fills in time order."""

    name: str
    instrument_ids: list[str]
    timestamps: list[int]
    equity: list[float]
    returns: list[float]
    positions: dict[str, list[float]]
    prices: dict[str, list[float]]
    fills: list[FillRecord]
    orders: list[OrderRecord]
    contract_multipliers: dict[str, float]
    periods_per_year: float
    risk_free_rate: float
    statistics: PerformanceStatistics
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.format_version != FORMAT_VERSION:
            raise InvalidValue(
                "UNSUPPORTED_VERSION",
                f"format_version {self.format_version!r} is not {FORMAT_VERSION}",
            )
        run = _checked_run(**{field: getattr(self, field) for field in _Run._fields})
        for field, value in run.plain().items():
            _set(self, field, value)

    @classmethod
    def build(
        cls,
        *,
        instrument_ids: Sequence[str],
        timestamps: Sequence[int] | npt.NDArray[np.integer],
        equity: Sequence[float] | npt.NDArray[np.floating],
        positions: Mapping[str, Sequence[float] | npt.NDArray[np.floating]],
        prices: Mapping[str, Sequence[float] | npt.NDArray[np.floating]],
        fills: Iterable[FillRecord] = (),
        orders: Iterable[OrderRecord] = (),
        periods_per_year: float,
        risk_free_rate: float = 0.0,
        contract_multipliers: Mapping[str, float] | None = None,
        name: str = "backtest",
    ) -> BacktestResult:
        """Check a run's data, compute its returns and statistics and bundle them.

        ``periods_per_year`` is the sampling frequency of ``timestamps`` (252 for daily bars of
        a US equity, 365 * 24 for hourly crypto bars); ``risk_free_rate`` is annual;
        ``contract_multipliers`` default to 1 per instrument."""
        ids = list(instrument_ids)
        run = _checked_run(
            name=name,
            instrument_ids=ids,
            timestamps=timestamps,
            equity=equity,
            returns=None,
            positions=positions,
            prices=prices,
            fills=list(fills),
            orders=list(orders),
            contract_multipliers={i: 1.0 for i in ids}
            if contract_multipliers is None
            else contract_multipliers,
            periods_per_year=periods_per_year,
            risk_free_rate=risk_free_rate,
        )
        statistics = _compute_statistics(
            timestamps=np.asarray(run.timestamps, dtype=np.int64),
            equity=np.asarray(run.equity, dtype=np.float64),
            positions=_position_matrix(run),
            fills=run.fills,
            orders=len(run.orders),
            contract_multipliers=run.contract_multipliers,
            periods_per_year=run.periods_per_year,
            risk_free_rate=run.risk_free_rate,
        )
        return cls(**run._asdict(), statistics=statistics)

    def position_matrix(self) -> npt.NDArray[np.float64]:
        """Positions as an array of shape ``(len(timestamps), len(instrument_ids))``."""
        return _position_matrix(self)

    def order_counts(self) -> dict[str, int]:
        """Number of orders per final status, most frequent first."""
        return dict(Counter(order.status for order in self.orders).most_common())

    def drawdown(self) -> npt.NDArray[np.float64]:
        """The drawdown series of the equity curve (0 at a high, negative below)."""
        return perf.drawdown_series(self.equity)

    # --- export ----------------------------------------------------------------------------

    def to_json(self) -> bytes:
        """The result as UTF-8 JSON (every field; floats in shortest round-trip form)."""
        return msgspec.json.encode(self)

    @classmethod
    def from_json(cls, data: bytes | str) -> BacktestResult:
        """Read a result written by :meth:`to_json`; malformed or inconsistent JSON raises
        ``InvalidData`` (code ``BAD_JSON``) with the failing check and field."""
        try:
            return msgspec.json.decode(data, type=cls)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise InvalidData("BAD_JSON", f"not a backtest result: {exc}") from None

    def to_html(self, path: str | Path) -> Path:
        """Write the report as one self-contained HTML file (inline CSS and SVG, no script, no
        external reference) and return its path."""
        target = Path(path)
        target.write_text(self.render_html(), encoding="utf-8")
        return target

    def render_html(self) -> str:
        """The HTML report: statistics, equity and drawdown charts, one price chart per
        instrument with a marker per fill, order counts and the fills."""
        times = np.asarray(self.timestamps, dtype=np.int64)
        equity = np.asarray(self.equity, dtype=np.float64)
        sections = [
            _statistics_table(self.statistics),
            time_chart(
                "equity",
                "Equity",
                times,
                [Line(equity, "equity", "equity")],
                value_text=_number_text,
            ),
            time_chart(
                "drawdown",
                "Drawdown",
                times,
                [Line(self.drawdown() * 100.0, "drawdown", "drawdown (%)", area=True)],
                value_text=lambda value: f"{value:.4g} %",
            ),
        ]
        for position, instrument_id in enumerate(self.instrument_ids):
            markers = [
                Marker(fill.ts, fill.price, fill.side, _fill_text(fill))
                for fill in self.fills
                if fill.instrument_id == instrument_id
            ]
            prices = np.asarray(self.prices[instrument_id], dtype=np.float64)
            sections.append(
                time_chart(
                    f"price-{position}",
                    f"{instrument_id}: price and fills",
                    times,
                    [Line(prices, "price", "price")],
                    value_text=_number_text,
                    markers=markers,
                )
            )
        sections += [_orders_table(self.order_counts()), _fills_table(self.fills)]
        start, end = _utc_text(self.timestamps[0]), _utc_text(self.timestamps[-1])
        return _PAGE.format(
            title=escape(self.name),
            subtitle=escape(
                f"{', '.join(self.instrument_ids)} | {start} to {end} UTC | "
                f"{self.periods_per_year:g} periods per year | "
                f"risk-free rate {self.risk_free_rate:.2%}"
            ),
            style=_STYLE,
            body="\n".join(sections),
        )


# --- checks ---------------------------------------------------------------------------------


def _checked_run(
    *,
    name: object,
    instrument_ids: Sequence[object],
    timestamps: object,
    equity: object,
    returns: object | None,
    positions: Mapping[str, object],
    prices: Mapping[str, object],
    fills: Sequence[FillRecord],
    orders: Sequence[OrderRecord],
    contract_multipliers: Mapping[str, object],
    periods_per_year: object,
    risk_free_rate: object,
) -> _Run:
    """The fields of a result checked and converted to plain Python values; ``returns`` are
    computed from the equity curve when ``None``, else checked against it."""
    _check_text("name", name, allow_empty=True)
    ids: list[str] = []
    for position, instrument_id in enumerate(instrument_ids):
        _check_text(f"instrument_ids[{position}]", instrument_id)
        ids.append(str(instrument_id))
    if len(set(ids)) != len(ids):
        raise InvalidValue("DUPLICATE_INSTRUMENT", f"instrument_ids repeats an id: {ids}")
    curve = checks.positive_series("equity", equity, code="NON_POSITIVE_EQUITY")
    if curve.size < 2:
        raise InvalidValue("TOO_SHORT", "equity needs at least two points (one period)")
    times = checks.timestamps("timestamps", timestamps, curve.size, "equity")
    curve_returns = perf.returns_from_equity(curve)
    if returns is not None:
        given = checks.float_series("returns", returns, allow_empty=True)
        if given.size != curve_returns.size:
            raise InvalidValue(
                "LENGTH_MISMATCH",
                f"returns has {given.size} values; equity has {curve.size} points",
            )
        matching = np.isclose(given, curve_returns, rtol=1e-9, atol=1e-12)
        if not matching.all():
            index = int(np.argmin(matching))
            raise InvalidValue(
                "RETURNS_MISMATCH",
                f"returns[{index}] is {float(given[index])!r}, not equity[{index + 1}] / "
                f"equity[{index}] - 1 = {float(curve_returns[index])!r}",
            )
        curve_returns = given
    for field, mapping in (
        ("positions", positions),
        ("prices", prices),
        ("contract_multipliers", contract_multipliers),
    ):
        if set(mapping) != set(ids):
            raise InvalidValue(
                "UNKNOWN_INSTRUMENT",
                f"{field} has keys {sorted(mapping)} but instrument_ids are {sorted(ids)}",
            )
    known = set(ids)
    records_by_field: tuple[tuple[str, type, Sequence[FillRecord | OrderRecord]], ...] = (
        ("fills", FillRecord, fills),
        ("orders", OrderRecord, orders),
    )
    for field, record_type, records in records_by_field:
        for position, record in enumerate(records):
            if not isinstance(record, record_type):
                raise InvalidValue(
                    "BAD_RECORD",
                    f"{field}[{position}] is a {type(record).__name__}, "
                    f"not a {record_type.__name__}",
                )
            if record.instrument_id not in known:
                raise InvalidValue(
                    "UNKNOWN_INSTRUMENT",
                    f"{field}[{position}] is for {record.instrument_id!r}, "
                    "which is not in instrument_ids",
                )
    return _Run(
        name=str(name),
        instrument_ids=ids,
        timestamps=times,
        equity=curve,
        returns=curve_returns,
        positions={
            i: _aligned(f"positions[{i!r}]", positions[i], curve.size, positive=False) for i in ids
        },
        prices={i: _aligned(f"prices[{i!r}]", prices[i], curve.size, positive=True) for i in ids},
        fills=sorted(fills, key=lambda fill: fill.ts),
        orders=list(orders),
        contract_multipliers={
            i: checks.positive_number(f"contract_multipliers[{i!r}]", contract_multipliers[i])
            for i in ids
        },
        periods_per_year=checks.positive_number("periods_per_year", periods_per_year),
        risk_free_rate=checks.annual_rate("risk_free_rate", risk_free_rate),
    )


def _aligned(name: str, values: object, length: int, *, positive: bool) -> npt.NDArray[np.float64]:
    """A finite series (of values > 0 if ``positive``) with one value per timestamp."""
    series = checks.positive_series(name, values) if positive else checks.float_series(name, values)
    if series.size != length:
        raise InvalidValue(
            "LENGTH_MISMATCH", f"{name} has {series.size} values; timestamps has {length}"
        )
    return series


def _position_matrix(run: _Run | BacktestResult) -> npt.NDArray[np.float64]:
    matrix = np.zeros((len(run.timestamps), len(run.instrument_ids)), dtype=np.float64)
    for column, instrument_id in enumerate(run.instrument_ids):
        matrix[:, column] = run.positions[instrument_id]
    return matrix


def _set(record: msgspec.Struct, field: str, value: object) -> None:
    # Records are frozen; their own checks store the normalised value once, at creation.
    msgspec.structs.force_setattr(record, field, value)


def _check_text(name: str, value: object, *, allow_empty: bool = False) -> None:
    if not isinstance(value, str) or (not value and not allow_empty):
        raise InvalidValue("BAD_TEXT", f"{name} must be a non-empty string, got {value!r}")


def _check_side(side: object) -> None:
    if side not in ("BUY", "SELL"):
        raise InvalidValue("BAD_SIDE", f"side must be 'BUY' or 'SELL', got {side!r}")


def _timestamp(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidValue("NOT_INTEGER", f"{name} must be integer nanoseconds, got {value!r}")
    return int(value)


def _defined(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _fills_by_instrument(fills: Sequence[FillRecord]) -> dict[str, list[FillRecord]]:
    groups: dict[str, list[FillRecord]] = {}
    for fill in fills:
        groups.setdefault(fill.instrument_id, []).append(fill)
    return groups


# --- HTML -----------------------------------------------------------------------------------

_PERCENT = "percent"
_RATIO = "ratio"
_MONEY = "money"
_COUNT = "count"
_DURATION_NS = "duration"

_STATISTIC_ROWS: tuple[tuple[str, str, str], ...] = (
    ("periods", "Periods", _COUNT),
    ("total_return", "Total return", _PERCENT),
    ("annual_return", "Annual return (CAGR)", _PERCENT),
    ("annual_volatility", "Annual volatility", _PERCENT),
    ("sharpe_ratio", "Sharpe ratio", _RATIO),
    ("sortino_ratio", "Sortino ratio", _RATIO),
    ("calmar_ratio", "Calmar ratio", _RATIO),
    ("omega_ratio", "Omega ratio", _RATIO),
    ("max_drawdown", "Max drawdown", _PERCENT),
    ("max_drawdown_duration_periods", "Max drawdown duration (periods)", _COUNT),
    ("max_drawdown_duration_ns", "Max drawdown duration (time)", _DURATION_NS),
    ("tail_ratio", "Tail ratio", _RATIO),
    ("value_at_risk_95", "VaR 95 % (one period, historical)", _PERCENT),
    ("expected_shortfall_95", "Expected shortfall 95 %", _PERCENT),
    ("hit_ratio", "Hit ratio (positive periods)", _PERCENT),
    ("trades", "Closed trades", _COUNT),
    ("win_rate", "Win rate (trades)", _PERCENT),
    ("profit_factor", "Profit factor", _RATIO),
    ("average_win", "Average win", _MONEY),
    ("average_loss", "Average loss", _MONEY),
    ("expectancy", "Expectancy per trade", _MONEY),
    ("exposure", "Exposure (time in market)", _PERCENT),
    ("turnover", "Turnover (notional / avg equity)", _RATIO),
    ("total_fees", "Total fees", _MONEY),
    ("fills", "Fills", _COUNT),
    ("orders", "Orders", _COUNT),
)


def statistic_text(value: float | None, kind: str) -> str:
    """How the report prints one statistic (``n/a`` for an undefined one)."""
    if value is None:
        return "n/a"
    if kind == _PERCENT:
        return f"{value * 100.0:.2f} %"
    if kind == _RATIO:
        return f"{value:.3f}"
    if kind == _MONEY:
        return f"{value:,.2f}"
    if kind == _DURATION_NS:
        return _duration_text(int(value))
    return f"{int(value):,}"


def _duration_text(nanoseconds: int) -> str:
    seconds = nanoseconds // 1_000_000_000
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s"


def statistic_rows(statistics: PerformanceStatistics) -> list[tuple[str, str, str]]:
    """``(field, label, text)`` of every statistic, in report order, as the report prints
    them (the HTML report and the ``hftcore`` command's table)."""
    return [
        (key, label, statistic_text(getattr(statistics, key), kind))
        for key, label, kind in _STATISTIC_ROWS
    ]


def _statistics_table(statistics: PerformanceStatistics) -> str:
    rows = [
        f'<tr data-statistic="{key}"><th scope="row">{escape(label)}</th>'
        f"<td>{escape(text)}</td></tr>"
        for key, label, text in statistic_rows(statistics)
    ]
    return (
        '<section id="statistics">\n<h2>Statistics</h2>\n<table class="statistics">\n'
        + "\n".join(rows)
        + "\n</table>\n</section>"
    )


def _orders_table(counts: Mapping[str, int]) -> str:
    rows = [
        f'<tr><th scope="row">{escape(status)}</th><td>{count:,}</td></tr>'
        for status, count in counts.items()
    ]
    body = "\n".join(rows) if rows else '<tr><td colspan="2">no orders</td></tr>'
    return (
        '<section id="orders">\n<h2>Orders by final status</h2>\n<table>\n'
        f"{body}\n</table>\n</section>"
    )


def _fills_table(fills: Sequence[FillRecord]) -> str:
    header = (
        "<tr><th>time (UTC)</th><th>instrument</th><th>side</th><th>quantity</th>"
        "<th>price</th><th>fee</th><th>order</th><th>strategy</th></tr>"
    )
    rows = [
        f'<tr class="{fill.side.lower()}"><td>{escape(_utc_text(fill.ts))}</td>'
        f"<td>{escape(fill.instrument_id)}</td><td>{escape(fill.side)}</td>"
        f"<td>{fill.quantity:g}</td><td>{fill.price:g}</td><td>{fill.fee:g}</td>"
        f"<td>{escape(fill.order_id)}</td><td>{escape(fill.strategy_id)}</td></tr>"
        for fill in fills[:FILLS_TABLE_ROWS]
    ]
    shown = (
        f"all {len(fills):,}"
        if len(fills) <= FILLS_TABLE_ROWS
        else f"first {FILLS_TABLE_ROWS:,} of {len(fills):,}"
    )
    return (
        f'<section id="fills">\n<h2>Fills ({shown})</h2>\n<table class="fills">\n'
        + "\n".join([header, *rows])
        + "\n</table>\n</section>"
    )


def _fill_text(fill: FillRecord) -> str:
    return (
        f"{fill.side} {fill.quantity:g} @ {fill.price:g}, fee {fill.fee:g}, "
        f"order {fill.order_id}, strategy {fill.strategy_id}, {_utc_text(fill.ts)}"
    )


def _utc_text(ts: int) -> str:
    moment = datetime.fromtimestamp(ts // 1_000_000_000, tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _number_text(value: float) -> str:
    return f"{value:,.6g}"


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1000px; color: #222; }
h1 { margin-bottom: 0.2rem; }
.subtitle { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { padding: 0.2rem 0.8rem; border-bottom: 1px solid #ddd; text-align: right; }
th[scope="row"] { text-align: left; font-weight: normal; }
table.fills td, table.fills th { font-size: 0.85rem; }
figure.chart { margin: 1rem 0 2rem; }
figcaption { font-weight: bold; margin-bottom: 0.3rem; }
svg { width: 100%; height: auto; background: #fcfcfc; }
.grid { stroke: #e3e3e3; stroke-width: 1; }
.tick { font-size: 11px; fill: #666; }
.line { fill: none; stroke-width: 1.4; }
.line.equity { stroke: #1f5fa8; }
.line.price { stroke: #444; }
.line.drawdown { stroke: #b03030; }
.area.drawdown { fill: #b03030; fill-opacity: 0.25; stroke: none; }
.fill-marker.buy { fill: #138a36; }
.fill-marker.sell { fill: #c0392b; }
.legend { font-size: 0.85rem; color: #555; }
.key { margin-right: 1.2rem; }
.key.buy { color: #138a36; }
.key.sell { color: #c0392b; }
tr.buy td:nth-child(3) { color: #138a36; }
tr.sell td:nth-child(3) { color: #c0392b; }
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<h1>{title}</h1>
<p class="subtitle">{subtitle}</p>
{body}
</body>
</html>
"""
