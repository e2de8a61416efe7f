"""Smart order routing: one parent order across several venues quoting the same security.

Each venue lists the security as its own instrument (``XYZ.VENUE_A``, ``XYZ.VENUE_B``; one
venue client per instrument on the node), all on the same tick and lot grid.

:func:`plan_route` is the routing decision, a pure function of the venues' books:

* A venue is **skipped** when its book is *stale* (no update for more than ``stale_after_ns``,
  or none at all), *crossed or locked* (best bid >= best ask), or has no displayed size on the
  side we take.
* Every displayed level on the side we take (asks for a buy, bids for a sell) within the
  limit price is scored by its **effective price per lot**, fees and latency included::

      buy:  price * (1 + taker_fee + latency_ms * latency_penalty_bps_per_ms / 10_000)
      sell: price * (1 - taker_fee - latency_ms * latency_penalty_bps_per_ms / 10_000)

  (``taker_fee`` the venue's rate, e.g. 0.0003; the latency term prices the risk that a slower
  venue's quote is gone on arrival). Levels are taken best effective price first (ties: the
  lower-latency venue, then the order the venues were given), each for at most its displayed
  size, until the quantity is covered.
* What a venue gets is one IOC limit order for its lots at the worst price taken there; what
  the displayed books cannot cover is left ``unrouted``.

:class:`SmartOrderRouter` is the strategy that does it on the node: it routes at its start,
and after each round of IOC children has closed it routes the unfilled remainder again on the
next book or quote update of any venue (a book that has not changed since the last round is
not routed to twice, as it does not yet show what our own orders took).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import msgspec

from hftcore.errors import ConfigError, InvalidValue
from hftcore.execution.algos import (
    AlgoStatus,
    ExecutionAlgorithm,
    ParentParams,
    require_param,
)
from hftcore.execution.schedule import exact_rate
from hftcore.execution.shortfall import BASIS_POINTS
from hftcore.model.data import Quote
from hftcore.model.enums import Side

NS_PER_MS = 1_000_000

Level = tuple[int, int]


@dataclass(frozen=True, slots=True)
class VenueBook:
    """What the router knows of one venue: its displayed levels, best first (prices in ticks,
    sizes in lots), its taker fee rate, its order-entry latency and when its book was last
    updated (None: never)."""

    instrument_id: str
    bids: Sequence[Level]
    asks: Sequence[Level]
    taker_fee: Fraction
    latency_ns: int
    last_update_ns: int | None


@dataclass(frozen=True, slots=True)
class RouteSlice:
    """One child: ``quantity`` lots to ``instrument_id`` as an IOC limit at ``price``;
    ``effective_cost`` is the exact fee-inclusive cost in ticks x lots (proceeds for a sell)."""

    instrument_id: str
    quantity: int
    price: int
    effective_cost: Fraction


@dataclass(frozen=True, slots=True)
class RoutePlan:
    slices: tuple[RouteSlice, ...]
    unrouted: int
    skipped: dict[str, str] = field(default_factory=dict)
    """Venues not used and why: ``STALE``, ``CROSSED``, ``NO_LIQUIDITY``, ``BEYOND_LIMIT``."""

    @property
    def routed(self) -> int:
        return sum(piece.quantity for piece in self.slices)


def unusable_reason(venue: VenueBook, now_ns: int, stale_after_ns: int) -> str | None:
    """``STALE`` (no update for more than ``stale_after_ns``, or never), ``CROSSED`` (best bid
    at or above best ask), or None when the venue's book can be used."""
    if venue.last_update_ns is None or now_ns - venue.last_update_ns > stale_after_ns:
        return "STALE"
    if venue.bids and venue.asks and venue.bids[0][0] >= venue.asks[0][0]:
        return "CROSSED"
    return None


