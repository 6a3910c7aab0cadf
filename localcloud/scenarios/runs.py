"""The base models, datasets and manifests the stories share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from localcloud.cloud import LocalCloud
from localcloud.scenarios.scenario import Dataset, Scenario

NOVA_MICRO = "amazon.nova-micro-v1"


def fine_tuning(serving: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "runName": "support-bot",
        "baseModel": NOVA_MICRO,
        "customizationType": "FINE_TUNING",
        "trainingData": "s3://{datasets}/datasets/support/train.jsonl",
        "validationData": ["s3://{datasets}/datasets/support/validation.jsonl"],
        "hyperparameters": {"epochCount": 3, "learningRate": "2e-5"},
        "serving": serving or {"mode": "none"},
        "tags": {"team": "support"},
        **extra,
    }


SUPPORT_DATASETS = (
    Dataset("datasets/support/train.jsonl", "conversation", 160),
    Dataset("datasets/support/validation.jsonl", "conversation", 24),
)
TEST_SET = Dataset("datasets/support/test.jsonl", "evaluation", 40)
EVALUATED_DATASETS = (*SUPPORT_DATASETS, TEST_SET)
# Compare the custom model with its base on held-out tickets; keep it only if ROUGE-L improves.
EVALUATION = {
    "testData": "s3://{datasets}/datasets/support/test.jsonl",
    "gate": {"metric": "rougeL", "minDelta": 0.05, "onFail": "undeploy"},
}
PROVISIONED = {"mode": "provisioned", "modelUnits": 1}
COMPLETES = ("SUCCEEDED", "COMPLETED")  # (execution status, the run's final status)
FAILS = ("FAILED", "FAILED")


def scripted_fine_tuning(
    name: str,
    summary: str,
    script: Callable[[LocalCloud], None],
    *,
    serving: dict[str, Any] | None = None,
    outcome: tuple[str, str] = COMPLETES,
) -> Scenario:
    """Fine-tuning on the support datasets while ``script`` makes the simulated Bedrock misbehave."""
    return Scenario(name, summary, fine_tuning(serving), SUPPORT_DATASETS, *outcome, script=script)
