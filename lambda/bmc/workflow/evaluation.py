"""The evaluation stage of a run: check the test set, prepare the fan-out, conclude.

- ValidateDatasets checks the test set with line-located findings before anything is billed
  (``check_test_set``) and, when the run is valid, writes the records to evaluate as the
  Distributed Map's items: ``evaluations/<runId>/items.json`` in the artifacts bucket, a JSON
  array of ``TestRecord.to_item()`` (read with ``ItemReader`` input type JSON). The map then
  evaluates exactly what was validated (the first ``maxRecords`` records, with their indexes).
- PrepareEvaluation (``prepare``) builds the children's batch input from the registry: the
  serving ARN the run recorded and the catalog's id of the base model in this region, never
  from what the execution input claims; the run becomes EVALUATING.
- ConcludeEvaluation (``conclude``) acts on the gate decision and the serving the registry
  recorded: a temporary serving is always deleted, a run's own serving only when the gate
  failed with ``onFail: undeploy``; the run ends REJECTED (gate failed), COMPLETED (it was
  served only for the evaluation) or IN_SERVICE.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bmc.aws.bedrock_ops import BedrockOps
from bmc.aws.registry import COMPLETED, EVALUATING, IN_SERVICE, REJECTED, Registry, timestamp
from bmc.errors import InvalidTaskInput, RunStateConflict
from bmc.evaluation.batch import BatchSpec
from bmc.evaluation.batch import records_per_batch as batch_size
from bmc.evaluation.dataset import TestSet, read_test_set
from bmc.evaluation.generation import base_target, custom_target
from bmc.evaluation.store import items_key
from bmc.evaluation.targets import ready_serving_arn
from bmc.findings import Finding
from bmc.runspec import RunSpec
from bmc.runspec.model import Evaluation
from bmc.workflow.serving import DELETED, delete_expiry_schedule, delete_recorded_serving

# Bounds ValidateDatasets' and the summary's memory, and the items file: about 6 KB a record
# at the 10,000-record cap.
MAX_ITEMS_BYTES = 64 * 1024 * 1024
TEST_SET_TOO_LARGE = "TEST_SET_TOO_LARGE"


@dataclass(frozen=True, slots=True)
class CheckedTestSet:
    test_set: TestSet
    items: bytes | None  # the Map's items file (a JSON array) when the test set is valid

    @property
    def valid(self) -> bool:
        return self.test_set.valid and self.items is not None

    def registry_fields(self, run_id: str) -> dict[str, Any]:
        """What later states read back from the registry (never from the execution's state)."""
        return {
            "evaluation": {
                "testData": self.test_set.location,
                "records": self.test_set.record_count,
                "truncated": self.test_set.truncated,
                "itemsKey": items_key(run_id),
            }
        }


def check_test_set(evaluation: Evaluation, *, s3_client: Any) -> CheckedTestSet:
    """Read and check the test set; build the items file when it is valid."""
    test_set = read_test_set(evaluation.test_data, max_records=evaluation.max_records, s3_client=s3_client)
    if not test_set.valid:
        return CheckedTestSet(test_set, None)
    items = json.dumps(
        [record.to_item() for record in test_set.records], ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")
    if len(items) > MAX_ITEMS_BYTES:
        test_set.errors.add(
            Finding(
                test_set.location,
                None,
                None,
                TEST_SET_TOO_LARGE,
                f"the {test_set.record_count:,} records to evaluate hold {len(items):,} bytes; an evaluation "
                f"takes at most {MAX_ITEMS_BYTES:,} (lower maxRecords or shorten the records)",
            )
        )
        return CheckedTestSet(test_set, None)
    return CheckedTestSet(test_set, items)


def write_items(checked: CheckedTestSet, *, bucket: str, run_id: str, s3_client: Any) -> str:
    if checked.items is None:
        raise ValueError("an invalid test set has no items to write")
    key = items_key(run_id)
    s3_client.put_object(Bucket=bucket, Key=key, Body=checked.items, ContentType="application/json")
    return key


def evaluation_of(run: Mapping[str, Any], run_id: str) -> tuple[RunSpec, Evaluation, Mapping[str, Any]]:
    spec = RunSpec.from_dict(run.get("spec") or {})
    recorded = run.get("evaluation")
    if spec.evaluation is None or not isinstance(recorded, Mapping) or not recorded.get("itemsKey"):
        raise InvalidTaskInput(f"run {run_id} has no evaluation prepared by ValidateDatasets")
    return spec, spec.evaluation, recorded


def prepare(
    run_id: str, *, registry: Registry, region: str, default_tolerance: float, records_per_batch: int
) -> dict[str, Any]:
    """The Map's inputs: batch input, items key, record count, batch size and tolerated failure
    percentage."""
    run = registry.require(run_id)
    spec, evaluation, recorded = evaluation_of(run, run_id)
    arn = ready_serving_arn(run)
    if arn is None:
        serving = run.get("serving") or "none"
        raise RunStateConflict(f"run {run_id} is not served (serving: {serving}): nothing to evaluate")
    model = spec.model
    batch = BatchSpec(
        custom=custom_target(model, arn),
        base=base_target(model, region) if evaluation.compare_with_base else None,
        inference=evaluation.inference,
        system_prompt=evaluation.system_prompt,
        judge=evaluation.judge,
    )
    tolerance = (
        evaluation.tolerated_failure_percentage
        if evaluation.tolerated_failure_percentage is not None
        else default_tolerance
    )
    records = int(recorded["records"])
    registry.transition(
        run_id,
        EVALUATING,
        detail=f"evaluating {records} records",
        fields={"evaluation.startedAt": timestamp(), "evaluation.toleratedFailurePercentage": tolerance},
    )
    return {
        "batch": {"runId": run_id, **batch.to_dict()},
        "itemsKey": str(recorded["itemsKey"]),
        "records": records,
        "recordsPerBatch": batch_size(batch, records_per_batch),
        "toleratedFailurePercentage": tolerance,
    }


def conclude(
    run_id: str, *, registry: Registry, bedrock: BedrockOps, schedule_group: str | None
) -> dict[str, Any]:
    """Apply the gate the summary recorded and release a temporary serving."""
    run = registry.require(run_id)
    evaluation_of(run, run_id)
    gate = (run.get("evaluation") or {}).get("gate")
    decision: Mapping[str, Any] | None = gate if isinstance(gate, Mapping) else None
    serving = run.get("serving") or {}
    temporary = bool(serving.get("temporary"))
    rejected = decision is not None and not decision.get("passed")
    undeploy = temporary or (decision is not None and rejected and bool(decision.get("undeploy")))
    fields: dict[str, Any] = {}
    deleted = False
    if undeploy and serving and serving.get("status") != DELETED:
        delete_recorded_serving(serving, bedrock)
        deleted = True
        fields = {"serving.status": DELETED, "serving.deletedAt": timestamp()}
        schedule = serving.get("scheduleName")
        if schedule and schedule_group:
            delete_expiry_schedule(str(schedule), schedule_group)
    if decision is not None and rejected:
        status, detail = REJECTED, f"evaluation gate failed: {decision.get('reason')}"
    elif temporary:
        status, detail = COMPLETED, "evaluated; the serving created for the evaluation is deleted"
    else:
        status, detail = IN_SERVICE, "evaluated"
    registry.transition(run_id, status, detail=detail[:500], fields=fields)
    return {"status": status, "servingDeleted": deleted or serving.get("status") == DELETED, "gate": decision}
