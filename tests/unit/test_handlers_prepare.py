"""prepare_run and start_run: how a run begins, from the console, the API or an S3 manifest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from bmc.errors import RunIdInUse, RunSpecInvalid
from bmc.handlers import prepare_run, start_run
from bmc.runspec import manifest_run_id
from bmc.tenancy import tenancy_from_config

from tests.unit.workflow_support import (
    ACCOUNT,
    DATASETS_BUCKET,
    Cloud,
    event_bridge,
    execution_arn,
    invoke,
    local_cloud,
    spec,
    step,
    task_event,
)


def _deep(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": value}
    return value


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


def test_an_input_shaped_like_the_api_envelope_is_console_input(cloud: Cloud) -> None:
    """Only the API's own record makes a run an API run: a console user cannot claim to be the API."""
    state = {"spec": spec(runName=None), "source": {"type": "api", "requestId": "req-42"}}
    with pytest.raises(RunSpecInvalid, match="unknown field 'spec'"):
        step("model-7", prepare_run.handler, state, None)
    run = cloud.run("model-7")
    assert run["source"] == {"type": "console"}
    assert (run["owner"]["team"], run["status"]) == ("platform", "FAILED")


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


# --- owners, untrusted input and reused run ids --------------------------------------------------

TEAMS = {
    "support": {"principals": [f"arn:aws:iam::{ACCOUNT}:role/SupportML"], "datasetPrefixes": ["data/"]},
    "finance": {"principals": [f"arn:aws:iam::{ACCOUNT}:role/FinanceML"], "datasetPrefixes": ["finance/"]},
}


