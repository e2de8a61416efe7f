"""Alpaca's market data stream (alpaca-py's ``StockDataStream`` / ``CryptoDataStream``) as
model events: trades -> :class:`~hftcore.model.data.Trade`, quotes ->
:class:`~hftcore.model.data.Quote`, minute bars -> :class:`~hftcore.model.data.Bar`
(``"1-MINUTE"``, ``ts_event`` the bar's close), handed to a :class:`MarketDataHandler` (the
trading node is one: ``process_quote`` / ``process_trade`` / ``process_bar``).

Each msgpack frame is decoded once, by msgspec, straight into typed messages; a frame that is
not a msgpack array, a message that does not decode, or a value off the instrument's grid is
counted in :attr:`AlpacaMarketData.stats`, logged and skipped, and the rest of the frame still
applies. alpaca-py reconnects (backoff with jitter), re-authenticates and resubscribes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import msgspec

from hftcore._core import Instrument
from hftcore.errors import ConfigError, HftcoreError
from hftcore.model.data import Bar, Quote, Trade
from hftcore.venues.alpaca import _sdk as sdk
from hftcore.venues.alpaca.config import AlpacaConfig, AlpacaCredentials
from hftcore.venues.alpaca.streams import (
    EMPTY_MSGPACK,
    Frame,
    StreamSession,
    TappedCryptoDataStream,
    TappedStockDataStream,
    preview,
    stop_stream,
)
from hftcore.venues.alpaca.wire import (
    CONTROL_TYPES,
    DATA_FRAME_DECODER,
    FRAME_DECODER,
    FRAME_ENCODER,
    MESSAGE_DECODER,
    MESSAGE_TYPE_DECODER,
    MINUTE_NS,
    UNUSED_TYPES,
    MarketMessage,
    WireBar,
    WireQuote,
    WireTrade,
    check_bar,
    timestamp_ns,
)

logger = logging.getLogger(__name__)

BAR_TYPE = "1-MINUTE"
"""Alpaca streams one-minute bars."""
_AGGRESSOR = {"B": 0, "S": 1}


class MarketDataHandler(Protocol):
    """Where decoded market data goes (``hftcore.node.kernel.TradingNode`` fits)."""

    def process_quote(self, quote: Quote) -> None: ...

    def process_trade(self, trade: Trade) -> None: ...

    def process_bar(self, bar: Bar) -> None: ...


class MarketDataStats(msgspec.Struct):
    quotes: int = 0
    trades: int = 0
    bars: int = 0
    malformed: int = 0
    """Frames or messages that could not be decoded or converted (logged and skipped)."""
    ignored: int = 0
    """Messages of channels hftcore does not use, or of symbols not configured."""
    errors: int = 0
    """Error messages from Alpaca (e.g. a subscription the account may not have)."""


class AlpacaMarketData:
    """Streams trades, quotes and minute bars of ``instruments`` to ``handler``."""

    def __init__(
        self,
        config: AlpacaConfig,
        instruments: Sequence[Instrument],
        handler: MarketDataHandler,
        *,
        credentials: AlpacaCredentials | None = None,
        quotes: bool = True,
        trades: bool = True,
        bars: bool = True,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        if not isinstance(config, AlpacaConfig):
            raise ConfigError("INVALID_CONFIG", f"expected an AlpacaConfig, got {config!r}")
        if not instruments or not all(isinstance(item, Instrument) for item in instruments):
            raise ConfigError("INVALID_INSTRUMENTS", "give at least one Instrument")
        for method in ("process_quote", "process_trade", "process_bar"):
            if not callable(getattr(handler, method, None)):
                raise ConfigError("INVALID_HANDLER", f"the market data handler has no {method}")
        if not (quotes or trades or bars):
            raise ConfigError("INVALID_CONFIG", "subscribe to at least one of quotes, trades, bars")
        keys = credentials if credentials is not None else AlpacaCredentials.from_environment()
        self.config = config
        self.handler = handler
        self.stats = MarketDataStats()
        self._clock_ns = clock_ns
        self._instruments: dict[str, Instrument] = {}
        for instrument in instruments:
            symbol = config.symbol_of(instrument.instrument_id)
            if symbol in self._instruments:
                raise ConfigError("DUPLICATE_INSTRUMENT", f"symbol {symbol} is given twice")
            self._instruments[symbol] = instrument
        self.session = StreamSession()
        stream: TappedStockDataStream | TappedCryptoDataStream
        if config.asset_class == "crypto":
            stream = TappedCryptoDataStream(
                keys.key_id, keys.secret_key, raw_data=True, url_override=config.data_stream_url
            )
        else:
            stream = TappedStockDataStream(
                keys.key_id,
                keys.secret_key,
                raw_data=True,
                feed=sdk.DataFeed(config.feed),
                url_override=config.data_stream_url,
            )
        stream.tap(self._consume_frame, self.session, config.reconnect_min_backoff_s)
        symbols = list(self._instruments)
        # alpaca-py subscribes per channel with a handler; ours decode at the socket (see
        # hftcore.venues.alpaca.streams), so these only see what got past the decoder.
        if quotes:
            stream.subscribe_quotes(self._on_unexpected_dispatch, *symbols)
        if trades:
            stream.subscribe_trades(self._on_unexpected_dispatch, *symbols)
        if bars:
            stream.subscribe_bars(self._on_unexpected_dispatch, *symbols)
        self._stream = stream
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is not None:
            raise ConfigError("ALREADY_STARTED", "the market data stream is already started")
        # alpaca-py's public run() owns a loop of its own; its coroutine shares ours.
        self._task = asyncio.create_task(self._stream._run_forever())

    async def wait_ready(self, timeout_s: float = 10.0) -> None:
        """Waits until the stream is authenticated and subscribed."""
        await asyncio.wait_for(self.session.ready.wait(), timeout_s)

    async def stop(self) -> None:
        if self._task is None:
            return
        await stop_stream(self._stream, self._task)
        self._task = None

    # ----- decoding ---------------------------------------------------------------------------

    def _consume_frame(self, frame: Frame) -> Frame:
        if isinstance(frame, str):
            self._malformed(f"text frame {preview(frame)} (the stream is msgpack)")
            return EMPTY_MSGPACK
        now = self._clock_ns()
        try:
            data = DATA_FRAME_DECODER.decode(frame)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return self._consume_mixed_frame(frame, now)
        for message in data:
            self._deliver_checked(message, now)
        return EMPTY_MSGPACK

    def _consume_mixed_frame(self, frame: bytes, now: int) -> Frame:
        """A frame with control messages, other channels or malformed messages: each message
        on its own; control messages go on to alpaca-py."""
        try:
            messages = FRAME_DECODER.decode(frame)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            self._malformed(f"frame {preview(frame)}: {error}")
            return EMPTY_MSGPACK
        control: list[msgspec.Raw] = []
        for raw in messages:
            try:
                message = MESSAGE_DECODER.decode(raw)
            except (msgspec.DecodeError, msgspec.ValidationError) as error:
                self._other_message(raw, control, error)
                continue
            self._deliver_checked(message, now)
        return FRAME_ENCODER.encode(control) if control else EMPTY_MSGPACK

    def _deliver_checked(self, message: MarketMessage, now: int) -> None:
        try:
            self._deliver(message, now)
        except HftcoreError as error:
            self._malformed(f"{type(message).__name__} {message}: {error}")

    def _other_message(
        self, raw: msgspec.Raw, control: list[msgspec.Raw], error: Exception
    ) -> None:
        """A message that is not a trade, quote or bar: control messages go on to alpaca-py,
        unused channels are skipped, the rest is malformed."""
        try:
            kind = MESSAGE_TYPE_DECODER.decode(raw).T
        except (msgspec.DecodeError, msgspec.ValidationError):
            kind = None
        if kind in CONTROL_TYPES:
            if kind == "error":
                self.stats.errors += 1
            elif kind == "subscription":
                self.session.opened()
            control.append(raw)
        elif kind in UNUSED_TYPES:
            self.stats.ignored += 1
        else:
            self._malformed(f"message {bytes(raw)[:200]!r}: {error}")

    def _malformed(self, what: str) -> None:
        self.stats.malformed += 1
        logger.warning("alpaca market data: skipped a malformed %s", what)

    def _deliver(self, message: MarketMessage, now: int) -> None:
        instrument = self._instruments.get(message.S)
        if instrument is None:
            self.stats.ignored += 1
            return
        instrument_id = instrument.instrument_id
        if isinstance(message, WireQuote):
            quote = Quote(
                instrument_id,
                instrument.price_to_ticks(message.bp),
                instrument.quantity_to_lots(message.bs),
                instrument.price_to_ticks(message.ap),
                instrument.quantity_to_lots(message.ask_size),
                timestamp_ns(message.t),
                now,
            )
            self.stats.quotes += 1
            self.handler.process_quote(quote)
        elif isinstance(message, WireTrade):
            trade = Trade(
                instrument_id,
                instrument.price_to_ticks(message.p),
                instrument.quantity_to_lots(message.s),
                _AGGRESSOR.get(message.tks or "", -1),
                str(message.i),
                timestamp_ns(message.t),
                now,
            )
            self.stats.trades += 1
            self.handler.process_trade(trade)
        elif isinstance(message, WireBar):
            bar = Bar(
                instrument_id,
                BAR_TYPE,
                instrument.price_to_ticks(message.o),
                instrument.price_to_ticks(message.h),
                instrument.price_to_ticks(message.l),
                instrument.price_to_ticks(message.c),
                instrument.quantity_to_lots(message.v),
                timestamp_ns(message.t) + MINUTE_NS,
                now,
            )
            check_bar(bar)
            self.stats.bars += 1
            self.handler.process_bar(bar)

    async def _on_unexpected_dispatch(self, message: Any) -> None:
        """alpaca-py's handler: only reached if a data message got past the decoder."""
        self.stats.malformed += 1
        logger.error("alpaca market data: a message bypassed the decoder: %r", message)


__all__ = ["BAR_TYPE", "AlpacaMarketData", "MarketDataHandler", "MarketDataStats"]
