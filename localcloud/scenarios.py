"""Named runs of the workflow in the local cloud: the demo plays one, the e2e suite plays all.

A scenario says which datasets to upload, the manifest, how the simulated Bedrock behaves
(failure injection), how the run is driven, what happens after it (``after``: a race, a lost
schedule, a resource created by hand) and how many hours then pass (the sweeper runs on its
schedule meanwhile), and the outcome it must reach. The checks that apply to every scenario
(final record, nothing running, nothing billing that its run does not own as IN_SERVICE,
notifications) live in `check_outcome`; the e2e tests add what is specific to each.
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
    # manifest | duplicate-delivery | abort-mid-training | ttl-expiry | api (`manifest` is then the
    # body of POST /custom-models, sent by the local operator)
    drive: str = "manifest"
    expect_serving_left: str | None = None  # "provisioned" / "on-demand" when the model stays served
    after: Callable[[LocalCloud, str], None] | None = None  # (cloud, run id), once the execution ended
    hours_after: float = 0  # simulated hours that pass after `after` (scheduled sweeps run)
    sweeper_mode: str | None = None  # the deployment's sweeper.mode, when not the default
    # Billing resources no run owns that the sweeper must report and may not delete (unknown to
    # the registry, or report mode): they are left, and each must be in a sweeper notification.
    expect_reported_left: int = 0
    # A run made first in the same cloud; "{parent}" in the manifest becomes its run id.
    parent: Scenario | None = None

    def run(self, cloud: LocalCloud, *, timeout: float = 60.0) -> ScenarioResult:
        """Play the scenario; ``timeout``: wall seconds the execution may take."""
        manifest = self.manifest
        if self.parent is not None:
            parent = self.parent.run(cloud, timeout=timeout)
            manifest = _with(manifest, "{parent}", parent.run_id)
        started_before = {e["executionArn"] for e in cloud.executions()}
        for dataset in self.datasets:
            lines = samples.jsonl(dataset.kind, dataset.records).splitlines(keepends=True)
            if dataset.corrupt_line is not None:
                lines[dataset.corrupt_line - 1] = (
                    '{"schemaVersion": "bedrock-conversation-2024", "messages": [\n'
                )
            cloud.upload(dataset.key, "".join(lines))
        if self.sweeper_mode is not None:
            cloud.configure_function("sweep", SWEEPER_MODE=self.sweeper_mode)
        self.script(cloud)
        manifest_key = f"{self.name}.json"
        if self.drive == "api":
            status, created = cloud.api(
                "POST", "/custom-models", body=_with(manifest, "{datasets}", cloud.deployment.datasets_bucket)
            )
            if status != 202:
                raise RuntimeError(f"{self.name}: POST /custom-models answered {status} {created}")
        else:
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
        execution = cloud.wait_for_execution(execution_arn, timeout=timeout)
        run_id = execution["name"]
        if self.drive == "abort-mid-training":
            cloud.clock.advance(300)  # the stopped job takes a minute to reach Stopped
        if self.drive == "ttl-expiry":
            cloud.clock.advance(self.manifest["serving"]["ttlHours"] * 3600 + 60)
        if self.after is not None:
            self.after(cloud, run_id)
        if self.hours_after:
            cloud.clock.advance(self.hours_after * 3600)
            cloud.clock.advance(SETTLE_SECONDS)  # a stopped job or a deleted serving settles
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
    problems += _unowned_serving(cloud, scenario)
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
    problems += _report_problems(cloud, result)
    notifications = cloud.run_notifications()
    statuses = [n["attributes"]["status"]["Value"] for n in notifications]
    if scenario.expected_execution == "SUCCEEDED":
        if statuses[-1:] not in ([record["status"]], ["IN_SERVICE"], ["COMPLETED"]):
            problems.append(f"success notification missing: {statuses}")
    elif statuses[-1:] != [scenario.expected_status]:
        problems.append(f"failure notification missing or wrong: {statuses}")
    return problems


def _report_problems(cloud: LocalCloud, result: ScenarioResult) -> list[str]:
    """Every run, whatever its outcome, has its HTML report, linked from its last notification."""
    uri = (result.record.get("reports") or {}).get("report")
    expected = f"s3://{cloud.deployment.artifacts_bucket}/reports/{result.run_id}/report.html"
    if uri != expected:
        return [f"report {uri!r} recorded, expected {expected} ({result.record.get('reportProblem')})"]
    head = cloud.client("s3").head_object(
        Bucket=cloud.deployment.artifacts_bucket, Key=f"reports/{result.run_id}/report.html"
    )
    problems = []
    if not str(head.get("ContentType", "")).startswith("text/html"):
        problems.append(f"report served as {head.get('ContentType')}")
    notifications = cloud.run_notifications()
    if not notifications or uri not in notifications[-1]["message"]:
        problems.append("the last notification does not link the report")
    return problems


def _unowned_serving(cloud: LocalCloud, scenario: Scenario) -> list[str]:
    """Nothing may bill that its run does not own as IN_SERVICE (the registry names it there),
    except what the scenario expects the sweeper to report and keep."""
    billing = [(t.arn, t.name) for t in cloud.bedrock.throughputs() if t.status != "Failed"]
    billing += [(d.arn, d.name) for d in cloud.bedrock.deployments() if d.status != "Failed"]
    unowned = []
    for arn, name in billing:
        run_id = cloud.bedrock_tags(arn).get("bmc:runId")
        record = cloud.run_record(run_id) if run_id else None
        serving = (record or {}).get("serving") or {}
        if not (record and record["status"] == "IN_SERVICE" and serving.get("arn") == arn):
            unowned.append((arn, name))
    problems = []
    if len(unowned) != scenario.expect_reported_left:
        problems.append(f"billing without an IN_SERVICE run that owns it: {[n for _, n in unowned]}")
    reported = "".join(n["message"] for n in cloud.sweeper_notifications())
    problems += [
        f"{name} is left but was never reported by the sweeper"
        for arn, name in unowned
        if arn not in reported
    ]
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
SETTLE_SECONDS = 300
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
        Scenario(
            "sweep-delete-put-race",
            "A DELETE races a PUT of the throughput and leaves one billing: the sweeper deletes it",
            API_REQUEST,
            API_DATASETS,
            *_COMPLETES,
            drive="api",
            after=_delete_races_put,
            hours_after=1,
        ),
        Scenario(
            "sweep-ttl-schedule-vanished",
            "The TTL schedule is gone: the sweeper deletes the throughput once its ttlHours have passed",
            _fine_tuning({"mode": "provisioned", "modelUnits": 1, "ttlHours": 2}),
            SUPPORT_DATASETS,
            *_COMPLETES,
            after=_schedule_vanishes,
            hours_after=3,
        ),
        Scenario(
            "sweep-unknown-serving",
            "A throughput tagged for the deployment that no run knows: reported, never deleted",
            _fine_tuning(),
            SUPPORT_DATASETS,
            *_COMPLETES,
            after=_throughput_by_hand,
            hours_after=1,
            expect_serving_left="provisioned",
            expect_reported_left=1,
        ),
        Scenario(
            "sweep-job-of-stopped-run",
            "The run is aborted but its job cannot be stopped then: the sweeper stops it",
            _fine_tuning(PROVISIONED),
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
            *_COMPLETES,
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
            _fine_tuning({"mode": "provisioned", "modelUnits": 1, "idleAction": "delete"}),
            SUPPORT_DATASETS,
            *_COMPLETES,
            after=_called_once,
            hours_after=25,
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
