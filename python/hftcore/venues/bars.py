"""A simulated venue for bar data, with a documented, deterministic fill model.

Bars say little about the order of prices inside them, so each rule takes the reading that
does not flatter the strategy (``docs/venues.md`` has the full model):

* an order is evaluated against the bars that START at or after it was sent (a bar starts at
  the previous bar's close of the same instrument), so nothing fills at a price the strategy
  could not yet have traded: an order sent at a bar's close fills at the earliest on the next
  bar, at its open;
* market orders fill at the open, ``slippage_ticks`` against us;
* a limit buy fills when the low reaches the limit (``limit_fill="TOUCH"``: low <= limit;
  ``"THROUGH"``: low < limit) at the limit, or at the open if the bar opens at or below it;
  sells mirror this;
* a stop buy triggers when the high reaches the trigger and fills at the trigger, or at the
  open if the bar opens above it, plus slippage; sells mirror this;
* a stop-limit triggers like a stop; triggered at the open it is a limit order for the whole
  bar; triggered inside the bar it fills at the trigger price only if its limit is at or beyond
  the trigger, otherwise it waits for the next bars as a limit order;
* a market-to-limit order fills like a market order; a remainder left by the volume cap rests
  as a limit at that fill's price (``OrderUpdated``);
* ``max_volume_participation`` caps what our orders of one instrument fill in one bar at
  ``floor(volume * cap)`` lots, shared in time priority;
* reduce-only orders (bracket exits, for one) reduce the position the venue holds for their
  strategy, as the matching engine's do: refused (``REDUCE_ONLY_WOULD_INCREASE``) when that
  position is flat or on the order's side, cut to the position's size on entry and after every
  fill that shrinks it (``OrderUpdated``), canceled (``REDUCE_ONLY``) when it is flat or has
  turned; two of them may each cover the whole position.

Time in force: GTC works until filled or canceled; IOC and FOK are evaluated on one bar (IOC
fills what it can there, FOK all or nothing) and canceled after it; DAY works for the trading
day (``floor((ts - session_offset_ns) / 1 day)``) of the first bar it is evaluated against and
expires at a bar of a later day, at :meth:`BarVenue.advance_to` into a later day, or at
:meth:`BarVenue.end_session`; GTD works through the bars that close at or before its
``expire_ts`` and expires when time reaches ``expire_ts``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from math import floor
from typing import Literal

import msgspec

from hftcore._core import Instrument
from hftcore.errors import ConfigError, InvalidData, InvalidValue
from hftcore.model.data import Bar
from hftcore.model.listing import Listing
from hftcore.model.money import all_integers, is_integer, to_decimal, to_money
from hftcore.model.orders import OrderType, TimeInForce
from hftcore.venues.base import (
    TRIGGERED_TYPES,
    ClientOrder,
    EventSink,
    VenueCapabilities,
    VenueClient,
)
from hftcore.venues.commission import CommissionModel, CommissionSchedule, InstrumentFees

DAY_NS = 86_400_000_000_000
BUY = 0


class BarVenueConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Configuration of a :class:`BarVenue`, decodable from TOML/JSON."""

    commission: CommissionModel = InstrumentFees()
    slippage_ticks: int = 0
    """Ticks against us on market, stop and market-to-limit fills (a sell never below 1 tick)."""
    limit_fill: Literal["TOUCH", "THROUGH"] = "TOUCH"
    max_volume_participation: Decimal | None = None
    """Share of a bar's volume our orders may fill, in (0, 1]; None: no cap."""
    session_offset_ns: int = 0
    """Start of the trading day after midnight UTC, for DAY orders, in [0, 1 day)."""

    def __post_init__(self) -> None:
        if not is_integer(self.slippage_ticks) or int(self.slippage_ticks) < 0:
            raise ConfigError(
                "INVALID_CONFIG", f"slippage_ticks must be an int >= 0, got {self.slippage_ticks!r}"
            )
        if self.max_volume_participation is not None:
            cap = _participation_share(self.max_volume_participation)
            if not 0 < cap <= 1:
                raise ConfigError(
                    "INVALID_CONFIG", f"max_volume_participation must be in (0, 1], got {cap}"
                )
        offset = self.session_offset_ns
        if not is_integer(offset) or not 0 <= int(offset) < DAY_NS:
            raise ConfigError(
                "INVALID_CONFIG",
                f"session_offset_ns must be in [0, {DAY_NS}), got {self.session_offset_ns!r}",
            )


