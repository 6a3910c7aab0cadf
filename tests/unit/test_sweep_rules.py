"""The sweeper's rules one at a time: what it reports and does for each kind of resource and run.

The registry is the real one on moto's DynamoDB, executions are moto's Step Functions and the
invocation counts moto's CloudWatch. Bedrock is a small account in memory that answers the
sweeper's List, tag, stop and delete calls in botocore's shapes (the sweeper's client is
injected), so a test sets a resource's status, age, model units and commitment directly.
``test_sweeper.py`` runs the same sweeper through the workflow's handlers and the simulated Bedrock.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from bmc.aws import clients
from bmc.aws import registry as reg
from bmc.aws.bedrock_ops import BedrockOps
from bmc.catalog.estimate import PriceTable, ProvisionedPrice, TokenPrice
from bmc.errors import ConfigurationError
from bmc.guardrails import report as rpt
from bmc.guardrails.idle import InvocationCounter
from bmc.guardrails.inventory import LISTINGS
from bmc.guardrails.sweep import Sweeper, SweepSettings, execution_probe
from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.unit.moto_support import ACCOUNT, aws_credentials  # noqa: F401 (autouse fixture)
from tests.unit.workflow_support import PREFIX, REGION, TABLE, aws_client, create_registry_table

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
STAMP = "2026-05-01T12:00:00.000Z"  # NOW as the registry writes it
BASE_MODEL = "meta.llama3-1-8b-instruct-v1:0:128k"
UNPRICED_MODEL = "amazon.nova-micro-v1:0:128k"
FOUNDATION_ARN = f"arn:aws:bedrock:{REGION}::foundation-model/"
# Written out, not the packaged table: each cost text below follows from these figures.
PRICES = PriceTable(
    about="rules tests",
    as_of="2026-01-01",
    currency="USD",
    source="https://aws.amazon.com/bedrock/pricing/",
    storage_per_custom_model_month=2.5,
    training_per_1k_tokens={},
    provisioned_per_model_unit_hour={
        BASE_MODEL: ProvisionedPrice(per_term={"none": 10.0, "OneMonth": 7.5}, source="rules tests")
    },
    on_demand_per_1k_tokens={BASE_MODEL: TokenPrice(input=0.001, output=0.002, source="rules tests")},
)
HOURLY = "provisioned throughput, 1 model unit(s), no commitment: 10.00 USD per hour until deleted"
ON_DEMAND_COST = (
    "on-demand deployment: no hourly charge; 0.001 USD per 1K input tokens, 0.002 USD per 1K output tokens"
)
JOB_COST = "training bills per token processed until the job stops"
STORAGE = "2.50 USD per month to store"
SERIALIZER = TypeSerializer()
FINDING_FIELDS = ("rule", "action", "kind", "arn", "name", "runId", "runStatus", "reason", "cost")

# The sweeper's inventory reads each kind's List call in botocore's output shapes; the account
# answers in the same shapes (the listings' keys are the inventory's, checked against the
# simulated Bedrock by test_sweeper.py).
LISTING = {listing.kind: listing for listing in LISTINGS}
ARN_TYPE = {
    "provisioned": "provisioned-model",
    "on-demand": "custom-model-deployment",
    "job": "model-customization-job",
    "custom-model": "custom-model",
}
READY = {"provisioned": "InService", "on-demand": "Active", "job": "InProgress", "custom-model": "Active"}


class Account:
    """The Bedrock account as the sweeper reads it: four listings, tags, stop and delete."""

    def __init__(self) -> None:
        self.summaries: dict[str, list[dict[str, Any]]] = {kind: [] for kind in LISTING}
        self.tags: dict[str, list[dict[str, str]]] = {}
        self.calls: list[tuple[str, str]] = []
        self.failing: dict[str, str] = {}  # operation -> error code

    def add(
        self,
        kind: str,
        name: str,
        *,
        run_id: str | None = "run-1",
        status: str | None = None,
        age: timedelta = timedelta(hours=1),
        **details: Any,
    ) -> str:
        listing = LISTING[kind]
        arn = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:{ARN_TYPE[kind]}/{name[-12:]:0>12}"
        summary = {
            listing.arn_key: arn,
            listing.name_key: name,
            listing.status_key: status or READY[kind],
            listing.created_key: NOW - age,
            **details,
        }
        self.summaries[kind].append(summary)
        tags = {"bmc:prefix": PREFIX, **({"bmc:runId": run_id} if run_id else {})}
        self.tags[arn] = [{"key": key, "value": value} for key, value in tags.items()]
        return arn

    def _fail(self, operation: str) -> None:
        if operation in self.failing:
            code = self.failing.pop(operation)
            raise ClientError({"Error": {"Code": code, "Message": "failed"}}, operation)

    def _list(self, kind: str) -> dict[str, Any]:
        self._fail(LISTING[kind].operation)
        return {LISTING[kind].items_key: list(self.summaries[kind])}

    def list_provisioned_model_throughputs(self, **_: Any) -> dict[str, Any]:
        return self._list("provisioned")

    def list_custom_model_deployments(self, **_: Any) -> dict[str, Any]:
        return self._list("on-demand")

    def list_model_customization_jobs(self, **_: Any) -> dict[str, Any]:
        return self._list("job")

    def list_custom_models(self, **_: Any) -> dict[str, Any]:
        return self._list("custom-model")

    def list_tags_for_resource(self, **params: str) -> dict[str, Any]:
        return {"tags": self.tags[params["resourceARN"]]}

    def stop_model_customization_job(self, **params: str) -> dict[str, Any]:
        self.calls.append(("StopModelCustomizationJob", params["jobIdentifier"]))
        return {}

    def delete_provisioned_model_throughput(self, **params: str) -> dict[str, Any]:
        self._fail("DeleteProvisionedModelThroughput")
        return self._delete("provisioned", "DeleteProvisionedModelThroughput", params["provisionedModelId"])

    def delete_custom_model_deployment(self, **params: str) -> dict[str, Any]:
        return self._delete(
            "on-demand", "DeleteCustomModelDeployment", params["customModelDeploymentIdentifier"]
        )

    def _delete(self, kind: str, operation: str, identifier: str) -> dict[str, Any]:
        self.calls.append((operation, identifier))
        arn_key = LISTING[kind].arn_key
        self.summaries[kind] = [s for s in self.summaries[kind] if identifier != s[arn_key]]
        return {}


@dataclass
class World:
    bedrock: Account = field(default_factory=Account)
    registry: reg.Registry = field(default_factory=lambda: reg.Registry(TABLE))
    state_machine_arn: str = ""

    def put_run(self, run_id: str, status: str, **fields: Any) -> dict[str, Any]:
        """A run record as the workflow leaves it, written in one request."""
        record = {
            "runId": run_id,
            "recordType": reg.RECORD_TYPE,
            "createdAt": "2026-04-30T08:00:00.000Z",
            "updatedAt": "2026-04-30T08:00:00.000Z",
            "status": status,
            "statusHistory": [
                {"status": "PENDING", "at": "2026-04-30T08:00:00.000Z", "detail": "run registered"}
            ],
            "team": "team:support",
            "executionArn": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:bmc:{run_id}",
            "spec": {"baseModel": BASE_MODEL},
            **fields,
        }
        item = {key: SERIALIZER.serialize(value) for key, value in record.items()}
        aws_client("dynamodb").put_item(TableName=TABLE, Item=item)
        return self.run(run_id)

    def run(self, run_id: str) -> dict[str, Any]:
        record = self.registry.get(run_id)
        assert record is not None
        return record

    def running_execution(self, name: str) -> str:
        arn: str = aws_client("stepfunctions").start_execution(
            stateMachineArn=self.state_machine_arn, name=name
        )["executionArn"]
        return arn

    def sweep(
        self,
        *,
        mode: str = "delete",
        idle_hours: int = 24,
        default_idle_action: str = "notify",
        reported_before: dict[str, Any] | None = None,
        counting: bool = True,
        registry: reg.Registry | None = None,
        cloudwatch: Any = None,
    ) -> rpt.SweepReport:
        window = timedelta(hours=idle_hours)
        cloudwatch = cloudwatch or aws_client("cloudwatch")
        return Sweeper(
            SweepSettings(PREFIX, mode, idle_hours, default_idle_action, NOW),
            registry=registry or self.registry,
            bedrock=BedrockOps(self.bedrock),
            execution_running=execution_probe(aws_client("stepfunctions")),
            invocations=InvocationCounter(cloudwatch, NOW, window) if counting else None,
            reported_before=reported_before or {},
            prices=PRICES,
        ).run()


@pytest.fixture
def world() -> Iterator[World]:
    with mock.patch.dict(os.environ, {"AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}), mock_aws():
        clients.reset()
        create_registry_table(aws_client("dynamodb"))
        machine = aws_client("stepfunctions").create_state_machine(
            name="bmc",
            definition='{"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": true}}}',
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/states",
        )["stateMachineArn"]
        try:
            yield World(state_machine_arn=machine)
        finally:
            clients.reset()


def entries(report: rpt.SweepReport) -> list[dict[str, Any]]:
    return [{**finding.to_dict(), "news": finding.news} for finding in report.findings]


def finding(*fields: str | None, news: bool = True) -> dict[str, Any]:
    """A finding as ``Finding.to_dict`` gives it: rule, action, kind, arn, name, runId, runStatus,
    reason and cost, in that order, and whether it is news."""
    return {**dict(zip(FINDING_FIELDS, fields, strict=True)), "news": news}


def on_run_1(
    rule: str, action: str, arn: str, status: str, why: str, *, cost: str = HOURLY
) -> dict[str, Any]:
    """A finding about run-1's throughput ``bmc-run-1-serving``."""
    return finding(rule, action, "provisioned", arn, "bmc-run-1-serving", "run-1", status, why, cost)


