"""docs/openapi.json is the resolver's document, and the gateway validates what the handler does."""

from __future__ import annotations

import json
import subprocess
from typing import Any, get_args

import jsonschema  # type: ignore[import-untyped]  # no stubs; a test-only dependency
import pytest
from bmc.api.models import CreateCustomModelRequest, GateMetric, InvokeRequest, MetricName, ThroughputRequest
from bmc.evaluation.metrics import JUDGE, METRICS
from bmc.handlers.api import openapi_document
from pydantic import BaseModel

from constructs_lib.api import gateway_schema
from scripts.export_openapi import DOCUMENT, REPO_ROOT, render
from tests.unit.api_support import create_request

ENDPOINTS = {
    ("/custom-models", "post"),
    ("/custom-models", "get"),
    ("/custom-models/{id}", "get"),
    ("/custom-models/{id}", "delete"),
    ("/custom-models/{id}/download", "get"),
    ("/custom-models/{id}/invoke", "post"),
    ("/custom-models/{id}/throughput", "put"),
    ("/custom-models/{id}/throughput", "delete"),
}


def test_the_committed_document_matches_the_code() -> None:
    assert DOCUMENT.read_text() == render(), "docs/openapi.json drifted: run scripts/export_openapi.py"


def test_the_document_passes_spectral_without_errors_or_warnings() -> None:
    """Spectral's ``spectral:oas`` ruleset (.spectral.yaml): every finding, down to hints, fails."""
    spectral = REPO_ROOT / "node_modules" / ".bin" / "spectral"
    result = subprocess.run(
        [
            str(spectral),
            "lint",
            str(DOCUMENT),
            "--ruleset",
            str(REPO_ROOT / ".spectral.yaml"),
            "--format",
            "json",
            "--fail-severity",
            "hint",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
    )
    findings = json.loads(result.stdout or "[]")
    assert findings == [] and result.returncode == 0, result.stdout + result.stderr


def test_the_document_says_what_a_404_means_and_defines_its_tags() -> None:
    document = openapi_document()
    assert {tag["name"] for tag in document["tags"]} == {"custom models", "throughput"}
    for path, verb in ENDPOINTS:
        operation = document["paths"][path][verb]
        assert operation["description"] and set(operation["tags"]) <= {"custom models", "throughput"}
        if "{id}" in path:
            assert "another team" in operation["responses"]["404"]["description"]


def test_the_document_describes_every_endpoint_with_sigv4_and_400_not_422() -> None:
    document = openapi_document()
    found = {(path, verb) for path, operations in document["paths"].items() for verb in operations}
    assert found == ENDPOINTS
    assert document["security"] == [{"sigv4": []}]
    assert document["components"]["securitySchemes"]["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    for path, verb in ENDPOINTS:
        responses = document["paths"][path][verb]["responses"]
        assert "422" not in responses
    assert set(document["paths"]["/custom-models"]["post"]["responses"]) == {
        "202",
        "400",
        "403",
        "409",
        "415",
    }
    assert "202" in document["paths"]["/custom-models/{id}/throughput"]["put"]["responses"]


def _draft4(model: Any) -> jsonschema.Draft4Validator:
    schema = gateway_schema(model)
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def _assert_same_verdict(model: type[BaseModel], body: dict[str, Any]) -> None:
    """API Gateway (draft 4 schema) and the handler (pydantic) accept or refuse ``body`` alike."""
    gateway_ok = _draft4(model).is_valid(body)
    try:
        model.model_validate(body)
        handler_ok = True
    except ValueError:
        handler_ok = False
    assert gateway_ok == handler_ok, json.dumps(body)[:200]


@pytest.mark.parametrize(
    "body",
    [
        create_request(),
        create_request(Description=None, ValidationDataLocation=None, HyperParameters=None),
        create_request(ModelName=None),
        create_request(ModelType="RFT"),
        create_request(TrainingDataLocation="https://example.com/train.jsonl"),
        create_request(HyperParameters={"epochCount": 2}),
        create_request(Extra="field"),
        create_request(ModelName="x" * 65),
        create_request(Evaluation={"TestDataLocation": "s3://bucket-name/team/test.jsonl"}),
        create_request(
            Evaluation={
                "TestDataLocation": "s3://bucket-name/team/test.jsonl",
                "MaxRecords": 200,
                "Metrics": ["rougeL", "bleu"],
                "Inference": {"MaxTokens": 256, "Temperature": 0},
                "Judge": {"ModelId": "amazon.nova-pro-v1:0"},
                "Gate": {"Metric": "judge", "MinDelta": 0.2, "OnFail": "keep"},
            }
        ),
        create_request(Evaluation={"TestDataLocation": "s3://bucket-name/t.jsonl", "Gate": {"Metric": "x"}}),
        create_request(Evaluation={"TestDataLocation": "s3://bucket-name/t.jsonl", "Inference": {"Top": 1}}),
        create_request(Evaluation={"TestDataLocation": "s3://bucket-name/t.jsonl", "MaxRecords": 0}),
        create_request(Evaluation={"Metrics": ["rougeL"]}),
    ],
)
def test_the_gateway_model_accepts_exactly_what_the_handler_accepts(body: dict[str, Any]) -> None:
    _assert_same_verdict(CreateCustomModelRequest, body)


@pytest.mark.parametrize(
    "body", [{"ModelUnits": 1}, {"ModelUnits": 0}, {"ModelUnits": 101}, {}, {"ModelUnits": 1, "x": 1}]
)
def test_the_throughput_model_matches_too(body: dict[str, Any]) -> None:
    _assert_same_verdict(ThroughputRequest, body)


@pytest.mark.parametrize(
    "body",
    [
        {"Prompt": "Hello"},
        {"Prompt": "Hello", "System": "Be brief", "MaxTokens": 1024, "Temperature": 0.5, "TopP": 0.9},
        {"Prompt": ""},
        {"Prompt": "x" * 20_001},
        {"Prompt": "Hello", "MaxTokens": 1025},
        {"Prompt": "Hello", "Temperature": 1.5},
        {"Prompt": "Hello", "Stream": True},
        {},
    ],
)
def test_the_invoke_model_matches_too(body: dict[str, Any]) -> None:
    _assert_same_verdict(InvokeRequest, body)


def test_gateway_models_use_only_draft_4_and_the_evaluations_metric_names() -> None:
    for model in (CreateCustomModelRequest, InvokeRequest, ThroughputRequest):
        text = json.dumps(gateway_schema(model))
        assert '"const"' not in text and "$ref" not in text and "$defs" not in text, model.__name__
    assert get_args(MetricName) == METRICS and get_args(GateMetric) == (*METRICS, JUDGE)
