"""The sweeper's rules: reconcile what Bedrock bills for the deployment with the registry.

For each resource tagged for the deployment (``inventory``), read after the listing:

- **Serving** (throughput or deployment). Its run *owns* it when the run's ``serving`` record
  names it (ARN, or name before the ARN is recorded), is not marked deleted, is not a temporary
  serving (created for the run's evaluation only), and the run is IN_SERVICE, COMPLETED (a
  throughput added through the API) or REJECTED (the evaluation gate refused the model and
  ``onFail: keep`` kept its serving). An owned serving past its ``expiresAt`` (plus
  ``TTL_GRACE``) is expired here: the TTL schedule's second line. A serving of a run still in
  progress (a temporary one included) is left alone while its execution runs. Anything else
  whose run is known (failed, stopped, deleted, completed after its TTL, a DELETE that raced a
  PUT, a temporary serving whose evaluation ended, an execution that died) is an orphan:
  deleted, and the deletion recorded on the run.
- **Job** still running: fine while its run trains and its execution runs; otherwise stopped.
- **Custom model** of a failed, stopped, deleted or rejected run: its monthly storage is
  reported; the sweeper never deletes a model (only DELETE /custom-models/{id} does, which the
  registry records).
- **Unknown** (no run id tag, a run the registry does not know, or a run whose record does not
  name the resource): reported, never touched. A tag alone never makes a resource a run's.
- **Idle** (owned, ready, older than ``idleHours``, no ``AWS/Bedrock`` invocations in that
  window): reported once with its hourly cost, or deleted with ``serving.idleAction: delete``.

Every action is claimed first with a conditional registry write (``claim_if_unchanged``): if
the run's status or serving record changed since the sweeper read it (the workflow or the API
acted meanwhile), the action is skipped and the next sweep decides on fresh data. In ``report`` mode nothing is deleted, stopped or changed on
a run. One resource's failure is recorded as a problem and the sweep goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from aws_lambda_powertools import Logger

from bmc import settings
from bmc.aws.bedrock_ops import ON_DEMAND, PROVISIONED, SERVING_READY, BedrockOps
from bmc.aws.registry import (
    ACTIVE_STATUSES,
    COMPLETED,
    DELETED,
    FAILED,
    IN_SERVICE,
    QUEUED,
    REJECTED,
    STOPPED,
    TRAINING,
    VALIDATING,
    Registry,
    timestamp,
)
from bmc.catalog.estimate import PriceTable, default_prices, serving_cost
from bmc.guardrails import report as rpt
from bmc.guardrails.idle import InvocationCounter
from bmc.guardrails.inventory import CUSTOM_MODEL, JOB, Inventory, Resource, take_inventory
from bmc.workflow import serving as workflow_serving

logger = Logger(child=True)

# A TTL schedule fires within a minute of its time; the sweeper steps in only well after.
TTL_GRACE = timedelta(minutes=30)
SERVING_DELETED = "Deleted"
# Statuses in which a run's job may legitimately train.
TRAINING_STATUSES = frozenset({VALIDATING, QUEUED, TRAINING})
ENDED_BADLY = frozenset({FAILED, STOPPED, DELETED})
# Statuses in which a run may own its serving.
SERVED = frozenset({IN_SERVICE, COMPLETED, REJECTED})
# Runs whose custom model's storage is worth a report: nothing uses the model any more.
UNUSED_MODEL = ENDED_BADLY | {REJECTED}
ORPHANED_ERROR = "OrphanedBySweeper"

ExecutionProbe = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class SweepSettings:
    prefix: str
    mode: str  # delete | report
    idle_hours: int
    default_idle_action: str
    now: datetime

    @classmethod
    def from_environment(cls, now: datetime) -> SweepSettings:
        return cls(
            prefix=settings.prefix(),
            mode=settings.sweeper_mode(),
            idle_hours=settings.idle_hours(),
            default_idle_action=settings.default_idle_action(),
            now=now,
        )

    @property
    def deletes(self) -> bool:
        return self.mode == "delete"


@dataclass(slots=True)
class Sweeper:
    settings: SweepSettings
    registry: Registry
    bedrock: BedrockOps
    execution_running: ExecutionProbe
    invocations: InvocationCounter | None
    reported_before: Mapping[str, Any] = field(default_factory=dict)
    prices: PriceTable = field(default_factory=default_prices)

    def run(self) -> rpt.SweepReport:
        report = rpt.SweepReport(mode=self.settings.mode, now=self.settings.now)
        # List first, read the registry after: a serving seen here was claimed before this read.
        inventory: Inventory = take_inventory(self.bedrock, self.settings.prefix)
        report.problems += inventory.problems
        report.examined = len(inventory.resources)
        owned: list[tuple[Resource, dict[str, Any]]] = []
        for resource in inventory.resources:
            report.attempt(f"{resource.kind} {resource.arn}", partial(self._sweep, resource, report, owned))
        if owned:
            report.attempt("the idle guard", lambda: self._idle_guard(owned, report))
        return report

    # --- one resource ---------------------------------------------------------------------------

    def _sweep(
        self, resource: Resource, report: rpt.SweepReport, owned: list[tuple[Resource, dict[str, Any]]]
    ) -> None:
        record = self.registry.get(resource.run_id) if resource.run_id else None
        if record is None:
            why = (
                f"tagged for this deployment, but run {resource.run_id} is not in the registry"
                if resource.run_id
                else "tagged for this deployment without a bmc:runId tag"
            )
            self._report(report, rpt.UNKNOWN, resource, record=None, why=why)
            return
        if not _recorded_by(record, resource):
            why = f"tagged for run {resource.run_id}, but that run's record does not name this resource"
            self._report(report, rpt.UNKNOWN, resource, record=None, why=why)
            return
        if resource.is_serving:
            self._serving(resource, record, report, owned)
        elif resource.kind == JOB:
            self._job(resource, record, report)
        elif resource.kind == CUSTOM_MODEL:
            self._custom_model(resource, record, report)

    def _serving(
        self,
        resource: Resource,
        record: dict[str, Any],
        report: rpt.SweepReport,
        owned: list[tuple[Resource, dict[str, Any]]],
    ) -> None:
        status = str(record.get("status"))
        recorded = record.get("serving") or {}
        named = _names_resource(recorded, resource)
        # A temporary serving (the evaluation's) belongs to the execution, never to the run.
        temporary = named and bool(recorded.get("temporary")) and recorded.get("status") != SERVING_DELETED
        if status not in ENDED_BADLY and (status not in SERVED or temporary):
            if self._execution_alive(record):
                report.in_progress.append(resource.arn)  # the workflow is creating or following it
                return
            if temporary:
                why = f"it served only the evaluation of its run ({status}), whose execution has ended"
            else:
                why = f"its run is {status} but its execution has ended"
            self._orphan(resource, record, report, why, fail_run=status in ACTIVE_STATUSES)
            return
        if status in SERVED and named and recorded.get("status") != SERVING_DELETED:
            expires = recorded.get("expiresAt")
            if expires and self.settings.now > _parse(str(expires)) + TTL_GRACE:
                self._expire(resource, record, report, f"its ttlHours ended at {expires} and it still exists")
                return
            owned.append((resource, record))
            return
        if status in ENDED_BADLY:
            why = f"its run is {status}"
        elif named:
            why = "its run's registry record says this serving was deleted"
        else:
            why = f"its run is {status} but records {_recorded(recorded)}, not this resource"
        self._orphan(resource, record, report, why)

    def _job(self, resource: Resource, record: dict[str, Any], report: rpt.SweepReport) -> None:
        status = str(record.get("status"))
        if status in TRAINING_STATUSES:
            if self._execution_alive(record):
                report.in_progress.append(resource.arn)
                return
            why, fail_run = f"its run is {status} but its execution has ended", True
        else:
            why, fail_run = f"its run is {status}: the job no longer serves it", False
        cost = "training bills per token processed until the job stops"
        if not self.settings.deletes:
            self._report(report, rpt.RUNNING_JOB, resource, record=record, why=why, cost=cost)
            return
        if not self._claim(
            resource, record, report=report, rule=rpt.RUNNING_JOB, why=why, cost=cost, action="stop"
        ):
            return
        self.bedrock.stop_job(resource.arn)
        self._record(resource, record, "stopped", why, fail_run=fail_run)
        report.add(rpt.Finding(rpt.RUNNING_JOB, rpt.STOPPED, resource, _run_id(record), status, why, cost))

    def _custom_model(self, resource: Resource, record: dict[str, Any], report: rpt.SweepReport) -> None:
        status = str(record.get("status"))
        if status not in UNUSED_MODEL:
            return
        self._report(
            report,
            rpt.STORED_MODEL,
            resource,
            record=record,
            why=f"custom model of a {status} run: delete it (DELETE /custom-models/{{id}} or the Bedrock "
            "console) when no longer needed",
        )

    # --- acting on a serving --------------------------------------------------------------------

    def _orphan(
        self,
        resource: Resource,
        record: dict[str, Any],
        report: rpt.SweepReport,
        why: str,
        *,
        fail_run: bool = False,
    ) -> None:
        cost = self._serving_cost(resource, record)
        committed_until = _commitment_end(resource, self.settings.now)
        if committed_until:
            why += f"; committed until {committed_until}, so it cannot be deleted before"
        if not self.settings.deletes or committed_until:
            self._report(report, rpt.ORPHANED_SERVING, resource, record=record, why=why, cost=cost)
            return
        if not self._claim(
            resource, record, report=report, rule=rpt.ORPHANED_SERVING, why=why, cost=cost, action="delete"
        ):
            return
        self.bedrock.delete_serving(resource.kind, resource.arn)
        self._record(resource, record, "deleted", why, fail_run=fail_run)
        report.add(
            rpt.Finding(
                rpt.ORPHANED_SERVING,
                rpt.DELETED,
                resource,
                _run_id(record),
                str(record.get("status")),
                why,
                cost,
            )
        )

    def _expire(
        self,
        resource: Resource,
        record: dict[str, Any],
        report: rpt.SweepReport,
        why: str,
        *,
        rule: str = rpt.EXPIRED_SERVING,
    ) -> None:
        cost = self._serving_cost(resource, record)
        if not self.settings.deletes:
            self._report(report, rule, resource, record=record, why=why, cost=cost)
            return
        if not self._claim(resource, record, report=report, rule=rule, why=why, cost=cost, action="delete"):
            return
        run_id = _run_id(record)
        workflow_serving.expire(run_id, registry=self.registry, bedrock=self.bedrock, reason=why)
        self.registry.record_sweep(run_id, self._entry(resource, "deleted", why))
        report.add(rpt.Finding(rule, rpt.DELETED, resource, run_id, str(record.get("status")), why, cost))

    def _idle_guard(self, owned: list[tuple[Resource, dict[str, Any]]], report: rpt.SweepReport) -> None:
        window = timedelta(hours=self.settings.idle_hours)
        candidates = [
            (resource, record)
            for resource, record in owned
            if resource.status == SERVING_READY.get(resource.kind)
            and resource.created is not None
            and self.settings.now - resource.created >= window
        ]
        if not candidates or self.invocations is None:
            return
        counts = self.invocations.counts([(resource.arn, resource.resource_id) for resource, _ in candidates])
        for resource, record in candidates:
            report.attempt(
                f"idle check of {resource.arn}",
                partial(self._idle, resource, record, counts[resource.arn], report),
            )

    def _idle(
        self, resource: Resource, record: dict[str, Any], calls: float, report: rpt.SweepReport
    ) -> None:
        run_id = _run_id(record)
        recorded = record.get("serving") or {}
        if calls > 0:
            if recorded.get("idleNotifiedAt"):
                self.registry.clear_idle_notified(run_id, resource.arn)
            return
        why = f"no invocations in the last {self.settings.idle_hours} hour(s)"
        if self._idle_action(record) == "delete" and not _commitment_end(resource, self.settings.now):
            self._expire(resource, record, report, f"{why}: deleted by the idle guard", rule=rpt.IDLE_SERVING)
            return
        newly = self.registry.mark_idle_notified(run_id, resource.arn, timestamp(self.settings.now))
        cost = self._serving_cost(resource, record)
        report.add(
            rpt.Finding(
                rpt.IDLE_SERVING,
                rpt.REPORTED,
                resource,
                run_id,
                str(record.get("status")),
                why,
                cost,
                news=newly,
            )
        )

    def _idle_action(self, record: Mapping[str, Any]) -> str:
        """The run spec's ``idleAction`` when the workflow served it; the deployment's default for
        a throughput added through the API (whose spec serves nothing)."""
        spec_serving = (record.get("spec") or {}).get("serving") or {}
        if spec_serving.get("mode", "none") != "none":
            return str(spec_serving.get("idleAction") or "notify")
        return self.settings.default_idle_action

    # --- helpers ----------------------------------------------------------------------------------

    def _claim(
        self,
        resource: Resource,
        record: dict[str, Any],
        *,
        report: rpt.SweepReport,
        rule: str,
        why: str,
        cost: str,
        action: str,
    ) -> bool:
        claimed = self.registry.claim_if_unchanged(
            _run_id(record), record, self._entry(resource, action, why)
        )
        if not claimed:
            changed = f"{why}; the run changed during the sweep, so the next sweep decides"
            report.add(
                rpt.Finding(
                    rule,
                    rpt.SKIPPED,
                    resource,
                    _run_id(record),
                    str(record.get("status")),
                    changed,
                    cost,
                    news=False,
                )
            )
        return claimed

    def _record(
        self, resource: Resource, record: dict[str, Any], action: str, why: str, *, fail_run: bool
    ) -> None:
        run_id = _run_id(record)
        fields: dict[str, Any] = {}
        if resource.is_serving and _names_resource(record.get("serving") or {}, resource):
            fields = {
                "serving.status": SERVING_DELETED,
                "serving.deletedAt": timestamp(self.settings.now),
                "serving.deletedReason": f"sweeper: {why}",
            }
        self.registry.record_sweep(run_id, self._entry(resource, action, why), fields)
        if fail_run:
            cause = f"the sweeper found {resource.describe()} while {why}"
            self.registry.transition(
                run_id,
                FAILED,
                detail=cause[:500],
                fields_if_absent={"error": {"error": ORPHANED_ERROR, "cause": cause}},
                remove=("taskToken", "awaiting"),
            )

    def _entry(self, resource: Resource, action: str, why: str) -> dict[str, Any]:
        return {
            "at": timestamp(self.settings.now),
            "action": action,
            "kind": resource.kind,
            "arn": resource.arn,
            "reason": why,
            "mode": self.settings.mode,
        }

    def _report(
        self,
        report: rpt.SweepReport,
        rule: str,
        resource: Resource,
        *,
        record: Mapping[str, Any] | None,
        why: str,
        cost: str | None = None,
    ) -> None:
        report.add(
            rpt.Finding(
                rule,
                rpt.REPORTED,
                resource,
                _run_id(record) if record else resource.run_id,
                str(record.get("status")) if record else None,
                why,
                cost if cost is not None else self._serving_cost(resource, record),
                news=not rpt.remembered(self.reported_before, resource.arn, self.settings.now),
            )
        )

    def _serving_cost(self, resource: Resource, record: Mapping[str, Any] | None) -> str:
        if not resource.is_serving:
            if resource.kind == CUSTOM_MODEL:
                return f"{self.prices.storage_per_custom_model_month:,.2f} {self.prices.currency} per month to store"
            return "billed while it runs"
        details = resource.details
        base_model = ((record or {}).get("spec") or {}).get("baseModel") or details.get("foundationModelArn")
        return serving_cost(
            base_model,
            mode=PROVISIONED if resource.kind == PROVISIONED else ON_DEMAND,
            model_units=int(details.get("modelUnits") or 1),
            commitment=str(details.get("commitmentDuration") or "none"),
            prices=self.prices,
        ).describe()

    def _execution_alive(self, record: Mapping[str, Any]) -> bool:
        arn = record.get("executionArn")
        return bool(arn) and self.execution_running(str(arn))


def _run_id(record: Mapping[str, Any]) -> str:
    return str(record["runId"])


def _names_resource(recorded: Mapping[str, Any], resource: Resource) -> bool:
    """Whether a run's ``serving`` record is this resource: by ARN, or by name until the ARN is known."""
    if not recorded or recorded.get("kind") not in (None, resource.kind):
        return False
    if recorded.get("arn"):
        return bool(recorded["arn"] == resource.arn)
    return bool(recorded.get("name") == resource.name)


