"""Named runs of the workflow in the local cloud: the demo plays one, the e2e suite plays all.

A scenario says which datasets to upload, the manifest, how the simulated Bedrock behaves
(failure injection), how the run is driven, and the outcome it must reach. The checks that
apply to every scenario (final record, nothing left running, notifications) live in
`check_outcome`; the e2e tests add what is specific to each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from localcloud import samples
from localcloud.bedrock import (
    JobScript,
    ProvisioningScript,
    ScriptedError,
    quota_exceeded,
    role_not_assumable,
    throttling,
)
from localcloud.cloud import LocalCloud

NOVA_MICRO = "amazon.nova-micro-v1"
NOVA_MICRO_VARIANT = "amazon.nova-micro-v1:0:128k"
COHERE_LIGHT = "cohere.command-light-text-v14"
LEGACY_END_OF_LIFE = datetime(2026, 9, 30, tzinfo=UTC)
NOVA_PRO_TEACHER = "amazon.nova-pro-v1:0"
TITAN_EXPRESS = "amazon.titan-text-express-v1"


@dataclass(frozen=True)
class Dataset:
    key: str
    kind: str  # a format of localcloud.samples
    records: int
    corrupt_line: int | None = None  # replace this 1-based line with text that is not JSON


@dataclass
class ScenarioResult:
    scenario: Scenario
    run_id: str
    execution_arn: str
    execution: dict[str, Any]
    record: dict[str, Any]
    executions_started: int


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    manifest: dict[str, Any]  # "{datasets}" in a URI is replaced by the datasets bucket
    datasets: tuple[Dataset, ...]
    expected_execution: str  # SUCCEEDED | FAILED | ABORTED
    expected_status: str  # the run's final status in the registry
    script: Callable[[LocalCloud], None] = field(default=lambda cloud: None)
    drive: str = "manifest"  # manifest | duplicate-delivery | abort-mid-training | ttl-expiry
    expect_serving_left: str | None = None  # "provisioned" / "on-demand" when the model stays served
    # A run made first in the same cloud; "{parent}" in the manifest becomes its run id.
    parent: Scenario | None = None

    def run(self, cloud: LocalCloud) -> ScenarioResult:
        manifest = self.manifest
        if self.parent is not None:
            parent = self.parent.run(cloud)
            manifest = _with(manifest, "{parent}", parent.run_id)
        started_before = {e["executionArn"] for e in cloud.executions()}
        for dataset in self.datasets:
            lines = samples.jsonl(dataset.kind, dataset.records).splitlines(keepends=True)
            if dataset.corrupt_line is not None:
                lines[dataset.corrupt_line - 1] = (
                    '{"schemaVersion": "bedrock-conversation-2024", "messages": [\n'
                )
            cloud.upload(dataset.key, "".join(lines))
        self.script(cloud)
        manifest_key = f"{self.name}.json"
        cloud.put_manifest(manifest_key, _with(manifest, "{datasets}", cloud.deployment.datasets_bucket))
        if self.drive == "duplicate-delivery":
            cloud.redeliver_last_s3_event(manifest_key)
        executions = [e for e in cloud.executions() if e["executionArn"] not in started_before]
        if not executions:
            raise RuntimeError(f"{self.name}: the manifest started no execution")
        execution_arn = executions[0]["executionArn"]
        if self.drive == "abort-mid-training":
            cloud.wait_until_awaiting_job(execution_arn)
            cloud.abort(execution_arn)
        execution = cloud.wait_for_execution(execution_arn)
        run_id = execution["name"]
        if self.drive == "abort-mid-training":
            cloud.clock.advance(300)  # the stopped job takes a minute to reach Stopped
        if self.drive == "ttl-expiry":
            cloud.clock.advance(self.manifest["serving"]["ttlHours"] * 3600 + 60)
        record = cloud.run_record(run_id)
        if record is None:
            raise RuntimeError(f"{self.name}: run {run_id} has no registry record")
        return ScenarioResult(self, run_id, execution_arn, execution, record, len(cloud.executions()))


def _with(value: Any, placeholder: str, replacement: str) -> Any:
    """``value`` with ``placeholder`` replaced in every string it holds."""
    if isinstance(value, str):
        return value.replace(placeholder, replacement)
    if isinstance(value, list):
        return [_with(item, placeholder, replacement) for item in value]
    if isinstance(value, dict):
        return {key: _with(item, placeholder, replacement) for key, item in value.items()}
    return value


def check_outcome(cloud: LocalCloud, result: ScenarioResult) -> list[str]:
    """What must hold after every scenario; returns the problems found (empty when all hold)."""
    scenario, record = result.scenario, result.record
    problems = []
    if result.execution["status"] != scenario.expected_execution:
        problems.append(f"execution {result.execution['status']}, expected {scenario.expected_execution}")
    if record["status"] != scenario.expected_status:
        problems.append(f"run status {record['status']}, expected {scenario.expected_status}")
    running = cloud.bedrock.running_jobs()
    if running:
        problems.append(f"jobs still running: {[job.job_name for job in running]}")
    throughputs = [t for t in cloud.bedrock.throughputs() if t.status != "Failed"]
    deployments = [d for d in cloud.bedrock.deployments() if d.status != "Failed"]
    left = {"provisioned": len(throughputs), "on-demand": len(deployments)}
    for kind, count in left.items():
        expected = 1 if scenario.expect_serving_left == kind else 0
        if count != expected:
            problems.append(f"{count} {kind} serving resource(s) left, expected {expected}")
    failed_throughputs = [t for t in cloud.bedrock.throughputs() if t.status == "Failed"]
    if failed_throughputs:
        problems.append(f"failed throughputs not deleted: {[t.name for t in failed_throughputs]}")
    notifications = cloud.sent_notifications()
    statuses = [n["attributes"]["status"]["Value"] for n in notifications]
    if scenario.expected_execution == "SUCCEEDED":
        if statuses[-1:] not in ([record["status"]], ["IN_SERVICE"], ["COMPLETED"]):
            problems.append(f"success notification missing: {statuses}")
    elif statuses[-1:] != [scenario.expected_status]:
        problems.append(f"failure notification missing or wrong: {statuses}")
    return problems


def _fine_tuning(serving: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "runName": "support-bot",
        "baseModel": NOVA_MICRO,
        "customizationType": "FINE_TUNING",
        "trainingData": "s3://{datasets}/datasets/support/train.jsonl",
        "validationData": ["s3://{datasets}/datasets/support/validation.jsonl"],
        "hyperparameters": {"epochCount": 3, "learningRate": "2e-5"},
        "serving": serving or {"mode": "none"},
        "tags": {"team": "support"},
        **extra,
    }


SUPPORT_DATASETS = (
    Dataset("datasets/support/train.jsonl", "conversation", 160),
    Dataset("datasets/support/validation.jsonl", "conversation", 24),
)
PROVISIONED = {"mode": "provisioned", "modelUnits": 1}
_COMPLETES = ("SUCCEEDED", "COMPLETED")  # (execution status, the run's final status)
_FAILS = ("FAILED", "FAILED")


def _scripted_fine_tuning(
    name: str,
    summary: str,
    script: Callable[[LocalCloud], None],
    *,
    serving: dict[str, Any] | None = None,
    outcome: tuple[str, str] = _COMPLETES,
) -> Scenario:
    """Fine-tuning on the support datasets while ``script`` makes the simulated Bedrock misbehave."""
    return Scenario(name, summary, _fine_tuning(serving), SUPPORT_DATASETS, *outcome, script=script)


def _failing_submit(error: ScriptedError, count: int) -> Callable[[LocalCloud], None]:
    """The first ``count`` CreateModelCustomizationJob calls fail with ``error``."""
    return lambda cloud: cloud.bedrock.fail_next("CreateModelCustomizationJob", error, count=count)


def _overwrite_after_validation(cloud: LocalCloud) -> None:
    """Someone replaces the training data right after ValidateDatasets read it."""

    def overwrite() -> None:
        cloud.upload("datasets/support/train.jsonl", samples.jsonl("conversation", 40))

    cloud.after_function("validate_datasets", overwrite)


def _legacy_nova_micro(cloud: LocalCloud) -> None:
    """AWS marks the base model LEGACY, with an end-of-life date."""
    cloud.bedrock.foundation_models = tuple(
        replace(model, lifecycle_status="LEGACY", end_of_life_time=LEGACY_END_OF_LIFE)
        if model.model_id == NOVA_MICRO_VARIANT
        else model
        for model in cloud.bedrock.foundation_models
    )


# Runs that chained scenarios build on: a Nova Micro fine-tune, and a Cohere one (a family the
# catalog allows no further customization for).
_SUPPORT_BASE = Scenario(
    "support-base",
    "Fine-tune Nova Micro on the support datasets",
    _fine_tuning(runName="support-base"),
    SUPPORT_DATASETS,
    *_COMPLETES,
)
_COHERE_BASE = Scenario(
    "cohere-base",
    "Fine-tune Cohere Command Light on prompt/completion pairs",
    {
        "runName": "cohere-base",
        "baseModel": COHERE_LIGHT,
        "customizationType": "FINE_TUNING",
        "trainingData": "s3://{datasets}/datasets/support/pairs.jsonl",
    },
    (Dataset("datasets/support/pairs.jsonl", "prompt-completion", 160),),
    *_COMPLETES,
)
_REFINE_DATASET = (Dataset("datasets/support/refine.jsonl", "conversation", 120),)


def _refined(base: str, customization_type: str = "FINE_TUNING") -> dict[str, Any]:
    return {
        "runName": "support-refined",
        "baseModel": base,
        "customizationType": customization_type,
        "trainingData": "s3://{datasets}/datasets/support/refine.jsonl",
        "hyperparameters": {"epochCount": 1},
    }


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario(
            "fine-tuning-provisioned",
            "Fine-tune Nova Micro and serve it with no-commitment provisioned throughput",
            _fine_tuning(PROVISIONED),
            SUPPORT_DATASETS,
            "SUCCEEDED",
            "IN_SERVICE",
            expect_serving_left="provisioned",
        ),
        Scenario(
            "continued-pre-training",
            "Continued pre-training of Titan Text Express on unlabeled manuals",
            {
                "runName": "router-manuals",
                "baseModel": TITAN_EXPRESS,
                "customizationType": "CONTINUED_PRE_TRAINING",
                "trainingData": "s3://{datasets}/datasets/manuals/train.jsonl",
                "hyperparameters": {"epochCount": 1},
            },
            (Dataset("datasets/manuals/train.jsonl", "pretraining", 300),),
            "SUCCEEDED",
            "COMPLETED",
        ),
        Scenario(
            "distillation",
            "Distil Nova Pro into Nova Micro from prompts only",
            {
                "runName": "support-distilled",
                "baseModel": NOVA_MICRO,
                "customizationType": "DISTILLATION",
                "trainingData": "s3://{datasets}/datasets/prompts/train.jsonl",
                "distillation": {"teacherModel": NOVA_PRO_TEACHER, "maxResponseLength": 1000},
            },
            (Dataset("datasets/prompts/train.jsonl", "distillation", 150),),
            "SUCCEEDED",
            "COMPLETED",
        ),
        Scenario(
            "on-demand",
            "Fine-tune Nova Micro and deploy it for on-demand inference",
            _fine_tuning({"mode": "on-demand"}),
            SUPPORT_DATASETS,
            "SUCCEEDED",
            "IN_SERVICE",
            expect_serving_left="on-demand",
        ),
        Scenario(
            "invalid-dataset",
            "A broken line in the training data fails the run before any job is created",
            _fine_tuning(PROVISIONED),
            (
                Dataset("datasets/support/train.jsonl", "conversation", 160, corrupt_line=42),
                SUPPORT_DATASETS[1],
            ),
            "FAILED",
            "FAILED",
        ),
        _scripted_fine_tuning(
            "job-failed",
            "Bedrock fails the training job: the run fails with Bedrock's message",
            lambda cloud: cloud.bedrock.script_job(
                JobScript(outcome="Failed", failure_message="Training data has fewer records than required.")
            ),
            serving=PROVISIONED,
            outcome=_FAILS,
        ),
        _scripted_fine_tuning(
            "job-stopped",
            "Someone stops the job in the Bedrock console: the run ends STOPPED",
            lambda cloud: cloud.bedrock.script_job(JobScript(outcome="Stopped")),
            outcome=("FAILED", "STOPPED"),
        ),
        _scripted_fine_tuning(
            "throttled-submit",
            "CreateModelCustomizationJob is throttled, then succeeds",
            _failing_submit(throttling(), count=6),
        ),
        _scripted_fine_tuning(
            "quota-queued",
            "The account's training quota is full: the run queues, then trains",
            _failing_submit(quota_exceeded(), count=2),
        ),
        _scripted_fine_tuning(
            "iam-propagation",
            "Bedrock cannot assume the new service role yet, then can",
            _failing_submit(role_not_assumable(), count=2),
        ),
        _scripted_fine_tuning(
            "throughput-failed",
            "Provisioned throughput fails to come up: cleanup deletes it",
            lambda cloud: cloud.bedrock.script_throughput(ProvisioningScript(fail=True)),
            serving=PROVISIONED,
            outcome=_FAILS,
        ),
        _scripted_fine_tuning(
            "event-lost",
            "The job-state event is lost: the reconciler completes the run",
            lambda cloud: cloud.bedrock.script_job(JobScript(lose_event=True)),
        ),
        Scenario(
            "duplicate-s3-event",
            "EventBridge delivers the manifest's event twice: one run, one job",
            _fine_tuning(),
            SUPPORT_DATASETS,
            "SUCCEEDED",
            "COMPLETED",
            drive="duplicate-delivery",
        ),
        Scenario(
            "abort-mid-training",
            "The execution is aborted while the job trains: the job is stopped, nothing is left",
            _fine_tuning(PROVISIONED),
            SUPPORT_DATASETS,
            "ABORTED",
            "STOPPED",
            drive="abort-mid-training",
        ),
        Scenario(
            "ttl-expiry",
            "Serve for two hours: the throughput is deleted when its time to live ends",
            _fine_tuning({"mode": "provisioned", "modelUnits": 1, "ttlHours": 2}),
            SUPPORT_DATASETS,
            "SUCCEEDED",
            "COMPLETED",
            drive="ttl-expiry",
        ),
        _scripted_fine_tuning(
            "dataset-overwritten",
            "The training data is overwritten right after validation: the job trains the validated version",
            _overwrite_after_validation,
        ),
        Scenario(
            "chain-fine-tuning",
            "Fine-tune Nova Micro, then fine-tune the result further (run:<runId>): the lineage shows both",
            _refined("run:{parent}"),
            _REFINE_DATASET,
            *_COMPLETES,
            parent=_SUPPORT_BASE,
        ),
        Scenario(
            "chain-refused",
            "Fine-tuning a Cohere custom model again is refused before anything starts",
            _refined("run:{parent}"),
            _REFINE_DATASET,
            *_FAILS,
            parent=_COHERE_BASE,
        ),
        _scripted_fine_tuning(
            "legacy-base-model",
            "The base model is LEGACY: the run trains with a warning naming its end of life",
            _legacy_nova_micro,
        ),
    )
}
