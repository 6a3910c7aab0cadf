"""Runs that go wrong, and what the workflow does: an invalid dataset, a failed or stopped job,
throttling, quota and IAM propagation, a throughput that fails, a lost or duplicated event, an
aborted execution, a time to live that ends.
"""

from __future__ import annotations

from collections.abc import Callable

from localcloud.bedrock import (
    JobScript,
    ProvisioningScript,
    ScriptedError,
    quota_exceeded,
    role_not_assumable,
    throttling,
)
from localcloud.cloud import LocalCloud
from localcloud.scenarios.runs import FAILS, PROVISIONED, SUPPORT_DATASETS, fine_tuning, scripted_fine_tuning
from localcloud.scenarios.scenario import Dataset, Scenario


def _failing_submit(error: ScriptedError, count: int) -> Callable[[LocalCloud], None]:
    """The first ``count`` CreateModelCustomizationJob calls fail with ``error``."""
    return lambda cloud: cloud.bedrock.fail_next("CreateModelCustomizationJob", error, count=count)


FAILURES: tuple[Scenario, ...] = (
    Scenario(
        "invalid-dataset",
        "A broken line in the training data fails the run before any job is created",
        fine_tuning(PROVISIONED),
        (
            Dataset("datasets/support/train.jsonl", "conversation", 160, corrupt_line=42),
            SUPPORT_DATASETS[1],
        ),
        "FAILED",
        "FAILED",
    ),
    scripted_fine_tuning(
        "job-failed",
        "Bedrock fails the training job: the run fails with Bedrock's message",
        lambda cloud: cloud.bedrock.script_job(
            JobScript(outcome="Failed", failure_message="Training data has fewer records than required.")
        ),
        serving=PROVISIONED,
        outcome=FAILS,
    ),
    scripted_fine_tuning(
        "job-stopped",
        "Someone stops the job in the Bedrock console: the run ends STOPPED",
        lambda cloud: cloud.bedrock.script_job(JobScript(outcome="Stopped")),
        outcome=("FAILED", "STOPPED"),
    ),
    scripted_fine_tuning(
        "throttled-submit",
        "CreateModelCustomizationJob is throttled, then succeeds",
        _failing_submit(throttling(), count=6),
    ),
    scripted_fine_tuning(
        "quota-queued",
        "The account's training quota is full: the run queues, then trains",
        _failing_submit(quota_exceeded(), count=2),
    ),
    scripted_fine_tuning(
        "iam-propagation",
        "Bedrock cannot assume the new service role yet, then can",
        _failing_submit(role_not_assumable(), count=2),
    ),
    scripted_fine_tuning(
        "throughput-failed",
        "Provisioned throughput fails to come up: cleanup deletes it",
        lambda cloud: cloud.bedrock.script_throughput(ProvisioningScript(fail=True)),
        serving=PROVISIONED,
        outcome=FAILS,
    ),
    scripted_fine_tuning(
        "event-lost",
        "The job-state event is lost: the reconciler completes the run",
        lambda cloud: cloud.bedrock.script_job(JobScript(lose_event=True)),
    ),
    Scenario(
        "duplicate-s3-event",
        "EventBridge delivers the manifest's event twice: one run, one job",
        fine_tuning(),
        SUPPORT_DATASETS,
        "SUCCEEDED",
        "COMPLETED",
        drive="duplicate-delivery",
    ),
    Scenario(
        "abort-mid-training",
        "The execution is aborted while the job trains: the job is stopped, nothing is left",
        fine_tuning(PROVISIONED),
        SUPPORT_DATASETS,
        "ABORTED",
        "STOPPED",
        drive="abort-mid-training",
    ),
    Scenario(
        "ttl-expiry",
        "Serve for two hours: the throughput is deleted when its time to live ends",
        fine_tuning({"mode": "provisioned", "modelUnits": 1, "ttlHours": 2}),
        SUPPORT_DATASETS,
        "SUCCEEDED",
        "COMPLETED",
        drive="ttl-expiry",
    ),
)
