"""A FIX venue on a trading node: :func:`attach_fix` sends the node's orders through a
:class:`FixVenueClient` initiator. FIX carries orders only (no market data), so it runs in live
mode. See ``docs/fix.md``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hftcore.venues.assembly import node_listings
from hftcore.venues.fix.client import FixVenueClient
from hftcore.venues.fix.config import FixSessionConfig

if TYPE_CHECKING:
    from hftcore.node.kernel import TradingNode


@dataclass(slots=True)
class FixAdapter:
    """A FIX venue attached to a node: the client keeps its session logged on."""

    venue: FixVenueClient

    def start(self) -> None:
        """Connects in the running event loop, and reconnects after every disconnection."""
        self.venue.start()

    async def stop(self) -> None:
        """Logs out and closes the sequence store."""
        await self.venue.stop()

    async def wait_ready(self) -> None:
        """Waits until the session is logged on (orders sent before are rejected
        ``VENUE_DISCONNECTED``)."""
        await self.venue.session.logged_on_event.wait()

    def on_clock_tick(self, ts: int) -> None:
        """Nothing to do: the venue keeps its own time."""

    def counters(self) -> dict[str, int]:
        return {
            "unknown_reports": self.venue.unknown_reports,
            "duplicate_executions": self.venue.duplicate_executions,
        }


def attach_fix(
    node: TradingNode,
    config: FixSessionConfig,
    instrument_ids: Sequence[str],
    *,
    venue: str = "FIX",
) -> FixAdapter:
    """Adds a FIX venue to ``node`` for ``instrument_ids`` (configured in the node): orders go
    out as NewOrderSingle / OrderCancelRequest / OrderCancelReplaceRequest on the session
    ``config`` describes. Call ``start()`` on the result in the event loop."""
    client = FixVenueClient(venue, node_listings(node, instrument_ids), config)
    node.add_venue(venue, client)
    return FixAdapter(client)


__all__ = ["FixAdapter", "attach_fix"]
