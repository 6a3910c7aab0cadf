"""Chart geometry (scales, ticks, paths) and the SVG the charts are made of."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from bmc.report import charts
from bmc.report.charts import BarGroup, Interval, Segment, Series
from bmc.report.scales import (
    LinearScale,
    decimals_for,
    duration_ticks,
    extent,
    format_duration,
    format_tick,
    integer_ticks,
    line_path,
    nice_step,
    nice_ticks,
    widen,
)

SVG = "{http://www.w3.org/2000/svg}"
NAN = float("nan")


def parse(figure: str) -> ET.Element:
    """The figure as XML (it is: every element is closed and every value escaped)."""
    return ET.fromstring(figure)


def svg_elements(figure: str, name: str) -> list[ET.Element]:
    return list(parse(figure).iter(f"{SVG}{name}"))


# --- scales and ticks ----------------------------------------------------------------------------


def test_a_linear_scale_maps_the_domain_onto_the_range_and_can_flip_it() -> None:
    x = LinearScale((0.0, 10.0), (50.0, 150.0))
    assert (x(0), x(5), x(10), x(-2)) == (50.0, 100.0, 150.0, 30.0)
    y = LinearScale((0.0, 2.0), (200.0, 0.0))  # SVG's y grows downwards
    assert (y(0), y(0.5), y(2)) == (200.0, 150.0, 0.0)


def test_a_scale_with_an_empty_domain_maps_to_the_middle() -> None:
    assert LinearScale((3.0, 3.0), (0.0, 100.0))(3.0) == 50.0


@pytest.mark.parametrize(
    ("span", "count", "step"),
    [
        (1.0, 5, 0.2),
        (10.0, 5, 2.0),
        (7.0, 5, 2.0),
        (0.9, 4, 0.25),
        (2.2, 5, 0.5),
        (1e6, 5, 200_000.0),
        (0.0, 5, 1.0),
    ],
)
def test_nice_steps_are_1_2_2_5_or_5_times_a_power_of_ten(span: float, count: int, step: float) -> None:
    assert nice_step(span, count) == pytest.approx(step)


def test_nice_ticks_cover_the_values_at_round_numbers() -> None:
    assert nice_ticks(0.52, 2.2) == [0.5, 1.0, 1.5, 2.0, 2.5]
    assert nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(-5.1, 8.4) == [-10.0, -5.0, 0.0, 5.0, 10.0]
    ticks = nice_ticks(0.1, 0.7, count=6)
    assert ticks == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]  # no 0.30000000000000004


def test_a_single_value_gets_ticks_around_it() -> None:
    assert widen(2.0, 2.0) == (1.8, 2.2)
    assert widen(0.0, 0.0) == (-1.0, 1.0)
    ticks = nice_ticks(2.0, 2.0)
    assert ticks[0] < 2.0 < ticks[-1]


def test_integer_ticks_never_fall_between_steps_or_epochs() -> None:
    assert integer_ticks(1, 3) == [1.0, 2.0, 3.0]
    assert integer_ticks(0, 29) == [0.0, 10.0, 20.0, 30.0]
    assert integer_ticks(1, 1) == [0.0, 1.0, 2.0]
    assert all(t == int(t) for t in integer_ticks(0, 7, count=10))


def test_duration_ticks_are_clock_like() -> None:
    assert duration_ticks(70 * 60) == [0.0, 900.0, 1800.0, 2700.0, 3600.0, 4500.0]  # 15 minutes
    assert duration_ticks(4.0) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert duration_ticks(0.0)[-1] >= 1.0
    assert len(duration_ticks(90 * 86400)) <= 7  # beyond the table: doubled weeks


def test_labels_show_as_many_decimals_as_the_step_needs() -> None:
    assert (decimals_for(1.0), decimals_for(0.5), decimals_for(0.25), decimals_for(2e-5)) == (0, 1, 2, 5)
    assert format_tick(1500.0, 500.0) == "1,500"
    assert format_tick(0.5, 0.25) == "0.50"
    assert format_duration(3725) == "1:02:05" and format_duration(90000) == "1d 1:00:00"


def test_extent_ignores_what_is_not_a_finite_number() -> None:
    assert extent([3.0, None, NAN, float("inf"), -1.0]) == (-1.0, 3.0)
    assert extent([]) is None and extent([NAN]) is None


# --- paths ---------------------------------------------------------------------------------------


def test_a_path_goes_through_known_points() -> None:
    x = LinearScale((0.0, 10.0), (0.0, 100.0))
    y = LinearScale((0.0, 1.0), (50.0, 0.0))
    assert line_path([(0, 0.0), (5, 0.5), (10, 1.0)], x, y) == "M0,50L50,25L100,0"
    assert line_path([(1, 0.333)], x, y) == "M10,33.35"


def test_a_missing_value_is_a_gap_not_a_drop_to_zero() -> None:
    x = LinearScale((0.0, 4.0), (0.0, 4.0))
    y = LinearScale((0.0, 4.0), (0.0, 4.0))
    points = [(0, 1.0), (1, 2.0), (2, NAN), (3, 3.0), (4, None)]
    assert line_path(points, x, y) == "M0,1L1,2M3,3"
    assert line_path([], x, y) == ""


# --- charts --------------------------------------------------------------------------------------


def line(series: list[Series], **options: Any) -> str:
    """A line chart with this module's defaults for what a test does not care about."""
    arguments: dict[str, Any] = {"chart_id": "c", "title": "Chart", "x_label": "epoch", "y_label": "loss"}
    return charts.line_chart(**{**arguments, **options}, series=series)


