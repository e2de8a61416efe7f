"""Type stubs of the compiled extension ``hftcore._core``."""

from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from hftcore.model.risk import (
    AccountLimits,
    CircuitBreakerTrip,
    InstrumentLimits,
    OpenOrder,
    RiskPosition,
    TradingState,
)

__version__: str

Number = int | float | Decimal | str
Records = npt.NDArray[np.void]
Level = tuple[int, int]
OrderTuple = tuple[int, int, int, int, int]
Crossing = Literal["NORMAL", "LOCKED", "CROSSED"]
OnError = Literal["raise", "skip"]

L2_DELTA_DTYPE: np.dtype[np.void]
L3_MESSAGE_DTYPE: np.dtype[np.void]
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
    def __getnewargs__(self) -> tuple[str, str, int, str, int, str, str, str, str, str]: ...

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

class ReplayResult:
    """Outcome of a bulk apply; top-of-book columns when ``return_top=True``."""

    applied: int
    rejected: int
    gaps: int
    first_error_index: int | None
    first_error: str | None
    first_error_message: str | None
    bid_price: npt.NDArray[np.int64] | None
    bid_quantity: npt.NDArray[np.int64] | None
    ask_price: npt.NDArray[np.int64] | None
    ask_quantity: npt.NDArray[np.int64] | None

