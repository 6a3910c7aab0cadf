"""The /custom-models API end to end in the local cloud: the synthesized API function starts
the synthesized workflow, which trains on the simulated Bedrock; then serve, download, delete."""

from __future__ import annotations

import pytest

from localcloud import samples
from localcloud.cloud import LocalCloud

pytestmark = pytest.mark.e2e


# No teams configured: the caller (the local operator, an IAM user) is a team of its own, whose
# data lives under its personal prefix.
PERSONAL = "datasets/123456789012/user/local-operator/"


def test_a_custom_model_from_request_to_deletion(cloud: LocalCloud) -> None:
    training = cloud.upload(f"{PERSONAL}train.jsonl", samples.jsonl("conversation", 160))
    validation = cloud.upload(f"{PERSONAL}validation.jsonl", samples.jsonl("conversation", 24))
    test_set = cloud.upload(f"{PERSONAL}test.jsonl", samples.jsonl("evaluation", 20))
    request = {
        "ModelName": "support bot",
        "ModelType": "FINE_TUNING",
        "BaseModelId": "amazon.nova-micro-v1",
        "Description": "Answers support tickets",
        "TrainingDataLocation": training,
        "ValidationDataLocation": validation,
        "HyperParameters": {"epochCount": "2", "learningRate": "0.00001"},
        "Evaluation": {"TestDataLocation": test_set, "Gate": {"Metric": "rougeL", "MinDelta": 0.0}},
    }
    headers = {"Idempotency-Key": "e2e-support-bot-1"}

    status, created = cloud.api("POST", "/custom-models", body=request, headers=headers)
    assert (status, created["Status"]) == (202, "Pending")
    model_id = created["Id"]
    assert cloud.api("POST", "/custom-models", body=request, headers=headers) == (202, created)
    (execution,) = cloud.executions()
    assert execution["name"] == model_id

    assert cloud.wait_for_execution(execution["executionArn"])["status"] == "SUCCEEDED"
    status, model = cloud.api("GET", f"/custom-models/{model_id}")
    assert (status, model["Status"], model["Source"]) == (200, "Complete", "api")
    assert model["MetricsSummary"]["epochs"] == 2
    assert model["CustomModelArn"] and model["JobArn"]
    # Served on demand only while it was evaluated: the deployment is gone again.
    assert model["Throughput"]["Kind"] == "on-demand" and model["Throughput"]["Status"] == "Deleted"
    assert cloud.bedrock.deployments(status="Active") == []
    evaluation = model["Evaluation"]
    assert evaluation["Records"]["total"] == 20 and evaluation["Gate"]["passed"] is True
    status, download = cloud.api("GET", f"/custom-models/{model_id}/download", query={"type": "evaluation"})
    assert status == 200
    assert [f["location"].rsplit("/", 1)[-1] for f in download["files"]] == [
        "evaluation.json",
        "predictions.jsonl",
    ]
    status, refused = cloud.api("POST", f"/custom-models/{model_id}/invoke", body={"Prompt": "Hi"})
    assert status == 409 and "throughput" in refused["message"]  # nothing serves it now
    assert [
        m["Id"] for m in cloud.api("GET", "/custom-models", query={"status": "Complete"})[1]["Items"]
    ] == [model_id]

    status, model = cloud.api("PUT", f"/custom-models/{model_id}/throughput", body={"ModelUnits": 1})
    assert (status, model["Throughput"]["Status"]) == (202, "Creating")
    cloud.clock.advance(cloud.bedrock.throughput_delay_seconds + 1)
    status, model = cloud.api("GET", f"/custom-models/{model_id}")
    assert model["Throughput"]["Status"] == "InService"
    status, answer = cloud.api(
        "POST", f"/custom-models/{model_id}/invoke", body={"Prompt": "How do I reset my password?"}
    )
    assert status == 200 and answer["Text"] and answer["ModelArn"] == model["Throughput"]["Arn"]

    status, download = cloud.api("GET", f"/custom-models/{model_id}/download", query={"type": "metrics"})
    assert status == 200
    assert download["files"][0]["location"].endswith(f"/reports/{model_id}/metrics.json")
    assert "X-Amz-Signature=" in download["url"]
    status, report = cloud.api("GET", f"/custom-models/{model_id}/download", query={"type": "report"})
    assert status == 200 and report["files"][0]["location"].endswith(f"/reports/{model_id}/report.html")

    assert cloud.api("DELETE", f"/custom-models/{model_id}")[0] == 409  # the throughput is still there
    status, model = cloud.api("DELETE", f"/custom-models/{model_id}/throughput")
    assert (status, model["Throughput"]["Status"]) == (200, "Deleted")
    assert cloud.bedrock.throughputs(status="InService") == []

    status, model = cloud.api("DELETE", f"/custom-models/{model_id}")
    assert (status, model["Status"]) == (200, "Deleted")
    assert cloud.bedrock.custom_models() == []
    status, model = cloud.api("GET", f"/custom-models/{model_id}")
    assert (status, model["Status"], model["WorkflowStatus"]) == (200, "Deleted", "DELETED")
    assert len(cloud.executions()) == 1  # the replayed POST started nothing


def test_invalid_requests_and_unknown_ids_through_the_deployed_function(cloud: LocalCloud) -> None:
    status, body = cloud.api("POST", "/custom-models", body={"ModelName": "x"})
    assert status == 400
    assert {e["field"] for e in body["errors"]} >= {"ModelType", "BaseModelId", "TrainingDataLocation"}
    status, body = cloud.api(
        "POST",
        "/custom-models",
        body={
            "ModelName": "outside",
            "ModelType": "FINE_TUNING",
            "BaseModelId": "amazon.nova-micro-v1",
            "TrainingDataLocation": "s3://another-bucket/train.jsonl",
        },
    )
    assert status == 400 and [e["field"] for e in body["errors"]] == ["TrainingDataLocation"]
    assert cloud.api("GET", "/custom-models/api-unknown-000000000000")[0] == 404
    assert cloud.executions() == []
