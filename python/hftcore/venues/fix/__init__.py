"""FIX 4.4: our codec (:mod:`.codec`), the session layer (:mod:`.session`) with a SQLite
sequence store, the venue client over an initiator (:class:`FixVenueClient`) and a venue
simulator acceptor over the matching engine (:class:`FixVenueSimulator`), and :func:`attach_fix`,
which puts the client on a trading node. See ``docs/fix.md``."""

from __future__ import annotations

from hftcore.venues.fix.client import FixConnectionError, FixVenueClient
from hftcore.venues.fix.codec import (
    FixDecodeError,
    FixMessage,
    FixStreamParser,
    Tag,
    decode_message,
    encode_message,
)
from hftcore.venues.fix.config import FixSessionConfig
from hftcore.venues.fix.node import FixAdapter, attach_fix
from hftcore.venues.fix.session import FixApplication, FixSession, FixSessionStats
from hftcore.venues.fix.simulator import FixVenueSimulator
from hftcore.venues.fix.store import FixSessionStore

__all__ = [
    "FixAdapter",
    "FixApplication",
    "FixConnectionError",
    "FixDecodeError",
    "FixMessage",
    "FixSession",
    "FixSessionConfig",
    "FixSessionStats",
    "FixSessionStore",
    "FixStreamParser",
    "FixVenueClient",
    "FixVenueSimulator",
    "Tag",
    "attach_fix",
    "decode_message",
    "encode_message",
]
