"""The customizations the workflow runs end to end: fine-tuning served and evaluated, continued
pre-training, distillation, on-demand deployment.
"""

from __future__ import annotations

from localcloud.scenarios.runs import (
    EVALUATED_DATASETS,
    EVALUATION,
    NOVA_MICRO,
    PROVISIONED,
    SUPPORT_DATASETS,
    fine_tuning,
)
from localcloud.scenarios.scenario import Dataset, Scenario

NOVA_PRO_TEACHER = "amazon.nova-pro-v1:0"
TITAN_EXPRESS = "amazon.titan-text-express-v1"


CUSTOMIZATION: tuple[Scenario, ...] = (
    Scenario(
        "fine-tuning-provisioned",
        "Fine-tune Nova Micro, serve it with provisioned throughput and evaluate it against its base",
        fine_tuning(PROVISIONED, evaluation=EVALUATION),
        EVALUATED_DATASETS,
        "SUCCEEDED",
        "IN_SERVICE",
        expect_serving_left="provisioned",
    ),
    Scenario(
        "continued-pre-training",
        "Continued pre-training of Titan Text Express on unlabeled manuals",
        {
            "runName": "router-manuals",
            "baseModel": TITAN_EXPRESS,
            "customizationType": "CONTINUED_PRE_TRAINING",
            "trainingData": "s3://{datasets}/datasets/manuals/train.jsonl",
            "hyperparameters": {"epochCount": 1},
        },
        (Dataset("datasets/manuals/train.jsonl", "pretraining", 300),),
        "SUCCEEDED",
        "COMPLETED",
    ),
    Scenario(
        "distillation",
        "Distil Nova Pro into Nova Micro from prompts only",
        {
            "runName": "support-distilled",
            "baseModel": NOVA_MICRO,
            "customizationType": "DISTILLATION",
            "trainingData": "s3://{datasets}/datasets/prompts/train.jsonl",
            "distillation": {"teacherModel": NOVA_PRO_TEACHER, "maxResponseLength": 1000},
        },
        (Dataset("datasets/prompts/train.jsonl", "distillation", 150),),
        "SUCCEEDED",
        "COMPLETED",
    ),
    Scenario(
        "on-demand",
        "Fine-tune Nova Micro and deploy it for on-demand inference",
        fine_tuning({"mode": "on-demand"}),
        SUPPORT_DATASETS,
        "SUCCEEDED",
        "IN_SERVICE",
        expect_serving_left="on-demand",
    ),
)
