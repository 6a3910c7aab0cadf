"""CollectMetrics: summarize the job's training metrics; the run becomes TRAINED."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from bmc import settings
from bmc.aws.bedrock_ops import BedrockOps
from bmc.aws.registry import TRAINED, Registry, utc_now
from bmc.handlers._task import TaskEvent, task_handler
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
    Registry.from_environment().transition(
        task.run_id,
        TRAINED,
        detail="training metrics collected",
        fields={"metricsSummary": summary, "customModelArn": model_arn, "reports.metrics": report_uri},
    )
    return {"summary": summary, "reportUri": report_uri}
