"""Cleanup with nothing but the registry: the event carries only the error, so whatever is stopped
or deleted was read from the run's record, and only from a record bound to this execution."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from bmc.aws import clients
from bmc.aws.bedrock_ops import BedrockOps
from bmc.handlers import cleanup as cleanup_handler
from bmc.handlers import serve
from bmc.tenancy import Owner
from bmc.workflow import cleanup as cleanup_module
from bmc.workflow.cleanup import Execution, clean_up, failure_record
from botocore.exceptions import ClientError

from tests.unit.workflow_support import (
    SCHEDULE_GROUP,
    STARTED_AT,
    Cloud,
    aws_client,
    collected,
    execution_arn,
    invoke,
    local_cloud,
    step,
    submitted,
    task_event,
)

LATER = "2026-04-02T00:00:00.000Z"


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    with local_cloud() as created:
        yield created


def error_only(run_id: str, error: dict[str, Any] | None, *, started_at: str | None = None) -> dict[str, Any]:
    """Cleanup's input as the state machine sends it: the error and the execution, nothing else."""
    state = {} if error is None else {"error": error}
    result: dict[str, Any] = invoke(cleanup_handler.handler, task_event(run_id, state, started_at=started_at))
    return result


def clean(cloud: Cloud, run_id: str, error: dict[str, Any] | None = None, **options: Any) -> dict[str, Any]:
    execution = Execution(execution_arn(run_id), options.pop("started_at", STARTED_AT))
    return clean_up(
        run_id,
        error=error,
        execution=execution,
        registry=cloud.registry,
        bedrock=BedrockOps(),
        schedule_group=options.pop("schedule_group", SCHEDULE_GROUP),
        **options,
    ).to_dict()


def serving_run(cloud: Cloud, run_id: str, **serving: Any) -> None:
    state = collected(cloud, run_id, serving={"mode": "provisioned", **serving})
    state = step(run_id, serve.handler, state, "serving", action="start")
    cloud.sim.advance(600)
    step(run_id, serve.handler, state, "serving", action="check")


def test_the_recorded_job_is_stopped_from_the_record_alone(cloud: Cloud) -> None:
    job_arn = submitted("run-1")["job"]["jobArn"]
    other_job = submitted("run-2")["job"]["jobArn"]
    cloud.registry.store_task_token("run-1", "token")
    result = error_only("run-1", {"Error": "States.Timeout", "Cause": "AwaitJob timed out"})
    assert result == {
        "status": "FAILED",
        "actions": [f"stopped the customization job {job_arn}", "marked the run FAILED"],
        "problems": [],
    }
    assert cloud.sim.job(job_arn).status == "Stopping"
    assert cloud.sim.job(other_job).status == "InProgress"  # the other run's job is not this run's
    run = cloud.run("run-1")
    assert run["status"] == "FAILED" and "taskToken" not in run and "awaiting" not in run
    assert run["error"] == {"error": "States.Timeout", "cause": "AwaitJob timed out"}


def test_the_recorded_serving_and_schedule_are_deleted_from_the_record_alone(cloud: Cloud) -> None:
    serving_run(cloud, "run-1", ttlHours=2)
    recorded = cloud.run("run-1")["serving"]
    schedule = recorded["scheduleName"]
    result = error_only("run-1", {"Error": "RuntimeError", "Cause": "boom"})
    assert result["problems"] == []
    assert result["actions"] == [
        f"deleted provisioned serving {recorded['arn']}",
        f"deleted the expiry schedule {schedule}",
        "marked the run FAILED",
    ]
    assert cloud.sim.throughputs() == []
    assert cloud.scheduler.list_schedules(GroupName=SCHEDULE_GROUP)["Schedules"] == []
    serving = cloud.run("run-1")["serving"]
    assert serving["status"] == "Deleted" and serving["deletedAt"].endswith("Z")


