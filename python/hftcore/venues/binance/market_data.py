"""Binance spot market data: the diff depth stream kept in sync with REST snapshots exactly as
Binance documents it ("How to manage a local order book correctly"), trades and book ticker,
over one combined-stream WebSocket that reconnects and resynchronises by itself.

Synchronisation of one symbol (:class:`DepthSync`):

1. depth updates are buffered from the first one received (the buffer must be continuous:
   each ``U`` equal to the previous ``u + 1``; a break restarts it from the breaking update);
2. then a snapshot is fetched (``GET /api/v3/depth``); if its ``lastUpdateId`` is below the
   first buffered ``U`` it is too old and fetched again;
3. buffered updates with ``u <= lastUpdateId`` are dropped; the first one applied must have
   ``U <= lastUpdateId + 1 <= u``;
4. the book is set to the snapshot, then the remaining buffered updates and every later one
   are applied; each must have ``U`` equal to the previous ``u + 1``. An update with
   ``u`` at or below the book's id is stale and ignored; any other break is a gap: the book is
   marked invalid and everything starts again at 1.

A malformed frame or a value off the instrument's grid is counted, logged and skipped; a depth
update that cannot be applied whole is never applied in part, and (its changes being lost)
restarts the synchronisation.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import msgspec

from hftcore._core import BinanceDepthUpdate, Instrument, OrderBookL2, decode_binance_depth
from hftcore.errors import ConfigError, InvalidValue
from hftcore.model.data import Quote, Trade
from hftcore.venues.binance.config import BinanceConfig, snapshot_weight
from hftcore.venues.binance.rest import BinanceRest
from hftcore.venues.binance.wire import (
    BOOK_TICKER_FRAME,
    DEPTH_SNAPSHOT,
    STREAM_NAME,
    TRADE_FRAME,
    DepthSnapshot,
)
from hftcore.venues.live import (
    FeedCounters,
    Frame,
    LevelChange,
    MarketDataHandler,
    VenueRequestError,
    WebSocketSession,
    WireNumbers,
    book_diff,
)

logger = logging.getLogger(__name__)

MS = 1_000_000
"""Nanoseconds in a millisecond (Binance stamps events in ms)."""
STREAM_PREFIX = b'{"stream":"'
"""How Binance starts every combined-stream frame: the stream name is read off the bytes, so
a frame is decoded once, straight into its Struct."""
Route = Callable[[bytes, int], None]

SyncState = Literal["SYNCING", "LIVE"]
SnapshotOutcome = Literal["APPLIED", "TOO_OLD", "GAP", "NOTHING_BUFFERED"]


class DepthSync:
    """One symbol's local book per Binance's procedure (see the module docs). No I/O: the
    feed gives it updates and snapshots; :attr:`wants_snapshot` says when to fetch one."""

    def __init__(
        self,
        instrument_id: str,
        numbers: WireNumbers,
        book: OrderBookL2,
        handler: MarketDataHandler,
        *,
        counters: FeedCounters,
        max_buffered: int = 10_000,
    ) -> None:
        self.instrument_id = instrument_id
        self.numbers = numbers
        self.book = book
        self.handler = handler
        self.counters = counters
        self.max_buffered = max_buffered
        self.state: SyncState = "SYNCING"
        self.last_update_id = 0
        self.buffer: list[tuple[BinanceDepthUpdate, int]] = []
        self._first_after_snapshot = False
        self.snapshot_in_flight = False

    @property
    def wants_snapshot(self) -> bool:
        """Buffering has started and no snapshot request is out."""
        return self.state == "SYNCING" and bool(self.buffer) and not self.snapshot_in_flight

    def restart(self, reason: str) -> None:
        """Discards the book's synchronisation (not its levels: they stay until the next
        snapshot replaces them) and starts buffering again."""
        if self.state == "LIVE":
            self.handler.on_book_invalid(self.instrument_id, reason)
        self.counters.resyncs += 1
        self.state = "SYNCING"
        self.buffer.clear()
        self._first_after_snapshot = False
        logger.info("%s: resynchronising (%s)", self.instrument_id, reason)

    # ----- updates ------------------------------------------------------------------------------

    def on_update(self, update: BinanceDepthUpdate, ts_init: int) -> bool:
        """Buffers or applies one update; True when a snapshot should be fetched now."""
        if self.state == "SYNCING":
            self._buffer(update, ts_init)
            return self.wants_snapshot
        last = self.last_update_id
        if update.final_update_id <= last:
            self.counters.stale += 1
            return False
        first = update.first_update_id
        contiguous = first <= last + 1 if self._first_after_snapshot else first == last + 1
        if not contiguous:
            self.counters.gaps += 1
            logger.warning(
                "%s: depth gap: book at %d, update %d..%d",
                self.instrument_id,
                last,
                first,
                update.final_update_id,
            )
            self.restart("gap")
            self._buffer(update, ts_init)
            return self.wants_snapshot
        self._apply(update, ts_init)
        return False

    def _buffer(self, update: BinanceDepthUpdate, ts_init: int) -> None:
        buffer = self.buffer
        if buffer:
            previous = buffer[-1][0].final_update_id
            if update.final_update_id <= previous:
                self.counters.stale += 1
                return
            if update.first_update_id != previous + 1:
                self.counters.gaps += 1
                buffer.clear()
            elif len(buffer) >= self.max_buffered:
                logger.warning("%s: depth buffer full, starting again", self.instrument_id)
                self.restart("buffer full")
        buffer.append((update, ts_init))

    def _apply(self, update: BinanceDepthUpdate, ts_init: int) -> bool:
        """Applies a whole update or nothing; a bad value restarts synchronisation."""
        try:
            update.apply_to(self.book)
        except InvalidValue as error:
            self.counters.malformed += 1
            logger.warning(
                "%s: depth update %d..%d skipped: %s",
                self.instrument_id,
                update.first_update_id,
                update.final_update_id,
                error,
            )
            self.restart("malformed update")
            return False
        self.last_update_id = update.final_update_id
        self._first_after_snapshot = False
        self.handler.on_book(self.instrument_id, update, update.event_time_ms * MS, ts_init)
        return True

    # ----- snapshots ----------------------------------------------------------------------------

    def on_snapshot(self, snapshot: DepthSnapshot, ts_init: int) -> SnapshotOutcome:
        """Applies a snapshot fetched while buffering. ``TOO_OLD``: fetch another;
        ``GAP``: buffered updates do not reach it (buffering starts again);
        ``NOTHING_BUFFERED``: a restart emptied the buffer meanwhile. Off-grid values raise
        ``InvalidValue`` and change nothing."""
        if self.state != "SYNCING" or not self.buffer:
            return "NOTHING_BUFFERED"
        last_id = snapshot.last_update_id
        if last_id < self.buffer[0][0].first_update_id:
            return "TOO_OLD"
        pending = [item for item in self.buffer if item[0].final_update_id > last_id]
        if pending and not pending[0][0].first_update_id <= last_id + 1:
            self.counters.gaps += 1
            self.restart("snapshot not reached by buffered updates")
            return "GAP"
        levels = self.numbers.levels(snapshot.bids, snapshot.asks)
        bids = [(price, qty) for side, price, qty in levels if side == 0 and qty]
        asks = [(price, qty) for side, price, qty in levels if side == 1 and qty]
        changes: list[LevelChange] = book_diff(self.book, 0, bids) + book_diff(self.book, 1, asks)
        self.book.apply_snapshot(bids, asks)
        self.buffer.clear()
        self.state = "LIVE"
        self.last_update_id = last_id
        self._first_after_snapshot = True
        self.handler.on_book(self.instrument_id, changes, ts_init, ts_init)
        for update, seen in pending:
            if self.state != "LIVE":
                self._buffer(update, seen)
            elif not self._apply(update, seen):
                continue
        return "APPLIED"


class BinanceMarketData(WebSocketSession):
    """Depth (synchronised), trades and book ticker of several symbols over one combined
    stream. ``books`` (e.g. a node's cache books) are the books kept; by default new ones."""

    def __init__(
        self,
        config: BinanceConfig,
        instruments: Sequence[Instrument],
        handler: MarketDataHandler,
        *,
        books: Mapping[str, OrderBookL2] | None = None,
        rest: BinanceRest | None = None,
        rng: random.Random | None = None,
        clock_ns: Callable[[], int] | None = None,
    ) -> None:
        if not isinstance(config, BinanceConfig):
            raise ConfigError("INVALID_CONFIG", "config must be a BinanceConfig")
        super().__init__(
            "binance market data",
            config.reconnect,
            ping_interval_s=config.ping_interval_s,
            ping_timeout_s=config.ping_timeout_s,
            idle_timeout_s=config.idle_timeout_s,
            rng=rng,
            clock_ns=time.time_ns if clock_ns is None else clock_ns,
        )
        self.config = config
        self.handler = handler
        self.rest = rest or BinanceRest(config.rest_url, config.request_weight, config.orders)
        self.syncs: dict[str, DepthSync] = {}
        self._routes: dict[bytes, Route] = {}
        self._symbols: dict[str, str] = {}
        depth_suffix = "@depth" if config.depth_interval_ms == 1000 else "@depth@100ms"
        for instrument in instruments:
            instrument_id = instrument.instrument_id
            if instrument_id in self.syncs:
                raise ConfigError("DUPLICATE_INSTRUMENT", f"{instrument_id} given twice")
            symbol = config.symbol(instrument_id)
            book = books[instrument_id] if books is not None else OrderBookL2(instrument)
            numbers = WireNumbers(instrument)
            sync = DepthSync(
                instrument_id,
                numbers,
                book,
                handler,
                counters=self.counters,
                max_buffered=config.max_buffered_updates,
            )
            self.syncs[instrument_id] = sync
            self._symbols[instrument_id] = symbol
            stream = symbol.lower()
            self._routes[(stream + depth_suffix).encode()] = self._depth_route(sync, instrument)
            if config.trades:
                self._routes[f"{stream}@trade".encode()] = self._trade_route(instrument_id, numbers)
            if config.book_ticker:
                self._routes[f"{stream}@bookTicker".encode()] = self._ticker_route(
                    instrument_id, numbers
                )
        if not self.syncs:
            raise ConfigError("INVALID_CONFIG", "Binance market data needs an instrument")

    def book(self, instrument_id: str) -> OrderBookL2:
        return self._sync(instrument_id).book

    def is_live(self, instrument_id: str) -> bool:
        """The book is synchronised and being updated."""
        return self._sync(instrument_id).state == "LIVE"

    def _sync(self, instrument_id: str) -> DepthSync:
        sync = self.syncs.get(instrument_id)
        if sync is None:
            raise InvalidValue("UNKNOWN_INSTRUMENT", f"{instrument_id} is not subscribed")
        return sync

    async def url(self) -> str:
        streams = "/".join(stream.decode() for stream in self._routes)
        return f"{self.config.ws_url.rstrip('/')}/stream?streams={streams}"

    async def on_connected(self) -> None:
        for sync in self.syncs.values():
            sync.restart("connected")

    async def on_disconnected(self) -> None:
        for sync in self.syncs.values():
            if sync.state == "LIVE":
                sync.restart("disconnected")

    async def stop(self) -> None:
        await super().stop()
        await self.rest.close()

    # ----- frames -----------------------------------------------------------------------------

    def on_frame(self, frame: Frame, ts_init: int) -> None:
        if isinstance(frame, str):
            frame = frame.encode()
        try:
            if frame.startswith(STREAM_PREFIX):
                stream = frame[11 : frame.find(b'"', 11)]
            else:
                stream = STREAM_NAME.decode(frame).stream.encode()
            route = self._routes.get(stream)
            if route is None:
                self.counters.unexpected += 1
                logger.warning("binance: frame of stream %r skipped", stream)
                return
            route(frame, ts_init)
        except (msgspec.DecodeError, msgspec.ValidationError, InvalidValue, UnicodeError) as error:
            self.counters.malformed += 1
            logger.warning("binance: malformed frame skipped (%s): %.200r", error, frame)

    def _depth_route(self, sync: DepthSync, instrument: Instrument) -> Route:
        on_update = sync.on_update

        def on_depth(frame: bytes, ts_init: int) -> None:
            if on_update(decode_binance_depth(frame, instrument), ts_init):
                self._request_snapshot(sync)

        return on_depth

    def _trade_route(self, instrument_id: str, numbers: WireNumbers) -> Route:
        def on_trade(frame: bytes, ts_init: int) -> None:
            trade = TRADE_FRAME.decode(frame).data
            self.handler.on_trade(
                Trade(
                    instrument_id,
                    numbers.price(trade.price),
                    _positive(numbers.quantity(trade.quantity)),
                    1 if trade.buyer_is_maker else 0,
                    str(trade.trade_id),
                    trade.trade_time * MS,
                    ts_init,
                )
            )

        return on_trade

    def _ticker_route(self, instrument_id: str, numbers: WireNumbers) -> Route:
        def on_ticker(frame: bytes, ts_init: int) -> None:
            ticker = BOOK_TICKER_FRAME.decode(frame).data
            self.handler.on_quote(
                Quote(
                    instrument_id,
                    numbers.price(ticker.bid_price),
                    numbers.quantity(ticker.bid_quantity),
                    numbers.price(ticker.ask_price),
                    numbers.quantity(ticker.ask_quantity),
                    ts_init,
                    ts_init,
                )
            )

        return on_ticker

    # ----- snapshots --------------------------------------------------------------------------

    def _request_snapshot(self, sync: DepthSync) -> None:
        sync.snapshot_in_flight = True  # before the task runs: later frames must not start one
        self.spawn(self._fetch_snapshot(sync))

    async def _fetch_snapshot(self, sync: DepthSync) -> None:
        try:
            while sync.state == "SYNCING" and sync.buffer and not self.stopping:
                outcome = await self._snapshot_once(sync)
                if outcome in ("APPLIED", "NOTHING_BUFFERED"):
                    return
                if outcome == "GAP":
                    continue
                await asyncio.sleep(self.config.snapshot_retry_delay_s)
        finally:
            sync.snapshot_in_flight = False
            if sync.wants_snapshot and not self.stopping:
                self._request_snapshot(sync)

    async def _snapshot_once(self, sync: DepthSync) -> SnapshotOutcome | Literal["FAILED"]:
        limit = self.config.snapshot_limit
        try:
            body = await self.rest.public(
                "/api/v3/depth",
                [("symbol", self._symbols[sync.instrument_id]), ("limit", str(limit))],
                weight=snapshot_weight(limit),
            )
            snapshot = DEPTH_SNAPSHOT.decode(body)
            return sync.on_snapshot(snapshot, self.clock_ns())
        except VenueRequestError as error:
            logger.warning("%s: snapshot request failed: %s", sync.instrument_id, error)
        except (msgspec.DecodeError, msgspec.ValidationError, InvalidValue) as error:
            self.counters.malformed += 1
            logger.warning("%s: malformed snapshot skipped: %s", sync.instrument_id, error)
        return "FAILED"


def _positive(lots: int) -> int:
    if lots <= 0:
        raise InvalidValue("NON_POSITIVE_QUANTITY", "a trade needs a positive quantity")
    return lots


__all__ = ["BinanceMarketData", "DepthSync"]
