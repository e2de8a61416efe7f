"""The hftcore exception hierarchy.

Every error raised by hftcore, from Python or from the compiled core, derives from
:class:`HftcoreError` and carries a machine-readable ``code`` (e.g. ``"OFF_GRID"``,
``"UNKNOWN_ORDER"``) and a human sentence. The compiled core raises these classes by name, so
catching ``hftcore.errors.BookError`` works the same for Python and Rust failures.
"""

from __future__ import annotations


class HftcoreError(Exception):
    """Base of every hftcore error: ``code`` is the reason code, ``message`` the sentence."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[type[HftcoreError], tuple[str, str]]:
        return (type(self), (self.code, self.message))


class InvalidValue(HftcoreError, ValueError):
    """A price, quantity or parameter that cannot be used: off-grid, NaN, infinite,
    non-positive, overflowing or otherwise malformed."""


class InvalidData(HftcoreError, ValueError):
    """A bulk array or file with the wrong layout, dtype or content."""


class BookError(HftcoreError):
    """An order-book operation that cannot apply: unknown or duplicate order id, a sequence
    gap, a crossing update. The book is left unchanged."""


class OrderRejected(HftcoreError):
    """The matching engine or simulated venue refused an order or a modification."""


class RiskRejected(HftcoreError):
    """The pre-trade risk gate refused an order; ``code`` names the check that failed."""


class ConfigError(HftcoreError, ValueError):
    """Invalid configuration; the message names the field and what was expected."""


class InvalidStateTransition(HftcoreError):
    """An order event that cannot apply to the order's current state: ``ILLEGAL_TRANSITION``
    (the transition table has no entry for the status and event), ``OVERFILL`` (a fill beyond
    the order's quantity). The order is left unchanged."""


class StoreError(HftcoreError):
    """The event store cannot do what was asked: it is closed or locked by another writer, a
    stored row is corrupt (the message names its ``seq``), an append conflicts with a stored event
    (a reused client order id, a fill id with other content), or the database is unreachable."""