def test_a_serving_already_gone_keeps_its_deletion_time(cloud: Cloud) -> None:
    serving_run(cloud, "run-1")
    recorded = cloud.run("run-1")["serving"]
    aws_client("bedrock").delete_provisioned_model_throughput(provisionedModelId=recorded["arn"])
    cloud.registry.update("run-1", fields={"serving.deletedAt": "2026-01-01T05:00:00.000Z"})
    result = clean(cloud, "run-1", {"Error": "X", "Cause": "y"})
    assert result["actions"][0] == f"provisioned serving {recorded['arn']} was already gone"
    assert cloud.run("run-1")["serving"]["deletedAt"] == "2026-01-01T05:00:00.000Z"


def test_without_a_schedule_group_the_schedule_is_reported_not_guessed(cloud: Cloud) -> None:
    serving_run(cloud, "run-1", ttlHours=2)
    schedule = cloud.run("run-1")["serving"]["scheduleName"]
    result = clean(cloud, "run-1", {"Error": "X"}, schedule_group=None)
    assert result["problems"] == [
        f"SCHEDULE_GROUP is not set: the expiry schedule {schedule} was not looked for"
    ]
    assert len(cloud.scheduler.list_schedules(GroupName=SCHEDULE_GROUP)["Schedules"]) == 1
    assert cloud.sim.throughputs() == []  # the serving itself is still deleted


def test_a_record_of_another_execution_is_left_as_it_is(cloud: Cloud) -> None:
    job_arn = submitted("run-1")["job"]["jobArn"]
    before = cloud.run("run-1")
    result = error_only("run-1", {"Error": "X", "Cause": "y"}, started_at=LATER)
    assert result["status"] == "FAILED" and result["actions"] == []
    assert result["problems"] == [
        f"run run-1 is recorded for an execution started at {STARTED_AT}, not this one; "
        "nothing of that run was touched"
    ]
    assert cloud.run("run-1") == before
    assert cloud.sim.job(job_arn).status == "InProgress"


def test_a_run_that_is_not_recorded_touches_nothing(cloud: Cloud) -> None:
    job_arn = submitted("run-1")["job"]["jobArn"]
    result = error_only("unknown-run", {"Error": "X"})
    assert result == {
        "status": "FAILED",
        "actions": [],
        "problems": ["run unknown-run is not in the registry; nothing recorded"],
    }
    assert cloud.registry.get("unknown-run") is None
    assert cloud.sim.job(job_arn).status == "InProgress"


def test_a_record_without_resources_is_only_marked(cloud: Cloud) -> None:
    submitted("other")
    cloud.registry.create_run(
        "bare",
        spec=None,
        source={"type": "console"},
        names=None,
        execution_arn=execution_arn("bare"),
        owner=Owner("platform"),
        execution_started_at=STARTED_AT,
    )
    jobs_before = [(job.job_arn, job.status) for job in cloud.sim.jobs()]
    result = error_only("bare", None)
    assert result == {"status": "FAILED", "actions": ["marked the run FAILED"], "problems": []}
    assert [(job.job_arn, job.status) for job in cloud.sim.jobs()] == jobs_before
    run = cloud.run("bare")
    assert run["error"] == {"error": "Unknown", "cause": "the run failed without an error description"}
    assert run["statusHistory"][-1]["detail"] == "Unknown: the run failed without an error description"
    # Cleaning up again (a retried task) records the status once.
    assert error_only("bare", None) == {
        "status": "FAILED",
        "actions": ["marked the run FAILED"],
        "problems": [],
    }
    assert [entry["status"] for entry in cloud.run("bare")["statusHistory"]] == ["PENDING", "FAILED"]


def test_a_job_that_already_ended_is_not_stopped(cloud: Cloud) -> None:
    job_arn = submitted("run-1")["job"]["jobArn"]
    cloud.sim.finish_job(job_arn, "Failed")
    result = clean(cloud, "run-1", {"Error": "JobFailed", "Cause": "bad data"})
    assert result["actions"] == ["marked the run FAILED"] and result["problems"] == []
    assert cloud.sim.calls("StopModelCustomizationJob") == []


