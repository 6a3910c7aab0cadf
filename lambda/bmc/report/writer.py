"""Write a run's report: gather its inputs, render the page, store it beside its JSON reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from bmc.aws.registry import Registry, belongs_to
from bmc.report.inputs import load_inputs, report_key
from bmc.report.page import render_report

logger = Logger(child=True)

CONTENT_TYPE = "text/html; charset=utf-8"


class NotThisExecutionsRunError(Exception):
    """The run id's record belongs to another execution (a name used again): not reported."""


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """Which run to report, for which execution, where, and as of when.

    ``error`` is the failure the workflow is handling, shown when the record lacks one.
    """

    run_id: str
    execution_arn: str
    execution_started_at: str | None
    bucket: str
    now: datetime
    error: Mapping[str, Any] | None = None


def write_report(request: ReportRequest, *, registry: Registry, s3_client: Any) -> dict[str, Any]:
    """Render ``reports/<runId>/report.html`` and record it as ``reports.report``; never raises.

    A run's outcome never depends on its report: a failure is logged and noted on the run
    (``reportProblem``, unless the record is another execution's). Returns ``{"written": True,
    "uri", "bytes"}`` or ``{"written": False, "problem"}``.
    """
    try:
        uri, size = _write(request, registry=registry, s3_client=s3_client)
    except NotThisExecutionsRunError as exc:
        logger.warning(str(exc))
        return {"written": False, "problem": str(exc)}
    except Exception as exc:
        logger.exception("the run report was not written")
        problem = f"{type(exc).__name__}: {exc}"[:1000]
        try:
            registry.update(request.run_id, fields={"reportProblem": problem})
        except Exception:
            logger.exception("the report problem could not be recorded")
        return {"written": False, "problem": problem}
    return {"written": True, "uri": uri, "bytes": size}


def _write(request: ReportRequest, *, registry: Registry, s3_client: Any) -> tuple[str, int]:
    """Only for a record that belongs to the execution (``belongs_to``): a run id used again by
    another execution must neither overwrite nor reveal the earlier run's report."""
    run_id = request.run_id
    record = registry.get(run_id)
    if record is None or not belongs_to(record, request.execution_arn, request.execution_started_at):
        raise NotThisExecutionsRunError(f"run {run_id} has no record of this execution; no report written")
    inputs = load_inputs(
        run_id,
        record=record,
        bucket=request.bucket,
        s3_client=s3_client,
        generated_at=request.now,
        error=request.error,
    )
    body = render_report(inputs).encode("utf-8")
    key = report_key(run_id)
    s3_client.put_object(Bucket=request.bucket, Key=key, Body=body, ContentType=CONTENT_TYPE)
    uri = f"s3://{request.bucket}/{key}"
    registry.update(run_id, fields={"reports.report": uri}, remove=["reportProblem"])
    logger.info("run report written", extra={"report": uri, "bytes": len(body), "notes": inputs.notes})
    return uri, len(body)
