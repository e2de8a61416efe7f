"""Paper vs backtest, fill by fill: a paper session that fills like its backtest shows no
difference; sessions with a difference injected (an intent abandoned at a restart, a session
stopped early, a kill switch, another venue fill model) show each one with its category and
cause."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import sqlite3
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hftcore.cli import main
from hftcore.errors import ConfigError, InvalidValue
from hftcore.model.data import Bar
from hftcore.model.events import OrderInitialized, SubmitOrder
from hftcore.model.money import fee, fee_rate, notional_per_tick_lot
from hftcore.node.config import NodeConfig, parse_config
from hftcore.node.paper import PaperSession, load_paper_bars
from hftcore.reports.compare import (
    Cause,
    Difference,
    compare_paper_to_backtest,
)
from hftcore.store.sqlite import SqliteEventStore

DATA = "bundled:msft_daily_ohlcv"
STRATEGY = f"{Path(__file__).with_name('compare_strategy.py')}:FollowTheBar"
INSTRUMENT = "MSFT.XNAS"
SESSION_BARS = 30


def _raw_config(data_dir: Path, strategy_id: str = "FTB") -> dict[str, Any]:
    return {
        "node": {"mode": "paper", "data_dir": str(data_dir)},
        "instruments": [
            {
                "instrument_id": INSTRUMENT,
                "tick_size": "0.00001",
                "price_precision": 5,
                "lot_size": "1",
                "size_precision": 0,
            }
        ],
        "strategies": [
            {"strategy_id": strategy_id, "path": STRATEGY, "params": {"instrument_id": INSTRUMENT}}
        ],
    }


def _config(data_dir: Path, **sections: Any) -> NodeConfig:
    return parse_config({**_raw_config(data_dir), **sections}, environ={})


def _run_session(
    config: NodeConfig,
    bars: list[Bar],
    store: Path,
    *,
    on_bar: Callable[[PaperSession, int], None] | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """Recovers and runs a paper session over ``bars`` as fast as it goes (until ``stop`` is
    set); ``on_bar(session, bars seen)`` is called at each bar before the strategy sees it."""
    session = PaperSession(config, bars, speed=1e9, store_path=store)
    seen = 0

    def count(_bar: object) -> None:
        nonlocal seen
        seen += 1
        if on_bar is not None:
            on_bar(session, seen)

    session.node.bus.subscribe("data.bars.>", count)
    try:
        session.recover()
        return asyncio.run(session.run(stop=stop))
    finally:
        session.close()


@pytest.fixture(scope="module")
def all_bars(tmp_path_factory: pytest.TempPathFactory) -> list[Bar]:
    return load_paper_bars(_config(tmp_path_factory.mktemp("bars")), DATA)


@pytest.fixture(scope="module")
def clean_session(tmp_path_factory: pytest.TempPathFactory, all_bars: list[Bar]) -> Path:
    """A session over the first SESSION_BARS bars, undisturbed."""
    directory = tmp_path_factory.mktemp("clean")
    store = directory / "events.sqlite"
    assert _run_session(_config(directory), all_bars[:SESSION_BARS], store) == SESSION_BARS
    return store


def _money(instrument_ticks_lots: int) -> int:
    """Money units of ticks x lots of the test instrument."""
    instrument = _config(Path("unused")).instruments[0].build()
    return instrument_ticks_lots * notional_per_tick_lot(instrument)


def test_a_clean_session_fills_exactly_like_its_backtest(
    clean_session: Path, all_bars: list[Bar], tmp_path: Path
) -> None:
    comparison = compare_paper_to_backtest(_config(tmp_path), clean_session, DATA)
    assert comparison.bars_processed == comparison.bars_compared == SESSION_BARS
    assert comparison.differences == []
    # One market order per bar; each fills at the next bar's open, the last one never fills.
    assert comparison.matched_fills == SESSION_BARS - 1
    assert comparison.paper.fills == comparison.backtest.fills == SESSION_BARS - 1
    assert comparison.paper.orders == comparison.backtest.orders == SESSION_BARS
    for number, row in enumerate(comparison.rows, start=1):
        assert (row.paper_bar, row.backtest_bar) == (number, number)
        assert row.paper_price == row.backtest_price == all_bars[number].open
        assert row.side == (
            "BUY" if all_bars[number - 1].close >= all_bars[number - 1].open else "SELL"
        )
        assert row.slippage_ticks == 0
    # The P&L computed independently: cash of the fills plus the position at the last close.
    cash, position = 0, 0
    for decided, filled in itertools.pairwise(all_bars[:SESSION_BARS]):
        sign = 1 if decided.close >= decided.open else -1
        cash -= sign * filled.open
        position += sign
    expected = _money(cash + position * all_bars[SESSION_BARS - 1].close)
    assert comparison.paper.pnl == comparison.backtest.pnl == {"USD": expected}
    assert comparison.pnl_difference == {"USD": 0}
    # Latencies from the log: the clock is held at the bar while the node reacts, so command,
    # submit and accept carry one stamp; a fill comes with the next bar, later in wall time.
    assert comparison.latency["command_to_submitted"].count == SESSION_BARS
    assert comparison.latency["command_to_submitted"].max_ns == 0
    assert comparison.latency["submitted_to_accepted"].max_ns == 0
    fills = comparison.latency["command_to_first_fill"]
    assert fills.count == SESSION_BARS - 1
    assert 0 < fills.p50_ns <= fills.p99_ns <= fills.max_ns


def test_fees_are_totalled_in_each_mode_and_taken_from_the_pnl(
    tmp_path: Path, all_bars: list[Bar]
) -> None:
    raw = _raw_config(tmp_path)
    raw["instruments"][0]["taker_fee"] = "0.001"
    config = parse_config(raw, environ={})
    store = tmp_path / "events.sqlite"
    bars = all_bars[:10]
    _run_session(config, bars, store)
    comparison = compare_paper_to_backtest(config, store, DATA)
    assert comparison.differences == []
    # A taker fee of 0.1% of each fill's notional (one lot at the next bar's open).
    expected = sum(fee(_money(bar.open), fee_rate("0.001")) for bar in bars[1:])
    assert expected > 0
    assert comparison.paper.fees == comparison.backtest.fees == {"USD": expected}
    without_fees = compare_paper_to_backtest(_config(tmp_path), store, DATA)
    assert without_fees.backtest.pnl["USD"] - comparison.paper.pnl["USD"] == expected


def test_another_venue_fill_model_shows_as_price_differences(
    clean_session: Path, tmp_path: Path
) -> None:
    config = _config(tmp_path, backtest={"bar_venue": {"slippage_ticks": 2}})
    comparison = compare_paper_to_backtest(config, clean_session, DATA)
    assert comparison.venue_model == "slippage_ticks: backtest 2, paper 0"
    differences = comparison.differences
    assert len(differences) == comparison.matched_fills == SESSION_BARS - 1
    for row in differences:
        assert (row.difference, row.cause) == (Difference.PRICE_DIFFERS, Cause.VENUE_MODEL)
        assert row.paper_bar == row.backtest_bar
        # The backtest paid 2 ticks against it on every market fill: paper traded 2 ticks better.
        assert row.slippage_ticks == -2
        assert row.slippage_bps == pytest.approx(-2 / row.backtest_price * 1e4)
        assert "slippage_ticks" in row.explanation
    assert comparison.pnl_difference == {"USD": _money(2 * (SESSION_BARS - 1))}


def _kill_after_last(store: Path, kind: type[SubmitOrder | OrderInitialized]) -> str:
    """The log as if the node had been killed right after committing the last event of
    ``kind``: every row after it is gone. Returns that event's client order id."""
    with SqliteEventStore(store) as opened:
        last = list(opened.events(kinds=[kind]))[-1]
    _truncate(store, after_seq=last.seq)
    assert isinstance(last.event, kind)
    return last.event.client_order_id


