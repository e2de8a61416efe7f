"""Batching: group order commands into as few venue calls as the venue allows.

:func:`batch_commands` splits a list of commands into :class:`VenueCall` s. Commands of one venue
(the suffix of ``SYMBOL.VENUE``) keep their order: consecutive ``SubmitOrder`` s share a call
up to the venue's ``max_submits``, consecutive ``CancelOrder`` s up to ``max_cancels``; any
other command (``ModifyOrder``, ``CancelAllOrders``), a change of kind, or a full call starts a
new one. A venue without :class:`BatchLimits` (or with limits of 1) gets one call per command.
Calls come out in the order of their first command.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hftcore.errors import InvalidValue
from hftcore.model.events import CancelAllOrders, CancelOrder, Command, ModifyOrder, SubmitOrder

_COMMAND_TYPES = (SubmitOrder, ModifyOrder, CancelOrder, CancelAllOrders)


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """How many commands of one kind a venue takes in one call (1: no batching)."""

    max_submits: int = 1
    max_cancels: int = 1

    def __post_init__(self) -> None:
        for name in ("max_submits", "max_cancels"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidValue(
                    "INVALID_BATCH_SIZE", f"{name} must be an int >= 1, got {value!r}"
                )


@dataclass(frozen=True, slots=True)
class VenueCall:
    """One call to a venue: several commands of the same kind, or a single command."""

    venue: str
    commands: tuple[Command, ...]

    @property
    def is_batch(self) -> bool:
        return len(self.commands) > 1


def venue_of(instrument_id: str) -> str:
    """The venue of an instrument id ``SYMBOL.VENUE``."""
    if not isinstance(instrument_id, str):
        raise InvalidValue(
            "INVALID_INSTRUMENT_ID", f"instrument id must be a str, got {instrument_id!r}"
        )
    symbol, dot, venue = instrument_id.rpartition(".")
    if not dot or not symbol or not venue:
        raise InvalidValue(
            "INVALID_INSTRUMENT_ID", f"instrument id {instrument_id!r} is not SYMBOL.VENUE"
        )
    return venue


def batch_commands(
    commands: Sequence[Command], limits: Mapping[str, BatchLimits] | None = None
) -> list[VenueCall]:
    """Groups ``commands`` into venue calls (see the module docs); ``limits`` maps a venue
    name to its :class:`BatchLimits`."""
    limits = {} if limits is None else limits
    for venue, venue_limits in limits.items():
        if not isinstance(venue_limits, BatchLimits):
            raise InvalidValue("INVALID_BATCH_SIZE", f"limits of {venue!r} must be BatchLimits")
    calls: list[tuple[str, list[Command]]] = []
    open_call: dict[str, list[Command]] = {}
    for command in commands:
        if not isinstance(command, _COMMAND_TYPES):
            raise InvalidValue("INVALID_COMMAND", f"not an order command: {type(command).__name__}")
        instrument_id = (
            command.order.instrument_id
            if isinstance(command, SubmitOrder)
            else command.instrument_id
        )
        venue = venue_of(instrument_id)
        venue_limits = limits.get(venue, BatchLimits())
        if isinstance(command, SubmitOrder):
            capacity = venue_limits.max_submits
        elif isinstance(command, CancelOrder):
            capacity = venue_limits.max_cancels
        else:
            capacity = 1
        current = open_call.get(venue)
        if current is not None and type(current[0]) is type(command) and len(current) < capacity:
            current.append(command)
            continue
        new_call = [command]
        calls.append((venue, new_call))
        open_call[venue] = new_call
    return [VenueCall(venue, tuple(batch)) for venue, batch in calls]
