"""WriteReport / WriteFailureReport: the run's HTML report, at the end of either path.

On the success path a run that serves nothing is completed first, so the page shows the run's
final status. The report never decides a run's outcome: any failure to write it is logged,
recorded on the run (``reportProblem``) and returned, never raised, so neither the success
nor the failure path can fail because of it (the state machine also catches what escapes).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from bmc import settings
from bmc.aws import clients
from bmc.aws.registry import Registry, utc_now
from bmc.handlers._task import TaskEvent, task_handler
from bmc.report.writer import ReportRequest, write_report
from bmc.workflow.cleanup import failure_record
from bmc.workflow.notifications import complete_unserved_run

logger = Logger()
tracer = Tracer()


@task_handler(logger, tracer)
def handler(task: TaskEvent, context: LambdaContext) -> dict[str, Any]:
    registry = Registry.from_environment()
    failing = "error" in task.state
    if not failing:
        try:
            complete_unserved_run(task.run_id, registry)
        except Exception:
            logger.exception("the run could not be completed here; Notify tries again")
    request = ReportRequest(
        run_id=task.run_id,
        execution_arn=task.execution_arn,
        execution_started_at=task.started_at,
        bucket=settings.artifacts_bucket(),
        now=utc_now(),
        error=failure_record(task.optional_section("error")) if failing else None,
    )
    return write_report(request, registry=registry, s3_client=clients.client("s3"))
