"""Every Bedrock call the workflow makes, with errors classified for the state machine.

A failed call raises one of the typed errors of ``bmc.errors``; its class name is the Step
Functions error name, so the state machine retries throttling, outages and IAM propagation
and sends everything else to the cleanup path. Nothing else in the package calls Bedrock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from bmc import settings
from bmc.aws import clients
from bmc.catalog.models import resolve_teacher
from bmc.errors import (
    BedrockError,
    BedrockQuotaExceeded,
    BedrockRequestFailed,
    BedrockRoleNotReady,
    BedrockThrottled,
    BedrockUnavailable,
    JobRejected,
    ModelNotAvailable,
)
from bmc.findings import Finding
from bmc.runspec import WORKFLOW_TAG_KEYS, RunNames, RunSpec, allowed_customization_ids

JOB_RUNNING_STATUSES = ("InProgress", "Stopping")
JOB_TERMINAL_STATUSES = ("Completed", "Failed", "Stopped")

PROVISIONED = "provisioned"
ON_DEMAND = "on-demand"
SERVING_READY = {PROVISIONED: "InService", ON_DEMAND: "Active"}
SERVING_FAILED = "Failed"

FOUNDATION_MODEL_UNKNOWN = "UNKNOWN"
FOUNDATION_MODEL_ACTIVE = "ACTIVE"
FOUNDATION_MODEL_LEGACY = "LEGACY"
BASE_MODEL_LEGACY = "BASE_MODEL_LEGACY"  # preflight's warning finding
PROFILE_ACTIVE = "ACTIVE"

_THROTTLING = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "Throttling", "RequestLimitExceeded"}
)
_UNAVAILABLE = frozenset({"InternalServerException", "ServiceUnavailableException", "ServiceUnavailable"})
_NOT_FOUND = "ResourceNotFoundException"
_VALIDATION = "ValidationException"
_CONFLICT = "ConflictException"
_ACCESS_DENIED = "AccessDeniedException"


def _iso(value: Any) -> Any:
    """Timestamps of an answer as ISO 8601 text (they are stored and shown, not computed on)."""
    return value.isoformat() if isinstance(value, datetime) else value


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def classify(
    exc: ClientError | BotoCoreError, operation: str, *, rejected: type[BedrockError] = BedrockRequestFailed
) -> BedrockError:
    """The typed error for a failed Bedrock call; ``rejected`` is used for non-retryable ones."""
    if not isinstance(exc, ClientError):
        if isinstance(exc, BotoConnectionError | HTTPClientError):
            return BedrockUnavailable(f"{operation}: {exc}", code=type(exc).__name__, operation=operation)
        return rejected(f"{operation}: {exc}", code=type(exc).__name__, operation=operation)
    code = error_code(exc)
    message = str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
    text = f"{operation}: {code}: {message}"
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if code in _THROTTLING:
        return BedrockThrottled(text, code=code, operation=operation)
    if code in _UNAVAILABLE or status >= 500:
        return BedrockUnavailable(text, code=code, operation=operation)
    if code == "ServiceQuotaExceededException":
        return BedrockQuotaExceeded(text, code=code, operation=operation)
    # "Could not assume provided IAM role": the service role is new and IAM has not caught up.
    if code == _VALIDATION and "assume" in message.lower():
        return BedrockRoleNotReady(text, code=code, operation=operation)
    return rejected(text, code=code, operation=operation)


@dataclass(frozen=True, slots=True)
class JobSettings:
    """What a customization job needs from the deployment (SubmitJob's environment)."""

    prefix: str
    artifacts_bucket: str
    service_role_arn: str
    model_key_arn: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]

    @classmethod
    def from_environment(cls) -> JobSettings:
        return cls(
            prefix=settings.prefix(),
            artifacts_bucket=settings.artifacts_bucket(),
            service_role_arn=settings.service_role_arn(),
            model_key_arn=settings.model_key_arn(),
            subnet_ids=settings.job_subnet_ids(),
            security_group_ids=settings.job_security_group_ids(),
        )


def output_s3_uri(artifacts_bucket: str, run_id: str) -> str:
    return f"s3://{artifacts_bucket}/jobs/{run_id}/"


def resource_tags(
    spec: RunSpec, run_id: str, prefix: str, extra: Mapping[str, str] | None = None
) -> list[dict[str, str]]:
    """The run's tags plus the workflow's own (and ``extra``), in Bedrock's ``[{key, value}]`` form."""
    workflow_tags = dict(zip(WORKFLOW_TAG_KEYS, (run_id, prefix), strict=True))
    tags = {**spec.tags, **workflow_tags, **(extra or {})}
    return [{"key": key, "value": value} for key, value in tags.items()]


