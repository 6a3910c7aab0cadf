"""The simulated Bedrock behaves like the real API, through plain boto3 clients."""

from __future__ import annotations

import csv
import io
import itertools
import json
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from localcloud.bedrock import (
    BedrockEvent,
    BedrockSimulator,
    FoundationModel,
    JobScript,
    ProvisioningScript,
    quota_exceeded,
    role_not_assumable,
    throttling,
)
from localcloud.bedrock.resources import EVENT_DETAIL_TYPE, EVENT_SOURCE, training_curves
from localcloud.clock import SimClock
from localcloud.patches import MOTO_CONFIG, install_patches, wait_for_execution
from tests.unit.moto_support import ACCOUNT, SESSION, aws_credentials  # noqa: F401 (autouse fixture)

ROLE = f"arn:aws:iam::{ACCOUNT}:role/bedrock-customization"
BASE_MODEL = "amazon.nova-micro-v1:0:128k"
# botocore would retry throttling by itself; these tests look at single calls.
NO_RETRIES = Config(retries={"total_max_attempts": 1})


@dataclass
class Env:
    sim: BedrockSimulator
    clock: SimClock
    bedrock: Any
    s3: Any
    events: list[BedrockEvent]

    @property
    def terminal_events(self) -> list[BedrockEvent]:
        return [e for e in self.events if e["detail"]["jobStatus"] in ("Completed", "Failed", "Stopped")]

    def statuses(self) -> list[str]:
        return [e["detail"]["jobStatus"] for e in self.events]


@pytest.fixture
def env() -> Iterator[Env]:
    clock = SimClock(datetime(2025, 3, 1, 9, 0, tzinfo=UTC))
    events: list[BedrockEvent] = []
    with mock_aws(config=MOTO_CONFIG), BedrockSimulator(clock, event_sink=events.append, seed=7) as sim:
        s3 = SESSION.client("s3")
        for bucket in ("datasets", "artifacts"):
            s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket="datasets", Key="train/data.jsonl", Body=b'{"prompt": "a", "completion": "b"}\n')
        s3.put_object(
            Bucket="datasets", Key="validation/data.jsonl", Body=b'{"prompt": "c", "completion": "d"}\n'
        )
        yield Env(sim, clock, SESSION.client("bedrock", config=NO_RETRIES), s3, events)


def job_request(**overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "jobName": "run-1-job",
        "customModelName": "run-1-model",
        "roleArn": ROLE,
        "baseModelIdentifier": BASE_MODEL,
        "customizationType": "FINE_TUNING",
        "trainingDataConfig": {"s3Uri": "s3://datasets/train/data.jsonl"},
        "validationDataConfig": {"validators": [{"s3Uri": "s3://datasets/validation/data.jsonl"}]},
        "outputDataConfig": {"s3Uri": "s3://artifacts/outputs/run-1/"},
        "hyperParameters": {"epochCount": "3", "learningRate": "0.00001"},
        "clientRequestToken": "run-1-token",
    }
    request.update(overrides)
    return {k: v for k, v in request.items() if v is not None}


