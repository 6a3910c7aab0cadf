"""The report's sections, each a function of the report's inputs.

A section whose data the run does not have (no evaluation, no lineage) is left out; a section
the run should have but cannot show says why. Every value read from a record or a document
goes through ``markup`` and is escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bmc.report import charts, formatting
from bmc.report.charts import BarGroup, Interval, Segment, Series
from bmc.report.cost import training_cost
from bmc.report.inputs import ReportInputs
from bmc.report.markup import Html, facts, join, table, tag
from bmc.report.scales import Point, format_duration

MAX_FINDINGS_SHOWN = 25


@dataclass(frozen=True, slots=True)
class Section:
    anchor: str
    title: str
    body: Html


def _section(anchor: str, title: str, *body: object) -> Section:
    return Section(anchor, title, join(body))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _note(text: object) -> Html:
    return tag("p", text, class_="note")


# --- overview ------------------------------------------------------------------------------------


def overview(inputs: ReportInputs) -> Section:
    record, spec = inputs.record, inputs.spec
    serving = _mapping(record.get("serving"))
    served = None
    if serving:
        served = f"{serving.get('kind')} {serving.get('arn') or serving.get('name') or ''} ({serving.get('status') or 'unknown'})"
    source = _mapping(record.get("source"))
    status = str(record.get("status") or "UNKNOWN")
    body: list[object] = [
        tag("p", tag("span", status, class_=f"badge {charts.status_class(status)}"), class_="status-line"),
        facts(
            [
                ("Run", inputs.run_id),
                ("Run name", spec.get("runName")),
                ("Owner", _owner(record.get("owner"))),
                ("Base model", spec.get("baseModel")),
                ("Customization", spec.get("customizationType")),
                ("Teacher model", _mapping(spec.get("distillation")).get("teacherModel")),
                ("Started from", source.get("uri") or source.get("type")),
                ("Created", formatting.clock_time(formatting.parse_time(record.get("createdAt")))),
                ("Last change", formatting.clock_time(formatting.parse_time(record.get("updatedAt")))),
                ("Training job", record.get("jobArn")),
                ("Custom model", record.get("customModelArn")),
                ("Serving", served),
                ("Serving expires", serving.get("expiresAt")),
                ("Serving deleted", serving.get("deletedAt")),
                ("Execution", record.get("executionArn")),
            ]
        ),
    ]
    error = inputs.run_error
    if error:
        name = error.get("error") or error.get("Error")
        cause = error.get("cause") or error.get("Cause")
        body.append(tag("div", tag("strong", f"ERROR {name}"), tag("pre", cause), class_="error-box"))
    for note in inputs.notes:
        body.append(_note(note))
    return _section("overview", "Overview", *body)


def _owner(owner: Any) -> str | None:
    """``{"team", "principal"}`` as a person reads it: the team, and who started the run."""
    if not isinstance(owner, Mapping):
        return None if owner is None else str(owner)
    team, principal = owner.get("team"), owner.get("principal")
    if team and principal:
        return f"team {team} (started by {principal})"
    return f"team {team}" if team else (str(principal) if principal else None)


# --- timeline ------------------------------------------------------------------------------------


def timeline(inputs: ReportInputs) -> Section:
    history = [_mapping(entry) for entry in _list(inputs.record.get("statusHistory"))]
    moments = [formatting.parse_time(entry.get("at")) for entry in history]
    known = [(entry, moment) for entry, moment in zip(history, moments, strict=True) if moment is not None]
    if not known:
        return _section("timeline", "Status and timeline", _note("The run has no recorded status history."))
    start = known[0][1]
    segments = []
    rows = []
    for index, (entry, moment) in enumerate(known):
        offset = (moment - start).total_seconds()
        following = known[index + 1][1] if index + 1 < len(known) else None
        end = (following - start).total_seconds() if following is not None else None
        status = str(entry.get("status") or "?")
        segments.append(Segment(status, offset, end, str(entry.get("detail") or "")))
        rows.append(
            [formatting.clock_time(moment), f"+{format_duration(offset)}", status, entry.get("detail") or ""]
        )
    chart = charts.timeline_chart(chart_id="timeline", title="Time in each status", segments=segments)
    return _section(
        "timeline",
        "Status and timeline",
        chart,
        table(["At", "Since start", "Status", "Detail"], rows, class_="history"),
    )


# --- training ------------------------------------------------------------------------------------


def _loss_points(rows: Any, x_index: int) -> list[Point]:
    """(x, loss) from metrics.json rows ``[step, epoch, loss, perplexity]``; bad rows are gaps."""
    points: list[Point] = []
    for row in _list(rows):
        if not isinstance(row, list | tuple) or len(row) < 3:
            continue
        x, loss = row[x_index], row[2]
        if isinstance(x, int | float) and not isinstance(x, bool):
            points.append(
                (
                    float(x),
                    float(loss) if isinstance(loss, int | float) and not isinstance(loss, bool) else None,
                )
            )
    return sorted(points, key=lambda point: point[0])


def _per_epoch(summary: Mapping[str, Any], key: str) -> list[Point]:
    points: list[Point] = []
    for entry in map(_mapping, _list(summary.get("perEpoch"))):
        epoch, loss = entry.get("epoch"), entry.get(key)
        if isinstance(epoch, int | float):
            points.append((float(epoch), float(loss) if isinstance(loss, int | float) else None))
    return points


def _loss_chart(
    chart_id: str, title: str, x_label: str, training: list[Point], validation: list[Point]
) -> Html:
    return charts.line_chart(
        chart_id=chart_id,
        title=title,
        x_label=x_label,
        y_label="loss",
        series=[
            Series("training", "training loss", training),
            Series("validation", "validation loss", validation),
        ],
        integer_x=True,
    )


def training(inputs: ReportInputs) -> Section | None:
    metrics = inputs.document("metrics")
    summary = _mapping((metrics or {}).get("summary")) or _mapping(inputs.record.get("metricsSummary"))
    if not metrics and not summary:
        if inputs.record.get("jobArn"):
            return _section("training", "Training", _note("The job's training metrics were not collected."))
        return None
    rows = metrics or {}
    per_step = _loss_chart(
        "loss-per-step",
        "Loss per step",
        "step",
        _loss_points(rows.get("training"), 0),
        _loss_points(rows.get("validation"), 0),
    )
    per_epoch = _loss_chart(
        "loss-per-epoch",
        "Loss at the end of each epoch",
        "epoch",
        _per_epoch(summary, "trainingLoss"),
        _per_epoch(summary, "validationLoss"),
    )
    epoch_rows = [
        [
            entry.get("epoch"),
            formatting.decimal(entry.get("trainingLoss")),
            formatting.decimal(entry.get("validationLoss")),
        ]
        for entry in map(_mapping, _list(summary.get("perEpoch")))
    ]
    files = _mapping((metrics or {}).get("files"))
    body: list[object] = [
        facts(
            [
                ("Final training loss", formatting.decimal(summary.get("finalTrainingLoss"))),
                ("Lowest training loss", formatting.decimal(summary.get("minTrainingLoss"))),
                ("Final validation loss", formatting.decimal(summary.get("finalValidationLoss"))),
                ("Lowest validation loss", formatting.decimal(summary.get("minValidationLoss"))),
                ("Steps", formatting.integer(summary.get("steps"))),
                ("Epochs", formatting.integer(summary.get("epochs"))),
                ("Training metrics file", files.get("training")),
                ("Validation metrics file", files.get("validation")),
            ]
        ),
        tag("div", per_step, per_epoch, class_="charts"),
        table(["Epoch", "Training loss", "Validation loss"], epoch_rows, class_="numbers"),
    ]
    body += [_note(note) for note in _list(summary.get("notes"))]
    return _section("training", "Training", *body)


# --- validation ----------------------------------------------------------------------------------


def _finding_rows(findings: Sequence[Any], severity: str) -> list[list[object]]:
    rows: list[list[object]] = []
    for finding in map(_mapping, findings[:MAX_FINDINGS_SHOWN]):
        where = finding.get("file") or "-"
        if finding.get("line"):
            where = f"{where}:{finding['line']}"
        count = finding.get("count")
        rows.append(
            [
                tag("span", severity, class_=f"severity {severity.lower()}"),
                where,
                finding.get("field") or "",
                finding.get("code") or "",
                finding.get("message") or "",
                formatting.integer(count) if isinstance(count, int) else "1",
            ]
        )
    return rows


def _dataset_rows(stats: Mapping[str, Any]) -> list[list[object]]:
    rows: list[list[object]] = []
    for role in ("training", "validation"):
        data = _mapping(stats.get(role))
        if not data:
            continue
        tokens = _mapping(data.get("estimated_tokens"))
        rows.append(
            [
                role,
                tag("span", *[join([file, tag("br")]) for file in _list(data.get("files"))]),
                formatting.integer(data.get("records")),
                formatting.byte_size(data.get("bytes")),
                formatting.integer(tokens.get("total")),
                formatting.integer(tokens.get("max")),
            ]
        )
    return rows


def validation(inputs: ReportInputs) -> Section | None:
    report = inputs.document("validation")
    if report is None:
        return None
    errors, warnings = _list(report.get("errors")), _list(report.get("warnings"))
    verdict = "valid" if report.get("valid") else "refused"
    body: list[object] = [
        tag(
            "p",
            tag(
                "span",
                verdict.upper(),
                class_=f"badge {'status-completed' if report.get('valid') else 'status-failed'}",
            ),
            f" {len(errors):,} error group(s), {len(warnings):,} warning group(s)",
        ),
        table(
            ["Data", "Files", "Records", "Size", "Tokens (estimate)", "Largest record (tokens)"],
            _dataset_rows(_mapping(report.get("stats"))),
            class_="numbers",
        ),
    ]
    findings = _finding_rows(errors, "ERROR") + _finding_rows(warnings, "WARNING")
    if findings:
        body.append(
            table(
                ["Severity", "Where", "Field", "Code", "Message", "Occurrences"], findings, class_="findings"
            )
        )
    shown = min(len(errors), MAX_FINDINGS_SHOWN) + min(len(warnings), MAX_FINDINGS_SHOWN)
    if shown < len(errors) + len(warnings):
        body.append(_note(f"{len(errors) + len(warnings) - shown:,} more finding(s) in validation.json."))
    body += [_note(hint) for hint in _list(report.get("hints"))]
    return _section("validation", "Dataset validation", *body)


# --- hyperparameters -----------------------------------------------------------------------------


def hyperparameters(inputs: ReportInputs) -> Section | None:
    values = _mapping(inputs.spec.get("hyperparameters"))
    if not values:
        return None
    defaults = _catalog_defaults(inputs.spec)
    rows = []
    for name, value in sorted(values.items()):
        known = defaults.get(name)
        default = "-" if known is None else known[0]
        allowed = "-" if known is None else known[1]
        rows.append([name, value, default, allowed])
    return _section(
        "hyperparameters",
        "Hyperparameters",
        table(["Name", "Value sent to Bedrock", "Default", "Allowed"], rows, class_="numbers"),
    )


def _catalog_defaults(spec: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """name -> (default, allowed range) from the catalog; empty when the model is unknown."""
    from bmc.catalog.models import UnknownModelError, UnsupportedCustomizationError, resolve_model

    try:
        model = resolve_model(str(spec.get("baseModel") or ""))
        customization = model.customization(str(spec.get("customizationType") or ""))
    except (UnknownModelError, UnsupportedCustomizationError):
        return {}
    return {
        item.name: (
            "required" if item.default is None else f"{item.default:g}",
            f"{item.min:g} to {item.max:g}" + "".join(f" or {word}" for word in item.special_values),
        )
        for item in customization.hyperparameters
    }


# --- cost ----------------------------------------------------------------------------------------


def cost(inputs: ReportInputs) -> Section | None:
    estimate = _mapping(_mapping(inputs.document("validation")).get("estimate"))
    metrics = _mapping(_mapping(inputs.document("metrics")).get("summary")) or _mapping(
        inputs.record.get("metricsSummary")
    )
    figures = training_cost(estimate or None, metrics or None, job_created=bool(inputs.record.get("jobArn")))
    if figures is None:
        return None
    money = figures.currency

    def epochs(value: int | None) -> str:
        return "chosen by Bedrock" if value is None else formatting.integer(value)

    rows = [
        [
            "Training tokens per epoch (estimate)",
            formatting.integer(figures.training_tokens),
            formatting.integer(figures.training_tokens),
        ],
        [
            "Epochs",
            epochs(figures.planned_epochs),
            "unknown" if figures.trained_epochs is None else formatting.integer(figures.trained_epochs),
        ],
        [
            "Billed tokens",
            formatting.integer(figures.planned_tokens),
            formatting.integer(figures.trained_tokens),
        ],
        [
            f"Training cost ({formatting.money(figures.price_per_1k_tokens, money)} per 1,000 tokens)",
            formatting.money(figures.planned_cost, money),
            formatting.money(figures.trained_cost, money),
        ],
    ]
    body: list[object] = [
        table(["", "Estimated before training", "After the run"], rows, class_="numbers cost"),
        _note(figures.basis),
    ]
    extra = []
    if inputs.record.get("customModelArn"):
        extra.append(
            (
                "Custom model storage",
                f"{formatting.money(estimate.get('storage_per_month'), money)} per month",
            )
        )
    requested = _mapping(_mapping(estimate.get("serving")).get("requested"))
    if requested:
        hourly, total = requested.get("hourly_cost"), requested.get("total_cost")
        extra.append(
            ("Serving (requested)", f"{requested.get('mode')}: {formatting.money(hourly, money)} per hour")
        )
        if total is not None:
            extra.append(("Serving until it ends", formatting.money(total, money)))
    body.append(facts(extra))
    prices_as_of = estimate.get("prices_as_of")
    body += [_note(note) for note in _list(estimate.get("notes"))]
    if prices_as_of and not _list(estimate.get("notes")):
        body.append(_note(f"Example prices as of {prices_as_of}."))
    return _section("cost", "Cost: estimate and what was trained", *body)


# --- evaluation ----------------------------------------------------------------------------------


def _scale(entry: Mapping[str, Any]) -> tuple[float, float]:
    """The metric's scale (``"0-1"``, ``"0-100"``, ``"1-5"``) as numbers."""
    low, _, high = str(entry.get("scale") or "0-1").partition("-")
    try:
        return float(low), float(high)
    except ValueError:
        return 0.0, 1.0


