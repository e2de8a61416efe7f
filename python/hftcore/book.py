"""Order books and bulk market-data records.

``OrderBookL2`` and ``OrderBookL3`` are the compiled core's books. Bulk replay takes NumPy
structured arrays of ``L2_DELTA_DTYPE`` / ``L3_MESSAGE_DTYPE`` records; ``l2_deltas`` and
``l3_messages`` build them from columns, checking lengths and value ranges.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from hftcore._core import (
    L2_DELTA_DTYPE,
    L3_MESSAGE_DTYPE,
    OrderBookL2,
    OrderBookL3,
    ReplayResult,
    l2_deltas_from_l3,
    synthetic_l3_messages,
)
from hftcore.errors import InvalidData

__all__ = [
    "L2_DELTA_DTYPE",
    "L3_MESSAGE_DTYPE",
    "OrderBookL2",
    "OrderBookL3",
    "ReplayResult",
    "l2_deltas",
    "l2_deltas_from_l3",
    "l3_messages",
    "synthetic_l3_messages",
]

Column = Sequence[int] | npt.NDArray[np.integer]


def _fill(
    dtype: np.dtype[np.void], required: dict[str, Column], optional: dict[str, Column | None]
) -> npt.NDArray[np.void]:
    lengths = {name: len(values) for name, values in required.items()}
    lengths.update({name: len(v) for name, v in optional.items() if v is not None})
    if len(set(lengths.values())) > 1:
        raise InvalidData("LENGTH_MISMATCH", f"columns differ in length: {lengths}")
    length = next(iter(lengths.values()))
    records = np.zeros(length, dtype=dtype)
    for name, values in {**required, **optional}.items():
        if values is None:
            continue
        column = np.asarray(values)
        if column.dtype.kind not in "iu":
            raise InvalidData(
                "BAD_COLUMN", f"column {name!r} must hold integers, not {column.dtype}"
            )
        if (
            name in ("side", "action", "flags")
            and column.size
            and (column.min() < 0 or column.max() > 255)
        ):
            raise InvalidData("BAD_COLUMN", f"column {name!r} must hold small codes (0..255)")
        records[name] = column
    return records


def l2_deltas(
    side: Column,
    price: Column,
    quantity: Column,
    *,
    ts_event: Column | None = None,
    ts_init: Column | None = None,
    sequence: Column | None = None,
    flags: Column | None = None,
) -> npt.NDArray[np.void]:
    """An ``L2_DELTA_DTYPE`` array from columns (prices in ticks, quantities in lots)."""
    return _fill(
        L2_DELTA_DTYPE,
        {"side": side, "price": price, "quantity": quantity},
        {"ts_event": ts_event, "ts_init": ts_init, "sequence": sequence, "flags": flags},
    )


def l3_messages(
    action: Column,
    order_id: Column,
    side: Column,
    price: Column,
    quantity: Column,
    *,
    ts_event: Column | None = None,
    ts_init: Column | None = None,
    sequence: Column | None = None,
) -> npt.NDArray[np.void]:
    """An ``L3_MESSAGE_DTYPE`` array from columns (see ``hftcore.model.BookAction``)."""
    return _fill(
        L3_MESSAGE_DTYPE,
        {
            "action": action,
            "order_id": order_id,
            "side": side,
            "price": price,
            "quantity": quantity,
        },
        {"ts_event": ts_event, "ts_init": ts_init, "sequence": sequence},
    )
