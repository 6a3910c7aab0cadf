"""Shared set-up of the API tests (no tests here): the local cloud plus the idempotency table."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from unittest import mock

from bmc.aws.registry import execution_start
from bmc.handlers import (
    api,
    collect_metrics,
    notify,
    preflight,
    prepare_run,
    snapshot_datasets,
    submit_job,
    validate_datasets,
)
from bmc.tenancy import tenancy_from_config

from localcloud.api_gateway import rest_proxy_event
from tests.unit.workflow_support import (
    ACCOUNT,
    DATASETS_BUCKET,
    Cloud,
    aws_client,
    lambda_context,
    local_cloud,
    step,
)

IDEMPOTENCY_TABLE = "bmc-api-idempotency"

# Two teams and an admin; callers sign as sessions of their roles (what API Gateway reports).
SUPPORT_ROLE = f"arn:aws:iam::{ACCOUNT}:role/teams/SupportML"
FINANCE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/FinanceML"
ADMIN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/PlatformAdmin"
SUPPORT = f"arn:aws:sts::{ACCOUNT}:assumed-role/SupportML/alice"
FINANCE = f"arn:aws:sts::{ACCOUNT}:assumed-role/FinanceML/bob"
ADMIN = f"arn:aws:sts::{ACCOUNT}:assumed-role/PlatformAdmin/carol"
OUTSIDER = f"arn:aws:sts::{ACCOUNT}:assumed-role/Contractor/dave"
TEAMS = {
    "support": {"principals": [SUPPORT_ROLE], "datasetPrefixes": ["data/"]},
    "finance": {"principals": [FINANCE_ROLE], "datasetPrefixes": ["finance/"]},
}
TENANCY = tenancy_from_config(TEAMS, [ADMIN_ROLE]).to_environment()


def create_idempotency_table() -> None:
    """The table constructs_lib/api.py declares: key `id`, TTL on `expiration`."""
    aws_client("dynamodb").create_table(
        TableName=IDEMPOTENCY_TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )


@contextmanager
def api_cloud() -> Iterator[Cloud]:
    with local_cloud() as cloud:
        create_idempotency_table()
        with mock.patch.dict(
            os.environ,
            {"IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE, "DATASETS_BUCKET": DATASETS_BUCKET, "TENANCY": TENANCY},
        ):
            yield cloud


def call(
    method: str,
    path: str,
    *,
    body: Mapping[str, Any] | str | None = None,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    caller: str = SUPPORT,
) -> tuple[int, dict[str, Any]]:
    """Invoke the API handler as API Gateway would, signed by ``caller`` (a member of team
    support unless said otherwise); returns the status and the JSON body."""
    event = rest_proxy_event(
        method,
        path,
        body=body if isinstance(body, Mapping) else None,
        query=query,
        headers=headers,
        caller=caller,
    )
    if isinstance(body, str):
        event["body"] = body  # raw text, e.g. malformed JSON
    response = api.handler(event, lambda_context("bmc-api"))
    return int(response["statusCode"]), dict(json.loads(response["body"] or "{}"))


def create_request(**overrides: Any) -> dict[str, Any]:
    """A valid Nova Micro fine-tuning request on the datasets the cloud puts in S3."""
    base: dict[str, Any] = {
        "ModelName": "support bot",
        "ModelType": "FINE_TUNING",
        "BaseModelId": "amazon.nova-micro-v1",
        "Description": "Answers support tickets",
        "TrainingDataLocation": f"s3://{DATASETS_BUCKET}/data/train.jsonl",
        "ValidationDataLocation": f"s3://{DATASETS_BUCKET}/data/validation.jsonl",
        "HyperParameters": {"epochCount": "2"},
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def create_model(caller: str = SUPPORT, **overrides: Any) -> str:
    status, body = call("POST", "/custom-models", body=create_request(**overrides), caller=caller)
    assert status == 202, body
    return str(body["Id"])


def submitted(cloud: Cloud, model_id: str) -> dict[str, Any]:
    """Run the workflow's functions for the model up to SubmitJob: its job is InProgress."""
    record = cloud.run(model_id)
    started = cloud.sfn.describe_execution(executionArn=record["executionArn"])["startDate"]
    state: dict[str, Any] = step(
        model_id,
        prepare_run.handler,
        {"spec": record["spec"], "source": {}},
        None,
        started_at=execution_start(started),
    )
    state = step(model_id, validate_datasets.handler, state, "validation")
    state = step(model_id, preflight.handler, state, "preflight")
    state = step(model_id, snapshot_datasets.handler, state, "snapshots")
    result: dict[str, Any] = step(model_id, submit_job.handler, state, "job")
    return result


def complete(cloud: Cloud, model_id: str) -> None:
    """Run the workflow's functions for the model, state by state, to COMPLETED."""
    state = submitted(cloud, model_id)
    job = cloud.sim.finish_job(state["job"]["jobArn"], "Completed")
    state = {**state, "jobResult": {"status": "Completed", "customModelArn": job.output_model_arn}}
    state = step(model_id, collect_metrics.handler, state, "metrics")
    step(model_id, notify.handler, state, "notification")
    assert cloud.run(model_id)["status"] == "COMPLETED"
