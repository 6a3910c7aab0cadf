"""Lineage records and views: datasets as validated, bases naming earlier runs, tags, chains."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from bmc import runspec
from bmc.aws.registry import Registry
from bmc.catalog.models import resolve_model
from bmc.lineage.chain import lineage_view
from bmc.lineage.datasets import RunDatasets, evaluation_test_data, recorded_datasets, snapshot_uris
from bmc.lineage.parents import initial_lineage, recorded_chain, registry_resolver
from bmc.lineage.tags import lineage_tags
from bmc.runspec.model import as_given
from bmc.tenancy import Owner

from tests.unit.workflow_support import local_cloud

BUCKET = "datasets-bucket"
DIGEST = "a" * 64
NOVA_MICRO = "amazon.nova-micro-v1:0:128k"
PARENT_ARN = f"arn:aws:bedrock:us-east-1:123456789012:custom-model/{NOVA_MICRO}/abcdefghijkl"


def source(uri: str, **fields: Any) -> dict[str, Any]:
    return {"uri": uri, "size": 100, "sha256": DIGEST, "versionId": "v1", "etag": "e1", **fields}


# --- datasets ------------------------------------------------------------------------------------


def test_every_file_of_a_run_gets_its_version_digest_and_snapshot() -> None:
    training, checks = f"s3://{BUCKET}/t.jsonl", [f"s3://{BUCKET}/v1.jsonl", f"s3://{BUCKET}/v2.jsonl"]
    stats = {
        "training": {"records": 12, "sources": [source(training)]},
        "validation": {"records": 9, "sources": [source(checks[0], records=4), source(checks[1], records=5)]},
    }
    datasets = RunDatasets.from_validation(
        stats, training=training, validation=checks, evaluation=None, bucket=BUCKET, run_id="run-1"
    ).to_dict()
    assert datasets["training"] == {
        "uri": training,
        "versionId": "v1",
        "etag": "e1",
        "size": 100,
        "records": 12,  # one file: the role's count
        "sha256": DIGEST,
        "snapshotUri": f"s3://{BUCKET}/snapshots/run-1/training.jsonl",
    }
    assert [v["records"] for v in datasets["validation"]] == [4, 5]
    assert [v["snapshotUri"].rsplit("/", 1)[1] for v in datasets["validation"]] == [
        "validation-1.jsonl",
        "validation-2.jsonl",
    ]
    assert "evaluation" not in datasets


def test_the_evaluation_test_set_is_a_dataset_of_the_run_too() -> None:
    test_set = f"s3://{BUCKET}/test.jsonl"
    assert evaluation_test_data({"evaluation": {"testData": test_set}}) == test_set
    assert evaluation_test_data({}) is None
    datasets = RunDatasets.from_validation(
        {"evaluation": {"sources": [source(test_set)]}},
        training=f"s3://{BUCKET}/t.jsonl",
        validation=[],
        evaluation=test_set,
        bucket=BUCKET,
        run_id="run-1",
    ).to_dict()
    assert datasets["evaluation"]["snapshotUri"] == f"s3://{BUCKET}/snapshots/run-1/evaluation.jsonl"
    assert datasets["training"]["sha256"] is None  # not read by this validator: nothing invented
    lineage = {"datasets": datasets}
    assert [role for role, _, _ in recorded_datasets(lineage)] == ["training", "evaluation"]
    assert snapshot_uris(lineage, "training") == []  # not copied yet


# --- tags ----------------------------------------------------------------------------------------


def test_lineage_tags_fill_the_room_bedrock_leaves_most_telling_first() -> None:
    lineage = {
        "parentRunId": "run-0",
        "datasets": {
            "training": {"sha256": DIGEST, "versionId": "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"},
            "validation": [{"sha256": "b" * 64}, {"sha256": "c" * 64}],
        },
    }
    tags = lineage_tags(lineage, run_id="run-1", datasets_bucket=BUCKET, room=10)
    assert tags == {
        "bmc:trainingSha256": DIGEST,
        "bmc:trainingVersionId": "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
        "bmc:snapshot": f"s3://{BUCKET}/snapshots/run-1/",
        "bmc:parentRunId": "run-0",
        "bmc:validationSha256": "b" * 64,
        "bmc:validation2Sha256": "c" * 64,
    }
    assert list(lineage_tags(lineage, run_id="run-1", datasets_bucket=BUCKET, room=2)) == [
        "bmc:trainingSha256",
        "bmc:trainingVersionId",
    ]
    # A value outside Bedrock's tag pattern stays in the registry only.
    odd = {"datasets": {"training": {"sha256": DIGEST, "versionId": "v1#2"}}}
    assert "bmc:trainingVersionId" not in lineage_tags(odd, run_id="run-1", datasets_bucket=BUCKET, room=10)


# --- bases naming earlier runs ------------------------------------------------------------------


@pytest.fixture
def registry() -> Iterator[Registry]:
    with local_cloud(with_datasets=False) as cloud:
        yield cloud.registry


def record_run(
    registry: Registry,
    run_id: str,
    *,
    team: str = "team:support",
    lineage: dict[str, Any] | None = None,
    **spec: Any,
) -> None:
    """Register a run of ``team`` (``lineage``: as recorded, else the spec's initial lineage)."""
    body = {"baseModel": NOVA_MICRO, "customizationType": "FINE_TUNING", **spec}
    registry.create_run(
        run_id,
        spec=body,
        source={"type": "console"},
        names=None,
        execution_arn=f"arn:aws:states:us-east-1:123456789012:execution:bmc-customization:{run_id}",
        owner=Owner(team),
        lineage=lineage if lineage is not None else initial_lineage(run_id, body),
    )


def complete(registry: Registry, run_id: str, model_arn: str, status: str = "COMPLETED") -> None:
    registry.update(run_id, fields={"status": status, "customModelArn": model_arn})


def spec_on(parent: str, **overrides: Any) -> dict[str, Any]:
    return {
        "baseModel": parent,
        "customizationType": "FINE_TUNING",
        "trainingData": f"s3://{BUCKET}/data/train.jsonl",
        **overrides,
    }


def check(registry: Registry, data: dict[str, Any], team: str = "team:support") -> runspec.SpecCheck:
    return runspec.validate_spec(data, resolve_parent=registry_resolver(registry, team))


def test_a_completed_run_of_the_same_team_is_customized_further(registry: Registry) -> None:
    record_run(registry, "run-0")
    complete(registry, "run-0", PARENT_ARN)
    for reference in ("run:run-0", PARENT_ARN):
        result = check(registry, spec_on(reference))
        assert result.ok, result.errors
        spec = result.spec
        assert spec is not None and spec.parent is not None
        assert spec.base_model == NOVA_MICRO  # the foundation model's hyperparameters and formats
        assert spec.base_model_identifier == PARENT_ARN
        assert (spec.parent.run_id, spec.parent.reference) == ("run-0", reference)
        assert [step["runId"] for step in spec.parent.chain] == ["run-0"]
        # The normalized spec reads back without the registry, and as the user wrote it.
        assert runspec.RunSpec.from_dict(spec.to_dict()) == spec
        assert as_given(spec.to_dict())["baseModel"] == reference


@pytest.mark.parametrize(
    ("setup", "reference", "code"),
    [
        ("other-team", "run:run-0", "PARENT_NOT_FOUND"),  # another team's run is not found
        ("none", "run:run-0", "PARENT_NOT_FOUND"),
        ("none", "run:../etc", "PARENT_NOT_FOUND"),
        ("failed", "run:run-0", "PARENT_NOT_READY"),
        ("training", "run:run-0", "PARENT_NOT_READY"),
        ("completed", PARENT_ARN.replace("abcdefghijkl", "zzzzzzzzzzzz"), "PARENT_NOT_FOUND"),
        ("completed", "arn:aws:bedrock:us-east-1:123456789012:custom-model/x", "PARENT_NOT_FOUND"),
    ],
)
def test_a_base_that_names_no_usable_earlier_model_is_a_located_finding(
    registry: Registry, setup: str, reference: str, code: str
) -> None:
    if setup != "none":
        record_run(registry, "run-0", team="team:finance" if setup == "other-team" else "team:support")
    if setup in ("completed", "other-team"):
        complete(registry, "run-0", PARENT_ARN)
    elif setup == "failed":
        complete(registry, "run-0", PARENT_ARN, status="FAILED")
    result = check(registry, spec_on(reference))
    assert [(f.field, f.code) for f in result.errors] == [("baseModel", code)]


def test_the_catalog_decides_which_chains_exist(registry: Registry) -> None:
    record_run(registry, "run-0")
    complete(registry, "run-0", PARENT_ARN)
    distill = spec_on(
        "run:run-0", customizationType="DISTILLATION", distillation={"teacherModel": "amazon.nova-pro-v1:0"}
    )
    (finding,) = check(registry, distill).errors
    assert (finding.field, finding.code) == ("baseModel", "CHAIN_NOT_SUPPORTED")
    assert "cannot be customized again with DISTILLATION" in finding.message
    assert "FINE_TUNING on a FINE_TUNING/DISTILLATION model" in finding.message
    cohere = "cohere.command-text-v14:7:4k"
    record_run(registry, "run-c", baseModel=cohere)
    complete(registry, "run-c", PARENT_ARN.replace(NOVA_MICRO, cohere))
    (finding,) = check(registry, spec_on("run:run-c")).errors
    assert finding.code == "CHAIN_NOT_SUPPORTED" and "allows no further customization" in finding.message
    assert resolve_model("amazon.titan-text-express-v1").customizes_from(
        "FINE_TUNING", "CONTINUED_PRE_TRAINING"
    )


def test_no_run_trains_on_another_runs_snapshot() -> None:
    for prefixes in (None, ("snapshots/",)):
        found = runspec.validate_spec(
            spec_on(NOVA_MICRO, trainingData=f"s3://{BUCKET}/snapshots/run-0/training.jsonl"),
            datasets_bucket=BUCKET,
            data_prefixes=prefixes,
        ).errors
        assert [(f.field, f.code) for f in found] == [("trainingData", "DATA_NOT_IN_TEAM_PREFIXES")]
        assert "snapshots" in found[0].message


def test_without_a_registry_a_run_base_is_named_not_guessed() -> None:
    (finding,) = runspec.validate_spec(spec_on("run:run-0")).errors
    assert (finding.field, finding.code) == ("baseModel", "PARENT_NOT_RESOLVED")


# --- chains ------------------------------------------------------------------------------------


def test_the_chain_runs_from_the_foundation_model_to_the_run_and_keeps_deleted_parents(
    registry: Registry,
) -> None:
    record_run(registry, "run-0")
    complete(registry, "run-0", PARENT_ARN)
    child_spec = check(registry, spec_on("run:run-0")).spec
    assert child_spec is not None
    child = child_spec.to_dict()
    registry.create_run(
        "run-1",
        spec=child,
        source={"type": "console"},
        names=None,
        execution_arn="arn:aws:states:us-east-1:123456789012:execution:bmc-customization:run-1",
        owner=Owner("team:support"),
        lineage=initial_lineage("run-1", child),
    )
    registry.update("run-0", fields={"status": "DELETED", "deletedAt": "2026-01-02T00:00:00.000Z"})
    record = registry.require("run-1")
    assert record["lineage"]["parentRunId"] == "run-0"
    assert record["lineage"]["rootFoundationModel"] == NOVA_MICRO
    assert [s["runId"] for s in recorded_chain("run-1", record)] == ["run-0", "run-1"]
    view = lineage_view("run-1", record, registry.get)
    first, second = view["chain"]
    assert (first["baseModel"], first["customModelArn"], first["status"]) == (
        NOVA_MICRO,
        PARENT_ARN,
        "DELETED",
    )
    assert first["deletedAt"] == "2026-01-02T00:00:00.000Z"
    assert second["baseModel"] == PARENT_ARN and second["hyperparameters"]["epochCount"] == "2"


def test_lineage_is_written_on_records_registered_before_lineage_existed(registry: Registry) -> None:
    registry.create_run(
        "run-old",
        spec=None,
        source={"type": "console"},
        names=None,
        execution_arn="arn:aws:states:us-east-1:123456789012:execution:bmc-customization:run-old",
        owner=Owner("platform"),
    )
    assert "lineage" not in registry.require("run-old")
    updated = registry.update_lineage("run-old", {"datasets": {"training": {"uri": "s3://b/k"}}})
    assert updated["lineage"] == {"datasets": {"training": {"uri": "s3://b/k"}}}
    assert [s["runId"] for s in recorded_chain("run-old", updated)] == ["run-old"]
