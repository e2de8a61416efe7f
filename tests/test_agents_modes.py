"""Agents run unchanged in every mode: configured in TOML like any strategy, and in paper mode
with the same decisions as in a backtest of the same bars."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agent_helpers import RecordingEnsemble
from hftcore.agents.table import SPECIALISTS, bar_node
from hftcore.data.loaders import import_bundled
from hftcore.model.events import OrderFilled
from hftcore.node.backtest import backtest_from_catalog, bundled_bar_events, run_bars
from hftcore.node.config import load_config, parse_config
from hftcore.node.paper import PaperSession
from hftcore.node.strategy import load_strategy_class

ENSEMBLE = "agent_helpers:RecordingEnsemble"


def test_an_ensemble_decides_the_same_in_paper_mode_as_in_a_backtest(tmp_path: Path) -> None:
    instrument, bars = bundled_bar_events("sp500_index_daily_ohlcv")
    bars = bars[-600:]
    params = {
        "instrument_ids": [instrument.instrument_id],
        "capital": 1_000_000,
        "members": SPECIALISTS,
        "vote": "majority",
    }
    config = parse_config(
        {
            "node": {"mode": "paper", "data_dir": str(tmp_path)},
            "instruments": [
                {
                    "instrument_id": instrument.instrument_id,
                    "tick_size": instrument.tick_size,
                    "price_precision": instrument.price_precision,
                    "lot_size": instrument.lot_size,
                    "size_precision": instrument.size_precision,
                }
            ],
            "strategies": [{"strategy_id": "ENS", "path": ENSEMBLE, "params": params}],
        },
        environ={},
    )
    session = PaperSession(config, bars, speed=1e9)
    paper_fills_seen: list[OrderFilled] = []
    session.node.bus.subscribe("events.fill.>", paper_fills_seen.append)
    try:
        processed = asyncio.run(session.run())
        paper = session.node.strategies["ENS"]
        paper_fills = sum(1 for order in session.node.execution.oms if order.filled_quantity)
    finally:
        session.close()
    assert processed == len(bars)
    assert paper_fills > 5

    node = bar_node([instrument], 1_000_000, 0.0)
    backtest = load_strategy_class(ENSEMBLE)("ENS", params)
    node.add_strategy(backtest)
    backtest_fills: list[OrderFilled] = []
    node.bus.subscribe("events.fill.>", backtest_fills.append)
    run_bars(node, bars)
    # The same views bar by bar (paper stamps bars with the live clock: compare the views, not
    # the times).
    assert isinstance(paper, RecordingEnsemble)
    assert isinstance(backtest, RecordingEnsemble)
    assert len(paper.published) == len(backtest.published) > 500
    assert [(s.direction, s.reason) for s in paper.published] == [
        (s.direction, s.reason) for s in backtest.published
    ]

    # And the same fills: what a strategy sends at a bar's close is stamped with the bar's
    # time in paper mode too, so the bar venue fills it on the next bar in both modes.
    def terms(fills: list[OrderFilled]) -> list[tuple[int, int, int]]:
        return [(fill.side, fill.last_price, fill.last_quantity) for fill in fills]

    assert len(paper_fills_seen) > 5
    assert terms(paper_fills_seen) == terms(backtest_fills)


CONFIG = """
[[instruments]]
instrument_id = "SPX.SIM"
tick_size = "0.000001"
price_precision = 6
lot_size = "1"
size_precision = 0

[[strategies]]
strategy_id = "ENS"
path = "hftcore.agents.ensemble:Ensemble"

[strategies.params]
instrument_ids = ["SPX.SIM"]
capital = 1000000
vote = "consensus"
threshold = 0.6
members = [
  { agent_id = "MOM", path = "hftcore.agents.momentum:TimeSeriesMomentum" },
  { agent_id = "MR", path = "hftcore.agents.mean_reversion:MeanReversion" },
]
"""


def test_an_ensemble_configured_in_toml_backtests_from_the_catalog(tmp_path: Path) -> None:
    config_file = tmp_path / "node.toml"
    config_file.write_text(CONFIG)
    import_bundled(tmp_path / "catalog", ["sp500_index_daily_ohlcv"])
    result = backtest_from_catalog(
        load_config(config_file, environ={}), tmp_path / "catalog", start="2010-01-01"
    )
    assert result.statistics.fills > 10
    assert {order.strategy_id for order in result.orders} == {"ENS"}
    assert result.timestamps[0] >= 1_262_304_000 * 10**9  # 2010-01-01
