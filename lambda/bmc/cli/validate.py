"""``bmc validate``: check a dataset and hyperparameters for a customization job."""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from bmc.aws.s3io import STDIN, is_s3_uri
from bmc.catalog.estimate import ServingCost
from bmc.catalog.hyperparameters import UNSUPPORTED_CUSTOMIZATION_TYPE
from bmc.catalog.models import CUSTOMIZATION_TYPES
from bmc.cli.common import EXIT_INVALID, EXIT_USAGE, EXIT_VALID, UsageError, human_size, output_to_stdout
from bmc.errors import ConfigurationError
from bmc.findings import DEFAULT_LISTED_PER_CODE, FindingGroup
from bmc.runspec import serving_defaults
from bmc.runspec.model import COMMITMENTS, SERVING_MODES
from bmc.validation import ValidationReport, check_allowed_codes, codes, validate_datasets

# The input could not be read: the check did not happen, which is a usage problem, not bad data.
UNREADABLE_INPUT_CODES = codes.UNREADABLE_INPUT
# The request itself is wrong: no dataset was checked, so a full report would mislead.
REQUEST_CODES = frozenset((codes.UNKNOWN_MODEL, UNSUPPORTED_CUSTOMIZATION_TYPE))
HUMAN_ERRORS_SHOWN = 20
HUMAN_LINES_SHOWN = 5
PROGRESS_MIN_BYTES = 8 * 1024 * 1024
PROGRESS_INTERVAL_SECONDS = 0.2
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def add_parser(commands: Any) -> None:
    validate = commands.add_parser(
        "validate",
        help="check a dataset (and hyperparameters) for a customization job",
        description="Stream the training (and validation) JSONL and check every record against the model's "
        "format and limits, the hyperparameters against its schema, and estimate the training cost.",
        epilog="Exit codes: 0 valid, 1 invalid, 2 usage error (bad flags, input not found or unreadable).",
    )
    validate.add_argument(
        "--base-model",
        required=True,
        metavar="ID",
        help="e.g. amazon.nova-micro-v1:0:128k or amazon.nova-micro-v1",
    )
    validate.add_argument(
        "--customization-type",
        required=True,
        type=customization_type,
        metavar="TYPE",
        help=f"{', '.join(CUSTOMIZATION_TYPES)} (any case)",
    )
    validate.add_argument(
        "--validation-file",
        action="append",
        default=[],
        metavar="PATH",
        help="validation JSONL (local path or s3:// URI); repeatable",
    )
    validate.add_argument("--hyperparameters", metavar="JSON", help="a JSON object, or @FILE holding one")
    validate.add_argument(
        "--region", type=region_name, help="also check that the model can be customized in this region"
    )
    validate.add_argument(
        "--teacher-model",
        metavar="ID",
        help="distillation: also check that this teacher can teach the model (and is in --region)",
    )
    validate.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="CODE",
        help="acknowledge a rule for this run (e.g. RESERVED_STRING, TOO_MANY_RECORDS after a quota "
        "increase): its findings are listed as acknowledged, not errors; repeatable",
    )
    validate.add_argument(
        "--max-findings",
        type=max_findings,
        default=DEFAULT_LISTED_PER_CODE,
        metavar="N|all",
        help=f"findings listed per code, and lines listed per repeated finding (default "
        f"{DEFAULT_LISTED_PER_CODE}); 'all' lists every one, in the text and the JSON alike",
    )
    serving = validate.add_argument_group(
        "serving cost", "add what serving the model would cost to the estimate"
    )
    serving.add_argument(
        "--serving", choices=SERVING_MODES, default="none", help="none (default), provisioned, on-demand"
    )
    serving.add_argument(
        "--model-units", type=int, default=1, metavar="N", help="provisioned model units (default 1)"
    )
    serving.add_argument(
        "--commitment", choices=COMMITMENTS, default="none", help="none (default), OneMonth, SixMonths"
    )
    serving.add_argument(
        "--ttl-hours", type=int, metavar="H", help="hours the serving lasts before it is deleted"
    )
    validate.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    validate.add_argument(
        "training",
        metavar="TRAINING_PATH",
        help="training JSONL (local path, s3:// URI, or - for standard input)",
    )
    validate.set_defaults(handler=run_validate, parser=validate)


def customization_type(value: str) -> str:
    """Any case, '-' or '_': fine-tuning, Fine_Tuning and FINE_TUNING are one type."""
    normalized = value.strip().upper().replace("-", "_").replace(" ", "_")
    if normalized in CUSTOMIZATION_TYPES:
        return normalized
    close = difflib.get_close_matches(normalized, CUSTOMIZATION_TYPES, n=1, cutoff=0.4)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise argparse.ArgumentTypeError(
        f"{value!r} is not a customization type{hint} (choose from {', '.join(CUSTOMIZATION_TYPES)})"
    )


def max_findings(value: str) -> int | None:
    if value.lower() == "all":
        return None
    if value.isdigit() and int(value) > 0:
        return int(value)
    raise argparse.ArgumentTypeError(f"expected a positive number or 'all', got {value!r}")


