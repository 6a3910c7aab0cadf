"""Run notifications: a readable SNS message for the outcome of a run.

Subscribers are people (email) as much as programs: the message is plain text with the run's
facts and console links, and the message attributes ``status`` and ``runId`` let
subscriptions filter (for example failures only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aws_lambda_powertools import Logger

from bmc.aws.registry import COMPLETED, FAILED, REJECTED, STOPPED, TRAINED, Registry, belongs_to
from bmc.catalog.estimate import serving_cost
from bmc.evaluation.report import comparison_table

logger = Logger(child=True)

MAX_SUBJECT_LENGTH = 100
SUCCEEDED = "SUCCEEDED"
GATE_FAILED_ERROR = "EvaluationGateFailed"


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    body: str
    attributes: dict[str, str]


def console_links(
    region: str, *, execution_arn: str | None, serving_kind: str | None, report_uri: str | None = None
) -> list[tuple[str, str]]:
    """(label, URL) of the consoles where the run can be inspected."""
    base = f"https://{region}.console.aws.amazon.com"
    links = []
    if report_uri and report_uri.startswith("s3://"):
        # The bucket is private: the console opens the report with the reader's own access.
        bucket, _, key = report_uri.removeprefix("s3://").partition("/")
        links.append(
            (
                "Run report (HTML)",
                f"{base}/s3/object/{bucket}?region={region}&bucketType=general&prefix={quote(key, safe='/')}",
            )
        )
    if execution_arn:
        links.append(
            (
                "Step Functions execution",
                f"{base}/states/home?region={region}#/v2/executions/details/{execution_arn}",
            )
        )
    links.append(("Bedrock custom models and jobs", f"{base}/bedrock/home?region={region}#/custom-models"))
    if serving_kind == "provisioned":
        links.append(
            ("Bedrock provisioned throughput", f"{base}/bedrock/home?region={region}#/provisioned-throughput")
        )
    elif serving_kind == "on-demand":
        links.append(
            (
                "Bedrock custom model deployments",
                f"{base}/bedrock/home?region={region}#/custom-model-deployments",
            )
        )
    return links


def subject_line(prefix: str, run_id: str, status: str, error: str | None) -> str:
    """At most 100 printable ASCII characters, as SNS requires; the run id is cut if needed."""
    if error is None:
        head = f"[{prefix}] Run succeeded ({status}): "
    else:
        head = f"[{prefix}] Run {status.lower()} ({error}): "
    room = MAX_SUBJECT_LENGTH - len(head)
    shown = run_id if len(run_id) <= room else run_id[: max(room - 3, 0)] + "..."
    subject = f"{head}{shown}"
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in subject)[:MAX_SUBJECT_LENGTH]


def _loss(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.4f}"


def metrics_lines(summary: Mapping[str, Any]) -> list[str]:
    lines = [
        f"  training loss: final {_loss(summary.get('finalTrainingLoss'))}, "
        f"min {_loss(summary.get('minTrainingLoss'))}",
    ]
    if summary.get("finalValidationLoss") is not None:
        lines.append(
            f"  validation loss: final {_loss(summary.get('finalValidationLoss'))}, "
            f"min {_loss(summary.get('minValidationLoss'))}"
        )
    lines.append(f"  {summary.get('epochs', 0)} epoch(s), {summary.get('steps', 0)} step(s)")
    lines.extend(f"  note: {note}" for note in summary.get("notes", []))
    return lines


def evaluation_lines(evaluation: Any) -> list[str]:
    """The evaluation's headline: base vs custom per metric with intervals, and the gate."""
    if not isinstance(evaluation, Mapping) or not isinstance(evaluation.get("summary"), Mapping):
        return []
    gate = evaluation.get("gate")
    table = comparison_table(evaluation["summary"], gate if isinstance(gate, Mapping) else None)
    return ["", "Evaluation (custom model vs its base):", *(f"  {line}" if line else "" for line in table)]