def sweep_entry(kind: str, arn: str, action: str, reason: str, mode: str = "delete") -> dict[str, Any]:
    return {"at": STAMP, "action": action, "kind": kind, "arn": arn, "reason": reason, "mode": mode}


def throughput(world: World, name: str = "bmc-run-1-serving", **options: Any) -> str:
    return world.bedrock.add("provisioned", name, foundationModelArn=FOUNDATION_ARN + BASE_MODEL, **options)


def serving_record(arn: str, name: str = "bmc-run-1-serving", **fields: Any) -> dict[str, Any]:
    return {"kind": "provisioned", "arn": arn, "name": name, "status": "InService", **fields}


def invoked(model_id: str, calls: float, at: datetime) -> None:
    aws_client("cloudwatch").put_metric_data(
        Namespace="AWS/Bedrock",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": [{"Name": "ModelId", "Value": model_id}],
                "Timestamp": at,
                "Value": calls,
            }
        ],
    )


# --- what cannot be attributed to a run ---------------------------------------------------------


def test_a_serving_without_a_run_id_tag_is_reported_never_touched(world: World) -> None:
    arn = throughput(world, "bmc-by-hand", run_id=None)
    report = world.sweep()
    reason = "tagged for this deployment without a bmc:runId tag"
    assert entries(report) == [
        finding("unknown-resource", "reported", "provisioned", arn, "bmc-by-hand", None, None, reason, HOURLY)
    ]
    assert world.bedrock.calls == [] and report.examined == 1


