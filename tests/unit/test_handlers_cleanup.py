"""The failure path and the end of a run: cleanup, execution_ended and notify."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bmc.catalog import estimate
from bmc.errors import BedrockThrottled, RunSpecInvalid
from bmc.handlers import cleanup, execution_ended, notify, prepare_run, serve

from tests.unit.workflow_support import (
    SCHEDULE_GROUP,
    STARTED_AT_MS,
    Cloud,
    aws_client,
    collected,
    event_bridge,
    execution_arn,
    invoke,
    lambda_error,
    local_cloud,
    prepared,
    spec,
    status_change,
    step,
    submitted,
    trained,
)


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    with local_cloud() as created:
        yield created


def in_service(cloud: Cloud, run_id: str = "run-1", **serving: Any) -> dict[str, Any]:
    state = collected(cloud, run_id, serving={"mode": "provisioned", **serving})
    state = step(run_id, serve.handler, state, "serving", action="start")
    cloud.sim.advance(600)
    return dict(step(run_id, serve.handler, state, "serving", action="check"))


def failed(state: dict[str, Any], error: BaseException) -> dict[str, Any]:
    return {**state, "error": lambda_error(error)}


# --- cleanup -----------------------------------------------------------------------------------


def test_cleanup_stops_a_running_job(cloud: Cloud) -> None:
    state = submitted("run-1")
    state = {**state, "error": {"Error": "States.Timeout", "Cause": "AwaitJob timed out"}}
    result = step("run-1", cleanup.handler, state, None)
    assert result["status"] == "FAILED" and result["problems"] == []
    assert f"stopped the customization job {state['job']['jobArn']}" in result["actions"]
    assert cloud.sim.job(state["job"]["jobArn"]).status == "Stopping"
    run = cloud.run("run-1")
    assert run["status"] == "FAILED"
    assert run["error"] == {"error": "States.Timeout", "cause": "AwaitJob timed out"}
    assert run["statusHistory"][-1]["detail"] == "States.Timeout: AwaitJob timed out"


def test_cleanup_finds_a_job_that_was_never_recorded(cloud: Cloud) -> None:
    state = submitted("run-1")
    cloud.registry.update("run-1", remove=["jobArn"])
    state = failed(
        {key: value for key, value in state.items() if key != "job"}, TimeoutError("Task timed out")
    )
    result = step("run-1", cleanup.handler, state, None)
    assert any(action.startswith("stopped the customization job") for action in result["actions"])


def test_cleanup_deletes_the_throughput_and_its_schedule(cloud: Cloud) -> None:
    state = in_service(cloud, ttlHours=4)
    assert cloud.scheduler.list_schedules(GroupName=SCHEDULE_GROUP)["Schedules"]
    result = step("run-1", cleanup.handler, failed(state, RuntimeError("Notify failed")), None)
    assert result["problems"] == []
    assert cloud.sim.throughputs() == []
    assert cloud.scheduler.list_schedules(GroupName=SCHEDULE_GROUP)["Schedules"] == []
    run = cloud.run("run-1")
    assert run["status"] == "FAILED"
    assert run["serving"]["status"] == "Deleted" and run["serving"]["deletedAt"]
    assert run["error"] == {"error": "RuntimeError", "cause": "Notify failed"}


def test_cleanup_deletes_a_deployment_recorded_before_its_arn(cloud: Cloud) -> None:
    state = collected(cloud, "run-1", serving={"mode": "on-demand"})
    state = step("run-1", serve.handler, state, "serving", action="start")
    cloud.registry.update("run-1", fields={"serving.arn": None})  # as if start died after creating it
    result = step("run-1", cleanup.handler, failed(state, TimeoutError("Task timed out")), None)
    assert result["problems"] == []
    assert cloud.sim.deployments() == []


def test_a_stopped_job_marks_the_run_stopped(cloud: Cloud) -> None:
    state = submitted("run-1")
    cloud.sim.finish_job(state["job"]["jobArn"], "Stopped")
    state = {**state, "error": {"Error": "JobStopped", "Cause": "stopped by an operator"}}
    result = step("run-1", cleanup.handler, state, None)
    assert result["status"] == "STOPPED"
    assert cloud.run("run-1")["status"] == "STOPPED"


def test_cleanup_releases_the_task_token(cloud: Cloud) -> None:
    state = submitted("run-1")
    cloud.registry.store_task_token("run-1", "token")
    step("run-1", cleanup.handler, failed(state, RuntimeError("x")), None)
    run = cloud.run("run-1")
    assert "taskToken" not in run and "awaiting" not in run


def test_cleanup_keeps_the_error_a_refused_spec_recorded(cloud: Cloud) -> None:
    with pytest.raises(RunSpecInvalid) as raised:
        step("run-1", prepare_run.handler, spec(baseModel="nope"), None)
    result = step(
        "run-1", cleanup.handler, {**spec(baseModel="nope"), "error": lambda_error(raised.value)}, None
    )
    assert result["status"] == "FAILED" and result["problems"] == []
    run = cloud.run("run-1")
    assert run["error"]["error"] == "RunSpecInvalid"
    assert run["error"]["findings"][0]["code"] == "UNKNOWN_MODEL"


def test_cleanup_never_raises_even_when_every_call_fails(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = in_service(cloud)
    cloud.sim.fail_next("GetModelCustomizationJob", "InternalServerException")
    cloud.sim.fail_next("DeleteProvisionedModelThroughput", "AccessDeniedException")
    result = step("run-1", cleanup.handler, failed(state, BedrockThrottled("slow down")), None)
    assert result["status"] == "FAILED"
    assert [problem.split(":")[0] for problem in result["problems"]] == [
        "stop the customization job",
        "delete the serving",
    ]
    assert "InternalServerException" in result["problems"][0]
    assert cloud.run("run-1")["status"] == "FAILED"  # each step runs, whatever the others did
    # Without the registry nothing is known, so nothing is touched: the state proves nothing.
    monkeypatch.setenv("REGISTRY_TABLE", "no-such-table")
    result = step("run-2", cleanup.handler, failed(state, RuntimeError("x")), None)
    assert [problem.split(":")[0] for problem in result["problems"]] == ["read the run from the registry"]
    assert result["actions"] == []
    # Even an event that is not a task payload gets an answer, not an exception.
    broken = invoke(cleanup.handler, {"unexpected": True})
    assert broken["status"] == "FAILED" and "InvalidTaskInput" in broken["problems"][0]


def test_a_committed_throughput_that_cannot_be_deleted_is_a_problem(cloud: Cloud) -> None:
    state = in_service(cloud, commitment="OneMonth")
    result = step("run-1", cleanup.handler, failed(state, RuntimeError("x")), None)
    assert len(result["problems"]) == 1 and "commitment" in result["problems"][0]
    assert cloud.run("run-1")["status"] == "FAILED"
    assert len(cloud.sim.throughputs()) == 1


# --- only what the registry records for this execution -------------------------------------------


def foreign_resources(cloud: Cloud) -> tuple[str, str]:
    """A training job and a throughput of somebody else, in the same account."""
    other = submitted("other-run")
    job_arn = other["job"]["jobArn"]
    state = trained(cloud, "served-run")
    throughput = aws_client("bedrock").create_provisioned_model_throughput(
        provisionedModelName="someone-elses-pt", modelId=state["jobResult"]["customModelArn"], modelUnits=1
    )["provisionedModelArn"]
    return job_arn, str(throughput)


def test_cleanup_hints_in_the_state_are_never_acted_on(cloud: Cloud) -> None:
    """A console input that PrepareRun refused, crafted to name another run's job and throughput."""
    job_arn, throughput = foreign_resources(cloud)
    crafted = {
        "names": {"jobName": "bmc-other-job", "scheduleName": "bmc-other-ttl"},
        "job": {"jobArn": job_arn},
        "serving": {"kind": "provisioned", "arn": throughput, "name": "someone-elses-pt"},
        "baseModel": "nope",
    }
    with pytest.raises(RunSpecInvalid):
        step("crafted", prepare_run.handler, crafted, None)
    result = step("crafted", cleanup.handler, {**crafted, "error": {"Error": "RunSpecInvalid"}}, None)
    assert result["problems"] == [] and result["actions"] == ["marked the run FAILED"]
    assert cloud.sim.job(job_arn).status == "InProgress"
    assert [t.arn for t in cloud.sim.throughputs()] == [throughput]
    # Even with no record at all, the state is not read.
    result = step("never-registered", cleanup.handler, {**crafted, "error": {"Error": "X"}}, None)
    assert result["actions"] == [] and "not in the registry" in result["problems"][0]
    assert cloud.sim.job(job_arn).status == "InProgress" and len(cloud.sim.throughputs()) == 1


