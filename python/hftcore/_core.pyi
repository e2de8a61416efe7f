"""Type stubs of the compiled extension ``hftcore._core``."""

from decimal import Decimal
from typing import Literal

__version__: str

Number = int | float | Decimal | str
RoundingMode = Literal["exact", "nearest", "down", "up"] | None

class Instrument:
    """Trading rules of one instrument: tick and lot grid, limits and fees."""

    instrument_id: str
    tick_size: str
    lot_size: str
    price_precision: int
    size_precision: int
    min_quantity: int
    max_quantity: int
    min_notional: str
    maker_fee: str
    taker_fee: str
    def __init__(
        self,
        instrument_id: str,
        tick_size: Number,
        price_precision: int,
        lot_size: Number,
        size_precision: int,
        min_quantity: Number | None = None,
        max_quantity: Number | None = None,
        min_notional: Number | None = None,
        maker_fee: Number | None = None,
        taker_fee: Number | None = None,
    ) -> None: ...
    def price_to_ticks(self, value: Number, rounding: RoundingMode = None) -> int: ...
    def quantity_to_lots(self, value: Number, rounding: RoundingMode = None) -> int: ...
    def ticks_to_str(self, ticks: int) -> str: ...
    def lots_to_str(self, lots: int) -> str: ...
    def ticks_to_float(self, ticks: int) -> float: ...
    def lots_to_float(self, lots: int) -> float: ...
    def notional(self, ticks: int, lots: int) -> str: ...

class OrderEvent:
    """One state change of an order (ACCEPTED, REJECTED, TRIGGERED, REPLACED, FILLED,
    CANCELED, EXPIRED); prices in ticks, quantities in lots, ``fee_raw`` in 1e-12 money units."""

    kind: Literal["ACCEPTED", "REJECTED", "TRIGGERED", "REPLACED", "FILLED", "CANCELED", "EXPIRED"]
    order_id: int
    ts: int
    trade_id: int
    side: int
    price: int
    quantity: int
    leaves: int
    liquidity: Literal["MAKER", "TAKER", ""]
    fee_raw: int
    reason: str
    @property
    def fee(self) -> Decimal: ...

class WorkingOrder:
    """A working order as the matching engine sees it (finished orders are forgotten).

    Enum fields are codes (see ``hftcore.model.orders``); ``state`` is ``"RESTING"`` or
    ``"AWAITING_TRIGGER"``; ``visible`` is the shown part of a resting order (0 for a stop).
    """

    order_id: int
    owner: int
    instrument: int
    side: int
    order_type: int
    time_in_force: int
    price: int
    trigger_price: int
    quantity: int
    leaves: int
    filled: int
    visible: int
    display_quantity: int
    post_only: int
    reduce_only: bool
    self_trade_prevention: int
    expire_ts: int
    state: Literal["RESTING", "AWAITING_TRIGGER"]

Level = tuple[int, int, int]

class MatchingEngine:
    """Continuous price-time matching engine over several instruments.

    Prices are integer ticks, quantities integer lots, timestamps ns supplied by the caller.
    A refused order or request raises ``hftcore.errors.OrderRejected`` (engine unchanged);
    an argument that is not an int or does not fit raises ``hftcore.errors.InvalidValue``.
    Every other call returns its ``OrderEvent``s in order. Supports pickle and copy.
    """

    def __init__(self) -> None: ...
    def add_instrument(self, instrument: Instrument) -> int:
        """Adds an instrument; returns its index, used by every other call."""
    @property
    def instruments(self) -> list[Instrument]: ...
    def submit(
        self,
        order_id: int,
        owner: int,
        instrument: int,
        side: int,
        price: int,
        quantity: int,
        ts: int,
        order_type: int | None = None,
        time_in_force: int | None = None,
        trigger_price: int | None = None,
        display_quantity: int | None = None,
        post_only: int | None = None,
        reduce_only: bool = False,
        self_trade_prevention: int | None = None,
        expire_ts: int | None = None,
    ) -> list[OrderEvent]:
        """Submits an order (default LIMIT, GTC); returns the events of every order touched."""
    def modify(self, order_id: int, price: int, quantity: int, ts: int) -> list[OrderEvent]:
        """Cancel/replace of a resting order: new price and new total quantity."""
    def cancel(self, order_id: int, ts: int) -> list[OrderEvent]:
        """Cancels a working order (UNKNOWN_ORDER if none has this id)."""
    def cancel_all(
        self, instrument: int, ts: int, side: int | None = None, owner: int | None = None
    ) -> list[OrderEvent]:
        """Cancels every working order of an instrument, optionally one side / owner."""
    def advance_time(self, ts: int) -> list[OrderEvent]:
        """Expires GTD orders whose expiry is at or before ``ts``."""
    def end_session(self, ts: int) -> list[OrderEvent]:
        """Expires every DAY order."""
    def best_bid(self, instrument: int) -> Level | None:
        """``(price, quantity, order_count)`` of the best bid."""
    def best_ask(self, instrument: int) -> Level | None:
        """``(price, quantity, order_count)`` of the best ask."""
    def levels(self, instrument: int, side: int, depth: int | None = None) -> list[Level]:
        """Levels of one side, best first, visible quantity only."""
    def depth_at(self, instrument: int, side: int, price: int) -> int:
        """Visible quantity at one price."""
    def queue(self, instrument: int, side: int, price: int) -> list[int]:
        """Order ids at one price in time priority."""
    def order(self, order_id: int) -> WorkingOrder | None:
        """The working order with this id, or None."""
    def position(self, owner: int, instrument: int) -> int:
        """Net position in lots of an owner, from its fills."""
    def last_price(self, instrument: int) -> int | None:
        """Price of the last trade."""
    @property
    def working_order_count(self) -> int: ...
    def snapshot(self) -> bytes:
        """The exact engine state as canonical bytes."""
    def __getstate__(self) -> tuple[list[Instrument], bytes]: ...
    def __setstate__(self, state: tuple[list[Instrument], bytes]) -> None: ...
