"""What the ``/custom-models`` endpoints do, over the registry, Step Functions, Bedrock and S3.

A custom model is a run: its ``Id`` is the run id, which is the execution name the API picks
(docs/workflow.md, "Identity of a run"). Creating one writes the registry and starts the
workflow with ``{"spec", "source"}``; everything else reads or changes the run's record. The
registry stays the source of truth: a throughput created here is recorded on the run's
``serving`` field, exactly where the workflow records the throughput it creates.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.config import Config
from botocore.exceptions import ClientError

from bmc import runspec, settings
from bmc.api.errors import (
    BadRequestError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnavailableError,
    bedrock_refusal,
)
from bmc.api.invoke import invoke as invoke_model
from bmc.api.models import (
    ApiStatus,
    CostEstimateView,
    CreateCustomModelRequest,
    CreateCustomModelResponse,
    CustomModel,
    CustomModelList,
    Download,
    DownloadFile,
    DownloadType,
    InvokeRequest,
    InvokeResponse,
    api_status,
    workflow_statuses,
)
from bmc.api.pages import decode_token, encode_token
from bmc.api.requests import execution_arn, field_error, new_model_id, to_spec
from bmc.api.views import SERVING_DELETED, active_serving, model_view, summary_view
from bmc.aws import clients
from bmc.aws.bedrock_ops import PROVISIONED, BedrockOps, resource_tags
from bmc.aws.registry import (
    ACTIVE_STATUSES,
    COMPLETED,
    DELETED,
    FAILED,
    IN_SERVICE,
    PENDING,
    Registry,
    execution_start,
    timestamp,
    utc_now,
)
from bmc.catalog.estimate import default_prices, serving_cost
from bmc.errors import (
    BedrockError,
    BedrockRequestFailed,
    BedrockThrottled,
    BedrockUnavailable,
    ConfigurationError,
    RunStateConflict,
    SnapshotUnavailable,
)
from bmc.lineage.chain import lineage_view
from bmc.lineage.datasets import snapshot_prefix, snapshot_uris
from bmc.lineage.parents import initial_lineage, registry_resolver
from bmc.lineage.snapshot import purge_snapshots
from bmc.runspec import RunNames, RunSpec
from bmc.tenancy import PLATFORM, Access, Tenancy, data_key_problem, owner_of_record, scope_of_owner
from bmc.workflow import cleanup
from bmc.workflow.serving import CREATING, delete_expiry_schedule, delete_recorded_serving

logger = Logger(child=True)

PRESIGNED_SECONDS = 300
# Throughput statuses that may still change: GET asks Bedrock while the record shows one.
SERVING_SETTLING = (CREATING, "Updating")
DELETED_ERROR = "DeletedThroughApi"

# A model with Bedrock-side resources still in the making: the workflow owns it until it ends.
RUNNING = ACTIVE_STATUSES - {IN_SERVICE}


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
    tenancy: Tenancy
    allowed_judge_models: tuple[str, ...] | None = None  # evaluation.judgeModels; None: unchecked

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
            tenancy=Tenancy.from_environment(),
            allowed_judge_models=settings.evaluation_judge_models(),
        )


def idempotency_table() -> str:
    value = os.environ.get("IDEMPOTENCY_TABLE", "").strip()
    if not value:
        raise ConfigurationError("environment variable IDEMPOTENCY_TABLE is not set")
    return value


# --- what the request will cost -----------------------------------------------------------------


def cost_estimate(spec: RunSpec, run_id: str) -> CostEstimateView:
    """The per-unit prices of the model a request creates (its tokens are counted later)."""
    table = default_prices()
    throughput = serving_cost(spec.base_model, mode=PROVISIONED, model_units=1, prices=table)
    notes = [
        *throughput.notes,
        "Training bills tokens x epochs: once the datasets are validated, the validation report "
        f"(reports/{run_id}/validation.json in the artifacts bucket) has the token count and the training cost.",
    ]
    evaluation_serving = None
    if spec.evaluation is not None:
        # The model is served only while it is evaluated, the cheapest way the catalog allows.
        temporary = spec.model.evaluation_serving
        evaluation_serving = "temporary " + serving_cost(
            spec.base_model,
            mode=temporary.mode,
            model_units=temporary.model_units or 1,
            prices=table,
        ).describe().replace(" until deleted", "")
        notes.append(
            "The evaluation also bills the base model's and the judge's on-demand tokens; the validation "
            "report has the test set's token estimate."
        )
    return CostEstimateView(
        EvaluationServing=evaluation_serving,
        Currency=table.currency,
        PricesAsOf=table.as_of,
        TrainingPer1kTokens=table.training_price(spec.model),
        StoragePerModelMonth=table.storage_per_custom_model_month,
        ThroughputPerModelUnitHour=throughput.price_per_model_unit_hour,
        Notes=notes,
    )


# --- the endpoints -------------------------------------------------------------------------------


class CustomModels:
    """One instance per request, for one caller: every endpoint acts only on runs the caller
    may see (``Access.can_see``); any other id is a 404, exactly like an id that names nothing.
    The clients behind it are shared per process (bmc.aws.clients)."""

    def __init__(
        self, config: ApiSettings, *, caller: Access, registry: Registry, bedrock: BedrockOps
    ) -> None:
        self.config = config
        self.caller = caller
        self.registry = registry
        self.bedrock = bedrock

    # POST /custom-models

    def create(
        self, request: CreateCustomModelRequest, *, request_id: str, idempotency_key: str | None
    ) -> CreateCustomModelResponse:
        owner = self.caller.owner
        if owner is None:
            raise ForbiddenError(
                "the caller belongs to no team of this deployment: an admin adds its role to a team (cdk.json teams)"
            )
        run_id = new_model_id(request, idempotency_key)
        check = runspec.validate_spec(
            to_spec(request),
            default_run_name=run_id,
            allowed_base_models=self.caller.scope.allowed_base_models or self.config.allowed_base_models,
            region=self.config.region,
            datasets_bucket=self.config.datasets_bucket,
            data_prefixes=self.caller.scope.prefixes,
            allowed_judge_models=self.config.allowed_judge_models,
            resolve_parent=registry_resolver(self.registry, owner.team),
        )
        if check.spec is None or check.errors:
            raise BadRequestError("Invalid request", [field_error(finding) for finding in check.errors])
        spec = check.spec.to_dict()
        names = runspec.derive_names(self.config.prefix, run_id, check.spec.run_name)
        source = {"type": "api", "requestId": request_id}
        arn = execution_arn(self.config.state_machine_arn, run_id)
        created = self.registry.create_run(
            run_id,
            spec=spec,
            source=source,
            names=names.to_dict(),
            execution_arn=arn,
            owner=owner,
            lineage=initial_lineage(run_id, spec),
        )
        if not created:
            self._check_replay(run_id)
        request_data = request.model_dump(mode="json", exclude_none=True)
        fields: dict[str, Any] = {"request": request_data}
        if request.Description is not None:
            fields["description"] = request.Description
        self.registry.update(run_id, fields_if_absent=fields)
        started_at = self._start_execution(run_id, spec, source)
        if started_at is not None and not self.registry.bind_execution(run_id, arn, started_at):
            logger.error("the run's record is bound to another execution", extra={"runId": run_id})
        status = api_status(str(self.registry.require(run_id).get("status")))
        logger.info("custom model requested", extra={"runId": run_id})
        return CreateCustomModelResponse(
            Id=run_id, Status=status, CostEstimate=cost_estimate(check.spec, run_id)
        )

    def _check_replay(self, run_id: str) -> None:
        """An Idempotency-Key and body seen before, after their idempotency record expired: the
        earlier run is left alone. Only a run that never got its execution (the earlier request
        stopped between writing the record and starting it) is started now."""
        existing = self.registry.require(run_id)
        if not self.caller.can_see(existing):
            raise ConflictError("this Idempotency-Key was used before; use a new Idempotency-Key")
        if existing.get("status") != PENDING or existing.get("executionStartedAt") is not None:
            raise ConflictError(
                f"this Idempotency-Key already created custom model {run_id} "
                f"({api_status(str(existing.get('status')))}); use a new Idempotency-Key for a new model"
            )

    def _start_execution(self, run_id: str, spec: Mapping[str, Any], source: Mapping[str, Any]) -> str | None:
        """Start the run's execution; its start time, or None when it exists already."""
        try:
            response = clients.client("stepfunctions").start_execution(
                stateMachineArn=self.config.state_machine_arn,
                name=run_id,
                input=json.dumps({"spec": spec, "source": source}),
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code == "ExecutionAlreadyExists":
                logger.info("the run was started already", extra={"runId": run_id})
                return None
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
        return execution_start(response.get("startDate"))

    # GET /custom-models

    def list(
        self, *, limit: int, next_token: str | None, status: ApiStatus | None, team: str | None = None
    ) -> CustomModelList:
        if self.caller.owner is None and not self.caller.admin:
            return CustomModelList(Items=[], NextToken=None)  # in no team: nothing to see
        listing = self._listing_team(team)
        start = decode_token(next_token, team=listing) if next_token else None
        statuses = workflow_statuses(status) if status else []
        runs, last_key = self.registry.list_runs(
            limit=limit, start_key=start, statuses=statuses, team=listing
        )
        return CustomModelList(
            Items=[summary_view(run) for run in runs if self.caller.can_see(run)],
            NextToken=encode_token(last_key) if last_key else None,
        )

    def _listing_team(self, team: str | None) -> str | None:
        """The byTeam key to list (None: every run, for an admin). A caller lists its own runs;
        an admin may ask for one team's (or ``platform``)."""
        own = self.caller.listing_team
        if team is None:
            return own
        wanted = PLATFORM if team == PLATFORM else f"team:{team}"
        if self.caller.admin:
            return wanted
        if wanted != own:
            raise NotFoundError(f"no team {team} is visible to this caller")
        return own

    # GET /custom-models/{id}

    def require(self, model_id: str) -> dict[str, Any]:
        """The model's record if the caller may see it; NotFoundError otherwise (never 403: a
        caller must not learn that another team's model exists)."""
        record = self.registry.get(model_id) if runspec.run_id_problem(model_id) is None else None
        if record is None or not self.caller.can_see(record):
            raise NotFoundError(f"custom model {model_id} not found")
        return record

    def get(self, model_id: str) -> CustomModel:
        record = self.require(model_id)
        serving = active_serving(record)
        if serving and serving.get("kind") == PROVISIONED and serving.get("status") in SERVING_SETTLING:
            record = self._refresh_throughput(model_id, record, serving)
        # The steps before this one are read from their own records, whoever can see them now:
        # they were the same owner's when this run was registered.
        return model_view(record, lineage_view(model_id, record, self.registry.get))

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

    # POST /custom-models/{id}/invoke

    def invoke(self, model_id: str, request: InvokeRequest) -> InvokeResponse:
        record = self.require(model_id)
        return invoke_model(model_id, record, request, region=self.config.region)

    def download(self, model_id: str, download_type: DownloadType) -> Download:
        record = self.require(model_id)
        lineage = record.get("lineage") or {}
        if download_type in ("training", "validation") and lineage.get("snapshotsPurgedAt"):
            raise NotFoundError(
                f"the {download_type} data of custom model {model_id} was purged at {lineage['snapshotsPurgedAt']}"
            )
        own = own_data(model_id, record, download_type, self.config)
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

    def delete(self, model_id: str, *, force: bool, purge_data: bool = False) -> CustomModel:
        record = self.require(model_id)
        if record.get("status") == DELETED:
            if purge_data:
                record = self._purge_snapshots(model_id, record)
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
        record = self.registry.require(model_id)
        if purge_data:
            record = self._purge_snapshots(model_id, record)
        return model_view(record)

    def _purge_snapshots(self, model_id: str, record: dict[str, Any]) -> dict[str, Any]:
        """Delete the run's snapshots (every version); the record keeps what they were."""
        if (record.get("lineage") or {}).get("snapshotsPurgedAt"):
            return record
        try:
            count = purge_snapshots(clients.client("s3"), self.config.datasets_bucket, model_id)
        except (ClientError, SnapshotUnavailable) as exc:
            logger.exception("snapshots not purged", extra={"runId": model_id})
            raise UnavailableError(f"the data of custom model {model_id} could not be purged; retry") from exc
        logger.info("snapshots purged", extra={"runId": model_id, "versions": count})
        return self.registry.update_lineage(model_id, {"snapshotsPurgedAt": timestamp()})

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
            # The record's own execution: what cleanup acts on is what this record names.
            execution=cleanup.Execution(str(arn or ""), record.get("executionStartedAt")),
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


# The run's reports each download type returns, first the one ``url`` points to.
REPORTS: Mapping[str, tuple[str, ...]] = {
    "metrics": ("metrics",),
    "report": ("report",),
    "evaluation": ("evaluation", "predictions"),
}


def own_data(
    model_id: str, record: Mapping[str, Any], download_type: DownloadType, config: ApiSettings
) -> list[str]:
    """The run's own objects of this type: its metrics, HTML or evaluation reports; its snapshots,
    i.e. the exact data it trained on (under its own ``snapshots/<runId>/``); for runs recorded
    before snapshots, its data in its owner's prefixes of the datasets bucket (as configured now),
    never a manifest."""
    if download_type in REPORTS:
        reports = record.get("reports") or {}
        allowed = f"s3://{config.artifacts_bucket}/reports/{model_id}/"
        found = [reports.get(name) for name in REPORTS[download_type]]
        return [uri for uri in found if isinstance(uri, str) and uri.startswith(allowed)]
    own_snapshots = f"s3://{config.datasets_bucket}/{snapshot_prefix(model_id)}"
    snapshots = snapshot_uris(record.get("lineage"), download_type)
    if snapshots:
        return [uri for uri in snapshots if uri.startswith(own_snapshots)]
    spec = record.get("spec") or {}
    uris = [spec.get("trainingData")] if download_type == "training" else spec.get("validationData") or []
    scope = scope_of_owner(owner_of_record(record), config.tenancy, config.allowed_base_models)
    bucket = f"s3://{config.datasets_bucket}/"
    return [
        uri
        for uri in uris
        if isinstance(uri, str)
        and uri.startswith(bucket)
        and data_key_problem(uri.removeprefix(bucket), scope.prefixes) is None
    ]


def presigning_client(region: str) -> Any:
    """S3 client for presigned URLs: SigV4 (KMS-encrypted objects need it), regional endpoint."""
    return boto3.session.Session().client(
        "s3",
        region_name=region,
        config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}),
    )
