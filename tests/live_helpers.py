"""Helpers of the live adapter tests: a market-data handler that keeps what it is given, test
servers on a thread of their own, the event kinds in a store being written, a signal sent once
a condition holds, and node configs and runs of ``hftcore live``."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import signal
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Generic, TypeVar

from hftcore.cli import main
from hftcore.model.data import Quote, Trade
from hftcore.store import SqliteEventStore
from hftcore.venues.live import LevelChange


class RecordingHandler:
    """Keeps every callback's arguments."""

    def __init__(self) -> None:
        self.book_updates: list[tuple[str, list[LevelChange], int, int]] = []
        self.invalidations: list[tuple[str, str]] = []
        self.quotes: list[Quote] = []
        self.trades: list[Trade] = []

    def on_book(
        self, instrument_id: str, changes: Iterable[LevelChange], ts_event: int, ts_init: int
    ) -> None:
        self.book_updates.append((instrument_id, list(changes), ts_event, ts_init))

    def on_book_invalid(self, instrument_id: str, reason: str) -> None:
        self.invalidations.append((instrument_id, reason))

    def on_quote(self, quote: Quote) -> None:
        self.quotes.append(quote)

    def on_trade(self, trade: Trade) -> None:
        self.trades.append(trade)


T = TypeVar("T")


class ServerThread(Generic[T]):
    """An asyncio test server (``FakeBinance``, ``FakeKraken``, a FIX simulator) on an event
    loop of its own in a background thread, so that a node running its own loop (``hftcore
    live``) can connect to it. ``call`` runs a function or coroutine on the server's loop."""

    def __init__(self, server: AbstractAsyncContextManager[T]) -> None:
        self._manager = server
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: T | None = None

    def __enter__(self) -> T:
        self._thread.start()
        self._server = self.call(self._manager.__aenter__)
        return self._server

    def __exit__(self, *exc: object) -> None:
        self.call(lambda: self._manager.__aexit__(None, None, None))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def call(self, function: Callable[[], Any], timeout: float = 30.0) -> Any:
        async def run() -> Any:
            result = function()
            return await result if inspect.isawaitable(result) else result

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def soon(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        """Schedules ``coroutine`` on the server's loop; call it from that loop (a server
        callback) or any thread."""
        asyncio.run_coroutine_threadsafe(coroutine, self._loop)


def stored_kinds(path: Path) -> Counter[str]:
    """Event kinds in a SQLite event store another process or thread is writing (read-only;
    empty until the store exists)."""
    if not path.exists():
        return Counter()
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            rows = connection.execute("SELECT kind, count(*) FROM events GROUP BY kind").fetchall()
        finally:
            connection.close()
    except sqlite3.Error:
        return Counter()  # not created yet
    return Counter({kind: count for kind, count in rows})


def keep_trying(step: Callable[[], bool], timeout: float = 60.0) -> threading.Thread:
    """A thread that calls ``step`` every 20 ms until it returns True (it acted) or
    ``timeout`` passes (the test's assertions then fail): a test's side of a scenario while
    ``hftcore live`` runs in the foreground."""

    def run() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not step():
            time.sleep(0.02)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def signal_when(
    predicate: Callable[[], bool], signum: int = signal.SIGINT, timeout: float = 60.0
) -> threading.Thread:
    """Sends ``signum`` to this process once ``predicate`` holds, as an operator stopping
    ``hftcore live`` would."""

    def step() -> bool:
        if not predicate():
            return False
        os.kill(os.getpid(), signum)
        return True

    return keep_trying(step, timeout)


# ----- hftcore live configs and runs ----------------------------------------------------------

STRATEGY = Path(__file__).with_name("live_strategy.py")
GUARD_S = 60.0
"""--duration of every run: the tests stop the node with a signal long before."""

FAST_RECONNECT = "reconnect = { initial_delay_s = 0.05, max_delay_s = 0.2 }"

BINANCE_INSTRUMENT = """
[[instruments]]
instrument_id = "BTCUSDT.BINANCE"
tick_size = "0.01"
price_precision = 2
lot_size = "0.00001"
size_precision = 5
quote_currency = "USDT"
"""

KRAKEN_INSTRUMENT = """
[[instruments]]
instrument_id = "BTC/USD.KRAKEN"
tick_size = "0.1"
price_precision = 1
lot_size = "0.00000001"
size_precision = 8
"""


def node_config(
    tmp_path: Path, mode: str, body: str, currency: str = "USD", name: str | None = None
) -> Path:
    """A node config file (``<tmp_path>/<name or mode>.toml``; data under ``<tmp_path>/data``,
    shared by every config of the test: a restart finds the store)."""
    path = tmp_path / f"{name or mode}.toml"
    path.write_text(
        f"""
[node]
mode = "{mode}"
data_dir = "{tmp_path / "data"}"
base_currency = "{currency}"
starting_balances = {{ {currency} = "1000000" }}
{body}""",
        encoding="utf-8",
    )
    return path


def strategy(instrument_id: str, **params: object) -> str:
    """A ``[[strategies]]`` table: ``BuyOnce`` (tests/live_strategy.py) with ``params``."""
    values = {"instrument_id": instrument_id, **params}
    fields = ", ".join(f"{name} = {json.dumps(value)}" for name, value in values.items())
    return f"""
[[strategies]]
strategy_id = "BUYER"
path = "{STRATEGY}:BuyOnce"
params = {{ {fields} }}
"""


def store_events(path: Path) -> list[Any]:
    with SqliteEventStore(path) as store:
        return [stored.event for stored in store.events()]


def kinds(events: list[Any]) -> list[str]:
    return [type(event).__name__ for event in events]


def run_live(config: Path, summary: Path, *options: str, duration_s: float = GUARD_S) -> int:
    """``hftcore live`` in this process (the test stops it with a signal, or ``duration_s``)."""
    command = ["live", "--config", str(config), "--duration", str(duration_s)]
    return main([*command, "--summary", str(summary), *options])
