"""Resolving a customization job's outcome: claim the run's task token, resume the workflow.

Three callers can learn that a job ended: AwaitJob (the job ended before it started waiting),
the job-state event and the reconciler. Each claims the token with a conditional write
first, so exactly one of them sends SendTaskSuccess / SendTaskFailure; the others find no
token and stand down.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from bmc.aws import clients
from bmc.aws.bedrock_ops import JOB_TERMINAL_STATUSES, BedrockOps
from bmc.aws.registry import Registry
from bmc.errors import JobFailed, JobStopped, WorkflowError

logger = Logger(child=True)

RESOLVED = "resolved"
NOT_AWAITING = "not-awaiting"  # no token: already resolved, or AwaitJob has not stored it yet
EXECUTION_GONE = "execution-gone"  # the execution ended (aborted, timed out) meanwhile
RUNNING = "running"

COMPLETED = "Completed"
_FAILURE_ERRORS: Mapping[str, type[WorkflowError]] = {"Failed": JobFailed, "Stopped": JobStopped}
# SendTask* answers when the execution or its task no longer waits for this token.
_GONE_CODES = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})
_MAX_CAUSE = 32_768


@dataclass(frozen=True, slots=True)
class JobOutcome:
    job_arn: str
    status: str  # Completed, Failed or Stopped
    custom_model_arn: str | None = None
    failure_message: str | None = None

    @classmethod
    def from_job(cls, job: Mapping[str, Any]) -> JobOutcome | None:
        """The outcome of a GetModelCustomizationJob answer; None while the job runs."""
        status = str(job.get("status", ""))
        if status not in JOB_TERMINAL_STATUSES:
            return None
        return cls(str(job["jobArn"]), status, job.get("outputModelArn"), job.get("failureMessage"))

    @classmethod
    def from_event(cls, detail: Mapping[str, Any]) -> JobOutcome | None:
        """The outcome of a job-state event (``detail.jobStatus``); None for other statuses."""
        status = str(detail.get("jobStatus", ""))
        if status not in JOB_TERMINAL_STATUSES or not detail.get("jobArn"):
            return None
        return cls(str(detail["jobArn"]), status, detail.get("outputModelArn"), detail.get("failureMessage"))

    def failure(self) -> tuple[str, str]:
        """(error name, cause) to send with SendTaskFailure."""
        error = _FAILURE_ERRORS[self.status].__name__
        cause = self.failure_message or f"the customization job {self.job_arn} ended {self.status}"
        return error, cause


class JobTracker:
    def __init__(self, registry: Registry, bedrock: BedrockOps, sfn_client: Any | None = None) -> None:
        self.registry = registry
        self.bedrock = bedrock
        self._sfn = sfn_client

    @property
    def sfn(self) -> Any:
        if self._sfn is None:
            self._sfn = clients.client("stepfunctions")
        return self._sfn

    def check(self, run_id: str, job_arn: str) -> str:
        """Read the job once and resolve it if it has ended; RUNNING otherwise."""
        outcome = JobOutcome.from_job(self.bedrock.get_job(job_arn))
        if outcome is None:
            return RUNNING
        return self.resolve(run_id, outcome)

    def resolve(self, run_id: str, outcome: JobOutcome) -> str:
        """Send the outcome to the execution waiting on the run's token, if it still waits."""
        if outcome.status == COMPLETED and not outcome.custom_model_arn:
            # Events normally carry the model ARN; read the job when one does not.
            job = self.bedrock.get_job(outcome.job_arn)
            outcome = JobOutcome(outcome.job_arn, outcome.status, job.get("outputModelArn"), None)
        token = self.registry.claim_task_token(run_id)
        if token is None:
            logger.info(
                "no task token to claim: already resolved", extra={"runId": run_id, "job": outcome.job_arn}
            )
            return NOT_AWAITING
        try:
            self._send(token, outcome)
        except Exception as exc:
            code = str(exc.response.get("Error", {}).get("Code", "")) if isinstance(exc, ClientError) else ""
            if code in _GONE_CODES:
                logger.warning(
                    "the execution no longer waits for this job", extra={"runId": run_id, "code": code}
                )
                return EXECUTION_GONE
            # Delivery failed for another reason: give the token back so a retry can send it.
            self.registry.restore_task_token(run_id, token)
            raise
        logger.info("job outcome sent", extra={"runId": run_id, "jobStatus": outcome.status})
        return RESOLVED

    def _send(self, token: str, outcome: JobOutcome) -> None:
        if outcome.status == COMPLETED:
            output = {"status": COMPLETED, "customModelArn": outcome.custom_model_arn}
            self.sfn.send_task_success(taskToken=token, output=json.dumps(output))
            return
        error, cause = outcome.failure()
        self.sfn.send_task_failure(taskToken=token, error=error, cause=cause[:_MAX_CAUSE])

    def reconcile(self) -> dict[str, int]:
        """Check every run still awaiting its job and resolve the ones that ended.

        Events are best effort; this catches the ones that never arrived. A failure on one
        run is logged and counted, and the others are still checked.
        """
        counts = {"checked": 0, RESOLVED: 0, RUNNING: 0, NOT_AWAITING: 0, EXECUTION_GONE: 0, "errors": 0}
        for run_id in self.registry.awaiting_run_ids():
            counts["checked"] += 1
            try:
                run = self.registry.get(run_id) or {}
                job_arn = run.get("jobArn")
                if not job_arn:
                    logger.warning("an awaiting run has no job ARN", extra={"runId": run_id})
                    counts["errors"] += 1
                    continue
                counts[self.check(run_id, str(job_arn))] += 1
            except Exception:
                logger.exception("reconciling a run failed", extra={"runId": run_id})
                counts["errors"] += 1
        return counts
