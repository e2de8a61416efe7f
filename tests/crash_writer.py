"""Appends order events to an event store in a loop and prints every acknowledged one; the crash
test kills it with SIGKILL at an arbitrary point and checks what the store kept.

Usage: ``python crash_writer.py STORE_URL SCHEMA RUN_LABEL``. Prints ``ready N`` (the first
order number it will use) once the store is open and rebuilt, then one line per event, ``ack SEQ
KIND CLIENT_ORDER_ID``, flushed only after the append that stored it returned. Like a node, it
takes its next client order id from the stored counter and from every id the log has used, so a
restart never reuses one; each order's submit, initialized and submitted events go in one
transaction with the counter.
"""

from __future__ import annotations

import sys
import time

from hftcore.errors import StoreError
from hftcore.model.events import (
    OrderAccepted,
    OrderFilled,
    OrderInitialized,
    OrderSpec,
    OrderSubmitted,
    SubmitOrder,
)
from hftcore.store import Appended, EventStore, StorableEvent, open_event_store, rebuild

INSTRUMENT = "CRASH.SIM"
ID_PREFIX = "C-"
LOCK_WAIT_SECONDS = 20.0


def open_store(url: str, schema: str) -> EventStore:
    # After a kill -9 the server may take a moment to end the dead session holding the lock.
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            return open_event_store(url, schema=schema)
        except StoreError as error:
            if error.code != "STORE_LOCKED" or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def acknowledge(results: list[Appended], events: list[StorableEvent]) -> None:
    for result, event in zip(results, events, strict=True):
        if result.duplicate:
            raise SystemExit(f"unexpected duplicate at seq {result.seq}: {event!r}")
        cid = getattr(event, "client_order_id", "-")
        sys.stdout.write(f"ack {result.seq} {type(event).__name__} {cid}\n")
    sys.stdout.flush()


def main() -> None:
    url, schema, run = sys.argv[1:4]
    store = open_store(url, schema)
    state = rebuild(store)
    used = [int(cid.removeprefix(ID_PREFIX)) for cid in state.used_client_order_ids]
    counter = store.get_meta("next_order_number", 1)
    assert isinstance(counter, int)
    number = max(counter, max(used, default=0) + 1)
    print(f"ready {number}", flush=True)
    strategy = f"S-{run}"
    while True:
        cid = f"{ID_PREFIX}{number:07d}"
        now = time.time_ns()
        spec = OrderSpec(INSTRUMENT, number % 2, 1, 10, price=1_000 + number % 7)
        opening: list[StorableEvent] = [
            SubmitOrder(strategy, cid, spec, now),
            OrderInitialized(strategy, INSTRUMENT, cid, spec, now, now),
            OrderSubmitted(strategy, INSTRUMENT, cid, now, now),
        ]
        acknowledge(store.append_many(opening, meta={"next_order_number": number + 1}), opening)
        accepted = OrderAccepted(strategy, INSTRUMENT, cid, f"V{number}", now, now)
        acknowledge([store.append(accepted)], [accepted])
        for part, quantity in enumerate((4, 6)):
            fill = OrderFilled(
                strategy, INSTRUMENT, cid, f"V{number}", f"T{number}-{part}", spec.side,
                spec.price or 0, quantity, "MAKER", -quantity, "USD", now, time.time_ns(),
            )  # fmt: skip
            acknowledge([store.append(fill)], [fill])
        number += 1


if __name__ == "__main__":
    main()
