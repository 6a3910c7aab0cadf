"""The report's charts as inline SVG: lines (losses), grouped bars and intervals (evaluation),
and a status timeline.

Each chart is a ``<figure class="chart" data-chart=...>`` holding one ``<svg>`` with a
``viewBox`` (it scales with the page), a title for screen readers, and a ``<title>`` on every
marker and bar so hovering shows the exact value without any script. Colours come from the
page's stylesheet by class (``SERIES_COLORS``); no element carries a ``style`` attribute, so
the page's Content-Security-Policy can forbid inline styles other than its own stylesheet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bmc.report.markup import AttributeValue, Html, join, tag, void
from bmc.report.scales import (
    LinearScale,
    Point,
    duration_ticks,
    extent,
    finite,
    format_duration,
    format_tick,
    integer_ticks,
    line_path,
    nice_ticks,
    scale_over,
)

WIDTH = 720
HEIGHT = 300
MARGIN_LEFT = 64
MARGIN_RIGHT = 24
MARGIN_TOP = 36
MARGIN_BOTTOM = 48
MAX_MARKERS = 60  # more points than this: the line alone (markers would hide it)
ROW_HEIGHT = 28
LABEL_WIDTH = 150
VALUE_WIDTH = 190  # interval rows print their value and interval at the right

# Series and bar colours (the page's stylesheet is built from this table; tests look for them).
SERIES_COLORS = {
    "training": "#1f6feb",
    "validation": "#d9480f",
    "base": "#868e96",
    "custom": "#2b8a3e",
    "positive": "#2b8a3e",
    "negative": "#c92a2a",
}
STATUS_COLORS = {
    "PENDING": "#adb5bd",
    "VALIDATING": "#74c0fc",
    "QUEUED": "#ffd43b",
    "TRAINING": "#1f6feb",
    "TRAINED": "#20c997",
    "DEPLOYING": "#9775fa",
    "IN_SERVICE": "#2b8a3e",
    "EVALUATING": "#f08c00",
    "COMPLETED": "#2b8a3e",
    "REJECTED": "#a61e4d",
    "FAILED": "#c92a2a",
    "STOPPED": "#e8590c",
    "DELETED": "#495057",
}
OTHER_STATUS_COLOR = "#868e96"


@dataclass(frozen=True, slots=True)
class Series:
    key: str  # colour class: a key of SERIES_COLORS
    label: str
    points: Sequence[Point]


@dataclass(frozen=True, slots=True)
class BarGroup:
    key: str
    label: str
    values: Sequence[float | None]  # one per category
    texts: Sequence[str]  # what each bar's tooltip says


@dataclass(frozen=True, slots=True)
class Interval:
    label: str
    value: float | None
    low: float | None
    high: float | None
    text: str  # printed beside the row


@dataclass(frozen=True, slots=True)
class Segment:
    label: str  # a run status
    start: float  # seconds since the run started
    end: float | None  # None: the status the run is in (a marker, no bar)
    detail: str = ""


@dataclass(frozen=True, slots=True)
class PlotArea:
    left: float
    top: float
    right: float
    bottom: float

    @classmethod
    def of(cls, width: float, height: float, *, left: float = MARGIN_LEFT) -> PlotArea:
        return cls(left, MARGIN_TOP, width - MARGIN_RIGHT, height - MARGIN_BOTTOM)


def _figure(chart_id: str, title: str, width: float, height: float, body: Html, *, empty: bool) -> Html:
    svg = tag(
        "svg",
        tag("title", title),
        body,
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {width:g} {height:g}",
        role="img",
        aria_label=title,
        class_="chart-svg",
    )
    return tag(
        "figure",
        svg,
        tag("figcaption", title),
        class_="chart",
        data_chart=chart_id,
        data_empty="true" if empty else "false",
    )


def _text(
    x: float, y: float, content: object, *, class_: str, anchor: str = "middle", **attrs: AttributeValue
) -> Html:
    return tag("text", content, x=x, y=y, class_=class_, text_anchor=anchor, **attrs)


def _frame(area: PlotArea) -> Html:
    return void(
        "rect",
        x=area.left,
        y=area.top,
        width=area.right - area.left,
        height=area.bottom - area.top,
        class_="frame",
    )


def _no_data(area: PlotArea, message: str) -> Html:
    middle = _text((area.left + area.right) / 2, (area.top + area.bottom) / 2, message, class_="no-data")
    return join([_frame(area), middle])


def _y_grid(area: PlotArea, ticks: Sequence[float], y: LinearScale, step: float) -> Html:
    parts = []
    for tick in ticks:
        at = y(tick)
        parts.append(void("line", x1=area.left, x2=area.right, y1=at, y2=at, class_="grid"))
        parts.append(_text(area.left - 8, at + 4, format_tick(tick, step), class_="tick", anchor="end"))
    return join(parts)


def _x_axis(area: PlotArea, ticks: Sequence[float], x: LinearScale, label: Callable[[float], str]) -> Html:
    parts = [void("line", x1=area.left, x2=area.right, y1=area.bottom, y2=area.bottom, class_="axis")]
    for tick in ticks:
        at = x(tick)
        parts.append(void("line", x1=at, x2=at, y1=area.bottom, y2=area.bottom + 5, class_="axis"))
        parts.append(_text(at, area.bottom + 18, label(tick), class_="tick"))
    return join(parts)


def _axis_labels(area: PlotArea, width: float, height: float, x_label: str, y_label: str) -> Html:
    middle_y = (area.top + area.bottom) / 2
    return join(
        [
            _text((area.left + area.right) / 2, height - 8, x_label, class_="axis-label"),
            _text(14, middle_y, y_label, class_="axis-label", transform=f"rotate(-90 14 {middle_y:g})"),
        ]
    )


def _legend(entries: Sequence[tuple[str, str]], left: float, kind: str = "line") -> Html:
    parts = []
    x = left
    for key, label in entries:
        if kind == "line":
            parts.append(void("line", x1=x, x2=x + 18, y1=16, y2=16, class_=f"swatch {key}"))
        else:
            parts.append(void("rect", x=x, y=10, width=14, height=12, class_=f"bar {key}"))
        parts.append(_text(x + 24, 20, label, class_="legend", anchor="start"))
        x += 32 + 7.5 * len(label)
    return join(parts)


def _ticks_step(ticks: Sequence[float]) -> float:
    return ticks[1] - ticks[0] if len(ticks) > 1 else 1.0


def line_chart(
    *,
    chart_id: str,
    title: str,
    x_label: str,
    y_label: str,
    series: Sequence[Series],
    integer_x: bool = False,
    width: float = WIDTH,
    height: float = HEIGHT,
) -> Html:
    """Lines through each series' points, on shared axes; markers when there are few points."""
    area = PlotArea.of(width, height)
    drawn = [s for s in series if any(finite(px) and finite(py) for px, py in s.points)]
    xs = extent(px for s in drawn for px, py in s.points if finite(py))
    ys = extent(py for s in drawn for _, py in s.points)
    legend = _legend([(s.key, s.label if s in drawn else f"{s.label} (no data)") for s in series], area.left)
    if xs is None or ys is None:
        body = join([legend, _no_data(area, "No data")])
        return _figure(chart_id, title, width, height, body, empty=True)
    x_ticks = integer_ticks(*xs) if integer_x else nice_ticks(*xs)
    y_ticks = nice_ticks(*ys)
    x = scale_over(x_ticks, (area.left, area.right))
    y = scale_over(y_ticks, (area.bottom, area.top))
    x_step, y_step = _ticks_step(x_ticks), _ticks_step(y_ticks)
    parts = [
        _frame(area),
        _y_grid(area, y_ticks, y, y_step),
        _x_axis(area, x_ticks, x, lambda t: format_tick(t, x_step)),
        _axis_labels(area, width, height, x_label, y_label),
        legend,
    ]
    for s in drawn:
        parts.append(void("path", d=line_path(s.points, x, y), class_=f"series {s.key}"))
        finite_points = [(px, py) for px, py in s.points if finite(px) and finite(py)]
        if len(finite_points) <= MAX_MARKERS:
            for px, py in finite_points:
                value = float(py)
                description = f"{s.label}: {x_label} {format_tick(px, x_step)}, {y_label} {value:.4f}"
                parts.append(
                    tag(
                        "circle",
                        tag("title", description),
                        cx=x(px),
                        cy=y(value),
                        r=3.5,
                        class_=f"marker {s.key}",
                    )
                )
    return _figure(chart_id, title, width, height, join(parts), empty=False)


