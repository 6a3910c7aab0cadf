"""expire_serving (one-time schedule): delete a run's serving at the end of its ttlHours."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from bmc.aws.bedrock_ops import BedrockOps
from bmc.aws.registry import Registry
from bmc.handlers._events import REFUSED
from bmc.workflow import serving

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run_id = event.get("runId") if isinstance(event, dict) else None
    if not isinstance(run_id, str) or not run_id:
        logger.warning("event refused: it lacks runId", extra={"event": str(event)[:200]})
        return {"result": REFUSED, "reason": 'expire_serving expects {"runId": "..."}'}
    logger.append_keys(runId=run_id)
    return serving.expire(run_id, registry=Registry.from_environment(), bedrock=BedrockOps())
