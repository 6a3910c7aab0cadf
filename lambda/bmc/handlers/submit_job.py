"""SubmitJob: create the customization job (idempotent) and mark the run TRAINING.

A full job quota marks the run QUEUED before BedrockQuotaExceeded is raised: the state
machine retries every 30 minutes for ``queueHours``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from bmc.bedrock_ops import BedrockOps, JobSettings, job_request
from bmc.errors import BedrockQuotaExceeded
from bmc.handlers._task import TaskEvent
from bmc.registry import QUEUED, TRAINING, Registry

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = TaskEvent.parse(event)
    logger.append_keys(runId=task.run_id)
    spec, names = task.spec(), task.names()
    registry = Registry.from_environment()
    request = job_request(task.run_id, spec, names, JobSettings.from_environment())
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
    logger.info("customization job submitted", extra={"jobArn": job_arn})
    return {"jobArn": job_arn, "jobName": names.job_name, "outputS3Uri": request["outputDataConfig"]["s3Uri"]}
