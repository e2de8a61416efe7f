"""Reports built on the shared risk measures: the backtest result with its JSON export and
self-contained HTML report."""

from __future__ import annotations

from hftcore.reports.backtest import (
    BacktestResult,
    FillRecord,
    OrderRecord,
    PerformanceStatistics,
)

__all__ = [
    "BacktestResult",
    "FillRecord",
    "OrderRecord",
    "PerformanceStatistics",
]
