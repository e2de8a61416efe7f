"""What the OMS's helpers hand back to the node: events to apply and commands to send."""

from __future__ import annotations

import msgspec

from hftcore.model.events import Command, OrderEvent


class OmsActions(msgspec.Struct, frozen=True, gc=False):
    """The result of an emulator or contingency step, in the order it must be processed.

    ``events`` are local order state changes, not yet applied: apply each to the
    ``OrderManager`` in order, publish it, and pass it back to the ``ContingencyManager``
    like any other order event. ``commands`` then go on down the execution path (a released
    ``SubmitOrder`` through emulation check, risk gate, throttler and venue; ``CancelOrder``
    and ``ModifyOrder`` through the same routing as a strategy's own requests).

    A Struct, not a dataclass: one is built per submit, and a frozen dataclass costs several
    times as much to build.
    """

    events: tuple[OrderEvent, ...] = ()
    commands: tuple[Command, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.events or self.commands)
