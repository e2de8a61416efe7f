"""Bar types and bar aggregation from trades or quote mids, one event at a time or in bulk.

A bar type is the text ``"N-UNIT"``: ``N`` a positive integer and ``UNIT`` one of ``SECOND``,
``MINUTE``, ``HOUR``, ``DAY`` (time bars), ``TICK`` (every ``N`` events) or ``VOLUME`` (every
``N`` lots traded). :func:`parse_bar_type` is the one parser; it names what is wrong with bad
input.

Semantics shared by the incremental aggregators and the bulk functions (they give identical
bars for identical input):

* **Time bars** cover the half-open interval ``[k*D, (k+1)*D)`` of ``ts_event`` where ``D`` is
  the bar duration, counted from the Unix epoch (so ``1-DAY`` bars are UTC days). A bar's
  ``ts_event`` and ``ts_init`` are its close time ``(k+1)*D``; intervals without events yield no
  bar. A bar is complete once an event (or, incrementally, a timer) at or after its close time
  is seen.
* **Tick bars** close on their ``N``-th event; ``ts_event``/``ts_init`` are that event's.
* **Volume bars** close when exactly ``N`` lots have traded: a trade that crosses the boundary
  is split, its remainder opening the next bar (so one large trade can complete several bars,
  each with that trade's price). ``ts_event``/``ts_init`` are those of the trade that completed
  the bar. Volume bars need trades.
* **Mid bars** (``source="mid"``) use ``(bid + ask) / 2`` in ticks, rounded half to even when it
  falls between two ticks; their volume is 0.
* Incomplete trailing bars are left out unless ``include_partial=True`` (bulk) or ``flush()``
  (incremental) asks for them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from hftcore.errors import InvalidData, InvalidValue
from hftcore.model.data import Bar, Quote, Trade

__all__ = [
    "BAR_DTYPE",
    "BarAggregator",
    "BarSource",
    "BarSpec",
    "aggregate_quotes",
    "aggregate_trades",
    "bar_aggregator",
    "bars_to_events",
    "mid_prices",
    "parse_bar_type",
]

BarSource = Literal["trades", "mid"]
Int64Array = npt.NDArray[np.int64]

BAR_DTYPE = np.dtype(
    [
        ("ts_event", "<i8"),
        ("ts_init", "<i8"),
        ("open", "<i8"),
        ("high", "<i8"),
        ("low", "<i8"),
        ("close", "<i8"),
        ("volume", "<i8"),
    ]
)
"""One bar as a NumPy record: prices in ticks, volume in lots, timestamps in ns."""

_SECOND_NS = 1_000_000_000
TIME_UNIT_NS: dict[str, int] = {
    "SECOND": _SECOND_NS,
    "MINUTE": 60 * _SECOND_NS,
    "HOUR": 3_600 * _SECOND_NS,
    "DAY": 86_400 * _SECOND_NS,
}
COUNT_UNITS = ("TICK", "VOLUME")
_INT64_MAX = int(np.iinfo(np.int64).max)
_BAR_TYPE = re.compile(r"([1-9][0-9]*)-([A-Z]+)")


@dataclass(frozen=True, slots=True)
class BarSpec:
    """A parsed bar type: ``step`` units of ``unit``."""

    step: int
    unit: str

    @property
    def is_time(self) -> bool:
        return self.unit in TIME_UNIT_NS

    @property
    def duration_ns(self) -> int:
        """Length of a time bar in ns; tick and volume bars have none."""
        if not self.is_time:
            raise InvalidValue("NOT_A_TIME_BAR", f"{self} bars have no fixed duration")
        return self.step * TIME_UNIT_NS[self.unit]

    def __str__(self) -> str:
        return f"{self.step}-{self.unit}"


def parse_bar_type(bar_type: object) -> BarSpec:
    """Parses ``"N-UNIT"`` (e.g. ``"5-MINUTE"``, ``"1-DAY"``, ``"100-TICK"``,
    ``"10000-VOLUME"``); raises ``InvalidValue("BAD_BAR_TYPE")`` naming the problem."""
    if not isinstance(bar_type, str):
        raise InvalidValue(
            "BAD_BAR_TYPE", f"bar_type must be a str like '5-MINUTE', got {type(bar_type).__name__}"
        )
    units = ", ".join([*TIME_UNIT_NS, *COUNT_UNITS])
    match = _BAR_TYPE.fullmatch(bar_type)
    if match is None:
        raise InvalidValue(
            "BAD_BAR_TYPE",
            f"bar_type {bar_type!r} is not 'N-UNIT' with N a positive integer without leading "
            f"zeros and UNIT one of {units} (upper case)",
        )
    step, unit = int(match.group(1)), match.group(2)
    if unit not in TIME_UNIT_NS and unit not in COUNT_UNITS:
        raise InvalidValue(
            "BAD_BAR_TYPE", f"bar_type {bar_type!r} has unknown unit {unit!r}; expected {units}"
        )
    if step > _INT64_MAX // TIME_UNIT_NS.get(unit, 1):
        raise InvalidValue("BAD_BAR_TYPE", f"bar_type {bar_type!r}: N is too large")
    return BarSpec(step, unit)


def _check_source(spec: BarSpec, source: object) -> BarSource:
    if source == "trades":
        return "trades"
    if source != "mid":
        raise InvalidValue("BAD_SOURCE", f"source must be 'trades' or 'mid', got {source!r}")
    if spec.unit == "VOLUME":
        raise InvalidValue("BAD_SOURCE", f"{spec} bars need trades: quotes carry no volume")
    return "mid"


def _mid(bid: int, ask: int) -> int:
    total = bid + ask
    half = total >> 1
    return half + (total & half & 1)


def mid_prices(bid_price: npt.ArrayLike, ask_price: npt.ArrayLike) -> Int64Array:
    """Mid prices in ticks, rounded half to even where the mid falls between two ticks."""
    total = np.asarray(bid_price, dtype=np.int64) + np.asarray(ask_price, dtype=np.int64)
    half = total >> 1
    return half + (total & half & 1)


# ----------------------------------------------------------------------------------------------
# Incremental aggregation


class BarAggregator:
    """Builds bars of one instrument from events fed one at a time (the live data engine's
    path). ``on_trade``/``on_quote`` return the bars the event completed (usually none, several
    only for volume bars split by a large trade). An event of another instrument, from the wrong
    source, or older than the last one seen is rejected with ``InvalidValue``/``InvalidData`` and
    changes nothing."""

    def __init__(self, instrument_id: str, bar_type: str, source: BarSource = "trades") -> None:
        if not isinstance(instrument_id, str) or not instrument_id:
            raise InvalidValue("BAD_INSTRUMENT_ID", "instrument_id must be a non-empty str")
        self.instrument_id = instrument_id
        self.spec = parse_bar_type(bar_type)
        self.bar_type = str(self.spec)
        self.source: BarSource = _check_source(self.spec, source)
        self._watermark: int | None = None
        self._open = self._high = self._low = self._close = self._volume = 0
        self._count = 0
        self._last_ts_event = self._last_ts_init = 0
        self._bar_end = 0

    @property
    def has_partial(self) -> bool:
        """Whether a bar is open (has events but is not complete)."""
        return self._count > 0

    def on_trade(self, trade: Trade) -> list[Bar]:
        if self.source != "trades":
            raise InvalidValue("WRONG_SOURCE", f"this {self.bar_type} aggregator takes quotes")
        self._check_instrument(trade.instrument_id)
        if trade.size <= 0:
            raise InvalidValue(
                "NON_POSITIVE_SIZE", f"trade {trade.trade_id!r} has size {trade.size}"
            )
        return self.update(trade.ts_event, trade.ts_init, trade.price, trade.size)

    def on_quote(self, quote: Quote) -> list[Bar]:
        if self.source != "mid":
            raise InvalidValue("WRONG_SOURCE", f"this {self.bar_type} aggregator takes trades")
        self._check_instrument(quote.instrument_id)
        if quote.bid_price <= 0 or quote.ask_price <= 0:
            raise InvalidValue(
                "NON_POSITIVE_PRICE",
                f"quote prices must be positive, got {quote.bid_price}/{quote.ask_price}",
            )
        mid = _mid(quote.bid_price, quote.ask_price)
        return self.update(quote.ts_event, quote.ts_init, mid, 0)

    def on_time(self, ts: int) -> list[Bar]:
        """Closes the open time bar if ``ts`` (the clock) has reached its close time; later
        events older than that close time are then rejected. Tick and volume bars ignore time."""
        if not self.spec.is_time or self._count == 0 or ts < self._bar_end:
            return []
        closed_at = self._bar_end
        self._watermark = closed_at if self._watermark is None else max(self._watermark, closed_at)
        return [self._emit(closed_at, closed_at)]

    def flush(self) -> Bar | None:
        """Closes and returns the open (incomplete) bar, if any. A flushed time bar is final:
        later events inside its interval are rejected rather than opening a second bar."""
        if self._count == 0:
            return None
        if self.spec.is_time:
            closed_at = self._bar_end
            self._watermark = closed_at
            return self._emit(closed_at, closed_at)
        return self._emit(self._last_ts_event, self._last_ts_init)

    def update(self, ts_event: int, ts_init: int, price: int, size: int) -> list[Bar]:
        """Feeds one event given as raw integers (ticks, lots, ns)."""
        if price <= 0 or size < 0:
            raise InvalidValue(
                "BAD_EVENT", f"price must be positive and size not negative, got {price} x {size}"
            )
        if self._watermark is not None and ts_event < self._watermark:
            raise InvalidData(
                "OUT_OF_ORDER",
                f"{self.instrument_id} {self.bar_type}: event at ts_event {ts_event} is older "
                f"than {self._watermark} already aggregated",
            )
        self._watermark = ts_event
        if self.spec.is_time:
            return self._update_time(ts_event, price, size)
        if self.spec.unit == "TICK":
            self._add(ts_event, ts_init, price, size)
            if self._count == self.spec.step:
                return [self._emit(ts_event, ts_init)]
            return []
        return self._update_volume(ts_event, ts_init, price, size)

    def _check_instrument(self, instrument_id: str) -> None:
        if instrument_id != self.instrument_id:
            raise InvalidValue(
                "UNKNOWN_INSTRUMENT",
                f"event of {instrument_id!r} fed to the {self.instrument_id!r} aggregator",
            )

    def _update_time(self, ts_event: int, price: int, size: int) -> list[Bar]:
        bars = []
        if self._count and ts_event >= self._bar_end:
            bars.append(self._emit(self._bar_end, self._bar_end))
        if self._count == 0:
            duration = self.spec.duration_ns
            self._bar_end = (ts_event // duration + 1) * duration
        self._add(ts_event, ts_event, price, size)
        return bars

    def _update_volume(self, ts_event: int, ts_init: int, price: int, size: int) -> list[Bar]:
        bars = []
        remaining = size
        while remaining > 0:
            taken = min(remaining, self.spec.step - self._volume)
            self._add(ts_event, ts_init, price, taken)
            remaining -= taken
            if self._volume == self.spec.step:
                bars.append(self._emit(ts_event, ts_init))
        return bars

    def _add(self, ts_event: int, ts_init: int, price: int, size: int) -> None:
        if self._count == 0:
            self._open = self._high = self._low = price
        else:
            self._high = max(self._high, price)
            self._low = min(self._low, price)
        self._close = price
        self._volume += size
        self._count += 1
        self._last_ts_event, self._last_ts_init = ts_event, ts_init

    def _emit(self, ts_event: int, ts_init: int) -> Bar:
        bar = Bar(
            self.instrument_id,
            self.bar_type,
            self._open,
            self._high,
            self._low,
            self._close,
            self._volume,
            ts_event,
            ts_init,
        )
        self._count = 0
        self._volume = 0
        return bar


def bar_aggregator(
    instrument_id: str, bar_type: str, source: BarSource = "trades"
) -> BarAggregator:
    """An incremental aggregator of ``bar_type`` bars (see :class:`BarAggregator`)."""
    return BarAggregator(instrument_id, bar_type, source)


# ----------------------------------------------------------------------------------------------
# Bulk aggregation


def _column_names(data: Any) -> list[str]:
    if isinstance(data, np.ndarray):
        return list(data.dtype.names or ())
    if isinstance(data, Mapping):
        return list(data)
    return list(getattr(data, "column_names", ()))


def _optional_column(data: Any, name: str) -> Int64Array | None:
    return _column(data, name) if name in _column_names(data) else None


def _column(data: Any, name: str) -> Int64Array:
    """Column ``name`` of a pyarrow Table, a NumPy structured array or a mapping of arrays."""
    names = _column_names(data)
    if name not in names:
        raise InvalidData("MISSING_COLUMN", f"input has no {name!r} column (has {names})")
    column = np.asarray(data[name])
    if column.dtype.kind not in "iu":
        raise InvalidData(
            "BAD_COLUMN",
            f"column {name!r} must hold integers (ticks, lots, ns), not {column.dtype}",
        )
    return column.astype(np.int64, copy=False)


def _checked_events(
    ts_event: Int64Array, ts_init: Int64Array | None, columns: dict[str, Int64Array]
) -> Int64Array:
    lengths = {"ts_event": len(ts_event), **{name: len(col) for name, col in columns.items()}}
    if ts_init is not None:
        lengths["ts_init"] = len(ts_init)
    if len(set(lengths.values())) > 1:
        raise InvalidData("LENGTH_MISMATCH", f"columns differ in length: {lengths}")
    backwards = np.flatnonzero(ts_event[1:] < ts_event[:-1])
    if backwards.size:
        row = int(backwards[0]) + 1
        raise InvalidData(
            "OUT_OF_ORDER",
            f"row {row}: ts_event {ts_event[row]} is earlier than {ts_event[row - 1]} on the "
            "row before; sort the events first",
        )
    return ts_init if ts_init is not None else ts_event


def _first_bad(mask: npt.NDArray[np.bool_], what: str, code: str) -> None:
    bad = np.flatnonzero(mask)
    if bad.size:
        raise InvalidData(code, f"row {int(bad[0])}: {what}")


def aggregate_trades(
    trades: Any, bar_type: str, *, include_partial: bool = False
) -> npt.NDArray[np.void]:
    """Bars (a ``BAR_DTYPE`` array) from trades: a pyarrow Table (e.g. a catalog read), a NumPy
    structured array or a mapping with integer columns ``ts_event``, ``price``, ``size`` and
    optionally ``ts_init``, sorted by ``ts_event``."""
    spec = parse_bar_type(bar_type)
    ts_event = _column(trades, "ts_event")
    price = _column(trades, "price")
    size = _column(trades, "size")
    ts_init = _checked_events(
        ts_event, _optional_column(trades, "ts_init"), {"price": price, "size": size}
    )
    _first_bad(price <= 0, "trade price must be positive", "NON_POSITIVE_PRICE")
    _first_bad(size <= 0, "trade size must be positive", "NON_POSITIVE_SIZE")
    if spec.unit == "VOLUME":
        return _volume_bars(
            ts_event, ts_init, price, size, step=spec.step, include_partial=include_partial
        )
    return _bars(spec, ts_event, ts_init, price, size, include_partial=include_partial)


def aggregate_quotes(
    quotes: Any, bar_type: str, *, include_partial: bool = False
) -> npt.NDArray[np.void]:
    """Mid-price bars (a ``BAR_DTYPE`` array, volume 0) from quotes with integer columns
    ``ts_event``, ``bid_price``, ``ask_price`` and optionally ``ts_init``."""
    spec = parse_bar_type(bar_type)
    _check_source(spec, "mid")
    ts_event = _column(quotes, "ts_event")
    bid = _column(quotes, "bid_price")
    ask = _column(quotes, "ask_price")
    ts_init = _checked_events(
        ts_event, _optional_column(quotes, "ts_init"), {"bid_price": bid, "ask_price": ask}
    )
    _first_bad((bid <= 0) | (ask <= 0), "quote prices must be positive", "NON_POSITIVE_PRICE")
    mid = mid_prices(bid, ask)
    return _bars(spec, ts_event, ts_init, mid, np.zeros_like(mid), include_partial=include_partial)


def _bars(
    spec: BarSpec,
    ts_event: Int64Array,
    ts_init: Int64Array,
    price: Int64Array,
    size: Int64Array,
    *,
    include_partial: bool,
) -> npt.NDArray[np.void]:
    count = len(ts_event)
    if count == 0:
        return np.zeros(0, dtype=BAR_DTYPE)
    if spec.is_time:
        duration = spec.duration_ns
        bucket = ts_event // duration
        if int(bucket[-1]) + 1 > _INT64_MAX // duration:
            raise InvalidData("OVERFLOW", f"{spec} bar close time overflows int64 ns")
        starts = np.flatnonzero(np.concatenate(([True], bucket[1:] != bucket[:-1])))
        close_ts = (bucket[starts] + 1) * duration
        close_init = close_ts
        complete = len(starts) - 1
    else:
        starts = np.arange(0, count, spec.step)
        last = np.minimum(starts + spec.step, count) - 1
        close_ts, close_init = ts_event[last], ts_init[last]
        complete = count // spec.step
    bars = np.zeros(len(starts), dtype=BAR_DTYPE)
    ends = np.append(starts[1:], count)
    bars["ts_event"] = close_ts
    bars["ts_init"] = close_init
    bars["open"] = price[starts]
    bars["high"] = np.maximum.reduceat(price, starts)
    bars["low"] = np.minimum.reduceat(price, starts)
    bars["close"] = price[ends - 1]
    bars["volume"] = np.add.reduceat(size, starts)
    return bars if include_partial else bars[:complete]


def _volume_bars(
    ts_event: Int64Array,
    ts_init: Int64Array,
    price: Int64Array,
    size: Int64Array,
    *,
    step: int,
    include_partial: bool,
) -> npt.NDArray[np.void]:
    if len(size) == 0:
        return np.zeros(0, dtype=BAR_DTYPE)
    if float(size.astype(np.float64).sum()) >= float(_INT64_MAX):
        raise InvalidData("OVERFLOW", "total traded size overflows int64 lots")
    # Trade i covers the volume interval (cumulative[i-1], cumulative[i]]; bar k covers
    # (k*step, (k+1)*step]; a trade belongs to every bar its interval overlaps.
    cumulative = np.cumsum(size)
    total = int(cumulative[-1])
    complete = total // step
    bar_count = complete + (1 if include_partial and total % step else 0)
    lower = np.arange(bar_count, dtype=np.int64) * step
    upper = np.minimum(lower + step, total)
    first = np.searchsorted(cumulative, lower, side="right")
    last = np.searchsorted(cumulative, upper, side="left")
    # Bars may share a boundary trade, so ranges overlap: reduce over (first, last + 1) pairs
    # and keep every other result (a trailing sentinel keeps last + 1 a valid index).
    bounds = np.empty(2 * bar_count, dtype=np.intp)
    bounds[0::2] = first
    bounds[1::2] = last + 1
    padded = np.append(price, price[-1])
    bars = np.zeros(bar_count, dtype=BAR_DTYPE)
    bars["ts_event"] = ts_event[last]
    bars["ts_init"] = ts_init[last]
    bars["open"] = price[first]
    if bar_count:
        bars["high"] = np.maximum.reduceat(padded, bounds)[0::2]
        bars["low"] = np.minimum.reduceat(padded, bounds)[0::2]
    bars["close"] = price[last]
    bars["volume"] = upper - lower
    return bars


def bars_to_events(bars: npt.NDArray[np.void], instrument_id: str, bar_type: str) -> list[Bar]:
    """``Bar`` events from a ``BAR_DTYPE`` array (one Python object per bar: for small sets and
    the event path, not for bulk work)."""
    canonical = str(parse_bar_type(bar_type))
    columns = [bars[name].tolist() for name in BAR_DTYPE.names or ()]
    return [
        Bar(instrument_id, canonical, o, h, lo, c, v, ts, ti)
        for ts, ti, o, h, lo, c, v in zip(*columns, strict=True)
    ]
