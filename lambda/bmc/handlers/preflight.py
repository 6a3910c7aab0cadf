"""Preflight: the base model (and teacher) can be customized here, in this region, now.

A LEGACY base model is a warning (recorded on the run's ``warnings`` and in its notification)
or, with ``allowLegacyBaseModels`` false, a refusal.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from bmc import settings
from bmc.aws.bedrock_ops import BedrockOps, preflight
from bmc.aws.registry import Registry
from bmc.handlers._task import TaskEvent, task_handler

logger = Logger()
tracer = Tracer()


@task_handler(logger, tracer)
def handler(task: TaskEvent, context: LambdaContext) -> dict[str, Any]:
    result = preflight(
        task.spec(),
        region=settings.region(),
        allowed_base_models=settings.allowed_base_models(),
        ops=BedrockOps(),
        allow_legacy=settings.allow_legacy_base_models(),
    )
    for note in result["notes"]:
        logger.info(note)
    for warning in result["warnings"]:
        logger.warning(warning["message"])
    if result["warnings"]:
        Registry.from_environment().update(task.run_id, fields={"warnings": result["warnings"]})
    return result
