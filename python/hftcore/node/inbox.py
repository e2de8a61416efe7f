"""The node's inbound queue: commands before market data, so cancels never starve.

Venue adapters and strategies put work into one :class:`PriorityInbox`. Commands (cancels,
risk-reducing orders, operator actions) go to a command lane that is always drained before the
next market-data item is taken, however many data items are waiting. Within a lane, order is
preserved.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Literal

Lane = Literal["command", "data"]


class PriorityInbox:
    """Two FIFO lanes; ``get`` always prefers the command lane."""

    def __init__(self, max_data_items: int = 1_000_000) -> None:
        if max_data_items <= 0:
            raise ValueError("max_data_items must be positive")
        self._commands: deque[Any] = deque()
        self._data: deque[Any] = deque()
        self._max_data_items = max_data_items
        self._ready = asyncio.Event()
        self.dropped_data = 0

    def put_command(self, item: Any) -> None:
        """Queues a command; commands are never dropped."""
        self._commands.append(item)
        self._ready.set()

    def put_data(self, item: Any) -> bool:
        """Queues market data; when the data lane is full the item is refused (counted in
        ``dropped_data``) so a flood cannot exhaust memory. Returns whether it was queued."""
        if len(self._data) >= self._max_data_items:
            self.dropped_data += 1
            return False
        self._data.append(item)
        self._ready.set()
        return True

    def get_nowait(self) -> tuple[Lane, Any] | None:
        if self._commands:
            return "command", self._commands.popleft()
        if self._data:
            return "data", self._data.popleft()
        self._ready.clear()
        return None

    async def get(self) -> tuple[Lane, Any]:
        """Waits for the next item, commands first."""
        while True:
            item = self.get_nowait()
            if item is not None:
                return item
            await self._ready.wait()

    def __len__(self) -> int:
        return len(self._commands) + len(self._data)