def test_resources_of_a_run_the_registry_does_not_know_are_reported_with_their_cost(world: World) -> None:
    job = world.bedrock.add("job", "bmc-run-gone-job", run_id="run-gone")
    model = world.bedrock.add("custom-model", "bmc-run-gone-model", run_id="run-gone")
    report = world.sweep()
    reason = "tagged for this deployment, but run run-gone is not in the registry"
    assert entries(report) == [
        finding(
            "unknown-resource",
            "reported",
            "job",
            job,
            "bmc-run-gone-job",
            "run-gone",
            None,
            reason,
            "billed while it runs",
        ),
        finding(
            "unknown-resource",
            "reported",
            "custom-model",
            model,
            "bmc-run-gone-model",
            "run-gone",
            None,
            reason,
            STORAGE,
        ),
    ]
    assert world.bedrock.calls == []


@pytest.mark.parametrize(
    ("kind", "recorded"),
    [
        ("provisioned", {"serving": {"kind": "provisioned", "arn": "arn:other", "status": "InService"}}),
        ("provisioned", {"names": {"provisionedModelName": "bmc-run-1-serving", "jobName": "tagged"}}),
        ("on-demand", {"names": {"deploymentName": "bmc-run-1-serving", "customModelName": "tagged"}}),
        (
            "job",
            {"jobArn": "arn:other", "names": {"jobName": "bmc-run-1-job", "provisionedModelName": "tagged"}},
        ),
        ("custom-model", {"customModelArn": "arn:other", "names": {"customModelName": "bmc-run-1-model"}}),
    ],
)
def test_a_tag_alone_never_makes_a_resource_a_runs(world: World, kind: str, recorded: dict[str, Any]) -> None:
    world.put_run("run-1", "FAILED", **recorded)
    arn = world.bedrock.add(kind, "tagged", foundationModelArn=FOUNDATION_ARN + UNPRICED_MODEL)
    report = world.sweep()
    reason = "tagged for run run-1, but that run's record does not name this resource"
    [entry] = entries(report)
    assert {**entry, "cost": ""} == finding(
        "unknown-resource", "reported", kind, arn, "tagged", "run-1", None, reason, ""
    )
    assert world.bedrock.calls == [] and "sweeps" not in world.run("run-1")


@pytest.mark.parametrize(
    ("kind", "recorded", "rule", "action"),
    [
        ("provisioned", {"names": {"provisionedModelName": "bmc-run-1-it"}}, "orphaned-serving", "deleted"),
        ("on-demand", {"names": {"deploymentName": "bmc-run-1-it"}}, "orphaned-serving", "deleted"),
        ("job", {"names": {"jobName": "bmc-run-1-it"}}, "running-job", "stopped"),
        ("custom-model", {"names": {"customModelName": "bmc-run-1-it"}}, "stored-model", "reported"),
    ],
)
def test_the_name_the_run_gives_a_resource_makes_it_the_runs(
    world: World, kind: str, recorded: dict[str, Any], rule: str, action: str
) -> None:
    world.put_run("run-1", "FAILED", **recorded)
    world.bedrock.add(kind, "bmc-run-1-it")
    assert [(f.rule, f.action, f.run_id, f.run_status) for f in world.sweep().findings] == [
        (rule, action, "run-1", "FAILED")
    ]


@pytest.mark.parametrize(("kind", "key"), [("job", "jobArn"), ("custom-model", "customModelArn")])
def test_the_arn_a_run_records_makes_a_job_or_model_the_runs(world: World, kind: str, key: str) -> None:
    arn = world.bedrock.add(kind, "named-otherwise")
    world.put_run("run-1", "STOPPED", **{key: arn})
    assert [(f.rule, f.run_id) for f in world.sweep().findings] == [
        ("running-job" if kind == "job" else "stored-model", "run-1")
    ]


# --- servings -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["IN_SERVICE", "COMPLETED", "REJECTED"])
def test_a_served_run_owns_its_serving_and_nothing_happens(world: World, status: str) -> None:
    arn = throughput(world)
    world.put_run("run-1", status, serving=serving_record(arn))
    report = world.sweep()
    assert report.findings == [] and report.in_progress == [] and report.problems == []
    assert world.bedrock.calls == [] and report.examined == 1


def test_a_serving_recorded_without_its_kind_is_the_runs_by_its_arn(world: World) -> None:
    arn = throughput(world)
    world.put_run("run-1", "IN_SERVICE", serving={"arn": arn, "status": "InService"})
    assert world.sweep().findings == []


def test_a_serving_recorded_by_name_before_its_arn_is_the_runs(world: World) -> None:
    throughput(world)
    world.put_run(
        "run-1",
        "IN_SERVICE",
        serving={"kind": "provisioned", "name": "bmc-run-1-serving"},
        names={"provisionedModelName": "bmc-run-1-serving"},
    )
    assert world.sweep().findings == []


def test_a_serving_of_a_run_in_progress_is_left_alone_while_its_execution_runs(world: World) -> None:
    arn = throughput(world, status="Creating")
    world.put_run(
        "run-1",
        "DEPLOYING",
        serving=serving_record(arn, status="Creating"),
        executionArn=world.running_execution("run-1"),
    )
    report = world.sweep()
    assert report.findings == [] and report.in_progress == [arn] and world.bedrock.calls == []


