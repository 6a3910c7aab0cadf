"""``bmc``: check datasets and hyperparameters before paying Bedrock to find the problems.

Exit codes: 0 valid, 1 invalid (bad data, bad hyperparameters, unknown model, customization
type not offered by the model), 2 usage error (bad flags, input file not found or unreadable).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from bmc import __version__
from bmc.catalog import (
    CUSTOMIZATION_TYPES,
    Model,
    UnknownModelError,
    all_models,
    all_teachers,
    resolve_model,
    resolve_teacher,
)
from bmc.estimate import default_prices
from bmc.findings import Finding
from bmc.s3io import is_s3_uri
from bmc.validation import ValidationReport, codes, validate_datasets

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
# The input could not be read: the check did not happen, which is a usage problem, not bad data.
UNREADABLE_INPUT_CODES = frozenset((codes.FILE_NOT_FOUND, codes.FILE_ACCESS_DENIED, codes.FILE_READ_ERROR))
HUMAN_ERRORS_SHOWN = 20
PROGRESS_MIN_BYTES = 8 * 1024 * 1024
PROGRESS_INTERVAL_SECONDS = 0.2


class UsageError(Exception):
    """A bad flag value found after argument parsing."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except UsageError as exc:
        command_parser: argparse.ArgumentParser = args.parser
        command_parser.error(str(exc))
    except KeyboardInterrupt:
        print("bmc: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback for a command line user
        print(f"bmc: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_USAGE  # parser.error() exits; this satisfies the type checker


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bmc",
        description="Amazon Bedrock model customization: validate datasets and hyperparameters, "
        "browse the model catalog.",
        epilog="Exit codes: 0 valid, 1 invalid, 2 usage error (bad flags, input not found or unreadable).",
    )
    parser.add_argument("--version", action="version", version=f"bmc {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
        choices=CUSTOMIZATION_TYPES,
        metavar="TYPE",
        help=", ".join(CUSTOMIZATION_TYPES),
    )
    validate.add_argument(
        "--validation-file",
        action="append",
        default=[],
        metavar="PATH",
        help="validation JSONL (local path or s3:// URI); repeatable",
    )
    validate.add_argument("--hyperparameters", metavar="JSON", help="a JSON object, or @FILE holding one")
    validate.add_argument("--region", help="also check that the model can be customized in this region")
    validate.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    validate.add_argument(
        "training", metavar="TRAINING_PATH", help="training JSONL (local path or s3:// URI)"
    )
    validate.set_defaults(handler=run_validate, parser=validate)

    models = commands.add_parser(
        "models",
        help="list the model catalog, or show one model",
        description="List the model catalog, or show one model's customization types, limits, "
        "hyperparameters and serving options.",
    )
    models.add_argument(
        "model_id", nargs="?", metavar="ID", help="show this model (customization id or plain id)"
    )
    models.add_argument("--json", action="store_true", help="print JSON")
    models.set_defaults(handler=run_models, parser=models)
    return parser


# --- validate ----------------------------------------------------------------------------------


def run_validate(args: argparse.Namespace) -> int:
    hyperparameters, hyperparameters_source = parse_hyperparameters(args.hyperparameters)
    locations = [args.training, *args.validation_file]
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
        )
    finally:
        if progress is not None:
            progress.clear()
    with output_to_stdout() as out:
        if args.json:
            out.write(json.dumps(report.to_dict(), indent=2) + "\n")
        else:
            print_report(report, out)
    if UNREADABLE_INPUT_CODES & report.error_counts.keys():
        return EXIT_USAGE
    return EXIT_VALID if report.valid else EXIT_INVALID


@contextmanager
def output_to_stdout() -> Iterator[TextIO]:
    """stdout, where a reader that goes away (`bmc models | head`) does not change the exit code."""
    try:
        yield sys.stdout
        sys.stdout.flush()
    except BrokenPipeError:
        # Also silence the interpreter's own flush at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


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
    print_findings("Errors", report.errors, report.error_counts, out)
    print_findings("Warnings", report.warnings, report.warning_counts, out)
    if report.estimate is not None:
        out.write(f"\nEstimate: {describe_estimate(report.estimate)}\n")
        for note in report.estimate["notes"]:
            out.write(f"  {note}\n")


def describe_dataset(data: dict[str, Any]) -> str:
    tokens = data["estimated_tokens"]
    return (
        f"{data['records']:,} records, {human_size(data['bytes'])}, {data['characters']:,} characters; "
        f"estimated tokens {tokens['total']:,} "
        f"(max {tokens['max']:,}, p50 {tokens['p50']:,}, p95 {tokens['p95']:,})"
    )


def human_size(size: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}"
    return f"{size:,} bytes"


def print_findings(title: str, listed: list[Finding], counts: dict[str, int], out: TextIO) -> None:
    total = sum(counts.values())
    if not total:
        return
    out.write(f"\n{title} ({total:,}):\n")
    for finding in listed[:HUMAN_ERRORS_SHOWN]:
        where = finding.location()
        field = f" {finding.field}" if finding.field else ""
        out.write(f"  {where}:{field} [{finding.code}] {finding.message}\n")
    hidden = total - min(len(listed), HUMAN_ERRORS_SHOWN)
    if hidden:
        by_code = ", ".join(f"{code} {count:,}" for code, count in sorted(counts.items()))
        out.write(f"  ... {hidden:,} more not shown (counts: {by_code}; --json lists more)\n")