def region_name(value: str) -> str:
    """A name shaped like an AWS region (us-east-1); whether the model is there is checked later."""
    if _REGION.match(value):
        return value
    raise argparse.ArgumentTypeError(f"{value!r} is not an AWS region name such as us-east-1")


def serving_option(args: argparse.Namespace) -> dict[str, object] | None:
    """The serving block the --serving options describe (checked like a run spec's), or None."""
    if args.serving == "none":
        if args.commitment != "none" or args.ttl_hours is not None or args.model_units != 1:
            raise UsageError(
                "--model-units, --commitment and --ttl-hours need --serving provisioned or on-demand"
            )
        return None
    raw = {
        "mode": args.serving,
        "modelUnits": args.model_units,
        "commitment": args.commitment,
        "ttlHours": args.ttl_hours,
    }
    try:
        return serving_defaults(raw).to_dict()
    except ConfigurationError as exc:
        problems = str(exc).split("invalid: ", 1)[-1]
        raise UsageError(f"--serving options: {problems}") from None


def run_validate(args: argparse.Namespace) -> int:
    hyperparameters, hyperparameters_source = parse_hyperparameters(args.hyperparameters)
    allow = [code.upper() for code in args.allow]
    problems = check_allowed_codes(allow)
    if problems:
        raise UsageError(f"--allow: {'; '.join(problems)}")
    serving = serving_option(args)
    locations = [args.training, *args.validation_file]
    if locations.count(STDIN) > 1:
        raise UsageError("only one input can be read from standard input ('-')")
    progress = None
    if not args.json and sys.stdout.isatty() and sys.stderr.isatty():
        total = local_size(locations)
        if total is None or total >= PROGRESS_MIN_BYTES:
            progress = ProgressLine(total, sys.stderr)
    try:
        report = validate_datasets(
            model_id=args.base_model,
            customization_type=args.customization_type,
            training=args.training,
            validation=args.validation_file,
            hyperparameters=hyperparameters,
            progress=progress,
            region=args.region,
            hyperparameters_source=hyperparameters_source,
            listed_per_code=args.max_findings,
            allow=allow,
            teacher_model=args.teacher_model,
            serving=serving,
        )
    finally:
        if progress is not None:
            progress.clear()
    unreadable = report.unreadable
    request_refused = bool(REQUEST_CODES & report.error_counts.keys())
    with output_to_stdout() as out:
        if args.json:
            out.write(json.dumps(report.to_dict(), indent=2) + "\n")
        elif unreadable or request_refused:
            print_refusal(report, sys.stderr)
        else:
            print_report(report, out)
    if unreadable:
        return EXIT_USAGE
    return EXIT_VALID if report.valid else EXIT_INVALID


def print_refusal(report: ValidationReport, out: TextIO) -> None:
    """Nothing was checked (an input could not be read, or the model or type is wrong): the
    reasons only, no statistics or estimate that would look like a result."""
    for group in report.error_groups:
        finding = group.finding
        if finding.code in UNREADABLE_INPUT_CODES or finding.code in REQUEST_CODES or finding.line is None:
            out.write(f"bmc: error: {finding.message} [{finding.code}]\n")


def parse_hyperparameters(value: str | None) -> tuple[dict[str, object] | None, str]:
    """The --hyperparameters object and the name findings should give as their file."""
    if value is None:
        return None, "--hyperparameters"
    source = "the value"
    if value.startswith("@"):
        source = value[1:]
        try:
            value = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--hyperparameters: cannot read {source}: {exc.strerror or exc}") from exc
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"--hyperparameters: {source} is not valid JSON: {exc.msg} "
            f"at line {exc.lineno} column {exc.colno}"
        ) from exc
    except (ValueError, RecursionError):  # beyond 4,300 digits, or nested past the recursion limit
        raise UsageError(
            f"--hyperparameters: {source} holds a number or a nesting Python cannot read"
        ) from None
    if not isinstance(parsed, dict):
        raise UsageError(
            '--hyperparameters: expected a JSON object such as {"epochCount": 2}, '
            f"got {type(parsed).__name__}"
        )
    return parsed, "--hyperparameters" if source == "the value" else source


def local_size(locations: Sequence[str]) -> int | None:
    """Total size of local files, or None when one is an S3 object (size unknown up front)."""
    total = 0
    for location in locations:
        if is_s3_uri(location):
            return None
        try:
            total += Path(location).stat().st_size
        except OSError:
            continue  # reported as FILE_NOT_FOUND by the validator
    return total


