"""The evaluation test set: Bedrock's evaluation-dataset JSONL, read as a stream.

Each line is ``{"prompt": str, "referenceResponse": str, "category"?: str}`` (the shape of
Bedrock's own model evaluation jobs; other keys are reported as warnings). Files are local paths
or ``s3://`` URIs, read chunk by chunk with the training-data validator's line splitter;
problems are findings that name the file, the line and the field, with the validator's codes.

Limits (docs/evaluation.md):
- ``maxRecords`` defaults to ``DEFAULT_MAX_RECORDS`` (1,000: what Bedrock's own evaluation jobs
  accept) and may be raised to ``MAX_RECORDS_CAP`` (10,000). Only the first ``maxRecords``
  records are read and evaluated; a longer file gets a warning, never a silent cut.
- A record may be at most ``MAX_RECORD_BYTES``: each record travels through a Step Functions
  child execution, whose input is capped at 256 KiB for a whole batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
from bmc.findings import DEFAULT_LISTED_PER_CODE, FieldError, Finding, FindingLog
from bmc.validation import codes
from bmc.validation.formats import json_type
from bmc.validation.lines import MAX_LINE_BYTES, iter_lines
from bmc.validation.scan import parse_failure

DEFAULT_MAX_RECORDS = 1_000
MAX_RECORDS_CAP = 10_000
MAX_RECORD_BYTES = 128 * 1024
MAX_CATEGORY_CHARS = 256

PROMPT = "prompt"
REFERENCE = "referenceResponse"
CATEGORY = "category"
RESPONSE = "response"
TEST_SET_FIELDS = (PROMPT, REFERENCE, CATEGORY)

# Codes of the evaluation data (the others are the dataset validator's, see docs/validation.md).
RECORD_TOO_LARGE = "RECORD_TOO_LARGE"
RECORDS_NOT_EVALUATED = "RECORDS_NOT_EVALUATED"  # warning: beyond maxRecords
RECORD_COUNT_MISMATCH = "RECORD_COUNT_MISMATCH"


@dataclass(frozen=True, slots=True)
class TestRecord:
    """One record of the test set; ``index`` is its 0-based position, ``line`` its 1-based line."""

    __test__ = False  # not a pytest test class

    index: int
    line: int
    prompt: str
    reference: str
    category: str | None = None

    def to_item(self) -> dict[str, Any]:
        """The record as the workflow carries it (the Distributed Map's item)."""
        item: dict[str, Any] = {"index": self.index, PROMPT: self.prompt, REFERENCE: self.reference}
        if self.category is not None:
            item[CATEGORY] = self.category
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> TestRecord:
        return cls(
            index=int(item["index"]),
            line=int(item.get("line", int(item["index"]) + 1)),
            prompt=str(item.get(PROMPT, "")),
            reference=str(item[REFERENCE]),
            category=item.get(CATEGORY),
        )


@dataclass(slots=True)
class TestSet:
    """What reading a test set found: its records (when kept) and every finding."""

    __test__ = False

    location: str
    records: list[TestRecord] = field(default_factory=list)
    record_count: int = 0
    errors: FindingLog = field(default_factory=FindingLog)
    warnings: FindingLog = field(default_factory=FindingLog)
    truncated: bool = False
    # What the read opened (an S3 object's version and ETag), so the run's snapshot copies
    # exactly the bytes these records came from.
    version_id: str | None = None
    etag: str | None = None
    size: int | None = None

    @property
    def valid(self) -> bool:
        return not self.errors

    def source(self) -> dict[str, Any]:
        """The file as the lineage records it (``uri``, ``versionId``, ``etag``, ``size``)."""
        return {"uri": self.location, "versionId": self.version_id, "etag": self.etag, "size": self.size}

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "location": self.location,
            "records": self.record_count,
            "truncated": self.truncated,
            "errors": [f.to_dict() for f in self.errors.listed],
            "warnings": [f.to_dict() for f in self.warnings.listed],
            "error_counts": dict(sorted(self.errors.counts.items())),
            "warning_counts": dict(sorted(self.warnings.counts.items())),
        }