def create_job_task(parameters: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A createModelCustomizationJob task state (optimized integration) on the test training data."""
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::bedrock:createModelCustomizationJob",
        "Parameters": {
            "RoleArn": ROLE,
            "BaseModelIdentifier": BASE_MODEL,
            "TrainingDataConfig": {"S3Uri": "s3://datasets/train/data.jsonl"},
            **parameters,
        },
        **fields,
    }


def start_machine(sfn: Any, name: str, definition: dict[str, Any], payload: str = "{}") -> str:
    """Create a state machine and start one execution of it; returns the execution ARN."""
    machine = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)
    execution_arn: str = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input=payload)[
        "executionArn"
    ]
    return execution_arn


def error_code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def read_csv(s3: Any, bucket: str, key: str) -> list[dict[str, str]]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    return list(csv.DictReader(io.StringIO(body)))


# ---------------------------------------------------------------------------------------------
# Creating jobs
# ---------------------------------------------------------------------------------------------


def _trained_model(env: Env, name: str, **overrides: Any) -> str:
    """The ARN of a custom model trained by a job named ``name``."""
    arn = env.bedrock.create_model_customization_job(
        **job_request(
            jobName=f"{name}-job", customModelName=f"{name}-model", clientRequestToken=name, **overrides
        )
    )["jobArn"]
    job = env.sim.finish_job(arn, "Completed")
    assert job.output_model_arn is not None
    return job.output_model_arn


def test_a_custom_model_can_be_fine_tuned_again_and_keeps_its_parent(env: Env) -> None:
    parent = _trained_model(env, "first")
    arn = env.bedrock.create_model_customization_job(
        **job_request(
            jobName="second-job",
            customModelName="second-model",
            clientRequestToken="second",
            baseModelIdentifier=parent,
        )
    )["jobArn"]
    job = env.bedrock.get_model_customization_job(jobIdentifier=arn)
    # The job's baseModelArn is typed FoundationModelArn: the foundation model, never the parent.
    assert job["baseModelArn"] == f"arn:aws:bedrock:us-east-1::foundation-model/{BASE_MODEL}"
    child = env.sim.finish_job(arn, "Completed").output_model_arn
    model = env.bedrock.get_custom_model(modelIdentifier=child)
    assert model["baseModelArn"] == parent  # the custom model names its parent
    listed = env.bedrock.list_custom_models(baseModelArnEquals=parent)["modelSummaries"]
    assert [m["modelArn"] for m in listed] == [child]
    # Deleting the parent leaves the child.
    env.bedrock.delete_custom_model(modelIdentifier=parent)
    assert env.bedrock.get_custom_model(modelIdentifier=child)["modelArn"] == child


def test_only_documented_chains_are_accepted(env: Env) -> None:
    parent = _trained_model(env, "first")
    with pytest.raises(ClientError) as refused:
        env.bedrock.create_model_customization_job(
            **job_request(
                jobName="distil-job",
                customModelName="distil-model",
                clientRequestToken="distil",
                baseModelIdentifier=parent,
                customizationType="DISTILLATION",
            )
        )
    assert error_code(refused) == "ValidationException"
    assert "cannot be used as the base model of a DISTILLATION job" in str(refused.value)
    # A family AWS documents no further customization for (legacy Cohere Command).
    cohere = _trained_model(env, "cohere", baseModelIdentifier="cohere.command-light-text-v14:7:4k")
    with pytest.raises(ClientError) as unsupported:
        env.bedrock.create_model_customization_job(
            **job_request(
                jobName="again-job",
                customModelName="again-model",
                clientRequestToken="again",
                baseModelIdentifier=cohere,
            )
        )
    assert error_code(unsupported) == "ValidationException"


def test_create_job_is_idempotent_on_the_client_request_token(env: Env) -> None:
    arn = env.bedrock.create_model_customization_job(**job_request())["jobArn"]
    again = env.bedrock.create_model_customization_job(**job_request())["jobArn"]

    assert again == arn
    assert arn.startswith(f"arn:aws:bedrock:us-east-1:{ACCOUNT}:model-customization-job/{BASE_MODEL}/")
    assert len(arn.rsplit("/", 1)[1]) == 12
    assert len(env.sim.jobs()) == 1
    assert env.sim.calls("CreateModelCustomizationJob") == ["CreateModelCustomizationJob"] * 2

    with pytest.raises(ClientError) as reused:
        env.bedrock.create_model_customization_job(**job_request(hyperParameters={"epochCount": "5"}))
    assert error_code(reused) == "ConflictException"


def test_duplicate_job_or_model_names_conflict(env: Env) -> None:
    env.bedrock.create_model_customization_job(**job_request())
    with pytest.raises(ClientError) as same_job:
        env.bedrock.create_model_customization_job(
            **job_request(clientRequestToken="other", customModelName="m2")
        )
    with pytest.raises(ClientError) as same_model:
        env.bedrock.create_model_customization_job(**job_request(clientRequestToken="other", jobName="job-2"))
    assert error_code(same_job) == "ConflictException"
    assert error_code(same_model) == "ConflictException"
    assert same_job.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_create_job_records_vpc_kms_hyperparameters_type_and_tags(env: Env) -> None:
    key_id = "1234abcd-12ab-34cd-56ef-1234567890ab"
    vpc = {"subnetIds": ["subnet-1", "subnet-2"], "securityGroupIds": ["sg-1"]}
    arn = env.bedrock.create_model_customization_job(
        **job_request(
            vpcConfig=vpc,
            customModelKmsKeyId=key_id,
            jobTags=[{"key": "run", "value": "run-1"}],
            customModelTags=[{"key": "owner", "value": "ml-platform"}],
        )
    )["jobArn"]
    job = env.bedrock.get_model_customization_job(jobIdentifier=arn)

    assert job["vpcConfig"] == vpc
    assert job["outputModelKmsKeyArn"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}"
    assert job["hyperParameters"] == {"epochCount": "3", "learningRate": "0.00001"}
    assert job["customizationType"] == "FINE_TUNING"
    assert job["clientRequestToken"] == "run-1-token"
    assert job["baseModelArn"] == f"arn:aws:bedrock:us-east-1::foundation-model/{BASE_MODEL}"
    assert env.bedrock.list_tags_for_resource(resourceARN=arn)["tags"] == [{"key": "run", "value": "run-1"}]

    env.clock.advance(3600)
    model_arn = env.bedrock.get_model_customization_job(jobIdentifier=arn)["outputModelArn"]
    assert env.bedrock.list_tags_for_resource(resourceARN=model_arn)["tags"] == [
        {"key": "owner", "value": "ml-platform"}
    ]
    assert env.bedrock.get_custom_model(modelIdentifier=model_arn)["modelKmsKeyArn"].endswith(key_id)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"outputDataConfig": {"s3Uri": "s3://artifacts/run=1/"}}, "outputDataConfig.s3Uri"),
        ({"trainingDataConfig": {"s3Uri": "s3://datasets/my file.jsonl"}}, "trainingDataConfig.s3Uri"),
        ({"jobName": "bad_name!"}, "jobName"),
        ({"clientRequestToken": "under_score"}, "clientRequestToken"),
        ({"baseModelIdentifier": "amazon.unknown-v1:0"}, "model identifier is invalid"),
        ({"customizationType": "CONTINUED_PRE_TRAINING"}, "does not support CONTINUED_PRE_TRAINING"),
        (
            {"vpcConfig": {"subnetIds": [f"subnet-{i}" for i in range(17)], "securityGroupIds": ["sg-1"]}},
            "vpcConfig",
        ),
    ],
)
def test_invalid_job_requests_are_rejected(env: Env, overrides: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ClientError) as info:
        env.bedrock.create_model_customization_job(**job_request(**overrides))
    assert error_code(info) == "ValidationException"
    assert fragment in info.value.response["Error"]["Message"]
    assert env.sim.jobs() == []


def test_concurrent_job_quota(env: Env) -> None:
    env.sim.max_concurrent_jobs = 1
    env.bedrock.create_model_customization_job(**job_request())
    with pytest.raises(ClientError) as info:
        env.bedrock.create_model_customization_job(
            **job_request(jobName="job-2", customModelName="model-2", clientRequestToken="t2")
        )
    assert error_code(info) == "ServiceQuotaExceededException"
    env.clock.advance(3600)  # the first job completes and frees the slot
    env.bedrock.create_model_customization_job(
        **job_request(jobName="job-2", customModelName="model-2", clientRequestToken="t2")
    )
    assert [j.job_name for j in env.sim.running_jobs()] == ["job-2"]


# ---------------------------------------------------------------------------------------------
# Lifecycle, artifacts and events
# ---------------------------------------------------------------------------------------------


def test_job_completes_on_the_simulated_clock_with_model_metrics_and_event(env: Env) -> None:
    arn = env.bedrock.create_model_customization_job(**job_request())["jobArn"]
    job_id = arn.rsplit("/", 1)[1]

    job = env.bedrock.get_model_customization_job(jobIdentifier=arn)
    assert job["status"] == "InProgress"
    assert "outputModelArn" not in job and "endTime" not in job
    assert job["statusDetails"]["validationDetails"]["status"] == "InProgress"
    assert job["statusDetails"]["trainingDetails"] == {"status": "NotStarted"}

    env.clock.advance(1800)
    halfway = env.bedrock.get_model_customization_job(jobIdentifier="run-1-job")
    assert halfway["status"] == "InProgress"
    assert {k: v["status"] for k, v in halfway["statusDetails"].items()} == {
        "validationDetails": "Completed",
        "dataProcessingDetails": "Completed",
        "trainingDetails": "InProgress",
    }
    assert env.statuses() == ["InProgress"]  # the creation's event

    env.clock.advance(1800)
    done = env.bedrock.get_model_customization_job(jobIdentifier=arn)
    assert done["status"] == "Completed"
    assert done["endTime"] == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    assert all(d["status"] == "Completed" for d in done["statusDetails"].values())
    model_arn = done["outputModelArn"]
    assert model_arn.startswith(f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model/{BASE_MODEL}/")

    prefix = f"outputs/run-1/model-customization-job-{job_id}"
    training = read_csv(env.s3, "artifacts", f"{prefix}/training_artifacts/step_wise_training_metrics.csv")
    validation = read_csv(
        env.s3,
        "artifacts",
        f"{prefix}/validation_artifacts/post_fine_tuning_validation/validation_metrics.csv",
    )
    assert list(training[0]) == ["step_number", "epoch_number", "training_loss", "perplexity"]
    assert list(validation[0]) == ["step_number", "epoch_number", "validation_loss", "perplexity"]
    assert {row["epoch_number"] for row in training} == {"1", "2", "3"}  # epochCount=3
    assert [row["step_number"] for row in training[:2]] == ["0", "1"]  # Bedrock counts steps from 0
    assert training[-1]["step_number"] == str(len(training) - 1)
    epoch_means = [
        statistics.mean(float(r["training_loss"]) for r in training if r["epoch_number"] == str(epoch))
        for epoch in (1, 2, 3)
    ]
    assert epoch_means == sorted(epoch_means, reverse=True)
    assert [float(r["validation_loss"]) for r in validation] == sorted(
        (float(r["validation_loss"]) for r in validation), reverse=True
    )
    assert done["trainingMetrics"]["trainingLoss"] == pytest.approx(float(training[-1]["training_loss"]))
    assert done["validationMetrics"] == [
        {"validationLoss": pytest.approx(float(validation[-1]["validation_loss"]))}
    ]

    model = env.bedrock.get_custom_model(modelIdentifier="run-1-model")
    assert model["modelArn"] == model_arn and model["jobArn"] == arn and model["modelStatus"] == "Active"
    assert env.bedrock.get_custom_model(modelIdentifier=model_arn)["modelName"] == "run-1-model"

    [created, event] = env.events
    assert created["detail"]["jobStatus"] == "InProgress" and "endTime" not in created["detail"]
    assert created["time"] == "2025-03-01T09:00:00.000Z"
    assert event["source"] == EVENT_SOURCE and event["detail-type"] == EVENT_DETAIL_TYPE
    assert event["resources"] == [arn]
    assert event["detail"]["jobStatus"] == "Completed"
    assert event["detail"]["jobArn"] == arn and event["detail"]["jobName"] == "run-1-job"
    assert event["detail"]["outputModelArn"] == model_arn
    assert event["time"] == "2025-03-01T10:00:00.000Z"


def test_stop_by_arn_goes_through_stopping_to_stopped(env: Env) -> None:
    arn = env.bedrock.create_model_customization_job(**job_request())["jobArn"]
    env.clock.advance(1200)
    env.bedrock.stop_model_customization_job(jobIdentifier=arn)

    stopping = env.bedrock.get_model_customization_job(jobIdentifier=arn)
    assert stopping["status"] == "Stopping"
    assert stopping["statusDetails"]["trainingDetails"]["status"] == "Stopping"
    env.bedrock.stop_model_customization_job(jobIdentifier="run-1-job")  # repeat: no-op
    assert env.statuses() == ["InProgress", "Stopping"]  # one event per status change

    env.clock.advance(60)  # stop_delay_seconds
    stopped = env.bedrock.get_model_customization_job(jobIdentifier=arn)
    assert stopped["status"] == "Stopped"
    assert "outputModelArn" not in stopped
    assert stopped["statusDetails"]["validationDetails"]["status"] == "Completed"
    assert env.statuses() == ["InProgress", "Stopping", "Stopped"]
    env.clock.advance(7200)
    assert env.bedrock.get_model_customization_job(jobIdentifier=arn)["status"] == "Stopped"
    assert env.sim.custom_models() == []

    with pytest.raises(ClientError) as info:
        env.bedrock.stop_model_customization_job(jobIdentifier=arn)
    assert error_code(info) == "ValidationException"
    with pytest.raises(ClientError) as missing:
        env.bedrock.get_model_customization_job(jobIdentifier="no-such-job")
    assert error_code(missing) == "ResourceNotFoundException"
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_scripted_failure_and_stop_with_per_job_durations(env: Env) -> None:
    env.sim.script_job(JobScript(outcome="Failed", duration_seconds=600, failure_message="Training diverged"))
    env.sim.script_job(JobScript(outcome="Stopped", duration_seconds=900), job_name="job-b")
    failed_arn = env.bedrock.create_model_customization_job(
        **job_request(jobName="job-a", clientRequestToken="a")
    )["jobArn"]
    env.bedrock.create_model_customization_job(
        **job_request(jobName="job-b", customModelName="model-b", clientRequestToken="b")
    )
    env.bedrock.create_model_customization_job(
        **job_request(jobName="job-c", customModelName="model-c", clientRequestToken="c")
    )

    env.clock.advance(600)
    failed = env.bedrock.get_model_customization_job(jobIdentifier=failed_arn)
    assert failed["status"] == "Failed"
    assert failed["failureMessage"] == "Training diverged"
    assert failed["statusDetails"]["trainingDetails"]["status"] == "Failed"
    assert failed["statusDetails"]["validationDetails"]["status"] == "Completed"
    env.clock.advance(300)
    assert env.bedrock.get_model_customization_job(jobIdentifier="job-b")["status"] == "Stopped"
    assert env.bedrock.get_model_customization_job(jobIdentifier="job-c")["status"] == "InProgress"
    env.clock.advance(2700)  # job-c used the default duration (3600 s)
    assert env.bedrock.get_model_customization_job(jobIdentifier="job-c")["status"] == "Completed"

    assert [(e["detail"]["jobName"], e["detail"]["jobStatus"]) for e in env.terminal_events] == [
        ("job-a", "Failed"),
        ("job-b", "Stopped"),
        ("job-c", "Completed"),
    ]
    assert env.terminal_events[0]["detail"]["failureMessage"] == "Training diverged"
    summaries = env.bedrock.list_model_customization_jobs(statusEquals="Failed")[
        "modelCustomizationJobSummaries"
    ]
    assert [s["jobName"] for s in summaries] == ["job-a"]
    first = env.bedrock.list_model_customization_jobs(maxResults=2, sortOrder="Ascending")
    rest = env.bedrock.list_model_customization_jobs(
        maxResults=2, sortOrder="Ascending", nextToken=first["nextToken"]
    )
    pages = first["modelCustomizationJobSummaries"] + rest["modelCustomizationJobSummaries"]
    assert [s["jobName"] for s in pages] == ["job-a", "job-b", "job-c"]
    assert "nextToken" not in rest
    models = env.bedrock.list_custom_models(nameContains="model")["modelSummaries"]
    assert [(m["modelName"], m["baseModelName"]) for m in models] == [("model-c", "amazon.nova-micro-v1")]


def test_events_can_be_lost(env: Env) -> None:
    env.sim.script_job(JobScript(lose_event=True))
    env.bedrock.create_model_customization_job(**job_request(jobName="job-a", clientRequestToken="a"))
    env.bedrock.create_model_customization_job(
        **job_request(jobName="job-b", customModelName="model-b", clientRequestToken="b")
    )
    env.clock.advance(3600)
    assert [e["detail"]["jobName"] for e in env.terminal_events] == ["job-b"]
    assert [e["detail"]["jobName"] for e in env.sim.lost_events] == ["job-a"]

    env.sim.lose_events(1)
    env.bedrock.create_model_customization_job(
        **job_request(jobName="job-c", customModelName="model-c", clientRequestToken="c")
    )
    env.clock.advance(3600)
    assert len(env.terminal_events) == 1 and len(env.sim.lost_events) == 2
    assert env.statuses().count("InProgress") == 3  # only terminal events are scripted to be lost
    # The job itself is unaffected: polling still sees it complete.
    assert env.bedrock.get_model_customization_job(jobIdentifier="job-c")["status"] == "Completed"


def test_missing_training_data_fails_at_validation(env: Env) -> None:
    env.bedrock.create_model_customization_job(
        **job_request(trainingDataConfig={"s3Uri": "s3://datasets/train/missing.jsonl"})
    )
    env.clock.advance(360)  # end of the validation phase (10% of 3600 s)
    job = env.bedrock.get_model_customization_job(jobIdentifier="run-1-job")
    assert job["status"] == "Failed"
    assert "s3://datasets/train/missing.jsonl" in job["failureMessage"]
    assert job["statusDetails"]["validationDetails"]["status"] == "Failed"
    assert job["statusDetails"]["trainingDetails"]["status"] == "NotStarted"
    assert env.terminal_events[0]["detail"]["jobStatus"] == "Failed"


def test_event_sink_errors_do_not_break_callers(env: Env) -> None:
    def broken_sink(event: BedrockEvent) -> None:
        raise RuntimeError("target unavailable")

    env.sim.event_sink = broken_sink
    env.bedrock.create_model_customization_job(**job_request())
    env.clock.advance(3600)
    assert env.bedrock.get_model_customization_job(jobIdentifier="run-1-job")["status"] == "Completed"
    assert [(e["detail"]["jobStatus"], str(error)) for e, error in env.sim.sink_errors] == [
        ("InProgress", "target unavailable"),
        ("Completed", "target unavailable"),
    ]


def test_finish_job_ends_a_job_now(env: Env) -> None:
    env.bedrock.create_model_customization_job(**job_request())
    job = env.sim.finish_job("run-1-job", "Failed", failure_message="Out of capacity")
    assert job.status == "Failed" and job.failure_message == "Out of capacity"
    assert env.clock.elapsed_seconds == 0
    assert env.terminal_events[0]["detail"]["failureMessage"] == "Out of capacity"


# ---------------------------------------------------------------------------------------------
# Failure injection
# ---------------------------------------------------------------------------------------------


def test_scripted_errors_fail_the_next_calls_with_botocore_shapes(env: Env) -> None:
    env.sim.fail_next("CreateModelCustomizationJob", throttling(), count=2)
    env.sim.fail_next("create_model_customization_job", quota_exceeded())
    env.sim.fail_next("CreateModelCustomizationJob", role_not_assumable(ROLE))

    outcomes = []
    for _ in range(4):
        with pytest.raises(ClientError) as info:
            env.bedrock.create_model_customization_job(**job_request())
        outcomes.append((error_code(info), info.value.response["ResponseMetadata"]["HTTPStatusCode"]))
        message = info.value.response["Error"]["Message"]
    assert outcomes == [
        ("ThrottlingException", 429),
        ("ThrottlingException", 429),
        ("ServiceQuotaExceededException", 400),
        ("ValidationException", 400),
    ]
    assert message.startswith(f"Could not assume provided IAM role {ROLE}")
    assert env.sim.jobs() == []

    env.bedrock.create_model_customization_job(**job_request())
    assert len(env.sim.jobs()) == 1
    assert len(env.sim.calls("CreateModelCustomizationJob")) == 5


def test_botocore_retries_consume_scripted_throttling(env: Env) -> None:
    env.sim.fail_next("GetFoundationModel", "ThrottlingException", count=1)
    retrying = SESSION.client("bedrock", config=Config(retries={"mode": "standard", "max_attempts": 3}))
    model = retrying.get_foundation_model(modelIdentifier=BASE_MODEL)["modelDetails"]
    assert model["modelId"] == BASE_MODEL
    assert env.sim.calls("GetFoundationModel") == ["GetFoundationModel"] * 2


# ---------------------------------------------------------------------------------------------
# Custom models, provisioned throughput, deployments
# ---------------------------------------------------------------------------------------------


def completed_model(env: Env, **overrides: Any) -> str:
    arn = env.bedrock.create_model_customization_job(**job_request(**overrides))["jobArn"]
    env.sim.finish_job(arn)
    model_arn: str = env.bedrock.get_model_customization_job(jobIdentifier=arn)["outputModelArn"]
    return model_arn


def test_provisioned_throughput_lifecycle(env: Env) -> None:
    model_arn = completed_model(env)
    request = {
        "modelUnits": 1,
        "provisionedModelName": "run-1-pt",
        "modelId": model_arn,
        "tags": [{"key": "run", "value": "run-1"}],
        "clientRequestToken": "pt-token",
    }
    arn = env.bedrock.create_provisioned_model_throughput(**request)["provisionedModelArn"]
    assert env.bedrock.create_provisioned_model_throughput(**request)["provisionedModelArn"] == arn
    assert arn.startswith(f"arn:aws:bedrock:us-east-1:{ACCOUNT}:provisioned-model/")
    assert len(env.sim.throughputs()) == 1

    creating = env.bedrock.get_provisioned_model_throughput(provisionedModelId=arn)
    assert creating["status"] == "Creating"
    assert creating["modelArn"] == model_arn
    assert creating["foundationModelArn"] == f"arn:aws:bedrock:us-east-1::foundation-model/{BASE_MODEL}"
    assert creating["modelUnits"] == creating["desiredModelUnits"] == 1
    assert "commitmentDuration" not in creating

    env.clock.advance(600)
    assert (
        env.bedrock.get_provisioned_model_throughput(provisionedModelId="run-1-pt")["status"] == "InService"
    )
    summaries = env.bedrock.list_provisioned_model_throughputs(
        statusEquals="InService", modelArnEquals=model_arn
    )
    assert [s["provisionedModelArn"] for s in summaries["provisionedModelSummaries"]] == [arn]
    assert env.bedrock.list_tags_for_resource(resourceARN=arn)["tags"] == [{"key": "run", "value": "run-1"}]

    with pytest.raises(ClientError) as duplicate:
        env.bedrock.create_provisioned_model_throughput(
            modelUnits=1, provisionedModelName="run-1-pt", modelId=model_arn
        )
    assert error_code(duplicate) == "ValidationException"
    with pytest.raises(ClientError) as in_use:
        env.bedrock.delete_custom_model(modelIdentifier=model_arn)
    assert error_code(in_use) == "ConflictException"

    env.bedrock.delete_provisioned_model_throughput(provisionedModelId=arn)
    for call in (
        env.bedrock.get_provisioned_model_throughput,
        env.bedrock.delete_provisioned_model_throughput,
    ):
        with pytest.raises(ClientError) as gone:
            call(provisionedModelId=arn)
        assert error_code(gone) == "ResourceNotFoundException"

    env.bedrock.delete_custom_model(modelIdentifier=model_arn)
    with pytest.raises(ClientError) as deleted:
        env.bedrock.get_custom_model(modelIdentifier=model_arn)
    assert error_code(deleted) == "ResourceNotFoundException"


def test_provisioned_throughput_failure_commitment_and_unknown_model(env: Env) -> None:
    model_arn = completed_model(env)
    env.sim.script_throughput(ProvisioningScript(fail=True, delay_seconds=120, failure_message="No capacity"))
    failed_arn = env.bedrock.create_provisioned_model_throughput(
        modelUnits=2, provisionedModelName="pt-failed", modelId="run-1-model"
    )["provisionedModelArn"]
    committed_arn = env.bedrock.create_provisioned_model_throughput(
        modelUnits=1, provisionedModelName="pt-committed", modelId=model_arn, commitmentDuration="OneMonth"
    )["provisionedModelArn"]

    env.clock.advance(600)
    failed = env.bedrock.get_provisioned_model_throughput(provisionedModelId=failed_arn)
    assert (failed["status"], failed["failureMessage"]) == ("Failed", "No capacity")
    committed = env.bedrock.get_provisioned_model_throughput(provisionedModelId=committed_arn)
    assert committed["status"] == "InService" and committed["commitmentDuration"] == "OneMonth"
    assert (committed["commitmentExpirationTime"] - committed["creationTime"]).days == 30
    with pytest.raises(ClientError) as early:
        env.bedrock.delete_provisioned_model_throughput(provisionedModelId=committed_arn)
    assert error_code(early) == "ValidationException"
    env.bedrock.delete_provisioned_model_throughput(provisionedModelId="pt-failed")

    with pytest.raises(ClientError) as unknown:
        env.bedrock.create_provisioned_model_throughput(
            modelUnits=1, provisionedModelName="pt-x", modelId="no-such-model"
        )
    assert error_code(unknown) == "ResourceNotFoundException"


def test_custom_model_deployment_lifecycle(env: Env) -> None:
    model_arn = completed_model(env)
    request = {"modelDeploymentName": "run-1-od", "modelArn": model_arn, "clientRequestToken": "od-token"}
    arn = env.bedrock.create_custom_model_deployment(**request)["customModelDeploymentArn"]
    assert env.bedrock.create_custom_model_deployment(**request)["customModelDeploymentArn"] == arn
    assert arn.startswith(f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model-deployment/")

    assert (
        env.bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=arn)["status"] == "Creating"
    )
    env.clock.advance(300)
    active = env.bedrock.get_custom_model_deployment(customModelDeploymentIdentifier="run-1-od")
    assert active["status"] == "Active" and active["modelArn"] == model_arn
    listed = env.bedrock.list_custom_model_deployments(statusEquals="Active")["modelDeploymentSummaries"]
    assert [d["customModelDeploymentArn"] for d in listed] == [arn]

    env.bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier=arn)
    with pytest.raises(ClientError) as gone:
        env.bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=arn)
    assert error_code(gone) == "ResourceNotFoundException"

    env.sim.script_deployment(ProvisioningScript(fail=True, failure_message="Quota"))
    failed_arn = env.bedrock.create_custom_model_deployment(modelDeploymentName="od-2", modelArn=model_arn)[
        "customModelDeploymentArn"
    ]
    env.clock.advance(300)
    failed = env.bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=failed_arn)
    assert (failed["status"], failed["failureMessage"]) == ("Failed", "Quota")


NOVA_SERVING_STATEMENT = {
    "Sid": "PermissionsNovaProvisionedThroughput",
    "Effect": "Allow",
    "Principal": {"Service": ["bedrock.amazonaws.com"]},
    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
    "Resource": "*",
    "Condition": {"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "aws:bedrock:custom-model"}},
}


def test_serving_a_nova_model_needs_a_key_policy_that_admits_bedrock(env: Env) -> None:
    """Bedrock decrypts a custom Nova model's weights itself to serve it (Nova user guide)."""
    kms = SESSION.client("kms")
    key = kms.create_key(Description="model key")["KeyMetadata"]  # KMS's default policy only
    model_arn = completed_model(env, customModelKmsKeyId=key["Arn"])
    serve: list[tuple[str, dict[str, Any]]] = [
        ("create_provisioned_model_throughput", {"modelUnits": 1, "provisionedModelName": "pt"}),
        ("create_custom_model_deployment", {"modelDeploymentName": "dep"}),
    ]
    for operation, params in serve:
        model = {"modelId": model_arn} if "throughput" in operation else {"modelArn": model_arn}
        with pytest.raises(ClientError) as refused:
            getattr(env.bedrock, operation)(**params, **model)
        assert error_code(refused) == "AccessDeniedException"
        assert "aws:bedrock:custom-model" in refused.value.response["Error"]["Message"]
    policy = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    policy["Statement"].append(NOVA_SERVING_STATEMENT)
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(policy))
    env.bedrock.create_provisioned_model_throughput(
        modelUnits=1, provisionedModelName="pt", modelId=model_arn
    )
    env.bedrock.create_custom_model_deployment(modelDeploymentName="dep", modelArn=model_arn)


