"""Live risk controls on a node with an event store: prices are driven through each trip
condition; the order a strategy sends on the tripping bar is denied, the one on the bar before
is not; every trip is an audited, stored event; after the kill switch no order leaves; a reset
needs the secret. Alerts reach a local webhook and a local SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest
from aiosmtpd.controller import Controller
from hftcore.data.loaders import import_bundled
from hftcore.errors import ConfigError, InvalidValue
from hftcore.model.data import Bar
from hftcore.model.events import (
    CancelOrder,
    OrderDenied,
    OrderEvent,
    OrderSpec,
    OrderSubmitted,
    SubmitOrder,
)
from hftcore.model.orders import OrderType
from hftcore.model.risk import TradingState
from hftcore.model.risk_controls import (
    EmailConfig,
    PnlUpdate,
    RiskAlert,
    RiskReset,
    RiskTripped,
    WebhookConfig,
)
from hftcore.node.backtest import backtest_from_catalog
from hftcore.node.config import parse_config
from hftcore.node.kernel import TradingNode
from hftcore.node.paper import PAPER_VENUE, PaperVenue
from hftcore.node.strategy import Strategy
from hftcore.oms.throttle import Throttler
from hftcore.risk.alerts import AlertDispatcher, EmailChannel, LogChannel, WebhookChannel
from hftcore.risk.live import (
    MAX_REQUEST_AGE_NS,
    ControlRequest,
    RiskMonitor,
    write_control_request,
)
from hftcore.store.sqlite import SqliteEventStore

INSTRUMENT = "ABC.SIM"
OTHER = "XYZ.SIM"
DAY = 86_400 * 10**9
SECRET = "s3cret-token"
START_PRICE = 10_000  # 100.00


class Probe(Strategy):
    """Buys 1000 lots on the first bar, then on every bar sends a far-away limit buy of one
    lot (it never fills, so the P&L is the position's alone) and records what came of it."""

    def __init__(self, strategy_id: str = "S") -> None:
        super().__init__(strategy_id)
        self.sent: dict[int, str] = {}
        self.events: dict[str, list[OrderEvent]] = {}
        self.first = True

    def on_start(self) -> None:
        self.subscribe_bars(INSTRUMENT)

    def on_bar(self, bar: Bar) -> None:
        if self.first:
            self.first = False
            self.submit_order(self.market(INSTRUMENT, 0, 1000))
        self.sent[bar.ts_event] = self.submit_order(self.limit(INSTRUMENT, 0, 1, bar.close // 2))

    def on_order_event(self, event: OrderEvent) -> None:
        self.events.setdefault(event.client_order_id, []).append(event)

    def denied(self, ts: int) -> str | None:
        for event in self.events[self.sent[ts]]:
            if isinstance(event, OrderDenied):
                return event.reason
        return None


def _node(
    tmp_path: Path, controls: dict[str, Any], risk: dict[str, Any] | None = None
) -> tuple[TradingNode, SqliteEventStore, Probe, RiskMonitor]:
    config = parse_config(
        {
            "node": {"mode": "paper", "starting_balances": {"USD": "100000"}},
            "instruments": [
                {
                    "instrument_id": instrument_id,
                    "tick_size": "0.01",
                    "price_precision": 2,
                    "lot_size": "1",
                    "size_precision": 0,
                }
                for instrument_id in (INSTRUMENT, OTHER)
            ],
            "risk": risk or {},
            "risk_controls": controls,
        },
        environ={},
    )
    store = SqliteEventStore(tmp_path / "events.sqlite")
    node = TradingNode(config, store=store)
    venue = PaperVenue(
        PAPER_VENUE,
        {node.cache.instrument(INSTRUMENT): "USD", node.cache.instrument(OTHER): "USD"},
    )
    node.add_venue(PAPER_VENUE, venue)
    monitor = RiskMonitor(
        node,
        config.risk_controls,
        store=store,
        dispatcher=AlertDispatcher([LogChannel()]),
        environ={"HFTCORE_RISK_RESET_TOKEN": SECRET},
    )
    probe = Probe()
    node.add_strategy(probe)
    node.start()
    return node, store, probe, monitor


def _bar(day: int, close: int, instrument_id: str = INSTRUMENT) -> Bar:
    return Bar(instrument_id, "1-DAY", close, close, close, close, 1_000, day * DAY, day * DAY)


def _drive(node: TradingNode, closes: list[int]) -> list[int]:
    """Feeds one bar a day; returns the account equity after each bar."""
    equities: list[int] = []
    for day, close in enumerate(closes, start=1):
        node.advance_to(day * DAY)
        node.process_bar(_bar(day, close))
        equities.append(node.portfolio.equity())
    return equities


def _falling(steps: int, step: int = 100) -> list[int]:
    # flat for two bars (the market buy fills at the second bar's open), then down 1 % a bar
    return [START_PRICE, START_PRICE] + [START_PRICE - step * k for k in range(1, steps + 1)]


def _stored(store: SqliteEventStore, kind: type[Any]) -> list[Any]:
    return [stored.event for stored in store.events(kinds=[kind])]


def _first_breach(values: list[Any], breached: Any) -> int:
    return next(index for index, value in enumerate(values) if breached(index, value))


def test_max_drawdown_halts_at_the_breaching_bar_not_one_later(tmp_path: Path) -> None:
    node, store, probe, monitor = _node(tmp_path, {"max_drawdown": "0.05"})
    closes = _falling(10)
    equities = _drive(node, closes)
    peaks = [max(equities[: i + 1]) for i in range(len(equities))]
    trip = _first_breach(
        equities, lambda i, equity: Fraction(peaks[i] - equity, peaks[i]) >= Fraction(5, 100)
    )
    trip_ts = (trip + 1) * DAY
    assert probe.denied(trip_ts - DAY) is None  # the bar before: approved
    assert probe.denied(trip_ts) == "TRADING_HALTED"  # the tripping bar's own reaction
    assert node.risk.gate.trading_state is TradingState.HALTED
    [event] = _stored(store, RiskTripped)
    assert event.trigger == "MAX_DRAWDOWN"
    assert event.ts_event == trip_ts
    assert Decimal(event.values["drawdown"]) >= Decimal("0.05")
    assert Decimal(event.values["limit"]) == Decimal("0.05")
    assert monitor.events[-1] == event
    monitor.close()
    store.close()


def test_gate_daily_loss_breaker_is_audited_with_its_numbers(tmp_path: Path) -> None:
    node, store, probe, monitor = _node(tmp_path, {}, risk={"daily_loss_limit": "2500"})
    equities = _drive(node, _falling(6))
    start = equities[0]
    trip = _first_breach(equities, lambda _i, equity: start - equity > 2500 * 10**12)
    trip_ts = (trip + 1) * DAY
    assert probe.denied(trip_ts - DAY) is None
    assert probe.denied(trip_ts) == "DAILY_LOSS_LIMIT"
    [event] = _stored(store, RiskTripped)
    assert event.trigger == "DAILY_LOSS_LIMIT"
    assert event.source == "gate"
    assert event.ts_event == trip_ts
    assert Decimal(event.values["daily_pnl"]) < -2500
    assert Decimal(event.values["daily_loss_limit"]) == 2500
    monitor.close()
    store.close()


def test_loss_rate_over_a_window_trips_reducing(tmp_path: Path) -> None:
    controls = {"loss_rate": {"window_s": 2.5 * 86_400, "max_loss": "2500", "state": 1}}
    node, store, probe, monitor = _node(tmp_path, controls)
    closes = [START_PRICE, START_PRICE, 9_950, 9_990, 9_900, 9_850, 9_700, 9_600]
    equities = _drive(node, closes)

    def breached(index: int, equity: int) -> bool:
        window = equities[max(0, index - 2) : index + 1]  # bars within 2.5 days
        return max(window) - equity >= 2500 * 10**12

    trip = _first_breach(equities, breached)
    trip_ts = (trip + 1) * DAY
    assert probe.denied(trip_ts - DAY) is None
    assert probe.denied(trip_ts) == "REDUCE_ONLY"  # a buy does not reduce a long position
    [event] = _stored(store, RiskTripped)
    assert event.trigger == "LOSS_RATE"
    assert event.state is TradingState.REDUCING
    assert Decimal(event.values["loss"]) >= 2500
    monitor.close()
    store.close()


def test_error_rate_counts_venue_rejects_and_disconnects(tmp_path: Path) -> None:
    controls = {"error_rate": {"window_s": 60.0, "max_errors": 3}}
    node, store, probe, monitor = _node(tmp_path, controls)
    _drive(node, [START_PRICE])
    now = node.clock.timestamp_ns()
    # the bar venue refuses a stop with IOC (it could only ever wait): a venue reject
    refused = OrderSpec(INSTRUMENT, 0, OrderType.STOP, 1, trigger_price=20_000, time_in_force=1)
    rejected = probe.submit_order(refused)
    assert any(type(e).__name__ == "OrderRejected" for e in probe.events[rejected])
    monitor.record_disconnect(PAPER_VENUE, now)
    assert node.risk.gate.trading_state is TradingState.ACTIVE  # two errors so far
    monitor.record_disconnect(PAPER_VENUE, now + 1)
    assert node.risk.gate.trading_state is TradingState.REDUCING
    [event] = _stored(store, RiskTripped)
    assert event.trigger == "ERROR_RATE"
    assert event.values["errors"] == "3"
    monitor.close()
    store.close()


def test_drawdown_alerts_fire_once_per_level_and_pnl_is_published(tmp_path: Path) -> None:
    controls = {"drawdown_alerts": ["0.02", "0.04"], "intraday_drawdown_alerts": ["0.01"]}
    node, store, _, monitor = _node(tmp_path, controls)
    updates: list[PnlUpdate] = []
    node.bus.subscribe("risk.pnl", updates.append)
    equities = _drive(node, _falling(6))
    alerts = _stored(store, RiskAlert)
    assert [a.alert for a in alerts if a.alert == "DRAWDOWN"] == ["DRAWDOWN", "DRAWDOWN"]
    assert [a.values["level"] for a in alerts if a.alert == "DRAWDOWN"] == ["0.02", "0.04"]
    assert not _stored(store, RiskTripped)  # alerts only: trading goes on
    assert len(updates) == len(equities) + 1  # every bar, plus the fill
    last = updates[-1]
    assert last.equity == equities[-1]
    position_pnl = 1000 * (_falling(6)[-1] - START_PRICE) * 10**10  # ticks of 0.01, 1e-12 units
    assert last.unrealized_pnl == position_pnl
    assert last.by_strategy == {"S": (0, position_pnl)}
    assert last.by_instrument == {INSTRUMENT: (0, position_pnl)}
    monitor.close()
    store.close()


def test_concentration_alert_when_one_instrument_dominates(tmp_path: Path) -> None:
    node, store, _, monitor = _node(tmp_path, {"max_concentration": "0.6"})
    _drive(node, [START_PRICE, START_PRICE])
    [alert] = [a for a in _stored(store, RiskAlert) if a.alert == "CONCENTRATION"]
    assert alert.instrument_id == INSTRUMENT
    assert Decimal(alert.values["share"]) == 1
    monitor.close()
    store.close()


def test_kill_switch_cancels_everything_and_no_order_leaves_until_authorised_reset(
    tmp_path: Path,
) -> None:
    node, store, probe, monitor = _node(tmp_path, {})
    _drive(node, [START_PRICE, START_PRICE, START_PRICE])
    working = [o.client_order_id for o in node.execution.oms.orders(open_only=True)]
    assert len(working) == 3  # the probe's far-away limits
    submitted_before = len(_stored(store, OrderSubmitted))
    event = monitor.kill(reason="operator", source="api")
    assert not list(node.execution.oms.orders(open_only=True))
    assert node.execution.venue_for(INSTRUMENT)[1].open_orders() == []
    assert event.values["open_orders_canceled"] == "3"
    assert event.values["still_open"] == "0"
    for day in range(4, 7):
        node.advance_to(day * DAY)
        node.process_bar(_bar(day, START_PRICE))
        assert probe.denied(day * DAY) == "KILL_SWITCH"
    assert len(_stored(store, OrderSubmitted)) == submitted_before  # not one order left
    assert not monitor.reset("wrong-token")
    assert not monitor.reset(None)
    assert node.risk.gate.kill_switch_engaged
    node.advance_to(7 * DAY)
    node.process_bar(_bar(7, START_PRICE))
    assert probe.denied(7 * DAY) == "KILL_SWITCH"
    assert monitor.reset(SECRET)
    node.advance_to(8 * DAY)
    node.process_bar(_bar(8, START_PRICE))
    assert probe.denied(8 * DAY) is None
    resets = _stored(store, RiskReset)
    assert [r.authorised for r in resets] == [False, False, True]
    assert _stored(store, RiskTripped)[0].trigger == "KILL_SWITCH"
    monitor.close()
    store.close()


def test_reset_is_refused_without_a_configured_secret(tmp_path: Path) -> None:
    node, store, _, monitor = _node(tmp_path, {})
    monitor._environ = {}
    monitor.kill(reason="test")
    assert not monitor.reset("")
    assert not monitor.reset("anything")
    assert node.risk.gate.kill_switch_engaged
    assert "no reset secret" in _stored(store, RiskReset)[-1].reason
    monitor.close()
    store.close()


def test_kill_with_flatten_closes_positions_then_blocks(tmp_path: Path) -> None:
    node, store, probe, monitor = _node(tmp_path, {})
    _drive(node, [START_PRICE, START_PRICE])
    assert node.portfolio.net_quantity(INSTRUMENT) == 1000
    event = monitor.kill(reason="flatten", flatten=True)
    assert event.values["flatten_orders"] == "1"
    node.advance_to(3 * DAY)
    node.process_bar(_bar(3, START_PRICE))  # the flatten market order fills at the open
    assert node.portfolio.net_quantity(INSTRUMENT) == 0
    assert probe.denied(3 * DAY) == "KILL_SWITCH"
    monitor.close()
    store.close()


def test_control_directory_requests_kill_and_reset_and_skip_malformed(tmp_path: Path) -> None:
    control = tmp_path / "control"
    node, store, _, monitor = _node(tmp_path, {"control_dir": str(control)})
    _drive(node, [START_PRICE])
    control.mkdir()
    (control / "0-garbage.json").write_text("{not json")
    now = time.time_ns()
    write_control_request(control, ControlRequest(action="kill", ts=now, reason="from cli"))
    assert monitor.poll_controls() == 1
    assert monitor.malformed_requests == 1
    assert node.risk.gate.kill_switch_engaged
    write_control_request(control, ControlRequest(action="reset", ts=now + 1, token="nope"))
    monitor.poll_controls()
    assert node.risk.gate.kill_switch_engaged
    write_control_request(control, ControlRequest(action="reset", ts=now + 2, token=SECRET))
    monitor.poll_controls()
    assert not node.risk.gate.kill_switch_engaged
    assert list(control.glob("*.json")) == []
    assert [e.source for e in _stored(store, RiskTripped)] == ["cli"]
    monitor.close()
    store.close()


def test_a_stale_request_is_dropped_not_applied(tmp_path: Path) -> None:
    control = tmp_path / "control"
    node, store, _, monitor = _node(tmp_path, {"control_dir": str(control)})
    monitor.kill(reason="live kill")
    # a reset left behind long ago, with the right token, must not undo today's kill
    old = time.time_ns() - MAX_REQUEST_AGE_NS - 10**9
    write_control_request(control, ControlRequest(action="reset", ts=old, token=SECRET))
    assert monitor.poll_controls() == 0
    assert monitor.stale_requests == 1
    assert node.risk.gate.kill_switch_engaged
    assert list(control.glob("*.json")) == []
    monitor.close()
    store.close()


def test_a_restart_keeps_the_kill_switch_engaged(tmp_path: Path) -> None:
    node, store, _, monitor = _node(tmp_path, {"max_drawdown": "0.5"})
    monitor.kill(reason="before crash")
    monitor.close()
    store.close()
    node, store, _, monitor = _node(tmp_path, {})
    monitor.restore(store)
    assert node.risk.gate.kill_switch_engaged
    assert monitor.reset(SECRET)
    monitor.close()
    store.close()
    node, store, _probe, monitor = _node(tmp_path, {})
    monitor.restore(store)
    assert not node.risk.gate.kill_switch_engaged
    monitor.close()
    store.close()


@pytest.mark.parametrize(
    "controls",
    [
        {"max_drawdown": "1.5"},
        {"drawdown_alerts": ["0"]},
        {"loss_rate": {"window_s": 0, "max_loss": "10"}},
        {"error_rate": {"window_s": 10, "max_errors": 0}},
        {"loss_rate": {"window_s": 10, "max_loss": "10", "state": 0}},
        {"pnl_interval_ns": -1},
    ],
)
def test_bad_controls_config_names_the_field(tmp_path: Path, controls: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as error:
        _node(tmp_path, controls)
    assert error.value.code == "INVALID_CONFIG"


# --- alert channels against local servers ---------------------------------------------------


@pytest.fixture
def webhook_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts", received
    server.shutdown()
    server.server_close()


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:  # noqa: N802 (aiosmtpd hook name)
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, _Inbox]]:
    inbox = _Inbox()
    with socket.socket() as probe:  # a free port: the controller's self-check needs a real one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


def test_trip_reaches_webhook_and_email(
    tmp_path: Path,
    webhook_server: tuple[str, list[dict[str, Any]]],
    smtp_server: tuple[int, _Inbox],
) -> None:
    url, received = webhook_server
    port, inbox = smtp_server
    dispatcher = AlertDispatcher(
        [
            LogChannel(),
            WebhookChannel(WebhookConfig(url=url)),
            EmailChannel(
                EmailConfig(
                    host="127.0.0.1", port=port, sender="risk@test", recipients=["desk@test"]
                )
            ),
        ]
    )
    node, store, _, monitor = _node(tmp_path, {"max_drawdown": "0.03"})
    monitor.dispatcher.close()
    monitor.dispatcher = dispatcher
    _drive(node, _falling(5))
    dispatcher.flush()
    assert dispatcher.failures == {"log": 0, "webhook": 0, "email": 0}
    [payload] = received
    assert payload["type"] == "RiskTripped"
    assert payload["trigger"] == "MAX_DRAWDOWN"
    [raw] = inbox.messages
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Subject"].startswith("[hftcore risk] RiskTripped: drawdown 3.00%")
    assert message["To"] == "desk@test"
    body = message.get_body().get_content()  # type: ignore[union-attr]
    assert "drawdown=0.03, limit=0.03" in body
    dispatcher.close()
    store.close()


def test_a_failing_channel_is_counted_and_does_not_stop_the_others(
    webhook_server: tuple[str, list[dict[str, Any]]],
) -> None:
    url, received = webhook_server
    dead = WebhookChannel(WebhookConfig(url="http://127.0.0.1:9/never", timeout_s=0.5))
    dispatcher = AlertDispatcher([dead, WebhookChannel(WebhookConfig(url=url))])
    event = RiskAlert("*", "*", 1, "DRAWDOWN", "test", {"drawdown": "0.1"}, 1, 1)
    dispatcher.publish(event)
    dispatcher.flush()
    assert dispatcher.failures == {"webhook": 1}  # both are named webhook: the dead one failed
    assert len(received) == 1
    assert msgspec.convert(received[0], type=RiskAlert) == event
    dispatcher.close()


def test_webhook_config_refuses_a_non_http_url() -> None:
    with pytest.raises(ConfigError):
        WebhookChannel(WebhookConfig(url="ftp://example"))


def test_cancelling_an_order_the_gate_denied_is_answered_not_raised(tmp_path: Path) -> None:
    node, store, probe, monitor = _node(tmp_path, {})
    _drive(node, [START_PRICE])
    monitor.kill(reason="test")
    denied = probe.submit_order(Strategy.limit(INSTRUMENT, 0, 1, 5_000))
    probe.cancel_order(denied)  # the gate never counted it open: the OMS answers
    kinds = [type(event).__name__ for event in probe.events[denied]]
    assert kinds[-2:] == ["OrderDenied", "OrderCancelRejected"]
    monitor.close()
    store.close()


def test_kill_withdraws_submits_still_queued_at_the_venue_rate_limit(tmp_path: Path) -> None:
    config = parse_config(
        {
            "node": {"mode": "paper"},
            "instruments": [
                {
                    "instrument_id": INSTRUMENT,
                    "tick_size": "0.01",
                    "price_precision": 2,
                    "lot_size": "1",
                    "size_precision": 0,
                }
            ],
        },
        environ={},
    )
    node = TradingNode(config)
    venue = PaperVenue(PAPER_VENUE, {node.cache.instrument(INSTRUMENT): "USD"})
    node.add_venue(PAPER_VENUE, venue, Throttler(1, DAY))  # one command a day
    monitor = RiskMonitor(node, dispatcher=AlertDispatcher([LogChannel()]))
    node.advance_to(DAY)
    node.process_bar(_bar(1, START_PRICE))
    ids = []
    for _ in range(4):
        client_order_id = node.next_client_order_id("S")
        ids.append(client_order_id)
        spec = Strategy.limit(INSTRUMENT, 0, 1, 9_000)
        node.execute(SubmitOrder("S", client_order_id, spec, node.clock.timestamp_ns()))
    assert venue.open_orders() == [ids[0]]  # the others wait for the rate limit
    node.execute(CancelOrder("S", INSTRUMENT, ids[3], node.clock.timestamp_ns()))
    monitor.kill(reason="stop")
    for day in range(2, 8):  # the bucket refills: nothing queued may leave now
        node.advance_to(day * DAY)
        node.process_bar(_bar(day, START_PRICE))
    assert venue.open_orders() == []
    for client_order_id in ids[1:]:  # never reached the venue at all
        with pytest.raises(InvalidValue):
            venue.order(client_order_id)
    assert node.risk.gate.open_order_count == 0
    monitor.close()


def test_configured_controls_act_in_a_catalog_backtest(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    import_bundled(catalog, ["msft_daily_ohlcv"])
    config = parse_config(
        {
            "node": {"starting_balances": {"USD": "1000000"}},
            "instruments": [
                {
                    "instrument_id": "MSFT.XNAS",
                    "tick_size": "0.00001",
                    "price_precision": 5,
                    "lot_size": "1",
                    "size_precision": 0,
                }
            ],
            "strategies": [
                {
                    "strategy_id": "SMA",
                    "path": "hftcore.strategies.sma_crossover:SmaCrossover",
                    "params": {"instrument_ids": ["MSFT.XNAS"], "fast": 10, "slow": 50},
                }
            ],
            "risk_controls": {"max_drawdown": "0.02", "max_drawdown_state": 1},
        },
        environ={},
    )
    result = backtest_from_catalog(config, catalog, start="2000-01-01", end="2004-01-01")
    equity = np.asarray(result.equity)
    drawdown = 1 - equity / np.maximum.accumulate(equity)
    first_breach_ts = int(np.asarray(result.timestamps)[np.argmax(drawdown >= 0.02)])
    orders = sorted(result.orders, key=lambda order: order.ts_init)
    denied = [order for order in orders if order.status == "DENIED"]
    assert denied, "the strategy tried to buy again after the drawdown"
    first_denied = denied[0].ts_init
    assert first_denied >= first_breach_ts - DAY  # not before the equity fell 2 %
    # REDUCING: from the trip on, every buy is denied; sells (exits) still go through
    for order in orders:
        if order.ts_init >= first_denied and order.side == "BUY":
            assert order.status == "DENIED"
        if order.ts_init < first_denied:
            assert order.status != "DENIED"
    # and no fill after it adds to the position
    assert all(fill.signed_quantity < 0 for fill in result.fills if fill.ts > first_denied)
    assert len(denied) > 1  # it kept trying, and kept being refused


def test_correlation_break_alert_is_raised_once_on_the_breaking_day(tmp_path: Path) -> None:
    _, store, _, monitor = _node(tmp_path, {})
    rng = np.random.default_rng(2)
    common, noise = rng.standard_normal(700), rng.standard_normal(700)
    second = np.where(np.arange(700) < 600, 0.9 * common + 0.3 * noise, -0.9 * common)
    returns = np.column_stack([common, second]) * 0.01
    raised_on = []
    for end in range(560, 700):  # one call a day with the history so far
        if monitor.check_correlations(["SPY", "TLT"], returns[: end + 1], end * DAY):
            raised_on.append(end)
    assert len(raised_on) == 1
    assert 600 <= raised_on[0] < 620
    [alert] = [a for a in _stored(store, RiskAlert) if a.alert == "CORRELATION_BREAK"]
    assert alert.values["pair"] == "SPY/TLT"
    assert float(alert.values["recent"]) < float(alert.values["baseline"]) - 0.2
    with pytest.raises(InvalidValue):
        monitor.check_correlations(["SPY"], returns, 0)
    monitor.close()
    store.close()


def test_the_daily_correlation_watch_alerts_once_when_a_pair_breaks_its_regime(
    tmp_path: Path,
) -> None:
    watch = {"instruments": [INSTRUMENT, OTHER], "short_window": 10, "long_window": 60}
    node, store, _, monitor = _node(tmp_path, {"correlation_watch": watch})
    rng = np.random.default_rng(5)
    days, regime_change = 140, 100
    common, noise = rng.standard_normal(days), rng.standard_normal(days)
    other = np.where(np.arange(days) < regime_change, 0.9 * common + 0.3 * noise, -common)
    paths = np.cumprod(1 + 0.01 * np.column_stack([common, other]), axis=0) * START_PRICE
    afternoon = 16 * 3600 * 10**9
    for day in range(days):
        ts = day * DAY + afternoon
        node.advance_to(ts)  # the midnight check of the day before runs here
        for instrument_id, close in zip((INSTRUMENT, OTHER), paths[day], strict=True):
            price = round(close)
            node.process_bar(Bar(instrument_id, "1-DAY", price, price, price, price, 1_000, ts, ts))
        if any(alert.alert == "CORRELATION_BREAK" for alert in _stored(store, RiskAlert)):
            break
    [alert] = [a for a in _stored(store, RiskAlert) if a.alert == "CORRELATION_BREAK"]
    assert alert.values["pair"] == f"{INSTRUMENT}/{OTHER}"
    assert float(alert.values["recent"]) < 0 < float(alert.values["baseline"])
    assert alert.ts_event % DAY == 0  # checked at a midnight, on the closes of the day before
    # the first break it can see is the day after the regime changed, on that day's closes
    assert regime_change < alert.ts_event // DAY <= regime_change + 10
    monitor.close()
    node.stop()
    store.close()


def test_the_daily_correlation_watch_raises_no_alert_while_the_regime_holds(
    tmp_path: Path,
) -> None:
    watch = {"instruments": [INSTRUMENT, OTHER], "short_window": 10, "long_window": 60}
    node, store, _, monitor = _node(tmp_path, {"correlation_watch": watch})
    rng = np.random.default_rng(6)
    common, noise = rng.standard_normal(120), rng.standard_normal(120)
    paths = np.cumprod(1 + 0.01 * np.column_stack([common, 0.9 * common + 0.3 * noise]), axis=0)
    for day, closes in enumerate(paths * START_PRICE):
        ts = day * DAY + 3600 * 10**9
        node.advance_to(ts)
        for instrument_id, close in zip((INSTRUMENT, OTHER), closes, strict=True):
            price = round(close)
            node.process_bar(Bar(instrument_id, "1-DAY", price, price, price, price, 1_000, ts, ts))
    assert [a for a in _stored(store, RiskAlert) if a.alert == "CORRELATION_BREAK"] == []
    assert len(monitor._closes) == 10 + 60 + 2  # the history is bounded by the windows
    monitor.close()
    node.stop()
    store.close()


@pytest.mark.parametrize(
    ("watch", "code", "field"),
    [
        ({"instruments": [INSTRUMENT]}, "INVALID_CONFIG", "instruments"),
        ({"instruments": [INSTRUMENT, INSTRUMENT]}, "INVALID_CONFIG", "instruments"),
        ({"instruments": [INSTRUMENT, "NOPE.SIM"]}, "UNKNOWN_INSTRUMENT", "NOPE.SIM"),
        ({"instruments": [INSTRUMENT, OTHER], "short_window": 3}, "INVALID_CONFIG", "short_window"),
        (
            {"instruments": [INSTRUMENT, OTHER], "significance": 1.5},
            "INVALID_CONFIG",
            "significance",
        ),
        ({"instruments": [INSTRUMENT, OTHER], "min_change": 0}, "INVALID_CONFIG", "min_change"),
    ],
)
def test_a_bad_correlation_watch_is_refused_naming_the_field(
    tmp_path: Path, watch: dict[str, Any], code: str, field: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        _node(tmp_path, {"correlation_watch": watch})
    assert refused.value.code == code
    assert field in refused.value.message
