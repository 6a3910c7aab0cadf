"""Two teams and an admin share one deployment, end to end in the local cloud: the app is
synthesized with `teams` and `admins`, and every request goes through the deployed API function
as a session of a team's role; manifests and console input go through the deployed workflow."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud import samples
from localcloud.cloud import LocalCloud
from localcloud.deploy import synthesize_templates

pytestmark = pytest.mark.e2e

ACCOUNT = "123456789012"
SUPPORT = f"arn:aws:sts::{ACCOUNT}:assumed-role/SupportML/alice"
FINANCE = f"arn:aws:sts::{ACCOUNT}:assumed-role/FinanceML/bob"
ADMIN = f"arn:aws:sts::{ACCOUNT}:assumed-role/PlatformAdmin/carol"
CONTEXT = {
    "teams": {
        "support": {
            "principals": [f"arn:aws:iam::{ACCOUNT}:role/ml/SupportML"],
            "datasetPrefixes": ["datasets/support/"],
        },
        "finance": {
            "principals": [f"arn:aws:iam::{ACCOUNT}:role/FinanceML"],
            "datasetPrefixes": ["datasets/finance/"],
        },
    },
    "admins": [f"arn:aws:iam::{ACCOUNT}:role/PlatformAdmin"],
}


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    return synthesize_templates(Path(tmp_path_factory.mktemp("teams-cdk.out")), CONTEXT)


@pytest.fixture
def teams_cloud(templates: tuple[dict[str, Any], str]) -> Iterator[LocalCloud]:
    body, prefix = templates
    with LocalCloud(body, prefix=prefix) as cloud:
        yield cloud


def request(training: str, name: str = "support bot") -> dict[str, Any]:
    return {
        "ModelName": name,
        "ModelType": "FINE_TUNING",
        "BaseModelId": "amazon.nova-micro-v1",
        "TrainingDataLocation": training,
        "HyperParameters": {"epochCount": "2"},
    }


def test_two_teams_share_a_deployment_through_the_api(teams_cloud: LocalCloud) -> None:
    cloud = teams_cloud
    support_data = cloud.upload("datasets/support/train.jsonl", samples.jsonl("conversation", 160))
    cloud.upload("datasets/finance/train.jsonl", samples.jsonl("conversation", 160))

    status, created = cloud.api("POST", "/custom-models", body=request(support_data), caller=SUPPORT)
    assert status == 202, created
    model_id = created["Id"]
    (execution,) = cloud.executions()
    assert cloud.wait_for_execution(execution["executionArn"])["status"] == "SUCCEEDED"
    status, model = cloud.api("GET", f"/custom-models/{model_id}", caller=SUPPORT)
    assert (status, model["Status"], model["Owner"]) == (200, "Complete", "support")
    assert cloud.run_record(model_id)["team"] == "team:support"  # type: ignore[index]

    # Finance cannot see, download, serve or delete it, nor use support's data.
    for method, path, query, body in (
        ("GET", f"/custom-models/{model_id}", None, None),
        ("GET", f"/custom-models/{model_id}/download", {"type": "training"}, None),
        ("PUT", f"/custom-models/{model_id}/throughput", None, {"ModelUnits": 1}),
        ("DELETE", f"/custom-models/{model_id}", None, None),
    ):
        assert cloud.api(method, path, query=query, body=body, caller=FINANCE)[0] == 404, (method, path)
    assert cloud.api("GET", "/custom-models", caller=FINANCE)[1]["Items"] == []
    status, refused = cloud.api("POST", "/custom-models", body=request(support_data, "copy"), caller=FINANCE)
    assert status == 400 and [e["field"] for e in refused["errors"]] == ["TrainingDataLocation"]
    assert cloud.bedrock.throughputs() == [] and cloud.bedrock.custom_models()

    # The admin sees every team's models and acts on them.
    status, listed = cloud.api("GET", "/custom-models", query={"team": "support"}, caller=ADMIN)
    assert [item["Id"] for item in listed["Items"]] == [model_id]
    status, download = cloud.api(
        "GET", f"/custom-models/{model_id}/download", query={"type": "training"}, caller=ADMIN
    )
    snapshot = f"s3://{cloud.deployment.datasets_bucket}/snapshots/{model_id}/training.jsonl"
    assert status == 200 and download["files"][0]["location"] == snapshot  # the data it was trained on
    assert cloud.api("DELETE", f"/custom-models/{model_id}", caller=ADMIN)[1]["Status"] == "Deleted"


def test_manifests_and_console_input_get_their_owner_from_where_they_came(teams_cloud: LocalCloud) -> None:
    cloud = teams_cloud
    cloud.upload("datasets/support/train.jsonl", samples.jsonl("conversation", 160))
    spec = {
        "baseModel": "amazon.nova-micro-v1",
        "customizationType": "FINE_TUNING",
        "trainingData": f"s3://{cloud.deployment.datasets_bucket}/datasets/support/train.jsonl",
        "hyperparameters": {"epochCount": 2},
    }
    # Finance's folder naming support's data, and a manifest outside every team's folder.
    cloud.put_manifest("finance/steal.json", spec)
    cloud.put_manifest("loose.json", spec)
    # A console user claiming to be the API, for the finance team.
    forged = {"spec": spec, "source": {"type": "api", "requestId": "x"}, "owner": {"team": "team:finance"}}
    cloud.start_execution(forged, name="console-forged")
    for execution in cloud.executions():
        assert cloud.wait_for_execution(execution["executionArn"])["status"] == "FAILED"
    records = {e["name"]: cloud.run_record(e["name"]) for e in cloud.executions()}
    by_code = {
        record["error"]["findings"][0]["code"]: record for record in records.values() if record is not None
    }
    steal = by_code["DATA_NOT_IN_TEAM_PREFIXES"]
    assert steal["team"] == "team:finance" and steal["error"]["findings"][0]["line"] is not None
    assert by_code["MANIFEST_OUTSIDE_TEAM"]["team"] == "platform"
    console = records["console-forged"]
    assert console is not None and console["source"] == {"type": "console"} and console["team"] == "platform"
    assert cloud.bedrock.jobs() == []
    # Finance sees its refused run; support sees none of them; the admin sees all three.
    finance = cloud.api("GET", "/custom-models", caller=FINANCE)[1]["Items"]
    assert [item["Id"] for item in finance] == [steal["runId"]]
    assert cloud.api("GET", "/custom-models", caller=SUPPORT)[1]["Items"] == []
    assert len(cloud.api("GET", "/custom-models", caller=ADMIN)[1]["Items"]) == 3
    notified = [json.dumps(n) for n in cloud.sent_notifications()]
    assert len(notified) == 3
