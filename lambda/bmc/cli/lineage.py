"""``bmc lineage``: which bytes, which base, which parent and which settings made a run's model.

The run and the runs before it in its chain are read from the deployment's registry (found as
``bmc invoke`` finds it, bmc.cli.registry). Each step shows what it customized, its datasets
(URI, S3 version, SHA-256, the snapshot it was trained from), its hyperparameters, its job and
model, and its losses and evaluation summary when there are some.

Exit codes: 0 shown, 1 the run is not in the registry, 2 usage error (registry not found).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from bmc.cli.common import EXIT_INVALID, EXIT_VALID, human_size, output_to_stdout
from bmc.cli.registry import RunReader, add_registry_arguments, registry_table
from bmc.lineage.datasets import snapshot_taken

DIGEST_SHOWN = 16  # hex characters of a SHA-256 in the human output (--json has all 64)


def add_parser(commands: Any) -> None:
    lineage = commands.add_parser(
        "lineage",
        help="show the chain from the foundation model to a run, with its data versions and digests",
        description="Show a run's lineage from the deployment's registry: every customization from the "
        "foundation model to the run, each with its datasets (URI, S3 version, SHA-256, snapshot), "
        "hyperparameters, job, custom model, losses and evaluation summary.",
        epilog="Exit codes: 0 shown, 1 run not found, 2 usage error.",
    )
    lineage.add_argument("run_id", metavar="RUN_ID", help="the run (a custom model's Id)")
    add_registry_arguments(lineage)
    lineage.add_argument("--region", help="AWS region of the deployment (default: your profile's)")
    lineage.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    lineage.set_defaults(handler=run_lineage, parser=lineage)


def run_lineage(args: argparse.Namespace) -> int:
    import boto3

    from bmc.lineage.chain import lineage_view

    session = boto3.session.Session(region_name=args.region) if args.region else boto3.session.Session()
    table = registry_table(args, session)
    reader = RunReader(session, table)
    record = reader.get(args.run_id)
    if record is None:
        print(f"bmc lineage: run {args.run_id} is not in the registry {table}", file=sys.stderr)
        return EXIT_INVALID
    view = lineage_view(args.run_id, record, reader.get)
    with output_to_stdout() as out:
        if args.json:
            out.write(
                json.dumps({"runId": args.run_id, "status": record.get("status"), **view}, indent=2) + "\n"
            )
        else:
            print_lineage(args.run_id, record, view, out)
    return EXIT_VALID


def print_lineage(run_id: str, record: Mapping[str, Any], view: Mapping[str, Any], out: TextIO) -> None:
    out.write(f"Lineage of run {run_id} ({record.get('status')})\n")
    out.write(f"foundation model: {view.get('rootFoundationModel')}\n")
    if view.get("snapshotsPurgedAt"):
        out.write(f"snapshots purged at {view['snapshotsPurgedAt']} (the record keeps what they were)\n")
    for number, step in enumerate(view.get("chain") or [], start=1):
        out.write("\n")
        print_step(number, step, out)


def print_step(number: int, step: Mapping[str, Any], out: TextIO) -> None:
    status = step.get("status") or "not recorded"
    if step.get("deletedAt"):
        status = f"{status} at {step['deletedAt']}"
    out.write(f"{number}. run {step.get('runId')} ({status})\n")
    out.write(f"   {step.get('customizationType')} of {step.get('baseModel')}\n")
    for label, key in (("job", "jobArn"), ("model", "customModelArn")):
        if step.get(key):
            out.write(f"   {label}: {step[key]}\n")
    hyperparameters = step.get("hyperparameters") or {}
    if hyperparameters:
        settings = ", ".join(f"{name}={value}" for name, value in sorted(hyperparameters.items()))
        out.write(f"   hyperparameters: {settings}\n")
    for dataset in step.get("datasets") or []:
        out.write(f"   {dataset_line(dataset)}\n")
        if dataset.get("snapshotUri"):
            taken = "trained from" if snapshot_taken(dataset) else "snapshot (not taken)"
            out.write(f"      {taken} {dataset['snapshotUri']}\n")
        if dataset.get("changedAfterValidation"):
            out.write(
                f"      the source changed after validation (now {dataset.get('currentVersionId') or 'deleted'})\n"
            )
    losses = step.get("metricsSummary") or {}
    if losses:
        out.write(f"   losses: {', '.join(f'{k} {v}' for k, v in losses.items())}\n")
    if step.get("evaluationSummary"):
        out.write(f"   evaluation: {json.dumps(step['evaluationSummary'], sort_keys=True)}\n")


def dataset_line(dataset: Mapping[str, Any]) -> str:
    role = dataset.get("role")
    name = f"{role} {int(dataset.get('index') or 0) + 1}" if role == "validation" else str(role)
    digest = str(dataset.get("sha256") or "")[:DIGEST_SHOWN] or "no digest"
    facts = [f"version {dataset.get('versionId') or 'unversioned'}", f"sha256 {digest}"]
    if dataset.get("records") is not None:
        facts.append(f"{dataset['records']:,} records")
    if dataset.get("size") is not None:
        facts.append(human_size(int(dataset["size"])))
    return f"{name}: {dataset.get('uri')} ({', '.join(facts)})"
