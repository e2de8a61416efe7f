"""Live risk controls on a running node: P&L on the bus, drawdown alerts, circuit breakers,
the kill switch and the concentration monitor. Every action is an audited event.

:class:`RiskMonitor` attaches to a :class:`~hftcore.node.kernel.TradingNode`. It subscribes
to every market-data topic and to every order event with the highest priority, so it sees each
price and fill *after* the gate and the portfolio have marked it and *before* any strategy
does: a breaker that trips on an event blocks the orders a strategy sends in reaction to that
same event, not one event later. It acts only through the compiled gate (trading state, kill
switch), which stays the one place an order can be refused.

* Breakers: the gate's own daily-loss breaker (audited when it trips), max drawdown from the
  equity high, loss within a trailing window, venue errors (rejects, disconnects) within a
  trailing window. A trip moves the operator trading state to REDUCING or HALTED (never to a
  laxer one) and latches until an authorised :meth:`RiskMonitor.reset`.
* Kill switch (:meth:`RiskMonitor.kill`, the ``hftcore kill`` command through the control
  directory, or SIGUSR1): engages the gate's kill switch, cancels every open order on every
  venue and, if asked, closes every position with market orders first (in REDUCING, so
  nothing else but reducing orders can pass meanwhile), then blocks every order until a reset
  presenting the secret from the environment (compared with :func:`hmac.compare_digest`).
* Money is exact: equity and P&L are the portfolio's integer money units; thresholds are
  ``Decimal`` and compared as fractions.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import signal
import time
from collections import deque
from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from hftcore.errors import ConfigError, InvalidValue
from hftcore.model.events import (
    CancelAllOrders,
    OrderCancelRejected,
    OrderFilled,
    OrderModifyRejected,
    OrderRejected,
    SubmitOrder,
)
from hftcore.model.money import MONEY_UNIT, money_to_decimal
from hftcore.model.risk import CircuitBreakerTrip, TradingState
from hftcore.model.risk_controls import (
    ACCOUNT,
    CorrelationWatch,
    PnlUpdate,
    RiskAlert,
    RiskControlsConfig,
    RiskEvent,
    RiskReset,
    RiskTripped,
)
from hftcore.node.clock import TimeEvent
from hftcore.node.config import NodeConfig
from hftcore.node.kernel import TradingNode
from hftcore.node.strategy import Strategy
from hftcore.risk.alerts import AlertDispatcher, channels_from_config
from hftcore.risk.dependence import correlation_breaks
from hftcore.risk.exposure import concentration
from hftcore.store.base import EventStore

logger = logging.getLogger(__name__)

NS_PER_DAY = 86_400 * 10**9
#: Above every strategy subscription: the monitor sees each event first.
MONITOR_PRIORITY = 1_000_000


class ControlRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A request dropped into the control directory by ``hftcore kill`` / ``hftcore reset``;
    ``ts`` is when it was written (wall clock, ns)."""

    action: str
    ts: int
    reason: str = ""
    flatten: bool = False
    token: str | None = None


#: A request older than this when the node reads it is stale: logged, counted and dropped, so
#: a request left behind while no node ran (a reset above all) never acts on a later session.
MAX_REQUEST_AGE_NS = 60 * 10**9


def control_directory(config: NodeConfig) -> Path:
    """Where a node with this config polls for kill / reset requests:
    ``risk_controls.control_dir``, else ``<node.data_dir>/control``."""
    configured = config.risk_controls.control_dir
    return Path(configured) if configured else Path(config.node.data_dir) / "control"