def test_a_serving_whose_runs_execution_ended_is_deleted_and_the_run_failed(world: World) -> None:
    arn = throughput(world, status="Creating")
    world.put_run(
        "run-1",
        "DEPLOYING",
        serving=serving_record(arn, status="Creating"),
        taskToken="token",
        awaiting="job",
    )
    report = world.sweep()
    why = "its run is DEPLOYING but its execution has ended"
    assert entries(report) == [on_run_1("orphaned-serving", "deleted", arn, "DEPLOYING", why)]
    assert world.bedrock.calls == [("DeleteProvisionedModelThroughput", arn)]
    run = world.run("run-1")
    cause = f"the sweeper found provisioned throughput bmc-run-1-serving (Creating) while {why}"
    assert run["status"] == "FAILED" and run["statusHistory"][-1]["detail"] == cause
    assert run["error"] == {"error": "OrphanedBySweeper", "cause": cause}
    assert "taskToken" not in run and "awaiting" not in run
    assert run["serving"] == serving_record(
        arn, status="Deleted", deletedAt=STAMP, deletedReason=f"sweeper: {why}"
    )
    assert run["sweeps"] == [sweep_entry("provisioned", arn, "deleted", why)]
    assert run["lastSweep"] == sweep_entry("provisioned", arn, "delete", why)


def test_a_run_without_an_execution_has_none_running(world: World) -> None:
    arn = throughput(world, status="Creating")
    record = world.put_run("run-1", "DEPLOYING", serving=serving_record(arn, status="Creating"))
    aws_client("dynamodb").update_item(
        TableName=TABLE, Key={"runId": {"S": "run-1"}}, UpdateExpression="REMOVE executionArn"
    )
    assert "executionArn" in record and "executionArn" not in world.run("run-1")
    report = world.sweep()
    assert [(f.rule, f.action) for f in report.findings] == [("orphaned-serving", "deleted")]
    assert report.problems == []


@pytest.mark.parametrize(("status", "ends"), [("COMPLETED", "COMPLETED"), ("EVALUATING", "FAILED")])
def test_a_temporary_serving_belongs_to_the_execution_not_the_run(
    world: World, status: str, ends: str
) -> None:
    arn = throughput(world)
    world.put_run(
        "run-1",
        status,
        serving=serving_record(arn, temporary=True),
        executionArn=world.running_execution("run-1"),
    )
    report = world.sweep()
    assert report.findings == [] and report.in_progress == [arn]
    aws_client("stepfunctions").stop_execution(executionArn=world.run("run-1")["executionArn"])
    report = world.sweep()
    why = f"it served only the evaluation of its run ({status}), whose execution has ended"
    assert entries(report) == [on_run_1("orphaned-serving", "deleted", arn, status, why)]
    run = world.run("run-1")
    assert run["status"] == ends and run["serving"]["deletedReason"] == f"sweeper: {why}"


def test_a_serving_the_record_says_was_deleted_is_an_orphan_even_while_the_execution_runs(
    world: World,
) -> None:
    arn = throughput(world)
    world.put_run(
        "run-1",
        "COMPLETED",
        serving=serving_record(arn, temporary=True, status="Deleted"),
        executionArn=world.running_execution("run-1"),
    )
    report = world.sweep()
    why = "its run's registry record says this serving was deleted"
    assert entries(report) == [on_run_1("orphaned-serving", "deleted", arn, "COMPLETED", why)]
    assert report.in_progress == [] and world.run("run-1")["status"] == "COMPLETED"


@pytest.mark.parametrize("status", ["FAILED", "STOPPED", "DELETED"])
def test_a_serving_of_a_failed_stopped_or_deleted_run_is_deleted(world: World, status: str) -> None:
    arn = world.bedrock.add("on-demand", "bmc-run-1-serving")
    world.put_run("run-1", status, serving={"kind": "on-demand", "arn": arn, "status": "Active"})
    report = world.sweep()
    why = f"its run is {status}"
    assert entries(report) == [
        finding(
            "orphaned-serving",
            "deleted",
            "on-demand",
            arn,
            "bmc-run-1-serving",
            "run-1",
            status,
            why,
            ON_DEMAND_COST,
        )
    ]
    assert world.bedrock.calls == [("DeleteCustomModelDeployment", arn)]
    run = world.run("run-1")
    assert run["status"] == status and "error" not in run
    assert run["serving"]["status"] == "Deleted" and run["serving"]["deletedReason"] == f"sweeper: {why}"


@pytest.mark.parametrize(
    ("recorded", "text"),
    [
        (
            {"kind": "provisioned", "arn": "arn:recorded", "status": "InService"},
            "provisioned serving arn:recorded (InService)",
        ),
        (
            {"kind": "provisioned", "name": "bmc-run-1-first", "status": "Creating"},
            "provisioned serving bmc-run-1-first (Creating)",
        ),
        (
            {"kind": "on-demand", "name": "bmc-run-1-serving", "status": "Active"},
            "on-demand serving bmc-run-1-serving (Active)",
        ),
        (None, "no serving"),
    ],
)
def test_a_serving_the_runs_record_does_not_name_is_deleted_and_the_reason_names_what_it_records(
    world: World, recorded: dict[str, Any] | None, text: str
) -> None:
    arn = throughput(world)
    serving = {"serving": recorded} if recorded else {}
    world.put_run("run-1", "IN_SERVICE", names={"provisionedModelName": "bmc-run-1-serving"}, **serving)
    report = world.sweep()
    why = f"its run is IN_SERVICE but records {text}, not this resource"
    assert entries(report) == [on_run_1("orphaned-serving", "deleted", arn, "IN_SERVICE", why)]
    run = world.run("run-1")
    assert run["status"] == "IN_SERVICE" and run.get("serving") == recorded  # the recorded one is kept
    assert run["sweeps"] == [sweep_entry("provisioned", arn, "deleted", why)]


def test_report_mode_changes_nothing(world: World) -> None:
    arn = throughput(world, status="Creating")
    before = world.put_run("run-1", "DEPLOYING", serving=serving_record(arn, status="Creating"))
    report = world.sweep(mode="report")
    why = "its run is DEPLOYING but its execution has ended"
    assert entries(report) == [on_run_1("orphaned-serving", "reported", arn, "DEPLOYING", why)]
    assert world.bedrock.calls == [] and world.run("run-1") == before