@pytest.mark.parametrize(
    ("error", "aborted", "status"),
    [
        ({"Error": "JobStopped", "Cause": "operator"}, False, "STOPPED"),
        ({"Error": "States.TaskFailed", "Cause": "x"}, True, "STOPPED"),
        ({"Error": "JobFailed", "Cause": "x"}, False, "FAILED"),
    ],
)
def test_stopped_or_failed(cloud: Cloud, error: dict[str, str], aborted: bool, status: str) -> None:
    submitted("run-1")
    result = clean(cloud, "run-1", error, aborted=aborted)
    assert result["status"] == status
    assert result["actions"][-1] == f"marked the run {status}"
    assert cloud.run("run-1")["status"] == status


def test_the_detail_is_bounded(cloud: Cloud) -> None:
    submitted("run-1")
    clean(cloud, "run-1", {"Error": "E", "Cause": "c" * 2000})
    run = cloud.run("run-1")
    assert run["statusHistory"][-1]["detail"] == ("E: " + "c" * 2000)[:500]
    assert run["error"]["cause"] == "c" * 2000


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (None, {"error": "Unknown", "cause": "the run failed without an error description"}),
        ({}, {"error": "Unknown", "cause": "the run failed without an error description"}),
        ({"Error": "E", "Cause": "plain"}, {"error": "E", "cause": "plain"}),
        ({"error": "e", "cause": "lower"}, {"error": "e", "cause": "lower"}),
        ({"Error": "E", "Cause": None, "cause": "ignored"}, {"error": "E", "cause": ""}),
        ({"Error": "", "error": "second"}, {"error": "second", "cause": ""}),
        ({"Cause": "x"}, {"error": "Unknown", "cause": "x"}),
        (
            {"Error": "E", "Cause": json.dumps({"errorMessage": "readable", "errorType": "E"})},
            {"error": "E", "cause": "readable"},
        ),
        (
            {"Error": "E", "Cause": json.dumps({"errorMessage": ""})},
            {"error": "E", "cause": '{"errorMessage": ""}'},
        ),
        ({"Error": "E", "Cause": json.dumps(["errorMessage"])}, {"error": "E", "cause": '["errorMessage"]'}),
        ({"Error": "E", "Cause": 42}, {"error": "E", "cause": "42"}),
    ],
)
def test_failure_records(error: dict[str, Any] | None, expected: dict[str, str]) -> None:
    assert failure_record(error) == expected


def test_the_recorded_job_arn_wins_over_the_recorded_name(cloud: Cloud) -> None:
    # The name is the fallback for a job created but never recorded; once the ARN is recorded
    # it is what names the job, whatever job a name leads to.
    job_arn = submitted("run-1")["job"]["jobArn"]
    other_job = submitted("run-2")["job"]["jobArn"]
    names = cloud.run("run-1")["names"]
    cloud.registry.update(
        "run-1", fields={"names": {**names, "jobName": cloud.run("run-2")["names"]["jobName"]}}
    )
    result = clean(cloud, "run-1", {"Error": "X"})
    assert result["actions"] == [f"stopped the customization job {job_arn}", "marked the run FAILED"]
    assert cloud.sim.job(job_arn).status == "Stopping"
    assert cloud.sim.job(other_job).status == "InProgress"


def test_a_job_created_but_never_recorded_is_found_by_its_name(cloud: Cloud) -> None:
    job_arn = submitted("run-1")["job"]["jobArn"]
    cloud.registry.update("run-1", remove=("jobArn",))  # SubmitJob died before recording the ARN
    result = clean(cloud, "run-1", {"Error": "X"})
    assert result["actions"] == [f"stopped the customization job {job_arn}", "marked the run FAILED"]


def test_a_serving_record_that_is_not_a_map_is_ignored_not_fatal(cloud: Cloud) -> None:
    # Cleanup never raises: a malformed record still ends marked, the original error kept.
    submitted("run-1")
    cloud.registry.update("run-1", fields={"serving": "arn:aws:bedrock:us-east-1:123456789012:x"})
    result = clean(cloud, "run-1", {"Error": "X", "Cause": "y"})
    assert result["problems"] == [] and result["actions"][-1] == "marked the run FAILED"
    assert cloud.run("run-1")["status"] == "FAILED"


