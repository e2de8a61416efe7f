"""A slow, obviously-correct pure-Python model of the risk gate, for property tests.

It keeps plain lists of open orders and fills and recomputes positions, open quantities,
exposure and P&L from scratch on every call, then applies the documented checks in order.
Money is an ``int`` count of 1e-12 units of the quote currency, like the core's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from hftcore import AccountLimits, Instrument, InstrumentLimits, RejectReason, TradingState

MONEY_UNITS = 10**12
TOKEN_UNITS = 10**15
BUY, SELL = 0, 1


def money(amount: object) -> int:
    """Money units of a decimal amount (exact)."""
    scaled = Decimal(str(amount)) * MONEY_UNITS
    assert scaled == scaled.to_integral_value()
    return int(scaled)


def lots(instrument: Instrument, amount: object) -> int:
    scaled = Decimal(str(amount)) / Decimal(instrument.lot_size)
    assert scaled == scaled.to_integral_value()
    return int(scaled)


def sign(side: int) -> int:
    return 1 if side == BUY else -1


@dataclass
class Bucket:
    capacity: int
    rate: int
    level: int
    clock: int | None = None

    @classmethod
    def from_limit(cls, capacity: int, refill_per_second: object) -> Bucket:
        rate = Decimal(str(refill_per_second)) * 1_000_000
        return cls(capacity * TOKEN_UNITS, int(rate), capacity * TOKEN_UNITS)

    def take(self, ts: int) -> bool:
        clock = ts if self.clock is None else self.clock
        if ts > clock:
            self.level = min(self.capacity, self.level + (ts - clock) * self.rate)
        self.clock = max(clock, ts)
        if self.level >= TOKEN_UNITS:
            self.level -= TOKEN_UNITS
            return True
        return False


@dataclass
class RefInstrument:
    instrument: Instrument
    limits: InstrumentLimits
    k: int
    mark: int | None = None

    def quantity_limit(self, value: object) -> int | None:
        return None if value is None else lots(self.instrument, value)


@dataclass
class RefOrder:
    order_id: int
    instrument: int
    side: int
    open: int


@dataclass
class RefFill:
    instrument: int
    side: int
    price: int
    quantity: int
    fee: int


@dataclass
class ReferenceGate:
    account: AccountLimits
    instruments: list[RefInstrument] = field(default_factory=list)
    orders: list[RefOrder] = field(default_factory=list)
    fills: list[RefFill] = field(default_factory=list)
    kill_switch: bool = False
    operator_state: TradingState = TradingState.ACTIVE
    breaker: TradingState | None = None
    day_start_pnl: int = 0
    order_bucket: Bucket | None = None
    cancel_bucket: Bucket | None = None

    def __post_init__(self) -> None:
        if self.account.order_rate is not None:
            rate = self.account.order_rate
            self.order_bucket = Bucket.from_limit(rate.capacity, rate.refill_per_second)
        if self.account.cancel_rate is not None:
            rate = self.account.cancel_rate
            self.cancel_bucket = Bucket.from_limit(rate.capacity, rate.refill_per_second)

    def register(self, instrument: Instrument, limits: InstrumentLimits) -> int:
        k = money(instrument.notional(1, 1))
        self.instruments.append(RefInstrument(instrument, limits, k))
        return len(self.instruments) - 1

    # Derived state, recomputed from scratch.

    def position(self, index: int) -> int:
        return sum(sign(f.side) * f.quantity for f in self.fills if f.instrument == index)

    def open_quantity(self, index: int, side: int) -> int:
        return sum(o.open for o in self.orders if o.instrument == index and o.side == side)

    def exposure(self, extra: tuple[int, int, int] | None = None) -> tuple[int, int, int]:
        gross = if_buys = if_sells = 0
        for index, instrument in enumerate(self.instruments):
            buys = self.open_quantity(index, BUY)
            sells = self.open_quantity(index, SELL)
            if extra is not None and extra[0] == index:
                if extra[1] == BUY:
                    buys += extra[2]
                else:
                    sells += extra[2]
            mark = instrument.mark or 0
            long_case = (self.position(index) + buys) * mark * instrument.k
            short_case = (self.position(index) - sells) * mark * instrument.k
            gross += max(abs(long_case), abs(short_case))
            if_buys += long_case
            if_sells += short_case
        return gross, if_buys, if_sells

    def net_exposure(self, exposure: tuple[int, int, int] | None = None) -> int:
        _, if_buys, if_sells = exposure or self.exposure()
        return max(abs(if_buys), abs(if_sells))

    def total_pnl(self) -> int:
        """Cash flows of all fills plus positions at their marks: no average cost needed."""
        cash = sum(
            -sign(f.side) * f.price * f.quantity * self.instruments[f.instrument].k - f.fee
            for f in self.fills
        )
        marked = sum(
            self.position(i) * (inst.mark or 0) * inst.k for i, inst in enumerate(self.instruments)
        )
        return cash + marked

    def daily_pnl(self) -> int:
        return self.total_pnl() - self.day_start_pnl

    def trading_state(self) -> TradingState:
        if self.breaker is None:
            return self.operator_state
        return max(self.operator_state, self.breaker)

    def _evaluate_breaker(self) -> None:
        limit = self.account.daily_loss_limit
        if self.breaker is None and limit is not None and self.daily_pnl() <= -money(limit):
            self.breaker = self.account.circuit_breaker_state

    def _reduces(self, index: int, side: int, quantity: int) -> bool:
        position = self.position(index)
        if side == BUY:
            return position < 0 and position + self.open_quantity(index, BUY) + quantity <= 0
        return position > 0 and position - self.open_quantity(index, SELL) - quantity >= 0

    # Calls mirroring the gate. Malformed calls return the error code instead of a decision.

    def check_order(
        self, order_id: int, index: int, side: int, price: int, quantity: int, *, ts: int
    ) -> int | str:
        if side not in (BUY, SELL):
            return "UNKNOWN_SIDE"
        if index >= len(self.instruments):
            return "UNKNOWN_INSTRUMENT"
        if price <= 0:
            return "NON_POSITIVE_PRICE"
        if quantity <= 0:
            return "NON_POSITIVE_QUANTITY"
        if any(o.order_id == order_id for o in self.orders):
            return "DUPLICATE_ORDER"
        reason = self._first_failure(index, side, price, quantity)
        if reason is not None:
            return int(reason)
        if self.order_bucket is not None and not self.order_bucket.take(ts):
            return int(RejectReason.ORDER_RATE)
        self.orders.append(RefOrder(order_id, index, side, quantity))
        return int(RejectReason.APPROVED)

    def _first_failure(
        self, index: int, side: int, price: int, quantity: int
    ) -> RejectReason | None:
        inst = self.instruments[index]
        limits = inst.limits
        if self.kill_switch:
            return RejectReason.KILL_SWITCH
        reduces = self._reduces(index, side, quantity)
        if self.breaker == TradingState.HALTED or (self.breaker is not None and not reduces):
            return RejectReason.DAILY_LOSS_LIMIT
        if self.operator_state == TradingState.HALTED:
            return RejectReason.TRADING_HALTED
        if self.operator_state == TradingState.REDUCING and not reduces:
            return RejectReason.REDUCE_ONLY
        if not inst.instrument.min_quantity <= quantity <= inst.instrument.max_quantity:
            return RejectReason.QUANTITY_OUT_OF_RANGE
        notional = price * quantity * inst.k
        if notional < money(inst.instrument.min_notional):
            return RejectReason.BELOW_MIN_NOTIONAL
        max_quantity = inst.quantity_limit(limits.max_order_quantity)
        if max_quantity is not None and quantity > max_quantity:
            return RejectReason.MAX_ORDER_QUANTITY
        if limits.max_order_notional is not None and notional > money(limits.max_order_notional):
            return RejectReason.MAX_ORDER_NOTIONAL
        if inst.mark is None:
            return RejectReason.NO_REFERENCE_PRICE
        distance = abs(price - inst.mark)
        if limits.collar_bps is not None and distance * 10_000 > limits.collar_bps * inst.mark:
            return RejectReason.PRICE_COLLAR
        if limits.collar_ticks is not None and distance > limits.collar_ticks:
            return RejectReason.PRICE_COLLAR
        position = self.position(index)
        if side == BUY:
            max_long = inst.quantity_limit(limits.max_long_position)
            if max_long is not None and position + self.open_quantity(index, BUY) + quantity > (
                max_long
            ):
                return RejectReason.MAX_LONG_POSITION
        else:
            max_short = inst.quantity_limit(limits.max_short_position)
            if max_short is not None and self.open_quantity(index, SELL) + quantity - position > (
                max_short
            ):
                return RejectReason.MAX_SHORT_POSITION
        before = self.exposure()
        after = self.exposure((index, side, quantity))
        max_gross = self.account.max_gross_exposure
        if max_gross is not None and after[0] > money(max_gross) and after[0] > before[0]:
            return RejectReason.MAX_GROSS_EXPOSURE
        max_net = self.account.max_net_exposure
        net_after = self.net_exposure(after)
        if max_net is not None and net_after > money(max_net) and net_after > self.net_exposure():
            return RejectReason.MAX_NET_EXPOSURE
        if len(self.orders) >= self.account.max_open_orders:
            return RejectReason.MAX_OPEN_ORDERS
        return None

    def check_cancel(self, order_id: int, ts: int) -> int | str:
        if not any(o.order_id == order_id for o in self.orders):
            return "UNKNOWN_ORDER"
        took = self.cancel_bucket is None or self.cancel_bucket.take(ts)
        emergency = self.kill_switch or self.trading_state() == TradingState.HALTED
        return int(RejectReason.APPROVED if took or emergency else RejectReason.CANCEL_RATE)

    def on_fill(self, order_id: int, price: int, quantity: int, fee: int) -> str | None:
        found = [o for o in self.orders if o.order_id == order_id]
        if not found:
            return "UNKNOWN_ORDER"
        order = found[0]
        if price <= 0:
            return "NON_POSITIVE_PRICE"
        if quantity <= 0:
            return "NON_POSITIVE_QUANTITY"
        if quantity > order.open:
            return "OVERFILL"
        self.fills.append(RefFill(order.instrument, order.side, price, quantity, fee))
        order.open -= quantity
        if order.open == 0:
            self.orders.remove(order)
        self._evaluate_breaker()
        return None

    def on_order_closed(self, order_id: int) -> str | None:
        found = [o for o in self.orders if o.order_id == order_id]
        if not found:
            return "UNKNOWN_ORDER"
        self.orders.remove(found[0])
        return None

    def on_price(self, index: int, price: int) -> str | None:
        if index >= len(self.instruments):
            return "UNKNOWN_INSTRUMENT"
        if price <= 0:
            return "NON_POSITIVE_PRICE"
        self.instruments[index].mark = price
        self._evaluate_breaker()
        return None

    def start_day(self) -> None:
        self.day_start_pnl = self.total_pnl()
        self.breaker = None

    def reset_circuit_breaker(self) -> None:
        self.breaker = None
        self._evaluate_breaker()