@pytest.mark.parametrize(
    ("ends", "reported"),
    [(NOW + timedelta(days=20), True), (NOW, False), (NOW - timedelta(days=1), False)],
)
def test_a_committed_throughput_is_reported_until_its_term_ends(
    world: World, ends: datetime, reported: bool
) -> None:
    arn = throughput(world, modelUnits=2, commitmentDuration="OneMonth", commitmentExpirationTime=ends)
    world.put_run("run-1", "FAILED", serving=serving_record(arn))
    report = world.sweep()
    cost = "provisioned throughput, 2 model unit(s), 1-month term: 15.00 USD per hour, 10,950.00 USD over the term"
    why = "its run is FAILED"
    if reported:
        why += "; committed until 2026-05-21T12:00:00+00:00, so it cannot be deleted before"
    action = "reported" if reported else "deleted"
    assert entries(report) == [
        finding(
            "orphaned-serving", action, "provisioned", arn, "bmc-run-1-serving", "run-1", "FAILED", why, cost
        )
    ]
    assert world.bedrock.calls == ([] if reported else [("DeleteProvisionedModelThroughput", arn)])


# --- the TTL's second line ----------------------------------------------------------------------


def test_an_owned_serving_past_its_ttl_and_the_grace_is_deleted_and_the_run_completed(world: World) -> None:
    arn = throughput(world)
    expires = "2026-05-01T11:29:59.000Z"  # 30 minutes and one second ago
    world.put_run("run-1", "IN_SERVICE", serving=serving_record(arn, expiresAt=expires))
    report = world.sweep()
    why = f"its ttlHours ended at {expires} and it still exists"
    assert entries(report) == [on_run_1("expired-serving", "deleted", arn, "IN_SERVICE", why)]
    assert world.bedrock.calls == [("DeleteProvisionedModelThroughput", arn)]
    run = world.run("run-1")
    assert run["status"] == "COMPLETED" and run["statusHistory"][-1]["detail"] == why
    assert run["serving"]["status"] == "Deleted" and run["serving"]["deletedReason"] == why
    assert run["sweeps"] == [sweep_entry("provisioned", arn, "deleted", why)]
    assert run["lastSweep"] == sweep_entry("provisioned", arn, "delete", why)


def test_a_serving_within_the_grace_after_its_ttl_is_left_to_its_schedule(world: World) -> None:
    arn = throughput(world)
    world.put_run("run-1", "COMPLETED", serving=serving_record(arn, expiresAt="2026-05-01T11:30:00+00:00"))
    assert world.sweep().findings == [] and world.bedrock.calls == []


def test_an_expired_serving_is_only_reported_in_report_mode(world: World) -> None:
    arn = throughput(world)
    before = world.put_run(
        "run-1", "IN_SERVICE", serving=serving_record(arn, expiresAt="2026-05-01T09:00:00Z")
    )
    report = world.sweep(mode="report")
    why = "its ttlHours ended at 2026-05-01T09:00:00Z and it still exists"
    assert entries(report) == [on_run_1("expired-serving", "reported", arn, "IN_SERVICE", why)]
    assert world.bedrock.calls == [] and world.run("run-1") == before


# --- a run that changes during the sweep ---------------------------------------------------------


class Racing(reg.Registry):
    """The workflow or the API changes the run's serving between the sweeper's read and its claim."""

    def get(self, run_id: str) -> dict[str, Any] | None:
        record = super().get(run_id)
        super().update(run_id, fields={"serving.status": "Updating"})
        return record


@pytest.mark.parametrize(
    ("kind", "status", "rule", "why"),
    [
        ("provisioned", "FAILED", "orphaned-serving", "its run is FAILED"),
        (
            "provisioned",
            "IN_SERVICE",
            "expired-serving",
            "its ttlHours ended at 2026-05-01T09:00:00Z and it still exists",
        ),
        ("job", "FAILED", "running-job", "its run is FAILED: the job no longer serves it"),
    ],
)
def test_a_run_that_changes_during_the_sweep_is_left_to_the_next_sweep(
    world: World, kind: str, status: str, rule: str, why: str
) -> None:
    arn = world.bedrock.add(kind, "bmc-run-1-it", foundationModelArn=FOUNDATION_ARN + BASE_MODEL)
    serving = serving_record(arn, name="bmc-run-1-it", expiresAt="2026-05-01T09:00:00Z")
    world.put_run("run-1", status, serving=serving, jobArn=arn)
    report = world.sweep(registry=Racing(TABLE))
    cost = JOB_COST if kind == "job" else HOURLY
    changed = f"{why}; the run changed during the sweep, so the next sweep decides"
    assert entries(report) == [
        finding(rule, "skipped", kind, arn, "bmc-run-1-it", "run-1", status, changed, cost, news=False)
    ]
    run = world.run("run-1")
    assert world.bedrock.calls == [] and "lastSweep" not in run and "sweeps" not in run
    assert run["status"] == status


# --- jobs and custom models ----------------------------------------------------------------------


@pytest.mark.parametrize("status", ["VALIDATING", "QUEUED", "TRAINING"])
def test_a_job_of_a_training_run_is_left_alone_while_its_execution_runs(world: World, status: str) -> None:
    arn = world.bedrock.add("job", "bmc-run-1-job")
    world.put_run("run-1", status, jobArn=arn, executionArn=world.running_execution("run-1"))
    report = world.sweep()
    assert report.findings == [] and report.in_progress == [arn] and world.bedrock.calls == []


