"""The demo behind ``hftcore demo``: a generated order flow streamed through the compiled core.

It generates a seeded L3 order flow (the zero-intelligence model documented in
``docs/order-books.md``), replays it through the L3 book and, as L2 deltas, through the L2 book,
then streams the first part of the same flow as orders through the pre-trade risk gate into the
matching engine (adds become limit orders, executions market orders, cancels cancels), and
reports throughput, fills, risk rejections and the final book. Then it backtests the bundled
SMA crossover strategy on real MSFT daily bars (1986-2017, shipped with the package) on the
trading node and writes the HTML report, and runs the bundled market maker on the synthetic L2
flow through the node and the simulated venue (queue position, latency).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from hftcore._core import (
    Instrument,
    MatchingEngine,
    OrderBookL2,
    OrderBookL3,
    OrderEvent,
    RiskGate,
    l2_deltas_from_l3,
    synthetic_l3_messages,
)
from hftcore.model.enums import BookAction
from hftcore.model.orders import OrderType, TimeInForce
from hftcore.model.risk import AccountLimits, InstrumentLimits, RejectReason, ThrottleLimit

logger = logging.getLogger(__name__)


DEMO_STAGES = (
    "generate L3 order flow",
    "L3 and L2 book bulk replay",
    "risk gate + matching engine",
    "market maker on the synthetic L2 flow",
    "SMA crossover backtest on MSFT daily bars",
)
"""The demo's stages, in order, as ``run_demo`` announces them to ``on_stage``."""


@dataclass
class DemoReport:
    """What the demo measured, for the ``hftcore`` command to render and for tests."""

    events: int
    stages: dict[str, float] = field(default_factory=dict)  # stage -> events per second
    counts: dict[str, int] = field(default_factory=dict)
    top_levels: list[tuple[str, str, str, str]] = field(default_factory=list)
    backtest: dict[str, str] = field(default_factory=dict)
    market_making: dict[str, str] = field(default_factory=dict)


def _rate(events: int, seconds: float) -> float:
    return events / seconds if seconds > 0 else float("inf")


def _stream_through_engine(
    instrument: Instrument, messages: npt.NDArray[np.void], report: DemoReport
) -> MatchingEngine:
    """Every message as an order command: risk gate first, then the matching engine."""
    gate = RiskGate(
        AccountLimits(
            max_open_orders=50_000,
            order_rate=ThrottleLimit(capacity=2_000, refill_per_second=200_000),
            daily_loss_limit=1_000_000,
        )
    )
    gate_index = gate.register_instrument(
        instrument,
        InstrumentLimits(max_order_quantity=60, collar_bps=200, max_long_position=2_000_000),
    )
    engine = MatchingEngine()
    engine_index = engine.add_instrument(instrument)
    rejects: Counter[str] = Counter()
    tally = _Tally()
    # The collar needs a reference price before the first trade: the flow's first price.
    gate.on_price(gate_index, int(messages["price"][0]), int(messages["ts_event"][0]))
    taker_ids = 1 << 40
    started = time.perf_counter()
    for action, order_id, side, price, quantity, ts in zip(
        messages["action"].tolist(),
        messages["order_id"].tolist(),
        messages["side"].tolist(),
        messages["price"].tolist(),
        messages["quantity"].tolist(),
        messages["ts_event"].tolist(),
        strict=True,
    ):
        if action == BookAction.ADD:
            verdict = gate.check_order(order_id, gate_index, side, price, quantity, ts)
            if verdict:
                rejects[RejectReason(verdict).name] += 1
                continue
            events = engine.submit(order_id, order_id % 8, engine_index, side, price, quantity, ts)
        elif action == BookAction.CANCEL:
            if engine.order(order_id) is None or gate.check_cancel(order_id, ts):
                continue
            events = engine.cancel(order_id, ts)
        elif action == BookAction.EXECUTE:
            taker_ids += 1
            taker_side = 1 - side
            # Market orders are priced at the worst price the gate's collar allows.
            reference = engine.last_price(engine_index) or price
            limit = reference + 100 if taker_side == 0 else max(1, reference - 100)
            verdict = gate.check_order(taker_ids, gate_index, taker_side, limit, quantity, ts)
            if verdict:
                rejects[RejectReason(verdict).name] += 1
                continue
            events = engine.submit(
                taker_ids,
                taker_ids % 8,
                engine_index,
                taker_side,
                0,
                quantity,
                ts,
                order_type=OrderType.MARKET,
                time_in_force=TimeInForce.IOC,
            )
        else:
            continue
        _follow(gate, gate_index, events, tally)
    elapsed = time.perf_counter() - started
    report.stages["risk gate + matching engine"] = _rate(len(messages), elapsed)
    report.counts["fill events"] = tally.fills
    report.counts["volume traded (lots)"] = tally.volume
    report.counts["net fees (cents)"] = tally.fees // 10**10
    report.counts["orders resting in the engine"] = engine.working_order_count
    for reason, count in sorted(rejects.items()):
        report.counts[f"risk rejects: {reason}"] = count
    return engine


@dataclass
class _Tally:
    fills: int = 0
    volume: int = 0
    fees: int = 0


