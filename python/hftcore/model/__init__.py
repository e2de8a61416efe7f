"""Value types of hftcore: enums, instruments and market data events shared by every layer."""

from __future__ import annotations

from hftcore._core import Instrument
from hftcore.model.data import Bar, BookDelta, Quote, Trade
from hftcore.model.enums import BookAction, DeltaFlag, Side

__all__ = ["Bar", "BookAction", "BookDelta", "DeltaFlag", "Instrument", "Quote", "Side", "Trade"]
