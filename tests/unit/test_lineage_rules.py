"""Lineage rules, one by one: what is recorded of each dataset, which tags fit on Bedrock's
resources, how a parent is resolved for its owner, what a chain shows, when a LEGACY base is
notified, and how a snapshot is copied (the recorded version, its ETag, write once, checked).

S3 and Bedrock limits asserted here come from botocore's service models: Bedrock's ``TagValue``
is at most 256 characters of ``[a-zA-Z0-9\\s._:/=+@-]``; S3's CopyObject takes ``If-None-Match``
and ``CopySourceIfMatch``, UploadPartCopy ``CopySourceIfMatch`` and a ``CopySourceRange``, and
CompleteMultipartUpload ``If-None-Match``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import boto3
import pytest
from bmc import runspec
from bmc.aws.bedrock_ops import BedrockOps
from bmc.aws.registry import Registry
from bmc.errors import DatasetChanged, RunStateConflict, SnapshotConflict, SnapshotUnavailable
from bmc.lineage.chain import dataset_views, lineage_view, step_view
from bmc.lineage.datasets import (
    RunDatasets,
    evaluation_test_data,
    recorded_datasets,
    snapshot_key,
    snapshot_taken,
    snapshot_uris,
)
from bmc.lineage.lifecycle import legacy_notice, notify_legacy_foundations, root_model
from bmc.lineage.parents import MAX_CHAIN_STEPS, chain_step, initial_lineage, recorded_chain, resolve_parent
from bmc.lineage.snapshot import (
    PART_SIZE,
    SINGLE_COPY_LIMIT,
    SnapshotResult,
    SnapshotTarget,
    Snapshotter,
    copy_parts,
    purge_snapshots,
)
from bmc.lineage.submission import job_inputs
from bmc.lineage.tags import lineage_tags, room_for_lineage
from bmc.runspec.model import PARENT_NOT_FOUND, PARENT_NOT_READY, ParentRefusedError
from bmc.workflow.notifications import Message
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber

from tests.unit.test_lineage import record_run
from tests.unit.workflow_support import DATASETS_BUCKET, Cloud, aws_client, local_cloud

BUCKET = "datasets-bucket"
NOVA_MICRO = "amazon.nova-micro-v1:0:128k"
MODEL_ARN = f"arn:aws:bedrock:us-east-1:123456789012:custom-model/{NOVA_MICRO}/abcdefghijkl"
SOURCE_KEY = "data/source.jsonl"
SOURCE = f"s3://{DATASETS_BUCKET}/{SOURCE_KEY}"
SNAPSHOT_KEY = "snapshots/run-1/training.jsonl"
SNAPSHOT = f"s3://{DATASETS_BUCKET}/{SNAPSHOT_KEY}"
MIB = 1024 * 1024


# --- datasets ------------------------------------------------------------------------------------


def from_validation(
    stats: dict[str, Any], validation: list[str], evaluation: str | None = None
) -> dict[str, Any]:
    return RunDatasets.from_validation(
        stats,
        training=f"s3://{BUCKET}/t.jsonl",
        validation=validation,
        evaluation=evaluation,
        bucket=BUCKET,
        run_id="run-1",
    ).to_dict()


def test_a_roles_record_count_is_a_files_count_only_when_the_role_has_one_file() -> None:
    checks = [f"s3://{BUCKET}/v1.jsonl", f"s3://{BUCKET}/v2.jsonl"]
    both = from_validation({"validation": {"records": 9, "sources": [{"uri": u} for u in checks]}}, checks)
    assert [v["records"] for v in both["validation"]] == [None, None]  # 9 is the two files' total
    one = from_validation({"validation": {"records": 9, "sources": [{"uri": checks[0]}]}}, checks[:1])
    assert one["validation"][0]["records"] == 9
    # A file's own count, when the validator gives one, is the file's.
    own = {"validation": {"records": 9, "sources": [{"uri": checks[0], "records": 4}]}}
    assert from_validation(own, checks[:1])["validation"][0]["records"] == 4


def test_the_evaluation_test_set_is_recorded_as_its_check_read_it() -> None:
    test_set = f"s3://{BUCKET}/test.jsonl"
    stats = {"evaluation": {"sources": [{"uri": test_set, "versionId": "v7", "etag": "e7", "size": 70}]}}
    recorded = from_validation(stats, [], evaluation=test_set)["evaluation"]
    assert (recorded["versionId"], recorded["etag"], recorded["size"]) == ("v7", "e7", 70)


def test_only_what_s3_and_the_validator_reported_is_recorded_never_a_stand_in() -> None:
    training = f"s3://{BUCKET}/t.jsonl"
    odd = {"uri": training, "versionId": "", "etag": 7, "size": True, "records": "12", "sha256": ""}
    stats = {"training": {"records": False, "sources": [odd, "not a source", {"uri": "s3://other/t.jsonl"}]}}
    assert from_validation(stats, [])["training"] == {
        "uri": training,
        "versionId": None,
        "etag": None,
        "size": None,
        "records": None,
        "sha256": None,
        "snapshotUri": f"s3://{BUCKET}/snapshots/run-1/training.jsonl",
    }
    # A source recorded for another URI is not this file's.
    other = {"training": {"sources": [{"uri": "s3://other/t.jsonl", "size": 5, "versionId": "v9"}]}}
    assert (
        from_validation(other, [])["training"]["size"],
        from_validation(other, [])["training"]["versionId"],
    ) == (
        None,
        None,
    )


def test_each_role_has_its_own_run_scoped_snapshot_key() -> None:
    assert snapshot_key("run-1", "training") == "snapshots/run-1/training.jsonl"
    assert snapshot_key("run-1", "training", 3) == "snapshots/run-1/training.jsonl"  # one training file
    assert snapshot_key("run-1", "validation") == "snapshots/run-1/validation-1.jsonl"
    assert snapshot_key("run-1", "validation", 2) == "snapshots/run-1/validation-3.jsonl"
    assert snapshot_key("run-1", "evaluation") == "snapshots/run-1/evaluation.jsonl"


def test_recorded_datasets_are_read_in_role_order_whatever_their_shape() -> None:
    lineage = {
        "datasets": {
            "evaluation": {"uri": "e"},
            "validation": [{"uri": "v1"}, "broken", {"uri": "v2"}],
            "training": {"uri": "t"},
            "other": {"uri": "x"},
        }
    }
    found = [(role, index, entry["uri"]) for role, index, entry in recorded_datasets(lineage)]
    assert found == [
        ("training", 0, "t"),
        ("validation", 0, "v1"),
        ("validation", 2, "v2"),
        ("evaluation", 0, "e"),
    ]
    assert recorded_datasets(None) == recorded_datasets({}) == recorded_datasets({"datasets": None}) == []
    assert recorded_datasets({"datasets": {"training": "s3://b/k"}}) == []


def test_a_snapshot_counts_only_once_it_was_copied_and_its_uri_recorded() -> None:
    assert snapshot_taken({"snapshotAt": "2026-01-01T00:00:00Z", "snapshotUri": "s3://b/s"})
    assert not snapshot_taken({"snapshotUri": "s3://b/s"})  # known before the copy exists
    assert not snapshot_taken({"snapshotAt": "2026-01-01T00:00:00Z"})
    lineage = {
        "datasets": {
            "training": {"snapshotAt": "t", "snapshotUri": "s3://b/training"},
            "validation": [{"snapshotAt": "t", "snapshotUri": "s3://b/v1"}, {"snapshotUri": "s3://b/v2"}],
        }
    }
    assert snapshot_uris(lineage, "validation") == ["s3://b/v1"]
    assert snapshot_uris(lineage, "training") == ["s3://b/training"]
    assert snapshot_uris(None, "training") == []


def test_an_evaluation_test_set_is_a_uri_or_nothing() -> None:
    assert evaluation_test_data({"evaluation": {"testData": 3}}) is None
    assert evaluation_test_data({"evaluation": "s3://b/test.jsonl"}) is None
    assert evaluation_test_data({"evaluation": {"testData": "s3://b/test.jsonl"}}) == "s3://b/test.jsonl"


# --- tags ----------------------------------------------------------------------------------------


def tags(lineage: dict[str, Any], room: int = 50) -> dict[str, str]:
    return lineage_tags(lineage, run_id="run-1", datasets_bucket=BUCKET, room=room)


def test_a_tag_value_must_fit_bedrocks_tag_value_shape() -> None:
    """Bedrock's TagValue: at most 256 characters of [a-zA-Z0-9\\s._:/=+@-] (botocore's model)."""
    for value, kept in (
        ("a" * 256, True),
        ("x", True),
        ("a" * 257, False),
        ("v1 2._:/=+@-", True),
        ("v1#2", False),
        ("", False),  # an empty value says nothing
        (12, False),  # not text
        (None, False),
    ):
        found = tags({"datasets": {"training": {"versionId": value}}})
        assert ("bmc:trainingVersionId" in found) is kept, value
        if kept:
            assert found["bmc:trainingVersionId"] == value


def test_a_run_without_recorded_datasets_still_names_its_snapshots_and_parent() -> None:
    assert tags({"parentRunId": "run-0"}) == {
        "bmc:snapshot": f"s3://{BUCKET}/snapshots/run-1/",
        "bmc:parentRunId": "run-0",
    }


def test_a_value_that_does_not_fit_leaves_its_room_to_the_next_tag() -> None:
    lineage = {"parentRunId": "run-0", "datasets": {"training": {"sha256": "a" * 64, "versionId": "v#1"}}}
    assert list(tags(lineage, room=2)) == ["bmc:trainingSha256", "bmc:snapshot"]
    assert tags(lineage, room=0) == {}
    assert list(tags(lineage, room=3)) == ["bmc:trainingSha256", "bmc:snapshot", "bmc:parentRunId"]


def test_every_dataset_digest_has_its_own_tag_key() -> None:
    lineage = {
        "datasets": {
            "training": {},
            "validation": [{"sha256": "b" * 64}, {"sha256": "c" * 64}, {"sha256": "d" * 64}],
            "evaluation": {"sha256": "e" * 64},
        }
    }
    assert tags(lineage) == {
        "bmc:snapshot": f"s3://{BUCKET}/snapshots/run-1/",
        "bmc:validationSha256": "b" * 64,
        "bmc:validation2Sha256": "c" * 64,
        "bmc:validation3Sha256": "d" * 64,
        "bmc:evaluationSha256": "e" * 64,
    }


def test_lineage_tags_get_what_the_user_and_the_workflow_leave_of_bedrocks_50() -> None:
    assert room_for_lineage(10, 2) == 38
    assert room_for_lineage(48, 2) == 0
    assert room_for_lineage(49, 2) == 0  # never negative


# --- parents -------------------------------------------------------------------------------------


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    with local_cloud(with_datasets=False) as created:
        yield created


Hook = Callable[..., Any]


@pytest.fixture
def on_s3(cloud: Cloud) -> Iterator[Callable[[str, Hook], None]]:
    """Register a botocore handler on the (shared) S3 client of the tests, for this test only."""
    registered: list[tuple[str, Hook]] = []

    def register(operation: str, handler: Hook) -> None:
        event = f"provide-client-params.s3.{operation}"
        cloud.s3.meta.events.register(event, handler)
        registered.append((event, handler))

    yield register
    for event, handler in registered:
        cloud.s3.meta.events.unregister(event, handler)


def register(
    registry: Registry,
    run_id: str,
    *,
    status: str | None = "COMPLETED",
    model_arn: str | None = MODEL_ARN,
    **given: Any,
) -> None:
    """A run of the owner (``given``: team, lineage, spec fields) that ended ``status``."""
    record_run(registry, run_id, **given)
    fields: dict[str, Any] = {}
    if status:
        fields["status"] = status
    if model_arn:
        fields["customModelArn"] = model_arn
    if fields:
        registry.update(run_id, fields=fields)


def refusal(registry: Registry, reference: str, team: str = "team:support") -> ParentRefusedError:
    with pytest.raises(ParentRefusedError) as caught:
        resolve_parent(reference, registry=registry, owner_team=team)
    return caught.value


def test_a_parent_is_found_by_run_or_by_model_for_its_owner_only(cloud: Cloud) -> None:
    register(cloud.registry, "run-0")
    for reference in ("run:run-0", MODEL_ARN):
        parent, root = resolve_parent(reference, registry=cloud.registry, owner_team="team:support")
        assert (parent.run_id, parent.custom_model_arn, parent.customization_type, root) == (
            "run-0",
            MODEL_ARN,
            "FINE_TUNING",
            NOVA_MICRO,
        )
        assert parent.reference == reference
        found = refusal(cloud.registry, reference, team="team:finance")
        assert found.code == PARENT_NOT_FOUND
    assert (
        "of this run's owner in this deployment"
        in refusal(cloud.registry, MODEL_ARN, "team:finance").args[-1]
    )
    assert "no run 'run-0' of this run's owner" in str(refusal(cloud.registry, "run:run-0", "team:finance"))


def test_a_run_reference_that_is_no_run_id_reads_nothing(cloud: Cloud) -> None:
    register(cloud.registry, "run-0")
    for reference in ("run:run-0/../run-0", "run:"):  # "" is no key DynamoDB would read
        assert refusal(cloud.registry, reference).code == PARENT_NOT_FOUND


def test_each_refusal_of_a_parent_says_what_can_be_named_instead(cloud: Cloud) -> None:
    not_an_arn = "arn:aws:bedrock:us-east-1:123456789012:custom-model/x"
    assert str(refusal(cloud.registry, not_an_arn)).endswith(
        f"{not_an_arn!r} is not a custom model ARN (arn:aws:bedrock:<region>:<account>:custom-model/"
        "<base model>/<12 characters>) nor run:<runId>"
    )
    assert str(refusal(cloud.registry, MODEL_ARN)).endswith(
        f"{MODEL_ARN} is not the model of a run of this run's owner in this deployment: only models "
        "trained here (whose data, parent and settings are recorded) can be customized further; "
        "use run:<runId> to name one"
    )
    assert str(refusal(cloud.registry, "run:run-0")).endswith("run:run-0: no run 'run-0' of this run's owner")


def test_only_a_completed_or_served_run_with_a_model_is_customized_further(cloud: Cloud) -> None:
    register(cloud.registry, "served", status="IN_SERVICE")
    parent, _ = resolve_parent("run:served", registry=cloud.registry, owner_team="team:support")
    assert parent.run_id == "served"
    register(cloud.registry, "no-model", model_arn=None)
    found = refusal(cloud.registry, "run:no-model")
    assert found.code == PARENT_NOT_READY
    assert (
        "run no-model is COMPLETED: only the model of a COMPLETED or IN_SERVICE run can be customized further"
        in str(found)
    )


def chain_of(length: int) -> list[dict[str, Any]]:
    return [
        {
            "runId": f"run-{i}",
            "baseModel": NOVA_MICRO,
            "customizationType": "FINE_TUNING",
            "customModelArn": MODEL_ARN,
        }
        for i in range(length)
    ]


def test_a_chain_has_at_most_ten_customizations(cloud: Cloud) -> None:
    assert MAX_CHAIN_STEPS == 10
    # The parent ends a chain of nine: the new run is the tenth.
    register(
        cloud.registry,
        "run-8",
        model_arn=MODEL_ARN.replace("abcdefghijkl", "abcdefghijk8"),
        lineage={"rootFoundationModel": NOVA_MICRO, "chain": chain_of(9)},
    )
    parent, _ = resolve_parent("run:run-8", registry=cloud.registry, owner_team="team:support")
    assert len(parent.chain) == 9
    register(cloud.registry, "run-9", lineage={"rootFoundationModel": NOVA_MICRO, "chain": chain_of(10)})
    found = refusal(cloud.registry, "run:run-9")
    assert found.code == PARENT_NOT_READY
    assert "run run-9 ends a chain of 10 customizations; a chain has at most 10" in str(found)


def test_the_root_foundation_model_is_the_chains_first_base(cloud: Cloud) -> None:
    register(
        cloud.registry,
        "run-1",
        baseModel="run:run-0",
        lineage={"rootFoundationModel": "amazon.nova-lite-v1:0:300k", "chain": chain_of(1)},
    )
    _, root = resolve_parent("run:run-1", registry=cloud.registry, owner_team="team:support")
    assert root == "amazon.nova-lite-v1:0:300k"
    # A run registered before lineage was recorded: its own base is the root.
    register(cloud.registry, "run-old", lineage={})
    _, root = resolve_parent("run:run-old", registry=cloud.registry, owner_team="team:support")
    assert root == NOVA_MICRO


def test_a_runs_own_step_names_what_it_customized_and_how() -> None:
    record = {"spec": {"baseModel": NOVA_MICRO, "customizationType": "FINE_TUNING"}, "customModelArn": "m1"}
    assert chain_step("run-1", record) == {
        "runId": "run-1",
        "baseModel": NOVA_MICRO,
        "customizationType": "FINE_TUNING",
        "customModelArn": "m1",
    }
    on_parent = {**record, "lineage": {"parentModelArn": MODEL_ARN}}
    assert chain_step("run-1", on_parent)["baseModel"] == MODEL_ARN
    assert chain_step("run-1", {}) == {
        "runId": "run-1",
        "baseModel": None,
        "customizationType": None,
        "customModelArn": None,
    }


def test_the_recorded_chain_ends_with_the_runs_own_step_brought_up_to_date() -> None:
    registered = {
        "runId": "run-1",
        "baseModel": MODEL_ARN,
        "customizationType": "FINE_TUNING",
        "customModelArn": None,
    }
    record: dict[str, Any] = {
        "spec": {"baseModel": "run:run-0"},  # no customizationType: the registered step keeps its own
        "customModelArn": "m1",
        "lineage": {"parentModelArn": MODEL_ARN, "chain": [chain_of(1)[0], "broken", registered]},
    }
    steps = recorded_chain("run-1", record)
    assert [s["runId"] for s in steps] == ["run-0", "run-1"]
    assert steps[-1] == {**registered, "customModelArn": "m1"}
    assert record["lineage"]["chain"][-1]["customModelArn"] is None  # the record is not changed
    # A chain that does not end with the run (a record older than lineage) gets the run appended.
    appended = recorded_chain("run-2", {"lineage": {"chain": chain_of(1)}})
    assert [s["runId"] for s in appended] == ["run-0", "run-2"]


def test_a_run_is_registered_with_its_parent_and_the_parents_chain() -> None:
    parent = {"runId": "run-0", "customModelArn": MODEL_ARN, "chain": chain_of(1)}
    spec = {"baseModel": NOVA_MICRO, "customizationType": "CONTINUED_PRE_TRAINING", "parent": parent}
    own = {
        "runId": "run-1",
        "baseModel": MODEL_ARN,
        "customizationType": "CONTINUED_PRE_TRAINING",
        "customModelArn": None,
    }
    assert initial_lineage("run-1", spec) == {
        "rootFoundationModel": NOVA_MICRO,
        "parentRunId": "run-0",
        "parentModelArn": MODEL_ARN,
        "chain": [*chain_of(1), own],
        "datasets": {},
    }
    alone = initial_lineage(
        "run-1", {"baseModel": NOVA_MICRO, "customizationType": "FINE_TUNING", "parent": "run-0"}
    )
    assert (alone["parentRunId"], alone["parentModelArn"]) == (None, None)
    assert alone["chain"] == [{**own, "baseModel": NOVA_MICRO, "customizationType": "FINE_TUNING"}]


# --- chain views ---------------------------------------------------------------------------------


def test_a_step_whose_record_cannot_be_read_shows_what_the_chain_recorded() -> None:
    step = {"runId": "run-0", "baseModel": NOVA_MICRO}
    assert step_view("run-0", None, step) == {"runId": "run-0", "baseModel": NOVA_MICRO, "recorded": False}


def test_a_step_shows_its_records_settings_model_losses_and_evaluation() -> None:
    step = {
        "runId": "run-0",
        "baseModel": NOVA_MICRO,
        "customizationType": "DISTILLATION",
        "customModelArn": "m0",
    }
    bare = step_view("run-0", {"status": "COMPLETED", "evaluation": "not a summary"}, step)
    assert bare == {
        "runId": "run-0",
        "status": "COMPLETED",
        "baseModel": NOVA_MICRO,
        "customizationType": "DISTILLATION",  # the record's spec is gone: the chain's
        "hyperparameters": {},
        "jobArn": None,
        "customModelArn": "m0",
        "datasets": [],
        "metricsSummary": None,
        "evaluationSummary": None,
        "recorded": True,
    }
    record = {
        "status": "DELETED",
        "deletedAt": "2026-01-02T00:00:00.000Z",
        "spec": {"customizationType": "FINE_TUNING", "hyperparameters": {"epochCount": "2"}},
        "jobArn": "job",
        "customModelArn": "m1",
        "metricsSummary": {"finalTrainingLoss": 0.5, "finalValidationLoss": None, "epochs": 2, "steps": 9},
        "evaluation": {"summary": {"verdict": "better"}},
        "lineage": {"datasets": {"training": {"uri": "s3://b/t.jsonl", "versionId": "v1"}}},
    }
    view = step_view("run-0", record, step)
    assert view["datasets"] == [{"role": "training", "index": 0, "uri": "s3://b/t.jsonl", "versionId": "v1"}]
    assert (view["customizationType"], view["hyperparameters"], view["customModelArn"], view["jobArn"]) == (
        "FINE_TUNING",
        {"epochCount": "2"},
        "m1",
        "job",
    )
    assert view["metricsSummary"] == {"finalTrainingLoss": 0.5, "epochs": 2}  # what is known, nothing else
    losses = {"finalTrainingLoss": 0.5, "finalValidationLoss": 0.7, "epochs": 2}
    assert step_view("run-0", {**record, "metricsSummary": losses}, step)["metricsSummary"] == losses
    assert view["evaluationSummary"] == {"verdict": "better"}
    assert view["deletedAt"] == "2026-01-02T00:00:00.000Z"
    assert "deletedAt" not in step_view("run-0", {**record, "status": "COMPLETED"}, step)


def test_a_dataset_line_shows_only_what_was_recorded() -> None:
    lineage = {
        "datasets": {
            "training": {"uri": "t", "versionId": None, "sha256": "a"},
            "validation": [{"uri": "v1"}, {"uri": "v2", "records": 3}],
        }
    }
    assert dataset_views(lineage) == [
        {"role": "training", "index": 0, "uri": "t", "sha256": "a"},
        {"role": "validation", "index": 0, "uri": "v1"},
        {"role": "validation", "index": 1, "uri": "v2", "records": 3},
    ]


def test_the_lineage_view_reads_earlier_steps_and_takes_the_run_itself_as_given() -> None:
    own = {"runId": "run-1", "baseModel": MODEL_ARN}
    record: dict[str, Any] = {
        "status": "TRAINING",
        "spec": {"baseModel": NOVA_MICRO},
        "lineage": {
            "chain": [chain_of(1)[0], own],
            "parentRunId": "run-0",
            "parentModelArn": MODEL_ARN,
            "snapshotsPurgedAt": "2026-02-01T00:00:00.000Z",
        },
    }
    read: list[str] = []

    def reader(run_id: str) -> dict[str, Any] | None:
        read.append(run_id)
        return {"status": "COMPLETED"} if run_id == "run-0" else {"status": "stale copy"}

    view = lineage_view("run-1", record, reader)
    assert read == ["run-0"]
    assert [(s["runId"], s["status"]) for s in view["chain"]] == [
        ("run-0", "COMPLETED"),
        ("run-1", "TRAINING"),
    ]
    assert {k: v for k, v in view.items() if k != "chain"} == {
        "rootFoundationModel": NOVA_MICRO,  # not recorded: the spec's base
        "parentRunId": "run-0",
        "parentModelArn": MODEL_ARN,
        "datasets": {},
        "snapshotsPurgedAt": "2026-02-01T00:00:00.000Z",
    }
    datasets = {"training": {"uri": "s3://b/t.jsonl", "versionId": "v1"}}
    with_data = lineage_view(
        "run-1", {**record, "lineage": {**record["lineage"], "datasets": datasets}}, reader
    )
    assert with_data["datasets"] == datasets
    rooted = lineage_view(
        "run-1", {**record, "lineage": {**record["lineage"], "rootFoundationModel": "root"}}, reader
    )
    assert rooted["rootFoundationModel"] == "root"


# --- LEGACY base models ------------------------------------------------------------------------


def test_the_root_model_is_the_recorded_root_or_the_specs_base() -> None:
    assert (
        root_model({"lineage": {"rootFoundationModel": "root"}, "spec": {"baseModel": "run:run-0"}}) == "root"
    )
    assert root_model({"spec": {"baseModel": NOVA_MICRO}}) == NOVA_MICRO
    assert root_model({}) is None


def test_a_legacy_notice_says_which_model_is_served_and_on_what() -> None:
    record = {
        "customModelArn": "m1",
        "serving": {"kind": "provisioned", "arn": "pt1", "status": "InService"},
        "spec": {"baseModel": NOVA_MICRO},
    }
    message = legacy_notice("bmc", "run-1", record, "the foundation model is LEGACY")
    assert message.subject == "[bmc] Run legacy_base_model (base model legacy): run-1"
    assert message.attributes == {"status": "LEGACY_BASE_MODEL", "runId": "run-1"}
    assert message.body == (
        "Bedrock model customization run run-1: its foundation model is LEGACY\n"
        "\n"
        "the foundation model is LEGACY\n"
        "\n"
        "Custom model:   m1\n"
        "Serving:        provisioned pt1 (InService)\n"
        f"Foundation:     {NOVA_MICRO}\n"
        "\n"
        "This notice is sent once for this run.\n"
    )
    assert "Serving:        None None (None)" in legacy_notice("bmc", "run-1", {}, "m").body


def served(registry: Registry, run_id: str, base: str = NOVA_MICRO, **fields: Any) -> None:
    register(registry, run_id, status="IN_SERVICE", baseModel=base)
    if fields:
        registry.update(run_id, fields=fields)


END_OF_LIFE = datetime(2026, 9, 30, tzinfo=UTC)


def legacy(cloud: Cloud, *model_ids: str) -> None:
    import dataclasses

    cloud.sim.foundation_models = tuple(
        dataclasses.replace(m, lifecycle_status="LEGACY", end_of_life_time=END_OF_LIFE)
        if m.model_id in model_ids
        else m
        for m in cloud.sim.foundation_models
    )


def notify(cloud: Cloud, publish: Callable[[Message], str]) -> dict[str, int]:
    return notify_legacy_foundations(cloud.registry, BedrockOps(), prefix="bmc", publish=publish)


def test_legacy_bases_are_read_once_per_model_and_each_served_run_notified_once(cloud: Cloud) -> None:
    lite = "amazon.nova-lite-v1:0:300k"
    served(cloud.registry, "run-1")
    served(cloud.registry, "run-2")
    served(cloud.registry, "run-3", base=lite)
    served(cloud.registry, "run-4", legacyNotice={"at": "earlier"})  # notified before
    register(cloud.registry, "run-5")  # COMPLETED, not served
    legacy(cloud, NOVA_MICRO)
    sent: list[Message] = []

    def publish(message: Message) -> str:
        sent.append(message)
        return f"id-{len(sent)}"

    calls_before = cloud.sim.calls().count("GetFoundationModel")
    assert notify(cloud, publish) == {"served": 4, "legacy": 2, "notified": 2, "errors": 0}
    assert cloud.sim.calls().count("GetFoundationModel") - calls_before == 2  # Micro and Lite, once each
    assert sorted(m.attributes["runId"] for m in sent) == ["run-1", "run-2"]
    assert f"\nthe foundation model {NOVA_MICRO} is LEGACY: " in sent[0].body
    notice = cloud.run("run-1")["legacyNotice"]
    assert notice["model"] == NOVA_MICRO and notice["messageId"] in ("id-1", "id-2")
    assert notice["endOfLifeTime"].startswith("2026-09-30") and notice["at"]  # when, and until when
    assert sent[0].subject.startswith("[bmc] ")
    assert "legacyNotice" not in cloud.run("run-3")
    assert notify(cloud, publish) == {"served": 4, "legacy": 0, "notified": 0, "errors": 0}


def test_a_model_whose_lifecycle_cannot_be_read_is_an_error_and_the_others_go_on(
    cloud: Cloud, caplog: pytest.LogCaptureFixture
) -> None:
    lite, pro = "amazon.nova-lite-v1:0:300k", "amazon.nova-pro-v1:0:300k"
    served(cloud.registry, "run-1", base=lite)
    served(cloud.registry, "run-2")
    served(cloud.registry, "run-3", base=pro)
    legacy(cloud, lite, NOVA_MICRO, pro)
    cloud.sim.fail_next("GetFoundationModel", "ThrottlingException", count=2)  # Lite's and Micro's
    sent: list[Message] = []

    def publish(message: Message) -> str:
        sent.append(message)
        return "id"

    counts = notify(cloud, publish)
    assert counts == {"served": 3, "legacy": 1, "notified": 1, "errors": 2}
    assert [m.attributes["runId"] for m in sent] == ["run-3"]
    # The operator's log names each model whose lifecycle could not be read.
    unread = [r for r in caplog.records if r.getMessage() == "lifecycle not readable"]
    assert [r.model for r in unread] == [lite, NOVA_MICRO]  # type: ignore[attr-defined]


def test_a_notice_that_was_not_published_is_sent_again_next_time(
    cloud: Cloud, caplog: pytest.LogCaptureFixture
) -> None:
    for run_id in ("run-1", "run-2", "run-3"):
        served(cloud.registry, run_id)
    legacy(cloud, NOVA_MICRO)

    def fail_all_but_run_2(message: Message) -> str:
        if message.attributes["runId"] != "run-2":
            raise RuntimeError("SNS unavailable")
        return "id-2"

    assert notify(cloud, fail_all_but_run_2) == {"served": 3, "legacy": 3, "notified": 1, "errors": 2}
    assert "legacyNotice" not in cloud.run("run-1") and "legacyNotice" not in cloud.run("run-3")
    assert cloud.run("run-2")["legacyNotice"]["messageId"] == "id-2"
    unsent = [r for r in caplog.records if r.getMessage() == "legacy notice not published: it is retried"]
    assert sorted(r.runId for r in unsent) == ["run-1", "run-3"]  # type: ignore[attr-defined]
    assert notify(cloud, lambda message: f"id-{message.attributes['runId']}") == {
        "served": 3,
        "legacy": 2,
        "notified": 2,
        "errors": 0,
    }
    assert cloud.run("run-1")["legacyNotice"]["messageId"] == "id-run-1"


def test_a_run_another_invocation_noticed_meanwhile_is_skipped_and_the_next_still_notified(
    cloud: Cloud,
) -> None:
    for run_id in ("run-1", "run-2", "run-3"):
        served(cloud.registry, run_id)
    legacy(cloud, NOVA_MICRO)
    order = [str(r["runId"]) for r in cloud.registry.runs_with_status(["IN_SERVICE"])]
    sent: list[str] = []

    def publish(message: Message) -> str:
        sent.append(message.attributes["runId"])
        if len(sent) == 1:  # a concurrent invocation notices the next run first
            cloud.registry.mark_once(order[1], "legacyNotice", {"at": "concurrently"})
        return "id"

    assert notify(cloud, publish) == {"served": 3, "legacy": 3, "notified": 2, "errors": 0}
    assert sent == [order[0], order[2]]


# --- snapshots: what is copied and how ---------------------------------------------------------


def put(cloud: Cloud, body: bytes, key: str = SOURCE_KEY, bucket: str = DATASETS_BUCKET) -> dict[str, Any]:
    response: dict[str, Any] = cloud.s3.put_object(Bucket=bucket, Key=key, Body=body)
    return response


def target_of(response: dict[str, Any], body: bytes | None, **overrides: Any) -> SnapshotTarget:
    fields: dict[str, Any] = {
        "uri": SOURCE,
        "version_id": response.get("VersionId"),
        "etag": response["ETag"].strip('"'),
        "size": len(body) if body is not None else None,
        "sha256": hashlib.sha256(body).hexdigest() if body is not None else None,
        "snapshot_uri": SNAPSHOT,
    }
    fields.update(overrides)
    return SnapshotTarget(**fields)


def copier(s3: Any, **options: Any) -> Snapshotter:
    return Snapshotter(s3, run_id="run-1", kms_key_arn=None, **options)


def read(cloud: Cloud, key: str = SNAPSHOT_KEY, bucket: str = DATASETS_BUCKET) -> bytes:
    body: bytes = cloud.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def test_a_target_takes_only_real_values_from_the_recorded_entry() -> None:
    entry = {"uri": SOURCE, "versionId": "", "etag": "", "size": True, "sha256": "", "snapshotUri": SNAPSHOT}
    assert SnapshotTarget.from_entry(entry) == SnapshotTarget(SOURCE, None, None, None, None, SNAPSHOT)
    full = {**entry, "versionId": "v1", "etag": "e1", "size": 7, "sha256": "a" * 64}
    assert SnapshotTarget.from_entry(full) == SnapshotTarget(SOURCE, "v1", "e1", 7, "a" * 64, SNAPSHOT)


def test_the_recorded_entry_gains_the_copys_version_and_what_changed() -> None:
    unchanged = SnapshotResult("s1", "v1", False, "copy", True)
    assert unchanged.fields() == {
        "snapshotVersionId": "s1",
        "changedAfterValidation": False,
        "snapshotMethod": "copy",
        "checksumVerified": True,
    }
    changed = SnapshotResult("s1", None, True, "multipart", False, "f" * 64)
    assert changed.fields() == {
        "snapshotVersionId": "s1",
        "changedAfterValidation": True,
        "snapshotMethod": "multipart",
        "checksumVerified": False,
        "currentVersionId": None,  # deleted since
        "sha256": "f" * 64,
        "sha256From": "s3-copy-checksum",
    }


def test_a_source_unchanged_since_validation_is_copied_and_says_so(cloud: Cloud) -> None:
    body = b'{"a": 1}\n'
    result = copier(cloud.s3).snapshot(target_of(put(cloud, body), body))
    assert (result.method, result.changed, result.checksum_verified, result.copy_sha256) == (
        "copy",
        False,
        True,
        None,
    )
    assert "currentVersionId" not in result.fields()


def test_a_source_deleted_since_validation_is_still_copied_from_its_version(cloud: Cloud) -> None:
    body = b'{"a": 1}\n'
    source = put(cloud, body)
    cloud.s3.delete_object(Bucket=DATASETS_BUCKET, Key=SOURCE_KEY)  # a delete marker; the version stays
    result = copier(cloud.s3).snapshot(target_of(source, body))
    assert (result.changed, result.current_version_id) == (True, None)
    assert read(cloud) == body


def test_the_snapshot_says_what_it_is_a_copy_of_and_is_encrypted_with_the_data_key(cloud: Cloud) -> None:
    body = b'{"a": 1}\n'
    source = put(cloud, body)
    data_key = aws_client("kms").create_key(Description="snapshots")["KeyMetadata"]["Arn"]
    Snapshotter(cloud.s3, run_id="run-1", kms_key_arn=data_key).snapshot(target_of(source, body))
    head = cloud.s3.head_object(Bucket=DATASETS_BUCKET, Key=SNAPSHOT_KEY)
    assert head["Metadata"] == {
        "bmc-run-id": "run-1",
        "bmc-source-uri": SOURCE,
        "bmc-source-version-id": source["VersionId"],
        "bmc-source-etag": source["ETag"].strip('"'),
        "bmc-sha256": hashlib.sha256(body).hexdigest(),
    }
    assert head["ContentType"] == "application/jsonl"
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"], head["BucketKeyEnabled"]) == (
        "aws:kms",
        data_key,
        True,
    )


def test_a_snapshot_of_an_undigested_unversioned_source_names_only_what_is_known(cloud: Cloud) -> None:
    cloud.s3.create_bucket(Bucket="unversioned")
    body = b'{"a": 1}\n'
    source = put(cloud, body, bucket="unversioned")
    target = SnapshotTarget("s3://unversioned/data/source.jsonl", None, None, len(body), None, SNAPSHOT)
    result = copier(cloud.s3).snapshot(target)
    assert result.changed is False  # nothing was recorded to compare with
    head = cloud.s3.head_object(Bucket=DATASETS_BUCKET, Key=SNAPSHOT_KEY)
    assert head["Metadata"] == {"bmc-run-id": "run-1", "bmc-source-uri": "s3://unversioned/data/source.jsonl"}
    assert "ServerSideEncryption" not in head or head["ServerSideEncryption"] != "aws:kms"
    # The same key, unchanged, in a bucket without versions: its ETag says it is the validated one.
    etag_only = SnapshotTarget(
        "s3://unversioned/data/source.jsonl",
        None,
        source["ETag"].strip('"'),
        len(body),
        None,
        f"s3://{DATASETS_BUCKET}/snapshots/run-1/evaluation.jsonl",
    )
    assert copier(cloud.s3).snapshot(etag_only).changed is False


def test_the_recorded_version_is_copied_only_while_it_has_the_recorded_etag(cloud: Cloud) -> None:
    body = b'{"a": 1}\n'
    source = put(cloud, body)
    says_what_to_do = (
        r"can no longer be read \(PreconditionFailed\); "
        "the run does not train on any other bytes: start it again to validate the data as it is now$"
    )
    with pytest.raises(DatasetChanged, match=says_what_to_do):
        copier(cloud.s3).snapshot(target_of(source, body, etag="0" * 32))
    with pytest.raises(DatasetChanged, match=f"version {source['VersionId']}, the one validated"):
        copier(cloud.s3).snapshot(target_of(source, body, etag="0" * 32))
    with pytest.raises(DatasetChanged, match=f"ETag {'0' * 32}, the one validated"):
        copier(cloud.s3).snapshot(target_of(source, body, etag="0" * 32, version_id=None))
    assert "Versions" not in cloud.s3.list_object_versions(Bucket=DATASETS_BUCKET, Prefix="snapshots/")


def test_the_copy_decision_reads_the_size_of_the_recorded_version(cloud: Cloud) -> None:
    validated = b"x" * (6 * MIB)
    source = put(cloud, validated)
    put(cloud, b"small now\n")
    result = copier(cloud.s3, single_copy_limit=5 * MIB, part_size=5 * MIB).snapshot(target_of(source, None))
    assert result.method == "multipart"
    assert read(cloud) == validated


def test_an_object_of_exactly_the_single_copy_limit_is_copied_in_one_request(cloud: Cloud) -> None:
    body = b"x" * (5 * MIB)
    source = put(cloud, body)
    assert copier(cloud.s3, single_copy_limit=5 * MIB).snapshot(target_of(source, body)).method == "copy"
    assert SINGLE_COPY_LIMIT == 5 * 1024**3  # CopyObject copies up to 5 GB in one request
    assert Snapshotter(cloud.s3, run_id="r", kms_key_arn=None).single_copy_limit == SINGLE_COPY_LIMIT


def test_parts_cover_every_byte_once_from_the_recorded_version(
    cloud: Cloud, on_s3: Callable[[str, Hook], None]
) -> None:
    validated = bytes(range(256)) * (10 * MIB // 256) + b"tail"  # two parts of 5 MiB and the tail
    source = put(cloud, validated)
    put(cloud, b"newer\n")
    ranges: list[tuple[int, str]] = []
    on_s3(
        "UploadPartCopy",
        lambda params, **_: ranges.append((params["PartNumber"], params["CopySourceRange"])),
    )
    result = copier(cloud.s3, single_copy_limit=5 * MIB, part_size=5 * MIB).snapshot(
        target_of(source, validated)
    )
    assert sorted(ranges) == [
        (1, f"bytes=0-{5 * MIB - 1}"),
        (2, f"bytes={5 * MIB}-{10 * MIB - 1}"),
        (3, f"bytes={10 * MIB}-{10 * MIB + 3}"),
    ]
    assert read(cloud) == validated
    # A copy made part by part says what it is a copy of, as a single copy does: a retry reuses it.
    head = cloud.s3.head_object(Bucket=DATASETS_BUCKET, Key=SNAPSHOT_KEY)
    assert head["ContentType"] == "application/jsonl"
    assert head["Metadata"]["bmc-source-version-id"] == source["VersionId"]
    assert result.snapshot_version_id == head["VersionId"]
    # S3 gives no SHA-256 of a whole multipart copy: nothing is marked verified, no digest replaced.
    assert (result.checksum_verified, result.copy_sha256) == (False, None)
    assert "sha256" not in result.fields()
    again = copier(cloud.s3, single_copy_limit=5 * MIB, part_size=5 * MIB).snapshot(
        target_of(source, validated)
    )
    assert again.method == "existing"


def spans(parts: list[tuple[int, str]]) -> list[tuple[int, int]]:
    return [
        (int(first), int(last)) for _, r in parts for first, last in [r.removeprefix("bytes=").split("-")]
    ]


def test_a_copy_of_up_to_5_tib_takes_at_most_10000_parts_numbered_from_1() -> None:
    """UploadPartCopy's PartNumber is 1 to 10,000; parts are at least 5 MiB, at most 5 GiB."""
    ten_gb = copy_parts(10 * 1024**3, PART_SIZE)
    assert len(ten_gb) == 20 and spans(ten_gb)[0] == (0, PART_SIZE - 1)
    size = 5 * 1024**4  # S3's largest object
    parts = copy_parts(size, PART_SIZE)
    assert [number for number, _ in parts] == list(range(1, 10_001))
    found = spans(parts)
    assert found[0][0] == 0 and found[-1][1] == size - 1
    assert all(later[0] == earlier[1] + 1 for earlier, later in pairwise(found))
    assert all(5 * MIB <= last - first + 1 <= 5 * 1024**3 for first, last in found[:-1])
    assert copy_parts(5 * MIB, 5 * MIB) == [(1, f"bytes=0-{5 * MIB - 1}")]


