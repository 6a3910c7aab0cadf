"""What the simulated Bedrock holds: foundation models, scripts, jobs, models, throughputs and
deployments, the training curves it writes, and request helpers."""

from __future__ import annotations

import csv
import io
import json
import math
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, TypeVar

from localcloud.bedrock.errors import BedrockError, validation_error

BedrockEvent = dict[str, Any]
EventSink = Callable[[BedrockEvent], None]
JobOutcome = Literal["Completed", "Failed", "Stopped"]
JobPhase = Literal["validation", "dataProcessing", "training"]

JOB_RUNNING_STATUSES = ("InProgress", "Stopping")
JOB_TERMINAL_STATUSES = ("Completed", "Failed", "Stopped")
EVENT_SOURCE = "aws.bedrock"
EVENT_DETAIL_TYPE = "Model Customization Job State Change"

COMMITMENT_DAYS = {"OneMonth": 30, "SixMonths": 180}
# Share of a job's duration spent in each phase before training ends it.
PHASE_WEIGHTS: tuple[tuple[JobPhase, float], ...] = (
    ("validation", 0.1),
    ("dataProcessing", 0.1),
    ("training", 0.8),
)

# Request constraints Bedrock enforces server side (botocore checks types, not patterns).
JOB_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9\+\-\.])*")
RESOURCE_NAME = re.compile(r"([0-9a-zA-Z][_-]?){1,63}")
TOKEN = re.compile(r"[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?")
S3_URI = re.compile(
    r"s3://[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](?:/[-!_*'().a-z0-9A-Z]+(?:/[-!_*'().a-z0-9A-Z]+)*)?/?"
)
KMS_KEY_ID = re.compile(r"[a-zA-Z0-9-]{36}")
MAX_TAGS = 50


# --------------------------------------------------------------------------------------------
# Configuration: foundation models and scripts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FoundationModel:
    """A foundation model as GetFoundationModel describes it. ``regions=None``: every region."""

    model_id: str
    model_name: str
    provider_name: str
    customizations_supported: tuple[str, ...] = ()
    inference_types_supported: tuple[str, ...] = ("PROVISIONED",)
    input_modalities: tuple[str, ...] = ("TEXT",)
    output_modalities: tuple[str, ...] = ("TEXT",)
    regions: tuple[str, ...] | None = None
    lifecycle_status: str = "ACTIVE"
    supports_custom_model_deployment: bool = False
    end_of_life_time: datetime | None = None  # modelLifecycle.endOfLifeTime, announced for LEGACY models
    # Customization types a custom model of this model may be customized further with (the job
    # takes the custom model's ARN as baseModelIdentifier); AWS documents fine-tuning on a
    # fine-tuned or distilled model.
    customizations_of_custom_models: tuple[str, ...] = ()

    def arn(self, partition: str, region: str) -> str:
        return f"arn:{partition}:bedrock:{region}::foundation-model/{self.model_id}"

    def details(self, partition: str, region: str) -> dict[str, Any]:
        return {
            "modelArn": self.arn(partition, region),
            "modelId": self.model_id,
            "modelName": self.model_name,
            "providerName": self.provider_name,
            "inputModalities": list(self.input_modalities),
            "outputModalities": list(self.output_modalities),
            "responseStreamingSupported": True,
            "customizationsSupported": list(self.customizations_supported),
            "inferenceTypesSupported": list(self.inference_types_supported),
            "modelLifecycle": compact(
                {"status": self.lifecycle_status, "endOfLifeTime": self.end_of_life_time}
            ),
        }


_US_EAST_1 = ("us-east-1",)
_US_WEST_2 = ("us-west-2",)
_FT = ("FINE_TUNING",)
_FT_DISTILL = ("FINE_TUNING", "DISTILLATION")


def _llama(model_id: str, name: str, customizations: tuple[str, ...] = _FT) -> FoundationModel:
    return FoundationModel(
        model_id, name, "Meta", customizations, regions=_US_WEST_2, customizations_of_custom_models=_FT
    )