def plan_route(
    side: int,
    quantity: int,
    venues: Sequence[VenueBook],
    *,
    now_ns: int,
    stale_after_ns: int,
    limit_price: int | None = None,
    latency_penalty_bps_per_ms: Fraction = Fraction(0),
) -> RoutePlan:
    """Splits ``quantity`` across ``venues`` (see the module docs).

    Raises ``InvalidValue``: ``INVALID_SIDE``, ``NON_POSITIVE_QUANTITY``, ``INVALID_INTERVAL``
    (``stale_after_ns`` < 0), ``NON_POSITIVE_PRICE`` (limit), ``INVALID_FEE`` (fee < 0 or >= 1),
    ``INVALID_LATENCY`` (< 0), ``DUPLICATE_VENUE`` (an instrument twice)."""
    if side not in (Side.BUY, Side.SELL):
        raise InvalidValue("INVALID_SIDE", f"side must be 0 (BUY) or 1 (SELL), got {side!r}")
    if quantity <= 0:
        raise InvalidValue("NON_POSITIVE_QUANTITY", f"quantity must be > 0, got {quantity}")
    if stale_after_ns < 0:
        raise InvalidValue("INVALID_INTERVAL", f"stale_after_ns must be >= 0, got {stale_after_ns}")
    if limit_price is not None and limit_price <= 0:
        raise InvalidValue("NON_POSITIVE_PRICE", f"limit_price must be > 0, got {limit_price}")
    if latency_penalty_bps_per_ms < 0:
        raise InvalidValue("INVALID_LATENCY", "latency_penalty_bps_per_ms must be >= 0")
    buying = side == Side.BUY
    skipped: dict[str, str] = {}
    usable: list[tuple[int, VenueBook, Fraction, list[Level]]] = []
    seen: set[str] = set()
    for order, venue in enumerate(venues):
        name = venue.instrument_id
        if name in seen:
            raise InvalidValue("DUPLICATE_VENUE", f"{name} is given twice")
        seen.add(name)
        if not 0 <= venue.taker_fee < 1:
            raise InvalidValue("INVALID_FEE", f"{name}: taker_fee must be in [0, 1)")
        if venue.latency_ns < 0:
            raise InvalidValue("INVALID_LATENCY", f"{name}: latency_ns must be >= 0")
        reason = unusable_reason(venue, now_ns, stale_after_ns)
        if reason is not None:
            skipped[name] = reason
            continue
        levels = [level for level in (venue.asks if buying else venue.bids) if level[1] > 0]
        if not levels:
            skipped[name] = "NO_LIQUIDITY"
            continue
        if limit_price is not None:
            levels = [
                level
                for level in levels
                if (level[0] <= limit_price if buying else level[0] >= limit_price)
            ]
            if not levels:
                skipped[name] = "BEYOND_LIMIT"
                continue
        penalty = Fraction(venue.latency_ns, NS_PER_MS) * latency_penalty_bps_per_ms / BASIS_POINTS
        factor = 1 + venue.taker_fee + penalty if buying else 1 - venue.taker_fee - penalty
        usable.append((order, venue, factor, levels))
    # Effective prices as integers over one common denominator: exact, and cheap to sort.
    denominator = math.lcm(*(factor.denominator for _, _, factor, _ in usable))
    candidates: list[tuple[int, int, int, int, int, str]] = []
    for order, venue, factor, levels in usable:
        scale = factor.numerator * (denominator // factor.denominator)
        for price, size in levels:
            # sort key: best effective price first (lowest for a buy, highest for a sell)
            key = price * scale if buying else -price * scale
            candidates.append((key, venue.latency_ns, order, price, size, venue.instrument_id))
    candidates.sort()
    remaining = quantity
    taken: dict[str, tuple[int, int, int]] = {}
    for key, _latency, _order, price, size, name in candidates:
        if remaining == 0:
            break
        lots = min(size, remaining)
        remaining -= lots
        lots_before, _, cost_before = taken.get(name, (0, price, 0))
        # a venue's levels are taken best first, so the latest price taken there is its worst
        taken[name] = (lots_before + lots, price, cost_before + abs(key) * lots)
    slices = tuple(
        RouteSlice(name, lots, worst, Fraction(cost, denominator))
        for name, (lots, worst, cost) in taken.items()
    )
    return RoutePlan(slices, remaining, skipped)


class RouterParams(ParentParams, frozen=True, forbid_unknown_fields=True, kw_only=True):
    instrument_ids: tuple[str, ...]
    """One listing per venue, all on the same tick and lot grid."""
    stale_after_ns: int = 500 * NS_PER_MS
    latency_ns: dict[str, int] = msgspec.field(default_factory=dict)
    """Order-entry latency per instrument id (missing: 0)."""
    latency_penalty_bps_per_ms: float = 0.0
    depth_levels: int = 10

    def __post_init__(self) -> None:
        super().__post_init__()
        require_param(len(self.instrument_ids) > 0, "instrument_ids must name at least one venue")
        require_param(
            len(set(self.instrument_ids)) == len(self.instrument_ids),
            "instrument_ids must not repeat",
        )
        require_param(
            self.stale_after_ns >= 0, f"stale_after_ns must be >= 0, got {self.stale_after_ns}"
        )
        unknown = sorted(set(self.latency_ns) - set(self.instrument_ids))
        require_param(not unknown, f"latency_ns names instruments not routed to: {unknown}")
        require_param(
            all(latency >= 0 for latency in self.latency_ns.values()),
            "latency_ns values must be >= 0",
        )
        require_param(
            self.latency_penalty_bps_per_ms >= 0,
            f"latency_penalty_bps_per_ms must be >= 0, got {self.latency_penalty_bps_per_ms}",
        )
        require_param(self.depth_levels > 0, f"depth_levels must be > 0, got {self.depth_levels}")


class SmartOrderRouter(ExecutionAlgorithm):
    """Takes liquidity for a parent order across venues with :func:`plan_route`, and re-routes
    the unfilled remainder after each round (module docs). The arrival price is the mid of the
    best bid and ask over the venues that are neither stale nor crossed."""

    Params = RouterParams

    def __init__(self, strategy_id: str, params: msgspec.Struct | dict[str, Any] | None = None):
        super().__init__(strategy_id, params)
        self.plans: list[RoutePlan] = []
        self._penalty = exact_rate(self.params.latency_penalty_bps_per_ms, "latency_penalty")
        self._book_update: dict[str, int] = {}
        self._updates = 0
        self._updates_at_last_route = -1

    def listings(self) -> tuple[str, ...]:
        return tuple(self.params.instrument_ids)

    def on_start(self) -> None:
        grids = {
            (instrument.tick_size, instrument.lot_size)
            for instrument in (self.cache.instrument(i) for i in self.listings())
        }
        if len(grids) > 1:
            raise ConfigError(
                "GRID_MISMATCH", f"instrument_ids must share one tick and lot size, got {grids}"
            )
        super().on_start()

    # -- market ----------------------------------------------------------------------------

    def on_quote(self, quote: Quote) -> None:
        self._updated()

    def on_book(self, instrument_id: str) -> None:
        self._book_update[instrument_id] = self.clock.timestamp_ns()
        self._updated()

    def last_update_ns(self, instrument_id: str) -> int | None:
        """When the node last saw the venue's book or quote change (None: never)."""
        quote: Quote | None = self.cache.quote(instrument_id)
        book_ts = self._book_update.get(instrument_id)
        if quote is None:
            return book_ts
        return quote.ts_init if book_ts is None else max(book_ts, quote.ts_init)

    def _updated(self) -> None:
        self._updates += 1
        self._market_changed()
        if self.status is AlgoStatus.RUNNING:
            self.react()

    def venue_books(self) -> list[VenueBook]:
        books = []
        for instrument_id in self.listings():
            instrument = self.cache.instrument(instrument_id)
            book = self.cache.book(instrument_id)
            bids: list[Level] = list(book.levels(Side.BUY)[: self.params.depth_levels])
            asks: list[Level] = list(book.levels(Side.SELL)[: self.params.depth_levels])
            if not bids and not asks:
                quote: Quote | None = self.cache.quote(instrument_id)
                if quote is not None:
                    bids = [(quote.bid_price, quote.bid_size)] if quote.bid_size > 0 else []
                    asks = [(quote.ask_price, quote.ask_size)] if quote.ask_size > 0 else []
            books.append(
                VenueBook(
                    instrument_id,
                    bids,
                    asks,
                    Fraction(instrument.taker_fee),
                    self.params.latency_ns.get(instrument_id, 0),
                    self.last_update_ns(instrument_id),
                )
            )
        return books

    def touch(self) -> tuple[int, int] | None:
        """Best bid and best ask over the venues the router may use."""
        now = self.clock.timestamp_ns()
        bids, asks = [], []
        for venue in self.venue_books():
            if unusable_reason(venue, now, self.params.stale_after_ns) is not None:
                continue
            bids += [venue.bids[0][0]] if venue.bids else []
            asks += [venue.asks[0][0]] if venue.asks else []
        if not bids or not asks or max(bids) >= min(asks):
            return None
        return max(bids), min(asks)

    # -- routing ---------------------------------------------------------------------------

    def _step(self) -> None:
        """One round: IOC children per :func:`plan_route`, when the last round is done and a
        book changed since it."""
        if self.open_children():
            return
        if self._updates == self._updates_at_last_route:
            return
        remaining = self.params.quantity - self.committed
        if remaining <= 0:
            return
        plan = plan_route(
            self.side,
            remaining,
            self.venue_books(),
            now_ns=self.clock.timestamp_ns(),
            stale_after_ns=self.params.stale_after_ns,
            limit_price=self.params.limit_price,
            latency_penalty_bps_per_ms=self._penalty,
        )
        if not plan.slices:
            return
        self._updates_at_last_route = self._updates
        self.plans.append(plan)
        for piece in plan.slices:
            self.send_child(
                piece.quantity, piece.price, aggressive=True, instrument_id=piece.instrument_id
            )


__all__ = [
    "RoutePlan",
    "RouteSlice",
    "RouterParams",
    "SmartOrderRouter",
    "VenueBook",
    "plan_route",
    "unusable_reason",
]
