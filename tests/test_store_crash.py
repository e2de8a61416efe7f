"""kill -9 in the middle of a session: every acknowledged event survives, in order, the store is
intact, batches are all or nothing, and the restarted writer reuses no client order id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from hftcore.model.events import SubmitOrder
from hftcore.store import SqliteEventStore
from store_backends import BACKENDS, StoreLocation, store_location

WRITER = Path(__file__).with_name("crash_writer.py")
ACKS_PER_RUN = 240


def run_and_kill(
    location: StoreLocation, label: str, log: Path
) -> tuple[int, list[tuple[int, str, str]]]:
    """Starts the writer, lets it acknowledge ACKS_PER_RUN events, kills it with SIGKILL and
    returns its first order number and every line it acknowledged before dying."""
    with log.open("w") as stderr:
        writer = subprocess.Popen(
            [sys.executable, str(WRITER), location.url, location.schema, label],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        assert writer.stdout is not None
        ready = writer.stdout.readline()
        assert ready.startswith("ready "), log.read_text()
        lines = []
        while len(lines) < ACKS_PER_RUN:
            line = writer.stdout.readline()
            assert line, f"writer ended early: {log.read_text()}"
            lines.append(line)
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=30)
        lines.extend(writer.stdout.read().splitlines(keepends=True))  # flushed before it died
        writer.stdout.close()
    assert writer.returncode == -signal.SIGKILL
    acks = []
    for line in lines:
        if not line.endswith("\n"):
            continue  # torn by the kill mid-write: printed, but not a whole acknowledgement
        word, seq, kind, cid = line.split()
        assert word == "ack"
        acks.append((int(seq), kind, cid))
    return int(ready.split()[1]), acks


def check_store(location: StoreLocation, acks: list[tuple[int, str, str]]) -> set[str]:
    """Asserts the acknowledged events are stored as acknowledged and the log is whole; returns
    the client order ids the log holds."""
    store = location.open()
    try:
        if isinstance(store, SqliteEventStore):
            store.check_integrity()
        stored = {s.seq: s.event for s in store.events()}  # decodes every row
        seqs = [seq for seq, _, _ in acks]
        assert seqs == sorted(seqs)
        assert len(set(seqs)) == len(seqs)
        for seq, kind, cid in acks:
            assert seq in stored, f"acknowledged seq {seq} lost"
            assert (type(stored[seq]).__name__, stored[seq].client_order_id) == (kind, cid)
        per_order = Counter(
            (event.client_order_id, type(event).__name__) for event in stored.values()
        )
        submitted = {cid for cid, kind in per_order if kind == "SubmitOrder"}
        for cid in submitted:
            # One transaction: a kill cannot leave part of an order's opening batch.
            for kind in ("SubmitOrder", "OrderInitialized", "OrderSubmitted"):
                assert per_order[(cid, kind)] == 1, (cid, kind)
        assert {cid for cid, _ in per_order} == submitted
        assert store.get_meta("next_order_number") == 1 + max(int(c[2:]) for c in submitted)
        return submitted
    finally:
        store.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_keeps_every_acknowledged_event_and_never_reuses_an_id(
    backend: str, tmp_path: Path
) -> None:
    with store_location(backend, tmp_path) as location:
        first_number, first_acks = run_and_kill(location, "one", tmp_path / "one.log")
        assert first_number == 1
        ids_after_first = check_store(location, first_acks)
        assert {cid for _, kind, cid in first_acks if kind == "SubmitOrder"} <= ids_after_first

        second_number, second_acks = run_and_kill(location, "two", tmp_path / "two.log")
        assert second_number == 1 + max(int(cid[2:]) for cid in ids_after_first)
        ids_after_second = check_store(location, first_acks + second_acks)
        second_ids = {cid for _, _, cid in second_acks}
        assert second_ids.isdisjoint(ids_after_first)
        assert ids_after_first <= ids_after_second
        assert all(int(cid[2:]) >= second_number for cid in ids_after_second - ids_after_first)
        assert min(seq for seq, _, _ in second_acks) > max(seq for seq, _, _ in first_acks)
        with location.open() as store:
            submits = Counter(s.event.client_order_id for s in store.events(kinds=[SubmitOrder]))
        assert set(submits.values()) == {1}
