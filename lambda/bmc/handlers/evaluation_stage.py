"""PrepareEvaluation / ConcludeEvaluation: ``action`` prepare builds the Distributed Map's input
from the registry; conclude applies the gate and releases a temporary serving
(bmc.workflow.evaluation, docs/workflow.md).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from bmc import settings
from bmc.aws.bedrock_ops import BedrockOps
from bmc.aws.registry import Registry
from bmc.errors import InvalidTaskInput
from bmc.handlers._task import TaskEvent, task_handler
from bmc.workflow import evaluation

logger = Logger()
tracer = Tracer()


@task_handler(logger, tracer)
def handler(task: TaskEvent, context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(action=task.action)
    registry = Registry.from_environment()
    if task.action == "prepare":
        return evaluation.prepare(
            task.run_id,
            registry=registry,
            region=settings.region(),
            default_tolerance=settings.evaluation_tolerated_failure_percentage(),
            records_per_batch=settings.evaluation_records_per_batch(),
        )
    if task.action == "conclude":
        outcome = evaluation.conclude(
            task.run_id,
            registry=registry,
            bedrock=BedrockOps(),
            schedule_group=settings.optional_schedule_group(),
        )
        logger.info("evaluation concluded", extra=outcome)
        return outcome
    raise InvalidTaskInput(f"evaluation_stage: unknown action {task.action!r} (prepare or conclude)")
