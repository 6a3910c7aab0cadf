"""What SubmitJob sends, from what the registry recorded: snapshots, parent and lineage tags."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bmc.aws.bedrock_ops import JobInputs
from bmc.errors import RunStateConflict
from bmc.lineage.datasets import TRAINING, VALIDATION, snapshot_uris
from bmc.lineage.tags import lineage_tags, room_for_lineage
from bmc.runspec import WORKFLOW_TAG_KEYS, RunSpec


def job_inputs(run_id: str, record: Mapping[str, Any], spec: RunSpec, *, datasets_bucket: str) -> JobInputs:
    """The job trains on the run's snapshots and builds on the parent the registry recorded.

    Raises RunStateConflict when a dataset has no snapshot: a run never trains on data that
    could have changed since it was validated.
    """
    lineage = record.get("lineage") or {}
    training = snapshot_uris(lineage, TRAINING)
    validation = snapshot_uris(lineage, VALIDATION)
    if len(training) != 1 or len(validation) != len(spec.validation_data):
        raise RunStateConflict(
            f"run {run_id} has no snapshot of every dataset it validated: it is not submitted"
        )
    parent_arn = lineage.get("parentModelArn")
    room = room_for_lineage(len(spec.tags), len(WORKFLOW_TAG_KEYS))
    return JobInputs(
        training_uri=training[0],
        validation_uris=tuple(validation),
        base_model_identifier=str(parent_arn) if parent_arn else spec.base_model,
        extra_tags=lineage_tags(lineage, run_id=run_id, datasets_bucket=datasets_bucket, room=room),
    )