def lineage_lines(lineage: Mapping[str, Any]) -> list[str]:
    """Which bytes and which base trained the model: one line per dataset, then the parent."""
    from bmc.lineage.datasets import recorded_datasets, snapshot_taken  # the notify function imports little

    lines = []
    for role, index, entry in recorded_datasets(lineage):
        name = f"{role} {index + 1}" if role == "validation" else role
        version = entry.get("versionId") or "unversioned"
        digest = entry.get("sha256") or "no digest"
        lines.append(f"  {name}: {entry.get('uri')} (version {version}, sha256 {digest})")
        if snapshot_taken(entry):
            lines.append(f"    trained from {entry.get('snapshotUri')}")
        if entry.get("changedAfterValidation"):
            lines.append(
                f"    the source changed after validation (now {entry.get('currentVersionId') or 'deleted'}): "
                "the validated version was trained"
            )
    if lineage.get("parentRunId"):
        lines.append(f"  built on run {lineage['parentRunId']} ({lineage.get('parentModelArn')})")
    if lineage.get("rootFoundationModel"):
        lines.append(f"  foundation model: {lineage['rootFoundationModel']}")
    return lines


def serving_cost_line(spec: Mapping[str, Any], serving: Mapping[str, Any]) -> str:
    """What the run's serving bills per hour and, with ttlHours or a commitment, in total."""
    asked = spec.get("serving") or {}
    return serving_cost(
        spec.get("baseModel"),
        mode=str(serving.get("kind") or asked.get("mode")),
        model_units=int(serving.get("modelUnits") or asked.get("modelUnits") or 1),
        commitment=str(asked.get("commitment") or "none"),
        ttl_hours=asked.get("ttlHours"),
    ).describe()


def result_lines(run: Mapping[str, Any]) -> list[str]:
    """What the run produced: its metrics, its lineage and its evaluation, each when it has one."""
    lines: list[str] = []
    summary = run.get("metricsSummary")
    if isinstance(summary, Mapping):
        lines += ["", "Metrics:", *metrics_lines(summary)]
    lineage = run.get("lineage")
    if isinstance(lineage, Mapping):
        described = lineage_lines(lineage)
        if described:
            lines += ["", "Lineage:", *described]
    return lines + evaluation_lines(run.get("evaluation"))


def compose(
    *,
    prefix: str,
    region: str,
    run_id: str,
    status: str,
    run: Mapping[str, Any] | None,
    execution_arn: str | None,
    error: Mapping[str, str] | None = None,
    cleanup: Mapping[str, Any] | None = None,
) -> Message:
    """The message for a run's outcome; ``error`` (``{error, cause}``) makes it a failure."""
    run = run or {}
    spec = run.get("spec") or {}
    serving = run.get("serving") or {}
    reports = run.get("reports") or {}
    outcome = SUCCEEDED if error is None else status
    lines = [f"Bedrock model customization run {run_id}: {outcome}", ""]

    def fact(label: str, value: Any) -> None:
        if value not in (None, "", [], {}):
            lines.append(f"{label + ':':<16}{value}")

    fact("Run", run_id)
    fact("Status", status)
    fact("Base model", spec.get("baseModel"))
    fact("Customization", spec.get("customizationType"))
    fact("Training data", spec.get("trainingData"))
    fact("Job", run.get("jobArn"))
    fact("Custom model", run.get("customModelArn"))
    if serving:
        state = serving.get("status") or "unknown"
        fact("Serving", f"{serving.get('kind')} {serving.get('arn') or serving.get('name')} ({state})")
        if serving.get("status") != "Deleted":
            fact("Serving cost", serving_cost_line(spec, serving))
        fact("Expires at", serving.get("expiresAt"))
        fact("Deleted at", serving.get("deletedAt"))
    if error is not None:
        lines.append("")
        fact("Error", error.get("error"))
        fact("Cause", error.get("cause"))
    warnings = [w for w in run.get("warnings") or [] if isinstance(w, Mapping)]
    if warnings:
        lines += ["", "Warnings:", *(f"  {w.get('code')}: {w.get('message')}" for w in warnings)]
    lines += result_lines(run)
    if cleanup:
        lines += ["", "Cleanup:"]
        lines += [f"  done: {action}" for action in cleanup.get("actions", [])]
        lines += [f"  PROBLEM: {problem}" for problem in cleanup.get("problems", [])]
    report_lines = [f"  {name}: {uri}" for name, uri in sorted(reports.items()) if uri]
    if run.get("reportProblem"):
        report_lines.append(f"  report: not written ({run['reportProblem']})")
    if report_lines:
        lines += ["", "Reports:", *report_lines]
    links = console_links(
        region,
        execution_arn=execution_arn,
        serving_kind=serving.get("kind"),
        report_uri=reports.get("report"),
    )
    lines += ["", "Consoles:", *(f"  {label}: {url}" for label, url in links)]
    return Message(
        subject=subject_line(prefix, run_id, status, None if error is None else error.get("error")),
        body="\n".join(lines) + "\n",
        attributes={"status": status, "runId": run_id},
    )


