"""`make demo`: the whole workflow, offline.

Synthesizes the app, deploys it into the local cloud, uploads a sample dataset and a manifest
(the S3 trigger starts the run, as in AWS) and prints the run as it happened: each state with
its simulated time, the validation findings, the per-epoch losses as a small chart, the serving
resource, the notification and a short summary. Everything in full (the registry record, the
run's reports and metrics, its HTML report and the notifications) is written to
``demo-output/<runId>/``.

    python -m localcloud.demo [--scenario NAME] [--list] [--output DIR]

Each part of the printout is one ``print_*`` function of the run (``SECTIONS``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bmc.catalog.estimate import ServingCost
from bmc.evaluation.report import comparison_table

from localcloud.cloud import LocalCloud
from localcloud.deploy import synthesize_templates
from localcloud.scenarios import SCENARIOS, ScenarioResult, check_outcome

DEFAULT_SCENARIO = "fine-tuning-provisioned"
DEFAULT_OUTPUT = Path("demo-output")
TIMELINE_EVENTS = {
    "TaskStateEntered",
    "ChoiceStateEntered",
    "WaitStateEntered",
    "MapStateEntered",
    "SucceedStateEntered",
    "FailStateEntered",
}
POLLING_STATES = ("WaitForServing", "CheckServing", "ServingReady")
FINDINGS_SHOWN = 5
CHART_WIDTH = 40
_EIGHTHS = " ▏▎▍▌▋▊▉"


@dataclass(frozen=True)
class DemoRun:
    """What the printout is made of: the run, its documents, and where they were saved."""

    cloud: LocalCloud
    result: ScenarioResult
    documents: Mapping[str, Any]  # report name -> parsed JSON (or text for report.html)
    output: Path

    @property
    def record(self) -> dict[str, Any]:
        return self.result.record

    def document(self, name: str) -> dict[str, Any]:
        found = self.documents.get(name)
        return found if isinstance(found, dict) else {}


# --- formatting ----------------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else "?"


def _loss(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else "-"


def _unicode_output() -> bool:
    return (sys.stdout.encoding or "").lower().replace("-", "") in ("utf8", "utf16")


def text_bar(value: float, largest: float, width: int = CHART_WIDTH, *, unicode: bool = True) -> str:
    """A horizontal bar ``width`` characters long for ``largest``; eighths of a cell in Unicode."""
    if largest <= 0 or value <= 0:
        return ""
    cells = min(value / largest, 1.0) * width
    if not unicode:
        return "#" * round(cells)
    whole, eighths = int(cells), round((cells - int(cells)) * 8)
    if eighths == 8:
        whole, eighths = whole + 1, 0
    return "█" * whole + (_EIGHTHS[eighths] if eighths else "")


def loss_chart(per_epoch: list[Mapping[str, Any]], *, unicode: bool = True) -> list[str]:
    """Training and validation loss of each epoch as bars on one scale (a text chart)."""
    values = [
        float(epoch[key])
        for epoch in per_epoch
        for key in ("trainingLoss", "validationLoss")
        if isinstance(epoch.get(key), int | float)
    ]
    largest = max(values, default=0.0)
    lines = []
    for epoch in per_epoch:
        for index, (key, label) in enumerate(
            (("trainingLoss", "training"), ("validationLoss", "validation"))
        ):
            value = epoch.get(key)
            if not isinstance(value, int | float):
                continue
            head = f"epoch {epoch.get('epoch')}" if index == 0 or epoch.get("trainingLoss") is None else ""
            bar = text_bar(float(value), largest, unicode=unicode)
            lines.append(f"  {head:<8} {label:<10} {float(value):.4f} {bar}")
    return lines


# --- the printout, one section per function -------------------------------------------------------


def print_timeline(run: DemoRun) -> None:
    print("\nTimeline (simulated time since the run started)")
    start = None
    repeated: dict[str, int] = {}
    for event in run.cloud.history(run.result.execution_arn):
        if event["type"] not in TIMELINE_EVENTS:
            continue
        simulated = run.cloud.simulated_time_at(event["timestamp"])
        start = start or simulated
        name = event.get("stateEnteredEventDetails", {}).get("name", "")
        repeated[name] = repeated.get(name, 0) + 1
        if name in POLLING_STATES and repeated[name] > 1:
            continue  # one line for the polling loop; the count follows below
        print(f"  +{_duration((simulated - start).total_seconds())}  {name}")
    polls = repeated.get("CheckServing", 0)
    if polls:
        print(f"           (serving polled {polls} times, one minute apart)")


def _finding_line(finding: Mapping[str, Any], severity: str) -> str:
    where = finding.get("file") or "-"
    if finding.get("line"):
        where = f"{where}:{finding['line']}"
    field = f" {finding['field']}" if finding.get("field") else ""
    count = finding.get("count")
    repeats = f" (x{count:,})" if isinstance(count, int) and count > 1 else ""
    return f"  {severity:<7}  {where}{field}  {finding.get('code')}: {finding.get('message')}{repeats}"


def print_validation(run: DemoRun) -> None:
    report = run.document("validation")
    if not report:
        return
    stats = report.get("stats") or {}
    training = stats.get("training") or {}
    validation = stats.get("validation") or {}
    tokens = training.get("estimated_tokens") or {}
    print(f"\nValidation ({'valid' if report.get('valid') else 'REFUSED'})")
    counts = f"{_count(training.get('records'))} training records"
    if validation:
        counts += f", {_count(validation.get('records'))} validation records"
    print(
        f"  {counts}; ~{_count(tokens.get('total'))} training tokens "
        f"(estimate; largest record {_count(tokens.get('max'))})"
    )
    errors, warnings = report.get("errors") or [], report.get("warnings") or []
    for finding in errors[:FINDINGS_SHOWN]:
        print(_finding_line(finding, "ERROR"))
    for finding in warnings[: max(FINDINGS_SHOWN - len(errors), 0)]:
        print(_finding_line(finding, "WARNING"))
    hidden = len(errors) + len(warnings) - FINDINGS_SHOWN
    if hidden > 0:
        print(f"  ... {hidden:,} more in validation.json")
    estimate = report.get("estimate") or {}
    if estimate.get("training_cost") is not None:
        print(
            f"  Estimated training cost: {estimate['training_cost']} {estimate['currency']} for "
            f"{_count(estimate.get('billed_tokens'))} billed tokens "
            f"({_count(estimate.get('training_tokens'))} x {estimate.get('epochs')} epochs); "
            f"storage {estimate['storage_per_month']} {estimate['currency']} per month "
            f"(example prices as of {estimate['prices_as_of']})"
        )
    requested = (estimate.get("serving") or {}).get("requested")
    if requested:
        print(f"  Estimated serving cost: {ServingCost.from_dict(requested).describe()}")


def print_training(run: DemoRun) -> None:
    record = run.record
    if record.get("jobArn"):
        print(f"\nJob: {record['jobArn']}")
    summary = record.get("metricsSummary")
    if not summary:
        return
    print(f"Loss per epoch ({_count(summary.get('steps'))} steps)")
    for line in loss_chart(list(summary.get("perEpoch") or []), unicode=_unicode_output()):
        print(line)


def print_serving(run: DemoRun) -> None:
    serving = run.record.get("serving")
    if serving:
        print(f"\nServing: {serving.get('kind')} {serving.get('arn')} ({serving.get('status')})")


def print_evaluation(run: DemoRun) -> None:
    """The evaluation's table: metric, base, custom, delta (95% CI), then the gate's verdict."""
    evaluation = run.record.get("evaluation") or {}
    if evaluation.get("summary"):
        print("\nEvaluation: custom model vs its base (delta with its 95% paired-bootstrap interval)")
        for line in comparison_table(evaluation["summary"], evaluation.get("gate")):
            print(f"  {line}" if line else "")


def print_error(run: DemoRun) -> None:
    error = run.record.get("error")
    if error:
        print(f"\nERROR {error.get('error')}: {error.get('cause')}")


def print_notifications(run: DemoRun) -> None:
    sweeps = run.cloud.sweeper_notifications()
    for notification in run.cloud.sent_notifications():
        print(f"\nNotification: {notification['subject']}")
        if notification in sweeps:
            # The sweep's figures and what it found, as the operator reads them.
            body = notification["message"].split("\n\nRules:", 1)[0].splitlines()[2:]
            print("  " + "\n  ".join(line for line in body if line.strip()))


def print_summary(run: DemoRun) -> None:
    record, spec = run.record, run.record.get("spec") or {}
    history = record.get("statusHistory") or []
    print("\nSummary")
    facts: list[tuple[str, Any]] = [
        ("run", f"{run.result.run_id} ({spec.get('runName') or 'no name'})"),
        ("status", record.get("status")),
        ("base model", spec.get("baseModel")),
        ("custom model", record.get("customModelArn")),
    ]
    if history:
        facts.append(("status history", _history_line(history)))
    summary = record.get("metricsSummary") or {}
    if summary:
        epochs = summary.get("perEpoch") or [{}]
        facts.append(
            (
                "loss",
                f"training {_loss(epochs[0].get('trainingLoss'))} -> {_loss(summary.get('finalTrainingLoss'))}, "
                f"validation {_loss(epochs[0].get('validationLoss'))} -> {_loss(summary.get('finalValidationLoss'))}",
            )
        )
    facts.append(("report", run.output / "report.html" if "report.html" in run.documents else "not written"))
    facts.append(("everything", f"{run.output}/ ({', '.join(sorted(_saved_names(run)))})"))
    for label, value in facts:
        if value not in (None, ""):
            print(f"  {label:<15}{value}")


def _history_line(history: list[Mapping[str, Any]]) -> str:
    """Each status with its simulated time since the run was registered (as on the timeline)."""
    start = datetime.fromisoformat(str(history[0]["at"]))
    return " -> ".join(
        f"{entry.get('status')} +{_duration((datetime.fromisoformat(str(entry['at'])) - start).total_seconds())}"
        for entry in history
    )


def print_lineage(run: DemoRun) -> None:
    """Which bytes and which base made the model: each dataset's version, digest and snapshot."""
    lineage = run.record.get("lineage") or {}
    datasets = lineage.get("datasets") or {}
    if not datasets and not lineage.get("parentRunId"):
        return
    print("\nLineage")
    print(f"  foundation model: {lineage.get('rootFoundationModel')}")
    for step in lineage.get("chain") or []:
        print(f"  step {step['runId']}: {step['customizationType']} of {step['baseModel']}")
    for role, entries in datasets.items():
        for entry in entries if isinstance(entries, list) else [entries]:
            print(f"  {role}: {entry['uri']}")
            print(f"    version {entry.get('versionId')}, sha256 {entry.get('sha256')}")
            print(f"    snapshot {entry.get('snapshotUri')} (version {entry.get('snapshotVersionId')})")
            if entry.get("changedAfterValidation"):
                print(
                    f"    the source changed after validation; it now holds {entry.get('currentVersionId')}"
                )


