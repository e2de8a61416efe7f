"""The ``hftcore`` command. It parses arguments, calls the library and renders what comes back
(progress bars and tables: :mod:`hftcore.console`); rejected input prints ``error: CODE:
sentence`` on standard error with exit status 2."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hftcore.node.config import VenueConfig


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_seconds(text: str) -> int:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    nanoseconds = round(seconds * 1e9)
    if nanoseconds <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return nanoseconds


def _data_types(text: str) -> list[str]:
    from hftcore.node.catalog_backtest import REPLAY_DATA_TYPES

    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in chosen if name not in REPLAY_DATA_TYPES]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"a comma-separated list of {', '.join(REPLAY_DATA_TYPES)}; got {text!r}"
        )
    return chosen


def _add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar (it is only drawn on a terminal anyway)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hftcore", description="hftcore trading platform")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="generated order flow through the core, a market maker and a real-data backtest",
        description="Streams a seeded, generated order flow through the compiled books, risk "
        "gate and matching engine, runs the bundled market maker on it through the simulated "
        "venue, backtests the SMA crossover on real MSFT daily bars and writes its HTML report.",
    )
    demo.add_argument("--events", type=_positive, default=1_000_000, help="order-flow events")
    demo.add_argument("--seed", type=int, default=7, help="seed of the order-flow model")
    demo.add_argument(
        "--report",
        type=Path,
        default=Path("hftcore-demo-report.html"),
        help="where to write the backtest's HTML report",
    )
    _add_quiet(demo)

    backtest = commands.add_parser(
        "backtest",
        help="run strategies over the data catalog (bars, quotes, trades, L2, L3)",
        description="Replays the catalog's data of the configured instruments in timestamp "
        "order through the simulated venues and prints the statistics (docs/node.md).",
    )
    backtest.add_argument(
        "strategy",
        nargs="?",
        help="a strategy to run instead of the config's: module:Class or file.py:Class",
    )
    backtest.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter of STRATEGY (repeatable); VALUE is read as JSON, else as text",
    )
    backtest.add_argument("--config", type=Path, required=True, help="node config (TOML)")
    backtest.add_argument("--data", type=Path, required=True, help="data catalog root")
    backtest.add_argument("--start", help="first timestamp (e.g. 2010-01-01)")
    backtest.add_argument("--end", help="end timestamp, exclusive")
    backtest.add_argument(
        "--data-types",
        type=_data_types,
        help="comma-separated: bars,quotes,trades,l2_deltas,l3_messages (default: all held)",
    )
    backtest.add_argument("--bar-type", help="bars to replay (default: config, else 1-DAY)")
    backtest.add_argument(
        "--sort",
        action="store_true",
        default=None,
        help="sort stored rows that go back in time instead of failing on them",
    )
    backtest.add_argument(
        "--sample-interval",
        type=_positive_seconds,
        help="equity sampling step in seconds (default: per bar for bars, else automatic)",
    )
    backtest.add_argument("--report", type=Path, help="write the HTML report here")
    backtest.add_argument("--json", type=Path, help="write the result as JSON here")
    _add_quiet(backtest)

    paper = commands.add_parser(
        "paper",
        help="paper trading: bars replayed in real time, a simulated venue, event store",
        description="Runs the config (node.mode = paper) on a live clock over bars replayed "
        "in real time (or faster), with every event in the SQLite event store (docs/paper.md).",
    )
    paper.add_argument("--config", type=Path, required=True, help="node config (TOML)")
    paper.add_argument(
        "--data", required=True, help="data catalog root, or bundled:NAME for a bundled series"
    )
    paper.add_argument("--bar-type", default="1-DAY", help="bars to replay (default 1-DAY)")
    paper.add_argument(
        "--speed", type=float, default=1.0, help="replay speed factor (bar time / wall time)"
    )
    paper.add_argument("--duration", type=float, help="stop after this many seconds")
    paper.add_argument("--store", type=Path, help="event store file (default: data_dir)")
    paper.add_argument("--summary", type=Path, help="write the final state as JSON here")
    paper.add_argument("--recovered", type=Path, help="write the state after recovery here")
    _add_quiet(paper)

    live = commands.add_parser(
        "live",
        help="paper or live trading on the config's venue adapters (Alpaca, Binance, Kraken, FIX)",
        description="Connects the config's [[venues]] adapters (market data, and orders in "
        "live mode; in paper mode orders fill at a simulated venue fed by the live data), runs "
        "the config's strategies and stores every event; a restart with the same store "
        "recovers. Keys come from the environment only. Stops on SIGINT, SIGTERM or "
        "--duration (docs/venues.md).",
    )
    live.add_argument("--config", type=Path, required=True, help="node config (TOML)")
    live.add_argument("--duration", type=float, help="stop after this many seconds")
    live.add_argument(
        "--store",
        help="event store: a SQLite file, sqlite:///PATH or postgresql://... "
        "(default: data_dir/events.sqlite)",
    )
    live.add_argument("--summary", type=Path, help="write the final state as JSON here")

    compare = commands.add_parser(
        "compare",
        help="compare a recorded paper session with a backtest of the same bars, fill by fill",
        description="Runs the config's strategies as a backtest over the bars the paper session "
        "in STORE replayed from DATA and compares the two fill by fill (price, slippage, bar), "
        "with P&L, fees and the session's latencies; every difference gets a category and a "
        "cause read from the session's log (docs/compare.md).",
    )
    compare.add_argument("--config", type=Path, required=True, help="node config (TOML)")
    compare.add_argument(
        "--data", required=True, help="the paper session's data: catalog root, or bundled:NAME"
    )
    compare.add_argument("--store", type=Path, required=True, help="the session's event store")
    compare.add_argument("--bar-type", default="1-DAY", help="bars replayed (default 1-DAY)")
    compare.add_argument(
        "--full-period",
        action="store_true",
        help="backtest over all of DATA's bars, not only those the session replayed",
    )
    compare.add_argument("--json", type=Path, help="write the whole comparison as JSON here")

    for name, sentence in (
        ("kill", "engage the kill switch of a running node: cancel all, block orders"),
        ("reset", "reset a running node's kill switch and breakers (token from the environment)"),
    ):
        control = commands.add_parser(name, help=sentence)
        control.add_argument("--config", type=Path, required=True, help="node config (TOML)")
        control.add_argument("--reason", default="", help="recorded in the audit event")
        if name == "kill":
            control.add_argument(
                "--flatten", action="store_true", help="close every position with market orders"
            )

    agents = commands.add_parser("agents", help="multi-agent trading")
    agents_commands = agents.add_subparsers(dest="agents_command", required=True)
    table = agents_commands.add_parser(
        "table", help="each agent and the ensembles on the bundled real data, after costs"
    )
    table.add_argument("--start", help="first bar close (e.g. 2005-01-01)")
    table.add_argument("--end", help="end of the window, exclusive")
    table.add_argument("--commission-bps", type=float, default=5.0, help="cost per fill (bp)")
    table.add_argument(
        "--market-maker", action="store_true", help="also run the market maker on synthetic L2"
    )

    from hftcore.data.commands import add_import_arguments, add_list_arguments

    data = commands.add_parser(
        "data",
        help="the market data catalog",
        description="Import CSV files into the Parquet catalog and list its datasets.",
    )
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="COMMAND")
    add_import_arguments(
        data_commands.add_parser(
            "import",
            help="import a CSV file into the catalog",
            description="Reads a CSV (optionally .gz) into integer ticks, lots and ns and "
            "stores it in the catalog (docs/data.md).",
        )
    )
    add_list_arguments(
        data_commands.add_parser(
            "list",
            help="list the catalog's datasets",
            description="One line per dataset: instrument, data type, rows, time span.",
        )
    )

    from hftcore.venues.fix.command import add_fix_venue_arguments

    add_fix_venue_arguments(
        commands.add_parser(
            "fix-venue", help="a FIX 4.4 venue (acceptor) over the matching engine, for FIX clients"
        )
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "demo":
        return _demo(args)
    if args.command == "backtest":
        return _backtest(args)
    if args.command == "paper":
        return _paper(args)
    if args.command == "live":
        return _live(args)
    if args.command == "compare":
        return _compare(args)
    if args.command in ("kill", "reset"):
        return _control(args)
    if args.command == "agents":
        from hftcore.agents.table import table_command

        return table_command(args, sys.stdout, sys.stderr)
    if args.command == "fix-venue":
        from hftcore.venues.fix.command import fix_venue_command

        return fix_venue_command(args, sys.stdout, sys.stderr)
    from hftcore.data.commands import import_command, list_command

    if args.data_command == "import":
        return import_command(args, sys.stdout, sys.stderr)
    return list_command(args, sys.stdout, sys.stderr)


def _demo(args: argparse.Namespace) -> int:
    from hftcore.console import demo_tables, make_console, progress_bar, show_progress
    from hftcore.demo import DEMO_STAGES, run_demo

    console = make_console()
    with progress_bar(console, "demo", enabled=show_progress(args.quiet), counted=True) as update:

        def on_stage(name: str) -> None:
            update(DEMO_STAGES.index(name), len(DEMO_STAGES), f"demo: {name}")

        report = run_demo(
            events=args.events, seed=args.seed, report_path=args.report, on_stage=on_stage
        )
        update(len(DEMO_STAGES), len(DEMO_STAGES), "demo")
    for table in demo_tables(report):
        console.print(table)
    return 0


def _strategy_params(pairs: list[str]) -> dict[str, Any]:
    from hftcore.errors import InvalidValue

    params: dict[str, Any] = {}
    for pair in pairs:
        name, separator, text = pair.partition("=")
        if not separator or not name:
            raise InvalidValue("BAD_OPTION", f"--param takes NAME=VALUE, got {pair!r}")
        try:
            params[name] = json.loads(text)
        except json.JSONDecodeError:
            params[name] = text
    return params


def _backtest(args: argparse.Namespace) -> int:
    import msgspec

    from hftcore.console import make_console, progress_bar, show_progress, statistics_table
    from hftcore.errors import HftcoreError, InvalidValue
    from hftcore.node.backtest import backtest_from_catalog
    from hftcore.node.config import StrategyConfig, load_config

    console = make_console()
    try:
        config = load_config(args.config)
        if args.strategy is not None:
            strategy_id = args.strategy.rpartition(":")[2] or "STRATEGY"
            strategy = StrategyConfig(strategy_id, args.strategy, _strategy_params(args.param))
            config = msgspec.structs.replace(config, strategies=[strategy])
        elif args.param:
            raise InvalidValue("BAD_OPTION", "--param needs a STRATEGY argument")
        with progress_bar(console, "backtest", enabled=show_progress(args.quiet)) as update:
            result = backtest_from_catalog(
                config,
                args.data,
                data_types=args.data_types,
                bar_type=args.bar_type,
                start=args.start,
                end=args.end,
                sort=args.sort,
                sample_interval_ns=args.sample_interval,
                progress=update,
            )
    except HftcoreError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    console.print(statistics_table(result))
    if args.report is not None:
        result.to_html(args.report)
    if args.json is not None:
        args.json.write_bytes(result.to_json())
    return 0


def _paper(args: argparse.Namespace) -> int:
    from hftcore.console import key_value_table, make_console, progress_bar, show_progress
    from hftcore.errors import HftcoreError
    from hftcore.node.config import load_config
    from hftcore.node.paper import (
        REPLAY_POSITION_KEY,
        PaperSession,
        load_paper_bars,
        run_paper,
    )

    console = make_console()
    try:
        config = load_config(args.config)
        bars = load_paper_bars(config, args.data, bar_type=args.bar_type)
        session = PaperSession(config, bars, speed=args.speed, store_path=args.store)
        position = session.store.get_meta(REPLAY_POSITION_KEY, 0)
        done = int(position) if isinstance(position, int) else 0
        with progress_bar(
            console, "paper replay", enabled=show_progress(args.quiet), counted=True
        ) as update:

            def on_bar(_bar: object) -> None:
                nonlocal done
                done += 1
                update(done, len(bars))

            update(done, len(bars))
            session.node.bus.subscribe("data.bars.>", on_bar)
            summary = run_paper(
                session,
                duration_s=args.duration,
                summary_path=args.summary,
                recovered_path=args.recovered,
            )
    except HftcoreError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    console.print(
        key_value_table(
            "Paper session",
            {
                "orders": len(summary.orders),
                "open positions": len(summary.positions),
                "events stored": summary.last_seq,
                "bars replayed": session.bars_processed,
                **{f"position {key}": lots for key, lots in summary.positions.items()},
            },
        )
    )
    return 0


def _live(args: argparse.Namespace) -> int:
    from hftcore.console import key_value_table, make_console
    from hftcore.errors import HftcoreError
    from hftcore.node.config import load_config
    from hftcore.node.live import LiveSession, run_live

    console = make_console()
    try:
        config = load_config(args.config)
        session = LiveSession(config, store=args.store)
        console.print(
            key_value_table(
                f"hftcore live: {config.node.mode} mode",
                {f"venue {entry.venue}": _venue_line(entry) for entry in config.venues},
            )
        )
        summary = run_live(session, duration_s=args.duration, summary_path=args.summary)
    except HftcoreError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    filled = sum(1 for _, lots in summary.orders.values() if lots)
    console.print(
        key_value_table(
            "Live session",
            {
                "mode": summary.mode,
                "orders": len(summary.orders),
                "orders with fills": filled,
                "events stored": summary.last_seq,
                **{f"position {key}": lots for key, lots in summary.positions.items()},
            },
        )
    )
    for venue, counters in summary.venues.items():
        console.print(key_value_table(f"Venue {venue}", counters))
    return 0


def _venue_line(entry: VenueConfig) -> str:
    parts: list[str] = [entry.adapter]
    if entry.instruments:
        parts.append(f"trades {', '.join(entry.instruments)}")
    if entry.feed_only:
        parts.append(f"feeds {', '.join(entry.feed_only)}")
    return "; ".join(parts)


def _compare(args: argparse.Namespace) -> int:
    from hftcore.console import comparison_tables, make_console
    from hftcore.errors import HftcoreError
    from hftcore.node.config import load_config
    from hftcore.reports.compare import compare_paper_to_backtest

    try:
        comparison = compare_paper_to_backtest(
            load_config(args.config),
            args.store,
            args.data,
            bar_type=args.bar_type,
            full_period=args.full_period,
        )
    except HftcoreError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    console = make_console()
    for table in comparison_tables(comparison):
        console.print(table)
    if args.json is not None:
        args.json.write_bytes(comparison.to_json())
    return 0


def _control(args: argparse.Namespace) -> int:
    """Drops a kill or reset request where the running node polls (``hftcore.risk.live``);
    the reset token is read from the environment variable the config names. A request no node
    picks up within a minute is dropped as stale when one next looks."""
    import os
    import time

    from hftcore.errors import HftcoreError
    from hftcore.node.config import load_config
    from hftcore.risk.live import ControlRequest, control_directory, write_control_request

    try:
        config = load_config(args.config)
    except HftcoreError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    if args.command == "kill":
        request = ControlRequest(
            action="kill", ts=time.time_ns(), reason=args.reason, flatten=args.flatten
        )
    else:
        variable = config.risk_controls.reset_token_env
        token = os.environ.get(variable)
        if not token:
            sys.stderr.write(f"error: set the reset token in {variable}\n")
            return 2
        request = ControlRequest(action="reset", ts=time.time_ns(), reason=args.reason, token=token)
    path = write_control_request(control_directory(config), request)
    sys.stdout.write(f"{args.command} request written to {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
