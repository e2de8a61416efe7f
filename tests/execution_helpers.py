"""A node on matching-engine venues where the test plays the rest of the market: it rests and
takes other participants' orders in the engine and feeds the node the matching quotes and prints."""

from __future__ import annotations

import itertools
from typing import Any

from hftcore import MatchingEngine
from hftcore.model.data import Quote, Trade
from hftcore.model.events import OrderFilled
from hftcore.node.config import parse_config
from hftcore.node.kernel import TradingNode
from hftcore.venues import MatchingVenue

BUY, SELL = 0, 1
OTHERS = 9  # the owner id of everybody else in the engines


def instrument_config(
    instrument_id: str, taker_fee: str = "0.0003", limits: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "limits": limits,
        "instrument_id": instrument_id,
        "tick_size": "0.01",
        "price_precision": 2,
        "lot_size": "1",
        "size_precision": 0,
        "maker_fee": "-0.0001",
        "taker_fee": taker_fee,
    }


class Market:
    """One node, one ``MatchingVenue`` (own engine) per instrument, and the other traders."""

    def __init__(
        self,
        taker_fees: dict[str, str],
        limits: dict[str, Any] | None = None,
        risk: dict[str, Any] | None = None,
    ) -> None:
        instruments = [instrument_config(i, fee, limits) for i, fee in taker_fees.items()]
        self.node = TradingNode(parse_config({"instruments": instruments, "risk": risk or {}}))
        self.venues: dict[str, MatchingVenue] = {}
        for instrument_id in taker_fees:
            venue_name = instrument_id.split(".")[1]
            instrument = self.node.cache.instrument(instrument_id)
            venue = MatchingVenue(venue_name, {instrument: "USD"}, MatchingEngine())
            self.node.add_venue(venue_name, venue)
            self.venues[instrument_id] = venue
        self._ids = itertools.count(1)
        self._trades = itertools.count(1)

    @property
    def now(self) -> int:
        return self.node.clock.timestamp_ns()

    def advance(self, ts: int) -> None:
        self.node.advance_to(ts)

    def rest(self, instrument_id: str, side: int, price: int, quantity: int) -> None:
        """Another trader's resting limit order."""
        venue = self.venues[instrument_id]
        venue.on_engine_events(
            venue.engine.submit(next(self._ids), OTHERS, 0, side, price, quantity, self.now)
        )

    def take(self, instrument_id: str, side: int, price: int, quantity: int) -> None:
        """Another trader's IOC: fills whatever rests (ours included) and prints it."""
        venue = self.venues[instrument_id]
        events = venue.engine.submit(
            next(self._ids), OTHERS + 1, 0, side, price, quantity, self.now, time_in_force=1
        )
        venue.on_engine_events(events)
        printed = sum(e.quantity for e in events if e.kind == "FILLED") // 2
        if printed:
            self.print_trade(instrument_id, price, printed, side)

    def print_trade(self, instrument_id: str, price: int, size: int, aggressor: int = -1) -> None:
        trade_id = str(next(self._trades))
        self.node.process_trade(
            Trade(instrument_id, price, size, aggressor, trade_id, self.now, self.now)
        )

    def quote(
        self, instrument_id: str, bid: int, ask: int, bid_size: int = 100, ask_size: int = 100
    ) -> None:
        self.node.process_quote(
            Quote(instrument_id, bid, bid_size, ask, ask_size, self.now, self.now)
        )

    def fills(self, strategy_id: str) -> list[OrderFilled]:
        return [
            e
            for o in self.node.execution.oms.orders(strategy_id)
            for e in o.events
            if isinstance(e, OrderFilled)
        ]
