"""Inputs of a run report with every section: a served fine-tuning run with an evaluation and
lineage, and user-supplied text that tries to inject markup."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from bmc.report import ReportInputs

RUN_ID = "support-bot-2b7f0c1e"
HOSTILE_NAME = '<script>alert("run")</script> & "quotes"'
HOSTILE_FILE = "s3://datasets/<img src=x onerror=alert(1)>.jsonl"
GENERATED_AT = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


def loss_rows(steps: int, epochs: int, start: float, floor: float) -> list[list[Any]]:
    """[step, epoch, loss, perplexity] with a decaying loss, steps counted from 0."""
    per_epoch = steps // epochs
    rows = []
    for step in range(steps):
        loss = floor + (start - floor) * math.exp(-step / (steps / 3))
        rows.append([step, step // per_epoch + 1, round(loss, 6), round(math.exp(loss), 6)])
    return rows


def full_record() -> dict[str, Any]:
    return {
        "runId": RUN_ID,
        "status": "IN_SERVICE",
        "owner": {"team": "support", "principal": "arn:aws:iam::123456789012:role/SupportML"},
        "createdAt": "2025-06-02T09:00:00.000Z",
        "updatedAt": "2025-06-02T10:10:00.000Z",
        "statusHistory": [
            {"status": "PENDING", "at": "2025-06-02T09:00:00.000Z", "detail": "run registered"},
            {"status": "VALIDATING", "at": "2025-06-02T09:00:01.000Z", "detail": "validating the datasets"},
            {"status": "TRAINING", "at": "2025-06-02T09:00:05.000Z", "detail": "job submitted"},
            {"status": "TRAINED", "at": "2025-06-02T10:00:05.000Z", "detail": "training metrics collected"},
            {
                "status": "DEPLOYING",
                "at": "2025-06-02T10:00:06.000Z",
                "detail": "creating provisioned serving",
            },
            {
                "status": "IN_SERVICE",
                "at": "2025-06-02T10:10:06.000Z",
                "detail": "provisioned serving InService",
            },
        ],
        "source": {"type": "s3", "uri": "s3://datasets/manifests/support.json"},
        "spec": {
            "runName": HOSTILE_NAME,
            "baseModel": "amazon.nova-micro-v1:0:128k",
            "customizationType": "FINE_TUNING",
            "trainingData": HOSTILE_FILE,
            "validationData": ["s3://datasets/support/validation.jsonl"],
            "hyperparameters": {"epochCount": "3", "learningRate": "2e-05", "learningRateWarmupSteps": "10"},
            "serving": {"mode": "provisioned", "modelUnits": 1},
        },
        "jobArn": "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.nova-micro-v1:0:128k/abc",
        "customModelArn": "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/def",
        "serving": {
            "kind": "provisioned",
            "arn": "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/x",
            "status": "InService",
        },
        "evaluation": {"gate": {"passed": True, "metric": "rougeL", "reason": "rougeL delta +0.06 >= 0.02"}},
        "lineage": {
            "datasets": {
                "training": {
                    "uri": HOSTILE_FILE,
                    "versionId": "3HL4kqtJlcpXroDTDmJ",
                    "etag": "9b2cf535f27731c974343645a3985328",
                    "size": 1_234_567,
                    "records": 160,
                    "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                    "snapshotUri": "s3://artifacts/snapshots/support-bot/train.jsonl",
                },
                "validation": [
                    {"uri": "s3://datasets/support/validation.jsonl", "records": 24, "size": 20_480}
                ],
            },
            "parentRunId": "support-bot-v1",
            "parentModelArn": "arn:aws:bedrock:us-east-1:123456789012:custom-model/parent",
            "rootFoundationModel": "amazon.nova-micro-v1:0:128k",
            "chain": [
                {"runId": None, "baseModel": "amazon.nova-micro-v1:0:128k", "customModelArn": None},
                {
                    "runId": "support-bot-v1",
                    "baseModel": "amazon.nova-micro-v1:0:128k",
                    "customModelArn": "arn:aws:bedrock:us-east-1:123456789012:custom-model/parent",
                },
            ],
        },
    }


def full_documents() -> dict[str, dict[str, Any]]:
    training = loss_rows(30, 3, 2.2, 0.5)
    validation = [row for row in loss_rows(30, 3, 2.4, 0.6) if row[0] % 10 == 9]
    return {
        "validation": {
            "valid": True,
            "errors": [],
            "warnings": [
                {
                    "file": HOSTILE_FILE,
                    "line": None,
                    "field": None,
                    "code": "FEW_RECORDS",
                    "message": "160 training records; 1,000 or more usually give better results",
                    "count": 1,
                },
                {
                    "file": HOSTILE_FILE,
                    "line": 7,
                    "field": "messages[0].content",
                    "code": "RESERVED_KEYWORD_MENTION",
                    "message": 'mentions "System:" <b>inside</b> text',
                    "count": 12,
                    "lines": [7, 9],
                },
            ],
            "stats": {
                "training": {
                    "files": [HOSTILE_FILE],
                    "bytes": 1_234_567,
                    "records": 160,
                    "estimated_tokens": {"total": 19_429, "max": 123},
                },
                "validation": {
                    "files": ["s3://datasets/support/validation.jsonl"],
                    "bytes": 20_480,
                    "records": 24,
                    "estimated_tokens": {"total": 2_901, "max": 118},
                },
            },
            "estimate": {
                "model": "amazon.nova-micro-v1:0:128k",
                "training_tokens": 19_429,
                "epochs": 3,
                "billed_tokens": 58_287,
                "price_per_1k_tokens": 0.001,
                "training_cost": 0.0583,
                "storage_per_month": 1.95,
                "currency": "USD",
                "prices_as_of": "2025-06",
                "notes": ["Example prices as of 2025-06; verify live prices."],
            },
        },
        "metrics": {
            "summary": {
                "finalTrainingLoss": training[-1][2],
                "minTrainingLoss": min(r[2] for r in training),
                "finalValidationLoss": validation[-1][2],
                "minValidationLoss": min(r[2] for r in validation),
                "steps": 29,
                "epochs": 3,
                "perEpoch": [
                    {
                        "epoch": e,
                        "trainingLoss": [r for r in training if r[1] == e][-1][2],
                        "validationLoss": [r for r in validation if r[1] == e][-1][2],
                    }
                    for e in (1, 2, 3)
                ],
                "notes": [],
            },
            "columns": ["step", "epoch", "loss", "perplexity"],
            "training": training,
            "validation": validation,
        },
        "evaluation": {
            "schemaVersion": 1,
            "records": {"total": 200, "scored": 198, "failed": {"custom": 1, "base": 1, "any": 2}},
            "metrics": {
                "exactMatch": {
                    "scale": "0-1",
                    "base": 0.12,
                    "custom": 0.31,
                    "delta": 0.19,
                    "ci95": [0.12, 0.26],
                },
                "tokenF1": {
                    "scale": "0-1",
                    "base": 0.41,
                    "custom": 0.58,
                    "delta": 0.17,
                    "ci95": [0.13, 0.21],
                },
                "rougeL": {
                    "scale": "0-1",
                    "base": 0.38,
                    "custom": 0.44,
                    "delta": 0.06,
                    "ci95": [-0.01, 0.12],
                },
                "bleu": {"scale": "0-100", "base": 21.5, "custom": 19.0, "delta": -2.5, "ci95": [-5.1, 0.2]},
                "chrF": {"scale": "0-100", "base": 45.0, "custom": 51.2, "delta": 6.2, "ci95": [3.9, 8.4]},
            },
            "primaryMetric": "tokenF1",
            "winTieLoss": {"metric": "tokenF1", "wins": 120, "ties": 40, "losses": 38},
            "notes": ["2 of 200 records are not compared: a model failed to answer them (see failures)"],
        },
    }


def full_inputs() -> ReportInputs:
    return ReportInputs(
        run_id=RUN_ID, record=full_record(), generated_at=GENERATED_AT, documents=full_documents()
    )
