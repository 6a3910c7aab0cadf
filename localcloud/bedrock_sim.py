"""A simulated Amazon Bedrock control plane for model customization, on top of moto.

moto's bedrock backend stores customization jobs that never leave ``InProgress``, finds jobs
by name only and has no provisioned throughput, custom model deployments or foundation
models. ``BedrockSimulator`` fills those gaps while keeping the interface plain boto3: once
installed (inside ``mock_aws``), every ``boto3.client("bedrock")`` call is served by
``SimulatedBedrockResponse`` -> ``SimulatedBedrockBackend`` (a subclass of moto's backend,
which keeps providing tags and invocation-logging configuration).

Time: everything runs on a ``SimClock``. A job is ``InProgress`` for its scripted (or the
default) duration, then ends as scripted: ``Completed`` (custom model created, metrics CSVs
written to the output bucket), ``Failed`` or ``Stopped``. ``StopModelCustomizationJob`` moves
the job to ``Stopping`` and, ``stop_delay_seconds`` of simulated time later (default 60 s; 0
means on the next call or tick), to ``Stopped``. Provisioned throughput goes ``Creating`` ->
``InService`` and deployments ``Creating`` -> ``Active`` after their delays (or ``Failed`` when
scripted). State catches up whenever the clock advances and on every API call.

Events: each terminal job transition emits the EventBridge event Bedrock sends to the
default bus (``aws.bedrock`` / ``Model Customization Job State Change``). Events are handed
to ``event_sink`` (a callable) after the simulator's lock is released, in the thread that
caused the transition (the one advancing the clock, or the API caller). An event can be
scripted to be lost.

Failure injection: ``fail_next(operation, code, ...)`` makes the next N calls of an operation
fail with the botocore error shape of that code (status code from the service model). Mind
that botocore retries ThrottlingException and 5xx codes by itself unless the client's retry
configuration says otherwise: each retry consumes one scripted failure.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, ClassVar, Literal, Protocol, TypeVar

import moto.bedrock.urls as bedrock_urls
from botocore.session import get_session
from moto.bedrock.models import BedrockBackend
from moto.bedrock.responses import BedrockResponse
from moto.core.exceptions import JsonRESTError
from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition

from localcloud.clock import SimClock

BedrockEvent = dict[str, Any]
EventSink = Callable[[BedrockEvent], None]
JobOutcome = Literal["Completed", "Failed", "Stopped"]
JobPhase = Literal["validation", "dataProcessing", "training"]

JOB_RUNNING_STATUSES = ("InProgress", "Stopping")
JOB_TERMINAL_STATUSES = ("Completed", "Failed", "Stopped")
EVENT_SOURCE = "aws.bedrock"
EVENT_DETAIL_TYPE = "Model Customization Job State Change"

_COMMITMENT_DAYS = {"OneMonth": 30, "SixMonths": 180}
# Share of a job's duration spent in each phase before training ends it.
_PHASE_WEIGHTS: tuple[tuple[JobPhase, float], ...] = (
    ("validation", 0.1),
    ("dataProcessing", 0.1),
    ("training", 0.8),
)

# Request constraints Bedrock enforces server side (botocore checks types, not patterns).
_JOB_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9\+\-\.])*")
_RESOURCE_NAME = re.compile(r"([0-9a-zA-Z][_-]?){1,63}")
_TOKEN = re.compile(r"[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?")
_S3_URI = re.compile(
    r"s3://[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](?:/[-!_*'().a-z0-9A-Z]+(?:/[-!_*'().a-z0-9A-Z]+)*)?/?"
)
_KMS_KEY_ID = re.compile(r"[a-zA-Z0-9-]{36}")
_MAX_TAGS = 50


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


def _error_status_codes() -> dict[str, int]:
    model = get_session().get_service_model("bedrock")
    return {
        shape.name: int(shape.metadata.get("error", {}).get("httpStatusCode", 400))
        for shape in model.error_shapes
    }


ERROR_STATUS_CODES: dict[str, int] = _error_status_codes()


class BedrockError(JsonRESTError):
    """A Bedrock error with the HTTP status the service model gives its code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = ERROR_STATUS_CODES.get(code, 400)


def _validation(message: str) -> BedrockError:
    return BedrockError("ValidationException", message)


def _not_found(message: str) -> BedrockError:
    return BedrockError("ResourceNotFoundException", message)


def _conflict(message: str) -> BedrockError:
    return BedrockError("ConflictException", message)


@dataclass(frozen=True)
class ScriptedError:
    """An error a call will fail with; see ``BedrockSimulator.fail_next``."""

    code: str
    message: str


def throttling(message: str = "Too many requests, please wait before trying again.") -> ScriptedError:
    return ScriptedError("ThrottlingException", message)


def quota_exceeded(
    message: str = "The number of model customization jobs in progress exceeds the quota.",
) -> ScriptedError:
    return ScriptedError("ServiceQuotaExceededException", message)


def role_not_assumable(role_arn: str = "the provided role") -> ScriptedError:
    # What Bedrock answers while a freshly created service role has not propagated yet.
    return ScriptedError(
        "ValidationException",
        f"Could not assume provided IAM role {role_arn}. Please check the trust relationship "
        "and the permissions of the role.",
    )


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
            "modelLifecycle": {"status": self.lifecycle_status},
        }


_US_EAST_1 = ("us-east-1",)
_US_WEST_2 = ("us-west-2",)
_FT = ("FINE_TUNING",)
_FT_DISTILL = ("FINE_TUNING", "DISTILLATION")


