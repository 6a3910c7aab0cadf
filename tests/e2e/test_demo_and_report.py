"""What a person sees of a run: the demo's printout and the HTML report in a real headless Chromium.

The demo's run is played once (in the local cloud, saved as `make demo` saves it). Two pages
are opened: the report the workflow wrote for that run, and a report
with every section (evaluation, lineage, user text that tries to inject markup). Each is
screenshotted (test-output/screenshots/, listed at the end of the run), and each chart must
have rendered: a box of real size, its series drawn in their colours (pixels of those colours
in the chart's own screenshot), styled by the page's stylesheet (the CSP let it apply), and
no console error (a blocked resource or a policy violation would log one).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from bmc.report import render_report
from bmc.report.charts import SERIES_COLORS, STATUS_COLORS

from localcloud.cloud import LocalCloud
from localcloud.demo import DEFAULT_SCENARIO, SECTIONS, save_run
from localcloud.scenarios import SCENARIOS
from tests.browser_support import (
    browser,
    console,
    full_page_screenshot,
    hex_rgb,
    pixels_near,
    share_not_background,
)
from tests.unit.report_fixtures import HOSTILE_NAME, full_inputs

pytestmark = pytest.mark.e2e

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "demo-output"
MIN_SERIES_PIXELS = 150  # a drawn line of a few hundred pixels; an undrawn one has none
# The colours each chart must show (chart id -> colours of its series, bars or statuses).
EXPECTED_COLORS = {
    "timeline": [STATUS_COLORS["TRAINING"]],
    "loss-per-step": [SERIES_COLORS["training"], SERIES_COLORS["validation"]],
    "loss-per-epoch": [SERIES_COLORS["training"], SERIES_COLORS["validation"]],
    "evaluation-scores": [SERIES_COLORS["base"], SERIES_COLORS["custom"]],
    "evaluation-deltas": [SERIES_COLORS["positive"], SERIES_COLORS["negative"]],
}


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    with browser() as opened:
        yield opened


@dataclass(frozen=True)
class DemoOutcome:
    folder: Path  # demo-output/<runId>/ as `make demo` leaves it
    printout: str


@pytest.fixture(scope="module")
def demo(synthesized: tuple[dict[str, Any], str]) -> DemoOutcome:
    """The demo's run, saved and printed as `make demo` does (the synthesis is the suite's)."""
    templates, prefix = synthesized
    printed = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")  # a UTF-8 terminal
    with LocalCloud(templates, prefix=prefix) as cloud:
        result = SCENARIOS[DEFAULT_SCENARIO].run(cloud)
        run = save_run(cloud, result, OUTPUT)
        with redirect_stdout(printed):
            for section in SECTIONS:
                section(run)
    printed.seek(0)
    return DemoOutcome(run.output, printed.read())


def test_the_demo_prints_a_readable_run_and_saves_everything(demo: DemoOutcome) -> None:
    text = demo.printout
    assert re.search(r"^  WARNING  s3://\S+/train\.jsonl  FEW_RECORDS: ", text, re.MULTILINE)
    assert re.search(r"~\d{1,3}(,\d{3})+ training tokens", text)  # thousands separators
    assert re.search(r"for \d{1,3}(,\d{3})+ billed tokens", text)
    assert len(re.findall(r"^  epoch \d +training +\d\.\d{4} █+", text, re.MULTILINE)) == 3
    assert len(re.findall(r"^ +validation \d\.\d{4} █+", text, re.MULTILINE)) == 3
    assert '"statusHistory"' not in text and "{" not in text  # a summary, not the raw record
    assert f"report         {demo.folder / 'report.html'}" in text
    saved = {path.name for path in demo.folder.iterdir()}
    assert saved == {
        "record.json",
        "validation.json",
        "metrics.json",
        "evaluation.json",
        "predictions.jsonl",
        "report.html",
        "notifications.txt",
    }
    # The evaluation's table: metric, base, custom, delta (95% CI), then the gate's verdict.
    assert "Evaluation: custom model vs its base" in text
    assert re.search(
        r"^  rougeL +\d\.\d{4} +\d\.\d{4} +[+-]\d\.\d{4} \([+-]\d\.\d{4} to ", text, re.MULTILINE
    )
    assert re.search(r"^  gate (PASSED|FAILED)", text, re.MULTILINE)
    record = json.loads((demo.folder / "record.json").read_text())
    assert "taskToken" not in record and record["reports"]["report"].endswith("/report.html")


def test_recorded_times_follow_the_simulated_timeline(demo: DemoOutcome) -> None:
    """The job trains for an hour of simulated time: the record says so too (not seconds of wall
    time). The runtime clock also moves with real time between advances, hence the tolerance."""
    history = json.loads((demo.folder / "record.json").read_text())["statusHistory"]
    at = {entry["status"]: datetime.fromisoformat(entry["at"]) for entry in history}
    assert abs((at["TRAINED"] - at["TRAINING"]).total_seconds() - 3600) < 60
    assert abs((at["IN_SERVICE"] - at["DEPLOYING"]).total_seconds() - 600) < 60  # ten polls a minute apart
    assert re.search(r"TRAINED \+(0:59|1:00):\d\d", demo.printout)


def open_report(driver: Any, path: Path) -> list[Any]:
    driver.get_log("browser")  # start from an empty console
    driver.get(path.as_uri())
    return list(driver.find_elements("css selector", "figure.chart"))


def check_charts(driver: Any, figures: list[Any], expected: dict[str, list[str]]) -> None:
    shown = {figure.get_attribute("data-chart"): figure for figure in figures}
    assert set(expected) <= set(shown), f"charts missing: {set(expected) - set(shown)}"
    for chart_id, colors in expected.items():
        figure = shown[chart_id]
        assert figure.get_attribute("data-empty") == "false", chart_id
        svg = figure.find_element("css selector", "svg")
        box = svg.rect
        assert box["width"] > 300 and box["height"] > 100, (chart_id, box)
        png = svg.screenshot_as_png
        assert share_not_background(png) > 0.02, f"{chart_id} looks blank"
        for color in colors:
            found = pixels_near(png, color)
            assert found >= MIN_SERIES_PIXELS, f"{chart_id}: {found} pixels of {color}"


def check_styled(driver: Any) -> None:
    """The stylesheet applied (the policy's hash matched it): series get their colour from it."""
    stroke = driver.execute_script(
        "return getComputedStyle(document.querySelector('path.series.training')).stroke"
    )
    assert stroke == "rgb({}, {}, {})".format(*hex_rgb(SERIES_COLORS["training"]))


def test_the_report_the_demo_left_renders_its_charts(driver: Any, demo: DemoOutcome) -> None:
    report = demo.folder / "report.html"
    figures = open_report(driver, report)
    screenshot = full_page_screenshot(driver, f"report-{demo.folder.name}")
    print(f"\nreport: {report}\nscreenshot: {screenshot}")
    check_charts(
        driver, figures, {k: EXPECTED_COLORS[k] for k in ("timeline", "loss-per-step", "loss-per-epoch")}
    )
    check_styled(driver)
    assert driver.find_element("css selector", ".badge").text == "IN_SERVICE"
    assert "team platform" in driver.find_element("css selector", "dl.facts").text  # not a dict
    assert [entry for entry in console(driver) if entry.level == "SEVERE"] == []


def test_a_report_with_every_section_renders_and_escapes_what_users_wrote(driver: Any) -> None:
    path = OUTPUT.parent / "every-section" / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(full_inputs()), encoding="utf-8")
    figures = open_report(driver, path)
    screenshot = full_page_screenshot(driver, "report-every-section")
    print(f"\nreport: {path}\nscreenshot: {screenshot}")
    check_charts(driver, figures, EXPECTED_COLORS)
    check_styled(driver)
    # The hostile run name is the page's title text, not a script that ran.
    assert driver.find_element("css selector", "h1").text == f"Run report: {HOSTILE_NAME}"
    assert driver.find_elements("css selector", "script, img") == []
    assert [entry for entry in console(driver) if entry.level == "SEVERE"] == []