def check_max_records(value: object) -> int:
    """``maxRecords`` as an int within 1..MAX_RECORDS_CAP, or FieldError (a ValueError) saying why not."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(
            "maxRecords", codes.WRONG_TYPE, f"maxRecords must be an integer, got {json_type(value)}"
        )
    if not 1 <= value <= MAX_RECORDS_CAP:
        raise FieldError(
            "maxRecords",
            codes.INVALID_VALUE,
            f"maxRecords must be between 1 and {MAX_RECORDS_CAP:,}, got {value:,}",
        )
    return value


def read_test_set(
    location: str,
    *,
    max_records: int | None = DEFAULT_MAX_RECORDS,
    require_prompt: bool = True,
    keep_records: bool = True,
    max_record_bytes: int | None = MAX_RECORD_BYTES,
    s3_client: Any = None,
    listed_per_code: int = DEFAULT_LISTED_PER_CODE,
) -> TestSet:
    """Read and check a test set. ``max_records=None`` reads every record (``bmc score``).

    ``require_prompt=False`` accepts records without a prompt (scoring needs references only);
    ``max_record_bytes=None`` lifts the per-record size limit (offline scoring has none).
    """
    result = TestSet(
        location,
        errors=FindingLog(listed_per_code),
        warnings=FindingLog(listed_per_code),
    )
    reader = JsonLines(location, result.errors, s3_client=s3_client, max_record_bytes=max_record_bytes)
    for line_number, record in reader:
        if max_records is not None and result.record_count >= max_records:
            result.truncated = True
            result.warnings.add(
                Finding(
                    location,
                    line_number,
                    None,
                    RECORDS_NOT_EVALUATED,
                    f"the file has more than {max_records:,} records: only the first {max_records:,} "
                    "are evaluated (raise maxRecords to evaluate more)",
                )
            )
            break
        index = result.record_count
        result.record_count += 1
        if record is None:
            continue  # the line's problem is already an error
        checked = _check_test_record(
            location, line_number, index, record, result, require_prompt=require_prompt
        )
        if checked is not None and keep_records:
            result.records.append(checked)
    result.version_id, result.etag, result.size = reader.version_id, reader.etag, reader.size
    if reader.opened and result.record_count == 0:
        result.errors.add(Finding(location, None, None, codes.EMPTY_FILE, f"{location} has no records"))
    return result


def _check_test_record(
    location: str,
    line: int,
    index: int,
    record: dict[str, Any],
    result: TestSet,
    *,
    require_prompt: bool,
) -> TestRecord | None:
    errors_before = result.errors.total

    def error(field_name: str | None, code: str, message: str) -> None:
        result.errors.add(Finding(location, line, field_name, code, message))

    prompt = _text_field(record, PROMPT, required=require_prompt, report=error)
    reference = _text_field(record, REFERENCE, required=True, report=error)
    category = record.get(CATEGORY)
    if category is not None:
        if not isinstance(category, str):
            error(CATEGORY, codes.WRONG_TYPE, f"category must be a string, got {json_type(category)}")
        elif not category.strip():
            error(CATEGORY, codes.EMPTY_VALUE, "category is empty: omit it or name the category")
        elif len(category) > MAX_CATEGORY_CHARS:
            error(CATEGORY, codes.VALUE_TOO_LONG, f"category is longer than {MAX_CATEGORY_CHARS} characters")
    for key in record:
        if key not in TEST_SET_FIELDS:
            result.warnings.add(
                Finding(
                    location,
                    line,
                    key,
                    codes.UNKNOWN_FIELD,
                    f"unknown field {key!r} is ignored (fields: {', '.join(TEST_SET_FIELDS)})",
                )
            )
    if result.errors.total != errors_before or reference is None:
        return None
    return TestRecord(
        index=index,
        line=line,
        prompt=prompt or "",
        reference=reference,
        category=category if isinstance(category, str) else None,
    )


def _text_field(
    record: dict[str, Any], name: str, *, required: bool, report: Callable[[str | None, str, str], None]
) -> str | None:
    if name not in record or record[name] is None:
        if required:
            report(name, codes.MISSING_FIELD, f"{name} is required")
        return None
    value = record[name]
    if not isinstance(value, str):
        report(name, codes.WRONG_TYPE, f"{name} must be a string, got {json_type(value)}")
        return None
    if not value.strip():
        report(name, codes.EMPTY_VALUE, f"{name} is empty")
        return None
    return value


def read_responses(
    location: str, *, s3_client: Any = None, listed_per_code: int = DEFAULT_LISTED_PER_CODE
) -> tuple[list[str | None], FindingLog]:
    """The ``response`` of every line of a predictions file (None where the line is invalid)."""
    errors = FindingLog(listed_per_code)
    responses: list[str | None] = []
    reader = JsonLines(location, errors, s3_client=s3_client)
    for line_number, record in reader:
        if record is None:
            responses.append(None)
            continue
        value = record.get(RESPONSE)
        if RESPONSE not in record:
            errors.add(Finding(location, line_number, RESPONSE, codes.MISSING_FIELD, "response is required"))
            value = None
        elif not isinstance(value, str):
            errors.add(
                Finding(
                    location,
                    line_number,
                    RESPONSE,
                    codes.WRONG_TYPE,
                    f"response must be a string, got {json_type(value)}",
                )
            )
            value = None
        responses.append(value)
    if reader.opened and not responses:
        errors.add(Finding(location, None, None, codes.EMPTY_FILE, f"{location} has no records"))
    return responses, errors


class JsonLines:
    """Iterate ``(line number, object or None)`` over a JSONL file, recording problems.

    Every non-empty line is one record: a line that is not a JSON object yields ``None`` after
    its error is logged. Blank lines are errors (as in training data) and yield nothing.
    File-level problems (not found, unreadable, a bad S3 URI) end the iteration with an error.
    """

    def __init__(
        self,
        location: str,
        errors: FindingLog,
        *,
        s3_client: Any = None,
        max_record_bytes: int | None = None,
    ) -> None:
        self.location = location
        self.errors = errors
        self.s3_client = s3_client
        self.max_record_bytes = max_record_bytes
        self.opened = False
        self.version_id: str | None = None
        self.etag: str | None = None
        self.size: int | None = None

    def _error(self, line: int | None, code: str, message: str) -> None:
        self.errors.add(Finding(self.location, line, None, code, message))

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any] | None]]:
        location = self.location
        if is_s3_uri(location):
            try:
                _, key = parse_s3_uri(location)
            except ValueError as exc:
                self._error(None, codes.INVALID_S3_URI, str(exc))
                return
            problem = (
                bedrock_s3_uri_problem(location)
                if key and not key.endswith("/")
                else (f"{location!r} names a prefix, not a file")
            )
            if problem is not None:
                self._error(None, codes.INVALID_S3_URI, problem)
                return
        try:
            with open_source(location, s3_client=self.s3_client) as source:
                self.opened = True
                self.version_id, self.etag, self.size = source.version_id, source.etag, source.size
                yield from self._lines(source.read)
        except SourceNotFoundError as exc:
            self._error(None, codes.FILE_NOT_FOUND, str(exc))
        except SourceAccessError as exc:
            self._error(None, codes.FILE_ACCESS_DENIED, str(exc))
        except SourceReadError as exc:
            self._error(None, codes.FILE_READ_ERROR, str(exc))

    def _lines(self, read: Callable[[int], bytes]) -> Iterator[tuple[int, dict[str, Any] | None]]:
        for line_number, line in enumerate(iter_lines(read), 1):
            if line is None:
                self._error(line_number, codes.LINE_TOO_LONG, f"line is longer than {MAX_LINE_BYTES:,} bytes")
                yield line_number, None
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                record, problem = parse_failure(line)
                if problem is not None:
                    self._error(line_number, problem.code, problem.message)
                    if problem.code != codes.EMPTY_LINE:
                        yield line_number, None
                    continue
            if type(record) is not dict:
                self._error(
                    line_number,
                    codes.NOT_AN_OBJECT,
                    f"each line must be a JSON object, got {json_type(record)}",
                )
                yield line_number, None
                continue
            if self.max_record_bytes is not None and len(line) > self.max_record_bytes:
                self._error(
                    line_number,
                    RECORD_TOO_LARGE,
                    f"the record is {len(line):,} bytes; evaluation records may be at most "
                    f"{self.max_record_bytes:,} bytes (Step Functions carries each one in a child execution's input)",
                )
                yield line_number, None
                continue
            yield line_number, record
