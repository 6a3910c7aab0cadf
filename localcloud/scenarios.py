"""Named runs of the workflow in the local cloud: the demo plays one, the e2e suite plays all.

A scenario says which datasets to upload, the manifest, how the simulated Bedrock behaves
(failure injection), how the run is driven, and the outcome it must reach. The checks that
apply to every scenario (final record, nothing left running, notifications) live in
`check_outcome`; the e2e tests add what is specific to each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
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

    def run(self, cloud: LocalCloud, *, timeout: float = 60.0) -> ScenarioResult:
        """Play the scenario; ``timeout``: wall seconds the execution may take."""
        for dataset in self.datasets:
            lines = samples.jsonl(dataset.kind, dataset.records).splitlines(keepends=True)
            if dataset.corrupt_line is not None:
                lines[dataset.corrupt_line - 1] = (
                    '{"schemaVersion": "bedrock-conversation-2024", "messages": [\n'
                )
            cloud.upload(dataset.key, "".join(lines))
        self.script(cloud)
        manifest_key = f"{self.name}.json"
        cloud.put_manifest(manifest_key, _with_bucket(self.manifest, cloud.deployment.datasets_bucket))
        if self.drive == "duplicate-delivery":
            cloud.redeliver_last_s3_event(manifest_key)
        executions = cloud.executions()
        if not executions:
            raise RuntimeError(f"{self.name}: the manifest started no execution")
        execution_arn = executions[0]["executionArn"]
        if self.drive == "abort-mid-training":
            cloud.wait_until_awaiting_job(execution_arn)
            cloud.abort(execution_arn)
        execution = cloud.wait_for_execution(execution_arn, timeout=timeout)
        run_id = execution["name"]
        if self.drive == "abort-mid-training":
            cloud.clock.advance(300)  # the stopped job takes a minute to reach Stopped
        if self.drive == "ttl-expiry":
            cloud.clock.advance(self.manifest["serving"]["ttlHours"] * 3600 + 60)
        record = cloud.run_record(run_id)
        if record is None:
            raise RuntimeError(f"{self.name}: run {run_id} has no registry record")
        return ScenarioResult(self, run_id, execution_arn, execution, record, len(cloud.executions()))


def _with_bucket(value: Any, bucket: str) -> Any:
    if isinstance(value, str):
        return value.replace("{datasets}", bucket)
    if isinstance(value, list):
        return [_with_bucket(item, bucket) for item in value]
    if isinstance(value, dict):
        return {key: _with_bucket(item, bucket) for key, item in value.items()}
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
TEST_SET = Dataset("datasets/support/test.jsonl", "evaluation", 40)
EVALUATED_DATASETS = (*SUPPORT_DATASETS, TEST_SET)
# Compare the custom model with its base on held-out tickets; keep it only if ROUGE-L improves.
EVALUATION = {
    "testData": "s3://{datasets}/datasets/support/test.jsonl",
    "gate": {"metric": "rougeL", "minDelta": 0.05, "onFail": "undeploy"},
}
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


def _evaluated(
    name: str,
    summary: str,
    evaluation: dict[str, Any],
    *,
    serving: dict[str, Any] | None = None,
    script: Callable[[LocalCloud], None] = lambda cloud: None,
    outcome: tuple[str, str] = _COMPLETES,
) -> Scenario:
    """Fine-tuning with an evaluation of the custom model against its base (served only for the
    evaluation unless ``serving`` says otherwise)."""
    block = {"testData": EVALUATION["testData"], **evaluation}
    manifest = _fine_tuning(serving or {"mode": "none"}, evaluation=block)
    return Scenario(name, summary, manifest, EVALUATED_DATASETS, *outcome, script=script)


def _failing_converse(error: ScriptedError | str, count: int = 1) -> Callable[[LocalCloud], None]:
    """The first ``count`` Converse calls (the evaluation's first answers) fail with ``error``."""
    return lambda cloud: cloud.bedrock.fail_next("Converse", error, count=count)


def _failing_submit(error: ScriptedError, count: int) -> Callable[[LocalCloud], None]:
    """The first ``count`` CreateModelCustomizationJob calls fail with ``error``."""
    return lambda cloud: cloud.bedrock.fail_next("CreateModelCustomizationJob", error, count=count)


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario(
            "fine-tuning-provisioned",
            "Fine-tune Nova Micro, serve it with provisioned throughput and evaluate it against its base",
            _fine_tuning(PROVISIONED, evaluation=EVALUATION),
            EVALUATED_DATASETS,
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
        _evaluated(
            "evaluation-gate-rejected",
            "The custom model does not beat its base by the gate's margin: REJECTED, throughput deleted",
            {"gate": {"metric": "rougeL", "minDelta": 0.5, "onFail": "undeploy"}},
            serving=PROVISIONED,
            outcome=("SUCCEEDED", "REJECTED"),
        ),
        _evaluated(
            "evaluation-temporary-serving",
            "A run that serves nothing is deployed on demand for its evaluation, then undeployed",
            {"gate": {"metric": "tokenF1", "minDelta": 0.05}},
        ),
        _evaluated(
            "evaluation-throttled",
            "Converse is throttled at first: the batches back off and retry, no record is lost",
            {"metrics": ["tokenF1", "rougeL"]},
            script=_failing_converse(throttling(), count=5),
        ),
        _evaluated(
            "evaluation-judge",
            "An LLM judge rates both models' answers; the gate is on the judge's score",
            {"judge": {"modelId": "amazon.nova-pro-v1:0"}, "gate": {"metric": "judge", "minDelta": 0.2}},
        ),
        _evaluated(
            "evaluation-record-fails",
            "One record fails for good: it is counted and reported, within the tolerated 5%",
            {"toleratedFailurePercentage": 5},
            script=_failing_converse("ModelErrorException"),
        ),
        _evaluated(
            "evaluation-model-unusable",
            "The served model refuses every call: the evaluation fails and cleanup undeploys it",
            {},
            script=_failing_converse("AccessDeniedException"),
            outcome=_FAILS,
        ),
    )
}
