"""A run's lineage as people read it: every step from the foundation model to the run.

Each step is one run of the chain, read from its own registry record: what it customized
(the foundation model or the previous step's custom model), how, on which datasets (URI,
version, digest, snapshot), with which hyperparameters, the job, the model and the evaluation
summary when there is one. A step whose model was deleted stays in the chain: its record is
kept (status DELETED) with everything it recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bmc.lineage.datasets import recorded_datasets
from bmc.lineage.parents import recorded_chain

RecordReader = Callable[[str], Mapping[str, Any] | None]


def dataset_views(lineage: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """One line per dataset: role, URI, version, ETag, size, records, digest, snapshot."""
    views = []
    for role, index, entry in recorded_datasets(lineage):
        view = {"role": role, "index": index, **{k: v for k, v in entry.items() if v is not None}}
        views.append(view)
    return views


def step_view(run_id: str, record: Mapping[str, Any] | None, step: Mapping[str, Any]) -> dict[str, Any]:
    """One step of a chain; ``record`` None when the run's record cannot be read."""
    if record is None:
        return {**dict(step), "recorded": False}
    spec = record.get("spec") or {}
    lineage = record.get("lineage") or {}
    evaluation = record.get("evaluation")
    evaluation = evaluation if isinstance(evaluation, Mapping) else {}
    view: dict[str, Any] = {
        "runId": run_id,
        "status": record.get("status"),
        "baseModel": step.get("baseModel"),
        "customizationType": spec.get("customizationType") or step.get("customizationType"),
        "hyperparameters": spec.get("hyperparameters") or {},
        "jobArn": record.get("jobArn"),
        "customModelArn": record.get("customModelArn") or step.get("customModelArn"),
        "datasets": dataset_views(lineage),
        "metricsSummary": _final_losses(record.get("metricsSummary")),
        "evaluationSummary": evaluation.get("summary"),
        "recorded": True,
    }
    if record.get("status") == "DELETED":
        view["deletedAt"] = record.get("deletedAt")
    return view


def _final_losses(summary: Any) -> dict[str, Any] | None:
    if not isinstance(summary, Mapping):
        return None
    keys = ("finalTrainingLoss", "finalValidationLoss", "epochs")
    return {key: summary.get(key) for key in keys if summary.get(key) is not None}


def lineage_view(run_id: str, record: Mapping[str, Any], read: RecordReader) -> dict[str, Any]:
    """The run's lineage: root, parent, datasets and every step, the run itself last.

    ``read`` fetches another run's record (the steps before this one); the run's own record
    is ``record``. Steps are the chain the run recorded when it was registered, so a parent
    deleted since, or re-registered, never changes what this run was trained from.
    """
    lineage = record.get("lineage") or {}
    spec = record.get("spec") or {}
    steps = []
    for step in recorded_chain(run_id, record):
        step_id = str(step.get("runId"))
        step_record = record if step_id == run_id else read(step_id)
        steps.append(step_view(step_id, step_record, step))
    return {
        "rootFoundationModel": lineage.get("rootFoundationModel") or spec.get("baseModel"),
        "parentRunId": lineage.get("parentRunId"),
        "parentModelArn": lineage.get("parentModelArn"),
        "datasets": lineage.get("datasets") or {},
        "snapshotsPurgedAt": lineage.get("snapshotsPurgedAt"),
        "chain": steps,
    }
