"""Cleanup: undo what a failed run started, as its registry record says; never raises
(docs/workflow.md). The state machine sends only ``{"error"}``: nothing else of the state counts.

Returns ``{"status": "FAILED" | "STOPPED", "actions", "problems"}``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from bmc import settings
from bmc.aws.bedrock_ops import BedrockOps
from bmc.aws.registry import FAILED, Registry
from bmc.handlers._task import parse_task, traced_handler
from bmc.workflow import cleanup

logger = Logger()
tracer = Tracer()


@traced_handler(logger, tracer)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        task = parse_task(event, logger)
        error = task.optional_section("error")
        result = cleanup.clean_up(
            task.run_id,
            error=error,
            execution=cleanup.Execution(task.execution_arn, task.started_at),
            registry=Registry.from_environment(),
            bedrock=BedrockOps(),
            schedule_group=settings.optional_schedule_group(),
        )
    except Exception as exc:  # even a broken event must not replace the run's own error
        logger.exception("cleanup could not run")
        return {
            "status": FAILED,
            "actions": [],
            "problems": [f"cleanup could not run: {type(exc).__name__}: {exc}"],
        }
    logger.info("cleanup done", extra=result.to_dict())
    return result.to_dict()
