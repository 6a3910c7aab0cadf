"""The run spec (manifest): schema, validation with located errors, and derived names.

A run spec says what to customize and how to serve it (docs/run-spec.md is the reference,
docs/run-spec.schema.json the JSON Schema). It arrives as a manifest object in S3, as the
console's execution input or inside the API's envelope. Validation never stops at the first
problem: every error is a ``Finding`` naming the source, the line (when the spec was parsed
from text), the field as a JSON path and a stable code.

A valid spec is normalized: the base model becomes its customization id, hyperparameters
become the string map Bedrock takes (defaults filled), serving gets the deployment's defaults.
The normalized form (``RunSpec.to_dict``) is what the state machine and the registry carry;
it validates again unchanged.

Names of everything a run creates derive from the run id (docs/workflow.md), so a retried
Lambda reuses them and Bedrock's idempotency and name uniqueness work for us.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from bmc.catalog import CUSTOMIZATION_TYPES, Model, UnknownModelError, resolve_model, resolve_teacher
from bmc.errors import ConfigurationError, InvalidTaskInput, RunSpecInvalid
from bmc.findings import Finding
from bmc.hyperparameters import UNSUPPORTED_CUSTOMIZATION_TYPE, check_hyperparameters
from bmc.s3io import bedrock_s3_uri_problem, parse_s3_uri
from bmc.validation import codes
from bmc.validation.validator import MAX_VALIDATION_FILES

EXECUTION_INPUT = "execution input"
DEFAULT_SERVING_SOURCE = "DEFAULT_SERVING"

SERVING_MODES = ("none", "provisioned", "on-demand")
COMMITMENTS = ("none", "OneMonth", "SixMonths")
MAX_MODEL_UNITS = 100
MAX_TTL_HOURS = 24 * 365
MAX_RESPONSE_LENGTH = 32_768
MAX_MANIFEST_BYTES = 64 * 1024  # the spec travels in the state, which Step Functions caps at 256 KB
# Bedrock accepts 50 tags per resource; the workflow adds these two to every job and model.
WORKFLOW_TAG_KEYS = ("bmc:runId", "bmc:prefix")
MAX_USER_TAGS = 50 - len(WORKFLOW_TAG_KEYS)
MAX_TAG_KEY_LENGTH = 128
MAX_TAG_VALUE_LENGTH = 256
RESERVED_TAG_PREFIXES = ("aws:", "bmc:")

# Finding codes of the run spec (docs/run-spec.md lists them). Codes shared with the dataset
# validator come from bmc.validation.codes.
DUPLICATE_KEY = "DUPLICATE_KEY"
MODEL_NOT_ALLOWED = "MODEL_NOT_ALLOWED"
UNKNOWN_TEACHER = "UNKNOWN_TEACHER"
TEACHER_NOT_SUPPORTED = "TEACHER_NOT_SUPPORTED"
SERVING_NOT_SUPPORTED = "SERVING_NOT_SUPPORTED"
COMMITMENT_WITH_TTL = "COMMITMENT_WITH_TTL"
TOO_MANY_TAGS = "TOO_MANY_TAGS"
INVALID_TAG = "INVALID_TAG"
RESERVED_TAG = "RESERVED_TAG"
INVALID_RUN_ID = "INVALID_RUN_ID"
MANIFEST_UNREADABLE = "MANIFEST_UNREADABLE"
MANIFEST_TOO_LARGE = "MANIFEST_TOO_LARGE"
DATA_OUTSIDE_DATASETS_BUCKET = "DATA_OUTSIDE_DATASETS_BUCKET"

FIELDS = (
    "$schema",
    "runName",
    "baseModel",
    "customizationType",
    "trainingData",
    "validationData",
    "hyperparameters",
    "distillation",
    "serving",
    "tags",
    "notify",
)
DISTILLATION_FIELDS = ("teacherModel", "maxResponseLength")
SERVING_FIELDS = ("mode", "modelUnits", "commitment", "ttlHours")
NOTIFY_FIELDS = ("onSuccess",)

# Execution names: Step Functions allows more, but the run id also appears in S3 keys, tag
# values and resource names, whose patterns are stricter.
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
_RUN_NAME = re.compile(r"^[A-Za-z0-9 ._-]{1,64}$")
_TAG_TEXT = re.compile(r"^[a-zA-Z0-9\s._:/=+@-]*$")  # Bedrock's TagKey/TagValue pattern
_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_LAST_SEGMENT = re.compile(r"(\.[^.\[]+|\[[^\]]*\])$")
_WHITESPACE = re.compile(r"[ \t\n\r]*")

# Name lengths: Bedrock names are at most 63 characters; the longest suffix is 6.
MAX_NAME_LENGTH = 63
_LONGEST_SUFFIX = len("-model")
_RUN_SLUG_LENGTH = 30
_RUN_HASH_LENGTH = 10
MANIFEST_SLUG_LENGTH = 30
MANIFEST_HASH_LENGTH = 16


# --- the normalized spec -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Distillation:
    teacher_model: str
    max_response_length: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"teacherModel": self.teacher_model}
        if self.max_response_length is not None:
            data["maxResponseLength"] = self.max_response_length
        return data


@dataclass(frozen=True, slots=True)
class Serving:
    mode: str = "none"
    model_units: int = 1
    commitment: str = "none"
    ttl_hours: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "modelUnits": self.model_units,
            "commitment": self.commitment,
            "ttlHours": self.ttl_hours,
        }


@dataclass(frozen=True, slots=True)
class RunSpec:
    run_name: str
    base_model: str  # the customization id
    customization_type: str
    training_data: str
    validation_data: tuple[str, ...] = ()
    hyperparameters: Mapping[str, str] = field(default_factory=dict)  # rendered, defaults filled
    distillation: Distillation | None = None
    serving: Serving = Serving()
    tags: Mapping[str, str] = field(default_factory=dict)
    notify_on_success: bool = True

    @property
    def model(self) -> Model:
        return resolve_model(self.base_model)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "runName": self.run_name,
            "baseModel": self.base_model,
            "customizationType": self.customization_type,
            "trainingData": self.training_data,
            "validationData": list(self.validation_data),
            "hyperparameters": dict(self.hyperparameters),
            "serving": self.serving.to_dict(),
            "tags": dict(self.tags),
            "notify": {"onSuccess": self.notify_on_success},
        }
        if self.distillation is not None:
            data["distillation"] = self.distillation.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunSpec:
        """Read a normalized spec back (from the state or the registry)."""
        return load_spec(data)


@dataclass(frozen=True, slots=True)
class SpecCheck:
    spec: RunSpec | None
    errors: list[Finding]

    @property
    def ok(self) -> bool:
        return self.spec is not None and not self.errors


# --- entry points ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _SpecOptions:
    """The keyword options of the entry points, built once and passed along as one value."""

    source: str = EXECUTION_INPUT
    default_run_name: str | None = None
    default_serving: Mapping[str, Any] | None = None
    allowed_base_models: Sequence[str] = ()
    region: str | None = None
    datasets_bucket: str | None = None


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
    options = _SpecOptions(
        source, default_run_name, default_serving, allowed_base_models, region, datasets_bucket
    )
    return _checked(_validate(data, options), source)


def load_spec_text(
    text: str | bytes,
    *,
    source: str,
    default_run_name: str | None = None,
    default_serving: Mapping[str, Any] | None = None,
    allowed_base_models: Sequence[str] = (),
    region: str | None = None,
    datasets_bucket: str | None = None,
) -> RunSpec:
    """Parse and validate a manifest's text; errors carry line numbers."""
    options = _SpecOptions(
        source, default_run_name, default_serving, allowed_base_models, region, datasets_bucket
    )
    return _checked(_parse_text(text, options), source)


