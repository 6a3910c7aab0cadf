"""How a ``POST /custom-models`` request maps onto a run spec, its findings onto request fields,
and which run id it gets (docs/api.md, "Request and run spec")."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from bmc import runspec
from bmc.api.models import CreateCustomModelRequest, EvaluationRequest, FieldError
from bmc.findings import Finding

RUN_ID_PREFIX = "api-"
RUN_SLUG_LENGTH = 40
RUN_HASH_LENGTH = 12

# Where the run spec's fields come from in the API's request (docs/api.md).
SPEC_TO_API = {
    "runName": "ModelName",
    "baseModel": "BaseModelId",
    "customizationType": "ModelType",
    "trainingData": "TrainingDataLocation",
    "validationData": "ValidationDataLocation",
    "hyperparameters": "HyperParameters",
    "distillation": "TeacherModelId",
    "evaluation": "Evaluation",
}
# The evaluation block's fields have the run spec's names in PascalCase, except this one.
EVALUATION_RENAMED = {"testData": "TestDataLocation"}


def to_spec(request: CreateCustomModelRequest) -> dict[str, Any]:
    """The run spec a creation request stands for; serving is managed through /throughput."""
    spec: dict[str, Any] = {
        "runName": request.ModelName,
        "baseModel": request.BaseModelId,
        "customizationType": request.ModelType,
        "trainingData": request.TrainingDataLocation,
        "serving": {"mode": "none", "modelUnits": 1, "commitment": "none", "ttlHours": None},
    }
    if request.ValidationDataLocation is not None:
        spec["validationData"] = [request.ValidationDataLocation]
    if request.HyperParameters is not None:
        spec["hyperparameters"] = dict(request.HyperParameters)
    if request.TeacherModelId is not None:
        spec["distillation"] = {"teacherModel": request.TeacherModelId}
    if request.Evaluation is not None:
        spec["evaluation"] = evaluation_spec(request.Evaluation)
    return spec


def evaluation_spec(request: EvaluationRequest) -> dict[str, Any]:
    """The run spec's ``evaluation`` block (docs/run-spec.md) a request's ``Evaluation`` stands for;
    the run spec's checks then apply (and their findings name the request's fields)."""
    block: dict[str, Any] = {"testData": request.TestDataLocation}
    optional: dict[str, Any] = {
        "maxRecords": request.MaxRecords,
        "compareWithBase": request.CompareWithBase,
        "metrics": None if request.Metrics is None else list(request.Metrics),
        "systemPrompt": request.SystemPrompt,
        "toleratedFailurePercentage": request.ToleratedFailurePercentage,
    }
    if request.Inference is not None:
        optional["inference"] = {
            "maxTokens": request.Inference.MaxTokens,
            "temperature": request.Inference.Temperature,
            "topP": request.Inference.TopP,
        }
    if request.Judge is not None:
        optional["judge"] = {"modelId": request.Judge.ModelId, "criteria": request.Judge.Criteria}
    if request.Gate is not None:
        optional["gate"] = {
            "metric": request.Gate.Metric,
            "minDelta": request.Gate.MinDelta,
            "onFail": request.Gate.OnFail,
        }
    for key, value in optional.items():
        given = {k: v for k, v in value.items() if v is not None} if isinstance(value, dict) else value
        if given is not None:
            block[key] = given
    return block


def api_field(path: str | None) -> str:
    """The request field a run spec finding is about (``hyperparameters.epochCount`` ->
    ``HyperParameters.epochCount``); ``body`` when it concerns the request as a whole."""
    if not path:
        return "body"
    head = path.split(".", 1)[0].split("[", 1)[0]
    mapped = SPEC_TO_API.get(head)
    if mapped is None:
        return "body"
    rest = path[len(head) :].lstrip(".")
    if head == "evaluation" and rest:
        return ".".join([mapped, *(_pascal(part) for part in rest.split("."))])
    return f"{mapped}.{rest}" if head == "hyperparameters" and rest else mapped


def _pascal(part: str) -> str:
    """``gate`` -> ``Gate``, ``metrics[1]`` -> ``Metrics[1]``, ``testData`` -> ``TestDataLocation``."""
    name, bracket, index = part.partition("[")
    name = EVALUATION_RENAMED.get(name, name[:1].upper() + name[1:])
    return f"{name}{bracket}{index}"


def field_error(finding: Finding) -> FieldError:
    field = api_field(finding.field)
    if finding.field == "distillation" and finding.code == "MISSING_FIELD":
        return FieldError(field=field, message="TeacherModelId is required for ModelType DISTILLATION")
    if finding.field == "distillation":
        return FieldError(field=field, message="TeacherModelId applies only to ModelType DISTILLATION")
    return FieldError(field=field, message=finding.message)


def new_model_id(request: CreateCustomModelRequest, idempotency_key: str | None) -> str:
    """``api-<slug of ModelName>-<12 hex>``; the hex derives from the idempotency key and the
    body when there is a key, so even an expired idempotency record cannot start a second run."""
    if idempotency_key is None:
        suffix = uuid.uuid4().hex[:RUN_HASH_LENGTH]
    else:
        body = json.dumps(request.model_dump(mode="json"), sort_keys=True)
        suffix = hashlib.sha256(f"{idempotency_key}\n{body}".encode()).hexdigest()[:RUN_HASH_LENGTH]
    return f"{RUN_ID_PREFIX}{runspec.slug(request.ModelName, RUN_SLUG_LENGTH) or 'model'}-{suffix}"


def execution_arn(state_machine_arn: str, run_id: str) -> str:
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{run_id}"