def test_a_profile_only_teacher_is_named_by_its_system_inference_profile(env: Env) -> None:
    def distillation(teacher: str, name: str) -> dict[str, Any]:
        config = {"distillationConfig": {"teacherModelConfig": {"teacherModelIdentifier": teacher}}}
        return job_request(
            jobName=name,
            customModelName=name,
            clientRequestToken=name,
            customizationType="DISTILLATION",
            validationDataConfig=None,
            hyperParameters=None,
            customizationConfig=config,
        )

    with pytest.raises(ClientError) as refused:
        env.bedrock.create_model_customization_job(**distillation("amazon.nova-premier-v1:0", "plain"))
    assert error_code(refused) == "ValidationException"
    assert "inference profile" in refused.value.response["Error"]["Message"]
    profile_arn = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.amazon.nova-premier-v1:0"
    for teacher, name in (
        ("us.amazon.nova-premier-v1:0", "by-id"),
        (profile_arn, "by-arn"),
        ("amazon.nova-pro-v1:0", "pro"),
    ):
        env.bedrock.create_model_customization_job(**distillation(teacher, name))
    profile = env.bedrock.get_inference_profile(inferenceProfileIdentifier="us.amazon.nova-premier-v1:0")
    assert (profile["status"], profile["type"], profile["inferenceProfileArn"]) == (
        "ACTIVE",
        "SYSTEM_DEFINED",
        profile_arn,
    )
    regions = sorted(m["modelArn"].split(":")[3] for m in profile["models"])
    assert regions == ["us-east-1", "us-east-2", "us-west-2"]
    with pytest.raises(ClientError) as missing:
        env.bedrock.get_inference_profile(inferenceProfileIdentifier="eu.amazon.nova-premier-v1:0")
    assert error_code(missing) == "ResourceNotFoundException"


