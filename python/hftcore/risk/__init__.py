"""Risk analytics shared by backtests, live monitors and reports.

:mod:`hftcore.risk.performance` holds the performance measures (returns, ratios, drawdowns,
trade statistics); every report and monitor calls these and never re-implements them.
"""

from __future__ import annotations

from hftcore.risk import performance

__all__ = ["performance"]
