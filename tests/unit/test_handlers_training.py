"""From datasets to a trained model: validate_datasets, preflight, submit_job, await_job,
job_events and reconcile, against the simulated Bedrock."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from bmc.aws import clients
from bmc.aws.bedrock_ops import BedrockOps, classify
from bmc.errors import (
    BedrockQuotaExceeded,
    BedrockRoleNotReady,
    BedrockThrottled,
    BedrockUnavailable,
    DatasetInvalid,
    JobRejected,
    ModelNotAvailable,
)
from bmc.handlers import await_job, job_events, preflight, reconcile, submit_job, validate_datasets
from botocore.exceptions import ClientError, EndpointConnectionError

from localcloud.bedrock import DEFAULT_FOUNDATION_MODELS, quota_exceeded, role_not_assumable, throttling
from tests.unit.workflow_support import (
    ARTIFACTS_BUCKET,
    CONVERSATION_RECORD,
    DATASETS_BUCKET,
    MODEL_KEY_ARN,
    SERVICE_ROLE_ARN,
    Cloud,
    event_bridge,
    invoke,
    local_cloud,
    prepared,
    snapshotted,
    step,
    submitted,
)

JOB_EVENT = "Model Customization Job State Change"


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    with local_cloud() as created:
        yield created


def distillation_on_prompts(cloud: Cloud, **config: Any) -> dict[str, Any]:
    """Spec fields of a distillation run on 100 uploaded prompts (no validation data)."""
    cloud.put_jsonl("data/prompts.jsonl", [CONVERSATION_RECORD] * 100)
    return {
        "customizationType": "DISTILLATION",
        "trainingData": f"s3://{DATASETS_BUCKET}/data/prompts.jsonl",
        "validationData": None,
        "hyperparameters": None,
        "distillation": config,
    }


def validated(run_id: str, **overrides: Any) -> dict[str, Any]:
    state = prepared(run_id, **overrides)
    return dict(step(run_id, validate_datasets.handler, state, "validation"))


# --- validate_datasets -------------------------------------------------------------------------


def test_valid_datasets_get_a_report_and_stats(cloud: Cloud) -> None:
    state = validated("run-1")
    result = state["validation"]
    assert result["valid"] is True
    assert result["reportUri"] == f"s3://{ARTIFACTS_BUCKET}/reports/run-1/validation.json"
    assert result["stats"]["training"]["records"] == 12
    assert result["warningCount"] >= 1  # fewer records than recommended
    assert result["estimate"]["epochs"] == 2
    assert cloud.read_json(result["reportUri"])["valid"] is True
    run = cloud.run("run-1")
    assert run["status"] == "VALIDATING"
    assert run["reports"]["validation"] == result["reportUri"]


def test_invalid_datasets_are_refused_with_their_first_errors(cloud: Cloud) -> None:
    bad = {**CONVERSATION_RECORD, "messages": CONVERSATION_RECORD["messages"][::-1]}
    cloud.put_jsonl("data/train.jsonl", [CONVERSATION_RECORD] * 10 + [bad])
    state = prepared("run-1")
    with pytest.raises(DatasetInvalid) as raised:
        step("run-1", validate_datasets.handler, state, "validation")
    message = str(raised.value)
    assert f"s3://{DATASETS_BUCKET}/data/train.jsonl:11 messages[0].role" in message
    report_uri = f"s3://{ARTIFACTS_BUCKET}/reports/run-1/validation.json"
    assert report_uri in message
    assert cloud.read_json(report_uri)["valid"] is False
    assert cloud.run("run-1")["reports"]["validation"] == report_uri


def test_the_report_records_which_object_version_was_validated(cloud: Cloud) -> None:
    """Lineage: the digest of the exact bytes read, and the S3 version and ETag, from one read."""
    cloud.s3.put_bucket_versioning(Bucket=DATASETS_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    cloud.put_jsonl("data/train.jsonl", [CONVERSATION_RECORD] * 12)
    head = cloud.s3.head_object(Bucket=DATASETS_BUCKET, Key="data/train.jsonl")
    body = cloud.s3.get_object(Bucket=DATASETS_BUCKET, Key="data/train.jsonl")["Body"].read()
    training = validated("run-1")["validation"]["stats"]["training"]
    assert training["sha256"] == hashlib.sha256(body).hexdigest()
    assert training["versionId"] == head["VersionId"]
    assert training["etag"] == head["ETag"].strip('"')
    assert training["size"] == len(body)


def test_a_rule_acknowledged_in_the_spec_does_not_fail_the_run(cloud: Cloud) -> None:
    system = {**CONVERSATION_RECORD, "system": [{"text": "System: be brief."}]}
    cloud.put_jsonl("data/train.jsonl", [CONVERSATION_RECORD] * 10 + [system])
    with pytest.raises(DatasetInvalid, match="RESERVED_STRING"):
        validated("run-1")
    state = validated("run-2", validation={"allow": ["RESERVED_STRING"]})
    report = cloud.read_json(state["validation"]["reportUri"])
    assert report["valid"] is True
    assert report["stats"]["acknowledged_counts"] == {"RESERVED_STRING": 1}


def test_a_missing_training_file_is_a_dataset_error(cloud: Cloud) -> None:
    cloud.s3.delete_object(Bucket=DATASETS_BUCKET, Key="data/train.jsonl")
    with pytest.raises(DatasetInvalid, match="FILE_NOT_FOUND"):
        step("run-1", validate_datasets.handler, prepared("run-1"), "validation")


# --- preflight ---------------------------------------------------------------------------------


def test_preflight_reports_the_lifecycle(cloud: Cloud) -> None:
    result = step("run-1", preflight.handler, validated("run-1"), None)
    assert result == {"region": "us-east-1", "notes": [], "warnings": [], "foundationModelStatus": "ACTIVE"}


def test_preflight_checks_the_teacher_too(cloud: Cloud) -> None:
    state = prepared("run-1", **distillation_on_prompts(cloud, teacherModel="amazon.nova-pro-v1:0"))
    result = step("run-1", preflight.handler, state, None)
    assert result["teacherModelStatus"] == "ACTIVE"


def test_preflight_checks_the_profile_of_a_profile_only_teacher(cloud: Cloud) -> None:
    state = prepared("run-1", **distillation_on_prompts(cloud, teacherModel="amazon.nova-premier-v1:0"))
    result = step("run-1", preflight.handler, state, None)
    assert result["teacherModelId"] == "us.amazon.nova-premier-v1:0"
    assert (result["teacherModelStatus"], result["teacherProfileStatus"]) == ("ACTIVE", "ACTIVE")
    assert cloud.sim.calls("GetInferenceProfile") == ["GetInferenceProfile"]


def test_an_unreadable_lifecycle_is_unknown_not_fatal(cloud: Cloud) -> None:
    cloud.sim.fail_next("GetFoundationModel", "AccessDeniedException", "not authorized")
    result = step("run-1", preflight.handler, validated("run-1"), None)
    assert result["foundationModelStatus"] == "UNKNOWN"
    assert "not checked" in result["notes"][0]


def _legacy_nova_micro(end_of_life: datetime | None) -> list[Any]:
    return [
        dataclasses.replace(model, lifecycle_status="LEGACY", end_of_life_time=end_of_life)
        if model.model_id.startswith("amazon.nova-micro")
        else model
        for model in DEFAULT_FOUNDATION_MODELS
    ]


def test_a_legacy_model_is_a_warning_with_its_end_of_life() -> None:
    end = datetime(2026, 9, 30, tzinfo=UTC)
    with local_cloud(foundation_models=_legacy_nova_micro(end)) as cloud:
        result = step("run-1", preflight.handler, validated("run-1"), None)
        assert result["foundationModelStatus"] == "LEGACY"
        assert result["foundationModelEndOfLife"].startswith("2026-09-30")
        (warning,) = result["warnings"]
        assert warning["code"] == "BASE_MODEL_LEGACY" and warning["field"] == "baseModel"
        assert "end of life is 2026-09-30" in warning["message"]
        assert cloud.run("run-1")["warnings"] == [warning]


def test_a_legacy_model_without_a_date_says_so() -> None:
    with local_cloud(foundation_models=_legacy_nova_micro(None)):
        (warning,) = step("run-1", preflight.handler, validated("run-1"), None)["warnings"]
        assert "no end-of-life date yet" in warning["message"]


def test_a_deployment_can_refuse_legacy_models(monkeypatch: pytest.MonkeyPatch) -> None:
    with local_cloud(foundation_models=_legacy_nova_micro(None)):
        state = validated("run-1")
        monkeypatch.setenv("ALLOW_LEGACY_BASE_MODELS", "false")
        with pytest.raises(ModelNotAvailable, match=r"LEGACY.*allowLegacyBaseModels"):
            step("run-1", preflight.handler, state, None)


def test_a_model_of_another_region_is_not_available(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    state = validated("run-1")
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    with pytest.raises(ModelNotAvailable, match="us-west-2"):
        step("run-1", preflight.handler, state, None)


def test_preflight_enforces_the_allow_list(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    state = validated("run-1")
    monkeypatch.setenv("ALLOWED_BASE_MODELS", "amazon.nova-lite-v1:0:300k")
    with pytest.raises(ModelNotAvailable, match="not allowed"):
        step("run-1", preflight.handler, state, None)


# --- submit_job --------------------------------------------------------------------------------


def test_the_job_request_carries_everything(cloud: Cloud) -> None:
    state = submitted("run-1")
    job = cloud.sim.job(state["job"]["jobArn"])
    names = state["names"]
    assert state["job"] == {
        "jobArn": job.job_arn,
        "jobName": names["jobName"],
        "outputS3Uri": f"s3://{ARTIFACTS_BUCKET}/jobs/run-1/",
    }
    assert (job.job_name, job.custom_model_name) == (names["jobName"], names["customModelName"])
    assert job.client_request_token == names["clientRequestToken"]
    assert job.role_arn == SERVICE_ROLE_ARN
    assert job.custom_model_kms_key_id == MODEL_KEY_ARN
    assert job.base_model_id == "amazon.nova-micro-v1:0:128k"
    assert job.customization_type == "FINE_TUNING"
    assert job.vpc_config == {
        "subnetIds": ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
        "securityGroupIds": ["sg-0123456789abcdef0"],
    }
    assert job.hyper_parameters == {
        "epochCount": "2",
        "learningRate": "1e-05",
        "learningRateWarmupSteps": "10",
    }
    # The job reads the run's snapshots, never the keys the spec names (they may change).
    assert job.training_data_config == {"s3Uri": f"s3://{DATASETS_BUCKET}/snapshots/run-1/training.jsonl"}
    assert job.validation_data_config == {
        "validators": [{"s3Uri": f"s3://{DATASETS_BUCKET}/snapshots/run-1/validation-1.jsonl"}]
    }
    lineage = cloud.run("run-1")["lineage"]["datasets"]
    expected_tags = {
        "team": "ml-platform",
        "bmc:runId": "run-1",
        "bmc:prefix": "bmc",
        "bmc:trainingSha256": lineage["training"]["sha256"],
        "bmc:trainingVersionId": lineage["training"]["versionId"],
        "bmc:snapshot": f"s3://{DATASETS_BUCKET}/snapshots/run-1/",
        "bmc:validationSha256": lineage["validation"][0]["sha256"],
    }
    expected_tags = {key: value for key, value in expected_tags.items() if value is not None}
    assert {t["key"]: t["value"] for t in job.job_tags} == expected_tags
    assert {t["key"]: t["value"] for t in job.custom_model_tags} == expected_tags
    run = cloud.run("run-1")
    assert (run["status"], run["jobArn"]) == ("TRAINING", job.job_arn)


def test_a_distillation_job_names_its_teacher(cloud: Cloud) -> None:
    state = submitted(
        "run-1",
        **distillation_on_prompts(cloud, teacherModel="amazon.nova-pro-v1:0", maxResponseLength=1000),
    )
    job = cloud.sim.job(state["job"]["jobArn"])
    assert job.customization_config == {
        "distillationConfig": {
            "teacherModelConfig": {
                "teacherModelIdentifier": "amazon.nova-pro-v1:0",
                "maxResponseLengthForInference": 1000,
            }
        }
    }
    assert job.validation_data_config is None


@pytest.mark.parametrize("teacher", ["amazon.nova-premier-v1:0", "us.amazon.nova-premier-v1:0"])
def test_a_profile_only_teacher_is_sent_as_its_system_inference_profile(cloud: Cloud, teacher: str) -> None:
    state = submitted("run-1", **distillation_on_prompts(cloud, teacherModel=teacher))
    config = cloud.sim.job(state["job"]["jobArn"]).customization_config
    assert config == {
        "distillationConfig": {
            "teacherModelConfig": {"teacherModelIdentifier": "us.amazon.nova-premier-v1:0"}
        }
    }
    assert cloud.run("run-1")["spec"]["distillation"]["teacherModel"] == "amazon.nova-premier-v1:0"


def test_bedrock_refuses_a_profile_only_teacher_named_by_its_model_id(cloud: Cloud) -> None:
    request = {
        "jobName": "plain-teacher",
        "customModelName": "plain-teacher",
        "roleArn": SERVICE_ROLE_ARN,
        "baseModelIdentifier": "amazon.nova-micro-v1:0:128k",
        "customizationType": "DISTILLATION",
        "trainingDataConfig": {"s3Uri": f"s3://{DATASETS_BUCKET}/data/prompts.jsonl"},
        "outputDataConfig": {"s3Uri": f"s3://{ARTIFACTS_BUCKET}/jobs/x/"},
        "customizationConfig": {
            "distillationConfig": {
                "teacherModelConfig": {"teacherModelIdentifier": "amazon.nova-premier-v1:0"}
            }
        },
    }
    with pytest.raises(JobRejected, match=r"ValidationException.*inference profile"):
        BedrockOps().create_job(request)


def test_stopping_an_ended_job_is_not_an_error_whichever_refusal_bedrock_gives(cloud: Cloud) -> None:
    state = submitted("run-1")
    arn = state["job"]["jobArn"]
    cloud.sim.fail_next("StopModelCustomizationJob", "ConflictException", "The job is not in progress")
    assert BedrockOps().stop_job(arn) is False
    cloud.sim.finish_job(arn, "Completed")
    assert BedrockOps().stop_job(arn) is False  # the simulator's own answer: ValidationException


def test_a_resubmission_creates_no_second_job(cloud: Cloud) -> None:
    state = submitted("run-1")
    again = step("run-1", submit_job.handler, state, None)
    assert again == state["job"]
    assert len(cloud.sim.jobs()) == 1
    assert [e["status"] for e in cloud.run("run-1")["statusHistory"]].count("TRAINING") == 1


def test_a_conflict_on_our_own_job_counts_as_success(cloud: Cloud) -> None:
    state = submitted("run-1")
    cloud.sim.fail_next(
        "CreateModelCustomizationJob", "ConflictException", "A job with this name already exists."
    )
    assert step("run-1", submit_job.handler, state, None) == state["job"]
    assert len(cloud.sim.jobs()) == 1


def test_a_conflict_with_a_job_of_someone_else_is_rejected(cloud: Cloud) -> None:
    state = snapshotted("run-1")
    clients.bedrock().create_model_customization_job(
        jobName=state["names"]["jobName"],
        customModelName="foreign-model",
        clientRequestToken="someone-else",
        roleArn=SERVICE_ROLE_ARN,
        baseModelIdentifier="amazon.nova-micro-v1:0:128k",
        trainingDataConfig={"s3Uri": f"s3://{DATASETS_BUCKET}/data/train.jsonl"},
        outputDataConfig={"s3Uri": f"s3://{ARTIFACTS_BUCKET}/elsewhere/"},
    )
    with pytest.raises(JobRejected, match="ConflictException"):
        step("run-1", submit_job.handler, state, None)
    assert cloud.run("run-1")["status"] == "VALIDATING"
    # The role may read only jobs tagged with this deployment's prefix: a job of another
    # deployment is denied, which proves it is not ours either.
    cloud.sim.fail_next("GetModelCustomizationJob", "AccessDeniedException", "not authorized")
    with pytest.raises(JobRejected, match="ConflictException"):
        step("run-1", submit_job.handler, state, None)


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        (throttling(), BedrockThrottled),
        ("InternalServerException", BedrockUnavailable),
        (role_not_assumable(SERVICE_ROLE_ARN), BedrockRoleNotReady),
        ("ValidationException", JobRejected),
        ("AccessDeniedException", JobRejected),
    ],
)
def test_bedrock_errors_are_classified(cloud: Cloud, error: Any, raised: type[Exception]) -> None:
    state = snapshotted("run-1")
    cloud.sim.fail_next("CreateModelCustomizationJob", error)
    with pytest.raises(raised):
        step("run-1", submit_job.handler, state, None)
    assert cloud.run("run-1")["status"] == "VALIDATING"
    assert cloud.sim.jobs() == []


def test_a_rejection_carries_bedrocks_message(cloud: Cloud) -> None:
    state = snapshotted("run-1")
    cloud.sim.fail_next(
        "CreateModelCustomizationJob", "ValidationException", "Invalid hyperparameter learningRate"
    )
    with pytest.raises(JobRejected, match="Invalid hyperparameter learningRate"):
        step("run-1", submit_job.handler, state, None)


def test_a_full_quota_queues_the_run_until_a_slot_frees() -> None:
    with local_cloud(max_concurrent_jobs=1) as cloud:
        other = submitted("run-0")
        state = snapshotted("run-1")
        with pytest.raises(BedrockQuotaExceeded):
            step("run-1", submit_job.handler, state, None)
        assert cloud.run("run-1")["status"] == "QUEUED"
        with pytest.raises(BedrockQuotaExceeded):  # the state machine retries later: still full
            step("run-1", submit_job.handler, state, None)
        cloud.sim.finish_job(other["job"]["jobArn"], "Completed")
        step("run-1", submit_job.handler, state, "job")
        history = [e["status"] for e in cloud.run("run-1")["statusHistory"]]
        assert history == ["PENDING", "VALIDATING", "QUEUED", "TRAINING"]


def test_a_scripted_quota_error_queues_too(cloud: Cloud) -> None:
    state = snapshotted("run-1")
    cloud.sim.fail_next("CreateModelCustomizationJob", quota_exceeded())
    with pytest.raises(BedrockQuotaExceeded):
        step("run-1", submit_job.handler, state, None)
    assert cloud.run("run-1")["status"] == "QUEUED"


# --- await_job and the resolvers ---------------------------------------------------------------


def awaiting(cloud: Cloud, run_id: str = "run-1", **overrides: Any) -> tuple[dict[str, Any], str]:
    """A submitted run whose AwaitJob parked a real task token; returns (state, execution ARN)."""
    state = submitted(run_id, **overrides)
    execution, token = cloud.waiting_execution(run_id)
    result = step(run_id, await_job.handler, state, None, taskToken=token)
    assert result["check"] == "running"
    return state, execution


def job_event(job_arn: str, status: str, **detail: Any) -> dict[str, Any]:
    return event_bridge(
        "clients.bedrock",
        JOB_EVENT,
        {"jobArn": job_arn, "jobName": "bmc-x-job", "jobStatus": status, **detail},
    )


def test_await_job_parks_the_token_on_the_run(cloud: Cloud) -> None:
    _, execution = awaiting(cloud)
    run = cloud.run("run-1")
    assert run["awaiting"] == "JOB" and run["taskToken"]
    assert list(cloud.registry.awaiting_run_ids()) == ["run-1"]
    assert cloud.status_of(execution) == "RUNNING"


def test_a_job_that_ended_already_is_resolved_by_await_job(cloud: Cloud) -> None:
    state = submitted("run-1")
    job = cloud.sim.finish_job(state["job"]["jobArn"], "Completed")
    execution, token = cloud.waiting_execution("run-1")
    result = step("run-1", await_job.handler, state, None, taskToken=token)
    assert result["check"] == "resolved"
    finished = cloud.finished(execution)
    assert finished["status"] == "SUCCEEDED"
    assert json.loads(finished["output"]) == {"status": "Completed", "customModelArn": job.output_model_arn}
    assert "awaiting" not in cloud.run("run-1")


def test_await_job_survives_a_failed_check(cloud: Cloud) -> None:
    state = submitted("run-1")
    execution, token = cloud.waiting_execution("run-1")
    cloud.sim.fail_next("GetModelCustomizationJob", throttling())
    assert step("run-1", await_job.handler, state, None, taskToken=token)["check"] == "unchecked"
    assert cloud.run("run-1")["awaiting"] == "JOB"
    assert cloud.status_of(execution) == "RUNNING"


def test_the_completion_event_resumes_the_run(cloud: Cloud) -> None:
    state, execution = awaiting(cloud)
    cloud.sim.event_sink = lambda event: invoke(job_events.handler, event)
    job = cloud.sim.finish_job(state["job"]["jobArn"], "Completed")
    assert cloud.sim.sink_errors == []
    finished = cloud.finished(execution)
    assert finished["status"] == "SUCCEEDED"
    assert json.loads(finished["output"]) == {"status": "Completed", "customModelArn": job.output_model_arn}


@pytest.mark.parametrize(("outcome", "error"), [("Failed", "JobFailed"), ("Stopped", "JobStopped")])
def test_a_failed_or_stopped_job_fails_the_task(cloud: Cloud, outcome: str, error: str) -> None:
    state, execution = awaiting(cloud)
    cloud.sim.finish_job(state["job"]["jobArn"], outcome, failure_message="Out of memory at step 12")  # type: ignore[arg-type]
    event = cloud.sim.events[-1]  # the terminal one (InProgress came first)
    assert invoke(job_events.handler, event)["result"] == "resolved"
    finished = cloud.finished(execution)
    assert (finished["status"], finished["error"]) == ("FAILED", error)
    if outcome == "Failed":
        assert finished["cause"] == "Out of memory at step 12"


def test_an_event_for_an_unknown_job_is_ignored(cloud: Cloud) -> None:
    event = job_event("arn:aws:bedrock:us-east-1:123456789012:model-customization-job/x/unknown", "Completed")
    assert invoke(job_events.handler, event)["result"] == "unknown-job"


def test_a_non_terminal_status_is_ignored(cloud: Cloud) -> None:
    state, execution = awaiting(cloud)
    assert invoke(job_events.handler, job_event(state["job"]["jobArn"], "Stopping"))["result"] == "ignored"
    assert cloud.status_of(execution) == "RUNNING"


def test_every_status_change_event_of_a_stopped_job_in_order(cloud: Cloud) -> None:
    """Bedrock sends InProgress, Stopping and Stopped: only the terminal one resumes the run."""
    state, execution = awaiting(cloud)
    assert BedrockOps().stop_job(state["job"]["jobArn"])
    cloud.sim.advance(60)
    events = cloud.sim.events
    assert [e["detail"]["jobStatus"] for e in events] == ["InProgress", "Stopping", "Stopped"]
    results = [invoke(job_events.handler, event)["result"] for event in events]
    assert results == ["ignored", "ignored", "resolved"]
    assert cloud.finished(execution)["error"] == "JobStopped"


def test_a_duplicate_event_acts_once(cloud: Cloud) -> None:
    state, execution = awaiting(cloud)
    cloud.sim.finish_job(state["job"]["jobArn"], "Completed")
    event = cloud.sim.events[-1]  # the terminal one (InProgress came first)
    assert invoke(job_events.handler, event)["result"] == "resolved"
    assert invoke(job_events.handler, event)["result"] == "not-awaiting"
    assert cloud.finished(execution)["status"] == "SUCCEEDED"


def test_an_event_for_an_execution_that_is_gone_is_logged_not_raised(cloud: Cloud) -> None:
    state, execution = awaiting(cloud)
    # The task ends without the run knowing (it timed out, say): its token is no longer valid.
    cloud.sfn.send_task_failure(taskToken=cloud.run("run-1")["taskToken"], error="States.Timeout")
    assert cloud.finished(execution)["status"] == "FAILED"
    cloud.sim.finish_job(state["job"]["jobArn"], "Completed")
    event = cloud.sim.events[-1]  # the terminal one (InProgress came first)
    assert invoke(job_events.handler, event)["result"] == "execution-gone"
    assert "awaiting" not in cloud.run("run-1")


def test_a_completion_event_without_model_arn_reads_the_job(cloud: Cloud) -> None:
    state, execution = awaiting(cloud)
    job = cloud.sim.finish_job(state["job"]["jobArn"], "Completed")
    invoke(job_events.handler, job_event(job.job_arn, "Completed"))
    assert json.loads(cloud.finished(execution)["output"])["customModelArn"] == job.output_model_arn


def test_the_reconciler_resolves_jobs_whose_event_was_lost(cloud: Cloud) -> None:
    first, first_execution = awaiting(cloud, "run-1")
    _, second_execution = awaiting(cloud, "run-2")
    cloud.sim.lose_events(1)
    cloud.sim.finish_job(first["job"]["jobArn"], "Failed", failure_message="bad data")
    counts = invoke(reconcile.handler, {})
    assert counts == {
        "checked": 2,
        "resolved": 1,
        "running": 1,
        "not-awaiting": 0,
        "execution-gone": 0,
        "errors": 0,
    }
    assert cloud.finished(first_execution)["error"] == "JobFailed"
    assert cloud.status_of(second_execution) == "RUNNING"
    assert list(cloud.registry.awaiting_run_ids()) == ["run-2"]


def test_the_reconciler_counts_errors_and_carries_on(cloud: Cloud) -> None:
    awaiting(cloud, "run-1")
    awaiting(cloud, "run-2")
    cloud.sim.fail_next("GetModelCustomizationJob", throttling())
    counts = invoke(reconcile.handler, {})
    assert (counts["checked"], counts["errors"], counts["running"]) == (2, 1, 1)


def test_connection_failures_are_retryable() -> None:
    error = EndpointConnectionError(endpoint_url="https://bedrock.us-east-1.amazonaws.com")
    assert isinstance(classify(error, "GetModelCustomizationJob"), BedrockUnavailable)


class _TaglessBedrock:
    """A Bedrock that answers GetModelCustomizationJob without clientRequestToken."""

    def __init__(self, tags: list[dict[str, str]]) -> None:
        self.tags = tags

    def create_model_customization_job(self, **request: Any) -> dict[str, Any]:
        raise ClientError(
            {"Error": {"Code": "ConflictException", "Message": "exists"}}, "CreateModelCustomizationJob"
        )

    def get_model_customization_job(self, **params: str) -> dict[str, Any]:
        return {"jobArn": f"arn:aws:bedrock:us-east-1:1:model-customization-job/m/{params['jobIdentifier']}"}

    def list_tags_for_resource(self, **params: str) -> dict[str, Any]:
        return {"tags": self.tags}


def test_without_a_token_the_run_id_tag_tells_whose_job_it_is() -> None:
    request = {
        "jobName": "bmc-x-job",
        "clientRequestToken": "bmc-x",
        "jobTags": [{"key": "bmc:runId", "value": "run-1"}, {"key": "bmc:prefix", "value": "bmc"}],
    }
    ours = BedrockOps(_TaglessBedrock([{"key": "bmc:runId", "value": "run-1"}]))
    assert ours.create_job(request).endswith("/bmc-x-job")
    theirs = BedrockOps(_TaglessBedrock([{"key": "bmc:runId", "value": "run-2"}]))
    with pytest.raises(JobRejected):
        theirs.create_job(request)


@pytest.mark.parametrize("detail", [{"jobStatus": "Completed"}, {"jobArn": "arn:x"}, None])
def test_a_job_event_without_its_fields_is_refused(cloud: Cloud, detail: dict[str, Any] | None) -> None:
    event = event_bridge("aws.bedrock", JOB_EVENT, detail or {})
    if detail is None:
        del event["detail"]
    result = invoke(job_events.handler, event)
    assert result["result"] == "refused" and "the event lacks" in result["reason"]