def publish(message: Message, *, topic_arn: str, sns_client: Any) -> str:
    response = sns_client.publish(
        TopicArn=topic_arn,
        Subject=message.subject,
        Message=message.body,
        MessageAttributes={
            name: {"DataType": "String", "StringValue": value} for name, value in message.attributes.items()
        },
    )
    return str(response["MessageId"])


def complete_unserved_run(run_id: str, registry: Registry) -> dict[str, Any]:
    """A successful run that serves nothing is COMPLETED; returns the run as recorded now.

    The report step does it first so the report shows the final status; Notify repeats it,
    harmlessly, in case the report step failed.
    """
    run = registry.require(run_id)
    spec = run.get("spec") or {}
    if (spec.get("serving") or {}).get("mode", "none") == "none" and run.get("status") == TRAINED:
        registry.transition(run_id, COMPLETED, detail="run completed")
        run = registry.require(run_id)
    return run


def notify_success(
    run_id: str,
    *,
    registry: Registry,
    execution_arn: str | None,
    prefix: str,
    region: str,
    topic_arn: str,
    sns_client: Any,
) -> dict[str, Any]:
    """Complete a run that serves nothing, then publish its success unless notify.onSuccess is false;
    a run the evaluation gate REJECTED is always notified, with the gate's reason."""
    run = complete_unserved_run(run_id, registry)
    spec = run.get("spec") or {}
    status = str(run.get("status"))
    rejection = None
    if status == REJECTED:  # always told: the model the run trained was refused
        gate = (run.get("evaluation") or {}).get("gate") or {}
        rejection = {
            "error": GATE_FAILED_ERROR,
            "cause": str(gate.get("reason") or "the evaluation gate failed"),
        }
    elif not (spec.get("notify") or {}).get("onSuccess", True):
        return {"messageId": None, "status": status}
    message = compose(
        prefix=prefix,
        region=region,
        run_id=run_id,
        status=status,
        run=run,
        execution_arn=execution_arn,
        error=rejection,
    )
    return {"messageId": publish(message, topic_arn=topic_arn, sns_client=sns_client), "status": status}


def notify_failure(
    run_id: str,
    *,
    registry: Registry,
    execution_arn: str | None,
    execution_started_at: str | None,
    error: Mapping[str, str],
    cleanup: Mapping[str, Any] | None,
    prefix: str,
    region: str,
    topic_arn: str,
    sns_client: Any,
) -> dict[str, Any]:
    """Publish a failure; never raises, so the run's own error stays the execution's error.

    The run's facts come from its record only when the record is this execution's: a run id
    used again must not report (or reveal) the earlier run.
    """
    try:
        run = registry.get(run_id)
    except Exception:
        logger.exception("cannot read the run; notifying with what the execution knows")
        run = None
    if run is not None and not belongs_to(run, execution_arn or "", execution_started_at):
        run = None
    # The recorded status, unless cleanup could not record the failure (then the run looks active).
    recorded = (run or {}).get("status")
    status = str(recorded if recorded in (FAILED, STOPPED) else (cleanup or {}).get("status") or FAILED)
    message = compose(
        prefix=prefix,
        region=region,
        run_id=run_id,
        status=status,
        run=run,
        execution_arn=execution_arn,
        error=error,
        cleanup=cleanup,
    )
    try:
        message_id: str | None = publish(message, topic_arn=topic_arn, sns_client=sns_client)
    except Exception:
        logger.exception("the failure notification could not be published")
        message_id = None
    return {"messageId": message_id, "status": status}
