"""The run spec's normalized form and the constants its checks share.

A valid spec is normalized: the base model becomes its customization id, hyperparameters
become the string map Bedrock takes (defaults filled), serving gets the deployment's defaults.
The normalized form (``RunSpec.to_dict``) is what the state machine and the registry carry;
it validates again unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bmc.catalog.models import Model, resolve_model
from bmc.evaluation.dataset import DEFAULT_MAX_RECORDS
from bmc.evaluation.gate import Gate
from bmc.evaluation.generation import InferenceSettings
from bmc.evaluation.judge import JudgeConfig
from bmc.evaluation.metrics import METRICS
from bmc.findings import Finding
from bmc.validation import codes as validation_codes

EXECUTION_INPUT = "execution input"
DEFAULT_SERVING_SOURCE = "DEFAULT_SERVING"

SERVING_MODES = ("none", "provisioned", "on-demand")
COMMITMENTS = ("none", "OneMonth", "SixMonths")
IDLE_ACTIONS = ("notify", "delete")  # what the idle guard does with a serving nobody calls
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
UNKNOWN_TEACHER = validation_codes.UNKNOWN_TEACHER  # shared with `bmc validate --teacher-model`
TEACHER_NOT_SUPPORTED = validation_codes.TEACHER_NOT_SUPPORTED
SERVING_NOT_SUPPORTED = "SERVING_NOT_SUPPORTED"
COMMITMENT_WITH_TTL = "COMMITMENT_WITH_TTL"
COMMITMENT_WITH_IDLE_DELETE = "COMMITMENT_WITH_IDLE_DELETE"
TOO_MANY_TAGS = "TOO_MANY_TAGS"
INVALID_TAG = "INVALID_TAG"
RESERVED_TAG = "RESERVED_TAG"
INVALID_RUN_ID = "INVALID_RUN_ID"
MANIFEST_UNREADABLE = "MANIFEST_UNREADABLE"
MANIFEST_TOO_LARGE = "MANIFEST_TOO_LARGE"
DATA_OUTSIDE_DATASETS_BUCKET = "DATA_OUTSIDE_DATASETS_BUCKET"
DATA_NOT_IN_TEAM_PREFIXES = "DATA_NOT_IN_TEAM_PREFIXES"
MANIFEST_OUTSIDE_TEAM = "MANIFEST_OUTSIDE_TEAM"
INVALID_MANIFEST_LOCATION = "INVALID_MANIFEST_LOCATION"
# A base model naming an earlier run's custom model (docs/run-spec.md, "Building on a previous run").
PARENT_NOT_FOUND = "PARENT_NOT_FOUND"
PARENT_NOT_READY = "PARENT_NOT_READY"
PARENT_NOT_RESOLVED = "PARENT_NOT_RESOLVED"
CHAIN_NOT_SUPPORTED = "CHAIN_NOT_SUPPORTED"
RUN_BASE_PREFIX = "run:"

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
    "evaluation",
    "validation",
)
DISTILLATION_FIELDS = ("teacherModel", "maxResponseLength")
SERVING_FIELDS = ("mode", "modelUnits", "commitment", "ttlHours", "idleAction")
NOTIFY_FIELDS = ("onSuccess",)
EVALUATION_FIELDS = (
    "testData",
    "maxRecords",
    "compareWithBase",
    "metrics",
    "inference",
    "systemPrompt",
    "judge",
    "gate",
    "toleratedFailurePercentage",
)
VALIDATION_FIELDS = ("allow",)

# Execution names: Step Functions allows more, but the run id also appears in S3 keys, tag
# values and resource names, whose patterns are stricter.


# --- the normalized spec -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParentModel:
    """The custom model of an earlier run that this run customizes further, as the registry
    recorded it (never as an input claims it): ``baseModel`` ``run:<runId>`` or a custom model ARN.

    The normalized spec's ``baseModel`` is then the root foundation model (its hyperparameters
    and data formats apply); the job's ``baseModelIdentifier`` is ``custom_model_arn``.
    """

    reference: str  # the baseModel as the spec gave it
    run_id: str
    custom_model_arn: str
    customization_type: str  # how the parent model was made
    chain: tuple[Mapping[str, Any], ...] = ()  # the parent's own lineage chain, the parent's step last

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "runId": self.run_id,
            "customModelArn": self.custom_model_arn,
            "customizationType": self.customization_type,
            "chain": [dict(step) for step in self.chain],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ParentModel:
        return cls(
            reference=str(data["reference"]),
            run_id=str(data["runId"]),
            custom_model_arn=str(data["customModelArn"]),
            customization_type=str(data["customizationType"]),
            chain=tuple(dict(step) for step in data.get("chain") or ()),
        )


class ParentRefusedError(Exception):
    """A base model reference that names no usable earlier model; ``code`` is a finding code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# Resolves ``run:<runId>`` or a custom model ARN to (the parent, the root foundation model id);
