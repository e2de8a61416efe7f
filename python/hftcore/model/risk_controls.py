"""Live risk controls: their configuration and the audited events they emit.

The configuration is a frozen :class:`msgspec.Struct` read from the node's TOML
(``[risk_controls]``). Money is in the account's base currency, as a decimal amount; fractions
(``0.05`` = 5 %) are of equity. ``None`` turns a control off.

Every action of the controls is an event: :class:`RiskTripped` (a circuit breaker or the kill
switch acted), :class:`RiskAlert` (a threshold crossed that only warns), :class:`RiskReset`
(an authorised or refused reset). They carry their reason and, in ``values``, the numbers that
caused them as exact decimal text; they are published on the bus (``risk.events.<Kind>``) and
appended to the event store. Their ``strategy_id`` / ``instrument_id`` are ``"*"`` when they
concern the whole account; ``sequence`` numbers them in the order the node emitted them (a
restarted node continues the count), so two identical refusals in the same instant are two
records. :class:`PnlUpdate` is published on ``risk.pnl`` only (a measurement,
not a decision, so it is not stored).
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from hftcore.model.risk import TradingState

#: strategy_id / instrument_id of an event about the whole account.
ACCOUNT = "*"


class LossRateLimit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Trip when equity falls by ``max_loss`` or more from its highest point within the
    trailing ``window_s`` seconds."""

    window_s: float
    max_loss: Decimal
    state: TradingState = TradingState.HALTED


class CorrelationWatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Daily correlation-break checks of ``instruments``: at each UTC midnight the monitor
    takes their last prices as the day's closes and raises ``CORRELATION_BREAK`` for a pair
    whose correlation of daily returns breaks from its regime on that day
    (:func:`hftcore.risk.dependence.correlation_breaks` with these windows and levels)."""

    instruments: list[str]
    short_window: int = 20
    long_window: int = 250
    significance: float = 0.001
    min_change: float = 0.2


class ErrorRateLimit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Trip when ``max_errors`` or more venue rejects and disconnects happen within the
    trailing ``window_s`` seconds."""

    window_s: float
    max_errors: int
    state: TradingState = TradingState.REDUCING


class WebhookConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    url: str
    timeout_s: float = 5.0


class EmailConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """SMTP delivery; a password, if the server needs one, comes from the environment variable
    named by ``password_env`` (never from the file)."""

    host: str
    port: int = 25
    sender: str
    recipients: list[str]
    username: str | None = None
    password_env: str | None = None
    starttls: bool = False
    timeout_s: float = 10.0


class RiskControlsConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the live risk controls watch; everything is off by default."""

    #: Drawdown fractions from the day's equity high that raise an alert (each once a day).
    intraday_drawdown_alerts: list[Decimal] = msgspec.field(default_factory=list)
    #: Drawdown fractions from the all-time equity high that raise an alert (each once).
    drawdown_alerts: list[Decimal] = msgspec.field(default_factory=list)
    #: Drawdown fraction from the equity high that trips the max-drawdown breaker.
    max_drawdown: Decimal | None = None
    max_drawdown_state: TradingState = TradingState.HALTED
    loss_rate: LossRateLimit | None = None
    error_rate: ErrorRateLimit | None = None
    #: Share of gross exposure in one instrument above which a concentration alert is raised.
    max_concentration: Decimal | None = None
    #: Daily correlation-break checks (off by default).
    correlation_watch: CorrelationWatch | None = None
    #: Least time between two P&L updates on the bus (0: on every price and fill).
    pnl_interval_ns: int = 0
    #: Directory a running node polls for kill / reset requests (``hftcore kill``).
    control_dir: str | None = None
    #: Environment variable holding the secret an authorised reset must present.
    reset_token_env: str = "HFTCORE_RISK_RESET_TOKEN"
    webhook: WebhookConfig | None = None
    email: EmailConfig | None = None


class RiskTripped(msgspec.Struct, frozen=True, gc=False, tag=True):
    """A breaker or the kill switch acted: ``trigger`` names it (``DAILY_LOSS_LIMIT``,
    ``MAX_DRAWDOWN``, ``LOSS_RATE``, ``ERROR_RATE``, ``KILL_SWITCH``), ``state`` is the trading
    state it imposed, ``source`` who acted (``monitor``, ``gate``, ``api``, ``cli``,
    ``signal``)."""

    strategy_id: str
    instrument_id: str
    sequence: int
    trigger: str
    state: TradingState
    reason: str
    values: dict[str, str]
    source: str
    ts_event: int
    ts_init: int


class RiskAlert(msgspec.Struct, frozen=True, gc=False, tag=True):
    """A warning: ``alert`` is ``INTRADAY_DRAWDOWN``, ``DRAWDOWN``, ``CONCENTRATION`` or
    ``CORRELATION_BREAK``."""

    strategy_id: str
    instrument_id: str
    sequence: int
    alert: str
    reason: str
    values: dict[str, str]
    ts_event: int
    ts_init: int


class RiskReset(msgspec.Struct, frozen=True, gc=False, tag=True):
    """A reset request: ``authorised`` tells whether the secret matched (only then did the
    kill switch and the breakers clear)."""

    strategy_id: str
    instrument_id: str
    sequence: int
    authorised: bool
    reason: str
    source: str
    ts_event: int
    ts_init: int


RiskEvent = RiskTripped | RiskAlert | RiskReset


class PnlUpdate(msgspec.Struct, frozen=True, gc=False):
    """Realized and unrealized P&L (money units, 1e-12 of the base currency) of the account,
    each strategy and each instrument, and the account's equity."""

    ts: int
    equity: int
    realized_pnl: int
    unrealized_pnl: int
    by_strategy: dict[str, tuple[int, int]]
    by_instrument: dict[str, tuple[int, int]]


__all__ = [
    "ACCOUNT",
    "CorrelationWatch",
    "EmailConfig",
    "ErrorRateLimit",
    "LossRateLimit",
    "PnlUpdate",
    "RiskAlert",
    "RiskControlsConfig",
    "RiskEvent",
    "RiskReset",
    "RiskTripped",
    "WebhookConfig",
]
