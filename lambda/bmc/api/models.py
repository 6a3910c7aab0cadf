"""Requests and responses of the ``/custom-models`` API, and how registry statuses map onto it.

The same pydantic models validate requests in the handler, describe the API in its OpenAPI
document (docs/openapi.json) and, converted to JSON Schema draft 4, validate request bodies at
API Gateway (constructs_lib/api.py), so the three cannot disagree.
"""

# Field names are the API's (PascalCase, as in the product brief), not Python's.
# ruff: noqa: N815

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bmc.aws import registry
from bmc.evaluation.dataset import MAX_RECORDS_CAP
from bmc.evaluation.generation import MAX_TOKENS_LIMIT
from bmc.evaluation.judge import MAX_CRITERIA_CHARS
from bmc.runspec import MAX_MODEL_UNITS
from bmc.runspec.evaluation import MAX_SYSTEM_PROMPT_CHARS

CustomizationType = Literal["FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION"]
ApiStatus = Literal["Pending", "InProgress", "Complete", "Rejected", "Failed", "Stopped", "Deleted"]
DownloadType = Literal["metrics", "report", "evaluation", "validation", "training"]
MetricName = Literal["exactMatch", "contains", "tokenF1", "rougeL", "bleu", "chrF"]
# One flat enum: a single Literal would become `const`, which API Gateway's draft 4 ignores.
GateMetric = Literal["exactMatch", "contains", "tokenF1", "rougeL", "bleu", "chrF", "judge"]

# docs/api.md, "Status": the workflow's statuses as the API reports them.
STATUS_MAP: Mapping[str, ApiStatus] = {
    registry.PENDING: "Pending",
    registry.VALIDATING: "Pending",
    registry.QUEUED: "Pending",
    registry.TRAINING: "InProgress",
    registry.TRAINED: "InProgress",
    registry.DEPLOYING: "InProgress",
    registry.EVALUATING: "InProgress",
    registry.COMPLETED: "Complete",
    registry.IN_SERVICE: "Complete",
    registry.REJECTED: "Rejected",
    registry.FAILED: "Failed",
    registry.STOPPED: "Stopped",
    registry.DELETED: "Deleted",
}


def api_status(workflow_status: str) -> ApiStatus:
    return STATUS_MAP.get(workflow_status, "Pending")


def workflow_statuses(status: ApiStatus) -> list[str]:
    """The registry statuses an API status stands for (the list filter)."""
    return sorted(workflow for workflow, mapped in STATUS_MAP.items() if mapped == status)


S3_URI = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+$"
MODEL_NAME = r"^[A-Za-z0-9 ._-]{1,64}$"  # the run spec's runName
IDEMPOTENCY_KEY = r"^[!-~]{1,128}$"  # printable ASCII without spaces (UUIDs, ULIDs, hashes)
TEAM_FILTER = r"^[a-z][a-z0-9-]{0,31}$"  # a team name, or "platform"
MAX_HYPERPARAMETERS = 20
# POST /custom-models/{id}/invoke answers within API Gateway's 29 s: a bounded prompt and answer.
MAX_PROMPT_CHARS = 20_000
MAX_SYSTEM_CHARS = 8_192
MAX_INVOKE_TOKENS = 1_024
DEFAULT_INVOKE_TOKENS = 256


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EvaluationInferenceRequest(_Request):
    MaxTokens: Annotated[int | None, Field(ge=1, le=MAX_TOKENS_LIMIT, description="Default 512")] = None
    Temperature: Annotated[float | None, Field(ge=0, le=1, description="Default 0")] = None
    TopP: Annotated[float | None, Field(ge=0, le=1, description="Not sent unless given")] = None


class EvaluationJudgeRequest(_Request):
    ModelId: Annotated[
        str,
        Field(
            min_length=1,
            max_length=256,
            description="A judge model of the deployment (evaluation.judgeModels)",
        ),
    ]
    Criteria: Annotated[str | None, Field(min_length=1, max_length=MAX_CRITERIA_CHARS)] = None


class EvaluationGateRequest(_Request):
    Metric: Annotated[GateMetric, Field(description="The metric to beat the base on")]
    MinDelta: Annotated[float | None, Field(description="Least delta, in the metric's units (default 0)")] = (
        None
    )
    OnFail: Annotated[Literal["undeploy", "keep"] | None, Field(description="Default undeploy")] = None