def test_a_job_whose_runs_execution_ended_is_stopped_and_the_run_failed(world: World) -> None:
    arn = world.bedrock.add("job", "bmc-run-1-job")
    world.put_run("run-1", "TRAINING", jobArn=arn, taskToken="token", awaiting="job")
    report = world.sweep()
    why = "its run is TRAINING but its execution has ended"
    assert entries(report) == [
        finding("running-job", "stopped", "job", arn, "bmc-run-1-job", "run-1", "TRAINING", why, JOB_COST)
    ]
    assert world.bedrock.calls == [("StopModelCustomizationJob", arn)]
    run = world.run("run-1")
    cause = f"the sweeper found job bmc-run-1-job (InProgress) while {why}"
    assert run["status"] == "FAILED" and run["error"] == {"error": "OrphanedBySweeper", "cause": cause}
    assert "taskToken" not in run and "awaiting" not in run and "serving" not in run
    assert run["sweeps"] == [sweep_entry("job", arn, "stopped", why)]
    assert run["lastSweep"] == sweep_entry("job", arn, "stop", why)


@pytest.mark.parametrize("status", ["FAILED", "COMPLETED", "STOPPED"])
def test_a_job_still_running_for_a_finished_run_is_stopped_and_the_run_kept(
    world: World, status: str
) -> None:
    arn = world.bedrock.add("job", "bmc-run-1-job")
    world.put_run("run-1", status, jobArn=arn)
    report = world.sweep()
    why = f"its run is {status}: the job no longer serves it"
    assert entries(report) == [
        finding("running-job", "stopped", "job", arn, "bmc-run-1-job", "run-1", status, why, JOB_COST)
    ]
    run = world.run("run-1")
    assert run["status"] == status and "error" not in run and run["statusHistory"][-1]["status"] == "PENDING"
    assert run["sweeps"] == [sweep_entry("job", arn, "stopped", why)]


def test_a_job_is_only_reported_in_report_mode(world: World) -> None:
    arn = world.bedrock.add("job", "bmc-run-1-job")
    before = world.put_run("run-1", "TRAINING", jobArn=arn)
    report = world.sweep(mode="report")
    why = "its run is TRAINING but its execution has ended"
    assert entries(report) == [
        finding("running-job", "reported", "job", arn, "bmc-run-1-job", "run-1", "TRAINING", why, JOB_COST)
    ]
    assert world.bedrock.calls == [] and world.run("run-1") == before


@pytest.mark.parametrize("status", ["FAILED", "STOPPED", "DELETED", "REJECTED"])
def test_the_custom_model_of_an_unused_run_is_reported_with_its_storage_never_deleted(
    world: World, status: str
) -> None:
    arn = world.bedrock.add("custom-model", "bmc-run-1-model")
    world.put_run("run-1", status, customModelArn=arn)
    report = world.sweep()
    why = (
        f"custom model of a {status} run: delete it (DELETE /custom-models/{{id}} or the Bedrock console) "
        "when no longer needed"
    )
    assert entries(report) == [
        finding(
            "stored-model", "reported", "custom-model", arn, "bmc-run-1-model", "run-1", status, why, STORAGE
        )
    ]
    assert world.bedrock.calls == [] and "sweeps" not in world.run("run-1")


@pytest.mark.parametrize("status", ["TRAINED", "IN_SERVICE", "COMPLETED", "EVALUATING"])
def test_the_custom_model_of_a_run_that_uses_it_is_not_reported(world: World, status: str) -> None:
    arn = world.bedrock.add("custom-model", "bmc-run-1-model")
    world.put_run("run-1", status, customModelArn=arn)
    assert world.sweep().findings == []


# --- cost texts ---------------------------------------------------------------------------------


def test_the_serving_cost_is_of_the_runs_base_model_else_the_listed_one(world: World) -> None:
    mine = world.bedrock.add("provisioned", "bmc-run-1-a", foundationModelArn=FOUNDATION_ARN + UNPRICED_MODEL)
    theirs = world.bedrock.add(
        "provisioned", "bmc-run-2-a", modelUnits=3, foundationModelArn=FOUNDATION_ARN + BASE_MODEL
    )
    world.put_run("run-1", "FAILED", serving=serving_record(mine, name="bmc-run-1-a"))
    world.put_run("run-2", "FAILED", serving=serving_record(theirs, name="bmc-run-2-a"), spec={})
    costs = {f.resource.arn: f.cost for f in world.sweep().findings}
    assert costs == {
        mine: HOURLY,
        theirs: "provisioned throughput, 3 model unit(s), no commitment: 30.00 USD per hour until deleted",
    }


# --- the idle guard -----------------------------------------------------------------------------


def test_an_owned_serving_idle_for_idle_hours_is_reported_once_with_its_cost(world: World) -> None:
    arn = throughput(world, age=timedelta(hours=6))  # exactly the window
    world.put_run("run-1", "IN_SERVICE", serving=serving_record(arn))
    invoked(arn, 3, NOW - timedelta(hours=7))  # before the window
    report = world.sweep(idle_hours=6)
    why = "no invocations in the last 6 hour(s)"
    expected = on_run_1("idle-serving", "reported", arn, "IN_SERVICE", why)
    assert entries(report) == [expected]
    assert world.run("run-1")["serving"]["idleNotifiedAt"] == STAMP and world.bedrock.calls == []
    assert entries(world.sweep(idle_hours=6)) == [{**expected, "news": False}]  # reported once


