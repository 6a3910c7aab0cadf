"""Runs evaluated against their base model: the gate, temporary serving, throttling, an LLM judge,
records that fail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from localcloud.bedrock import ScriptedError, throttling
from localcloud.cloud import LocalCloud
from localcloud.scenarios.runs import (
    COMPLETES,
    EVALUATED_DATASETS,
    EVALUATION,
    FAILS,
    PROVISIONED,
    fine_tuning,
)
from localcloud.scenarios.scenario import Scenario


def _evaluated(
    name: str,
    summary: str,
    evaluation: dict[str, Any],
    *,
    serving: dict[str, Any] | None = None,
    script: Callable[[LocalCloud], None] = lambda cloud: None,
    outcome: tuple[str, str] = COMPLETES,
) -> Scenario:
    """Fine-tuning with an evaluation of the custom model against its base (served only for the
    evaluation unless ``serving`` says otherwise)."""
    block = {"testData": EVALUATION["testData"], **evaluation}
    manifest = fine_tuning(serving or {"mode": "none"}, evaluation=block)
    return Scenario(name, summary, manifest, EVALUATED_DATASETS, *outcome, script=script)


def _failing_converse(error: ScriptedError | str, count: int = 1) -> Callable[[LocalCloud], None]:
    """The first ``count`` Converse calls (the evaluation's first answers) fail with ``error``."""
    return lambda cloud: cloud.bedrock.fail_next("Converse", error, count=count)


EVALUATIONS: tuple[Scenario, ...] = (
    _evaluated(
        "evaluation-gate-rejected",
        "The custom model does not beat its base by the gate's margin: REJECTED, throughput deleted",
        {"gate": {"metric": "rougeL", "minDelta": 0.5, "onFail": "undeploy"}},
        serving=PROVISIONED,
        outcome=("SUCCEEDED", "REJECTED"),
    ),
    _evaluated(
        "evaluation-temporary-serving",
        "A run that serves nothing is deployed on demand for its evaluation, then undeployed",
        {"gate": {"metric": "tokenF1", "minDelta": 0.05}},
    ),
    _evaluated(
        "evaluation-throttled",
        "Converse is throttled at first: the batches back off and retry, no record is lost",
        {"metrics": ["tokenF1", "rougeL"]},
        script=_failing_converse(throttling(), count=5),
    ),
    _evaluated(
        "evaluation-judge",
        "An LLM judge rates both models' answers; the gate is on the judge's score",
        {"judge": {"modelId": "amazon.nova-pro-v1:0"}, "gate": {"metric": "judge", "minDelta": 0.2}},
    ),
    _evaluated(
        "evaluation-record-fails",
        "One record fails for good: it is counted and reported, within the tolerated 5%",
        {"toleratedFailurePercentage": 5},
        script=_failing_converse("ModelErrorException"),
    ),
    _evaluated(
        "evaluation-model-unusable",
        "The served model refuses every call: the evaluation fails and cleanup undeploys it",
        {},
        script=_failing_converse("AccessDeniedException"),
        outcome=FAILS,
    ),
)