def test_a_reused_run_id_cleans_up_nothing_of_the_earlier_run(cloud: Cloud) -> None:
    state = in_service(cloud)
    job_arn = state["job"]["jobArn"]
    before = cloud.run("run-1")
    later = "2026-04-02T00:00:00.000Z"  # a new execution under the same name
    result = step("run-1", cleanup.handler, failed(state, RuntimeError("x")), None, started_at=later)
    assert result["actions"] == [] and "not this one" in result["problems"][0]
    assert cloud.run("run-1") == before
    assert cloud.sim.throughputs(status="InService") and cloud.sim.job(job_arn).status == "Completed"
    aborted = invoke(
        execution_ended.handler, status_change("run-1", "ABORTED", startDate=STARTED_AT_MS + 86_400_000)
    )
    assert aborted["cleanup"]["actions"] == [] and cloud.run("run-1") == before
    [message] = cloud.notifications()
    assert before["customModelArn"] not in message["Message"]  # nor is the earlier run reported


@pytest.mark.parametrize(
    ("detail", "missing"),
    [
        ({"executionArn": "arn:x", "status": "ABORTED"}, "detail.name"),
        ({"name": "run-1", "status": "ABORTED"}, "detail.executionArn"),
        ({"name": "run-1", "executionArn": "arn:x"}, "detail.status"),
    ],
)
def test_execution_events_without_their_fields_are_refused(
    cloud: Cloud, detail: dict[str, Any], missing: str
) -> None:
    submitted("run-1")
    event = event_bridge("aws.states", "Step Functions Execution Status Change", detail)
    result = invoke(execution_ended.handler, event)
    assert result == {"result": "refused", "reason": f"the event lacks {missing}"}
    assert cloud.run("run-1")["status"] == "TRAINING"
    no_detail = {key: value for key, value in event.items() if key != "detail"}
    assert invoke(execution_ended.handler, no_detail)["result"] == "refused"


