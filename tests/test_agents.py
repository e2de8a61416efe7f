"""Specialist agents on synthetic series built to have the property each exploits, and on the
bundled real data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from agent_helpers import (
    DAY,
    START,
    bar_node,
    bars_from_closes,
    ornstein_uhlenbeck,
    random_walk,
    spx_bars,
)
from hftcore.agents.base import Agent, Signal
from hftcore.agents.breakout import Breakout
from hftcore.agents.mean_reversion import MeanReversion
from hftcore.agents.momentum import CrossSectionalMomentum, TimeSeriesMomentum
from hftcore.agents.sentiment import SentimentAgent
from hftcore.errors import ConfigError, InvalidData
from hftcore.model.data import Bar
from hftcore.model.events import OrderDenied
from hftcore.model.risk import InstrumentLimits
from hftcore.node.backtest import bundled_bar_events, run_bars
from hftcore.reports.backtest import BacktestResult
from hftcore.signals.sentiment import NewsItem


def run_one(cls: type[Agent], closes: Any, **params: Any) -> BacktestResult:
    node = bar_node(["X.SIM"], balance="1000000")
    node.add_strategy(cls("A", {"instrument_ids": ["X.SIM"], "capital": 1_000_000, **params}))
    return run_bars(node, bars_from_closes("X.SIM", closes))


def test_time_series_momentum_profits_on_a_trend_and_not_on_white_noise() -> None:
    trend = [run_one(TimeSeriesMomentum, random_walk(750, s, drift=0.002)) for s in range(6)]
    noise = [run_one(TimeSeriesMomentum, random_walk(750, s)) for s in range(6)]
    trend_returns = [r.statistics.total_return for r in trend]
    noise_returns = [r.statistics.total_return for r in noise]
    assert min(trend_returns) > 0.5
    assert np.mean(noise_returns) < 0.1
    assert np.mean(noise_returns) < np.mean(trend_returns) / 5
    # Long-only on a falling trend stays flat; long-short profits from it.
    fall = random_walk(750, 0, drift=-0.002)
    assert run_one(TimeSeriesMomentum, fall, long_only=True).statistics.fills == 0
    assert run_one(TimeSeriesMomentum, fall).statistics.total_return > 0.3


def test_time_series_momentum_follows_its_rule_on_real_sp500() -> None:
    instrument_id, bars = spx_bars()
    node = bar_node([instrument_id], tick="0.000001", precision=6, balance="1000000")
    node.add_strategy(
        TimeSeriesMomentum("TSM", {"instrument_ids": [instrument_id], "capital": 1_000_000})
    )
    result = run_bars(node, bars)
    closes = np.array([bar.close for bar in bars], dtype=np.float64)
    positions = np.array(result.positions[instrument_id])
    checked = 0
    for t in range(201, len(bars)):
        decided = t - 1  # the order sent at bar t-1's close fills at bar t's open
        momentum = closes[decided] / closes[decided - 126] - 1
        average = closes[decided - 199 : decided + 1].mean()
        rule = 1 if momentum > 0 and closes[decided] > average else 0
        rule = -1 if momentum < 0 and closes[decided] < average else rule
        assert np.sign(positions[t]) == rule, t
        checked += 1
    assert checked > 4500
    assert (positions > 0).any()
    assert (positions < 0).any()


def test_cross_sectional_momentum_is_long_winners_and_short_losers() -> None:
    drifts = [-0.002, -0.001, 0.0, 0.0005, 0.001, 0.002]
    ids = [f"S{i}.SIM" for i in range(len(drifts))]
    bars: list[Bar] = []
    for index, (instrument_id, drift) in enumerate(zip(ids, drifts, strict=True)):
        bars += bars_from_closes(instrument_id, random_walk(600, 10 + index, drift=drift))
    bars.sort(key=lambda bar: bar.ts_event)
    node = bar_node(ids, balance="1000000")
    agent = CrossSectionalMomentum(
        "XS",
        {
            "instrument_ids": ids,
            "capital": 1_000_000,
            "lookback": 120,
            "skip": 5,
            "quantile": 1 / 3,
            "rebalance_bars": 10,
            "trend_window": 50,
        },
    )
    node.add_strategy(agent)
    result = run_bars(node, bars)
    long_time = {i: sum(1 for q in result.positions[i] if q > 0) for i in ids}
    short_time = {i: sum(1 for q in result.positions[i] if q < 0) for i in ids}
    assert long_time[ids[-1]] > 300
    assert short_time[ids[-1]] == 0
    assert short_time[ids[0]] > 300
    assert long_time[ids[0]] == 0
    assert long_time[ids[2]] + short_time[ids[2]] < 100
    assert result.statistics.total_return > 0.2


def test_cross_sectional_momentum_ranks_real_sp500_stocks() -> None:
    tickers = ["AAPL", "JNJ", "KO", "XOM", "WMT", "GE"]
    ids = [f"{t}.SIM" for t in tickers]
    bars: list[Bar] = []
    for instrument_id in ids:
        _, series = bundled_bar_events("sp500_20_stocks_daily_adjclose", instrument_id)
        bars += series[-1500:]
    bars.sort(key=lambda bar: bar.ts_event)
    node = bar_node(ids, tick="0.001", precision=3, balance="1000000")
    published: list[Signal] = []
    agent = CrossSectionalMomentum(
        "XS", {"instrument_ids": ids, "capital": 1_000_000, "quantile": 1 / 3}
    )
    agent.attach(published.append)  # observe the signals (a hosted agent does not trade)
    node.add_strategy(agent)
    run_bars(node, bars)
    rankings = {s.ts for s in published}
    assert len(rankings) >= 40
    for ts in rankings:
        batch = [s for s in published if s.ts == ts]
        assert len(batch) == len(ids)
        assert sum(s.direction > 0 for s in batch) <= 2
        assert sum(s.direction < 0 for s in batch) <= 2
        ranks = {s.instrument_id: int(s.reason.split()[1].split("/")[0]) for s in batch}
        for signal in batch:
            if signal.direction > 0:
                assert ranks[signal.instrument_id] >= 5
            if signal.direction < 0:
                assert ranks[signal.instrument_id] <= 2


def test_mean_reversion_profits_on_reverting_prices_and_not_on_a_random_walk() -> None:
    reverting = [run_one(MeanReversion, ornstein_uhlenbeck(750, s)) for s in range(6)]
    walks = [run_one(MeanReversion, random_walk(750, s)) for s in range(6)]
    assert min(r.statistics.total_return for r in reverting) > 0.05
    assert np.mean([r.statistics.total_return for r in walks]) < 0.03
    assert np.mean([r.statistics.sharpe_ratio or 0 for r in reverting]) > 1.0


def range_then_breakout(seed: int) -> np.ndarray:
    """300 bars in a tight range, then a steady climb."""
    rng = np.random.default_rng(seed)
    ranging = ornstein_uhlenbeck(300, seed, half_life=3.0, vol=0.004)
    climb = ranging[-1] * np.exp(np.cumsum(rng.normal(0.004, 0.006, 200)))
    return np.concatenate([ranging, climb])


class Recording(Breakout):
    def on_start(self) -> None:
        super().on_start()
        self.published: list[Signal] = []

    def publish(self, signal: Signal) -> None:
        self.published.append(signal)
        super().publish(signal)


def test_breakout_enters_when_the_range_breaks_and_profits() -> None:
    for seed in range(3):
        node = bar_node(["X.SIM"], balance="1000000")
        agent = Recording("BO", {"instrument_ids": ["X.SIM"], "capital": 1_000_000})
        node.add_strategy(agent)
        result = run_bars(node, bars_from_closes("X.SIM", range_then_breakout(seed)))
        positions = np.array(result.positions["X.SIM"])
        # In the range: a few bars of a filtered false breakout at most; in the climb: long.
        assert (positions[:300] != 0).mean() < 0.05
        assert (positions[350:] > 0).all()
        assert result.statistics.total_return > 0.5


def test_false_breakout_filter_exits_a_failed_breakout_and_does_not_rebuy_it() -> None:
    wiggle = [100.0, 100.4, 99.6, 100.2, 99.8]
    closes = [wiggle[i % 5] for i in range(80)] + [104.0, 103.0, 100.0] + [100.0] * 5
    node = bar_node(["X.SIM"], balance="1000000")
    agent = Recording(
        "BO",
        {"instrument_ids": ["X.SIM"], "capital": 1_000_000, "channel": 20, "exit_channel": 10},
    )
    node.add_strategy(agent)
    run_bars(node, bars_from_closes("X.SIM", closes))
    directions = [s.direction for s in agent.published]
    entry = directions.index(1.0)
    assert agent.published[entry].reason.startswith("breakout up")
    exit_ = directions.index(0.0, entry)
    assert exit_ - entry <= 3
    assert agent.published[exit_].reason.startswith("false breakout")
    assert 1.0 not in directions[exit_:]


def test_breakout_needs_atr_confirmation() -> None:
    wiggle = [100.0, 100.4, 99.6, 100.2, 99.8]
    # Pokes just above the channel top (100.4 plus the bar range) by less than half an ATR.
    closes = [wiggle[i % 5] for i in range(80)] + [100.75] + [100.0] * 5
    node = bar_node(["X.SIM"], balance="1000000")
    agent = Recording(
        "BO",
        {"instrument_ids": ["X.SIM"], "capital": 1_000_000, "channel": 20, "confirm_atr": 0.5},
    )
    node.add_strategy(agent)
    run_bars(node, bars_from_closes("X.SIM", closes))
    assert all(s.direction == 0.0 for s in agent.published)
    node = bar_node(["X.SIM"], balance="1000000")
    eager = Recording(
        "BO",
        {"instrument_ids": ["X.SIM"], "capital": 1_000_000, "channel": 20, "confirm_atr": 0.0},
    )
    node.add_strategy(eager)
    run_bars(node, bars_from_closes("X.SIM", closes))
    assert any(s.direction > 0 for s in eager.published)


def news_and_prices(tmp_path: Path, seed: int) -> tuple[Path, list[Bar]]:
    """Stories about Apple every few days; the price drifts their way for the next days."""
    rng = np.random.default_rng(seed)
    good = ["Apple beats estimates on record iPhone sales", "$AAPL upgraded after strong growth"]
    bad = ["Apple misses estimates; shares plunge", "AAPL cut to sell after weak guidance"]
    lines, drift = [], np.zeros(400)
    for day in range(10, 390, 7):
        sign = 1 if rng.random() < 0.5 else -1
        text = (good if sign > 0 else bad)[int(rng.integers(2))]
        ts = START + day * DAY + DAY // 2  # published during day `day`, before its close
        lines.append(json.dumps({"ts": ts, "headline": text}))
        drift[day + 1 : day + 6] += sign * 0.006
    path = tmp_path / "news.jsonl"
    path.write_text("\n".join(lines) + "\n")
    closes = 100 * np.exp(np.cumsum(drift + rng.normal(0, 0.004, 400)))
    return path, bars_from_closes("AAPL.SIM", closes)


def test_sentiment_agent_trades_the_news_direction(tmp_path: Path) -> None:
    for seed in range(3):
        news, bars = news_and_prices(tmp_path, seed)
        node = bar_node(["AAPL.SIM"], balance="1000000")
        agent = SentimentAgent(
            "SENT",
            {
                "instrument_ids": ["AAPL.SIM"],
                "capital": 1_000_000,
                "news_file": str(news),
                "aliases": {"Apple": "AAPL"},
                "half_life_hours": 48,
            },
        )
        node.add_strategy(agent)
        result = run_bars(node, bars)
        assert agent.stories_received == 55
        # Stories older than ten half-lives are forgotten.
        last = bars[-1].ts_event
        kept = agent.stories["AAPL.SIM"]
        assert 0 < len(kept) < 10
        assert all(last - story.ts <= 10 * 48 * 3_600_000_000_000 for story in kept)
        assert result.statistics.total_return > 0.2


def test_sentiment_agent_takes_live_news_and_rejects_bad_files(tmp_path: Path) -> None:
    node = bar_node(["AAPL.SIM", "KO.SIM"], balance="1000000")
    agent = SentimentAgent(
        "SENT", {"instrument_ids": ["AAPL.SIM", "KO.SIM"], "aliases": {"Coca-Cola": "KO"}}
    )
    node.add_strategy(agent)
    node.start()
    found = agent.on_news(NewsItem(ts=10, headline="Coca-Cola raises dividend, not weak"))
    assert [(s.instrument_id, s.score) for s in found] == [("KO.SIM", 1.0)]
    assert agent.sentiment("KO.SIM", 10) == 1.0
    assert agent.sentiment("KO.SIM", 10 + 48 * 3_600_000_000_000) == pytest.approx(0.5)
    assert agent.sentiment("AAPL.SIM", 10) == 0.0
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"ts": 1, "headline": "ok"}\n{"ts": "x"}\n')
    broken = SentimentAgent("S2", {"instrument_ids": ["AAPL.SIM"], "news_file": str(bad)})
    node.add_strategy(broken)
    assert isinstance(node.failure("S2"), InvalidData)
    with pytest.raises(ConfigError, match="INVALID_SCORER"):
        SentimentAgent("S3", {"instrument_ids": ["AAPL.SIM"], "scorer": "math:nothing"})


@pytest.mark.parametrize(
    ("cls", "params", "field"),
    [
        (TimeSeriesMomentum, {"instrument_ids": []}, "instrument_ids"),
        (TimeSeriesMomentum, {"instrument_ids": ["X.SIM"], "capital": -1}, "capital"),
        (TimeSeriesMomentum, {"instrument_ids": ["X.SIM"], "lookback": 0}, "lookback"),
        (CrossSectionalMomentum, {"instrument_ids": ["X.SIM"]}, "two instruments"),
        (MeanReversion, {"instrument_ids": ["X.SIM"], "entry_z": 0.5, "exit_z": 1}, "exit_z"),
        (Breakout, {"instrument_ids": ["X.SIM"], "stop_atr": 0}, "stop_atr"),
        (SentimentAgent, {"instrument_ids": ["X.SIM"], "threshold": 2}, "threshold"),
        (TimeSeriesMomentum, {"instrument_ids": ["X.SIM"], "unknown": 1}, "unknown"),
    ],
)
def test_bad_params_raise_config_errors(
    cls: type[Agent], params: dict[str, Any], field: str
) -> None:
    with pytest.raises(ConfigError, match=field):
        cls("A", params)


def test_signals_are_validated() -> None:
    with pytest.raises(ValueError, match="INVALID_SIGNAL"):
        Signal("A", "X.SIM", 1.5, 0.5, 0)
    with pytest.raises(ValueError, match="INVALID_SIGNAL"):
        Signal("A", "X.SIM", 0.5, float("nan"), 0)


def test_a_denied_order_is_not_counted_as_in_flight() -> None:
    node = bar_node(["X.SIM"], balance="1000000")
    node.risk.gate.set_instrument_limits(0, InstrumentLimits(max_order_quantity=5))
    agent = TimeSeriesMomentum("A", {"instrument_ids": ["X.SIM"], "capital": 100_000})
    node.add_strategy(agent)
    denied: list[OrderDenied] = []
    node.bus.subscribe(
        "events.order.A", lambda e: denied.append(e) if isinstance(e, OrderDenied) else None
    )
    result = run_bars(node, bars_from_closes("X.SIM", random_walk(260, 0, drift=0.003)))
    # Every bar after the warm-up asks again for its target: nothing waits on a dead order.
    assert len(denied) == 260 - 200 + 1  # the 200th bar on (its SMA needs 200)
    assert {d.reason for d in denied} == {"MAX_ORDER_QUANTITY"}
    assert result.statistics.fills == 0


class RecordingReversion(MeanReversion):
    def on_start(self) -> None:
        super().on_start()
        self.published: list[Signal] = []

    def publish(self, signal: Signal) -> None:
        self.published.append(signal)
        super().publish(signal)


def real_closes(bars: list[Bar], scale: float = 1e-6) -> np.ndarray:
    return np.array([bar.close * scale for bar in bars])


def test_mean_reversion_enters_only_on_its_rule_on_real_sp500() -> None:
    instrument_id, bars = spx_bars()
    node = bar_node([instrument_id], tick="0.000001", precision=6, balance="1000000")
    agent = RecordingReversion("MR", {"instrument_ids": [instrument_id], "capital": 1_000_000})
    node.add_strategy(agent)
    run_bars(node, bars)
    closes = real_closes(bars)
    index_of = {bar.ts_event: i for i, bar in enumerate(bars)}
    entries = 0
    previous = 0.0
    for signal in agent.published:
        if signal.direction != 0.0 and previous == 0.0:
            entries += 1
            t = index_of[signal.ts]
            window = closes[t - 119 : t + 1]
            slope = np.polyfit(window[:-1], np.diff(window), 1)[0]  # independent OLS fit
            half_life = -np.log(2) / np.log1p(slope)
            assert 1.0 <= half_life <= 40.0
            lookback = max(5, min(120, round(2 * half_life)))
            tail = closes[t - lookback + 1 : t + 1]
            z = (tail[-1] - tail.mean()) / tail.std(ddof=1)
            assert abs(z) >= 2.0
            assert np.sign(signal.direction) == -np.sign(z)
        previous = signal.direction
    assert entries >= 20


def test_breakout_enters_only_beyond_the_confirmed_channel_on_real_sp500() -> None:
    instrument_id, bars = spx_bars()
    node = bar_node([instrument_id], tick="0.000001", precision=6, balance="1000000")
    agent = Recording("BO", {"instrument_ids": [instrument_id], "capital": 1_000_000})
    node.add_strategy(agent)
    run_bars(node, bars)
    highs = np.array([bar.high * 1e-6 for bar in bars])
    lows = np.array([bar.low * 1e-6 for bar in bars])
    closes = real_closes(bars)
    index_of = {bar.ts_event: i for i, bar in enumerate(bars)}
    entries = 0
    previous = 0.0
    for signal in agent.published:
        if signal.direction != 0.0 and previous == 0.0:
            entries += 1
            t = index_of[signal.ts]
            top, bottom = highs[t - 55 : t].max(), lows[t - 55 : t].min()
            true_range = np.maximum(highs[t - 19 : t + 1], closes[t - 20 : t]) - np.minimum(
                lows[t - 19 : t + 1], closes[t - 20 : t]
            )
            margin = 0.25 * true_range.mean()
            if signal.direction > 0:
                assert closes[t] > top + margin
            else:
                assert closes[t] < bottom - margin
        previous = signal.direction
    assert entries >= 20
