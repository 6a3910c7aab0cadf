"""Serving a custom model: provisioned throughput or an on-demand deployment, and its expiry.

Neither emits events, so the state machine polls (``check``) with a bound on the number of
polls. The registry is the source of truth for what a run created: the resource's name is
recorded before it is created, so the cleanup path can delete it by name even if this
function dies between the create call and recording the ARN. With ``ttlHours`` a one-time
EventBridge Scheduler schedule invokes expire_serving, which deletes the resource.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from bmc import settings
from bmc.aws import clients
from bmc.aws.bedrock_ops import (
    ON_DEMAND,
    PROVISIONED,
    SERVING_FAILED,
    SERVING_READY,
    BedrockOps,
    resource_tags,
)
from bmc.aws.registry import COMPLETED, DEPLOYING, IN_SERVICE, TERMINAL_STATUSES, Registry, timestamp, utc_now
from bmc.errors import InvalidTaskInput, ServingFailed, ServingTimedOut
from bmc.runspec import RunNames, RunSpec

logger = Logger(child=True)

CREATING = "Creating"
DELETED = "Deleted"
# Scheduler retries a failed invocation for up to a day before dead-lettering its event.
EXPIRY_RETRY_ATTEMPTS = 185
EXPIRY_EVENT_AGE = 24 * 3600


@dataclass(frozen=True, slots=True)
class ScheduleSettings:
    """Where serve creates TTL schedules (its environment)."""

    group: str
    role_arn: str
    target_arn: str
    dead_letter_arn: str | None = None

    @classmethod
    def from_environment(cls) -> ScheduleSettings:
        return cls(
            settings.schedule_group(),
            settings.scheduler_role_arn(),
            settings.expiry_function_arn(),
            settings.expiry_dead_letter_arn(),
        )

    def target(self, run_id: str) -> dict[str, Any]:
        """The schedule's target: the expiry function, retried, and dead-lettered when it cannot be invoked."""
        target: dict[str, Any] = {
            "Arn": self.target_arn,
            "RoleArn": self.role_arn,
            "Input": json.dumps({"runId": run_id}),
            "RetryPolicy": {
                "MaximumRetryAttempts": EXPIRY_RETRY_ATTEMPTS,
                "MaximumEventAgeInSeconds": EXPIRY_EVENT_AGE,
            },
        }
        if self.dead_letter_arn:
            target["DeadLetterConfig"] = {"Arn": self.dead_letter_arn}
        return target


@dataclass(frozen=True, slots=True)
class ServingPlan:
    """What StartServing creates: the run's serving, or a temporary one for its evaluation."""

    kind: str
    model_units: int = 1
    commitment: str = "none"
    temporary: bool = False  # created for the evaluation only, deleted when it ends


def serving_plan(spec: RunSpec) -> ServingPlan:
    """The run's serving; with mode none and an evaluation, the cheapest serving the catalog
    allows for the model (``Model.evaluation_serving``), marked temporary."""
    if spec.serving.mode == "provisioned":
        return ServingPlan(PROVISIONED, spec.serving.model_units, spec.serving.commitment)
    if spec.serving.mode == "on-demand":
        return ServingPlan(ON_DEMAND)
    if spec.evaluation is not None:
        cheapest = spec.model.evaluation_serving
        if cheapest.mode == ON_DEMAND:
            return ServingPlan(ON_DEMAND, temporary=True)
        return ServingPlan(PROVISIONED, cheapest.model_units or 1, temporary=True)
    raise InvalidTaskInput(
        "serve was invoked for a run whose serving mode is none and that has no evaluation"
    )


def serving_kind(spec: RunSpec) -> str:
    return serving_plan(spec).kind


def resource_name(kind: str, names: RunNames) -> str:
    return names.provisioned_model_name if kind == PROVISIONED else names.deployment_name


def _state(kind: str, arn: str, status: str, *, ready: bool, polls: int) -> dict[str, Any]:
    return {"kind": kind, "arn": arn, "status": status, "ready": ready, "polls": polls}


def start(
    run_id: str,
    spec: RunSpec,
    names: RunNames,
    custom_model_arn: str,
    *,
    registry: Registry,
    bedrock: BedrockOps,
    prefix: str,
) -> dict[str, Any]:
    """Create the throughput or deployment; the run becomes DEPLOYING."""
    plan = serving_plan(spec)
    kind = plan.kind
    name = resource_name(kind, names)
    recorded = registry.require(run_id).get("serving") or {}
    if recorded.get("kind") == kind and recorded.get("arn"):
        # A retried StartServing: the resource exists and the registry knows it.
        return _state(
            kind, str(recorded["arn"]), str(recorded.get("status") or CREATING), ready=False, polls=0
        )
    recorded_serving: dict[str, Any] = {"kind": kind, "name": name, "arn": None, "status": CREATING}
    if plan.temporary:
        recorded_serving["temporary"] = True
    registry.transition(
        run_id,
        DEPLOYING,
        detail=f"creating {kind} serving {name}" + (" for the evaluation only" if plan.temporary else ""),
        fields={"serving": recorded_serving},
    )
    tags = resource_tags(spec, run_id, prefix)
    if kind == PROVISIONED:
        arn = bedrock.create_throughput(
            name=name,
            model_arn=custom_model_arn,
            model_units=plan.model_units,
            commitment=plan.commitment,
            tags=tags,
            token=name,
        )
    else:
        arn = bedrock.create_deployment(name=name, model_arn=custom_model_arn, tags=tags, token=name)
    registry.update(run_id, fields={"serving.arn": arn})
    return _state(kind, arn, CREATING, ready=False, polls=0)


