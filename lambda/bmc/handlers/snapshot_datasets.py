"""SnapshotDatasets: copy exactly the validated version of every dataset to the run's snapshots.

Reads what ValidateDatasets recorded on the registry (never the state), copies each version to
``snapshots/<runId>/`` (bmc.lineage.snapshot) and records the copies on ``lineage.datasets``:
SubmitJob sends these URIs, so the job trains on the bytes that were validated even if a
dataset is overwritten meanwhile. A version that is gone raises DatasetChanged.

Its own state and function (docs/decisions.md, "Lineage"): the copy runs server side (memory
is not a concern, time is: 10 GB copy part by part in parallel), it retries on its own without
validating again, and only this function's role may write under ``snapshots/``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from bmc import settings
from bmc.aws import clients
from bmc.aws.registry import Registry, timestamp
from bmc.errors import RunStateConflict
from bmc.handlers._task import TaskEvent, task_handler
from bmc.lineage.datasets import recorded_datasets, snapshot_taken
from bmc.lineage.snapshot import SnapshotTarget, Snapshotter

logger = Logger()
tracer = Tracer()


@task_handler(logger, tracer)
def handler(task: TaskEvent, context: LambdaContext) -> dict[str, Any]:
    registry = Registry.from_environment()
    lineage = registry.require(task.run_id).get("lineage") or {}
    files = recorded_datasets(lineage)
    if not files:
        raise RunStateConflict(f"run {task.run_id} has no validated datasets recorded to snapshot")
    snapshotter = Snapshotter(clients.client("s3"), run_id=task.run_id, kms_key_arn=settings.data_key_arn())
    datasets: dict[str, Any] = dict(lineage.get("datasets") or {})
    copies = []
    for role, index, entry in files:
        if snapshot_taken(entry):
            updated = dict(entry)  # copied by an earlier attempt
        else:
            result = snapshotter.snapshot(SnapshotTarget.from_entry(entry))
            updated = {**entry, **result.fields(), "snapshotAt": timestamp()}
            if result.changed:
                logger.warning(
                    "the dataset changed after validation: the validated version is trained",
                    extra={
                        "uri": entry.get("uri"),
                        "validated": entry.get("versionId"),
                        "current": result.current_version_id,
                    },
                )
        if isinstance(datasets.get(role), list):
            datasets[role] = [updated if i == index else e for i, e in enumerate(datasets[role])]
        else:
            datasets[role] = updated
        copies.append(
            {
                "role": role,
                "uri": updated.get("uri"),
                "versionId": updated.get("versionId"),
                "snapshotUri": updated.get("snapshotUri"),
                "changedAfterValidation": bool(updated.get("changedAfterValidation")),
            }
        )
    registry.update_lineage(task.run_id, {"datasets": datasets})
    logger.info("datasets snapshotted", extra={"snapshots": copies})
    return {"snapshots": copies}
