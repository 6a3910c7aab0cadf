"""job_events: a Bedrock ``Model Customization Job State Change`` event resumes its run.

Unknown jobs, non-terminal statuses, duplicated events and runs resolved already are logged
and ignored: nothing here raises for them, so EventBridge does not retry them.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from bmc.aws.bedrock_ops import BedrockOps
from bmc.aws.registry import Registry
from bmc.handlers._events import required_fields
from bmc.workflow.job_tracking import JobOutcome, JobTracker

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    _, refusal = required_fields(event.raw_event, ("jobArn", "jobStatus"), logger)
    if refusal is not None:
        return refusal
    detail = event.detail
    outcome = JobOutcome.from_event(detail)
    if outcome is None:
        logger.info("not a terminal job status", extra={"jobStatus": detail.get("jobStatus")})
        return {"result": "ignored"}
    registry = Registry.from_environment()
    run_id = registry.find_by_job_arn(outcome.job_arn)
    if run_id is None:
        logger.warning(
            "no run has this job", extra={"jobArn": outcome.job_arn, "jobName": detail.get("jobName")}
        )
        return {"result": "unknown-job", "jobArn": outcome.job_arn}
    logger.append_keys(runId=run_id)
    result = JobTracker(registry, BedrockOps()).resolve(run_id, outcome)
    return {"result": result, "runId": run_id, "jobStatus": outcome.status}
