"""Alpaca on a trading node: :func:`attach_alpaca` streams Alpaca's trades, quotes and minute
bars into the node and sends its orders to Alpaca (live mode) or to a simulated venue whose
book is Alpaca's top of book (paper mode). See ``docs/venues-alpaca.md``."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import msgspec

from hftcore._core import Instrument
from hftcore.model.data import Bar, BookDelta, Quote, Trade
from hftcore.venues.alpaca.config import AlpacaConfig, AlpacaCredentials
from hftcore.venues.alpaca.execution import AlpacaVenue
from hftcore.venues.alpaca.market_data import AlpacaMarketData, MarketDataHandler
from hftcore.venues.assembly import Mode, node_listings
from hftcore.venues.base import EventSink, VenueCapabilities
from hftcore.venues.simulated import BookVenueConfig, SimulatedBookVenue

if TYPE_CHECKING:
    from hftcore.node.kernel import TradingNode


class AlpacaPaperVenue(SimulatedBookVenue):
    """The simulated venue of Alpaca paper mode. Alpaca streams no depth, so each instrument's
    book is its latest quote (one level a side) and its prints are Alpaca's trades: a paper
    order fills against the quoted size and queues behind it, as the book venue's model says
    (``docs/simulated-venue.md``). Data is stamped with the time it reaches the venue, never
    earlier than the venue's own time."""

    def __init__(
        self,
        venue: str,
        instruments: Mapping[Instrument, str],
        config: BookVenueConfig | None = None,
        event_sink: EventSink | None = None,
    ) -> None:
        super().__init__(venue, instruments, config, event_sink)
        base = super().capabilities
        self._quote_capabilities = msgspec.structs.replace(
            base, market_data=base.market_data | {"QUOTE", "BAR"}
        )

    @property
    def capabilities(self) -> VenueCapabilities:
        return self._quote_capabilities

    def venue_time(self, instrument_id: str, ts: int) -> int:
        """``ts``, or the venue's time of the instrument if that is later."""
        now = self.now(instrument_id)
        return ts if now is None else max(ts, now)

    def on_quote(self, quote: Quote) -> None:
        """The quote becomes the book: a top level that moved is removed (both sides first,
        so the book never crosses on the way), then the quoted levels are set."""
        instrument_id = quote.instrument_id
        ts = self.venue_time(instrument_id, quote.ts_init)
        quoted = ((0, quote.bid_price, quote.bid_size), (1, quote.ask_price, quote.ask_size))
        changes: list[tuple[int, int, int]] = []
        for side, price, _ in quoted:
            top = self.best_bid(instrument_id) if side == 0 else self.best_ask(instrument_id)
            if top is not None and top[0] != price:
                changes.append((side, top[0], 0))
        changes.extend((side, price, size) for side, price, size in quoted if price > 0)
        for sequence, (side, price, quantity) in enumerate(changes):
            self.on_book_delta(BookDelta(instrument_id, side, price, quantity, sequence, ts, ts))

    def on_bar(self, bar: Bar) -> None:
        """A bar says nothing about the book paper orders rest in: fills come from quotes and
        trades."""


class AlpacaNodeFeed:
    """Alpaca's market data into the node (``process_quote`` / ``process_trade`` /
    ``process_bar``, as a backtest feeds it); in paper mode the simulated venue gets each
    quote and trade first, so what a strategy does in reaction meets the book it saw."""

    def __init__(self, node: TradingNode, paper_venue: AlpacaPaperVenue | None) -> None:
        self.node = node
        self.paper_venue = paper_venue

    def process_quote(self, quote: Quote) -> None:
        if self.paper_venue is not None:
            self.paper_venue.on_quote(quote)
        self.node.process_quote(quote)

    def process_trade(self, trade: Trade) -> None:
        venue = self.paper_venue
        if venue is not None:
            ts = venue.venue_time(trade.instrument_id, trade.ts_init)
            venue.on_trade(msgspec.structs.replace(trade, ts_event=ts))
        self.node.process_trade(trade)

    def process_bar(self, bar: Bar) -> None:
        self.node.process_bar(bar)


@dataclass(slots=True)
class AlpacaAdapter:
    """Alpaca attached to a node: the market data stream and the venue orders go to."""

    mode: Mode
    market_data: AlpacaMarketData
    venue: AlpacaVenue | AlpacaPaperVenue
    _starting: asyncio.Future[None] | None = field(default=None)

    def start(self) -> None:
        """Starts the streams in the running event loop (they connect and reconnect by
        themselves)."""
        self._starting = asyncio.ensure_future(self._start())

    async def _start(self) -> None:
        await self.market_data.start()
        if isinstance(self.venue, AlpacaVenue):
            await self.venue.start()

    async def stop(self) -> None:
        """Answers the REST calls in flight, then closes the streams."""
        if self._starting is not None:
            await self._starting
            self._starting = None
        await self.market_data.stop()
        if isinstance(self.venue, AlpacaVenue):
            await self.venue.stop()

    async def wait_ready(self) -> None:
        """Waits until orders can go out and their updates come back: the trading stream is
        listening (live; paper orders need nothing)."""
        if isinstance(self.venue, AlpacaVenue):
            await self.venue.session.ready.wait()

    def on_clock_tick(self, ts: int) -> None:
        """Paper: the simulated venue moves to ``ts`` (orders in flight arrive in a quiet
        market). Live: nothing."""
        if isinstance(self.venue, AlpacaPaperVenue):
            self.venue.advance_to(ts)

    def counters(self) -> dict[str, int]:
        counts = msgspec.structs.asdict(self.market_data.stats)
        if isinstance(self.venue, AlpacaVenue):
            stats = msgspec.structs.asdict(self.venue.stats)
            counts.update({f"orders_{name}": value for name, value in stats.items()})
        return counts


def attach_alpaca(
    node: TradingNode,
    config: AlpacaConfig,
    instrument_ids: Sequence[str],
    *,
    mode: Mode,
    venue: str = "ALPACA",
    paper_venue: BookVenueConfig | None = None,
    environ: Mapping[str, str] | None = None,
) -> AlpacaAdapter:
    """Adds Alpaca to ``node`` for ``instrument_ids`` (configured in the node). Market data
    (trades, quotes, minute bars) goes to the node in both modes, with keys from
    ``APCA_API_KEY_ID`` / ``APCA_API_SECRET_KEY`` (Alpaca's data needs them); orders go to
    Alpaca in ``"live"`` mode (its paper or live account, per ``config.paper``) and to an
    :class:`AlpacaPaperVenue` in ``"paper"`` mode. Call ``start()`` in the event loop."""
    listings = node_listings(node, instrument_ids)
    credentials = AlpacaCredentials.from_environment(environ)
    client: AlpacaVenue | AlpacaPaperVenue
    if mode == "live":
        client = AlpacaVenue(config, listings, credentials=credentials, venue=venue)
        handler: MarketDataHandler = AlpacaNodeFeed(node, None)
    else:
        client = AlpacaPaperVenue(venue, listings, paper_venue)
        handler = AlpacaNodeFeed(node, client)
    node.add_venue(venue, client)
    market_data = AlpacaMarketData(config, list(listings), handler, credentials=credentials)
    return AlpacaAdapter(mode, market_data, client)


__all__ = ["AlpacaAdapter", "AlpacaNodeFeed", "AlpacaPaperVenue", "attach_alpaca"]