def grouped_bar_chart(
    *,
    chart_id: str,
    title: str,
    categories: Sequence[str],
    groups: Sequence[BarGroup],
    y_label: str,
    y_max: float = 100.0,
    width: float = WIDTH,
    height: float = HEIGHT,
) -> Html:
    """One cluster of bars per category (e.g. base and custom per metric) on a 0..y_max axis."""
    area = PlotArea.of(width, height)
    legend = _legend([(g.key, g.label) for g in groups], area.left, kind="bar")
    values = [v for g in groups for v in g.values if finite(v)]
    if not categories or not values:
        return _figure(chart_id, title, width, height, join([legend, _no_data(area, "No data")]), empty=True)
    y_ticks = nice_ticks(0.0, max(y_max, *values))
    y = scale_over(y_ticks, (area.bottom, area.top))
    slot = (area.right - area.left) / len(categories)
    bar_width = min(48.0, slot * 0.8 / max(len(groups), 1))
    parts = [
        _frame(area),
        _y_grid(area, y_ticks, y, _ticks_step(y_ticks)),
        void("line", x1=area.left, x2=area.right, y1=area.bottom, y2=area.bottom, class_="axis"),
        _axis_labels(area, width, height, "", y_label),
        legend,
    ]
    for index, category in enumerate(categories):
        center = area.left + slot * (index + 0.5)
        start = center - bar_width * len(groups) / 2
        for position, group in enumerate(groups):
            value = group.values[index]
            left = start + position * bar_width
            if not finite(value):
                parts.append(_text(left + bar_width / 2, area.bottom - 4, "n/a", class_="tick"))
                continue
            top = y(max(float(value), 0.0))
            parts.append(
                tag(
                    "rect",
                    tag("title", f"{category}: {group.label} {group.texts[index]}"),
                    x=left + 1,
                    y=top,
                    width=bar_width - 2,
                    height=max(area.bottom - top, 0.0),
                    class_=f"bar {group.key}",
                )
            )
        parts.append(_text(center, area.bottom + 18, category, class_="tick"))
    return _figure(chart_id, title, width, height, join(parts), empty=False)


