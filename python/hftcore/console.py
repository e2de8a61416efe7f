"""What the ``hftcore`` command draws in the terminal: rich progress bars and summary tables.

Library code returns data (a :class:`~hftcore.reports.BacktestResult`, a demo report) and takes
progress callbacks; only this module and :mod:`hftcore.cli` write to the terminal. Progress bars
are drawn only on an interactive terminal (and never with ``--quiet``), so output piped to a
file or another program holds the tables alone, the same on every run.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from hftcore.reports.backtest import BacktestResult, statistic_rows

if TYPE_CHECKING:
    from hftcore.demo import DemoReport
    from hftcore.reports.compare import Comparison

MAX_DIFFERENCE_ROWS = 50
"""Differences listed one by one in the terminal (all of them go to ``--json``)."""

__all__ = [
    "ProgressUpdate",
    "comparison_tables",
    "demo_tables",
    "key_value_table",
    "make_console",
    "progress_bar",
    "show_progress",
    "statistics_table",
]


def make_console(file: TextIO | None = None) -> Console:
    """A console on ``file`` (standard output by default). Off a terminal it writes plain
    text without colours, at 100 columns unless ``COLUMNS`` says otherwise."""
    stream = sys.stdout if file is None else file
    interactive = _is_terminal(stream)
    return Console(
        file=stream,
        width=None if interactive else 100,
        highlight=False,
        no_color=not interactive,
    )


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


def show_progress(quiet: bool, file: TextIO | None = None) -> bool:
    """Whether to draw progress bars: on a terminal, unless ``--quiet``."""
    return not quiet and _is_terminal(sys.stdout if file is None else file)


class ProgressUpdate(Protocol):
    def __call__(self, done: int, total: int, description: str | None = None) -> None:
        """Moves the bar to ``done`` of ``total`` (and shows ``description``, if given)."""


@contextmanager
def progress_bar(
    console: Console, description: str, *, enabled: bool, counted: bool = False
) -> Iterator[ProgressUpdate]:
    """A progress bar while the block runs; yields ``update(done, total, description=None)``
    (usable as a library's ``progress(done, total)`` callback). Disabled, nothing is drawn and
    ``update`` does nothing. ``counted`` shows ``done/total`` (items) instead of a percentage
    (e.g. of data time)."""
    if not enabled:
        yield _ignore
        return
    amount = MofNCompleteColumn() if counted else TaskProgressColumn()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        amount,
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int, description: str | None = None) -> None:
            # A new description is drawn at once, however short its stage.
            progress.update(
                task,
                completed=done,
                total=total,
                description=description,
                refresh=description is not None,
            )

        yield update


def _ignore(done: int, total: int, description: str | None = None) -> None:
    """The update of a progress bar that is not drawn."""


def statistics_table(result: BacktestResult, title: str = "Backtest statistics") -> Table:
    """Every statistic of a backtest, labelled and formatted as in its HTML report."""
    table = Table(title=title, title_justify="left")
    table.add_column("statistic")
    table.add_column("value", justify="right")
    for _, label, text in statistic_rows(result.statistics):
        table.add_row(label, text)
    return table


def key_value_table(
    title: str, rows: Mapping[str, object], headers: Sequence[str] = ("", "")
) -> Table:
    """A two-column table of labelled values (numbers grouped by thousands); no header row
    when the headers are empty, and at least as wide as its title."""
    table = Table(title=title, title_justify="left", show_header=any(headers), min_width=len(title))
    table.add_column(headers[0])
    table.add_column(headers[1], justify="right")
    for name, value in rows.items():
        text = f"{value:,.0f}" if isinstance(value, float) else (
            f"{value:,}" if isinstance(value, int) else str(value)
        )  # fmt: skip
        table.add_row(name, text)
    return table


def demo_tables(report: DemoReport) -> list[Table]:
    """The demo's report as tables: stage throughputs, counts, the final book, the market
    maker's session and the SMA backtest."""
    tables = [
        key_value_table(
            f"hftcore demo: {report.events:,} generated order-flow events",
            report.stages,
            ("stage", "events/s"),
        ),
        key_value_table("Counts", report.counts),
    ]
    book = Table(title="Final book (best levels)", title_justify="left")
    for header in ("bid size", "bid", "ask", "ask size"):
        book.add_column(header, justify="right")
    for levels in report.top_levels:
        book.add_row(*levels)
    tables.append(book)
    if report.market_making:
        tables.append(
            key_value_table(
                "Market maker on the synthetic L2 flow (simulated venue, queue model)",
                report.market_making,
            )
        )
    if report.backtest:
        tables.append(
            key_value_table("SMA crossover backtest on real MSFT daily bars", report.backtest)
        )
    return tables


def comparison_tables(comparison: Comparison) -> list[Table]:
    """A paper vs backtest comparison: the totals and the paper session's latencies, the
    differences counted by category and cause, then the first differences one by one."""
    from hftcore.reports.compare import money_text

    summary: dict[str, object] = {
        "bars replayed in paper": comparison.bars_processed,
        "bars in the backtest": comparison.bars_compared,
        "fills in paper": comparison.paper.fills,
        "fills in the backtest": comparison.backtest.fills,
        "fills matched": comparison.matched_fills,
        "differences": len(comparison.differences),
    }
    for currency, units in sorted(comparison.paper.pnl.items()):
        summary[f"P&L paper ({currency})"] = money_text(units)
    for currency, units in sorted(comparison.backtest.pnl.items()):
        summary[f"P&L backtest ({currency})"] = money_text(units)
    for currency, units in comparison.pnl_difference.items():
        summary[f"P&L paper - backtest ({currency})"] = money_text(units)
    for currency, units in sorted(comparison.paper.fees.items()):
        summary[f"fees paper ({currency})"] = money_text(units)
    for currency, units in sorted(comparison.backtest.fees.items()):
        summary[f"fees backtest ({currency})"] = money_text(units)
    if comparison.venue_model:
        summary["venue fill models differ"] = comparison.venue_model
    for name, stats in comparison.latency.items():
        summary[f"paper latency {name.replace('_', ' ')} p50 / p99 / max (us)"] = (
            f"{stats.p50_ns / 1e3:,.1f} / {stats.p99_ns / 1e3:,.1f} / {stats.max_ns / 1e3:,.1f}"
        )
    tables = [key_value_table("Paper vs backtest", summary)]
    differences = comparison.differences
    if not differences:
        return tables
    counts: dict[str, int] = {}
    for row in differences:
        key = f"{row.difference} / {row.cause}"
        counts[key] = counts.get(key, 0) + 1
    tables.append(key_value_table("Differences", counts, ("difference / cause", "count")))
    shown = differences[:MAX_DIFFERENCE_ROWS]
    title = f"(first {len(shown)} of {len(differences)})"
    listed = Table(title=f"Differences {title}", title_justify="left")
    for header in ("bar", "strategy", "side", "paper", "backtest", "slip", "difference"):
        listed.add_column(header, justify="right" if header in ("bar", "slip") else "left")
    explained = Table(title=f"Causes {title}", title_justify="left")
    explained.add_column("bar", justify="right")
    explained.add_column("cause")
    explained.add_column("explanation", ratio=1)
    for row in shown:
        sides = []
        for quantity, price in (
            (row.paper_quantity, row.paper_price),
            (row.backtest_quantity, row.backtest_price),
        ):
            text = comparison.quantity_text(row.instrument_id, quantity)
            if price is not None:
                text += f" @ {comparison.price_text(row.instrument_id, price)}"
            sides.append(text or "-")
        slip = "" if row.slippage_ticks is None else f"{row.slippage_ticks:+d}"
        listed.add_row(str(row.bar), row.strategy_id, row.side, *sides, slip, str(row.difference))
        explained.add_row(str(row.bar), str(row.cause), row.explanation)
    tables.append(listed)
    tables.append(explained)
    return tables
