"""Where an evaluation's files live in the artifacts bucket.

- ``evaluations/<runId>/records/<first index>.jsonl``: each batch's evaluated records.
- ``reports/<runId>/evaluation.json`` and ``reports/<runId>/predictions.jsonl``: the report.

A record whose batch never wrote its file (the child execution failed beyond its retries) is
still reported: the summary gets it as a failure ``NotEvaluated``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bmc.aws import clients
from bmc.evaluation.dataset import TestRecord
from bmc.evaluation.generation import Generation
from bmc.evaluation.results import EvaluatedRecord
from bmc.evaluation.summary import EvaluationReport

RECORDS_PREFIX = "evaluations"
NOT_EVALUATED = "NotEvaluated"


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


def read_records(
    bucket: str, run_id: str, expected: int, *, compare_with_base: bool
) -> list[EvaluatedRecord]:
    """Every record 0..expected-1: as written by its batch, or a NotEvaluated failure."""
    s3 = clients.client("s3")
    found: dict[int, EvaluatedRecord] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=records_prefix(run_id)):
        for listed in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=listed["Key"])["Body"].read().decode("utf-8")
            for line in body.splitlines():
                if line.strip():
                    record = EvaluatedRecord.from_dict(json.loads(line))
                    found[record.record.index] = record
    missing = Generation(error=NOT_EVALUATED, message="the batch holding this record failed", attempts=0)
    for index in range(expected):
        if index not in found:
            found[index] = EvaluatedRecord(
                TestRecord(index=index, line=index + 1, prompt="", reference=""),
                custom=missing,
                base=missing if compare_with_base else None,
            )
    return [found[index] for index in sorted(found)]


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
