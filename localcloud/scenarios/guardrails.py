"""What keeps billing in check after the run: the sweeper (a DELETE racing a PUT through the API, a
lost schedule, serving no run knows, a job that could not be stopped, report mode) and the idle
guard.
"""

from __future__ import annotations

from localcloud.bedrock import JobScript
from localcloud.cloud import LocalCloud
from localcloud.scenarios.runs import COMPLETES, NOVA_MICRO, PROVISIONED, SUPPORT_DATASETS, fine_tuning
from localcloud.scenarios.scenario import Dataset, Scenario

# No teams configured: the API's caller (the local operator) is a team of its own, whose data
# lives under its personal prefix.
PERSONAL = "datasets/123456789012/user/local-operator/"
API_DATASETS = (
    Dataset(f"{PERSONAL}support/train.jsonl", "conversation", 160),
    Dataset(f"{PERSONAL}support/validation.jsonl", "conversation", 24),
)
API_REQUEST = {
    "ModelName": "support bot",
    "ModelType": "FINE_TUNING",
    "BaseModelId": NOVA_MICRO,
    "TrainingDataLocation": f"s3://{{datasets}}/{PERSONAL}support/train.jsonl",
    "ValidationDataLocation": f"s3://{{datasets}}/{PERSONAL}support/validation.jsonl",
    "HyperParameters": {"epochCount": "2"},
}


def _delete_races_put(cloud: LocalCloud, run_id: str) -> None:
    """DELETE .../throughput arrives while PUT .../throughput creates the throughput: the DELETE
    finds the claimed record without an ARN (nothing to delete yet) and marks it deleted, then
    the PUT creates the throughput and records its ARN on a record that says Deleted."""
    path = f"/custom-models/{run_id}/throughput"
    deleted: list[int] = []
    cloud.bedrock.before_next(
        "CreateProvisionedModelThroughput", lambda: deleted.append(cloud.api("DELETE", path)[0])
    )
    status, body = cloud.api("PUT", path, body={"ModelUnits": 1})
    if status not in (200, 202) or deleted != [200]:
        raise RuntimeError(f"the race did not happen as scripted: PUT {status} {body}, DELETE {deleted}")


def _schedule_vanishes(cloud: LocalCloud, run_id: str) -> None:
    """The TTL schedule is gone (its stack was deleted and redeployed, or someone deleted it)."""
    record = cloud.run_record(run_id) or {}
    cloud.client("scheduler").delete_schedule(
        Name=record["serving"]["scheduleName"], GroupName=cloud.deployment.schedule_group
    )


def _throughput_by_hand(cloud: LocalCloud, run_id: str) -> None:
    """Someone creates a throughput in the console and tags it for the deployment; no run knows it."""
    cloud.client("bedrock").create_provisioned_model_throughput(
        provisionedModelName=f"{cloud.prefix}-console-experiment",
        modelId="amazon.nova-micro-v1:0:128k",
        modelUnits=1,
        tags=[{"key": "bmc:prefix", "value": cloud.prefix}, {"key": "team", "value": "support"}],
    )


def _called_once(cloud: LocalCloud, run_id: str) -> None:
    """A client calls the new throughput (Converse), then nobody ever again."""
    record = cloud.run_record(run_id) or {}
    cloud.client("bedrock-runtime").converse(
        modelId=record["serving"]["arn"], messages=[{"role": "user", "content": [{"text": "Hello?"}]}]
    )


def _job_cannot_be_stopped(cloud: LocalCloud) -> None:
    """A long job, and the cleanup of the aborted execution is refused StopModelCustomizationJob."""
    cloud.bedrock.script_job(JobScript(duration_seconds=12 * 3600))
    cloud.bedrock.fail_next("StopModelCustomizationJob", "AccessDeniedException")


GUARDRAILS: tuple[Scenario, ...] = (
    Scenario(
        "sweep-delete-put-race",
        "A DELETE races a PUT of the throughput and leaves one billing: the sweeper deletes it",
        API_REQUEST,
        API_DATASETS,
        *COMPLETES,
        drive="api",
        after=_delete_races_put,
        hours_after=1,
    ),
    Scenario(
        "sweep-ttl-schedule-vanished",
        "The TTL schedule is gone: the sweeper deletes the throughput once its ttlHours have passed",
        fine_tuning({"mode": "provisioned", "modelUnits": 1, "ttlHours": 2}),
        SUPPORT_DATASETS,
        *COMPLETES,
        after=_schedule_vanishes,
        hours_after=3,
    ),
    Scenario(
        "sweep-unknown-serving",
        "A throughput tagged for the deployment that no run knows: reported, never deleted",
        fine_tuning(),
        SUPPORT_DATASETS,
        *COMPLETES,
        after=_throughput_by_hand,
        hours_after=1,
        expect_serving_left="provisioned",
        expect_reported_left=1,
    ),
    Scenario(
        "sweep-job-of-stopped-run",
        "The run is aborted but its job cannot be stopped then: the sweeper stops it",
        fine_tuning(PROVISIONED),
        SUPPORT_DATASETS,
        "ABORTED",
        "STOPPED",
        script=_job_cannot_be_stopped,
        drive="abort-mid-training",
        hours_after=1,
    ),
    Scenario(
        "sweep-report-mode",
        "The DELETE/PUT race with the sweeper in report mode: the throughput is reported, not deleted",
        API_REQUEST,
        API_DATASETS,
        *COMPLETES,
        drive="api",
        after=_delete_races_put,
        hours_after=1,
        sweeper_mode="report",
        expect_serving_left="provisioned",
        expect_reported_left=1,
    ),
    Scenario(
        "idle-serving-deleted",
        "Nobody calls the throughput for a day: with idleAction delete the idle guard deletes it",
        fine_tuning({"mode": "provisioned", "modelUnits": 1, "idleAction": "delete"}),
        SUPPORT_DATASETS,
        *COMPLETES,
        after=_called_once,
        hours_after=25,
    ),
)
