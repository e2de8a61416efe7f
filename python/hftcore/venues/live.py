"""What every live venue adapter shares: reconnection with exponential backoff and jitter, a
token-bucket rate limiter that queues (never drops), counters of what a feed saw and skipped,
exact wire-number conversion, the market-data handler protocol, the bridge that feeds a node
(and, in paper mode, its simulated venue) and a WebSocket session that stays connected.

See ``docs/venues-binance-kraken.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

import msgspec

from hftcore._core import Instrument, OrderBookL2
from hftcore.errors import ConfigError, HftcoreError, InvalidValue
from hftcore.model.data import BookDelta, Quote, Trade
from hftcore.node.heap import DEFERRING_NODES
from hftcore.venues.assembly import Mode, node_listings
from hftcore.venues.base import ClientOrder, EventSink, VenueClient
from hftcore.venues.simulated import BookVenueConfig, SimulatedBookVenue

if TYPE_CHECKING:
    from hftcore.node.kernel import TradingNode

LIVE_EXTRA_HINT = "the live venue adapters need websockets and aiohttp: pip install 'hftcore[live]'"
try:
    from websockets.asyncio.client import ClientConnection, connect
    from websockets.exceptions import WebSocketException
    from websockets.protocol import State
except ImportError as missing:
    raise ImportError(LIVE_EXTRA_HINT) from missing

logger = logging.getLogger(__name__)

LevelChange = tuple[int, int, int]
"""``(side, price ticks, quantity lots)``: the quantity now at a price (0: level gone)."""


# ----- configuration -------------------------------------------------------------------------


class ReconnectPolicy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Delays between reconnection attempts: ``initial_delay_s * multiplier ** n`` capped at
    ``max_delay_s``, of which a random fraction up to ``jitter`` is taken away, so that many
    clients dropped at once do not all come back at the same instant."""

    initial_delay_s: float = 0.5
    max_delay_s: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.initial_delay_s <= self.max_delay_s:
            raise ConfigError(
                "INVALID_CONFIG", "reconnect: need 0 < initial_delay_s <= max_delay_s"
            )
        if self.multiplier < 1:
            raise ConfigError("INVALID_CONFIG", "reconnect.multiplier must be >= 1")
        if not 0 <= self.jitter <= 1:
            raise ConfigError("INVALID_CONFIG", "reconnect.jitter must be in [0, 1]")


