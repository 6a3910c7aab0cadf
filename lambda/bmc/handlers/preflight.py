"""Preflight: the base model (and teacher) can be customized here, in this region, now."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from bmc import settings
from bmc.bedrock_ops import BedrockOps, preflight
from bmc.handlers._task import TaskEvent

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = TaskEvent.parse(event)
    logger.append_keys(runId=task.run_id)
    result = preflight(
        task.spec(),
        region=settings.region(),
        allowed_base_models=settings.allowed_base_models(),
        ops=BedrockOps(),
    )
    for note in result["notes"]:
        logger.info(note)
    return result