def _participation_share(value: Decimal) -> Decimal:
    try:
        return to_decimal(value, "max_volume_participation")
    except InvalidValue as error:
        raise ConfigError("INVALID_CONFIG", error.message) from None


def _reduces(side: int, position: int) -> bool:
    """An order on ``side`` makes ``position`` smaller."""
    return position < 0 if side == BUY else position > 0


@dataclass(slots=True)
class _BarOrder:
    """What the bar venue adds to a working order."""

    order: ClientOrder
    eligible_from: int
    """Time of the submit or last modify: bars starting before it are not used."""
    day: int | None = None
    filled_notional: int = 0


class BarVenue(VenueClient):
    """Backtest venue for bar data (one bar stream per instrument)."""

    def __init__(
        self,
        venue: str,
        instruments: Mapping[Instrument, str],
        config: BarVenueConfig | None = None,
        event_sink: EventSink | None = None,
    ) -> None:
        super().__init__(venue, instruments, event_sink)
        self.config = BarVenueConfig() if config is None else config
        if not isinstance(self.config, BarVenueConfig):
            raise ConfigError("INVALID_CONFIG", "config must be a BarVenueConfig")
        self._commission = CommissionSchedule(self.config.commission)
        cap = self.config.max_volume_participation
        self._participation = None if cap is None else Fraction(_participation_share(cap))
        self._min_notional = {
            instrument_id: to_money(listing.instrument.min_notional, "min_notional")
            for instrument_id, listing in self._listings.items()
        }
        self._working: dict[str, dict[int, _BarOrder]] = {key: {} for key in self._listings}
        self._expiring: dict[str, dict[int, _BarOrder]] = {key: {} for key in self._listings}
        """The DAY and GTD orders among the working ones."""
        self._bar_start: dict[str, int] = {}
        self._now: int | None = None
        self._trade_ids = 0
        self._positions: dict[tuple[str, str], int] = {}
        """Net lots per (strategy, instrument) from this venue's fills: what reduce-only
        orders may reduce."""
        self._capabilities = VenueCapabilities(
            order_types=frozenset(OrderType),
            time_in_force=frozenset(TimeInForce),
            reduce_only=True,
            market_data=frozenset({"BAR"}),
        )

    @property
    def capabilities(self) -> VenueCapabilities:
        return self._capabilities

    @property
    def now(self) -> int | None:
        """Venue time: the latest bar close, command or ``advance_to``."""
        return self._now

    # ----- time -------------------------------------------------------------------------------

    def on_bar(self, bar: Bar) -> None:
        """Evaluates the working orders of the bar's instrument against it (``ts_event`` is
        the bar's close, the time of its fills)."""
        instrument_id, ts = bar.instrument_id, bar.ts_event
        working = self._working.get(instrument_id)
        if working is None:
            raise self._unknown_instrument(instrument_id)
        # One pass for the usual well-formed bar of plain ints; anything else gets the
        # detailed checks (which accept NumPy integers and name what is wrong).
        low = bar.low
        if not (
            type(bar.open) is type(bar.high) is type(low) is type(bar.close) is int
            and type(bar.volume) is type(ts) is int
            and 0 < low <= bar.open <= bar.high
            and low <= bar.close <= bar.high
            and bar.volume >= 0
        ):
            self._check_bar(bar)
        now = self._now
        if now is not None and ts < now:
            self._check_time(instrument_id, ts)
        self._now = ts
        if not working:  # nothing to fill or expire (the expiring orders are working ones)
            self._bar_start[instrument_id] = ts
            return
        previous = ts if now is None else now
        start = self._bar_start.get(instrument_id)
        self._bar_start[instrument_id] = ts
        listing = self._listings[instrument_id]
        budget = None if self._participation is None else floor(self._participation * bar.volume)
        expiring = self._expiring[instrument_id]
        self._expire_over(expiring, ts, previous, at_expiry=False)
        for state in list(working.values()):
            if state.order.closed:  # a reduce-only order an earlier fill of this bar ended
                continue
            if start is not None and state.eligible_from > start:
                continue
            budget = self._evaluate(state, bar, listing, budget)
            time_in_force = state.order.spec.time_in_force
            if not state.order.closed and time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
                reason = (
                    "IMMEDIATE_OR_CANCEL" if time_in_force == TimeInForce.IOC else "FILL_OR_KILL"
                )
                self._emit_canceled(state.order, reason, ts)
            self._forget_if_closed(state)
        self._expire_over(expiring, ts, previous, at_expiry=True)

    def advance_to(self, ts: int) -> None:
        """Moves time to ``ts``: GTD orders with ``expire_ts <= ts`` and DAY orders of an
        earlier trading day expire."""
        self._check_time("", ts)
        previous = self._now if self._now is not None else ts
        self._now = ts
        for expiring in self._expiring.values():
            if expiring:
                self._expire_over(expiring, ts, previous, at_expiry=True)

    def end_session(self, ts: int) -> None:
        """The trading session ends at ``ts``: every working DAY order expires."""
        self._check_time("", ts)
        self._now = ts
        for working in self._working.values():
            for state in list(working.values()):
                if state.order.spec.time_in_force == TimeInForce.DAY:
                    self._emit_expired(state.order, ts)
                    self._forget_if_closed(state)

    # ----- commands ---------------------------------------------------------------------------

    def _check_time(self, instrument_id: str, ts: int) -> None:
        if self._now is not None and ts < self._now:
            raise InvalidData(
                "TIMESTAMP_BEFORE_VENUE_TIME", f"time {ts} is before venue time {self._now}"
            )

    def _refusal(self, order: ClientOrder, ts: int) -> str | None:
        spec = order.spec
        instrument = self._listing(spec.instrument_id).instrument
        if spec.quantity < instrument.min_quantity:
            return "QUANTITY_BELOW_MINIMUM"
        if spec.quantity > instrument.max_quantity:
            return "QUANTITY_ABOVE_MAXIMUM"
        waits = spec.order_type in (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.MARKET_TO_LIMIT)
        if waits and spec.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            return "INVALID_TIME_IN_FORCE"
        if spec.expire_ts is not None and spec.expire_ts <= ts:
            return "INVALID_EXPIRY"
        if order.price is not None:
            notional = self._listing(spec.instrument_id).notional(order.price, spec.quantity)
            if notional < self._min_notional[spec.instrument_id]:
                return "NOTIONAL_BELOW_MINIMUM"
        if spec.reduce_only and not _reduces(order.side, self._position(order)):
            return "REDUCE_ONLY_WOULD_INCREASE"
        return None

    def _position(self, order: ClientOrder) -> int:
        return self._positions.get((order.strategy_id, order.instrument_id), 0)

    def _fit_reduce_only(self, state: _BarOrder, ts: int) -> None:
        """Keeps a working reduce-only order within the position it reduces."""
        order = state.order
        position = self._position(order)
        if not _reduces(order.side, position):
            self._emit_canceled(order, "REDUCE_ONLY", ts)
            self._forget_if_closed(state)
        elif order.quantity - order.filled > abs(position):
            self._emit_updated(
                order, order.filled + abs(position), order.price, order.trigger_price, ts
            )

    def _fit_reduce_only_orders(self, strategy_id: str, instrument_id: str, ts: int) -> None:
        for state in list(self._working[instrument_id].values()):
            order = state.order
            if order.spec.reduce_only and order.strategy_id == strategy_id and not order.closed:
                self._fit_reduce_only(state, ts)

    def _send_submit(self, order: ClientOrder, ts: int) -> None:
        self._now = ts
        state = _BarOrder(order, ts)
        self._working[order.instrument_id][order.venue_order_id] = state
        if order.spec.time_in_force in (TimeInForce.DAY, TimeInForce.GTD):
            self._expiring[order.instrument_id][order.venue_order_id] = state
        self._emit_accepted(order, ts)
        if order.spec.reduce_only:
            self._fit_reduce_only(state, ts)

    def _send_modify(
        self,
        order: ClientOrder,
        quantity: int | None,
        price: int | None,
        trigger_price: int | None,
        ts: int,
    ) -> None:
        self._now = ts
        working = self._working[order.instrument_id]
        state = working.get(order.venue_order_id)
        if state is None:
            self._emit_modify_rejected(order, "UNKNOWN_ORDER", ts)
            return
        if (price is not None and order.price is None) or (
            trigger_price is not None and order.triggered
        ):
            self._emit_modify_rejected(order, "ORDER_NOT_MODIFIABLE", ts)
            return
        new_quantity = order.quantity if quantity is None else quantity
        if new_quantity <= order.filled:
            self._emit_canceled(order, "REQUESTED", ts)
            self._forget_if_closed(state)
            return
        instrument = self._listing(order.instrument_id).instrument
        if new_quantity < instrument.min_quantity:
            self._emit_modify_rejected(order, "QUANTITY_BELOW_MINIMUM", ts)
            return
        if new_quantity > instrument.max_quantity:
            self._emit_modify_rejected(order, "QUANTITY_ABOVE_MAXIMUM", ts)
            return
        loses_priority = (price is not None and price != order.price) or (
            new_quantity > order.quantity
        )
        self._emit_updated(
            order,
            new_quantity,
            order.price if price is None else price,
            order.trigger_price if trigger_price is None else trigger_price,
            ts,
        )
        state.eligible_from = ts
        if loses_priority:
            working[order.venue_order_id] = working.pop(order.venue_order_id)
        if order.spec.reduce_only:
            self._fit_reduce_only(state, ts)

    def _send_cancel(self, order: ClientOrder, ts: int) -> None:
        self._now = ts
        state = self._working[order.instrument_id].get(order.venue_order_id)
        if state is None:
            self._emit_cancel_rejected(order, "UNKNOWN_ORDER", ts)
            return
        self._emit_canceled(order, "REQUESTED", ts)
        self._forget_if_closed(state)

    # ----- the fill model ---------------------------------------------------------------------

    def _check_bar(self, bar: Bar) -> None:
        opening, high, low, close = bar.open, bar.high, bar.low, bar.close
        if not all_integers((opening, high, low, close, bar.volume, bar.ts_event)):
            raise InvalidData("INVALID_BAR", f"bar fields must be ints: {bar!r}")
        if low <= 0:
            raise InvalidData("INVALID_BAR", f"bar prices must be > 0: {bar!r}")
        if not (low <= opening <= high and low <= close <= high):
            raise InvalidData("INVALID_BAR", f"bar needs low <= open, close <= high: {bar!r}")
        if bar.volume < 0:
            raise InvalidData("INVALID_BAR", f"bar volume must be >= 0: {bar!r}")

    def _expire_over(
        self, expiring: dict[int, _BarOrder], ts: int, previous: int, *, at_expiry: bool
    ) -> None:
        """Expires the orders whose life is over at time ``ts``, earliest end first: GTD
        orders past their ``expire_ts`` (or at it, with ``at_expiry``), DAY orders in a later
        trading day. An event's time is when the life ended, not before ``previous`` (the
        venue's time before this step)."""
        if not expiring:
            return
        ended = []
        for priority, state in enumerate(expiring.values()):
            end = self._life_end(state, ts, at_expiry=at_expiry)
            if end is not None:
                ended.append((max(end, previous), priority, state))
        for end, _, state in sorted(ended, key=lambda item: item[:2]):
            self._emit_expired(state.order, end)
            self._forget_if_closed(state)

    def _life_end(self, state: _BarOrder, ts: int, *, at_expiry: bool) -> int | None:
        expire_ts = state.order.spec.expire_ts
        if expire_ts is not None and (expire_ts < ts or (at_expiry and expire_ts == ts)):
            return int(expire_ts)
        if state.day is not None and self._day(ts) > state.day:
            return (state.day + 1) * DAY_NS + self.config.session_offset_ns
        return None

    def _day(self, ts: int) -> int:
        return (ts - self.config.session_offset_ns) // DAY_NS

    def _evaluate(
        self, state: _BarOrder, bar: Bar, listing: Listing, budget: int | None
    ) -> int | None:
        """Fills an order on a bar where the model says so; returns the volume budget left."""
        order = state.order
        if order.spec.time_in_force == TimeInForce.DAY and state.day is None:
            state.day = self._day(bar.ts_event)
        triggers, match = self._match(order, bar)
        if triggers:
            self._emit_triggered(order, bar.ts_event)
        if match is None:
            return budget
        price, liquidity = match
        leaves = order.quantity - order.filled
        quantity = leaves if budget is None else min(leaves, budget)
        if quantity == 0 or (order.spec.time_in_force == TimeInForce.FOK and quantity < leaves):
            return budget
        notional = listing.notional(price, quantity)
        commission = self._commission.charge(
            listing.instrument,
            lots_before=order.filled,
            notional_before=state.filled_notional,
            lots=quantity,
            notional=notional,
            liquidity=liquidity,
        )
        state.filled_notional += notional
        self._trade_ids += 1
        # The position moves before the fill is told: a bracket's exits, released by it, are
        # checked against the position the fill made.
        owner = (order.strategy_id, order.instrument_id)
        position = self._positions.get(owner, 0) + (quantity if order.side == BUY else -quantity)
        self._positions[owner] = position
        self._emit_filled(
            order,
            trade_id=f"{order.instrument_id}-{self._trade_ids}",
            price=price,
            quantity=quantity,
            liquidity=liquidity,
            commission=commission,
            ts=bar.ts_event,
        )
        is_market_to_limit = order.spec.order_type == OrderType.MARKET_TO_LIMIT
        if is_market_to_limit and order.price is None and not order.closed:
            self._emit_updated(order, order.quantity, price, None, bar.ts_event)
        self._fit_reduce_only_orders(order.strategy_id, order.instrument_id, bar.ts_event)
        return None if budget is None else budget - quantity

    def _match(self, order: ClientOrder, bar: Bar) -> tuple[bool, tuple[int, str] | None]:
        """Whether a waiting stop triggers on this bar, and the ``(price, liquidity)`` at which
        the order fills on it (or None). Works on the buyer's view: a sell's prices are
        negated, which turns its rules into the buy rules (its high becomes the buyer's low)."""
        sign = 1 if order.side == BUY else -1
        opening = sign * bar.open
        adverse, favourable = (bar.high, bar.low) if sign == 1 else (-bar.low, -bar.high)
        slip = self.config.slippage_ticks
        limit = None if order.price is None else sign * order.price
        triggers = False
        matched: tuple[int, str] | None
        if order.spec.order_type in TRIGGERED_TYPES and not order.triggered:
            trigger = sign * (order.trigger_price or 0)
            if adverse < trigger:
                return False, None
            triggers = True
            if limit is None:
                matched = (max(trigger, opening) + slip, "TAKER")
            elif opening >= trigger:
                matched = self._limit_match(limit, opening, favourable)
            elif limit >= trigger:
                matched = (trigger, "TAKER")
            else:
                matched = None
        elif limit is None:
            matched = (opening + slip, "TAKER")
        else:
            matched = self._limit_match(limit, opening, favourable)
        if matched is None:
            return triggers, None
        price, liquidity = matched
        return triggers, ((price if sign == 1 else max(1, -price)), liquidity)

    def _limit_match(self, limit: int, opening: int, favourable: int) -> tuple[int, str] | None:
        if opening <= limit:
            return opening, "TAKER"
        if favourable < limit or (favourable == limit and self.config.limit_fill == "TOUCH"):
            return limit, "MAKER"
        return None

    def _forget_if_closed(self, state: _BarOrder) -> None:
        if state.order.closed:
            self._working[state.order.instrument_id].pop(state.order.venue_order_id, None)
            self._expiring[state.order.instrument_id].pop(state.order.venue_order_id, None)