# The customizable model variants Bedrock documents, plus the on-demand models used as distillation
# teachers or named by their base id.
DEFAULT_FOUNDATION_MODELS: tuple[FoundationModel, ...] = (
    FoundationModel(
        "amazon.nova-micro-v1:0:128k",
        "Nova Micro",
        "Amazon",
        _FT_DISTILL,
        regions=_US_EAST_1,
        supports_custom_model_deployment=True,
        customizations_of_custom_models=_FT,
    ),
    FoundationModel(
        "amazon.nova-lite-v1:0:300k",
        "Nova Lite",
        "Amazon",
        _FT_DISTILL,
        input_modalities=("TEXT", "IMAGE", "VIDEO"),
        regions=_US_EAST_1,
        supports_custom_model_deployment=True,
        customizations_of_custom_models=_FT,
    ),
    FoundationModel(
        "amazon.nova-pro-v1:0:300k",
        "Nova Pro",
        "Amazon",
        _FT_DISTILL,
        input_modalities=("TEXT", "IMAGE", "VIDEO"),
        regions=_US_EAST_1,
        supports_custom_model_deployment=True,
        customizations_of_custom_models=_FT,
    ),
    FoundationModel(
        "amazon.nova-2-lite-v1:0:256k",
        "Nova 2 Lite",
        "Amazon",
        ("FINE_TUNING", "REINFORCEMENT_FINE_TUNING"),
        input_modalities=("TEXT", "IMAGE", "VIDEO"),
        regions=_US_EAST_1,
        supports_custom_model_deployment=True,
    ),
    FoundationModel(
        "anthropic.claude-3-haiku-20240307-v1:0:200k",
        "Claude 3 Haiku",
        "Anthropic",
        _FT,
        input_modalities=("TEXT", "IMAGE"),
        regions=_US_WEST_2,
        customizations_of_custom_models=_FT,
    ),
    _llama("meta.llama3-1-8b-instruct-v1:0:128k", "Llama 3.1 8B Instruct", _FT_DISTILL),
    _llama("meta.llama3-1-70b-instruct-v1:0:128k", "Llama 3.1 70B Instruct", _FT_DISTILL),
    _llama("meta.llama3-2-1b-instruct-v1:0:128k", "Llama 3.2 1B Instruct", _FT_DISTILL),
    _llama("meta.llama3-2-3b-instruct-v1:0:128k", "Llama 3.2 3B Instruct", _FT_DISTILL),
    _llama("meta.llama3-2-11b-instruct-v1:0:128k", "Llama 3.2 11B Instruct"),
    _llama("meta.llama3-2-90b-instruct-v1:0:128k", "Llama 3.2 90B Instruct"),
    FoundationModel(
        "meta.llama3-3-70b-instruct-v1:0:128k",
        "Llama 3.3 70B Instruct",
        "Meta",
        _FT_DISTILL,
        regions=_US_WEST_2,
        supports_custom_model_deployment=True,
        customizations_of_custom_models=_FT,
    ),
    FoundationModel(
        "amazon.titan-text-express-v1:0:8k",
        "Titan Text G1 - Express",
        "Amazon",
        ("FINE_TUNING", "CONTINUED_PRE_TRAINING"),
        regions=("us-east-1", "us-west-2"),
        customizations_of_custom_models=_FT,
    ),
    FoundationModel(
        "amazon.titan-text-lite-v1:0:4k",
        "Titan Text G1 - Lite",
        "Amazon",
        ("FINE_TUNING", "CONTINUED_PRE_TRAINING"),
        regions=("us-east-1", "us-west-2"),
        customizations_of_custom_models=_FT,
    ),
    FoundationModel(
        "amazon.titan-text-premier-v1:0:32k",
        "Titan Text G1 - Premier",
        "Amazon",
        _FT,
        regions=_US_EAST_1,
    ),
    FoundationModel("cohere.command-text-v14:7:4k", "Command", "Cohere", _FT, regions=_US_EAST_1),
    FoundationModel("cohere.command-light-text-v14:7:4k", "Command Light", "Cohere", _FT, regions=_US_EAST_1),
    # On-demand models: distillation teachers and the plain ids of customizable models.
    FoundationModel("amazon.nova-micro-v1:0", "Nova Micro", "Amazon", (), ("ON_DEMAND",), regions=_US_EAST_1),
    FoundationModel("amazon.nova-lite-v1:0", "Nova Lite", "Amazon", (), ("ON_DEMAND",), regions=_US_EAST_1),
    FoundationModel("amazon.nova-pro-v1:0", "Nova Pro", "Amazon", (), ("ON_DEMAND",), regions=_US_EAST_1),
    # Offered only through a system inference profile: no on-demand invocation by model id.
    FoundationModel(
        "amazon.nova-premier-v1:0", "Nova Premier", "Amazon", (), ("INFERENCE_PROFILE",), regions=_US_EAST_1
    ),
    FoundationModel(
        "meta.llama3-1-405b-instruct-v1:0",
        "Llama 3.1 405B Instruct",
        "Meta",
        (),
        ("ON_DEMAND",),
        regions=_US_WEST_2,
    ),
    FoundationModel(
        "meta.llama3-1-70b-instruct-v1:0",
        "Llama 3.1 70B Instruct",
        "Meta",
        (),
        ("ON_DEMAND",),
        regions=_US_WEST_2,
    ),
    FoundationModel(
        "meta.llama3-3-70b-instruct-v1:0",
        "Llama 3.3 70B Instruct",
        "Meta",
        (),
        ("INFERENCE_PROFILE",),
        regions=_US_WEST_2,
    ),
    # The base models evaluations compare with (bmc.catalog's inference.base_model_ids): served
    # on demand by plain id, or only through a system inference profile ("INFERENCE_PROFILE").
    FoundationModel(
        "amazon.nova-2-lite-v1:0", "Nova 2 Lite", "Amazon", (), ("INFERENCE_PROFILE",), regions=_US_EAST_1
    ),
    FoundationModel(
        "anthropic.claude-3-haiku-20240307-v1:0",
        "Claude 3 Haiku",
        "Anthropic",
        (),
        ("ON_DEMAND",),
        regions=_US_WEST_2,
    ),
    FoundationModel(
        "meta.llama3-1-8b-instruct-v1:0",
        "Llama 3.1 8B Instruct",
        "Meta",
        (),
        ("ON_DEMAND",),
        regions=_US_WEST_2,
    ),
    *(
        FoundationModel(
            f"meta.llama3-2-{size}-instruct-v1:0",
            f"Llama 3.2 {size.upper()} Instruct",
            "Meta",
            (),
            ("INFERENCE_PROFILE",),
            regions=_US_WEST_2,
        )
        for size in ("1b", "3b", "11b", "90b")
    ),
    FoundationModel("amazon.titan-text-express-v1", "Titan Text G1 - Express", "Amazon", (), ("ON_DEMAND",)),
    FoundationModel("amazon.titan-text-lite-v1", "Titan Text G1 - Lite", "Amazon", (), ("ON_DEMAND",)),
    FoundationModel(
        "amazon.titan-text-premier-v1:0",
        "Titan Text G1 - Premier",
        "Amazon",
        (),
        ("ON_DEMAND",),
        regions=_US_EAST_1,
    ),
    FoundationModel("cohere.command-text-v14", "Command", "Cohere", (), ("ON_DEMAND",), regions=_US_EAST_1),
    FoundationModel(
        "cohere.command-light-text-v14", "Command Light", "Cohere", (), ("ON_DEMAND",), regions=_US_EAST_1
    ),
)


