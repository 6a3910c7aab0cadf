"""Lineage through the workflow's handlers: snapshots, chained runs, legacy notices, messages."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from bmc.errors import RunSpecInvalid, RunStateConflict
from bmc.handlers import collect_metrics, notify, reconcile, snapshot_datasets, submit_job, validate_datasets
from bmc.lineage.lifecycle import CHECK_BASE_MODEL_LIFECYCLE

from localcloud.bedrock import DEFAULT_FOUNDATION_MODELS
from tests.unit.workflow_support import (
    CONVERSATION_RECORD,
    DATASETS_BUCKET,
    Cloud,
    collected,
    invoke,
    local_cloud,
    prepared,
    snapshotted,
    step,
    submitted,
)


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    with local_cloud() as created:
        yield created


def test_a_dataset_overwritten_after_validation_trains_the_validated_version(cloud: Cloud) -> None:
    state = prepared("run-1")
    state = step("run-1", validate_datasets.handler, state, "validation")
    validated = cloud.run("run-1")["lineage"]["datasets"]["training"]
    newer = cloud.s3.put_object(
        Bucket=DATASETS_BUCKET, Key="data/train.jsonl", Body=b"not what was validated\n"
    )
    state = step("run-1", snapshot_datasets.handler, state, "snapshots")
    state = step("run-1", submit_job.handler, state, "job")
    training = cloud.run("run-1")["lineage"]["datasets"]["training"]
    # The record shows both versions: the one validated and trained, and the one the key holds now.
    assert training["versionId"] == validated["versionId"] != newer["VersionId"]
    assert training["changedAfterValidation"] is True
    assert training["currentVersionId"] == newer["VersionId"]
    assert training["checksumVerified"] is True
    snapshot = cloud.s3.get_object(Bucket=DATASETS_BUCKET, Key="snapshots/run-1/training.jsonl")[
        "Body"
    ].read()
    assert hashlib.sha256(snapshot).hexdigest() == validated["sha256"]
    assert state["snapshots"]["snapshots"][0]["changedAfterValidation"] is True
    job = cloud.sim.job(state["job"]["jobArn"])
    assert job.training_data_config["s3Uri"] == training["snapshotUri"]
    report = cloud.read_json(state["validation"]["reportUri"])
    assert report["lineage"]["datasets"]["training"]["snapshotUri"] == training["snapshotUri"]


def test_snapshots_are_idempotent_and_submission_needs_them(cloud: Cloud) -> None:
    state = snapshotted("run-1")
    again = step("run-1", snapshot_datasets.handler, state, None)
    assert again == state["snapshots"]
    versions = cloud.s3.list_object_versions(Bucket=DATASETS_BUCKET, Prefix="snapshots/run-1/")["Versions"]
    assert len(versions) == 2  # training and validation, each written once
    cloud.registry.update("run-1", remove=("lineage.datasets.training.snapshotAt",))
    with pytest.raises(RunStateConflict, match="no snapshot"):
        step("run-1", submit_job.handler, state, None)


def test_a_run_built_on_an_earlier_run_customizes_its_model(cloud: Cloud) -> None:
    collected(cloud, "run-0")
    cloud.registry.update("run-0", fields={"status": "COMPLETED"})
    parent_arn = cloud.run("run-0")["customModelArn"]
    state = submitted("run-1", baseModel="run:run-0", hyperparameters={"epochCount": 1})
    job = cloud.sim.job(state["job"]["jobArn"])
    assert job.parent_model_arn == parent_arn  # baseModelIdentifier: the parent's custom model
    assert job.hyper_parameters["epochCount"] == "1"
    tags = {t["key"]: t["value"] for t in job.custom_model_tags}
    assert tags["bmc:parentRunId"] == "run-0"
    run = cloud.run("run-1")
    assert run["spec"]["baseModel"] == "amazon.nova-micro-v1:0:128k"
    assert (run["lineage"]["parentRunId"], run["lineage"]["parentModelArn"]) == ("run-0", parent_arn)
    finished = cloud.sim.finish_job(state["job"]["jobArn"], "Completed")
    state = {**state, "jobResult": {"status": "Completed", "customModelArn": finished.output_model_arn}}
    step("run-1", collect_metrics.handler, state, "metrics")
    chain = cloud.run("run-1")["lineage"]["chain"]
    assert [(s["runId"], s["baseModel"], s["customModelArn"]) for s in chain] == [
        ("run-0", "amazon.nova-micro-v1:0:128k", parent_arn),
        ("run-1", parent_arn, finished.output_model_arn),
    ]


def test_a_run_of_another_owner_cannot_be_built_on(cloud: Cloud) -> None:
    collected(cloud, "run-0")
    cloud.registry.update("run-0", fields={"status": "COMPLETED", "team": "team:finance"})
    with pytest.raises(RunSpecInvalid, match="PARENT_NOT_FOUND"):
        prepared("run-1", baseModel="run:run-0")
    assert cloud.run("run-1")["error"]["findings"][0]["field"] == "baseModel"


def test_the_success_message_says_which_bytes_and_base_trained_the_model(cloud: Cloud) -> None:
    state = collected(cloud, "run-1")
    step("run-1", notify.handler, state, "notification")
    (message,) = cloud.notifications()
    body = message["Message"]
    training = cloud.run("run-1")["lineage"]["datasets"]["training"]
    assert (
        f"training: s3://{DATASETS_BUCKET}/data/train.jsonl (version {training['versionId']}, sha256 " in body
    )
    assert f"trained from {training['snapshotUri']}" in body
    assert "foundation model: amazon.nova-micro-v1:0:128k" in body


def _legacy_nova_micro() -> list[Any]:
    end = datetime(2026, 9, 30, tzinfo=UTC)
    return [
        dataclasses.replace(m, lifecycle_status="LEGACY", end_of_life_time=end)
        if m.model_id == "amazon.nova-micro-v1:0:128k"
        else m
        for m in DEFAULT_FOUNDATION_MODELS
    ]


def test_a_served_model_whose_foundation_model_becomes_legacy_is_notified_once() -> None:
    with local_cloud() as cloud:
        collected(cloud, "run-1")
        cloud.registry.update("run-1", fields={"status": "IN_SERVICE", "serving": {"kind": "provisioned"}})
        event = {"check": CHECK_BASE_MODEL_LIFECYCLE}
        assert invoke(reconcile.handler, event)["notified"] == 0  # still ACTIVE
        cloud.sim.foundation_models = tuple(_legacy_nova_micro())
        assert invoke(reconcile.handler, event) == {"served": 1, "legacy": 1, "notified": 1, "errors": 0}
        assert invoke(reconcile.handler, event)["notified"] == 0  # once
        (message,) = cloud.notifications()
        assert message["MessageAttributes"]["status"]["Value"] == "LEGACY_BASE_MODEL"
        assert "end of life is 2026-09-30" in message["Message"]
        notice = cloud.run("run-1")["legacyNotice"]
        assert notice["model"] == "amazon.nova-micro-v1:0:128k" and notice["messageId"]


def test_the_scheduled_reconciler_still_resolves_jobs(cloud: Cloud) -> None:
    counts = invoke(reconcile.handler, {"detail-type": "Scheduled Event", "source": "aws.events"})
    assert counts["checked"] == 0 and "served" not in counts


def test_the_validator_counts_records_per_validation_file(cloud: Cloud) -> None:
    cloud.put_jsonl("data/more.jsonl", [CONVERSATION_RECORD] * 3)
    more = f"s3://{DATASETS_BUCKET}/data/more.jsonl"
    state = prepared("run-1", validationData=[f"s3://{DATASETS_BUCKET}/data/validation.jsonl", more])
    step("run-1", validate_datasets.handler, state, "validation")
    validation = cloud.run("run-1")["lineage"]["datasets"]["validation"]
    assert [(v["records"], v["snapshotUri"].rsplit("/", 1)[1]) for v in validation] == [
        (4, "validation-1.jsonl"),
        (3, "validation-2.jsonl"),
    ]
