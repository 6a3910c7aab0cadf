"""The run registry: conditional transitions with history, token claims, indexes, Decimals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from bmc.aws import registry as reg
from bmc.errors import RunNotFound, RunStateConflict
from bmc.tenancy import Owner

from tests.unit.workflow_support import STARTED_AT, TABLE, Cloud, aws_client, local_cloud


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    with local_cloud(with_datasets=False) as created:
        yield created


def create(cloud: Cloud, run_id: str = "run-1", **spec: Any) -> None:
    cloud.registry.create_run(
        run_id,
        spec={"baseModel": "amazon.nova-micro-v1:0:128k", **spec},
        source={"type": "console"},
        names={"jobName": "bmc-x-job"},
        execution_arn=f"arn:aws:states:us-east-1:123456789012:execution:bmc:{run_id}",
        owner=Owner("team:support"),
        execution_started_at=STARTED_AT,
    )


def raw_item(run_id: str) -> dict[str, Any]:
    item: dict[str, Any] = aws_client("dynamodb").get_item(TableName=TABLE, Key={"runId": {"S": run_id}})[
        "Item"
    ]
    return item


def test_a_new_run_is_pending_with_history(cloud: Cloud) -> None:
    create(cloud)
    run = cloud.run("run-1")
    assert run["status"] == reg.PENDING
    assert run["recordType"] == "RUN"
    assert run["createdAt"].endswith("Z")
    assert [entry["status"] for entry in run["statusHistory"]] == [reg.PENDING]
    assert run["reports"] == {}


def test_registering_again_keeps_the_first_record(cloud: Cloud) -> None:
    create(cloud)
    cloud.registry.transition("run-1", reg.VALIDATING)
    assert (
        cloud.registry.create_run(
            "run-1",
            spec={"baseModel": "other"},
            source={"type": "api"},
            names=None,
            execution_arn="arn:other",
            owner=Owner("platform"),
            execution_started_at="2030-01-01T00:00:00.000Z",
        )
        is False
    )
    run = cloud.run("run-1")
    assert run["status"] == reg.VALIDATING
    assert run["spec"]["baseModel"] == "amazon.nova-micro-v1:0:128k"
    assert run["source"] == {"type": "console"}
    assert (run["owner"], run["team"]) == ({"team": "team:support", "principal": None}, "team:support")
    assert run["executionStartedAt"] == STARTED_AT


def test_transitions_append_history_and_set_fields(cloud: Cloud) -> None:
    create(cloud)
    assert cloud.registry.transition("run-1", reg.VALIDATING, detail="checking")
    assert cloud.registry.transition("run-1", reg.TRAINING, fields={"jobArn": "arn:job/1"})
    run = cloud.run("run-1")
    assert run["status"] == reg.TRAINING and run["jobArn"] == "arn:job/1"
    assert [(e["status"], e["detail"]) for e in run["statusHistory"]] == [
        (reg.PENDING, "run registered"),
        (reg.VALIDATING, "checking"),
        (reg.TRAINING, ""),
    ]
    assert all(entry["at"] <= run["updatedAt"] for entry in run["statusHistory"])


def test_repeating_a_transition_is_harmless(cloud: Cloud) -> None:
    create(cloud)
    cloud.registry.transition("run-1", reg.VALIDATING)
    assert cloud.registry.transition("run-1", reg.VALIDATING, fields={"note": "again"}) is False
    run = cloud.run("run-1")
    assert [e["status"] for e in run["statusHistory"]] == [reg.PENDING, reg.VALIDATING]
    assert run["note"] == "again"


def test_a_transition_from_the_wrong_status_is_refused(cloud: Cloud) -> None:
    create(cloud)
    with pytest.raises(RunStateConflict, match="PENDING: it cannot become TRAINED"):
        cloud.registry.transition("run-1", reg.TRAINED)
    cloud.registry.transition("run-1", reg.FAILED)
    with pytest.raises(RunStateConflict):
        cloud.registry.transition("run-1", reg.STOPPED)  # terminal statuses are final
    with pytest.raises(RunNotFound):
        cloud.registry.transition("missing", reg.FAILED)


def test_the_first_error_is_kept(cloud: Cloud) -> None:
    create(cloud)
    cloud.registry.transition(
        "run-1", reg.FAILED, fields_if_absent={"error": {"error": "First", "cause": "a"}}
    )
    cloud.registry.transition(
        "run-1", reg.FAILED, fields_if_absent={"error": {"error": "Second", "cause": "b"}}
    )
    assert cloud.run("run-1")["error"] == {"error": "First", "cause": "a"}


def test_a_rejected_run_is_recorded_failed(cloud: Cloud) -> None:
    error = {
        "error": "RunSpecInvalid",
        "cause": "1 problem",
        "findings": [{"line": 3, "code": "INVALID_JSON"}],
    }
    recorded = cloud.registry.record_rejected_run(
        "run-9",
        source={"type": "s3"},
        execution_arn="arn:x",
        execution_started_at=STARTED_AT,
        owner=Owner("platform"),
        error=error,
    )
    assert recorded
    run = cloud.run("run-9")
    assert run["status"] == reg.FAILED
    assert [e["status"] for e in run["statusHistory"]] == [reg.PENDING, reg.FAILED]
    assert run["error"] == error
    assert "spec" not in run


def test_floats_are_stored_as_decimals_and_read_back_as_floats(cloud: Cloud) -> None:
    create(cloud)
    summary = {"finalTrainingLoss": 0.4484, "steps": 20, "perEpoch": [{"epoch": 1, "trainingLoss": 1.25}]}
    cloud.registry.update("run-1", fields={"metricsSummary": summary})
    assert raw_item("run-1")["metricsSummary"]["M"]["finalTrainingLoss"] == {"N": "0.4484"}
    read = cloud.run("run-1")["metricsSummary"]
    assert read == summary
    assert isinstance(read["finalTrainingLoss"], float) and isinstance(read["steps"], int)
    with pytest.raises(ValueError, match="nan"):
        reg.to_dynamo({"loss": float("nan")})


def test_update_of_a_missing_run_is_refused(cloud: Cloud) -> None:
    with pytest.raises(RunNotFound):
        cloud.registry.update("missing", fields={"a": 1})


def test_the_task_token_is_claimed_once(cloud: Cloud) -> None:
    create(cloud)
    cloud.registry.store_task_token("run-1", "token-1")
    assert list(cloud.registry.awaiting_run_ids()) == ["run-1"]
    assert cloud.registry.claim_task_token("run-1") == "token-1"
    assert cloud.registry.claim_task_token("run-1") is None
    run = cloud.run("run-1")
    assert "taskToken" not in run and "awaiting" not in run
    assert list(cloud.registry.awaiting_run_ids()) == []


def test_a_claimed_token_can_be_given_back_once(cloud: Cloud) -> None:
    create(cloud)
    cloud.registry.store_task_token("run-1", "token-1")
    token = cloud.registry.claim_task_token("run-1")
    assert token is not None
    assert cloud.registry.restore_task_token("run-1", token)
    assert not cloud.registry.restore_task_token("run-1", token)
    assert cloud.registry.claim_task_token("run-1") == "token-1"


def test_runs_are_found_by_job_arn(cloud: Cloud) -> None:
    create(cloud, "run-1")
    create(cloud, "run-2")
    cloud.registry.update(
        "run-2", fields={"jobArn": "arn:aws:bedrock:us-east-1:1:model-customization-job/m/abc"}
    )
    assert (
        cloud.registry.find_by_job_arn("arn:aws:bedrock:us-east-1:1:model-customization-job/m/abc") == "run-2"
    )
    assert cloud.registry.find_by_job_arn("arn:unknown") is None


def test_only_awaiting_runs_are_listed(cloud: Cloud) -> None:
    for index in range(6):
        create(cloud, f"run-{index}")
        if index % 2 == 0:
            cloud.registry.store_task_token(f"run-{index}", f"token-{index}")
    assert sorted(cloud.registry.awaiting_run_ids()) == ["run-0", "run-2", "run-4"]


def test_nested_fields_are_updated_in_place(cloud: Cloud) -> None:
    create(cloud)
    cloud.registry.update("run-1", fields={"reports.validation": "s3://a/b.json"})
    cloud.registry.update("run-1", fields={"reports.metrics": "s3://a/c.json"})
    assert cloud.run("run-1")["reports"] == {"validation": "s3://a/b.json", "metrics": "s3://a/c.json"}


# --- owners and executions -------------------------------------------------------------------------


def test_a_teams_runs_are_listed_from_its_index_newest_first_in_pages(cloud: Cloud) -> None:
    for index, team in enumerate(["team:a", "team:b", "team:a", "team:a", "team:b"]):
        cloud.registry.create_run(
            f"run-{index}",
            spec=None,
            source={"type": "api"},
            names=None,
            execution_arn=f"arn:x:{index}",
            owner=Owner(team),
        )
    page, key = cloud.registry.list_runs(limit=2, team="team:a")
    assert [run["runId"] for run in page] == ["run-3", "run-2"]
    assert key is not None and set(key) == reg.TEAM_LISTING_KEY_ATTRIBUTES
    rest, last = cloud.registry.list_runs(limit=2, team="team:a", start_key=key)
    assert [run["runId"] for run in rest] == ["run-0"] and last is None
    everyone, _ = cloud.registry.list_runs(limit=10)
    assert len(everyone) == 5


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-01T00:00:00.123Z", "2026-01-01T00:00:00.123Z"),
        ("2026-01-01T00:00:00.123456+00:00", "2026-01-01T00:00:00.123Z"),  # truncated, not rounded
        (1_767_225_600_123, "2026-01-01T00:00:00.123Z"),  # epoch milliseconds (the status event)
        (int("9" * 400), None),
        ("yesterday", None),
        ("x" * 10_000, None),
        (True, None),
        (None, None),
    ],
)
def test_execution_start_times_read_alike_from_every_source(value: Any, expected: str | None) -> None:
    assert reg.execution_start(value) == expected


def test_a_record_is_bound_to_one_execution(cloud: Cloud) -> None:
    arn = "arn:aws:states:us-east-1:123456789012:execution:bmc:run-1"
    cloud.registry.create_run(
        "run-1", spec=None, source={"type": "api"}, names=None, execution_arn=arn, owner=Owner("platform")
    )
    record = cloud.run("run-1")
    assert reg.belongs_to(record, arn, STARTED_AT)  # not bound yet, still PENDING
    assert not reg.belongs_to(record, arn + "x", STARTED_AT)
    assert cloud.registry.bind_execution("run-1", arn, STARTED_AT)
    assert cloud.registry.bind_execution("run-1", arn, STARTED_AT)  # the same execution again
    assert not cloud.registry.bind_execution("run-1", arn, "2026-04-02T00:00:00.000Z")
    assert not cloud.registry.bind_execution("run-1", "arn:other", STARTED_AT)
    assert not cloud.registry.bind_execution("run-1", arn, None)
    assert not cloud.registry.bind_execution("missing", arn, STARTED_AT)
    record = cloud.run("run-1")
    assert record["executionStartedAt"] == STARTED_AT
    assert not reg.belongs_to(record, arn, "2026-04-02T00:00:00.000Z")
    # An ended record never bound (written before executions were bound) is nobody's now.
    cloud.registry.update("run-1", remove=["executionStartedAt"])
    cloud.registry.transition("run-1", reg.FAILED)
    assert not cloud.registry.bind_execution("run-1", arn, STARTED_AT)
    assert not reg.belongs_to(cloud.run("run-1"), arn, STARTED_AT)


def test_a_rejected_run_never_overwrites_another_executions_record(cloud: Cloud) -> None:
    create(cloud)
    cloud.registry.transition("run-1", reg.VALIDATING)
    before = cloud.run("run-1")
    recorded = cloud.registry.record_rejected_run(
        "run-1",
        source={"type": "console"},
        execution_arn=before["executionArn"],
        execution_started_at="2026-04-02T00:00:00.000Z",
        owner=Owner("platform"),
        error={"error": "RunSpecInvalid", "cause": "x"},
    )
    assert recorded is False
    assert cloud.run("run-1") == before
