"""The synthesized workflow, end to end, in the local cloud: every scenario of the suite.

Each scenario must reach its expected execution and registry status, leave nothing running
or billing that it should not, and notify (`check_outcome`); the checks below add what is
specific to each scenario.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud.cloud import LocalCloud
from localcloud.scenarios import SCENARIOS, ScenarioResult, check_outcome

pytestmark = pytest.mark.e2e


def _statuses(result: ScenarioResult) -> list[str]:
    return [entry["status"] for entry in result.record["statusHistory"]]


def _job_creations(cloud: LocalCloud) -> int:
    return len(cloud.bedrock.jobs())


def _fine_tuning_provisioned(cloud: LocalCloud, result: ScenarioResult) -> None:
    record = result.record
    assert _statuses(result) == [
        "PENDING",
        "VALIDATING",
        "TRAINING",
        "TRAINED",
        "DEPLOYING",
        "IN_SERVICE",
        "EVALUATING",
        "IN_SERVICE",
    ]
    assert record["serving"]["kind"] == "provisioned" and record["serving"]["status"] == "InService"
    assert record["evaluation"]["gate"]["passed"] and record["evaluation"]["failedRecords"] == 0
    report = _evaluation_report(cloud, result)
    assert report["records"]["total"] == 40 and report["metrics"]["rougeL"]["ci95"][0] > 0
    assert cloud.bedrock.invocations(
        record["serving"]["arn"]
    )  # the custom model answered through its throughput
    (throughput,) = cloud.bedrock.throughputs()
    assert throughput.arn == record["serving"]["arn"] and throughput.commitment_duration is None
    assert record["metricsSummary"]["epochs"] == 3
    assert record["metricsSummary"]["finalValidationLoss"] is not None
    (job,) = cloud.bedrock.jobs()
    assert job.vpc_config is not None and job.custom_model_kms_key_id is not None
    # Bedrock sent an event per status change; the rule passed only the terminal one on.
    assert [e["detail"]["jobStatus"] for e in cloud.bedrock.events] == ["InProgress", "Completed"]
    job_events = cloud.patches.registry.invocations_of(cloud.deployment.functions["job_events"])
    assert [i.event["detail"]["jobStatus"] for i in job_events] == ["Completed"]
    assert job.hyper_parameters["epochCount"] == "3"
    metrics = cloud.client("s3").get_object(
        Bucket=cloud.deployment.artifacts_bucket, Key=f"reports/{result.run_id}/metrics.json"
    )
    assert json.loads(metrics["Body"].read())["summary"]["epochs"] == 3


def _continued_pre_training(cloud: LocalCloud, result: ScenarioResult) -> None:
    (job,) = cloud.bedrock.jobs()
    assert job.customization_type == "CONTINUED_PRE_TRAINING"
    assert job.base_model_id.startswith("amazon.titan-text-express-v1")
    assert result.record["metricsSummary"]["finalValidationLoss"] is None


def _distillation(cloud: LocalCloud, result: ScenarioResult) -> None:
    (job,) = cloud.bedrock.jobs()
    assert job.customization_type == "DISTILLATION"
    teacher = job.customization_config["distillationConfig"]["teacherModelConfig"]  # type: ignore[index]
    assert teacher["teacherModelIdentifier"].startswith("amazon.nova-pro")
    assert teacher["maxResponseLengthForInference"] == 1000


def _on_demand(cloud: LocalCloud, result: ScenarioResult) -> None:
    (deployment,) = cloud.bedrock.deployments()
    assert deployment.status == "Active" and result.record["serving"]["arn"] == deployment.arn
    assert cloud.bedrock.throughputs() == []


def _invalid_dataset(cloud: LocalCloud, result: ScenarioResult) -> None:
    assert _job_creations(cloud) == 0
    assert result.record["error"]["error"] == "DatasetInvalid"
    assert "train.jsonl:42" in result.record["error"]["cause"]
    assert result.execution["error"] == "DatasetInvalid"
    report = cloud.client("s3").get_object(
        Bucket=cloud.deployment.artifacts_bucket, Key=f"reports/{result.run_id}/validation.json"
    )
    errors = json.loads(report["Body"].read())["errors"]
    assert errors[0]["line"] == 42


def _job_failed(cloud: LocalCloud, result: ScenarioResult) -> None:
    assert result.record["error"]["error"] == "JobFailed"
    assert "fewer records than required" in result.record["error"]["cause"]
    assert "fewer records than required" in cloud.sent_notifications()[-1]["message"]


def _job_stopped(cloud: LocalCloud, result: ScenarioResult) -> None:
    assert result.record["error"]["error"] == "JobStopped"


def _retried_submission(operation_calls: int) -> Callable[[LocalCloud, ScenarioResult], None]:
    def check(cloud: LocalCloud, result: ScenarioResult) -> None:
        assert _job_creations(cloud) == 1
        assert len(cloud.bedrock.calls("CreateModelCustomizationJob")) >= operation_calls

    return check


def _quota_queued(cloud: LocalCloud, result: ScenarioResult) -> None:
    assert "QUEUED" in _statuses(result)
    assert _job_creations(cloud) == 1
    assert 1800.0 in cloud.patches.waits("retry")  # retried every 30 minutes


def _throughput_failed(cloud: LocalCloud, result: ScenarioResult) -> None:
    assert result.record["error"]["error"] == "ServingFailed"
    assert cloud.bedrock.throughputs() == []  # the failed throughput was deleted by cleanup


def _event_lost(cloud: LocalCloud, result: ScenarioResult) -> None:
    assert cloud.bedrock.lost_events
    reconciles = cloud.patches.registry.invocations_of(cloud.deployment.functions["reconcile"])
    assert any(i.result and i.result.get("resolved") for i in reconciles)


def _duplicate_s3_event(cloud: LocalCloud, result: ScenarioResult) -> None:
    assert result.executions_started == 1
    assert _job_creations(cloud) == 1
    starts = cloud.patches.registry.invocations_of(cloud.deployment.functions["start_run"])
    assert len(starts) == 2


def _abort_mid_training(cloud: LocalCloud, result: ScenarioResult) -> None:
    (job,) = cloud.bedrock.jobs()
    assert job.status == "Stopped"
    assert cloud.bedrock.throughputs() == []
    ended = cloud.patches.registry.invocations_of(cloud.deployment.functions["execution_ended"])
    assert len(ended) == 1 and ended[0].succeeded


def _ttl_expiry(cloud: LocalCloud, result: ScenarioResult) -> None:
    assert result.record["serving"]["deletedAt"]
    assert cloud.bedrock.throughputs() == []
    assert "IN_SERVICE" in _statuses(result)


def _evaluation_report(cloud: LocalCloud, result: ScenarioResult) -> dict[str, Any]:
    body = cloud.client("s3").get_object(
        Bucket=cloud.deployment.artifacts_bucket, Key=f"reports/{result.run_id}/evaluation.json"
    )["Body"]
    report: dict[str, Any] = json.loads(body.read())
    return report


def _last_message(cloud: LocalCloud) -> str:
    return str(cloud.run_notifications()[-1]["message"])


def _evaluation_gate_rejected(cloud: LocalCloud, result: ScenarioResult) -> None:
    record = result.record
    assert _statuses(result)[-2:] == ["EVALUATING", "REJECTED"]
    assert record["serving"]["kind"] == "provisioned" and record["serving"]["status"] == "Deleted"
    assert not record["evaluation"]["gate"]["passed"]
    notification = cloud.run_notifications()[-1]
    assert notification["subject"].endswith(f"Run rejected (EvaluationGateFailed): {result.run_id}")
    assert (
        "less than the required +0.5" in notification["message"]
        and "gate FAILED (serving deleted)" in notification["message"]
    )


def _evaluation_temporary_serving(cloud: LocalCloud, result: ScenarioResult) -> None:
    record = result.record
    assert _statuses(result)[-4:] == ["DEPLOYING", "IN_SERVICE", "EVALUATING", "COMPLETED"]
    assert record["serving"]["temporary"] and record["serving"]["kind"] == "on-demand"
    assert record["serving"]["status"] == "Deleted" and record["serving"]["deletedAt"]
    assert cloud.bedrock.invocations(record["serving"]["arn"])  # it served the evaluation, then went
    assert "gate PASSED" in _last_message(cloud)


def _evaluation_throttled(cloud: LocalCloud, result: ScenarioResult) -> None:
    report = _evaluation_report(cloud, result)
    assert report["records"]["failed"]["any"] == 0
    assert report["usage"]["custom"]["retries"] == 5
    throttled = [
        i for i in cloud.bedrock.invocations(operation="Converse") if i.outcome == "ThrottlingException"
    ]
    assert len(throttled) == 5


def _evaluation_judge(cloud: LocalCloud, result: ScenarioResult) -> None:
    report = _evaluation_report(cloud, result)
    assert report["judge"]["modelId"] == "amazon.nova-pro-v1:0" and report["judge"]["judged"] == 40
    assert report["metrics"]["judge"]["custom"] > report["metrics"]["judge"]["base"]
    assert len(cloud.bedrock.invocations("amazon.nova-pro-v1:0")) == 80  # both answers of 40 records


def _evaluation_record_fails(cloud: LocalCloud, result: ScenarioResult) -> None:
    report = _evaluation_report(cloud, result)
    assert report["records"]["failed"] == {"custom": 1, "base": 0, "any": 1}
    assert report["failures"]["examples"][0]["error"] == "ModelErrorException"
    assert result.record["evaluation"]["failedRecords"] == 1
    assert "records: 40 evaluated, 39 compared, 1 failed" in _last_message(cloud)


def _evaluation_model_unusable(cloud: LocalCloud, result: ScenarioResult) -> None:
    record = result.record
    assert result.execution["error"] == "States.ExceedToleratedFailureThreshold"
    assert record["error"]["error"] == "States.ExceedToleratedFailureThreshold"
    assert record["serving"]["temporary"] and record["serving"]["status"] == "Deleted"
    assert "AccessDeniedException" in str(
        cloud.patches.registry.invocations_of(cloud.deployment.functions["evaluate_batch"])[0].error
    )


def _sweeps(cloud: LocalCloud) -> list[dict[str, Any]]:
    """What each sweep returned (the sweep function's invocations)."""
    invocations = cloud.patches.registry.invocations_of(cloud.deployment.functions["sweep"])
    return [i.result for i in invocations if i.result]


def _findings(cloud: LocalCloud) -> list[tuple[str, str]]:
    return [(f["rule"], f["action"]) for sweep in _sweeps(cloud) for f in sweep["findings"]]


def _sweep_delete_put_race(cloud: LocalCloud, result: ScenarioResult) -> None:
    serving = result.record["serving"]
    assert serving["status"] == "Deleted" and serving["deletedReason"].startswith("sweeper: ")
    assert ("orphaned-serving", "deleted") in _findings(cloud)
    assert result.record["sweeps"][-1]["action"] == "deleted"
    [message] = cloud.sweeper_notifications()
    assert "Figures: 2 examined, 1 deleted, 0 stopped, 0 reported" in message["message"]


def _sweep_ttl_schedule_vanished(cloud: LocalCloud, result: ScenarioResult) -> None:
    assert _statuses(result)[-2:] == ["IN_SERVICE", "COMPLETED"]
    assert result.record["serving"]["deletedReason"].startswith("its ttlHours ended at")
    assert ("expired-serving", "deleted") in _findings(cloud)


def _sweep_unknown_serving(cloud: LocalCloud, result: ScenarioResult) -> None:
    (throughput,) = cloud.bedrock.throughputs()
    assert throughput.name == "bmc-console-experiment"  # kept: no run owns it
    assert _findings(cloud)[-1] == ("unknown-resource", "reported")
    assert "without a bmc:runId tag" in cloud.sweeper_notifications()[-1]["message"]


def _sweep_job_of_stopped_run(cloud: LocalCloud, result: ScenarioResult) -> None:
    (job,) = cloud.bedrock.jobs()
    assert job.status == "Stopped"
    assert "StopModelCustomizationJob" in " ".join(cloud.run_notifications()[-1]["message"].splitlines())
    assert ("running-job", "stopped") in _findings(cloud)
    assert result.record["sweeps"][-1]["action"] == "stopped"


def _sweep_report_mode(cloud: LocalCloud, result: ScenarioResult) -> None:
    assert ("orphaned-serving", "reported") in _findings(cloud)
    assert "deleted" not in {action for _, action in _findings(cloud)}
    assert "sweeps" not in result.record and "lastSweep" not in result.record
    assert "(report mode)" in cloud.sweeper_notifications()[-1]["message"]


def _idle_serving_deleted(cloud: LocalCloud, result: ScenarioResult) -> None:
    assert _statuses(result)[-2:] == ["IN_SERVICE", "COMPLETED"]
    reason = result.record["serving"]["deletedReason"]
    assert reason == "no invocations in the last 24 hour(s): deleted by the idle guard"
    assert ("idle-serving", "deleted") in _findings(cloud)


def _training_lineage(result: ScenarioResult) -> dict[str, Any]:
    training: dict[str, Any] = result.record["lineage"]["datasets"]["training"]
    return training


def _dataset_overwritten(cloud: LocalCloud, result: ScenarioResult) -> None:
    training = _training_lineage(result)
    s3 = cloud.client("s3")
    bucket = cloud.deployment.datasets_bucket
    current = s3.head_object(Bucket=bucket, Key="datasets/support/train.jsonl")
    # Both versions are on the record: the one validated (and trained), the one there now.
    assert training["changedAfterValidation"] is True
    assert training["currentVersionId"] == current["VersionId"] != training["versionId"]
    (job,) = cloud.bedrock.jobs()
    assert job.training_data_config["s3Uri"] == training["snapshotUri"]
    snapshot = s3.get_object(Bucket=bucket, Key=training["snapshotUri"].split("/", 3)[3])["Body"].read()
    validated = s3.get_object(
        Bucket=bucket, Key="datasets/support/train.jsonl", VersionId=training["versionId"]
    )
    assert snapshot == validated["Body"].read()
    assert hashlib.sha256(snapshot).hexdigest() == training["sha256"]
    assert training["records"] == 160  # not the 40 records written after validation
    assert "the validated version was trained" in cloud.sent_notifications()[-1]["message"]
    # Nobody but the workflow writes or deletes a snapshot, not even the data's owner.
    key = training["snapshotUri"].split("/", 3)[3]
    with pytest.raises(ClientError, match=r"AccessDenied|403"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    with pytest.raises(ClientError, match=r"AccessDenied|403"):
        s3.delete_object(Bucket=bucket, Key=key)


def _chain_fine_tuning(cloud: LocalCloud, result: ScenarioResult) -> None:
    lineage = result.record["lineage"]
    parent = cloud.run_record(lineage["parentRunId"])
    assert parent is not None and parent["status"] == "COMPLETED"
    _, second = cloud.bedrock.jobs()
    assert second.parent_model_arn == parent["customModelArn"] == lineage["parentModelArn"]
    model = cloud.client("bedrock").get_custom_model(modelIdentifier=result.record["customModelArn"])
    assert model["baseModelArn"] == parent["customModelArn"]  # Bedrock records the parent too
    assert [(s["runId"], s["customModelArn"]) for s in lineage["chain"]] == [
        (parent["runId"], parent["customModelArn"]),
        (result.run_id, result.record["customModelArn"]),
    ]
    assert lineage["rootFoundationModel"] == "amazon.nova-micro-v1:0:128k"
    assert second.hyper_parameters["epochCount"] == "1"  # the foundation model's schema applies


def _chain_refused(cloud: LocalCloud, result: ScenarioResult) -> None:
    (finding,) = result.record["error"]["findings"]
    assert (finding["field"], finding["code"]) == ("baseModel", "CHAIN_NOT_SUPPORTED")
    assert finding["line"] == 3  # the manifest line of baseModel
    assert len(cloud.bedrock.jobs()) == 1  # the parent's: nothing was submitted for this run


def _legacy_base_model(cloud: LocalCloud, result: ScenarioResult) -> None:
    (warning,) = result.record["warnings"]
    assert warning["code"] == "BASE_MODEL_LEGACY" and "2026-09-30" in warning["message"]
    assert "BASE_MODEL_LEGACY" in cloud.sent_notifications()[-1]["message"]


SPECIFIC_CHECKS: dict[str, Callable[[LocalCloud, ScenarioResult], None]] = {
    "fine-tuning-provisioned": _fine_tuning_provisioned,
    "continued-pre-training": _continued_pre_training,
    "distillation": _distillation,
    "on-demand": _on_demand,
    "invalid-dataset": _invalid_dataset,
    "job-failed": _job_failed,
    "job-stopped": _job_stopped,
    "throttled-submit": _retried_submission(2),
    "quota-queued": _quota_queued,
    "iam-propagation": _retried_submission(3),
    "throughput-failed": _throughput_failed,
    "event-lost": _event_lost,
    "duplicate-s3-event": _duplicate_s3_event,
    "abort-mid-training": _abort_mid_training,
    "ttl-expiry": _ttl_expiry,
    "evaluation-gate-rejected": _evaluation_gate_rejected,
    "evaluation-temporary-serving": _evaluation_temporary_serving,
    "evaluation-throttled": _evaluation_throttled,
    "evaluation-judge": _evaluation_judge,
    "evaluation-record-fails": _evaluation_record_fails,
    "evaluation-model-unusable": _evaluation_model_unusable,
    "sweep-delete-put-race": _sweep_delete_put_race,
    "sweep-ttl-schedule-vanished": _sweep_ttl_schedule_vanished,
    "sweep-unknown-serving": _sweep_unknown_serving,
    "sweep-job-of-stopped-run": _sweep_job_of_stopped_run,
    "sweep-report-mode": _sweep_report_mode,
    "idle-serving-deleted": _idle_serving_deleted,
    "dataset-overwritten": _dataset_overwritten,
    "chain-fine-tuning": _chain_fine_tuning,
    "chain-refused": _chain_refused,
    "legacy-base-model": _legacy_base_model,
}


def test_every_scenario_has_specific_checks() -> None:
    assert set(SPECIFIC_CHECKS) == set(SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario(cloud: LocalCloud, name: str) -> None:
    result = SCENARIOS[name].run(cloud)
    assert check_outcome(cloud, result) == []
    SPECIFIC_CHECKS[name](cloud, result)
