"""What the node does about Python's cyclic garbage collector (``[node] gc`` in the config).

CPython frees most objects by reference counting. Its cyclic collector runs on top: a young
collection (generation 0) when the container objects allocated since the last one outnumber
those freed by 700, an older one (generation 1) every tenth of those, and now and then a full
collection of every tracked object. Each is a pause of the thread whose allocation triggered
it, wherever that thread is. Measured during the tick-to-order benchmark (``bench/RESULTS.md``):
about 80 us per young collection, 1-2 ms per generation 1 collection, and 26-70 ms per full
collection, growing with everything the process loaded before it started trading.

Two measures, chosen by the policy:

- **deferred**: no collection starts while a strategy handles an event (market data, order
  events, fills), i.e. while it decides and its orders travel through the OMS and the risk gate
  to the venue. The collector is paused for the callback; a collection that came due meanwhile
  starts at the first allocation after it. The collections are the same, only no longer inside
  a tick-to-order path. ``on_start`` / ``on_stop`` are not paused (they may run long).
- **frozen**: deferred, and when the node starts it collects once and moves every object alive
  into CPython's permanent generation (:func:`gc.freeze`): what was built before trading is
  never scanned again, so a full collection while the node runs scans only what was created
  since (13 ms instead of 26-70 ms in that benchmark). Objects frozen at start are still freed
  by reference counting, and go back to the collector when the node stops
  (:func:`gc.unfreeze`).
"""

from __future__ import annotations

import gc
from typing import Literal

from hftcore.errors import InvalidValue

GcPolicy = Literal["auto", "python", "deferred", "frozen"]
"""``python``: CPython's collector as it is; ``deferred`` and ``frozen``: see the module docs;
``auto``: ``frozen`` in paper and live mode, where a pause delays orders, ``python`` in
backtests, where only throughput counts (pausing the collector around every strategy callback
costs about 4 % of a daily-bar backtest's time)."""


def effective_policy(policy: GcPolicy, mode: str) -> GcPolicy:
    """The policy a node in ``mode`` follows (``auto`` resolved)."""
    if policy != "auto":
        return policy
    return "frozen" if mode in ("paper", "live") else "python"


def defers_collections(policy: GcPolicy, mode: str) -> bool:
    """Whether no collection may start inside a strategy callback."""
    return effective_policy(policy, mode) != "python"


def freezes_heap(policy: GcPolicy, mode: str) -> bool:
    """Whether the node freezes the heap when it starts."""
    return effective_policy(policy, mode) == "frozen"


class FrozenHeap:
    """The process's frozen heap, shared by the nodes that asked for it: the first to start
    freezes, the last to stop unfreezes (the permanent generation is process-wide)."""

    def __init__(self) -> None:
        self._holders = 0

    def hold(self) -> None:
        if self._holders == 0:
            gc.collect()  # garbage alive now would otherwise stay until the unfreeze
            gc.freeze()
        self._holders += 1

    def release(self) -> None:
        if self._holders == 0:
            raise InvalidValue("HEAP_NOT_HELD", "release without a matching hold")
        self._holders -= 1
        if self._holders == 0:
            gc.unfreeze()


FROZEN_HEAP = FrozenHeap()


class DeferringNodes:
    """How many running nodes defer collections (the collector is process-wide, so is this).
    While one runs, a live feed handles each frame, from decode through the book and the
    strategies to the orders it sends, with the collector paused: no collection starts between
    a tick's arrival and its order's departure, not only inside the strategy callback."""

    def __init__(self) -> None:
        self._holders = 0

    def hold(self) -> None:
        self._holders += 1

    def release(self) -> None:
        if self._holders == 0:
            raise InvalidValue("DEFERRAL_NOT_HELD", "release without a matching hold")
        self._holders -= 1

    def __bool__(self) -> bool:
        return self._holders > 0


DEFERRING_NODES = DeferringNodes()