def evaluation(inputs: ReportInputs) -> Section | None:
    summary = inputs.document("evaluation")
    if summary is None:
        return None
    metrics = {name: _mapping(entry) for name, entry in _mapping(summary.get("metrics")).items()}
    names = list(metrics)
    groups = []
    for key, label in (("base", "base model"), ("custom", "custom model")):
        values = [charts.percent_of_scale(metrics[n].get(key), *_scale(metrics[n])) for n in names]
        texts = [formatting.decimal(metrics[n].get(key), _places(metrics[n])) for n in names]
        if any(v is not None for v in values):
            groups.append(BarGroup(key, label, values, texts))
    bars = charts.grouped_bar_chart(
        chart_id="evaluation-scores",
        title="Scores, as a percentage of each metric's scale",
        categories=names,
        groups=groups,
        y_label="% of scale",
    )
    intervals = []
    for name in names:
        entry = metrics[name]
        low, high = _scale(entry)
        width = high - low
        ci = _list(entry.get("ci95"))
        ci_low, ci_high = ([*ci, None, None])[:2]
        places = _places(entry)
        text = formatting.signed(entry.get("delta"), places)
        if ci_low is not None and ci_high is not None:
            text += f" [{formatting.signed(ci_low, places)}, {formatting.signed(ci_high, places)}]"
        intervals.append(
            Interval(
                name,
                _share(entry.get("delta"), width),
                _share(ci_low, width),
                _share(ci_high, width),
                text,
            )
        )
    deltas = charts.interval_chart(
        chart_id="evaluation-deltas",
        title="Custom minus base, with 95% confidence intervals",
        rows=intervals,
        x_label="change, % of the metric's scale",
    )
    records = _mapping(summary.get("records"))
    failed = _mapping(records.get("failed"))
    wtl = _mapping(summary.get("winTieLoss"))
    gate = _mapping(_mapping(inputs.record.get("evaluation")).get("gate"))
    table_rows = [
        [
            name,
            metrics[name].get("scale") or "",
            formatting.decimal(metrics[name].get("base"), _places(metrics[name])),
            formatting.decimal(metrics[name].get("custom"), _places(metrics[name])),
            intervals[index].text,
        ]
        for index, name in enumerate(names)
    ]
    body: list[object] = [
        facts(
            [
                ("Records", formatting.integer(records.get("total"))),
                ("Compared", formatting.integer(records.get("scored"))),
                ("Not compared", formatting.integer(failed.get("any"))),
                (
                    "Win / tie / loss",
                    f"{wtl.get('wins', 0):,} / {wtl.get('ties', 0):,} / {wtl.get('losses', 0):,} on {wtl.get('metric')}"
                    if wtl
                    else None,
                ),
                ("Gate", _gate_text(gate) if gate else None),
            ]
        ),
        tag("div", bars, deltas, class_="charts"),
        table(["Metric", "Scale", "Base", "Custom", "Delta [95% CI]"], table_rows, class_="numbers"),
    ]
    body += [_note(note) for note in _list(summary.get("notes"))]
    return _section("evaluation", "Evaluation against the base model", *body)