SECTIONS: tuple[Callable[[DemoRun], None], ...] = (
    print_timeline,
    print_validation,
    print_training,
    print_serving,
    print_evaluation,
    print_lineage,
    print_error,
    print_notifications,
    print_summary,
)


# --- demo-output/<runId>/ ------------------------------------------------------------------------


def _saved_names(run: DemoRun) -> list[str]:
    return [path.name for path in run.output.iterdir()]


def save_run(cloud: LocalCloud, result: ScenarioResult, output: Path) -> DemoRun:
    """Write the record, every report the run recorded and the notifications to ``output/<runId>/``."""
    folder = output / result.run_id
    folder.mkdir(parents=True, exist_ok=True)
    visible = {key: value for key, value in result.record.items() if key != "taskToken"}
    (folder / "record.json").write_text(json.dumps(visible, indent=2, default=str) + "\n", encoding="utf-8")
    documents: dict[str, Any] = {}
    s3 = cloud.client("s3")
    for uri in (result.record.get("reports") or {}).values():
        bucket, _, key = str(uri).removeprefix("s3://").partition("/")
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        name = key.rsplit("/", 1)[-1]
        (folder / name).write_bytes(body)
        documents[name.removesuffix(".json")] = json.loads(body) if name.endswith(".json") else name
    messages = cloud.sent_notifications()
    if messages:
        text = "\n\n".join(f"Subject: {m['subject']}\n\n{m['message']}" for m in messages)
        (folder / "notifications.txt").write_text(text, encoding="utf-8")
    if "report" in documents:
        documents["report.html"] = documents.pop("report")
    return DemoRun(cloud=cloud, result=result, documents=documents, output=folder)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the customization workflow in the local cloud.")
    parser.add_argument("--scenario", default=DEFAULT_SCENARIO, choices=sorted(SCENARIOS))
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="folder for each run's files (default: demo-output)",
    )
    args = parser.parse_args(argv)
    if args.list:
        for name, scenario in sorted(SCENARIOS.items()):
            print(f"{name:26s} {scenario.summary}")
        return 0
    scenario = SCENARIOS[args.scenario]
    # Handlers log JSON at INFO in AWS; here the timeline tells the story.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    # The sweeper's metrics go to stdout as embedded-metric JSON; its notification says the same.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    # moto logs every failed state at ERROR; a failing scenario's outcome is printed below.
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    began = time.monotonic()
    print(f"Scenario {scenario.name}: {scenario.summary}")
    with tempfile.TemporaryDirectory(prefix="bmc-demo-") as outdir:
        templates, prefix = synthesize_templates(Path(outdir))
    print(f"  synthesized {', '.join(templates)} in {time.monotonic() - began:.1f} s")
    with LocalCloud(templates, prefix=prefix, log_level="ERROR") as cloud:
        result = scenario.run(cloud)
        print(f"\nRun {result.run_id}: execution {result.execution['status']}, run {result.record['status']}")
        run = save_run(cloud, result, args.output)
        for section in SECTIONS:
            section(run)
        problems = check_outcome(cloud, result)
    print(f"\nWall time: {time.monotonic() - began:.1f} s")
    for problem in problems:
        print(f"UNEXPECTED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
