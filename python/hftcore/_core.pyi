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