# --- execution_ended ---------------------------------------------------------------------------


def test_an_aborted_execution_is_cleaned_up_and_notified(cloud: Cloud) -> None:
    state = submitted("run-1")
    cloud.registry.store_task_token("run-1", "token")
    result = invoke(execution_ended.handler, status_change("run-1", "ABORTED"))
    assert result["cleanup"]["status"] == "STOPPED"
    assert cloud.sim.job(state["job"]["jobArn"]).status == "Stopping"
    run = cloud.run("run-1")
    assert run["status"] == "STOPPED" and "awaiting" not in run
    assert run["error"]["error"] == "ExecutionAborted"
    [message] = cloud.notifications()
    assert message["Subject"] == "[bmc] Run stopped (ExecutionAborted): run-1"
    assert message["MessageAttributes"]["status"]["Value"] == "STOPPED"
    assert "stopped the customization job" in message["Message"]
    assert result["notification"]["messageId"] == message["MessageId"]


def test_a_timed_out_execution_fails_the_run(cloud: Cloud) -> None:
    submitted("run-1")
    result = invoke(execution_ended.handler, status_change("run-1", "TIMED_OUT"))
    assert result["cleanup"]["status"] == "FAILED"
    assert cloud.run("run-1")["error"]["error"] == "States.Timeout"
    assert "Run failed (States.Timeout)" in cloud.notifications()[0]["Subject"]


def test_other_execution_statuses_are_ignored(cloud: Cloud) -> None:
    prepared("run-1")
    assert invoke(execution_ended.handler, status_change("run-1", "SUCCEEDED"))["result"] == "ignored"
    assert cloud.notifications() == []


# --- notify ------------------------------------------------------------------------------------


