"""Throughput of catalog backtests through the merged runner (``CatalogReplay``).

* ``test_merged_quotes_and_trades``: 4 instruments, 100,000 quotes and 50,000 trades each
  (600,000 records), read from the Parquet catalog, merged in time order and replayed through
  the book venue (each quote as top-of-book deltas, each print as a trade) and the node, with a
  strategy subscribed to every instrument's quotes and trades. Units: records.
* ``test_merged_l2_unobserved``: one instrument's 1M-message synthetic stream as L2 deltas beside
  a second instrument's quotes, nobody watching the book: the L2 stretches go to the venue in
  bulk between the quotes. Units: records.

Run with timings: ``.venv/bin/pytest bench/bench_catalog_backtest.py --benchmark-enable``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hftcore import Instrument, l2_replay_from_l3, synthetic_l3_messages
from hftcore.data.catalog import DataCatalog
from hftcore.node.catalog_backtest import CatalogReplay, build_node, plan_replay
from hftcore.node.config import NodeConfig, parse_config

Benchmark = Any
QUOTES, TRADES = 100_000, 50_000
SYMBOLS = ("A.SIM", "B.SIM", "C.SIM", "D.SIM")
COUNTER = f"{Path(__file__).resolve().parent.parent / 'tests' / 'fixtures' / 'replay_strategy.py'}"


def instrument(instrument_id: str) -> Instrument:
    return Instrument(instrument_id, "0.01", 2, "1", 0)


def config_for(ids: tuple[str, ...], params: dict[str, Any]) -> NodeConfig:
    return parse_config(
        {
            "instruments": [
                {"instrument_id": i, "tick_size": "0.01", "price_precision": 2,
                 "lot_size": "1", "size_precision": 0}
                for i in ids
            ],
            "strategies": [
                {"strategy_id": "REC", "path": f"{COUNTER}:ReplayRecorder", "params": params}
            ],
            "backtest": {"sample_interval_ns": 60_000_000_000},
        },
        environ={},
    )  # fmt: skip


def timed(benchmark: Benchmark, units: int, setup: Any, run: Any) -> Any:
    benchmark.extra_info["units"] = units
    outcome = benchmark.pedantic(run, setup=setup, rounds=3, iterations=1, warmup_rounds=1)
    if benchmark.stats is not None:
        benchmark.extra_info["units_per_second"] = units / benchmark.stats.stats.median
    return outcome


def replay(config: NodeConfig, catalog: DataCatalog) -> CatalogReplay:
    plan = plan_replay(config, catalog)
    runner = CatalogReplay(
        build_node(config, plan, config.backtest), plan, sample_interval_ns=60 * 10**9
    )
    for chunk in catalog.stream(plan.datasets):
        runner.feed(chunk)
    runner.finish(periods_per_year=1.0)
    return runner


@pytest.fixture(scope="module")
def quotes_catalog(tmp_path_factory: pytest.TempPathFactory) -> DataCatalog:
    catalog = DataCatalog(tmp_path_factory.mktemp("bench_catalog") / "catalog")
    rng = np.random.default_rng(1)
    start = 1_700_000_000_000_000_000
    for offset, symbol in enumerate(SYMBOLS):
        ts = start + offset + np.sort(rng.integers(0, 3_600 * 10**9, QUOTES))
        bid = 10_000 + np.cumsum(rng.integers(-1, 2, QUOTES))
        size = np.full(QUOTES, 100)
        catalog.write(
            instrument(symbol),
            "quotes",
            {"ts_event": ts, "bid_price": bid, "bid_size": size, "ask_price": bid + 1,
             "ask_size": size},
        )  # fmt: skip
        trade_ts = start + offset + np.sort(rng.integers(0, 3_600 * 10**9, TRADES))
        catalog.write(
            instrument(symbol),
            "trades",
            {"ts_event": trade_ts, "price": np.full(TRADES, 10_000), "size": np.full(TRADES, 3),
             "aggressor_side": (np.arange(TRADES) % 2).astype(np.int8)},
        )  # fmt: skip
    return catalog


def test_merged_quotes_and_trades(benchmark: Benchmark, quotes_catalog: DataCatalog) -> None:
    config = config_for(SYMBOLS, {"quotes": list(SYMBOLS), "trades": list(SYMBOLS)})
    records = len(SYMBOLS) * (QUOTES + TRADES)

    def run() -> int:
        runner = replay(config, quotes_catalog)
        seen = runner.node.strategies["REC"].seen  # type: ignore[attr-defined]
        times = [clock for *_, clock in seen]
        assert times == sorted(times)
        return len(seen)

    assert timed(benchmark, records, lambda: ((), {}), run) == records


def test_merged_l2_unobserved(benchmark: Benchmark, tmp_path: Path) -> None:
    deltas, _ = l2_replay_from_l3(synthetic_l3_messages(1_000_000, seed=7))
    catalog = DataCatalog(tmp_path / "catalog")
    catalog.write(instrument("SYNTH.SIM"), "l2_deltas", deltas)
    ts = np.linspace(int(deltas["ts_event"][0]), int(deltas["ts_event"][-1]), 10_000)
    ts = ts.astype(np.int64)
    size = np.full(len(ts), 10)
    catalog.write(
        instrument("Q.SIM"),
        "quotes",
        {"ts_event": ts, "bid_price": np.full(len(ts), 500), "bid_size": size,
         "ask_price": np.full(len(ts), 501), "ask_size": size},
    )  # fmt: skip
    config = config_for(("SYNTH.SIM", "Q.SIM"), {"quotes": ["Q.SIM"]})
    records = len(deltas) + len(ts)

    def run() -> tuple[int, tuple[int, int, int, int]]:
        runner = replay(config, catalog)
        seen = runner.node.strategies["REC"].seen  # type: ignore[attr-defined]
        return len(seen), runner.node.cache.book("SYNTH.SIM").top()

    from hftcore import OrderBookL2

    reference = OrderBookL2(instrument("SYNTH.SIM"))
    reference.apply_deltas(deltas)
    assert timed(benchmark, records, lambda: ((), {}), run) == (len(ts), reference.top())
