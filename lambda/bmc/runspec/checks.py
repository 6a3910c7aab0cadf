"""Checking a run spec given as data: every problem a ``Finding`` with its field path.

Validation never stops at the first problem: every error names the source, the line (when
the spec was parsed from text), the field as a JSON path and a stable code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bmc.catalog.hyperparameters import UNSUPPORTED_CUSTOMIZATION_TYPE, check_hyperparameters
from bmc.catalog.models import (
    CUSTOMIZATION_TYPES,
    Model,
    UnknownModelError,
    arn_region,
    resolve_model,
    resolve_teacher,
)
from bmc.errors import ConfigurationError, RunSpecInvalid
from bmc.findings import Finding
from bmc.runspec.bounds import bounds_findings
from bmc.runspec.checker import FieldChecker, json_type_phrase
from bmc.runspec.evaluation import check_evaluation
from bmc.runspec.locations import in_data_scope, s3_object, validation_data
from bmc.runspec.model import (
    CHAIN_NOT_SUPPORTED,
    DEFAULT_SERVING_SOURCE,
    DISTILLATION_FIELDS,
    EXECUTION_INPUT,
    FIELDS,
    MAX_RESPONSE_LENGTH,
    MODEL_NOT_ALLOWED,
    PARENT_NOT_RESOLVED,
    TEACHER_NOT_SUPPORTED,
    UNKNOWN_TEACHER,
    Distillation,
    ParentModel,
    ParentRefusedError,
    ParentResolver,
    RunSpec,
    Serving,
    SpecCheck,
    is_parent_reference,
)
from bmc.runspec.names import MAX_NAME_LENGTH, slug
from bmc.runspec.option_checks import check_notify, check_serving, check_tags, check_validation_options
from bmc.validation import codes

_RUN_NAME = re.compile(r"[A-Za-z0-9 ._-]{1,64}")

# --- entry points ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpecOptions:
    """The keyword options of the entry points, built once and passed along as one value."""

    source: str = EXECUTION_INPUT
    default_run_name: str | None = None
    default_serving: Mapping[str, Any] | None = None
    allowed_base_models: Sequence[str] = ()
    region: str | None = None
    datasets_bucket: str | None = None
    data_prefixes: Sequence[str] | None = None  # the owner's prefixes in the datasets bucket; None: any
    allowed_judge_models: Sequence[str] | None = None  # the deployment's judges; None: any
    resolve_parent: ParentResolver | None = None  # baseModel run:<id> / custom model ARN, via the registry


def load_spec(
    data: Any,
    *,
    source: str = EXECUTION_INPUT,
    default_run_name: str | None = None,
    default_serving: Mapping[str, Any] | None = None,
    allowed_base_models: Sequence[str] = (),
    region: str | None = None,
    datasets_bucket: str | None = None,
) -> RunSpec:
    """Validate a spec given as data; raise RunSpecInvalid listing every problem."""
    options = SpecOptions(
        source, default_run_name, default_serving, allowed_base_models, region, datasets_bucket
    )
    return checked(check_spec(data, options), source)


def checked(check: SpecCheck, source: str) -> RunSpec:
    if check.spec is None or check.errors:
        raise RunSpecInvalid(describe_findings(check.errors, source), check.errors)
    return check.spec


def describe_findings(
    findings: Sequence[Finding], source: str, *, listed: int = 5, total: int | None = None
) -> str:
    """One line for an error message: the count (``total`` when only some are listed), then the first findings."""
    count = len(findings) if total is None else total
    shown = "; ".join(_describe(finding, source) for finding in findings[:listed])
    shown_count = min(len(findings), listed)
    more = f"; and {count - shown_count} more" if count > shown_count else ""
    return f"{count} problem{'s' if count != 1 else ''} in {source}: {shown}{more}"


def _describe(finding: Finding, source: str) -> str:
    if finding.file == source:
        where = f"line {finding.line} " if finding.line is not None else ""
    else:
        where = f"{finding.location()} "
    field_path = f"{finding.field} " if finding.field else ""
    return f"{where}{field_path}{finding.code}: {finding.message}"


def validate_spec(
    data: Any,
    *,
    source: str = EXECUTION_INPUT,
    lines: Mapping[str, int] | None = None,
    default_run_name: str | None = None,
    default_serving: Mapping[str, Any] | None = None,
    allowed_base_models: Sequence[str] = (),
    region: str | None = None,
    datasets_bucket: str | None = None,
    data_prefixes: Sequence[str] | None = None,
    allowed_judge_models: Sequence[str] | None = None,
    resolve_parent: ParentResolver | None = None,
) -> SpecCheck:
    """Validate a spec given as data (a parsed JSON object)."""
    options = SpecOptions(
        source,
        default_run_name,
        default_serving,
        allowed_base_models,
        region,
        datasets_bucket,
        data_prefixes,
        allowed_judge_models,
        resolve_parent,
    )
    return check_spec(data, options, lines)


def check_spec(data: Any, options: SpecOptions, lines: Mapping[str, int] | None = None) -> SpecCheck:
    out_of_bounds = bounds_findings(data, options.source, lines)
    if out_of_bounds:
        return SpecCheck(None, out_of_bounds)
    check = FieldChecker(options.source, lines or {})
    if not isinstance(data, Mapping):
        check.error(
            None, codes.NOT_AN_OBJECT, f"a run spec must be a JSON object, got {json_type_phrase(data)}"
        )
        return SpecCheck(None, check.errors)
    defaults = serving_defaults(options.default_serving)
    check.unknown_fields(data, FIELDS, "")
    run_name = _run_name(check, data, options.default_run_name)
    parent, base_model_id = _parent(check, data, options.resolve_parent)
    model = _base_model(check, data, options.allowed_base_models, options.region, base_model_id)
    customization_type = _customization_type(check, data)
    training = s3_object(check, data.get("trainingData"), "trainingData", required=True)
    validation = validation_data(check, data.get("validationData"))
    test_data = _test_data(check, data.get("evaluation"))
    if options.datasets_bucket:
        in_data_scope(
            check, training, validation, options.datasets_bucket, options.data_prefixes, test_data=test_data
        )
    hyperparameters: dict[str, str] = {}
    if parent is not None and model is not None and customization_type is not None:
        _chain_supported(check, model, customization_type, parent)
    if model is not None and customization_type is not None:
        if not model.supports(customization_type):
            check.error(
                "customizationType",
                UNSUPPORTED_CUSTOMIZATION_TYPE,
                f"{model.customization_id} does not support {customization_type}; "
                f"it supports {', '.join(model.customization_types)}",
            )
        else:
            if validation and not model.allows_validation_data(customization_type):
                check.error(
                    "validationData",
                    codes.VALIDATION_DATA_NOT_ALLOWED,
                    f"{model.customization_id} {customization_type} does not take validation data",
                )
            hyperparameters = _hyperparameters(check, data, model, customization_type, bool(validation))
    distillation = _distillation(check, data, model, customization_type, options.region)
    serving = check_serving(check, data.get("serving"), defaults, model, path="serving")
    tags = check_tags(check, data.get("tags"))
    notify_on_success = check_notify(check, data.get("notify"))
    evaluation = check_evaluation(
        check,
        data.get("evaluation"),
        test_data,
        model=model,
        serving=serving,
        region=options.region,
        allowed_judges=options.allowed_judge_models,
    )
    validation_allow = check_validation_options(check, data.get("validation"))
    if check.errors or model is None or customization_type is None or training is None:
        return SpecCheck(None, check.errors)
    if run_name is None:
        run_name = slug(f"{model.plain_id} {customization_type}", MAX_NAME_LENGTH)
    spec = RunSpec(
        run_name=run_name,
        base_model=model.customization_id,
        customization_type=customization_type,
        training_data=training,
        validation_data=validation,
        hyperparameters=hyperparameters,
        distillation=distillation,
        serving=serving,
        tags=tags,
        notify_on_success=notify_on_success,
        evaluation=evaluation,
        validation_allow=validation_allow,
        parent=parent,
    )
    return SpecCheck(spec, [])


def serving_defaults(raw: Mapping[str, Any] | None) -> Serving:
    """The deployment's serving defaults (env DEFAULT_SERVING), checked like a spec's block."""
    if not raw:
        return Serving()
    check = FieldChecker(DEFAULT_SERVING_SOURCE, {})
    serving = check_serving(check, raw, Serving(), None, path="")
    if check.errors:
        problems = "; ".join(f.message for f in check.errors)
        raise ConfigurationError(f"environment variable DEFAULT_SERVING is invalid: {problems}")
    return serving


def _run_name(check: FieldChecker, data: Mapping[str, Any], default: str | None) -> str | None:
    value = data.get("runName")
    if value is None:
        return default
    if not check.expect(value, str, "runName", "a string"):
        return None
    if not _RUN_NAME.fullmatch(value) or not any(c.isalnum() for c in value):
        check.error(
            "runName",
            codes.INVALID_VALUE,
            "runName must be 1-64 characters: letters, digits, spaces, '.', '_' or '-', with at least one "
            f"letter or digit; got {value!r}",
        )
        return None
    return str(value)


def _parent(
    check: FieldChecker, data: Mapping[str, Any], resolve: ParentResolver | None
) -> tuple[ParentModel | None, str | None]:
    """The earlier run's model a ``run:<runId>`` or custom model ARN base names, and the root
    foundation model whose facts apply; (None, None) for a foundation model base."""
    value = data.get("baseModel")
    if not isinstance(value, str) or not is_parent_reference(value):
        return None, None
    if resolve is None:
        check.error(
            "baseModel",
            PARENT_NOT_RESOLVED,
            f"{value} names an earlier run's custom model, which only the deployment's registry can "
            "resolve; to check data locally give the foundation model the chain started from",
        )
        return None, None
    try:
        parent, root = resolve(value)
    except ParentRefusedError as exc:
        check.error("baseModel", exc.code, exc.message)
        return None, None
    return parent, root


def _chain_supported(check: FieldChecker, model: Model, customization_type: str, parent: ParentModel) -> None:
    """The catalog says whether a custom model of this family may be customized again, and how."""
    if model.customizes_from(customization_type, parent.customization_type):
        return
    allowed = [
        f"{child} on a {'/'.join(parents)} model" for child, parents in model.further_customization.items()
    ]
    offered = (
        f"; it allows {', '.join(allowed)}" if allowed else "; the catalog allows no further customization"
    )
    check.error(
        "baseModel",
        CHAIN_NOT_SUPPORTED,
        f"{parent.reference} is a {parent.customization_type} model of {model.customization_id}, which cannot "
        f"be customized again with {customization_type}{offered} (bmc models {model.plain_id})",
    )


def _base_model(
    check: FieldChecker,
    data: Mapping[str, Any],
    allowed_base_models: Sequence[str],
    region: str | None,
    root_model_id: str | None = None,
) -> Model | None:
    """The foundation model: the spec's baseModel, or the root of the chain a parent belongs to."""
    value = data.get("baseModel") if root_model_id is None else root_model_id
    if value is None:
        check.error(
            "baseModel", codes.MISSING_FIELD, "baseModel is required: the id of the model to customize"
        )
        return None
    if not check.expect(value, str, "baseModel", "a model id string"):
        return None
    if is_parent_reference(value):
        return None  # reported by _parent
    try:
        model = resolve_model(value)
    except UnknownModelError as exc:
        check.error("baseModel", codes.UNKNOWN_MODEL, str(exc))
        return None
    allowed = allowed_customization_ids(allowed_base_models)
    if allowed and model.customization_id not in allowed:
        check.error(
            "baseModel",
            MODEL_NOT_ALLOWED,
            f"{model.customization_id} is not allowed in this deployment; allowed: {', '.join(sorted(allowed))}",
        )
    if region is not None and not model.available_in(region):
        check.error(
            "baseModel",
            codes.MODEL_NOT_IN_REGION,
            f"{model.customization_id} cannot be customized in {region}; regions: {', '.join(model.regions)}",
        )
    elif region is not None and arn_region(value) not in (None, region):
        check.error(
            "baseModel",
            codes.MODEL_NOT_IN_REGION,
            f"{value} is a model of {arn_region(value)}; this deployment customizes in {region}",
        )
    return model


