"""After training: collect_metrics, serve (start / check) and expire_serving."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from bmc.errors import ServingFailed, ServingTimedOut
from bmc.handlers import collect_metrics, expire_serving, serve
from bmc.workflow import metrics

from localcloud.bedrock import ProvisioningScript
from tests.unit.workflow_support import (
    ARTIFACTS_BUCKET,
    EXPIRY_DEAD_LETTER_ARN,
    EXPIRY_FUNCTION_ARN,
    MAX_SERVING_POLLS,
    SCHEDULE_GROUP,
    SCHEDULER_ROLE_ARN,
    Cloud,
    aws_client,
    collected,
    invoke,
    local_cloud,
    step,
    trained,
)


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    with local_cloud() as created:
        yield created


# --- collect_metrics ---------------------------------------------------------------------------


def test_metrics_are_summarized_recorded_and_published(cloud: Cloud) -> None:
    state = collected(cloud, "run-1")
    summary = state["metrics"]["summary"]
    assert (summary["epochs"], summary["steps"]) == (2, 20)  # the simulator writes 10 steps per epoch
    assert [e["epoch"] for e in summary["perEpoch"]] == [1, 2]
    assert summary["finalTrainingLoss"] == summary["perEpoch"][-1]["trainingLoss"]
    assert summary["minTrainingLoss"] <= summary["finalTrainingLoss"]
    assert summary["finalValidationLoss"] == summary["perEpoch"][-1]["validationLoss"]
    assert summary["notes"] == []
    report_uri = f"s3://{ARTIFACTS_BUCKET}/reports/run-1/metrics.json"
    assert state["metrics"]["reportUri"] == report_uri
    report = cloud.read_json(report_uri)
    assert len(report["training"]) == 20 and len(report["validation"]) == 2
    assert report["customModelArn"] == state["jobResult"]["customModelArn"]
    run = cloud.run("run-1")
    assert run["status"] == "TRAINED"
    assert run["customModelArn"] == state["jobResult"]["customModelArn"]
    assert run["metricsSummary"] == summary
    assert run["reports"]["metrics"] == report_uri
    listed = cloud_metrics(cloud)
    assert {name for name, _ in listed} == {"TrainingLoss", "ValidationLoss"}
    assert all(dims == {"RunId": "run-1", "BaseModel": "amazon.nova-micro-v1:0:128k"} for _, dims in listed)


def cloud_metrics(cloud: Cloud) -> list[tuple[str, dict[str, str]]]:
    response = aws_client("cloudwatch").list_metrics(Namespace="BedrockModelCustomization")
    return [
        (metric["MetricName"], {d["Name"]: d["Value"] for d in metric["Dimensions"]})
        for metric in response["Metrics"]
    ]


def test_without_validation_data_the_validation_loss_is_null(cloud: Cloud) -> None:
    summary = collected(cloud, "run-1", validationData=None)["metrics"]["summary"]
    assert summary["finalValidationLoss"] is None and summary["minValidationLoss"] is None
    assert all(epoch["validationLoss"] is None for epoch in summary["perEpoch"])
    assert summary["notes"] == []


def test_missing_metrics_files_give_a_note_not_a_crash(cloud: Cloud) -> None:
    state = trained(cloud, "run-1")
    prefix = f"jobs/run-1/model-customization-job-{metrics.job_id(state['job']['jobArn'])}/"
    for item in cloud.s3.list_objects_v2(Bucket=ARTIFACTS_BUCKET, Prefix=prefix)["Contents"]:
        cloud.s3.delete_object(Bucket=ARTIFACTS_BUCKET, Key=item["Key"])
    result = step("run-1", collect_metrics.handler, state, None)
    summary = result["summary"]
    assert summary["finalTrainingLoss"] is None and summary["epochs"] == 0
    assert any("step_wise_training_metrics.csv" in note for note in summary["notes"])
    assert any("validation_metrics.csv" in note for note in summary["notes"])
    assert cloud.run("run-1")["status"] == "TRAINED"


def test_the_validation_file_is_found_wherever_it_lies(cloud: Cloud) -> None:
    state = trained(cloud, "run-1")
    prefix = f"jobs/run-1/model-customization-job-{metrics.job_id(state['job']['jobArn'])}/"
    old = f"{prefix}validation_artifacts/post_fine_tuning_validation/validation_metrics.csv"
    body = cloud.s3.get_object(Bucket=ARTIFACTS_BUCKET, Key=old)["Body"].read()
    cloud.s3.delete_object(Bucket=ARTIFACTS_BUCKET, Key=old)
    cloud.s3.put_object(
        Bucket=ARTIFACTS_BUCKET,
        Key=f"{prefix}validation_artifacts/post_fine_tuning_validation/validation/validation_metrics.csv",
        Body=body,
    )
    summary = step("run-1", collect_metrics.handler, state, None)["summary"]
    assert summary["finalValidationLoss"] is not None


def test_csv_parsing_skips_unreadable_rows_and_keeps_each_epochs_last_loss() -> None:
    text = (
        "step_number,epoch_number,training_loss,perplexity\n"
        "0,1,2.5,12.1\n1,1,2.0,7.3\n2,1,nan,nan\n3,2,1.5,4.4\n4,2,oops,1\n5,2,1.2,3.3\n"
    )
    points, notes = metrics.parse_metrics_csv(text, "training_loss", "train.csv")
    assert [p.step for p in points] == [0, 1, 3, 5]  # Bedrock numbers steps from 0
    assert notes == ["train.csv: 2 row(s) skipped (not numbers, or not finite)"]
    assert metrics.last_per_epoch(points) == {1: 2.0, 2: 1.2}
    summary = metrics.JobMetrics(training=points).summary()
    assert (summary["finalTrainingLoss"], summary["minTrainingLoss"], summary["steps"]) == (1.2, 1.2, 6)
    assert metrics.JobMetrics().summary()["steps"] == 0
    _, notes = metrics.parse_metrics_csv("a,b\n1,2\n", "training_loss", "x.csv")
    assert "lacks the column" in notes[0]


def test_one_datum_per_epoch_and_metric() -> None:
    summary = {
        "perEpoch": [
            {"epoch": 1, "trainingLoss": 2.0, "validationLoss": None},
            {"epoch": 2, "trainingLoss": 1.0, "validationLoss": 1.1},
        ]
    }
    data = metrics.metric_data(summary, run_id="r", base_model="m", at=datetime(2026, 1, 1, tzinfo=UTC))
    assert [(d["MetricName"], d["Value"]) for d in data] == [
        ("TrainingLoss", 2.0),
        ("TrainingLoss", 1.0),
        ("ValidationLoss", 1.1),
    ]


def test_the_job_output_prefix_follows_bedrocks_layout() -> None:
    arn = "arn:aws:bedrock:us-east-1:1:model-customization-job/amazon.nova-micro-v1:0:128k/abc123"
    assert metrics.job_output_prefix("s3://bucket/jobs/run-1/", arn) == (
        "bucket",
        "jobs/run-1/model-customization-job-abc123/",
    )
    assert metrics.job_output_prefix("s3://bucket", arn) == ("bucket", "model-customization-job-abc123/")


# --- serve -------------------------------------------------------------------------------------


def started(cloud: Cloud, run_id: str = "run-1", **serving: Any) -> dict[str, Any]:
    state = collected(cloud, run_id, serving=serving)
    return dict(step(run_id, serve.handler, state, "serving", action="start"))


def check(state: dict[str, Any], run_id: str = "run-1") -> dict[str, Any]:
    return dict(step(run_id, serve.handler, state, "serving", action="check"))


def test_start_creates_the_provisioned_throughput(cloud: Cloud) -> None:
    state = started(cloud, mode="provisioned", modelUnits=2)
    serving = state["serving"]
    [throughput] = cloud.sim.throughputs()
    assert serving == {
        "kind": "provisioned",
        "arn": throughput.arn,
        "status": "Creating",
        "ready": False,
        "polls": 0,
    }
    assert throughput.name == state["names"]["provisionedModelName"]
    assert throughput.model_arn == state["jobResult"]["customModelArn"]
    assert throughput.model_units == 2 and throughput.commitment_duration is None
    tags = cloud.sim.backend("123456789012", "us-east-1").tagger.list_tags_for_resource(throughput.arn)[
        "Tags"
    ]
    assert {t["Key"]: t["Value"] for t in tags} == {
        "team": "ml-platform",
        "bmc:runId": "run-1",
        "bmc:prefix": "bmc",
    }
    run = cloud.run("run-1")
    assert run["status"] == "DEPLOYING"
    assert run["serving"] == {
        "kind": "provisioned",
        "name": throughput.name,
        "arn": throughput.arn,
        "status": "Creating",
    }


def test_a_commitment_is_sent_only_when_chosen(cloud: Cloud) -> None:
    started(cloud, mode="provisioned", commitment="OneMonth")
    assert cloud.sim.throughputs()[0].commitment_duration == "OneMonth"


def test_a_retried_start_creates_nothing_more(cloud: Cloud) -> None:
    state = started(cloud, mode="provisioned")
    assert step("run-1", serve.handler, state, None, action="start") == state["serving"]
    assert len(cloud.sim.throughputs()) == 1


def test_check_polls_until_in_service_then_schedules_the_expiry(cloud: Cloud) -> None:
    state = started(cloud, mode="provisioned", ttlHours=6)
    state = check(state)
    assert (state["serving"]["ready"], state["serving"]["polls"], state["serving"]["status"]) == (
        False,
        1,
        "Creating",
    )
    cloud.sim.advance(600)
    state = check(state)
    serving = state["serving"]
    assert (serving["ready"], serving["polls"], serving["status"]) == (True, 2, "InService")
    name = state["names"]["scheduleName"]
    schedule = cloud.scheduler.get_schedule(Name=name, GroupName=SCHEDULE_GROUP)
    assert schedule["ScheduleExpression"] == f"at({serving['expiresAt'][:19]})"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["Target"]["Arn"] == EXPIRY_FUNCTION_ARN
    assert schedule["Target"]["RoleArn"] == SCHEDULER_ROLE_ARN
    assert schedule["Target"]["Input"] == '{"runId": "run-1"}'
    # An expiry that cannot invoke its function is retried for a day, then kept, not dropped.
    assert schedule["Target"]["DeadLetterConfig"] == {"Arn": EXPIRY_DEAD_LETTER_ARN}
    assert schedule["Target"]["RetryPolicy"] == {
        "MaximumRetryAttempts": 185,
        "MaximumEventAgeInSeconds": 86400,
    }
    assert len(name) <= 64
    run = cloud.run("run-1")
    assert run["status"] == "IN_SERVICE"
    assert run["serving"]["expiresAt"] == serving["expiresAt"]
    assert run["serving"]["scheduleName"] == name
    assert run["serving"]["status"] == "InService"


def test_no_schedule_without_a_ttl(cloud: Cloud) -> None:
    state = started(cloud, mode="provisioned")
    cloud.sim.advance(600)
    assert check(state)["serving"]["ready"] is True
    assert cloud.scheduler.list_schedules(GroupName=SCHEDULE_GROUP)["Schedules"] == []


def test_an_on_demand_deployment_becomes_active(cloud: Cloud) -> None:
    state = started(cloud, mode="on-demand")
    [deployment] = cloud.sim.deployments()
    assert state["serving"]["kind"] == "on-demand" and state["serving"]["arn"] == deployment.arn
    assert deployment.name == state["names"]["deploymentName"]
    cloud.sim.advance(300)
    assert check(state)["serving"]["status"] == "Active"
    assert cloud.run("run-1")["status"] == "IN_SERVICE"


def test_a_failed_throughput_fails_the_run(cloud: Cloud) -> None:
    cloud.sim.script_throughput(ProvisioningScript(fail=True, failure_message="Insufficient capacity"))
    state = started(cloud, mode="provisioned")
    cloud.sim.advance(600)
    with pytest.raises(ServingFailed, match="Insufficient capacity"):
        check(state)
    assert cloud.run("run-1")["serving"]["status"] == "Failed"


def test_serving_that_never_becomes_ready_times_out(cloud: Cloud) -> None:
    state = started(cloud, mode="provisioned")
    for _ in range(MAX_SERVING_POLLS):
        state = check(state)
    with pytest.raises(ServingTimedOut, match=f"after {MAX_SERVING_POLLS + 1} polls"):
        check(state)


# --- expire_serving ----------------------------------------------------------------------------


def test_expiry_deletes_the_serving_and_completes_the_run(cloud: Cloud) -> None:
    state = started(cloud, mode="provisioned", ttlHours=1)
    cloud.sim.advance(600)
    check(state)
    result = invoke(expire_serving.handler, {"runId": "run-1"})
    assert result == {"runId": "run-1", "deleted": True, "status": "COMPLETED"}
    assert cloud.sim.throughputs() == []
    run = cloud.run("run-1")
    assert run["status"] == "COMPLETED"
    assert run["serving"]["status"] == "Deleted" and run["serving"]["deletedAt"]
    again = invoke(expire_serving.handler, {"runId": "run-1"})
    assert again == {"runId": "run-1", "deleted": False, "status": "COMPLETED"}
    assert cloud.run("run-1")["serving"]["deletedAt"] == run["serving"]["deletedAt"]
