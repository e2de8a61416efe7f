"""Venue rate limits: a token bucket per venue that queues commands and never drops one.

A :class:`Throttler` allows ``limit`` commands per ``interval_ns`` on average and up to
``burst`` at once (default ``limit``). Time is the node clock's, given with every call, so a
backtest throttles exactly as live did. Tokens refill continuously and exactly: the bucket
holds integer credit where one command costs ``interval_ns`` and every ns adds ``limit``.

Commands leave in the order they were offered, except that cancels (``CancelOrder``,
``CancelAllOrders``) may go first (``prioritize_cancels``, on by default) so a burst of new
orders cannot starve them. A cancel never overtakes an earlier cancel, nor a queued command it
concerns: for ``CancelOrder`` any queued command of the same client order id, for
``CancelAllOrders`` any queued command of the same strategy and instrument. So nothing a cancel
targets is ever sent after it. Nothing is dropped: a queued command leaves only through
:meth:`Throttler.drain` / :meth:`Throttler.offer`, or when the caller withdraws it
(:meth:`Throttler.withdraw`, e.g. the node cancels an order still waiting here).
"""

from __future__ import annotations

from collections import deque

from hftcore.errors import InvalidValue
from hftcore.model.events import (
    CancelAllOrders,
    CancelOrder,
    Command,
    ModifyOrder,
    SubmitOrder,
)

_COMMAND_TYPES = (SubmitOrder, ModifyOrder, CancelOrder, CancelAllOrders)


def _positive_int(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidValue("INVALID_RATE_LIMIT", f"{what} must be a positive int, got {value!r}")
    return value


def _instrument_of(command: Command) -> str:
    return (
        command.order.instrument_id if isinstance(command, SubmitOrder) else command.instrument_id
    )


def _must_follow(cancel: CancelOrder | CancelAllOrders, queued: Command) -> bool:
    """Whether ``cancel`` must stay behind the queued command."""
    if isinstance(queued, (CancelOrder, CancelAllOrders)):
        return True
    if isinstance(cancel, CancelOrder):
        return queued.client_order_id == cancel.client_order_id
    return (
        queued.strategy_id == cancel.strategy_id and _instrument_of(queued) == cancel.instrument_id
    )


class Throttler:
    """One venue's rate limit (see the module docs)."""

    def __init__(
        self,
        limit: int,
        interval_ns: int,
        *,
        burst: int | None = None,
        prioritize_cancels: bool = True,
    ) -> None:
        self._limit = _positive_int(limit, "limit")
        self._cost = _positive_int(interval_ns, "interval_ns")
        capacity = self._limit if burst is None else _positive_int(burst, "burst")
        self._capacity = capacity * self._cost
        if not isinstance(prioritize_cancels, bool):
            raise InvalidValue("INVALID_RATE_LIMIT", "prioritize_cancels must be a bool")
        self._prioritize_cancels = prioritize_cancels
        self._credit = self._capacity
        self._ts: int | None = None
        self._queue: deque[Command] = deque()

    @property
    def queue_length(self) -> int:
        return len(self._queue)

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def queued(self) -> tuple[Command, ...]:
        """The waiting commands, next first."""
        return tuple(self._queue)

    @property
    def available(self) -> int:
        """Whole commands that could leave at once, as of the last call."""
        return self._credit // self._cost

    def next_release_ts(self) -> int | None:
        """When the next queued command can leave (the node sets a timer for it and calls
        :meth:`drain` then), or None if nothing waits."""
        if not self._queue or self._ts is None:
            return None
        missing = self._cost - self._credit
        if missing <= 0:
            return self._ts
        return self._ts + -(-missing // self._limit)

    def offer(self, command: Command, ts: int) -> list[Command]:
        """Queues ``command`` at ``ts`` and returns every command that may leave now, in order
        (earlier queued ones first; the command itself if the bucket allows)."""
        if not isinstance(command, _COMMAND_TYPES):
            raise InvalidValue("INVALID_COMMAND", f"not an order command: {type(command).__name__}")
        self._refill(ts)
        if self._prioritize_cancels and isinstance(command, (CancelOrder, CancelAllOrders)):
            position = 0
            for index, queued in enumerate(self._queue):
                if _must_follow(command, queued):
                    position = index + 1
            self._queue.insert(position, command)
        else:
            self._queue.append(command)
        return self._release()

    def drain(self, ts: int) -> list[Command]:
        """Returns the queued commands that may leave at ``ts``, in order."""
        self._refill(ts)
        return self._release()

    def withdraw(self, client_order_id: str) -> list[Command]:
        """Removes and returns the queued commands of one order (submit, modify, cancel), e.g.
        when the order is canceled before it was sent."""
        taken: list[Command] = [
            c
            for c in self._queue
            if not isinstance(c, CancelAllOrders) and c.client_order_id == client_order_id
        ]
        if taken:
            self._queue = deque(
                c
                for c in self._queue
                if isinstance(c, CancelAllOrders) or c.client_order_id != client_order_id
            )
        return taken

    def _refill(self, ts: int) -> None:
        if not isinstance(ts, int) or isinstance(ts, bool) or ts < 0:
            raise InvalidValue("INVALID_TIMESTAMP", f"ts must be an int >= 0 (ns), got {ts!r}")
        if self._ts is not None:
            if ts < self._ts:
                raise InvalidValue("TIME_WENT_BACKWARDS", f"ts {ts} is before {self._ts}")
            self._credit = min(self._capacity, self._credit + (ts - self._ts) * self._limit)
        self._ts = ts

    def _release(self) -> list[Command]:
        released: list[Command] = []
        while self._queue and self._credit >= self._cost:
            self._credit -= self._cost
            released.append(self._queue.popleft())
        return released
