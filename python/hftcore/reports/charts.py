"""Time-series charts as inline SVG: no script, no external reference, every text escaped.

Long series are thinned per horizontal pixel (first, lowest, highest and last point of each
pixel column are kept), so a chart of millions of points draws the same shape as the full
series at a size a browser opens at once. Markers are never thinned.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["Line", "Marker", "time_chart"]

WIDTH = 960
HEIGHT = 280
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 12, 28
PLOT_WIDTH = WIDTH - LEFT - RIGHT
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
MARKER_SIZE = 5.0
NS_PER_DAY = 86_400_000_000_000


class Line(NamedTuple):
    """One series of a chart: y values, one per timestamp, drawn with CSS class ``css_class``
    (``area=True`` fills between the line and zero)."""

    values: npt.NDArray[np.float64]
    css_class: str
    label: str
    area: bool = False


class Marker(NamedTuple):
    """A trade marker: an upward triangle for a buy, a downward one for a sell; ``title`` is
    the tooltip."""

    ts: int
    y: float
    side: Literal["BUY", "SELL"]
    title: str


def time_chart(
    chart_id: str,
    title: str,
    timestamps: npt.NDArray[np.int64],
    lines: Sequence[Line],
    *,
    value_text: Callable[[float], str],
    markers: Sequence[Marker] = (),
) -> str:
    """A ``<figure>`` with an SVG line chart of ``lines`` over ``timestamps`` (ns, UTC)."""
    x_low, x_high = float(timestamps[0]), float(timestamps[-1])
    if x_high == x_low:
        x_low, x_high = x_low - NS_PER_DAY / 2, x_high + NS_PER_DAY / 2
    y_values = [line.values for line in lines] + [np.asarray([m.y for m in markers])]
    if any(line.area for line in lines):
        y_values.append(np.zeros(1))
    y_low, y_high = _value_range(np.concatenate(y_values))
    ticks = _nice_ticks(y_low, y_high)

    def x_at(ts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return LEFT + (ts - x_low) / (x_high - x_low) * PLOT_WIDTH

    def y_at(value: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return TOP + (y_high - value) / (y_high - y_low) * PLOT_HEIGHT

    xs = x_at(timestamps.astype(np.float64))
    clip = f"clip-{chart_id}"
    parts = [
        f'<figure class="chart" id="{escape(chart_id)}">',
        f"<figcaption>{escape(title)}</figcaption>",
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f'<clipPath id="{escape(clip)}"><rect x="{LEFT}" y="{TOP}" width="{PLOT_WIDTH}" '
        f'height="{PLOT_HEIGHT}"/></clipPath>',
        '<g class="axes">',
        *_value_axis(ticks, y_at, value_text),
        *_time_axis(x_low, x_high),
        "</g>",
        f'<g clip-path="url(#{escape(clip)})">',
    ]
    for line in lines:
        keep = _thinned(xs, line.values)
        points = _points(xs[keep], y_at(line.values[keep]))
        css = escape(line.css_class)
        if line.area:
            zero = float(y_at(np.zeros(1))[0])
            first, last = xs[keep][0], xs[keep][-1]
            parts.append(
                f'<polygon class="area {css}" points="{first:.1f},{zero:.1f} {points} '
                f'{last:.1f},{zero:.1f}"/>'
            )
        parts.append(
            f'<polyline class="line {css}" points="{points}"><title>{escape(line.label)}'
            "</title></polyline>"
        )
    for marker in markers:
        parts.append(_marker(marker, x_at, y_at))
    parts += ["</g>", "</svg>", _legend(lines, markers), "</figure>"]
    return "\n".join(parts)


def _value_range(values: npt.NDArray[np.float64]) -> tuple[float, float]:
    """The data's range padded by 5 % each side, without crossing zero where the data does not
    (a drawdown's top stays at 0, a price axis does not go negative)."""
    low, high = float(np.min(values)), float(np.max(values))
    if high == low:
        pad = abs(low) * 0.01 or 1.0
        return low - pad, high + pad
    pad = (high - low) * 0.05
    padded_low = 0.0 if low >= 0.0 > low - pad else low - pad
    padded_high = 0.0 if high <= 0.0 < high + pad else high + pad
    return padded_low, padded_high


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round values (1, 2 or 5 times a power of ten apart) inside [low, high]; at least two,
    since the step is at most 2.5 times (high - low) / count."""
    raw = (high - low) / count
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1.0, 2.0, 5.0, 10.0) if m * power >= raw)
    first = math.ceil(low / step)
    last = math.floor(high / step)
    return [i * step for i in range(first, last + 1)]


def _value_axis(
    ticks: list[float],
    y_at: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]],
    value_text: Callable[[float], str],
) -> list[str]:
    parts = []
    for tick in ticks:
        y = float(y_at(np.asarray([tick]))[0])
        parts.append(
            f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}"/>'
        )
        parts.append(
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(value_text(tick))}</text>"
        )
    return parts


def _time_axis(x_low: float, x_high: float, count: int = 6) -> list[str]:
    span = x_high - x_low
    pattern = "%Y-%m-%d" if span >= 3 * NS_PER_DAY else "%m-%d %H:%M"
    parts = []
    for i in range(count + 1):
        ts = x_low + span * i / count
        x = LEFT + PLOT_WIDTH * i / count
        label = datetime.fromtimestamp(ts / 1e9, tz=UTC).strftime(pattern)
        anchor = "start" if i == 0 else "end" if i == count else "middle"
        parts.append(
            f'<text class="tick" x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}">'
            f"{escape(label)}</text>"
        )
    return parts


def _thinned(xs: npt.NDArray[np.float64], ys: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
    """Indices of the points to draw: all of them, or per pixel column the first, last, lowest
    and highest (xs ascending)."""
    if xs.size <= 4 * PLOT_WIDTH:
        return np.arange(xs.size)
    columns = np.floor(xs).astype(np.int64)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(columns)) + 1))
    ends = np.concatenate((starts[1:], [xs.size])) - 1
    # Sorting by (column, y) keeps each column's block where it was, ordered by value.
    by_value = np.lexsort((ys, columns))
    keep = np.concatenate((starts, ends, by_value[starts], by_value[ends]))
    return np.unique(keep)


def _points(xs: npt.NDArray[np.float64], ys: npt.NDArray[np.float64]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs.tolist(), ys.tolist(), strict=True))


def _marker(
    marker: Marker,
    x_at: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]],
    y_at: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]],
) -> str:
    x = float(x_at(np.asarray([float(marker.ts)]))[0])
    y = float(y_at(np.asarray([marker.y]))[0])
    # A buy points up, a sell down; the tip sits MARKER_SIZE from the fill price.
    direction = 1.0 if marker.side == "BUY" else -1.0
    tip, base = y - direction * MARKER_SIZE, y + direction * MARKER_SIZE
    path = (
        f"M{x:.1f},{tip:.1f} L{x + MARKER_SIZE:.1f},{base:.1f} L{x - MARKER_SIZE:.1f},{base:.1f} Z"
    )
    css = marker.side.lower()
    return (
        f'<path class="fill-marker {css}" d="{path}"><title>{escape(marker.title)}</title></path>'
    )


def _legend(lines: Sequence[Line], markers: Sequence[Marker]) -> str:
    items = [
        f'<span class="key {escape(line.css_class)}">{escape(line.label)}</span>' for line in lines
    ]
    if markers:
        buys = sum(1 for m in markers if m.side == "BUY")
        items.append(f'<span class="key buy">buy fills: {buys}</span>')
        items.append(f'<span class="key sell">sell fills: {len(markers) - buys}</span>')
    return f'<p class="legend">{" ".join(items)}</p>'