class _BookFeatures:
    @property
    def instrument(self) -> Instrument: ...
    def best_bid(self) -> Level | None: ...
    def best_ask(self) -> Level | None: ...
    def top(self) -> tuple[int, int, int, int]: ...
    def spread(self) -> int | None: ...
    def mid(self) -> float | None: ...
    def microprice(self) -> float | None: ...
    def imbalance(self, levels: int = 1) -> float | None: ...
    def crossing(self) -> Crossing: ...
    def depth(
        self, side: int, levels: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
    def walk(self, side: int, quantity: int) -> tuple[int, float | None, int, int]: ...
    def levels(self, side: int) -> list[Level]: ...
    def last_sequence(self) -> int | None: ...
    def clear(self) -> None: ...
    def __copy__(self) -> Any: ...
    def __deepcopy__(self, memo: Any) -> Any: ...

class OrderBookL2(_BookFeatures):
    """Price-level (L2) order book of one instrument (prices in ticks, sizes in lots)."""

    def __init__(self, instrument: Instrument) -> None: ...
    def apply_delta(self, side: int, price: int, quantity: int) -> None: ...
    def apply_delta_sequenced(
        self, sequence: int, side: int, price: int, quantity: int
    ) -> None: ...
    def apply_snapshot(
        self, bids: list[Level], asks: list[Level], sequence: int | None = None
    ) -> None: ...
    def apply_deltas(
        self, records: Records, on_error: OnError = "raise", return_top: bool = False
    ) -> ReplayResult: ...
    def quantity_at(self, side: int, price: int) -> int: ...
    def level_counts(self) -> tuple[int, int]: ...

class OrderBookL3(_BookFeatures):
    """Order-by-order (L3) book: FIFO queues, queue positions and a derived L2 view."""

    def __init__(self, instrument: Instrument) -> None: ...
    def add(self, order_id: int, side: int, price: int, quantity: int) -> None: ...
    def cancel(self, order_id: int) -> OrderTuple: ...
    def reduce(self, order_id: int, by: int) -> int: ...
    def execute(self, order_id: int, quantity: int) -> int: ...
    def replace(self, order_id: int, price: int, quantity: int) -> None: ...
    def queue_ahead(self, order_id: int) -> int: ...
    def order(self, order_id: int) -> OrderTuple | None: ...
    def __contains__(self, order_id: int) -> bool: ...
    def __len__(self) -> int: ...
    def queue(self, side: int, price: int) -> list[OrderTuple]: ...
    def order_count_at(self, side: int, price: int) -> int: ...
    def apply_messages(
        self, records: Records, on_error: OnError = "raise", return_top: bool = False
    ) -> ReplayResult: ...
    def to_l2(self) -> OrderBookL2: ...
    def allocated_slots(self) -> tuple[int, int]: ...

def synthetic_l3_messages(
    count: int,
    seed: int = 7,
    initial_price: int = 100_000,
    limit_rate: float = 1.0,
    market_rate: float = 0.12,
    cancel_rate: float = 0.0002,
    distance_decay: float = 0.25,
    mean_size: float = 10.0,
    max_live_orders: int = 20_000,
    mean_interval_ns: float = 50_000.0,
    start_ts: int = 1_700_000_000_000_000_000,
) -> Records: ...
def l2_deltas_from_l3(messages: Records) -> Records: ...

# ----- simulated venue -------------------------------------------------------------------------

TRADE_DTYPE: np.dtype[np.void]
TimeInForceName = Literal["GTC", "IOC", "FOK", "DAY", "GTD"]

class LatencyModel:
    """How a latency (feed, order entry or response) is produced, in ns: a constant, a table of
    ``(ts, latency)`` points linearly interpolated, or a seeded distribution. Invalid
    parameters raise ``ConfigError`` (``INVALID_LATENCY``)."""

    @property
    def kind(self) -> Literal["CONSTANT", "TABLE", "NORMAL", "LOGNORMAL", "UNIFORM"]: ...
    @staticmethod
    def constant(ns: int) -> LatencyModel: ...
    @staticmethod
    def table(points: list[tuple[int, int]]) -> LatencyModel: ...
    @staticmethod
    def normal(mean: float, std_dev: float, seed: int = 0) -> LatencyModel: ...
    @staticmethod
    def lognormal(mu: float, sigma: float, seed: int = 0) -> LatencyModel: ...
    @staticmethod
    def uniform(low: float, high: float, seed: int = 0) -> LatencyModel: ...

class QueueModel:
    """Queue-position model: ``fifo()`` for L3 data; ``risk_averse()``, ``power(n)`` or
    ``log()`` for L2 data."""

    @property
    def kind(self) -> Literal["FIFO", "RISK_AVERSE", "POWER", "LOG"]: ...
    @property
    def exponent(self) -> float | None: ...
    @staticmethod
    def fifo() -> QueueModel: ...
    @staticmethod
    def risk_averse() -> QueueModel: ...
    @staticmethod
    def power(exponent: float) -> QueueModel: ...
    @staticmethod
    def log() -> QueueModel: ...
    def cancel_ahead_probability(self, ahead: int, behind: int) -> float: ...

class VenueOrder:
    """One of our orders resting at the simulated venue."""

    order_id: int
    side: int
    price: int
    quantity: int
    leaves: int
    post_only: bool
    queue_ahead: int

class VenueReplayResult:
    """Events, counts and optional feed-time columns of a bulk venue replay."""

    events: list[OrderEvent]
    applied: int
    rejected: int
    first_error_array: Literal["deltas", "trades", "messages"] | None
    first_error_index: int | None
    first_error: str | None
    first_error_message: str | None
    feed_ts: npt.NDArray[np.int64] | None
    trade_feed_ts: npt.NDArray[np.int64] | None

StepEnd = Literal["CHANGE", "DUE", "PAUSED", "DONE"]
"""Why an :meth:`L2Stepper.step` stopped."""
SteppedPrint = tuple[int, int, int, int, int]
"""``(ts_event, seen, price, quantity, aggressor_side)`` of a print replayed by a step."""

class L2Stepper:
    """L2 deltas and prints stepped through a :class:`SimulatedVenue` and a node's
    :class:`OrderBookL2` from one top-of-book change to the next."""

    def __init__(
        self,
        venue: SimulatedVenue,
        book: OrderBookL2,
        deltas: npt.NDArray[np.void],
        trades: npt.NDArray[np.void] | None = None,
    ) -> None: ...
    def step(
        self,
        venue: SimulatedVenue,
        book: OrderBookL2,
        detect_changes: bool,
        max_deltas: int,
        last_print_only: bool = False,
        held_until: int | None = None,
    ) -> tuple[StepEnd, int, list[OrderEvent], list[SteppedPrint], bool]: ...
    def apply_pending(self, venue: SimulatedVenue, book: OrderBookL2) -> None: ...
    @property
    def done(self) -> bool: ...

class SimulatedVenue:
    """Simulated venue for backtests: our orders against a book replayed from L2 or L3 data,
    with queue position, latencies, optional market impact and fees; deterministic."""

    def __init__(
        self,
        instrument: Instrument,
        data: Literal["L2", "L3"] = "L2",
        queue_model: QueueModel | None = None,
        feed_latency: LatencyModel | None = None,
        order_latency: LatencyModel | None = None,
        response_latency: LatencyModel | None = None,
        market_impact: bool = False,
        seed: int = 0,
    ) -> None: ...
    @staticmethod
    def from_snapshot(instrument: Instrument, data: bytes) -> SimulatedVenue: ...
    def snapshot(self) -> bytes: ...
    def __copy__(self) -> SimulatedVenue: ...
    def __deepcopy__(self, memo: Any) -> SimulatedVenue: ...
    @property
    def instrument(self) -> Instrument: ...
    @property
    def data(self) -> Literal["L2", "L3"]: ...
    @property
    def queue_model(self) -> QueueModel: ...
    @property
    def feed_latency(self) -> LatencyModel: ...
    @property
    def order_latency(self) -> LatencyModel: ...
    @property
    def response_latency(self) -> LatencyModel: ...
    @property
    def market_impact(self) -> bool: ...
    @property
    def seed(self) -> int: ...
    @property
    def now(self) -> int | None: ...
    @property
    def last_feed_ts(self) -> int | None: ...
    @property
    def pending_commands(self) -> int: ...
    def submit_limit(
        self,
        ts: int,
        order_id: int,
        side: int,
        price: int,
        quantity: int,
        time_in_force: TimeInForceName = "GTC",
        post_only: bool = False,
    ) -> list[OrderEvent]: ...
    def submit_market(
        self, ts: int, order_id: int, side: int, quantity: int
    ) -> list[OrderEvent]: ...
    def cancel(self, ts: int, order_id: int) -> list[OrderEvent]: ...
    def modify(self, ts: int, order_id: int, price: int, quantity: int) -> list[OrderEvent]: ...
    def advance_to(self, ts: int) -> list[OrderEvent]: ...
    def on_l2_delta(self, ts: int, side: int, price: int, quantity: int) -> list[OrderEvent]: ...
    def on_l2_clear(self, ts: int) -> list[OrderEvent]: ...
    def on_trade(
        self, ts: int, aggressor_side: int, price: int, quantity: int
    ) -> list[OrderEvent]: ...
    def on_l3_add(
        self, ts: int, order_id: int, side: int, price: int, quantity: int
    ) -> list[OrderEvent]: ...
    def on_l3_cancel(self, ts: int, order_id: int) -> list[OrderEvent]: ...
    def on_l3_reduce(self, ts: int, order_id: int, by: int) -> list[OrderEvent]: ...
    def on_l3_replace(
        self, ts: int, order_id: int, price: int, quantity: int
    ) -> list[OrderEvent]: ...
    def on_l3_execute(self, ts: int, order_id: int, quantity: int) -> list[OrderEvent]: ...
    def on_l3_clear(self, ts: int) -> list[OrderEvent]: ...
    def replay_l2(
        self,
        deltas: Records,
        trades: Records | None = None,
        on_error: OnError = "raise",
        return_feed_ts: bool = False,
    ) -> VenueReplayResult: ...
    def replay_l3(
        self, messages: Records, on_error: OnError = "raise", return_feed_ts: bool = False
    ) -> VenueReplayResult: ...
    def queue_ahead(self, order_id: int) -> int: ...
    def open_orders(self) -> list[VenueOrder]: ...
    def open_order(self, order_id: int) -> VenueOrder | None: ...
    def best_bid(self) -> Level | None: ...
    def best_ask(self) -> Level | None: ...
    def market_quantity_at(self, side: int, price: int) -> int: ...
    def available_at(self, side: int, price: int) -> int: ...

def l2_replay_from_l3(messages: Records) -> tuple[Records, Records]: ...
def risk_reject_reasons() -> list[tuple[int, str, str]]:
    """The ``(code, name, sentence)`` of every risk reject reason, in check order."""

class RiskGate:
    """Pre-trade risk gate of one account over several instruments.

    Every order passes :meth:`check_order` before it may be sent: the checks run in a fixed
    order (see :class:`hftcore.model.risk.RejectReason`) and the first failure decides. Prices
    are ticks, quantities lots, timestamps integer nanoseconds supplied by the caller. An
    approved order is open at once and counts against position, exposure and open-order limits
    until :meth:`on_fill` fills it completely or :meth:`on_order_closed` closes it. Malformed
    calls raise :class:`hftcore.errors.InvalidValue` and change nothing; bad limits raise
    :class:`hftcore.errors.ConfigError` naming the field.
    """

    def __init__(self, limits: AccountLimits | None = None) -> None: ...
    def register_instrument(
        self, instrument: Instrument, limits: InstrumentLimits | None = None
    ) -> int:
        """Adds an instrument and returns its index; an instrument id registers once."""
    def instrument_index(self, instrument_id: str) -> int:
        """The index of a registered instrument id."""
    @property
    def instrument_ids(self) -> list[str]:
        """Registered instrument ids, by index."""
    def set_instrument_limits(self, instrument: int, limits: InstrumentLimits) -> None:
        """Replaces one instrument's limits; they apply from the next check."""
    def set_account_limits(self, limits: AccountLimits) -> None:
        """Replaces the account limits; a lower daily loss limit may trip the breaker."""
    def check_order(
        self, order_id: int, instrument: int, side: int, price: int, quantity: int, ts: int
    ) -> int:
        """0 if approved (the order is then open), else the ``RejectReason`` code."""
    def check_order_or_raise(
        self, order_id: int, instrument: int, side: int, price: int, quantity: int, ts: int
    ) -> None:
        """As :meth:`check_order`, raising :class:`hftcore.errors.RiskRejected` on a reject."""
    def check_order_values(
        self,
        order_id: int,
        instrument: int,
        side: int,
        price: Number,
        quantity: Number,
        ts: int,
    ) -> int:
        """As :meth:`check_order` with price and quantity in the instrument's units;
        off-grid values are rejected with ``OFF_GRID``."""
    def check_cancel(self, order_id: int, ts: int) -> int:
        """0 if the cancel may be sent, else the ``CANCEL_RATE`` code."""
    def check_cancel_or_raise(self, order_id: int, ts: int) -> None:
        """As :meth:`check_cancel`, raising :class:`hftcore.errors.RiskRejected` if refused."""
    def add_open_order(
        self, order_id: int, instrument: int, side: int, price: int, quantity: int
    ) -> None:
        """Tracks an order already working at the venue without checking it."""
    def on_fill(
        self, order_id: int, price: int, quantity: int, ts: int, fee: Number | None = None
    ) -> None:
        """A fill on an open order; ``fee`` in the quote currency (negative: a rebate)."""
    def on_order_closed(self, order_id: int) -> None:
        """An open order ended without further fills (canceled, expired, rejected)."""
    def on_price(self, instrument: int, price: int, ts: int) -> None:
        """A new reference (mark) price in ticks; may trip the circuit breaker."""
    def set_position(
        self, instrument: int, quantity: int, average_price: Number | None = None
    ) -> None:
        """Sets a position in signed lots entered at ``average_price``; daily P&L holds."""
    def start_day(self, ts: int) -> None:
        """Makes the current P&L the daily baseline and clears a tripped breaker."""
    @property
    def day_start_ts(self) -> int | None:
        """Timestamp (ns) of the latest :meth:`start_day`, or ``None`` before the first."""
    def engage_kill_switch(self) -> None:
        """Blocks every order until :meth:`reset_kill_switch`; cancels still pass."""
    def reset_kill_switch(self) -> None: ...
    @property
    def kill_switch_engaged(self) -> bool: ...
    def set_trading_state(self, state: TradingState | int) -> None:
        """Sets the operator's trading state."""
    @property
    def trading_state(self) -> TradingState:
        """The stricter of the operator's state and the circuit breaker's."""
    @property
    def operator_trading_state(self) -> TradingState: ...
    def reset_circuit_breaker(self, ts: int) -> None:
        """Clears the breaker; it trips again at once if the loss is still past the limit."""
    @property
    def circuit_breaker_trip(self) -> CircuitBreakerTrip | None: ...
    @property
    def realized_pnl(self) -> Decimal: ...
    @property
    def unrealized_pnl(self) -> Decimal: ...
    @property
    def daily_pnl(self) -> Decimal: ...
    @property
    def gross_exposure(self) -> Decimal: ...
    @property
    def net_exposure(self) -> Decimal: ...
    @property
    def open_order_count(self) -> int: ...
    def position(self, instrument: int) -> RiskPosition: ...
    def open_order(self, order_id: int) -> OpenOrder | None: ...
    def open_orders(self) -> list[OpenOrder]:
        """Every open order, sorted by order id."""
    def order_tokens(self, ts: int) -> int | None: ...
    def cancel_tokens(self, ts: int) -> int | None: ...

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

EngineLevel = tuple[int, int, int]  # price, visible quantity, order count

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
    def best_bid(self, instrument: int) -> EngineLevel | None:
        """``(price, quantity, order_count)`` of the best bid."""
    def best_ask(self, instrument: int) -> EngineLevel | None:
        """``(price, quantity, order_count)`` of the best ask."""
    def levels(self, instrument: int, side: int, depth: int | None = None) -> list[EngineLevel]:
        """EngineLevels of one side, best first, visible quantity only."""
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

class BinanceDepthUpdate:
    """A Binance depth update decoded in the core: ids, event time and exact level changes."""

    @property
    def event_time_ms(self) -> int: ...
    @property
    def first_update_id(self) -> int: ...
    @property
    def final_update_id(self) -> int: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[tuple[int, int, int]]: ...
    def apply_to(self, book: OrderBookL2) -> None: ...

def decode_binance_depth(frame: bytes, instrument: Instrument) -> BinanceDepthUpdate: ...
def kraken_book_checksum(book: OrderBookL2) -> int: ...
