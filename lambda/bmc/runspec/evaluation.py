"""Checking a run spec's ``evaluation`` block: every problem a located ``Finding``.

The block's parts are read with the evaluation package's own readers (``check_max_records``,
``InferenceSettings.from_dict``, ``JudgeConfig.from_dict``, ``Gate.from_dict``), whose
``FieldError`` names the field; this module adds what needs the rest of the spec: the model can
be evaluated, the base model can be asked in the region, the judge is one the deployment allows,
a gate has a base model to compare with. docs/run-spec.md lists the codes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bmc.catalog.models import Model, UnsupportedRegionError
from bmc.evaluation.dataset import DEFAULT_MAX_RECORDS, check_max_records
from bmc.evaluation.gate import Gate
from bmc.evaluation.generation import InferenceSettings
from bmc.evaluation.judge import JUDGE_MODEL_ID, JudgeConfig
from bmc.evaluation.metrics import METRICS, ordered
from bmc.findings import FieldError
from bmc.runspec.model import EVALUATION_FIELDS, Evaluation, Serving
from bmc.validation import codes

if TYPE_CHECKING:
    from bmc.runspec.checker import FieldChecker

PATH = "evaluation"
MAX_SYSTEM_PROMPT_CHARS = 32_768

# Codes of the evaluation block (docs/run-spec.md).
MODEL_NOT_EVALUABLE = "MODEL_NOT_EVALUABLE"
BASE_NOT_INVOCABLE = "BASE_NOT_INVOCABLE"
JUDGE_NOT_ALLOWED = "JUDGE_NOT_ALLOWED"
GATE_WITHOUT_BASE = "GATE_WITHOUT_BASE"


def check_evaluation(
    check: FieldChecker,
    value: Any,
    test_data: str | None,
    *,
    model: Model | None,
    serving: Serving,
    region: str | None,
    allowed_judges: Sequence[str] | None,
) -> Evaluation | None:
    """The normalized block, or None (absent, or wrong: the errors are in ``check``).

    ``test_data``: the block's testData, already checked as an S3 URI in the datasets bucket.
    ``allowed_judges``: the deployment's judge models (None: any, for offline checks).
    """
    if value is None:
        return None
    if not check.expect(value, Mapping, PATH, "an object"):
        return None
    errors_before = len(check.errors)
    check.unknown_fields(value, EVALUATION_FIELDS, PATH)

    def read(reader: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return reader(*args, **kwargs)
        except FieldError as exc:
            check.error(_at(exc.field), exc.code, str(exc))
            return None

    max_records = DEFAULT_MAX_RECORDS
    if value.get("maxRecords") is not None:
        max_records = read(check_max_records, value["maxRecords"]) or DEFAULT_MAX_RECORDS
    compare = True
    if value.get("compareWithBase") is not None and check.expect(
        value["compareWithBase"], bool, f"{PATH}.compareWithBase", "true or false"
    ):
        compare = bool(value["compareWithBase"])
    metrics = _metrics(check, value.get("metrics"))
    inference = read(InferenceSettings.from_dict, _object(check, value, "inference")) or InferenceSettings()
    system_prompt = _system_prompt(check, value.get("systemPrompt"))
    judge_data = _object(check, value, "judge")
    judge = None if judge_data is None else read(JudgeConfig.from_dict, judge_data)
    if judge is not None:
        _check_judge(check, judge, allowed_judges)
    gate = None
    gate_data = _object(check, value, "gate")
    if gate_data is not None:
        gate = read(Gate.from_dict, gate_data, metrics=metrics, judge=judge_data is not None)
        if not compare:
            check.error(
                f"{PATH}.gate",
                GATE_WITHOUT_BASE,
                "a gate compares the custom model with its base model: it needs compareWithBase true",
            )
    tolerated = _percentage(check, value.get("toleratedFailurePercentage"))
    if model is not None:
        _check_model(check, model, compare=compare, serving=serving, region=region)
    if len(check.errors) != errors_before or test_data is None:
        return None
    return Evaluation(
        test_data=test_data,
        max_records=max_records,
        compare_with_base=compare,
        metrics=metrics,
        inference=inference,
        system_prompt=system_prompt,
        judge=judge,
        gate=gate,
        tolerated_failure_percentage=tolerated,
    )


def _at(field: str | None) -> str:
    return f"{PATH}.{field}" if field else PATH


def _object(check: FieldChecker, value: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    item = value.get(name)
    if item is None or not check.expect(item, Mapping, _at(name), "an object"):
        return None
    return item  # type: ignore[no-any-return]


def _metrics(check: FieldChecker, value: Any) -> tuple[str, ...]:
    """The metrics to compute, in canonical order (default: every judge-free metric)."""
    path = _at("metrics")
    if value is None:
        return METRICS
    if not check.expect(value, list, path, "a list of metric names"):
        return METRICS
    if not value:
        check.error(
            path, codes.EMPTY_VALUE, f"{path} is empty: omit it for every metric ({', '.join(METRICS)})"
        )
        return METRICS
    names = [check.choice(name, f"{path}[{index}]", METRICS) for index, name in enumerate(value)]
    return ordered([name for name in names if name is not None]) or METRICS


def _system_prompt(check: FieldChecker, value: Any) -> str | None:
    path = _at("systemPrompt")
    if value is None or not check.expect(value, str, path, "a string"):
        return None
    if not value.strip():
        check.error(path, codes.EMPTY_VALUE, f"{path} is empty: omit it to send no system prompt")
        return None
    if len(value) > MAX_SYSTEM_PROMPT_CHARS:
        check.error(
            path, codes.VALUE_TOO_LONG, f"{path} is longer than {MAX_SYSTEM_PROMPT_CHARS:,} characters"
        )
        return None
    return str(value)


def _percentage(check: FieldChecker, value: Any) -> float | None:
    path = _at("toleratedFailurePercentage")
    if value is None or not check.expect(value, (int, float), path, "a number"):
        return None
    if not math.isfinite(value) or not 0 <= value <= 100:
        check.error(path, codes.INVALID_VALUE, f"{path} must be between 0 and 100; got {value}")
        return None
    return float(value)


def _check_judge(check: FieldChecker, judge: JudgeConfig, allowed: Sequence[str] | None) -> None:
    path = _at("judge.modelId")
    if not JUDGE_MODEL_ID.fullmatch(judge.model_id):
        check.error(
            path,
            codes.INVALID_VALUE,
            f"{judge.model_id!r} is not a foundation model or system inference profile id "
            "(a custom model cannot judge)",
        )
    elif allowed is not None and judge.model_id not in allowed:
        offered = ", ".join(allowed) or "none (set the evaluation.judgeModels configuration key)"
        check.error(
            path,
            JUDGE_NOT_ALLOWED,
            f"{judge.model_id} is not a judge this deployment may call; allowed: {offered}",
        )


def _check_model(
    check: FieldChecker, model: Model, *, compare: bool, serving: Serving, region: str | None
) -> None:
    if not model.inference.evaluable:
        check.error(
            PATH,
            MODEL_NOT_EVALUABLE,
            f"{model.customization_id} produces no text to score: its custom models cannot be evaluated",
        )
        return
    if serving.mode == "none" and not (model.provisioned_throughput or model.on_demand_deployment):
        check.error(
            PATH,
            MODEL_NOT_EVALUABLE,
            f"{model.customization_id} custom models cannot be served, not even for an evaluation",
        )
    if compare and region is not None:
        try:
            model.inference.base_model_id(region)
        except UnsupportedRegionError as exc:
            check.error(
                _at("compareWithBase"),
                BASE_NOT_INVOCABLE,
                f"{model.plain_id}: {exc}; set compareWithBase to false to evaluate the custom model alone",
            )
