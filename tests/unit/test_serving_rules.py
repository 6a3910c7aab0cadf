"""Serving's rules at their edges: the poll bound, retries, what the expiry keeps, the schedule's
shape and the deletions that find nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from bmc.aws.bedrock_ops import BedrockOps
from bmc.errors import InvalidTaskInput, ServingFailed, ServingTimedOut
from bmc.handlers import serve
from bmc.runspec import RunNames, RunSpec, validate_spec
from bmc.workflow import serving

from localcloud import samples
from localcloud.bedrock import ProvisioningScript
from tests.unit.workflow_support import (
    DATASETS_BUCKET,
    EXPIRY_FUNCTION_ARN,
    MAX_SERVING_POLLS,
    SCHEDULE_GROUP,
    SCHEDULER_ROLE_ARN,
    Cloud,
    collected,
    local_cloud,
    prepared,
    spec,
    step,
)


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    with local_cloud() as created:
        yield created


SETTINGS = serving.ScheduleSettings(SCHEDULE_GROUP, SCHEDULER_ROLE_ARN, EXPIRY_FUNCTION_ARN)


def started(cloud: Cloud, run_id: str = "run-1", **options: Any) -> dict[str, Any]:
    state = collected(cloud, run_id, serving=options)
    return dict(step(run_id, serve.handler, state, "serving", action="start"))


def check(state: dict[str, Any], run_id: str = "run-1") -> dict[str, Any]:
    return dict(step(run_id, serve.handler, state, "serving", action="check"))


# --- pure parts ---------------------------------------------------------------------------------


def test_a_schedule_target_without_a_dead_letter_queue_has_none() -> None:
    assert SETTINGS.target("run-9") == {
        "Arn": EXPIRY_FUNCTION_ARN,
        "RoleArn": SCHEDULER_ROLE_ARN,
        "Input": '{"runId": "run-9"}',
        "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400},
    }


@pytest.mark.parametrize(
    ("expires_at", "expression"),
    [
        ("2026-05-01T10:20:30.456Z", "at(2026-05-01T10:20:30)"),
        ("2026-05-01T00:00:00+00:00", "at(2026-05-01T00:00:00)"),
    ],
)
def test_schedule_expressions(expires_at: str, expression: str) -> None:
    assert serving.schedule_expression(expires_at) == expression


def test_the_serving_kind_and_resource_name_follow_the_spec(cloud: Cloud) -> None:
    names = RunNames.from_dict(prepared("names-run")["names"])
    provisioned = RunSpec.from_dict(spec(serving={"mode": "provisioned"}))
    on_demand = RunSpec.from_dict(spec(serving={"mode": "on-demand"}))
    assert serving.serving_kind(provisioned) == "provisioned"
    assert serving.serving_kind(on_demand) == "on-demand"
    with pytest.raises(InvalidTaskInput, match="serving mode is none"):
        serving.serving_kind(RunSpec.from_dict(spec()))
    assert serving.resource_name("provisioned", names) == names.provisioned_model_name
    assert serving.resource_name("on-demand", names) == names.deployment_name
    assert names.provisioned_model_name != names.deployment_name


# --- check --------------------------------------------------------------------------------------


def test_the_last_allowed_poll_still_waits(cloud: Cloud) -> None:
    state = started(cloud, mode="provisioned")
    state = {**state, "serving": {**state["serving"], "polls": MAX_SERVING_POLLS - 1}}
    polled = check(state)["serving"]
    assert (polled["polls"], polled["ready"], polled["status"]) == (MAX_SERVING_POLLS, False, "Creating")
    assert cloud.run("run-1")["serving"]["status"] == "Creating"
    with pytest.raises(ServingTimedOut, match=rf"still Creating after {MAX_SERVING_POLLS + 1} polls$"):
        check({**state, "serving": polled})


def test_a_ready_serving_is_ready_whatever_the_poll_count(cloud: Cloud) -> None:
    state = started(cloud, mode="provisioned")
    cloud.sim.advance(600)
    state = {**state, "serving": {**state["serving"], "polls": MAX_SERVING_POLLS + 5}}
    assert check(state)["serving"]["ready"] is True


def test_a_failure_without_a_reason_says_so(cloud: Cloud) -> None:
    cloud.sim.script_throughput(ProvisioningScript(fail=True, failure_message=""))
    state = started(cloud, mode="provisioned")
    cloud.sim.advance(600)
    arn = state["serving"]["arn"]
    with pytest.raises(ServingFailed) as failed:
        check(state)
    assert str(failed.value) == f"provisioned serving {arn} failed: no reason given"
    run = cloud.run("run-1")
    assert run["serving"]["status"] == "Failed" and run["status"] == "DEPLOYING"


def test_a_check_without_an_arn_is_refused(cloud: Cloud) -> None:
    state = started(cloud, mode="provisioned")
    for broken in ({"kind": "provisioned", "polls": 0}, {"kind": "provisioned", "arn": "", "polls": 0}):
        with pytest.raises(InvalidTaskInput) as refused:
            check({**state, "serving": broken})
        assert str(refused.value) == "CheckServing needs $.serving.arn from StartServing"


def test_a_retried_start_returns_the_recorded_serving_without_creating_again(cloud: Cloud) -> None:
    # A creation token is only honoured for a while: a retry must not lean on it.
    for mode, create in (
        ("provisioned", "CreateProvisionedModelThroughput"),
        ("on-demand", "CreateCustomModelDeployment"),
    ):
        run_id = f"retry-{mode}"
        state = started(cloud, run_id, mode=mode)
        before = cloud.run(run_id)
        again = step(run_id, serve.handler, state, None, action="start")
        assert again == state["serving"] and again["kind"] == mode
        assert len(cloud.sim.calls(create)) == 1
        assert cloud.run(run_id)["statusHistory"] == before["statusHistory"]


def test_each_poll_records_what_bedrock_reports(cloud: Cloud) -> None:
    state = started(cloud, mode="provisioned")
    cloud.registry.update("run-1", fields={"serving.status": "Unknown"})  # a stale record
    assert check(state)["serving"]["kind"] == "provisioned"  # the state the next poll reads
    assert cloud.run("run-1")["serving"]["status"] == "Creating"
    cloud.sim.advance(600)
    check(state)
    record = cloud.run("run-1")
    assert record["serving"]["status"] == "InService"
    assert record["statusHistory"][-1]["detail"] == "provisioned serving InService"


def test_a_check_reads_the_kind_from_the_spec_when_the_state_lacks_it(cloud: Cloud) -> None:
    state = started(cloud, mode="on-demand")
    cloud.sim.advance(300)
    polled = check({**state, "serving": {"arn": state["serving"]["arn"]}})["serving"]
    assert (polled["kind"], polled["status"], polled["polls"], polled["ready"]) == (
        "on-demand",
        "Active",
        1,
        True,
    )


def test_a_retried_check_keeps_the_first_expiry_time(cloud: Cloud) -> None:
    state = started(cloud, mode="provisioned", ttlHours=2)
    cloud.sim.advance(600)
    first = check(state)["serving"]
    cloud.sim.advance(3600)
    # The run is IN_SERVICE now; a retried CheckServing finds the recorded expiry and keeps it.
    again = serving.check(
        "run-1",
        RunSpec.from_dict(state["spec"]),
        _names_of(cloud),
        first,
        registry=cloud.registry,
        bedrock=BedrockOps(),
        schedules=SETTINGS,
        max_polls=MAX_SERVING_POLLS,
        now=datetime(2031, 1, 1, tzinfo=UTC),
    )
    assert again["expiresAt"] == first["expiresAt"]
    assert cloud.run("run-1")["serving"]["expiresAt"] == first["expiresAt"]
    assert len(cloud.scheduler.list_schedules(GroupName=SCHEDULE_GROUP)["Schedules"]) == 1


def _names_of(cloud: Cloud) -> RunNames:
    return RunNames.from_dict(cloud.run("run-1")["names"])


def test_the_expiry_is_ttl_hours_after_now(cloud: Cloud) -> None:
    state = started(cloud, mode="provisioned", ttlHours=3)
    cloud.sim.advance(600)
    result = serving.check(
        "run-1",
        RunSpec.from_dict(state["spec"]),
        _names_of(cloud),
        state["serving"],
        registry=cloud.registry,
        bedrock=BedrockOps(),
        schedules=SETTINGS,
        max_polls=MAX_SERVING_POLLS,
        now=datetime(2030, 6, 1, 12, 0, tzinfo=UTC),
    )
    assert result["expiresAt"] == "2030-06-01T15:00:00.000Z"
    schedule = cloud.scheduler.get_schedule(Name=_names_of(cloud).schedule_name, GroupName=SCHEDULE_GROUP)
    assert schedule["ScheduleExpression"] == "at(2030-06-01T15:00:00)"
    assert "DeadLetterConfig" not in schedule["Target"]
    assert schedule["Description"] == "Deletes the serving of run run-1 at 2030-06-01T15:00:00.000Z"


# --- schedules ----------------------------------------------------------------------------------


def test_creating_a_schedule_twice_is_harmless_and_deleting_a_missing_one_is_false(
    cloud: Cloud, caplog: pytest.LogCaptureFixture
) -> None:
    serving.create_expiry_schedule("run-1", "bmc-ttl-run-1", "2030-01-01T00:00:00.000Z", SETTINGS)
    serving.create_expiry_schedule("run-1", "bmc-ttl-run-1", "2030-01-01T00:00:00.000Z", SETTINGS)
    assert len(cloud.scheduler.list_schedules(GroupName=SCHEDULE_GROUP)["Schedules"]) == 1
    [note] = [r for r in caplog.records if r.getMessage() == "expiry schedule exists already"]
    assert (note.runId, note.schedule) == ("run-1", "bmc-ttl-run-1")  # type: ignore[attr-defined]
    assert serving.delete_expiry_schedule("bmc-ttl-run-1", SCHEDULE_GROUP) is True
    assert serving.delete_expiry_schedule("bmc-ttl-run-1", SCHEDULE_GROUP) is False


# --- deleting what the record names -------------------------------------------------------------


def test_a_record_without_arn_or_name_deletes_nothing(cloud: Cloud) -> None:
    started(cloud, mode="provisioned")
    assert (
        serving.delete_recorded_serving({"kind": "provisioned", "arn": None, "name": None}, BedrockOps())
        is False
    )
    assert len(cloud.sim.throughputs()) == 1


def test_a_record_without_its_arn_deletes_by_name(cloud: Cloud) -> None:
    started(cloud, mode="provisioned")
    [throughput] = cloud.sim.throughputs()
    assert serving.delete_recorded_serving(
        {"kind": "provisioned", "arn": None, "name": throughput.name}, BedrockOps()
    )
    assert cloud.sim.throughputs() == []


def test_expiring_a_run_that_serves_nothing_changes_nothing(
    cloud: Cloud, caplog: pytest.LogCaptureFixture
) -> None:
    collected(cloud, "run-1")
    before = cloud.run("run-1")
    assert serving.expire("run-1", registry=cloud.registry, bedrock=BedrockOps()) == {
        "runId": "run-1",
        "deleted": False,
        "status": "TRAINED",
    }
    assert cloud.run("run-1") == before
    # An expiry schedule that finds nothing to delete is worth a look: the warning names the run.
    [warning] = [
        r for r in caplog.records if r.name.endswith("bmc.workflow.serving") and r.levelname == "WARNING"
    ]
    assert warning.getMessage() == "the run serves nothing"
    assert warning.runId == "run-1"  # type: ignore[attr-defined]


def test_expiring_the_serving_of_a_failed_run_keeps_it_failed(cloud: Cloud) -> None:
    started(cloud, mode="provisioned")
    cloud.registry.transition("run-1", "FAILED", detail="something else failed")
    result = serving.expire("run-1", registry=cloud.registry, bedrock=BedrockOps(), reason="orphaned")
    assert result == {"runId": "run-1", "deleted": True, "status": "FAILED"}
    run = cloud.run("run-1")
    assert run["status"] == "FAILED"
    assert (run["serving"]["status"], run["serving"]["deletedReason"]) == ("Deleted", "orphaned")
    # A second expiry keeps the first reason and time.
    deleted_at = run["serving"]["deletedAt"]
    serving.expire("run-1", registry=cloud.registry, bedrock=BedrockOps(), reason="later")
    again = cloud.run("run-1")["serving"]
    assert (again["deletedReason"], again["deletedAt"]) == ("orphaned", deleted_at)


def test_the_expiry_reason_is_the_ttl_unless_told(cloud: Cloud) -> None:
    state = started(cloud, mode="provisioned", ttlHours=1)
    cloud.sim.advance(600)
    check(state)
    assert serving.expire("run-1", registry=cloud.registry, bedrock=BedrockOps())["status"] == "COMPLETED"
    run = cloud.run("run-1")
    assert run["serving"]["deletedReason"] == "serving deleted at the end of its ttlHours"
    assert run["statusHistory"][-1]["detail"] == "serving deleted at the end of its ttlHours"


# --- the serving an evaluation needs ------------------------------------------------------------

EVALUATION = {"testData": f"s3://{DATASETS_BUCKET}/data/test.jsonl"}


def planned(base_model: str, region: str = "us-east-1", **fields: Any) -> serving.ServingPlan:
    checked = validate_spec(
        spec(baseModel=base_model, evaluation=EVALUATION, validationData=None, **fields),
        region=region,
        datasets_bucket=DATASETS_BUCKET,
        allowed_judge_models=(),
    )
    assert checked.spec is not None, checked.errors
    return serving.serving_plan(checked.spec)


def test_the_serving_plan_is_the_runs_own_serving_when_it_has_one() -> None:
    chosen = {"mode": "provisioned", "modelUnits": 2, "commitment": "OneMonth"}
    assert planned("amazon.nova-micro-v1", serving=chosen) == serving.ServingPlan(
        "provisioned", 2, "OneMonth"
    )
    assert planned("amazon.nova-micro-v1", serving={"mode": "on-demand"}) == serving.ServingPlan(
        "on-demand", 1, "none", temporary=False
    )


def test_an_evaluation_without_serving_gets_the_cheapest_temporary_one() -> None:
    # Nova Micro serves on demand; Claude 3 Haiku only on one no-commitment model unit.
    assert planned("amazon.nova-micro-v1") == serving.ServingPlan("on-demand", 1, "none", temporary=True)
    assert planned("anthropic.claude-3-haiku-20240307-v1", region="us-west-2") == serving.ServingPlan(
        "provisioned", 1, "none", temporary=True
    )
    without = RunSpec.from_dict(spec())
    with pytest.raises(InvalidTaskInput) as refused:
        serving.serving_plan(without)
    assert str(refused.value) == (
        "serve was invoked for a run whose serving mode is none and that has no evaluation"
    )


def test_a_temporary_serving_is_recorded_as_such(cloud: Cloud) -> None:
    cloud.put_jsonl("data/test.jsonl", list(samples.evaluation_records(8)))
    state = collected(cloud, "run-1", evaluation=EVALUATION)
    state = dict(step("run-1", serve.handler, state, "serving", action="start"))
    record = cloud.run("run-1")
    name = RunNames.from_dict(state["names"]).deployment_name
    assert record["serving"] == {
        "kind": "on-demand",
        "name": name,
        "arn": state["serving"]["arn"],
        "status": "Creating",
        "temporary": True,
    }
    assert record["statusHistory"][-1]["detail"] == (
        f"creating on-demand serving {name} for the evaluation only"
    )


def test_the_runs_own_serving_is_not_temporary(cloud: Cloud) -> None:
    started(cloud, mode="provisioned", modelUnits=2)
    record = cloud.run("run-1")
    assert "temporary" not in record["serving"]
    assert (
        record["statusHistory"][-1]["detail"] == f"creating provisioned serving {record['serving']['name']}"
    )
    [throughput] = cloud.sim.throughputs()
    assert throughput.model_units == 2
