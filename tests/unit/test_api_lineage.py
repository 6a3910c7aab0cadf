"""The API's lineage: GET's Lineage, models built on earlier models, downloads and purgeData."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.api_support import FINANCE, api_cloud, call, complete, create_model
from tests.unit.workflow_support import DATASETS_BUCKET, Cloud


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    with api_cloud() as created:
        yield created


def snapshot_keys(cloud: Cloud, model_id: str) -> list[str]:
    listed = cloud.s3.list_object_versions(Bucket=DATASETS_BUCKET, Prefix=f"snapshots/{model_id}/")
    return sorted(v["Key"] for v in listed.get("Versions", []) + listed.get("DeleteMarkers", []))


def test_get_shows_which_bytes_and_which_base_made_the_model(cloud: Cloud) -> None:
    model_id = create_model()
    complete(cloud, model_id)
    status, model = call("GET", f"/custom-models/{model_id}")
    assert status == 200
    lineage = model["Lineage"]
    assert lineage["RootFoundationModel"] == "amazon.nova-micro-v1:0:128k"
    assert lineage["ParentRunId"] is None
    training, validation = lineage["Datasets"]
    recorded = cloud.run(model_id)["lineage"]["datasets"]["training"]
    assert training["Role"] == "training" and training["Uri"] == f"s3://{DATASETS_BUCKET}/data/train.jsonl"
    assert (training["VersionId"], training["Sha256"]) == (recorded["versionId"], recorded["sha256"])
    assert training["SnapshotUri"] == f"s3://{DATASETS_BUCKET}/snapshots/{model_id}/training.jsonl"
    assert validation["Role"] == "validation" and validation["Records"] == 4
    (step,) = lineage["Chain"]
    assert step["RunId"] == model_id and step["CustomModelArn"] == model["CustomModelArn"]
    assert step["HyperParameters"]["epochCount"] == "2" and step["JobArn"] == model["JobArn"]


def test_a_model_built_on_an_earlier_model_shows_the_chain_even_after_the_parent_is_deleted(
    cloud: Cloud,
) -> None:
    parent = create_model(ModelName="support base")
    complete(cloud, parent)
    parent_arn = cloud.run(parent)["customModelArn"]
    child = create_model(ModelName="support refined", BaseModelId=f"run:{parent}")
    assert cloud.run(child)["spec"]["parent"]["customModelArn"] == parent_arn
    complete(cloud, child)
    assert cloud.sim.job(cloud.run(child)["jobArn"]).parent_model_arn == parent_arn
    # Deleting the parent is allowed; the child's lineage keeps the parent's record.
    assert call("DELETE", f"/custom-models/{parent}")[1]["Status"] == "Deleted"
    _, model = call("GET", f"/custom-models/{child}")
    lineage = model["Lineage"]
    assert (lineage["ParentRunId"], lineage["ParentModelArn"]) == (parent, parent_arn)
    first, second = lineage["Chain"]
    assert (first["RunId"], first["Status"], first["CustomModelArn"]) == (parent, "DELETED", parent_arn)
    assert first["Datasets"][0]["SnapshotUri"].endswith(f"/snapshots/{parent}/training.jsonl")
    assert (second["RunId"], second["BaseModelId"]) == (child, parent_arn)
    # The same custom model named by its ARN, by a caller of the same team.
    status, _ = call("POST", "/custom-models", body=_request(parent_arn))
    assert status == 400  # the parent is Deleted now: nothing left to build on


def _request(base: str, data: str = "data/") -> dict[str, str]:
    return {
        "ModelName": "again",
        "ModelType": "FINE_TUNING",
        "BaseModelId": base,
        "TrainingDataLocation": f"s3://{DATASETS_BUCKET}/{data}train.jsonl",
    }


def test_another_teams_model_is_no_base(cloud: Cloud) -> None:
    parent = create_model()
    complete(cloud, parent)
    for base in (f"run:{parent}", cloud.run(parent)["customModelArn"]):
        status, body = call("POST", "/custom-models", body=_request(base, "finance/"), caller=FINANCE)
        assert status == 400 and [e["field"] for e in body["errors"]] == ["BaseModelId"]
        assert "of this run's owner" in body["errors"][0]["message"]


def test_delete_keeps_the_snapshots_unless_purge_data_is_asked(cloud: Cloud) -> None:
    model_id = create_model()
    complete(cloud, model_id)
    kept = snapshot_keys(cloud, model_id)
    assert kept == [f"snapshots/{model_id}/training.jsonl", f"snapshots/{model_id}/validation-1.jsonl"]
    assert call("DELETE", f"/custom-models/{model_id}")[1]["Status"] == "Deleted"
    assert snapshot_keys(cloud, model_id) == kept
    status, download = call("GET", f"/custom-models/{model_id}/download", query={"type": "training"})
    assert status == 200 and download["files"][0]["location"].endswith("/training.jsonl")
    status, model = call("DELETE", f"/custom-models/{model_id}", query={"purgeData": "true"})
    assert status == 200 and model["Lineage"] is None  # DELETE answers the record, not its chain
    assert snapshot_keys(cloud, model_id) == []
    purged_at = cloud.run(model_id)["lineage"]["snapshotsPurgedAt"]
    status, body = call("GET", f"/custom-models/{model_id}/download", query={"type": "training"})
    assert status == 404 and purged_at in body["message"]
    _, model = call("GET", f"/custom-models/{model_id}")
    assert model["Lineage"]["SnapshotsPurgedAt"] == purged_at
    assert model["Lineage"]["Datasets"][0]["Sha256"]  # what the data was stays on the record


def test_delete_with_purge_data_in_one_call(cloud: Cloud) -> None:
    model_id = create_model()
    complete(cloud, model_id)
    status, _ = call("DELETE", f"/custom-models/{model_id}", query={"purgeData": "true"})
    assert status == 200 and snapshot_keys(cloud, model_id) == []
