"""Helpers of the FIX tests: a free TCP port, waiting for a condition."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Polls ``predicate`` until it holds; fails the test after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)