def interval_chart(
    *, chart_id: str, title: str, rows: Sequence[Interval], x_label: str, width: float = WIDTH
) -> Html:
    """One row per item: a bar from zero to the value and a whisker from low to high."""
    height = MARGIN_TOP + ROW_HEIGHT * max(len(rows), 1) + MARGIN_BOTTOM
    area = PlotArea.of(width, height, left=LABEL_WIDTH)
    area = PlotArea(area.left, area.top, area.right - VALUE_WIDTH, area.bottom)
    bounds = extent([0.0, *(v for r in rows for v in (r.value, r.low, r.high))])
    if not rows or bounds is None or not any(finite(r.value) for r in rows):
        return _figure(chart_id, title, width, height, _no_data(area, "No comparison"), empty=True)
    ticks = nice_ticks(*bounds)
    x = scale_over(ticks, (area.left, area.right))
    zero = x(0.0)
    step = _ticks_step(ticks)
    parts = [
        _x_axis(area, ticks, x, lambda t: format_tick(t, step)),
        _text((area.left + area.right) / 2, height - 8, x_label, class_="axis-label"),
    ]
    for tick in ticks:
        parts.append(void("line", x1=x(tick), x2=x(tick), y1=area.top, y2=area.bottom, class_="grid"))
    for index, row in enumerate(rows):
        middle = area.top + ROW_HEIGHT * (index + 0.5)
        parts.append(_text(area.left - 10, middle + 4, row.label, class_="row-label", anchor="end"))
        parts.append(_text(area.right + 10, middle + 4, row.text, class_="value", anchor="start"))
        if finite(row.value):
            value = float(row.value)
            key = "positive" if value >= 0 else "negative"
            left, right = sorted((zero, x(value)))
            parts.append(
                tag(
                    "rect",
                    tag("title", f"{row.label}: {row.text}"),
                    x=left,
                    y=middle - 8,
                    width=max(right - left, 1.0),
                    height=16,
                    class_=f"bar {key}",
                )
            )
        if finite(row.low) and finite(row.high):
            low, high = x(float(row.low)), x(float(row.high))
            parts.append(void("line", x1=low, x2=high, y1=middle, y2=middle, class_="whisker"))
            for end in (low, high):
                parts.append(void("line", x1=end, x2=end, y1=middle - 6, y2=middle + 6, class_="whisker"))
    parts.append(void("line", x1=zero, x2=zero, y1=area.top - 4, y2=area.bottom, class_="zero"))
    return _figure(chart_id, title, width, height, join(parts), empty=False)