class RateLimit(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``rate`` units per second on average with bursts of up to ``burst`` units (a unit is a
    request, or request weight where the venue counts weight)."""

    rate: float
    burst: float

    def __post_init__(self) -> None:
        if not (self.rate > 0 and self.burst >= 1):
            raise ConfigError("INVALID_CONFIG", "rate limit: need rate > 0 and burst >= 1")


VenueConfig = TypeVar("VenueConfig", bound=msgspec.Struct)


def parse_venue_config(
    raw: Mapping[str, object], config_type: type[VenueConfig], source: str = "<config>"
) -> VenueConfig:
    """A venue adapter's config from a mapping (a TOML table such as ``[venues.binance]``);
    a wrong or unknown field raises ``ConfigError`` ``INVALID_CONFIG`` naming it."""
    try:
        return msgspec.convert(raw, config_type, strict=False)
    except msgspec.ValidationError as error:
        raise ConfigError("INVALID_CONFIG", f"{source}: {error}") from None


def secret_from_env(name: str, environ: Mapping[str, str] | None = None) -> str:
    """A key or secret from the environment (never from a config file); ``ConfigError``
    ``MISSING_CREDENTIALS`` naming the variable when it is unset or empty."""
    value = (os.environ if environ is None else environ).get(name, "")
    if not value:
        raise ConfigError("MISSING_CREDENTIALS", f"environment variable {name} is not set")
    return value


class VenueRequestError(HftcoreError):
    """A venue answered a request with an error (``code`` ``HTTP_<status>``, or the venue's own
    code) or could not be reached (``UNREACHABLE``); ``venue_code`` is the venue's error number
    or text when it gave one."""

    def __init__(self, code: str, message: str, venue_code: int | str | None = None) -> None:
        super().__init__(code, message)
        self.venue_code = venue_code


# ----- backoff and rate limits ---------------------------------------------------------------


class Backoff:
    """Reconnection delays per :class:`ReconnectPolicy`; :meth:`reset` after a connection that
    worked. ``rng`` makes the jitter reproducible in tests."""

    def __init__(self, policy: ReconnectPolicy, rng: random.Random | None = None) -> None:
        self.policy = policy
        self._rng = rng if rng is not None else random.Random()
        self.attempt = 0

    def next_delay(self) -> float:
        policy = self.policy
        ceiling = min(policy.max_delay_s, policy.initial_delay_s * policy.multiplier**self.attempt)
        self.attempt += 1
        return ceiling * (1.0 - policy.jitter * self._rng.random())

    def reset(self) -> None:
        self.attempt = 0


class TokenBucket:
    """A token bucket: :meth:`acquire` waits until the units are available, callers served in
    the order they asked (requests are queued, never dropped)."""

    def __init__(
        self,
        limit: RateLimit,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(limit.burst)
        self._stamp = clock()
        self._turn = asyncio.Lock()
        self._queued = 0
        self.waits = 0
        """How many acquisitions had to wait."""

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(
            float(self.limit.burst), self._tokens + (now - self._stamp) * self.limit.rate
        )
        self._stamp = now

    def available(self) -> float:
        self._refill()
        return self._tokens

    def _check_units(self, units: float) -> None:
        if not 0 < units <= self.limit.burst:
            raise InvalidValue(
                "INVALID_RATE_UNITS", f"units must be in (0, {self.limit.burst}], got {units}"
            )

    async def acquire(self, units: float = 1.0) -> None:
        self._check_units(units)
        self._queued += 1
        try:
            async with self._turn:  # asyncio.Lock wakes waiters first come, first served
                self._refill()
                if self._tokens < units:
                    self.waits += 1
                    await self._sleep((units - self._tokens) / self.limit.rate)
                    self._refill()
                self._tokens -= units
        finally:
            self._queued -= 1

    def try_acquire(self, units: float = 1.0) -> bool:
        """Takes ``units`` at once if they are available and nobody is waiting for tokens
        (who asked first is served first); False, and nothing taken, otherwise."""
        self._check_units(units)
        if self._queued:
            return False
        self._refill()
        if self._tokens < units:
            return False
        self._tokens -= units
        return True


# ----- counters ------------------------------------------------------------------------------


@dataclass(slots=True)
class FeedCounters:
    """What a venue connection saw. Nothing here is ever silently dropped: every skipped
    message is in ``malformed``, ``unexpected`` or ``stale`` and in the log."""

    frames: int = 0
    malformed: int = 0
    """Frames that could not be decoded, or whose values are off the instrument's grid."""
    unexpected: int = 0
    """Well-formed messages of a kind or for a symbol we did not ask for."""
    stale: int = 0
    """Book updates older than the book (already contained in it), ignored."""
    gaps: int = 0
    """Missing book updates detected."""
    checksum_mismatches: int = 0
    resyncs: int = 0
    """Book resynchronisations started (gap, checksum mismatch, reconnection)."""
    connects: int = 0
    disconnects: int = 0


# ----- wire numbers --------------------------------------------------------------------------

_CACHE_LIMIT = 65_536
_JSON_DECIMAL = msgspec.json.Decoder(Decimal)

WireNumber = str | Decimal | bytes
"""A decimal as a venue sent it: text, a ``Decimal``, or the bytes of a JSON number (or of a
JSON string holding one)."""


def _convert(convert: Callable[[str | Decimal], int], value: WireNumber) -> int:
    """``convert`` of a :data:`WireNumber`. A JSON number's text is a decimal the core reads
    as it is; JSON bytes the core cannot read are decoded as a ``Decimal`` first (a JSON
    string holding a number)."""
    if not isinstance(value, bytes):
        return convert(value)
    try:
        return convert(value.decode())
    except InvalidValue as error:
        if error.code != "NOT_A_NUMBER":
            raise
    try:
        exact = _JSON_DECIMAL.decode(value)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise InvalidValue("NOT_A_NUMBER", f"not a number: {value!r}") from None
    return convert(exact)


class WireNumbers:
    """Exact ticks and lots of one instrument from a venue's decimals (:data:`WireNumber`).

    Conversions are memoised: a book's prices repeat, and a dict hit is several times cheaper
    than parsing. Off-grid, negative or non-numeric values raise ``InvalidValue``."""

    __slots__ = ("_prices", "_quantities", "instrument")

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self._prices: dict[WireNumber, int] = {}
        self._quantities: dict[WireNumber, int] = {}

    def price(self, value: WireNumber) -> int:
        ticks = self._prices.get(value)
        if ticks is None:
            ticks = _convert(self.instrument.price_to_ticks, value)
            if len(self._prices) >= _CACHE_LIMIT:
                self._prices.clear()
            self._prices[value] = ticks
        return ticks

    def quantity(self, value: WireNumber) -> int:
        """Lots; zero is allowed (a level removed)."""
        lots = self._quantities.get(value)
        if lots is None:
            lots = _convert(self._lots, value)
            if len(self._quantities) >= _CACHE_LIMIT:
                self._quantities.clear()
            self._quantities[value] = lots
        return lots

    def _lots(self, value: str | Decimal) -> int:
        try:
            return self.instrument.quantity_to_lots(value)
        except InvalidValue as error:
            if error.code != "NON_POSITIVE_QUANTITY":
                raise
            try:
                zero = Decimal(value) == 0
            except InvalidOperation:
                zero = False
            if not zero:
                raise
            return 0

    def levels(
        self, bids: Sequence[tuple[str, str]], asks: Sequence[tuple[str, str]] = ()
    ) -> list[LevelChange]:
        """``(side, ticks, lots)`` for ``[price text, quantity text]`` pairs of bids then
        asks."""
        # The hot path of every depth update: cache hits inline, no call per value.
        prices, quantities = self._prices, self._quantities
        changes: list[LevelChange] = []
        append = changes.append
        for side, levels in ((0, bids), (1, asks)):
            for price_text, quantity_text in levels:
                ticks = prices.get(price_text)
                if ticks is None:
                    ticks = self.price(price_text)
                lots = quantities.get(quantity_text)
                if lots is None:
                    lots = self.quantity(quantity_text)
                append((side, ticks, lots))
        return changes


def book_diff(
    book: OrderBookL2, side: int, new_levels: Sequence[tuple[int, int]]
) -> list[LevelChange]:
    """The changes that turn ``book``'s ``side`` into ``new_levels``: removals of the levels
    that are gone, then every level whose quantity differs."""
    old = dict(book.levels(side))
    new = dict(new_levels)
    changes: list[LevelChange] = [(side, price, 0) for price in old if price not in new]
    changes.extend((side, price, qty) for price, qty in new.items() if old.get(price) != qty)
    return changes


# ----- market data consumers -----------------------------------------------------------------


class MarketDataHandler(Protocol):
    """Receives what a live feed decoded. ``on_book`` comes after the book was changed (for a
    snapshot: after it was replaced; ``changes`` then takes the old book to the new one).
    ``changes`` may be iterated more than once; a feed may build its tuples only when it is."""

    def on_book(
        self, instrument_id: str, changes: Iterable[LevelChange], ts_event: int, ts_init: int
    ) -> None: ...

    def on_book_invalid(self, instrument_id: str, reason: str) -> None:
        """The book is being resynchronised and must not be trusted until the next
        ``on_book``."""

    def on_quote(self, quote: Quote) -> None: ...

    def on_trade(self, trade: Trade) -> None: ...


class BookVenueFeed(Protocol):
    """The part of a simulated venue a paper bridge feeds (``SimulatedBookVenue``)."""

    def on_book_delta(self, delta: BookDelta) -> None: ...

    def on_trade(self, trade: Trade) -> None: ...


class NodeMarketData:
    """Feeds a :class:`~hftcore.node.kernel.TradingNode` from a live feed whose books are the
    node's cache books: quotes and trades go through ``process_quote`` / ``process_trade``; a
    changed book marks prices in the execution engine, becomes the cache's quote when its top
    changed (``top()``: 0 for an empty side) and publishes ``data.book.{id}``.

    In paper mode ``paper_venue`` (a simulated book venue) gets every book change and trade
    first, so paper orders rest in and trade against the live book.

    The node (and the paper venue) see data at the local time it was received, kept
    non-decreasing: a depth update buffered while a snapshot was fetched is applied after the
    snapshot though received before it, and neither the emulator nor the venue goes back in
    time."""

    def __init__(self, node: TradingNode, paper_venue: BookVenueFeed | None = None) -> None:
        self.node = node
        self.paper_venue = paper_venue
        self._ts = 0
        self._tops: dict[str, tuple[int, int, int, int]] = {}
        self.valid: dict[str, bool] = {}

    def _time(self, ts: int) -> int:
        self._ts = max(self._ts, ts)
        return self._ts

    def mark_venue_time(self, ts: int) -> None:
        """The paper venue's time was moved to ``ts`` (a clock tick without data): what is fed
        later is stamped no earlier."""
        self._time(ts)

    def on_book(
        self, instrument_id: str, changes: Iterable[LevelChange], ts_event: int, ts_init: int
    ) -> None:
        self.valid[instrument_id] = True
        ts = self._time(ts_init)
        venue = self.paper_venue
        if venue is not None:
            for sequence, (side, price, quantity) in enumerate(changes):
                venue.on_book_delta(
                    BookDelta(instrument_id, side, price, quantity, sequence, ts, ts)
                )
        node = self.node
        book = node.cache.book(instrument_id)
        top = book.top()
        if top != self._tops.get(instrument_id):
            # The book's top is the instrument's quote: the cache's reference price (market
            # orders are checked against it) follows the book, not only the venue's ticker.
            self._tops[instrument_id] = top
            node.cache.update_quote(Quote(instrument_id, *top, ts_event, ts))
        bid_price, _, ask_price, _ = top
        node.execution.on_price(instrument_id, bid_price or None, ask_price or None, None, ts)
        node.bus.publish(f"data.book.{instrument_id}", instrument_id)

    def on_book_invalid(self, instrument_id: str, reason: str) -> None:
        self.valid[instrument_id] = False
        logger.warning("%s: book invalid until resynchronised (%s)", instrument_id, reason)

    def on_quote(self, quote: Quote) -> None:
        ts = self._time(quote.ts_init)
        if ts != quote.ts_init:
            quote = msgspec.structs.replace(quote, ts_init=ts)
        self.node.process_quote(quote)

    def on_trade(self, trade: Trade) -> None:
        ts = self._time(trade.ts_init)
        if self.paper_venue is not None:
            self.paper_venue.on_trade(msgspec.structs.replace(trade, ts_event=ts))
        if ts != trade.ts_init:
            trade = msgspec.structs.replace(trade, ts_init=ts)
        self.node.process_trade(trade)


# ----- a WebSocket that stays connected ------------------------------------------------------

Frame = str | bytes


class WebSocketSession(ABC):
    """Keeps one WebSocket to a venue open: connects, lets the subclass subscribe
    (:meth:`on_connected`), hands it every frame (:meth:`on_frame`, with the local receive
    time) and, when the connection drops or goes silent for ``idle_timeout_s``, waits per the
    backoff and connects again. Protocol-level ping/pong is the ``websockets`` library's
    (``ping_interval_s``; a missing pong closes the connection, which reconnects)."""

    def __init__(
        self,
        name: str,
        reconnect: ReconnectPolicy,
        *,
        counters: FeedCounters | None = None,
        ping_interval_s: float | None = 20.0,
        ping_timeout_s: float | None = 20.0,
        idle_timeout_s: float | None = None,
        rng: random.Random | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.name = name
        self.backoff = Backoff(reconnect, rng)
        self.counters = counters if counters is not None else FeedCounters()
        self.ping_interval_s = ping_interval_s
        self.ping_timeout_s = ping_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self.clock_ns = clock_ns
        self._connection: ClientConnection | None = None
        self._last_frame_at = 0.0
        self._stop = asyncio.Event()
        self.connected = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()

    @abstractmethod
    async def url(self) -> str:
        """Where to connect (asked again on every attempt)."""

    @abstractmethod
    async def on_connected(self) -> None:
        """Subscribes on a fresh connection and starts resynchronisation."""

    @abstractmethod
    def on_frame(self, frame: Frame, ts_init: int) -> None:
        """One frame; must count, log and skip what it cannot use, never raise for it."""

    @abstractmethod
    async def on_disconnected(self) -> None:
        """The connection is gone (books must be marked invalid)."""

    async def send(self, message: bytes) -> None:
        """Sends a text frame on the current connection (``ConfigError`` ``NOT_CONNECTED``
        without one)."""
        connection = self._connection
        if connection is None:
            raise ConfigError("NOT_CONNECTED", f"{self.name}: not connected")
        await connection.send(message, text=True)  # JSON bytes as a text frame, no decode

    def can_send_now(self) -> bool:
        """Whether :meth:`send_now` can write a frame: connected, the connection open, its
        write buffer under the high-water mark and no fragmented message being sent (when
        ``websockets``' own ``send`` would not wait either)."""
        connection = self._connection
        return (
            connection is not None
            and connection.state is State.OPEN
            and not connection.paused
            and connection.send_in_progress is None
            and not connection.transport.is_closing()
        )

    def send_now(self, message: bytes) -> None:
        """Writes a text frame to the socket without yielding to the event loop, which an
        order sent from inside a strategy's callback would otherwise wait for (the rest of the
        callback and a turn of the loop). Only when :meth:`can_send_now` (``ConfigError``
        ``NOT_CONNECTED`` otherwise). Does what ``websockets`` 17's ``send`` does on that path:
        frame the message, write what the protocol has to send."""
        connection = self._connection
        if connection is None or not self.can_send_now():
            raise ConfigError("NOT_CONNECTED", f"{self.name}: cannot send at once")
        connection.protocol.send_text(message)
        connection.send_data()

    async def close_connection(self) -> None:
        """Drops the current connection (it reconnects)."""
        connection = self._connection
        if connection is not None:
            await connection.close()

    async def stop(self) -> None:
        """Closes the connection, ends :meth:`run` and cancels the background tasks."""
        self._stop.set()
        await self.close_connection()
        self.cancel_background()

    def spawn(self, job: Coroutine[Any, Any, None]) -> None:
        """Runs ``job`` in the background (snapshot requests, pings, keep-alives) until it
        ends or :meth:`cancel_background`."""
        task = asyncio.ensure_future(job)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def cancel_background(self) -> None:
        for task in list(self._background):
            task.cancel()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    async def run(self) -> None:
        """Runs until :meth:`stop`."""
        while not self._stop.is_set():
            try:
                async with connect(
                    await self.url(),
                    ping_interval=self.ping_interval_s,
                    ping_timeout=self.ping_timeout_s,
                    max_size=2**24,
                    open_timeout=10,
                    # no permessage-deflate: compressing and inflating every frame costs
                    # more time than the bytes it saves take on the wire
                    compression=None,
                ) as connection:
                    self._connection = connection
                    self.counters.connects += 1
                    logger.info("%s: connected", self.name)
                    await self.on_connected()
                    self.connected.set()
                    self.backoff.reset()
                    await self._receive(connection)
            except (WebSocketException, OSError, TimeoutError, VenueRequestError) as error:
                logger.warning("%s: connection lost: %r", self.name, error)
            finally:
                if self._connection is not None:
                    self.counters.disconnects += 1
                self._connection = None
                self.connected.clear()
                await self.on_disconnected()
            if self._stop.is_set():
                break
            delay = self.backoff.next_delay()
            logger.info("%s: reconnecting in %.3f s", self.name, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=delay)

    async def _receive(self, connection: ClientConnection) -> None:
        idle = self.idle_timeout_s
        loop = asyncio.get_running_loop()
        self._last_frame_at = loop.time()
        # one watchdog per connection, not a timer per frame (that costs every frame)
        watchdog = None if idle is None else asyncio.ensure_future(self._watch(connection, idle))
        try:
            while not self._stop.is_set():
                # decode=False: frames stay bytes (msgspec checks UTF-8 as it decodes)
                frame = await connection.recv(decode=False)
                self._last_frame_at = loop.time()
                self.counters.frames += 1
                if DEFERRING_NODES and gc.isenabled():
                    gc.disable()  # see DeferringNodes: no collection inside a tick's path
                    try:
                        self.on_frame(frame, self.clock_ns())
                    finally:
                        gc.enable()
                else:
                    self.on_frame(frame, self.clock_ns())
        finally:
            if watchdog is not None:
                watchdog.cancel()

    async def _watch(self, connection: ClientConnection, idle: float) -> None:
        """Closes the connection (which reconnects) once no frame came for ``idle`` s."""
        loop = asyncio.get_running_loop()
        while (silent := loop.time() - self._last_frame_at) < idle:
            await asyncio.sleep(idle - silent)
        logger.warning("%s: silent for %s s, reconnecting", self.name, idle)
        await connection.close()


# ----- live order clients --------------------------------------------------------------------

CommandKind = Literal["SUBMIT", "CANCEL", "MODIFY"]


@dataclass(frozen=True, slots=True)
class VenueCommand:
    """A command queued for a live venue: the order and, for a modify, its new terms (None:
    unchanged)."""

    kind: CommandKind
    order: ClientOrder
    quantity: int | None = None
    price: int | None = None
    trigger_price: int | None = None


class LiveVenueClient(VenueClient):
    """Base of the live order clients. Commands go out in the order given (a cancel never
    overtakes its order), beside the venue connection ``session`` that reports what happens to
    them: at once, inside the call that gives them, when nothing is ahead of them and the venue
    takes them now (:meth:`_send_at_once`); otherwise queued and sent by one task. The venue
    keeps its own time: ``advance_to`` and the time check of commands do nothing. Call
    :meth:`start` in the event loop, :meth:`stop` to end."""

    session: WebSocketSession

    def __init__(
        self,
        venue: str,
        instruments: Mapping[Instrument, str],
        event_sink: EventSink | None = None,
        first_venue_order_id: int = 1,
    ) -> None:
        super().__init__(venue, instruments, event_sink, first_venue_order_id)
        self._outbox: asyncio.Queue[VenueCommand] = asyncio.Queue()
        self._processing = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.queued = 0
        """How many commands could not go out at once and waited in the queue."""

    def start(self) -> None:
        for job in (self._send_loop(), self.session.run()):
            task = asyncio.ensure_future(job)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        await self.session.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def drain(self) -> None:
        """Waits until every queued command has been handled (sent; for request/response
        venues, answered)."""
        await self._outbox.join()

    def advance_to(self, ts: int) -> None:
        """Live: the venue keeps its own time; nothing to move."""

    def _check_time(self, instrument_id: str, ts: int) -> None:
        """Live: commands carry the node's clock and the venue its own; any time is accepted."""

    def _send_submit(self, order: ClientOrder, ts: int) -> None:
        self._enqueue(VenueCommand("SUBMIT", order))

    def _send_cancel(self, order: ClientOrder, ts: int) -> None:
        self._enqueue(VenueCommand("CANCEL", order))

    def _enqueue(self, command: VenueCommand) -> None:
        """Sends ``command`` at once if no command is queued or being sent and the venue takes
        it now; else queues it behind the others."""
        if not self._processing and self._outbox.empty() and self._send_at_once(command):
            return
        self.queued += 1
        self._outbox.put_nowait(command)

    def _send_at_once(self, command: VenueCommand) -> bool:
        """Sends ``command`` without waiting for anything (a rate token, the connection, an
        answer) and returns True; or returns False, having sent nothing and emitted no event,
        and the send loop will :meth:`_process` it. By default every command is queued."""
        return False

    async def _send_loop(self) -> None:
        while True:
            command = await self._outbox.get()
            self._processing = True
            try:
                await self._process(command)
            except Exception:  # one failed command must not stop the ones queued after it
                logger.exception("%s: %s of %s failed", self.venue, command.kind, command.order)
            finally:
                self._processing = False
                self._outbox.task_done()

    @abstractmethod
    async def _process(self, command: VenueCommand) -> None:
        """Sends one command to the venue (waiting for whatever it needs)."""


# ----- an adapter attached to a node ---------------------------------------------------------


@dataclass(slots=True)
class LiveAdapter:
    """A venue adapter attached to a node: its market data ``feed`` (a WebSocket session
    feeding ``handler``) and the ``venue`` client the node sends orders to (the venue's own in
    live mode, a simulated book venue fed by the live data in paper mode)."""

    mode: Mode
    feed: WebSocketSession
    handler: NodeMarketData
    venue: LiveVenueClient | SimulatedBookVenue
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        """Starts the feed (and, live, the order client) in the running event loop."""
        self._tasks.append(asyncio.ensure_future(self.feed.run()))
        if isinstance(self.venue, LiveVenueClient):
            self.venue.start()

    async def stop(self) -> None:
        """Stops the feed and the order client; re-raises what ended the feed, if anything
        did other than the stop."""
        await self.feed.stop()
        if isinstance(self.venue, LiveVenueClient):
            await self.venue.stop()
        outcomes = await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                raise outcome

    def counters(self) -> dict[str, int]:
        """What the market data feed saw (:class:`FeedCounters`)."""
        return asdict(self.feed.counters)

    def on_clock_tick(self, ts: int) -> None:
        """Paper: the simulated venue moves to ``ts`` (orders in flight arrive in a quiet
        market), and what the feed gives it later is stamped no earlier. Live: nothing."""
        if isinstance(self.venue, SimulatedBookVenue):
            self.handler.mark_venue_time(ts)
            self.venue.advance_to(ts)

    async def wait_ready(self) -> None:
        """Waits until orders can go out: the order connection is up (live; paper orders
        need none)."""
        if isinstance(self.venue, LiveVenueClient):
            await self.venue.session.connected.wait()


def attach_adapter(
    node: TradingNode,
    mode: Mode,
    instrument_ids: Sequence[str],
    *,
    venue: str,
    live_client: Callable[[dict[Instrument, str]], LiveVenueClient],
    feed: Callable[[list[Instrument], NodeMarketData, dict[str, OrderBookL2]], WebSocketSession],
    paper_venue: BookVenueConfig | None = None,
) -> LiveAdapter:
    """Adds a venue to ``node`` for ``instrument_ids`` (configured in the node): the feed
    (made by ``feed`` from the instruments, the node bridge and the node's cache books) keeps
    the node's books; orders go to ``live_client`` (live) or to a
    :class:`~hftcore.venues.simulated.SimulatedBookVenue` fed by the live data (paper)."""
    listings = node_listings(node, instrument_ids)
    client: LiveVenueClient | SimulatedBookVenue
    if mode == "live":
        client = live_client(listings)
        handler = NodeMarketData(node)
    else:
        client = SimulatedBookVenue(venue, listings, paper_venue)
        handler = NodeMarketData(node, paper_venue=client)
    node.add_venue(venue, client)
    books = {instrument_id: node.cache.book(instrument_id) for instrument_id in instrument_ids}
    return LiveAdapter(mode, feed(list(listings), handler, books), handler, client)


__all__ = [
    "Backoff",
    "BookVenueFeed",
    "FeedCounters",
    "LevelChange",
    "LiveAdapter",
    "LiveVenueClient",
    "MarketDataHandler",
    "Mode",
    "NodeMarketData",
    "RateLimit",
    "ReconnectPolicy",
    "TokenBucket",
    "VenueCommand",
    "VenueRequestError",
    "WebSocketSession",
    "WireNumber",
    "WireNumbers",
    "attach_adapter",
    "book_diff",
    "node_listings",
    "parse_venue_config",
    "secret_from_env",
]
