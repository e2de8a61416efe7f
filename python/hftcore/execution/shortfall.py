"""Implementation shortfall: what an execution cost against the price when it was decided.

For a parent order of side ``s`` (+1 buy, -1 sell) with arrival price ``a`` (ticks) and fills
``(p_i, q_i)`` with commissions ``f_i``::

    price cost  = s * (sum p_i q_i - a * sum q_i) * N      (N: money per tick and lot)
    total cost  = price cost + sum f_i
    cost in bps = total cost / (a * sum q_i * N) * 10_000

Positive is a cost (bought above / sold below arrival), negative a gain. With a ``mark_price``
the unfilled rest adds an opportunity cost ``s * (mark - a) * unfilled * N``. Money is exact
(1e-12 units, :mod:`hftcore.model.money`), rounded once, half away from zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from hftcore._core import Instrument
from hftcore.errors import InvalidValue
from hftcore.model.enums import Side
from hftcore.model.events import OrderFilled
from hftcore.model.money import notional_per_tick_lot, round_half_away

BASIS_POINTS = 10_000


@dataclass(frozen=True, slots=True)
class ShortfallReport:
    """Shortfall of one parent order; money in 1e-12 units of ``currency``."""

    side: Side
    arrival_price: Fraction
    """Ticks (a mid can be half a tick)."""
    quantity: int
    filled_quantity: int
    average_price: Fraction | None
    """Ticks, None when nothing filled."""
    price_cost: int
    fees: int
    total_cost: int
    cost_bps: float
    """``total_cost`` over the arrival notional of the filled quantity, in basis points."""
    currency: str | None
    opportunity_cost: int | None
    """Cost of the unfilled rest at ``mark_price``; None without a mark."""

    @property
    def unfilled_quantity(self) -> int:
        return self.quantity - self.filled_quantity


def implementation_shortfall(
    instrument: Instrument,
    side: int,
    arrival_price: Fraction | int,
    quantity: int,
    fills: Iterable[OrderFilled],
    *,
    mark_price: int | None = None,
) -> ShortfallReport:
    """The shortfall of ``fills`` against ``arrival_price`` (see the module docs).

    Raises ``InvalidValue``: ``INVALID_SIDE``, ``NON_POSITIVE_PRICE`` (arrival or mark),
    ``NON_POSITIVE_QUANTITY``, ``OVERFILL`` (fills beyond ``quantity``), ``MIXED_CURRENCY``
    (commissions in several currencies). ``instrument`` gives the money per tick and lot;
    fills of an order routed to several listings of one security on the same tick and lot grid
    (the smart order router's) count together.
    """
    if side not in (Side.BUY, Side.SELL):
        raise InvalidValue("INVALID_SIDE", f"side must be 0 (BUY) or 1 (SELL), got {side!r}")
    arrival = Fraction(arrival_price)
    if arrival <= 0:
        raise InvalidValue("NON_POSITIVE_PRICE", f"arrival_price must be > 0, got {arrival}")
    if mark_price is not None and mark_price <= 0:
        raise InvalidValue("NON_POSITIVE_PRICE", f"mark_price must be > 0, got {mark_price}")
    if quantity <= 0:
        raise InvalidValue("NON_POSITIVE_QUANTITY", f"quantity must be > 0, got {quantity}")
    sign = 1 if side == Side.BUY else -1
    filled = 0
    paid_ticks_lots = 0
    fees = 0
    currencies: set[str] = set()
    for fill in fills:
        filled += fill.last_quantity
        paid_ticks_lots += fill.last_price * fill.last_quantity
        fees += fill.commission
        currencies.add(fill.currency)
    if filled > quantity:
        raise InvalidValue("OVERFILL", f"fills total {filled} lots, more than {quantity}")
    if len(currencies) > 1:
        raise InvalidValue("MIXED_CURRENCY", f"commissions in {sorted(currencies)}")
    per_tick_lot = notional_per_tick_lot(instrument)
    price_cost = round_half_away(sign * (paid_ticks_lots - arrival * filled) * per_tick_lot)
    total = price_cost + fees
    arrival_notional = arrival * filled * per_tick_lot
    cost_bps = float(Fraction(total) / arrival_notional * BASIS_POINTS) if filled else 0.0
    opportunity = (
        None
        if mark_price is None
        else round_half_away(sign * (mark_price - arrival) * (quantity - filled) * per_tick_lot)
    )
    return ShortfallReport(
        side=Side(side),
        arrival_price=arrival,
        quantity=quantity,
        filled_quantity=filled,
        average_price=Fraction(paid_ticks_lots, filled) if filled else None,
        price_cost=price_cost,
        fees=fees,
        total_cost=total,
        cost_bps=cost_bps,
        currency=next(iter(currencies)) if currencies else None,
        opportunity_cost=opportunity,
    )


__all__ = ["BASIS_POINTS", "ShortfallReport", "implementation_shortfall"]
