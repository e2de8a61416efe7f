"""The agents side by side on the bundled real data, after costs: ``hftcore agents table``.

Every agent runs on the trading node through a :class:`~hftcore.venues.bars.BarVenue` that
charges ``commission_bps`` of the traded notional per fill (market orders fill at the next
bar's open), with ``capital`` in cash. Statistics are the backtest result's
(:mod:`hftcore.risk.performance`); turnover is per year.

* S&P 500 index daily OHLCV 1999-2018 (``sp500_index_daily_ohlcv``): time-series momentum,
  mean reversion, breakout, three ensembles of those three, the regime meta-agent over them,
  and momentum plus mean reversion as two agents under the risk-parity allocator; buy and hold
  (no costs) for reference.
* 20 S&P 500 stocks' daily adjusted closes 1990-2022 (``sp500_20_stocks_daily_adjclose``):
  cross-sectional momentum.
* The Avellaneda-Stoikov market maker needs L2 data and none is bundled: it runs on synthetic
  L2 flow (:func:`market_maker_rows`), reported apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TextIO

import numpy as np

from hftcore._core import Instrument
from hftcore.agents.allocation import CapitalAllocator
from hftcore.agents.base import Agent
from hftcore.agents.breakout import Breakout
from hftcore.agents.ensemble import Ensemble
from hftcore.agents.market_making import AvellanedaStoikov
from hftcore.agents.mean_reversion import MeanReversion
from hftcore.agents.meta import RegimeMetaAgent
from hftcore.agents.momentum import CrossSectionalMomentum, TimeSeriesMomentum
from hftcore.data.loaders import SP500_20_TICKERS
from hftcore.errors import HftcoreError, InvalidValue
from hftcore.model.data import Bar
from hftcore.node.backtest import bundled_bar_events, run_bars
from hftcore.node.config import parse_config
from hftcore.node.kernel import TradingNode
from hftcore.reports.backtest import BacktestResult
from hftcore.risk import performance as perf
from hftcore.venues.bars import BarVenue, BarVenueConfig
from hftcore.venues.commission import PercentCommission

SPECIALISTS = [
    {"agent_id": "MOM", "path": "hftcore.agents.momentum:TimeSeriesMomentum"},
    {"agent_id": "MR", "path": "hftcore.agents.mean_reversion:MeanReversion"},
    {"agent_id": "BO", "path": "hftcore.agents.breakout:Breakout"},
]
YEAR_NS = 365.25 * 86_400e9


@dataclass(frozen=True, slots=True)
class TableRow:
    name: str
    data: str
    total_return: float
    annual_return: float
    sharpe: float | None
    max_drawdown: float
    turnover_per_year: float
    fills: int


def bar_node(
    instruments: Sequence[Instrument], capital: float, commission_bps: float
) -> TradingNode:
    """A backtest node with ``capital`` USD trading ``instruments`` on a bar venue that charges
    ``commission_bps`` of notional per fill."""
    config = parse_config(
        {
            "node": {"starting_balances": {"USD": f"{capital:.2f}"}},
            "instruments": [
                {
                    "instrument_id": i.instrument_id,
                    "tick_size": i.tick_size,
                    "price_precision": i.price_precision,
                    "lot_size": i.lot_size,
                    "size_precision": i.size_precision,
                }
                for i in instruments
            ],
        },
        environ={},
    )
    node = TradingNode(config)
    rate = Decimal(str(commission_bps)) / Decimal(10_000)
    venue = BarVenue(
        "SIM",
        {node.cache.instrument(i.instrument_id): "USD" for i in instruments},
        BarVenueConfig(commission=PercentCommission(rate=rate)),
    )
    node.add_venue("SIM", venue)
    return node


def _window(bars: list[Bar], start: int | None, end: int | None) -> list[Bar]:
    return [
        bar
        for bar in bars
        if (start is None or bar.ts_event >= start) and (end is None or bar.ts_event < end)
    ]


def _row(name: str, data: str, result: BacktestResult) -> TableRow:
    statistics = result.statistics
    years = (result.timestamps[-1] - result.timestamps[0]) / YEAR_NS
    return TableRow(
        name,
        data,
        statistics.total_return,
        statistics.annual_return,
        statistics.sharpe_ratio,
        statistics.max_drawdown,
        statistics.turnover / years if years > 0 else math.nan,
        statistics.fills,
    )


def _buy_and_hold(name: str, data: str, bars: list[Bar], instrument: Instrument) -> TableRow:
    closes = np.array([instrument.ticks_to_float(bar.close) for bar in bars])
    returns = perf.returns_from_equity(closes)
    sharpe = perf.sharpe_ratio(returns, periods_per_year=252)
    return TableRow(
        name,
        data,
        perf.total_return(returns),
        perf.annual_return(returns, periods_per_year=252),
        None if math.isnan(sharpe) else sharpe,
        perf.max_drawdown(closes),
        0.0,
        0,
    )


def agents_table(
    *,
    start: int | None = None,
    end: int | None = None,
    capital: float = 1_000_000.0,
    commission_bps: float = 5.0,
) -> list[TableRow]:
    """One row per agent (module docs), over bars closing in ``[start, end)`` (ns)."""
    if not (math.isfinite(capital) and capital > 0):
        raise InvalidValue("INVALID_CAPITAL", f"capital must be positive, got {capital!r}")
    if not (math.isfinite(commission_bps) and commission_bps >= 0):
        raise InvalidValue("INVALID_COST", f"commission_bps must be >= 0, got {commission_bps!r}")
    spx, spx_bars = bundled_bar_events("sp500_index_daily_ohlcv")
    spx_bars = _window(spx_bars, start, end)
    stocks: list[Instrument] = []
    stock_bars: list[Bar] = []
    for ticker in SP500_20_TICKERS:
        instrument, bars = bundled_bar_events("sp500_20_stocks_daily_adjclose", f"{ticker}.SIM")
        stocks.append(instrument)
        stock_bars += _window(bars, start, end)
    stock_bars.sort(key=lambda bar: bar.ts_event)
    if len(spx_bars) < 300 or len(stock_bars) < 300 * len(stocks):
        raise InvalidValue("TOO_FEW_BARS", "the window needs at least 300 daily bars")
    spx_name = "S&P 500 index"
    one = {"instrument_ids": [spx.instrument_id], "capital": capital}

    def run(name: str, agents: Sequence[Agent], allocate: bool = False) -> TableRow:
        node = bar_node([spx], capital, commission_bps)
        for agent in agents:
            node.add_strategy(agent)
        if allocate:
            CapitalAllocator(node, agents, {"total_capital": capital}).start()
        return _row(name, spx_name, run_bars(node, spx_bars, name=name))

    def ensemble(**params: Any) -> Ensemble:
        return Ensemble("ENS", {**one, "members": SPECIALISTS, **params})

    rows = [
        _buy_and_hold("buy and hold (no costs)", spx_name, spx_bars, spx),
        run("time-series momentum", [TimeSeriesMomentum("MOM", one)]),
        run("mean reversion", [MeanReversion("MR", one)]),
        run("Donchian breakout", [Breakout("BO", one)]),
        run("ensemble: weighted, EW Sharpe", [ensemble()]),
        run("ensemble: majority vote", [ensemble(vote="majority")]),
        run(
            "ensemble: consensus >= 0.6, mult. weights",
            [ensemble(vote="consensus", threshold=0.6, weighting="multiplicative")],
        ),
        run("regime meta-agent", [RegimeMetaAgent("META", {**one, "members": SPECIALISTS})]),
        run(
            "MOM + MR, risk-parity budgets",
            [TimeSeriesMomentum("MOM", one), MeanReversion("MR", one)],
            allocate=True,
        ),
    ]
    node = bar_node(stocks, capital, commission_bps)
    ids = [instrument.instrument_id for instrument in stocks]
    node.add_strategy(CrossSectionalMomentum("XSM", {"instrument_ids": ids, "capital": capital}))
    result = run_bars(node, stock_bars, name="cross-sectional momentum")
    rows.append(_row("cross-sectional momentum", "20 S&P 500 stocks", result))
    return rows


def market_maker_rows(
    messages: int = 500_000, seeds: Sequence[int] = (7, 11, 42)
) -> list[dict[str, str]]:
    """The Avellaneda-Stoikov agent on synthetic L2 flow (``synthetic_l3_messages``, seeded,
    through the demo venue: latencies, power-law queue, maker rebate 1 bp, taker fee 3 bp)."""
    from hftcore import l2_replay_from_l3, synthetic_l3_messages
    from hftcore.node.book_backtest import DEMO_VENUE, SYNTHETIC_INSTRUMENT, book_node, run_book

    rows = []
    instrument_id = SYNTHETIC_INSTRUMENT["instrument_id"]
    for seed in seeds:
        deltas, trades = l2_replay_from_l3(synthetic_l3_messages(messages, seed=seed))
        node = book_node(DEMO_VENUE)
        node.add_strategy(
            AvellanedaStoikov(
                "AS",
                {"instrument_id": instrument_id, "quantity": 3, "max_position": 6, "gamma": 0.002},
            )
        )
        result = run_book(node, deltas, trades, name="Avellaneda-Stoikov")
        held, extreme = 0.0, 0.0
        bought = sold = bought_value = sold_value = 0.0
        for fill in result.fills:
            if fill.side == "BUY":
                held += fill.quantity
                bought, bought_value = (
                    bought + fill.quantity,
                    bought_value + fill.price * fill.quantity,
                )
            else:
                held -= fill.quantity
                sold, sold_value = sold + fill.quantity, sold_value + fill.price * fill.quantity
            extreme = max(extreme, abs(held))
        spread = sold_value / sold - bought_value / bought if bought and sold else math.nan
        rows.append(
            {
                "seed": str(seed),
                "fills": str(len(result.fills)),
                "max abs inventory": f"{extreme:g} / 6",
                "avg sell - avg buy": f"{spread:.4f}",
                "P&L after fees (USD)": f"{result.equity[-1] - result.equity[0]:.2f}",
            }
        )
    return rows


def _percent(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.1%}"


def render(rows: Sequence[TableRow]) -> str:
    """The rows as a Markdown table."""
    header = (
        "agent | data | total return | annual return | Sharpe | max drawdown | turnover/yr | fills"
    )
    lines = [f"| {header} |", "| --- | --- |" + " ---: |" * 6]
    for row in rows:
        sharpe = "n/a" if row.sharpe is None else f"{row.sharpe:.2f}"
        lines.append(
            f"| {row.name} | {row.data} | {_percent(row.total_return)} | "
            f"{_percent(row.annual_return)} | {sharpe} | {_percent(row.max_drawdown)} | "
            f"{row.turnover_per_year:.1f} | {row.fills} |"
        )
    return "\n".join(lines)


def render_market_maker(rows: Sequence[dict[str, str]]) -> str:
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + " ---: |" * len(header)]
    lines += ["| " + " | ".join(row[key] for key in header) + " |" for row in rows]
    return "\n".join(lines)


def _date_ns(text: str | None, option: str) -> int | None:
    if text is None:
        return None
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidValue("INVALID_DATE", f"{option} {text!r} is not an ISO date") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000_000


def table_command(args: Any, out: TextIO, err: TextIO) -> int:
    """``hftcore agents table``: prints the Markdown table(s); 2 on bad input."""
    try:
        rows = agents_table(
            start=_date_ns(args.start, "--start"),
            end=_date_ns(args.end, "--end"),
            commission_bps=args.commission_bps,
        )
    except HftcoreError as error:
        err.write(f"error: {error}\n")
        return 2
    out.write(render(rows) + "\n")
    if args.market_maker:
        out.write("\n" + render_market_maker(market_maker_rows()) + "\n")
    return 0
