"""Where a model comes from: the dataset version it trained on, the run it refines, its base
model's lifecycle.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from localcloud import samples
from localcloud.cloud import LocalCloud
from localcloud.scenarios.runs import (
    COMPLETES,
    FAILS,
    SUPPORT_DATASETS,
    fine_tuning,
    scripted_fine_tuning,
)
from localcloud.scenarios.scenario import Dataset, Scenario

NOVA_MICRO_VARIANT = "amazon.nova-micro-v1:0:128k"
COHERE_LIGHT = "cohere.command-light-text-v14"
LEGACY_END_OF_LIFE = datetime(2026, 9, 30, tzinfo=UTC)


def _overwrite_after_validation(cloud: LocalCloud) -> None:
    """Someone replaces the training data right after ValidateDatasets read it."""

    def overwrite() -> None:
        cloud.upload("datasets/support/train.jsonl", samples.jsonl("conversation", 40))

    cloud.after_function("validate_datasets", overwrite)


def _legacy_nova_micro(cloud: LocalCloud) -> None:
    """AWS marks the base model LEGACY, with an end-of-life date."""
    cloud.bedrock.foundation_models = tuple(
        replace(model, lifecycle_status="LEGACY", end_of_life_time=LEGACY_END_OF_LIFE)
        if model.model_id == NOVA_MICRO_VARIANT
        else model
        for model in cloud.bedrock.foundation_models
    )


# Runs that chained scenarios build on: a Nova Micro fine-tune, and a Cohere one (a family the
# catalog allows no further customization for).
_SUPPORT_BASE = Scenario(
    "support-base",
    "Fine-tune Nova Micro on the support datasets",
    fine_tuning(runName="support-base"),
    SUPPORT_DATASETS,
    *COMPLETES,
)
_COHERE_BASE = Scenario(
    "cohere-base",
    "Fine-tune Cohere Command Light on prompt/completion pairs",
    {
        "runName": "cohere-base",
        "baseModel": COHERE_LIGHT,
        "customizationType": "FINE_TUNING",
        "trainingData": "s3://{datasets}/datasets/support/pairs.jsonl",
    },
    (Dataset("datasets/support/pairs.jsonl", "prompt-completion", 160),),
    *COMPLETES,
)
_REFINE_DATASET = (Dataset("datasets/support/refine.jsonl", "conversation", 120),)


def _refined(base: str, customization_type: str = "FINE_TUNING") -> dict[str, Any]:
    return {
        "runName": "support-refined",
        "baseModel": base,
        "customizationType": customization_type,
        "trainingData": "s3://{datasets}/datasets/support/refine.jsonl",
        "hyperparameters": {"epochCount": 1},
    }


LINEAGE: tuple[Scenario, ...] = (
    scripted_fine_tuning(
        "dataset-overwritten",
        "The training data is overwritten right after validation: the job trains the validated version",
        _overwrite_after_validation,
    ),
    Scenario(
        "chain-fine-tuning",
        "Fine-tune Nova Micro, then fine-tune the result further (run:<runId>): the lineage shows both",
        _refined("run:{parent}"),
        _REFINE_DATASET,
        *COMPLETES,
        parent=_SUPPORT_BASE,
    ),
    Scenario(
        "chain-refused",
        "Fine-tuning a Cohere custom model again is refused before anything starts",
        _refined("run:{parent}"),
        _REFINE_DATASET,
        *FAILS,
        parent=_COHERE_BASE,
    ),
    scripted_fine_tuning(
        "legacy-base-model",
        "The base model is LEGACY: the run trains with a warning naming its end of life",
        _legacy_nova_micro,
    ),
)
