"""The orphan sweeper, the TTL second line and the idle guard, against the simulated Bedrock.

Runs are walked through the real handlers (prepare, validate, submit, serve) so every serving
and job carries the tags and registry record the workflow gives it; then the situation the
sweeper must handle is made (a run fails, a TTL schedule vanishes, a resource appears that no
run knows) and the sweep handler runs as its schedule would invoke it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from bmc.aws.bedrock_ops import BedrockOps
from bmc.aws.registry import COMPLETED, EVALUATING, FAILED, REJECTED, Registry
from bmc.guardrails.idle import InvocationCounter
from bmc.guardrails.sweep import Sweeper, SweepSettings, execution_probe
from bmc.handlers import serve, sweep

from localcloud.bedrock import JobScript
from tests.unit.workflow_support import (
    PREFIX,
    TABLE,
    Cloud,
    aws_client,
    collected,
    event_bridge,
    execution_arn,
    invoke,
    local_cloud,
    step,
    submitted,
)

FOUNDATION_MODEL = "amazon.nova-micro-v1:0:128k"


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    with local_cloud() as created:
        yield created


def served(cloud: Cloud, run_id: str, **serving: Any) -> dict[str, Any]:
    """A run IN_SERVICE with the serving it asked for (throughput by default)."""
    state = collected(cloud, run_id, serving={"mode": "provisioned", **serving})
    state = step(run_id, serve.handler, state, "serving", action="start")
    cloud.sim.advance(600)
    return dict(step(run_id, serve.handler, state, "serving", action="check"))


def sweep_at(cloud: Cloud, *, mode: str = "delete", **environment: str) -> dict[str, Any]:
    """The sweep handler as the schedule invokes it, with the simulated time as the event time."""
    event = event_bridge("aws.events", "Scheduled Event", {})
    event["time"] = cloud.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SWEEPER_MODE", mode)
        for name, value in environment.items():
            patch.setenv(name, value)
        result: dict[str, Any] = invoke(sweep.handler, event, name="bmc-sweep")
    return result


def unknown_throughput(name: str = "bmc-by-hand", **tags: str) -> str:
    """A throughput someone created outside the workflow, tagged for the deployment."""
    arn: str = aws_client("bedrock").create_provisioned_model_throughput(
        provisionedModelName=name,
        modelId=FOUNDATION_MODEL,
        modelUnits=1,
        tags=[{"key": key, "value": value} for key, value in {"bmc:prefix": PREFIX, **tags}.items()],
    )["provisionedModelArn"]
    return arn


def converse(model_id: str) -> None:
    """A client calls the serving once: the simulated runtime publishes AWS/Bedrock metrics."""
    aws_client("bedrock-runtime").converse(
        modelId=model_id, messages=[{"role": "user", "content": [{"text": "Hello?"}]}]
    )


def actions(result: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(f["rule"], f["action"], f["runId"]) for f in result["findings"]]


def sweeper_messages(cloud: Cloud) -> list[dict[str, Any]]:
    return [n for n in cloud.notifications() if n["MessageAttributes"]["source"]["Value"] == "sweeper"]


# --- serving -----------------------------------------------------------------------------------


def test_a_served_run_owns_its_throughput_and_nothing_happens(cloud: Cloud) -> None:
    served(cloud, "run-1")
    result = sweep_at(cloud)
    assert result["figures"]["examined"] == 2  # the throughput and the custom model
    assert result["findings"] == [] and result["problems"] == []
    assert len(cloud.sim.throughputs()) == 1
    assert result["messageId"] is None  # no news, no message


def test_the_throughput_of_a_failed_run_is_deleted_and_recorded(cloud: Cloud) -> None:
    served(cloud, "run-1")
    cloud.registry.transition("run-1", FAILED, detail="a later step failed, cleanup did not run")
    result = sweep_at(cloud)
    assert actions(result) == [
        ("orphaned-serving", "deleted", "run-1"),
        ("stored-model", "reported", "run-1"),
    ]
    assert cloud.sim.throughputs() == []
    run = cloud.run("run-1")
    assert (
        run["serving"]["status"] == "Deleted"
        and run["serving"]["deletedReason"] == "sweeper: its run is FAILED"
    )
    assert run["sweeps"][-1]["action"] == "deleted" and run["lastSweep"]["action"] == "delete"
    figures = result["figures"]
    assert (figures["deleted"], figures["reported"], figures["orphanedServings"]) == (1, 1, 1)
    [message] = sweeper_messages(cloud)
    assert "1 deleted" in message["Message"] and "DELETED: provisioned throughput" in message["Message"]
    assert "1.95 USD per month to store" in message["Message"]
    again = sweep_at(cloud)  # idempotent: nothing left to delete, the model was reported already
    assert [f["action"] for f in again["findings"]] == ["reported"] and again["messageId"] is None


def test_report_mode_deletes_nothing_and_changes_no_run(cloud: Cloud) -> None:
    served(cloud, "run-1")
    cloud.registry.transition("run-1", FAILED, detail="cleanup did not run")
    before = cloud.run("run-1")
    result = sweep_at(cloud, mode="report")
    assert ("orphaned-serving", "reported", "run-1") in actions(result)
    assert len(cloud.sim.throughputs()) == 1
    assert cloud.run("run-1") == before
    assert "report mode" in sweeper_messages(cloud)[0]["Message"]


def test_a_tagged_throughput_no_run_knows_is_reported_never_deleted(cloud: Cloud) -> None:
    arn = unknown_throughput(**{"bmc:runId": "run-gone"})
    unknown_throughput("other-deployment", **{"bmc:prefix": "other"})
    result = sweep_at(cloud)
    assert actions(result) == [("unknown-resource", "reported", "run-gone")]
    assert result["findings"][0]["arn"] == arn and result["figures"]["examined"] == 1
    assert len(cloud.sim.throughputs()) == 2
    assert "hourly cost unknown" in result["findings"][0]["cost"]  # no sourced Nova throughput price
    assert len(sweeper_messages(cloud)) == 1
    assert sweep_at(cloud)["messageId"] is None  # reported once a day, not every hour
    cloud.sim.advance(25 * 3600)
    assert sweep_at(cloud)["messageId"] is not None


def test_a_tag_naming_a_failed_run_does_not_make_a_throughput_the_runs(cloud: Cloud) -> None:
    served(cloud, "run-1")
    cloud.registry.transition("run-1", FAILED, detail="cleanup did not run")
    arn = unknown_throughput("someone-elses", **{"bmc:runId": "run-1"})
    result = sweep_at(cloud)
    assert ("unknown-resource", "reported", "run-1") in actions(result)
    assert arn in [t.arn for t in cloud.sim.throughputs()]  # kept; only the run's own is deleted
    assert arn not in [f["arn"] for f in result["findings"] if f["action"] == "deleted"]


def test_a_serving_being_created_by_a_running_execution_is_left_alone(cloud: Cloud) -> None:
    state = collected(cloud, "run-1", serving={"mode": "provisioned"})
    step("run-1", serve.handler, state, "serving", action="start")  # DEPLOYING, Creating
    running, _ = cloud.waiting_execution("run-1-execution")
    cloud.registry.update("run-1", fields={"executionArn": running})
    result = sweep_at(cloud)
    assert result["findings"] == [] and result["figures"]["inProgress"] == 1
    assert len(cloud.sim.throughputs()) == 1


def test_a_serving_of_a_run_whose_execution_died_is_deleted_and_the_run_failed(cloud: Cloud) -> None:
    state = collected(cloud, "run-1", serving={"mode": "provisioned"})
    step("run-1", serve.handler, state, "serving", action="start")
    # The run's execution ARN names no execution: it ended (and execution_ended did not clean up).
    assert cloud.run("run-1")["executionArn"] == execution_arn("run-1")
    result = sweep_at(cloud)
    assert actions(result)[0] == ("orphaned-serving", "deleted", "run-1")
    assert cloud.sim.throughputs() == []
    run = cloud.run("run-1")
    assert run["status"] == "FAILED" and run["error"]["error"] == "OrphanedBySweeper"


def test_a_rejected_run_owns_the_serving_its_gate_kept(cloud: Cloud) -> None:
    served(cloud, "run-1")
    cloud.registry.transition("run-1", EVALUATING, detail="evaluating")
    cloud.registry.transition("run-1", REJECTED, detail="the gate failed; onFail keep")
    result = sweep_at(cloud)
    assert actions(result) == [("stored-model", "reported", "run-1")]  # a refused model still bills
    assert len(cloud.sim.throughputs()) == 1 and cloud.run("run-1")["status"] == "REJECTED"


def test_a_temporary_serving_left_after_its_evaluation_is_deleted(cloud: Cloud) -> None:
    served(cloud, "run-1")
    cloud.registry.update("run-1", fields={"serving.temporary": True})
    cloud.registry.transition("run-1", EVALUATING, detail="evaluating")
    cloud.registry.transition("run-1", COMPLETED, detail="evaluated; releasing the serving failed")
    result = sweep_at(cloud)
    assert actions(result) == [("orphaned-serving", "deleted", "run-1")]
    assert cloud.sim.throughputs() == []
    run = cloud.run("run-1")
    assert run["status"] == "COMPLETED" and run["serving"]["status"] == "Deleted"
    assert "served only the evaluation" in run["serving"]["deletedReason"]


def test_the_sweeper_enforces_ttl_hours_when_the_schedule_vanished(cloud: Cloud) -> None:
    state = served(cloud, "run-1", ttlHours=2)
    schedule = state["names"]["scheduleName"]
    cloud.scheduler.delete_schedule(
        Name=schedule, GroupName=cloud.scheduler.list_schedule_groups()["ScheduleGroups"][-1]["Name"]
    )
    cloud.sim.advance(2 * 3600 + 60)
    assert sweep_at(cloud)["findings"] == []  # within the grace period the schedule may still fire
    cloud.sim.advance(3600)
    result = sweep_at(cloud)
    assert actions(result)[0] == ("expired-serving", "deleted", "run-1")
    run = cloud.run("run-1")
    assert run["status"] == "COMPLETED" and cloud.sim.throughputs() == []
    assert run["serving"]["deletedReason"].startswith("its ttlHours ended at")


def test_a_run_that_changes_during_the_sweep_is_left_to_the_next_sweep(cloud: Cloud) -> None:
    served(cloud, "run-1")
    cloud.registry.transition("run-1", FAILED, detail="cleanup did not run")

    class Racing(Registry):
        """The API changes the run's serving between the sweeper's read and its claim."""

        def get(self, run_id: str) -> dict[str, Any] | None:
            record = super().get(run_id)
            super().update(run_id, fields={"serving.status": "Updating"})
            return record

    report = _sweeper(cloud, registry=Racing(TABLE)).run()
    assert (report.findings[0].rule, report.findings[0].action) == ("orphaned-serving", "skipped")
    assert len(cloud.sim.throughputs()) == 1
    assert "lastSweep" not in cloud.run("run-1")


def test_one_failed_call_does_not_stop_the_sweep(cloud: Cloud) -> None:
    served(cloud, "run-1")
    served(cloud, "run-2")
    for run_id in ("run-1", "run-2"):
        cloud.registry.transition(run_id, FAILED, detail="cleanup did not run")
    cloud.sim.fail_next("DeleteProvisionedModelThroughput", "InternalServerException")
    result = sweep_at(cloud)
    assert result["figures"]["deleted"] == 1 and result["figures"]["problems"] == 1
    assert "InternalServerException" in result["problems"][0]
    assert len(cloud.sim.throughputs()) == 1
    assert sweep_at(cloud)["figures"]["deleted"] == 1  # the next sweep deletes the other
    assert cloud.sim.throughputs() == []


def test_a_listing_that_fails_is_a_problem_and_the_other_kinds_are_swept(cloud: Cloud) -> None:
    served(cloud, "run-1")
    cloud.registry.transition("run-1", FAILED, detail="cleanup did not run")
    cloud.sim.fail_next("ListCustomModels", "ThrottlingException")
    result = sweep_at(cloud)
    assert actions(result) == [("orphaned-serving", "deleted", "run-1")]
    assert "ListCustomModels" in result["problems"][0]


# --- jobs and models ---------------------------------------------------------------------------


def test_a_job_still_running_for_a_failed_run_is_stopped(cloud: Cloud) -> None:
    cloud.sim.script_job(JobScript(duration_seconds=6 * 3600))
    state = submitted("run-1")
    cloud.registry.transition("run-1", FAILED, detail="the job could not be stopped")
    result = sweep_at(cloud)
    assert actions(result) == [("running-job", "stopped", "run-1")]
    cloud.sim.advance(120)
    assert cloud.sim.job(state["job"]["jobArn"]).status == "Stopped"


def test_a_job_of_a_run_that_trains_is_left_alone_while_its_execution_runs(cloud: Cloud) -> None:
    cloud.sim.script_job(JobScript(duration_seconds=6 * 3600))
    submitted("run-1")
    running, _ = cloud.waiting_execution("run-1-execution")
    cloud.registry.update("run-1", fields={"executionArn": running})
    assert sweep_at(cloud)["figures"]["inProgress"] == 1
    assert cloud.sim.running_jobs()


# --- idle ----------------------------------------------------------------------------------------


def test_an_idle_throughput_is_reported_once_with_its_cost(cloud: Cloud) -> None:
    state = served(cloud, "run-1")
    arn = state["serving"]["arn"]
    cloud.sim.advance(25 * 3600)
    result = sweep_at(cloud, IDLE_HOURS="24")
    assert actions(result) == [("idle-serving", "reported", "run-1")]
    assert cloud.run("run-1")["serving"]["idleNotifiedAt"]
    [message] = sweeper_messages(cloud)
    assert "no invocations in the last 24 hour(s)" in message["Message"]
    assert sweep_at(cloud)["messageId"] is None  # notified once
    converse(arn)
    cloud.sim.advance(60)
    assert sweep_at(cloud)["findings"] == []  # called again: no longer idle, the marker is cleared
    assert "idleNotifiedAt" not in cloud.run("run-1")["serving"]


def test_invocations_are_found_whatever_form_the_model_id_takes(cloud: Cloud) -> None:
    state = served(cloud, "run-1", mode="on-demand")
    arn = state["serving"]["arn"]
    cloud.sim.advance(25 * 3600)
    # Were Bedrock to publish a deployment's metrics under its bare id, they would still count.
    aws_client("cloudwatch").put_metric_data(
        Namespace="AWS/Bedrock",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": [{"Name": "ModelId", "Value": arn.rsplit("/", 1)[-1]}],
                "Timestamp": cloud.clock.now(),
                "Value": 1.0,
            }
        ],
    )
    cloud.sim.advance(60)
    assert sweep_at(cloud)["findings"] == []


def test_idle_action_delete_deletes_the_serving_and_records_why(cloud: Cloud) -> None:
    served(cloud, "run-1", idleAction="delete")
    cloud.sim.advance(25 * 3600)
    result = sweep_at(cloud)
    assert actions(result) == [("idle-serving", "deleted", "run-1")]
    run = cloud.run("run-1")
    assert run["status"] == "COMPLETED" and cloud.sim.throughputs() == []
    assert (
        run["serving"]["deletedReason"] == "no invocations in the last 24 hour(s): deleted by the idle guard"
    )
    assert run["statusHistory"][-1]["detail"] == run["serving"]["deletedReason"]


def test_a_young_serving_is_not_idle(cloud: Cloud) -> None:
    served(cloud, "run-1", idleAction="delete")
    cloud.sim.advance(3600)
    assert sweep_at(cloud)["findings"] == []


def test_the_sweep_logs_and_publishes_its_figures(
    cloud: Cloud, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    served(cloud, "run-1")
    with caplog.at_level("INFO"):
        sweep_at(cloud)
    [finished] = [r for r in caplog.records if r.getMessage().startswith("sweep finished")]
    assert finished.getMessage() == (
        "sweep finished: 2 examined, 0 deleted, 0 stopped, 0 reported, 0 skipped, 0 problem(s)"
    )
    assert finished.figures["examined"] == 2  # type: ignore[attr-defined]
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    [emf] = [line for line in lines if "_aws" in line and "OrphanedServings" in line]
    runs = {line["Status"]: line["RunsInStatus"] for line in lines if "RunsInStatus" in line}
    [run_dimensions] = {
        tuple(sorted(d))
        for line in lines
        if "RunsInStatus" in line
        for d in line["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    }
    assert run_dimensions == ("Deployment", "Status", "service")  # the dashboard's "runs by status"
    assert {line["service"] for line in lines if "RunsInStatus" in line} == {"sweep"}
    assert runs["IN_SERVICE"] == [1.0] and runs["FAILED"] == [0.0]
    assert len(runs) == 13  # every registry status, EVALUATING and REJECTED included
    directive = emf["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "BedrockModelCustomization"
    assert ["Deployment", "service"] in [sorted(d) for d in directive["Dimensions"]]
    assert emf["Deployment"] == PREFIX and emf["service"] == "sweep"
    assert (emf["OrphanedServings"], emf["IdleServings"], emf["SweeperResourcesExamined"]) == (
        [0.0],
        [0.0],
        [2.0],
    )


def _sweeper(cloud: Cloud, *, registry: Registry) -> Sweeper:
    now: datetime = cloud.clock.now()
    return Sweeper(
        SweepSettings(prefix=PREFIX, mode="delete", idle_hours=24, default_idle_action="notify", now=now),
        registry=registry,
        bedrock=BedrockOps(),
        execution_running=execution_probe(aws_client("stepfunctions")),
        invocations=InvocationCounter(aws_client("cloudwatch"), now, timedelta(hours=24)),
    )
