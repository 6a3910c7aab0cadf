"""StartServing / CheckServing: ``action`` start creates the serving, check polls it once."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from bmc import settings
from bmc.aws.bedrock_ops import BedrockOps
from bmc.aws.registry import Registry
from bmc.errors import InvalidTaskInput
from bmc.handlers._task import TaskEvent, task_handler
from bmc.workflow import serving

logger = Logger()
tracer = Tracer()


@task_handler(logger, tracer)
def handler(task: TaskEvent, context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(action=task.action)
    registry, bedrock = Registry.from_environment(), BedrockOps()
    if task.action == "start":
        model_arn = task.section("jobResult").get("customModelArn") or registry.require(task.run_id).get(
            "customModelArn"
        )
        if not model_arn:
            raise InvalidTaskInput("StartServing needs the custom model ARN ($.jobResult.customModelArn)")
        return serving.start(
            task.run_id,
            task.spec(),
            task.names(),
            str(model_arn),
            registry=registry,
            bedrock=bedrock,
            prefix=settings.prefix(),
        )
    if task.action == "check":
        return serving.check(
            task.run_id,
            task.spec(),
            task.names(),
            task.section("serving"),
            registry=registry,
            bedrock=bedrock,
            schedules=serving.ScheduleSettings.from_environment(),
            max_polls=settings.max_serving_polls(),
        )
    raise InvalidTaskInput(f"serve: unknown action {task.action!r} (start or check)")
