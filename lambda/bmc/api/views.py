"""How a registry record reads through the API: the model, its summary, its throughput."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bmc.api.models import (
    CustomModel,
    CustomModelSummary,
    EvaluationView,
    LineageDatasetView,
    LineageStepView,
    LineageView,
    RunErrorView,
    ThroughputView,
    api_status,
)
from bmc.aws.bedrock_ops import PROVISIONED
from bmc.aws.registry import ACTIVE_STATUSES, IN_SERVICE
from bmc.tenancy import PLATFORM, owner_of_record

SERVING_DELETED = "Deleted"
# A model with Bedrock-side resources still in the making: the workflow owns it until it ends.
RUNNING = ACTIVE_STATUSES - {IN_SERVICE}


def owner_view(record: Mapping[str, Any]) -> str:
    """The owner as a caller reads it: the team's name, the owning principal, or ``platform``."""
    owner = owner_of_record(record)
    if owner.team_name is not None:
        return owner.team_name
    if owner.team != PLATFORM and owner.principal:
        return owner.principal
    return PLATFORM


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


def evaluation_view(record: Mapping[str, Any]) -> EvaluationView | None:
    """The evaluation's headline and gate, once the run has an evaluation."""
    evaluation = record.get("evaluation")
    if not isinstance(evaluation, Mapping):
        return None
    found = evaluation.get("summary")
    summary: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    gate = evaluation.get("gate")
    return EvaluationView(
        TestDataLocation=evaluation.get("testData"),
        Records=summary.get("records"),
        Metrics=summary.get("metrics"),
        PrimaryMetric=summary.get("primaryMetric"),
        WinTieLoss=summary.get("winTieLoss"),
        Gate={key: value for key, value in gate.items() if key != "undeploy"}
        if isinstance(gate, Mapping)
        else None,
        FailedRecords=evaluation.get("failedRecords"),
    )


def _dataset(view: Mapping[str, Any]) -> LineageDatasetView:
    return LineageDatasetView(
        Role=view["role"],
        Index=int(view.get("index") or 0),
        Uri=view.get("uri"),
        VersionId=view.get("versionId"),
        Etag=view.get("etag"),
        Size=view.get("size"),
        Records=view.get("records"),
        Sha256=view.get("sha256"),
        SnapshotUri=view.get("snapshotUri"),
        SnapshotVersionId=view.get("snapshotVersionId"),
        ChangedAfterValidation=view.get("changedAfterValidation"),
        CurrentVersionId=view.get("currentVersionId"),
    )


def lineage_api_view(view: Mapping[str, Any]) -> LineageView:
    """``bmc.lineage.chain.lineage_view`` in the API's field names."""
    steps = [
        LineageStepView(
            RunId=str(step["runId"]),
            Status=step.get("status"),
            BaseModelId=step.get("baseModel"),
            CustomizationType=step.get("customizationType"),
            HyperParameters={str(k): str(v) for k, v in (step.get("hyperparameters") or {}).items()},
            JobArn=step.get("jobArn"),
            CustomModelArn=step.get("customModelArn"),
            Datasets=[_dataset(d) for d in step.get("datasets") or []],
            MetricsSummary=step.get("metricsSummary"),
            EvaluationSummary=step.get("evaluationSummary"),
            DeletedAt=step.get("deletedAt"),
            Recorded=bool(step.get("recorded", True)),
        )
        for step in view.get("chain") or []
    ]
    return LineageView(
        RootFoundationModel=view.get("rootFoundationModel"),
        ParentRunId=view.get("parentRunId"),
        ParentModelArn=view.get("parentModelArn"),
        Datasets=steps[-1].Datasets if steps else [],
        SnapshotsPurgedAt=view.get("snapshotsPurgedAt"),
        Chain=steps,
    )


def model_view(record: Mapping[str, Any], lineage: Mapping[str, Any] | None = None) -> CustomModel:
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
        Owner=owner_view(record),
        CreatedBy=owner_of_record(record).principal,
        Request=request,
        JobArn=record.get("jobArn"),
        CustomModelArn=record.get("customModelArn"),
        MetricsSummary=record.get("metricsSummary"),
        Evaluation=evaluation_view(record),
        Throughput=throughput_view(record.get("serving")),
        Error=RunErrorView(Error=str(error.get("error")), Cause=str(error.get("cause") or ""))
        if isinstance(error, Mapping)
        else None,
        Lineage=lineage_api_view(lineage) if lineage is not None else None,
        CreatedAt=record.get("createdAt"),
        UpdatedAt=record.get("updatedAt"),
    )


def summary_view(record: Mapping[str, Any]) -> CustomModelSummary:
    full = model_view(record)
    return CustomModelSummary(
        Id=full.Id,
        Status=full.Status,
        Owner=full.Owner,
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
