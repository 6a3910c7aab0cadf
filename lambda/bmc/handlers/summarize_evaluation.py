"""SummarizeEvaluation: score every evaluated record, write evaluation.json and
predictions.jsonl, and apply the gate.

Input: ``{"runId", "records": <records in the test set>, "metrics": [...], "compareWithBase",
"judge": {...} | null, "gate": {...} | null}``. Output: the headline (per-metric values and
intervals, record counts, win/tie/loss), the gate decision and the report URIs; the full
summary is in evaluation.json.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from bmc import settings
from bmc.errors import InvalidTaskInput
from bmc.evaluation.gate import Gate, decide_gate
from bmc.evaluation.judge import JudgeConfig
from bmc.evaluation.metrics import METRICS, check_metric_names, ordered
from bmc.evaluation.store import read_records, write_report
from bmc.evaluation.summary import summarize
from bmc.handlers._task import traced_handler

logger = Logger()
tracer = Tracer()


def headline(summary: dict[str, Any]) -> dict[str, Any]:
    """What the state, the registry and the notification carry: small and fixed in size."""
    return {key: summary[key] for key in ("records", "metrics", "primaryMetric", "winTieLoss")}


@traced_handler(logger, tracer)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run_id = event.get("runId")
    expected = event.get("records")
    if not run_id or not isinstance(expected, int) or expected < 0:
        raise InvalidTaskInput("SummarizeEvaluation needs runId and records (the test set's record count)")
    logger.append_keys(runId=run_id)
    metrics = list(event.get("metrics") or METRICS)
    unknown = check_metric_names(metrics)
    if unknown:
        raise InvalidTaskInput(f"unknown metrics: {', '.join(unknown)}")
    compare = bool(event.get("compareWithBase", True))
    try:
        judge = JudgeConfig.from_dict(event["judge"]) if event.get("judge") else None
        gate = (
            Gate.from_dict(event["gate"], metrics=ordered(metrics), judge=judge is not None)
            if event.get("gate")
            else None
        )
    except ValueError as exc:
        raise InvalidTaskInput(str(exc)) from exc
    bucket = settings.artifacts_bucket()
    records = read_records(bucket, str(run_id), expected, compare_with_base=compare)
    report = summarize(
        records,
        metrics=metrics,
        compare_with_base=compare,
        gate_metric=None if gate is None else gate.metric,
        judge=judge,
    )
    uris = write_report(bucket, str(run_id), report)
    decision = None if gate is None or not compare else decide_gate(report.summary, gate).to_dict()
    logger.info("evaluation summarized", extra={"records": report.summary["records"], "gate": decision})
    return {"summary": headline(report.summary), "gate": decision, "reports": uris}