def _checked(check: SpecCheck, source: str) -> RunSpec:
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


def parse_spec_text(
    text: str | bytes,
    *,
    source: str,
    default_run_name: str | None = None,
    default_serving: Mapping[str, Any] | None = None,
    allowed_base_models: Sequence[str] = (),
    region: str | None = None,
    datasets_bucket: str | None = None,
) -> SpecCheck:
    """Parse JSON text (syntax errors give their line) and validate the spec it holds."""
    options = _SpecOptions(
        source, default_run_name, default_serving, allowed_base_models, region, datasets_bucket
    )
    return _parse_text(text, options)


def _parse_text(text: str | bytes, options: _SpecOptions) -> SpecCheck:
    source = options.source
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            message = f"not valid UTF-8 at byte {exc.start + 1}: save the manifest as UTF-8"
            return SpecCheck(None, [Finding(source, None, None, codes.INVALID_UTF8, message)])
    text = text.removeprefix("\ufeff")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        return SpecCheck(None, [Finding(source, exc.lineno, None, codes.INVALID_JSON, message)])
    except RecursionError:
        return SpecCheck(
            None, [Finding(source, None, None, codes.INVALID_JSON, "not valid JSON: nested too deeply")]
        )
    lines, duplicates = locate_fields(text)
    check = _validate(data, options, lines)
    duplicate_errors = [
        Finding(
            source,
            line,
            path,
            DUPLICATE_KEY,
            f"{path} is given more than once; only the last value would count",
        )
        for path, line in duplicates
    ]
    # Reported in the order of the text; file-level findings (no line) last.
    errors = sorted(duplicate_errors + check.errors, key=lambda f: f.line if f.line is not None else math.inf)
    return SpecCheck(None if errors else check.spec, errors)


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
) -> SpecCheck:
    """Validate a spec given as data (a parsed JSON object)."""
    options = _SpecOptions(
        source, default_run_name, default_serving, allowed_base_models, region, datasets_bucket
    )
    return _validate(data, options, lines)


