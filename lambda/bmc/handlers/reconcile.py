"""reconcile (scheduled): resolve the jobs whose state-change event never arrived; once a day
(``{"check": "base-model-lifecycle"}``), notify the runs whose served model's foundation
model became LEGACY (bmc.lineage.lifecycle)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from bmc import settings
from bmc.aws import clients
from bmc.aws.bedrock_ops import BedrockOps
from bmc.aws.registry import Registry
from bmc.lineage.lifecycle import CHECK_BASE_MODEL_LIFECYCLE, CHECK_EVENT_KEY, notify_legacy_foundations
from bmc.workflow.job_tracking import JobTracker
from bmc.workflow.notifications import Message, publish

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    registry, bedrock = Registry.from_environment(), BedrockOps()
    if isinstance(event, dict) and event.get(CHECK_EVENT_KEY) == CHECK_BASE_MODEL_LIFECYCLE:
        topic, sns = settings.topic_arn(), clients.client("sns")

        def send(message: Message) -> str:
            return publish(message, topic_arn=topic, sns_client=sns)

        counts = notify_legacy_foundations(registry, bedrock, prefix=settings.prefix(), publish=send)
        logger.info("checked the foundation models of served runs", extra=counts)
        return counts
    counts = JobTracker(registry, bedrock).reconcile()
    logger.info("reconciled the awaiting runs", extra=counts)
    return counts
