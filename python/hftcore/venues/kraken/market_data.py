"""Kraken WebSocket v2 market data: the ``book`` channel verified by its CRC32 checksum on
every message, the ``trade`` channel, heartbeats and Kraken's ping, over one connection that
reconnects, resubscribes and resynchronises by itself.

Book maintenance follows Kraken's "Book checksum (WebSocket v2)" guide (:class:`KrakenBook`):
a snapshot replaces the book; an update sets each level's quantity (0 removes it), then the
book is truncated to the subscribed depth (Kraken sends no removal for a level pushed out of
range); then the checksum is computed over the top 10 asks (low to high) then the top 10 bids
(high to low), each level as its price and quantity text with the ``.`` removed and leading
zeros stripped (by the core, ``kraken_book_checksum``), and compared with the message's. On a
mismatch the message's changes are taken back (the book returns to the last verified state),
the book is marked invalid and the symbol is resubscribed for a fresh snapshot. Malformed or
unexpected frames are counted, logged and skipped.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

from hftcore._core import Instrument, OrderBookL2, kraken_book_checksum
from hftcore.errors import ConfigError, InvalidValue
from hftcore.model.data import Trade
from hftcore.venues.kraken.config import KrakenConfig
from hftcore.venues.kraken.wire import (
    BOOK_DATA,
    ENCODER,
    MESSAGE,
    TRADE_DATA,
    BookData,
    BookLevel,
    TradeData,
)
from hftcore.venues.live import (
    FeedCounters,
    Frame,
    LevelChange,
    MarketDataHandler,
    TokenBucket,
    WebSocketSession,
    WireNumbers,
    book_diff,
)

logger = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def timestamp_ns(moment: datetime) -> int:
    """Exact ns since the epoch of an aware datetime (microsecond resolution)."""
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


SyncState = Literal["SYNCING", "LIVE"]


class KrakenBook:
    """One symbol's book per Kraken's guide (see the module docs). No I/O: ``on_snapshot``
    and ``on_update`` return False when the book needs a resubscription."""

    def __init__(
        self,
        instrument_id: str,
        numbers: WireNumbers,
        book: OrderBookL2,
        handler: MarketDataHandler,
        *,
        counters: FeedCounters,
        depth: int,
    ) -> None:
        self.instrument_id = instrument_id
        self.numbers = numbers
        self.book = book
        self.handler = handler
        self.counters = counters
        self.depth = depth
        self.state: SyncState = "SYNCING"

    def invalidate(self, reason: str) -> None:
        if self.state == "LIVE":
            self.handler.on_book_invalid(self.instrument_id, reason)
        self.state = "SYNCING"

    def _levels(self, side: int, levels: Sequence[BookLevel]) -> list[LevelChange]:
        price, quantity = self.numbers.price, self.numbers.quantity
        return [(side, price(bytes(level.price)), quantity(bytes(level.qty))) for level in levels]

    def on_snapshot(self, data: BookData, ts_init: int) -> bool:
        """Replaces the book if the snapshot's checksum holds; off-grid values raise
        ``InvalidValue`` and change nothing."""
        bids = [(p, q) for _, p, q in self._levels(0, data.bids) if q]
        asks = [(p, q) for _, p, q in self._levels(1, data.asks) if q]
        candidate = OrderBookL2(self.numbers.instrument)
        candidate.apply_snapshot(bids, asks)
        if kraken_book_checksum(candidate) != data.checksum:
            self.counters.checksum_mismatches += 1
            logger.warning("%s: snapshot checksum mismatch", self.instrument_id)
            self.invalidate("checksum mismatch")
            return False
        changes = book_diff(self.book, 0, bids) + book_diff(self.book, 1, asks)
        self.book.apply_snapshot(bids, asks)
        self.state = "LIVE"
        self.handler.on_book(self.instrument_id, changes, ts_init, ts_init)
        return True

    def on_update(self, data: BookData, ts_init: int) -> bool:
        """Applies an update whole, truncates, verifies. Off-grid values raise
        ``InvalidValue`` before anything changes."""
        if self.state != "LIVE":
            self.counters.stale += 1  # in flight before our resubscription took effect
            return True
        changes = self._levels(0, data.bids) + self._levels(1, data.asks)
        book = self.book
        undo: list[LevelChange] = []
        for side, price, quantity in changes:
            undo.append((side, price, book.quantity_at(side, price)))
            book.apply_delta(side, price, quantity)
        changes += self._truncate(undo)
        if kraken_book_checksum(book) != data.checksum:
            for side, price, quantity in reversed(undo):
                book.apply_delta(side, price, quantity)
            self.counters.checksum_mismatches += 1
            logger.warning(
                "%s: checksum mismatch (expected %d); resubscribing",
                self.instrument_id,
                data.checksum,
            )
            self.invalidate("checksum mismatch")
            return False
        ts_event = timestamp_ns(data.timestamp) if data.timestamp is not None else ts_init
        self.handler.on_book(self.instrument_id, changes, ts_event, ts_init)
        return True

    def _truncate(self, undo: list[LevelChange]) -> list[LevelChange]:
        """Removes the levels beyond the subscribed depth (noting them in ``undo``)."""
        removed: list[LevelChange] = []
        book = self.book
        for side, count in enumerate(book.level_counts()):
            if count > self.depth:
                for price, quantity in book.levels(side)[self.depth :]:
                    undo.append((side, price, quantity))
                    book.apply_delta(side, price, 0)
                    removed.append((side, price, 0))
        return removed


class KrakenMarketData(WebSocketSession):
    """Book (verified) and trades of several symbols over one v2 connection. ``books`` (e.g.
    a node's cache books) are the books kept; by default new ones."""

    def __init__(
        self,
        config: KrakenConfig,
        instruments: Sequence[Instrument],
        handler: MarketDataHandler,
        *,
        books: Mapping[str, OrderBookL2] | None = None,
        rng: random.Random | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        if not isinstance(config, KrakenConfig):
            raise ConfigError("INVALID_CONFIG", "config must be a KrakenConfig")
        super().__init__(
            "kraken market data",
            config.reconnect,
            ping_interval_s=config.ping_interval_s,
            ping_timeout_s=config.ping_timeout_s,
            idle_timeout_s=config.idle_timeout_s,
            rng=rng,
            clock_ns=clock_ns,
        )
        self.config = config
        self.handler = handler
        self.outgoing = TokenBucket(config.messages)
        self.books: dict[str, KrakenBook] = {}
        self._by_symbol: dict[str, KrakenBook] = {}
        self._trade_numbers: dict[str, tuple[str, WireNumbers]] = {}
        self._request_ids = itertools.count(1)
        self._pings_unanswered = 0
        self.pongs = 0
        for instrument in instruments:
            instrument_id = instrument.instrument_id
            if instrument_id in self.books:
                raise ConfigError("DUPLICATE_INSTRUMENT", f"{instrument_id} given twice")
            symbol = config.symbol(instrument_id)
            numbers = WireNumbers(instrument)
            book = books[instrument_id] if books is not None else OrderBookL2(instrument)
            state = KrakenBook(
                instrument_id, numbers, book, handler, counters=self.counters, depth=config.depth
            )
            self.books[instrument_id] = state
            self._by_symbol[symbol] = state
            self._trade_numbers[symbol] = (instrument_id, numbers)
        if not self.books:
            raise ConfigError("INVALID_CONFIG", "Kraken market data needs an instrument")

    def book(self, instrument_id: str) -> OrderBookL2:
        return self._state(instrument_id).book

    def is_live(self, instrument_id: str) -> bool:
        return self._state(instrument_id).state == "LIVE"

    def _state(self, instrument_id: str) -> KrakenBook:
        state = self.books.get(instrument_id)
        if state is None:
            raise InvalidValue("UNKNOWN_INSTRUMENT", f"{instrument_id} is not subscribed")
        return state

    # ----- connection -------------------------------------------------------------------------

    async def url(self) -> str:
        return self.config.ws_url

    async def request(self, method: str, params: dict[str, Any] | None = None) -> int:
        """Sends ``{"method", "params", "req_id"}`` after a token of the message bucket."""
        await self.outgoing.acquire()
        request_id = next(self._request_ids)
        message: dict[str, Any] = {"method": method, "req_id": request_id}
        if params is not None:
            message["params"] = params
        await self.send(ENCODER.encode(message))
        return request_id

    async def on_connected(self) -> None:
        symbols = list(self._by_symbol)
        await self.request(
            "subscribe", {"channel": "book", "symbol": symbols, "depth": self.config.depth}
        )
        if self.config.trades:
            await self.request(
                "subscribe", {"channel": "trade", "symbol": symbols, "snapshot": False}
            )
        self._pings_unanswered = 0
        self.spawn(self._ping_loop())

    async def on_disconnected(self) -> None:
        for state in self.books.values():
            state.invalidate("disconnected")
        self.cancel_background()  # the ping loop and resubscriptions of that connection

    async def _ping_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.app_ping_interval_s)
            if self._pings_unanswered:
                logger.warning("kraken: no pong to our ping; reconnecting")
                await self.close_connection()
                return
            self._pings_unanswered += 1
            await self.request("ping")

    async def resubscribe(self, state: KrakenBook) -> None:
        """A fresh snapshot of one symbol: unsubscribe, then subscribe again."""
        self.counters.resyncs += 1
        symbol = self.config.symbol(state.instrument_id)
        params = {"channel": "book", "symbol": [symbol], "depth": self.config.depth}
        await self.request("unsubscribe", params)
        await self.request("subscribe", params)

    # ----- frames -----------------------------------------------------------------------------

    def on_frame(self, frame: Frame, ts_init: int) -> None:
        try:
            message = MESSAGE.decode(frame)
            if message.channel == "book":
                self._on_book(message.type, BOOK_DATA.decode(message.data), ts_init)
            elif message.channel == "trade":
                self._on_trades(TRADE_DATA.decode(message.data), ts_init)
            elif message.channel in ("heartbeat", "status"):
                return
            elif message.method:
                self._on_response(message.method, message.success, message.error)
            else:
                self.counters.unexpected += 1
                logger.warning("kraken: unexpected frame skipped: %.200r", frame)
        except (msgspec.DecodeError, msgspec.ValidationError, InvalidValue) as error:
            self.counters.malformed += 1
            logger.warning("kraken: malformed frame skipped (%s): %.200r", error, frame)

    def _on_book(self, kind: str, entries: list[BookData], ts_init: int) -> None:
        for data in entries:
            state = self._by_symbol.get(data.symbol)
            if state is None:
                self.counters.unexpected += 1
                logger.warning("kraken: book of unsubscribed %s skipped", data.symbol)
                continue
            if kind == "snapshot":
                verified = state.on_snapshot(data, ts_init)
            elif kind == "update":
                verified = state.on_update(data, ts_init)
            else:
                self.counters.unexpected += 1
                continue
            if not verified:
                self.spawn(self.resubscribe(state))

    def _on_trades(self, entries: list[TradeData], ts_init: int) -> None:
        trades = []
        for data in entries:  # all converted before any is given out
            known = self._trade_numbers.get(data.symbol)
            if known is None:
                self.counters.unexpected += 1
                continue
            instrument_id, numbers = known
            size = numbers.quantity(data.qty)
            if size <= 0 or data.side not in ("buy", "sell"):
                raise InvalidValue("INVALID_TRADE", f"trade {data.trade_id} of {data.symbol}")
            trades.append(
                Trade(
                    instrument_id,
                    numbers.price(data.price),
                    size,
                    0 if data.side == "buy" else 1,
                    str(data.trade_id),
                    timestamp_ns(data.timestamp),
                    ts_init,
                )
            )
        for trade in trades:
            self.handler.on_trade(trade)

    def _on_response(self, method: str, success: bool, error: str) -> None:
        if method == "pong":
            self._pings_unanswered = 0
            self.pongs += 1
        elif not success:
            self.counters.unexpected += 1
            logger.warning("kraken: %s failed: %s", method, error)


__all__ = ["KrakenBook", "KrakenMarketData", "timestamp_ns"]
