"""execution_ended: an execution ABORTED or TIMED_OUT gets the cleanup and failure notice.

Such an execution never reaches its Cleanup state; this function, triggered by the Step
Functions "Execution Status Change" event, does the same work, writes the run's report and
notifies, for the run whose record is bound to that execution (its ARN and ``startDate``) only.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from bmc import settings
from bmc.aws import clients
from bmc.aws.bedrock_ops import BedrockOps
from bmc.aws.registry import Registry, execution_start, utc_now
from bmc.handlers._events import required_fields
from bmc.report.writer import ReportRequest, write_report
from bmc.workflow import cleanup, notifications

logger = Logger()
tracer = Tracer()

ABORTED = "ABORTED"
TIMED_OUT = "TIMED_OUT"


def execution_error(status: str, detail: dict[str, Any]) -> dict[str, str]:
    """The run's error for an execution that ended without reaching its failure path."""
    if status == ABORTED:
        cause = detail.get("cause") or "the execution was aborted (StopExecution)"
        return {"Error": cleanup.ABORTED_ERROR, "Cause": str(cause)}
    cause = detail.get("cause") or "the execution exceeded its timeout"
    return {"Error": str(detail.get("error") or "States.Timeout"), "Cause": str(cause)}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    fields, refusal = required_fields(event.raw_event, ("name", "executionArn", "status"), logger)
    if refusal is not None:
        return refusal
    detail = dict(event.detail)
    status, run_id = fields["status"], fields["name"]
    logger.append_keys(runId=run_id, executionStatus=status)
    if status not in (ABORTED, TIMED_OUT):
        logger.info("execution status needs no cleanup")
        return {"runId": run_id, "result": "ignored"}
    registry = Registry.from_environment()
    error = execution_error(status, detail)
    execution = cleanup.Execution(fields["executionArn"], execution_start(detail.get("startDate")))
    result = cleanup.clean_up(
        run_id,
        error=error,
        execution=execution,
        aborted=status == ABORTED,
        registry=registry,
        bedrock=BedrockOps(),
        schedule_group=settings.optional_schedule_group(),
    )
    request = ReportRequest(
        run_id,
        execution.arn,
        execution.started_at,
        settings.artifacts_bucket(),
        utc_now(),
        cleanup.failure_record(error),
    )
    report = write_report(request, registry=registry, s3_client=clients.client("s3"))
    notification = notifications.notify_failure(
        run_id,
        registry=registry,
        execution_arn=execution.arn,
        execution_started_at=execution.started_at,
        error=cleanup.failure_record(error),
        cleanup=result.to_dict(),
        prefix=settings.prefix(),
        region=settings.region(),
        topic_arn=settings.topic_arn(),
        sns_client=clients.client("sns"),
    )
    return {"runId": run_id, "cleanup": result.to_dict(), "report": report, "notification": notification}
