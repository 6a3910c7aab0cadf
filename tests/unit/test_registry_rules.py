"""The registry's rules, written out here rather than read from the code's own tables.

Every (from, to) status pair is tried against an explicit allowed/forbidden table; serving
claims, listings over several pages, task tokens given back, and the sweeper's conditional
writes are checked against what DynamoDB (moto) stores.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from bmc.aws import clients
from bmc.aws import registry as reg
from bmc.aws.bedrock_ops import BedrockOps
from bmc.errors import RunNotFound, RunStateConflict
from bmc.tenancy import Owner
from bmc.workflow.job_tracking import JobTracker
from boto3.dynamodb.types import TypeSerializer

from tests.unit.workflow_support import STARTED_AT, TABLE, Cloud, aws_client, local_cloud, submitted

# Where a run may go from each status. Written out by hand: a change of the registry's
# ALLOWED_FROM must change this table too. Repeating the current status is harmless (the
# transition answers False) and is checked separately; PENDING is only ever a first status.
ALLOWED: dict[str, set[str]] = {
    "PENDING": {"VALIDATING", "FAILED", "STOPPED"},
    "VALIDATING": {"QUEUED", "TRAINING", "FAILED", "STOPPED"},
    "QUEUED": {"TRAINING", "FAILED", "STOPPED"},
    "TRAINING": {"TRAINED", "FAILED", "STOPPED"},
    "TRAINED": {"DEPLOYING", "COMPLETED", "FAILED", "STOPPED", "DELETED"},
    "DEPLOYING": {"IN_SERVICE", "FAILED", "STOPPED"},
    "IN_SERVICE": {"EVALUATING", "COMPLETED", "FAILED", "STOPPED", "DELETED"},
    # The evaluation gate: the model passes (back to serving, or done) or is REJECTED.
    "EVALUATING": {"IN_SERVICE", "COMPLETED", "REJECTED", "FAILED", "STOPPED"},
    "COMPLETED": {"DELETED"},
    "REJECTED": {"DELETED"},
    "FAILED": {"DELETED"},
    "STOPPED": {"DELETED"},
    "DELETED": set(),
}
TERMINAL = {"COMPLETED", "REJECTED", "FAILED", "STOPPED", "DELETED"}
SERIALIZER = TypeSerializer()


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    with local_cloud(with_datasets=False) as created:
        yield created


def create(cloud: Cloud, run_id: str, *, team: str = "team:support") -> None:
    cloud.registry.create_run(
        run_id,
        spec={"baseModel": "amazon.nova-micro-v1:0:128k"},
        source={"type": "api"},
        names=None,
        execution_arn=f"arn:aws:states:us-east-1:123456789012:execution:bmc:{run_id}",
        owner=Owner(team),
        execution_started_at=STARTED_AT,
    )


def create_with_status(cloud: Cloud, run_id: str, status: str) -> dict[str, Any]:
    """A run whose record says ``status``, written in one request (the pair test makes 121)."""
    record = {
        "runId": run_id,
        "recordType": reg.RECORD_TYPE,
        "createdAt": reg.timestamp(),
        "updatedAt": reg.timestamp(),
        "status": status,
        "statusHistory": [{"status": "PENDING", "at": STARTED_AT, "detail": "run registered"}],
        "team": "team:support",
        "executionArn": f"arn:aws:states:us-east-1:123456789012:execution:bmc:{run_id}",
        "executionStartedAt": STARTED_AT,
        "reports": {},
    }
    aws_client("dynamodb").put_item(
        TableName=TABLE, Item={k: SERIALIZER.serialize(v) for k, v in record.items()}
    )
    return record


def outcome(cloud: Cloud, run_id: str, to: str) -> str:
    try:
        changed = cloud.registry.transition(run_id, to, detail=f"to {to}")
    except RunStateConflict:
        return "refused"
    except ValueError:
        return "no such transition"
    return "moved" if changed else "repeated"


# --- every status pair --------------------------------------------------------------------------


def test_the_explicit_table_names_every_status() -> None:
    assert set(ALLOWED) == set(reg.STATUSES), "a new status needs its row and column in ALLOWED"
    assert set(reg.TERMINAL_STATUSES) == TERMINAL
    assert set(reg.ACTIVE_STATUSES) == set(ALLOWED) - TERMINAL


def test_every_status_pair_follows_the_explicit_table(cloud: Cloud) -> None:
    mismatches = []
    for number, (current, to) in enumerate((a, b) for a in ALLOWED for b in ALLOWED):
        run_id = f"pair-{number}"
        before = create_with_status(cloud, run_id, current)
        if to == "PENDING":
            expected = "no such transition"
        elif to == current:
            expected = "repeated"
        else:
            expected = "moved" if to in ALLOWED[current] else "refused"
        got = outcome(cloud, run_id, to)
        after = cloud.run(run_id)
        if got != expected:
            mismatches.append(f"{current} -> {to}: expected {expected}, got {got}")
            continue
        history = [entry["status"] for entry in after["statusHistory"]]
        if expected == "moved":
            assert after["status"] == to and history == ["PENDING", to], (current, to)
            assert after["statusHistory"][-1]["detail"] == f"to {to}"
        elif expected == "repeated":
            assert after["status"] == current and history == ["PENDING"], (current, to)
        else:
            assert after == before, f"a refused {current} -> {to} changed the record"
    assert mismatches == []


def test_a_refusal_names_the_current_status(cloud: Cloud) -> None:
    create_with_status(cloud, "refusal", "COMPLETED")
    with pytest.raises(RunStateConflict, match=r"^run refusal is COMPLETED: it cannot become TRAINING$"):
        cloud.registry.transition("refusal", "TRAINING")
    with pytest.raises(ValueError, match="no transition leads to PENDING"):
        cloud.registry.transition("refusal", "PENDING")
    with pytest.raises(RunNotFound, match="run nowhere is not in the registry"):
        cloud.registry.transition("nowhere", "TRAINING")


def test_a_transition_writes_fields_and_removes_attributes_in_one_step(cloud: Cloud) -> None:
    create_with_status(cloud, "fields", "TRAINING")
    cloud.registry.update("fields", fields={"taskToken": "t", "awaiting": reg.AWAITING_JOB})
    assert cloud.registry.transition(
        "fields",
        "TRAINED",
        fields={"customModelArn": "arn:model/1", "reports.metrics": "s3://b/m.json"},
        fields_if_absent={"firstTrainedAt": "then"},
        remove=("taskToken", "awaiting"),
    )
    run = cloud.run("fields")
    assert run["customModelArn"] == "arn:model/1" and run["reports"] == {"metrics": "s3://b/m.json"}
    assert run["firstTrainedAt"] == "then"
    assert "taskToken" not in run and "awaiting" not in run
    assert run["updatedAt"] == run["statusHistory"][-1]["at"]
    # A repeat writes the fields again but keeps what fields_if_absent recorded first.
    assert not cloud.registry.transition(
        "fields",
        "TRAINED",
        fields={"customModelArn": "arn:model/2"},
        fields_if_absent={"firstTrainedAt": "now"},
    )
    run = cloud.run("fields")
    assert (run["customModelArn"], run["firstTrainedAt"]) == ("arn:model/2", "then")


# --- serving claims -----------------------------------------------------------------------------

CLAIM = {"kind": "provisioned", "name": "bmc-x-pt", "arn": None, "status": "Creating", "modelUnits": 1}


def claim(cloud: Cloud, run_id: str, serving: dict[str, Any] | None = None) -> bool:
    return cloud.registry.claim_serving(
        run_id, serving or CLAIM, from_statuses=("COMPLETED", "IN_SERVICE"), replaceable=("Deleted",)
    )


def test_a_run_with_a_live_serving_cannot_claim_another(cloud: Cloud) -> None:
    live = {"kind": "provisioned", "name": "bmc-live", "arn": "arn:pt/live", "status": "InService"}
    create_with_status(cloud, "live", "IN_SERVICE")
    cloud.registry.update("live", fields={"serving": live})
    before = cloud.run("live")
    assert not claim(cloud, "live")
    assert cloud.run("live") == before  # the live serving is kept as it was


def test_a_serving_that_is_being_created_is_live_too(cloud: Cloud) -> None:
    create_with_status(cloud, "creating", "COMPLETED")
    assert claim(cloud, "creating")
    assert not claim(cloud, "creating", {**CLAIM, "name": "second"})
    assert cloud.run("creating")["serving"]["name"] == "bmc-x-pt"


def test_a_deleted_serving_is_replaced(cloud: Cloud) -> None:
    create_with_status(cloud, "replaced", "COMPLETED")
    cloud.registry.update("replaced", fields={"serving": {"kind": "provisioned", "status": "Deleted"}})
    assert claim(cloud, "replaced")
    assert cloud.run("replaced")["serving"] == CLAIM


@pytest.mark.parametrize("status", ["PENDING", "TRAINING", "TRAINED", "FAILED", "DELETED"])
def test_only_the_listed_statuses_may_claim(cloud: Cloud, status: str) -> None:
    create_with_status(cloud, f"claim-{status}", status)
    assert not claim(cloud, f"claim-{status}")
    assert "serving" not in cloud.run(f"claim-{status}")


def test_a_missing_run_claims_nothing(cloud: Cloud) -> None:
    assert not claim(cloud, "no-such-run")
    assert cloud.registry.get("no-such-run") is None


# --- listings over several pages ----------------------------------------------------------------


@contextmanager
def dynamodb_params(operation: str, handler: Callable[[dict[str, Any]], None]) -> Iterator[None]:
    """``handler`` sees (and may change) the parameters of each ``operation`` the registry sends."""
    client = clients.client("dynamodb")

    def on_params(params: dict[str, Any], **_: Any) -> None:
        handler(params)

    event = f"provide-client-params.dynamodb.{operation}"
    client.meta.events.register(event, on_params)
    try:
        yield
    finally:
        client.meta.events.unregister(event, on_params)


@pytest.fixture
def small_pages() -> Iterator[None]:
    """DynamoDB ends a page at 1 MB; two items per page makes several pages of a few runs."""
    with dynamodb_params("Query", lambda params: params.setdefault("Limit", 2)):
        yield


def test_awaiting_runs_are_read_from_every_page(cloud: Cloud, small_pages: None) -> None:
    for index in range(5):
        create(cloud, f"await-{index}")
        cloud.registry.store_task_token(f"await-{index}", f"token-{index}")
    assert sorted(cloud.registry.awaiting_run_ids()) == [f"await-{index}" for index in range(5)]


def test_the_status_counts_read_every_page(cloud: Cloud, small_pages: None) -> None:
    for index, status in enumerate(["TRAINING", "TRAINING", "FAILED", "COMPLETED", "TRAINING"]):
        create_with_status(cloud, f"count-{index}", status)
    counts = cloud.registry.count_by_status()
    assert counts == dict.fromkeys(ALLOWED, 0) | {"TRAINING": 3, "FAILED": 1, "COMPLETED": 1}


@pytest.fixture
def listing() -> Iterator[Cloud]:
    with local_cloud(with_datasets=False) as fresh:
        # Created one after another: the index sorts them by createdAt, newest first.
        for index, (team, status) in enumerate(
            [
                ("team:a", "COMPLETED"),
                ("team:b", "TRAINING"),
                ("team:a", "TRAINING"),
                ("team:a", "FAILED"),
                ("team:b", "COMPLETED"),
                ("team:a", "TRAINING"),
            ]
        ):
            fresh.clock.advance(1)
            create(fresh, f"list-{index}", team=team)
            fresh.registry.update(f"list-{index}", fields={"status": status})
        yield fresh


def ids(runs: list[dict[str, Any]]) -> list[str]:
    return [run["runId"] for run in runs]


def test_every_run_is_listed_newest_first_over_two_pages(listing: Cloud) -> None:
    first, key = listing.registry.list_runs(limit=4)
    assert ids(first) == ["list-5", "list-4", "list-3", "list-2"]
    assert key is not None and set(key) == reg.LISTING_KEY_ATTRIBUTES and key["runId"] == "list-2"
    second, last = listing.registry.list_runs(limit=4, start_key=key)
    assert ids(second) == ["list-1", "list-0"] and last is None


def test_a_status_filter_fills_the_page_from_later_reads(listing: Cloud) -> None:
    # Limit applies before the filter: the first read of 2 holds one TRAINING run only.
    first, key = listing.registry.list_runs(limit=2, statuses=["TRAINING"])
    assert ids(first) == ["list-5", "list-2"]
    assert key is not None
    second, last = listing.registry.list_runs(limit=2, statuses=["TRAINING"], start_key=key)
    assert ids(second) == ["list-1"] and last is None
    both, _ = listing.registry.list_runs(limit=10, statuses=["FAILED", "COMPLETED"])
    assert ids(both) == ["list-4", "list-3", "list-0"]


def test_a_teams_listing_holds_its_runs_only_over_two_pages(listing: Cloud) -> None:
    first, key = listing.registry.list_runs(limit=2, team="team:a")
    assert ids(first) == ["list-5", "list-3"]
    assert key is not None and set(key) == reg.TEAM_LISTING_KEY_ATTRIBUTES and key["team"] == "team:a"
    second, last = listing.registry.list_runs(limit=2, team="team:a", start_key=key)
    assert ids(second) == ["list-2", "list-0"]
    # The index has no further run: one more (empty) read may be needed to know it.
    if last is not None:
        third, end = listing.registry.list_runs(limit=2, team="team:a", start_key=last)
        assert third == [] and end is None
    team_b, _ = listing.registry.list_runs(limit=5, team="team:b", statuses=["COMPLETED"])
    assert ids(team_b) == ["list-4"]


def test_a_selective_filter_reads_a_bounded_number_of_pages(cloud: Cloud) -> None:
    create_with_status(cloud, "old-failure", "FAILED")
    for index in range(reg.MAX_LISTING_PAGES + 1):
        cloud.clock.advance(1)
        create_with_status(cloud, f"busy-{index}", "TRAINING")
    page, key = cloud.registry.list_runs(limit=1, statuses=["FAILED"])
    # Ten reads of one run each found nothing: the caller gets an empty page and a key.
    assert page == [] and key is not None and key["runId"] == f"busy-{1}"
    found, key = cloud.registry.list_runs(limit=1, statuses=["FAILED"], start_key=key)
    assert ids(found) == ["old-failure"]


# --- task tokens and the reconciler -------------------------------------------------------------


def test_a_restored_token_is_awaited_again_and_the_reconciler_resolves_it() -> None:
    with local_cloud() as fresh:
        job_arn = submitted("restored")["job"]["jobArn"]
        fresh.sim.finish_job(job_arn, "Completed")
        execution, token = fresh.waiting_execution("restored-execution")
        fresh.registry.store_task_token("restored", token)
        claimed = fresh.registry.claim_task_token("restored")
        assert claimed == token
        assert list(fresh.registry.awaiting_run_ids()) == []
        # Delivery failed: the token goes back and the run is awaited again.
        assert fresh.registry.restore_task_token("restored", claimed)
        run = fresh.run("restored")
        assert (run["taskToken"], run["awaiting"]) == (token, reg.AWAITING_JOB)
        assert list(fresh.registry.awaiting_run_ids()) == ["restored"]
        counts = JobTracker(fresh.registry, BedrockOps()).reconcile()
        assert counts == {
            "checked": 1,
            "resolved": 1,
            "running": 0,
            "not-awaiting": 0,
            "execution-gone": 0,
            "errors": 0,
        }
        assert list(fresh.registry.awaiting_run_ids()) == []
        assert "taskToken" not in fresh.run("restored")
        finished = fresh.finished(execution)
        assert finished["status"] == "SUCCEEDED"
        assert json.loads(finished["output"])["status"] == "Completed"


def test_a_token_is_never_restored_over_a_newer_one_or_onto_a_missing_run(cloud: Cloud) -> None:
    create(cloud, "newer")
    cloud.registry.store_task_token("newer", "token-2")
    assert not cloud.registry.restore_task_token("newer", "token-1")
    assert cloud.run("newer")["taskToken"] == "token-2"
    assert not cloud.registry.restore_task_token("absent", "token-1")
    assert cloud.registry.get("absent") is None
    assert cloud.registry.claim_task_token("absent") is None


# --- the sweeper's writes -----------------------------------------------------------------------


def test_a_sweep_claim_holds_only_while_status_and_serving_are_unchanged(cloud: Cloud) -> None:
    serving = {"kind": "provisioned", "arn": "arn:pt/1", "status": "InService"}
    create_with_status(cloud, "sweep", "IN_SERVICE")
    cloud.registry.update("sweep", fields={"serving": serving})
    seen = cloud.run("sweep")
    assert cloud.registry.claim_if_unchanged("sweep", seen, {"action": "delete", "at": "t1"})
    assert cloud.run("sweep")["lastSweep"] == {"action": "delete", "at": "t1"}
    cloud.registry.update("sweep", fields={"serving.status": "Updating"})
    assert not cloud.registry.claim_if_unchanged("sweep", seen, {"action": "delete", "at": "t2"})
    assert not cloud.registry.claim_if_unchanged(
        "sweep", {**cloud.run("sweep"), "status": "COMPLETED"}, {"action": "delete", "at": "t3"}
    )
    assert cloud.run("sweep")["lastSweep"]["at"] == "t1"
    # Seen without a serving: holds only while none was recorded.
    create_with_status(cloud, "sweep-bare", "COMPLETED")
    bare = cloud.run("sweep-bare")
    assert cloud.registry.claim_if_unchanged("sweep-bare", bare, {"at": "t4"})
    cloud.registry.update("sweep-bare", fields={"serving": serving})
    assert not cloud.registry.claim_if_unchanged("sweep-bare", bare, {"at": "t5"})
    assert not cloud.registry.claim_if_unchanged("sweep-nobody", bare, {"at": "t6"})


def test_sweeps_are_appended_and_missing_runs_refused(cloud: Cloud) -> None:
    create(cloud, "swept")
    cloud.registry.update("swept", fields={"serving": {"status": "InService"}})
    cloud.registry.record_sweep("swept", {"action": "stop-job"}, fields={"serving.status": "Deleted"})
    cloud.registry.record_sweep("swept", {"action": "report"})
    run = cloud.run("swept")
    assert run["sweeps"] == [{"action": "stop-job"}, {"action": "report"}]
    assert run["serving"] == {"status": "Deleted"}
    with pytest.raises(RunNotFound, match="run gone is not in the registry"):
        cloud.registry.record_sweep("gone", {"action": "report"})
    assert cloud.registry.get("gone") is None


def test_an_idle_serving_is_notified_once_per_idle_period(cloud: Cloud) -> None:
    create(cloud, "idle")
    cloud.registry.update("idle", fields={"serving": {"arn": "arn:pt/idle", "status": "InService"}})
    assert cloud.registry.mark_idle_notified("idle", "arn:pt/idle", "t1")
    assert not cloud.registry.mark_idle_notified("idle", "arn:pt/idle", "t2")
    assert cloud.run("idle")["serving"]["idleNotifiedAt"] == "t1"
    assert not cloud.registry.mark_idle_notified("idle", "arn:pt/other", "t3")
    assert not cloud.registry.clear_idle_notified("idle", "arn:pt/other")
    assert cloud.run("idle")["serving"]["idleNotifiedAt"] == "t1"
    assert cloud.registry.clear_idle_notified("idle", "arn:pt/idle")
    assert "idleNotifiedAt" not in cloud.run("idle")["serving"]
    assert cloud.registry.mark_idle_notified("idle", "arn:pt/idle", "t4")


def test_bookkeeping_items_never_take_a_run_id(cloud: Cloud) -> None:
    assert cloud.registry.read_state("#sweeper") == {}
    cloud.registry.write_state("#sweeper", {"cursor": "x", "pages": 2})
    cloud.registry.write_state("#sweeper", {"cursor": "y", "pages": 3})
    assert cloud.registry.read_state("#sweeper") == {"cursor": "y", "pages": 3}
    assert cloud.run("#sweeper")["updatedAt"].endswith("Z")
    with pytest.raises(ValueError, match="start with '#'"):
        cloud.registry.write_state("sweeper", {"cursor": "z"})
    assert cloud.registry.get("sweeper") is None


# --- conversions and times ----------------------------------------------------------------------


def test_values_cross_the_decimal_boundary_unchanged() -> None:
    assert reg.to_dynamo({"a": 0.5, "b": [1.25, True, None, "x"], "c": (2.0,), 3: 1}) == {
        "a": Decimal("0.5"),
        "b": [Decimal("1.25"), True, None, "x"],
        "c": [Decimal("2.0")],
        "3": 1,
    }
    for bad in (float("inf"), float("-inf"), float("nan")):
        with pytest.raises(ValueError, match="DynamoDB cannot store the number"):
            reg.to_dynamo([bad])
    read = reg.from_dynamo(
        {"n": Decimal("3"), "f": Decimal("0.25"), "s": {Decimal("1")}, "t": (Decimal("2.5"),)}
    )
    assert read == {"n": 3, "f": 0.25, "s": [1], "t": [2.5]}
    assert type(read["n"]) is int and type(read["f"]) is float


def test_timestamps_are_utc_with_milliseconds() -> None:
    moment = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert reg.timestamp(moment) == "2026-03-01T10:00:00.123Z"
    reg.use_clock(lambda: datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC))
    try:
        assert reg.timestamp() == "2030-01-02T03:04:05.000Z"
        assert reg.utc_now() == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    finally:
        reg.use_clock(None)
    assert abs(reg.utc_now() - datetime.now(UTC)) < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 1, 1, 0, 0, 0, 123999), "2026-01-01T00:00:00.123Z"),  # naive: UTC
        (datetime(2026, 1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=1))), "2026-01-01T00:00:00.000Z"),
        (1_767_225_600_123.0, "2026-01-01T00:00:00.123Z"),
        (0, "1970-01-01T00:00:00.000Z"),
        ("2026-01-01T00:00:00", "2026-01-01T00:00:00.000Z"),  # no zone: UTC
        ("2026-01-01T02:00:00.5+02:00", "2026-01-01T00:00:00.500Z"),
        ("2026-01-01T00:00:00.1234+00:00:00.000000", "2026-01-01T00:00:00.123Z"),  # 40 characters
        ("2026-01-01T00:00:00.12345+00:00:00.000000", None),  # 41: refused unread
        (float("inf"), None),
        (-(10**20), None),
        (["2026-01-01"], None),
    ],
)
def test_execution_start_times(value: Any, expected: str | None) -> None:
    assert reg.execution_start(value) == expected


def test_an_unbound_record_belongs_to_its_execution_only_while_active() -> None:
    arn = "arn:aws:states:us-east-1:123456789012:execution:bmc:run"
    for status in ALLOWED:
        record = {"executionArn": arn, "status": status}
        assert reg.belongs_to(record, arn, STARTED_AT) is (status not in TERMINAL), status
        assert reg.belongs_to(record, arn, None) is (status not in TERMINAL), status
    bound = {"executionArn": arn, "status": "FAILED", "executionStartedAt": STARTED_AT}
    assert reg.belongs_to(bound, arn, STARTED_AT)
    assert not reg.belongs_to(bound, arn, None)
    assert not reg.belongs_to(bound, "", STARTED_AT)
    assert not reg.belongs_to({"status": "PENDING"}, "", None)


# --- lineage lookups ----------------------------------------------------------------------------


def test_a_custom_model_is_found_among_its_owners_runs_only(cloud: Cloud, small_pages: None) -> None:
    model_arn = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/abc"
    for index in range(5):
        cloud.clock.advance(1)
        create(cloud, f"model-{index}", team="team:a")
    create(cloud, "other-team", team="team:b")
    # byTeam reads oldest first, two a page: the newest run is alone on the third page.
    cloud.registry.update("model-4", fields={"customModelArn": model_arn})
    cloud.registry.update("other-team", fields={"customModelArn": model_arn + "-b"})
    found = cloud.registry.find_by_custom_model_arn("team:a", model_arn)
    assert found is not None and found["runId"] == "model-4" and found["spec"]  # the whole record
    assert cloud.registry.find_by_custom_model_arn("team:b", model_arn) is None
    assert cloud.registry.find_by_custom_model_arn("team:a", model_arn + "-b") is None
    assert cloud.registry.find_by_custom_model_arn("team:nobody", model_arn) is None


def test_runs_with_a_status_are_read_from_every_page(cloud: Cloud) -> None:
    for index in range(reg.MAX_LISTING_PAGES * 10 + 5):
        create_with_status(cloud, f"served-{index:03d}", "IN_SERVICE" if index % 50 == 0 else "FAILED")
    served = list(cloud.registry.runs_with_status(["IN_SERVICE"]))
    assert sorted(run["runId"] for run in served) == ["served-000", "served-050", "served-100"]


def test_lineage_fields_are_written_into_the_map_even_on_an_old_record(cloud: Cloud) -> None:
    create_with_status(cloud, "old", "TRAINED")  # registered before runs had lineage
    assert "lineage" not in cloud.run("old")
    updated = cloud.registry.update_lineage("old", {"datasets": [{"uri": "s3://b/k"}], "snapshotAt": "t"})
    assert updated["lineage"] == {"datasets": [{"uri": "s3://b/k"}], "snapshotAt": "t"}
    cloud.registry.update_lineage("old", {"snapshotAt": "t2"})
    assert cloud.run("old")["lineage"] == {"datasets": [{"uri": "s3://b/k"}], "snapshotAt": "t2"}
    with pytest.raises(RunNotFound):
        cloud.registry.update_lineage("absent", {"snapshotAt": "t"})


def test_an_attribute_is_marked_once(cloud: Cloud) -> None:
    create(cloud, "marked")
    assert cloud.registry.mark_once("marked", "legacyNoticeAt", "t1")
    assert not cloud.registry.mark_once("marked", "legacyNoticeAt", "t2")
    assert cloud.run("marked")["legacyNoticeAt"] == "t1"
    assert not cloud.registry.mark_once("absent", "legacyNoticeAt", "t1")
    assert cloud.registry.get("absent") is None


def test_a_run_is_registered_with_its_lineage(cloud: Cloud) -> None:
    cloud.registry.create_run(
        "with-lineage",
        spec=None,
        source={"type": "api"},
        names=None,
        execution_arn="arn:x",
        owner=Owner("team:a"),
        lineage={"parent": {"runId": "earlier"}},
    )
    run = cloud.run("with-lineage")
    assert run["lineage"] == {"parent": {"runId": "earlier"}}
    assert "spec" not in run and "names" not in run and "executionStartedAt" not in run


# --- reading the environment, times in any zone, exact details ----------------------------------


def test_the_registry_is_named_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_TABLE", "runs-table")
    monkeypatch.setenv("JOB_ARN_INDEX", "jobs-index")
    monkeypatch.setenv("AWAITING_INDEX", "awaiting-index")
    registry = reg.Registry.from_environment()
    assert (registry.table_name, registry.job_arn_index, registry.awaiting_index) == (
        "runs-table",
        "jobs-index",
        "awaiting-index",
    )
    assert (registry.created_index, registry.team_index) == ("byCreatedAt", "byTeam")


@pytest.fixture
def tokyo_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A machine whose local time is not UTC (a developer's laptop running the CLI)."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 1, 1, 9, 0, 0, 123999), "2026-01-01T09:00:00.123Z"),  # naive: UTC, not local
        (0, "1970-01-01T00:00:00.000Z"),
        ("2026-01-01T09:00:00", "2026-01-01T09:00:00.000Z"),
    ],
)
def test_naive_times_are_utc_whatever_the_local_zone(tokyo_time: None, value: Any, expected: str) -> None:
    assert reg.execution_start(value) == expected


def test_a_rejected_runs_history_names_the_error(cloud: Cloud) -> None:
    error = {"error": "RunSpecInvalid", "cause": "x" * 600}
    assert cloud.registry.record_rejected_run(
        "rejected",
        source={"type": "api"},
        execution_arn="arn:rejected",
        execution_started_at=STARTED_AT,
        owner=Owner("team:a"),
        error=error,
    )
    run = cloud.run("rejected")
    assert run["statusHistory"][-1]["detail"] == ("RunSpecInvalid: " + "x" * 600)[:500]
    assert run["executionStartedAt"] == STARTED_AT and run["executionArn"] == "arn:rejected"


def test_writes_stamp_the_time(cloud: Cloud) -> None:
    create(cloud, "stamped")
    reg.use_clock(lambda: datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC))  # the local cloud resets it
    cloud.registry.record_sweep("stamped", {"action": "report"})
    assert cloud.run("stamped")["updatedAt"] == "2031-05-06T07:08:09.000Z"
    reg.use_clock(lambda: datetime(2031, 5, 6, 8, 0, 0, tzinfo=UTC))
    cloud.registry.mark_once("stamped", "legacyNoticeAt", "t")
    assert cloud.run("stamped")["updatedAt"] == "2031-05-06T08:00:00.000Z"


def test_any_of_several_replaceable_servings_may_be_replaced(cloud: Cloud) -> None:
    create_with_status(cloud, "several", "COMPLETED")
    cloud.registry.update("several", fields={"serving": {"status": "Failed"}})
    assert cloud.registry.claim_serving(
        "several", CLAIM, from_statuses=("COMPLETED",), replaceable=("Deleted", "Failed")
    )
    assert not cloud.registry.claim_serving(
        "several", CLAIM, from_statuses=("COMPLETED",), replaceable=("Deleted", "Failed")
    )


WRITES_AT = datetime(2031, 5, 6, 9, 10, 11, 250000, tzinfo=UTC)


def _claim_serving(registry: reg.Registry, run_id: str) -> bool:
    return registry.claim_serving(run_id, CLAIM, from_statuses=("TRAINED",), replaceable=("Deleted",))


def _claim_unchanged(registry: reg.Registry, run_id: str) -> bool:
    return registry.claim_if_unchanged(run_id, {"status": "TRAINED"}, {"action": "report"})


@pytest.mark.parametrize(
    "write",
    [
        lambda registry, run_id: registry.update(run_id, fields={"note": "n"}),
        _claim_serving,
        _claim_unchanged,
        lambda registry, run_id: registry.claim_task_token(run_id) == "token-1",
    ],
    ids=["update", "claim_serving", "claim_if_unchanged", "claim_task_token"],
)
def test_every_write_stamps_the_time(cloud: Cloud, write: Any) -> None:
    create_with_status(cloud, "stamp", "TRAINED")
    cloud.registry.store_task_token("stamp", "token-1")
    reg.use_clock(lambda: WRITES_AT)  # the local cloud resets it
    assert write(cloud.registry, "stamp")
    assert cloud.run("stamp")["updatedAt"] == "2031-05-06T09:10:11.250Z"


def test_a_token_is_claimed_only_where_one_is_stored(cloud: Cloud) -> None:
    create(cloud, "tokenless")
    before = cloud.run("tokenless")
    assert cloud.registry.claim_task_token("tokenless") is None
    assert cloud.run("tokenless") == before  # nothing written, not even the time
    assert cloud.registry.claim_task_token("absent") is None
    assert cloud.registry.get("absent") is None
    # A token that is not a string (a record written by hand) is never handed to Step Functions.
    cloud.registry.update("tokenless", fields={"taskToken": 42})
    assert cloud.registry.claim_task_token("tokenless") is None


@pytest.fixture
def capped_pages() -> Iterator[None]:
    """Every Query reads at most two items, whatever Limit it asks for (a page ends at 1 MB)."""
    with dynamodb_params("Query", lambda params: params.update(Limit=min(int(params.get("Limit", 2)), 2))):
        yield


def test_runs_with_a_status_continue_where_each_listing_stopped(cloud: Cloud, capped_pages: None) -> None:
    # One listing reads at most MAX_LISTING_PAGES pages of two: 25 runs need two listings.
    for index in range(25):
        cloud.clock.advance(1)
        create_with_status(cloud, f"page-{index:02d}", "IN_SERVICE")
    served = list(itertools.islice(cloud.registry.runs_with_status(["IN_SERVICE"]), 50))
    assert [run["runId"] for run in served] == [f"page-{index:02d}" for index in reversed(range(25))]


def test_a_status_no_longer_known_is_still_counted(cloud: Cloud) -> None:
    # A record written by another version of the workflow keeps the status it had.
    create(cloud, "archived")
    cloud.registry.update("archived", fields={"status": "ARCHIVED"})
    create(cloud, "pending")
    counts = cloud.registry.count_by_status()
    assert counts == dict.fromkeys(ALLOWED, 0) | {"PENDING": 1, "ARCHIVED": 1}


def test_refusals_name_the_run_and_the_rule(cloud: Cloud) -> None:
    with pytest.raises(RunNotFound) as missing:
        cloud.registry.update("absent", fields={"note": "n"})
    assert str(missing.value) == "run absent is not in the registry"
    with pytest.raises(ValueError) as not_bookkeeping:
        cloud.registry.write_state("sweeper", {})
    assert str(not_bookkeeping.value) == "bookkeeping keys start with '#' so they can never be a run id"


def test_a_restored_token_stamps_the_time(cloud: Cloud) -> None:
    create(cloud, "restored")
    cloud.registry.store_task_token("restored", "token-1")
    assert cloud.registry.claim_task_token("restored") == "token-1"
    reg.use_clock(lambda: WRITES_AT)  # the local cloud resets it
    assert cloud.registry.restore_task_token("restored", "token-1")
    assert cloud.run("restored")["updatedAt"] == "2031-05-06T09:10:11.250Z"


def test_a_new_run_is_registered_once_with_its_names_and_times(cloud: Cloud) -> None:
    reg.use_clock(lambda: WRITES_AT)  # the local cloud resets it
    names = {"jobName": "bmc-new-job", "customModelName": "bmc-new-model"}

    def register(names: dict[str, str]) -> bool:
        return cloud.registry.create_run(
            "new",
            spec=None,
            source={"type": "api"},
            names=names,
            execution_arn="arn:new",
            owner=Owner("team:a"),
        )

    assert register(names) is True
    run = cloud.run("new")
    assert run["names"] == names
    assert run["createdAt"] == run["updatedAt"] == "2031-05-06T09:10:11.250Z"
    assert run["statusHistory"] == [{"status": "PENDING", "at": run["createdAt"], "detail": "run registered"}]
    assert register({"jobName": "other"}) is False
    assert cloud.run("new")["names"] == names


def test_the_registry_reads_its_own_writes(cloud: Cloud) -> None:
    """A record just written is read strongly consistent (AWS would else serve a stale copy)."""
    sent: list[dict[str, Any]] = []
    with dynamodb_params("GetItem", lambda params: sent.append(dict(params))):
        create(cloud, "read-back")
        assert cloud.registry.get("read-back") is not None
    assert [params["ConsistentRead"] for params in sent] == [True]
