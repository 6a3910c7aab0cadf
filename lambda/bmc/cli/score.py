"""``bmc score``: score a predictions file against a test set, offline, with the workflow's metrics.

TEST lines carry ``referenceResponse`` (and optionally ``category``, ``prompt``); PREDICTIONS
lines carry ``response``, in the same order: line n of one answers line n of the other. Exit
codes: 0 scored, 1 invalid input (a bad line, a count mismatch), 2 usage (bad flags, a file
that cannot be read).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from bmc.cli.common import EXIT_INVALID, EXIT_USAGE, EXIT_VALID, UsageError, output_to_stdout
from bmc.cli.validate import UNREADABLE_INPUT_CODES
from bmc.evaluation.dataset import RECORD_COUNT_MISMATCH, read_responses, read_test_set
from bmc.evaluation.metrics import (
    METRICS,
    SCALES,
    MetricsUnavailableError,
    check_metric_names,
    ordered,
    score_system,
)
from bmc.findings import Finding

ERRORS_SHOWN = 20


def add_parser(commands: Any) -> None:
    score = commands.add_parser(
        "score",
        help="score a predictions file against a test set (offline)",
        description='Compute the evaluation metrics of a predictions JSONL (one {"response"} per line) '
        'against a test set JSONL (one {"referenceResponse", "category"?} per line, same order). '
        f"Metrics: {', '.join(METRICS)} (exactMatch, contains, tokenF1 and rougeL from 0 to 1; bleu and "
        "chrF from 0 to 100, corpus-level, as sacrebleu computes them).",
        epilog="Exit codes: 0 scored, 1 invalid input, 2 usage error (bad flags, input not found or unreadable).",
    )
    score.add_argument("test", metavar="TEST", help="test set JSONL (local path or s3:// URI)")
    score.add_argument(
        "predictions", metavar="PREDICTIONS", help="predictions JSONL (local path or s3:// URI)"
    )
    score.add_argument(
        "--metrics",
        nargs="+",
        metavar="METRIC",
        help=f"metrics to compute (space or comma separated; default: all of {', '.join(METRICS)})",
    )
    score.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    score.set_defaults(handler=run_score, parser=score)


def parse_metrics(values: Sequence[str] | None) -> tuple[str, ...]:
    if not values:
        return METRICS
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    unknown = check_metric_names(names)
    if unknown or not names:
        raise UsageError(f"unknown metric {', '.join(unknown) or '(none)'}; choose from {', '.join(METRICS)}")
    return ordered(names)


def run_score(args: argparse.Namespace) -> int:
    metrics = parse_metrics(args.metrics)
    test = read_test_set(args.test, max_records=None, require_prompt=False, max_record_bytes=None)
    responses, response_errors = read_responses(args.predictions)
    findings = [*test.errors.listed, *response_errors.listed]
    total = test.errors.total + response_errors.total
    unreadable = [f for f in findings if f.code in UNREADABLE_INPUT_CODES]
    if unreadable:
        for finding in unreadable:
            print(f"bmc score: {finding.message}", file=sys.stderr)
        return EXIT_USAGE
    if not findings and test.record_count != len(responses):
        findings.append(
            Finding(
                None,
                None,
                None,
                RECORD_COUNT_MISMATCH,
                f"{args.test} has {test.record_count:,} records but {args.predictions} has {len(responses):,}: "
                "line n of the predictions must answer line n of the test set",
            )
        )
        total += 1
    if findings:
        return report_invalid(findings, total, as_json=args.json)
    references = [record.reference for record in test.records]
    predictions = [response or "" for response in responses]
    try:
        result = scores_document(references, predictions, [r.category for r in test.records], metrics)
    except MetricsUnavailableError as exc:
        print(f"bmc score: {exc}", file=sys.stderr)
        return EXIT_USAGE
    with output_to_stdout() as out:
        if args.json:
            out.write(json.dumps(result) + "\n")
        else:
            print_table(result, out)
    return EXIT_VALID


def scores_document(
    references: Sequence[str],
    predictions: Sequence[str],
    categories: Sequence[str | None],
    metrics: Sequence[str],
) -> dict[str, Any]:
    """``{"records": N, "metrics": {...}, "categories": {name: {"records", "metrics"}}}``."""
    import numpy as np

    scores = score_system(references, predictions, metrics)
    document: dict[str, Any] = {"records": len(references), "metrics": dict(scores.corpus), "categories": {}}
    for name in sorted({c for c in categories if c is not None}):
        mask = np.array([c == name for c in categories], dtype=bool)
        part = scores.subset(mask)
        document["categories"][name] = {"records": int(mask.sum()), "metrics": dict(part.corpus)}
    return document


def report_invalid(findings: list[Finding], total: int, *, as_json: bool) -> int:
    with output_to_stdout() as out:
        if as_json:
            out.write(json.dumps({"errors": [f.to_dict() for f in findings], "errorCount": total}) + "\n")
            return EXIT_INVALID
        out.write(f"INVALID: {total:,} error(s)\n")
        for finding in findings[:ERRORS_SHOWN]:
            field = f" [{finding.field}]" if finding.field else ""
            out.write(f"  {finding.location()}{field} {finding.code}: {finding.message}\n")
        if total > ERRORS_SHOWN:
            out.write(f"  ... and {total - ERRORS_SHOWN:,} more\n")
    return EXIT_INVALID


def print_table(document: dict[str, Any], out: TextIO) -> None:
    metrics = list(document["metrics"])
    out.write(f"{document['records']:,} records\n\n")
    header = f"{'metric':<12}{'value':>12}  scale"
    out.write(header + "\n")
    for name in metrics:
        out.write(f"{name:<12}{document['metrics'][name]:>12.4f}  {SCALES[name]}\n")
    if document["categories"]:
        out.write("\nper category\n")
        width = max(len(name) for name in document["categories"]) + 2
        out.write(f"{'category':<{width}}{'records':>8}" + "".join(f"{m:>12}" for m in metrics) + "\n")
        for name, entry in document["categories"].items():
            values = "".join(f"{entry['metrics'][m]:>12.4f}" for m in metrics)
            out.write(f"{name:<{width}}{entry['records']:>8}{values}\n")