def _truncate(store: Path, *, after_seq: int) -> None:
    with sqlite3.connect(store) as connection:
        connection.execute("DELETE FROM events WHERE seq > ?", (after_seq,))


def test_an_intent_abandoned_at_a_restart_is_the_one_difference(
    tmp_path: Path, all_bars: list[Bar]
) -> None:
    config = _config(tmp_path)
    store = tmp_path / "events.sqlite"
    first_run = 12
    assert _run_session(config, all_bars[:first_run], store) == first_run
    abandoned = _kill_after_last(store, SubmitOrder)
    # The restart recovers (the intent is denied, never sent) and replays the remaining bars.
    assert _run_session(config, all_bars[:SESSION_BARS], store) == SESSION_BARS - first_run
    comparison = compare_paper_to_backtest(config, store, DATA)
    assert comparison.bars_processed == SESSION_BARS
    [difference] = comparison.differences
    assert difference.difference is Difference.FILLED_ONLY_IN_BACKTEST
    assert difference.cause is Cause.ABANDONED_AT_RESTART
    assert difference.paper_order_id == abandoned
    assert difference.backtest_bar == first_run
    assert "NOT_PROCESSED_BEFORE_RESTART" in difference.explanation
    # The strategy decides from the bar alone, so everything else matches.
    assert comparison.matched_fills == SESSION_BARS - 2
    assert comparison.paper.fills == comparison.backtest.fills - 1


