"""Enumerations shared by the compiled core and the Python layer (values equal the core's
codes)."""

from __future__ import annotations

from enum import IntEnum


class Side(IntEnum):
    """Side of an order, a book level or a trade aggressor."""

    BUY = 0
    SELL = 1


class BookAction(IntEnum):
    """Action of an L3 message record (``L3_MESSAGE_DTYPE['action']``)."""

    ADD = 0
    CANCEL = 1
    REDUCE = 2
    REPLACE = 3
    EXECUTE = 4
    CLEAR = 5


class DeltaFlag(IntEnum):
    """Bits of an L2 delta record's ``flags``."""

    CLEAR = 1