def test_a_multipart_copy_that_fails_leaves_no_upload_behind(cloud: Cloud) -> None:
    validated = b"y" * (11 * MIB)
    source = put(cloud, validated)
    with pytest.raises(DatasetChanged):
        copier(cloud.s3, single_copy_limit=5 * MIB, part_size=5 * MIB).snapshot(
            target_of(source, validated, etag="0" * 32)
        )
    assert "Uploads" not in cloud.s3.list_multipart_uploads(Bucket=DATASETS_BUCKET)
    assert "Versions" not in cloud.s3.list_object_versions(Bucket=DATASETS_BUCKET, Prefix="snapshots/")


def concurrently(
    on_s3: Callable[[str, Hook], None], action: Callable[[], object], operation: str = "CopyObject"
) -> None:
    """Run ``action`` once, just before the next ``operation``: another attempt that got there first."""
    done: list[bool] = []

    def before(**_: Any) -> None:
        if not done:
            done.append(True)
            action()

    on_s3(operation, before)


def test_a_concurrent_attempts_copy_is_reused_and_anything_else_refused(
    cloud: Cloud, on_s3: Callable[[str, Hook], None]
) -> None:
    body = b'{"a": 1}\n'
    source = put(cloud, body)
    target = target_of(source, body)
    other = copier(aws_client("s3"))
    concurrently(on_s3, lambda: other.snapshot(target))
    result = copier(cloud.s3).snapshot(target)
    head = cloud.s3.head_object(Bucket=DATASETS_BUCKET, Key=SNAPSHOT_KEY)
    assert result == SnapshotResult(head["VersionId"], None, False, "existing", False)
    assert len(cloud.s3.list_object_versions(Bucket=DATASETS_BUCKET, Prefix="snapshots/")["Versions"]) == 1

    second = SnapshotTarget(
        SOURCE,
        source["VersionId"],
        source["ETag"].strip('"'),
        len(body),
        None,
        f"s3://{DATASETS_BUCKET}/snapshots/run-1/evaluation.jsonl",
    )
    concurrently(on_s3, lambda: put(cloud, b"foreign\n", key="snapshots/run-1/evaluation.jsonl"))
    with pytest.raises(SnapshotConflict):
        copier(cloud.s3).snapshot(second)


