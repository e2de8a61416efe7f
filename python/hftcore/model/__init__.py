"""Value types of hftcore: enums and instruments shared by every layer."""

from __future__ import annotations

from hftcore._core import Instrument
from hftcore.model.enums import BookAction, DeltaFlag, Side

__all__ = ["BookAction", "DeltaFlag", "Instrument", "Side"]
