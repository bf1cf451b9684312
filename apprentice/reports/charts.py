"""The geometry of the reports' charts: scales, ticks and the boxes each bar takes.

The charts are SVG drawn by the macros in ``templates/apprentice/macros/charts.html``;
the arithmetic lives here, where it can be tested, so the macros only place what they
are given. Nothing here knows about reports: a chart is categories (the x axis), series
(a colour and a pattern each, named in a legend) and numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# Eight series styles: a colour (apprentice.css, .ap-chart-s0 ... s7, each at least 3:1
# against white) and a pattern over it, so no series is told apart by colour alone.
STYLES = 8
PATTERNS = ("solid", "diagonal", "dots", "horizontal", "crosshatch", "vertical",
            "backward", "grid")

# The drawing's own units (the SVG's viewBox); the page scales it to its width.
WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 112, 12, 20, 48  # LEFT: "1 h 30 min" at a phone's text size


def label_step(categories: Sequence[str], slot: float) -> int:
    """Every how many categories a label fits under the axis: a label needs about 9
    units a character at a phone's text size (apprentice.css), and a gap."""
    need = 9 * max(len(c) for c in categories) + 8
    return max(1, math.ceil(need / slot))


def nice_step(largest: float, ticks: int = 5) -> float:
    """A round step (1, 2 or 5 times a power of ten) that reaches ``largest`` in about
    ``ticks`` steps."""
    if largest <= 0:
        return 1
    rough = largest / ticks
    power = 10 ** math.floor(math.log10(rough))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= rough)


def scale_top(largest: float, step: float) -> float:
    """The top of the axis: the first tick at or above ``largest`` (one step for none)."""
    return max(step, math.ceil(largest / step) * step)


@dataclass(frozen=True)
class Series:
    label: str
    style: int  # 0 ... STYLES - 1

    @property
    def pattern(self) -> str:
        return PATTERNS[self.style]


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class Box:
    """One bar (or one part of a stacked bar)."""

    x: float
    y: float
    width: float
    height: float
    style: int
    title: str  # what a pointer or a screen reader's exploration reads

    @property
    def pattern(self) -> str:
        return PATTERNS[self.style]


@dataclass(frozen=True)
class Column:
    """A category's bars, its label under the axis and a direct label over it."""

    label: str
    label_x: float
    boxes: tuple[Box, ...]
    value_label: str  # written above the bar(s); "" for nothing
    value_y: float


@dataclass(frozen=True)
class _Plot:
    """What bar and line charts share: their name and description, the drawing's size,
    the plot's edges and the ticks of the y axis."""

    id: str
    title: str
    description: str
    width: int
    height: int
    left: int
    top: int
    bottom: float  # the y of the axis line
    right: float
    ticks: tuple[Tick, ...]


@dataclass(frozen=True)
class BarChart(_Plot):
    kind: str  # "stacked" or "grouped"
    columns: tuple[Column, ...]
    series: tuple[Series, ...]
    label_every: int  # every how many categories a label is written under the axis
    values_fit: bool  # room to write each bar's value over it (the table has them all)

    @property
    def empty(self) -> bool:
        return not any(box.height for column in self.columns for box in column.boxes)


def _series(labels: Sequence[str]) -> tuple[Series, ...]:
    return tuple(Series(label, i % STYLES) for i, label in enumerate(labels))


def _ticks(top: float, step: float, plot_height: float, fmt: Callable[[float], str]
           ) -> tuple[Tick, ...]:
    count = round(top / step)
    return tuple(Tick(TOP + plot_height - plot_height * (i * step) / top, fmt(i * step))
                 for i in range(count + 1))


def bar_chart(chart_id: str, title: str, description: str, categories: Sequence[str],
              series: Sequence[str], values: Sequence[Sequence[float]], *,
              fmt: Callable[[float], str] = str, stacked: bool = True, unit: float = 1,
              width: int = WIDTH, height: int = HEIGHT) -> BarChart:
    """Bars for each category (``values[category][series]``), stacked into one bar or
    grouped side by side; the y axis from 0 to a round number with about five ticks.
    ``fmt`` writes a value for the ticks, the direct labels and each bar's title; the
    ticks fall on round numbers of ``unit`` (60: of hours, for values in minutes)."""
    plot_width = width - LEFT - RIGHT
    plot_height = height - TOP - BOTTOM
    heights = [sum(row) if stacked else max(row, default=0) for row in values]
    step = nice_step(max(heights, default=0) / unit) * unit
    top = scale_top(max(heights, default=0), step)
    slot = plot_width / max(len(categories), 1)
    bar = slot * 0.7
    styles = _series(series)
    columns = []
    for i, (label, row) in enumerate(zip(categories, values, strict=True)):
        x0 = LEFT + i * slot + (slot - bar) / 2
        boxes = []
        y = TOP + plot_height
        each = bar / max(len(row), 1)
        for j, value in enumerate(row):
            h = plot_height * value / top
            what = f"{label}, {styles[j].label}: {fmt(value)}"
            if stacked:
                y -= h
                boxes.append(Box(x0, y, bar, h, styles[j].style, what))
            else:
                boxes.append(Box(x0 + j * each, TOP + plot_height - h, each, h,
                                 styles[j].style, what))
        total = heights[i]
        columns.append(Column(
            label=label, label_x=LEFT + i * slot + slot / 2, boxes=tuple(boxes),
            value_label=fmt(sum(row) if stacked else total) if total else "",
            value_y=TOP + plot_height - plot_height * total / top - 4))
    label_every = label_step(categories, slot) if categories else 1
    return BarChart(
        id=chart_id, title=title, description=description,
        kind="stacked" if stacked else "grouped", width=width, height=height, left=LEFT,
        top=TOP, bottom=TOP + plot_height, right=width - RIGHT,
        ticks=_ticks(top, step, plot_height, fmt), columns=tuple(columns), series=styles,
        label_every=label_every, values_fit=slot >= 56)


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class Line:
    series: Series
    path: str  # the SVG path's "d"
    points: tuple[Point, ...]
    end_label: str  # the last value, written beside the last point (the legend names it)
    end_x: float
    end_y: float


