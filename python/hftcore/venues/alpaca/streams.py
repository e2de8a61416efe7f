"""alpaca-py's stream clients with hftcore decoding at the socket.

alpaca-py runs each session: connect, authenticate, ``listen`` / ``subscribe``, pings, and
reconnecting with exponential backoff and jitter, then re-authenticating and resubscribing.
hftcore taps the socket below it: every received frame goes first to a decoder of ours
(msgspec, straight into model events), which consumes the data frames and hands alpaca-py
only the control frames it needs for the session (auth replies, acknowledgements, errors). A
consumed frame is replaced by an empty one (``{}`` / an empty msgpack array), so alpaca-py's
loop returns at once and sees a stop request without waiting for its receive timeout.
Malformed frames are counted and logged by the decoder and never reach alpaca-py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from hftcore.venues.alpaca._sdk import CryptoDataStream, StockDataStream, TradingStream

logger = logging.getLogger(__name__)

Frame = bytes | str
FrameConsumer = Callable[[Frame], Frame]
"""Takes a received frame; returns what alpaca-py should see (the frame, or an empty one)."""

EMPTY_JSON: Frame = b"{}"
EMPTY_MSGPACK: Frame = b"\x90"


class _FrameTap:
    """A websocket connection whose ``recv`` passes each frame through a consumer first."""

    def __init__(self, socket: Any, consume: FrameConsumer) -> None:
        self._socket = socket
        self._consume = consume

    async def recv(self) -> Frame:
        frame: Frame = await self._socket.recv()
        return self._consume(frame)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._socket, name)


class StreamSession:
    """What a tapped stream reports: ``connections`` whose subscription the server acknowledged
    (``listening`` / ``subscription``) so far, and ``ready``, set while the current one is
    (cleared when a new connection starts). ``on_open`` is called with the connection count
    each time one is ready (a count above 1 is a reconnect)."""

    def __init__(self, on_open: Callable[[int], None] | None = None) -> None:
        self.connections = 0
        self.ready = asyncio.Event()
        self._on_open = on_open

    def opened(self) -> None:
        self.connections += 1
        self.ready.set()
        if self._on_open is not None:
            self._on_open(self.connections)


class _TapMixin:
    """Puts hftcore's consumer on the socket of an alpaca-py stream client (mixed in before
    ``TradingStream``, ``StockDataStream`` or ``CryptoDataStream``)."""

    _hftcore_consume: FrameConsumer
    _hftcore_session: StreamSession
    _ws: Any
    _data_received: bool
    _reconnect_min_backoff: float

    def tap(
        self, consume: FrameConsumer, session: StreamSession, reconnect_min_backoff_s: float
    ) -> None:
        """Call once, before the stream runs."""
        self._hftcore_consume = consume
        self._hftcore_session = session
        # alpaca-py has no parameter for it: the first reconnect delay, doubled per failure.
        self._reconnect_min_backoff = reconnect_min_backoff_s

    async def _connect(self) -> None:
        self._hftcore_session.ready.clear()
        connect: Callable[[], Awaitable[None]] = super()._connect  # type: ignore[misc]
        await connect()
        self._ws = _FrameTap(self._ws, self._consume_frame)

    def _consume_frame(self, frame: Frame) -> Frame:
        passed = self._hftcore_consume(frame)
        if passed is EMPTY_JSON or passed is EMPTY_MSGPACK:
            # hftcore consumed the frame: it counts as data for alpaca-py's backoff reset.
            self._data_received = True
        return passed


class TappedTradingStream(_TapMixin, TradingStream):
    """alpaca-py's trading stream (``trade_updates``), its frames decoded by hftcore first."""


class TappedStockDataStream(_TapMixin, StockDataStream):
    """alpaca-py's stock market-data stream, its frames decoded by hftcore first."""


class TappedCryptoDataStream(_TapMixin, CryptoDataStream):
    """alpaca-py's crypto market-data stream, its frames decoded by hftcore first."""


async def stop_stream(
    stream: TradingStream | StockDataStream | CryptoDataStream, task: asyncio.Task[None]
) -> None:
    """Stops a stream client running as ``task`` and closes its socket. alpaca-py's own stop
    is only seen when its receive returns (up to 5 s); the task is cancelled instead, which
    also spares the "websocket error, restarting" log a closed socket would cause."""
    await stream.stop_ws()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await stream.close()


def preview(frame: Frame) -> str:
    """The start of a frame, for a log line."""
    return repr(frame[:200])


__all__ = [
    "EMPTY_JSON",
    "EMPTY_MSGPACK",
    "Frame",
    "FrameConsumer",
    "StreamSession",
    "TappedCryptoDataStream",
    "TappedStockDataStream",
    "TappedTradingStream",
    "preview",
    "stop_stream",
]