def test_a_copy_made_part_by_part_never_overwrites_what_a_concurrent_attempt_completed(
    cloud: Cloud, on_s3: Callable[[str, Hook], None]
) -> None:
    validated = b"z" * (6 * MIB)
    source = put(cloud, validated)
    target = target_of(source, validated)
    large = {"single_copy_limit": 5 * MIB, "part_size": 5 * MIB}
    other = copier(aws_client("s3"), **large)
    concurrently(on_s3, lambda: other.snapshot(target), "CompleteMultipartUpload")
    assert copier(cloud.s3, **large).snapshot(target).method == "existing"
    assert len(cloud.s3.list_object_versions(Bucket=DATASETS_BUCKET, Prefix="snapshots/")["Versions"]) == 1
    assert "Uploads" not in cloud.s3.list_multipart_uploads(Bucket=DATASETS_BUCKET)  # the loser's, aborted


def test_a_copy_is_this_runs_only_if_run_source_version_and_etag_all_match(cloud: Cloud) -> None:
    body = b'{"a": 1}\n'
    source = put(cloud, body)
    target = target_of(source, body)
    copier(cloud.s3).snapshot(target)
    for changed in (
        {"uri": f"s3://{DATASETS_BUCKET}/data/other.jsonl"},
        {"version_id": "another-version"},
        {"etag": "0" * 32},
    ):
        with pytest.raises(SnapshotConflict, match="is not this run's copy"):
            copier(cloud.s3).snapshot(target_of(source, body, **changed))
    with pytest.raises(SnapshotConflict):
        Snapshotter(cloud.s3, run_id="run-2", kms_key_arn=None).snapshot(target)