# raises ParentRefusedError. Built over the registry for the run's owner (bmc.lineage.parents).
ParentResolver = Callable[[str], tuple[ParentModel, str]]


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
    idle_action: str = "notify"

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "modelUnits": self.model_units,
            "commitment": self.commitment,
            "ttlHours": self.ttl_hours,
            "idleAction": self.idle_action,
        }


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The evaluation after serving (docs/evaluation.md); ``tolerated_failure_percentage`` None
    means the deployment's default."""

    test_data: str
    max_records: int = DEFAULT_MAX_RECORDS
    compare_with_base: bool = True
    metrics: tuple[str, ...] = METRICS
    inference: InferenceSettings = field(default_factory=InferenceSettings)
    system_prompt: str | None = None
    judge: JudgeConfig | None = None
    gate: Gate | None = None
    tolerated_failure_percentage: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "testData": self.test_data,
            "maxRecords": self.max_records,
            "compareWithBase": self.compare_with_base,
            "metrics": list(self.metrics),
            "inference": self.inference.to_dict(),
        }
        if self.system_prompt is not None:
            data["systemPrompt"] = self.system_prompt
        if self.judge is not None:
            data["judge"] = self.judge.to_dict()
        if self.gate is not None:
            data["gate"] = self.gate.to_dict()
        if self.tolerated_failure_percentage is not None:
            data["toleratedFailurePercentage"] = self.tolerated_failure_percentage
        return data


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
    evaluation: Evaluation | None = None
    validation_allow: tuple[str, ...] = ()  # finding codes acknowledged for this run
    parent: ParentModel | None = None  # set when baseModel named an earlier run's model

    @property
    def model(self) -> Model:
        return resolve_model(self.base_model)

    @property
    def base_model_identifier(self) -> str:
        """What the job customizes: the parent's custom model, else the foundation model."""
        return self.parent.custom_model_arn if self.parent is not None else self.base_model

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
        if self.evaluation is not None:
            data["evaluation"] = self.evaluation.to_dict()
        if self.validation_allow:
            data["validation"] = {"allow": list(self.validation_allow)}
        if self.parent is not None:
            data["parent"] = self.parent.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunSpec:
        """Read a normalized spec back (from the state or the registry). Its ``parent`` was
        resolved through the registry when the spec was first checked; it is kept as it is."""
        from bmc.runspec.checks import load_spec  # the checks build specs: imported when used

        body = {key: value for key, value in data.items() if key != "parent"}
        spec = load_spec(body)
        parent = data.get("parent")
        if isinstance(parent, Mapping):
            return replace(spec, parent=ParentModel.from_dict(parent))
        return spec


def as_given(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A normalized spec in the form a user writes it: ``baseModel`` back to the reference the
    parent was resolved from, so checking it again resolves the parent again."""
    data = {key: value for key, value in spec.items() if key != "parent"}
    parent = spec.get("parent")
    if isinstance(parent, Mapping) and isinstance(parent.get("reference"), str):
        data["baseModel"] = parent["reference"]
    return data


def is_parent_reference(value: str) -> bool:
    """``run:<runId>`` or a custom model ARN (rather than a foundation model id or ARN)."""
    return value.startswith(RUN_BASE_PREFIX) or ":custom-model/" in value


@dataclass(frozen=True, slots=True)
class SpecCheck:
    spec: RunSpec | None
    errors: list[Finding]

    @property
    def ok(self) -> bool:
        return self.spec is not None and not self.errors
