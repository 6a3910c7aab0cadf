"""What a run report is made of: the registry record and the run's own JSON reports.

Only documents the registry records for the run, under the run's own prefix of the artifacts
bucket (``reports/<runId>/``), are read: a record cannot point the report at another run's
files or another bucket. A document that is missing, too large or not JSON is a note on the
page, never a failure: the report shows what exists.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from bmc.aws.s3io import parse_s3_uri

DOCUMENTS = ("validation", "metrics", "evaluation")
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024  # metrics of a very long job stay far below this


def report_prefix(run_id: str) -> str:
    return f"reports/{run_id}/"


def report_key(run_id: str) -> str:
    return f"{report_prefix(run_id)}report.html"


@dataclass(frozen=True, slots=True)
class ReportInputs:
    run_id: str
    record: Mapping[str, Any]  # the registry item ({"runId"} alone when there is none)
    generated_at: datetime
    documents: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # name -> parsed JSON
    error: Mapping[str, Any] | None = None  # the failure the workflow is handling, if any
    notes: tuple[str, ...] = ()  # documents that could not be read

    def document(self, name: str) -> Mapping[str, Any] | None:
        return self.documents.get(name)

    @property
    def spec(self) -> Mapping[str, Any]:
        spec = self.record.get("spec")
        return spec if isinstance(spec, Mapping) else {}

    @property
    def run_error(self) -> Mapping[str, Any] | None:
        recorded = self.record.get("error")
        return recorded if isinstance(recorded, Mapping) else self.error


def load_inputs(
    run_id: str,
    *,
    record: Mapping[str, Any] | None,
    bucket: str,
    s3_client: Any,
    generated_at: datetime,
    error: Mapping[str, Any] | None = None,
) -> ReportInputs:
    """Read the documents the record lists (``reports.<name>``) from the run's own prefix."""
    record = record if record is not None else {"runId": run_id}
    reports = record.get("reports") if isinstance(record.get("reports"), Mapping) else {}
    documents: dict[str, Mapping[str, Any]] = {}
    notes: list[str] = []
    for name in DOCUMENTS:
        uri = reports.get(name) if reports else None
        if not uri:
            continue
        try:
            documents[name] = _read_own_document(str(uri), run_id=run_id, bucket=bucket, s3_client=s3_client)
        except (ValueError, ClientError) as exc:
            notes.append(f"{name} report not shown: {_reason(exc)}")
    return ReportInputs(
        run_id=run_id,
        record=record,
        generated_at=generated_at,
        documents=documents,
        error=error,
        notes=tuple(notes),
    )


def _read_own_document(uri: str, *, run_id: str, bucket: str, s3_client: Any) -> Mapping[str, Any]:
    found_bucket, key = parse_s3_uri(uri)
    if found_bucket != bucket or not key.startswith(report_prefix(run_id)) or ".." in key.split("/"):
        raise ValueError(f"{uri} is not under s3://{bucket}/{report_prefix(run_id)}")
    body = s3_client.get_object(Bucket=bucket, Key=key)["Body"]
    try:
        data = body.read(MAX_DOCUMENT_BYTES + 1)
    finally:
        body.close()
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ValueError(f"{uri} is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB")
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{uri} is not JSON ({exc})") from exc
    if not isinstance(document, Mapping):
        raise ValueError(f"{uri} is not a JSON object")
    return document


def _reason(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".strip(": ")
    return str(exc)