def _follow(gate: RiskGate, gate_index: int, events: list[OrderEvent], tally: _Tally) -> None:
    """Feeds the engine's events back into the gate: fills move positions, closes free room."""
    for event in events:
        if event.kind == "FILLED":
            tally.fills += 1
            tally.volume += event.quantity
            tally.fees += event.fee_raw
            gate.on_fill(event.order_id, event.price, event.quantity, event.ts)
            if event.liquidity == "TAKER":
                gate.on_price(gate_index, event.price, event.ts)
        elif event.kind in ("CANCELED", "EXPIRED", "REJECTED") and gate.open_order(event.order_id):
            gate.on_order_closed(event.order_id)


def _backtest(report: DemoReport, report_path: Path | None) -> None:
    """The bundled SMA crossover on real MSFT daily bars, on the trading node."""
    from hftcore.node.backtest import bundled_bar_events, run_bars
    from hftcore.node.config import parse_config
    from hftcore.node.kernel import TradingNode
    from hftcore.node.strategy import load_strategy_class
    from hftcore.reports.backtest import statistic_rows
    from hftcore.venues.bars import BarVenue

    instrument, bars = bundled_bar_events("msft_daily_ohlcv")
    config = parse_config(
        {
            "node": {"starting_balances": {"USD": "1000000"}},
            "instruments": [
                {
                    "instrument_id": instrument.instrument_id,
                    "tick_size": instrument.tick_size,
                    "price_precision": instrument.price_precision,
                    "lot_size": instrument.lot_size,
                    "size_precision": instrument.size_precision,
                    "limits": {"max_order_quantity": 1_000_000},
                }
            ],
        },
        environ={},
    )
    node = TradingNode(config)
    node.add_venue(
        "XNAS", BarVenue("XNAS", {node.cache.instrument(instrument.instrument_id): "USD"})
    )
    strategy = load_strategy_class("hftcore.strategies.sma_crossover:SmaCrossover")
    node.add_strategy(strategy("SMA", {"instrument_ids": [instrument.instrument_id]}))
    started = time.perf_counter()
    result = run_bars(node, bars, name="SMA crossover on MSFT daily bars")
    report.stages["backtest: daily bars through the node"] = _rate(
        len(bars), time.perf_counter() - started
    )
    statistics = result.statistics
    report.counts["backtest fills"] = len(result.fills)
    report.counts["backtest orders denied by the risk gate"] = sum(
        order.status == "DENIED" for order in result.orders
    )
    shown = {"total_return", "annual_return", "sharpe_ratio", "max_drawdown", "win_rate"}
    report.backtest = {
        label: text for key, label, text in statistic_rows(statistics) if key in shown
    }
    if report_path is not None:
        result.to_html(report_path)
        report.backtest["HTML report"] = str(report_path)


def run_demo(
    events: int = 1_000_000,
    seed: int = 7,
    depth: int = 5,
    engine_events: int = 200_000,
    report_path: Path | None = None,
    *,
    on_stage: Callable[[str], None] | None = None,
) -> DemoReport:
    """Runs the demo and returns its report; ``on_stage(name)`` is called as each of
    ``DEMO_STAGES`` begins (the command's progress bar)."""
    if events <= 0:
        raise ValueError(f"events must be positive, got {events}")

    def stage(name: str) -> None:
        if on_stage is not None:
            on_stage(name)

    instrument = Instrument("DEMO.SIM", "0.01", 2, "1", 0, maker_fee="-0.0001", taker_fee="0.0003")
    report = DemoReport(events=events)

    stage(DEMO_STAGES[0])
    started = time.perf_counter()
    messages = synthetic_l3_messages(events, seed=seed)
    report.stages["generate L3 order flow"] = _rate(len(messages), time.perf_counter() - started)
    deltas = l2_deltas_from_l3(messages)

    stage(DEMO_STAGES[1])
    l3 = OrderBookL3(instrument)
    started = time.perf_counter()
    l3_result = l3.apply_messages(messages)
    report.stages["L3 book bulk replay"] = _rate(len(messages), time.perf_counter() - started)

    l2 = OrderBookL2(instrument)
    started = time.perf_counter()
    l2_result = l2.apply_deltas(deltas, return_top=True)
    report.stages["L2 book bulk replay (+top)"] = _rate(len(deltas), time.perf_counter() - started)
    if l3.to_l2() != l2:
        raise AssertionError("the L2 book and the L2 view of the L3 book disagree")

    stage(DEMO_STAGES[2])
    _stream_through_engine(instrument, messages[:engine_events], report)

    report.counts["L3 messages applied"] = l3_result.applied
    report.counts["L2 deltas applied"] = l2_result.applied
    report.counts["resting orders at the end"] = len(l3)
    bid_levels, ask_levels = l2.level_counts()
    report.counts["bid levels"] = bid_levels
    report.counts["ask levels"] = ask_levels

    bids, asks = l2.levels(0)[:depth], l2.levels(1)[:depth]
    for index in range(max(len(bids), len(asks))):
        bid = bids[index] if index < len(bids) else None
        ask = asks[index] if index < len(asks) else None
        report.top_levels.append(
            (
                instrument.lots_to_str(bid[1]) if bid else "",
                instrument.ticks_to_str(bid[0]) if bid else "",
                instrument.ticks_to_str(ask[0]) if ask else "",
                instrument.lots_to_str(ask[1]) if ask else "",
            )
        )
    from hftcore.node.book_backtest import run_market_making_demo

    stage(DEMO_STAGES[3])
    report.market_making = run_market_making_demo(min(events, 200_000), seed)
    stage(DEMO_STAGES[4])
    _backtest(report, report_path)
    logger.info("demo finished: %s", report.stages)
    return report