def describe_estimate(estimate: dict[str, Any]) -> str:
    tokens = f"{estimate['training_tokens']:,} training tokens"
    if estimate["epochs"] is None:
        return f"{tokens}; epochs chosen by Bedrock, cost unknown"
    billed = f"{tokens} x {estimate['epochs']} epoch(s) = {estimate['billed_tokens']:,} tokens"
    currency = estimate["currency"]
    if estimate["training_cost"] is None:
        return f"{billed}; no price in the table"
    return (
        f"{billed} x {estimate['price_per_1k_tokens']} {currency} per 1K = "
        f"{estimate['training_cost']:,.2f} {currency} "
        f"training, plus {estimate['storage_per_month']:,.2f} {currency} per month to store the custom model"
    )


# --- models ------------------------------------------------------------------------------------


def run_models(args: argparse.Namespace) -> int:
    if args.model_id is None:
        models = all_models()
        with output_to_stdout() as out:
            if args.json:
                teachers = [
                    {"model_id": t.model_id, "name": t.name, "regions": list(t.regions)}
                    for t in all_teachers()
                ]
                payload = {"models": [model_json(m) for m in models], "distillation_teachers": teachers}
                out.write(json.dumps(payload, indent=2) + "\n")
            else:
                print_model_table(models, out)
        return EXIT_VALID
    try:
        model = resolve_model(args.model_id)
    except UnknownModelError as exc:
        print(f"bmc: {exc}", file=sys.stderr)
        return EXIT_INVALID
    with output_to_stdout() as out:
        if args.json:
            out.write(json.dumps(model_json(model), indent=2) + "\n")
        else:
            print_model(model, out)
    return EXIT_VALID


def model_json(model: Model) -> dict[str, Any]:
    prices = default_prices()
    return {
        **model.to_dict(),
        "training_price_per_1k_tokens": prices.training_price(model),
        "prices_as_of": prices.as_of,
    }


def print_model_table(models: list[Model], out: TextIO) -> None:
    rows = [
        (
            m.customization_id,
            m.name + (" (legacy)" if m.legacy else ""),
            ",".join(short_type(t) for t in m.customization_types),
            ",".join(m.regions),
        )
        for m in models
    ]
    header = ("CUSTOMIZATION ID", "NAME", "TYPES", "REGIONS")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    for row in [header, *rows]:
        out.write("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3] + "\n")
    out.write(
        "\nTypes: FT fine-tuning, CPT continued pre-training, DIST distillation. "
        "`bmc models ID` shows details.\n"
    )


def short_type(customization_type: str) -> str:
    return {"FINE_TUNING": "FT", "CONTINUED_PRE_TRAINING": "CPT", "DISTILLATION": "DIST"}.get(
        customization_type, customization_type
    )


def print_model(model: Model, out: TextIO) -> None:
    prices = default_prices()
    yes_no = {True: "yes", False: "no"}
    out.write(f"{model.name} ({model.customization_id}){' - legacy' if model.legacy else ''}\n")
    out.write(f"  also accepted: {', '.join(model.aliases[1:])}\n")
    out.write(f"  family: {model.family}; regions: {', '.join(model.regions)}\n")
    out.write(
        f"  serving: provisioned throughput {yes_no[model.provisioned_throughput]}, "
        f"on-demand deployment {yes_no[model.on_demand_deployment]}\n"
    )
    if model.distillation_teachers:
        teachers = ", ".join(f"{resolve_teacher(t).name} ({t})" for t in model.distillation_teachers)
        out.write(f"  distillation teachers: {teachers}\n")
    price = prices.training_price(model)
    shown = f"{price} {prices.currency} per 1K tokens" if price is not None else "not in the price table"
    out.write(f"  training price: {shown} (example figure as of {prices.as_of}; verify live prices)\n")
    for note in model.notes:
        out.write(f"  note: {note}\n")
    for customization in model.customizations:
        limits = customization.limits
        out.write(f"\n  {customization.customization_type}: data format {customization.format.data_format}\n")
        out.write(f"    validation data: {'allowed' if customization.validation_data else 'not allowed'}\n")
        out.write(f"    training records: {limits.training_records.describe()}\n")
        if customization.validation_data:
            out.write(f"    validation records: {limits.validation_records.describe()}\n")
        for label, value in (
            ("training file", limits.training_file_bytes),
            ("validation file", limits.validation_file_bytes),
        ):
            if value is not None:
                out.write(f"    {label}: at most {human_size(value)}\n")
        token_limits = [
            ("tokens per record", limits.record_tokens),
            ("tokens per record when batchSize > 1", limits.record_tokens_batched),
            ("prompt tokens", limits.prompt_tokens),
            ("completion tokens", limits.completion_tokens),
        ]
        for label, value in token_limits:
            if value is not None:
                out.write(f"    {label}: at most {value:,}\n")
        if limits.recommended_min_training_records is not None:
            out.write(
                f"    recommended: at least {limits.recommended_min_training_records:,} training records\n"
            )
        if not customization.hyperparameters:
            out.write("    hyperparameters: none\n")
            continue
        out.write("    hyperparameters:\n")
        for spec in customization.hyperparameters:
            default = "required" if spec.default is None else f"default {spec.default:g}"
            special = f" or {', '.join(spec.special_values)}" if spec.special_values else ""
            condition = " (only without validation data)" if spec.only_without_validation_data else ""
            notes = f" - {spec.notes}" if spec.notes else ""
            out.write(
                f"      {spec.name:26} {spec.type:8} {spec.min:g}..{spec.max:g}{special}, "
                f"{default}{condition}{notes}\n"
            )


if __name__ == "__main__":
    sys.exit(main())
