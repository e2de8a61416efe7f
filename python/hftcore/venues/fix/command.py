"""``hftcore fix-venue``: the FIX venue simulator from the command line, for testing a FIX
client (ours or anyone's) against the core's matching engine."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from decimal import Decimal, InvalidOperation
from typing import TextIO

from hftcore._core import Instrument
from hftcore.errors import ConfigError, HftcoreError
from hftcore.venues.fix.config import FixSessionConfig
from hftcore.venues.fix.simulator import FixVenueSimulator

DEFAULT_INSTRUMENT = "BTCUSDT.SIM:0.1:0.001:USDT"


def add_fix_venue_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=9878, help="TCP port (0: any free one)")
    parser.add_argument("--venue-comp-id", default="VENUE", help="the venue's SenderCompID")
    parser.add_argument(
        "--client-comp-id",
        action="append",
        help="a client's CompID (repeat for several clients; default CLIENT)",
    )
    parser.add_argument(
        "--instrument",
        action="append",
        help="ID:TICK:LOT[:CURRENCY[:MAKER_FEE:TAKER_FEE]], e.g. AAPL.SIM:0.01:1:USD "
        f"(repeatable; default {DEFAULT_INSTRUMENT})",
    )
    parser.add_argument("--data-dir", help="where the sessions' sequence stores live (memory)")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")


def parse_instrument(text: str) -> tuple[Instrument, str]:
    """An instrument and its quote currency from ``ID:TICK:LOT[:CURRENCY[:MAKER:TAKER]]``."""
    parts = text.split(":")
    if len(parts) not in (3, 4, 6):
        raise ConfigError(
            "INVALID_INSTRUMENT", f"{text!r}: expected ID:TICK:LOT[:CURRENCY[:MAKER_FEE:TAKER_FEE]]"
        )
    instrument_id, tick, lot = parts[:3]
    currency = parts[3] if len(parts) > 3 else "USD"
    fees = parts[4:] if len(parts) == 6 else ["0", "0"]
    try:
        precisions = [max(0, -int(Decimal(value).as_tuple().exponent)) for value in (tick, lot)]
    except (InvalidOperation, ValueError, TypeError):
        raise ConfigError(
            "INVALID_INSTRUMENT", f"{text!r}: tick and lot must be decimals"
        ) from None
    instrument = Instrument(
        instrument_id,
        tick,
        precisions[0],
        lot,
        precisions[1],
        maker_fee=fees[0],
        taker_fee=fees[1],
    )
    return instrument, currency


async def serve(args: argparse.Namespace, out: TextIO) -> FixVenueSimulator:
    instruments = dict(parse_instrument(text) for text in args.instrument or [DEFAULT_INSTRUMENT])
    sessions = [
        FixSessionConfig(args.venue_comp_id, client, data_dir=args.data_dir)
        for client in args.client_comp_id or ["CLIENT"]
    ]
    simulator = FixVenueSimulator("FIXSIM", instruments, sessions)
    port = await simulator.start(args.host, args.port)
    out.write(f"FIX 4.4 venue {args.venue_comp_id} listening on {args.host}:{port}\n")
    out.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), args.duration)
    await simulator.stop()
    return simulator


def fix_venue_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        simulator = asyncio.run(serve(args, out))
    except (HftcoreError, OSError) as error:
        err.write(f"error: {error}\n")
        return 2
    out.write(
        f"stopped: {simulator.execution_reports} execution reports, "
        f"{simulator.engine.working_order_count} orders working\n"
    )
    return 0


__all__ = ["add_fix_venue_arguments", "fix_venue_command", "parse_instrument", "serve"]
