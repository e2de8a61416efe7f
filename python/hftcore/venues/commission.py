"""Commission models of simulated venues, exact in money units (1e-12 of the quote currency).

Configuration (msgspec Structs, tagged so that one field of a TOML/JSON config selects the
model):

* :class:`PerLotCommission` ``per_lot`` for every lot filled, at least ``minimum`` per order;
* :class:`PercentCommission` ``rate`` (a fraction: ``0.001`` is 0.1 %) of the filled notional,
  at least ``minimum`` per order;
* :class:`FixedCommission` ``per_order``, charged with the order's first fill;
* :class:`InstrumentFees` the instrument's maker or taker fee rate on each fill's notional
  (negative maker rate: a rebate), rounded like the core.

A per-order minimum or amount is charged as the order fills: each fill pays the order's
commission after it minus the commission before it, where the commission of ``lots`` filled
for ``notional`` is ``max(minimum, per_lot * lots)`` or ``max(minimum, round(rate * notional))``
(0 before the first fill). The fills of one order therefore add up to exactly the order's
commission, with one rounding (half away from zero) and no drift.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import msgspec

from hftcore._core import Instrument
from hftcore.errors import ConfigError, InvalidValue
from hftcore.model.money import fee, fee_rate, round_half_away, to_decimal, to_money


class PerLotCommission(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="PER_LOT"):
    per_lot: Decimal
    minimum: Decimal = Decimal(0)


class PercentCommission(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="PERCENT"):
    rate: Decimal
    """Fraction of notional (``0.001`` = 0.1 %)."""
    minimum: Decimal = Decimal(0)


class FixedCommission(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="FIXED"):
    per_order: Decimal


class InstrumentFees(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="INSTRUMENT_FEES"
):
    """The instrument's own maker and taker fee rates (the default model)."""


CommissionModel = PerLotCommission | PercentCommission | FixedCommission | InstrumentFees


def _number(value: Decimal, field: str) -> Decimal:
    try:
        return to_decimal(value, f"commission.{field}")
    except InvalidValue as error:
        raise ConfigError("INVALID_COMMISSION", error.message) from None


def _amount(value: Decimal, field: str) -> int:
    try:
        money = to_money(value, f"commission.{field}")
    except InvalidValue as error:
        raise ConfigError("INVALID_COMMISSION", error.message) from None
    if money < 0:
        raise ConfigError("INVALID_COMMISSION", f"commission.{field} must be >= 0, got {value}")
    return money


class CommissionSchedule:
    """A :data:`CommissionModel` compiled to money units, charging fills."""

    def __init__(self, model: CommissionModel) -> None:
        self.model = model
        self._per_lot = 0
        self._minimum = 0
        self._fixed = 0
        self._rate = Fraction(0)
        match model:
            case PerLotCommission(per_lot=per_lot, minimum=minimum):
                self._per_lot = _amount(per_lot, "per_lot")
                self._minimum = _amount(minimum, "minimum")
            case PercentCommission(rate=rate, minimum=minimum):
                self._rate = Fraction(_number(rate, "rate"))
                if self._rate < 0:
                    raise ConfigError(
                        "INVALID_COMMISSION", f"commission.rate must be >= 0, got {rate}"
                    )
                self._minimum = _amount(minimum, "minimum")
            case FixedCommission(per_order=per_order):
                self._fixed = _amount(per_order, "per_order")
            case InstrumentFees():
                pass
            case _:
                raise ConfigError("INVALID_COMMISSION", f"unknown commission model {model!r}")
        self._fee_rates: dict[str, tuple[int, int]] = {}

    def order_commission(self, lots: int, notional: int) -> int:
        """Commission of an order that has filled ``lots`` for ``notional`` money units
        (per-lot, percent and fixed models)."""
        if lots == 0:
            return 0
        match self.model:
            case PerLotCommission():
                return max(self._minimum, self._per_lot * lots)
            case PercentCommission():
                return max(self._minimum, round_half_away(self._rate * notional))
            case FixedCommission():
                return self._fixed
        raise ConfigError("INVALID_COMMISSION", "instrument fees are charged per fill")

    def charge(
        self,
        instrument: Instrument,
        *,
        lots_before: int,
        notional_before: int,
        lots: int,
        notional: int,
        liquidity: str,
    ) -> int:
        """Commission of one fill of ``lots`` for ``notional``, on an order that had filled
        ``lots_before`` for ``notional_before``."""
        if isinstance(self.model, InstrumentFees):
            maker, taker = self._rates(instrument)
            return fee(notional, maker if liquidity == "MAKER" else taker)
        return self.order_commission(
            lots_before + lots, notional_before + notional
        ) - self.order_commission(lots_before, notional_before)

    def _rates(self, instrument: Instrument) -> tuple[int, int]:
        rates = self._fee_rates.get(instrument.instrument_id)
        if rates is None:
            rates = (fee_rate(instrument.maker_fee), fee_rate(instrument.taker_fee))
            self._fee_rates[instrument.instrument_id] = rates
        return rates


__all__ = [
    "CommissionModel",
    "CommissionSchedule",
    "FixedCommission",
    "InstrumentFees",
    "PerLotCommission",
    "PercentCommission",
]
