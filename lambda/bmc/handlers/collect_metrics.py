"""CollectMetrics: summarize the job's training metrics; the run becomes TRAINED with its custom
model recorded (also on its step of ``lineage.chain``)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from bmc import settings
from bmc.aws.bedrock_ops import BedrockOps
from bmc.aws.registry import TRAINED, Registry, utc_now
from bmc.handlers._task import TaskEvent, task_handler
from bmc.lineage.parents import recorded_chain
from bmc.workflow import metrics

logger = Logger()
tracer = Tracer()


@task_handler(logger, tracer)
def handler(task: TaskEvent, context: LambdaContext) -> dict[str, Any]:
    job, spec = task.section("job"), task.spec()
    job_arn = str(job["jobArn"])
    model_arn = task.optional_section("jobResult").get("customModelArn")
    if not model_arn:
        model_arn = BedrockOps().get_job(job_arn).get("outputModelArn")
    summary, report_uri = metrics.collect(
        task.run_id,
        job_arn=job_arn,
        output_s3_uri=str(job["outputS3Uri"]),
        custom_model_arn=model_arn,
        base_model=spec.base_model,
        with_validation=bool(spec.validation_data),
        artifacts_bucket=settings.artifacts_bucket(),
        namespace=settings.metrics_namespace(),
        at=utc_now(),
    )
    registry = Registry.from_environment()
    fields: dict[str, Any] = {
        "metricsSummary": summary,
        "customModelArn": model_arn,
        "reports.metrics": report_uri,
    }
    record = registry.require(task.run_id)
    if isinstance(record.get("lineage"), dict):
        # The run's own step of its chain gets the model it made.
        fields["lineage.chain"] = recorded_chain(task.run_id, {**record, "customModelArn": model_arn})
    registry.transition(task.run_id, TRAINED, detail="training metrics collected", fields=fields)
    return {"summary": summary, "reportUri": report_uri}
