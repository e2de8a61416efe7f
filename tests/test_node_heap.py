"""The node's garbage-collection policy (``[node] gc``): a paper or live node freezes the heap
while it runs, a backtest leaves the collector alone, and several nodes share the freeze."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
from hftcore.errors import ConfigError, InvalidValue
from hftcore.node import kernel
from hftcore.node.config import parse_config
from hftcore.node.heap import FrozenHeap
from hftcore.node.kernel import TradingNode


@pytest.fixture(autouse=True)
def fresh_heap(monkeypatch: pytest.MonkeyPatch) -> Iterator[FrozenHeap]:
    """Nodes of other tests may have left the process heap frozen (a node never stopped):
    each test starts unfrozen, with a heap no other node holds."""
    gc.unfreeze()
    heap = FrozenHeap()
    monkeypatch.setattr(kernel, "FROZEN_HEAP", heap)
    yield heap
    gc.unfreeze()


def node(**section: Any) -> TradingNode:
    return TradingNode(parse_config({"node": section}, environ={}))


class Cycle:
    """Garbage only the cyclic collector frees."""

    def __init__(self) -> None:
        self.me = self


@pytest.mark.parametrize("mode", ["paper", "live"])
def test_paper_and_live_nodes_run_on_a_frozen_heap(mode: str) -> None:
    built_before_start = Cycle()
    trading = node(mode=mode)
    trading.start()
    assert gc.get_freeze_count() > 0
    assert not any(tracked is built_before_start for tracked in gc.get_objects())  # not scanned
    # What is created while the node runs is still collected.
    garbage = Cycle()
    collected = weakref.ref(garbage)
    del garbage
    gc.collect()
    assert collected() is None
    trading.stop()
    assert gc.get_freeze_count() == 0
    assert any(tracked is built_before_start for tracked in gc.get_objects())


def test_a_backtest_leaves_the_collector_as_it_is() -> None:
    trading = node()
    trading.start()
    assert gc.get_freeze_count() == 0
    trading.stop()


@pytest.mark.parametrize(
    ("section", "frozen"),
    [({"mode": "backtest", "gc": "freeze"}, True), ({"mode": "paper", "gc": "python"}, False)],
)
def test_the_policy_is_set_in_the_config(section: dict[str, Any], frozen: bool) -> None:
    trading = node(**section)
    trading.start()
    assert (gc.get_freeze_count() > 0) is frozen
    trading.stop()
    assert gc.get_freeze_count() == 0


def test_nodes_share_the_frozen_heap_until_the_last_stops() -> None:
    first, second = node(mode="paper"), node(mode="paper")
    first.start()
    second.start()
    first.stop()
    assert gc.get_freeze_count() > 0
    first.stop()  # a node that does not hold the heap any more releases nothing
    assert gc.get_freeze_count() > 0
    second.stop()
    assert gc.get_freeze_count() == 0


def test_bad_policy_names_the_field_and_a_release_needs_a_hold(fresh_heap: FrozenHeap) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config({"node": {"gc": "off"}}, environ={})
    assert "node.gc" in error.value.message
    with pytest.raises(InvalidValue) as unheld:
        fresh_heap.release()
    assert unheld.value.code == "HEAP_NOT_HELD"