def test_success_completes_the_run_and_tells_everything(cloud: Cloud) -> None:
    state = collected(cloud, "run-1")
    result = step("run-1", notify.handler, state, None)
    assert result["status"] == "COMPLETED"
    run = cloud.run("run-1")
    assert run["status"] == "COMPLETED"
    [message] = cloud.notifications()
    assert result["messageId"] == message["MessageId"]
    assert message["Subject"] == "[bmc] Run succeeded (COMPLETED): run-1"
    assert {name: value["Value"] for name, value in message["MessageAttributes"].items()} == {
        "status": "COMPLETED",
        "runId": "run-1",
    }
    body = message["Message"]
    for expected in (
        "run-1: SUCCEEDED",
        "amazon.nova-micro-v1:0:128k",
        "FINE_TUNING",
        run["jobArn"],
        run["customModelArn"],
        f"training loss: final {run['metricsSummary']['finalTrainingLoss']:.4f}",
        "validation loss: final",
        "2 epoch(s), 20 step(s)",
        run["reports"]["validation"],
        run["reports"]["metrics"],
        f"#/v2/executions/details/{execution_arn('run-1')}",
        "bedrock/home?region=us-east-1#/custom-models",
    ):
        assert expected in body, expected


def test_a_served_run_stays_in_service_and_says_where(cloud: Cloud) -> None:
    state = in_service(cloud, ttlHours=2)
    assert step("run-1", notify.handler, state, None)["status"] == "IN_SERVICE"
    body = cloud.notifications()[0]["Message"]
    assert f"provisioned {state['serving']['arn']} (InService)" in body
    assert "Expires at:" in body and "#/provisioned-throughput" in body
    # The packaged table has no sourced throughput price for Nova Micro: the message says so.
    assert "hourly cost unknown (no price for amazon.nova-micro-v1:0:128k)" in body


def test_the_message_quotes_the_hourly_serving_cost_and_the_total_over_the_ttl(
    cloud: Cloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prices = json.loads((Path(estimate.__file__).parents[1] / "data" / "prices.json").read_text())
    prices["serving"]["provisioned_per_model_unit_hour"]["amazon.nova-micro-v1:0:128k"]["none"] = 12.5
    (tmp_path / "prices.json").write_text(json.dumps(prices))
    monkeypatch.setenv(estimate.PRICES_ENV, str(tmp_path / "prices.json"))
    estimate.default_prices.cache_clear()
    try:
        state = in_service(cloud, ttlHours=2)
        step("run-1", notify.handler, state, None)
    finally:
        estimate.default_prices.cache_clear()
    body = cloud.notifications()[0]["Message"]
    assert (
        "provisioned throughput, 1 model unit(s), no commitment: 12.50 USD per hour, 25.00 USD for its 2 hour(s)"
        in body
    )


def test_on_success_false_skips_the_message_but_completes(cloud: Cloud) -> None:
    state = collected(cloud, "run-1", notify={"onSuccess": False})
    assert step("run-1", notify.handler, state, None) == {"messageId": None, "status": "COMPLETED"}
    assert cloud.notifications() == []
    assert cloud.run("run-1")["status"] == "COMPLETED"


def test_a_failure_is_always_notified_with_error_cause_and_cleanup(cloud: Cloud) -> None:
    state = submitted("run-1", notify={"onSuccess": False})
    state = failed(state, RuntimeError("training data vanished"))
    state = step("run-1", cleanup.handler, state, "cleanup")
    result = step("run-1", notify.handler, state, None)
    assert result["status"] == "FAILED"
    [message] = cloud.notifications()
    assert message["Subject"] == "[bmc] Run failed (RuntimeError): run-1"
    assert message["MessageAttributes"]["status"]["Value"] == "FAILED"
    body = message["Message"]
    assert re.search(r"^Error: +RuntimeError$", body, re.MULTILINE)
    assert re.search(r"^Cause: +training data vanished$", body, re.MULTILINE)  # errorMessage, not the JSON
    assert "done: stopped the customization job" in body


def test_a_failure_notice_survives_a_broken_registry_and_topic(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = failed(spec(), RuntimeError("boom"))
    monkeypatch.setenv("REGISTRY_TABLE", "no-such-table")
    assert step("run-1", notify.handler, state, None)["status"] == "FAILED"
    assert "boom" in cloud.notifications()[0]["Message"]
    monkeypatch.setenv("TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:no-such-topic")
    assert step("run-1", notify.handler, state, None) == {"messageId": None, "status": "FAILED"}


def test_a_long_run_id_keeps_the_subject_within_sns_limits(cloud: Cloud) -> None:
    run_id = "r" * 80
    step(run_id, notify.handler, failed(spec(), RuntimeError("x" * 300)), None)
    subject = cloud.notifications()[0]["Subject"]
    assert len(subject) <= 100 and subject.endswith("...")
