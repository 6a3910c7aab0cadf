"""What the ``/custom-models`` endpoints do, over the registry, Step Functions, Bedrock and S3.

A custom model is a run: its ``Id`` is the run id, which is the execution name the API picks
(docs/workflow.md, "Identity of a run"). Creating one writes the registry and starts the
workflow with ``{"spec", "source"}``; everything else reads or changes the run's record. The
endpoints of a model's throughput are in ``throughput``, its downloads in ``downloads``; the
configuration is ``config.ApiSettings``, the price answer ``estimate.cost_estimate``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from bmc import runspec
from bmc.api.config import ApiSettings
from bmc.api.downloads import presigned_download
from bmc.api.errors import (
    BadRequestError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnavailableError,
    bedrock_refusal,
)
from bmc.api.estimate import cost_estimate
from bmc.api.invoke import invoke as invoke_model
from bmc.api.models import (
    ApiStatus,
    CreateCustomModelRequest,
    CreateCustomModelResponse,
    CustomModel,
    CustomModelList,
    Download,
    DownloadType,
    InvokeRequest,
    InvokeResponse,
    api_status,
    workflow_statuses,
)
from bmc.api.pages import decode_token, encode_token
from bmc.api.requests import execution_arn, field_error, new_model_id, to_spec
from bmc.api.throughput import Throughputs
from bmc.api.views import RUNNING, SERVING_DELETED, active_serving, model_view, summary_view
from bmc.aws import clients
from bmc.aws.bedrock_ops import PROVISIONED, BedrockOps
from bmc.aws.registry import (
    DELETED,
    FAILED,
    PENDING,
    Registry,
    execution_start,
    timestamp,
)
from bmc.errors import (
    BedrockError,
    BedrockRequestFailed,
    BedrockThrottled,
    BedrockUnavailable,
    RunStateConflict,
    SnapshotUnavailable,
)
from bmc.lineage.chain import lineage_view
from bmc.lineage.parents import initial_lineage, registry_resolver
from bmc.lineage.snapshot import purge_snapshots
from bmc.tenancy import PLATFORM, Access
from bmc.workflow import cleanup
from bmc.workflow.serving import CREATING

logger = Logger(child=True)

# Throughput statuses that may still change: GET asks Bedrock while the record shows one.
SERVING_SETTLING = (CREATING, "Updating")
DELETED_ERROR = "DeletedThroughApi"


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
        self.throughputs = Throughputs(config, registry=registry, bedrock=bedrock, require=self.require)

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

    # POST /custom-models/{id}/invoke

    def invoke(self, model_id: str, request: InvokeRequest) -> InvokeResponse:
        record = self.require(model_id)
        return invoke_model(model_id, record, request, region=self.config.region)

    # GET /custom-models/{id}/download

    def download(self, model_id: str, download_type: DownloadType) -> Download:
        return presigned_download(model_id, self.require(model_id), download_type, self.config)

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
            self.throughputs.delete_serving(model_id, record)
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

    def _delete_custom_model(self, model_arn: str) -> None:
        try:
            self.bedrock.call("DeleteCustomModel", modelIdentifier=model_arn)
        except BedrockRequestFailed as exc:
            if exc.code == "ResourceNotFoundException":
                return  # deleted already
            raise bedrock_refusal(exc, "delete the custom model") from exc
        except BedrockError as exc:
            raise bedrock_refusal(exc, "delete the custom model") from exc
