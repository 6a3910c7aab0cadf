"""Which model to ask for a run: the serving its registry record names, and its base model.

Shared by ``bmc invoke``, the API's ``POST /custom-models/{id}/invoke`` and the evaluation
stage: the serving ARN always comes from the registry record, never from a caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bmc.aws.bedrock_ops import SERVING_READY
from bmc.catalog.models import UnknownModelError, resolve_model
from bmc.evaluation.generation import Target, base_target, custom_target


class NotServedError(Exception):
    """The run exists but nothing serves its custom model now."""


@dataclass(frozen=True)
class Resolved:
    custom: Target
    base: Target | None  # when asked to compare
    region: str


def arn_region(value: str) -> str | None:
    """The region an ARN names (None for anything else)."""
    parts = value.split(":")
    return parts[3] if value.startswith("arn:") and len(parts) > 3 and parts[3] else None


def ready_serving_arn(run: Mapping[str, Any]) -> str | None:
    """The ARN of the throughput or deployment serving the run's model now (InService / Active)."""
    serving = run.get("serving") or {}
    arn = serving.get("arn")
    ready = SERVING_READY.get(str(serving.get("kind")))
    return str(arn) if arn and serving.get("status") == ready else None


def resolve_run(
    run_id: str, run: Mapping[str, Any], default_region: str | None, *, compare: bool
) -> Resolved:
    """The targets of a registry record, or NotServedError with the commands that would serve it.

    The base model comes from the run's spec and the catalog (UnsupportedRegionError when it cannot
    be asked on demand in the region).
    """
    arn = ready_serving_arn(run)
    if arn is None:
        raise NotServedError(not_served_message(run_id, run))
    region = arn_region(arn) or default_region
    try:
        model = resolve_model(str((run.get("spec") or {}).get("baseModel")))
    except UnknownModelError:
        return Resolved(Target(arn), None, str(region))
    base = base_target(model, str(region)) if compare else None
    return Resolved(custom_target(model, arn), base, str(region))


def not_served_message(run_id: str, run: Mapping[str, Any]) -> str:
    status = run.get("status")
    model_arn = run.get("customModelArn")
    serving = run.get("serving") or {}
    if not model_arn:
        return f"run {run_id} has no custom model (status {status}): there is nothing to serve"
    state = f"its serving is {serving.get('status')}" if serving else "it was trained without serving"
    region = arn_region(str(model_arn)) or "<region>"
    try:
        choice = resolve_model(str((run.get("spec") or {}).get("baseModel"))).evaluation_serving.mode
    except UnknownModelError:
        choice = "provisioned"
    name = f"{run_id}-invoke"[:63]
    if choice == "on-demand":
        create = (
            f"aws bedrock create-custom-model-deployment --region {region} --model-deployment-name {name} "
            f"--model-arn {model_arn}"
        )
        delete = "aws bedrock delete-custom-model-deployment --custom-model-deployment-identifier <arn>"
    else:
        create = (
            f"aws bedrock create-provisioned-model-throughput --region {region} --provisioned-model-name {name} "
            f"--model-units 1 --model-id {model_arn}"
        )
        delete = "aws bedrock delete-provisioned-model-throughput --provisioned-model-id <arn>"
    return (
        f"run {run_id} is not served ({state}; run status {status}). To serve its model:\n  {create}\n"
        f"then `bmc invoke --model <the ARN it returns>` once it is ready, and delete it when done (it bills "
        f"until deleted; the workflow does not clean up what it did not create):\n  {delete}"
    )