def test_a_serving_created_before_its_arn_was_recorded_is_named_by_its_name(cloud: Cloud) -> None:
    serving_run(cloud, "run-1")
    name = cloud.run("run-1")["serving"]["name"]
    cloud.registry.update("run-1", fields={"serving.arn": None})  # StartServing died after the create call
    result = clean(cloud, "run-1", {"Error": "X"})
    assert result["actions"][0] == f"deleted provisioned serving {name}"
    assert cloud.sim.throughputs() == []


def test_a_schedule_created_but_not_recorded_on_the_serving_is_found_by_the_runs_names(cloud: Cloud) -> None:
    serving_run(cloud, "run-1", ttlHours=2)
    schedule = cloud.run("run-1")["names"]["scheduleName"]
    # CheckServing died between creating the schedule and recording it on the serving.
    cloud.registry.update("run-1", remove=("serving.scheduleName",))
    result = clean(cloud, "run-1", {"Error": "X"})
    assert f"deleted the expiry schedule {schedule}" in result["actions"]
    assert cloud.scheduler.list_schedules(GroupName=SCHEDULE_GROUP)["Schedules"] == []


def test_a_schedule_that_cannot_be_deleted_is_a_named_problem(cloud: Cloud) -> None:
    serving_run(cloud, "run-1", ttlHours=2)
    scheduler = clients.client("scheduler")

    def throttled(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "DeleteSchedule"
        )

    scheduler.meta.events.register("before-call.scheduler.DeleteSchedule", throttled)
    try:
        result = clean(cloud, "run-1", {"Error": "X"})
    finally:
        scheduler.meta.events.unregister("before-call.scheduler.DeleteSchedule", throttled)
    assert result["problems"] == [
        "delete the expiry schedule: ClientError: An error occurred (ThrottlingException) when calling the "
        "DeleteSchedule operation: Rate exceeded"
    ]
    assert result["actions"][-1] == "marked the run FAILED"


def test_a_run_that_cannot_be_marked_is_a_named_problem(cloud: Cloud) -> None:
    submitted("run-1")
    cloud.registry.update("run-1", fields={"status": "DELETED"})
    result = clean(cloud, "run-1", {"Error": "X"})
    assert result["problems"] == [
        "mark the run FAILED: RunStateConflict: run run-1 is DELETED: it cannot become FAILED"
    ]
    assert "marked the run FAILED" not in result["actions"]


# --- what operators read in the logs ------------------------------------------------------------


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def cleanup_log() -> Iterator[list[logging.LogRecord]]:
    handler = Records()
    target = logging.getLogger(cleanup_module.logger.name)
    target.addHandler(handler)
    yield handler.records
    target.removeHandler(handler)


def test_a_refused_record_is_logged_with_the_execution_it_belongs_to(
    cloud: Cloud, cleanup_log: list[logging.LogRecord]
) -> None:
    submitted("run-1")
    error_only("run-1", {"Error": "X"}, started_at=LATER)
    [refusal] = [r for r in cleanup_log if r.levelno == logging.ERROR]
    assert refusal.getMessage() == "the run id is recorded for another execution: nothing cleaned up"
    assert refusal.recordedExecution == execution_arn("run-1")  # type: ignore[attr-defined]
    assert refusal.recordedStart == STARTED_AT  # type: ignore[attr-defined]


def test_a_failed_step_is_logged_and_named_with_its_error(
    cloud: Cloud, cleanup_log: list[logging.LogRecord]
) -> None:
    submitted("run-1")
    cloud.sim.fail_next("GetModelCustomizationJob", "InternalServerException")
    result = clean(cloud, "run-1", {"Error": "X"})
    [problem] = result["problems"]
    assert problem == (
        "stop the customization job: BedrockUnavailable: GetModelCustomizationJob: "
        "InternalServerException: Simulated InternalServerException"
    )
    [failure] = [r for r in cleanup_log if r.levelno == logging.ERROR]
    assert failure.getMessage() == "step failed: stop the customization job"
    assert failure.exc_info is not None
