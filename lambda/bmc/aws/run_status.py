"""What a run record means, apart from where it is stored: the statuses and which may follow
which, the one clock every stamp is read from, and the execution a record is bound to
(docs/workflow.md, "Identity of a run")."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

PENDING = "PENDING"
VALIDATING = "VALIDATING"
QUEUED = "QUEUED"
TRAINING = "TRAINING"
TRAINED = "TRAINED"
DEPLOYING = "DEPLOYING"
IN_SERVICE = "IN_SERVICE"
EVALUATING = "EVALUATING"
COMPLETED = "COMPLETED"
REJECTED = "REJECTED"  # the evaluation gate refused the custom model
FAILED = "FAILED"
STOPPED = "STOPPED"
DELETED = "DELETED"

STATUSES = (
    PENDING,
    VALIDATING,
    QUEUED,
    TRAINING,
    TRAINED,
    DEPLOYING,
    IN_SERVICE,
    EVALUATING,
    COMPLETED,
    REJECTED,
    FAILED,
    STOPPED,
    DELETED,
)
TERMINAL_STATUSES = frozenset({COMPLETED, REJECTED, FAILED, STOPPED, DELETED})
ACTIVE_STATUSES = frozenset(STATUSES) - TERMINAL_STATUSES

# The statuses a run may come from, for each status it may go to.
ALLOWED_FROM: Mapping[str, frozenset[str]] = {
    VALIDATING: frozenset({PENDING}),
    QUEUED: frozenset({VALIDATING}),
    TRAINING: frozenset({VALIDATING, QUEUED}),
    TRAINED: frozenset({TRAINING}),
    DEPLOYING: frozenset({TRAINED}),
    IN_SERVICE: frozenset({DEPLOYING, EVALUATING}),
    EVALUATING: frozenset({IN_SERVICE}),
    COMPLETED: frozenset({TRAINED, IN_SERVICE, EVALUATING}),
    REJECTED: frozenset({EVALUATING}),
    FAILED: ACTIVE_STATUSES,
    STOPPED: ACTIVE_STATUSES,
    DELETED: frozenset({TRAINED, IN_SERVICE, COMPLETED, REJECTED, FAILED, STOPPED}),
}


def _system_clock() -> datetime:
    return datetime.now(UTC)


_clock: Callable[[], datetime] = _system_clock


def utc_now() -> datetime:
    """The one clock of the package: every timestamp, TTL and age is read from it."""
    return _clock()


def use_clock(clock: Callable[[], datetime] | None) -> None:
    """Read the time from ``clock`` (None: the system clock again).

    The local cloud points it at its simulated clock, so the registry's timestamps, TTLs and
    the simulated Bedrock's resource times agree, as they do in AWS.
    """
    global _clock  # noqa: PLW0603
    _clock = clock or _system_clock


def timestamp(moment: datetime | None = None) -> str:
    """ISO 8601 UTC with milliseconds: sorts as text, which the byCreatedAt index relies on."""
    value = (moment or utc_now()).astimezone(UTC)
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def execution_start(value: Any) -> str | None:
    """An execution's start time as ``timestamp`` writes it, or None when it cannot be read.

    Step Functions gives it as ISO 8601 (``$$.Execution.StartTime``), epoch milliseconds (the
    execution status event) or a datetime (StartExecution's response); all have milliseconds.
    """
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=value)
        except (OverflowError, ValueError):
            return None
    elif isinstance(value, str) and len(value) <= 40:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment is None:
        return None
    return timestamp(moment.replace(microsecond=moment.microsecond // 1000 * 1000))


def belongs_to(record: Mapping[str, Any], execution_arn: str, started_at: str | None) -> bool:
    """Whether the record is this execution's: same execution ARN and, once bound, same start time.

    A run id can name a second execution (Step Functions frees names 90 days after an
    execution closes, and for a replaced state machine), whose ARN is the same string: only
    the start time tells them apart. A record not bound yet belongs to an execution of the
    same ARN only while it is still active (docs/workflow.md, "Identity of a run").
    """
    if not execution_arn or record.get("executionArn") != execution_arn:
        return False
    bound = record.get("executionStartedAt")
    if bound is not None:
        return started_at is not None and bound == started_at
    return record.get("status") in ACTIVE_STATUSES
