"""What a sweep found and did: findings, figures, and the notification a person reads.

A sweep notifies only when it has news: something deleted or stopped, a serving newly idle, or
a resource reported for the first time (or again after ``REMIND_AFTER``). Which resources were
reported and when lives in a bookkeeping item of the registry, so an unknown serving does not
send a message every hour; the figures are logged and published as metrics on every sweep.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from aws_lambda_powertools import Logger

from bmc.guardrails.inventory import Resource
from bmc.workflow.cleanup import attempt_step
from bmc.workflow.notifications import MAX_SUBJECT_LENGTH, Message

logger = Logger(child=True)

T = TypeVar("T")

# Rules (docs: README, "Operations: costs and alerts").
ORPHANED_SERVING = "orphaned-serving"
EXPIRED_SERVING = "expired-serving"
IDLE_SERVING = "idle-serving"
RUNNING_JOB = "running-job"
STORED_MODEL = "stored-model"
UNKNOWN = "unknown-resource"
# Actions.
DELETED = "deleted"
STOPPED = "stopped"
REPORTED = "reported"
SKIPPED = "skipped"

REMIND_AFTER = timedelta(hours=24)
STATE_KEY = "#sweeper"

# CloudWatch (namespace BedrockModelCustomization, dimensions service and Deployment): the
# figures as metrics; the alarms of constructs_lib/monitoring/alarms.py read the two serving counts.
METRICS_SERVICE = "sweep"
DEPLOYMENT_DIMENSION = "Deployment"
ORPHANED_METRIC = "OrphanedServings"
IDLE_METRIC = "IdleServings"
RUNS_METRIC = "RunsInStatus"  # dimensions Deployment and Status
METRIC_NAMES = {
    "examined": "SweeperResourcesExamined",
    "deleted": "SweeperResourcesDeleted",
    "stopped": "SweeperJobsStopped",
    "reported": "SweeperResourcesReported",
    "orphanedServings": ORPHANED_METRIC,
    "idleServings": IDLE_METRIC,
    "problems": "SweeperProblems",
}


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    action: str
    resource: Resource
    run_id: str | None
    run_status: str | None
    reason: str
    cost: str
    news: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "action": self.action,
            "kind": self.resource.kind,
            "arn": self.resource.arn,
            "name": self.resource.name,
            "runId": self.run_id,
            "runStatus": self.run_status,
            "reason": self.reason,
            "cost": self.cost,
        }

    def line(self) -> str:
        run = f"run {self.run_id} ({self.run_status})" if self.run_id and self.run_status else "no known run"
        return (
            f"{self.action.upper()}: {self.resource.describe()} [{self.rule}]\n"
            f"    {self.resource.arn}\n    {run}: {self.reason}\n    cost: {self.cost}"
        )


@dataclass(slots=True)
class SweepReport:
    mode: str
    now: datetime
    examined: int = 0
    findings: list[Finding] = field(default_factory=list)
    in_progress: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, finding: Finding) -> None:
        logger.info(
            f"sweeper {finding.action} {finding.resource.kind}",
            extra={"finding": finding.to_dict(), **({"runId": finding.run_id} if finding.run_id else {})},
        )
        self.findings.append(finding)

    def attempt(self, what: str, step: Callable[[], T]) -> T | None:
        """One resource's handling; a failure is a problem and the sweep goes on."""
        return attempt_step(self.problems, what, step)

    def count(self, *, action: str | None = None, rules: tuple[str, ...] = ()) -> int:
        return sum(
            1
            for finding in self.findings
            if (action is None or finding.action == action) and (not rules or finding.rule in rules)
        )

    def figures(self) -> dict[str, int]:
        """The sweep's figures: logged, published as metrics, quoted in the notification."""
        return {
            "examined": self.examined,
            "deleted": self.count(action=DELETED),
            "stopped": self.count(action=STOPPED),
            "reported": self.count(action=REPORTED),
            "skipped": self.count(action=SKIPPED),
            "inProgress": len(self.in_progress),
            "orphanedServings": self.count(rules=(ORPHANED_SERVING, EXPIRED_SERVING))
            + sum(1 for f in self.findings if f.rule == UNKNOWN and f.resource.is_serving),
            "idleServings": self.count(rules=(IDLE_SERVING,)),
            "problems": len(self.problems),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "at": self.now.isoformat(),
            "figures": self.figures(),
            "findings": [finding.to_dict() for finding in self.findings],
            "inProgress": list(self.in_progress),
            "problems": list(self.problems),
        }

    @property
    def news(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.news]


def summary_line(figures: Mapping[str, int]) -> str:
    return (
        f"{figures['examined']} examined, {figures['deleted']} deleted, {figures['stopped']} stopped, "
        f"{figures['reported']} reported, {figures['skipped']} skipped, {figures['problems']} problem(s)"
    )


def compose(report: SweepReport, *, prefix: str, region: str) -> Message | None:
    """The message for a sweep with news; None when there is nothing new to say."""
    news = report.news
    if not news and not report.problems:
        return None
    figures = report.figures()
    acted = figures["deleted"] + figures["stopped"]
    head = f"[{prefix}] Sweeper: {acted} acted on, {len(news) - acted} to review"
    lines = [
        f"Bedrock cost sweeper of deployment {prefix} ({report.mode} mode) at {report.now:%Y-%m-%d %H:%M} UTC",
        "",
        f"Figures: {summary_line(figures)}",
        "",
    ]
    lines += [finding.line() for finding in news]
    if report.problems:
        lines += ["", "Problems (the next sweep retries):", *(f"  {problem}" for problem in report.problems)]
    lines += [
        "",
        "Rules: serving whose run does not own it is deleted; a job of a finished run is stopped; what "
        "cannot be attributed to a run, and custom models of failed or deleted runs, are only reported.",
        f"Consoles: https://{region}.console.aws.amazon.com/bedrock/home?region={region}#/provisioned-throughput",
    ]
    subject = "".join(c if 32 <= ord(c) < 127 else "?" for c in head)[:MAX_SUBJECT_LENGTH]
    return Message(
        subject=subject, body="\n".join(lines) + "\n", attributes={"status": "SWEEP", "source": "sweeper"}
    )


def remembered(state: Mapping[str, Any], arn: str, now: datetime) -> bool:
    """True if ``arn`` was reported less than ``REMIND_AFTER`` ago."""
    last = state.get(arn)
    if not isinstance(last, str):
        return False
    return now - datetime.fromisoformat(last.replace("Z", "+00:00")) < REMIND_AFTER


def next_state(state: Mapping[str, Any], report: SweepReport) -> dict[str, str]:
    """Reported resources and when they were last notified; gone resources are forgotten."""
    present = {finding.resource.arn for finding in report.findings if finding.action == REPORTED}
    kept = {arn: str(at) for arn, at in state.items() if arn in present}
    for finding in report.news:
        if finding.action == REPORTED:
            kept[finding.resource.arn] = report.now.isoformat()
    return kept
