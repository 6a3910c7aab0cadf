"""Streaming dataset validation for one customization request.

Everything Bedrock would refuse late is checked here first: the model and customization type,
hyperparameters, every record's format, per-record token limits, record counts and file
sizes. Files are streamed chunk by chunk (local paths or ``s3://`` URIs), parsed with orjson
and checked by the format's record checker; memory stays flat whatever the file size.

Bad input never raises: it becomes findings in the report.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from bmc.aws.s3io import (
    SourceAccessError,
    SourceNotFoundError,
    SourceReadError,
    bedrock_s3_uri_problem,
    is_s3_uri,
    open_source,
    parse_s3_uri,
)
from bmc.catalog.estimate import estimate_cost
from bmc.catalog.hyperparameters import UNSUPPORTED_CUSTOMIZATION_TYPE, check_hyperparameters
from bmc.catalog.models import (
    Customization,
    FormatRules,
    Limits,
    RecordRange,
    UnknownModelError,
    UnsupportedCustomizationError,
    resolve_model,
)
from bmc.findings import DEFAULT_LISTED_PER_CODE, Finding, FindingLog
from bmc.validation import codes
from bmc.validation.formats import Issue, RecordChecker, add, json_type, make_checker, token_problem
from bmc.validation.lines import MAX_LINE_BYTES, iter_lines
from bmc.validation.tokens import (
    GUIDE_BYTES_PER_TOKEN,
    STRICT_BYTES_PER_TOKEN,
    TokenStats,
    estimate_tokens,
    record_size,
)

MAX_VALIDATION_FILES = 10  # validationDataConfig.validators accepts at most 10 S3 URIs
TOKEN_BASIS = (
    f"estimated from each record's size in bytes: up to 1 token per {STRICT_BYTES_PER_TOKEN} bytes "
    f"(an error needs the limit exceeded even at 1 per {GUIDE_BYTES_PER_TOKEN})"
)
_BOM = b"\xef\xbb\xbf"


@dataclass(slots=True)
class DatasetStats:
    """Totals for the training files or the validation files."""

    files: list[str] = field(default_factory=list)
    bytes: int = 0
    records: int = 0
    characters: int = 0
    tokens: TokenStats = field(default_factory=TokenStats)

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": list(self.files),
            "bytes": self.bytes,
            "records": self.records,
            "characters": self.characters,
            "estimated_tokens": self.tokens.to_dict(),
        }


@dataclass(slots=True)
class ValidationReport:
    model_id: str
    customization_type: str
    errors: list[Finding]
    warnings: list[Finding]
    error_counts: dict[str, int]
    warning_counts: dict[str, int]
    stats: dict[str, Any]
    estimate: dict[str, Any] | None
    hyperparameters: dict[str, str]  # the rendered map for Bedrock (defaults filled)

    @property
    def valid(self) -> bool:
        return not self.error_counts

    def to_dict(self) -> dict[str, Any]:
        """Exactly the ``bmc validate --json`` object."""
        return {
            "valid": self.valid,
            "errors": [f.to_dict() for f in self.errors],
            "warnings": [f.to_dict() for f in self.warnings],
            "stats": self.stats,
            "estimate": self.estimate,
        }


def validate_datasets(
    *,
    model_id: str,
    customization_type: str,
    training: str,
    validation: Sequence[str] = (),
    hyperparameters: Mapping[str, object] | None = None,
    s3_client: Any = None,
    progress: Callable[[int], None] | None = None,
    region: str | None = None,
    hyperparameters_source: str | None = "hyperparameters",
    listed_per_code: int = DEFAULT_LISTED_PER_CODE,
) -> ValidationReport:
    """Validate a training file and optional validation files for a customization job.

    ``training`` and ``validation`` are local paths or ``s3://`` URIs. ``progress`` receives
    the number of bytes read so far (all files). ``region``, when given, is checked against
    the model's regions. Errors are listed up to ``listed_per_code`` per code and all counted.
    """
    if isinstance(validation, str):  # a lone path is not a sequence of one-letter paths
        validation = (validation,)
    run = _Run(s3_client=s3_client, progress=progress, listed_per_code=listed_per_code)
    return run.execute(
        model_id=model_id,
        customization_type=customization_type,
        training=training,
        validation=list(validation),
        hyperparameters=hyperparameters,
        region=region,
        hyperparameters_source=hyperparameters_source,
    )


class _Run:
    def __init__(
        self, *, s3_client: Any, progress: Callable[[int], None] | None, listed_per_code: int
    ) -> None:
        self.s3_client = s3_client
        self.progress = progress
        self.bytes_done = 0
        self.errors = FindingLog(listed_per_code)
        self.warnings = FindingLog(listed_per_code)

    def error(self, file: str | None, line: int | None, field: str | None, code: str, message: str) -> None:
        self.errors.add(Finding(file, line, field, code, message))

    def warn(self, file: str | None, line: int | None, field: str | None, code: str, message: str) -> None:
        self.warnings.add(Finding(file, line, field, code, message))

    def execute(
        self,
        *,
        model_id: str,
        customization_type: str,
        training: str,
        validation: list[str],
        hyperparameters: Mapping[str, object] | None,
        region: str | None,
        hyperparameters_source: str | None,
    ) -> ValidationReport:
        training_stats = DatasetStats(files=[training])
        validation_stats = DatasetStats(files=list(validation)) if validation else None
        try:
            model = resolve_model(model_id)
        except UnknownModelError as exc:
            self.error(None, None, "base_model", codes.UNKNOWN_MODEL, str(exc))
            return self.report(model_id, customization_type, training_stats, validation_stats)
        try:
            customization = model.customization(customization_type)
        except UnsupportedCustomizationError as exc:
            self.error(None, None, "customization_type", UNSUPPORTED_CUSTOMIZATION_TYPE, str(exc))
            return self.report(model.customization_id, customization_type, training_stats, validation_stats)
        if region is not None and not model.available_in(region):
            self.error(
                None,
                None,
                "region",
                codes.MODEL_NOT_IN_REGION,
                f"{model.customization_id} cannot be customized in {region}; "
                f"regions: {', '.join(model.regions)}",
            )
        limits = customization.limits
        checked = check_hyperparameters(
            model,
            customization_type,
            hyperparameters,
            has_validation_data=bool(validation),
            source=hyperparameters_source,
        )
        self.errors.extend(checked.errors)

        self.scan(
            training,
            training_stats,
            rules=customization.format,
            limits=limits,
            batch_size=checked.batch_size,
            size_limit=limits.training_file_bytes,
        )
        self.check_record_count(training_stats, limits.training_records, "training")
        advised = limits.recommended_min_training_records
        if advised is not None and 0 < training_stats.records < advised:
            self.warn(
                training,
                None,
                None,
                codes.FEW_RECORDS,
                f"{training_stats.records:,} training records; "
                f"{advised:,} or more usually give better results",
            )

        if validation_stats is not None:
            self.scan_validation(
                model.customization_id,
                customization_type,
                customization,
                validation_stats,
                checked.batch_size,
            )

        estimate = estimate_cost(
            model, training_stats.tokens.total, checked.epoch_count, customization_type=customization_type
        )
        return self.report(
            model.customization_id,
            customization_type,
            training_stats,
            validation_stats,
            estimate=estimate,
            hyperparameters=checked.values,
        )

    def scan_validation(
        self,
        model_id: str,
        customization_type: str,
        customization: Customization,
        stats: DatasetStats,
        batch_size: int | None,
    ) -> None:
        if not customization.validation_data:
            for location in stats.files:
                self.error(
                    location,
                    None,
                    None,
                    codes.VALIDATION_DATA_NOT_ALLOWED,
                    f"{model_id} {customization_type} does not take validation data",
                )
            return
        if len(stats.files) > MAX_VALIDATION_FILES:
            self.error(
                None,
                None,
                "validation",
                codes.TOO_MANY_VALIDATION_FILES,
                f"{len(stats.files)} validation files; Bedrock accepts at most {MAX_VALIDATION_FILES}",
            )
        limits = customization.limits
        for location in stats.files:
            self.scan(
                location,
                stats,
                rules=customization.format,
                limits=limits,
                batch_size=batch_size,
                size_limit=limits.validation_file_bytes,
            )
        self.check_record_count(stats, limits.validation_records, "validation")

    def check_record_count(self, stats: DatasetStats, allowed: RecordRange, role: str) -> None:
        if stats.records == 0:
            return  # EMPTY_FILE or a read failure already says why
        file = stats.files[0] if len(stats.files) == 1 else None
        if allowed.min is not None and stats.records < allowed.min:
            self.error(
                file,
                None,
                None,
                codes.TOO_FEW_RECORDS,
                f"{stats.records:,} {role} records; this model needs at least {allowed.min:,}",
            )
        if allowed.max is not None and stats.records > allowed.max:
            self.error(
                file,
                None,
                None,
                codes.TOO_MANY_RECORDS,
                f"{stats.records:,} {role} records; this model accepts at most {allowed.max:,}",
            )

    def scan(
        self,
        location: str,
        stats: DatasetStats,
        *,
        rules: FormatRules,
        limits: Limits,
        batch_size: int | None,
        size_limit: int | None,
    ) -> None:
        dataset_bucket = None
        if is_s3_uri(location):
            try:
                dataset_bucket, key = parse_s3_uri(location)
            except ValueError as exc:
                self.error(location, None, None, codes.INVALID_S3_URI, str(exc))
                return
            if not key or key.endswith("/"):
                self.error(
                    location, None, None, codes.INVALID_S3_URI, f"{location!r} names a prefix, not a file"
                )
                return
            problem = bedrock_s3_uri_problem(location)
            if problem is not None:
                self.error(location, None, None, codes.INVALID_S3_URI, problem)
        checker = make_checker(rules, limits, dataset_bucket=dataset_bucket)
        record_limit = limits.record_token_limit(batch_size)
        records_before = stats.records
        bytes_before = stats.bytes
        try:
            with open_source(location, s3_client=self.s3_client) as source:
                if source.size is not None and size_limit is not None and source.size > size_limit:
                    self.file_too_large(location, source.size, size_limit)
                    size_limit = None  # reported once, before reading
                self.scan_lines(location, source.read, checker, record_limit, stats)
        except SourceNotFoundError as exc:
            self.error(location, None, None, codes.FILE_NOT_FOUND, str(exc))
            return
        except SourceAccessError as exc:
            self.error(location, None, None, codes.FILE_ACCESS_DENIED, str(exc))
            return
        except SourceReadError as exc:
            self.error(
                location,
                None,
                None,
                codes.FILE_READ_ERROR,
                f"{exc} (after {stats.records - records_before:,} records)",
            )
            return
        file_bytes = stats.bytes - bytes_before
        if size_limit is not None and file_bytes > size_limit:
            self.file_too_large(location, file_bytes, size_limit)
        if stats.records == records_before:
            self.error(location, None, None, codes.EMPTY_FILE, f"{location} has no records")

    def file_too_large(self, location: str, size: int, limit: int) -> None:
        self.error(
            location,
            None,
            None,
            codes.FILE_TOO_LARGE,
            f"{location} is {size:,} bytes; the limit is {limit:,} bytes",
        )

    def scan_lines(
        self,
        location: str,
        read: Callable[[int], bytes],
        checker: RecordChecker,
        record_limit: int | None,
        stats: DatasetStats,
    ) -> None:
        """The hot loop: one orjson parse and one checker call per line."""

        def on_chunk(size: int) -> None:
            stats.bytes += size
            self.bytes_done += size
            if self.progress is not None:
                self.progress(self.bytes_done)

        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        add_tokens = stats.tokens.add
        records = 0
        characters = 0
        for line_number, line in enumerate(iter_lines(read, on_chunk=on_chunk), 1):
            if line is None:
                records += 1
                self.error(
                    location,
                    line_number,
                    None,
                    codes.LINE_TOO_LONG,
                    f"line is longer than {MAX_LINE_BYTES:,} bytes; it was skipped unread",
                )
                continue
            try:
                record = loads(line)
            except decode_error:
                record, problem = parse_failure(line)
                if problem is not None:
                    if problem.code != codes.EMPTY_LINE:
                        records += 1
                    self.line_issue(location, line_number, problem)
                    continue
            records += 1
            if type(record) is not dict:
                self.error(
                    location,
                    line_number,
                    None,
                    codes.NOT_AN_OBJECT,
                    f"each line must be a JSON object, got {json_type(record)}",
                )
                continue
            chars, ascii, issues = checker(record)
            characters += chars
            size = record_size(line, record, ascii)
            tokens = estimate_tokens(size)
            add_tokens(tokens)
            if record_limit is not None and tokens > record_limit:
                issues = add(issues, token_problem(None, size, record_limit))
            if issues is not None:
                for issue in issues:
                    self.line_issue(location, line_number, issue)
        stats.records += records
        stats.characters += characters

    def line_issue(self, location: str, line_number: int, issue: Issue) -> None:
        log = self.warnings if issue.warning else self.errors
        log.add(Finding(location, line_number, issue.field, issue.code, issue.message))

    def report(
        self,
        model_id: str,
        customization_type: str,
        training: DatasetStats,
        validation: DatasetStats | None,
        *,
        estimate: dict[str, Any] | None = None,
        hyperparameters: dict[str, str] | None = None,
    ) -> ValidationReport:
        stats = {
            "model": model_id,
            "customization_type": customization_type,
            "training": training.to_dict(),
            "validation": validation.to_dict() if validation is not None else None,
            "token_estimate": TOKEN_BASIS,
            "error_counts": dict(sorted(self.errors.counts.items())),
            "warning_counts": dict(sorted(self.warnings.counts.items())),
            "listed_per_code": self.errors.listed_per_code,
        }
        return ValidationReport(
            model_id=model_id,
            customization_type=customization_type,
            errors=self.errors.listed,
            warnings=self.warnings.listed,
            error_counts=dict(self.errors.counts),
            warning_counts=dict(self.warnings.counts),
            stats=stats,
            estimate=estimate,
            hyperparameters=hyperparameters or {},
        )


def parse_failure(line: bytes) -> tuple[Any, Issue | None]:
    """Explain a line orjson refused, or parse it if the standard library accepts it.

    The slow path: only for lines that failed. The standard library also accepts a few
    documents orjson refuses (integers beyond 64 bits, lone surrogate escapes).
    """
    if not line.strip():
        return None, Issue(
            codes.EMPTY_LINE, None, "empty line: every line must hold one JSON object (remove blank lines)"
        )
    if line.startswith(_BOM):
        return None, Issue(
            codes.UTF8_BOM, None, "the file starts with a UTF-8 byte order mark: save it as UTF-8 without BOM"
        )
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, Issue(
            codes.INVALID_UTF8,
            None,
            f"not valid UTF-8: byte 0x{line[exc.start]:02x} at byte {exc.start + 1} ({exc.reason}); "
            "save the file as UTF-8",
        )
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, Issue(codes.INVALID_JSON, None, f"not valid JSON: {exc.msg} at column {exc.colno}")
    except RecursionError:
        return None, Issue(codes.INVALID_JSON, None, "not valid JSON: nested too deeply")
    except ValueError:  # an integer beyond Python's 4,300 digits: it cannot be read, nor shown
        return None, Issue(codes.INVALID_JSON, None, "not valid JSON: a number has more than 4,300 digits")
