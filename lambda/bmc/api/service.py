"""What the ``/custom-models`` endpoints do, over the registry, Step Functions, Bedrock and S3.

A custom model is a run: its ``Id`` is the run id, which is the execution name the API picks
(docs/workflow.md, "Identity of a run"). Creating one writes the registry and starts the
workflow with ``{"spec", "source"}``; everything else reads or changes the run's record. The
registry stays the source of truth: a throughput created here is recorded on the run's
``serving`` field, exactly where the workflow records the throughput it creates.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.config import Config
from botocore.exceptions import ClientError

from bmc import runspec, settings
from bmc.api.models import (
    ApiStatus,
    CostEstimateView,
    CreateCustomModelRequest,
    CreateCustomModelResponse,
    CustomModel,
    CustomModelList,
    CustomModelSummary,
    Download,
    DownloadFile,
    DownloadType,
    FieldError,
    RunErrorView,
    ThroughputView,
    api_status,
    workflow_statuses,
)
from bmc.aws import clients
from bmc.aws.bedrock_ops import PROVISIONED, BedrockOps, resource_tags
from bmc.aws.registry import (
    ACTIVE_STATUSES,
    COMPLETED,
    DELETED,
    FAILED,
    IN_SERVICE,
    LISTING_KEY_ATTRIBUTES,
    RECORD_TYPE,
    Registry,
    timestamp,
    utc_now,
)
from bmc.catalog.estimate import default_prices, serving_cost
from bmc.errors import (
    BedrockError,
    BedrockQuotaExceeded,
    BedrockRequestFailed,
    BedrockThrottled,
    BedrockUnavailable,
    ConfigurationError,
    RunStateConflict,
)
from bmc.findings import Finding
from bmc.runspec import RunNames, RunSpec
from bmc.workflow import cleanup
from bmc.workflow.serving import CREATING, delete_expiry_schedule, delete_recorded_serving

logger = Logger(child=True)

RUN_ID_PREFIX = "api-"
RUN_SLUG_LENGTH = 40
RUN_HASH_LENGTH = 12
PRESIGNED_SECONDS = 300
SERVING_DELETED = "Deleted"
# Throughput statuses that may still change: GET asks Bedrock while the record shows one.
SERVING_SETTLING = (CREATING, "Updating")
DELETED_ERROR = "DeletedThroughApi"

# Where the run spec's fields come from in the API's request (docs/api.md).
SPEC_TO_API = {
    "runName": "ModelName",
    "baseModel": "BaseModelId",
    "customizationType": "ModelType",
    "trainingData": "TrainingDataLocation",
    "validationData": "ValidationDataLocation",
    "hyperparameters": "HyperParameters",
    "distillation": "TeacherModelId",
}
# A model with Bedrock-side resources still in the making: the workflow owns it until it ends.
RUNNING = ACTIVE_STATUSES - {IN_SERVICE}


# --- errors the handler turns into responses ---------------------------------------------------


class ApiError(Exception):
    status_code = 500

    def __init__(self, message: str, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.errors = list(errors)


class BadRequestError(ApiError):
    status_code = 400


class NotFoundError(ApiError):
    status_code = 404


class ConflictError(ApiError):
    status_code = 409


class UnavailableError(ApiError):
    status_code = 503


def bedrock_refusal(exc: BedrockError, what: str) -> ApiError:
    """The response for a failed Bedrock call: Bedrock's error code, never its internals."""
    if isinstance(exc, BedrockThrottled | BedrockUnavailable):
        return UnavailableError(f"Amazon Bedrock could not {what} right now; retry later")
    if isinstance(exc, BedrockQuotaExceeded):
        return ConflictError(f"Amazon Bedrock could not {what}: the account's quota is reached")
    if isinstance(exc, BedrockRequestFailed) and exc.code in ("ValidationException", "ConflictException"):
        return ConflictError(f"Amazon Bedrock refused to {what} ({exc.code})")
    raise exc