def test_a_line_chart_draws_each_series_on_shared_axes() -> None:
    figure = line(
        [
            Series("training", "training", [(1, 1.2), (2, 0.8), (3, 0.6)]),
            Series("validation", "validation", [(1, 1.4), (2, 0.9), (3, 0.7)]),
        ],
        chart_id="loss",
        title="Loss",
        integer_x=True,
    )
    root = parse(figure)
    assert root.get("data-chart") == "loss" and root.get("data-empty") == "false"
    paths = {p.get("class"): str(p.get("d", "")) for p in svg_elements(figure, "path")}
    assert set(paths) == {"series training", "series validation"}
    # y ticks 0.6..1.4 map onto the plot area (top 36, bottom 252): the lowest loss sits on the bottom.
    training = [
        tuple(map(float, pair.split(","))) for pair in re.findall(r"[ML]([^ML]+)", paths["series training"])
    ]
    assert training[0][0] == charts.MARGIN_LEFT and training[-1][0] == charts.WIDTH - charts.MARGIN_RIGHT
    assert training[-1][1] == charts.HEIGHT - charts.MARGIN_BOTTOM
    tick_labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "tick"]
    assert {"1", "2", "3"} <= set(tick_labels)
    assert len(svg_elements(figure, "circle")) == 6
    assert "training: epoch 2, loss 0.8000" in [t.text for t in root.iter(f"{SVG}title")]


def test_an_empty_chart_says_so_and_a_series_without_data_is_labelled() -> None:
    figure = line([Series("training", "training", [])], chart_id="loss", title="Loss", x_label="step")
    root = parse(figure)
    assert root.get("data-empty") == "true"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "No data" in texts and "training (no data)" in texts
    assert svg_elements(figure, "path") == []


def test_a_single_point_is_a_visible_marker_inside_the_plot() -> None:
    figure = line([Series("training", "t", [(1, 0.5)])], chart_id="one", title="One")
    [marker] = svg_elements(figure, "circle")
    cx, cy = float(marker.get("cx", "nan")), float(marker.get("cy", "nan"))
    assert charts.MARGIN_LEFT < cx < charts.WIDTH - charts.MARGIN_RIGHT
    assert charts.MARGIN_TOP < cy < charts.HEIGHT - charts.MARGIN_BOTTOM


def test_nan_values_break_the_line_and_do_not_move_the_axes() -> None:
    figure = line(
        [Series("training", "t", [(0, 1.0), (1, NAN), (2, 0.5), (3, float("inf"))])],
        chart_id="gap",
        title="Gap",
        x_label="step",
        integer_x=True,
    )
    [path] = svg_elements(figure, "path")
    assert path.get("d", "").count("M") == 2 and "nan" not in path.get("d", "").lower()
    assert len(svg_elements(figure, "circle")) == 2
    labels = [t.text or "" for t in parse(figure).iter(f"{SVG}text") if t.get("class") == "tick"]
    assert "inf" not in " ".join(labels)