def allowed_customization_ids(allowed_base_models: Iterable[str]) -> frozenset[str]:
    """The deployment's allow-list as customization ids (entries may be any accepted id)."""
    ids = set()
    for entry in allowed_base_models:
        try:
            ids.add(resolve_model(entry).customization_id)
        except UnknownModelError:
            ids.add(entry)  # still matches nothing else; the config check reports unknown ids
    return frozenset(ids)


def _customization_type(check: FieldChecker, data: Mapping[str, Any]) -> str | None:
    value = data.get("customizationType")
    if value is None:
        check.error(
            "customizationType",
            codes.MISSING_FIELD,
            f"customizationType is required: one of {', '.join(CUSTOMIZATION_TYPES)}",
        )
        return None
    if isinstance(value, str) and value not in CUSTOMIZATION_TYPES:
        # "fine-tuning" or "Fine_Tuning": suggest the exact spelling rather than guess.
        normalized = value.strip().upper().replace("-", "_").replace(" ", "_")
        if normalized in CUSTOMIZATION_TYPES:
            check.error(
                "customizationType",
                codes.INVALID_VALUE,
                f"customizationType must be one of {', '.join(CUSTOMIZATION_TYPES)}; got {value!r}; "
                f"did you mean {normalized!r}?",
            )
            return None
    return check.choice(value, "customizationType", CUSTOMIZATION_TYPES)


