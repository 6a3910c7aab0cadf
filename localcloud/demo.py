"""`make demo`: the whole workflow, offline.

Synthesizes the app, deploys it into the local cloud, uploads a sample dataset and a manifest
(the S3 trigger starts the run, as in AWS) and prints the run as it happened: each state with
its simulated time, the validation report, the job, the per-epoch losses, the serving
resource, the notification and the final registry record.

    python -m localcloud.demo [--scenario NAME] [--list]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bmc.catalog.estimate import ServingCost
from bmc.evaluation.report import comparison_table

from localcloud.cloud import LocalCloud, synthesize_templates
from localcloud.scenarios import SCENARIOS, ScenarioResult, check_outcome

DEFAULT_SCENARIO = "fine-tuning-provisioned"
TIMELINE_EVENTS = {
    "TaskStateEntered",
    "ChoiceStateEntered",
    "WaitStateEntered",
    "MapStateEntered",
    "SucceedStateEntered",
    "FailStateEntered",
}


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _read_json(cloud: LocalCloud, uri: str | None) -> dict[str, Any] | None:
    if not uri:
        return None
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    body = cloud.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    document: dict[str, Any] = json.loads(body)
    return document


def print_timeline(cloud: LocalCloud, result: ScenarioResult) -> None:
    print("\nTimeline (simulated time since the run started)")
    start = None
    repeated: dict[str, int] = {}
    for event in cloud.history(result.execution_arn):
        if event["type"] not in TIMELINE_EVENTS:
            continue
        simulated = cloud.simulated_time_at(event["timestamp"])
        start = start or simulated
        name = event.get("stateEnteredEventDetails", {}).get("name", "")
        repeated[name] = repeated.get(name, 0) + 1
        if name in ("WaitForServing", "CheckServing", "ServingReady") and repeated[name] > 1:
            continue  # one line for the polling loop; the count follows below
        print(f"  +{_duration((simulated - start).total_seconds())}  {name}")
    polls = repeated.get("CheckServing", 0)
    if polls:
        print(f"           (serving polled {polls} times, one minute apart)")


def print_report(cloud: LocalCloud, result: ScenarioResult) -> None:
    record = result.record
    reports = record.get("reports", {})
    validation = _read_json(cloud, reports.get("validation"))
    if validation:
        print(f"\nValidation report ({reports['validation']})")
        training = validation.get("stats", {}).get("training", {})
        tokens = training.get("estimated_tokens", {})
        print(
            f"  valid: {validation['valid']}; {training.get('records')} training records, "
            f"~{tokens.get('total')} tokens (estimate; max {tokens.get('max')} per record)"
        )
        for finding in validation.get("errors", [])[:3] + validation.get("warnings", [])[:2]:
            where = f"{finding['file']}:{finding['line']}" if finding["line"] else finding["file"]
            print(f"  {where} {finding['field'] or ''} {finding['code']}: {finding['message']}")
        estimate = validation.get("estimate") or {}
        if estimate.get("training_cost") is not None:
            print(
                f"  estimated training cost: {estimate['training_cost']} {estimate['currency']} for "
                f"{estimate['billed_tokens']} billed tokens; storage {estimate['storage_per_month']} per month "
                f"(example prices as of {estimate['prices_as_of']})"
            )
        requested = (estimate.get("serving") or {}).get("requested")
        if requested:
            print(f"  estimated serving cost: {ServingCost.from_dict(requested).describe()}")
    if record.get("jobArn"):
        print(f"\nJob: {record['jobArn']}")
    summary = record.get("metricsSummary")
    if summary:
        print("Per-epoch losses")
        for epoch in summary.get("perEpoch", []):
            validation_loss = epoch.get("validationLoss")
            shown = f"{validation_loss:.4f}" if validation_loss is not None else "-"
            print(f"  epoch {epoch['epoch']}: training {epoch['trainingLoss']:.4f}  validation {shown}")
    serving = record.get("serving")
    if serving:
        print(f"\nServing: {serving.get('kind')} {serving.get('arn')} ({serving.get('status')})")
    if record.get("error"):
        print(f"\nError: {record['error'].get('error')}: {record['error'].get('cause')}")
    for notification in cloud.sent_notifications():
        print(f"\nNotification: {notification['subject']}")
        if notification in cloud.sweeper_notifications():
            # The sweep's figures and what it found, as the operator reads them.
            body = notification["message"].split("\n\nRules:", 1)[0].splitlines()[2:]
            print("  " + "\n  ".join(line for line in body if line.strip()))
    print("\nFinal registry record")
    visible = {k: v for k, v in record.items() if k != "taskToken"}
    print("  " + json.dumps(visible, indent=2, default=str).replace("\n", "\n  "))


def print_evaluation(result: ScenarioResult) -> None:
    """The evaluation's table: metric, base, custom, delta (95% CI), then the gate's verdict."""
    evaluation = result.record.get("evaluation") or {}
    if evaluation.get("summary"):
        print("\nEvaluation: custom model vs its base (delta with its 95% paired-bootstrap interval)")
        for line in comparison_table(evaluation["summary"], evaluation.get("gate")):
            print(f"  {line}" if line else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the customization workflow in the local cloud.")
    parser.add_argument("--scenario", default=DEFAULT_SCENARIO, choices=sorted(SCENARIOS))
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
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
        print_timeline(cloud, result)
        print_report(cloud, result)
        print_evaluation(result)
        problems = check_outcome(cloud, result)
    print(f"\nWall time: {time.monotonic() - began:.1f} s")
    for problem in problems:
        print(f"UNEXPECTED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
