"""The run spec's evaluation block: normalized defaults and a located finding for each mistake."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs; a test-only dependency
import pytest
from bmc import runspec
from bmc.evaluation.metrics import METRICS

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "run-spec.schema.json").read_text())
BUCKET = "datasets-bucket"
JUDGES = ("amazon.nova-pro-v1:0",)


def spec(evaluation: Any, **fields: Any) -> dict[str, Any]:
    return {
        "baseModel": "amazon.nova-micro-v1",
        "customizationType": "FINE_TUNING",
        "trainingData": f"s3://{BUCKET}/support/train.jsonl",
        "evaluation": evaluation,
        **fields,
    }


def check(evaluation: Any, **fields: Any) -> runspec.SpecCheck:
    return runspec.validate_spec(
        spec(evaluation, **fields), region="us-east-1", datasets_bucket=BUCKET, allowed_judge_models=JUDGES
    )


def findings(evaluation: Any, **fields: Any) -> list[tuple[str | None, str]]:
    return [(f.field, f.code) for f in check(evaluation, **fields).errors]


TEST_DATA = f"s3://{BUCKET}/support/test.jsonl"


def test_defaults_are_filled_and_the_normalized_block_validates_unchanged() -> None:
    result = check({"testData": TEST_DATA})
    assert result.ok and result.spec is not None
    normalized = result.spec.to_dict()["evaluation"]
    assert normalized == {
        "testData": TEST_DATA,
        "maxRecords": 1000,
        "compareWithBase": True,
        "metrics": list(METRICS),
        "inference": {"maxTokens": 512, "temperature": 0.0},
    }
    again = runspec.validate_spec(result.spec.to_dict(), region="us-east-1")
    assert again.ok and again.spec == result.spec
    assert "evaluation" not in runspec.validate_spec(spec(None)).spec.to_dict()  # type: ignore[union-attr]


def test_a_full_block_keeps_every_choice() -> None:
    block = {
        "testData": TEST_DATA,
        "maxRecords": 10_000,
        "metrics": ["chrF", "rougeL", "rougeL"],
        "inference": {"maxTokens": 64, "temperature": 0.2, "topP": 0.9},
        "systemPrompt": "Answer briefly.",
        "judge": {"modelId": "amazon.nova-pro-v1:0", "criteria": "helpfulness"},
        "gate": {"metric": "judge", "minDelta": 0.5, "onFail": "keep"},
        "toleratedFailurePercentage": 2.5,
    }
    result = check(block)
    assert result.ok and result.spec is not None and result.spec.evaluation is not None
    evaluation = result.spec.evaluation
    assert evaluation.metrics == ("rougeL", "chrF") and evaluation.max_records == 10_000
    assert evaluation.gate is not None and evaluation.gate.on_fail == "keep"
    assert result.spec.to_dict()["evaluation"]["toleratedFailurePercentage"] == 2.5
    assert not list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(spec(block)))


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ("s3://x", [("evaluation", "WRONG_TYPE")]),
        ({}, [("evaluation.testData", "MISSING_FIELD")]),
        ({"testData": TEST_DATA, "colour": 1}, [("evaluation.colour", "UNKNOWN_FIELD")]),
        (
            {"testData": "s3://other-bucket/test.jsonl"},
            [("evaluation.testData", "DATA_OUTSIDE_DATASETS_BUCKET")],
        ),
        ({"testData": f"s3://{BUCKET}/tests/"}, [("evaluation.testData", "INVALID_S3_URI")]),
        ({"testData": TEST_DATA, "maxRecords": 10_001}, [("evaluation.maxRecords", "INVALID_VALUE")]),
        ({"testData": TEST_DATA, "maxRecords": "10"}, [("evaluation.maxRecords", "WRONG_TYPE")]),
        ({"testData": TEST_DATA, "compareWithBase": "yes"}, [("evaluation.compareWithBase", "WRONG_TYPE")]),
        ({"testData": TEST_DATA, "metrics": ["rouge"]}, [("evaluation.metrics[0]", "INVALID_VALUE")]),
        ({"testData": TEST_DATA, "metrics": []}, [("evaluation.metrics", "EMPTY_VALUE")]),
        (
            {"testData": TEST_DATA, "inference": {"maxTokens": 0}},
            [("evaluation.inference.maxTokens", "INVALID_VALUE")],
        ),
        (
            {"testData": TEST_DATA, "inference": {"top_p": 1}},
            [("evaluation.inference.top_p", "UNKNOWN_FIELD")],
        ),
        ({"testData": TEST_DATA, "systemPrompt": " "}, [("evaluation.systemPrompt", "EMPTY_VALUE")]),
        ({"testData": TEST_DATA, "judge": {}}, [("evaluation.judge.modelId", "MISSING_FIELD")]),
        (
            {"testData": TEST_DATA, "judge": {"modelId": "amazon.nova-lite-v1:0"}},
            [("evaluation.judge.modelId", "JUDGE_NOT_ALLOWED")],
        ),
        (
            {"testData": TEST_DATA, "judge": {"modelId": "arn:aws:bedrock:us-east-1:1:provisioned-model/x"}},
            [("evaluation.judge.modelId", "INVALID_VALUE")],
        ),
        ({"testData": TEST_DATA, "gate": {"metric": "judge"}}, [("evaluation.gate.metric", "INVALID_VALUE")]),
        (
            {"testData": TEST_DATA, "metrics": ["bleu"], "gate": {"metric": "rougeL"}},
            [("evaluation.gate.metric", "INVALID_VALUE")],
        ),
        ({"testData": TEST_DATA, "gate": {"minDelta": 1}}, [("evaluation.gate.metric", "MISSING_FIELD")]),
        (
            {"testData": TEST_DATA, "gate": {"metric": "bleu", "onFail": "delete"}},
            [("evaluation.gate.onFail", "INVALID_VALUE")],
        ),
        (
            {"testData": TEST_DATA, "compareWithBase": False, "gate": {"metric": "bleu"}},
            [("evaluation.gate", "GATE_WITHOUT_BASE")],
        ),
        (
            {"testData": TEST_DATA, "toleratedFailurePercentage": 101},
            [("evaluation.toleratedFailurePercentage", "INVALID_VALUE")],
        ),
    ],
)
def test_each_mistake_is_a_located_finding(block: Any, expected: list[tuple[str, str]]) -> None:
    assert findings(block) == expected


def test_the_schema_refuses_a_gate_without_a_base_model() -> None:
    block = {"testData": TEST_DATA, "compareWithBase": False, "gate": {"metric": "bleu"}}
    assert list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(spec(block)))


def test_models_that_cannot_be_evaluated_or_compared_here_are_refused() -> None:
    image = runspec.validate_spec(
        spec(
            {"testData": TEST_DATA},
            baseModel="amazon.titan-image-generator-v1",
            trainingData=f"s3://{BUCKET}/images/train.jsonl",
        ),
        region="us-east-1",
    )
    assert ("evaluation", "MODEL_NOT_EVALUABLE") in [(f.field, f.code) for f in image.errors]
    llama = runspec.validate_spec(
        spec({"testData": TEST_DATA}, baseModel="meta.llama3-2-1b-instruct-v1"), region="us-west-2"
    )
    assert llama.ok  # a system inference profile asks the base model in us-west-2
    elsewhere = runspec.validate_spec(
        spec({"testData": TEST_DATA}, baseModel="meta.llama3-2-1b-instruct-v1"), region="us-east-1"
    )
    assert ("evaluation.compareWithBase", "BASE_NOT_INVOCABLE") in [
        (f.field, f.code) for f in elsewhere.errors
    ]


def test_findings_of_a_manifest_give_their_line() -> None:
    text = json.dumps(spec({"testData": TEST_DATA, "metrics": ["tokenF1", "perplexity"]}), indent=2)
    (finding,) = runspec.parse_spec_text(text, source="manifest.json", datasets_bucket=BUCKET).errors
    assert finding.field == "evaluation.metrics[1]"
    assert finding.line == text.splitlines().index('      "perplexity"') + 1


def test_the_test_set_is_held_to_the_owners_prefixes() -> None:
    result = runspec.validate_spec(
        spec(
            {"testData": f"s3://{BUCKET}/other-team/test.jsonl"}, trainingData=f"s3://{BUCKET}/team-a/t.jsonl"
        ),
        datasets_bucket=BUCKET,
        data_prefixes=("team-a/",),
    )
    assert [(f.field, f.code) for f in result.errors] == [
        ("evaluation.testData", "DATA_NOT_IN_TEAM_PREFIXES")
    ]
