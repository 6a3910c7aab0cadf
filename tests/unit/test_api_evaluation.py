"""The API's evaluation parts: ``Evaluation`` in POST /custom-models, the summary in GET, the
evaluation files in GET .../download, and POST .../invoke, on moto and the simulated Bedrock."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from bmc.aws.registry import REJECTED
from bmc.handlers import evaluation_stage

from localcloud import samples
from localcloud.bedrock import throttling
from tests.unit.api_support import ADMIN, FINANCE, SUPPORT, api_cloud, call, create_request
from tests.unit.test_evaluation_stage import evaluated, served
from tests.unit.workflow_support import ARTIFACTS_BUCKET, DATASETS_BUCKET, Cloud, step

TEST_SET = f"s3://{DATASETS_BUCKET}/data/test.jsonl"
JUDGE = "amazon.nova-pro-v1:0"


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    with (
        api_cloud() as created,
        mock.patch.dict(os.environ, {"EVALUATION_JUDGE_MODELS": JUDGE}),
    ):
        created.put_jsonl("data/train.jsonl", list(samples.conversation_records(16)))
        created.put_jsonl("data/test.jsonl", list(samples.evaluation_records(24)))
        yield created


def fields(body: dict[str, Any]) -> set[str]:
    return {error["field"] for error in body["errors"]}


# --- POST /custom-models with an Evaluation -------------------------------------------------------


def test_an_evaluation_maps_onto_the_run_spec_and_its_serving_is_in_the_estimate(cloud: Cloud) -> None:
    request = create_request(
        Evaluation={
            "TestDataLocation": TEST_SET,
            "MaxRecords": 20,
            "Metrics": ["rougeL", "tokenF1"],
            "Inference": {"MaxTokens": 128},
            "Judge": {"ModelId": JUDGE},
            "Gate": {"Metric": "rougeL", "MinDelta": 0.02},
        }
    )
    status, body = call("POST", "/custom-models", body=request)
    assert status == 202, body
    spec = cloud.run(body["Id"])["spec"]
    assert spec["serving"]["mode"] == "none"  # served only while it is evaluated
    evaluation = spec["evaluation"]
    assert evaluation["testData"] == TEST_SET and evaluation["maxRecords"] == 20
    assert evaluation["metrics"] == ["tokenF1", "rougeL"]  # canonical order
    assert evaluation["inference"]["maxTokens"] == 128 and evaluation["judge"]["modelId"] == JUDGE
    assert evaluation["gate"] == {"metric": "rougeL", "minDelta": 0.02, "onFail": "undeploy"}
    estimate = body["CostEstimate"]
    assert estimate["EvaluationServing"].startswith("temporary on-demand deployment: no hourly charge")


@pytest.mark.parametrize(
    ("evaluation", "expected"),
    [
        ({"TestDataLocation": "s3://somebody-elses-bucket/test.jsonl"}, "Evaluation.TestDataLocation"),
        ({"TestDataLocation": f"s3://{DATASETS_BUCKET}/finance/test.jsonl"}, "Evaluation.TestDataLocation"),
        ({"Judge": {"ModelId": "anthropic.claude-3-opus-20240229-v1:0"}}, "Evaluation.Judge.ModelId"),
        ({"CompareWithBase": False, "Gate": {"Metric": "rougeL"}}, "Evaluation.Gate"),
        ({"Metrics": ["bleu"], "Gate": {"Metric": "rougeL"}}, "Evaluation.Gate.Metric"),
        ({"Gate": {"Metric": "judge"}}, "Evaluation.Gate.Metric"),
    ],
)
def test_evaluation_problems_are_400_in_the_api_field_names(
    cloud: Cloud, evaluation: dict[str, Any], expected: str
) -> None:
    request = create_request(Evaluation={"TestDataLocation": TEST_SET, **evaluation})
    status, body = call("POST", "/custom-models", body=request)
    assert status == 400, body
    assert expected in fields(body), body


def test_the_gateways_bounds_hold_in_the_handler_too(cloud: Cloud) -> None:
    request = create_request(Evaluation={"TestDataLocation": TEST_SET, "Gate": {"Metric": "perplexity"}})
    status, body = call("POST", "/custom-models", body=request)
    assert status == 400 and fields(body) == {"Evaluation.Gate.Metric"}


# --- a served, evaluated model ----------------------------------------------------------------------


def evaluated_run(cloud: Cloud, run_id: str, **fields: Any) -> dict[str, Any]:
    """A run served on demand and evaluated (the workflow's functions, state by state)."""
    state = served(cloud, run_id, **fields)
    return evaluated(cloud, run_id, state)


def test_get_shows_the_evaluation_and_download_returns_its_files(cloud: Cloud) -> None:
    evaluated_run(cloud, "run-1", gate={"metric": "rougeL", "minDelta": 0.0, "onFail": "keep"})
    status, model = call("GET", "/custom-models/run-1", caller=ADMIN)
    assert status == 200, model
    evaluation = model["Evaluation"]
    assert evaluation["TestDataLocation"] == TEST_SET
    assert evaluation["Records"]["total"] == 24 and evaluation["FailedRecords"] == 0
    assert set(evaluation["Metrics"]) == {"tokenF1", "rougeL", "chrF"}
    rouge = evaluation["Metrics"]["rougeL"]
    assert rouge["delta"] == pytest.approx(rouge["custom"] - rouge["base"], abs=1e-3)
    assert evaluation["Gate"]["metric"] == "rougeL" and "undeploy" not in evaluation["Gate"]
    status, download = call(
        "GET", "/custom-models/run-1/download", query={"type": "evaluation"}, caller=ADMIN
    )
    assert status == 200, download
    assert [f["location"] for f in download["files"]] == [
        f"s3://{ARTIFACTS_BUCKET}/reports/run-1/evaluation.json",
        f"s3://{ARTIFACTS_BUCKET}/reports/run-1/predictions.jsonl",
    ]
    assert download["url"] == download["files"][0]["url"]


def test_a_model_without_an_evaluation_has_none_to_download(cloud: Cloud) -> None:
    status, body = call("POST", "/custom-models", body=create_request())
    assert status == 202
    model_id = body["Id"]
    assert call("GET", f"/custom-models/{model_id}")[1]["Evaluation"] is None
    status, _ = call("GET", f"/custom-models/{model_id}/download", query={"type": "evaluation"})
    assert status == 404


def test_a_rejected_model_reads_rejected(cloud: Cloud) -> None:
    state = evaluated_run(cloud, "run-1", gate={"metric": "rougeL", "minDelta": 0.9, "onFail": "undeploy"})
    step("run-1", evaluation_stage.handler, state, "evaluationOutcome", action="conclude")
    assert cloud.run("run-1")["status"] == REJECTED
    _, model = call("GET", "/custom-models/run-1", caller=ADMIN)
    assert (model["Status"], model["WorkflowStatus"]) == ("Rejected", "REJECTED")
    assert model["Evaluation"]["Gate"]["passed"] is False and model["Throughput"]["Status"] == "Deleted"
    status, listing = call("GET", "/custom-models", query={"status": "Rejected"}, caller=ADMIN)
    assert status == 200 and [item["Id"] for item in listing["Items"]] == ["run-1"]


# --- POST /custom-models/{id}/invoke ----------------------------------------------------------------


def test_invoke_answers_from_the_serving_the_record_names(cloud: Cloud) -> None:
    state = served(cloud, "run-1")
    arn = state["serving"]["arn"]
    status, answer = call(
        "POST",
        "/custom-models/run-1/invoke",
        body={"Prompt": "How do I reset my password?", "System": "Be brief", "MaxTokens": 64},
        caller=ADMIN,
    )
    assert status == 200, answer
    assert answer["Id"] == "run-1" and answer["ModelArn"] == arn and answer["Text"]
    assert answer["OutputTokens"] > 0 and answer["InputTokens"] > 0
    (call_made,) = cloud.sim.invocations(arn)
    assert call_made.operation == "Converse"


def test_invoke_is_owner_checked_and_refuses_what_is_not_served(cloud: Cloud) -> None:
    served(cloud, "run-1")
    body = {"Prompt": "Hello"}
    # Another team's caller cannot tell the model exists.
    assert call("POST", "/custom-models/run-1/invoke", body=body, caller=FINANCE)[0] == 404
    assert call("POST", "/custom-models/api-nothing-0/invoke", body=body, caller=SUPPORT)[0] == 404
    status, created = call("POST", "/custom-models", body=create_request())
    status, refused = call("POST", f"/custom-models/{created['Id']}/invoke", body=body)
    assert status == 409 and "not trained yet" in refused["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"Prompt": ""}, "Prompt"),
        ({"Prompt": "x" * 20_001}, "Prompt"),
        ({"Prompt": "Hi", "MaxTokens": 4096}, "MaxTokens"),
        ({"Prompt": "Hi", "Temperature": 2}, "Temperature"),
        (
            {"Prompt": "Hi", "ModelArn": "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/x"},
            "ModelArn",
        ),
    ],
)
def test_invoke_bounds_its_input(cloud: Cloud, body: dict[str, Any], field: str) -> None:
    served(cloud, "run-1")
    status, refused = call("POST", "/custom-models/run-1/invoke", body=body, caller=ADMIN)
    assert status == 400 and fields(refused) == {field}
    assert cloud.sim.invocations(operation="Converse") == []


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (throttling(), 429),
        ("ModelNotReadyException", 503),
        ("ModelTimeoutException", 504),
        ("ValidationException", 400),
        ("ModelErrorException", 502),
        ("AccessDeniedException", 502),
        ("ResourceNotFoundException", 409),
    ],
)
def test_bedrocks_refusals_map_onto_statuses_without_internals(cloud: Cloud, error: Any, status: int) -> None:
    served(cloud, "run-1")
    cloud.sim.fail_next("Converse", error)
    answered, body = call("POST", "/custom-models/run-1/invoke", body={"Prompt": "Hi"}, caller=ADMIN)
    assert answered == status, body
    assert "Simulated" not in body["message"]  # Bedrock's own message stays out (but for 400's field)
    assert len(cloud.sim.invocations(operation="Converse")) == 1  # one attempt: 29 s allow no second
