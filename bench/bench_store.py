"""Event store costs: a durable append (one commit, fsync'd), a batch of 100 events in one
commit, reading the log back and rebuilding state from it, on both backends.

Run with timings: ``.venv/bin/python -m pytest bench/bench_store.py --benchmark-enable``. In
the test suite these run once each with timings off, and still check what they stored or read.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hftcore.model.events import OrderFilled
from hftcore.store import EventStore, StorableEvent, rebuild

from tests.store_backends import BACKENDS, fill, lifecycle, store_location

Benchmark = Any
LOG_ORDERS = 2_000  # 6 events each: 12 000 events


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    with store_location(request.param, tmp_path) as location:
        yield location.open()


def session_log(orders: int) -> list[StorableEvent]:
    events: list[StorableEvent] = []
    for number in range(orders):
        cid = f"C{number}"
        events.extend(lifecycle(cid))
        events.append(fill(cid, "T1", 4, side=number % 2))
        events.append(fill(cid, "T2", 6, side=number % 2))
    return events


def test_append_one_durable(benchmark: Benchmark, store: EventStore) -> None:
    trade_ids = itertools.count()

    def append() -> int:
        return store.append(fill("C1", f"T{next(trade_ids)}", 1)).seq

    benchmark.pedantic(append, rounds=300, iterations=1, warmup_rounds=5)
    assert len(list(store.events(kinds=[OrderFilled]))) == next(trade_ids)


def test_append_batch_of_100(benchmark: Benchmark, store: EventStore) -> None:
    batches = itertools.count()

    def append_batch() -> None:
        batch = next(batches)
        store.append_many([fill("C1", f"T{batch}-{i}", 1) for i in range(100)])

    benchmark.pedantic(append_batch, rounds=50, iterations=1, warmup_rounds=2)
    appended_batches = next(batches)
    assert len(list(store.events())) == 100 * appended_batches


def test_read_log(benchmark: Benchmark, store: EventStore) -> None:
    store.append_many(session_log(LOG_ORDERS))
    read = benchmark.pedantic(lambda: list(store.events()), rounds=5, iterations=1)
    assert len(read) == 6 * LOG_ORDERS


def test_rebuild(benchmark: Benchmark, store: EventStore) -> None:
    store.append_many(session_log(LOG_ORDERS))
    state = benchmark.pedantic(lambda: rebuild(store), rounds=5, iterations=1)
    assert state.event_count == 6 * LOG_ORDERS
    assert state.open_client_order_ids == frozenset()
    assert state.positions == {}
