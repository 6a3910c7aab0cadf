"""Chart geometry: extents, linear scales, "nice" axis ticks and SVG path data.

Pure functions of numbers, tested on known points. Values that are not finite (NaN, infinity,
None) are gaps: they never move an axis and they break a line instead of dragging it to zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeGuard

Point = tuple[float, float | None]

# Steps of "nice" ticks within each power of ten (Heckbert, "Nice numbers for graph labels").
_NICE_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)
# Duration ticks (seconds): what a person reads on a clock.
_DURATION_STEPS = (
    1,
    2,
    5,
    10,
    15,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86400,
    2 * 86400,
    7 * 86400,
)


def finite(value: float | None) -> TypeGuard[float]:
    return value is not None and math.isfinite(value)


def extent(values: Iterable[float | None]) -> tuple[float, float] | None:
    """(min, max) of the finite values; None when there are none."""
    kept = [v for v in values if finite(v)]
    return (min(kept), max(kept)) if kept else None


def widen(low: float, high: float) -> tuple[float, float]:
    """A domain with room: a single value (low == high) gets a span around it."""
    if high > low:
        return low, high
    pad = abs(low) * 0.1 or 1.0
    return low - pad, high + pad


def nice_step(span: float, count: int) -> float:
    """The nice step (1, 2, 2.5 or 5 times a power of ten) nearest ``span / count`` from above."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(count, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for factor in _NICE_STEPS:
        if factor * magnitude >= raw * (1 - 1e-9):
            return factor * magnitude
    return 10 * magnitude  # not reached: the last factor is 10


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Ticks at multiples of a nice step covering [low, high] (about ``count`` intervals).

    The first tick is at or below ``low`` and the last at or above ``high``, so an axis built
    from the ticks contains every value.
    """
    low, high = widen(low, high)
    step = nice_step(high - low, count)
    first = math.floor(low / step + 1e-9) * step
    last = math.ceil(high / step - 1e-9) * step
    intervals = round((last - first) / step)
    return [_clean(first + i * step, step) for i in range(intervals + 1)]


def integer_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Nice ticks that are whole numbers (steps, epochs)."""
    low, high = widen(math.floor(low), math.ceil(high))
    step = max(1.0, nice_step(high - low, count))
    if step != int(step):
        step = math.ceil(step)
    first = math.floor(low / step) * step
    last = math.ceil(high / step) * step
    return [first + i * step for i in range(round((last - first) / step) + 1)]


def duration_ticks(seconds: float, count: int = 6) -> list[float]:
    """Ticks from 0 covering ``seconds`` at a clock-like step (1 min, 15 min, 1 h, ...)."""
    total = max(seconds, 1.0)
    step = next((s for s in _DURATION_STEPS if total / s <= count), _DURATION_STEPS[-1])
    while total / step > count:  # beyond the table: whole weeks
        step *= 2
    last = math.ceil(total / step - 1e-9) * step
    return [float(i * step) for i in range(round(last / step) + 1)]


def _clean(value: float, step: float) -> float:
    """Round away float noise (0.30000000000000004) at the step's precision."""
    return round(value, max(0, -math.floor(math.log10(step)) + 2)) + 0.0


def decimals_for(step: float) -> int:
    """How many decimals show ticks ``step`` apart without repeating a label."""
    if step <= 0 or not math.isfinite(step):
        return 0
    decimals = 0
    while decimals < 10 and abs(round(step, decimals) - step) > step * 1e-6:
        decimals += 1
    return decimals


def format_tick(value: float, step: float) -> str:
    return f"{value:,.{decimals_for(step)}f}"


def format_duration(seconds: float) -> str:
    """``1:05:00`` (hours:minutes:seconds); days shown as ``2d 3:00:00``."""
    whole = round(seconds)
    sign, whole = ("-", -whole) if whole < 0 else ("", whole)
    days, rest = divmod(whole, 86400)
    clock = f"{rest // 3600}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{sign}{days}d {clock}" if days else f"{sign}{clock}"


@dataclass(frozen=True, slots=True)
class LinearScale:
    """Maps ``domain`` (data) linearly onto ``range`` (pixels); the range may be reversed."""

    domain: tuple[float, float]
    range: tuple[float, float]

    def __call__(self, value: float) -> float:
        d0, d1 = self.domain
        r0, r1 = self.range
        if d1 == d0:
            return (r0 + r1) / 2
        return r0 + (value - d0) / (d1 - d0) * (r1 - r0)


def scale_over(ticks: Sequence[float], pixels: tuple[float, float]) -> LinearScale:
    """A scale whose domain runs from the first tick to the last."""
    return LinearScale((ticks[0], ticks[-1]), pixels)


def line_path(points: Sequence[Point], x: LinearScale, y: LinearScale) -> str:
    """SVG path data through the points in order; a non-finite value starts a new segment.

    ``[(0, 1), (1, nan), (2, 3)]`` gives two one-point segments ``M..M..``: a gap, not a line
    through zero. Coordinates are rounded to 0.01 px.
    """
    commands: list[str] = []
    pen_down = False
    for px, py in points:
        if not (finite(px) and finite(py)):
            pen_down = False
            continue
        command = "L" if pen_down else "M"
        commands.append(f"{command}{_coordinate(x(px))},{_coordinate(y(py))}")
        pen_down = True
    return "".join(commands)


def _coordinate(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")
