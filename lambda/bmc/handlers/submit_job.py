"""SubmitJob: create the customization job (idempotent) and mark the run TRAINING.

The job reads the run's snapshots and customizes the base the registry recorded (a parent
run's custom model, or the foundation model), never what the state says. A full job quota
marks the run QUEUED before BedrockQuotaExceeded is raised: the state machine retries every
30 minutes for ``queueHours``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from bmc import settings
from bmc.aws.bedrock_ops import BedrockOps, JobSettings, job_request
from bmc.aws.registry import QUEUED, TRAINING, Registry
from bmc.errors import BedrockQuotaExceeded
from bmc.handlers._task import TaskEvent, task_handler
from bmc.lineage.submission import job_inputs

logger = Logger()
tracer = Tracer()


@task_handler(logger, tracer)
def handler(task: TaskEvent, context: LambdaContext) -> dict[str, Any]:
    spec, names = task.spec(), task.names()
    registry = Registry.from_environment()
    inputs = job_inputs(
        task.run_id,
        registry.require(task.run_id),
        spec,
        datasets_bucket=settings.required_datasets_bucket(),
    )
    request = job_request(task.run_id, spec, names, JobSettings.from_environment(), inputs)
    try:
        job_arn = BedrockOps().create_job(request)
    except BedrockQuotaExceeded as exc:
        registry.transition(task.run_id, QUEUED, detail=f"waiting for a training slot: {exc}"[:500])
        raise
    registry.transition(
        task.run_id,
        TRAINING,
        detail=f"job {names.job_name} submitted",
        fields={"jobArn": job_arn, "jobName": names.job_name},
    )
    logger.info(
        "customization job submitted", extra={"jobArn": job_arn, "base": inputs.base_model_identifier}
    )
    return {"jobArn": job_arn, "jobName": names.job_name, "outputS3Uri": request["outputDataConfig"]["s3Uri"]}
