"""Charts as server-side SVG geometry: numbers in, coordinates out; templates draw them (docs/adr/0702-…).

No JavaScript and no style attributes (the CSP allows neither): colours come from classes in console.css, and
every chart carries a text table of the same numbers for screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

__all__ = ["BarChart", "LineChart", "bar_chart", "line_chart"]

SERIES_CLASSES = 6


@dataclass(frozen=True, slots=True)
class Line:
    """One series: its label, its CSS class and the polyline's points."""

    label: str
    css: str
    points: str
    total: int


@dataclass(frozen=True, slots=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True, slots=True)
class LineChart:
    """A multi-series line chart in a `width` x `height` viewBox, with axis ticks."""

    width: int
    height: int
    left: int
    bottom: int
    top: int
    right: int
    lines: tuple[Line, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]

    @property
    def empty(self) -> bool:
        return not self.lines


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int
    share: float
    y: float
    width: float


@dataclass(frozen=True, slots=True)
class BarChart:
    """Horizontal bars, one per row, widest first."""

    width: int
    height: int
    label_width: int
    bar_height: int
    bars: tuple[Bar, ...]

    @property
    def empty(self) -> bool:
        return not self.bars


def _nice_max(value: int) -> int:
    """A round axis maximum at or above `value` (1, 2, 5 x 10^n)."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def line_chart(
    starts: Sequence[datetime],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    width: int = 720,
    height: int = 260,
    time_format: str = "%H:%M",
) -> LineChart:
    """Lay out `series` (label, one count per start) over the time axis `starts`."""
    left, right, top, bottom = 44, 12, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max((max(counts, default=0) for _, counts in series), default=0))
    count = max(1, len(starts))

    def x(index: int) -> float:
        return left + (plot_w * index / (count - 1) if count > 1 else plot_w / 2)

    def y(value: int) -> float:
        return top + plot_h - plot_h * value / peak

    lines = tuple(
        Line(
            label=label,
            css=f"series-{index % SERIES_CLASSES}",
            points=" ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(counts)),
            total=sum(counts),
        )
        for index, (label, counts) in enumerate(series)
    )
    every = max(1, count // 6)
    x_ticks = tuple(Tick(x(i), starts[i].strftime(time_format)) for i in range(0, len(starts), every))
    y_ticks = tuple(Tick(y(peak * step // 4), str(peak * step // 4)) for step in range(5))
    return LineChart(width, height, left, bottom, top, right, lines, x_ticks, y_ticks)


def bar_chart(rows: Sequence[tuple[str, int, float]], *, width: int = 480, bar_height: int = 22) -> BarChart:
    """Lay out (label, value, share) rows as horizontal bars scaled to the largest value."""
    label_width = 150
    gap = 8
    plot_w = width - label_width - 60
    peak = max((value for _, value, _ in rows), default=0) or 1
    ordered = sorted(rows, key=lambda row: (-row[1], row[0]))
    bars = tuple(
        Bar(label=label, value=value, share=share, y=index * (bar_height + gap), width=max(1.0, plot_w * value / peak))
        for index, (label, value, share) in enumerate(ordered)
    )
    height = max(bar_height, len(bars) * (bar_height + gap) - gap)
    return BarChart(width, height, label_width, bar_height, bars)