def timeline_chart(*, chart_id: str, title: str, segments: Sequence[Segment], width: float = WIDTH) -> Html:
    """One row per status: a bar for as long as the run was in it, a marker for the current one."""
    height = MARGIN_TOP + ROW_HEIGHT * max(len(segments), 1) + MARGIN_BOTTOM
    area = PlotArea.of(width, height, left=LABEL_WIDTH)
    if not segments:
        return _figure(chart_id, title, width, height, _no_data(area, "No status history"), empty=True)
    total = max(*(s.end if s.end is not None else s.start for s in segments), 1.0)
    ticks = duration_ticks(total)
    x = scale_over(ticks, (area.left, area.right))
    parts = [
        _x_axis(area, ticks, x, format_duration),
        _text(
            (area.left + area.right) / 2,
            height - 8,
            "time since the run started (h:mm:ss)",
            class_="axis-label",
        ),
    ]
    for tick in ticks:
        parts.append(void("line", x1=x(tick), x2=x(tick), y1=area.top, y2=area.bottom, class_="grid"))
    for index, segment in enumerate(segments):
        middle = area.top + ROW_HEIGHT * (index + 0.5)
        key = status_class(segment.label)
        parts.append(_text(area.left - 10, middle + 4, segment.label, class_="row-label", anchor="end"))
        start = x(segment.start)
        if segment.end is None:
            tooltip = f"{segment.label} since {format_duration(segment.start)}"
            parts.append(
                tag("circle", tag("title", tooltip), cx=start, cy=middle, r=6, class_=f"status {key}")
            )
            continue
        duration = segment.end - segment.start
        tooltip = f"{segment.label} for {format_duration(duration)} (from {format_duration(segment.start)})"
        if segment.detail:
            tooltip += f": {segment.detail}"
        parts.append(
            tag(
                "rect",
                tag("title", tooltip),
                x=start,
                y=middle - 9,
                width=max(x(segment.end) - start, 3.0),  # an instant still shows
                height=18,
                class_=f"status {key}",
            )
        )
    return _figure(chart_id, title, width, height, join(parts), empty=False)


def status_class(status: str) -> str:
    """The CSS class of a status colour (``status-in-service``); unknown statuses share one."""
    known = status if status in STATUS_COLORS else "OTHER"
    return "status-" + known.lower().replace("_", "-")


def percent_of_scale(value: float | None, low: float, high: float) -> float | None:
    """``value`` as a percentage of the scale [low, high] (a 1-5 judge score of 3 is 50 %)."""
    if not finite(value) or high <= low:
        return None
    return (float(value) - low) / (high - low) * 100
