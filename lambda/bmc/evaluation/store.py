"""Where an evaluation's files live in the artifacts bucket.

- ``evaluations/<runId>/items.json``: the records to evaluate (the Distributed Map's items).
- ``evaluations/<runId>/records/<first index>.jsonl``: each batch's evaluated records.
- ``evaluations/<runId>/results/<map run id>/``: the Map's ResultWriter output (a manifest and
  ``SUCCEEDED_n``/``FAILED_n`` files of child executions).
- ``reports/<runId>/evaluation.json`` and ``reports/<runId>/predictions.jsonl``: the report.

A record whose batch never wrote its file (the child execution failed beyond its retries) is
still reported: the summary gets it as a failure ``NotEvaluated``, with the child execution's
error when the ResultWriter recorded one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from bmc.aws import clients
from bmc.evaluation.dataset import TestRecord
from bmc.evaluation.generation import Generation
from bmc.evaluation.results import EvaluatedRecord
from bmc.evaluation.summary import EvaluationReport

RECORDS_PREFIX = "evaluations"
NOT_EVALUATED = "NotEvaluated"


def items_key(run_id: str) -> str:
    return f"{RECORDS_PREFIX}/{run_id}/items.json"


def results_prefix(run_id: str) -> str:
    """The ResultWriter's prefix (Step Functions adds the map run id and the file names)."""
    return f"{RECORDS_PREFIX}/{run_id}/results"


def records_key(run_id: str, first_index: int) -> str:
    return f"{records_prefix(run_id)}{first_index:06d}.jsonl"


def records_prefix(run_id: str) -> str:
    return f"{RECORDS_PREFIX}/{run_id}/records/"


def _jsonl(rows: Sequence[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")


def write_records(bucket: str, run_id: str, records: Sequence[EvaluatedRecord]) -> str:
    """Write a batch's records; returns the key (named by the batch's first record, so a
    retried batch overwrites its own file)."""
    key = records_key(run_id, min(r.record.index for r in records))
    clients.client("s3").put_object(
        Bucket=bucket,
        Key=key,
        Body=_jsonl([r.to_dict() for r in records]),
        ContentType="application/x-ndjson",
    )
    return key


def read_items(bucket: str, key: str) -> list[TestRecord]:
    """The records the evaluation was given (items.json, written when the test set was validated)."""
    body = clients.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return [TestRecord.from_item(item) for item in json.loads(body)]


def failed_batches(bucket: str, run_id: str, manifest_key: str | None) -> dict[int, str]:
    """Record index -> the error of the child execution that held it, from the ResultWriter's
    FAILED files (``Error``, ``Cause`` and the child's ``Input``: ``{"BatchInput", "Items"}``)."""
    if not manifest_key or not manifest_key.startswith(f"{results_prefix(run_id)}/"):
        return {}
    s3 = clients.client("s3")
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=manifest_key)["Body"].read())
    failures: dict[int, str] = {}
    for listed in (manifest.get("ResultFiles") or {}).get("FAILED", []):
        text = s3.get_object(Bucket=bucket, Key=listed["Key"])["Body"].read().decode("utf-8")
        stripped = text.strip()
        entries = (
            json.loads(stripped)
            if stripped.startswith("[")
            else [json.loads(line) for line in text.splitlines() if line.strip()]
        )
        for entry in entries:
            reason = f"{entry.get('Error') or 'ChildFailed'}: {entry.get('Cause') or 'no cause given'}"
            try:
                items = json.loads(entry.get("Input") or "{}").get("Items") or []
            except ValueError:
                continue
            for item in items:
                if isinstance(item, dict) and isinstance(item.get("index"), int):
                    failures[item["index"]] = reason
    return failures


def read_records(
    bucket: str,
    run_id: str,
    items: Sequence[TestRecord],
    *,
    compare_with_base: bool,
    batch_failures: Mapping[int, str] | None = None,
) -> list[EvaluatedRecord]:
    """Every record of ``items``: as written by its batch, or a NotEvaluated failure."""
    s3 = clients.client("s3")
    found: dict[int, EvaluatedRecord] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=records_prefix(run_id)):
        for listed in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=listed["Key"])["Body"].read().decode("utf-8")
            for line in body.splitlines():
                if line.strip():
                    record = EvaluatedRecord.from_dict(json.loads(line))
                    found[record.record.index] = record
    failures = batch_failures or {}
    evaluated: list[EvaluatedRecord] = []
    for item in sorted(items, key=lambda r: r.index):
        written = found.get(item.index)
        if written is None:
            reason = failures.get(item.index)
            message = "the batch holding this record failed" + (f": {reason}" if reason else "")
            missing = Generation(error=NOT_EVALUATED, message=message[:1000], attempts=0)
            written = EvaluatedRecord(item, custom=missing, base=missing if compare_with_base else None)
        evaluated.append(written)
    return evaluated


def write_report(bucket: str, run_id: str, report: EvaluationReport) -> dict[str, str]:
    """Write evaluation.json and predictions.jsonl; returns their ``s3://`` URIs."""
    s3 = clients.client("s3")
    summary_key = f"reports/{run_id}/evaluation.json"
    predictions_key = f"reports/{run_id}/predictions.jsonl"
    s3.put_object(
        Bucket=bucket,
        Key=summary_key,
        Body=json.dumps(report.summary, indent=2, ensure_ascii=False).encode("utf-8"),
        ContentType="application/json",
    )
    s3.put_object(
        Bucket=bucket,
        Key=predictions_key,
        Body=_jsonl(report.predictions),
        ContentType="application/x-ndjson",
    )
    return {"evaluation": f"s3://{bucket}/{summary_key}", "predictions": f"s3://{bucket}/{predictions_key}"}