# --- snapshots: how S3's errors are read ---------------------------------------------------------


def stubbed() -> tuple[Any, Stubber]:
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return client, Stubber(client)


SMALL = SnapshotTarget(SOURCE, "v1", "e1", 10, None, SNAPSHOT)


def stub_until_copy(stubber: Stubber) -> None:
    stubber.add_client_error("head_object", "404", http_status_code=404)  # no snapshot yet
    stubber.add_response("head_object", {"VersionId": "v1", "ETag": '"e1"'})


@pytest.mark.parametrize("code", ["SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout"])
def test_a_copy_s3_could_not_do_now_is_retried_not_failed(code: str) -> None:
    client, stubber = stubbed()
    stub_until_copy(stubber)
    stubber.add_client_error("copy_object", code, http_status_code=503)
    with stubber, pytest.raises(SnapshotUnavailable, match=f"copying {SOURCE} to {SNAPSHOT}: {code}"):
        copier(client).snapshot(SMALL)


def test_an_error_without_a_code_is_read_by_its_http_status() -> None:
    client, stubber = stubbed()
    stub_until_copy(stubber)
    stubber.add_client_error("copy_object", "", http_status_code=503)
    with stubber, pytest.raises(SnapshotUnavailable, match=": 503"):
        copier(client).snapshot(SMALL)