def test_deployment_needs_a_base_model_that_supports_it(env: Env) -> None:
    model_arn = completed_model(env, baseModelIdentifier="amazon.titan-text-express-v1:0:8k")
    with pytest.raises(ClientError) as info:
        env.bedrock.create_custom_model_deployment(modelDeploymentName="od", modelArn=model_arn)
    assert error_code(info) == "ValidationException"


# ---------------------------------------------------------------------------------------------
# Foundation models
# ---------------------------------------------------------------------------------------------


def test_foundation_models_by_id_arn_filter_and_region(env: Env) -> None:
    details = env.bedrock.get_foundation_model(modelIdentifier=BASE_MODEL)["modelDetails"]
    assert details["modelLifecycle"] == {"status": "ACTIVE"}
    assert details["customizationsSupported"] == ["FINE_TUNING", "DISTILLATION"]
    by_arn = env.bedrock.get_foundation_model(modelIdentifier=details["modelArn"])["modelDetails"]
    assert by_arn["modelId"] == BASE_MODEL

    cpt = env.bedrock.list_foundation_models(byCustomizationType="CONTINUED_PRE_TRAINING")["modelSummaries"]
    assert {m["modelId"] for m in cpt} == {
        "amazon.titan-text-express-v1:0:8k",
        "amazon.titan-text-lite-v1:0:4k",
    }
    west = SESSION.client("bedrock", region_name="us-west-2", config=NO_RETRIES)
    west_ids = {m["modelId"] for m in west.list_foundation_models(byProvider="meta")["modelSummaries"]}
    assert "meta.llama3-3-70b-instruct-v1:0:128k" in west_ids
    with pytest.raises(ClientError) as info:
        west.get_foundation_model(modelIdentifier=BASE_MODEL)
    assert error_code(info) == "ResourceNotFoundException"


