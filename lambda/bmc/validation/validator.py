"""Streaming dataset validation for one customization request.

Everything Bedrock would refuse late is checked here first: the model and customization type,
hyperparameters, every record's format, per-record token limits, record counts and file
sizes. Files are streamed chunk by chunk (local paths, ``s3://`` URIs or ``-`` for standard
input). Each line goes first through the format's fast path (``bmc.validation.fastpath``:
typed decoding of the common valid shape); a line it cannot vouch for is parsed with orjson
and checked by the format's record checker, which locates every problem by line and field.
The same pass hashes the bytes read (SHA-256) and records the S3 object's version and ETag,
so the report says exactly which bytes were checked. Memory stays flat whatever the file size.

This module is the run: the request's checks (model, region, teacher, hyperparameters, record
counts), each file's opening, size and lineage, and the report. One file's pass over its lines
is ``bmc.validation.scan``; what the report holds is ``bmc.validation.report``.

Bad input never raises: it becomes findings in the report.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from bmc.aws.s3io import (
    STDIN,
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
    Model,
    RecordRange,
    UnknownModelError,
    UnsupportedCustomizationError,
    resolve_model,
    resolve_teacher,
)
from bmc.findings import DEFAULT_LISTED_PER_CODE, Finding, FindingLog
from bmc.validation import codes
from bmc.validation.digest import StreamDigest
from bmc.validation.fastpath import make_fast_path
from bmc.validation.formats import Issue, make_checker
from bmc.validation.hints import ShapeTally
from bmc.validation.report import DatasetStats, SourceLineage, ValidationReport
from bmc.validation.scan import FileScan
from bmc.validation.tokens import GUIDE_BYTES_PER_TOKEN, STRICT_BYTES_PER_TOKEN

__all__ = ["DatasetStats", "ValidationReport", "check_allowed_codes", "validate_datasets"]

MAX_VALIDATION_FILES = 10  # validationDataConfig.validators accepts at most 10 S3 URIs
TOKEN_BASIS = (
    f"estimated from each record's size in bytes: up to 1 token per {STRICT_BYTES_PER_TOKEN} bytes "
    f"(an error needs the limit exceeded even at 1 per {GUIDE_BYTES_PER_TOKEN})"
)
STEP_COUNT = "stepCount"
STDIN_NAME = "<stdin>"


def display_name(location: str) -> str:
    """How findings name a file: standard input as ``<stdin>``."""
    return STDIN_NAME if location == STDIN else location


def check_allowed_codes(allow: Collection[str]) -> list[str]:
    """Why each code in ``allow`` cannot be acknowledged (empty when all can)."""
    problems = []
    for code in allow:
        if code in codes.ALLOWABLE:
            continue
        if code in codes.ALL_CODES:
            problems.append(f"{code} cannot be acknowledged: the job would fail or the check did not run")
        else:
            problems.append(f"unknown finding code {code!r}{codes.did_you_mean(code)}")
    return problems


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
    listed_per_code: int | None = DEFAULT_LISTED_PER_CODE,
    allow: Collection[str] = (),
    teacher_model: str | None = None,
    digest: bool = True,
    fast_path: bool = True,
    serving: Mapping[str, Any] | None = None,
) -> ValidationReport:
    """Validate a training file and optional validation files for a customization job.

    ``training`` and ``validation`` are local paths, ``s3://`` URIs or ``-`` (standard input).
    ``progress`` receives the number of bytes read so far (all files). ``region``, when given,
    is checked against the model's regions; ``teacher_model`` against the student's teachers.
    Findings repeated on many lines are grouped; ``listed_per_code`` caps the groups listed per
    code and the lines kept per group (None lists every one); all are counted. Findings whose
    code is in ``allow`` are acknowledged for this run: listed apart, not errors.
    ``digest`` and ``fast_path`` exist for benchmarks and tests (the findings are the same).
    ``serving`` (a run spec's serving block) adds its cost to the estimate.
    """
    if isinstance(validation, str):  # a lone path is not a sequence of one-letter paths
        validation = (validation,)
    problems = check_allowed_codes(allow)
    if problems:
        raise ValueError("; ".join(problems))
    run = _Run(
        s3_client=s3_client,
        progress=progress,
        listed_per_code=listed_per_code,
        allow=frozenset(allow),
        digest=digest,
        fast_path=fast_path,
        serving=serving,
    )
    return run.execute(
        model_id=model_id,
        customization_type=customization_type,
        training=training,
        validation=list(validation),
        hyperparameters=hyperparameters,
        region=region,
        hyperparameters_source=hyperparameters_source,
        teacher_model=teacher_model,
    )


class _Run:
    def __init__(
        self,
        *,
        s3_client: Any,
        progress: Callable[[int], None] | None,
        listed_per_code: int | None,
        allow: frozenset[str],
        digest: bool,
        fast_path: bool,
        serving: Mapping[str, Any] | None = None,
    ) -> None:
        self.s3_client = s3_client
        self.serving = serving
        self.progress = progress
        self.bytes_done = 0
        self.errors = FindingLog(listed_per_code)
        self.warnings = FindingLog(listed_per_code)
        self.acknowledged = FindingLog(listed_per_code)
        self.allow = allow
        self.digest = digest
        self.fast_path = fast_path
        self.hints: list[dict[str, str]] = []
        self.model_name = ""

    def record(self, finding: Finding, *, warning: bool) -> None:
        if finding.code in self.allow:
            self.acknowledged.add(finding)
        elif warning:
            self.warnings.add(finding)
        else:
            self.errors.add(finding)

    def error(self, file: str | None, line: int | None, field: str | None, code: str, message: str) -> None:
        self.record(Finding(file, line, field, code, message), warning=False)

    def warn(self, file: str | None, line: int | None, field: str | None, code: str, message: str) -> None:
        self.record(Finding(file, line, field, code, message), warning=True)

    def bytes_read(self, size: int) -> None:
        self.bytes_done += size
        if self.progress is not None:
            self.progress(self.bytes_done)

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
        teacher_model: str | None,
    ) -> ValidationReport:
        training_stats = DatasetStats(files=[training])
        validation_stats = DatasetStats(files=list(validation)) if validation else None
        try:
            model = resolve_model(model_id)
        except UnknownModelError as exc:
            self.error(None, None, "base_model", codes.UNKNOWN_MODEL, str(exc))
            return self.report(model_id, customization_type, training_stats, validation_stats)
        self.model_name = model.name
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
        if teacher_model is not None:
            self.check_teacher(model, customization_type, teacher_model, region)
        limits = customization.limits
        checked = check_hyperparameters(
            model,
            customization_type,
            hyperparameters,
            has_validation_data=bool(validation),
            source=hyperparameters_source,
        )
        for finding in checked.errors:
            self.record(finding, warning=False)

        self.scan(
            training,
            training_stats,
            rules=customization.format,
            limits=limits,
            batch_size=checked.batch_size,
            size_limit=limits.training_file_bytes,
        )
        too_few = self.check_record_count(training_stats, limits.training_records, "training")
        if validation_stats is not None:
            self.scan_validation(
                model.customization_id,
                customization_type,
                customization,
                validation_stats,
                checked.batch_size,
            )
        too_few = self.check_total_records(training_stats, validation_stats, limits.total_records) or too_few
        advised = limits.recommended_min_training_records
        # Advice only for a file that is otherwise fine: next to errors it is noise.
        if advised is not None and not too_few and not self.errors and 0 < training_stats.records < advised:
            self.warn(
                training,
                None,
                None,
                codes.FEW_RECORDS,
                f"{training_stats.records:,} training records; "
                f"{advised:,} or more usually give better results",
            )
        if self.unreadable or not training_stats.tokens.total:  # nothing to estimate from
            return self.report(model.customization_id, customization_type, training_stats, validation_stats)
        estimate = estimate_cost(
            model,
            training_stats.tokens.total,
            checked.epoch_count,
            customization_type=customization_type,
            steps=checked.integer(STEP_COUNT),
            batch_size=checked.batch_size,
            records=training_stats.records,
            serving=self.serving,
        )
        return self.report(
            model.customization_id,
            customization_type,
            training_stats,
            validation_stats,
            estimate=estimate,
            hyperparameters=checked.values,
        )

    @property
    def unreadable(self) -> bool:
        return any(self.errors.counts[code] for code in codes.UNREADABLE_INPUT)

    def check_teacher(
        self, model: Model, customization_type: str, teacher_id: str, region: str | None
    ) -> None:
        field = "teacher_model"
        if customization_type != "DISTILLATION":
            self.error(None, None, field, codes.INVALID_VALUE, "a teacher model applies only to DISTILLATION")
            return
        try:
            teacher = resolve_teacher(teacher_id)
        except UnknownModelError as exc:
            self.error(None, None, field, codes.UNKNOWN_TEACHER, str(exc))
            return
        if teacher.model_id not in model.distillation_teachers:
            offered = ", ".join(model.distillation_teachers) or "none"
            self.error(
                None,
                None,
                field,
                codes.TEACHER_NOT_SUPPORTED,
                f"{teacher.model_id} cannot teach {model.customization_id}; its teachers: {offered}",
            )
        if region is not None and not teacher.available_in(region):
            self.error(
                None,
                None,
                field,
                codes.MODEL_NOT_IN_REGION,
                f"{teacher.model_id} is not available in {region}; regions: {', '.join(teacher.regions)}",
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

    def check_record_count(self, stats: DatasetStats, allowed: RecordRange, role: str) -> bool:
        """Report a count outside ``allowed``; True when it is too small."""
        if stats.records == 0 or not stats.complete:
            return False  # EMPTY_FILE or a read failure already says why
        file = display_name(stats.files[0]) if len(stats.files) == 1 else None
        return self.count_problem(file, stats.records, allowed, f"{stats.records:,} {role} records")

    def check_total_records(
        self, training: DatasetStats, validation: DatasetStats | None, allowed: RecordRange
    ) -> bool:
        """The guide's "sum of training and validation records" limits; True when too few."""
        if allowed.min is None and allowed.max is None:
            return False
        datasets = [training] if validation is None else [training, validation]
        if not all(d.complete and d.records for d in datasets):
            return False
        total = sum(d.records for d in datasets)
        what = f"{training.records:,} training records" + (
            f" and {validation.records:,} validation records ({total:,} together)" if validation else ""
        )
        file = display_name(training.files[0]) if validation is None else None
        return self.count_problem(file, total, allowed, what, together=validation is not None)

    def count_problem(
        self, file: str | None, count: int, allowed: RecordRange, what: str, *, together: bool = False
    ) -> bool:
        scope = " in training and validation data together" if together else ""
        if allowed.min is not None and count < allowed.min:
            self.error(
                file,
                None,
                None,
                codes.TOO_FEW_RECORDS,
                f"{what}; this model needs at least {allowed.min:,}{scope}",
            )
            return True
        if allowed.max is not None and count > allowed.max:
            self.error(
                file,
                None,
                None,
                codes.TOO_MANY_RECORDS,
                f"{what}; this model accepts at most {allowed.max:,}{scope}",
            )
        return False

    def scan(
        self,
        source_location: str,
        stats: DatasetStats,
        *,
        rules: FormatRules,
        limits: Limits,
        batch_size: int | None,
        size_limit: int | None,
    ) -> None:
        location = display_name(source_location)
        dataset_bucket = None
        if is_s3_uri(location):
            try:
                dataset_bucket, key = parse_s3_uri(location)
            except ValueError as exc:
                self.error(location, None, None, codes.INVALID_S3_URI, str(exc))
                stats.complete = False
                return
            if not key or key.endswith("/"):
                self.error(
                    location, None, None, codes.INVALID_S3_URI, f"{location!r} names a prefix, not a file"
                )
                stats.complete = False
                return
            problem = bedrock_s3_uri_problem(location)
            if problem is not None:
                self.error(location, None, None, codes.INVALID_S3_URI, problem)
        checker = make_checker(rules, limits, dataset_bucket=dataset_bucket)
        scan = FileScan(
            self,
            location,
            stats,
            checker=checker,
            record_limit=limits.record_token_limit(batch_size),
            tally=ShapeTally.for_format(rules.data_format),
            fast_path=make_fast_path(rules) if self.fast_path else None,
        )
        records_before = stats.records
        bytes_before = stats.bytes
        # Reading S3 waits on the network: a worker thread hashes during those waits even on one
        # core. A local file is CPU-bound: a thread helps only with a free core.
        digest = StreamDigest(threaded=True if is_s3_uri(source_location) else None) if self.digest else None
        try:
            with open_source(source_location, s3_client=self.s3_client) as source:
                if source.size is not None and size_limit is not None and source.size > size_limit:
                    self.file_too_large(location, source.size, size_limit)
                    size_limit = None  # reported once, before reading
                scan.run(source.read, digest)
                lineage = SourceLineage(
                    location,
                    stats.bytes - bytes_before,
                    digest.hexdigest() if digest is not None else None,
                    source.version_id,
                    source.etag,
                    stats.records - records_before,
                )
        except SourceNotFoundError as exc:
            self.unread(location, stats, codes.FILE_NOT_FOUND, str(exc))
            return
        except SourceAccessError as exc:
            self.unread(location, stats, codes.FILE_ACCESS_DENIED, str(exc))
            return
        except SourceReadError as exc:
            records = stats.records - records_before
            after = f" (after {records:,} records)" if records else ""
            self.unread(location, stats, codes.FILE_READ_ERROR, f"{exc}{after}")
            return
        finally:
            if digest is not None:
                digest.close()
        stats.sources.append(lineage)
        if size_limit is not None and lineage.size > size_limit:
            self.file_too_large(location, lineage.size, size_limit)
        if stats.records == records_before:
            self.error(location, None, None, codes.EMPTY_FILE, f"{location} has no records")
        hint = scan.tally.hint(self.model_name)
        if hint is not None:
            self.hints.append({"file": location, "message": hint})

    def unread(self, location: str, stats: DatasetStats, code: str, message: str) -> None:
        stats.complete = False
        self.error(location, None, None, code, message)

    def file_too_large(self, location: str, size: int, limit: int) -> None:
        self.error(
            location,
            None,
            None,
            codes.FILE_TOO_LARGE,
            f"{location} is {size:,} bytes; the limit is {limit:,} bytes",
        )

    def line_issue(self, location: str, line_number: int, issue: Issue) -> None:
        self.record(
            Finding(location, line_number, issue.field, issue.code, issue.message), warning=issue.warning
        )

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
            "acknowledged_counts": dict(sorted(self.acknowledged.counts.items())),
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
            error_groups=list(self.errors.groups),
            warning_groups=list(self.warnings.groups),
            acknowledged_groups=list(self.acknowledged.groups),
            acknowledged_counts=dict(self.acknowledged.counts),
            hints=list(self.hints),
            unreadable=self.unreadable,
        )
