"""The portfolio: positions, P&L, cash balances and equity, exact, from fills and mark prices.

Fed every :class:`~hftcore.model.events.OrderFilled` (``apply_fill``) and mark prices
(``mark``), it keeps

* one position per (strategy, instrument): net quantity in lots, the average entry price (an
  exact fraction of ticks), realized P&L, commissions per currency, when it opened and closed;
  crossing through zero closes the old position and opens the new one at the fill price;
* cash per currency, starting from the given balances: a fill moves its quote currency by
  ``-side * notional`` (a buy pays, a sell receives) and the commission currency by
  ``-commission``; short positions are cash plus a negative holding, so no margin is modelled;
* equity in the base currency: every balance and every position at its mark, converted at the
  rates given with ``set_rate``.

Money is exact: notionals, commissions and cash are ints of 1e-12 units of their currency; an
average cost after a partial close and an amount converted at a rate are exact fractions,
rounded half away from zero once, when reported. So ``realized + unrealized - commissions``
equals the change in equity up to that final rounding. See ``docs/portfolio.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import msgspec

from hftcore._core import Instrument
from hftcore.errors import ConfigError, InvalidValue
from hftcore.model.events import OrderFilled
from hftcore.model.listing import Listing, listings
from hftcore.model.money import (
    MoneyInput,
    exact_ratio,
    is_integer,
    round_half_away,
    round_ratio,
    to_decimal,
    to_money,
)

AVERAGE_PRICE_EXTRA_PLACES = 8
"""Decimals beyond the instrument's price precision in a snapshot's ``average_price``."""


class PositionSnapshot(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A position at one moment; money in 1e-12 units of ``currency`` (the quote currency)
    except ``commissions``, keyed by the currency they were paid in.

    ``average_price`` is in price units, rounded to 8 decimals beyond the instrument's price
    precision (:meth:`Portfolio.average_price_ticks` is exact); ``unrealized_pnl`` is at
    ``mark_price`` (the latest mark, or the last fill price if the instrument has none).
    """

    strategy_id: str
    instrument_id: str
    currency: str
    quantity: int
    average_price: Decimal | None
    realized_pnl: int
    unrealized_pnl: int
    commissions: dict[str, int]
    mark_price: int | None
    ts_opened: int | None
    ts_closed: int | None
    ts_last: int