@dataclass(frozen=True, slots=True)
class JobInputs:
    """What a job reads and builds on: the data's URIs and the model it customizes.

    SubmitJob takes them from the registry (the run's snapshots and recorded parent), never
    from the state; ``of_spec`` is the spec's own URIs and base model.
    """

    training_uri: str
    validation_uris: tuple[str, ...]
    base_model_identifier: str
    extra_tags: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of_spec(cls, spec: RunSpec) -> JobInputs:
        return cls(spec.training_data, tuple(spec.validation_data), spec.base_model_identifier)


def job_request(
    run_id: str,
    spec: RunSpec,
    names: RunNames,
    job_settings: JobSettings,
    inputs: JobInputs | None = None,
) -> dict[str, Any]:
    """The CreateModelCustomizationJob request of a run."""
    inputs = inputs or JobInputs.of_spec(spec)
    tags = resource_tags(spec, run_id, job_settings.prefix, inputs.extra_tags)
    request: dict[str, Any] = {
        "jobName": names.job_name,
        "customModelName": names.custom_model_name,
        "roleArn": job_settings.service_role_arn,
        "clientRequestToken": names.client_request_token,
        "baseModelIdentifier": inputs.base_model_identifier,
        "customizationType": spec.customization_type,
        "customModelKmsKeyId": job_settings.model_key_arn,
        "jobTags": tags,
        "customModelTags": tags,
        "trainingDataConfig": {"s3Uri": inputs.training_uri},
        "outputDataConfig": {"s3Uri": output_s3_uri(job_settings.artifacts_bucket, run_id)},
        "hyperParameters": dict(spec.hyperparameters),
        "vpcConfig": {
            "subnetIds": list(job_settings.subnet_ids),
            "securityGroupIds": list(job_settings.security_group_ids),
        },
    }
    if inputs.validation_uris:
        request["validationDataConfig"] = {"validators": [{"s3Uri": uri} for uri in inputs.validation_uris]}
    if spec.distillation is not None:
        # Teachers offered only through a system inference profile are named by the profile id.
        teacher_id = resolve_teacher(spec.distillation.teacher_model).invocation_id
        teacher: dict[str, Any] = {"teacherModelIdentifier": teacher_id}
        if spec.distillation.max_response_length is not None:
            teacher["maxResponseLengthForInference"] = spec.distillation.max_response_length
        request["customizationConfig"] = {"distillationConfig": {"teacherModelConfig": teacher}}
    return request