@dataclass(frozen=True)
class JobScript:
    """How a customization job behaves.

    ``duration_seconds``: simulated time from creation to the outcome (None: the simulator's
    default). ``failure_phase``: the phase reported as Failed. ``lose_event``: the terminal
    event is dropped, as EventBridge delivery is best effort.
    """

    outcome: JobOutcome = "Completed"
    duration_seconds: float | None = None
    failure_message: str = "Internal error: the training process terminated unexpectedly."
    failure_phase: JobPhase = "training"
    lose_event: bool = False


@dataclass(frozen=True)
class ProvisioningScript:
    """How a provisioned throughput or a custom model deployment comes up."""

    fail: bool = False
    delay_seconds: float | None = None
    failure_message: str = "Insufficient capacity to provision the requested model units."


# --------------------------------------------------------------------------------------------
# Resources
# --------------------------------------------------------------------------------------------


@dataclass
class SimJob:
    job_id: str
    job_arn: str
    job_name: str
    custom_model_name: str
    role_arn: str
    base_model_id: str
    base_model_arn: str  # the foundation model (GetModelCustomizationJob's FoundationModelArn)
    customization_type: str
    training_data_config: dict[str, Any]
    validation_data_config: dict[str, Any] | None
    output_data_config: dict[str, Any]
    hyper_parameters: dict[str, str]
    client_request_token: str | None
    custom_model_kms_key_id: str | None
    vpc_config: dict[str, Any] | None
    customization_config: dict[str, Any] | None
    job_tags: list[dict[str, str]]
    custom_model_tags: list[dict[str, str]]
    script: JobScript
    creation_time: datetime
    due_time: datetime
    status: str = "InProgress"
    last_modified_time: datetime | None = None
    end_time: datetime | None = None
    failure_message: str | None = None
    failure_phase: JobPhase | None = None
    stop_requested_time: datetime | None = None
    stop_due_time: datetime | None = None
    inputs_checked: bool = False
    output_model_arn: str | None = None
    training_loss: float | None = None
    validation_loss: float | None = None
    artifact_keys: list[str] = field(default_factory=list)
    # The custom model a job customized further (baseModelIdentifier a custom model ARN): what
    # GetCustomModel reports as the new model's baseModelArn.
    parent_model_arn: str | None = None

    @property
    def running(self) -> bool:
        return self.status in JOB_RUNNING_STATUSES

    @property
    def output_prefix(self) -> tuple[str, str]:
        """(bucket, key prefix) of this job's artifacts in the output location."""
        bucket, _, prefix = self.output_data_config["s3Uri"][len("s3://") :].partition("/")
        prefix = prefix.strip("/")
        folder = f"model-customization-job-{self.job_id}"
        return bucket, f"{prefix}/{folder}" if prefix else folder


