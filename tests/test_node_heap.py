"""The node's garbage-collection policy (``[node] gc``): no collection starts inside a strategy
callback; a paper or live node freezes the heap while it runs, several nodes share the freeze."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
from hftcore import MatchingEngine
from hftcore.errors import ConfigError, InvalidValue
from hftcore.model.data import Quote
from hftcore.node import kernel
from hftcore.node.config import parse_config
from hftcore.node.heap import DeferringNodes, FrozenHeap
from hftcore.node.kernel import TradingNode
from hftcore.node.strategy import Strategy
from hftcore.venues import MatchingVenue, live
from hftcore.venues.live import Frame, ReconnectPolicy, WebSocketSession

from tests.execution_helpers import instrument_config


@pytest.fixture(autouse=True)
def fresh_heap(monkeypatch: pytest.MonkeyPatch) -> Iterator[FrozenHeap]:
    """Nodes of other tests may have left the process heap frozen (a node never stopped):
    each test starts unfrozen, with a heap no other node holds."""
    gc.unfreeze()
    heap = FrozenHeap()
    monkeypatch.setattr(kernel, "FROZEN_HEAP", heap)
    yield heap
    gc.unfreeze()


@pytest.fixture(autouse=True)
def deferring_nodes(monkeypatch: pytest.MonkeyPatch) -> DeferringNodes:
    """A count of deferring nodes no node of another test holds, seen by nodes and feeds."""
    nodes = DeferringNodes()
    monkeypatch.setattr(kernel, "DEFERRING_NODES", nodes)
    monkeypatch.setattr(live, "DEFERRING_NODES", nodes)
    return nodes


def node(**section: Any) -> TradingNode:
    return TradingNode(parse_config({"node": section}, environ={}))


def quoted_node(policy: str, strategy: Strategy, mode: str = "backtest") -> TradingNode:
    """A node trading A.SIM on a matching venue, with ``strategy`` on it."""
    config = {"node": {"gc": policy, "mode": mode}, "instruments": [instrument_config("A.SIM")]}
    trading = TradingNode(parse_config(config, environ={}))
    venue = MatchingVenue("SIM", {trading.cache.instrument("A.SIM"): "USD"}, MatchingEngine())
    trading.add_venue("SIM", venue)
    trading.add_strategy(strategy, on_error="stop")
    trading.start()
    return trading


class Cycle:
    """Garbage only the cyclic collector frees."""

    def __init__(self) -> None:
        self.me = self


class Churner(Strategy):
    """Makes far more cyclic garbage per quote than a young collection waits for, and notes
    how many collections started while it handled the quote."""

    handling = False
    collections_inside = 0

    def on_start(self) -> None:
        self.subscribe_quotes("A.SIM")
        self.collector_enabled_at_start = gc.isenabled()

    def watch(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start" and self.handling:
            self.collections_inside += 1

    def on_quote(self, quote: Quote) -> None:
        self.handling = True
        for _ in range(5 * gc.get_threshold()[0]):
            Cycle()
        self.handling = False
        if quote.bid_price == 13:
            raise RuntimeError("a strategy bug")


@pytest.fixture
def churner() -> Iterator[Churner]:
    strategy = Churner("C")
    gc.callbacks.append(strategy.watch)
    yield strategy
    gc.callbacks.remove(strategy.watch)


def collections() -> int:
    return sum(generation["collections"] for generation in gc.get_stats())


@pytest.mark.parametrize(
    ("policy", "mode"),
    [("deferred", "backtest"), ("frozen", "backtest"), ("auto", "paper"), ("auto", "live")],
)
def test_no_collection_starts_while_a_strategy_handles_an_event(
    policy: str, mode: str, churner: Churner
) -> None:
    trading = quoted_node(policy, churner, mode)
    assert churner.collector_enabled_at_start  # on_start may run long: not paused
    before = collections()
    trading.process_quote(Quote("A.SIM", 10_000, 5, 10_002, 5, 1, 1))
    assert churner.collections_inside == 0
    assert gc.isenabled()
    [Cycle() for _ in range(10)]  # the first allocations after the event run what came due
    assert collections() > before
    # A strategy that raises leaves the collector running; one disabled by the user stays so.
    trading.process_quote(Quote("A.SIM", 13, 5, 15, 5, 2, 2))
    assert trading.failure("C") is not None
    assert gc.isenabled()
    trading.stop()


@pytest.mark.parametrize(("policy", "mode"), [("python", "paper"), ("auto", "backtest")])
def test_python_policy_lets_collections_start_anywhere(
    policy: str, mode: str, churner: Churner
) -> None:
    trading = quoted_node(policy, churner, mode)
    trading.process_quote(Quote("A.SIM", 10_000, 5, 10_002, 5, 1, 1))
    assert churner.collections_inside > 0
    trading.stop()


def test_a_collector_disabled_by_the_user_stays_disabled(churner: Churner) -> None:
    trading = quoted_node("deferred", churner)
    gc.disable()
    try:
        trading.process_quote(Quote("A.SIM", 10_000, 5, 10_002, 5, 1, 1))
        assert not gc.isenabled()
    finally:
        gc.enable()
    trading.stop()


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
    [({"mode": "backtest", "gc": "frozen"}, True), ({"mode": "paper", "gc": "deferred"}, False)],
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


def test_bad_policy_names_the_field_and_a_release_needs_a_hold(
    fresh_heap: FrozenHeap, deferring_nodes: DeferringNodes
) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config({"node": {"gc": "off"}}, environ={})
    assert "node.gc" in error.value.message
    with pytest.raises(InvalidValue) as unheld:
        fresh_heap.release()
    assert unheld.value.code == "HEAP_NOT_HELD"
    with pytest.raises(InvalidValue) as undeferred:
        deferring_nodes.release()
    assert undeferred.value.code == "DEFERRAL_NOT_HELD"


class OneFrameFeed(WebSocketSession):
    """Notes whether the collector could run while it handled its one frame."""

    def __init__(self) -> None:
        super().__init__("one frame", ReconnectPolicy(), idle_timeout_s=None)
        self.collector_enabled: list[bool] = []

    async def url(self) -> str:
        return "ws://unused"

    async def on_connected(self) -> None:
        return None

    async def on_disconnected(self) -> None:
        return None

    def on_frame(self, frame: Frame, ts_init: int) -> None:
        self.collector_enabled.append(gc.isenabled())
        self._stop.set()


class OneFrameConnection:
    async def recv(self, decode: bool | None = None) -> bytes:
        return b"{}"


def _collector_during_a_frame() -> tuple[bool, bool]:
    """Whether the collector was on while a feed handled a frame, and after it."""
    feed = OneFrameFeed()
    asyncio.run(feed._receive(OneFrameConnection()))  # type: ignore[arg-type]
    return feed.collector_enabled[0], gc.isenabled()


@pytest.mark.parametrize(
    ("mode", "deferred"), [("live", True), ("paper", True), ("backtest", False)]
)
def test_live_feeds_handle_each_frame_without_collections_while_a_deferring_node_runs(
    deferring_nodes: DeferringNodes, mode: str, deferred: bool
) -> None:
    assert _collector_during_a_frame() == (True, True)  # no node running
    trading = node(mode=mode)
    trading.start()
    assert bool(deferring_nodes) is deferred
    assert _collector_during_a_frame() == (not deferred, True)
    trading.stop()
    assert not deferring_nodes
    assert _collector_during_a_frame() == (True, True)
