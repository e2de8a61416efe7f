"""Risk analytics shared by backtests, live monitors and reports.

:mod:`hftcore.risk.performance` holds the performance measures (returns, ratios, drawdowns,
trade statistics); :mod:`hftcore.risk.var` Value at Risk, Expected Shortfall, their
decomposition and backtests; :mod:`hftcore.risk.dependence` beta and correlations;
:mod:`hftcore.risk.exposure` concentration and grouped exposure. Every report and monitor calls
these and never re-implements them.
"""

from __future__ import annotations

from hftcore.risk import performance

# The other modules import scipy (and arch, lazily); import them by name when needed so that
# `import hftcore` stays light.
__all__ = ["performance"]