def test_many_points_are_drawn_as_a_line_without_markers() -> None:
    points = [(i, math.exp(-i / 100)) for i in range(500)]
    figure = line([Series("training", "t", points)], chart_id="steps", title="Steps", x_label="step")
    assert svg_elements(figure, "circle") == []
    [path] = svg_elements(figure, "path")
    assert path.get("d", "").count("L") == 499


def test_bars_rise_from_zero_to_their_share_of_the_axis() -> None:
    figure = charts.grouped_bar_chart(
        chart_id="scores",
        title="Scores",
        categories=["rougeL", "bleu"],
        groups=[
            BarGroup("base", "base", [40.0, None], ["0.40", "-"]),
            BarGroup("custom", "custom", [50.0, 20.0], ["0.50", "20"]),
        ],
        y_label="%",
    )
    bars = [r for r in svg_elements(figure, "rect") if "bar" in (r.get("class") or "").split()]
    plot_height = charts.HEIGHT - charts.MARGIN_BOTTOM - charts.MARGIN_TOP
    heights = {
        (r.get("class"), round(float(r.get("height", 0)))) for r in bars if r.find(f"{SVG}title") is not None
    }
    assert heights == {
        ("bar base", round(plot_height * 0.4)),
        ("bar custom", round(plot_height * 0.5)),
        ("bar custom", round(plot_height * 0.2)),
    }
    assert "n/a" in [t.text for t in parse(figure).iter(f"{SVG}text")]


def test_interval_rows_draw_the_value_and_a_whisker_around_zero() -> None:
    figure = charts.interval_chart(
        chart_id="deltas",
        title="Deltas",
        rows=[Interval("rougeL", 6.0, -1.0, 12.0, "+0.06"), Interval("bleu", -2.5, -5.1, 0.2, "-2.5")],
        x_label="change",
    )
    root = parse(figure)
    bars = list(root.iter(f"{SVG}rect"))
    assert [b.get("class") for b in bars] == ["bar positive", "bar negative"]
    zero = next(line for line in root.iter(f"{SVG}line") if line.get("class") == "zero")
    zero_x = float(zero.get("x1", "nan"))
    positive, negative = bars
    assert float(positive.get("x", "nan")) == pytest.approx(zero_x)
    assert float(negative.get("x", "nan")) + float(negative.get("width", "nan")) == pytest.approx(zero_x)
    whiskers = [line for line in root.iter(f"{SVG}line") if line.get("class") == "whisker"]
    assert len(whiskers) == 6  # a span and two caps per row


def test_a_timeline_has_a_bar_per_past_status_and_a_marker_for_the_current_one() -> None:
    figure = charts.timeline_chart(
        chart_id="timeline",
        title="Timeline",
        segments=[Segment("PENDING", 0, 0), Segment("TRAINING", 0, 3600), Segment("IN_SERVICE", 3600, None)],
    )
    rects = svg_elements(figure, "rect")
    assert [r.get("class") for r in rects] == ["status status-pending", "status status-training"]
    assert float(rects[0].get("width", 0)) >= 3  # an instant still shows
    [current] = svg_elements(figure, "circle")
    assert current.get("class") == "status status-in-service"
    assert charts.status_class("SOMETHING_NEW") == "status-other"


def test_percent_of_scale() -> None:
    assert charts.percent_of_scale(3.0, 1.0, 5.0) == 50.0
    assert charts.percent_of_scale(None, 0.0, 1.0) is None
    assert charts.percent_of_scale(NAN, 0.0, 1.0) is None


def test_chart_text_from_users_is_escaped() -> None:
    figure = line(
        [Series("training", "<i>", [(0, 1.0)])], chart_id="x", title="<b>t</b>", x_label="a&b", y_label='"y"'
    )
    assert "<b>" not in figure and "<i>" not in figure
    root = parse(figure)
    assert root.find(f"{SVG}svg/{SVG}title") is not None or root.find(f".//{SVG}title") is not None
