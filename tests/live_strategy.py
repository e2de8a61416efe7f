"""Strategies for the ``hftcore live`` tests, loaded by file path from their configs."""

from __future__ import annotations

import msgspec
from hftcore.model.data import Quote, Trade
from hftcore.node.strategy import Strategy


class BuyOnceParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    instrument_id: str
    quantity: int = 1
    limit_price: int | None = None
    """Ticks: a limit order at this price; None: a market order."""
    send: bool = True
    """False: only watch (a restarted session that must not add an order)."""
    after_trade: bool = False
    """True: buy on the first trade print instead (it must have reached the strategy)."""


class BuyOnce(Strategy):
    """Buys ``quantity`` lots once, on the first book or quote with an ask (the risk gate
    needs a price to check an order against) or on the first trade, then only watches."""

    Params = BuyOnceParams

    def __init__(self, strategy_id: str, params: dict[str, object] | None = None) -> None:
        super().__init__(strategy_id, params)
        self.sent = not self.params.send

    def on_start(self) -> None:
        instrument_id = self.params.instrument_id
        self.subscribe_book(instrument_id)
        self.subscribe_quotes(instrument_id)
        self.subscribe_trades(instrument_id)
        # Data that came before the start is in the cache.
        quote = self.cache.quote(instrument_id)
        if quote is not None and quote.ask_size > 0 and not self.params.after_trade:
            self._buy()

    def on_book(self, instrument_id: str) -> None:
        if self.cache.book(instrument_id).best_ask() is not None and not self.params.after_trade:
            self._buy()

    def on_quote(self, quote: Quote) -> None:
        if quote.ask_size > 0 and not self.params.after_trade:
            self._buy()

    def on_trade(self, trade: Trade) -> None:
        if self.params.after_trade:
            self._buy()

    def _buy(self) -> None:
        if self.sent:
            return
        self.sent = True
        params = self.params
        if params.limit_price is None:
            self.submit_order(self.market(params.instrument_id, 0, params.quantity))
        else:
            self.submit_order(
                self.limit(params.instrument_id, 0, params.quantity, params.limit_price)
            )
