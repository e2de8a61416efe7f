"""The node's cache: the latest quote, trade, bar and book of every instrument, read by
strategies and engines without touching the venues."""

from __future__ import annotations

from collections.abc import Iterable

from hftcore._core import Instrument, OrderBookL2
from hftcore.errors import InvalidValue
from hftcore.model.data import Bar, Quote, Trade


class Cache:
    """Latest market state per instrument."""

    def __init__(self) -> None:
        self._instruments: dict[str, Instrument] = {}
        self._books: dict[str, OrderBookL2] = {}
        self._quotes: dict[str, Quote] = {}
        self._trades: dict[str, Trade] = {}
        self._bars: dict[str, dict[str, Bar]] = {}
        """Latest bar per instrument, then per bar type."""
        self._latest_bars: dict[str, Bar] = {}
        """Per instrument, its bar (of any type) with the latest ``ts_event``."""

    def add_instrument(self, instrument: Instrument) -> None:
        if instrument.instrument_id in self._instruments:
            raise InvalidValue(
                "DUPLICATE_INSTRUMENT", f"instrument {instrument.instrument_id} already added"
            )
        self._instruments[instrument.instrument_id] = instrument
        self._books[instrument.instrument_id] = OrderBookL2(instrument)

    def instrument(self, instrument_id: str) -> Instrument:
        try:
            return self._instruments[instrument_id]
        except KeyError:
            raise InvalidValue(
                "UNKNOWN_INSTRUMENT", f"unknown instrument {instrument_id!r}"
            ) from None

    def instruments(self) -> list[Instrument]:
        return list(self._instruments.values())

    def has_instrument(self, instrument_id: str) -> bool:
        return instrument_id in self._instruments

    def book(self, instrument_id: str) -> OrderBookL2:
        """The L2 book the data engine maintains for ``instrument_id``."""
        book = self._books.get(instrument_id)
        if book is None:
            raise InvalidValue("UNKNOWN_INSTRUMENT", f"unknown instrument {instrument_id!r}")
        return book

    def quote(self, instrument_id: str) -> Quote | None:
        return self._quotes.get(instrument_id)

    def trade(self, instrument_id: str) -> Trade | None:
        return self._trades.get(instrument_id)

    def bar(self, instrument_id: str, bar_type: str) -> Bar | None:
        bars = self._bars.get(instrument_id)
        return None if bars is None else bars.get(bar_type)

    def last_price(self, instrument_id: str) -> int | None:
        """The freshest price known: last trade, else mid of the last quote, else last close."""
        trade = self._trades.get(instrument_id)
        if trade is not None:
            return trade.price
        quote = self._quotes.get(instrument_id)
        if quote is not None and quote.bid_price and quote.ask_price:
            return (quote.bid_price + quote.ask_price) // 2
        bar = self._latest_bars.get(instrument_id)
        return None if bar is None else bar.close

    def last_prices(self, instrument_ids: Iterable[str]) -> list[int | None]:
        """:meth:`last_price` of each instrument, in one call."""
        if self._trades or self._quotes:
            return [self.last_price(instrument_id) for instrument_id in instrument_ids]
        latest = self._latest_bars.get
        return [None if (bar := latest(i)) is None else bar.close for i in instrument_ids]

    def update_quote(self, quote: Quote) -> None:
        self._quotes[quote.instrument_id] = quote

    def update_trade(self, trade: Trade) -> None:
        self._trades[trade.instrument_id] = trade

    def update_bar(self, bar: Bar) -> None:
        bars = self._bars.get(bar.instrument_id)
        if bars is None:
            bars = self._bars[bar.instrument_id] = {}
        bars[bar.bar_type] = bar
        self._latest_bars[bar.instrument_id] = (
            bar if len(bars) == 1 else max(bars.values(), key=lambda latest: latest.ts_event)
        )
