"""Backtests over the Parquet catalog: bars, quotes, trades, L2 deltas and L3 messages of several
instruments merged in one run, through the simulated venues their data calls for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from hftcore._core import l2_replay_from_l3, synthetic_l3_messages
from hftcore.data.catalog import DataCatalog
from hftcore.data.loaders import import_bundled
from hftcore.data.timestamps import to_ns
from hftcore.errors import ConfigError, InvalidData, InvalidValue
from hftcore.node.backtest import backtest_from_catalog
from hftcore.node.book_backtest import run_book
from hftcore.node.catalog_backtest import (
    CatalogReplay,
    backtest_catalog,
    build_node,
    plan_replay,
)
from hftcore.node.config import NodeConfig, parse_config
from hftcore.node.kernel import TradingNode
from hftcore.reports.backtest import BacktestResult
from hftcore.venues.bars import BarVenue
from hftcore.venues.simulated import SimulatedBookVenue

RECORDER = f"{Path(__file__).parent / 'fixtures' / 'replay_strategy.py'}:ReplayRecorder"
MINUTE = 60 * 10**9
START, END = "2010-01-04", "2010-01-09"
T0 = to_ns("2010-01-04T00:15:00Z")

MSFT = {"instrument_id": "MSFT.XNAS", "tick_size": "0.00001", "price_precision": 5}
AAA = {"instrument_id": "AAA.SIM", "tick_size": "0.01", "price_precision": 2}
BBB = {"instrument_id": "BBB.SIM", "tick_size": "0.01", "price_precision": 2}
SYNTH = {"instrument_id": "SYNTH.SIM", "tick_size": "0.01", "price_precision": 2}
BARS = {"instrument_id": "BAR.SIM", "tick_size": "0.01", "price_precision": 2}


def instrument_entry(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        **spec,
        "lot_size": "1",
        "size_precision": 0,
        "limits": {"max_order_quantity": 1_000_000},
    }


def node_config(
    instruments: list[dict[str, Any]], params: dict[str, Any], **backtest: Any
) -> NodeConfig:
    return parse_config(
        {
            "node": {"starting_balances": {"USD": "10000000"}},
            "instruments": [instrument_entry(spec) for spec in instruments],
            "strategies": [{"strategy_id": "REC", "path": RECORDER, "params": params}],
            "backtest": backtest,
        },
        environ={},
    )


def walk_quotes(count: int, start: int, step: int, seed: int) -> dict[str, np.ndarray]:
    """Quotes every ``step`` ns whose bid moves by -1, 0 or +1 tick; the ask is 2 ticks up."""
    moves = np.random.default_rng(seed).integers(-1, 2, count)
    moves[0] = 0
    bid = 10_000 + np.cumsum(moves)
    ts = start + step * np.arange(count, dtype=np.int64)
    size = np.full(count, 100)
    return {
        "ts_event": ts,
        "bid_price": bid,
        "bid_size": size,
        "ask_price": bid + 2,
        "ask_size": size,
    }


def alternating_trades(count: int, start: int, step: int) -> dict[str, np.ndarray]:
    ts = start + step * np.arange(count, dtype=np.int64)
    return {
        "ts_event": ts,
        "price": 5_000 + np.arange(count) % 3,
        "size": np.full(count, 7),
        "aggressor_side": (np.arange(count) % 2).astype(np.int8),
    }


def spec_of(catalog: DataCatalog, entry: dict[str, Any]) -> Any:
    from hftcore import Instrument

    return Instrument(entry["instrument_id"], entry["tick_size"], entry["price_precision"], "1", 0)


@pytest.fixture
def mixed_catalog(tmp_path: Path) -> tuple[DataCatalog, dict[str, dict[str, np.ndarray]]]:
    """MSFT daily bars (bundled, real), AAA quotes every 30 min, BBB trades every 45 min."""
    catalog = DataCatalog(tmp_path / "catalog")
    import_bundled(catalog, ["msft_daily_ohlcv"])
    quotes = walk_quotes(240, T0, 30 * MINUTE, seed=5)
    trades = alternating_trades(160, T0 + 7 * MINUTE, 45 * MINUTE)
    catalog.write(spec_of(catalog, AAA), "quotes", quotes)
    catalog.write(spec_of(catalog, BBB), "trades", trades)
    return catalog, {"quotes": quotes, "trades": trades}


def run_merged(
    config: NodeConfig, catalog: DataCatalog, **plan_options: Any
) -> tuple[TradingNode, BacktestResult]:
    """The merged runner by hand, to look at the node afterwards."""
    section = config.backtest
    sort = plan_options.pop("sort", False)
    plan = plan_replay(config, catalog, venues=section.venues, **plan_options)
    node = build_node(config, plan, section)
    replay = CatalogReplay(node, plan, sample_interval_ns=section.sample_interval_ns)
    for chunk in catalog.stream(plan.datasets, start=plan.start, end=plan.end, sort=sort):
        replay.feed(chunk)
    return node, replay.finish(periods_per_year=252.0)


def recorder(node: TradingNode) -> Any:
    return node.strategies["REC"]


def test_bars_quotes_and_trades_of_three_instruments_replay_in_time_order(
    mixed_catalog: tuple[DataCatalog, dict[str, dict[str, np.ndarray]]],
) -> None:
    catalog, data = mixed_catalog
    config = node_config(
        [MSFT, AAA, BBB],
        {
            "quotes": ["AAA.SIM"],
            "trades": ["BBB.SIM"],
            "bars": ["MSFT.XNAS"],
            "market_buy_on_first_quote": {"AAA.SIM": 3},
            "limit_buy_below_first_bid": {"AAA.SIM": 3},
            "market_buy_on_first_bar": {"MSFT.XNAS": 10},
        },
    )
    node, result = run_merged(config, catalog, start=START, end=END)
    assert isinstance(node.execution.venue_for("MSFT.XNAS")[1], BarVenue)
    assert isinstance(node.execution.venue_for("AAA.SIM")[1], SimulatedBookVenue)
    assert isinstance(node.execution.venue_for("BBB.SIM")[1], SimulatedBookVenue)

    # What the strategy saw is every input row in [start, end), in ts_event order, quotes
    # before trades before bars at one instant; with no feed latency, at its own time.
    start, end = to_ns(START), to_ns(END)
    msft = catalog.read("MSFT.XNAS", "bars", bar_type="1-DAY", start=start, end=end)
    expected = sorted(
        [(int(ts), 0, "quote", "AAA.SIM") for ts in data["quotes"]["ts_event"] if ts < end]
        + [(int(ts), 1, "trade", "BBB.SIM") for ts in data["trades"]["ts_event"] if ts < end]
        + [(int(ts), 2, "bar", "MSFT.XNAS") for ts in np.asarray(msft["ts_event"])]
    )
    seen = recorder(node).seen
    assert [(kind, iid, ts) for kind, iid, ts, _ in seen] == [
        (kind, iid, ts) for ts, _, kind, iid in expected
    ]
    assert all(clock == ts for _, _, ts, clock in seen)
    assert {kind for kind, *_ in seen} == {"quote", "trade", "bar"}

    # Fills: the market buy takes the first quote's ask at its time; the limit 3 ticks under
    # the first bid fills when the ask first comes down to it; MSFT fills at the next open.
    quotes = data["quotes"]
    fills = {(fill.instrument_id, fill.client_order_id): fill for fill in recorder(node).fills}
    aaa = sorted((f for f in fills.values() if f.instrument_id == "AAA.SIM"), key=_ts)
    assert (aaa[0].last_price, aaa[0].last_quantity, aaa[0].ts_event) == (
        int(quotes["ask_price"][0]),
        3,
        int(quotes["ts_event"][0]),
    )
    limit = int(quotes["bid_price"][0]) - 3
    touched = int(np.flatnonzero(quotes["ask_price"] <= limit)[0])
    assert (aaa[1].last_price, aaa[1].last_quantity, aaa[1].ts_event) == (
        limit,
        1,
        int(quotes["ts_event"][touched]),
    )
    (msft_fill,) = [f for f in fills.values() if f.instrument_id == "MSFT.XNAS"]
    assert msft_fill.last_price == msft["open"][1].as_py()
    assert msft_fill.ts_event == msft["ts_event"][1].as_py()
    assert node.portfolio.net_quantity("AAA.SIM") == 4
    assert node.portfolio.net_quantity("MSFT.XNAS") == 10
    assert node.portfolio.net_quantity("BBB.SIM") == 0
    assert result.positions["AAA.SIM"][-1] == 4
    assert len(result.fills) == 3


def _ts(fill: Any) -> int:
    return int(fill.ts_event)


def test_feed_latency_delays_what_the_node_sees_and_when_its_orders_fill(
    mixed_catalog: tuple[DataCatalog, dict[str, dict[str, np.ndarray]]],
) -> None:
    catalog, data = mixed_catalog
    latency = 1_000_000
    config = node_config(
        [AAA, BBB],
        {"quotes": ["AAA.SIM"], "trades": ["BBB.SIM"], "market_buy_on_first_quote": {"AAA.SIM": 2}},
        book_venue={"feed_latency": {"type": "CONSTANT", "ns": latency}},
        sample_interval_ns=60 * MINUTE,
    )
    node, _ = run_merged(config, catalog, start=START, end=END)
    seen = recorder(node).seen
    assert seen
    assert all(clock == ts + latency for _, _, ts, clock in seen)
    assert [clock for *_, clock in seen] == sorted(clock for *_, clock in seen)
    (fill,) = recorder(node).fills
    assert fill.ts_event == int(data["quotes"]["ts_event"][0]) + latency
    assert fill.last_price == int(data["quotes"]["ask_price"][0])
    quote = node.cache.quote("AAA.SIM")
    assert quote is not None
    assert quote.ts_init == quote.ts_event + latency


def test_bars_only_through_the_merged_runner_match_run_bars(tmp_path: Path) -> None:
    catalog = DataCatalog(tmp_path / "catalog")
    import_bundled(catalog, ["msft_daily_ohlcv"])
    config = parse_config(
        {
            "instruments": [instrument_entry(MSFT)],
            "strategies": [
                {
                    "strategy_id": "SMA",
                    "path": "hftcore.strategies.sma_crossover:SmaCrossover",
                    "params": {"instrument_ids": ["MSFT.XNAS"], "fast": 10, "slow": 40},
                }
            ],
        },
        environ={},
    )
    options = {"start": "2005-01-01", "end": "2008-01-01"}
    fast = backtest_catalog(config, catalog.root, **options)
    merged = backtest_catalog(config, catalog.root, runner="merged", **options)
    assert len(fast.fills) > 4
    assert [(f.ts, f.price, f.quantity) for f in merged.fills] == [
        (f.ts, f.price, f.quantity) for f in fast.fills
    ]
    assert merged.timestamps == fast.timestamps
    assert merged.equity == fast.equity


def test_rows_out_of_time_order_name_the_file_and_row_or_are_sorted(tmp_path: Path) -> None:
    catalog = DataCatalog(tmp_path / "catalog")
    quotes = walk_quotes(20, T0, MINUTE, seed=1)
    catalog.write(spec_of(catalog, AAA), "quotes", quotes)
    # Another tool rewrites the file with rows 5 and 6 swapped.
    (part,) = catalog.info("AAA.SIM", "quotes").files
    table = pq.read_table(part)
    order = list(range(20))
    order[5], order[6] = 6, 5
    pq.write_table(table.take(order), part)
    config = node_config([AAA], {"quotes": ["AAA.SIM"]}, sample_interval_ns=MINUTE)
    with pytest.raises(InvalidData, match="row 6") as error:
        backtest_from_catalog(config, catalog.root)
    assert error.value.code == "OUT_OF_ORDER"
    assert str(part) in str(error.value)
    node, _ = run_merged(config, catalog, sort=True)
    seen = [ts for _, _, ts, _ in recorder(node).seen]
    assert seen == sorted(int(ts) for ts in quotes["ts_event"])
    pq.write_table(table, part)
    # A second part starting before the first one ends is named too.
    later = walk_quotes(3, T0 + 30 * MINUTE, MINUTE, seed=2)
    catalog.write(spec_of(catalog, AAA), "quotes", later)
    parts = catalog.info("AAA.SIM", "quotes").files
    rewound = pq.read_table(parts[1])
    pq.write_table(rewound.set_column(0, "ts_event", [[T0, T0 + 1, T0 + 2]]), parts[1])
    with pytest.raises(InvalidData, match="row 0") as error:
        backtest_from_catalog(config, catalog.root, sort=False)
    assert str(parts[1]) in str(error.value)


def test_unknown_instruments_and_conflicting_data_are_refused_with_reasons(
    mixed_catalog: tuple[DataCatalog, dict[str, dict[str, np.ndarray]]],
) -> None:
    catalog, _ = mixed_catalog
    ghost = {"instrument_id": "GHOST.SIM", "tick_size": "0.01", "price_precision": 2}
    with pytest.raises(InvalidValue, match=r"GHOST\.SIM") as error:
        backtest_from_catalog(node_config([AAA, ghost], {}), catalog.root)
    assert error.value.code == "UNKNOWN_INSTRUMENT"
    assert "AAA.SIM" in str(error.value)  # the known ones are listed

    coarse = {**AAA, "tick_size": "0.1", "price_precision": 1}
    with pytest.raises(InvalidValue, match=r"tick 0\.1") as error:
        backtest_from_catalog(node_config([coarse], {}), catalog.root)
    assert error.value.code == "INSTRUMENT_MISMATCH"

    with pytest.raises(InvalidValue) as error:
        backtest_from_catalog(node_config([AAA], {}, venues={"ZZZ.SIM": "book"}), catalog.root)
    assert error.value.code == "UNKNOWN_INSTRUMENT"

    with pytest.raises(InvalidValue, match=r"AAA\.SIM") as error:
        backtest_from_catalog(node_config([AAA], {}, venues={"AAA.SIM": "bars"}), catalog.root)
    assert error.value.code == "NO_DATA"

    with pytest.raises(InvalidValue) as error:
        backtest_from_catalog(node_config([AAA], {}), catalog.root, data_types=["quote"])
    assert error.value.code == "UNKNOWN_DATA_TYPE"

    deltas, _ = l2_replay_from_l3(synthetic_l3_messages(200, seed=1))
    catalog.write(spec_of(catalog, AAA), "l2_deltas", deltas)
    with pytest.raises(ConfigError) as conflict:
        backtest_from_catalog(node_config([AAA], {}), catalog.root)
    assert conflict.value.code == "CONFLICTING_DATA"
    # Choosing one of the two sources runs.
    result = backtest_from_catalog(
        node_config([AAA], {}), catalog.root, data_types=["quotes"], start=START, end=END
    )
    assert len(result.timestamps) > 2


def write_trades(catalog: DataCatalog, trades: np.ndarray) -> None:
    """``TRADE_DTYPE`` prints of SYNTH.SIM into the catalog."""
    catalog.write(
        spec_of(catalog, SYNTH),
        "trades",
        {
            "ts_event": trades["ts_event"],
            "price": trades["price"],
            "size": trades["quantity"],
            "aggressor_side": trades["aggressor_side"].astype(np.int8),
        },
    )


def test_l2_of_one_instrument_goes_through_run_book(tmp_path: Path) -> None:
    deltas, trades = l2_replay_from_l3(synthetic_l3_messages(60_000, seed=11))
    catalog = DataCatalog(tmp_path / "catalog")
    catalog.write(spec_of(catalog, SYNTH), "l2_deltas", deltas)
    write_trades(catalog, trades)
    maker = {"instrument_id": "SYNTH.SIM", "max_position": 20}
    config = parse_config(
        {
            "instruments": [instrument_entry(SYNTH)],
            "strategies": [
                {
                    "strategy_id": "MM",
                    "path": "hftcore.strategies.market_maker:MarketMaker",
                    "params": maker,
                }
            ],
        },
        environ={},
    )
    plan = plan_replay(config, catalog)
    assert plan.runner == "book"
    assert plan.venues == {"SYNTH.SIM": "L2"}
    from_catalog = backtest_catalog(config, catalog.root)
    direct_node = build_node(config, plan, config.backtest)
    direct = run_book(direct_node, deltas, trades, name="backtest")
    assert len(from_catalog.fills) > 10
    assert [(f.ts, f.price, f.quantity) for f in from_catalog.fills] == [
        (f.ts, f.price, f.quantity) for f in direct.fills
    ]
    assert from_catalog.equity == direct.equity


def test_l2_book_beside_bars_of_another_instrument_in_one_run(tmp_path: Path) -> None:
    messages = synthetic_l3_messages(30_000, seed=3, mean_interval_ns=200_000.0)
    deltas, _ = l2_replay_from_l3(messages)
    catalog = DataCatalog(tmp_path / "catalog")
    catalog.write(spec_of(catalog, SYNTH), "l2_deltas", deltas)
    first, last = int(deltas["ts_event"][0]), int(deltas["ts_event"][-1])
    second = 10**9
    closes = np.arange((first // second + 1) * second, last, second, dtype=np.int64)
    prices = 2_000 + np.arange(len(closes))
    catalog.write(
        spec_of(catalog, BARS),
        "bars",
        {"ts_event": closes, "open": prices, "high": prices + 1, "low": prices - 1,
         "close": prices, "volume": np.full(len(closes), 100)},
        bar_type="1-SECOND",
    )  # fmt: skip
    config = node_config(
        [SYNTH, BARS],
        {
            "books": ["SYNTH.SIM"],
            "bars": ["BAR.SIM"],
            "bar_type": "1-SECOND",
            "market_buy_on_first_bar": {"BAR.SIM": 5},
        },
        bar_type="1-SECOND",
    )
    plan = plan_replay(config, catalog, bar_type="1-SECOND")
    assert plan.runner == "merged"
    assert plan.venues == {"SYNTH.SIM": "L2", "BAR.SIM": "bars"}
    node, result = run_merged(config, catalog, bar_type="1-SECOND")
    seen = recorder(node).seen
    bars_seen = [ts for kind, _, ts, _ in seen if kind == "bar"]
    assert bars_seen == closes.tolist()
    books = [clock for kind, _, _, clock in seen if kind == "book"]
    assert len(books) == len(deltas)  # someone watches the book: every record is a step
    clocks = [clock for *_, clock in seen]
    assert clocks == sorted(clocks)
    # The node's book ends where a one-shot replay of the deltas ends.
    from hftcore import OrderBookL2

    reference = OrderBookL2(spec_of(catalog, SYNTH))
    reference.apply_deltas(deltas)
    assert node.cache.book("SYNTH.SIM").top() == reference.top()
    (fill,) = recorder(node).fills
    assert (fill.instrument_id, fill.last_price) == ("BAR.SIM", int(prices[1]))
    assert node.portfolio.net_quantity("BAR.SIM") == 5
    assert len(result.timestamps) >= 2


def test_l3_messages_fill_a_market_maker_on_a_fifo_venue(tmp_path: Path) -> None:
    messages = synthetic_l3_messages(30_000, seed=5)
    catalog = DataCatalog(tmp_path / "catalog")
    catalog.write(spec_of(catalog, SYNTH), "l3_messages", messages)
    config = parse_config(
        {
            "instruments": [instrument_entry(SYNTH)],
            "strategies": [
                {
                    "strategy_id": "MM",
                    "path": "hftcore.strategies.market_maker:MarketMaker",
                    "params": {"instrument_id": "SYNTH.SIM", "max_position": 10},
                }
            ],
        },
        environ={},
    )
    plan = plan_replay(config, catalog)
    assert (plan.runner, plan.venues) == ("merged", {"SYNTH.SIM": "L3"})
    node = build_node(config, plan, config.backtest)
    replay = CatalogReplay(node, plan, sample_interval_ns=100_000_000)
    for chunk in catalog.stream(plan.datasets, batch_rows=4096):
        replay.feed(chunk)
    result = replay.finish(periods_per_year=1.0)
    assert len(result.fills) > 5
    position = 0.0
    for fill in result.fills:
        position += fill.quantity if fill.side == "BUY" else -fill.quantity
        assert abs(position) <= 10
    assert node.portfolio.net_quantity("SYNTH.SIM") == position
    from hftcore import OrderBookL3

    reference = OrderBookL3(spec_of(catalog, SYNTH))
    reference.apply_messages(messages)
    assert node.cache.book("SYNTH.SIM").top() == reference.top()


def test_progress_reports_data_time_up_to_the_whole_span(
    mixed_catalog: tuple[DataCatalog, dict[str, dict[str, np.ndarray]]],
) -> None:
    catalog, _ = mixed_catalog
    config = node_config([MSFT, AAA], {"quotes": ["AAA.SIM"], "bars": ["MSFT.XNAS"]})
    calls: list[tuple[int, int]] = []
    backtest_from_catalog(
        config, catalog.root, start=START, end=END, progress=lambda d, t: calls.append((d, t))
    )
    assert calls
    done = [d for d, _ in calls]
    assert done == sorted(done)
    total = calls[-1][1]
    assert done[-1] == total > 0


def test_a_catalog_imported_from_csv_files_backtests_quotes_trades_and_bars(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hftcore.cli import main

    quotes = walk_quotes(60, T0, 10 * MINUTE, seed=9)
    lines = ["time,bid,bid_size,ask,ask_size"]
    lines += [
        f"{int(ts)},{bid / 100:.2f},100,{ask / 100:.2f},100"
        for ts, bid, ask in zip(
            quotes["ts_event"], quotes["bid_price"], quotes["ask_price"], strict=True
        )
    ]
    # Two rows swapped: the import names the line, or sorts them on request.
    lines[3], lines[4] = lines[4], lines[3]
    quotes_csv = tmp_path / "aaa_quotes.csv"
    quotes_csv.write_text("\n".join(lines) + "\n")
    trades = alternating_trades(30, T0 + 5 * MINUTE, 20 * MINUTE)
    trades_csv = tmp_path / "bbb_trades.csv"
    trades_csv.write_text(
        "time,price,size,aggressor_side\n"
        + "".join(
            f"{int(ts)},{price / 100:.2f},{size},{'BUY' if side == 0 else 'SELL'}\n"
            for ts, price, size, side in zip(
                trades["ts_event"],
                trades["price"],
                trades["size"],
                trades["aggressor_side"],
                strict=True,
            )
        )
    )
    root = tmp_path / "catalog"
    common = ["--catalog", str(root), "--timestamp-format", "epoch_ns", "--tick-size", "0.01"]
    aaa = ["data", "import", str(quotes_csv), *common, "--instrument", "AAA.SIM"]
    aaa += ["--data-type", "quotes"]
    assert main(aaa) == 2
    assert "aaa_quotes.csv line 5" in capsys.readouterr().err
    assert main([*aaa, "--sort"]) == 0
    bbb = ["data", "import", str(trades_csv), *common, "--instrument", "BBB.SIM"]
    assert main([*bbb, "--data-type", "trades"]) == 0
    catalog = DataCatalog(root)
    import_bundled(catalog, ["msft_daily_ohlcv"])
    capsys.readouterr()

    config = node_config(
        [MSFT, AAA, BBB],
        {
            "quotes": ["AAA.SIM"],
            "trades": ["BBB.SIM"],
            "bars": ["MSFT.XNAS"],
            "market_buy_on_first_quote": {"AAA.SIM": 4},
            "market_buy_on_first_bar": {"MSFT.XNAS": 3},
        },
    )
    node, result = run_merged(config, catalog, start=START, end=END)
    seen = recorder(node).seen
    assert [ts for _, _, ts, _ in seen] == sorted(ts for _, _, ts, _ in seen)
    quote_times = [ts for kind, _, ts, _ in seen if kind == "quote"]
    assert quote_times == quotes["ts_event"].tolist()
    assert [ts for kind, _, ts, _ in seen if kind == "trade"] == trades["ts_event"].tolist()
    assert node.portfolio.net_quantity("AAA.SIM") == 4
    assert node.portfolio.net_quantity("MSFT.XNAS") == 3
    aaa_fill = next(f for f in recorder(node).fills if f.instrument_id == "AAA.SIM")
    assert aaa_fill.last_price == int(quotes["ask_price"][0])
    # Only quotes and bars: the BBB prints are left out, and its book venue too.
    plan = plan_replay(
        node_config([MSFT, AAA], {}), catalog, data_types=["quotes", "bars"], start=START
    )
    assert {key.data_type for key in plan.datasets} == {"quotes", "bars"}
    assert plan.venues == {"MSFT.XNAS": "bars", "AAA.SIM": "L2"}
    assert result.positions["MSFT.XNAS"][-1] == 3


@pytest.mark.parametrize("seed", [1, 2])
def test_random_latencies_never_send_an_order_into_a_venue_past(tmp_path: Path, seed: int) -> None:
    """A market maker quoting one instrument's L2 book and a strategy trading another's quotes,
    on venues with random feed, order and response latencies: every command reaches its venue
    at or after the data the venue replayed (the venue refuses anything else), every callback
    runs in local time order at or after the data's exchange time, and inventory stays within
    the maker's limit."""
    messages = synthetic_l3_messages(20_000, seed=seed, mean_interval_ns=100_000.0)
    deltas, trades = l2_replay_from_l3(messages)
    catalog = DataCatalog(tmp_path / "catalog")
    catalog.write(spec_of(catalog, SYNTH), "l2_deltas", deltas)
    write_trades(catalog, trades)
    first, last = int(deltas["ts_event"][0]), int(deltas["ts_event"][-1])
    quotes = walk_quotes(300, first + 1, (last - first) // 300, seed=seed)
    catalog.write(spec_of(catalog, AAA), "quotes", quotes)
    latency = {"type": "UNIFORM", "low": 10_000.0, "high": 400_000.0, "seed": seed}
    config = parse_config(
        {
            "node": {"starting_balances": {"USD": "10000000"}},
            "instruments": [instrument_entry(SYNTH), instrument_entry(AAA)],
            "strategies": [
                {
                    "strategy_id": "MM",
                    "path": "hftcore.strategies.market_maker:MarketMaker",
                    "params": {"instrument_id": "SYNTH.SIM", "max_position": 8},
                },
                {
                    "strategy_id": "REC",
                    "path": RECORDER,
                    "params": {
                        "quotes": ["AAA.SIM"],
                        "market_buy_on_first_quote": {"AAA.SIM": 2},
                        "limit_buy_below_first_bid": {"AAA.SIM": 2},
                    },
                },
            ],
            "backtest": {
                "book_venue": {
                    "feed_latency": latency,
                    "order_latency": {**latency, "seed": seed + 10},
                    "response_latency": {**latency, "seed": seed + 20},
                },
                "sample_interval_ns": 10_000_000,
            },
        },
        environ={},
    )
    node, result = run_merged(config, catalog)
    assert node.failure("MM") is None
    assert node.failure("REC") is None
    seen = recorder(node).seen
    assert len(seen) == len(quotes["ts_event"])
    assert [clock for *_, clock in seen] == sorted(clock for *_, clock in seen)
    assert all(clock >= ts for _, _, ts, clock in seen)
    maker_fills = [f for f in result.fills if f.strategy_id == "MM"]
    assert maker_fills
    position = 0.0
    for fill in maker_fills:
        position += fill.quantity if fill.side == "BUY" else -fill.quantity
        assert abs(position) <= 8
    assert node.portfolio.net_quantity("AAA.SIM", "REC") >= 2
    # Everything sent before the end was answered: nothing is left on its way.
    assert not [o for o in result.orders if o.status in ("SUBMITTED", "PENDING_CANCEL")]
    assert all(fill.ts_event >= quotes["ts_event"][0] for fill in recorder(node).fills)


def test_quotes_build_the_node_book_a_market_maker_quotes_on(
    mixed_catalog: tuple[DataCatalog, dict[str, dict[str, np.ndarray]]],
) -> None:
    catalog, data = mixed_catalog
    quotes = data["quotes"]
    config = node_config([AAA], {"books": ["AAA.SIM"]}, sample_interval_ns=60 * MINUTE)
    node, _ = run_merged(config, catalog, data_types=["quotes"])
    book_calls = [clock for kind, _, _, clock in recorder(node).seen if kind == "book"]
    assert book_calls == quotes["ts_event"].tolist()  # one book update per quote, when seen
    last = (quotes["bid_price"][-1], quotes["bid_size"][-1])
    last += (quotes["ask_price"][-1], quotes["ask_size"][-1])
    assert node.cache.book("AAA.SIM").top() == tuple(int(value) for value in last)
    assert node.cache.book("AAA.SIM").level_counts() == (1, 1)  # only the top is known

    maker = parse_config(
        {
            "instruments": [instrument_entry(AAA)],
            "strategies": [
                {
                    "strategy_id": "MM",
                    "path": "hftcore.strategies.market_maker:MarketMaker",
                    # Quotes at the mid, one tick inside each side of the 2-tick spread: a
                    # quote moving by a tick trades through one of them.
                    "params": {
                        "instrument_id": "AAA.SIM",
                        "max_position": 5,
                        "quantity": 1,
                        "half_spread_ticks": 0.0,
                        "skew_ticks_per_lot": 0.0,
                    },
                }
            ],
            "backtest": {"sample_interval_ns": 60 * MINUTE},
        },
        environ={},
    )
    node, result = run_merged(maker, catalog, data_types=["quotes"])
    assert len(result.orders) > 10  # it quotes on the book the quotes build
    assert result.fills  # and the quotes moving through its prices fill it
    assert abs(node.portfolio.net_quantity("AAA.SIM")) <= 5
    spec = spec_of(catalog, AAA)
    by_time = {int(ts): index for index, ts in enumerate(quotes["ts_event"])}
    for fill in result.fills:
        # No latency: a fill comes with the quote that traded through the order's price.
        quote = by_time[fill.ts]
        price = spec.price_to_ticks(str(fill.price))
        if fill.side == "BUY":
            assert quotes["ask_price"][quote] <= price
        else:
            assert quotes["bid_price"][quote] >= price
