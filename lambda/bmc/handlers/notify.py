"""Notify / NotifyFailure: publish the run's outcome to the topic.

The failure path is recognized by ``$.error``. On success a run that serves nothing becomes
COMPLETED here (a served run stays IN_SERVICE); ``notify.onSuccess: false`` skips the
success message. The failure message is always sent and never raises, so the execution
still ends with the run's own error.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from bmc import settings
from bmc.aws import clients
from bmc.aws.registry import Registry
from bmc.handlers._task import TaskEvent, task_handler
from bmc.workflow import notifications
from bmc.workflow.cleanup import failure_record

logger = Logger()
tracer = Tracer()


@task_handler(logger, tracer)
def handler(task: TaskEvent, context: LambdaContext) -> dict[str, Any]:
    registry = Registry.from_environment()
    if "error" in task.state:
        return notifications.notify_failure(
            task.run_id,
            registry=registry,
            execution_arn=task.execution_arn,
            execution_started_at=task.started_at,
            error=failure_record(task.optional_section("error")),
            cleanup=task.optional_section("cleanup"),
            prefix=settings.prefix(),
            region=settings.region(),
            topic_arn=settings.topic_arn(),
            sns_client=clients.client("sns"),
        )
    return notifications.notify_success(
        task.run_id,
        registry=registry,
        execution_arn=task.execution_arn,
        prefix=settings.prefix(),
        region=settings.region(),
        topic_arn=settings.topic_arn(),
        sns_client=clients.client("sns"),
    )
