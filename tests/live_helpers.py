"""A market-data handler that keeps what it is given, for the live adapter tests."""

from __future__ import annotations

from collections.abc import Iterable

from hftcore.model.data import Quote, Trade
from hftcore.venues.live import LevelChange


class RecordingHandler:
    """Keeps every callback's arguments."""

    def __init__(self) -> None:
        self.book_updates: list[tuple[str, list[LevelChange], int, int]] = []
        self.invalidations: list[tuple[str, str]] = []
        self.quotes: list[Quote] = []
        self.trades: list[Trade] = []

    def on_book(
        self, instrument_id: str, changes: Iterable[LevelChange], ts_event: int, ts_init: int
    ) -> None:
        self.book_updates.append((instrument_id, list(changes), ts_event, ts_init))

    def on_book_invalid(self, instrument_id: str, reason: str) -> None:
        self.invalidations.append((instrument_id, reason))

    def on_quote(self, quote: Quote) -> None:
        self.quotes.append(quote)

    def on_trade(self, trade: Trade) -> None:
        self.trades.append(trade)