def _recorded_by(record: Mapping[str, Any], resource: Resource) -> bool:
    """Whether the run's record names the resource (its ARN, or the name the run gives it):
    a tag alone, which anyone allowed to tag could set, never makes a resource a run's."""
    names = record.get("names") or {}
    if resource.is_serving:
        serving = record.get("serving") or {}
        return resource.arn == serving.get("arn") or resource.name in (
            names.get("provisionedModelName"),
            names.get("deploymentName"),
        )
    if resource.kind == JOB:
        return resource.arn == record.get("jobArn") or resource.name == names.get("jobName")
    return resource.arn == record.get("customModelArn") or resource.name == names.get("customModelName")


def _recorded(recorded: Mapping[str, Any]) -> str:
    if not recorded:
        return "no serving"
    return f"{recorded.get('kind')} serving {recorded.get('arn') or recorded.get('name')} ({recorded.get('status')})"


def _parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


def _commitment_end(resource: Resource, now: datetime) -> str | None:
    """When a committed throughput's term ends, if it has not yet (it cannot be deleted before)."""
    end = resource.details.get("commitmentExpirationTime")
    if isinstance(end, datetime) and end > now:
        return end.isoformat()
    return None


def execution_probe(states_client: Any) -> ExecutionProbe:
    """Whether an execution still runs; an execution Step Functions does not know has ended."""

    def running(execution_arn: str) -> bool:
        try:
            status = states_client.describe_execution(executionArn=execution_arn)["status"]
        except states_client.exceptions.ExecutionDoesNotExist:
            return False
        return bool(status == "RUNNING")

    return running