def test_foundation_models_are_configurable() -> None:
    custom = FoundationModel("acme.tiny-v1:0:1k", "Tiny", "Acme", ("FINE_TUNING",))
    with mock_aws(), BedrockSimulator(foundation_models=[custom]):
        client = SESSION.client("bedrock", config=NO_RETRIES)
        assert [m["modelId"] for m in client.list_foundation_models()["modelSummaries"]] == [
            "acme.tiny-v1:0:1k"
        ]


def test_uninstall_restores_moto_bedrock() -> None:
    with mock_aws():
        with BedrockSimulator() as sim:
            assert sim.install() is sim
            with pytest.raises(RuntimeError):
                BedrockSimulator().install()
        client = SESSION.client("bedrock", config=NO_RETRIES)
        with pytest.raises(NotImplementedError):
            client.list_foundation_models()  # moto's own backend has no foundation models


def test_training_curves_decrease_per_epoch_for_any_epoch_count() -> None:
    for epochs in (1, 2, 5, 10, 100):
        training, validation = training_curves("abcdef123456", epochs, steps_per_epoch=10)
        means = [
            statistics.mean(loss for _, epoch, loss in training if epoch == e) for e in range(1, epochs + 1)
        ]
        assert all(later < earlier for earlier, later in itertools.pairwise(means))
        assert [epoch for _, epoch, _ in validation] == list(range(1, epochs + 1))
        assert all(loss > 0 for _, _, loss in training)
    assert training_curves("abcdef123456", 2, 10) == training_curves("abcdef123456", 2, 10)