def _test_data(check: FieldChecker, evaluation: Any) -> str | None:
    """The evaluation's test set URI (the rest of the block is checked by bmc.runspec.evaluation)."""
    if not isinstance(evaluation, Mapping):
        return None
    return s3_object(check, evaluation.get("testData"), "evaluation.testData", required=True)


def _hyperparameters(
    check: FieldChecker,
    data: Mapping[str, Any],
    model: Model,
    customization_type: str,
    has_validation_data: bool,
) -> dict[str, str]:
    value = data.get("hyperparameters")
    if value is not None and not check.expect(
        value, Mapping, "hyperparameters", "an object of name to value"
    ):
        return {}
    result = check_hyperparameters(model, customization_type, value, has_validation_data=has_validation_data)
    for finding in result.errors:  # located again: the field's line comes from the spec's text
        check.error(finding.field, finding.code, finding.message)
    return dict(result.values)


def _distillation(
    check: FieldChecker,
    data: Mapping[str, Any],
    model: Model | None,
    customization_type: str | None,
    region: str | None,
) -> Distillation | None:
    value = data.get("distillation")
    if customization_type != "DISTILLATION":
        if value is not None and customization_type is not None:
            check.error(
                "distillation",
                codes.INVALID_VALUE,
                f"distillation applies only to customizationType DISTILLATION, not {customization_type}",
            )
        return None
    if value is None:
        check.error(
            "distillation",
            codes.MISSING_FIELD,
            'DISTILLATION needs a distillation block: {"teacherModel": "<model id>", "maxResponseLength": <tokens>}',
        )
        return None
    if not check.expect(value, Mapping, "distillation", "an object"):
        return None
    check.unknown_fields(value, DISTILLATION_FIELDS, "distillation")
    max_length = None
    if value.get("maxResponseLength") is not None:
        max_length = check.integer(
            value["maxResponseLength"], "distillation.maxResponseLength", 1, MAX_RESPONSE_LENGTH
        )
    teacher_id = value.get("teacherModel")
    path = "distillation.teacherModel"
    if teacher_id is None:
        check.error(
            path, codes.MISSING_FIELD, "distillation.teacherModel is required: the teacher's model id"
        )
        return None
    if not check.expect(teacher_id, str, path, "a model id string"):
        return None
    try:
        teacher = resolve_teacher(teacher_id)
    except UnknownModelError as exc:
        check.error(path, UNKNOWN_TEACHER, str(exc))
        return None
    if model is not None and teacher.model_id not in model.distillation_teachers:
        offered = ", ".join(model.distillation_teachers) or "none"
        check.error(
            path,
            TEACHER_NOT_SUPPORTED,
            f"{teacher.model_id} cannot teach {model.customization_id}; its teachers: {offered}",
        )
    if region is not None and not teacher.available_in(region):
        check.error(
            path,
            codes.MODEL_NOT_IN_REGION,
            f"{teacher.model_id} is not available in {region}; regions: {', '.join(teacher.regions)}",
        )
    return Distillation(teacher.model_id, max_length)