class ProgressLine:
    """A self-overwriting progress line on a terminal, redrawn at most every 0.2 s."""

    def __init__(self, total: int | None, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.last = 0.0
        self.shown = False

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_INTERVAL_SECONDS:
            return
        self.last = now
        text = f"validating: {human_size(done)}"
        if self.total:
            text += f" of {human_size(self.total)} ({min(100, 100 * done // self.total)}%)"
        self.stream.write(f"\r{text}\033[K")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def print_report(report: ValidationReport, out: TextIO) -> None:
    stats = report.stats
    verdict = "VALID" if report.valid else "INVALID"
    errors = sum(report.error_counts.values())
    warnings = sum(report.warning_counts.values())
    out.write(
        f"{verdict}: {report.model_id} {report.customization_type} - "
        f"{errors:,} error(s), {warnings:,} warning(s)\n"
    )
    for role in ("training", "validation"):
        data = stats.get(role)
        if data:
            out.write(f"  {role + ':':12}{describe_dataset(data)}\n")
    for hint in report.hints:
        out.write(f"\nHint: {hint['file']}: {hint['message']}\n")
    everything = stats["listed_per_code"] is None
    print_findings("Errors", report.error_groups, report.error_counts, out, everything=everything)
    print_findings("Warnings", report.warning_groups, report.warning_counts, out, everything=everything)
    if report.acknowledged_counts:
        acknowledged = ", ".join(f"{code} {n:,}" for code, n in sorted(report.acknowledged_counts.items()))
        out.write(f"\nAcknowledged for this run (--allow): {acknowledged}\n")
    if report.estimate is not None:
        out.write(f"\nEstimate: {describe_estimate(report.estimate)}\n")
        for line in describe_serving(report.estimate.get("serving") or {}, report.estimate["currency"]):
            out.write(f"  {line}\n")
        for note in report.estimate["notes"]:
            out.write(f"  {note}\n")


def describe_dataset(data: dict[str, Any]) -> str:
    tokens = data["estimated_tokens"]
    return (
        f"{data['records']:,} records, {human_size(data['bytes'])}, {data['characters']:,} characters; "
        f"estimated tokens {tokens['total']:,} "
        f"(max {tokens['max']:,}, p50 {tokens['p50']:,}, p95 {tokens['p95']:,})"
    )


def print_findings(
    title: str, groups: list[FindingGroup], counts: dict[str, int], out: TextIO, *, everything: bool
) -> None:
    """The first groups (every one with ``everything``): a repeated finding once, with its lines."""
    total = sum(counts.values())
    if not total:
        return
    out.write(f"\n{title} ({total:,}):\n")
    shown = groups if everything else groups[:HUMAN_ERRORS_SHOWN]
    for group in shown:
        finding = group.finding
        field = f" {finding.field}" if finding.field else ""
        out.write(f"  {finding.location()}:{field} [{finding.code}] {finding.message}\n")
        if group.count > 1:
            out.write(f"    {describe_repeats(group, everything=everything)}\n")
    hidden = total - sum(group.count for group in shown)
    if hidden:
        by_code = ", ".join(f"{code} {count:,}" for code, count in sorted(counts.items()))
        out.write(
            f"  ... {hidden:,} more not shown (counts: {by_code}; --max-findings all lists every one)\n"
        )


def describe_repeats(group: FindingGroup, *, everything: bool) -> str:
    """``repeated on 1,200 lines: 3, 4, 9, 12, 15, ...`` (every line with ``everything``)."""
    lines = group.lines if everything else group.lines[:HUMAN_LINES_SHOWN]
    listed = ", ".join(str(line) for line in lines)
    more = ", ..." if group.count > len(lines) else ""
    if not listed:
        return f"repeated {group.count:,} times"
    return f"repeated on {group.count:,} lines: {listed}{more}"


def describe_estimate(estimate: dict[str, Any]) -> str:
    tokens = f"{estimate['training_tokens']:,} training tokens"
    if estimate["epochs"] is None:
        return f"{tokens}; epochs chosen by Bedrock, cost unknown"
    billed = f"{tokens} x {estimate['epochs']:g} epoch(s) = {estimate['billed_tokens']:,} tokens"
    currency = estimate["currency"]
    if estimate["training_cost"] is None:
        return f"{billed}; no price in the table"
    return (
        f"{billed} x {estimate['price_per_1k_tokens']} {currency} per 1K = "
        f"{estimate['training_cost']:,.2f} {currency} "
        f"training, plus {estimate['storage_per_month']:,.2f} {currency} per month to store the custom model"
    )


def describe_serving(serving: dict[str, Any], currency: str) -> list[str]:
    """The serving lines of the estimate: the requested serving's cost, else the model's rates."""
    lines = []
    requested = serving.get("requested")
    if requested:
        lines.append(f"Serving: {ServingCost.from_dict(requested).describe()}")
        lines += [f"  {note}" for note in requested["notes"][1:]]  # the first repeats the prices' date
    per_unit = serving.get("provisioned_per_model_unit_hour") or {}
    if any(value is not None for value in per_unit.values()):  # a line of "unknown" says nothing
        rates = ", ".join(
            f"{label} {_money(per_unit.get(term), currency)}"
            for term, label in (("none", "no commitment"), ("OneMonth", "1 month"), ("SixMonths", "6 months"))
        )
        lines.append(f"Provisioned throughput per model unit and hour: {rates}")
    tokens = serving.get("on_demand_per_1k_tokens")
    if tokens:
        lines.append(
            f"On-demand deployment per 1K tokens: input {_money(tokens['input'], currency, 6)}, "
            f"output {_money(tokens['output'], currency, 6)} (no hourly charge)"
        )
    return lines


def _money(value: float | None, currency: str, digits: int = 2) -> str:
    return "unknown" if value is None else f"{value:,.{digits}f} {currency}"