def _validate(data: Any, options: _SpecOptions, lines: Mapping[str, int] | None = None) -> SpecCheck:
    check = _Checker(options.source, lines or {})
    if not isinstance(data, Mapping):
        check.error(None, codes.NOT_AN_OBJECT, f"a run spec must be a JSON object, got {_json_type(data)}")
        return SpecCheck(None, check.errors)
    defaults = serving_defaults(options.default_serving)
    check.unknown_fields(data, FIELDS, "")
    run_name = _run_name(check, data, options.default_run_name)
    model = _base_model(check, data, options.allowed_base_models, options.region)
    customization_type = _customization_type(check, data)
    training = _s3_object(check, data.get("trainingData"), "trainingData", required=True)
    validation = _validation_data(check, data.get("validationData"))
    if options.datasets_bucket:
        _in_datasets_bucket(check, training, validation, options.datasets_bucket)
    hyperparameters: dict[str, str] = {}
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
    serving = _serving(check, data.get("serving"), defaults, model, path="serving")
    tags = _tags(check, data.get("tags"))
    notify_on_success = _notify(check, data.get("notify"))
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
    )
    return SpecCheck(spec, [])


def serving_defaults(raw: Mapping[str, Any] | None) -> Serving:
    """The deployment's serving defaults (env DEFAULT_SERVING), checked like a spec's block."""
    if not raw:
        return Serving()
    check = _Checker(DEFAULT_SERVING_SOURCE, {})
    serving = _serving(check, raw, Serving(), None, path="")
    if check.errors:
        problems = "; ".join(f.message for f in check.errors)
        raise ConfigurationError(f"environment variable DEFAULT_SERVING is invalid: {problems}")
    return serving


# --- field checks ------------------------------------------------------------------------------


