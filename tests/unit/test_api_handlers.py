"""The /custom-models API handler on moto and the simulated Bedrock: every endpoint and error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from bmc.aws.registry import Registry

from tests.unit.api_support import api_cloud, call, complete, create_model, create_request, submitted
from tests.unit.workflow_support import ARTIFACTS_BUCKET, DATASETS_BUCKET, Cloud


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    with api_cloud() as created:
        yield created


def executions(cloud: Cloud) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = cloud.sfn.list_executions(stateMachineArn=cloud.state_machine_arn)[
        "executions"
    ]
    return listed


def fields(body: dict[str, Any]) -> set[str]:
    return {error["field"] for error in body["errors"]}


# --- POST /custom-models -----------------------------------------------------------------------


def test_create_registers_the_run_and_starts_the_workflow(cloud: Cloud) -> None:
    status, body = call("POST", "/custom-models", body=create_request())
    assert status == 202
    assert body["Status"] == "Pending"
    model_id = body["Id"]
    assert model_id.startswith("api-support-bot-")
    record = cloud.run(model_id)
    assert record["status"] == "PENDING"
    assert record["source"]["type"] == "api" and record["source"]["requestId"]
    assert record["description"] == "Answers support tickets"
    assert record["request"] == create_request()
    spec = record["spec"]
    assert (spec["runName"], spec["baseModel"]) == ("support bot", "amazon.nova-micro-v1:0:128k")
    assert spec["validationData"] == [f"s3://{DATASETS_BUCKET}/data/validation.jsonl"]
    assert spec["hyperparameters"]["epochCount"] == "2"
    assert spec["serving"]["mode"] == "none"
    assert record["names"]["jobName"].endswith("-job")
    (execution,) = executions(cloud)
    assert execution["name"] == model_id
    started = cloud.sfn.describe_execution(executionArn=execution["executionArn"])
    assert record["executionArn"] == execution["executionArn"]
    payload = json.loads(started["input"])
    assert payload["spec"] == spec and payload["source"]["type"] == "api"
    estimate = body["CostEstimate"]
    assert (estimate["Currency"], estimate["TrainingPer1kTokens"], estimate["StoragePerModelMonth"]) == (
        "USD",
        0.001,
        1.95,
    )
    assert estimate["ThroughputPerModelUnitHour"] is None  # no sourced Nova throughput price
    assert any(f"reports/{model_id}/validation.json" in note for note in estimate["Notes"])


@pytest.mark.parametrize(
    ("request_body", "expected"),
    [
        (create_request(ModelName=None), {"ModelName"}),
        (create_request(ModelType="REINFORCEMENT"), {"ModelType"}),
        (create_request(TrainingDataLocation="train.jsonl"), {"TrainingDataLocation"}),
        (create_request(HyperParameters={"epochCount": 2}), {"HyperParameters.epochCount"}),
        (create_request(Colour="blue"), {"Colour"}),
    ],
)
def test_malformed_requests_are_400_naming_each_field(
    cloud: Cloud, request_body: dict[str, Any], expected: set[str]
) -> None:
    status, body = call("POST", "/custom-models", body=request_body)
    assert status == 400
    assert body["message"] == "Invalid request"
    assert fields(body) == expected
    assert executions(cloud) == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"HyperParameters": {"epochCount": "9"}}, "HyperParameters.epochCount"),
        ({"HyperParameters": {"epochs": "2"}}, "HyperParameters.epochs"),
        ({"BaseModelId": "acme.unknown-model"}, "BaseModelId"),
        ({"TrainingDataLocation": "s3://somebody-elses-bucket/train.jsonl"}, "TrainingDataLocation"),
        ({"ModelType": "DISTILLATION", "ValidationDataLocation": None}, "TeacherModelId"),
        ({"TeacherModelId": "amazon.nova-pro-v1:0"}, "TeacherModelId"),
    ],
)
def test_run_spec_problems_are_400_in_the_api_field_names(
    cloud: Cloud, overrides: dict[str, Any], expected: str
) -> None:
    status, body = call("POST", "/custom-models", body=create_request(**overrides))
    assert status == 400, body
    assert expected in fields(body)
    assert executions(cloud) == []


def test_a_body_that_is_not_json_is_400(cloud: Cloud) -> None:
    status, body = call("POST", "/custom-models", body="{not json")
    assert status == 400
    assert body["errors"]


def test_the_same_idempotency_key_and_body_return_the_same_model_and_one_run(cloud: Cloud) -> None:
    headers = {"Idempotency-Key": "3f1c2a9e-request-1"}
    first = call("POST", "/custom-models", body=create_request(), headers=headers)
    again = call("POST", "/custom-models", body=create_request(), headers=headers)
    assert first == again
    assert first[0] == 202
    assert [e["name"] for e in executions(cloud)] == [first[1]["Id"]]


def test_an_idempotency_key_reused_with_another_body_is_409(cloud: Cloud) -> None:
    headers = {"Idempotency-Key": "3f1c2a9e-request-1"}
    assert call("POST", "/custom-models", body=create_request(), headers=headers)[0] == 202
    status, body = call("POST", "/custom-models", body=create_request(Description="other"), headers=headers)
    assert status == 409
    assert "different request body" in body["message"]
    assert len(executions(cloud)) == 1


def test_without_a_key_every_post_is_a_new_model(cloud: Cloud) -> None:
    first, second = create_model(), create_model()
    assert first != second
    assert len(executions(cloud)) == 2


def test_an_invalid_idempotency_key_is_400(cloud: Cloud) -> None:
    status, body = call("POST", "/custom-models", body=create_request(), headers={"Idempotency-Key": "a b"})
    assert status == 400
    assert fields(body) == {"Idempotency-Key"}


# --- GET /custom-models and /custom-models/{id} -------------------------------------------------


def test_list_pages_newest_first_and_filters_by_status(cloud: Cloud) -> None:
    ids = [create_model(ModelName=f"model {n}") for n in range(3)]
    complete(cloud, ids[0])
    status, page = call("GET", "/custom-models", query={"limit": "2"})
    assert status == 200
    assert [item["Id"] for item in page["Items"]] == [ids[2], ids[1]]
    status, rest = call("GET", "/custom-models", query={"limit": "2", "nextToken": page["NextToken"]})
    assert [item["Id"] for item in rest["Items"]] == [ids[0]]
    assert rest["NextToken"] is None
    _, complete_only = call("GET", "/custom-models", query={"status": "Complete"})
    assert [(item["Id"], item["Status"]) for item in complete_only["Items"]] == [(ids[0], "Complete")]
    _, pending = call("GET", "/custom-models", query={"status": "Pending"})
    assert {item["Id"] for item in pending["Items"]} == set(ids[1:])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"status": "Running"}, "status"),
        ({"nextToken": "not-a-token"}, "nextToken"),
        ({"nextToken": "eyJydW5JZCI6ICJ4In0"}, "nextToken"),  # {"runId": "x"}: not a page position
    ],
)
def test_bad_list_parameters_are_400(cloud: Cloud, query: dict[str, str], field: str) -> None:
    status, body = call("GET", "/custom-models", query=query)
    assert status == 400
    assert fields(body) == {field}


def test_get_shows_the_record_and_unknown_ids_are_404(cloud: Cloud) -> None:
    model_id = create_model()
    complete(cloud, model_id)
    status, model = call("GET", f"/custom-models/{model_id}")
    assert status == 200
    assert (model["Id"], model["Status"], model["WorkflowStatus"]) == (model_id, "Complete", "COMPLETED")
    assert model["Request"]["ModelName"] == "support bot"
    assert model["Description"] == "Answers support tickets"
    assert model["JobArn"].startswith("arn:aws:bedrock:")
    assert model["CustomModelArn"].startswith("arn:aws:bedrock:")
    assert model["MetricsSummary"]["epochs"] == 2
    assert model["CreatedAt"] <= model["UpdatedAt"]
    assert model["Throughput"] is None and model["Error"] is None
    for unknown in ("api-nothing-000000000000", "not%20a%20run%20id"):
        status, body = call("GET", f"/custom-models/{unknown}")
        assert status == 404
        assert "not found" in body["message"]


def test_a_failed_run_shows_its_error(cloud: Cloud) -> None:
    model_id = create_model()
    state = submitted(cloud, model_id)
    cloud.sim.finish_job(state["job"]["jobArn"], "Failed")
    cloud.registry.transition(
        model_id, "FAILED", fields_if_absent={"error": {"error": "JobFailed", "cause": "Training diverged"}}
    )
    _, model = call("GET", f"/custom-models/{model_id}")
    assert model["Status"] == "Failed"
    assert model["Error"] == {"Error": "JobFailed", "Cause": "Training diverged"}


# --- GET /custom-models/{id}/download ----------------------------------------------------------


def test_download_gives_presigned_urls_of_the_models_own_objects(cloud: Cloud) -> None:
    model_id = create_model()
    status, _ = call("GET", f"/custom-models/{model_id}/download", query={"type": "metrics"})
    assert status == 404  # not available before the run collected its metrics
    status, training = call("GET", f"/custom-models/{model_id}/download", query={"type": "training"})
    assert status == 200
    assert training["url"].startswith(f"https://{DATASETS_BUCKET}.s3.amazonaws.com/data/train.jsonl?")
    assert "X-Amz-Expires=300" in training["url"] and training["expiresAt"].endswith("Z")
    complete(cloud, model_id)
    status, metrics = call("GET", f"/custom-models/{model_id}/download", query={"type": "metrics"})
    assert status == 200
    assert metrics["files"][0]["location"] == f"s3://{ARTIFACTS_BUCKET}/reports/{model_id}/metrics.json"
    # Once trained: the snapshots, the exact bytes the job read, even if the source changes later.
    cloud.s3.put_object(Bucket=DATASETS_BUCKET, Key="data/validation.jsonl", Body=b"overwritten\n")
    _, validation = call("GET", f"/custom-models/{model_id}/download", query={"type": "validation"})
    snapshots = f"s3://{DATASETS_BUCKET}/snapshots/{model_id}"
    assert [f["location"] for f in validation["files"]] == [f"{snapshots}/validation-1.jsonl"]
    _, training = call("GET", f"/custom-models/{model_id}/download", query={"type": "training"})
    assert training["url"].startswith(f"https://{DATASETS_BUCKET}.s3.amazonaws.com/snapshots/{model_id}/")


def test_download_gives_the_html_report_once_the_run_has_one(cloud: Cloud) -> None:
    model_id = create_model()
    assert call("GET", f"/custom-models/{model_id}/download", query={"type": "report"})[0] == 404
    key = f"reports/{model_id}/report.html"
    cloud.s3.put_object(Bucket=ARTIFACTS_BUCKET, Key=key, Body=b"<!DOCTYPE html>", ContentType="text/html")
    cloud.registry.update(model_id, fields={"reports.report": f"s3://{ARTIFACTS_BUCKET}/{key}"})
    status, report = call("GET", f"/custom-models/{model_id}/download", query={"type": "report"})
    assert status == 200 and report["type"] == "report"
    assert report["url"].startswith(f"https://{ARTIFACTS_BUCKET}.s3.amazonaws.com/{key}?")
    # A record pointing elsewhere (another run's prefix) is not followed.
    cloud.registry.update(
        model_id, fields={"reports.report": f"s3://{ARTIFACTS_BUCKET}/reports/other/report.html"}
    )
    assert call("GET", f"/custom-models/{model_id}/download", query={"type": "report"})[0] == 404


def test_download_refuses_other_types_missing_data_and_unknown_models(cloud: Cloud) -> None:
    model_id = create_model(ValidationDataLocation=None)
    status, body = call("GET", f"/custom-models/{model_id}/download", query={"type": "weights"})
    assert (status, fields(body)) == (400, {"type"})
    status, body = call("GET", f"/custom-models/{model_id}/download")
    assert (status, fields(body)) == (400, {"type"})
    assert call("GET", f"/custom-models/{model_id}/download", query={"type": "validation"})[0] == 404
    cloud.s3.delete_object(Bucket=DATASETS_BUCKET, Key="data/train.jsonl")
    assert call("GET", f"/custom-models/{model_id}/download", query={"type": "training"})[0] == 404
    assert call("GET", "/custom-models/api-nothing-0/download", query={"type": "training"})[0] == 404


# --- throughput ------------------------------------------------------------------------------------


def test_throughput_lifecycle(cloud: Cloud) -> None:
    model_id = create_model()
    status, body = call("PUT", f"/custom-models/{model_id}/throughput", body={"ModelUnits": 1})
    assert status == 409 and "Complete" in body["message"]  # still Pending
    complete(cloud, model_id)
    status, model = call("PUT", f"/custom-models/{model_id}/throughput", body={"ModelUnits": 2})
    assert status == 202
    assert model["Throughput"]["Status"] == "Creating" and model["Throughput"]["ModelUnits"] == 2
    (throughput,) = cloud.sim.throughputs()
    assert throughput.model_units == 2 and throughput.commitment_duration is None
    assert call("PUT", f"/custom-models/{model_id}/throughput", body={"ModelUnits": 1})[0] == 409
    cloud.sim.advance(cloud.sim.throughput_delay_seconds + 1)
    _, model = call("GET", f"/custom-models/{model_id}")
    assert (model["Status"], model["Throughput"]["Status"]) == ("Complete", "InService")
    status, model = call("DELETE", f"/custom-models/{model_id}/throughput")
    assert status == 200 and model["Throughput"]["Status"] == "Deleted"
    assert cloud.sim.throughputs(status="InService") == []
    assert call("DELETE", f"/custom-models/{model_id}/throughput")[0] == 200  # idempotent
    status, model = call("PUT", f"/custom-models/{model_id}/throughput", body={"ModelUnits": 1})
    assert status == 202  # a deleted throughput can be replaced


@pytest.mark.parametrize(
    "request_body", [{"ModelUnits": 0}, {"ModelUnits": "one"}, {}, {"ModelUnits": 1, "x": 1}]
)
def test_bad_throughput_requests_are_400(cloud: Cloud, request_body: dict[str, Any]) -> None:
    model_id = create_model()
    status, body = call("PUT", f"/custom-models/{model_id}/throughput", body=request_body)
    assert status == 400 and body["errors"]


def test_throughput_of_unknown_models_is_404(cloud: Cloud) -> None:
    assert call("PUT", "/custom-models/api-nothing-0/throughput", body={"ModelUnits": 1})[0] == 404
    assert call("DELETE", "/custom-models/api-nothing-0/throughput")[0] == 404


# --- DELETE /custom-models/{id} ------------------------------------------------------------------


def test_delete_needs_force_while_a_throughput_exists(cloud: Cloud) -> None:
    model_id = create_model()
    complete(cloud, model_id)
    call("PUT", f"/custom-models/{model_id}/throughput", body={"ModelUnits": 1})
    status, body = call("DELETE", f"/custom-models/{model_id}")
    assert status == 409 and "force=true" in body["message"]
    status, model = call("DELETE", f"/custom-models/{model_id}", query={"force": "true"})
    assert status == 200
    assert (model["Status"], model["Throughput"]["Status"]) == ("Deleted", "Deleted")
    assert cloud.sim.custom_models() == []
    assert call("DELETE", f"/custom-models/{model_id}") == (200, model)  # idempotent


def test_deleting_a_training_model_stops_its_job(cloud: Cloud) -> None:
    model_id = create_model()
    state = submitted(cloud, model_id)
    status, model = call("DELETE", f"/custom-models/{model_id}")
    assert status == 200 and model["Status"] == "Deleted"
    assert cloud.sim.job(state["job"]["jobArn"]).status in ("Stopping", "Stopped")
    statuses = [entry["status"] for entry in cloud.run(model_id)["statusHistory"]]
    assert statuses[-2:] == ["STOPPED", "DELETED"]


def test_unknown_models_are_404_on_delete(cloud: Cloud) -> None:
    assert call("DELETE", "/custom-models/api-nothing-0")[0] == 404


# --- errors never leak ---------------------------------------------------------------------------


def test_an_unexpected_error_is_500_with_only_a_message_and_the_request_id(cloud: Cloud) -> None:
    with mock.patch.object(Registry, "get", side_effect=RuntimeError("table arn:aws:dynamodb:secret")):
        status, body = call("GET", "/custom-models/api-anything-0")
    assert status == 500
    assert set(body) == {"message", "requestId"}
    assert "secret" not in json.dumps(body)


def test_unknown_routes_are_404(cloud: Cloud) -> None:
    assert call("GET", "/models")[0] == 404
