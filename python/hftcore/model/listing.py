"""An instrument as traded in an account: its rules and the currency it is quoted in.

Venue clients and the portfolio take ``{Instrument: quote currency}`` mappings and turn them
into :class:`Listing` s, which carry the exact money value of one lot at one tick, so that every
notional is an exact integer of money units (``ticks * lots * money_per_tick_lot``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hftcore._core import Instrument
from hftcore.errors import ConfigError
from hftcore.model.money import notional_per_tick_lot


@dataclass(frozen=True, slots=True)
class Listing:
    """An instrument with its quote currency and exact notional unit."""

    instrument: Instrument
    currency: str
    money_per_tick_lot: int

    def notional(self, price: int, quantity: int) -> int:
        """Exact notional in money units of ``quantity`` lots at ``price`` ticks."""
        return price * quantity * self.money_per_tick_lot


def listings(instruments: Mapping[Instrument, str]) -> dict[str, Listing]:
    """Validated listings by instrument id from ``{instrument: quote currency}``; a bad entry
    raises ``ConfigError`` naming it."""
    if not isinstance(instruments, Mapping):
        raise ConfigError(
            "INVALID_INSTRUMENTS", "instruments must map each Instrument to its quote currency"
        )
    result: dict[str, Listing] = {}
    for instrument, currency in instruments.items():
        if not isinstance(instrument, Instrument):
            raise ConfigError("INVALID_INSTRUMENT", f"instruments: {instrument!r} is not one")
        if not isinstance(currency, str) or not currency:
            raise ConfigError(
                "INVALID_CURRENCY",
                f"instruments[{instrument.instrument_id}]: quote currency must be a non-empty "
                f"str, got {currency!r}",
            )
        if instrument.instrument_id in result:
            raise ConfigError(
                "DUPLICATE_INSTRUMENT", f"instrument {instrument.instrument_id} given twice"
            )
        result[instrument.instrument_id] = Listing(
            instrument, currency, notional_per_tick_lot(instrument)
        )
    return result


__all__ = ["Listing", "listings"]