class EvaluationRequest(_Request):
    """The run spec's ``evaluation`` block (docs/run-spec.md), in the API's field names."""

    TestDataLocation: Annotated[
        str, Field(max_length=1024, pattern=S3_URI, description="s3:// URI of the JSONL test set")
    ]
    MaxRecords: Annotated[int | None, Field(ge=1, le=MAX_RECORDS_CAP, description="Default 1000")] = None
    CompareWithBase: Annotated[bool | None, Field(description="Default true")] = None
    Metrics: Annotated[list[MetricName] | None, Field(min_length=1, max_length=6)] = None
    Inference: EvaluationInferenceRequest | None = None
    SystemPrompt: Annotated[str | None, Field(min_length=1, max_length=MAX_SYSTEM_PROMPT_CHARS)] = None
    Judge: EvaluationJudgeRequest | None = None
    Gate: EvaluationGateRequest | None = None
    ToleratedFailurePercentage: Annotated[float | None, Field(ge=0, le=100)] = None


class CreateCustomModelRequest(_Request):
    """``POST /custom-models``: maps onto the run spec (docs/api.md, "Request and run spec")."""

    ModelName: Annotated[
        str, Field(min_length=1, max_length=64, pattern=MODEL_NAME, description="Name of the custom model")
    ]
    ModelType: Annotated[CustomizationType, Field(description="The customization to run")]
    BaseModelId: Annotated[
        str,
        Field(
            min_length=1,
            max_length=256,
            description=(
                "Catalog customization id, plain model id or foundation model ARN; or an earlier Complete "
                "model of the caller's team to customize further: run:<Id> or its custom model ARN"
            ),
        ),
    ]
    Description: Annotated[str | None, Field(max_length=1024, description="Kept on the record")] = None
    TrainingDataLocation: Annotated[
        str, Field(max_length=1024, pattern=S3_URI, description="s3:// URI of the JSONL training data")
    ]
    ValidationDataLocation: Annotated[
        str | None,
        Field(max_length=1024, pattern=S3_URI, description="s3:// URI of the JSONL validation data"),
    ] = None
    HyperParameters: Annotated[
        dict[str, Annotated[str, Field(max_length=64)]] | None,
        Field(max_length=MAX_HYPERPARAMETERS, description="Name to value, as strings"),
    ] = None
    TeacherModelId: Annotated[
        str | None,
        Field(
            min_length=1, max_length=256, description="The teacher model: DISTILLATION only, required there"
        ),
    ] = None
    Evaluation: Annotated[
        EvaluationRequest | None,
        Field(description="Evaluate the custom model against its base after training (docs/evaluation.md)"),
    ] = None


class InvokeRequest(_Request):
    """``POST /custom-models/{id}/invoke``: a prompt for the model the run serves."""

    Prompt: Annotated[str, Field(min_length=1, max_length=MAX_PROMPT_CHARS, description="The user's message")]
    System: Annotated[
        str | None, Field(min_length=1, max_length=MAX_SYSTEM_CHARS, description="A system prompt")
    ] = None
    MaxTokens: Annotated[int, Field(ge=1, le=MAX_INVOKE_TOKENS, description="Longest answer, in tokens")] = (
        DEFAULT_INVOKE_TOKENS
    )
    Temperature: Annotated[float, Field(ge=0, le=1, description="0: deterministic")] = 0.0
    TopP: Annotated[float | None, Field(ge=0, le=1, description="Not sent unless given")] = None


class ThroughputRequest(_Request):
    """``PUT /custom-models/{id}/throughput``: a no-commitment provisioned throughput."""

    ModelUnits: Annotated[int, Field(ge=1, le=MAX_MODEL_UNITS, description="Model units to provision")]


class FieldError(BaseModel):
    field: str
    message: str


class ErrorResponse(BaseModel):
    message: str
    errors: list[FieldError] | None = None
    requestId: str | None = None


class CostEstimateView(BaseModel):
    """What the model will cost, from the deployment's price table (example figures, dated).

    Training bills tokens x epochs at ``TrainingPer1kTokens``: the token count is known once
    the workflow has validated the datasets (the validation report has the full estimate).
    ``ThroughputPerModelUnitHour`` is the no-commitment rate ``PUT .../throughput`` buys. A
    null figure is one the price table does not have. With an ``Evaluation``, the model is
    served only while it is evaluated (``EvaluationServing``).
    """

    Currency: str
    PricesAsOf: str
    TrainingPer1kTokens: float | None = None
    StoragePerModelMonth: float
    ThroughputPerModelUnitHour: float | None = None
    EvaluationServing: str | None = Field(
        default=None,
        description="With an Evaluation: the temporary serving it creates and deletes, and what it bills",
    )
    Notes: list[str] = Field(default_factory=list)


class CreateCustomModelResponse(BaseModel):
    Id: str
    Status: ApiStatus
    CostEstimate: CostEstimateView | None = None


class ThroughputView(BaseModel):
    Kind: str
    Arn: str | None = None
    Name: str | None = None
    Status: str | None = None
    ModelUnits: int | None = None
    FailureMessage: str | None = None
    DeletedAt: str | None = None


