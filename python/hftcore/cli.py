"""The ``hftcore`` command."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hftcore", description="hftcore trading platform")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="stream a generated order flow through the compiled core and summarise it"
    )
    demo.add_argument("--events", type=_positive, default=1_000_000, help="order-flow events")
    demo.add_argument("--seed", type=int, default=7, help="seed of the order-flow model")
    demo.add_argument(
        "--report",
        type=Path,
        default=Path("hftcore-demo-report.html"),
        help="where to write the backtest's HTML report",
    )

    backtest = commands.add_parser(
        "backtest", help="run the configured strategies over the catalog's bars"
    )
    backtest.add_argument("--config", type=Path, required=True, help="node config (TOML)")
    backtest.add_argument("--data", type=Path, required=True, help="data catalog root")
    backtest.add_argument("--start", help="first timestamp (e.g. 2010-01-01)")
    backtest.add_argument("--end", help="end timestamp, exclusive")
    backtest.add_argument("--bar-type", default="1-DAY", help="bars to replay (default 1-DAY)")
    backtest.add_argument("--report", type=Path, help="write the HTML report here")
    backtest.add_argument("--json", type=Path, help="write the result as JSON here")

    paper = commands.add_parser(
        "paper", help="paper trading: bars replayed in real time, a simulated venue, event store"
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

    from hftcore.data.commands import add_import_arguments, add_list_arguments

    data = commands.add_parser("data", help="the market data catalog")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    add_import_arguments(
        data_commands.add_parser("import", help="import a CSV file into the catalog")
    )
    add_list_arguments(data_commands.add_parser("list", help="list the catalog's datasets"))

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
        from hftcore.demo import run_demo

        report = run_demo(events=args.events, seed=args.seed, report_path=args.report)
        sys.stdout.write(report.render() + "\n")
        return 0
    if args.command == "backtest":
        return _backtest(args)
    if args.command == "paper":
        return _paper(args)
    if args.command == "fix-venue":
        from hftcore.venues.fix.command import fix_venue_command

        return fix_venue_command(args, sys.stdout, sys.stderr)
    from hftcore.data.commands import import_command, list_command

    if args.data_command == "import":
        return import_command(args, sys.stdout, sys.stderr)
    return list_command(args, sys.stdout, sys.stderr)


def _backtest(args: argparse.Namespace) -> int:
    from hftcore.errors import HftcoreError
    from hftcore.node.backtest import backtest_from_catalog
    from hftcore.node.config import load_config

    try:
        result = backtest_from_catalog(
            load_config(args.config),
            args.data,
            bar_type=args.bar_type,
            start=args.start,
            end=args.end,
        )
    except HftcoreError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    statistics = result.statistics
    rows = [
        ("fills", f"{len(result.fills)}"),
        ("total return", f"{statistics.total_return:.2%}"),
        ("annual return", f"{statistics.annual_return:.2%}"),
        ("annual volatility", f"{statistics.annual_volatility:.2%}"),
        ("Sharpe", f"{statistics.sharpe_ratio:.2f}"),
        ("Sortino", f"{statistics.sortino_ratio:.2f}"),
        ("max drawdown", f"{statistics.max_drawdown:.2%}"),
        ("win rate", f"{statistics.win_rate:.2%}"),
    ]
    sys.stdout.write("\n".join(f"{name:<24}{value:>14}" for name, value in rows) + "\n")
    if args.report is not None:
        result.to_html(args.report)
    if args.json is not None:
        args.json.write_bytes(result.to_json())
    return 0


def _paper(args: argparse.Namespace) -> int:
    from hftcore.errors import HftcoreError
    from hftcore.node.config import load_config
    from hftcore.node.paper import PaperSession, load_paper_bars, run_paper

    try:
        config = load_config(args.config)
        bars = load_paper_bars(config, args.data, bar_type=args.bar_type)
        session = PaperSession(config, bars, speed=args.speed, store_path=args.store)
        summary = run_paper(
            session,
            duration_s=args.duration,
            summary_path=args.summary,
            recovered_path=args.recovered,
        )
    except HftcoreError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    sys.stdout.write(
        f"orders {len(summary.orders)}  positions {summary.positions}  "
        f"events {summary.last_seq}  bars {session.bars_processed}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
