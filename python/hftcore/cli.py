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

    from hftcore.data.commands import add_import_arguments, add_list_arguments

    data = commands.add_parser("data", help="the market data catalog")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    add_import_arguments(
        data_commands.add_parser("import", help="import a CSV file into the catalog")
    )
    add_list_arguments(data_commands.add_parser("list", help="list the catalog's datasets"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "demo":
        from hftcore.demo import run_demo

        report = run_demo(events=args.events, seed=args.seed, report_path=args.report)
        sys.stdout.write(report.render() + "\n")
        return 0
    from hftcore.data.commands import import_command, list_command

    if args.data_command == "import":
        return import_command(args, sys.stdout, sys.stderr)
    return list_command(args, sys.stdout, sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