class PortfolioSnapshot(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The account at ``ts``: equity and P&L totals in ``base_currency`` money units, cash
    per currency, and the positions (flat ones included: they hold realized P&L)."""

    ts: int
    base_currency: str
    equity: int
    balances: dict[str, int]
    realized_pnl: int
    unrealized_pnl: int
    commissions: int
    positions: tuple[PositionSnapshot, ...]


Exact = int | Fraction
"""An exact amount of money units: an int unless a division left a fraction."""


def _normalized(value: Exact) -> Exact:
    if type(value) is not int and value.denominator == 1:
        return value.numerator
    return value


@dataclass(slots=True)
class _Position:
    strategy_id: str
    listing: Listing
    quantity: int = 0
    cost: Exact = 0
    """Signed money paid for the open quantity (negative for a short: proceeds)."""
    realized: Exact = 0
    commissions: dict[str, int] = field(default_factory=dict)
    ts_opened: int | None = None
    ts_closed: int | None = None
    ts_last: int = 0

    def apply(self, side_sign: int, price: int, quantity: int, ts: int) -> None:
        notional = self.listing.notional(price, quantity)
        if self.quantity == 0 or (self.quantity > 0) == (side_sign > 0):
            if self.quantity == 0:
                self.ts_opened, self.ts_closed = ts, None
            self.quantity += side_sign * quantity
            self.cost += side_sign * notional
            return
        held = abs(self.quantity)
        closing = min(quantity, held)
        released = exact_ratio(self.cost * closing, held)
        # Closing a long sells (receives); closing a short buys back (pays).
        self.realized = _normalized(
            self.realized - side_sign * self.listing.notional(price, closing) - released
        )
        self.cost = _normalized(self.cost - released)
        self.quantity += side_sign * closing
        if self.quantity == 0:
            self.cost = 0
            self.ts_closed = ts
        opening = quantity - closing
        if opening:
            self.quantity = side_sign * opening
            self.cost = side_sign * self.listing.notional(price, opening)
            self.ts_opened, self.ts_closed = ts, None

    def unrealized(self, mark: int | None) -> Exact:
        if self.quantity == 0 or mark is None:
            return 0
        return self.listing.notional(mark, self.quantity) - self.cost


class Portfolio:
    """Positions, balances and equity of one account.

    ``instruments`` maps each :class:`~hftcore.Instrument` to its quote currency;
    ``starting_balances`` gives cash per currency (amounts as int, str or Decimal units of the
    currency, exact to 1e-12); equity and totals are reported in ``base_currency``.
    """

    def __init__(
        self,
        instruments: Mapping[Instrument, str],
        base_currency: str,
        starting_balances: Mapping[str, MoneyInput] | None = None,
    ) -> None:
        self._listings = listings(instruments)
        self.base_currency = _currency(base_currency, ConfigError, "base_currency")
        self._cash: dict[str, int] = {}
        for currency, amount in (starting_balances or {}).items():
            key = _currency(currency, ConfigError, "starting_balances")
            try:
                self._cash[key] = to_money(amount, f"starting_balances[{key}]")
            except InvalidValue as error:
                raise ConfigError("INVALID_BALANCE", error.message) from None
        self._tick_sizes = {
            instrument_id: Fraction(Decimal(listing.instrument.tick_size))
            for instrument_id, listing in self._listings.items()
        }
        self._positions: dict[tuple[str, str], _Position] = {}
        self._marks: dict[str, int] = {}
        self._last_fill_prices: dict[str, int] = {}
        self._rates: dict[tuple[str, str], Fraction] = {}
        self._fill_keys: set[tuple[str, str]] = set()
        self._history: list[PortfolioSnapshot] = []

    # ----- inputs -----------------------------------------------------------------------------

    def apply_fill(self, fill: OrderFilled) -> PositionSnapshot:
        """Books one fill; returns the position after it. A malformed or repeated fill
        (same client order id and trade id) raises ``InvalidValue`` and changes nothing."""
        if not isinstance(fill, OrderFilled):
            raise InvalidValue("NOT_A_FILL", f"expected OrderFilled, got {fill!r}")
        listing = self._listing(fill.instrument_id)
        if not isinstance(fill.strategy_id, str) or not fill.strategy_id:
            raise InvalidValue("INVALID_ID", f"fill strategy_id {fill.strategy_id!r}")
        if not is_integer(fill.side) or fill.side not in (0, 1):
            raise InvalidValue("UNKNOWN_SIDE", f"fill side must be 0 or 1, got {fill.side!r}")
        _positive(fill.last_price, "last_price", "NON_POSITIVE_PRICE")
        _positive(fill.last_quantity, "last_quantity", "NON_POSITIVE_QUANTITY")
        if not is_integer(fill.commission):
            raise InvalidValue("NOT_AN_INTEGER", f"commission {fill.commission!r}")
        commission_currency = _currency(fill.currency, InvalidValue, "fill currency")
        key = (fill.client_order_id, fill.trade_id)
        if key in self._fill_keys:
            raise InvalidValue(
                "DUPLICATE_FILL",
                f"trade {fill.trade_id!r} of order {fill.client_order_id!r} was applied already",
            )
        self._fill_keys.add(key)
        position = self._positions.setdefault(
            (fill.strategy_id, fill.instrument_id), _Position(fill.strategy_id, listing)
        )
        side_sign = 1 if fill.side == 0 else -1
        price, quantity, commission = (
            int(fill.last_price),
            int(fill.last_quantity),
            int(fill.commission),
        )
        position.apply(side_sign, price, quantity, fill.ts_event)
        position.ts_last = fill.ts_event
        position.commissions[commission_currency] = (
            position.commissions.get(commission_currency, 0) + commission
        )
        notional = listing.notional(price, quantity)
        self._cash[listing.currency] = self._cash.get(listing.currency, 0) - side_sign * notional
        self._cash[commission_currency] = self._cash.get(commission_currency, 0) - commission
        self._last_fill_prices[fill.instrument_id] = price
        return self._snapshot(position)

    def mark(self, instrument_id: str, price: int) -> None:
        """Sets the mark price (ticks) at which an instrument's positions are valued."""
        if type(price) is not int or price <= 0 or instrument_id not in self._listings:
            self._listing(instrument_id)
            price = _positive(price, "mark price", "NON_POSITIVE_PRICE")
        self._marks[instrument_id] = price

    def set_rate(self, currency: str, base: str, rate: Decimal | str | int) -> None:
        """One unit of ``currency`` is worth ``rate`` units of ``base`` (exact). The inverse
        rate is implied; a later rate for the same pair, either way round, replaces it."""
        source = _currency(currency, InvalidValue, "currency")
        target = _currency(base, InvalidValue, "base")
        if source == target:
            raise InvalidValue("SAME_CURRENCY", f"a rate from {source} to itself is 1")
        value = to_decimal(rate, f"rate {source}/{target}")
        if value <= 0:
            raise InvalidValue("NON_POSITIVE_RATE", f"rate {source}/{target} must be > 0")
        self._rates.pop((target, source), None)
        self._rates[(source, target)] = Fraction(value)

    # ----- queries ----------------------------------------------------------------------------

    def position(self, strategy_id: str, instrument_id: str) -> PositionSnapshot | None:
        """The position of a strategy in an instrument, or None if it never traded it."""
        self._listing(instrument_id)
        position = self._positions.get((strategy_id, instrument_id))
        return None if position is None else self._snapshot(position)

    def positions(
        self, strategy_id: str | None = None, instrument_id: str | None = None
    ) -> list[PositionSnapshot]:
        """Every position (flat ones included), optionally of one strategy / instrument."""
        return [self._snapshot(position) for position in self._select(strategy_id, instrument_id)]

    def average_price_ticks(self, strategy_id: str, instrument_id: str) -> Fraction | None:
        """The exact average entry price in ticks of an open position (None when flat)."""
        self._listing(instrument_id)
        position = self._positions.get((strategy_id, instrument_id))
        if position is None or position.quantity == 0:
            return None
        return Fraction(position.cost, position.quantity * position.listing.money_per_tick_lot)

    def net_quantity(self, instrument_id: str, strategy_id: str | None = None) -> int:
        """Net lots held in an instrument, over all strategies or one."""
        self._listing(instrument_id)
        return sum(position.quantity for position in self._select(strategy_id, instrument_id))

    def net_quantities(self) -> dict[str, int]:
        """Net lots held per instrument over all strategies, in one pass (instruments never
        traded are absent)."""
        totals: dict[str, int] = {}
        for (_, instrument_id), position in self._positions.items():
            totals[instrument_id] = totals.get(instrument_id, 0) + position.quantity
        return totals

    def mark_price(self, instrument_id: str) -> int | None:
        """The price positions are valued at: the latest mark, else the last fill price."""
        self._listing(instrument_id)
        return self._marks.get(instrument_id, self._last_fill_prices.get(instrument_id))

    def balance(self, currency: str) -> int:
        """Cash in one currency (money units; 0 if never touched)."""
        return self._cash.get(currency, 0)

    def balances(self) -> dict[str, int]:
        return dict(self._cash)

    def convert(self, amount: int, source: str, target: str) -> int:
        """``amount`` money units of ``source`` in ``target`` units at the rates set."""
        return round_half_away(self._converted(amount, source, target))

    def equity(self, currency: str | None = None) -> int:
        """Cash plus positions at their marks, in ``currency`` (default: the base)."""
        target = self.base_currency if currency is None else currency
        total: Exact = 0
        for source, amount in self._cash.items():
            total += self._converted(amount, source, target)
        for position in self._positions.values():
            mark = self._mark_of(position)
            if position.quantity and mark is not None:
                value = position.listing.notional(mark, position.quantity)
                total += self._converted(value, position.listing.currency, target)
        return round_half_away(total)

    def snapshot(self, ts: int, strategy_id: str | None = None) -> PortfolioSnapshot:
        """The account now, stamped ``ts``; P&L totals and positions of one strategy or
        all (equity and balances are the account's)."""
        selected = self._select(strategy_id, None)
        base = self.base_currency
        realized: Exact = 0
        unrealized: Exact = 0
        commissions: Exact = 0
        for position in selected:
            currency = position.listing.currency
            realized += self._converted(position.realized, currency, base)
            unrealized += self._converted(
                position.unrealized(self._mark_of(position)), currency, base
            )
            for paid_in, amount in position.commissions.items():
                commissions += self._converted(amount, paid_in, base)
        return PortfolioSnapshot(
            ts=ts,
            base_currency=base,
            equity=self.equity(),
            balances=self.balances(),
            realized_pnl=round_half_away(realized),
            unrealized_pnl=round_half_away(unrealized),
            commissions=round_half_away(commissions),
            positions=tuple(self._snapshot(position) for position in selected),
        )

    def sample(self, ts: int) -> PortfolioSnapshot:
        """Takes a snapshot of the whole account and appends it to :attr:`history` (the
        equity curve); ``ts`` may not go back."""
        if not is_integer(ts):
            raise InvalidValue("NOT_AN_INTEGER", f"ts must be an int, got {ts!r}")
        if self._history and ts < self._history[-1].ts:
            raise InvalidValue(
                "TIMESTAMP_BEFORE_LAST_SAMPLE",
                f"sample at {ts} is before the last one at {self._history[-1].ts}",
            )
        snapshot = self.snapshot(int(ts))
        self._history.append(snapshot)
        return snapshot

    @property
    def history(self) -> list[PortfolioSnapshot]:
        """The samples taken, oldest first."""
        return list(self._history)

    def equity_curve(self) -> tuple[list[int], list[int]]:
        """``(timestamps, equity)`` of the samples, equity in base-currency money units."""
        return [sample.ts for sample in self._history], [s.equity for s in self._history]

    # ----- internals --------------------------------------------------------------------------

    def _listing(self, instrument_id: str) -> Listing:
        listing = self._listings.get(instrument_id)
        if listing is None:
            raise InvalidValue(
                "UNKNOWN_INSTRUMENT", f"{instrument_id!r} is not an instrument of the portfolio"
            )
        return listing

    def _select(self, strategy_id: str | None, instrument_id: str | None) -> list[_Position]:
        return [
            position
            for (strategy, instrument), position in self._positions.items()
            if (strategy_id is None or strategy == strategy_id)
            and (instrument_id is None or instrument == instrument_id)
        ]

    def _mark_of(self, position: _Position) -> int | None:
        return self.mark_price(position.listing.instrument.instrument_id)

    def _converted(self, amount: Exact, source: str, target: str) -> Exact:
        """An exact amount in another currency; nothing needs no rate."""
        if amount == 0 or source == target:
            return amount
        return amount * self._rate(source, target)

    def _rate(self, source: str, target: str) -> Fraction:
        if source == target:
            return Fraction(1)
        rate = self._rates.get((source, target))
        if rate is not None:
            return rate
        inverse = self._rates.get((target, source))
        if inverse is not None:
            return 1 / inverse
        raise InvalidValue("NO_CONVERSION_RATE", f"no rate from {source} to {target}: set_rate")

    def _snapshot(self, position: _Position) -> PositionSnapshot:
        instrument = position.listing.instrument
        mark = self._mark_of(position)
        average_price = None
        if position.quantity:
            # cost / (quantity x money per tick-lot) ticks, x tick size, to `places` decimals
            places = instrument.price_precision + AVERAGE_PRICE_EXTRA_PLACES
            tick = self._tick_sizes[instrument.instrument_id]
            cost = Fraction(position.cost)
            scaled = round_ratio(
                cost.numerator * tick.numerator * 10**places,
                cost.denominator
                * position.quantity
                * position.listing.money_per_tick_lot
                * tick.denominator,
            )
            average_price = Decimal(scaled).scaleb(-places)
        return PositionSnapshot(
            strategy_id=position.strategy_id,
            instrument_id=instrument.instrument_id,
            currency=position.listing.currency,
            quantity=position.quantity,
            average_price=average_price,
            realized_pnl=round_half_away(position.realized),
            unrealized_pnl=round_half_away(position.unrealized(mark)),
            commissions=dict(position.commissions),
            mark_price=mark,
            ts_opened=position.ts_opened,
            ts_closed=position.ts_closed,
            ts_last=position.ts_last,
        )


def _currency(value: object, error: type[InvalidValue | ConfigError], what: str) -> str:
    if not isinstance(value, str) or not value:
        raise error("INVALID_CURRENCY", f"{what}: a currency is a non-empty str, got {value!r}")
    return value


def _positive(value: object, what: str, code: str) -> int:
    if not is_integer(value):
        raise InvalidValue("NOT_AN_INTEGER", f"{what} must be an int, got {value!r}")
    number = int(value)
    if number <= 0:
        raise InvalidValue(code, f"{what} must be > 0, got {number}")
    return number


__all__ = ["Portfolio", "PortfolioSnapshot", "PositionSnapshot"]
