"""The evaluation stage's functions, state by state, against a served run in the local cloud:
ValidateDatasets (the test set), PrepareEvaluation, the Map's children, SummarizeEvaluation,
ConcludeEvaluation and the notification."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from bmc.aws.registry import COMPLETED, IN_SERVICE, REJECTED
from bmc.errors import DatasetInvalid, EvaluationIncomplete, InvalidTaskInput, RunStateConflict
from bmc.handlers import (
    cleanup,
    evaluate_batch,
    evaluation_stage,
    execution_ended,
    notify,
    serve,
    summarize_evaluation,
    validate_datasets,
)

from localcloud import samples
from tests.unit.workflow_support import (
    ARTIFACTS_BUCKET,
    DATASETS_BUCKET,
    Cloud,
    aws_client,
    collected,
    invoke,
    local_cloud,
    prepared,
    status_change,
    step,
    trained,
)

TEST_DATA = f"s3://{DATASETS_BUCKET}/data/test.jsonl"
BATCH_TIMEOUT_SECONDS = 270  # constructs_lib.evaluation.BATCH_TIMEOUT


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    with local_cloud() as created:
        created.put_jsonl("data/train.jsonl", list(samples.conversation_records(16)))
        created.put_jsonl("data/test.jsonl", list(samples.evaluation_records(24)))
        yield created


def evaluation(**fields: Any) -> dict[str, Any]:
    return {"testData": TEST_DATA, "metrics": ["tokenF1", "rougeL", "chrF"], **fields}


def served(
    cloud: Cloud, run_id: str, *, serving: dict[str, Any] | None = None, **fields: Any
) -> dict[str, Any]:
    """A run with an evaluation, trained and served (PrepareRun to CheckServing)."""
    state = collected(
        cloud, run_id, serving=serving or {"mode": "on-demand"}, evaluation=evaluation(**fields)
    )
    state = step(run_id, serve.handler, state, "serving", action="start")
    cloud.sim.advance(600)
    served_state: dict[str, Any] = step(run_id, serve.handler, state, "serving", action="check")
    assert served_state["serving"]["ready"]
    return served_state


def items_of(cloud: Cloud, state: dict[str, Any]) -> list[dict[str, Any]]:
    body = cloud.s3.get_object(Bucket=ARTIFACTS_BUCKET, Key=state["evaluation"]["itemsKey"])["Body"].read()
    items: list[dict[str, Any]] = json.loads(body)
    return items


def evaluated(
    cloud: Cloud,
    run_id: str,
    state: dict[str, Any],
    *,
    skip: int | None = None,
    before_batch: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """PrepareEvaluation, then each batch as the Distributed Map delivers it, then the summary."""
    state = step(run_id, evaluation_stage.handler, state, "evaluation", action="prepare")
    size = state["evaluation"]["recordsPerBatch"]
    items = items_of(cloud, state)
    for number, first in enumerate(range(0, len(items), size)):
        if before_batch is not None:
            before_batch(number)
        if number != skip:
            batch = {"BatchInput": state["evaluation"]["batch"], "Items": items[first : first + size]}
            invoke(evaluate_batch.handler, batch, timeout_seconds=BATCH_TIMEOUT_SECONDS)
    return dict(step(run_id, summarize_evaluation.handler, state, "evaluationSummary"))


def test_the_test_set_becomes_the_maps_items_and_is_estimated_before_spending(cloud: Cloud) -> None:
    state = trained(cloud, "run-1", serving={"mode": "none"}, evaluation=evaluation(maxRecords=20))
    estimate = state["validation"]["evaluation"]
    assert estimate["records"] == 20 and estimate["model_calls"] == {"custom": 20, "base": 20}
    assert estimate["temporary_serving"]["mode"] == "on-demand"
    record = cloud.registry.require("run-1")
    assert record["evaluation"] == {
        "testData": TEST_DATA,
        "records": 20,
        "truncated": True,
        "itemsKey": "evaluations/run-1/items.json",
    }
    items = json.loads(
        cloud.s3.get_object(Bucket=ARTIFACTS_BUCKET, Key="evaluations/run-1/items.json")["Body"].read()
    )
    assert [item["index"] for item in items] == list(range(20))
    assert set(items[0]) == {"index", "prompt", "referenceResponse", "category"}
    report = cloud.read_json(record["reports"]["validation"])
    assert report["evaluation"]["warnings"][0]["code"] == "RECORDS_NOT_EVALUATED"


def test_a_bad_test_set_fails_validation_with_its_lines_and_writes_no_items(cloud: Cloud) -> None:
    records = list(samples.evaluation_records(5))
    records[2] = {"prompt": "How?", "referenceResponse": ""}
    cloud.put_jsonl("data/test.jsonl", records)
    state = prepared("run-1", evaluation=evaluation())
    with pytest.raises(DatasetInvalid, match=r"test\.jsonl:3 referenceResponse EMPTY_VALUE"):
        step("run-1", validate_datasets.handler, state, "validation")
    listed = cloud.s3.list_objects_v2(Bucket=ARTIFACTS_BUCKET, Prefix="evaluations/")
    assert "Contents" not in listed
    report = cloud.read_json(cloud.registry.require("run-1")["reports"]["validation"])
    assert report["evaluation"]["errors"][0]["line"] == 3


def test_an_evaluation_compares_the_served_model_with_its_base_and_keeps_it_in_service(cloud: Cloud) -> None:
    state = served(cloud, "run-1", gate={"metric": "rougeL", "minDelta": 0.05})
    state = evaluated(cloud, "run-1", state)
    summary, decision = state["evaluationSummary"]["summary"], state["evaluationSummary"]["gate"]
    assert summary["records"] == {"total": 24, "scored": 24, "failed": {"custom": 0, "base": 0, "any": 0}}
    assert summary["metrics"]["rougeL"]["ci95"][0] > 0 and decision["passed"]
    outcome = step("run-1", evaluation_stage.handler, state, "evaluationOutcome", action="conclude")
    assert outcome["evaluationOutcome"]["status"] == IN_SERVICE
    assert not outcome["evaluationOutcome"]["servingDeleted"]
    record = cloud.registry.require("run-1")
    assert [entry["status"] for entry in record["statusHistory"]][-3:] == [
        "IN_SERVICE",
        "EVALUATING",
        "IN_SERVICE",
    ]
    assert record["evaluation"]["summary"]["metrics"]["rougeL"] == summary["metrics"]["rougeL"]
    assert record["reports"]["evaluation"] == f"s3://{ARTIFACTS_BUCKET}/reports/run-1/evaluation.json"
    assert [d.status for d in cloud.sim.deployments()] == ["Active"]
    metrics = aws_client("cloudwatch").list_metrics(Namespace="BedrockModelCustomization")["Metrics"]
    scores = {
        tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"] if d["Name"] in ("Metric", "Model")))
        for m in metrics
        if m["MetricName"] == "EvaluationScore"
    }
    assert (("Metric", "rougeL"), ("Model", "base")) in scores and (
        ("Metric", "rougeL"),
        ("Model", "custom"),
    ) in scores

    step("run-1", notify.handler, outcome, "notification")
    (message,) = cloud.notifications()
    assert "Evaluation (custom model vs its base):" in message["Message"]
    assert "rougeL" in message["Message"] and "gate PASSED" in message["Message"]


@pytest.mark.parametrize(("on_fail", "deleted"), [("undeploy", True), ("keep", False)])
def test_a_failed_gate_rejects_the_run(cloud: Cloud, on_fail: str, deleted: bool) -> None:
    state = served(cloud, "run-1", gate={"metric": "rougeL", "minDelta": 0.9, "onFail": on_fail})
    state = evaluated(cloud, "run-1", state)
    assert not state["evaluationSummary"]["gate"]["passed"]
    state = step("run-1", evaluation_stage.handler, state, "evaluationOutcome", action="conclude")
    assert state["evaluationOutcome"] == {
        "status": REJECTED,
        "servingDeleted": deleted,
        "gate": state["evaluationSummary"]["gate"],
    }
    assert [d.status for d in cloud.sim.deployments()] == ([] if deleted else ["Active"])
    record = cloud.registry.require("run-1")
    assert record["status"] == REJECTED and "less than the required" in record["statusHistory"][-1]["detail"]
    step("run-1", notify.handler, state, "notification")
    (message,) = cloud.notifications()
    assert message["Subject"].startswith("[bmc] Run rejected (EvaluationGateFailed)")
    assert "less than the required +0.9" in message["Message"]
    assert message["MessageAttributes"]["status"]["Value"] == REJECTED


def test_a_run_without_serving_is_served_for_its_evaluation_only(cloud: Cloud) -> None:
    state = served(cloud, "run-1", serving={"mode": "none"})
    record = cloud.registry.require("run-1")
    assert record["serving"]["temporary"] and record["serving"]["kind"] == "on-demand"
    state = evaluated(cloud, "run-1", state)
    state = step("run-1", evaluation_stage.handler, state, "evaluationOutcome", action="conclude")
    assert state["evaluationOutcome"]["status"] == COMPLETED and state["evaluationOutcome"]["servingDeleted"]
    assert cloud.sim.deployments() == []
    assert cloud.registry.require("run-1")["serving"]["status"] == "Deleted"
    # Notify finds the run COMPLETED already: it leaves the status alone.
    step("run-1", notify.handler, state, "notification")
    assert cloud.registry.require("run-1")["status"] == COMPLETED


def test_a_judge_rates_both_models_and_every_record_is_reported(cloud: Cloud) -> None:
    state = served(
        cloud,
        "run-1",
        metrics=["tokenF1", "rougeL", "bleu", "chrF"],
        systemPrompt=samples.SYSTEM_PROMPT,
        judge={"modelId": "amazon.nova-pro-v1:0"},
        gate={"metric": "judge", "minDelta": 0.1},
        toleratedFailurePercentage=10,
    )

    def fail_first_record_of_second_batch(number: int) -> None:
        if number == 1:  # its first call (custom model) fails for good
            cloud.sim.fail_next("Converse", "ModelErrorException", "the model could not answer")

    state = evaluated(cloud, "run-1", state, before_batch=fail_first_record_of_second_batch)
    summary, decision = state["evaluationSummary"]["summary"], state["evaluationSummary"]["gate"]
    size = state["evaluation"]["recordsPerBatch"]
    assert size == 4  # four calls per record: two answers and two ratings
    assert summary["records"] == {"total": 24, "scored": 23, "failed": {"custom": 1, "base": 0, "any": 1}}
    for name in ("tokenF1", "rougeL", "bleu", "chrF", "judge"):
        entry = summary["metrics"][name]
        assert entry["custom"] > entry["base"] and entry["ci95"][0] > 0, name
    assert decision["passed"] and decision["metric"] == "judge"
    assert cloud.sim.invocations("amazon.nova-pro-v1:0")
    report = cloud.read_json(f"s3://{ARTIFACTS_BUCKET}/reports/run-1/evaluation.json")
    assert report["failures"]["byCode"]["custom"] == {"ModelErrorException": 1}
    assert set(report["categories"]) == {"maintenance", "security", "setup", "wifi"}
    assert report["judge"]["judged"] == 23
    lines = cloud.s3.get_object(Bucket=ARTIFACTS_BUCKET, Key="reports/run-1/predictions.jsonl")["Body"].read()
    rows = [json.loads(line) for line in lines.splitlines()]
    assert [row["index"] for row in rows] == list(range(24))
    assert rows[size]["errors"]["custom"]["error"] == "ModelErrorException"
    assert rows[0]["scores"]["custom"]["rougeL"] >= 0 and rows[0]["judge"]["custom"] is not None


def test_a_batch_stops_starting_records_its_function_could_not_finish(cloud: Cloud) -> None:
    state = served(cloud, "run-1", judge={"modelId": "amazon.nova-pro-v1:0"}, toleratedFailurePercentage=100)
    state = step("run-1", evaluation_stage.handler, state, "evaluation", action="prepare")
    batch = {"BatchInput": state["evaluation"]["batch"], "Items": items_of(cloud, state)[:4]}
    result = invoke(evaluate_batch.handler, batch, timeout_seconds=60)  # less than one judged record needs
    assert result["records"] == 4 and result["failed"] == {"custom": 4, "base": 4}
    assert cloud.sim.invocations() == []
    body = cloud.s3.get_object(Bucket=ARTIFACTS_BUCKET, Key=result["key"])["Body"].read()
    assert {json.loads(line)["custom"]["error"] for line in body.splitlines()} == {"BatchOutOfTime"}


def test_failed_records_are_counted_and_held_to_the_tolerated_share(cloud: Cloud) -> None:
    state = served(cloud, "run-1")
    cloud.sim.fail_next("Converse", "ModelErrorException", "the model could not answer")
    with pytest.raises(
        EvaluationIncomplete, match=r"1 of 24 evaluation records failed, more than the tolerated 0%"
    ):
        evaluated(cloud, "run-1", state)
    report = cloud.read_json(f"s3://{ARTIFACTS_BUCKET}/reports/run-1/evaluation.json")
    assert report["failures"]["byCode"]["custom"] == {"ModelErrorException": 1}
    assert cloud.registry.require("run-1")["evaluation"]["failedRecords"] == 1


def test_a_batch_that_never_reported_is_not_evaluated_with_its_childs_error(cloud: Cloud) -> None:
    state = served(cloud, "run-2", toleratedFailurePercentage=50)
    # What the Map's ResultWriter records of a failed child execution (see localcloud.patches).
    prefix = "evaluations/run-2/results/run-id"
    failed = [
        {
            "Error": "Sandbox.Timedout",
            "Cause": "Task timed out",
            "Input": json.dumps({"Items": [{"index": 6}]}),
        }
    ]
    cloud.s3.put_object(Bucket=ARTIFACTS_BUCKET, Key=f"{prefix}/FAILED_0.json", Body=json.dumps(failed))
    manifest = {
        "ResultFiles": {"FAILED": [{"Key": f"{prefix}/FAILED_0.json"}], "SUCCEEDED": [], "PENDING": []}
    }
    cloud.s3.put_object(Bucket=ARTIFACTS_BUCKET, Key=f"{prefix}/manifest.json", Body=json.dumps(manifest))
    state["evaluationRun"] = {
        "ResultWriterDetails": {"Bucket": ARTIFACTS_BUCKET, "Key": f"{prefix}/manifest.json"}
    }
    state = evaluated(cloud, "run-2", state, skip=1)
    records = state["evaluationSummary"]["summary"]["records"]
    assert records["total"] == 24 and records["failed"]["any"] == 6  # the second batch: records 6 to 11
    rows = cloud.s3.get_object(Bucket=ARTIFACTS_BUCKET, Key="reports/run-2/predictions.jsonl")["Body"].read()
    by_index = {row["index"]: row for row in map(json.loads, rows.splitlines())}
    assert by_index[6]["errors"]["custom"]["message"].endswith("Sandbox.Timedout: Task timed out")
    assert by_index[7]["errors"]["custom"]["error"] == "NotEvaluated"
    assert by_index[7]["prompt"] == items_of(cloud, state)[7]["prompt"]  # reported with what it asked


def test_the_stage_builds_its_targets_from_the_registry_not_the_state(cloud: Cloud) -> None:
    state = served(cloud, "run-1")
    crafted = {
        **state,
        "serving": {
            **state["serving"],
            "arn": "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/other",
        },
        "spec": {**state["spec"], "baseModel": "amazon.nova-pro-v1:0:300k"},
    }
    prepared_state = step("run-1", evaluation_stage.handler, crafted, "evaluation", action="prepare")
    batch = prepared_state["evaluation"]["batch"]
    assert batch["custom"]["modelId"] == state["serving"]["arn"]
    assert batch["base"]["modelId"] == "amazon.nova-micro-v1:0"
    assert prepared_state["evaluation"]["recordsPerBatch"] == 6  # two 512-token answers per record


def test_nothing_is_evaluated_without_serving_or_without_an_evaluation(cloud: Cloud) -> None:
    state = collected(cloud, "run-1", serving={"mode": "none"}, evaluation=evaluation())
    with pytest.raises(RunStateConflict, match="is not served"):
        step("run-1", evaluation_stage.handler, state, "evaluation", action="prepare")
    plain = collected(cloud, "run-2")
    with pytest.raises(InvalidTaskInput, match="has no evaluation"):
        step("run-2", evaluation_stage.handler, plain, "evaluation", action="prepare")
    with pytest.raises(InvalidTaskInput, match="unknown action"):
        step("run-1", evaluation_stage.handler, state, "evaluation", action="evaluate")
    with pytest.raises(InvalidTaskInput, match="Items"):
        invoke(evaluate_batch.handler, {"BatchInput": {"runId": "run-1"}, "Item": {"index": 0}})


@pytest.mark.parametrize("ending", ["aborted", "failed"])
def test_a_temporary_serving_is_deleted_when_the_evaluation_ends_early(cloud: Cloud, ending: str) -> None:
    state = served(cloud, "run-1", serving={"mode": "none"})
    state = step("run-1", evaluation_stage.handler, state, "evaluation", action="prepare")
    assert [d.status for d in cloud.sim.deployments()] == ["Active"]
    if ending == "aborted":
        result = invoke(execution_ended.handler, status_change("run-1", "ABORTED"))["cleanup"]
    else:  # the failure path passes on only the error: the serving to delete comes from the registry
        error = {"Error": "States.ExceedToleratedFailureThreshold", "Cause": "1 of 4 child executions failed"}
        result = step("run-1", cleanup.handler, {"error": error}, None)
    assert cloud.sim.deployments() == []
    assert any(action.startswith("deleted on-demand serving") for action in result["actions"])
    record = cloud.registry.require("run-1")
    assert record["status"] == ("STOPPED" if ending == "aborted" else "FAILED")
    assert record["serving"]["temporary"] and record["serving"]["status"] == "Deleted"
