"""Building on an earlier run: ``baseModel`` ``run:<runId>`` or a custom model ARN.

The reference is resolved through the registry, for the new run's owner, and never trusted as
given: the earlier run must be the same owner's (another team's run is "not found", exactly
like an id that names nothing), COMPLETED or IN_SERVICE, with its custom model recorded. A
custom model ARN must be the model of such a run: a model this deployment did not train has no
recorded data, parent or settings, so it is refused (docs/decisions.md, "Lineage").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bmc.aws.registry import COMPLETED, IN_SERVICE, Registry
from bmc.runspec.model import (
    PARENT_NOT_FOUND,
    PARENT_NOT_READY,
    RUN_BASE_PREFIX,
    ParentModel,
    ParentRefusedError,
    ParentResolver,
)
from bmc.runspec.names import run_id_problem

# Bedrock's custom model ARN (CreateModelCustomizationJob's BaseModelIdentifier, custom-model branch).
CUSTOM_MODEL_ARN = re.compile(
    r"arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:custom-model/"
    r"[a-z0-9-]{1,63}[.][a-z0-9-]{1,63}([.]?[a-z0-9-]{1,63})([:][a-z0-9-]{1,63}){0,2}/[a-z0-9]{12}"
)
BUILDABLE_STATUSES = (COMPLETED, IN_SERVICE)
MAX_CHAIN_STEPS = 10  # a run's lineage shows every step; the API reads one record per step


def chain_step(run_id: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """A run's own step of a chain: what it customized, how, and the model it made."""
    spec = record.get("spec") or {}
    lineage = record.get("lineage") or {}
    return {
        "runId": run_id,
        "baseModel": lineage.get("parentModelArn") or spec.get("baseModel"),
        "customizationType": spec.get("customizationType"),
        "customModelArn": record.get("customModelArn"),
    }


def recorded_chain(run_id: str, record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The chain from the first customization to ``run_id`` as the record holds it, its own step
    last and up to date (records of runs made before lineage existed get a one-step chain)."""
    steps = [
        dict(step) for step in (record.get("lineage") or {}).get("chain") or [] if isinstance(step, Mapping)
    ]
    if steps and steps[-1].get("runId") == run_id:
        steps[-1].update({k: v for k, v in chain_step(run_id, record).items() if v is not None})
        return steps
    return [*steps, chain_step(run_id, record)]


def resolve_parent(reference: str, *, registry: Registry, owner_team: str) -> tuple[ParentModel, str]:
    """The parent a reference names for an owner, and the root foundation model of its chain."""
    record, run_id = _find(reference, registry, owner_team)
    status = record.get("status")
    model_arn = record.get("customModelArn")
    if status not in BUILDABLE_STATUSES or not model_arn:
        raise ParentRefusedError(
            PARENT_NOT_READY,
            f"run {run_id} is {status}: only the model of a {' or '.join(BUILDABLE_STATUSES)} run can be "
            "customized further",
        )
    spec = record.get("spec") or {}
    lineage = record.get("lineage") or {}
    chain = recorded_chain(run_id, record)
    if len(chain) >= MAX_CHAIN_STEPS:
        raise ParentRefusedError(
            PARENT_NOT_READY,
            f"run {run_id} ends a chain of {len(chain)} customizations; a chain has at most {MAX_CHAIN_STEPS}",
        )
    parent = ParentModel(
        reference=reference,
        run_id=run_id,
        custom_model_arn=str(model_arn),
        customization_type=str(spec.get("customizationType")),
        chain=tuple(chain),
    )
    return parent, str(lineage.get("rootFoundationModel") or spec.get("baseModel"))


def _find(reference: str, registry: Registry, owner_team: str) -> tuple[dict[str, Any], str]:
    if reference.startswith(RUN_BASE_PREFIX):
        run_id = reference.removeprefix(RUN_BASE_PREFIX)
        record = registry.get(run_id) if run_id_problem(run_id) is None else None
        if record is None or record.get("team") != owner_team:
            raise ParentRefusedError(PARENT_NOT_FOUND, f"{reference}: no run {run_id!r} of this run's owner")
        return record, run_id
    if not CUSTOM_MODEL_ARN.fullmatch(reference):
        raise ParentRefusedError(
            PARENT_NOT_FOUND,
            f"{reference!r} is not a custom model ARN (arn:aws:bedrock:<region>:<account>:custom-model/"
            "<base model>/<12 characters>) nor run:<runId>",
        )
    record = registry.find_by_custom_model_arn(owner_team, reference)
    if record is None:
        raise ParentRefusedError(
            PARENT_NOT_FOUND,
            f"{reference} is not the model of a run of this run's owner in this deployment: only models "
            "trained here (whose data, parent and settings are recorded) can be customized further; "
            "use run:<runId> to name one",
        )
    return record, str(record["runId"])


def registry_resolver(registry: Registry, owner_team: str) -> ParentResolver:
    def resolve(reference: str) -> tuple[ParentModel, str]:
        return resolve_parent(reference, registry=registry, owner_team=owner_team)

    return resolve


def initial_lineage(run_id: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The ``lineage`` a run is registered with: its base, its parent and its chain so far."""
    parent = spec.get("parent") if isinstance(spec.get("parent"), Mapping) else None
    own_step = {
        "runId": run_id,
        "baseModel": parent["customModelArn"] if parent else spec.get("baseModel"),
        "customizationType": spec.get("customizationType"),
        "customModelArn": None,
    }
    return {
        "rootFoundationModel": spec.get("baseModel"),
        "parentRunId": parent["runId"] if parent else None,
        "parentModelArn": parent["customModelArn"] if parent else None,
        "chain": [*(parent.get("chain") or [] if parent else []), own_step],
        "datasets": {},
    }