def write_control_request(directory: str | Path, request: ControlRequest) -> Path:
    """Writes ``request`` atomically (temporary file, then rename) where a node polls."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{request.ts:020d}-{request.action}.json"
    temporary = folder / f".{target.name}.tmp"
    temporary.write_bytes(msgspec.json.encode(request))
    os.replace(temporary, target)
    return target


def _fraction_setting(name: str, value: Decimal | None) -> Fraction | None:
    if value is None:
        return None
    if not 0 < value < 1:
        raise ConfigError("INVALID_CONFIG", f"risk_controls.{name} must be in (0, 1), got {value}")
    return Fraction(value)


def _levels(name: str, values: list[Decimal]) -> list[Fraction]:
    levels = [_fraction_setting(name, value) for value in values]
    return sorted(level for level in levels if level is not None)


def _text(value: Fraction) -> str:
    """A ratio as decimal text (28 significant digits where it does not terminate)."""
    return str(Decimal(value.numerator) / Decimal(value.denominator))


def _money(units: int) -> str:
    return str(money_to_decimal(units))


class RiskMonitor:
    """The live controls of one node; see the module docs."""

    def __init__(
        self,
        node: TradingNode,
        config: RiskControlsConfig | None = None,
        *,
        store: EventStore | None = None,
        dispatcher: AlertDispatcher | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.node = node
        self.config = config = config if config is not None else RiskControlsConfig()
        self._environ = os.environ if environ is None else environ
        self._intraday_levels = _levels("intraday_drawdown_alerts", config.intraday_drawdown_alerts)
        self._drawdown_levels = _levels("drawdown_alerts", config.drawdown_alerts)
        self._max_drawdown = _fraction_setting("max_drawdown", config.max_drawdown)
        self._max_concentration = _fraction_setting("max_concentration", config.max_concentration)
        for name, limit in (("loss_rate", config.loss_rate), ("error_rate", config.error_rate)):
            if limit is not None and not limit.window_s > 0:
                raise ConfigError("INVALID_CONFIG", f"risk_controls.{name}.window_s must be > 0")
        if config.loss_rate is not None and not config.loss_rate.max_loss > 0:
            raise ConfigError("INVALID_CONFIG", "risk_controls.loss_rate.max_loss must be > 0")
        if config.pnl_interval_ns < 0:
            raise ConfigError("INVALID_CONFIG", "risk_controls.pnl_interval_ns must be >= 0")
        if config.error_rate is not None and config.error_rate.max_errors < 1:
            raise ConfigError("INVALID_CONFIG", "risk_controls.error_rate.max_errors must be >= 1")
        for name, state in (
            ("max_drawdown_state", config.max_drawdown_state),
            ("loss_rate.state", config.loss_rate.state if config.loss_rate else None),
            ("error_rate.state", config.error_rate.state if config.error_rate else None),
        ):
            if state is TradingState.ACTIVE:
                raise ConfigError(
                    "INVALID_CONFIG", f"risk_controls.{name} must be REDUCING or HALTED"
                )
        self.gate = node.risk.gate
        self._store = store
        self.dispatcher = (
            dispatcher
            if dispatcher is not None
            else AlertDispatcher(channels_from_config(config.webhook, config.email))
        )
        self.events: list[RiskEvent] = []
        self.killed = False
        self.tripped: dict[str, RiskTripped] = {}
        self.malformed_requests = 0
        self.stale_requests = 0
        self._sequence = (
            0
            if store is None
            else sum(1 for _ in store.events(kinds=[RiskTripped, RiskAlert, RiskReset]))
        )
        self._rearm(node.portfolio.equity())
        self._reported_gate_trip: CircuitBreakerTrip | None = None
        self._errors: deque[int] = deque()
        self._concentrated = False
        self._last_pnl_ts: int | None = None
        self._watch = config.correlation_watch
        if self._watch is not None:
            self._check_watch(self._watch)
        self._closes: deque[list[int]] = deque(
            maxlen=0
            if self._watch is None
            else self._watch.short_window + self._watch.long_window + 2
        )
        self._watch_started = False
        node.bus.subscribe("data.>", self._on_data, MONITOR_PRIORITY)
        node.bus.subscribe("events.order.>", self._on_order_event, MONITOR_PRIORITY)

    def _check_watch(self, watch: CorrelationWatch) -> None:
        field = "risk_controls.correlation_watch"
        names = watch.instruments
        if len(names) < 2 or len(set(names)) != len(names):
            raise ConfigError(
                "INVALID_CONFIG", f"{field}.instruments needs two or more distinct instruments"
            )
        known = {instrument.instrument_id for instrument in self.node.cache.instruments()}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ConfigError(
                "UNKNOWN_INSTRUMENT", f"{field}.instruments: {', '.join(unknown)} not configured"
            )
        for name in ("short_window", "long_window"):
            value = getattr(watch, name)
            if not isinstance(value, int) or value < 4:
                raise ConfigError(
                    "INVALID_CONFIG", f"{field}.{name} must be an int >= 4 (Fisher z), got {value}"
                )
        if not 0 < watch.significance < 1:
            raise ConfigError("INVALID_CONFIG", f"{field}.significance must be in (0, 1)")
        if not 0 < watch.min_change <= 2:
            raise ConfigError("INVALID_CONFIG", f"{field}.min_change must be in (0, 2]")

    def _start_watch(self, ts: int) -> None:
        """Sets the daily check from the first midnight after the first data (not from the
        clock's start, which in a backtest may be decades before the data)."""
        self._watch_started = True
        midnight = (ts // NS_PER_DAY + 1) * NS_PER_DAY
        self.node.clock.set_timer(
            "risk.correlation_watch", NS_PER_DAY, self._on_day_close, start_ns=midnight
        )

    def _on_day_close(self, event: TimeEvent) -> None:
        """Takes the instruments' last prices as the closes of the day ending now; once the
        windows are full, checks the newest day's returns for correlation breaks."""
        watch = self._watch
        if watch is None:
            return
        prices = self.node.cache.last_prices(watch.instruments)
        closes = [price for price in prices if price is not None]
        if len(closes) != len(prices):
            missing = [
                name for name, price in zip(watch.instruments, prices, strict=True) if price is None
            ]
            logger.warning("correlation watch: no price yet for %s; day skipped", missing)
            return
        self._closes.append(closes)
        if len(self._closes) < watch.short_window + watch.long_window + 2:
            return
        levels = np.asarray(self._closes, dtype=np.float64)
        returns = levels[1:] / levels[:-1] - 1.0
        self.check_correlations(
            watch.instruments,
            returns,
            event.ts_event,
            short_window=watch.short_window,
            long_window=watch.long_window,
            significance=watch.significance,
            min_change=watch.min_change,
        )

    def _rearm(self, equity: int) -> None:
        """Measures drawdowns and loss windows afresh from ``equity`` (start, reset)."""
        self._peak = equity
        self._day: int | None = None
        self._day_peak = equity
        self._intraday_alerted: set[Fraction] = set()
        self._drawdown_alerted: set[Fraction] = set()
        self._window: deque[tuple[int, int]] = deque()

    # -- inputs ------------------------------------------------------------------------------

    def _on_data(self, message: Any) -> None:
        ts = getattr(message, "ts_event", None)
        if isinstance(ts, int):
            self.evaluate(ts)

    def _on_order_event(self, event: Any) -> None:
        if isinstance(event, OrderFilled):
            self.evaluate(event.ts_event)
        elif isinstance(event, OrderRejected | OrderCancelRejected | OrderModifyRejected):
            if isinstance(event, OrderCancelRejected) and event.reason == "CANCEL_RATE":
                return  # the gate's own throttle, not a venue error
            self.record_error(event.ts_event, f"{type(event).__name__} {event.client_order_id}")

    def record_disconnect(self, venue: str, ts: int) -> None:
        """A venue connection dropped: counts toward the error-rate breaker."""
        self.record_error(ts, f"disconnect {venue}")

    def record_error(self, ts: int, what: str) -> None:
        limit = self.config.error_rate
        if limit is None:
            return
        self._errors.append(ts)
        horizon = ts - round(limit.window_s * 1e9)
        while self._errors and self._errors[0] <= horizon:
            self._errors.popleft()
        if len(self._errors) >= limit.max_errors:
            self._trip(
                "ERROR_RATE",
                limit.state,
                f"{len(self._errors)} venue errors within {limit.window_s} s (last: {what})",
                {
                    "errors": str(len(self._errors)),
                    "max_errors": str(limit.max_errors),
                    "window_s": str(limit.window_s),
                },
                ts,
            )

    # -- evaluation ----------------------------------------------------------------------------

    def evaluate(self, ts: int) -> None:
        """Checks every control against the node's state now (called on each price and fill)."""
        if not self._watch_started and self._watch is not None:
            self._start_watch(ts)
        self._audit_gate_breaker()
        equity = self.node.portfolio.equity()
        day = ts // NS_PER_DAY
        if day != self._day:
            self._day, self._day_peak = day, equity
            self._intraday_alerted.clear()
        self._peak = max(self._peak, equity)
        self._day_peak = max(self._day_peak, equity)
        self._drawdown_checks(equity, ts)
        self._loss_rate_check(equity, ts)
        if self._max_concentration is not None:
            self._concentration_check(ts)
        interval = self.config.pnl_interval_ns
        if self._last_pnl_ts is None or ts - self._last_pnl_ts >= interval:
            self._last_pnl_ts = ts
            self.node.bus.publish("risk.pnl", self.pnl(ts))

    def _audit_gate_breaker(self) -> None:
        trip = self.gate.circuit_breaker_trip
        if trip is None or trip == self._reported_gate_trip:
            return
        self._reported_gate_trip = trip
        event = RiskTripped(
            ACCOUNT,
            ACCOUNT,
            self._next_sequence(),
            "DAILY_LOSS_LIMIT",
            trip.state,
            f"daily P&L {trip.daily_pnl} breached the loss limit {trip.daily_loss_limit}",
            {
                "daily_pnl": str(trip.daily_pnl),
                "daily_loss_limit": str(trip.daily_loss_limit),
                "realized_pnl": str(trip.realized_pnl),
                "unrealized_pnl": str(trip.unrealized_pnl),
            },
            "gate",
            trip.ts,
            self.node.clock.timestamp_ns(),
        )
        self.tripped["DAILY_LOSS_LIMIT"] = event
        self._audit(event)

    def _drawdown_checks(self, equity: int, ts: int) -> None:
        if self._peak > 0:
            drawdown = Fraction(self._peak - equity, self._peak)
            for level in self._drawdown_levels:
                if drawdown >= level and level not in self._drawdown_alerted:
                    self._drawdown_alerted.add(level)
                    self._alert("DRAWDOWN", level, drawdown, peak=self._peak, equity=equity, ts=ts)
            if self._max_drawdown is not None and drawdown >= self._max_drawdown:
                self._trip(
                    "MAX_DRAWDOWN",
                    self.config.max_drawdown_state,
                    f"drawdown {float(drawdown):.2%} from the equity high reached the limit "
                    f"{float(self._max_drawdown):.2%}",
                    {
                        "drawdown": _text(drawdown),
                        "limit": _text(self._max_drawdown),
                        "peak_equity": _money(self._peak),
                        "equity": _money(equity),
                    },
                    ts,
                )
        if self._day_peak > 0:
            intraday = Fraction(self._day_peak - equity, self._day_peak)
            for level in self._intraday_levels:
                if intraday >= level and level not in self._intraday_alerted:
                    self._intraday_alerted.add(level)
                    self._alert(
                        "INTRADAY_DRAWDOWN",
                        level,
                        intraday,
                        peak=self._day_peak,
                        equity=equity,
                        ts=ts,
                    )

    def _alert(
        self, kind: str, level: Fraction, drawdown: Fraction, *, peak: int, equity: int, ts: int
    ) -> None:
        what = kind.lower().replace("_", " ")
        self._audit(
            RiskAlert(
                ACCOUNT,
                ACCOUNT,
                self._next_sequence(),
                kind,
                f"{what} {float(drawdown):.2%} crossed {float(level):.2%}",
                {
                    "drawdown": _text(drawdown),
                    "level": _text(level),
                    "peak_equity": _money(peak),
                    "equity": _money(equity),
                },
                ts,
                self.node.clock.timestamp_ns(),
            )
        )

    def _loss_rate_check(self, equity: int, ts: int) -> None:
        limit = self.config.loss_rate
        if limit is None:
            return
        window = self._window  # (ts, equity), equities strictly decreasing: a monotonic max
        while window and window[-1][1] <= equity:
            window.pop()
        window.append((ts, equity))
        horizon = ts - round(limit.window_s * 1e9)
        while window[0][0] < horizon:
            window.popleft()
        high = window[0][1]
        loss = high - equity
        if Fraction(loss, MONEY_UNIT) >= Fraction(limit.max_loss):
            self._trip(
                "LOSS_RATE",
                limit.state,
                f"lost {_money(loss)} within {limit.window_s} s (limit {limit.max_loss})",
                {
                    "loss": _money(loss),
                    "max_loss": str(limit.max_loss),
                    "window_s": str(limit.window_s),
                    "window_high": _money(high),
                    "equity": _money(equity),
                },
                ts,
            )

    def _concentration_check(self, ts: int) -> None:
        gross = self.gate.gross_exposure
        if gross <= 0:
            self._concentrated = False
            return
        ids = self.gate.instrument_ids
        exposures = {ids[i]: self.gate.position(i).gross_exposure for i in range(len(ids))}
        measured = concentration(exposures, top_n=1)
        name, share = measured.top[0]
        top_share = Fraction(exposures[name]) / Fraction(gross)
        assert self._max_concentration is not None
        concentrated = top_share > self._max_concentration
        if concentrated and not self._concentrated:
            self._audit(
                RiskAlert(
                    ACCOUNT,
                    name,
                    self._next_sequence(),
                    "CONCENTRATION",
                    f"{name} holds {share:.1%} of gross exposure",
                    {
                        "share": _text(top_share),
                        "limit": _text(self._max_concentration),
                        "hhi": repr(measured.hhi),
                        "gross_exposure": str(gross),
                    },
                    ts,
                    self.node.clock.timestamp_ns(),
                )
            )
        self._concentrated = concentrated

    def check_correlations(
        self,
        names: Sequence[str],
        returns: object,
        ts: int,
        *,
        short_window: int = 20,
        long_window: int = 250,
        significance: float = 0.001,
        min_change: float = 0.2,
    ) -> list[RiskAlert]:
        """Raises a ``CORRELATION_BREAK`` alert for every pair of ``names`` whose correlation
        breaks from its regime on the latest row of ``returns`` (periods x assets), as
        :func:`hftcore.risk.dependence.correlation_breaks` defines it; call it once a period
        (e.g. each day's close) with the return history."""
        matrix = np.asarray(returns)
        labels = [str(name) for name in names]
        if matrix.ndim != 2 or len(labels) != matrix.shape[1]:
            raise InvalidValue("LENGTH_MISMATCH", "returns needs one column per name")
        breaks = correlation_breaks(
            matrix,
            short_window=short_window,
            long_window=long_window,
            significance=significance,
            min_change=min_change,
        )
        raised: list[RiskAlert] = []
        for item in breaks:
            if item.row != matrix.shape[0] - 1:
                continue  # an older break was alerted when it was the latest row
            first, second = labels[item.first], labels[item.second]
            alert = RiskAlert(
                ACCOUNT,
                ACCOUNT,
                self._next_sequence(),
                "CORRELATION_BREAK",
                f"{first}/{second} correlation {item.recent:.2f}, regime {item.baseline:.2f}",
                {
                    "pair": f"{first}/{second}",
                    "recent": repr(item.recent),
                    "baseline": repr(item.baseline),
                    "z": repr(item.z),
                },
                ts,
                self.node.clock.timestamp_ns(),
            )
            self._audit(alert)
            raised.append(alert)
        return raised

    def pnl(self, ts: int) -> PnlUpdate:
        """Realized and unrealized P&L of the account, by strategy and by instrument."""
        snapshot = self.node.portfolio.snapshot(ts)
        by_strategy: dict[str, tuple[int, int]] = {}
        by_instrument: dict[str, tuple[int, int]] = {}
        for position in snapshot.positions:
            for table, key in (
                (by_strategy, position.strategy_id),
                (by_instrument, position.instrument_id),
            ):
                realized, unrealized = table.get(key, (0, 0))
                table[key] = (
                    realized
                    + self.node.portfolio.convert(
                        position.realized_pnl, position.currency, snapshot.base_currency
                    ),
                    unrealized
                    + self.node.portfolio.convert(
                        position.unrealized_pnl, position.currency, snapshot.base_currency
                    ),
                )
        return PnlUpdate(
            ts,
            snapshot.equity,
            snapshot.realized_pnl,
            snapshot.unrealized_pnl,
            by_strategy,
            by_instrument,
        )

    # -- actions -------------------------------------------------------------------------------

    def _impose(self, state: TradingState) -> None:
        if state > self.gate.operator_trading_state:
            self.gate.set_trading_state(state)

    def _trip(
        self, trigger: str, state: TradingState, reason: str, values: dict[str, str], ts: int
    ) -> None:
        if trigger in self.tripped:
            return
        self._impose(state)
        event = RiskTripped(
            ACCOUNT,
            ACCOUNT,
            self._next_sequence(),
            trigger,
            state,
            reason,
            values,
            "monitor",
            ts,
            self.node.clock.timestamp_ns(),
        )
        self.tripped[trigger] = event
        self._audit(event)

    def kill(self, *, reason: str, flatten: bool = False, source: str = "api") -> RiskTripped:
        """Engages the kill switch: cancels every open order on every venue, optionally closes
        every position with market orders, and blocks every new order until :meth:`reset`.
        May be repeated: a later ``flatten`` closes what filled since."""
        node = self.node
        now = node.clock.timestamp_ns()
        if flatten:
            # Only reducing orders pass while we flatten; a kill already engaged is lifted for
            # that time too, so a repeated flatten closes what filled after the first (fills
            # in flight, or a position the gate would not let shrink while exits still worked).
            self.gate.reset_kill_switch()
            self._impose(TradingState.REDUCING)
        else:
            self.gate.engage_kill_switch()
        oms = node.execution.oms
        working = sorted({(o.strategy_id, o.instrument_id) for o in oms.orders(open_only=True)})
        canceled = sum(1 for _ in oms.orders(open_only=True))
        for strategy_id, instrument_id in working:
            node.execute(CancelAllOrders(strategy_id, instrument_id, None, now))
        closed: list[str] = []
        if flatten:
            for position in node.portfolio.positions():
                if position.quantity:
                    spec = Strategy.market(
                        position.instrument_id,
                        1 if position.quantity > 0 else 0,
                        abs(position.quantity),
                    )
                    client_order_id = node.next_client_order_id(position.strategy_id)
                    node.execute(SubmitOrder(position.strategy_id, client_order_id, spec, now))
                    closed.append(client_order_id)
            self.gate.engage_kill_switch()
        self.killed = True
        event = RiskTripped(
            ACCOUNT,
            ACCOUNT,
            self._next_sequence(),
            "KILL_SWITCH",
            TradingState.HALTED,
            reason or "kill switch engaged",
            {
                "open_orders_canceled": str(canceled),
                "flatten_orders": str(len(closed)),
                "still_open": str(sum(1 for _ in oms.orders(open_only=True))),
            },
            source,
            now,
            node.clock.timestamp_ns(),
        )
        self.tripped["KILL_SWITCH"] = event
        self._audit(event)
        return event

    def reset(self, token: str | None, *, reason: str = "", source: str = "api") -> bool:
        """Clears the kill switch and every tripped breaker if ``token`` equals the secret in
        the environment variable ``config.reset_token_env``; refuses (and audits the refusal)
        otherwise, and always when no secret is set."""
        node = self.node
        now = node.clock.timestamp_ns()
        secret = self._environ.get(self.config.reset_token_env, "")
        authorised = bool(secret) and hmac.compare_digest(
            (token or "").encode("utf-8"), secret.encode("utf-8")
        )
        if authorised:
            self.gate.reset_kill_switch()
            self.gate.set_trading_state(TradingState.ACTIVE)
            self.gate.reset_circuit_breaker(now)
            self._reported_gate_trip = self.gate.circuit_breaker_trip
            self.killed = False
            self.tripped.clear()
            self._errors.clear()
            self._rearm(node.portfolio.equity())
            sentence = reason or "kill switch and breakers reset"
        elif not secret:
            sentence = f"refused: no reset secret in {self.config.reset_token_env}"
        else:
            sentence = "refused: the reset token does not match"
        self._audit(
            RiskReset(
                ACCOUNT, ACCOUNT, self._next_sequence(), authorised, sentence, source, now, now
            )
        )
        if not authorised:
            logger.warning("risk reset %s (source %s)", sentence, source)
        return authorised

    def _next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence

    def _audit(self, event: RiskEvent) -> None:
        self.events.append(event)
        if self._store is not None:
            self._store.append(event)
        self.node.bus.publish(f"risk.events.{type(event).__name__}", event)
        self.dispatcher.publish(event)

    # -- restart and remote control ------------------------------------------------------------

    def restore(self, store: EventStore) -> None:
        """After a restart: re-imposes the trips and the kill switch the log holds since the
        last authorised reset (a restart is not a reset)."""
        pending: dict[str, RiskTripped] = {}
        for stored in store.events(kinds=[RiskTripped, RiskReset]):
            event = stored.event
            if isinstance(event, RiskReset) and event.authorised:
                pending.clear()
            elif isinstance(event, RiskTripped):
                pending[event.trigger] = event
        for trigger, event in pending.items():
            self.tripped[trigger] = event
            if trigger == "KILL_SWITCH":
                self.gate.engage_kill_switch()
                self.killed = True
            elif trigger != "DAILY_LOSS_LIMIT":  # the gate re-trips that one from the P&L
                self._impose(event.state)

    def poll_controls(self) -> int:
        """Applies every request waiting in ``config.control_dir`` (oldest first) and removes
        it; a malformed or stale (:data:`MAX_REQUEST_AGE_NS`) file is logged, counted and
        removed. Returns the requests applied."""
        if self.config.control_dir is None:
            return 0
        folder = Path(self.config.control_dir)
        if not folder.is_dir():
            return 0
        applied = 0
        for path in sorted(folder.glob("*.json")):
            try:
                request = msgspec.json.decode(path.read_bytes(), type=ControlRequest)
                if request.action not in ("kill", "reset"):
                    raise InvalidValue("UNKNOWN_ACTION", f"unknown action {request.action!r}")
            except (msgspec.DecodeError, msgspec.ValidationError, InvalidValue) as error:
                self.malformed_requests += 1
                logger.error("control request %s skipped: %s", path.name, error)
            else:
                age = time.time_ns() - request.ts
                if age > MAX_REQUEST_AGE_NS:
                    self.stale_requests += 1
                    logger.error(
                        "control request %s is %.0f s old: dropped as stale", path.name, age / 1e9
                    )
                    path.unlink(missing_ok=True)
                    continue
                if request.action == "kill":
                    self.kill(
                        reason=request.reason or "kill requested",
                        flatten=request.flatten,
                        source="cli",
                    )
                else:
                    self.reset(request.token, reason=request.reason, source="cli")
                applied += 1
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        return applied

    async def watch_controls(self, interval_s: float = 0.1) -> None:
        """Polls the control directory until cancelled."""
        while True:
            self.poll_controls()
            await asyncio.sleep(interval_s)

    def install_signal_handler(self, loop: asyncio.AbstractEventLoop) -> None:
        """SIGUSR1 engages the kill switch (without flattening)."""
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(
                signal.SIGUSR1, lambda: self.kill(reason="SIGUSR1", source="signal")
            )

    def close(self) -> None:
        """Delivers the queued alerts, stops the alert thread and the daily check."""
        if self._watch_started:
            self._watch_started = False
            self.node.clock.cancel_timer("risk.correlation_watch")
        self.dispatcher.close()


__all__ = [
    "MAX_REQUEST_AGE_NS",
    "MONITOR_PRIORITY",
    "ControlRequest",
    "RiskMonitor",
    "control_directory",
    "write_control_request",
]