@pytest.fixture
def teams(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENANCY", tenancy_from_config(TEAMS, []).to_environment())


def input_text(run_id: str, text: str) -> dict[str, Any]:
    """The payload the deployed PrepareRun state sends: the execution input as JSON text."""
    event = task_event(run_id, {})
    del event["state"]
    return {**event, "input": text}


def test_console_and_manifest_runs_record_their_owner(cloud: Cloud, teams: None) -> None:
    step("console-1", prepare_run.handler, spec(), None)
    assert (cloud.run("console-1")["team"], cloud.run("console-1")["owner"]) == (
        "platform",
        {"team": "platform", "principal": None},
    )
    manifest = put_manifest(cloud, "manifests/support/bot.json", json.dumps(spec()))
    step("m-support", prepare_run.handler, {"manifest": manifest}, None)
    assert cloud.run("m-support")["team"] == "team:support"


def test_a_forged_owner_or_source_in_the_spec_is_refused(cloud: Cloud) -> None:
    forged = {**spec(), "owner": {"team": "team:finance"}, "source": {"type": "api"}}
    with pytest.raises(RunSpecInvalid) as raised:
        step("console-1", prepare_run.handler, forged, None)
    assert {f.field for f in raised.value.findings} == {"owner", "source"}
    run = cloud.run("console-1")
    assert (run["source"], run["team"]) == ({"type": "console"}, "platform")


def test_a_manifest_of_another_bucket_or_outside_manifests_is_not_read(cloud: Cloud) -> None:
    cloud.s3.create_bucket(Bucket="someone-elses-bucket")
    cloud.s3.put_object(Bucket="someone-elses-bucket", Key="manifests/x.json", Body=json.dumps(spec()))
    put_manifest(cloud, "data/spec.json", json.dumps(spec()))
    for run_id, ref in (
        ("m-elsewhere", {"bucket": "someone-elses-bucket", "key": "manifests/x.json"}),
        ("m-data", {"bucket": DATASETS_BUCKET, "key": "data/spec.json"}),
    ):
        with (
            mock.patch.object(prepare_run, "_read_manifest") as read,
            pytest.raises(RunSpecInvalid, match="INVALID_MANIFEST_LOCATION"),
        ):
            step(run_id, prepare_run.handler, {"manifest": ref}, None)
        read.assert_not_called()
        assert cloud.run(run_id)["status"] == "FAILED"


def test_a_teams_manifest_may_only_name_its_teams_data(cloud: Cloud, teams: None) -> None:
    text = json.dumps(spec(trainingData=f"s3://{DATASETS_BUCKET}/finance/train.jsonl"), indent=2)
    manifest = put_manifest(cloud, "manifests/support/steal.json", text)
    with pytest.raises(RunSpecInvalid) as raised:
        step("m-steal", prepare_run.handler, {"manifest": manifest}, None)
    [finding] = raised.value.findings
    line = next(n for n, row in enumerate(text.splitlines(), 1) if '"trainingData"' in row)
    assert (finding.code, finding.field, finding.line) == ("DATA_NOT_IN_TEAM_PREFIXES", "trainingData", line)
    run = cloud.run("m-steal")
    assert (run["status"], run["team"]) == ("FAILED", "team:support")


def test_with_teams_a_manifest_outside_a_team_folder_is_refused(cloud: Cloud, teams: None) -> None:
    for key in ("manifests/bot.json", "manifests/audit/bot.json"):
        manifest = put_manifest(cloud, key, json.dumps(spec()))
        run_id = manifest_run_id(DATASETS_BUCKET, key, None)
        with pytest.raises(RunSpecInvalid, match="MANIFEST_OUTSIDE_TEAM"):
            step(run_id, prepare_run.handler, {"manifest": manifest}, None)
        assert cloud.run(run_id)["team"] == "platform"  # visible to admins only


def test_a_reused_run_id_leaves_the_earlier_run_alone(cloud: Cloud) -> None:
    """Step Functions frees an execution name 90 days after it closes, and a replaced state
    machine starts afresh: a new execution with an old run id must not touch the old run."""
    step("run-1", prepare_run.handler, spec(), None)
    cloud.registry.transition("run-1", "VALIDATING")
    cloud.registry.update(
        "run-1",
        fields={
            "jobArn": "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/x/abc",
            "serving": {
                "kind": "provisioned",
                "arn": "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/old",
            },
        },
    )
    before = cloud.run("run-1")
    later = "2026-04-02T00:00:00.000Z"
    with pytest.raises(RunIdInUse):
        step("run-1", prepare_run.handler, spec(baseModel="amazon.nova-lite-v1"), None, started_at=later)
    with pytest.raises(RunIdInUse):  # a refused spec must not mark the earlier run FAILED either
        step("run-1", prepare_run.handler, {"baseModel": "nope"}, None, started_at=later)
    assert cloud.run("run-1") == before
    # The same execution (a retried Lambda) is still itself.
    assert step("run-1", prepare_run.handler, spec(), None)["runId"] == "run-1"


def test_a_finished_record_without_a_start_time_is_not_claimed(cloud: Cloud) -> None:
    """Records written before executions were bound carry no start time: a new execution may
    not claim one that has ended."""
    step("run-1", prepare_run.handler, spec(), None)
    cloud.registry.transition("run-1", "FAILED")
    cloud.registry.update("run-1", remove=["executionStartedAt"])
    before = cloud.run("run-1")
    with pytest.raises(RunIdInUse):
        step("run-1", prepare_run.handler, spec(), None, started_at="2026-06-01T00:00:00.000Z")
    assert cloud.run("run-1") == before


@pytest.mark.parametrize(
    ("text", "code", "line"),
    [
        (
            '{\n  "baseModel": "amazon.nova-micro-v1",\n  "serving": {"modelUnits": ' + "7" * 10_000 + "}\n}",
            "INVALID_VALUE",
            3,
        ),
        ("[" * 100_000 + "]" * 100_000, "INVALID_JSON", None),
        (json.dumps({**spec(), "tags": {"a": _deep(40)}}), "INVALID_JSON", None),
        (
            json.dumps({**spec(), "hyperparameters": {"epochCount": "7" * 10_000}}),
            "INVALID_HYPERPARAMETER_TYPE",
            None,
        ),
    ],
    ids=["10000-digit integer", "nesting 100000 deep", "nesting 40 deep", "10000-digit string"],
)
def test_input_python_cannot_read_is_a_recorded_failure(
    cloud: Cloud, text: str, code: str, line: int | None
) -> None:
    with pytest.raises(RunSpecInvalid) as raised:
        invoke(prepare_run.handler, input_text("run-big", text))
    [finding] = raised.value.findings
    assert (finding.code, finding.line) == (code, line)
    run = cloud.run("run-big")
    assert run["status"] == "FAILED" and run["error"]["findings"][0]["code"] == code
    assert len(json.dumps(run)) < 20_000  # the record stays small, whatever the input held


def test_the_deployed_payload_parses_the_input_text(cloud: Cloud) -> None:
    result = invoke(prepare_run.handler, input_text("run-1", json.dumps(spec())))
    assert result["spec"]["baseModel"] == "amazon.nova-micro-v1:0:128k"


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


@pytest.mark.parametrize(
    ("detail", "missing"),
    [
        ({"bucket": {"name": DATASETS_BUCKET}}, "detail.object.key"),
        ({"bucket": {"name": DATASETS_BUCKET}, "object": {}}, "detail.object.key"),
        ({"object": {"key": "manifests/x.json"}}, "detail.bucket.name"),
    ],
)
def test_an_s3_event_without_its_fields_is_refused(
    cloud: Cloud, detail: dict[str, Any], missing: str
) -> None:
    result = invoke(start_run.handler, event_bridge("aws.s3", "Object Created", detail))
    assert result == {"started": False, "result": "refused", "reason": f"the event lacks {missing}"}
    assert cloud.sfn.list_executions(stateMachineArn=cloud.state_machine_arn)["executions"] == []