def test_an_order_the_venue_never_got_is_canceled_at_the_restart(
    tmp_path: Path, all_bars: list[Bar]
) -> None:
    config = _config(tmp_path)
    store = tmp_path / "events.sqlite"
    first_run = 15
    _run_session(config, all_bars[:first_run], store)
    # Killed after the order was initialized, before it was submitted to the venue.
    never_sent = _kill_after_last(store, OrderInitialized)
    _run_session(config, all_bars[:SESSION_BARS], store)
    comparison = compare_paper_to_backtest(config, store, DATA)
    [difference] = comparison.differences
    assert difference.difference is Difference.FILLED_ONLY_IN_BACKTEST
    assert difference.cause is Cause.RECONCILIATION_CANCEL
    assert difference.paper_order_id == never_sent
    assert difference.backtest_bar == first_run
    assert "NOT_FOUND_AT_VENUE" in difference.explanation


def test_a_bar_lost_to_a_kill_shows_as_a_later_fill_and_a_missing_order(
    tmp_path: Path, all_bars: list[Bar]
) -> None:
    config = _config(tmp_path)
    store = tmp_path / "events.sqlite"
    lost = 10
    _run_session(config, all_bars[: lost + 1], store)
    # Killed while handling bar `lost`: its replay position and stamp were committed, nothing
    # it caused was (the fill of the order sent on the bar before, the strategy's new order).
    with SqliteEventStore(store) as opened:
        stamp = opened.get_meta(f"paper.bar_ts.{lost}")
        assert isinstance(stamp, int)
        kept = [stored.seq for stored in opened.events() if stored.event.ts_init < stamp]
    _truncate(store, after_seq=kept[-1])
    assert _run_session(config, all_bars[:SESSION_BARS], store) == SESSION_BARS - lost - 1
    comparison = compare_paper_to_backtest(config, store, DATA)
    later, missing = comparison.differences
    # The order sent on the bar before was restored at the venue and filled one bar late.
    assert (later.difference, later.cause) == (Difference.LATER_BAR, Cause.SESSION_RESTARTED)
    assert (later.backtest_bar, later.paper_bar) == (lost, lost + 1)
    assert later.backtest_price == all_bars[lost].open
    assert later.paper_price == all_bars[lost + 1].open
    # The strategy never saw bar `lost` in paper, so never sent what the backtest sent there.
    assert missing.difference is Difference.FILLED_ONLY_IN_BACKTEST
    assert missing.cause is Cause.SESSION_RESTARTED
    assert (missing.paper_order_id, missing.backtest_bar) == (None, lost + 1)
    assert f"while handling bar {lost} " in missing.explanation


def test_a_session_stopped_early_misses_the_rest_of_the_period(
    tmp_path: Path, all_bars: list[Bar]
) -> None:
    config = _config(tmp_path)
    store = tmp_path / "events.sqlite"
    stop_after = 9
    period = all_bars[:SESSION_BARS]

    stop = asyncio.Event()

    def stop_after_bar(_session: PaperSession, seen: int) -> None:
        if seen == stop_after:
            stop.set()

    processed = _run_session(config, period, store, on_bar=stop_after_bar, stop=stop)
    assert processed == stop_after
    # Over the bars it replayed, the session matches its backtest.
    assert compare_paper_to_backtest(config, store, DATA).differences == []
    # Over the whole data, everything from the bar it did not reach on is SESSION_STOPPED.
    comparison = compare_paper_to_backtest(config, store, DATA, full_period=True)
    assert comparison.bars_processed == stop_after
    assert comparison.bars_compared == len(all_bars)
    assert comparison.matched_fills == stop_after - 1
    assert {row.cause for row in comparison.differences} == {Cause.SESSION_STOPPED}
    filled_only = [
        row for row in comparison.differences
        if row.difference is Difference.FILLED_ONLY_IN_BACKTEST
    ]  # fmt: skip
    # The backtest fills one order at each bar from the one the session did not reach.
    assert [row.backtest_bar for row in filled_only] == list(range(stop_after, len(all_bars)))
    assert filled_only[0].paper_order_id is not None  # sent by the session, never filled
    assert all(row.paper_order_id is None for row in filled_only[1:])