def _llama(model_id: str, name: str, customizations: tuple[str, ...] = _FT) -> FoundationModel:
    return FoundationModel(model_id, name, "Meta", customizations, regions=_US_WEST_2)


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
    ),
    FoundationModel(
        "amazon.nova-lite-v1:0:300k",
        "Nova Lite",
        "Amazon",
        _FT_DISTILL,
        input_modalities=("TEXT", "IMAGE", "VIDEO"),
        regions=_US_EAST_1,
        supports_custom_model_deployment=True,
    ),
    FoundationModel(
        "amazon.nova-pro-v1:0:300k",
        "Nova Pro",
        "Amazon",
        _FT,
        input_modalities=("TEXT", "IMAGE", "VIDEO"),
        regions=_US_EAST_1,
        supports_custom_model_deployment=True,
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
    ),
    _llama("meta.llama3-1-8b-instruct-v1:0:128k", "Llama 3.1 8B Instruct", _FT_DISTILL),
    _llama("meta.llama3-1-70b-instruct-v1:0:128k", "Llama 3.1 70B Instruct", _FT_DISTILL),
    _llama("meta.llama3-2-1b-instruct-v1:0:128k", "Llama 3.2 1B Instruct"),
    _llama("meta.llama3-2-3b-instruct-v1:0:128k", "Llama 3.2 3B Instruct"),
    _llama("meta.llama3-2-11b-instruct-v1:0:128k", "Llama 3.2 11B Instruct"),
    _llama("meta.llama3-2-90b-instruct-v1:0:128k", "Llama 3.2 90B Instruct"),
    FoundationModel(
        "meta.llama3-3-70b-instruct-v1:0:128k",
        "Llama 3.3 70B Instruct",
        "Meta",
        _FT,
        regions=_US_WEST_2,
        supports_custom_model_deployment=True,
    ),
    FoundationModel(
        "amazon.titan-text-express-v1:0:8k",
        "Titan Text G1 - Express",
        "Amazon",
        ("FINE_TUNING", "CONTINUED_PRE_TRAINING"),
        regions=("us-east-1", "us-west-2"),
    ),
    FoundationModel(
        "amazon.titan-text-lite-v1:0:4k",
        "Titan Text G1 - Lite",
        "Amazon",
        ("FINE_TUNING", "CONTINUED_PRE_TRAINING"),
        regions=("us-east-1", "us-west-2"),
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
    FoundationModel(
        "amazon.nova-premier-v1:0", "Nova Premier", "Amazon", (), ("ON_DEMAND",), regions=_US_EAST_1
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
        ("ON_DEMAND",),
        regions=_US_WEST_2,
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
    base_model_arn: str
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


def _epoch_count(hyper_parameters: dict[str, str], default: int = 2) -> int:
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
    for step in range(1, total + 1):
        epoch = (step - 1) // steps_per_epoch + 1
        amplitude = 0.03 * (smooth(step) - floor) * (0.5 + rng.random())
        noise = amplitude if step % 2 else -amplitude
        training.append((step, epoch, round(smooth(step) + noise, 6)))
        if step % steps_per_epoch == 0:
            validation.append((step, epoch, round(smooth(step) * 1.06 + 0.02, 6)))
    return training, validation


def _metrics_csv(header: Sequence[str], rows: Iterable[tuple[int, int, float]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for step, epoch, loss in rows:
        writer.writerow([step, epoch, f"{loss:.6f}", f"{math.exp(loss):.6f}"])
    return buffer.getvalue().encode("utf-8")


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(_compact(data), default=_json_default)


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = datetime.fromtimestamp(float(value), UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _fingerprint(params: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in params.items() if k != "clientRequestToken"}, sort_keys=True)


def _check_name(value: Any, pattern: re.Pattern[str], what: str, max_length: int = 63) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value) or len(value) > max_length:
        raise _validation(
            f"1 validation error detected: Value '{value}' at '{what}' failed to satisfy "
            f"constraint: Member must satisfy regular expression pattern: {pattern.pattern}"
        )
    return value


def _check_s3_uri(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _S3_URI.fullmatch(value):
        raise _validation(
            f"1 validation error detected: Value '{value}' at '{what}' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: " + _S3_URI.pattern
        )
    return value


def _check_tags(tags: Any, what: str) -> list[dict[str, str]]:
    checked: list[dict[str, str]] = list(tags or [])
    if len(checked) > _MAX_TAGS:
        raise BedrockError("TooManyTagsException", f"{what}: at most {_MAX_TAGS} tags are allowed")
    return checked


def _paginate(
    items: list[Any], max_results: int | None, next_token: str | None
) -> tuple[list[Any], str | None]:
    start = int(next_token) if next_token else 0
    size = max_results or 100
    page = items[start : start + size]
    return page, (str(start + size) if start + size < len(items) else None)


class _Listed(Protocol):
    @property
    def creation_time(self) -> datetime: ...

    @property
    def status(self) -> str: ...


_ListedT = TypeVar("_ListedT", bound=_Listed)


def _list_page(
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
    after, before = (_parse_time(query.get(key)) for key in created_keys)
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
    return _paginate(selected, query.get("maxResults"), query.get("nextToken"))


# --------------------------------------------------------------------------------------------
# Backend
# --------------------------------------------------------------------------------------------


class SimulatedBedrockBackend(BedrockBackend):
    """One account and region of the simulated Bedrock. All calls hold the simulator's lock."""

    def __init__(self, region_name: str, account_id: str, simulator: BedrockSimulator) -> None:
        super().__init__(region_name, account_id)
        self.sim = simulator
        self.jobs: dict[str, SimJob] = {}
        self.models: dict[str, SimCustomModel] = {}
        self.throughputs: dict[str, SimThroughput] = {}
        self.deployments: dict[str, SimDeployment] = {}
        self._tokens: dict[tuple[str, str], tuple[str, str]] = {}

    # -- identity helpers -------------------------------------------------------------------

    def _arn(self, resource: str) -> str:
        return f"arn:{self.partition}:bedrock:{self.region_name}:{self.account_id}:{resource}"

    def _list_arns(self) -> list[str]:
        # Consulted by moto's tag_resource/untag_resource/list_tags_for_resource.
        return (
            [j.job_arn for j in self.jobs.values()]
            + [m.model_arn for m in self.models.values()]
            + [t.arn for t in self.throughputs.values()]
            + [d.arn for d in self.deployments.values()]
        )

    def _tag(self, arn: str, tags: list[dict[str, str]]) -> None:
        if tags:
            self.tagger.tag_resource(arn, [{"Key": t["key"], "Value": t["value"]} for t in tags])

    def _idempotent(self, operation: str, params: dict[str, Any], error_code: str) -> str | None:
        """The ARN an earlier call with this clientRequestToken created, if any."""
        token = params.get("clientRequestToken")
        if not token:
            return None
        _check_name(token, _TOKEN, "clientRequestToken", max_length=256)
        earlier = self._tokens.get((operation, token))
        if earlier is None:
            return None
        fingerprint, arn = earlier
        if fingerprint != _fingerprint(params):
            raise BedrockError(
                error_code, f"The client request token {token} was already used with different parameters."
            )
        return arn

    def _remember_token(self, operation: str, params: dict[str, Any], arn: str) -> None:
        token = params.get("clientRequestToken")
        if token:
            self._tokens[(operation, token)] = (_fingerprint(params), arn)

    def foundation_model(self, identifier: str) -> FoundationModel | None:
        model_id = (
            identifier.split("foundation-model/", 1)[1] if "foundation-model/" in identifier else identifier
        )
        for model in self.sim.foundation_models:
            if model.model_id == model_id and (model.regions is None or self.region_name in model.regions):
                return model
        return None

    def _kms_key_arn(self, key: str | None) -> str | None:
        if key and _KMS_KEY_ID.fullmatch(key):
            return f"arn:{self.partition}:kms:{self.region_name}:{self.account_id}:key/{key}"
        return key

    # -- customization jobs -------------------------------------------------------------------

    def find_job(self, identifier: str) -> SimJob:
        for job in self.jobs.values():
            if identifier in (job.job_arn, job.job_name):
                return job
        raise _not_found(f"Model customization job {identifier} not found")

    def create_job(self, params: dict[str, Any]) -> str:
        earlier = self._idempotent("CreateModelCustomizationJob", params, "ConflictException")
        if earlier:
            return earlier
        job_name = _check_name(params.get("jobName"), _JOB_NAME, "jobName")
        model_name = _check_name(params.get("customModelName"), _RESOURCE_NAME, "customModelName")
        if any(j.job_name == job_name for j in self.jobs.values()):
            raise _conflict(f"A model customization job with name {job_name} already exists.")
        if any(m.model_name == model_name for m in self.models.values()) or any(
            j.custom_model_name == model_name and j.status != "Failed" for j in self.jobs.values()
        ):
            raise _conflict(f"A custom model with name {model_name} already exists.")
        customization_type = params.get("customizationType") or "FINE_TUNING"
        base_id, base_arn = self._resolve_base_model(
            params.get("baseModelIdentifier", ""), customization_type
        )
        training = dict(params.get("trainingDataConfig") or {})
        if "s3Uri" in training:
            _check_s3_uri(training["s3Uri"], "trainingDataConfig.s3Uri")
        validation = params.get("validationDataConfig")
        for index, validator in enumerate((validation or {}).get("validators", [])):
            _check_s3_uri(validator.get("s3Uri"), f"validationDataConfig.validators.{index}.s3Uri")
        output = dict(params.get("outputDataConfig") or {})
        _check_s3_uri(output.get("s3Uri"), "outputDataConfig.s3Uri")
        vpc = params.get("vpcConfig")
        if vpc is not None and not (
            1 <= len(vpc.get("subnetIds", [])) <= 16 and 1 <= len(vpc.get("securityGroupIds", [])) <= 5
        ):
            raise _validation("vpcConfig needs 1-16 subnetIds and 1-5 securityGroupIds")
        job_tags = _check_tags(params.get("jobTags"), "jobTags")
        model_tags = _check_tags(params.get("customModelTags"), "customModelTags")
        quota = self.sim.max_concurrent_jobs
        if quota is not None and sum(j.running for j in self.jobs.values()) >= quota:
            raise BedrockError(
                "ServiceQuotaExceededException",
                f"You have reached the maximum number of concurrent model customization jobs ({quota}).",
            )

        script = self.sim._take_job_script(job_name)
        now = self.sim.clock.now()
        duration = (
            script.duration_seconds if script.duration_seconds is not None else self.sim.job_duration_seconds
        )
        job_id = self.sim._new_id()
        job = SimJob(
            job_id=job_id,
            job_arn=self._arn(f"model-customization-job/{base_id}/{job_id}"),
            job_name=job_name,
            custom_model_name=model_name,
            role_arn=params.get("roleArn", ""),
            base_model_id=base_id,
            base_model_arn=base_arn,
            customization_type=customization_type,
            training_data_config=training,
            validation_data_config=validation,
            output_data_config=output,
            hyper_parameters=dict(params.get("hyperParameters") or {}),
            client_request_token=params.get("clientRequestToken"),
            custom_model_kms_key_id=params.get("customModelKmsKeyId"),
            vpc_config=vpc,
            customization_config=params.get("customizationConfig"),
            job_tags=job_tags,
            custom_model_tags=model_tags,
            script=script,
            creation_time=now,
            due_time=now + timedelta(seconds=duration),
            last_modified_time=now,
        )
        self.jobs[job_id] = job
        self._tag(job.job_arn, job_tags)
        self._remember_token("CreateModelCustomizationJob", params, job.job_arn)
        return job.job_arn

    def _resolve_base_model(self, identifier: str, customization_type: str) -> tuple[str, str]:
        for model in self.models.values():
            if identifier in (model.model_arn, model.model_name):
                # Customizing a custom model again: the job is filed under the foundation model.
                return model.job.base_model_id, model.model_arn
        foundation = self.foundation_model(identifier)
        if foundation is None:
            raise _validation(f"The provided model identifier is invalid: {identifier}")
        if customization_type not in foundation.customizations_supported:
            raise _validation(f"The model {foundation.model_id} does not support {customization_type}.")
        return foundation.model_id, foundation.arn(self.partition, self.region_name)

    def stop_job(self, identifier: str) -> None:
        job = self.find_job(identifier)
        if job.status == "Stopping":
            return
        if job.status != "InProgress":
            raise _validation(
                f"Model customization job {job.job_name} cannot be stopped: it is {job.status}."
            )
        now = self.sim.clock.now()
        job.status = "Stopping"
        job.stop_requested_time = now
        job.stop_due_time = now + timedelta(seconds=self.sim.stop_delay_seconds)
        job.last_modified_time = now

    def job_description(self, job: SimJob) -> dict[str, Any]:
        return _compact(
            {
                "jobArn": job.job_arn,
                "jobName": job.job_name,
                "outputModelName": job.custom_model_name,
                "outputModelArn": job.output_model_arn,
                "clientRequestToken": job.client_request_token,
                "roleArn": job.role_arn,
                "status": job.status,
                "statusDetails": self._status_details(job),
                "failureMessage": job.failure_message,
                "creationTime": job.creation_time,
                "lastModifiedTime": job.last_modified_time,
                "endTime": job.end_time,
                "baseModelArn": job.base_model_arn,
                "hyperParameters": job.hyper_parameters,
                "trainingDataConfig": job.training_data_config,
                "validationDataConfig": job.validation_data_config or {"validators": []},
                "outputDataConfig": job.output_data_config,
                "customizationType": job.customization_type,
                "outputModelKmsKeyArn": self._kms_key_arn(job.custom_model_kms_key_id),
                "trainingMetrics": {"trainingLoss": job.training_loss}
                if job.training_loss is not None
                else None,
                "validationMetrics": (
                    [{"validationLoss": job.validation_loss}] * len(job.validation_data_config["validators"])
                    if job.validation_loss is not None and job.validation_data_config
                    else None
                ),
                "vpcConfig": job.vpc_config,
                "customizationConfig": job.customization_config,
            }
        )

    def job_summary(self, job: SimJob) -> dict[str, Any]:
        return _compact(
            {
                "jobArn": job.job_arn,
                "baseModelArn": job.base_model_arn,
                "jobName": job.job_name,
                "status": job.status,
                "statusDetails": self._status_details(job),
                "lastModifiedTime": job.last_modified_time,
                "creationTime": job.creation_time,
                "endTime": job.end_time,
                "customModelArn": job.output_model_arn,
                "customModelName": job.custom_model_name,
                "customizationType": job.customization_type,
            }
        )

    def _phase_windows(self, job: SimJob) -> list[tuple[JobPhase, datetime, datetime]]:
        """Start and end of each phase that runs, scaled to end at the job's due time."""
        phases = list(_PHASE_WEIGHTS)
        if job.script.outcome == "Failed":
            names = [name for name, _ in phases]
            phases = phases[: names.index(job.script.failure_phase) + 1]
        total_weight = sum(weight for _, weight in phases)
        span = job.due_time - job.creation_time
        windows = []
        start = job.creation_time
        for name, weight in phases:
            end = start + span * (weight / total_weight)
            windows.append((name, start, end))
            start = end
        return windows

    def _status_details(self, job: SimJob) -> dict[str, Any]:
        """Per-phase status: phases before the current one Completed, later ones NotStarted."""
        windows = self._phase_windows(job)
        # Where the job is (or stopped making progress): now, a stop request or its end.
        halted = job.stop_requested_time or job.end_time
        moment = min(self.sim.clock.now(), halted) if halted else self.sim.clock.now()
        current = len(windows) - 1
        for index, (_, start, end) in enumerate(windows):
            if start <= moment < end:
                current = index
                break
        current_status = {"Stopping": "Stopping", "Stopped": "Stopped", "Failed": "Failed"}.get(
            job.status, "InProgress"
        )
        details: dict[str, Any] = {}
        for index, (name, _) in enumerate(_PHASE_WEIGHTS):
            if job.status == "Completed" or index < current:
                status = "Completed"
            elif index == current and index < len(windows):
                status = current_status
            else:
                status = "NotStarted"
            entry: dict[str, Any] = {"status": status}
            if status != "NotStarted":
                _, start, end = windows[index]
                entry["creationTime"] = start
                entry["lastModifiedTime"] = min(end, moment) if status != "Completed" else end
            details[f"{name}Details"] = entry
        return details

    def list_jobs(self, query: dict[str, Any]) -> tuple[list[SimJob], str | None]:
        return _list_page(self.jobs.values(), query, name=lambda j: j.job_name)

    # -- custom models ------------------------------------------------------------------------

    def find_model(self, identifier: str) -> SimCustomModel:
        for model in self.models.values():
            if identifier in (model.model_arn, model.model_name):
                return model
        raise _not_found(f"Custom model {identifier} not found")

    def delete_model(self, identifier: str) -> None:
        model = self.find_model(identifier)
        users = [t.name for t in self.throughputs.values() if t.model_arn == model.model_arn] + [
            d.name
            for d in self.deployments.values()
            if d.model_arn == model.model_arn and d.status != "Failed"
        ]
        if users:
            raise _conflict(f"Custom model {model.model_name} is in use by {', '.join(users)}.")
        del self.models[model.model_id]

    def model_description(self, model: SimCustomModel) -> dict[str, Any]:
        job = model.job
        return _compact(
            {
                "modelArn": model.model_arn,
                "modelName": model.model_name,
                "jobName": job.job_name,
                "jobArn": job.job_arn,
                "baseModelArn": job.base_model_arn,
                "customizationType": job.customization_type,
                "modelKmsKeyArn": model.model_kms_key_arn,
                "hyperParameters": job.hyper_parameters,
                "trainingDataConfig": job.training_data_config,
                "validationDataConfig": job.validation_data_config,
                "outputDataConfig": job.output_data_config,
                "trainingMetrics": {"trainingLoss": job.training_loss},
                "validationMetrics": self.job_description(job).get("validationMetrics"),
                "creationTime": model.creation_time,
                "customizationConfig": job.customization_config,
                "modelStatus": model.status,
            }
        )

    def model_summary(self, model: SimCustomModel) -> dict[str, Any]:
        return _compact(
            {
                "modelArn": model.model_arn,
                "modelName": model.model_name,
                "creationTime": model.creation_time,
                "baseModelArn": model.job.base_model_arn,
                "baseModelName": model.job.base_model_id.split(":")[0],
                "customizationType": model.job.customization_type,
                "ownerAccountId": self.account_id,
                "modelStatus": model.status,
            }
        )

    def list_models(self, query: dict[str, Any]) -> tuple[list[SimCustomModel], str | None]:
        return _list_page(
            self.models.values(),
            query,
            name=lambda m: m.model_name,
            status_key="modelStatus",
            filters=[
                ("baseModelArnEquals", lambda m, arn: m.job.base_model_arn == arn),
                (
                    "foundationModelArnEquals",
                    lambda m, arn: (
                        m.job.base_model_arn == arn or m.job.base_model_arn.endswith(f"/{arn.split('/')[-1]}")
                    ),
                ),
            ],
        )

    # -- provisioned throughput ---------------------------------------------------------------

    def find_throughput(self, identifier: str) -> SimThroughput:
        for throughput in self.throughputs.values():
            if identifier in (throughput.arn, throughput.name):
                return throughput
        raise _not_found(f"Provisioned model {identifier} not found")

    def _resolve_served_model(self, identifier: str) -> tuple[str, str]:
        """(model ARN, foundation model ARN) of a custom or foundation model."""
        for model in self.models.values():
            if identifier in (model.model_arn, model.model_name):
                base = model.job.base_model_arn
                if "custom-model/" in base:  # customized twice: report the foundation model
                    base = f"arn:{self.partition}:bedrock:{self.region_name}::foundation-model/{model.job.base_model_id}"
                return model.model_arn, base
        foundation = self.foundation_model(identifier)
        if foundation is not None and "PROVISIONED" in foundation.inference_types_supported:
            arn = foundation.arn(self.partition, self.region_name)
            return arn, arn
        raise _not_found(f"Model {identifier} not found")

    def create_throughput(self, params: dict[str, Any]) -> str:
        earlier = self._idempotent("CreateProvisionedModelThroughput", params, "ValidationException")
        if earlier:
            return earlier
        name = _check_name(params.get("provisionedModelName"), _RESOURCE_NAME, "provisionedModelName")
        units = params.get("modelUnits")
        if not isinstance(units, int) or units < 1:
            raise _validation("modelUnits must be an integer of at least 1")
        commitment = params.get("commitmentDuration")
        if commitment is not None and commitment not in _COMMITMENT_DAYS:
            raise _validation(f"Invalid commitmentDuration: {commitment}")
        if any(t.name == name for t in self.throughputs.values()):
            raise _validation(f"A provisioned model with name {name} already exists.")
        model_arn, foundation_arn = self._resolve_served_model(str(params.get("modelId", "")))
        tags = _check_tags(params.get("tags"), "tags")
        script = self.sim._take_provisioning_script(self.sim._throughput_scripts, name)
        now = self.sim.clock.now()
        delay = (
            script.delay_seconds if script.delay_seconds is not None else self.sim.throughput_delay_seconds
        )
        throughput_id = self.sim._new_id()
        throughput = SimThroughput(
            throughput_id=throughput_id,
            arn=self._arn(f"provisioned-model/{throughput_id}"),
            name=name,
            model_arn=model_arn,
            foundation_model_arn=foundation_arn,
            model_units=units,
            commitment_duration=commitment,
            script=script,
            creation_time=now,
            due_time=now + timedelta(seconds=delay),
            last_modified_time=now,
        )
        self.throughputs[throughput_id] = throughput
        self._tag(throughput.arn, tags)
        self._remember_token("CreateProvisionedModelThroughput", params, throughput.arn)
        return throughput.arn

    def delete_throughput(self, identifier: str) -> None:
        throughput = self.find_throughput(identifier)
        expiry = throughput.commitment_expiration_time
        if expiry is not None and self.sim.clock.now() < expiry:
            raise _validation(
                f"Provisioned model {throughput.name} has a commitment term until {_iso(expiry)} "
                "and cannot be deleted before it ends."
            )
        del self.throughputs[throughput.throughput_id]

    @staticmethod
    def throughput_summary(throughput: SimThroughput) -> dict[str, Any]:
        return _compact(
            {
                "provisionedModelName": throughput.name,
                "provisionedModelArn": throughput.arn,
                "modelArn": throughput.model_arn,
                "desiredModelArn": throughput.model_arn,
                "foundationModelArn": throughput.foundation_model_arn,
                "modelUnits": throughput.model_units,
                "desiredModelUnits": throughput.model_units,
                "status": throughput.status,
                "commitmentDuration": throughput.commitment_duration,
                "commitmentExpirationTime": throughput.commitment_expiration_time,
                "creationTime": throughput.creation_time,
                "lastModifiedTime": throughput.last_modified_time,
            }
        )

    def throughput_description(self, throughput: SimThroughput) -> dict[str, Any]:
        return _compact({**self.throughput_summary(throughput), "failureMessage": throughput.failure_message})

    def list_throughputs(self, query: dict[str, Any]) -> tuple[list[SimThroughput], str | None]:
        return _list_page(
            self.throughputs.values(),
            query,
            name=lambda t: t.name,
            filters=[("modelArnEquals", lambda t, arn: t.model_arn == arn)],
        )

    # -- custom model deployments -------------------------------------------------------------

    def find_deployment(self, identifier: str) -> SimDeployment:
        for deployment in self.deployments.values():
            if identifier in (deployment.arn, deployment.name):
                return deployment
        raise _not_found(f"Custom model deployment {identifier} not found")

    def create_deployment(self, params: dict[str, Any]) -> str:
        earlier = self._idempotent("CreateCustomModelDeployment", params, "ValidationException")
        if earlier:
            return earlier
        name = _check_name(params.get("modelDeploymentName"), _RESOURCE_NAME, "modelDeploymentName")
        if any(d.name == name for d in self.deployments.values()):
            raise _validation(f"A custom model deployment with name {name} already exists.")
        model = self.find_model(str(params.get("modelArn", "")))
        foundation = self.foundation_model(model.job.base_model_id)
        if foundation is None or not foundation.supports_custom_model_deployment:
            raise _validation(
                f"On-demand deployment is not supported for models customized from {model.job.base_model_id}."
            )
        tags = _check_tags(params.get("tags"), "tags")
        script = self.sim._take_provisioning_script(self.sim._deployment_scripts, name)
        now = self.sim.clock.now()
        delay = (
            script.delay_seconds if script.delay_seconds is not None else self.sim.deployment_delay_seconds
        )
        deployment_id = self.sim._new_id()
        deployment = SimDeployment(
            deployment_id=deployment_id,
            arn=self._arn(f"custom-model-deployment/{deployment_id}"),
            name=name,
            model_arn=model.model_arn,
            description=params.get("description"),
            script=script,
            creation_time=now,
            due_time=now + timedelta(seconds=delay),
            last_updated_time=now,
        )
        self.deployments[deployment_id] = deployment
        self._tag(deployment.arn, tags)
        self._remember_token("CreateCustomModelDeployment", params, deployment.arn)
        return deployment.arn

    def delete_deployment(self, identifier: str) -> None:
        deployment = self.find_deployment(identifier)
        del self.deployments[deployment.deployment_id]

    @staticmethod
    def deployment_description(deployment: SimDeployment) -> dict[str, Any]:
        return _compact(
            {
                "customModelDeploymentArn": deployment.arn,
                "modelDeploymentName": deployment.name,
                "modelArn": deployment.model_arn,
                "createdAt": deployment.creation_time,
                "status": deployment.status,
                "description": deployment.description,
                "failureMessage": deployment.failure_message,
                "lastUpdatedAt": deployment.last_updated_time,
            }
        )

    @staticmethod
    def deployment_summary(deployment: SimDeployment) -> dict[str, Any]:
        return _compact(
            {
                "customModelDeploymentArn": deployment.arn,
                "customModelDeploymentName": deployment.name,
                "modelArn": deployment.model_arn,
                "createdAt": deployment.creation_time,
                "status": deployment.status,
                "lastUpdatedAt": deployment.last_updated_time,
                "failureMessage": deployment.failure_message,
            }
        )

    def list_deployments(self, query: dict[str, Any]) -> tuple[list[SimDeployment], str | None]:
        return _list_page(
            self.deployments.values(),
            query,
            name=lambda d: d.name,
            created_keys=("createdAfter", "createdBefore"),
            filters=[("modelArnEquals", lambda d, arn: d.model_arn == arn)],
        )

    # -- foundation models --------------------------------------------------------------------

    def list_foundation_models(self, query: dict[str, Any]) -> list[FoundationModel]:
        models = [m for m in self.sim.foundation_models if m.regions is None or self.region_name in m.regions]
        if query.get("byProvider"):
            models = [m for m in models if m.provider_name.lower() == query["byProvider"].lower()]
        if query.get("byCustomizationType"):
            models = [m for m in models if query["byCustomizationType"] in m.customizations_supported]
        if query.get("byOutputModality"):
            models = [m for m in models if query["byOutputModality"] in m.output_modalities]
        if query.get("byInferenceType"):
            models = [m for m in models if query["byInferenceType"] in m.inference_types_supported]
        return models

    # -- time ---------------------------------------------------------------------------------

    def process(self, now: datetime) -> None:
        """Apply every transition due at ``now``, in time order within each resource."""
        for job in list(self.jobs.values()):
            self._process_job(job, now)
        for throughput in self.throughputs.values():
            if throughput.status == "Creating" and now >= throughput.due_time:
                throughput.last_modified_time = throughput.due_time
                if throughput.script.fail:
                    throughput.status = "Failed"
                    throughput.failure_message = throughput.script.failure_message
                else:
                    throughput.status = "InService"
                    if throughput.commitment_duration:
                        days = _COMMITMENT_DAYS[throughput.commitment_duration]
                        throughput.commitment_expiration_time = throughput.due_time + timedelta(days=days)
        for deployment in self.deployments.values():
            if deployment.status == "Creating" and now >= deployment.due_time:
                deployment.last_updated_time = deployment.due_time
                if deployment.script.fail:
                    deployment.status = "Failed"
                    deployment.failure_message = deployment.script.failure_message
                else:
                    deployment.status = "Active"

    def _process_job(self, job: SimJob, now: datetime) -> None:
        if job.status == "Stopping" and job.stop_due_time is not None and now >= job.stop_due_time:
            self._finish_job(job, "Stopped", job.stop_due_time)
        elif job.status == "InProgress":
            validation_end = self._phase_windows(job)[0][2]
            if self.sim.check_s3_inputs and not job.inputs_checked and now >= validation_end:
                job.inputs_checked = True
                missing = self._missing_inputs(job)
                if missing:
                    self._finish_job(
                        job,
                        "Failed",
                        min(validation_end, job.due_time),
                        phase="validation",
                        message=f"Unable to access the data at {missing}. Check that the object exists "
                        "and that the service role can read it.",
                    )
                    return
            if now >= job.due_time:
                outcome = job.script.outcome
                self._finish_job(
                    job,
                    outcome,
                    job.due_time,
                    phase=job.script.failure_phase if outcome == "Failed" else None,
                    message=job.script.failure_message if outcome == "Failed" else None,
                )

    def _missing_inputs(self, job: SimJob) -> str | None:
        uris: list[str | None] = [job.training_data_config.get("s3Uri")] + [
            v.get("s3Uri") for v in (job.validation_data_config or {}).get("validators", [])
        ]
        s3 = s3_backends[self.account_id][get_partition(self.region_name)]
        for uri in uris:
            if not uri:
                continue
            bucket_name, _, key = uri[len("s3://") :].partition("/")
            try:
                bucket = s3.get_bucket(bucket_name)
            except Exception:
                return uri
            keys, _, _, _ = s3.list_objects(bucket, key or None, None, None, None)
            if not keys:
                return uri
        return None

    def _finish_job(
        self,
        job: SimJob,
        status: str,
        at: datetime,
        *,
        phase: JobPhase | None = None,
        message: str | None = None,
    ) -> None:
        if status == "Completed":
            try:
                self._write_artifacts(job)
            except Exception as exc:  # missing or unwritable output bucket
                status, phase = "Failed", "training"
                message = f"Unable to write the output to {job.output_data_config['s3Uri']}: {exc}"
            else:
                self._create_custom_model(job, at)
        job.status = status
        job.end_time = at
        job.last_modified_time = at
        if status == "Failed":
            job.failure_message = message
            job.failure_phase = phase
            # The job fails where it was, so the phases are laid out up to that moment.
            job.script = JobScript(
                outcome="Failed",
                duration_seconds=job.script.duration_seconds,
                failure_message=message or "",
                failure_phase=phase or "training",
                lose_event=job.script.lose_event,
            )
            job.due_time = at
        self.sim._emit(self._event(job), lose=job.script.lose_event)

    def _write_artifacts(self, job: SimJob) -> None:
        epochs = _epoch_count(job.hyper_parameters)
        training, validation = training_curves(job.job_id, epochs, self.sim.steps_per_epoch)
        bucket, prefix = job.output_prefix
        s3 = s3_backends[self.account_id][get_partition(self.region_name)]
        files = {
            f"{prefix}/training_artifacts/step_wise_training_metrics.csv": _metrics_csv(
                ("step_number", "epoch_number", "training_loss", "perplexity"), training
            )
        }
        if job.validation_data_config and job.validation_data_config.get("validators"):
            files[f"{prefix}/validation_artifacts/post_fine_tuning_validation/validation_metrics.csv"] = (
                _metrics_csv(("step_number", "epoch_number", "validation_loss", "perplexity"), validation)
            )
            job.validation_loss = validation[-1][2]
        for key, body in files.items():
            s3.put_object(bucket, key, body)
        job.artifact_keys = list(files)
        job.training_loss = training[-1][2]

    def _create_custom_model(self, job: SimJob, at: datetime) -> None:
        model_id = self.sim._new_id()
        model = SimCustomModel(
            model_id=model_id,
            model_arn=self._arn(f"custom-model/{job.base_model_id}/{model_id}"),
            model_name=job.custom_model_name,
            job=job,
            model_kms_key_arn=self._kms_key_arn(job.custom_model_kms_key_id),
            creation_time=at,
        )
        self.models[model_id] = model
        job.output_model_arn = model.model_arn
        self._tag(model.model_arn, job.custom_model_tags)

    def _event(self, job: SimJob) -> BedrockEvent:
        return {
            "version": "0",
            "id": self.sim._new_uuid(),
            "detail-type": EVENT_DETAIL_TYPE,
            "source": EVENT_SOURCE,
            "account": self.account_id,
            "time": _iso(job.end_time or self.sim.clock.now()),
            "region": self.region_name,
            "resources": [job.job_arn],
            "detail": _compact(
                {
                    "version": "0.0",
                    "jobName": job.job_name,
                    "jobArn": job.job_arn,
                    "outputModelName": job.custom_model_name,
                    "outputModelArn": job.output_model_arn,
                    "roleArn": job.role_arn,
                    "jobStatus": job.status,
                    "failureMessage": job.failure_message,
                    "creationTime": _iso(job.creation_time),
                    "lastModifiedTime": _iso(job.last_modified_time),
                    "endTime": _iso(job.end_time),
                    "baseModelArn": job.base_model_arn,
                    "hyperParameters": job.hyper_parameters,
                    "trainingDataConfig": job.training_data_config,
                    "validationDataConfig": job.validation_data_config,
                    "outputDataConfig": job.output_data_config,
                }
            ),
        }


# --------------------------------------------------------------------------------------------
# HTTP layer
# --------------------------------------------------------------------------------------------


class SimulatedBedrockResponse(BedrockResponse):
    """Serves every bedrock request while a simulator is installed."""

    @property
    def sim(self) -> BedrockSimulator:
        simulator = BedrockSimulator.active()
        if simulator is None:
            raise RuntimeError("no BedrockSimulator is installed")
        return simulator

    @property
    def bedrock_backend(self) -> SimulatedBedrockBackend:
        # moto's own handlers (tags, logging configuration) use this property too.
        return self.sim.backend(self.current_account, self.region)

    def call_action(self) -> Any:
        sim = self.sim
        operation = str(self._get_action())
        with sim.lock:
            sim._calls.append(operation)
            scripted = sim._take_scripted_error(operation)
            if scripted is None:
                sim._process_all()
        try:
            if scripted is not None:
                raise BedrockError(scripted.code, scripted.message)
            with sim.lock:
                return super().call_action()
        finally:
            sim._deliver_events()

    # -- request helpers ----------------------------------------------------------------------

    def _body(self) -> dict[str, Any]:
        return dict(json.loads(self.body or "{}"))

    def _path_param(self, name: str) -> str:
        return str(self.uri_match[name])

    def _query(self, *names: str) -> dict[str, Any]:
        query: dict[str, Any] = {name: self.querystring.get(name, [None])[0] for name in names}
        if query.get("maxResults") is not None:
            query["maxResults"] = int(query["maxResults"])
        return query

    # -- customization jobs -------------------------------------------------------------------

    def create_model_customization_job(self) -> str:
        arn = self.bedrock_backend.create_job(self._body())
        return _dumps({"jobArn": arn})

    def get_model_customization_job(self) -> str:
        backend = self.bedrock_backend
        return _dumps(backend.job_description(backend.find_job(self._path_param("jobIdentifier"))))

    def stop_model_customization_job(self) -> str:
        self.bedrock_backend.stop_job(self._path_param("jobIdentifier"))
        return "{}"

    def list_model_customization_jobs(self) -> str:
        backend = self.bedrock_backend
        jobs, token = backend.list_jobs(
            self._query(
                "creationTimeAfter",
                "creationTimeBefore",
                "statusEquals",
                "nameContains",
                "maxResults",
                "nextToken",
                "sortBy",
                "sortOrder",
            )
        )
        return _dumps(
            {"modelCustomizationJobSummaries": [backend.job_summary(j) for j in jobs], "nextToken": token}
        )

    # -- custom models ------------------------------------------------------------------------

    def get_custom_model(self) -> str:
        backend = self.bedrock_backend
        return _dumps(backend.model_description(backend.find_model(self._path_param("modelIdentifier"))))

    def delete_custom_model(self) -> str:
        self.bedrock_backend.delete_model(self._path_param("modelIdentifier"))
        return "{}"

    def list_custom_models(self) -> str:
        backend = self.bedrock_backend
        models, token = backend.list_models(
            self._query(
                "creationTimeBefore",
                "creationTimeAfter",
                "nameContains",
                "baseModelArnEquals",
                "foundationModelArnEquals",
                "maxResults",
                "nextToken",
                "sortBy",
                "sortOrder",
                "modelStatus",
            )
        )
        return _dumps({"modelSummaries": [backend.model_summary(m) for m in models], "nextToken": token})

    # -- provisioned throughput ---------------------------------------------------------------

    def create_provisioned_model_throughput(self) -> str:
        arn = self.bedrock_backend.create_throughput(self._body())
        return _dumps({"provisionedModelArn": arn})

    def get_provisioned_model_throughput(self) -> str:
        backend = self.bedrock_backend
        throughput = backend.find_throughput(self._path_param("provisionedModelId"))
        return _dumps(backend.throughput_description(throughput))

    def delete_provisioned_model_throughput(self) -> str:
        self.bedrock_backend.delete_throughput(self._path_param("provisionedModelId"))
        return "{}"

    def list_provisioned_model_throughputs(self) -> str:
        backend = self.bedrock_backend
        items, token = backend.list_throughputs(
            self._query(
                "creationTimeAfter",
                "creationTimeBefore",
                "statusEquals",
                "modelArnEquals",
                "nameContains",
                "maxResults",
                "nextToken",
                "sortBy",
                "sortOrder",
            )
        )
        return _dumps(
            {"provisionedModelSummaries": [backend.throughput_summary(t) for t in items], "nextToken": token}
        )

    # -- custom model deployments -------------------------------------------------------------

    def create_custom_model_deployment(self) -> str:
        arn = self.bedrock_backend.create_deployment(self._body())
        return _dumps({"customModelDeploymentArn": arn})

    def get_custom_model_deployment(self) -> str:
        backend = self.bedrock_backend
        deployment = backend.find_deployment(self._path_param("customModelDeploymentIdentifier"))
        return _dumps(backend.deployment_description(deployment))

    def delete_custom_model_deployment(self) -> str:
        self.bedrock_backend.delete_deployment(self._path_param("customModelDeploymentIdentifier"))
        return "{}"

    def list_custom_model_deployments(self) -> str:
        backend = self.bedrock_backend
        items, token = backend.list_deployments(
            self._query(
                "createdBefore",
                "createdAfter",
                "nameContains",
                "maxResults",
                "nextToken",
                "sortBy",
                "sortOrder",
                "statusEquals",
                "modelArnEquals",
            )
        )
        return _dumps(
            {"modelDeploymentSummaries": [backend.deployment_summary(d) for d in items], "nextToken": token}
        )

    # -- foundation models --------------------------------------------------------------------

    def get_foundation_model(self) -> str:
        backend = self.bedrock_backend
        identifier = self._path_param("modelIdentifier")
        model = backend.foundation_model(identifier)
        if model is None:
            raise _not_found(f"Foundation model {identifier} not found")
        return _dumps({"modelDetails": model.details(backend.partition, backend.region_name)})

    def list_foundation_models(self) -> str:
        backend = self.bedrock_backend
        models = backend.list_foundation_models(
            self._query("byProvider", "byCustomizationType", "byOutputModality", "byInferenceType")
        )
        return _dumps({"modelSummaries": [m.details(backend.partition, backend.region_name) for m in models]})


# --------------------------------------------------------------------------------------------
# The simulator
# --------------------------------------------------------------------------------------------

_INSTALL_LOCK = threading.Lock()


def _operation_name(operation: str) -> str:
    """Accept ``CreateModelCustomizationJob`` or ``create_model_customization_job``."""
    if "_" in operation or operation[:1].islower():
        return "".join(part[:1].upper() + part[1:] for part in operation.split("_"))
    return operation


class BedrockSimulator:
    """Simulated Bedrock: configure, script, install (inside ``mock_aws``) and inspect.

    Durations are simulated seconds. ``max_concurrent_jobs`` (None: unlimited) makes creating
    a job beyond the quota fail with ServiceQuotaExceededException. ``check_s3_inputs``: a job
    whose training/validation objects do not exist fails at the end of its validation phase.
    """

    _active: ClassVar[BedrockSimulator | None] = None

    @classmethod
    def active(cls) -> BedrockSimulator | None:
        """The installed simulator, if any."""
        return cls._active

    def __init__(
        self,
        clock: SimClock | None = None,
        *,
        job_duration_seconds: float = 3600.0,
        stop_delay_seconds: float = 60.0,
        throughput_delay_seconds: float = 600.0,
        deployment_delay_seconds: float = 300.0,
        steps_per_epoch: int = 10,
        max_concurrent_jobs: int | None = None,
        check_s3_inputs: bool = True,
        foundation_models: Iterable[FoundationModel] = DEFAULT_FOUNDATION_MODELS,
        event_sink: EventSink | None = None,
        seed: int | None = None,
    ) -> None:
        if steps_per_epoch < 2 or steps_per_epoch % 2:
            raise ValueError("steps_per_epoch must be even and at least 2")
        self.clock = clock or SimClock()
        self.job_duration_seconds = job_duration_seconds
        self.stop_delay_seconds = stop_delay_seconds
        self.throughput_delay_seconds = throughput_delay_seconds
        self.deployment_delay_seconds = deployment_delay_seconds
        self.steps_per_epoch = steps_per_epoch
        self.max_concurrent_jobs = max_concurrent_jobs
        self.check_s3_inputs = check_s3_inputs
        self.foundation_models: tuple[FoundationModel, ...] = tuple(foundation_models)
        self.event_sink = event_sink
        # Re-entrant: an event sink may call Bedrock again from the same thread.
        self.lock = threading.RLock()
        self._rng = random.Random(seed)
        self._backends: dict[tuple[str, str], SimulatedBedrockBackend] = {}
        self._job_scripts: list[JobScript] = []
        self._named_job_scripts: dict[str, JobScript] = {}
        self._throughput_scripts: dict[str | None, list[ProvisioningScript]] = {}
        self._deployment_scripts: dict[str | None, list[ProvisioningScript]] = {}
        self._errors: dict[str, list[ScriptedError]] = {}
        self._events_to_lose = 0
        self._outbox: list[BedrockEvent] = []
        self._calls: list[str] = []
        self.events: list[BedrockEvent] = []
        self.lost_events: list[BedrockEvent] = []
        self.sink_errors: list[tuple[BedrockEvent, Exception]] = []
        self._saved_url_paths: dict[str, Any] = {}

    # -- installation ---------------------------------------------------------------------------

    def install(self) -> BedrockSimulator:
        """Route bedrock requests to this simulator and follow the clock. Idempotent."""
        with _INSTALL_LOCK:
            if BedrockSimulator._active is self:
                return self
            if BedrockSimulator._active is not None:
                raise RuntimeError("another BedrockSimulator is installed")
            # moto reads url_paths on every request: one catch-all route to our handler.
            self._saved_url_paths = bedrock_urls.url_paths
            bedrock_urls.url_paths = {"{0}/.*$": SimulatedBedrockResponse.dispatch}
            self.clock.add_listener(self._on_clock)
            BedrockSimulator._active = self
        return self

    def uninstall(self) -> None:
        with _INSTALL_LOCK:
            if BedrockSimulator._active is not self:
                return
            bedrock_urls.url_paths = self._saved_url_paths
            self.clock.remove_listener(self._on_clock)
            BedrockSimulator._active = None

    def __enter__(self) -> BedrockSimulator:
        return self.install()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.uninstall()

    def backend(self, account_id: str, region: str) -> SimulatedBedrockBackend:
        with self.lock:
            key = (account_id, region)
            if key not in self._backends:
                self._backends[key] = SimulatedBedrockBackend(region, account_id, self)
            return self._backends[key]

    # -- scripting ------------------------------------------------------------------------------

    def script_job(self, script: JobScript, *, job_name: str | None = None) -> None:
        """Script the job named ``job_name``, or else the next job created (FIFO)."""
        with self.lock:
            if job_name is None:
                self._job_scripts.append(script)
            else:
                self._named_job_scripts[job_name] = script

    def script_throughput(self, script: ProvisioningScript, *, name: str | None = None) -> None:
        with self.lock:
            self._throughput_scripts.setdefault(name, []).append(script)

    def script_deployment(self, script: ProvisioningScript, *, name: str | None = None) -> None:
        with self.lock:
            self._deployment_scripts.setdefault(name, []).append(script)

    def fail_next(
        self, operation: str, error: ScriptedError | str, message: str | None = None, *, count: int = 1
    ) -> None:
        """Make the next ``count`` calls of ``operation`` fail with ``error``.

        ``error`` is a ScriptedError (see ``throttling``, ``quota_exceeded``,
        ``role_not_assumable``) or an error code such as ``"ConflictException"``.
        """
        if isinstance(error, str):
            error = ScriptedError(error, message or f"Simulated {error}")
        with self.lock:
            self._errors.setdefault(_operation_name(operation), []).extend([error] * count)

    def lose_events(self, count: int = 1) -> None:
        """Drop the next ``count`` job state change events (EventBridge is best effort)."""
        with self.lock:
            self._events_to_lose += count

    # -- driving time -------------------------------------------------------------------------

    def advance(self, seconds: float) -> datetime:
        """Advance the shared clock (transitions and events happen on the way)."""
        return self.clock.advance(seconds)

    def tick(self) -> None:
        """Apply transitions due now and deliver their events."""
        with self.lock:
            self._process_all()
        self._deliver_events()

    def finish_job(
        self, identifier: str, outcome: JobOutcome = "Completed", *, failure_message: str | None = None
    ) -> SimJob:
        """End a running job now with ``outcome`` instead of waiting for its duration.

        A job already ``Stopping`` ends ``Stopped`` whatever the outcome asked for.
        """
        with self.lock:
            job: SimJob = self._find(lambda b: b.find_job(identifier))
            if not job.running:
                raise ValueError(f"job {job.job_name} is already {job.status}")
            job.script = JobScript(
                outcome=outcome,
                failure_message=failure_message or job.script.failure_message,
                failure_phase=job.script.failure_phase,
                lose_event=job.script.lose_event,
            )
            job.due_time = min(job.due_time, self.clock.now())
            if job.status == "Stopping":
                job.stop_due_time = self.clock.now()
            self._process_all()
        self._deliver_events()
        return job

    # -- inspection -----------------------------------------------------------------------------

    def jobs(self, status: str | None = None) -> list[SimJob]:
        self.tick()
        with self.lock:
            found = [j for b in self._backends.values() for j in b.jobs.values()]
        return [j for j in found if status is None or j.status == status]

    def running_jobs(self) -> list[SimJob]:
        return [j for j in self.jobs() if j.running]

    def job(self, identifier: str) -> SimJob:
        self.tick()
        with self.lock:
            job: SimJob = self._find(lambda b: b.find_job(identifier))
            return job

    def custom_models(self) -> list[SimCustomModel]:
        self.tick()
        with self.lock:
            return [m for b in self._backends.values() for m in b.models.values()]

    def throughputs(self, status: str | None = None) -> list[SimThroughput]:
        self.tick()
        with self.lock:
            found = [t for b in self._backends.values() for t in b.throughputs.values()]
        return [t for t in found if status is None or t.status == status]

    def deployments(self, status: str | None = None) -> list[SimDeployment]:
        self.tick()
        with self.lock:
            found = [d for b in self._backends.values() for d in b.deployments.values()]
        return [d for d in found if status is None or d.status == status]

    def calls(self, operation: str | None = None) -> list[str]:
        """Operation names of the API calls received (including ones failed by injection)."""
        with self.lock:
            calls = list(self._calls)
        return [c for c in calls if operation is None or c == _operation_name(operation)]

    # -- internals ------------------------------------------------------------------------------

    def _find(self, lookup: Callable[[SimulatedBedrockBackend], Any]) -> Any:
        error: Exception | None = None
        for backend in self._backends.values():
            try:
                return lookup(backend)
            except BedrockError as exc:
                error = exc
        raise LookupError(str(error.message) if isinstance(error, BedrockError) else "no such resource")

    def _new_id(self) -> str:
        return f"{self._rng.getrandbits(48):012x}"

    def _new_uuid(self) -> str:
        bits = f"{self._rng.getrandbits(128):032x}"
        return f"{bits[:8]}-{bits[8:12]}-{bits[12:16]}-{bits[16:20]}-{bits[20:]}"

    def _on_clock(self, now: datetime) -> None:
        self.tick()

    def _process_all(self) -> None:
        now = self.clock.now()
        for backend in list(self._backends.values()):
            backend.process(now)

    def _take_job_script(self, job_name: str) -> JobScript:
        if job_name in self._named_job_scripts:
            return self._named_job_scripts.pop(job_name)
        return self._job_scripts.pop(0) if self._job_scripts else JobScript()

    @staticmethod
    def _take_provisioning_script(
        scripts: dict[str | None, list[ProvisioningScript]], name: str
    ) -> ProvisioningScript:
        for key in (name, None):
            if scripts.get(key):
                return scripts[key].pop(0)
        return ProvisioningScript()

    def _take_scripted_error(self, operation: str) -> ScriptedError | None:
        queue = self._errors.get(operation)
        return queue.pop(0) if queue else None

    def _emit(self, event: BedrockEvent, *, lose: bool) -> None:
        if lose or self._events_to_lose > 0:
            if not lose:
                self._events_to_lose -= 1
            self.lost_events.append(event)
            return
        self.events.append(event)
        self._outbox.append(event)

    def _deliver_events(self) -> None:
        """Hand queued events to the sink, outside the lock (the sink may call back in)."""
        while True:
            with self.lock:
                if not self._outbox:
                    return
                event = self._outbox.pop(0)
                sink = self.event_sink
            if sink is None:
                continue
            try:
                sink(event)
            except Exception as exc:  # a broken sink must not break the caller's API call
                with self.lock:
                    self.sink_errors.append((event, exc))


def active_simulator() -> BedrockSimulator | None:
    return BedrockSimulator.active()