# --- configuration -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """The API function's environment (docs/api.md, "Deployment")."""

    prefix: str
    region: str
    state_machine_arn: str
    datasets_bucket: str
    artifacts_bucket: str
    allowed_base_models: tuple[str, ...]
    schedule_group: str | None

    @classmethod
    def from_environment(cls) -> ApiSettings:
        datasets_bucket = settings.datasets_bucket()
        if not datasets_bucket:
            raise ConfigurationError("environment variable DATASETS_BUCKET is not set")
        return cls(
            prefix=settings.prefix(),
            region=settings.region(),
            state_machine_arn=settings.state_machine_arn(),
            datasets_bucket=datasets_bucket,
            artifacts_bucket=settings.artifacts_bucket(),
            allowed_base_models=settings.allowed_base_models(),
            schedule_group=settings.optional_schedule_group(),
        )


def idempotency_table() -> str:
    value = os.environ.get("IDEMPOTENCY_TABLE", "").strip()
    if not value:
        raise ConfigurationError("environment variable IDEMPOTENCY_TABLE is not set")
    return value


# --- the request and the run spec --------------------------------------------------------------


def to_spec(request: CreateCustomModelRequest) -> dict[str, Any]:
    """The run spec a creation request stands for; serving is managed through /throughput."""
    spec: dict[str, Any] = {
        "runName": request.ModelName,
        "baseModel": request.BaseModelId,
        "customizationType": request.ModelType,
        "trainingData": request.TrainingDataLocation,
        "serving": {"mode": "none", "modelUnits": 1, "commitment": "none", "ttlHours": None},
    }
    if request.ValidationDataLocation is not None:
        spec["validationData"] = [request.ValidationDataLocation]
    if request.HyperParameters is not None:
        spec["hyperparameters"] = dict(request.HyperParameters)
    if request.TeacherModelId is not None:
        spec["distillation"] = {"teacherModel": request.TeacherModelId}
    return spec


def cost_estimate(spec: RunSpec, run_id: str) -> CostEstimateView:
    """The per-unit prices of the model a request creates (its tokens are counted later)."""
    table = default_prices()
    throughput = serving_cost(spec.base_model, mode=PROVISIONED, model_units=1, prices=table)
    notes = [
        *throughput.notes,
        "Training bills tokens x epochs: once the datasets are validated, the validation report "
        f"(reports/{run_id}/validation.json in the artifacts bucket) has the token count and the training cost.",
    ]
    return CostEstimateView(
        Currency=table.currency,
        PricesAsOf=table.as_of,
        TrainingPer1kTokens=table.training_price(spec.model),
        StoragePerModelMonth=table.storage_per_custom_model_month,
        ThroughputPerModelUnitHour=throughput.price_per_model_unit_hour,
        Notes=notes,
    )


def api_field(path: str | None) -> str:
    """The request field a run spec finding is about (``hyperparameters.epochCount`` ->
    ``HyperParameters.epochCount``); ``body`` when it concerns the request as a whole."""
    if not path:
        return "body"
    head = path.split(".", 1)[0].split("[", 1)[0]
    mapped = SPEC_TO_API.get(head)
    if mapped is None:
        return "body"
    rest = path[len(head) :].lstrip(".")
    return f"{mapped}.{rest}" if head == "hyperparameters" and rest else mapped


def field_error(finding: Finding) -> FieldError:
    field = api_field(finding.field)
    if finding.field == "distillation" and finding.code == "MISSING_FIELD":
        return FieldError(field=field, message="TeacherModelId is required for ModelType DISTILLATION")
    if finding.field == "distillation":
        return FieldError(field=field, message="TeacherModelId applies only to ModelType DISTILLATION")
    return FieldError(field=field, message=finding.message)


def new_model_id(request: CreateCustomModelRequest, idempotency_key: str | None) -> str:
    """``api-<slug of ModelName>-<12 hex>``; the hex derives from the idempotency key and the
    body when there is a key, so even an expired idempotency record cannot start a second run."""
    if idempotency_key is None:
        suffix = uuid.uuid4().hex[:RUN_HASH_LENGTH]
    else:
        body = json.dumps(request.model_dump(mode="json"), sort_keys=True)
        suffix = hashlib.sha256(f"{idempotency_key}\n{body}".encode()).hexdigest()[:RUN_HASH_LENGTH]
    return f"{RUN_ID_PREFIX}{runspec.slug(request.ModelName, RUN_SLUG_LENGTH) or 'model'}-{suffix}"