def test_orders_denied_after_the_kill_switch_are_explained(
    tmp_path: Path, all_bars: list[Bar]
) -> None:
    config = _config(tmp_path)
    store = tmp_path / "events.sqlite"
    kill_at = 7

    def kill(session: PaperSession, seen: int) -> None:
        if seen == kill_at:
            session.risk_monitor.kill(reason="test")

    assert _run_session(config, all_bars[:SESSION_BARS], store, on_bar=kill) == SESSION_BARS
    comparison = compare_paper_to_backtest(config, store, DATA)
    differences = comparison.differences
    assert comparison.matched_fills == kill_at - 1
    assert {row.cause for row in differences} == {Cause.KILL_SWITCH}
    # Every order from the bar of the kill on was denied in paper and filled in the backtest
    # on the next bar...
    filled = [row for row in differences if row.difference is Difference.FILLED_ONLY_IN_BACKTEST]
    assert [row.backtest_bar for row in filled] == list(range(kill_at, SESSION_BARS))
    # ...but the last one, which no bar followed: open in the backtest, denied in paper.
    [last] = [row for row in differences if row.difference is Difference.OUTCOME_DIFFERS]
    assert last.paper_bar == last.backtest_bar == SESSION_BARS - 1
    assert len(differences) == len(filled) + 1
    assert all("kill switch" in row.explanation for row in differences)


def test_the_compare_command_prints_the_comparison_and_writes_json(
    clean_session: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_file = tmp_path / "node.toml"
    config_file.write_text(
        f"""
[node]
mode = "paper"
data_dir = "{tmp_path}"

[[instruments]]
instrument_id = "{INSTRUMENT}"
tick_size = "0.00001"
price_precision = 5
lot_size = "1"
size_precision = 0

[[strategies]]
strategy_id = "FTB"
path = "{STRATEGY}"
params = {{ instrument_id = "{INSTRUMENT}" }}

[backtest.bar_venue]
slippage_ticks = 1
""",
        encoding="utf-8",
    )
    out = tmp_path / "comparison.json"
    argv = ["compare", "--config", str(config_file), "--data", DATA, "--store", str(clean_session)]
    assert main([*argv, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Paper vs backtest" in printed
    assert re.search(rf"PRICE_DIFFERS / VENUE_MODEL\s+│\s+{SESSION_BARS - 1}\s+│", printed)
    assert "slippage_ticks: backtest 1, paper 0" in printed
    written = json.loads(out.read_bytes())
    assert written["matched_fills"] == written["differences"] == SESSION_BARS - 1
    assert written["pnl_difference"] == {"USD": str(Decimal("0.00001") * (SESSION_BARS - 1))}
    assert {row["slippage_ticks"] for row in written["rows"]} == {-1}

    assert main(["compare", "--config", str(config_file), "--data", DATA, "--store", "nope"]) == 2
    assert "error: STORE_NOT_FOUND" in capsys.readouterr().err


def test_bad_input_is_refused_with_a_reason(
    clean_session: Path, tmp_path: Path, all_bars: list[Bar]
) -> None:
    config = _config(tmp_path)
    with pytest.raises(InvalidValue) as missing:
        compare_paper_to_backtest(config, tmp_path / "absent.sqlite", DATA)
    assert missing.value.code == "STORE_NOT_FOUND"

    no_session = tmp_path / "empty.sqlite"
    SqliteEventStore(no_session).close()
    with pytest.raises(InvalidValue) as empty:
        compare_paper_to_backtest(config, no_session, DATA)
    assert empty.value.code == "NOT_A_PAPER_SESSION"

    other = parse_config(_raw_config(tmp_path, strategy_id="OTHER"), environ={})
    with pytest.raises(ConfigError) as mismatch:
        compare_paper_to_backtest(other, clean_session, DATA)
    assert mismatch.value.code == "CONFIG_MISMATCH"
    assert "'FTB'" in mismatch.value.message

    with pytest.raises(InvalidValue) as no_data:
        compare_paper_to_backtest(config, clean_session, "")
    assert no_data.value.code == "INVALID_DATA"

    # A session that replayed more bars than the data given holds.
    longer = tmp_path / "longer.sqlite"
    with SqliteEventStore(longer) as store:
        store.put_meta("paper.next_bar", len(all_bars) + 1)
    with pytest.raises(ConfigError) as short_data:
        compare_paper_to_backtest(config, longer, DATA)
    assert short_data.value.code == "CONFIG_MISMATCH"

    # A session whose bars carry no replay stamps cannot be mapped to bars.
    unstamped = tmp_path / "unstamped.sqlite"
    with SqliteEventStore(unstamped) as store:
        store.put_meta("paper.next_bar", 3)
    with pytest.raises(InvalidValue) as no_stamps:
        compare_paper_to_backtest(config, unstamped, DATA)
    assert no_stamps.value.code == "NO_BAR_STAMPS"
