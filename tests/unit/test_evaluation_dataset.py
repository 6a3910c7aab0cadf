"""The evaluation test set: Bedrock's evaluation-dataset JSONL, streamed, with line-located findings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest
from bmc.evaluation.dataset import (
    DEFAULT_MAX_RECORDS,
    MAX_RECORD_BYTES,
    MAX_RECORDS_CAP,
    RECORD_TOO_LARGE,
    RECORDS_NOT_EVALUATED,
    TestRecord,
    check_max_records,
    read_responses,
    read_test_set,
)
from bmc.findings import Finding
from moto import mock_aws

from localcloud import samples
from tests.unit.moto_support import SESSION, aws_credentials  # noqa: F401 (autouse fixture)


def write(tmp_path: Path, *lines: str | Mapping[str, object], name: str = "test.jsonl") -> str:
    path = tmp_path / name
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return str(path)


def codes_by_line(findings: list[Finding]) -> list[tuple[int | None, str | None, str]]:
    return [(f.line, f.field, f.code) for f in findings]


def test_a_valid_test_set_is_read_in_order(tmp_path: Path) -> None:
    location = write(tmp_path, *samples.evaluation_records(5))
    test_set = read_test_set(location)
    assert test_set.valid and not test_set.warnings and test_set.record_count == 5
    first = test_set.records[0]
    assert (first.index, first.line, first.category) == (0, 1, "maintenance")
    assert first.to_item() == {
        "index": 0,
        "prompt": "Support ticket 1: how can I reset my router?",
        "referenceResponse": first.reference,
        "category": "maintenance",
    }
    assert TestRecord.from_item(first.to_item()) == first


def test_every_problem_names_its_line_and_field(tmp_path: Path) -> None:
    location = write(
        tmp_path,
        {"prompt": "q", "referenceResponse": "a"},
        {"referenceResponse": "a"},
        {"prompt": "q", "referenceResponse": 3},
        {"prompt": " ", "referenceResponse": "a"},
        "not json",
        "[1, 2]",
        "",
        {"prompt": "q", "referenceResponse": "a", "category": 7},
        {"prompt": "q", "referenceResponse": "a", "category": "x" * 300},
        {"prompt": "q", "referenceResponse": "a", "modelResponses": []},
    )
    test_set = read_test_set(location)
    assert codes_by_line(test_set.errors.listed) == [
        (2, "prompt", "MISSING_FIELD"),
        (3, "referenceResponse", "WRONG_TYPE"),
        (4, "prompt", "EMPTY_VALUE"),
        (5, None, "INVALID_JSON"),
        (6, None, "NOT_AN_OBJECT"),
        (7, None, "EMPTY_LINE"),
        (8, "category", "WRONG_TYPE"),
        (9, "category", "VALUE_TOO_LONG"),
    ]
    assert codes_by_line(test_set.warnings.listed) == [(10, "modelResponses", "UNKNOWN_FIELD")]
    assert all(f.file == location for f in test_set.errors.listed)
    assert [r.line for r in test_set.records] == [1, 10]
    assert test_set.record_count == 9  # the blank line is an error, not a record


def test_only_the_first_max_records_are_read_and_the_rest_is_reported(tmp_path: Path) -> None:
    location = write(tmp_path, *samples.evaluation_records(12))
    test_set = read_test_set(location, max_records=10)
    assert test_set.valid and test_set.truncated and test_set.record_count == 10
    [warning] = test_set.warnings.listed
    assert (warning.line, warning.code) == (11, RECORDS_NOT_EVALUATED)
    assert "first 10" in warning.message
    assert not read_test_set(location, max_records=12).truncated


def test_max_records_default_and_cap() -> None:
    assert DEFAULT_MAX_RECORDS == 1000  # Bedrock's own evaluation jobs accept 1,000 prompts
    assert check_max_records(MAX_RECORDS_CAP) == MAX_RECORDS_CAP
    for bad in (0, MAX_RECORDS_CAP + 1, "10", True, 2.5):
        with pytest.raises(ValueError, match="maxRecords"):
            check_max_records(bad)


def test_a_record_too_large_for_a_child_execution_is_an_error(tmp_path: Path) -> None:
    big = {"prompt": "x" * MAX_RECORD_BYTES, "referenceResponse": "a"}
    location = write(tmp_path, big, {"prompt": "q", "referenceResponse": "a"})
    assert codes_by_line(read_test_set(location).errors.listed) == [(1, None, RECORD_TOO_LARGE)]
    assert read_test_set(location, max_record_bytes=None).valid  # offline scoring has no such limit


def test_scoring_needs_references_only(tmp_path: Path) -> None:
    location = write(tmp_path, {"referenceResponse": "a"})
    assert not read_test_set(location).valid
    assert read_test_set(location, require_prompt=False).valid


def test_files_that_cannot_be_read_are_file_level_findings(tmp_path: Path) -> None:
    missing = read_test_set(str(tmp_path / "missing.jsonl"))
    assert codes_by_line(missing.errors.listed) == [(None, None, "FILE_NOT_FOUND")]
    empty = read_test_set(write(tmp_path, name="empty.jsonl"))
    assert [f.code for f in empty.errors.listed] == ["EMPTY_FILE"]
    bad_uri = read_test_set("s3://Bad_Bucket/x.jsonl")
    assert [f.code for f in bad_uri.errors.listed] == ["INVALID_S3_URI"]


def test_a_test_set_streams_from_s3() -> None:
    with mock_aws():
        s3 = SESSION.client("s3")
        s3.create_bucket(Bucket="datasets")
        s3.put_object(Bucket="datasets", Key="eval/test.jsonl", Body=samples.jsonl("evaluation", 8).encode())
        test_set = read_test_set("s3://datasets/eval/test.jsonl", s3_client=s3)
        assert test_set.valid and test_set.record_count == 8
        assert [
            f.code for f in read_test_set("s3://datasets/eval/none.jsonl", s3_client=s3).errors.listed
        ] == ["FILE_NOT_FOUND"]


def test_predictions_need_a_string_response_per_line(tmp_path: Path) -> None:
    location = write(
        tmp_path, {"response": "a"}, {"response": ""}, {"answer": "b"}, {"response": None}, name="p.jsonl"
    )
    responses, errors = read_responses(location)
    assert responses == ["a", "", None, None]
    assert codes_by_line(errors.listed) == [(3, "response", "MISSING_FIELD"), (4, "response", "WRONG_TYPE")]
