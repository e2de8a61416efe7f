"""Local emulation of stop and trailing-stop orders.

The emulator holds orders a venue cannot take as they are (trailing stops unless the venue
trails natively, stops and stop-limits on venues without stops, and any stop whose spec asks
``emulated=True``), watches market prices, and releases each one when its trigger is reached:

- a STOP (plain or trailing) is released as a **MARKET** order, time in force IOC (FOK if the
  stop was FOK);
- a STOP_LIMIT (plain or trailing) is released as a **LIMIT** order at its limit price, with the
  stop's time in force and expiry.

Releasing yields, in this order: ``OrderTriggered``, ``OrderReleased`` (``released_price`` =
the market price that reached the trigger), and the ``SubmitOrder`` of the released order
(same client order id, so fills land on the same order). Trailing moves are reported as
``OrderUpdated`` (new trigger, and for a stop-limit the limit, which keeps its distance to the
trigger), so the order's state in the OMS is always the emulator's.

Prices. A buy compares the ask (or the last trade), a sell the bid (or the last trade), as
chosen by :class:`TriggerSource`. A buy stop triggers when the price is >= its trigger, a sell
stop when <= its trigger. A sell trailing stop trails the highest price seen (trigger = price -
offset, only ever raised); a buy trailing stop trails the lowest (trigger = price + offset,
only ever lowered). The offset is ``trailing_offset`` ticks for ``PRICE`` and ``TICKS`` (prices
are ticks, so both read the same), and for ``BASIS_POINTS`` ``max(1, price * bps // 10000)``
ticks of the price that moved it. Everything is integer arithmetic and orders are visited in
the order they were held, so the same prices always give the same events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

import msgspec

from hftcore.errors import InvalidValue
from hftcore.model.data import Quote, Trade
from hftcore.model.enums import Side
from hftcore.model.events import (
    CancelAllOrders,
    CancelOrder,
    ModifyOrder,
    OrderCanceled,
    OrderEmulated,
    OrderEvent,
    OrderExpired,
    OrderModifyRejected,
    OrderReleased,
    OrderSpec,
    OrderTriggered,
    OrderUpdated,
    SubmitOrder,
)
from hftcore.model.orders import OrderType, PostOnly, TimeInForce
from hftcore.oms.actions import OmsActions
from hftcore.oms.order import Order, OrderStatus, modify_error


class TriggerSource(IntEnum):
    """Which market prices move and trigger emulated orders."""

    LAST_TRADE = 0
    """Trades only (like the matching engine's stops)."""
    BID_ASK = 1
    """Quotes only: the ask for buys, the bid for sells."""
    BOTH = 2
    """Trades and quotes."""


def trailing_distance(offset_type: str, offset: int, price: int) -> int:
    """The trailing distance in ticks at ``price`` for an offset of ``offset_type``."""
    if offset_type == "BASIS_POINTS":
        return max(1, price * offset // 10_000)
    return offset


def released_spec(spec: OrderSpec) -> OrderSpec:
    """The order sent to the venue when an emulated stop triggers: MARKET (IOC, or FOK if the
    stop was FOK) for a STOP, LIMIT at the current limit price with the stop's time in force
    for a STOP_LIMIT. Quantity, reduce-only and the order-list fields are kept."""
    if spec.order_type == OrderType.STOP_LIMIT:
        return msgspec.structs.replace(
            spec,
            order_type=int(OrderType.LIMIT),
            trigger_price=None,
            trailing_offset=None,
            trailing_offset_type=None,
            emulated=False,
        )
    market_tif = TimeInForce.FOK if spec.time_in_force == TimeInForce.FOK else TimeInForce.IOC
    return msgspec.structs.replace(
        spec,
        order_type=int(OrderType.MARKET),
        price=None,
        trigger_price=None,
        time_in_force=int(market_tif),
        expire_ts=None,
        post_only=int(PostOnly.NONE),
        display_quantity=None,
        trailing_offset=None,
        trailing_offset_type=None,
        emulated=False,
    )


@dataclass(slots=True)
class _Held:
    strategy_id: str
    instrument_id: str
    client_order_id: str
    spec: OrderSpec
    is_buy: bool

    @property
    def ids(self) -> tuple[str, str, str]:
        return self.strategy_id, self.instrument_id, self.client_order_id


class _Step:
    """Events and commands collected during one emulator call."""

    __slots__ = ("commands", "events")

    def __init__(self) -> None:
        self.events: list[OrderEvent] = []
        self.commands: list[SubmitOrder] = []

    def actions(self) -> OmsActions:
        return OmsActions(tuple(self.events), tuple(self.commands))


_STOP_TYPES = (OrderType.STOP, OrderType.STOP_LIMIT)
_NO_ACTIONS = OmsActions()


def _check_ts(ts: object) -> int:
    if not isinstance(ts, int) or isinstance(ts, bool) or ts < 0:
        raise InvalidValue("INVALID_TIMESTAMP", f"ts must be an int >= 0 (ns), got {ts!r}")
    return ts


def _check_price(value: object, what: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidValue("INVALID_PRICE", f"{what} must be an int (ticks) or None, got {value!r}")
    return value


class OrderEmulator:
    """Holds emulated orders and releases them as market data reaches their triggers.

    ``native_stops``: the venue takes STOP/STOP_LIMIT orders (else they are emulated);
    ``native_trailing_stops``: the venue trails natively (else trailing stops are emulated).
    Use one emulator per venue when venues differ.
    """

    def __init__(
        self,
        *,
        native_stops: bool = True,
        native_trailing_stops: bool = False,
        trigger_source: TriggerSource = TriggerSource.BOTH,
    ) -> None:
        if not isinstance(native_stops, bool) or not isinstance(native_trailing_stops, bool):
            raise InvalidValue("INVALID_FLAG", "native_stops and native_trailing_stops are bools")
        if trigger_source not in tuple(TriggerSource):
            raise InvalidValue(
                "INVALID_TRIGGER_SOURCE", f"unknown trigger source {trigger_source!r}"
            )
        self._native_stops = native_stops
        self._native_trailing_stops = native_trailing_stops
        self._use_trades = trigger_source in (TriggerSource.LAST_TRADE, TriggerSource.BOTH)
        self._use_quotes = trigger_source in (TriggerSource.BID_ASK, TriggerSource.BOTH)
        self._held: dict[str, _Held] = {}
        self._by_instrument: dict[str, dict[str, _Held]] = {}
        self._last: dict[str, int] = {}
        self._bid: dict[str, int] = {}
        self._ask: dict[str, int] = {}
        self._ts = 0

    # -- what to emulate -----------------------------------------------------------------------

    def requires_emulation(self, spec: OrderSpec) -> bool:
        """Whether an order with this spec must be held here rather than sent to the venue."""
        if spec.order_type not in _STOP_TYPES:
            return False
        if spec.emulated:
            return True
        if spec.trailing_offset is not None:
            return not self._native_trailing_stops
        return not self._native_stops

    # -- queries -------------------------------------------------------------------------------

    def __contains__(self, client_order_id: object) -> bool:
        return client_order_id in self._held

    def __len__(self) -> int:
        return len(self._held)

    def held_order_ids(self, instrument_id: str | None = None) -> list[str]:
        """Held orders' ids in the order they were held."""
        if instrument_id is None:
            return list(self._held)
        return list(self._by_instrument.get(instrument_id, {}))

    def trigger_price(self, client_order_id: str) -> int | None:
        """The current (possibly trailed) trigger of a held order; None while a trailing stop
        waits for its first price."""
        return self._get(client_order_id).spec.trigger_price

    def spec(self, client_order_id: str) -> OrderSpec:
        """A held order's current spec (trailed trigger and limit included)."""
        return self._get(client_order_id).spec

    def _get(self, client_order_id: str) -> _Held:
        held = self._held.get(client_order_id)
        if held is None:
            raise InvalidValue("UNKNOWN_ORDER", f"order {client_order_id!r} is not emulated here")
        return held

    # -- holding -------------------------------------------------------------------------------

    def hold(self, order: Order, ts: int) -> OmsActions:
        """Takes an INITIALIZED stop order: returns ``OrderEmulated`` and, if the last prices
        already seen reach its trigger, its release at once (as a venue does with a stop whose
        trigger is already reached). A trailing stop without a trigger gets its first one from
        the last price seen, if any."""
        if not isinstance(order, Order):
            raise InvalidValue("INVALID_ORDER", f"hold takes an Order, got {type(order).__name__}")
        if order.status is not OrderStatus.INITIALIZED:
            raise InvalidValue(
                "INVALID_STATE", f"only INITIALIZED orders can be held, not {order.status.name}"
            )
        self._check_holdable(order)
        ts = self._advance(ts)
        held = self._add(order)
        step = _Step()
        step.events.append(OrderEmulated(*held.ids, ts_event=ts, ts_init=ts))
        self._observe_last_seen(held, ts, step)
        return step.actions()

    def restore(self, order: Order) -> None:
        """Takes back an order already EMULATED (rebuilt from the event store after a restart):
        no event, its spec (and trailed trigger) as the OMS has it."""
        if not isinstance(order, Order):
            raise InvalidValue(
                "INVALID_ORDER", f"restore takes an Order, got {type(order).__name__}"
            )
        if order.status is not OrderStatus.EMULATED:
            raise InvalidValue(
                "INVALID_STATE", f"only EMULATED orders can be restored, not {order.status.name}"
            )
        self._check_holdable(order)
        self._add(order)

    def _check_holdable(self, order: Order) -> None:
        if order.spec.order_type not in _STOP_TYPES:
            raise InvalidValue(
                "EMULATION_NOT_SUPPORTED",
                f"only STOP and STOP_LIMIT orders are emulated, not "
                f"{OrderType(order.spec.order_type).name}",
            )
        if order.client_order_id in self._held:
            raise InvalidValue("ALREADY_EMULATED", f"order {order.client_order_id} is held")

    def _add(self, order: Order) -> _Held:
        held = _Held(
            order.strategy_id,
            order.instrument_id,
            order.client_order_id,
            order.spec,
            order.spec.side == Side.BUY,
        )
        self._held[held.client_order_id] = held
        self._by_instrument.setdefault(held.instrument_id, {})[held.client_order_id] = held
        return held

    def _remove(self, held: _Held) -> None:
        del self._held[held.client_order_id]
        by_id = self._by_instrument[held.instrument_id]
        del by_id[held.client_order_id]
        if not by_id:
            del self._by_instrument[held.instrument_id]

    # -- requests from the strategy ------------------------------------------------------------

    def _target(self, command: ModifyOrder | CancelOrder) -> _Held:
        held = self._get(command.client_order_id)
        if held.strategy_id != command.strategy_id or held.instrument_id != command.instrument_id:
            raise InvalidValue(
                "WRONG_ORDER",
                f"order {held.client_order_id} belongs to {held.strategy_id} on "
                f"{held.instrument_id}",
            )
        return held

    def modify(self, command: ModifyOrder, ts: int) -> OmsActions:
        """Modifies a held order locally: ``OrderUpdated`` (then its release if the new
        trigger is already reached by the last prices seen) or ``OrderModifyRejected`` with the
        reason of :func:`~hftcore.oms.order.modify_error`. For a trailing stop-limit a new
        trigger moves the limit with it unless a new price is given; trailing goes on from the
        new trigger."""
        if not isinstance(command, ModifyOrder):
            raise InvalidValue(
                "INVALID_COMMAND", f"expected ModifyOrder, got {type(command).__name__}"
            )
        held = self._target(command)
        ts = self._advance(ts)
        spec = held.spec
        error = modify_error(spec, 0, command.quantity, command.price, command.trigger_price)
        if error is not None:
            reason, _ = error
            return OmsActions(
                (OrderModifyRejected(*held.ids, reason=reason, ts_event=ts, ts_init=ts),)
            )
        price = spec.price if command.price is None else command.price
        trigger = spec.trigger_price if command.trigger_price is None else command.trigger_price
        if (
            command.price is None
            and command.trigger_price is not None
            and spec.trailing_offset is not None
            and spec.price is not None
            and spec.trigger_price is not None
        ):
            price = spec.price + (command.trigger_price - spec.trigger_price)
            if price <= 0:
                return OmsActions(
                    (
                        OrderModifyRejected(
                            *held.ids, reason="INVALID_PRICE", ts_event=ts, ts_init=ts
                        ),
                    )
                )
        quantity = spec.quantity if command.quantity is None else command.quantity
        held.spec = msgspec.structs.replace(
            spec, quantity=quantity, price=price, trigger_price=trigger
        )
        step = _Step()
        step.events.append(
            OrderUpdated(
                *held.ids,
                quantity=quantity,
                price=price,
                trigger_price=trigger,
                ts_event=ts,
                ts_init=ts,
            )
        )
        self._observe_last_seen(held, ts, step)
        return step.actions()

    def cancel(self, command: CancelOrder, ts: int) -> OrderCanceled:
        """Cancels a held order locally (``OrderCanceled`` ``REQUESTED``)."""
        if not isinstance(command, CancelOrder):
            raise InvalidValue(
                "INVALID_COMMAND", f"expected CancelOrder, got {type(command).__name__}"
            )
        held = self._target(command)
        ts = self._advance(ts)
        self._remove(held)
        return OrderCanceled(*held.ids, reason="REQUESTED", ts_event=ts, ts_init=ts)

    def cancel_all(self, command: CancelAllOrders, ts: int) -> list[OrderCanceled]:
        """Cancels the strategy's held orders on the instrument (and side, if given)."""
        if not isinstance(command, CancelAllOrders):
            raise InvalidValue(
                "INVALID_COMMAND", f"expected CancelAllOrders, got {type(command).__name__}"
            )
        if command.side not in (None, 0, 1) or isinstance(command.side, bool):
            raise InvalidValue("INVALID_SIDE", f"side must be None, 0 or 1, got {command.side!r}")
        ts = self._advance(ts)
        canceled: list[OrderCanceled] = []
        for held in list(self._by_instrument.get(command.instrument_id, {}).values()):
            if held.strategy_id != command.strategy_id:
                continue
            if command.side is not None and held.spec.side != command.side:
                continue
            self._remove(held)
            canceled.append(OrderCanceled(*held.ids, reason="REQUESTED", ts_event=ts, ts_init=ts))
        return canceled

    # -- time ----------------------------------------------------------------------------------

    def _advance(self, ts: int) -> int:
        _check_ts(ts)
        if ts < self._ts:
            raise InvalidValue("TIME_WENT_BACKWARDS", f"ts {ts} is before {self._ts}")
        self._ts = ts
        return ts

    def advance_time(self, ts: int) -> list[OrderExpired]:
        """Expires held GTD orders whose ``expire_ts`` is <= ``ts``. (A GTD order past its
        expiry never triggers, even before this is called.)"""
        ts = self._advance(ts)
        if not self._held:  # the usual case on every step of a backtest's clock
            return []
        return self._expire(ts, lambda spec: spec.expire_ts is not None and spec.expire_ts <= ts)

    def end_session(self, ts: int) -> list[OrderExpired]:
        """Expires every held DAY order."""
        ts = self._advance(ts)
        return self._expire(ts, lambda spec: spec.time_in_force == TimeInForce.DAY)

    def _expire(self, ts: int, due: Callable[[OrderSpec], bool]) -> list[OrderExpired]:
        expired = [held for held in self._held.values() if due(held.spec)]
        for held in expired:
            self._remove(held)
        return [OrderExpired(*held.ids, ts_event=ts, ts_init=ts) for held in expired]

    # -- market data ---------------------------------------------------------------------------

    def on_quote(self, quote: Quote) -> OmsActions:
        """Feeds a quote (a side with size <= 0 is absent); time is ``quote.ts_init``."""
        if not isinstance(quote, Quote):
            raise InvalidValue("INVALID_DATA", f"expected a Quote, got {type(quote).__name__}")
        bid = quote.bid_price if quote.bid_size > 0 else None
        ask = quote.ask_price if quote.ask_size > 0 else None
        return self.on_price(quote.instrument_id, bid, ask, None, quote.ts_init)

    def on_trade(self, trade: Trade) -> OmsActions:
        """Feeds a trade print; time is ``trade.ts_init``."""
        if not isinstance(trade, Trade):
            raise InvalidValue("INVALID_DATA", f"expected a Trade, got {type(trade).__name__}")
        return self.on_price(trade.instrument_id, None, None, trade.price, trade.ts_init)

    def on_price(
        self, instrument_id: str, bid: int | None, ask: int | None, last: int | None, ts: int
    ) -> OmsActions:
        """Feeds prices of one instrument (any may be None). For each held order of the
        instrument, in holding order, the last trade is looked at first, then the bid (sells)
        or the ask (buys), each as allowed by the trigger source: a price that reaches the
        trigger releases the order, otherwise it may move a trailing trigger."""
        # Everything is checked before anything changes: plain values in one expression (this
        # runs on every price), anything else by the detailed checks that name the problem.
        if not (
            type(instrument_id) is str
            and instrument_id
            and type(ts) is int
            and ts >= self._ts
            and (last is None or type(last) is int)
            and (bid is None or type(bid) is int)
            and (ask is None or type(ask) is int)
        ):
            if not isinstance(instrument_id, str) or not instrument_id:
                raise InvalidValue("INVALID_INSTRUMENT_ID", f"bad instrument id {instrument_id!r}")
            _check_price(bid, "bid")
            _check_price(ask, "ask")
            _check_price(last, "last")
            ts = self._advance(ts)
        self._ts = ts
        if last is not None:
            self._last[instrument_id] = last
        if bid is not None:
            self._bid[instrument_id] = bid
        if ask is not None:
            self._ask[instrument_id] = ask
        held_here = self._by_instrument.get(instrument_id)
        if not held_here:
            return _NO_ACTIONS
        step = _Step()
        for held in list(held_here.values()):
            self._observe(held, last, ask if held.is_buy else bid, ts, step)
        return step.actions()

    def _observe_last_seen(self, held: _Held, ts: int, step: _Step) -> None:
        instrument = held.instrument_id
        quote = self._ask.get(instrument) if held.is_buy else self._bid.get(instrument)
        self._observe(held, self._last.get(instrument), quote, ts, step)

    def _observe(
        self, held: _Held, last: int | None, quote: int | None, ts: int, step: _Step
    ) -> None:
        expire_ts = held.spec.expire_ts
        if expire_ts is not None and ts >= expire_ts:
            return
        if last is not None and self._use_trades and self._step(held, last, ts, step):
            return
        if quote is not None and self._use_quotes:
            self._step(held, quote, ts, step)

    def _step(self, held: _Held, price: int, ts: int, step: _Step) -> bool:
        """Looks at one price: releases the order (True) or trails it."""
        spec = held.spec
        trigger = spec.trigger_price
        if trigger is not None and (price >= trigger if held.is_buy else price <= trigger):
            self._release(held, price, ts, step)
            return True
        if spec.trailing_offset is not None:
            self._trail(held, price, ts, step)
        return False

    @staticmethod
    def _trail(held: _Held, price: int, ts: int, step: _Step) -> None:
        spec = held.spec
        assert spec.trailing_offset is not None
        assert spec.trailing_offset_type is not None
        distance = trailing_distance(spec.trailing_offset_type, spec.trailing_offset, price)
        candidate = price + distance if held.is_buy else price - distance
        current = spec.trigger_price
        if current is not None and (candidate >= current if held.is_buy else candidate <= current):
            return
        limit = spec.price
        if limit is not None and current is not None:
            limit += candidate - current
        if candidate <= 0 or (limit is not None and limit <= 0):
            return
        held.spec = msgspec.structs.replace(spec, trigger_price=candidate, price=limit)
        step.events.append(
            OrderUpdated(
                *held.ids,
                quantity=spec.quantity,
                price=limit,
                trigger_price=candidate,
                ts_event=ts,
                ts_init=ts,
            )
        )

    def _release(self, held: _Held, price: int, ts: int, step: _Step) -> None:
        self._remove(held)
        step.events.append(OrderTriggered(*held.ids, ts_event=ts, ts_init=ts))
        step.events.append(OrderReleased(*held.ids, released_price=price, ts_event=ts, ts_init=ts))
        step.commands.append(
            SubmitOrder(
                strategy_id=held.strategy_id,
                client_order_id=held.client_order_id,
                order=released_spec(held.spec),
                ts_init=ts,
            )
        )