def check(
    run_id: str,
    spec: RunSpec,
    names: RunNames,
    serving_state: Mapping[str, Any],
    *,
    registry: Registry,
    bedrock: BedrockOps,
    schedules: ScheduleSettings,
    max_polls: int,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Poll once; when ready, schedule the expiry (ttlHours) and mark the run IN_SERVICE."""
    kind = str(serving_state.get("kind") or serving_kind(spec))
    arn = serving_state.get("arn")
    if not arn:
        raise InvalidTaskInput("CheckServing needs $.serving.arn from StartServing")
    polls = int(serving_state.get("polls") or 0) + 1
    status, failure = bedrock.serving_status(kind, str(arn))
    if status == SERVING_READY[kind]:
        fields: dict[str, Any] = {"serving.status": status}
        result = _state(kind, str(arn), status, ready=True, polls=polls)
        if spec.serving.ttl_hours is not None:
            recorded = registry.require(run_id).get("serving") or {}
            expires_at = recorded.get("expiresAt") or timestamp(
                (now or utc_now()) + timedelta(hours=spec.serving.ttl_hours)
            )
            create_expiry_schedule(run_id, names.schedule_name, str(expires_at), schedules)
            fields.update({"serving.expiresAt": expires_at, "serving.scheduleName": names.schedule_name})
            result["expiresAt"] = expires_at
        registry.transition(run_id, IN_SERVICE, detail=f"{kind} serving {status}", fields=fields)
        return result
    if status == SERVING_FAILED:
        registry.update(run_id, fields={"serving.status": status})
        raise ServingFailed(f"{kind} serving {arn} failed: {failure or 'no reason given'}")
    if polls > max_polls:
        raise ServingTimedOut(f"{kind} serving {arn} still {status} after {polls} polls")
    registry.update(run_id, fields={"serving.status": status})
    return _state(kind, str(arn), status, ready=False, polls=polls)


def schedule_expression(expires_at: str) -> str:
    """``at(yyyy-mm-ddThh:mm:ss)`` in UTC for an ISO timestamp."""
    moment = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
    return f"at({moment:%Y-%m-%dT%H:%M:%S})"


def create_expiry_schedule(run_id: str, name: str, expires_at: str, schedules: ScheduleSettings) -> None:
    """A one-time schedule that invokes expire_serving with ``{"runId": ...}``; idempotent."""
    try:
        clients.client("scheduler").create_schedule(
            Name=name,
            GroupName=schedules.group,
            ScheduleExpression=schedule_expression(expires_at),
            ScheduleExpressionTimezone="UTC",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target=schedules.target(run_id),
            ActionAfterCompletion="DELETE",
            ClientToken=name,
            Description=f"Deletes the serving of run {run_id} at {expires_at}",
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConflictException":
            raise
        logger.info("expiry schedule exists already", extra={"runId": run_id, "schedule": name})


def delete_expiry_schedule(name: str, group: str) -> bool:
    """Delete a TTL schedule; False when it does not exist (never created, or already run)."""
    try:
        clients.client("scheduler").delete_schedule(Name=name, GroupName=group)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return False
        raise
    return True


def delete_recorded_serving(serving: Mapping[str, Any], bedrock: BedrockOps) -> bool:
    """Delete the throughput or deployment a registry ``serving`` record names (ARN, else name)."""
    identifier = serving.get("arn") or serving.get("name")
    if not identifier:
        return False
    return bedrock.delete_serving(str(serving.get("kind")), str(identifier))


TTL_ENDED = "serving deleted at the end of its ttlHours"


def expire(
    run_id: str, *, registry: Registry, bedrock: BedrockOps, reason: str = TTL_ENDED
) -> dict[str, Any]:
    """Delete the run's serving (its TTL ended, or ``reason``); the run becomes COMPLETED."""
    run = registry.require(run_id)
    serving = run.get("serving") or {}
    if not serving:
        logger.warning("the run serves nothing", extra={"runId": run_id})
        return {"runId": run_id, "deleted": False, "status": run.get("status")}
    deleted = delete_recorded_serving(serving, bedrock)
    fields = {
        "serving.status": DELETED,
        "serving.deletedAt": serving.get("deletedAt") or timestamp(),
        "serving.deletedReason": serving.get("deletedReason") or reason,
    }
    status = str(run.get("status"))
    if status in TERMINAL_STATUSES:
        registry.update(run_id, fields=fields)  # FAILED, STOPPED or already COMPLETED: keep it
    else:
        registry.transition(run_id, COMPLETED, detail=reason, fields=fields)
        status = COMPLETED
    return {"runId": run_id, "deleted": deleted, "status": status}