class RunErrorView(BaseModel):
    Error: str
    Cause: str


class InvokeResponse(BaseModel):
    Id: str
    ModelArn: str = Field(description="The throughput or deployment that answered")
    Text: str
    StopReason: str | None = None
    InputTokens: int
    OutputTokens: int
    LatencyMs: int


class EvaluationView(BaseModel):
    """The model's evaluation: its headline, the gate's decision and where the reports are."""

    TestDataLocation: str | None = None
    Records: dict[str, Any] | None = Field(default=None, description="total, scored, failed (per model)")
    Metrics: dict[str, Any] | None = Field(
        default=None,
        description="Per metric: scale, base, custom, delta and ci95 (95% interval of the delta)",
    )
    PrimaryMetric: str | None = None
    WinTieLoss: dict[str, Any] | None = None
    Gate: dict[str, Any] | None = Field(
        default=None, description="passed, metric, minDelta, delta, ci95, reason"
    )
    FailedRecords: int | None = None


class LineageDatasetView(BaseModel):
    """A dataset as validated (version, digest) and the snapshot the job was trained from."""

    Role: Literal["training", "validation", "evaluation"]
    Index: int = Field(description="Position among the files of its role (validation files), from 0")
    Uri: str | None = None
    VersionId: str | None = Field(default=None, description="The S3 version read by ValidateDatasets")
    Etag: str | None = None
    Size: int | None = None
    Records: int | None = None
    Sha256: str | None = Field(default=None, description="SHA-256 of the bytes validated, hex")
    SnapshotUri: str | None = Field(default=None, description="The run's copy of that version")
    SnapshotVersionId: str | None = None
    ChangedAfterValidation: bool | None = Field(
        default=None, description="The source changed after validation; the snapshot is the validated version"
    )
    CurrentVersionId: str | None = Field(
        default=None, description="What the source held when the snapshot was taken, when it had changed"
    )


class LineageStepView(BaseModel):
    """One customization of the chain, from its own record."""

    RunId: str
    Status: str | None = None
    BaseModelId: str | None = Field(default=None, description="What this step customized")
    CustomizationType: str | None = None
    HyperParameters: dict[str, str] = Field(default_factory=dict)
    JobArn: str | None = None
    CustomModelArn: str | None = None
    Datasets: list[LineageDatasetView] = Field(default_factory=list)
    MetricsSummary: dict[str, Any] | None = None
    EvaluationSummary: dict[str, Any] | None = None
    DeletedAt: str | None = None
    Recorded: bool = Field(default=True, description="False when the step's record could not be read")


class LineageView(BaseModel):
    """Which bytes, which base and which parent produced the model (docs/api.md, "Lineage")."""

    RootFoundationModel: str | None = None
    ParentRunId: str | None = None
    ParentModelArn: str | None = None
    Datasets: list[LineageDatasetView] = Field(default_factory=list)
    SnapshotsPurgedAt: str | None = None
    Chain: list[LineageStepView] = Field(
        default_factory=list, description="From the first customization of the foundation model to this one"
    )


class CustomModel(BaseModel):
    """``GET /custom-models/{id}``: the model's record."""

    Id: str
    Status: ApiStatus
    WorkflowStatus: str
    ModelName: str | None = None
    ModelType: str | None = None
    BaseModelId: str | None = None
    Description: str | None = None
    Source: str | None = None
    Owner: str | None = Field(
        default=None, description="The owning team's name, the owning principal's ARN, or platform"
    )
    CreatedBy: str | None = Field(default=None, description="The IAM principal that created it (API runs)")
    Request: dict[str, Any] = Field(default_factory=dict)
    JobArn: str | None = None
    CustomModelArn: str | None = None
    MetricsSummary: dict[str, Any] | None = None
    Evaluation: EvaluationView | None = None
    Throughput: ThroughputView | None = None
    Error: RunErrorView | None = None
    Lineage: LineageView | None = None
    CreatedAt: str | None = None
    UpdatedAt: str | None = None


class CustomModelSummary(BaseModel):
    Id: str
    Status: ApiStatus
    Owner: str | None = None
    ModelName: str | None = None
    ModelType: str | None = None
    BaseModelId: str | None = None
    CreatedAt: str | None = None
    UpdatedAt: str | None = None


class CustomModelList(BaseModel):
    Items: list[CustomModelSummary]
    NextToken: str | None = None


class DownloadFile(BaseModel):
    location: str
    url: str
    expiresAt: str


class Download(BaseModel):
    """``GET /custom-models/{id}/download``: presigned URLs; ``url`` is the first file's."""

    id: str
    type: DownloadType
    url: str
    expiresAt: str
    files: list[DownloadFile]
