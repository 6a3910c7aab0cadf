"""SummarizeEvaluation: score every evaluated record, write evaluation.json and
predictions.jsonl, record the summary and the gate decision, publish the metrics.

Input: the task payload (``{"state", "execution"}``); what to summarize comes from the registry
(the run's evaluation block, the record count and items ValidateDatasets recorded), the
evaluated records from the artifacts bucket. ``$.evaluationRun.ResultWriterDetails`` names the
Map's result manifest: the errors of failed child executions explain their NotEvaluated records.

Step Functions tolerates failed child executions (batches); this step also holds the records
to the run's tolerated failure percentage: above it, the report and the registry are written
first, then EvaluationIncomplete sends the run to its failure path.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from bmc import settings
from bmc.aws import clients
from bmc.aws.registry import Registry
from bmc.errors import EvaluationIncomplete
from bmc.evaluation.gate import decide_gate
from bmc.evaluation.report import evaluation_metric_data, headline, tolerated
from bmc.evaluation.store import failed_batches, read_items, read_records, write_report
from bmc.evaluation.summary import summarize
from bmc.handlers._task import TaskEvent, task_handler
from bmc.workflow import evaluation as stage
from bmc.workflow.metrics import publish

logger = Logger()
tracer = Tracer()


@task_handler(logger, tracer)
def handler(task: TaskEvent, context: LambdaContext) -> dict[str, Any]:
    registry = Registry.from_environment()
    run = registry.require(task.run_id)
    spec, evaluation, recorded = stage.evaluation_of(run, task.run_id)
    bucket = settings.artifacts_bucket()
    writer = task.optional_section("evaluationRun").get("ResultWriterDetails") or {}
    manifest = writer.get("Key") if writer.get("Bucket") == bucket else None
    items = read_items(bucket, str(recorded["itemsKey"]))
    records = read_records(
        bucket,
        task.run_id,
        items,
        compare_with_base=evaluation.compare_with_base,
        batch_failures=failed_batches(bucket, task.run_id, manifest),
    )
    gate = evaluation.gate
    report = summarize(
        records,
        metrics=evaluation.metrics,
        compare_with_base=evaluation.compare_with_base,
        gate_metric=None if gate is None else gate.metric,
        judge=evaluation.judge,
    )
    uris = write_report(bucket, task.run_id, report)
    decision = None if gate is None else decide_gate(report.summary, gate).to_dict()
    counts = report.summary["records"]
    tolerance = float(recorded.get("toleratedFailurePercentage") or 0.0)
    summary = headline(report.summary)
    registry.update(
        task.run_id,
        fields={
            "evaluation.summary": summary,
            "evaluation.gate": decision,
            "evaluation.failedRecords": counts["failed"]["any"],
            "evaluation.finishedAt": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "reports.evaluation": uris["evaluation"],
            "reports.predictions": uris["predictions"],
        },
    )
    publish(
        evaluation_metric_data(
            report.summary, run_id=task.run_id, base_model=spec.base_model, at=datetime.now(UTC)
        ),
        namespace=settings.metrics_namespace(),
        cloudwatch_client=clients.client("cloudwatch"),
    )
    logger.info("evaluation summarized", extra={"records": counts, "gate": decision})
    if not tolerated(counts["failed"]["any"], counts["total"], tolerance):
        raise EvaluationIncomplete(
            f"{counts['failed']['any']} of {counts['total']} evaluation records failed, more than the tolerated "
            f"{tolerance:g}% (toleratedFailurePercentage); every failure is listed in {uris['evaluation']}"
        )
    return {"summary": summary, "gate": decision, "reports": uris}
