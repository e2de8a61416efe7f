"""The demo behind ``hftcore demo``: a generated order flow streamed through the compiled core.

It generates a seeded L3 order flow (the zero-intelligence model documented in
``docs/order-books.md``), replays it through the L3 book and, as L2 deltas, through the L2 book,
and reports throughput and the final book.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from hftcore._core import (
    Instrument,
    OrderBookL2,
    OrderBookL3,
    l2_deltas_from_l3,
    synthetic_l3_messages,
)

logger = logging.getLogger(__name__)


@dataclass
class DemoReport:
    """What the demo measured, for printing and for tests."""

    events: int
    stages: dict[str, float] = field(default_factory=dict)  # stage -> events per second
    counts: dict[str, int] = field(default_factory=dict)
    top_levels: list[tuple[str, str, str, str]] = field(default_factory=list)

    def render(self) -> str:
        lines = [f"hftcore demo: {self.events:,} generated order-flow events", ""]
        lines.append(f"{'stage':<34}{'events/s':>16}")
        lines += [f"{stage:<34}{rate:>16,.0f}" for stage, rate in self.stages.items()]
        lines.append("")
        lines += [f"{name:<34}{value:>16,}" for name, value in self.counts.items()]
        lines.append("")
        lines.append(f"{'bid size':>12}{'bid':>12}  {'ask':<12}{'ask size':<12}")
        lines += [f"{bq:>12}{bp:>12}  {ap:<12}{aq:<12}" for bq, bp, ap, aq in self.top_levels]
        return "\n".join(lines)


def _rate(events: int, seconds: float) -> float:
    return events / seconds if seconds > 0 else float("inf")


def run_demo(events: int = 1_000_000, seed: int = 7, depth: int = 5) -> DemoReport:
    """Runs the demo and returns its report."""
    if events <= 0:
        raise ValueError(f"events must be positive, got {events}")
    instrument = Instrument("DEMO.SIM", "0.01", 2, "1", 0, maker_fee="-0.0001", taker_fee="0.0003")
    report = DemoReport(events=events)

    started = time.perf_counter()
    messages = synthetic_l3_messages(events, seed=seed)
    report.stages["generate L3 order flow"] = _rate(len(messages), time.perf_counter() - started)
    deltas = l2_deltas_from_l3(messages)

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
    logger.info("demo finished: %s", report.stages)
    return report