class _Checker:
    def __init__(self, source: str, lines: Mapping[str, int]) -> None:
        self.source = source
        self.lines = lines
        self.errors: list[Finding] = []

    def error(self, path: str | None, code: str, message: str) -> None:
        self.errors.append(Finding(self.source, self.line(path), path or None, code, message))

    def line(self, path: str | None) -> int | None:
        """The line of the field, else of its closest enclosing field that appears in the text."""
        while path:
            if path in self.lines:
                return self.lines[path]
            parent = _LAST_SEGMENT.sub("", path)
            if parent == path:  # a top-level field
                return None
            path = parent
        return None

    def unknown_fields(self, data: Mapping[str, Any], known: Sequence[str], path: str) -> None:
        for key in data:
            if key not in known:
                child = join_path(path, str(key))
                self.error(
                    child, codes.UNKNOWN_FIELD, f"unknown field {key!r}{_did_you_mean(str(key), known)}"
                )

    def expect(self, value: Any, kind: type | tuple[type, ...], path: str, what: str) -> bool:
        """True when ``value`` has the type; JSON booleans are never numbers."""
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            ok = False
        else:
            ok = isinstance(value, kind)
        if not ok:
            self.error(path, codes.WRONG_TYPE, f"{path} must be {what}, got {_json_type(value)}")
        return ok

    def integer(self, value: Any, path: str, low: int, high: int) -> int | None:
        if not self.expect(value, int, path, "an integer"):
            return None
        if not low <= value <= high:
            self.error(path, codes.INVALID_VALUE, f"{path} must be between {low} and {high}; got {value}")
            return None
        return int(value)

    def choice(self, value: Any, path: str, allowed: Sequence[str]) -> str | None:
        if not self.expect(value, str, path, f"one of {', '.join(allowed)}"):
            return None
        if value not in allowed:
            self.error(
                path,
                codes.INVALID_VALUE,
                f"{path} must be one of {', '.join(allowed)}; got {value!r}{_did_you_mean(value, allowed)}",
            )
            return None
        return str(value)


def _run_name(check: _Checker, data: Mapping[str, Any], default: str | None) -> str | None:
    value = data.get("runName")
    if value is None:
        return default
    if not check.expect(value, str, "runName", "a string"):
        return None
    if not _RUN_NAME.match(value) or not any(c.isalnum() for c in value):
        check.error(
            "runName",
            codes.INVALID_VALUE,
            "runName must be 1-64 characters: letters, digits, spaces, '.', '_' or '-', with at least one "
            f"letter or digit; got {value!r}",
        )
        return None
    return str(value)


def _base_model(
    check: _Checker, data: Mapping[str, Any], allowed_base_models: Sequence[str], region: str | None
) -> Model | None:
    value = data.get("baseModel")
    if value is None:
        check.error(
            "baseModel", codes.MISSING_FIELD, "baseModel is required: the id of the model to customize"
        )
        return None
    if not check.expect(value, str, "baseModel", "a model id string"):
        return None
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


def _customization_type(check: _Checker, data: Mapping[str, Any]) -> str | None:
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


def _s3_object(check: _Checker, value: Any, path: str, *, required: bool) -> str | None:
    if value is None:
        if required:
            check.error(path, codes.MISSING_FIELD, f"{path} is required: the s3:// URI of a JSONL file")
        return None
    if not check.expect(value, str, path, "an s3:// URI string"):
        return None
    problem = bedrock_s3_uri_problem(value)
    if problem is None:
        _, key = parse_s3_uri(value)
        if not key or key.endswith("/"):
            problem = f"{value!r} names a prefix, not a file: give the URI of the JSONL object"
    if problem is not None:
        check.error(path, codes.INVALID_S3_URI, problem)
        return None
    return str(value)


def _in_datasets_bucket(
    check: _Checker, training: str | None, validation: Sequence[str], datasets_bucket: str
) -> None:
    """Bedrock's service role reads the deployment's datasets bucket only: data elsewhere would fail late."""
    located = [("trainingData", training)] + [
        (f"validationData[{i}]", uri) for i, uri in enumerate(validation)
    ]
    for path, uri in located:
        if uri is not None and parse_s3_uri(uri)[0] != datasets_bucket:
            check.error(
                path,
                DATA_OUTSIDE_DATASETS_BUCKET,
                f"{uri} is outside the datasets bucket {datasets_bucket}, the only bucket the Bedrock service "
                "role may read: copy the file there",
            )


