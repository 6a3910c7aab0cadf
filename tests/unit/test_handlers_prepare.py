"""prepare_run and start_run: how a run begins, from the console, the API or an S3 manifest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from bmc.errors import RunSpecInvalid
from bmc.handlers import prepare_run, start_run
from bmc.runspec import manifest_run_id

from tests.unit.workflow_support import (
    DATASETS_BUCKET,
    Cloud,
    event_bridge,
    execution_arn,
    invoke,
    local_cloud,
    spec,
    step,
)


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    with local_cloud(with_datasets=False) as created:
        yield created


def put_manifest(cloud: Cloud, key: str, body: str | bytes) -> dict[str, Any]:
    response = cloud.s3.put_object(Bucket=DATASETS_BUCKET, Key=key, Body=body)
    return {
        "bucket": DATASETS_BUCKET,
        "key": key,
        "versionId": response.get("VersionId"),
        "etag": response["ETag"],
    }


def test_a_console_spec_is_normalized_and_registered(cloud: Cloud) -> None:
    result = step("console-run-1", prepare_run.handler, spec(), None)
    assert result["runId"] == "console-run-1"
    assert result["spec"]["baseModel"] == "amazon.nova-micro-v1:0:128k"
    assert result["spec"]["serving"] == {
        "mode": "none",
        "modelUnits": 1,
        "commitment": "none",
        "ttlHours": None,
        "idleAction": "notify",
    }
    assert result["source"] == {"type": "console"}
    names = result["names"]
    assert names["jobName"].startswith("bmc-support-bot-") and names["jobName"].endswith("-job")
    assert names["customModelName"] == names["clientRequestToken"] + "-model"
    run = cloud.run("console-run-1")
    assert run["status"] == "PENDING"
    assert run["spec"] == result["spec"] and run["names"] == names
    assert run["executionArn"] == execution_arn("console-run-1")


def test_a_retried_prepare_run_is_harmless(cloud: Cloud) -> None:
    first = step("run-1", prepare_run.handler, spec(), None)
    again = step("run-1", prepare_run.handler, spec(), None)
    assert first == again
    assert [e["status"] for e in cloud.run("run-1")["statusHistory"]] == ["PENDING"]


def test_an_api_envelope_keeps_its_source(cloud: Cloud) -> None:
    state = {"spec": spec(runName=None), "source": {"type": "api", "requestId": "req-42"}}
    result = step("model-7", prepare_run.handler, state, None)
    assert result["source"] == {"type": "api", "requestId": "req-42"}
    assert result["spec"]["runName"] == "model-7"


def test_an_s3_manifest_is_read_at_its_version(cloud: Cloud) -> None:
    cloud.s3.put_bucket_versioning(Bucket=DATASETS_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    manifest = put_manifest(cloud, "manifests/Support Bot.json", json.dumps(spec(runName=None)))
    put_manifest(cloud, "manifests/Support Bot.json", json.dumps(spec(baseModel="amazon.nova-lite-v1")))
    run_id = manifest_run_id(DATASETS_BUCKET, manifest["key"], manifest["versionId"])
    result = step(run_id, prepare_run.handler, {"manifest": manifest}, None)
    assert result["spec"]["baseModel"] == "amazon.nova-micro-v1:0:128k"  # the version of the event
    assert result["spec"]["runName"] == "support-bot"
    assert result["source"]["uri"] == f"s3://{DATASETS_BUCKET}/manifests/Support Bot.json"
    assert result["source"]["versionId"] == manifest["versionId"]


def test_a_malformed_manifest_is_recorded_failed_then_refused(cloud: Cloud) -> None:
    text = '{\n  "baseModel": "amazon.nova-micro-v1",\n  "customizationType": "FINE_TUNING",\n'
    text += '  "trainingData": "s3://bmc-datasets-test/data/train.jsonl",\n  "serving": {"modelUnits": "two"}\n}\n'
    manifest = put_manifest(cloud, "manifests/bad.json", text)
    with pytest.raises(RunSpecInvalid) as raised:
        step("m-bad", prepare_run.handler, {"manifest": manifest}, None)
    uri = f"s3://{DATASETS_BUCKET}/manifests/bad.json"
    [finding] = raised.value.findings
    assert (finding.file, finding.line, finding.field, finding.code) == (
        uri,
        5,
        "serving.modelUnits",
        "WRONG_TYPE",
    )
    run = cloud.run("m-bad")
    assert run["status"] == "FAILED"
    assert run["error"]["error"] == "RunSpecInvalid"
    assert run["error"]["findings"][0]["line"] == 5
    assert run["source"]["uri"] == uri
    assert [e["status"] for e in run["statusHistory"]] == ["PENDING", "FAILED"]


def test_invalid_json_reports_its_line(cloud: Cloud) -> None:
    manifest = put_manifest(cloud, "manifests/broken.json", '{\n  "baseModel": "x",\n  oops\n}')
    with pytest.raises(RunSpecInvalid, match="line 3 INVALID_JSON"):
        step("m-broken", prepare_run.handler, {"manifest": manifest}, None)
    assert cloud.run("m-broken")["status"] == "FAILED"


def test_a_missing_manifest_is_a_refused_run(cloud: Cloud) -> None:
    manifest = {"bucket": DATASETS_BUCKET, "key": "manifests/gone.json", "versionId": None, "etag": None}
    with pytest.raises(RunSpecInvalid, match="MANIFEST_UNREADABLE"):
        step("m-gone", prepare_run.handler, {"manifest": manifest}, None)
    assert cloud.run("m-gone")["status"] == "FAILED"


def test_an_oversized_manifest_is_refused(cloud: Cloud) -> None:
    manifest = put_manifest(cloud, "manifests/huge.json", json.dumps({**spec(), "pad": "x" * 70_000}))
    with pytest.raises(RunSpecInvalid, match="MANIFEST_TOO_LARGE"):
        step("m-huge", prepare_run.handler, {"manifest": manifest}, None)


def test_a_console_run_name_that_cannot_name_resources_is_refused(cloud: Cloud) -> None:
    with pytest.raises(RunSpecInvalid, match=r"execution\.name INVALID_RUN_ID"):
        step("my run+1", prepare_run.handler, spec(), None)
    assert cloud.run("my run+1")["status"] == "FAILED"


def test_the_deployment_allow_list_applies(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_BASE_MODELS", "amazon.nova-lite-v1:0:300k")
    with pytest.raises(RunSpecInvalid, match="MODEL_NOT_ALLOWED"):
        step("run-1", prepare_run.handler, spec(), None)


def test_serving_defaults_come_from_the_deployment(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "DEFAULT_SERVING",
        json.dumps({"mode": "provisioned", "modelUnits": 2, "ttlHours": 12, "idleAction": "delete"}),
    )
    result = step("run-1", prepare_run.handler, spec(serving={"ttlHours": 3}), None)
    assert result["spec"]["serving"] == {
        "mode": "provisioned",
        "modelUnits": 2,
        "commitment": "none",
        "ttlHours": 3,
        "idleAction": "delete",
    }


# --- start_run ---------------------------------------------------------------------------------


def object_created(key: str, version: str | None = "v1") -> dict[str, Any]:
    obj: dict[str, Any] = {"key": key, "size": 200, "etag": "0123abcd", "sequencer": "00"}
    if version is not None:
        obj["version-id"] = version
    detail = {"version": "0", "bucket": {"name": DATASETS_BUCKET}, "object": obj, "reason": "PutObject"}
    return event_bridge("aws.s3", "Object Created", detail)


def test_a_manifest_starts_one_execution_named_after_it(cloud: Cloud) -> None:
    result = invoke(start_run.handler, object_created("manifests/Nova%20Micro%20support.json"))
    run_id = manifest_run_id(DATASETS_BUCKET, "manifests/Nova Micro support.json", "v1")
    assert result == {"started": True, "runId": run_id, "executionArn": result["executionArn"]}
    assert run_id.startswith("m-nova-micro-support-")
    execution = cloud.sfn.describe_execution(executionArn=result["executionArn"])
    assert json.loads(execution["input"]) == {
        "manifest": {
            "bucket": DATASETS_BUCKET,
            "key": "manifests/Nova Micro support.json",
            "versionId": "v1",
            "etag": "0123abcd",
        }
    }


def test_a_duplicate_delivery_starts_nothing(cloud: Cloud) -> None:
    event = object_created("manifests/run.json")
    first = invoke(start_run.handler, event)
    cloud.finished(first["executionArn"])  # a closed execution: StartExecution now refuses the name
    second = invoke(start_run.handler, event)
    assert second == {"started": False, "reason": "duplicate", "runId": first["runId"]}
    assert len(cloud.sfn.list_executions(stateMachineArn=cloud.state_machine_arn)["executions"]) == 1


@pytest.mark.parametrize("key", ["data/train.jsonl", "manifests/notes.txt", "other/manifests/x.json"])
def test_objects_that_are_not_manifests_are_ignored(cloud: Cloud, key: str) -> None:
    assert invoke(start_run.handler, object_created(key))["started"] is False
    assert cloud.sfn.list_executions(stateMachineArn=cloud.state_machine_arn)["executions"] == []
