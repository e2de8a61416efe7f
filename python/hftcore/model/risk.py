"""Value types of the pre-trade risk gate (:class:`hftcore.RiskGate`).

Limits are frozen :class:`msgspec.Struct` values, so they decode straight from a TOML or JSON
config (``msgspec.convert(table, AccountLimits)``); the gate validates them when it receives
them and raises :class:`hftcore.errors.ConfigError` naming the offending field. Quantities in
limits are in the instrument's units (e.g. ``2.5`` BTC) and must lie on its lot grid; money is
in the quote currency. ``None`` means "no limit".

:class:`RejectReason` values equal the codes the compiled gate returns (``0`` is
:attr:`RejectReason.APPROVED`), in the order the checks run.
"""

from __future__ import annotations

from decimal import Decimal
from enum import IntEnum

import msgspec

from hftcore._core import risk_reject_reasons
from hftcore.model.enums import Side

#: A decimal amount: an exact ``int`` or ``Decimal``, or a ``float`` taken as the decimal it
#: prints as. Strings are accepted at run time too.
Amount = int | float | Decimal


class RejectReason(IntEnum):
    """Why the gate refused an order or a cancel; ``APPROVED`` (0) is the approval code."""

    APPROVED = 0
    OFF_GRID = 1
    KILL_SWITCH = 2
    DAILY_LOSS_LIMIT = 3
    TRADING_HALTED = 4
    REDUCE_ONLY = 5
    QUANTITY_OUT_OF_RANGE = 6
    BELOW_MIN_NOTIONAL = 7
    MAX_ORDER_QUANTITY = 8
    MAX_ORDER_NOTIONAL = 9
    NO_REFERENCE_PRICE = 10
    PRICE_COLLAR = 11
    MAX_LONG_POSITION = 12
    MAX_SHORT_POSITION = 13
    MAX_GROSS_EXPOSURE = 14
    MAX_NET_EXPOSURE = 15
    MAX_OPEN_ORDERS = 16
    ORDER_RATE = 17
    CANCEL_RATE = 18

    @property
    def description(self) -> str:
        """The human sentence for this reason, as the compiled gate words it."""
        return _DESCRIPTIONS[self.value]


_DESCRIPTIONS: dict[int, str] = {
    RejectReason.APPROVED.value: "the order passed every check",
    **{code: sentence for code, _name, sentence in risk_reject_reasons()},
}


class TradingState(IntEnum):
    """What the account may do: everything, only reduce positions, or only cancel."""

    ACTIVE = 0
    REDUCING = 1
    HALTED = 2


class ThrottleLimit(msgspec.Struct, frozen=True, kw_only=True):
    """A token bucket: ``capacity`` actions at once, refilled at ``refill_per_second`` tokens
    per second (up to 6 decimals, e.g. ``Decimal("0.5")``)."""

    capacity: int
    refill_per_second: Amount


class InstrumentLimits(msgspec.Struct, frozen=True, kw_only=True):
    """Limits of one instrument. Set at most one of ``collar_bps`` and ``collar_ticks``."""

    #: Largest quantity of one order, in the instrument's units.
    max_order_quantity: Amount | None = None
    #: Largest notional of one order at its limit price, in the quote currency.
    max_order_notional: Amount | None = None
    #: Largest distance of the order price from the reference price, in basis points of it.
    collar_bps: int | None = None
    #: Largest distance of the order price from the reference price, in ticks.
    collar_ticks: int | None = None
    #: Largest long position counting open buys and the order, in the instrument's units.
    max_long_position: Amount | None = None
    #: Largest short position (a magnitude) counting open sells and the order.
    max_short_position: Amount | None = None


class AccountLimits(msgspec.Struct, frozen=True, kw_only=True):
    """Limits of the whole account; money in the quote currency."""

    #: Most orders open at once (1 to 1,048,576).
    max_open_orders: int = 1_000
    #: Largest sum over instruments of worst-case absolute exposure at the reference price.
    max_gross_exposure: Amount | None = None
    #: Largest absolute net exposure if every open buy, or every open sell, filled.
    max_net_exposure: Amount | None = None
    order_rate: ThrottleLimit | None = None
    cancel_rate: ThrottleLimit | None = None
    #: Daily loss (realized + unrealized, net of fees) at which the circuit breaker trips.
    daily_loss_limit: Amount | None = None
    #: The state a tripped breaker imposes: REDUCING or HALTED.
    circuit_breaker_state: TradingState = TradingState.HALTED


class CircuitBreakerTrip(msgspec.Struct, frozen=True, kw_only=True):
    """What the circuit breaker recorded when it tripped."""

    #: Timestamp (ns) of the event that found the limit breached (price, fill, reset).
    ts: int
    reason: RejectReason
    #: The state the breaker imposed.
    state: TradingState
    daily_pnl: Decimal
    daily_loss_limit: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal


class RiskPosition(msgspec.Struct, frozen=True, kw_only=True):
    """What the gate knows about one instrument. Quantities in lots, prices in ticks, money
    as exact ``Decimal`` in the quote currency."""

    instrument: int
    #: Signed lots: positive long, negative short.
    position: int
    open_buy_quantity: int
    open_sell_quantity: int
    #: The latest reference (mark) price in ticks, or ``None`` before the first one.
    reference_price: int | None
    #: Money paid for the open position (negative for a short).
    cost_basis: Decimal
    #: Realized P&L net of fees since the gate was created.
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal
    #: Worst-case absolute exposure at the reference price.
    gross_exposure: Decimal


class OpenOrder(msgspec.Struct, frozen=True, kw_only=True):
    """An order the gate counts as open."""

    order_id: int
    instrument: int
    side: Side
    #: Lots not yet filled.
    open_quantity: int