def _validation_data(check: _Checker, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        check.error(
            "validationData",
            codes.WRONG_TYPE,
            f'validationData must be a list of s3:// URIs, e.g. ["{value}"]',
        )
        return ()
    if not check.expect(value, list, "validationData", "a list of s3:// URIs"):
        return ()
    if len(value) > MAX_VALIDATION_FILES:
        check.error(
            "validationData",
            codes.TOO_MANY_VALIDATION_FILES,
            f"{len(value)} validation files; Bedrock accepts at most {MAX_VALIDATION_FILES}",
        )
    uris = [
        _s3_object(check, item, f"validationData[{index}]", required=True) for index, item in enumerate(value)
    ]
    return tuple(uri for uri in uris if uri is not None)


def _hyperparameters(
    check: _Checker, data: Mapping[str, Any], model: Model, customization_type: str, has_validation_data: bool
) -> dict[str, str]:
    value = data.get("hyperparameters")
    if value is not None and not check.expect(
        value, Mapping, "hyperparameters", "an object of name to value"
    ):
        return {}
    result = check_hyperparameters(
        model, customization_type, value, has_validation_data=has_validation_data, source=check.source
    )
    for finding in result.errors:
        check.error(finding.field, finding.code, finding.message)
    return dict(result.values)


def _distillation(
    check: _Checker,
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


def _serving(check: _Checker, value: Any, defaults: Serving, model: Model | None, *, path: str) -> Serving:
    """The serving block merged over ``defaults`` field by field."""
    if value is None:
        value = {}
    elif not check.expect(value, Mapping, path or "serving", "an object"):
        return defaults
    check.unknown_fields(value, SERVING_FIELDS, path)

    def at(name: str) -> str:
        return join_path(path, name)

    mode = defaults.mode
    if "mode" in value:
        mode = check.choice(value["mode"], at("mode"), SERVING_MODES) or defaults.mode
    units = defaults.model_units
    if value.get("modelUnits") is not None:
        units = (
            check.integer(value["modelUnits"], at("modelUnits"), 1, MAX_MODEL_UNITS) or defaults.model_units
        )
    commitment = defaults.commitment
    if value.get("commitment") is not None:
        commitment = check.choice(value["commitment"], at("commitment"), COMMITMENTS) or defaults.commitment
    ttl = defaults.ttl_hours
    if "ttlHours" in value:
        ttl = (
            None
            if value["ttlHours"] is None
            else check.integer(value["ttlHours"], at("ttlHours"), 1, MAX_TTL_HOURS)
        )

    if mode != "provisioned":
        if value.get("commitment") not in (None, "none"):
            check.error(at("commitment"), codes.INVALID_VALUE, "commitment applies only to mode provisioned")
        commitment = "none"  # a default commitment means nothing without provisioned throughput
    if mode == "none":
        if value.get("ttlHours") is not None:
            check.error(at("ttlHours"), codes.INVALID_VALUE, "ttlHours applies only when the model is served")
        ttl = None
    if commitment != "none" and ttl is not None:
        culprit = at("ttlHours") if value.get("ttlHours") is not None else at("commitment")
        check.error(
            culprit,
            COMMITMENT_WITH_TTL,
            f"a throughput committed for {commitment} cannot be deleted before its term, so ttlHours cannot "
            "apply: remove ttlHours or set commitment to none",
        )
    if model is not None:
        if mode == "provisioned" and not model.provisioned_throughput:
            check.error(
                at("mode"),
                SERVING_NOT_SUPPORTED,
                f"{model.customization_id} custom models cannot be served with provisioned throughput",
            )
        if mode == "on-demand" and not model.on_demand_deployment:
            origin = "" if "mode" in value else f" (the deployment's default serving mode; set {at('mode')})"
            check.error(
                at("mode"),
                SERVING_NOT_SUPPORTED,
                f"{model.customization_id} custom models cannot be deployed on demand{origin}; "
                "use provisioned or none",
            )
    return Serving(mode=mode, model_units=units, commitment=commitment, ttl_hours=ttl)


def _tags(check: _Checker, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not check.expect(value, Mapping, "tags", "an object of tag key to value"):
        return {}
    if len(value) > MAX_USER_TAGS:
        check.error(
            "tags",
            TOO_MANY_TAGS,
            f"{len(value)} tags; at most {MAX_USER_TAGS} (Bedrock allows 50 per resource and the workflow adds "
            f"{', '.join(WORKFLOW_TAG_KEYS)})",
        )
    tags: dict[str, str] = {}
    for key, tag_value in value.items():
        path = join_path("tags", key)
        if not 1 <= len(key) <= MAX_TAG_KEY_LENGTH or not _TAG_TEXT.match(key):
            check.error(
                path,
                INVALID_TAG,
                f"tag key {key!r} must be 1-{MAX_TAG_KEY_LENGTH} characters: letters, digits, spaces and . _ : / = + @ -",
            )
            continue
        if key.lower().startswith(RESERVED_TAG_PREFIXES):
            check.error(path, RESERVED_TAG, f"tag key {key!r}: the prefixes aws: and bmc: are reserved")
            continue
        if not check.expect(tag_value, str, path, "a string"):
            continue
        if len(tag_value) > MAX_TAG_VALUE_LENGTH or not _TAG_TEXT.match(tag_value):
            check.error(
                path,
                INVALID_TAG,
                f"tag value {tag_value!r} must be at most {MAX_TAG_VALUE_LENGTH} characters: letters, digits, "
                "spaces and . _ : / = + @ -",
            )
            continue
        tags[key] = tag_value
    return tags


def _notify(check: _Checker, value: Any) -> bool:
    if value is None:
        return True
    if not check.expect(value, Mapping, "notify", "an object"):
        return True
    check.unknown_fields(value, NOTIFY_FIELDS, "notify")
    on_success = value.get("onSuccess", True)
    if not check.expect(on_success, bool, "notify.onSuccess", "true or false"):
        return True
    return bool(on_success)


# --- JSON paths and lines ----------------------------------------------------------------------


def join_path(path: str, key: str) -> str:
    """``serving`` + ``modelUnits`` -> ``serving.modelUnits``; odd keys are quoted: ``tags["cost center"]``."""
    if _IDENTIFIER.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def locate_fields(text: str) -> tuple[dict[str, int], list[tuple[str, int]]]:
    """The line of every field path in a valid JSON document, and the duplicated keys.

    Object members map to the line of their key, array items to the line where they start.
    """
    newlines = [index for index, char in enumerate(text) if char == "\n"]
    lines: dict[str, int] = {}
    duplicates: list[tuple[str, int]] = []
    decoder = json.JSONDecoder()

    def line_at(position: int) -> int:
        return bisect_right(newlines, position) + 1

    def skip(position: int) -> int:
        match = _WHITESPACE.match(text, position)
        return match.end() if match else position

    def value(position: int, path: str) -> int:
        position = skip(position)
        char = text[position]
        if char == "{":
            return members(position, path)
        if char == "[":
            return items(position, path)
        _, end = decoder.raw_decode(text, position)
        return int(end)

    def members(position: int, path: str) -> int:
        seen: set[str] = set()
        position = skip(position + 1)
        if text[position] == "}":
            return position + 1
        while True:
            key_position = skip(position)
            key, position = decoder.raw_decode(text, key_position)
            child = join_path(path, key)
            if key in seen:
                duplicates.append((child, line_at(key_position)))
            seen.add(key)
            lines[child] = line_at(key_position)  # the last occurrence is the value that counts
            position = skip(value(skip(position) + 1, child))
            if text[position] != ",":
                return position + 1
            position += 1

    def items(position: int, path: str) -> int:
        position = skip(position + 1)
        if text[position] == "]":
            return position + 1
        index = 0
        while True:
            start = skip(position)
            child = f"{path}[{index}]"
            lines[child] = line_at(start)
            position = skip(value(start, child))
            index += 1
            if text[position] != ",":
                return position + 1
            position += 1

    try:
        value(0, "")
    except RecursionError:
        return {}, []
    return lines, duplicates


# --- where a spec comes from --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ManifestRef:
    """The manifest object an S3-triggered run reads (``{"manifest": {...}}`` input)."""

    bucket: str
    key: str
    version_id: str | None = None
    etag: str | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def to_dict(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "key": self.key, "versionId": self.version_id, "etag": self.etag}


@dataclass(frozen=True, slots=True)
class RunInput:
    """An execution input sorted by source: the console's spec, an S3 manifest or the API's envelope."""

    source: dict[str, Any]  # recorded on the run: {"type": "console" | "s3" | "api", ...}
    location: str  # names the spec in findings: the manifest URI or "execution input"
    default_run_name: str
    data: Any = None  # the spec itself (console, API)
    manifest: ManifestRef | None = None


def classify_input(state: Any, run_id: str) -> RunInput:
    """Tell the three execution inputs apart (docs/workflow.md, "Execution input")."""
    if isinstance(state, Mapping) and isinstance(state.get("manifest"), Mapping):
        raw = state["manifest"]
        bucket, key = raw.get("bucket"), raw.get("key")
        if not isinstance(bucket, str) or not isinstance(key, str) or not bucket or not key:
            raise InvalidTaskInput("manifest input needs a bucket and a key")
        version, etag = raw.get("versionId"), raw.get("etag")
        ref = ManifestRef(
            bucket,
            key,
            version if isinstance(version, str) else None,
            etag if isinstance(etag, str) else None,
        )
        return RunInput(
            source={"type": "s3", "uri": ref.uri, **ref.to_dict()},
            location=ref.uri,
            default_run_name=slug(manifest_stem(key), MAX_NAME_LENGTH) or run_id,
            manifest=ref,
        )
    if isinstance(state, Mapping) and "spec" in state and isinstance(state.get("source"), Mapping):
        return RunInput(
            source={"type": "api", **state["source"]},
            location=EXECUTION_INPUT,
            default_run_name=run_id,
            data=state["spec"],
        )
    return RunInput(source={"type": "console"}, location=EXECUTION_INPUT, default_run_name=run_id, data=state)


def load_run_spec(
    run_input: RunInput,
    *,
    read_manifest: Callable[[ManifestRef], bytes],
    default_serving: Mapping[str, Any] | None = None,
    allowed_base_models: Sequence[str] = (),
    region: str | None = None,
    datasets_bucket: str | None = None,
) -> RunSpec:
    """The validated spec of a run, read from S3 when it came as a manifest."""
    options = _SpecOptions(
        run_input.location,
        run_input.default_run_name,
        default_serving,
        allowed_base_models,
        region,
        datasets_bucket,
    )
    if run_input.manifest is None:
        return _checked(_validate(run_input.data, options), options.source)
    return _checked(_parse_text(read_manifest(run_input.manifest), options), options.source)


def read_manifest_from_s3(ref: ManifestRef, s3_client: Any) -> bytes:
    """The manifest's bytes; a missing, unreadable or oversized manifest is a RunSpecInvalid."""

    def invalid(code: str, message: str) -> RunSpecInvalid:
        finding = Finding(ref.uri, None, None, code, message)
        return RunSpecInvalid(describe_findings([finding], ref.uri), [finding])

    request: dict[str, Any] = {"Bucket": ref.bucket, "Key": ref.key}
    if ref.version_id:
        request["VersionId"] = ref.version_id
    elif ref.etag:
        request["IfMatch"] = ref.etag  # unversioned bucket: refuse a manifest replaced since the event
    try:
        response = s3_client.get_object(**request)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        raise invalid(MANIFEST_UNREADABLE, f"cannot read the manifest: {code}: {exc}") from exc
    size = response.get("ContentLength")
    body = response["Body"]
    try:
        content: bytes = body.read(MAX_MANIFEST_BYTES + 1)
    finally:
        body.close()
    if (size is not None and size > MAX_MANIFEST_BYTES) or len(content) > MAX_MANIFEST_BYTES:
        raise invalid(
            MANIFEST_TOO_LARGE,
            f"the manifest is larger than {MAX_MANIFEST_BYTES:,} bytes; a run spec is a few hundred bytes",
        )
    return content


# --- run ids and names -------------------------------------------------------------------------


def run_id_problem(run_id: str) -> str | None:
    """Why ``run_id`` cannot name a run (it appears in S3 keys, tags and resource names), or None."""
    if RUN_ID_PATTERN.match(run_id):
        return None
    return (
        f"the run id (execution name) {run_id!r} must be 1-80 characters: letters, digits, '.', '_' or '-', "
        "starting with a letter or digit"
    )


def slug(text: str, max_length: int) -> str:
    """Lowercase letters and digits joined by single hyphens, cut to ``max_length``."""
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return words[:max_length].rstrip("-")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def manifest_stem(key: str) -> str:
    """The manifest's file name without ``.json``: the default run name of an S3 run."""
    name = key.rsplit("/", 1)[-1]
    return name[: -len(".json")] if name.lower().endswith(".json") else name


def manifest_run_id(bucket: str, key: str, version_id: str | None) -> str:
    """``m-<slug of the file name>-<16 hex of sha256(bucket/key#versionId)>`` (docs/workflow.md)."""
    digest = _sha256(f"{bucket}/{key}#{version_id or ''}")[:MANIFEST_HASH_LENGTH]
    return f"m-{slug(manifest_stem(key), MANIFEST_SLUG_LENGTH) or 'manifest'}-{digest}"


@dataclass(frozen=True, slots=True)
class RunNames:
    """Names of everything a run creates; deterministic, so retries reuse them."""

    stem: str

    @property
    def job_name(self) -> str:
        return f"{self.stem}-job"

    @property
    def custom_model_name(self) -> str:
        return f"{self.stem}-model"

    @property
    def client_request_token(self) -> str:
        return self.stem

    @property
    def provisioned_model_name(self) -> str:
        return f"{self.stem}-pt"

    @property
    def deployment_name(self) -> str:
        return f"{self.stem}-serve"

    @property
    def schedule_name(self) -> str:
        return f"{self.stem}-ttl"

    def to_dict(self) -> dict[str, str]:
        return {
            "jobName": self.job_name,
            "customModelName": self.custom_model_name,
            "clientRequestToken": self.client_request_token,
            "provisionedModelName": self.provisioned_model_name,
            "deploymentName": self.deployment_name,
            "scheduleName": self.schedule_name,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunNames:
        return cls(str(data["clientRequestToken"]))


def derive_names(prefix: str, run_id: str, run_name: str) -> RunNames:
    """``<prefix>-<slug(runName)>-<10 hex of sha256(runId)>``, the stem of every name.

    The slug takes up to 30 characters, fewer when a long prefix would push the longest name
    (``<stem>-model``) past Bedrock's 63.
    """
    room = MAX_NAME_LENGTH - _LONGEST_SUFFIX - len(prefix) - 2 - _RUN_HASH_LENGTH
    run_slug = slug(run_name, max(1, min(_RUN_SLUG_LENGTH, room))) or "run"
    return RunNames(f"{prefix}-{run_slug}-{_sha256(run_id)[:_RUN_HASH_LENGTH]}")


# --- helpers -----------------------------------------------------------------------------------


def _did_you_mean(value: str, known: Sequence[str]) -> str:
    by_lower = {k.lower(): k for k in known}
    guess = by_lower.get(value.lower()) or next(
        iter(difflib.get_close_matches(value, list(known), n=1, cutoff=0.6)), None
    )
    return (
        f"; did you mean {guess!r}?"
        if guess
        else f" (known: {', '.join(k for k in known if k != '$schema')})"
    )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__