# ---------------------------------------------------------------------------------------------
# Through Step Functions
# ---------------------------------------------------------------------------------------------


def test_state_machine_drives_bedrock_through_sdk_and_optimized_integrations(env: Env) -> None:
    definition = {
        "StartAt": "Create",
        "States": {
            "Create": create_job_task(
                {
                    "JobName.$": "$.job",
                    "CustomModelName.$": "$.model",
                    "OutputDataConfig": {"S3Uri": "s3://artifacts/outputs/sfn/"},
                    "HyperParameters": {"epochCount": "2"},
                    "ClientRequestToken.$": "$.token",
                },
                ResultPath="$.created",
                Next="Describe",
            ),
            "Describe": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:bedrock:getModelCustomizationJob",
                "Parameters": {"JobIdentifier.$": "$.created.JobArn"},
                "ResultSelector": {"status.$": "$.Status", "created.$": "$.CreationTime"},
                "ResultPath": "$.described",
                "Next": "Stop",
            },
            "Stop": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:bedrock:stopModelCustomizationJob",
                "Parameters": {"JobIdentifier.$": "$.created.JobArn"},
                "ResultPath": None,
                "Next": "Missing",
            },
            "Missing": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:bedrock:getModelCustomizationJob",
                "Parameters": {"JobIdentifier": "no-such-job"},
                "Catch": [
                    {
                        "ErrorEquals": ["Bedrock.ResourceNotFoundException"],
                        "ResultPath": "$.missing",
                        "Next": "Done",
                    }
                ],
                "Next": "Done",
            },
            "Done": {"Type": "Pass", "End": True},
        },
    }
    with install_patches(env.clock):
        sfn = SESSION.client("stepfunctions")
        execution_arn = start_machine(
            sfn,
            "bedrock",
            definition,
            json.dumps({"job": "sfn-job", "model": "sfn-model", "token": "sfn-token"}),
        )
        result = wait_for_execution(sfn, execution_arn)

    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    job = env.sim.job("sfn-job")
    assert output["created"] == {"JobArn": job.job_arn}
    assert output["described"] == {"status": "InProgress", "created": "2025-03-01T09:00:00.000Z"}
    assert output["missing"]["Error"] == "Bedrock.ResourceNotFoundException"
    assert job.status == "Stopping"
    assert job.hyper_parameters == {"epochCount": "2"}
    assert job.client_request_token == "sfn-token"


