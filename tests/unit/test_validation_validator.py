"""The streaming validator: file-level checks, limits, statistics, the report and its shape."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from bmc.catalog import hyperparameters
from bmc.catalog import models as catalog
from bmc.catalog.hyperparameters import HYPERPARAMETER_OUT_OF_RANGE, UNSUPPORTED_CUSTOMIZATION_TYPE
from bmc.findings import DEFAULT_LISTED_PER_CODE
from bmc.validation import ValidationReport, codes, validate_datasets
from bmc.validation import validator as validator_module
from bmc.validation.lines import MAX_LINE_BYTES

from tests.unit.fixtures_datasets import (
    Line,
    continued_pre_training,
    conversation,
    dataset,
    haiku_messages,
    prompt_completion,
    write_jsonl,
)

TITAN_LITE = "amazon.titan-text-lite-v1:0:4k"
LLAMA_31 = "meta.llama3-1-8b-instruct-v1:0:128k"
NOVA_MICRO = "amazon.nova-micro-v1:0:128k"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0:200k"
COHERE = "cohere.command-text-v14:7:4k"


def run(
    training: str,
    model_id: str = TITAN_LITE,
    customization_type: str = "CONTINUED_PRE_TRAINING",
    **kwargs: Any,
) -> ValidationReport:
    return validate_datasets(
        model_id=model_id, customization_type=customization_type, training=training, **kwargs
    )


def cpt_file(tmp_path: Path, count: int = 5, **kwargs: Any) -> str:
    return dataset(tmp_path, continued_pre_training, count, **kwargs)


def test_report_shape_is_the_cli_json_object(tmp_path: Path) -> None:
    report = run(cpt_file(tmp_path))
    data = json.loads(json.dumps(report.to_dict()))
    assert set(data) == {"valid", "errors", "warnings", "acknowledged", "hints", "stats", "estimate"}
    assert data["valid"] is True
    training = data["stats"]["training"]
    assert set(training) == {
        "files",
        "bytes",
        "records",
        "characters",
        "estimated_tokens",
        "sources",
        "sha256",
        "versionId",
        "etag",
        "size",
    }
    assert set(training["estimated_tokens"]) == {"total", "max", "p50", "p95"}
    assert data["stats"]["validation"] is None
    assert data["stats"]["model"] == TITAN_LITE
    assert set(data["estimate"]) >= {
        "training_tokens",
        "epochs",
        "billed_tokens",
        "training_cost",
        "storage_per_month",
    }


def test_findings_serialize_with_their_location(tmp_path: Path) -> None:
    path = cpt_file(tmp_path, replace={2: {"input": 3}})
    error = run(path).to_dict()["errors"][0]
    assert error == {
        "file": path,
        "line": 2,
        "field": "input",
        "code": codes.WRONG_TYPE,
        "message": "input must be a string, got number",
        "count": 1,
        "lines": [2],
    }


def test_statistics(tmp_path: Path) -> None:
    lines = [{"input": "a" * size} for size in (10, 20, 30, 40, 1000)]
    path = write_jsonl(tmp_path / "train.jsonl", lines)
    stats = run(path).stats["training"]
    sizes = [len(json.dumps(line)) for line in lines]  # the token estimate's basis: bytes of the line
    tokens = [-(-size // 3) for size in sizes]
    assert stats["records"] == 5
    assert stats["characters"] == 1100
    assert stats["bytes"] == Path(path).stat().st_size
    assert stats["estimated_tokens"]["total"] == sum(tokens)
    assert stats["estimated_tokens"]["max"] == max(tokens)
    assert stats["estimated_tokens"]["p50"] == tokens[2]


def test_estimate_uses_epochs_and_the_price_table(tmp_path: Path) -> None:
    report = run(cpt_file(tmp_path), hyperparameters={"epochCount": 3})
    estimate = report.estimate
    assert estimate is not None
    tokens = report.stats["training"]["estimated_tokens"]["total"]
    assert estimate["training_tokens"] == tokens
    assert estimate["epochs"] == 3
    assert estimate["billed_tokens"] == tokens * 3
    assert estimate["training_cost"] == round(tokens * 3 / 1000 * 0.0004, 4)
    assert estimate["storage_per_month"] == 1.95
    assert report.hyperparameters["epochCount"] == "3"


def test_unknown_model(tmp_path: Path) -> None:
    report = run(cpt_file(tmp_path), model_id="amazon.titan-text-lyte-v1")
    assert [(f.code, f.field) for f in report.errors] == [(codes.UNKNOWN_MODEL, "base_model")]
    assert "amazon.titan-text-lite-v1:0:4k" in report.errors[0].message
    assert report.estimate is None


@pytest.mark.parametrize("customization_type", ["DISTILLATION", "REINFORCEMENT_FINE_TUNING"])
def test_unsupported_customization_type(tmp_path: Path, customization_type: str) -> None:
    report = run(cpt_file(tmp_path), customization_type=customization_type)
    assert [f.code for f in report.errors] == [UNSUPPORTED_CUSTOMIZATION_TYPE]


def test_region(tmp_path: Path) -> None:
    assert run(cpt_file(tmp_path), region="us-west-2").valid
    report = run(cpt_file(tmp_path), region="eu-central-1")
    assert [f.code for f in report.errors] == [codes.MODEL_NOT_IN_REGION]


def test_hyperparameter_errors_join_the_report(tmp_path: Path) -> None:
    report = run(cpt_file(tmp_path), hyperparameters={"epochCount": 11}, hyperparameters_source="spec.json")
    assert [(f.file, f.code, f.field) for f in report.errors] == [
        ("spec.json", HYPERPARAMETER_OUT_OF_RANGE, "hyperparameters.epochCount")
    ]


def test_record_count_limits(tmp_path: Path) -> None:
    too_few = run(
        dataset(tmp_path, prompt_completion, 99), model_id=LLAMA_31, customization_type="FINE_TUNING"
    )
    assert [(f.code, f.line) for f in too_few.errors] == [(codes.TOO_FEW_RECORDS, None)]
    assert "99 training records; this model needs at least 100" in too_few.errors[0].message
    assert too_few.warnings == []  # TOO_FEW_RECORDS says it: no FEW_RECORDS advice on top


def test_validation_record_limit(tmp_path: Path) -> None:
    training = dataset(tmp_path, haiku_messages, 32)
    validation = dataset(tmp_path, haiku_messages, 1001, name="validation.jsonl")
    report = run(training, model_id=HAIKU, customization_type="FINE_TUNING", validation=[validation])
    assert [(f.code, f.file) for f in report.errors] == [(codes.TOO_MANY_RECORDS, validation)]
    assert report.stats["validation"]["records"] == 1001


def test_training_and_validation_records_together(tmp_path: Path) -> None:
    # Claude 3 Haiku: at most 10,000 training and validation records together.
    training = dataset(tmp_path, haiku_messages, 9_500)
    validation = dataset(tmp_path, haiku_messages, 600, name="validation.jsonl")
    report = run(training, model_id=HAIKU, customization_type="FINE_TUNING", validation=[validation])
    assert [(f.code, f.file) for f in report.errors] == [(codes.TOO_MANY_RECORDS, None)]
    assert "9,500 training records and 600 validation records (10,100 together)" in report.errors[0].message
    # Llama: "Sum of training and validation records" 100-10,000.
    llama_training = dataset(tmp_path, prompt_completion, 90, name="llama.jsonl")
    llama_validation = dataset(tmp_path, prompt_completion, 10, name="llama-validation.jsonl")
    ok = run(
        llama_training, model_id=LLAMA_31, customization_type="FINE_TUNING", validation=[llama_validation]
    )
    assert ok.valid, ok.errors


def test_validation_files_are_checked_with_the_same_format(tmp_path: Path) -> None:
    training = cpt_file(tmp_path)
    validation = cpt_file(tmp_path, name="validation.jsonl", replace={4: {"input": ""}})
    report = run(training, validation=validation)  # a lone path is accepted too
    assert [(f.file, f.line, f.code) for f in report.errors] == [(validation, 4, codes.EMPTY_VALUE)]


def test_validation_data_not_allowed(tmp_path: Path) -> None:
    training = dataset(tmp_path, lambda i: conversation(i, answer=False), 100)
    report = run(training, model_id=NOVA_MICRO, customization_type="DISTILLATION", validation=[training])
    assert [f.code for f in report.errors] == [codes.VALIDATION_DATA_NOT_ALLOWED]


def test_at_most_ten_validation_files(tmp_path: Path) -> None:
    validation = [cpt_file(tmp_path, name=f"v{i}.jsonl") for i in range(11)]
    report = run(cpt_file(tmp_path), validation=validation)
    assert [f.code for f in report.errors] == [codes.TOO_MANY_VALIDATION_FILES]


def test_missing_local_file(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.jsonl")
    report = run(missing)
    assert [(f.code, f.file, f.line) for f in report.errors] == [(codes.FILE_NOT_FOUND, missing, None)]


@pytest.mark.parametrize("content", [b"", b"\n\n", b"  \r\n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "train.jsonl"
    path.write_bytes(content)
    report = run(str(path))
    assert codes.EMPTY_FILE in report.error_counts
    assert report.stats["training"]["records"] == 0


def test_file_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = catalog.resolve_model(TITAN_LITE)
    cpt = model.customization("CONTINUED_PRE_TRAINING")
    small = dataclasses.replace(cpt, limits=dataclasses.replace(cpt.limits, training_file_bytes=100))
    monkeypatch.setattr(
        validator_module, "resolve_model", lambda _: dataclasses.replace(model, customizations=(small,))
    )
    report = run(cpt_file(tmp_path))
    assert [f.code for f in report.errors] == [codes.FILE_TOO_LARGE]
    assert "the limit is 100 bytes" in report.errors[0].message


@pytest.mark.parametrize(
    ("line", "code", "message"),
    [
        (b"", codes.EMPTY_LINE, "empty line"),
        (b"   \r", codes.EMPTY_LINE, "empty line"),
        (b'{"input": "caf\xe9"}', codes.INVALID_UTF8, "byte 0xe9 at byte 15"),
        (b'{"input": "x",}', codes.INVALID_JSON, "not valid JSON"),
        (b'{"input": "x"', codes.INVALID_JSON, "not valid JSON"),
        (b"null", codes.NOT_AN_OBJECT, "got null"),
        # Python reads neither: the line is an error, the scan goes on (no ValueError, no RecursionError).
        (b'{"input": "x", "id": ' + b"7" * 10_000 + b"}", codes.INVALID_JSON, "more than 4,300 digits"),
        (b'{"input": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", codes.INVALID_JSON, "nested too deeply"),
    ],
)
def test_line_level_problems(tmp_path: Path, line: bytes, code: str, message: str) -> None:
    report = run(cpt_file(tmp_path, replace={3: line}))
    assert [(f.code, f.line, f.field) for f in report.errors] == [(code, 3, None)]
    assert message in report.errors[0].message


def test_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"input": "a"}\n{"input": "b"}\n')
    report = run(str(path))
    assert [(f.code, f.line) for f in report.errors] == [(codes.UTF8_BOM, 1)]


def test_crlf_and_missing_final_newline_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_bytes(b'{"input": "a"}\r\n{"input": "b"}\r\n{"input": "c"}')
    report = run(str(path))
    assert report.valid
    assert report.stats["training"]["records"] == 3


def test_integers_beyond_64_bits_are_still_json(tmp_path: Path) -> None:
    report = run(cpt_file(tmp_path, replace={2: '{"input": "x", "id": 123456789012345678901234567890}'}))
    assert report.valid
    assert [f.code for f in report.warnings] == [codes.UNKNOWN_FIELD]


def test_overlong_line_is_skipped_not_buffered(tmp_path: Path) -> None:
    huge = b'{"input": "' + b"a" * (MAX_LINE_BYTES + 10) + b'"}'
    report = run(cpt_file(tmp_path, replace={2: huge}))
    assert [(f.code, f.line) for f in report.errors] == [(codes.LINE_TOO_LONG, 2)]
    assert report.stats["training"]["records"] == 5


def test_errors_are_listed_up_to_a_cap_per_code_and_all_counted(tmp_path: Path) -> None:
    broken: dict[int, Line] = {number: {"input": ""} for number in range(1, 31)}
    broken[31] = {"input": 5}
    report = run(cpt_file(tmp_path, count=31, replace=broken))
    assert report.error_counts == {codes.EMPTY_VALUE: 30, codes.WRONG_TYPE: 1}
    assert report.stats["error_counts"] == {codes.EMPTY_VALUE: 30, codes.WRONG_TYPE: 1}
    # One mistake repeated on 30 lines is one finding with its count and first lines.
    empty, wrong = report.to_dict()["errors"]
    assert (empty["code"], empty["line"], empty["count"]) == (codes.EMPTY_VALUE, 1, 30)
    assert empty["lines"] == list(range(1, DEFAULT_LISTED_PER_CODE + 1))
    assert (wrong["code"], wrong["lines"], wrong["count"]) == (codes.WRONG_TYPE, [31], 1)
    capped = run(cpt_file(tmp_path, count=31, replace=broken), listed_per_code=3)
    assert [group["lines"] for group in capped.to_dict()["errors"]] == [[1, 2, 3], [31]]
    every = run(cpt_file(tmp_path, count=31, replace=broken), listed_per_code=None)
    assert every.to_dict()["errors"][0]["lines"] == list(range(1, 31))


def test_token_limit_error_and_warning(tmp_path: Path) -> None:
    # Llama 3.1: 16,000 tokens per record. The estimate counts a record's bytes: 1 token per 3
    # bytes may exceed it (a warning); only 1 per 6 over the limit is certain enough to be an error.
    maybe = {"prompt": "p", "completion": "a" * 60_000}
    certain = {"prompt": "p", "completion": "a" * 100_000}
    report = run(
        dataset(tmp_path, prompt_completion, 100, replace={5: maybe, 6: certain}),
        model_id=LLAMA_31,
        customization_type="FINE_TUNING",
    )
    assert [(f.code, f.line, f.field) for f in report.errors] == [(codes.TOO_MANY_TOKENS, 6, None)]
    assert "over the limit of 16,000" in report.errors[0].message
    assert [(f.code, f.line) for f in report.warnings if f.code != codes.FEW_RECORDS] == [
        (codes.MAY_EXCEED_TOKEN_LIMIT, 5)
    ]


def test_titan_token_limit_depends_on_batch_size(tmp_path: Path) -> None:
    record = {"input": "a" * 15_000}  # ~5,000 tokens at 3 bytes each, ~2,500 at 6
    path = cpt_file(tmp_path, replace={2: record})
    assert codes.MAY_EXCEED_TOKEN_LIMIT in run(path).warning_counts
    batched = run(path, hyperparameters={"batchSize": 8})
    assert [(f.code, f.line) for f in batched.errors] == [(codes.TOO_MANY_TOKENS, 2)]
    assert "2,048" in batched.errors[0].message


@pytest.mark.parametrize(
    ("model_id", "batch_size", "limit"),
    [
        # The guide's tables: Lite 4,096 at batch size 1-2, 2,048 at 3-6; Express 4,096 at 1, 2,048 at 2-4.
        (TITAN_LITE, 2, 4096),
        (TITAN_LITE, 3, 2048),
        ("amazon.titan-text-express-v1:0:8k", 1, 4096),
        ("amazon.titan-text-express-v1:0:8k", 2, 2048),
    ],
)
def test_titan_token_limit_per_batch_size(tmp_path: Path, model_id: str, batch_size: int, limit: int) -> None:
    record = {"input": "a" * 15_000}  # over 2,048 even at 6 bytes a token; under 4,096 at 6
    report = run(
        cpt_file(tmp_path, replace={2: record}), model_id=model_id, hyperparameters={"batchSize": batch_size}
    )
    found = report.errors + report.warnings
    assert [f.code for f in found if f.line == 2] == [
        codes.TOO_MANY_TOKENS if limit == 2048 else codes.MAY_EXCEED_TOKEN_LIMIT
    ]
    assert f"{limit:,}" in next(f.message for f in found if f.line == 2)


def test_field_token_limits(tmp_path: Path) -> None:
    record = {"prompt": "p" * 30_000, "completion": "c"}  # Cohere: prompts up to 4,096 tokens
    report = run(
        write_jsonl(tmp_path / "t.jsonl", [record]), model_id=COHERE, customization_type="FINE_TUNING"
    )
    assert [(f.code, f.field) for f in report.errors] == [(codes.TOO_MANY_TOKENS, "prompt")]


def test_unicode_escapes_do_not_inflate_the_estimate(tmp_path: Path) -> None:
    text = "\u6771\u4eac" * 100  # 200 CJK characters: 600 UTF-8 bytes, 1,200 bytes as \\u escapes
    escaped = write_jsonl(tmp_path / "escaped.jsonl", [json.dumps({"input": text}, ensure_ascii=True)])
    literal = write_jsonl(tmp_path / "literal.jsonl", [json.dumps({"input": text}, ensure_ascii=False)])
    escaped_tokens = run(escaped).stats["training"]["estimated_tokens"]["total"]
    literal_tokens = run(literal).stats["training"]["estimated_tokens"]["total"]
    assert escaped_tokens == 200  # the text's 600 UTF-8 bytes
    assert literal_tokens == -(-(600 + len('{"input": ""}')) // 3)


def test_progress_reports_bytes_read(tmp_path: Path) -> None:
    training = cpt_file(tmp_path, count=50)
    validation = cpt_file(tmp_path, count=20, name="validation.jsonl")
    seen: list[int] = []
    run(training, validation=[validation], progress=seen.append)
    total = Path(training).stat().st_size + Path(validation).stat().st_size
    assert seen == sorted(seen)
    assert seen[-1] == total


def test_every_finding_code_is_documented() -> None:
    documented = (Path(__file__).parents[2] / "docs" / "validation.md").read_text(encoding="utf-8")
    dataset_codes = sorted(codes.ALL_CODES)
    for code in [*dataset_codes, *hyperparameters.CODES]:
        assert f"| `{code}` |" in documented, code