class BedrockOps:
    """Bedrock control-plane calls; the client is created on first use."""

    def __init__(self, client: Any | None = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = clients.bedrock()
        return self._client

    def call(
        self, operation: str, *, rejected: type[BedrockError] = BedrockRequestFailed, **params: Any
    ) -> Any:
        """Call ``operation`` (API name, e.g. GetModelCustomizationJob); errors are classified."""
        try:
            response: dict[str, Any] = getattr(self.client, xform_name(operation))(**params)
        except (ClientError, BotoCoreError) as exc:
            raise classify(exc, operation, rejected=rejected) from exc
        response.pop("ResponseMetadata", None)
        return response

    # --- customization jobs ---------------------------------------------------------------------

    def create_job(self, request: Mapping[str, Any]) -> str:
        """Create the job and return its ARN; idempotent for the run.

        The client request token makes a retried call return the same job. A ConflictException
        (the name is taken) counts as success when the job with that name is this run's own.
        Bedrock's refusals (ValidationException and the like) raise JobRejected.
        """
        try:
            return str(self.call("CreateModelCustomizationJob", rejected=JobRejected, **request)["jobArn"])
        except JobRejected as exc:
            if exc.code != _CONFLICT:
                raise
            own = self._own_job(request)
            if own is None:
                raise
            return own

    def _own_job(self, request: Mapping[str, Any]) -> str | None:
        try:
            job = self.get_job(str(request["jobName"]))
        except BedrockRequestFailed as exc:
            if exc.code == _NOT_FOUND:
                return None  # the conflict is about something else (the custom model name)
            if exc.code == _ACCESS_DENIED:
                return None  # not tagged with this deployment's prefix: another deployment's job
            raise
        token = job.get("clientRequestToken")
        if token is not None:
            return str(job["jobArn"]) if token == request.get("clientRequestToken") else None
        # No token in the answer: fall back on the run id tag the job was created with.
        tags = self.call("ListTagsForResource", resourceARN=job["jobArn"]).get("tags", [])
        wanted = {
            (t["key"], t["value"]) for t in request.get("jobTags", []) if t["key"] == WORKFLOW_TAG_KEYS[0]
        }
        found = {(t.get("key"), t.get("value")) for t in tags}
        return str(job["jobArn"]) if wanted and wanted <= found else None

    def get_job(self, identifier: str) -> dict[str, Any]:
        job: dict[str, Any] = self.call("GetModelCustomizationJob", jobIdentifier=identifier)
        return job

    def find_job(self, identifier: str) -> dict[str, Any] | None:
        """The job, or None if Bedrock has no job by that name or ARN."""
        try:
            return self.get_job(identifier)
        except BedrockRequestFailed as exc:
            if exc.code == _NOT_FOUND:
                return None
            raise

    def stop_job(self, identifier: str) -> bool:
        """Ask Bedrock to stop the job; False when it had already ended.

        Bedrock refuses to stop a job that is no longer InProgress with a ValidationException
        or a ConflictException (both are in the operation's error list): either means ended.
        """
        try:
            self.call("StopModelCustomizationJob", jobIdentifier=identifier)
        except BedrockRequestFailed as exc:
            if exc.code in (_VALIDATION, _CONFLICT):
                return False
            raise
        return True

    # --- foundation models ----------------------------------------------------------------------

    def foundation_model_lifecycle(self, model_id: str) -> dict[str, Any]:
        """The model's ``modelLifecycle`` (``status`` ACTIVE or LEGACY, and the dates AWS gives:
        ``legacyTime``, ``endOfLifeTime``, ...), status UNKNOWN where the API cannot tell.

        GetFoundationModel does not know every customization id (``...:0:128k``) and may be
        denied; neither proves the model unavailable, so both give UNKNOWN.
        """
        try:
            response = self.call("GetFoundationModel", modelIdentifier=model_id)
        except BedrockRequestFailed as exc:
            if exc.code in (_NOT_FOUND, _ACCESS_DENIED, _VALIDATION):
                return {"status": FOUNDATION_MODEL_UNKNOWN}
            raise
        lifecycle = dict(response.get("modelDetails", {}).get("modelLifecycle", {}))
        lifecycle["status"] = str(lifecycle.get("status") or FOUNDATION_MODEL_UNKNOWN)
        return {key: _iso(value) for key, value in lifecycle.items() if value is not None}

    def foundation_model_status(self, model_id: str) -> str:
        """The model's lifecycle status (ACTIVE, LEGACY), or UNKNOWN where the API cannot tell."""
        return str(self.foundation_model_lifecycle(model_id)["status"])

    # --- serving --------------------------------------------------------------------------------

    def create_throughput(
        self,
        *,
        name: str,
        model_arn: str,
        model_units: int,
        commitment: str,
        tags: list[dict[str, str]],
        token: str,
    ) -> str:
        params: dict[str, Any] = {
            "provisionedModelName": name,
            "modelId": model_arn,
            "modelUnits": model_units,
            "tags": tags,
            "clientRequestToken": token,
        }
        if commitment != "none":
            params["commitmentDuration"] = commitment
        return str(self.call("CreateProvisionedModelThroughput", **params)["provisionedModelArn"])

    def create_deployment(self, *, name: str, model_arn: str, tags: list[dict[str, str]], token: str) -> str:
        response = self.call(
            "CreateCustomModelDeployment",
            modelDeploymentName=name,
            modelArn=model_arn,
            tags=tags,
            clientRequestToken=token,
        )
        return str(response["customModelDeploymentArn"])

    def serving_status(self, kind: str, identifier: str) -> tuple[str, str | None]:
        """(status, failure message) of a throughput or deployment (by ARN or name)."""
        if kind == PROVISIONED:
            response = self.call("GetProvisionedModelThroughput", provisionedModelId=identifier)
        else:
            response = self.call("GetCustomModelDeployment", customModelDeploymentIdentifier=identifier)
        return str(response["status"]), response.get("failureMessage")

    def delete_serving(self, kind: str, identifier: str) -> bool:
        """Delete a throughput or deployment; False when it does not exist (already deleted)."""
        try:
            if kind == PROVISIONED:
                self.call("DeleteProvisionedModelThroughput", provisionedModelId=identifier)
            else:
                self.call("DeleteCustomModelDeployment", customModelDeploymentIdentifier=identifier)
        except BedrockRequestFailed as exc:
            if exc.code == _NOT_FOUND:
                return False
            raise
        return True


# --- preflight ---------------------------------------------------------------------------------


def preflight(
    spec: RunSpec,
    *,
    region: str,
    allowed_base_models: tuple[str, ...],
    ops: BedrockOps,
    allow_legacy: bool = True,
) -> dict[str, Any]:
    """Check the model can be customized here and now; raise ModelNotAvailable if not.

    A LEGACY base model (or teacher) is a warning finding with its end-of-life date when AWS
    gives one, unless the deployment refuses legacy models (``allowLegacyBaseModels``).
    """
    model = spec.model
    if not model.available_in(region):
        raise ModelNotAvailable(
            f"{model.customization_id} cannot be customized in {region}; regions: {', '.join(model.regions)}"
        )
    allowed = allowed_customization_ids(allowed_base_models)
    if allowed and model.customization_id not in allowed:
        raise ModelNotAvailable(f"{model.customization_id} is not allowed in this deployment")
    if not model.supports(spec.customization_type):
        raise ModelNotAvailable(f"{model.customization_id} does not support {spec.customization_type}")
    check = _LifecycleCheck(ops, allow_legacy)
    result: dict[str, Any] = {"region": region, "notes": check.notes, "warnings": check.warnings}
    lifecycle = check.model(model.customization_id, "base model", "baseModel")
    result["foundationModelStatus"] = lifecycle["status"]
    if lifecycle.get("endOfLifeTime"):
        result["foundationModelEndOfLife"] = lifecycle["endOfLifeTime"]
    if spec.distillation is not None:
        teacher = resolve_teacher(spec.distillation.teacher_model)
        if not teacher.available_in(region):
            raise ModelNotAvailable(f"teacher {teacher.model_id} is not available in {region}")
        teacher_lifecycle = check.model(teacher.model_id, "teacher model", "distillation.teacherModel")
        result["teacherModelId"] = teacher.invocation_id
        result["teacherModelStatus"] = teacher_lifecycle["status"]
        if teacher.invocation_id != teacher.model_id:
            result["teacherProfileStatus"] = _profile_status(ops, teacher.invocation_id)
    return result


def _profile_status(ops: BedrockOps, profile_id: str) -> str:
    """The status of the system inference profile the job will invoke the teacher through."""
    try:
        response = ops.call("GetInferenceProfile", inferenceProfileIdentifier=profile_id)
    except BedrockRequestFailed as exc:
        if exc.code == _NOT_FOUND:
            raise ModelNotAvailable(
                f"the inference profile {profile_id} of the teacher does not exist in this region"
            ) from exc
        raise
    status = str(response.get("status", ""))
    if status != PROFILE_ACTIVE:
        raise ModelNotAvailable(f"the teacher's inference profile {profile_id} is {status or 'not active'}")
    return status


class _LifecycleCheck:
    def __init__(self, ops: BedrockOps, allow_legacy: bool) -> None:
        self.ops = ops
        self.allow_legacy = allow_legacy
        self.notes: list[str] = []
        self.warnings: list[dict[str, Any]] = []

    def model(self, model_id: str, role: str, field_path: str) -> dict[str, Any]:
        lifecycle = self.ops.foundation_model_lifecycle(model_id)
        status = lifecycle["status"]
        if status == FOUNDATION_MODEL_UNKNOWN:
            self.notes.append(
                f"GetFoundationModel does not describe the {role} {model_id}; its lifecycle was not checked"
            )
        elif status == FOUNDATION_MODEL_LEGACY:
            message = legacy_message(model_id, role, lifecycle)
            if not self.allow_legacy:
                raise ModelNotAvailable(
                    f"{message}; this deployment refuses legacy models (allowLegacyBaseModels)"
                )
            self.warnings.append(Finding("run spec", None, field_path, BASE_MODEL_LEGACY, message).to_dict())
        elif status != FOUNDATION_MODEL_ACTIVE:
            raise ModelNotAvailable(f"the {role} {model_id} is {status}: Bedrock no longer customizes it")
        return lifecycle


def legacy_message(model_id: str, role: str, lifecycle: Mapping[str, Any]) -> str:
    """Why a LEGACY model is a risk, with the dates AWS gives for it."""
    end = lifecycle.get("endOfLifeTime")
    when = f"its end of life is {end}" if end else "AWS gives no end-of-life date yet"
    return (
        f"the {role} {model_id} is LEGACY: {when}; custom models of it stop working then, "
        "so plan a migration to an active model"
    )
