"""What people and dashboards see of an evaluation summary: the headline the registry and the
notification carry, the comparison table, the CloudWatch metric data, and the record-level
failure tolerance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

# CloudWatch metric names (namespace BedrockModelCustomization). Dimensions: RunId and
# BaseModel as for the training losses, plus Metric (rougeL, ...) and, for scores, Model
# (custom or base).
SCORE_METRIC = "EvaluationScore"
DELTA_METRIC = "EvaluationDelta"
FAILED_RECORDS_METRIC = "EvaluationFailedRecords"
HEADLINE_KEYS = ("records", "metrics", "primaryMetric", "winTieLoss")


def headline(summary: Mapping[str, Any]) -> dict[str, Any]:
    """What the state, the registry and the notification carry: small and fixed in size."""
    return {key: summary.get(key) for key in HEADLINE_KEYS}


def tolerated(failed: int, total: int, percentage: float) -> bool:
    """At most ``percentage`` % of ``total`` records failed."""
    return failed * 100 <= percentage * total


def _number(value: Any, scale: str | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if scale == "0-100" else f"{value:.4f}"


def _signed(value: Any, scale: str | None) -> str:
    if value is None:
        return "-"
    return f"{value:+.2f}" if scale == "0-100" else f"{value:+.4f}"


def comparison_rows(summary: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """(metric, base, custom, delta with its 95% interval) per metric, as text."""
    rows = []
    for name, entry in (summary.get("metrics") or {}).items():
        scale = entry.get("scale")
        delta = _signed(entry.get("delta"), scale)
        ci95 = entry.get("ci95")
        if ci95:
            delta = f"{delta} ({_signed(ci95[0], scale)} to {_signed(ci95[1], scale)})"
        rows.append((name, _number(entry.get("base"), scale), _number(entry.get("custom"), scale), delta))
    return rows


def comparison_table(summary: Mapping[str, Any], gate: Mapping[str, Any] | None = None) -> list[str]:
    """The evaluation as a text table: metric, base, custom, delta (95% CI), then the gate verdict."""
    header = ("metric", "base", "custom", "delta (95% CI)")
    rows = [header, *comparison_rows(summary)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines.append("")
    lines += describe_records(summary)
    if gate is not None:
        lines.append(gate_verdict(gate))
    return lines


def describe_records(summary: Mapping[str, Any]) -> list[str]:
    records = summary.get("records") or {}
    failed = (records.get("failed") or {}).get("any") or 0
    lines = [
        f"records: {records.get('total', 0)} evaluated, {records.get('scored', 0)} compared, {failed} failed"
    ]
    wtl = summary.get("winTieLoss")
    if wtl:
        lines.append(
            f"custom vs base on {wtl['metric']}: {wtl['wins']} wins, {wtl['ties']} ties, {wtl['losses']} losses"
        )
    return lines


def gate_verdict(gate: Mapping[str, Any]) -> str:
    verdict = "PASSED" if gate.get("passed") else "FAILED"
    action = (
        "" if gate.get("passed") else (" (serving deleted)" if gate.get("undeploy") else " (serving kept)")
    )
    return f"gate {verdict}{action}: {gate.get('reason')}"


def evaluation_metric_data(
    summary: Mapping[str, Any], *, run_id: str, base_model: str, at: datetime
) -> list[dict[str, Any]]:
    """CloudWatch data: per metric each model's score and the delta, and the failed records."""
    common = [{"Name": "RunId", "Value": run_id}, {"Name": "BaseModel", "Value": base_model}]
    data: list[dict[str, Any]] = []

    def datum(name: str, value: float, dimensions: Sequence[Mapping[str, str]]) -> None:
        data.append(
            {"MetricName": name, "Dimensions": [*common, *dimensions], "Value": float(value), "Timestamp": at}
        )

    for metric, entry in (summary.get("metrics") or {}).items():
        for model in ("custom", "base"):
            if entry.get(model) is not None:
                datum(
                    SCORE_METRIC,
                    entry[model],
                    [{"Name": "Metric", "Value": metric}, {"Name": "Model", "Value": model}],
                )
        if entry.get("delta") is not None:
            datum(DELTA_METRIC, entry["delta"], [{"Name": "Metric", "Value": metric}])
    failed = ((summary.get("records") or {}).get("failed") or {}).get("any")
    if failed is not None:
        datum(FAILED_RECORDS_METRIC, failed, [])
    return data