def test_a_serving_younger_than_the_window_not_ready_or_of_unknown_age_is_not_idle(world: World) -> None:
    young = throughput(world, "bmc-run-1-young", age=timedelta(hours=6) - timedelta(seconds=1))
    updating = throughput(
        world, "bmc-run-2-updating", run_id="run-2", status="Updating", age=timedelta(days=3)
    )
    undated = throughput(world, "bmc-run-3-undated", run_id="run-3", age=timedelta(days=3))
    world.bedrock.summaries["provisioned"][-1]["creationTime"] = None
    for run_id, arn, name in (
        ("run-1", young, "young"),
        ("run-2", updating, "updating"),
        ("run-3", undated, "undated"),
    ):
        world.put_run(run_id, "IN_SERVICE", serving=serving_record(arn, name=f"bmc-{run_id}-{name}"))
    report = world.sweep(idle_hours=6)
    assert report.findings == [] and report.problems == []


def test_an_active_deployment_without_invocations_is_idle(world: World) -> None:
    arn = world.bedrock.add("on-demand", "bmc-run-1-serving", age=timedelta(days=2))
    world.put_run("run-1", "COMPLETED", serving={"kind": "on-demand", "arn": arn, "status": "Active"})
    report = world.sweep()
    why = "no invocations in the last 24 hour(s)"
    assert entries(report) == [
        finding(
            "idle-serving",
            "reported",
            "on-demand",
            arn,
            "bmc-run-1-serving",
            "run-1",
            "COMPLETED",
            why,
            ON_DEMAND_COST,
        )
    ]


@pytest.mark.parametrize("model_id", ["arn", "bare id"])
def test_a_serving_called_again_is_not_idle_and_a_later_idle_period_is_news_again(
    world: World, model_id: str
) -> None:
    arn = throughput(world, age=timedelta(days=2))
    world.put_run(
        "run-1", "IN_SERVICE", serving=serving_record(arn, idleNotifiedAt="2026-04-30T12:00:00.000Z")
    )
    # Bedrock's ModelId dimension may hold the ARN or the resource's id: either counts.
    invoked(arn if model_id == "arn" else arn.rsplit("/", 1)[-1], 1, NOW - timedelta(hours=1))
    assert world.sweep().findings == []
    assert "idleNotifiedAt" not in world.run("run-1")["serving"]


def test_without_an_invocation_counter_nothing_is_idle(world: World) -> None:
    arn = throughput(world, age=timedelta(days=2))
    world.put_run("run-1", "IN_SERVICE", serving=serving_record(arn))
    report = world.sweep(counting=False)
    assert report.findings == [] and report.problems == []


@pytest.mark.parametrize(
    ("spec_serving", "default", "deleted"),
    [
        ({"mode": "provisioned", "idleAction": "delete"}, "notify", True),
        ({"mode": "provisioned", "idleAction": "notify"}, "delete", False),
        ({"mode": "provisioned"}, "delete", False),  # the spec's own default: notify
        ({"mode": "none", "idleAction": "notify"}, "delete", True),  # a throughput added through the API
        (None, "delete", True),
        (None, "notify", False),
    ],
)
def test_the_idle_action_is_the_specs_else_the_deployments_default(
    world: World, spec_serving: dict[str, Any] | None, default: str, deleted: bool
) -> None:
    arn = throughput(world, age=timedelta(days=2))
    spec = {"baseModel": BASE_MODEL, **({"serving": spec_serving} if spec_serving else {})}
    world.put_run("run-1", "IN_SERVICE", serving=serving_record(arn), spec=spec)
    report = world.sweep(default_idle_action=default)
    why = "no invocations in the last 24 hour(s)"
    if deleted:
        why += ": deleted by the idle guard"
    action = "deleted" if deleted else "reported"
    assert entries(report) == [
        finding(
            "idle-serving",
            action,
            "provisioned",
            arn,
            "bmc-run-1-serving",
            "run-1",
            "IN_SERVICE",
            why,
            HOURLY,
        )
    ]
    run = world.run("run-1")
    if deleted:
        assert world.bedrock.calls == [("DeleteProvisionedModelThroughput", arn)]
        assert run["status"] == "COMPLETED" and run["serving"]["deletedReason"] == why
        assert run["sweeps"] == [sweep_entry("provisioned", arn, "deleted", why)]
    else:
        assert world.bedrock.calls == [] and run["status"] == "IN_SERVICE" and "sweeps" not in run


def test_an_idle_committed_throughput_is_reported_even_with_idle_action_delete(world: World) -> None:
    arn = throughput(world, age=timedelta(days=2), commitmentExpirationTime=NOW + timedelta(days=3))
    world.put_run(
        "run-1",
        "IN_SERVICE",
        serving=serving_record(arn),
        spec={"serving": {"mode": "provisioned", "idleAction": "delete"}},
    )
    report = world.sweep()
    assert [(f.rule, f.action, f.reason) for f in report.findings] == [
        ("idle-serving", "reported", "no invocations in the last 24 hour(s)")
    ]
    assert world.bedrock.calls == []


class ThrottledCloudWatch:
    """CloudWatch refusing every ListMetrics call."""

    def list_metrics(self, **_: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "ListMetrics")


def test_a_failed_invocation_count_is_a_problem_and_the_other_findings_stand(world: World) -> None:
    idle = throughput(world, age=timedelta(days=2))
    orphan = throughput(world, "bmc-run-2-serving", run_id="run-2")
    world.put_run("run-1", "IN_SERVICE", serving=serving_record(idle))
    world.put_run("run-2", "FAILED", serving=serving_record(orphan, name="bmc-run-2-serving"))
    report = world.sweep(cloudwatch=ThrottledCloudWatch())
    assert [(f.run_id, f.action) for f in report.findings] == [("run-2", "deleted")]
    assert report.problems == [
        "the idle guard: ClientError: An error occurred (Throttling) when calling the ListMetrics "
        "operation: Rate exceeded"
    ]