def test_job_events_resume_a_waiting_execution_through_a_lambda_target(env: Env) -> None:
    """The pattern of the workflow: submit, park on a task token, resume from the event."""
    tokens: dict[str, str] = {}

    def submit(event: dict[str, Any], context: Any) -> dict[str, str]:
        bedrock = SESSION.client("bedrock", config=NO_RETRIES)
        return {"jobArn": bedrock.create_model_customization_job(**job_request())["jobArn"]}

    def park(event: dict[str, Any], context: Any) -> None:
        tokens[event["jobArn"]] = event["token"]

    def on_event(event: BedrockEvent, context: Any) -> None:
        detail = event["detail"]
        if detail["jobStatus"] not in ("Completed", "Failed", "Stopped"):
            return  # the InProgress event of the creation: nothing to resume yet
        SESSION.client("stepfunctions").send_task_success(
            taskToken=tokens.pop(detail["jobArn"]),
            output=json.dumps({"status": detail["jobStatus"], "model": detail.get("outputModelArn")}),
        )

    def invoke(function: str) -> dict[str, Any]:
        return {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": function, "Payload.$": "$"},
            "OutputPath": "$.Payload",
        }

    definition = {
        "StartAt": "Submit",
        "States": {
            "Submit": {**invoke("submit"), "Next": "Await"},
            "Await": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {
                    "FunctionName": "park",
                    "Payload": {"jobArn.$": "$.jobArn", "token.$": "$$.Task.Token"},
                },
                "End": True,
            },
        },
    }
    with install_patches(env.clock) as patches:
        lambda_client = SESSION.client("lambda")
        role = SESSION.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        for name, handler in (("submit", submit), ("park", park), ("on-event", on_event)):
            lambda_client.create_function(
                FunctionName=name,
                Runtime="python3.11",
                Role=role,
                Handler="index.handler",
                Code={"ZipFile": b"zip"},
            )
            patches.register(name, handler)
        # The rule's target: deliver each event to the function, as EventBridge would.
        env.sim.event_sink = lambda event: lambda_client.invoke(
            FunctionName="on-event", Payload=json.dumps(event)
        )
        sfn = SESSION.client("stepfunctions")
        execution_arn = start_machine(sfn, "await", definition)

        deadline = time.monotonic() + 5
        while not tokens and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING"
        env.sim.advance(3600)  # the job completes; its event resumes the execution
        result = wait_for_execution(sfn, execution_arn, timeout=10)

    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    assert output == {"status": "Completed", "model": env.sim.custom_models()[0].model_arn}
    # The creation's InProgress event arrives while submit is still running.
    invocations = patches.registry.invocations
    assert [i.function_name for i in invocations] == ["on-event", "submit", "park", "on-event"]
    assert all(i.succeeded for i in invocations)