def _places(entry: Mapping[str, Any]) -> int:
    """Decimals for a metric's values: 0-1 metrics need a third, 0-100 and 1-5 ones two."""
    low, high = _scale(entry)
    return 3 if high - low <= 1 else 2


def _share(value: Any, width: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or width <= 0:
        return None
    return float(value) / width * 100


def _gate_text(gate: Mapping[str, Any]) -> str:
    verdict = "passed" if gate.get("passed") else "failed"
    reason = gate.get("reason")
    return f"{verdict}: {reason}" if reason else verdict


# --- lineage -------------------------------------------------------------------------------------

_DATASET_FIELDS = ("uri", "versionId", "etag", "size", "records", "sha256", "snapshotUri")


def lineage(inputs: ReportInputs) -> Section | None:
    recorded = _mapping(inputs.record.get("lineage"))
    if not recorded:
        return None
    datasets = _mapping(recorded.get("datasets"))
    rows: list[list[object]] = []
    for role in ("training", "validation", "evaluation"):
        value = datasets.get(role)
        for entry in map(_mapping, value if isinstance(value, list) else [value] if value else []):
            rows.append([role, *(_dataset_value(name, entry.get(name)) for name in _DATASET_FIELDS)])
    body: list[object] = []
    if rows:
        body.append(
            table(
                ["Data", "Location", "Version", "ETag", "Size", "Records", "SHA-256", "Snapshot"],
                rows,
                class_="lineage",
            )
        )
    body.append(
        facts(
            [
                ("Root foundation model", recorded.get("rootFoundationModel")),
                ("Parent run", recorded.get("parentRunId")),
                ("Parent model", recorded.get("parentModelArn")),
            ]
        )
    )
    chain = [_mapping(link) for link in _list(recorded.get("chain"))]
    if chain:
        steps = [tag("li", _chain_text(link)) for link in chain]
        body.append(tag("ol", *steps, class_="chain"))
    return _section("lineage", "Lineage", *body)


def _dataset_value(name: str, value: Any) -> object:
    if name == "size":
        return formatting.byte_size(value)
    if name == "records":
        return formatting.integer(value)
    if name == "sha256" and isinstance(value, str):
        return tag("code", value, title=value, class_="digest")
    return "-" if value in (None, "") else value


def _chain_text(link: Mapping[str, Any]) -> Html:
    parts: list[object] = [tag("strong", link.get("runId") or "foundation model")]
    if link.get("baseModel"):
        parts.append(f" from {link['baseModel']}")
    if link.get("customModelArn"):
        parts += [" → ", tag("code", link["customModelArn"])]
    return join(parts)


SECTIONS: tuple[Callable[[ReportInputs], Section | None], ...] = (
    overview,
    timeline,
    training,
    validation,
    hyperparameters,
    cost,
    evaluation,
    lineage,
)
