"""AwaitJob (``.waitForTaskToken``): park the task token on the run, then look at the job once.

Whoever learns that the job ended (this check, the job-state event, the reconciler) claims
the token and resumes the execution. A failed check is not an error: the token is stored, so
the event or the reconciler will still resolve the job.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from bmc.aws.bedrock_ops import BedrockOps
from bmc.aws.registry import Registry
from bmc.errors import BedrockError, InvalidTaskInput
from bmc.handlers._task import TaskEvent, task_handler
from bmc.workflow.job_tracking import JobTracker

logger = Logger()
tracer = Tracer()

UNCHECKED = "unchecked"


@task_handler(logger, tracer)
def handler(task: TaskEvent, context: LambdaContext) -> dict[str, Any]:
    if not task.task_token:
        raise InvalidTaskInput("AwaitJob must send taskToken ($$.Task.Token)")
    job_arn = str(task.section("job")["jobArn"])
    registry = Registry.from_environment()
    registry.store_task_token(task.run_id, task.task_token)
    try:
        result = JobTracker(registry, BedrockOps()).check(task.run_id, job_arn)
    except BedrockError:
        logger.exception("could not read the job; its event or the reconciler will resolve it")
        result = UNCHECKED
    return {"runId": task.run_id, "jobArn": job_arn, "check": result}
