"""The errors the workflow's functions raise.

Step Functions names a Lambda failure after the exception's class, so each class name here is
a contract with the state machine (docs/workflow.md, "Errors raised"): retry and catch rules
match on these names. Never rename one without the state machine.
"""

# The names are the state machine's error names: they do not end in "Error" (N818).
# ruff: noqa: N818

from __future__ import annotations

from collections.abc import Sequence

from bmc.findings import Finding


class WorkflowError(Exception):
    """Base of every error a workflow function raises on purpose."""

    @property
    def name(self) -> str:
        """The Step Functions error name."""
        return type(self).__name__


class ConfigurationError(WorkflowError):
    """An environment variable the function needs is missing or malformed (a deployment bug)."""


class InvalidTaskInput(WorkflowError):
    """The event lacks a field the state machine always sends (a contract bug)."""


class RunNotFound(WorkflowError):
    """The registry has no record of the run."""


class RunStateConflict(WorkflowError):
    """The run's status does not allow the requested transition (another resolver acted first)."""


class RunIdInUse(WorkflowError):
    """The run id's registry record belongs to another execution (a name used again): nothing
    of that run is touched, and nothing is recorded for this execution."""


class RunSpecInvalid(WorkflowError):
    """The run spec (manifest or execution input) is malformed; ``findings`` say where."""

    def __init__(self, message: str, findings: Sequence[Finding] = ()) -> None:
        super().__init__(message)
        self.findings = list(findings)


class DatasetInvalid(WorkflowError):
    """The datasets fail validation; the report in the artifacts bucket lists every problem."""


class DatasetChanged(WorkflowError):
    """The version of a dataset that was validated can no longer be copied (deleted, or the
    object changed in a bucket that keeps no versions): the run does not train on other bytes."""


class SnapshotConflict(WorkflowError):
    """A run's snapshot key holds an object that is not a copy of the validated version; snapshots
    are never overwritten."""


class SnapshotUnavailable(WorkflowError):
    """S3 failed transiently while copying a snapshot (after the SDK's own retries): retried."""


class ModelNotAvailable(WorkflowError):
    """The base model cannot be customized here: unknown, not allowed, wrong region or legacy."""


class BedrockError(WorkflowError):
    """A Bedrock call failed; ``code`` is Bedrock's error code."""

    def __init__(self, message: str, *, code: str = "", operation: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.operation = operation


class BedrockThrottled(BedrockError):
    """ThrottlingException: retried by the state machine with backoff."""


class BedrockUnavailable(BedrockError):
    """InternalServerException, ServiceUnavailable or a connection failure: retried."""


class BedrockRoleNotReady(BedrockError):
    """Bedrock cannot assume the service role yet (IAM propagation): retried."""


class BedrockQuotaExceeded(BedrockError):
    """Too many customization jobs in progress: the run is QUEUED and retried for hours."""


class BedrockRequestFailed(BedrockError):
    """Any other Bedrock error (access denied, not found, invalid request): not retried."""


class JobRejected(BedrockError):
    """Bedrock refused to create the customization job (its message says why): not retried."""


class JobFailed(WorkflowError):
    """The customization job ended Failed (sent with SendTaskFailure)."""


class JobStopped(WorkflowError):
    """The customization job ended Stopped (sent with SendTaskFailure)."""


class ServingFailed(WorkflowError):
    """The provisioned throughput or deployment ended Failed."""


class ServingTimedOut(WorkflowError):
    """The provisioned throughput or deployment was not ready within MAX_SERVING_POLLS polls."""


class EvaluationIncomplete(WorkflowError):
    """More evaluation records failed than the run tolerates (the report still lists them all)."""