def execution_arn(state_machine_arn: str, run_id: str) -> str:
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{run_id}"


# --- list pages ---------------------------------------------------------------------------------


def encode_token(key: Mapping[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(dict(key), sort_keys=True).encode()).decode().rstrip("=")


def decode_token(token: str) -> dict[str, str]:
    """The listing position a ``nextToken`` names; BadRequestError for anything this API did not issue."""
    invalid = BadRequestError(
        "Invalid request", [FieldError(field="nextToken", message="not a token this API returned")]
    )
    try:
        key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid from None
    if (
        not isinstance(key, dict)
        or set(key) != LISTING_KEY_ATTRIBUTES
        or not all(isinstance(value, str) and value for value in key.values())
        or key["recordType"] != RECORD_TYPE
        or runspec.run_id_problem(key["runId"]) is not None
    ):
        raise invalid
    return key


# --- views of a record ---------------------------------------------------------------------------


def request_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """The creation request: as sent (API runs) or as the run spec says (S3 and console runs)."""
    if isinstance(record.get("request"), Mapping):
        return dict(record["request"])
    spec = record.get("spec") or {}
    view: dict[str, Any] = {
        "ModelName": spec.get("runName"),
        "ModelType": spec.get("customizationType"),
        "BaseModelId": spec.get("baseModel"),
        "TrainingDataLocation": spec.get("trainingData"),
        "ValidationDataLocation": next(iter(spec.get("validationData") or []), None),
        "HyperParameters": spec.get("hyperparameters"),
    }
    if spec.get("distillation"):
        view["TeacherModelId"] = spec["distillation"].get("teacherModel")
    return {key: value for key, value in view.items() if value is not None}


def throughput_view(serving: Mapping[str, Any] | None) -> ThroughputView | None:
    if not serving:
        return None
    return ThroughputView(
        Kind=str(serving.get("kind") or PROVISIONED),
        Arn=serving.get("arn"),
        Name=serving.get("name"),
        Status=serving.get("status"),
        ModelUnits=serving.get("modelUnits"),
        FailureMessage=serving.get("failureMessage"),
        DeletedAt=serving.get("deletedAt"),
    )


def model_view(record: Mapping[str, Any]) -> CustomModel:
    request = request_view(record)
    error = record.get("error")
    workflow_status = str(record.get("status") or "")
    return CustomModel(
        Id=str(record["runId"]),
        Status=api_status(workflow_status),
        WorkflowStatus=workflow_status,
        ModelName=request.get("ModelName"),
        ModelType=request.get("ModelType"),
        BaseModelId=(record.get("spec") or {}).get("baseModel") or request.get("BaseModelId"),
        Description=record.get("description"),
        Source=(record.get("source") or {}).get("type"),
        Request=request,
        JobArn=record.get("jobArn"),
        CustomModelArn=record.get("customModelArn"),
        MetricsSummary=record.get("metricsSummary"),
        Throughput=throughput_view(record.get("serving")),
        Error=RunErrorView(Error=str(error.get("error")), Cause=str(error.get("cause") or ""))
        if isinstance(error, Mapping)
        else None,
        CreatedAt=record.get("createdAt"),
        UpdatedAt=record.get("updatedAt"),
    )


def summary_view(record: Mapping[str, Any]) -> CustomModelSummary:
    full = model_view(record)
    return CustomModelSummary(
        Id=full.Id,
        Status=full.Status,
        ModelName=full.ModelName,
        ModelType=full.ModelType,
        BaseModelId=full.BaseModelId,
        CreatedAt=full.CreatedAt,
        UpdatedAt=full.UpdatedAt,
    )


def active_serving(record: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The throughput or deployment the model still has (not deleted), if any."""
    serving = record.get("serving")
    if isinstance(serving, Mapping) and serving and serving.get("status") != SERVING_DELETED:
        return serving
    return None


# --- the endpoints -------------------------------------------------------------------------------


class CustomModels:
    """One instance per request: the clients behind it are shared per process (bmc.aws.clients)."""

    def __init__(self, config: ApiSettings, *, registry: Registry, bedrock: BedrockOps) -> None:
        self.config = config
        self.registry = registry
        self.bedrock = bedrock

    # POST /custom-models

    def create(
        self, request: CreateCustomModelRequest, *, request_id: str, idempotency_key: str | None
    ) -> CreateCustomModelResponse:
        run_id = new_model_id(request, idempotency_key)
        check = runspec.validate_spec(
            to_spec(request),
            default_run_name=run_id,
            allowed_base_models=self.config.allowed_base_models,
            region=self.config.region,
            datasets_bucket=self.config.datasets_bucket,
        )
        if check.spec is None or check.errors:
            raise BadRequestError("Invalid request", [field_error(finding) for finding in check.errors])
        spec = check.spec.to_dict()
        names = runspec.derive_names(self.config.prefix, run_id, check.spec.run_name)
        source = {"type": "api", "requestId": request_id}
        self.registry.create_run(
            run_id,
            spec=spec,
            source=source,
            names=names.to_dict(),
            execution_arn=execution_arn(self.config.state_machine_arn, run_id),
        )
        request_data = request.model_dump(mode="json", exclude_none=True)
        fields: dict[str, Any] = {"request": request_data}
        if request.Description is not None:
            fields["description"] = request.Description
        self.registry.update(run_id, fields_if_absent=fields)
        self._start_execution(run_id, spec, source)
        status = api_status(str(self.registry.require(run_id).get("status")))
        logger.info("custom model requested", extra={"runId": run_id})
        return CreateCustomModelResponse(
            Id=run_id, Status=status, CostEstimate=cost_estimate(check.spec, run_id)
        )

    def _start_execution(self, run_id: str, spec: Mapping[str, Any], source: Mapping[str, Any]) -> None:
        try:
            clients.client("stepfunctions").start_execution(
                stateMachineArn=self.config.state_machine_arn,
                name=run_id,
                input=json.dumps({"spec": spec, "source": source}),
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code == "ExecutionAlreadyExists":
                logger.info("the run was started already", extra={"runId": run_id})
                return
            # No execution will ever resolve this record: it must not stay Pending.
            self.registry.transition(
                run_id,
                FAILED,
                detail=f"the workflow could not be started: {code}",
                fields_if_absent={
                    "error": {
                        "error": "StartExecutionFailed",
                        "cause": f"the workflow could not start ({code})",
                    }
                },
            )
            raise

    # GET /custom-models

    def list(self, *, limit: int, next_token: str | None, status: ApiStatus | None) -> CustomModelList:
        start = decode_token(next_token) if next_token else None
        statuses = workflow_statuses(status) if status else []
        runs, last_key = self.registry.list_runs(limit=limit, start_key=start, statuses=statuses)
        return CustomModelList(
            Items=[summary_view(run) for run in runs],
            NextToken=encode_token(last_key) if last_key else None,
        )

    # GET /custom-models/{id}

    def require(self, model_id: str) -> dict[str, Any]:
        record = self.registry.get(model_id) if runspec.run_id_problem(model_id) is None else None
        if record is None:
            raise NotFoundError(f"custom model {model_id} not found")
        return record

    def get(self, model_id: str) -> CustomModel:
        record = self.require(model_id)
        serving = active_serving(record)
        if serving and serving.get("kind") == PROVISIONED and serving.get("status") in SERVING_SETTLING:
            record = self._refresh_throughput(model_id, record, serving)
        return model_view(record)

    def _refresh_throughput(
        self, model_id: str, record: dict[str, Any], serving: Mapping[str, Any]
    ) -> dict[str, Any]:
        if not serving.get("arn"):
            return record  # the PUT that claimed it has not recorded the ARN yet
        try:
            status, failure = self.bedrock.serving_status(PROVISIONED, str(serving["arn"]))
        except BedrockRequestFailed as exc:
            if exc.code != "ResourceNotFoundException":
                raise
            status, failure = SERVING_DELETED, "deleted outside this API"
        except (BedrockThrottled, BedrockUnavailable):
            logger.warning("throughput status not refreshed", extra={"runId": model_id})
            return record
        if status == serving.get("status"):
            return record
        fields: dict[str, Any] = {"serving.status": status}
        if failure:
            fields["serving.failureMessage"] = failure
        return self.registry.update(model_id, fields=fields)

    # GET /custom-models/{id}/download

    def download(self, model_id: str, download_type: DownloadType) -> Download:
        record = self.require(model_id)
        spec = record.get("spec") or {}
        if download_type == "metrics":
            uris = [(record.get("reports") or {}).get("metrics")]
            allowed = f"s3://{self.config.artifacts_bucket}/reports/{model_id}/"
        else:
            uris = (
                [spec.get("trainingData")]
                if download_type == "training"
                else spec.get("validationData") or []
            )
            allowed = f"s3://{self.config.datasets_bucket}/"
        # Only the model's own objects, in the buckets this deployment owns.
        own = [str(uri) for uri in uris if isinstance(uri, str) and uri.startswith(allowed)]
        if not own:
            raise NotFoundError(f"no {download_type} data is available for custom model {model_id}")
        s3 = presigning_client(self.config.region)
        expires_at = timestamp(utc_now() + timedelta(seconds=PRESIGNED_SECONDS))
        files = []
        for uri in own:
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            try:
                s3.head_object(Bucket=bucket, Key=key)
            except ClientError as exc:
                if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFoundError"):
                    raise NotFoundError(
                        f"the {download_type} data of custom model {model_id} is gone"
                    ) from exc
                raise
            url = s3.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=PRESIGNED_SECONDS
            )
            files.append(DownloadFile(location=uri, url=url, expiresAt=expires_at))
        return Download(id=model_id, type=download_type, url=files[0].url, expiresAt=expires_at, files=files)

    # DELETE /custom-models/{id}

    def delete(self, model_id: str, *, force: bool) -> CustomModel:
        record = self.require(model_id)
        if record.get("status") == DELETED:
            return model_view(record)
        serving = active_serving(record)
        if serving and not force:
            raise ConflictError(
                f"custom model {model_id} has a {serving.get('kind')} throughput; delete it first "
                "(DELETE /custom-models/{id}/throughput) or pass force=true"
            )
        if record.get("status") in RUNNING:
            record = self._stop_run(model_id, record)
        if serving:
            self._delete_serving(model_id, record)
        model_arn = record.get("customModelArn")
        if model_arn:
            self._delete_custom_model(str(model_arn))
        try:
            self.registry.transition(
                model_id,
                DELETED,
                detail="deleted through the API",
                fields={"deletedAt": timestamp()},
                remove=("taskToken", "awaiting"),
            )
        except RunStateConflict as exc:
            raise ConflictError(f"custom model {model_id} changed while being deleted; retry") from exc
        return model_view(self.registry.require(model_id))

    def _stop_run(self, model_id: str, record: Mapping[str, Any]) -> dict[str, Any]:
        """Stop the workflow and its job, delete what it created so far: the run becomes STOPPED."""
        arn = record.get("executionArn")
        if arn:
            try:
                clients.client("stepfunctions").stop_execution(
                    executionArn=str(arn),
                    error=DELETED_ERROR,
                    cause="the custom model was deleted through the API",
                )
            except ClientError as exc:
                if str(exc.response.get("Error", {}).get("Code")) != "ExecutionDoesNotExist":
                    raise
        result = cleanup.clean_up(
            model_id,
            error={"Error": DELETED_ERROR, "Cause": "the custom model was deleted through the API"},
            aborted=True,
            registry=self.registry,
            bedrock=self.bedrock,
            schedule_group=self.config.schedule_group,
        )
        if result.problems:
            logger.error(
                "stopping the run left problems", extra={"runId": model_id, "problems": result.problems}
            )
            raise UnavailableError(
                f"custom model {model_id} could not be stopped completely; retry the deletion"
            )
        return self.require(model_id)

    def _delete_serving(self, model_id: str, record: Mapping[str, Any]) -> None:
        serving = active_serving(record)
        if serving is None:
            return
        try:
            delete_recorded_serving(serving, self.bedrock)
        except BedrockError as exc:
            raise bedrock_refusal(exc, "delete the throughput") from exc
        schedule = serving.get("scheduleName")
        if schedule and self.config.schedule_group:
            delete_expiry_schedule(str(schedule), self.config.schedule_group)
        fields = {"serving.status": SERVING_DELETED, "serving.deletedAt": timestamp()}
        if record.get("status") == IN_SERVICE:
            self.registry.transition(
                model_id, COMPLETED, detail="throughput deleted through the API", fields=fields
            )
        else:
            self.registry.update(model_id, fields=fields)

    def _delete_custom_model(self, model_arn: str) -> None:
        try:
            self.bedrock.call("DeleteCustomModel", modelIdentifier=model_arn)
        except BedrockRequestFailed as exc:
            if exc.code == "ResourceNotFoundException":
                return  # deleted already
            raise bedrock_refusal(exc, "delete the custom model") from exc
        except BedrockError as exc:
            raise bedrock_refusal(exc, "delete the custom model") from exc

    # PUT /custom-models/{id}/throughput

    def create_throughput(self, model_id: str, model_units: int) -> CustomModel:
        record = self.require(model_id)
        self._check_can_serve(model_id, record)
        names = RunNames.from_dict(record["names"])
        name = names.provisioned_model_name
        claimed = self.registry.claim_serving(
            model_id,
            {"kind": PROVISIONED, "name": name, "arn": None, "status": CREATING, "modelUnits": model_units},
            from_statuses=(COMPLETED, IN_SERVICE),
            replaceable=(SERVING_DELETED,),
        )
        if not claimed:
            # Another request changed the model in between: report what it is now.
            self._check_can_serve(model_id, self.require(model_id))
            raise ConflictError(f"custom model {model_id} cannot get a throughput now; retry")
        try:
            arn = self.bedrock.create_throughput(
                name=name,
                model_arn=str(record["customModelArn"]),
                model_units=model_units,
                commitment="none",
                tags=resource_tags(RunSpec.from_dict(record["spec"]), model_id, self.config.prefix),
                # A new token per accepted request: a name deleted earlier may be used again.
                token=f"{name}-{uuid.uuid4().hex[:8]}",
            )
        except BedrockError as exc:
            self.registry.update(model_id, remove=("serving",))
            raise bedrock_refusal(exc, "create the throughput") from exc
        return model_view(self.registry.update(model_id, fields={"serving.arn": arn}))

    @staticmethod
    def _check_can_serve(model_id: str, record: Mapping[str, Any]) -> None:
        status = api_status(str(record.get("status")))
        if status != "Complete" or not record.get("customModelArn") or not record.get("names"):
            raise ConflictError(
                f"custom model {model_id} is {status}: only a Complete model can get a throughput"
            )
        serving = active_serving(record)
        if serving:
            raise ConflictError(
                f"custom model {model_id} already has a {serving.get('kind')} throughput "
                f"({serving.get('status')})"
            )

    # DELETE /custom-models/{id}/throughput

    def delete_throughput(self, model_id: str) -> CustomModel:
        record = self.require(model_id)
        if active_serving(record) is None:
            return model_view(record)
        if record.get("status") in RUNNING:
            raise ConflictError(
                f"custom model {model_id} is still being created; its throughput follows the workflow"
            )
        self._delete_serving(model_id, record)
        return model_view(self.registry.require(model_id))


def presigning_client(region: str) -> Any:
    """S3 client for presigned URLs: SigV4 (KMS-encrypted objects need it), regional endpoint."""
    return boto3.session.Session().client(
        "s3",
        region_name=region,
        config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}),
    )
