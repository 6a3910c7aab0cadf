"""The run report as one self-contained HTML page.

Everything is inline: the stylesheet, the SVG charts, no script, no font, no image, no link to
anything the browser would fetch. The Content-Security-Policy says so to the browser too:
``default-src 'none'`` with the stylesheet allowed by its SHA-256 hash alone, so even a value
that escaped escaping could neither run nor load anything.
"""

from __future__ import annotations

import base64
import hashlib

from bmc import __version__
from bmc.report import formatting
from bmc.report.charts import OTHER_STATUS_COLOR, SERIES_COLORS, STATUS_COLORS, status_class
from bmc.report.inputs import ReportInputs
from bmc.report.markup import Html, tag, void
from bmc.report.sections import SECTIONS, Section

BACKGROUND = "#ffffff"

_BASE_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #ffffff; color: #212529;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", "DejaVu Sans", sans-serif; }
header { padding: 24px 32px 12px; border-bottom: 1px solid #dee2e6; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 0; color: #495057; }
nav { padding: 8px 32px; border-bottom: 1px solid #dee2e6; font-size: 14px; }
nav a { margin-right: 16px; color: #1c7ed6; text-decoration: none; }
main { padding: 8px 32px 32px; max-width: 1280px; }
section { margin-top: 24px; }
h2 { font-size: 19px; border-bottom: 1px solid #e9ecef; padding-bottom: 4px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0; }
dl.facts dt { color: #495057; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: 12px 0; font-size: 14px; }
th, td { border-bottom: 1px solid #e9ecef; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f8f9fa; font-weight: 600; }
td { overflow-wrap: anywhere; }
table.numbers td + td { font-variant-numeric: tabular-nums; }
table.findings td:nth-child(4), table.lineage td:nth-child(1), table.lineage td:nth-child(5) { white-space: nowrap; }
table.findings td:nth-child(5) { max-width: 520px; }
code.digest { display: inline-block; max-width: 12em; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
  vertical-align: bottom; }
.note { color: #495057; font-size: 14px; margin: 6px 0; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 12px; color: #ffffff; font-weight: 600;
  font-size: 13px; letter-spacing: 0.03em; }
.severity { font-weight: 700; font-size: 12px; }
.severity.error { color: #c92a2a; }
.severity.warning { color: #e67700; }
.error-box { border-left: 4px solid #c92a2a; background: #fff5f5; padding: 8px 12px; margin: 12px 0; }
.error-box pre { white-space: pre-wrap; margin: 4px 0 0; font-size: 13px; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
figure.chart { margin: 8px 0; flex: 1 1 560px; max-width: 720px; }
figure.chart figcaption { font-size: 13px; color: #495057; text-align: center; }
svg.chart-svg { width: 100%; height: auto; display: block; }
svg text { font-family: inherit; fill: #343a40; }
svg .tick { font-size: 11px; fill: #495057; }
svg .axis-label { font-size: 12px; fill: #343a40; }
svg .legend { font-size: 12px; }
svg .row-label, svg .value { font-size: 12px; }
svg .no-data { font-size: 14px; fill: #868e96; }
svg .frame { fill: none; stroke: #ced4da; }
svg .grid { stroke: #e9ecef; }
svg .axis { stroke: #868e96; }
svg .zero { stroke: #343a40; stroke-width: 1.5; }
svg .whisker { stroke: #212529; stroke-width: 1.5; }
svg path.series { fill: none; stroke-width: 2.5; stroke-linejoin: round; }
svg .swatch { stroke-width: 3; }
ol.chain { padding-left: 20px; }
footer { padding: 16px 32px; color: #868e96; font-size: 13px; border-top: 1px solid #dee2e6; }
"""


def stylesheet() -> str:
    """The base rules plus one rule per colour of the charts' series, bars and statuses."""
    rules = [_BASE_CSS.strip()]
    for key, color in SERIES_COLORS.items():
        rules.append(
            f"svg .series.{key}, svg .swatch.{key} {{ stroke: {color}; }} "
            f"svg .marker.{key}, svg .bar.{key} {{ fill: {color}; }}"
        )
    for status, color in {**STATUS_COLORS, "OTHER": OTHER_STATUS_COLOR}.items():
        name = status_class(status)
        rules.append(f".badge.{name} {{ background: {color}; }} svg .status.{name} {{ fill: {color}; }}")
    return "\n".join(rules) + "\n"


def content_security_policy(css: str) -> str:
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return (
        "default-src 'none'; "
        f"style-src 'sha256-{digest}'; "
        "img-src 'none'; font-src 'none'; script-src 'none'; connect-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    )


def render_report(inputs: ReportInputs) -> str:
    """The page for ``inputs`` (a complete HTML document)."""
    sections = [section for build in SECTIONS if (section := build(inputs)) is not None]
    css = stylesheet()
    title = f"Run report: {inputs.spec.get('runName') or inputs.run_id}"
    head = tag(
        "head",
        void("meta", charset="utf-8"),
        void("meta", http_equiv="Content-Security-Policy", content=content_security_policy(css)),
        void("meta", name="referrer", content="no-referrer"),
        void("meta", name="viewport", content="width=device-width, initial-scale=1"),
        void("meta", name="generator", content=f"bmc {__version__}"),
        tag("title", title),
        tag("style", Html(css)),
    )
    body = tag(
        "body",
        tag(
            "header",
            tag("h1", title),
            tag("p", f"Run {inputs.run_id} · report written {formatting.clock_time(inputs.generated_at)}"),
        ),
        tag("nav", *(tag("a", section.title, href=f"#{section.anchor}") for section in sections)),
        tag("main", *(_render_section(section) for section in sections)),
        tag(
            "footer",
            "Generated by the model customization workflow. Self-contained: this page loads nothing "
            "from anywhere and runs no script.",
        ),
    )
    return f"<!DOCTYPE html>\n{tag('html', head, body, lang='en')}\n"


def _render_section(section: Section) -> Html:
    return tag("section", tag("h2", section.title), section.body, id=section.anchor)
