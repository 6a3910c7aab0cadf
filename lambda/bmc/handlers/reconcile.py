"""reconcile (scheduled): resolve the jobs whose state-change event never arrived."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from bmc.aws.bedrock_ops import BedrockOps
from bmc.aws.registry import Registry
from bmc.workflow.job_tracking import JobTracker

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    counts = JobTracker(Registry.from_environment(), BedrockOps()).reconcile()
    logger.info("reconciled the awaiting runs", extra=counts)
    return counts