@dataclass
class SimCustomModel:
    model_id: str
    model_arn: str
    model_name: str
    job: SimJob
    model_kms_key_arn: str | None
    creation_time: datetime
    status: str = "Active"


@dataclass
class SimThroughput:
    throughput_id: str
    arn: str
    name: str
    model_arn: str
    foundation_model_arn: str
    model_units: int
    commitment_duration: str | None
    script: ProvisioningScript
    creation_time: datetime
    due_time: datetime
    status: str = "Creating"
    last_modified_time: datetime | None = None
    failure_message: str | None = None
    commitment_expiration_time: datetime | None = None


@dataclass
class SimDeployment:
    deployment_id: str
    arn: str
    name: str
    model_arn: str
    description: str | None
    script: ProvisioningScript
    creation_time: datetime
    due_time: datetime
    status: str = "Creating"
    last_updated_time: datetime | None = None
    failure_message: str | None = None


# --------------------------------------------------------------------------------------------
# Training metrics
# --------------------------------------------------------------------------------------------


def epoch_count(hyper_parameters: dict[str, str], default: int = 2) -> int:
    try:
        return max(1, min(100, int(float(hyper_parameters.get("epochCount", default)))))
    except ValueError:
        return default


def training_curves(
    job_id: str, epochs: int, steps_per_epoch: int
) -> tuple[list[tuple[int, int, float]], list[tuple[int, int, float]]]:
    """Deterministic (per job) loss curves: ``[(step, epoch, loss)]`` for training and validation.

    The smooth part decays exponentially; the per-step noise alternates in sign so that it
    cancels within an epoch (steps_per_epoch is even): every epoch's mean loss is lower than
    the previous epoch's.
    """
    rng = random.Random(job_id)
    start = 2.2 + 0.6 * rng.random()
    floor = 0.35 + 0.2 * rng.random()
    total = epochs * steps_per_epoch

    def smooth(step: int) -> float:
        return floor + (start - floor) * math.exp(-3.5 * step / total)

    training: list[tuple[int, int, float]] = []
    validation: list[tuple[int, int, float]] = []
    # Bedrock's step_number starts at 0 (epoch_number at 1).
    for step in range(total):
        epoch = step // steps_per_epoch + 1
        amplitude = 0.03 * (smooth(step + 1) - floor) * (0.5 + rng.random())
        noise = -amplitude if step % 2 else amplitude
        training.append((step, epoch, round(smooth(step + 1) + noise, 6)))
        if (step + 1) % steps_per_epoch == 0:
            validation.append((step, epoch, round(smooth(step + 1) * 1.06 + 0.02, 6)))
    return training, validation


