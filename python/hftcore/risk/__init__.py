"""Risk analytics shared by backtests, live monitors and reports.

:mod:`hftcore.risk.performance` holds the performance measures (returns, ratios, drawdowns,
trade statistics); :mod:`hftcore.risk.var` Value at Risk, Expected Shortfall, their
decomposition and backtests; :mod:`hftcore.risk.dependence` beta and correlations;
:mod:`hftcore.risk.exposure` concentration and grouped exposure; :mod:`hftcore.risk.sizing`
position sizing within the gate's limits; :mod:`hftcore.risk.stress` stress scenarios;
:mod:`hftcore.risk.live` and :mod:`hftcore.risk.alerts` the live controls of a node. Every
report and monitor calls these and never re-implements them (``docs/risk.md``).
"""

from __future__ import annotations

from hftcore.risk import performance

# The other modules import scipy (and arch, lazily); import them by name when needed so that
# `import hftcore` stays light.
__all__ = ["performance"]
