"""What the node does about Python's cyclic garbage collector (``[node] gc`` in the config).

CPython frees most objects by reference counting. Its cyclic collector runs on top: a young
collection (generation 0) after every 700 net allocations of container objects, an older one
(generation 1) every tenth of those, and now and then a full collection of every tracked
object. Each is a pause of the thread whose allocation triggered it. Measured during the
tick-to-order benchmark (``bench/RESULTS.md``): about 80 us per young collection, 1-2 ms per
generation 1 collection, and 26-70 ms per full collection, growing with everything the process
loaded before it started trading (modules, config, instruments, data).

``freeze`` collects once when the node starts and then moves every object alive into CPython's
permanent generation (:func:`gc.freeze`): what was built at start is never scanned again, so a
full collection while the node runs scans only what was created since (13 ms instead of 32-70 ms
in that benchmark). Young collections are unchanged. Cyclic garbage is still collected;
objects frozen at start are freed by reference counting as usual, and go back to the collector
when the node stops (:func:`gc.unfreeze`).
"""

from __future__ import annotations

import gc
from typing import Literal

from hftcore.errors import InvalidValue

GcPolicy = Literal["auto", "python", "freeze"]
"""``python``: CPython's collector as it is; ``freeze``: see the module docs; ``auto``:
``freeze`` in paper and live mode, where pauses delay orders, ``python`` in backtests."""


def freezes_heap(policy: GcPolicy, mode: str) -> bool:
    """Whether a node in ``mode`` with this policy freezes the heap when it starts."""
    return policy == "freeze" or (policy == "auto" and mode in ("paper", "live"))


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
