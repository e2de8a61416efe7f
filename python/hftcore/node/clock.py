"""Clocks: one interface, two implementations.

``SimulatedClock`` is advanced by data timestamps (backtests): timers and alerts fire, in time
order, as the clock passes them. ``LiveClock`` reads the wall clock (ns since the epoch, UTC) and
fires timers from the asyncio loop. Strategies only ever see the :class:`Clock` interface, so
the same code runs in backtest, paper and live.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from hftcore.errors import InvalidValue


@dataclass(frozen=True, slots=True)
class TimeEvent:
    """A timer or alert firing: its name, when it was due, and when it was delivered."""

    name: str
    ts_event: int
    ts_init: int


TimerCallback = Callable[[TimeEvent], None]


@dataclass(order=True, slots=True)
class _Scheduled:
    due_ns: int
    order: int
    name: str = field(compare=False)
    interval_ns: int = field(compare=False)
    stop_ns: int | None = field(compare=False)
    callback: TimerCallback = field(compare=False)
    generation: int = field(compare=False)


class Clock(ABC):
    """Time and timers as strategies and engines see them."""

    def __init__(self) -> None:
        self._generations: dict[str, int] = {}
        self._order = itertools.count()

    @abstractmethod
    def timestamp_ns(self) -> int:
        """Now, in ns since the Unix epoch (UTC)."""

    def timer_names(self) -> list[str]:
        """Names of the timers and alerts still pending."""
        return sorted(self._generations)

    def set_time_alert(self, name: str, alert_ns: int, callback: TimerCallback) -> None:
        """Calls ``callback`` once when the clock reaches ``alert_ns``."""
        self._validate_name(name)
        self._schedule(name, alert_ns, 0, None, callback)

    def set_timer(
        self,
        name: str,
        interval_ns: int,
        callback: TimerCallback,
        start_ns: int | None = None,
        stop_ns: int | None = None,
    ) -> None:
        """Calls ``callback`` every ``interval_ns`` from ``start_ns`` (default: now) until
        ``stop_ns`` (inclusive; default: until canceled)."""
        self._validate_name(name)
        if interval_ns <= 0:
            raise InvalidValue("INVALID_INTERVAL", f"timer {name!r}: interval must be > 0 ns")
        start = self.timestamp_ns() if start_ns is None else start_ns
        if stop_ns is not None and stop_ns < start:
            raise InvalidValue("INVALID_INTERVAL", f"timer {name!r}: stop is before start")
        self._schedule(name, start + interval_ns, interval_ns, stop_ns, callback)

    def cancel_timer(self, name: str) -> None:
        """Cancels a pending timer or alert; unknown names raise ``InvalidValue``."""
        if name not in self._generations:
            raise InvalidValue("UNKNOWN_TIMER", f"no timer or alert named {name!r}")
        del self._generations[name]
        self._on_cancel(name)

    def _validate_name(self, name: str) -> None:
        if not name:
            raise InvalidValue("INVALID_TIMER_NAME", "timer names must not be empty")
        if name in self._generations:
            raise InvalidValue("DUPLICATE_TIMER", f"a timer named {name!r} is already set")

    def _schedule(
        self,
        name: str,
        due_ns: int,
        interval_ns: int,
        stop_ns: int | None,
        callback: TimerCallback,
    ) -> None:
        generation = next(self._order)
        self._generations[name] = generation
        entry = _Scheduled(due_ns, generation, name, interval_ns, stop_ns, callback, generation)
        self._on_schedule(entry)

    def _is_current(self, entry: _Scheduled) -> bool:
        return self._generations.get(entry.name) == entry.generation

    def _next_of(self, entry: _Scheduled) -> _Scheduled | None:
        """The following firing of a repeating timer, or None when it is done."""
        if entry.interval_ns == 0:
            return None
        due = entry.due_ns + entry.interval_ns
        if entry.stop_ns is not None and due > entry.stop_ns:
            return None
        return _Scheduled(
            due,
            next(self._order),
            entry.name,
            entry.interval_ns,
            entry.stop_ns,
            entry.callback,
            entry.generation,
        )

    @abstractmethod
    def _on_schedule(self, entry: _Scheduled) -> None: ...

    @abstractmethod
    def _on_cancel(self, name: str) -> None:
        """Releases whatever the clock holds for a canceled timer."""


class SimulatedClock(Clock):
    """A clock that only moves when told to: backtests advance it to each data timestamp."""

    def __init__(self, start_ns: int = 0) -> None:
        super().__init__()
        self._now = start_ns
        self._heap: list[_Scheduled] = []

    def timestamp_ns(self) -> int:
        return self._now

    def _on_schedule(self, entry: _Scheduled) -> None:
        heapq.heappush(self._heap, entry)

    def _on_cancel(self, name: str) -> None:
        """Canceled entries stay in the heap; their stale generation skips them when popped."""

    def next_due_ns(self) -> int | None:
        """When the next pending timer or alert fires, or None."""
        while self._heap and not self._is_current(self._heap[0]):
            heapq.heappop(self._heap)
        return self._heap[0].due_ns if self._heap else None

    def advance_to(self, ts_ns: int) -> int:
        """Moves time forward to ``ts_ns``, firing every timer due on the way in time order
        (the clock reads each timer's due time while its callback runs). Returns how many
        fired. Moving backwards raises ``InvalidValue``."""
        if ts_ns < self._now:
            raise InvalidValue(
                "TIME_WENT_BACKWARDS", f"clock is at {self._now} ns, cannot go back to {ts_ns}"
            )
        fired = 0
        while self._heap and self._heap[0].due_ns <= ts_ns:
            entry = heapq.heappop(self._heap)
            if not self._is_current(entry):
                continue
            self._now = entry.due_ns
            following = self._next_of(entry)
            if following is None:
                del self._generations[entry.name]
            else:
                heapq.heappush(self._heap, following)
            entry.callback(TimeEvent(entry.name, entry.due_ns, self._now))
            fired += 1
        self._now = ts_ns
        return fired


class LiveClock(Clock):
    """Wall-clock time; timers fire from the running asyncio loop.

    While :meth:`held_at` holds it, the clock reads the time of the event being handled: what a
    strategy does in reaction to a data event is stamped with that event's time, as on a
    simulated clock, so a paper session and a backtest of the same data decide and fill alike.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__()
        self._loop = loop
        self._handles: dict[str, asyncio.TimerHandle] = {}
        self._held: int | None = None

    def timestamp_ns(self) -> int:
        return self._held if self._held is not None else time.time_ns()

    @contextlib.contextmanager
    def held_at(self, ts: int) -> Iterator[None]:
        """Reads ``ts`` inside the ``with`` block (no later than the wall clock)."""
        if isinstance(ts, bool) or not isinstance(ts, int) or ts > time.time_ns():
            raise InvalidValue("INVALID_TIMESTAMP", f"hold the clock at a past ns time, not {ts!r}")
        if self._held is not None:
            raise InvalidValue("CLOCK_HELD", "the live clock is already held")
        self._held = ts
        try:
            yield
        finally:
            self._held = None

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def _on_schedule(self, entry: _Scheduled) -> None:
        loop = self._event_loop()
        delay_s = max(0, entry.due_ns - self.timestamp_ns()) / 1e9
        self._handles[entry.name] = loop.call_later(delay_s, self._fire, entry)

    def _fire(self, entry: _Scheduled) -> None:
        if not self._is_current(entry):
            return
        following = self._next_of(entry)
        if following is None:
            del self._generations[entry.name]
            self._handles.pop(entry.name, None)
        else:
            self._on_schedule(following)
        entry.callback(TimeEvent(entry.name, entry.due_ns, self.timestamp_ns()))

    def _on_cancel(self, name: str) -> None:
        handle = self._handles.pop(name, None)
        if handle is not None:
            handle.cancel()