def test_any_other_s3_error_is_the_runs_error_as_s3_gave_it() -> None:
    client, stubber = stubbed()
    stub_until_copy(stubber)
    stubber.add_client_error("copy_object", "AccessDenied", http_status_code=403)
    with stubber, pytest.raises(ClientError, match="AccessDenied"):
        copier(client).snapshot(SMALL)
    client, stubber = stubbed()
    stubber.add_client_error("head_object", "403", http_status_code=403)  # the snapshot key
    with stubber, pytest.raises(ClientError, match="403"):
        copier(client).snapshot(SMALL)
    client, stubber = stubbed()
    stubber.add_client_error("head_object", "404", http_status_code=404)
    stubber.add_client_error("head_object", "403", http_status_code=403)  # the source key
    with stubber, pytest.raises(ClientError, match="403"):
        copier(client).snapshot(SMALL)


def test_a_connection_failure_is_retried_not_failed(cloud: Cloud, on_s3: Callable[[str, Hook], None]) -> None:
    body = b'{"a": 1}\n'
    source = put(cloud, body)

    def unreachable(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://s3.us-east-1.amazonaws.com")

    on_s3("CopyObject", unreachable)
    with pytest.raises(SnapshotUnavailable, match=f"copying {SOURCE} to {SNAPSHOT}: Could not connect"):
        copier(cloud.s3).snapshot(target_of(source, body))


def test_a_copy_whose_s3_checksum_differs_from_the_validated_digest_is_refused() -> None:
    client, stubber = stubbed()
    stub_until_copy(stubber)
    copied = base64.b64encode(hashlib.sha256(b"other bytes").digest()).decode()
    stubber.add_response("copy_object", {"VersionId": "s1", "CopyObjectResult": {"ChecksumSHA256": copied}})
    digest = hashlib.sha256(b"validated").hexdigest()
    with (
        stubber,
        pytest.raises(DatasetChanged, match=f"has SHA-256 {hashlib.sha256(b'other bytes').hexdigest()}"),
    ):
        copier(client).snapshot(SnapshotTarget(SOURCE, "v1", "e1", 10, digest, SNAPSHOT))
    # Without a checksum from S3 nothing is verified, and nothing is invented.
    client, stubber = stubbed()
    stub_until_copy(stubber)
    stubber.add_response("copy_object", {"VersionId": "s1", "CopyObjectResult": {}})
    with stubber:
        result = copier(client).snapshot(SnapshotTarget(SOURCE, "v1", "e1", 10, digest, SNAPSHOT))
    assert (result.checksum_verified, result.copy_sha256, result.snapshot_version_id) == (False, None, "s1")


# --- purge ---------------------------------------------------------------------------------------


def test_a_purge_takes_delete_markers_too_and_reports_what_was_not_deleted(cloud: Cloud) -> None:
    put(cloud, b"1\n", key=SNAPSHOT_KEY)
    put(cloud, b"2\n", key=SNAPSHOT_KEY)
    cloud.s3.delete_object(Bucket=DATASETS_BUCKET, Key=SNAPSHOT_KEY)
    assert purge_snapshots(cloud.s3, DATASETS_BUCKET, "run-1") == 3
    assert purge_snapshots(cloud.s3, DATASETS_BUCKET, "run-1") == 0
    client, stubber = stubbed()
    stubber.add_response("list_object_versions", {"Versions": [{"Key": SNAPSHOT_KEY, "VersionId": "v1"}]})
    stubber.add_response(
        "delete_objects",
        {"Errors": [{"Key": SNAPSHOT_KEY, "VersionId": "v1", "Code": "AccessDenied", "Message": "denied"}]},
    )
    with (
        stubber,
        pytest.raises(
            SnapshotUnavailable,
            match=f"1 snapshot versions of run run-1 were not deleted: {SNAPSHOT_KEY}: AccessDenied",
        ),
    ):
        purge_snapshots(client, DATASETS_BUCKET, "run-1")


def test_a_purge_deletes_at_most_a_thousand_versions_per_request() -> None:
    """DeleteObjects takes at most 1,000 keys per request."""
    client, stubber = stubbed()
    versions = [{"Key": f"snapshots/run-1/validation-{i}.jsonl", "VersionId": "v"} for i in range(1001)]
    stubber.add_response("list_object_versions", {"Versions": versions})
    stubber.add_response(
        "delete_objects", {}, {"Bucket": BUCKET, "Delete": {"Objects": versions[:1000], "Quiet": True}}
    )
    stubber.add_response(
        "delete_objects", {}, {"Bucket": BUCKET, "Delete": {"Objects": versions[1000:], "Quiet": True}}
    )
    with stubber:
        assert purge_snapshots(client, BUCKET, "run-1") == 1001
    stubber.assert_no_pending_responses()


# --- submission ----------------------------------------------------------------------------------


def checked_spec(**overrides: Any) -> runspec.RunSpec:
    data = {
        "baseModel": "amazon.nova-micro-v1",
        "customizationType": "FINE_TUNING",
        "trainingData": f"s3://{BUCKET}/data/train.jsonl",
        "validationData": [f"s3://{BUCKET}/data/v1.jsonl", f"s3://{BUCKET}/data/v2.jsonl"],
        "hyperparameters": {"epochCount": 2},
        **overrides,
    }
    result = runspec.validate_spec(data)
    assert result.spec is not None, result.errors
    return result.spec


def snapshotted_lineage(validation: int = 2, **extra: Any) -> dict[str, Any]:
    def copied(name: str) -> dict[str, Any]:
        return {
            "snapshotAt": "t",
            "snapshotUri": f"s3://{BUCKET}/snapshots/run-1/{name}.jsonl",
            "sha256": "a" * 64,
        }

    return {
        "datasets": {
            "training": copied("training"),
            "validation": [copied(f"validation-{i + 1}") for i in range(validation)],
        },
        **extra,
    }


def test_a_job_trains_on_every_snapshot_and_on_the_recorded_parent() -> None:
    spec = checked_spec()
    inputs = job_inputs("run-1", {"lineage": snapshotted_lineage()}, spec, datasets_bucket=BUCKET)
    assert inputs.training_uri == f"s3://{BUCKET}/snapshots/run-1/training.jsonl"
    assert inputs.validation_uris == (
        f"s3://{BUCKET}/snapshots/run-1/validation-1.jsonl",
        f"s3://{BUCKET}/snapshots/run-1/validation-2.jsonl",
    )
    assert inputs.base_model_identifier == spec.base_model
    on_parent = job_inputs(
        "run-1", {"lineage": snapshotted_lineage(parentModelArn=MODEL_ARN)}, spec, datasets_bucket=BUCKET
    )
    assert on_parent.base_model_identifier == MODEL_ARN


def test_a_run_missing_any_snapshot_is_not_submitted() -> None:
    spec = checked_spec()
    for lineage in (
        snapshotted_lineage(validation=1),
        {"datasets": {"validation": snapshotted_lineage()["datasets"]["validation"]}},
        {},
    ):
        with pytest.raises(RunStateConflict, match="run run-1 has no snapshot of every dataset it validated"):
            job_inputs("run-1", {"lineage": lineage}, spec, datasets_bucket=BUCKET)


def test_lineage_tags_take_only_the_room_the_users_tags_leave() -> None:
    many = {f"team-{i}": "x" for i in range(46)}  # with the workflow's 2: two left of 50
    inputs = job_inputs(
        "run-1", {"lineage": snapshotted_lineage()}, checked_spec(tags=many), datasets_bucket=BUCKET
    )
    assert list(inputs.extra_tags) == ["bmc:trainingSha256", "bmc:snapshot"]
    assert inputs.extra_tags["bmc:snapshot"] == f"s3://{BUCKET}/snapshots/run-1/"