def test_wait_states_drive_the_simulated_job_to_completion(env: Env) -> None:
    """A polling loop: each Wait advances the shared clock, so the job progresses."""
    definition = {
        "StartAt": "Create",
        "States": {
            "Create": create_job_task(
                {
                    "JobName": "polled",
                    "CustomModelName": "polled-model",
                    "OutputDataConfig": {"S3Uri": "s3://artifacts/outputs/polled/"},
                },
                Next="Pause",
            ),
            "Pause": {"Type": "Wait", "Seconds": 900, "Next": "Check"},
            "Check": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:bedrock:getModelCustomizationJob",
                "Parameters": {"JobIdentifier.$": "$.JobArn"},
                "ResultSelector": {"JobArn.$": "$.JobArn", "Status.$": "$.Status"},
                "Next": "Done?",
            },
            "Done?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.Status", "StringEquals": "InProgress", "Next": "Pause"}],
                "Default": "Done",
            },
            "Done": {"Type": "Pass", "End": True},
        },
    }
    with install_patches(env.clock) as patches:
        sfn = SESSION.client("stepfunctions")
        execution_arn = start_machine(sfn, "poll", definition)
        result = wait_for_execution(sfn, execution_arn)

    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"])["Status"] == "Completed"
    assert patches.waits("wait") == [900.0] * 4  # 3600 s of training, polled every 15 min
    assert env.clock.elapsed_seconds == 3600
