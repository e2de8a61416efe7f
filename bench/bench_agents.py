"""Throughput of the agents on the trading node.

* ``test_agent_on_daily_bars[...]``: one agent (or an ensemble / meta-agent over the three
  specialists) on the real S&P 500 index daily OHLCV, 1999-2018 (5,031 bars), through
  ``run_bars``: data, agent, orders, fills and portfolio. Units: bars.
* ``test_avellaneda_stoikov_on_l2``: the market-making agent on 300,000 synthetic L3 messages as
  L2 deltas and prints through ``run_book``, quoting on every top-of-book change. Units: records.
* ``test_news_processing``: symbol extraction and lexicon scoring of two-sentence stories.
  Units: stories.

Run with timings: ``.venv/bin/pytest bench/bench_agents.py --benchmark-enable``.
"""

from __future__ import annotations

from typing import Any

import pytest
from hftcore import l2_replay_from_l3, synthetic_l3_messages
from hftcore.agents.base import Agent
from hftcore.agents.breakout import Breakout
from hftcore.agents.ensemble import Ensemble
from hftcore.agents.market_making import AvellanedaStoikov
from hftcore.agents.mean_reversion import MeanReversion
from hftcore.agents.meta import RegimeMetaAgent
from hftcore.agents.momentum import TimeSeriesMomentum
from hftcore.agents.table import SPECIALISTS, bar_node
from hftcore.node.backtest import bundled_bar_events, run_bars
from hftcore.node.book_backtest import DEMO_VENUE, SYNTHETIC_INSTRUMENT, book_node, run_book
from hftcore.signals.sentiment import NewsItem, NewsProcessor, SymbolExtractor

Benchmark = Any


def timed(benchmark: Benchmark, units: int, setup: Any, run: Any) -> Any:
    benchmark.extra_info["units"] = units
    outcome = benchmark.pedantic(run, setup=setup, rounds=3, iterations=1, warmup_rounds=1)
    if benchmark.stats is not None:
        benchmark.extra_info["units_per_second"] = units / benchmark.stats.stats.median
    return outcome


def build(kind: str, instrument_id: str) -> Agent:
    params: dict[str, Any] = {"instrument_ids": [instrument_id], "capital": 1_000_000}
    if kind == "momentum":
        return TimeSeriesMomentum("A", params)
    if kind == "mean_reversion":
        return MeanReversion("A", params)
    if kind == "breakout":
        return Breakout("A", params)
    if kind == "ensemble":
        return Ensemble("A", {**params, "members": SPECIALISTS})
    return RegimeMetaAgent("A", {**params, "members": SPECIALISTS})


@pytest.mark.parametrize(
    "kind", ["momentum", "mean_reversion", "breakout", "ensemble", "meta_agent"]
)
def test_agent_on_daily_bars(benchmark: Benchmark, kind: str) -> None:
    instrument, bars = bundled_bar_events("sp500_index_daily_ohlcv")

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        node = bar_node([instrument], 1_000_000, 5.0)
        node.add_strategy(build(kind, instrument.instrument_id))
        return (node,), {}

    result = timed(benchmark, len(bars), setup, lambda node: run_bars(node, bars))
    assert len(result.timestamps) == len(bars)
    assert result.statistics.fills > 50
    assert {order.strategy_id for order in result.orders} == {"A"}


def test_avellaneda_stoikov_on_l2(benchmark: Benchmark) -> None:
    deltas, trades = l2_replay_from_l3(synthetic_l3_messages(300_000, seed=7))
    instrument_id = SYNTHETIC_INSTRUMENT["instrument_id"]

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        node = book_node(DEMO_VENUE)
        node.add_strategy(
            AvellanedaStoikov("AS", {"instrument_id": instrument_id, "max_position": 6})
        )
        return (node,), {}

    result = timed(
        benchmark, len(deltas) + len(trades), setup, lambda node: run_book(node, deltas, trades)
    )
    held = 0.0
    for fill in result.fills:
        held += fill.quantity if fill.side == "BUY" else -fill.quantity
        assert abs(held) <= 6
    assert len(result.fills) > 10


def test_news_processing(benchmark: Benchmark) -> None:
    processor = NewsProcessor(
        SymbolExtractor(
            {"AAPL": "AAPL.SIM", "MSFT": "MSFT.SIM", "KO": "KO.SIM"},
            {"Apple": "AAPL", "Microsoft": "MSFT", "Coca-Cola": "KO"},
        )
    )
    stories = [
        NewsItem(
            ts=i,
            headline=f"Apple beats estimates, story {i}",
            body="Microsoft did not miss either. $KO cut to sell on weak volumes.",
        )
        for i in range(2_000)
    ]

    def run() -> list[Any]:
        return [processor.process(story) for story in stories]

    benchmark.extra_info["units"] = len(stories)
    results = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    if benchmark.stats is not None:
        benchmark.extra_info["units_per_second"] = len(stories) / benchmark.stats.stats.median
    scores = {s.instrument_id: s.score for s in results[0]}
    assert scores == {"AAPL.SIM": 1.0, "MSFT.SIM": 1.0, "KO.SIM": -1.0}