def test_an_idle_serving_whose_deletion_fails_is_a_problem_and_the_next_is_checked(world: World) -> None:
    first = throughput(world, age=timedelta(days=2))
    second = throughput(world, "bmc-run-2-serving", run_id="run-2", age=timedelta(days=2))
    spec = {"baseModel": BASE_MODEL, "serving": {"mode": "provisioned", "idleAction": "delete"}}
    world.put_run("run-1", "IN_SERVICE", serving=serving_record(first), spec=spec)
    world.put_run("run-2", "IN_SERVICE", serving=serving_record(second, name="bmc-run-2-serving"), spec=spec)
    world.bedrock.failing = {"DeleteProvisionedModelThroughput": "InternalServerException"}
    report = world.sweep()
    assert [(f.run_id, f.rule, f.action) for f in report.findings] == [("run-2", "idle-serving", "deleted")]
    assert report.problems == [
        f"idle check of {first}: BedrockUnavailable: DeleteProvisionedModelThroughput: "
        "InternalServerException: failed"
    ]


def test_a_temporary_serving_the_run_records_does_not_make_another_serving_temporary(world: World) -> None:
    other = throughput(world, "bmc-run-1-evaluation")
    arn = throughput(world)
    world.put_run(
        "run-1",
        "COMPLETED",
        serving=serving_record(other, name="bmc-run-1-evaluation", temporary=True),
        names={"provisionedModelName": "bmc-run-1-serving"},
        executionArn=world.running_execution("run-1"),
    )
    report = world.sweep()

    why = f"its run is COMPLETED but records provisioned serving {other} (InService), not this resource"
    assert report.in_progress == [other]
    assert entries(report) == [on_run_1("orphaned-serving", "deleted", arn, "COMPLETED", why)]


@pytest.mark.parametrize(
    "case",
    [
        "orphaned",
        "orphaned in report mode",
        "expired",
        "expired in report mode",
        "idle",
        "idle, deleted",
        "skipped",
    ],
)
def test_every_serving_finding_prices_the_base_model_the_run_records(world: World, case: str) -> None:
    """The listing's foundation model is read only for a serving no run owns."""
    arn = world.bedrock.add(
        "provisioned",
        "bmc-run-1-serving",
        age=timedelta(days=2),
        foundationModelArn=FOUNDATION_ARN + UNPRICED_MODEL,
    )
    expires = {"expiresAt": "2026-05-01T09:00:00Z"} if case.startswith("expired") else {}
    idle_action = "delete" if case == "idle, deleted" else "notify"
    world.put_run(
        "run-1",
        "FAILED" if case.startswith(("orphaned", "skipped")) else "IN_SERVICE",
        serving=serving_record(arn, **expires),
        spec={"baseModel": BASE_MODEL, "serving": {"mode": "provisioned", "idleAction": idle_action}},
    )
    report = world.sweep(
        mode="report" if case.endswith("report mode") else "delete",
        registry=Racing(TABLE) if case == "skipped" else None,
    )
    assert [f.cost for f in report.findings] == [HOURLY]


# --- the sweep as a whole -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reported_ago", "news"), [(timedelta(hours=23), False), (timedelta(hours=25), True)]
)
def test_a_resource_reported_within_a_day_is_not_news_again(
    world: World, reported_ago: timedelta, news: bool
) -> None:
    arn = throughput(world, "bmc-by-hand", run_id=None)
    report = world.sweep(reported_before={arn: (NOW - reported_ago).isoformat()})
    assert [f.news for f in report.findings] == [news]


def test_one_resources_failure_is_a_problem_and_the_sweep_goes_on(world: World) -> None:
    first = throughput(world, "bmc-run-1-serving")
    second = throughput(world, "bmc-run-2-serving", run_id="run-2")
    world.bedrock.add("custom-model", "bmc-run-1-model")
    for run_id, arn in (("run-1", first), ("run-2", second)):
        world.put_run(run_id, "FAILED", serving=serving_record(arn, name=f"bmc-{run_id}-serving"))
    world.bedrock.failing = {
        "DeleteProvisionedModelThroughput": "InternalServerException",
        "ListCustomModels": "ThrottlingException",
    }
    report = world.sweep()
    assert report.examined == 2
    assert [(f.run_id, f.action) for f in report.findings] == [("run-2", "deleted")]
    assert report.problems == [
        "ListCustomModels: ListCustomModels: ThrottlingException: failed",
        f"provisioned {first}: BedrockUnavailable: DeleteProvisionedModelThroughput: InternalServerException: failed",
    ]


def test_the_sweep_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "PREFIX": "team-a",
        "SWEEPER_MODE": "report",
        "IDLE_HOURS": "6",
        "DEFAULT_IDLE_ACTION": "delete",
    }.items():
        monkeypatch.setenv(name, value)
    read = SweepSettings.from_environment(NOW)
    assert read == SweepSettings(
        prefix="team-a", mode="report", idle_hours=6, default_idle_action="delete", now=NOW
    )
    assert not read.deletes
    monkeypatch.setenv("SWEEPER_MODE", "delete")
    assert SweepSettings.from_environment(NOW).deletes
    monkeypatch.setenv("SWEEPER_MODE", "Delete")
    with pytest.raises(ConfigurationError, match="SWEEPER_MODE must be delete or report"):
        SweepSettings.from_environment(NOW)


def test_an_execution_runs_until_it_stops_and_an_unknown_one_has_ended(world: World) -> None:
    running = execution_probe(aws_client("stepfunctions"))
    arn = world.running_execution("run-1")
    assert running(arn)
    aws_client("stepfunctions").stop_execution(executionArn=arn)
    assert not running(arn)
    assert not running(f"arn:aws:states:{REGION}:{ACCOUNT}:execution:bmc:never-started")
