"""Cleaning up after a failed, stopped, aborted or timed-out run.

Used by the Cleanup state and by execution_ended (an execution aborted or timed out never
reaches Cleanup). It stops the job if it still trains, deletes the throughput or deployment
the run created and its TTL schedule, releases the task token and records the outcome; all of
it as the run's registry record says, never as an execution's input or state claims.

It never raises: each step runs on its own and a failed step becomes a "problem" in the
result, so the original error always reaches the failure notification and the Fail state.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aws_lambda_powertools import Logger

from bmc.aws.bedrock_ops import BedrockOps
from bmc.aws.registry import FAILED, STOPPED, Registry, belongs_to, timestamp
from bmc.workflow.serving import DELETED, delete_expiry_schedule, delete_recorded_serving

logger = Logger(child=True)

T = TypeVar("T")

JOB_STOPPED_ERROR = "JobStopped"
ABORTED_ERROR = "ExecutionAborted"
_RUNNING = "InProgress"


def failure_record(error: Mapping[str, Any] | None) -> dict[str, str]:
    """``{error, cause}`` from a Step Functions ``$.error`` (``{Error, Cause}``).

    A Lambda failure's Cause is a JSON document; its errorMessage is the readable part.
    """
    if not error:
        return {"error": "Unknown", "cause": "the run failed without an error description"}
    name = str(error.get("Error") or error.get("error") or "Unknown")
    cause = error.get("Cause") if "Cause" in error else error.get("cause")
    text = "" if cause is None else str(cause)
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, Mapping) and parsed.get("errorMessage"):
        text = str(parsed["errorMessage"])
    return {"error": name, "cause": text}


@dataclass(slots=True)
class CleanupResult:
    status: str
    actions: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "actions": list(self.actions), "problems": list(self.problems)}

    def attempt(self, what: str, step: Callable[[], T]) -> T | None:
        """Run one step; a failure is recorded as a problem and the next step still runs."""
        return attempt_step(self.problems, what, step)


def attempt_step(problems: list[str], what: str, step: Callable[[], T]) -> T | None:
    """``step()``, or None with the failure logged and added to ``problems`` (the caller goes on)."""
    try:
        return step()
    except Exception as exc:
        logger.exception(f"step failed: {what}")
        problems.append(f"{what}: {type(exc).__name__}: {exc}")
        return None


@dataclass(frozen=True, slots=True)
class Execution:
    """The execution a cleanup acts for: only a record bound to it is acted on."""

    arn: str
    started_at: str | None


def clean_up(
    run_id: str,
    *,
    error: Mapping[str, Any] | None,
    execution: Execution,
    aborted: bool = False,
    registry: Registry,
    bedrock: BedrockOps,
    schedule_group: str | None,
) -> CleanupResult:
    """Undo what the run started, as its registry record says, and record the outcome.

    Only the record is trusted: the job, serving and schedule it names, and only when the
    record belongs to ``execution`` (a run id used again by another execution must never reach
    the earlier run's resources). Without a record there is nothing to clean up: PrepareRun
    refused the input before anything was created.
    """
    record = failure_record(error)
    stopped = aborted or record["error"] == JOB_STOPPED_ERROR
    result = CleanupResult(status=STOPPED if stopped else FAILED)
    run = result.attempt("read the run from the registry", lambda: registry.get(run_id))
    if run is None:
        if not result.problems:
            result.problems.append(f"run {run_id} is not in the registry; nothing recorded")
        return result
    if not belongs_to(run, execution.arn, execution.started_at):
        logger.error(
            "the run id is recorded for another execution: nothing cleaned up",
            extra={
                "recordedExecution": run.get("executionArn"),
                "recordedStart": run.get("executionStartedAt"),
            },
        )
        result.problems.append(
            f"run {run_id} is recorded for an execution started at {run.get('executionStartedAt')}, not this "
            "one; nothing of that run was touched"
        )
        return result
    names = run.get("names") or {}
    job_id = run.get("jobArn") or names.get("jobName")
    serving = run.get("serving") if isinstance(run.get("serving"), Mapping) else None

    if job_id:
        result.attempt("stop the customization job", lambda: _stop_job(str(job_id), bedrock, result))
    fields: dict[str, Any] = {}
    if serving:
        deleted = result.attempt("delete the serving", lambda: delete_recorded_serving(serving, bedrock))
        if deleted is not None:
            what = f"{serving.get('kind')} serving {serving.get('arn') or serving.get('name')}"
            result.actions.append(f"deleted {what}" if deleted else f"{what} was already gone")
            fields = {"serving.status": DELETED, "serving.deletedAt": serving.get("deletedAt") or timestamp()}
        schedule = serving.get("scheduleName") or names.get("scheduleName")
        if schedule and not schedule_group:
            result.problems.append(
                f"SCHEDULE_GROUP is not set: the expiry schedule {schedule} was not looked for"
            )
        elif schedule and schedule_group:
            removed = result.attempt(
                "delete the expiry schedule", lambda: delete_expiry_schedule(str(schedule), schedule_group)
            )
            if removed:
                result.actions.append(f"deleted the expiry schedule {schedule}")
    changed = result.attempt(
        f"mark the run {result.status}",
        lambda: registry.transition(
            run_id,
            result.status,
            detail=f"{record['error']}: {record['cause']}"[:500],
            fields=fields,
            fields_if_absent={"error": record},  # the first error of a run is the one to keep
            remove=("taskToken", "awaiting"),
        ),
    )
    if changed is not None:
        result.actions.append(f"marked the run {result.status}")
    return result


def _stop_job(job_id: str, bedrock: BedrockOps, result: CleanupResult) -> None:
    job = bedrock.find_job(job_id)
    if job is None:
        return  # never created
    if job.get("status") != _RUNNING:
        return
    if bedrock.stop_job(str(job["jobArn"])):
        result.actions.append(f"stopped the customization job {job['jobArn']}")