def metrics_csv(header: Sequence[str], rows: Iterable[tuple[int, int, float]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for step, epoch, loss in rows:
        writer.writerow([step, epoch, f"{loss:.6f}", f"{math.exp(loss):.6f}"])
    return buffer.getvalue().encode("utf-8")


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def compact(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(compact(data), default=json_default)


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = datetime.fromtimestamp(float(value), UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def fingerprint(params: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in params.items() if k != "clientRequestToken"}, sort_keys=True)


def check_name(value: Any, pattern: re.Pattern[str], what: str, max_length: int = 63) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value) or len(value) > max_length:
        raise validation_error(
            f"1 validation error detected: Value '{value}' at '{what}' failed to satisfy "
            f"constraint: Member must satisfy regular expression pattern: {pattern.pattern}"
        )
    return value


def check_s3_uri(value: Any, what: str) -> str:
    if not isinstance(value, str) or not S3_URI.fullmatch(value):
        raise validation_error(
            f"1 validation error detected: Value '{value}' at '{what}' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: " + S3_URI.pattern
        )
    return value


def check_tags(tags: Any, what: str) -> list[dict[str, str]]:
    checked: list[dict[str, str]] = list(tags or [])
    if len(checked) > MAX_TAGS:
        raise BedrockError("TooManyTagsException", f"{what}: at most {MAX_TAGS} tags are allowed")
    return checked


def paginate(
    items: list[Any], max_results: int | None, next_token: str | None
) -> tuple[list[Any], str | None]:
    start = int(next_token) if next_token else 0
    size = max_results or 100
    page = items[start : start + size]
    return page, (str(start + size) if start + size < len(items) else None)


class Listed(Protocol):
    @property
    def creation_time(self) -> datetime: ...

    @property
    def status(self) -> str: ...


_ListedT = TypeVar("_ListedT", bound=Listed)


def list_page(
    items: Iterable[_ListedT],
    query: dict[str, Any],
    *,
    name: Callable[[_ListedT], str],
    status_key: str = "statusEquals",
    created_keys: tuple[str, str] = ("creationTimeAfter", "creationTimeBefore"),
    filters: Sequence[tuple[str, Callable[[_ListedT, Any], bool]]] = (),
) -> tuple[list[_ListedT], str | None]:
    """One page of a List* call: the creation-time window, status, ``nameContains`` and each
    ``(query key, match)`` of ``filters`` given in the query, newest first unless
    ``sortOrder`` is Ascending."""
    selected = list(items)
    after, before = (parse_time(query.get(key)) for key in created_keys)
    if after:
        selected = [i for i in selected if i.creation_time > after]
    if before:
        selected = [i for i in selected if i.creation_time < before]
    if query.get(status_key):
        selected = [i for i in selected if i.status == query[status_key]]
    if query.get("nameContains"):
        selected = [i for i in selected if query["nameContains"] in name(i)]
    for key, match in filters:
        if query.get(key):
            selected = [i for i in selected if match(i, query[key])]
    selected.sort(key=lambda i: i.creation_time, reverse=query.get("sortOrder") != "Ascending")
    return paginate(selected, query.get("maxResults"), query.get("nextToken"))
