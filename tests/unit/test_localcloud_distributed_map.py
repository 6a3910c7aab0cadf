"""The Distributed Map patches run what moto's grammar refuses, with AWS's semantics: batches as
AWS delivers them, tolerated failures, result files, children concurrent on the simulated clock,
and a parent history that does not grow with the items."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud.patches import wait_for_execution
from localcloud.patches.map_definition import STASH_MARKER, preprocess_definition
from tests.unit.moto_support import SESSION
from tests.unit.test_localcloud_patches import Cloud, patched_cloud

BUCKET = "map-bucket"


@pytest.fixture(name="cloud")
def map_cloud() -> Iterator[Cloud]:
    with patched_cloud() as created:
        yield created


def definition(function_arn: str, **map_fields: Any) -> dict[str, Any]:
    """A Distributed Map shaped like the synthesized evaluation map (EXPRESS, batches, results)."""
    state: dict[str, Any] = {
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": "Child",
            "States": {"Child": {"Type": "Task", "Resource": function_arn, "End": True}},
        },
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON"},
            "Parameters": {"Bucket": BUCKET, "Key.$": "$.itemsKey"},
        },
        "ItemBatcher": {"MaxItemsPerBatchPath": "$.perBatch", "BatchInput": {"runId.$": "$.runId"}},
        "MaxConcurrency": 2,
        "ToleratedFailurePercentage": 0,
        "Label": "Records",
        "ResultWriter": {
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": BUCKET, "Prefix.$": "States.Format('runs/{}/results', $.runId)"},
        },
        "ResultPath": "$.run",
        "End": True,
    }
    state.update(map_fields)
    return {"StartAt": "Evaluate", "States": {"Evaluate": state}}


def put_items(count: int, **extra: Any) -> dict[str, Any]:
    s3 = SESSION.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(
        Bucket=BUCKET, Key="items.json", Body=json.dumps([{"index": i, **extra} for i in range(count)])
    )
    return {"itemsKey": "items.json", "runId": "run-7", "perBatch": 3}


def s3_json(key: str) -> Any:
    return json.loads(SESSION.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read())


def recording(cloud: Cloud, *, fail_index: int | None = None, seconds: float = 0.0) -> tuple[str, list[Any]]:
    """A child function that records each input, takes ``seconds`` of simulated time and fails
    the batch holding item ``fail_index``."""
    received: list[Any] = []

    def handler(event: Any, context: Any) -> Any:
        received.append(event)
        cloud.clock.advance(seconds)
        if fail_index is not None and any(item["index"] == fail_index for item in event["Items"]):
            raise RuntimeError(f"item {fail_index} is broken")
        return {"records": len(event["Items"])}

    return cloud.function("child", handler), received


def test_the_grammar_gets_what_it_accepts_and_the_definition_stays_as_written(cloud: Cloud) -> None:
    document = definition("arn:aws:lambda:us-east-1:123456789012:function:child")
    document["States"]["Evaluate"]["ResultWriter"]["WriterConfig"] = {"OutputType": "JSONL"}
    document["States"]["Evaluate"]["ToleratedFailurePercentage"] = 5
    rewritten = json.loads(preprocess_definition(json.dumps(document)))
    state = rewritten["States"]["Evaluate"]
    assert "ItemBatcher" not in state and "WriterConfig" not in state["ResultWriter"]
    assert state["ItemProcessor"]["ProcessorConfig"]["ExecutionType"] == "STANDARD"
    assert state["ToleratedFailurePercentage"] == 5.0
    stashed = json.loads(
        base64.urlsafe_b64decode(state["ItemProcessor"]["Comment"].removeprefix(STASH_MARKER))
    )
    assert stashed["executionType"] == "EXPRESS" and stashed["writerConfig"] == {"OutputType": "JSONL"}
    machine = cloud.sfn.create_state_machine(
        name="m", definition=json.dumps(document), roleArn=cloud.role_arn
    )
    described = cloud.sfn.describe_state_machine(stateMachineArn=machine["stateMachineArn"])
    assert json.loads(described["definition"]) == document


def test_an_express_child_cannot_wait_for_a_task_token(cloud: Cloud) -> None:
    document = definition("arn:aws:states:::lambda:invoke.waitForTaskToken")
    with pytest.raises(ClientError, match="Express state machines do not support"):
        cloud.sfn.create_state_machine(name="m", definition=json.dumps(document), roleArn=cloud.role_arn)


def test_children_get_batches_as_aws_delivers_them_and_results_are_written(cloud: Cloud) -> None:
    arn, received = recording(cloud)
    execution = cloud.run(definition(arn), put_items(7))
    assert execution["status"] == "SUCCEEDED", execution
    assert sorted(received, key=lambda e: e["Items"][0]["index"]) == [
        {"BatchInput": {"runId": "run-7"}, "Items": [{"index": 0}, {"index": 1}, {"index": 2}]},
        {"BatchInput": {"runId": "run-7"}, "Items": [{"index": 3}, {"index": 4}, {"index": 5}]},
        {"BatchInput": {"runId": "run-7"}, "Items": [{"index": 6}]},
    ]
    details = json.loads(execution["output"])["run"]["ResultWriterDetails"]
    assert details["Key"].startswith("runs/run-7/results/") and details["Key"].endswith("/manifest.json")
    manifest = s3_json(details["Key"])
    assert manifest["ResultFiles"]["FAILED"] == [] and len(manifest["ResultFiles"]["SUCCEEDED"]) == 1
    succeeded = s3_json(manifest["ResultFiles"]["SUCCEEDED"][0]["Key"])
    assert [json.loads(child["Output"]) for child in succeeded] == [
        {"records": 3},
        {"records": 3},
        {"records": 1},
    ]
    assert {child["Status"] for child in succeeded} == {"SUCCEEDED"}
    assert succeeded[0]["ExecutionArn"].startswith(
        manifest["MapRunArn"].split(":mapRun:")[0].replace("mapRun", "execution")
    )
    description = cloud.sfn.describe_map_run(mapRunArn=manifest["MapRunArn"])
    assert description["itemCounts"]["succeeded"] == 7 and description["executionCounts"]["succeeded"] == 3


def test_a_failed_child_fails_the_map_run_unless_tolerated(cloud: Cloud) -> None:
    arn, _ = recording(cloud, fail_index=4)
    caught = definition(
        arn, Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}]
    )
    caught["States"]["Failed"] = {"Type": "Pass", "End": True}
    execution = cloud.run(caught, put_items(7))
    error = json.loads(execution["output"])["error"]
    assert error["Error"] == "States.ExceedToleratedFailureThreshold"

    tolerant = definition(arn, ToleratedFailurePercentage=50)
    execution = cloud.run(tolerant, put_items(7))
    assert execution["status"] == "SUCCEEDED", execution
    manifest = s3_json(json.loads(execution["output"])["run"]["ResultWriterDetails"]["Key"])
    (failed,) = s3_json(manifest["ResultFiles"]["FAILED"][0]["Key"])
    assert failed["Status"] == "FAILED" and failed["Error"] == "RuntimeError"
    assert "item 4 is broken" in failed["Cause"]
    assert json.loads(failed["Input"])["Items"] == [{"index": 3}, {"index": 4}, {"index": 5}]


def test_children_run_concurrently_on_the_simulated_clock(cloud: Cloud) -> None:
    arn, _ = recording(cloud, seconds=10)
    started = cloud.clock.now()
    assert cloud.run(definition(arn), put_items(18))["status"] == "SUCCEEDED"  # 6 children, 2 at a time
    assert (cloud.clock.now() - started).total_seconds() == 30
    started = cloud.clock.now()
    assert cloud.run(definition(arn, MaxConcurrency=0), put_items(18))["status"] == "SUCCEEDED"
    assert (cloud.clock.now() - started).total_seconds() == 10


def test_an_express_child_stops_after_five_minutes(cloud: Cloud) -> None:
    arn, _ = recording(cloud, seconds=301)
    execution = cloud.run(definition(arn, ToleratedFailurePercentage=100), put_items(3))
    manifest = s3_json(json.loads(execution["output"])["run"]["ResultWriterDetails"]["Key"])
    (failed,) = s3_json(manifest["ResultFiles"]["FAILED"][0]["Key"])
    assert failed["Error"] == "States.Timeout"


def test_batches_are_cut_by_bytes_and_items_selected_before_batching(cloud: Cloud) -> None:
    arn, received = recording(cloud)
    document = definition(
        arn,
        ItemSelector={
            "index.$": "$$.Map.Item.Value.index",
            "position.$": "$$.Map.Item.Index",
            "run.$": "$.runId",
        },
    )
    document["States"]["Evaluate"]["ItemBatcher"] = {"MaxInputBytesPerBatch": 80}  # items of 38 bytes
    assert cloud.run(document, put_items(4))["status"] == "SUCCEEDED"
    batches = sorted((event["Items"] for event in received), key=lambda items: items[0]["index"])
    assert batches == [
        [{"index": 0, "position": 0, "run": "run-7"}, {"index": 1, "position": 1, "run": "run-7"}],
        [{"index": 2, "position": 2, "run": "run-7"}, {"index": 3, "position": 3, "run": "run-7"}],
    ]
    assert all("BatchInput" not in event for event in received)


def test_a_child_input_over_256_kib_fails_as_on_aws(cloud: Cloud) -> None:
    arn, received = recording(cloud)
    document = definition(arn, ToleratedFailurePercentage=100)
    execution = cloud.run(document, put_items(3, text="x" * 100_000))  # three per batch: 300 KB
    assert received == []
    manifest = s3_json(json.loads(execution["output"])["run"]["ResultWriterDetails"]["Key"])
    (failed,) = s3_json(manifest["ResultFiles"]["FAILED"][0]["Key"])
    assert failed["Error"] == "States.DataLimitExceeded"


def test_without_a_result_writer_the_outputs_are_the_result_and_bounded(cloud: Cloud) -> None:
    def handler(event: Any, context: Any) -> Any:
        return {"padding": "y" * 60_000}

    arn = cloud.function("big", handler)
    document = definition(
        arn, Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}]
    )
    del document["States"]["Evaluate"]["ResultWriter"]
    document["States"]["Failed"] = {"Type": "Pass", "End": True}
    small = cloud.run(document, put_items(3))
    assert len(json.loads(small["output"])["run"]) == 1
    large = cloud.run(document, put_items(15))  # five outputs of 60 KB
    assert json.loads(large["output"])["error"]["Error"] == "States.DataLimitExceeded"


def test_the_parent_history_does_not_grow_with_the_items(cloud: Cloud) -> None:
    arn, _ = recording(cloud)
    sizes = []
    for count in (5, 60):
        execution_arn = cloud.start(definition(arn), put_items(count))
        assert wait_for_execution(cloud.sfn, execution_arn, timeout=20)["status"] == "SUCCEEDED"
        sizes.append(len(cloud.history(execution_arn)))
    assert sizes[0] == sizes[1]
