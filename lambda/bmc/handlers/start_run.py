"""start_run: a manifest landing under ``manifests/`` starts a run.

The execution name is derived from the object (bucket, key, version), so a duplicated S3
event finds the execution existing and starts nothing (docs/workflow.md, "Identity of a run").
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import S3EventBridgeNotificationEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from bmc import settings
from bmc.aws import clients
from bmc.handlers._events import required_fields
from bmc.runspec import ManifestRef, manifest_run_id

logger = Logger()
tracer = Tracer()

MANIFEST_PREFIX = "manifests/"
MANIFEST_SUFFIX = ".json"


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@event_source(data_class=S3EventBridgeNotificationEvent)
def handler(event: S3EventBridgeNotificationEvent, context: LambdaContext) -> dict[str, Any]:
    fields, refusal = required_fields(event.raw_event, ("bucket.name", "object.key"), logger)
    if refusal is not None:
        return {"started": False, **refusal}
    bucket, obj = fields["bucket.name"], event.detail.object
    key = obj.key
    # The rule filters on the prefix already; a stray event must still not start a run.
    if not key.startswith(MANIFEST_PREFIX) or not key.lower().endswith(MANIFEST_SUFFIX):
        logger.info("not a manifest", extra={"bucket": bucket, "key": key})
        return {"started": False, "reason": "not a manifest", "key": key}
    ref = ManifestRef(bucket, key, obj.get("version-id"), obj.etag or None)
    run_id = manifest_run_id(bucket, key, ref.version_id)
    logger.append_keys(runId=run_id)
    try:
        response = clients.client("stepfunctions").start_execution(
            stateMachineArn=settings.state_machine_arn(),
            name=run_id,
            input=json.dumps({"manifest": ref.to_dict()}),
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
            raise
        logger.info("duplicate delivery: the run exists already", extra={"key": key})
        return {"started": False, "reason": "duplicate", "runId": run_id}
    logger.info("run started", extra={"key": key, "executionArn": response["executionArn"]})
    return {"started": True, "runId": run_id, "executionArn": response["executionArn"]}