@dataclass(frozen=True)
class LineChart(_Plot):
    labels: tuple[tuple[float, str], ...]  # (x, text) under the axis
    lines: tuple[Line, ...]

    @property
    def empty(self) -> bool:
        return not any(line.points for line in self.lines)


def step_chart(chart_id: str, title: str, description: str, categories: Sequence[str],
               series: Sequence[str], values: Sequence[Sequence[float | None]], *,
               top: float = 100, fmt: Callable[[float], str] = str, steps: bool = True,
               width: int = WIDTH, height: int = HEIGHT) -> LineChart:
    """A line per series over the categories (``values[series][category]``; None: no
    value there, the line starts later). ``steps``: a step line, the value holds until
    the next category (a share signed off stays until more is signed off)."""
    plot_width = width - LEFT - RIGHT - 40  # room for the end labels
    plot_height = height - TOP - BOTTOM
    step = nice_step(top)
    slot = plot_width / max(len(categories) - 1, 1)
    lines = []
    for style, (label, row) in zip(_series(series), zip(series, values, strict=True),
                                   strict=False):
        points = []
        for i, value in enumerate(row):
            if value is None:
                continue
            points.append(Point(LEFT + i * slot, TOP + plot_height - plot_height * value / top,
                                f"{categories[i]}, {label}: {fmt(value)}"))
        path = ""
        for n, p in enumerate(points):
            if n == 0:
                path = f"M{p.x:.1f},{p.y:.1f}"
            elif steps:
                path += f" H{p.x:.1f} V{p.y:.1f}"
            else:
                path += f" L{p.x:.1f},{p.y:.1f}"
        last = points[-1] if points else None
        last_value = next((v for v in reversed(row) if v is not None), None)
        lines.append(Line(style, path, tuple(points),
                          fmt(last_value) if last is not None else "",
                          (last.x + 6) if last else 0, (last.y + 4) if last else 0))
    label_every = label_step(categories, slot) if len(categories) > 1 else 1
    labels = tuple((LEFT + i * slot, c) for i, c in enumerate(categories)
                   if i % label_every == 0 or i == len(categories) - 1)
    return LineChart(id=chart_id, title=title, description=description, width=width,
                     height=height, left=LEFT, top=TOP, bottom=TOP + plot_height,
                     right=LEFT + plot_width, ticks=_ticks(scale_top(top, step), step,
                                                           plot_height, fmt),
                     labels=labels, lines=tuple(lines))


@dataclass(frozen=True)
class Cell:
    x: float
    y: float
    band: int  # the shade, as the dashboard's matrix shades it
    text: str
    title: str


@dataclass(frozen=True)
class HeatChart:
    id: str
    title: str
    description: str
    width: int
    height: int
    cell_width: int
    cell_height: int
    row_labels: tuple[tuple[float, str], ...]  # (y, text)
    column_labels: tuple[tuple[float, str, str], ...]  # (x, short, full name)
    cells: tuple[Cell, ...]

    @property
    def empty(self) -> bool:
        return not self.cells


def heat_cells(chart_id: str, title: str, description: str, rows: Sequence[str],
               columns: Sequence[tuple[str, str]],
               values: Sequence[Sequence[int | None]], band: Callable[[int], int]
               ) -> HeatChart:
    """A grid: a row per person, a column per (short header, full name), each cell
    shaded by ``band(value)`` and its value written in it (None: no cell)."""
    label_width, cell_w, cell_h, head = 170, 48, 22, 28
    cells = []
    for r, (name, row) in enumerate(zip(rows, values, strict=True)):
        for c, value in enumerate(row):
            if value is None:
                continue
            cells.append(Cell(label_width + c * cell_w, head + r * cell_h, band(value),
                              f"{value}%", f"{name}, {columns[c][1]}: {value}%"))
    return HeatChart(
        id=chart_id, title=title, description=description,
        width=label_width + cell_w * max(len(columns), 1) + 4,
        height=head + cell_h * max(len(rows), 1) + 4, cell_width=cell_w, cell_height=cell_h,
        row_labels=tuple((head + r * cell_h + cell_h * 0.7, name) for r, name in enumerate(rows)),
        column_labels=tuple((label_width + c * cell_w + cell_w / 2, short, full)
                            for c, (short, full) in enumerate(columns)),
        cells=tuple(cells))
