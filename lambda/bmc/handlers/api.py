"""The ``/custom-models`` REST API (API Gateway proxy integration, Powertools REST resolver).

docs/api.md is the reference; docs/openapi.json is generated from this module
(scripts/export_openapi.py) and a test fails when the two drift. Every error is JSON:
``{"message", "errors": [{"field", "message"}]}`` for 400, ``{"message"}`` for 404 and 409,
and for anything unexpected only ``{"message", "requestId"}``: internals stay in the logs.
"""

# No `from __future__ import annotations`: the resolver reads the routes' annotations at run time.
import json
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from bmc import settings
from bmc.api.config import ApiSettings
from bmc.api.errors import ApiError, ForbiddenError
from bmc.api.models import (
    IDEMPOTENCY_KEY,
    TEAM_FILTER,
    ApiStatus,
    CreateCustomModelRequest,
    CreateCustomModelResponse,
    CustomModel,
    CustomModelList,
    Download,
    DownloadType,
    ErrorResponse,
    FieldError,
    InvokeRequest,
    InvokeResponse,
    ThroughputRequest,
)
from bmc.api.service import CustomModels
from bmc.aws import clients
from bmc.aws.bedrock_ops import BedrockOps
from bmc.aws.registry import Registry
from bmc.runspec.bounds import load_json_text
from bmc.tenancy import access_for, caller_principal

logger = Logger()
tracer = Tracer()
app = APIGatewayRestResolver(enable_validation=True)

API_TITLE = "Bedrock custom models"
API_VERSION = "1.0.0"
IDEMPOTENCY_HOURS = 24
MAX_PAGE = 100
DEFAULT_PAGE = 25

# No length or pattern here: an id that cannot exist is a 404 like any unknown id.
ModelId = Annotated[str, Path(description="The custom model's Id (its run id)")]


def _json_response(description: str, model: type[BaseModel]) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": model}}}


def _error(description: str) -> OpenAPIResponse:
    return _json_response(description, ErrorResponse)


BAD_REQUEST: dict[int, OpenAPIResponse] = {400: _error("The request is invalid: `errors` names each field")}
NOT_FOUND: dict[int, OpenAPIResponse] = {
    404: _error(
        "No custom model with this Id is visible to the caller: none exists, or it belongs to another "
        "team (the two are not told apart)"
    )
}
CONFLICT: dict[int, OpenAPIResponse] = {409: _error("The model's state does not allow this now")}
NOT_JSON: dict[int, OpenAPIResponse] = {415: _error("The body is not application/json")}
# Mostly answered by API Gateway itself: the request is unsigned, or the signer may not call this
# method. The function answers 403 when the signer cannot be attributed, or has no team to create for.
FORBIDDEN: dict[int, OpenAPIResponse] = {
    403: _error(
        "Not signed with SigV4, the caller's IAM policy does not allow it, or (POST) the caller belongs "
        "to no team of this deployment"
    )
}
MODELS_TAG = "custom models"
THROUGHPUT_TAG = "throughput"
TAGS = [
    {"name": MODELS_TAG, "description": "Customization runs and the custom models they make"},
    {"name": THROUGHPUT_TAG, "description": "Provisioned throughput of a Complete custom model"},
]
OWNERSHIP = (
    " Only models of the caller's team are visible (an admin sees every model); any other Id is a 404."
)


def _service() -> CustomModels:
    config = ApiSettings.from_environment()
    principal = caller_principal(app.current_event.raw_event.get("requestContext", {}).get("identity"))
    if principal is None:
        raise ForbiddenError("the request carries no IAM identity this API can attribute")
    return CustomModels(
        config,
        caller=access_for(principal, config.tenancy, config.allowed_base_models),
        registry=Registry.from_environment(),
        bedrock=BedrockOps(),
    )


def _request_id() -> str:
    context = app.current_event.request_context
    return str(context.request_id or app.lambda_context.aws_request_id)


# --- routes -------------------------------------------------------------------------------------


@app.post(
    "/custom-models",
    status_code=202,
    summary="Create a custom model: start a customization run",
    description=(
        "Validates the request, maps it onto a run spec, records the run for the caller's team and starts "
        "the workflow. Data locations must be under the team's dataset prefixes, the base model in its "
        "allowed list."
    ),
    responses={
        202: _json_response("The run is registered and started", CreateCustomModelResponse),
        **FORBIDDEN,
        **BAD_REQUEST,
        **CONFLICT,
        **NOT_JSON,
    },
    tags=[MODELS_TAG],
)
@tracer.capture_method
def create_custom_model(
    request: Annotated[CreateCustomModelRequest, Body()],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            pattern=IDEMPOTENCY_KEY,
            description="The same key and body return the same model; a different body is a 409",
        ),
    ] = None,
) -> CreateCustomModelResponse:
    if idempotency_key is None:
        return _service().create(request, request_id=_request_id(), idempotency_key=None)
    config = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="body",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=IDEMPOTENCY_HOURS * 3600,
    )
    config.register_lambda_context(app.lambda_context)
    # Built per request: the table name is read from the environment when asked for.
    store = DynamoDBPersistenceLayer(
        table_name=settings.idempotency_table(), boto3_client=clients.client("dynamodb")
    )
    create = idempotent_function(data_keyword_argument="payload", persistence_store=store, config=config)(
        _create_once
    )
    body = request.model_dump(mode="json", exclude_none=True)
    result = create(payload={"key": idempotency_key, "body": body})
    return CreateCustomModelResponse.model_validate(result)


def _create_once(payload: dict[str, Any]) -> dict[str, Any]:
    """The creation an idempotency key stands for; its result is stored and replayed."""
    request = CreateCustomModelRequest.model_validate(payload["body"])
    created = _service().create(request, request_id=_request_id(), idempotency_key=str(payload["key"]))
    return created.model_dump(mode="json")


@app.get(
    "/custom-models",
    summary="List custom models, newest first",
    description="One page of the caller's team's models (an admin: every model, or one team's with `team`).",
    responses={
        200: _json_response("One page of custom models", CustomModelList),
        **FORBIDDEN,
        **BAD_REQUEST,
        404: _error("`team` names a team the caller may not list"),
    },
    tags=[MODELS_TAG],
)
@tracer.capture_method
def list_custom_models(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Models per page")] = DEFAULT_PAGE,
    next_token: Annotated[
        str | None, Query(alias="nextToken", max_length=1024, description="NextToken of the previous page")
    ] = None,
    status: Annotated[ApiStatus | None, Query(description="Only models with this status")] = None,
    team: Annotated[
        str | None,
        Query(
            pattern=TEAM_FILTER,
            description="Admins: only this team's models (platform: console, S3 and admins' runs)",
        ),
    ] = None,
) -> CustomModelList:
    return _service().list(limit=limit, next_token=next_token, status=status, team=team)


@app.get(
    "/custom-models/<id>",
    summary="A custom model: request, status, job, model, metrics, evaluation, throughput, error, lineage",
    description=(
        "The model's record; a throughput still being created is refreshed from Bedrock. `Evaluation` has the "
        "evaluation's headline and gate decision. `Lineage` shows the chain from the foundation model to this "
        "model, each step with its datasets (URI, version, SHA-256, snapshot), hyperparameters, job, model and "
        "evaluation summary." + OWNERSHIP
    ),
    responses={200: _json_response("The custom model", CustomModel), **FORBIDDEN, **NOT_FOUND},
    tags=[MODELS_TAG],
)
@tracer.capture_method
def get_custom_model(id: ModelId) -> CustomModel:
    return _service().get(id)


@app.post(
    "/custom-models/<id>/invoke",
    summary="Send a prompt to the model's serving and return its answer",
    description=(
        "One Converse (or InvokeModel) call to the throughput or deployment the model's record names, "
        "answered within API Gateway's 29 s: a bounded Prompt and MaxTokens, one attempt. 409 when nothing "
        "serves the model, 429 when Bedrock throttles (retry with backoff), 503 when the model is not "
        "ready, 502 when it fails to answer, 504 when it takes too long." + OWNERSHIP
    ),
    responses={
        200: _json_response("The model's answer", InvokeResponse),
        **FORBIDDEN,
        **BAD_REQUEST,
        **NOT_FOUND,
        **CONFLICT,
        **NOT_JSON,
        429: _error("Amazon Bedrock throttled the call: retry with backoff"),
        502: _error("The model failed to answer, or Amazon Bedrock refused the call"),
        503: _error("The model cannot answer right now: retry later"),
        504: _error("The model did not answer in time: ask for fewer MaxTokens or a shorter Prompt"),
    },
    tags=[MODELS_TAG],
)
@tracer.capture_method
def invoke_custom_model(id: ModelId, request: Annotated[InvokeRequest, Body()]) -> InvokeResponse:
    return _service().invoke(id, request)


@app.get(
    "/custom-models/<id>/download",
    summary="Short-lived presigned URLs of the model's metrics, HTML run report, evaluation, training or validation data",
    description=(
        "URLs valid for 5 minutes, of the model's own objects only: its metrics report, its HTML run "
        "report (one self-contained page with charts), its evaluation (evaluation.json, then "
        "predictions.jsonl), or the snapshots of its data, the exact bytes it was trained on (runs recorded "
        "before snapshots: its data in its team's dataset prefixes)." + OWNERSHIP
    ),
    responses={200: _json_response("Presigned URLs", Download), **FORBIDDEN, **BAD_REQUEST, **NOT_FOUND},
    tags=[MODELS_TAG],
)
@tracer.capture_method
def download_custom_model_data(
    id: ModelId,
    download_type: Annotated[DownloadType, Query(alias="type", description="What to download")],
) -> Download:
    return _service().download(id, download_type)


@app.delete(
    "/custom-models/<id>",
    summary="Stop the model's run if it still runs, delete the custom model; the record stays, Deleted",
    description=(
        "Stops a running run (execution and job), deletes the custom model in Bedrock. The snapshots of its "
        "data (what it was trained on) are kept for the record unless purgeData=true; a model a later run "
        "was trained from may be deleted: that run's lineage keeps this record." + OWNERSHIP
    ),
    responses={
        200: _json_response("The model, Deleted", CustomModel),
        **FORBIDDEN,
        **BAD_REQUEST,
        **NOT_FOUND,
        **CONFLICT,
    },
    tags=[MODELS_TAG],
)
@tracer.capture_method
def delete_custom_model(
    id: ModelId,
    force: Annotated[bool, Query(description="Delete the model's throughput first")] = False,
    purge_data: Annotated[
        bool,
        Query(
            alias="purgeData",
            description="Also delete the snapshots of its training, validation and test data (every version); "
            "calling again on a Deleted model purges them",
        ),
    ] = False,
) -> CustomModel:
    return _service().delete(id, force=force, purge_data=purge_data)


@app.put(
    "/custom-models/<id>/throughput",
    status_code=202,
    summary="Provision a no-commitment throughput for a Complete model",
    description="Creates a provisioned throughput without commitment, billed until deleted." + OWNERSHIP,
    responses={
        202: _json_response("The throughput is being created", CustomModel),
        **FORBIDDEN,
        **BAD_REQUEST,
        **NOT_FOUND,
        **CONFLICT,
        **NOT_JSON,
    },
    tags=[THROUGHPUT_TAG],
)
@tracer.capture_method
def create_throughput(id: ModelId, request: Annotated[ThroughputRequest, Body()]) -> CustomModel:
    return _service().throughputs.create(id, request.ModelUnits)


@app.delete(
    "/custom-models/<id>/throughput",
    summary="Delete the model's throughput",
    description="Deletes the throughput and its expiry schedule; deleting again is harmless." + OWNERSHIP,
    responses={
        200: _json_response("The model, its throughput Deleted", CustomModel),
        **FORBIDDEN,
        **NOT_FOUND,
        **CONFLICT,
    },
    tags=[THROUGHPUT_TAG],
)
@tracer.capture_method
def delete_throughput(id: ModelId) -> CustomModel:
    return _service().throughputs.delete(id)


# --- errors -------------------------------------------------------------------------------------


def _json(status: int, body: ErrorResponse) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body.model_dump(mode="json", exclude_none=True)),
    )


# Headers arrive lowercased; errors name them as the documentation does.
HEADER_NAMES = {"idempotency-key": "Idempotency-Key"}


def _field(location: tuple[Any, ...]) -> str:
    """``("body", "HyperParameters", "epochCount")`` -> ``HyperParameters.epochCount``."""
    parts = [str(part) for part in location]
    if parts and parts[0] == "header" and len(parts) > 1:
        parts[1] = HEADER_NAMES.get(parts[1].lower(), parts[1])
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] or [parts[0]]
    return ".".join(parts)


def _invalid_request(exc: RequestValidationError) -> Response[str]:
    errors = [
        FieldError(field=_field(tuple(e.get("loc", ()))), message=str(e.get("msg"))) for e in exc.errors()
    ]
    return _json(HTTPStatus.BAD_REQUEST, ErrorResponse(message="Invalid request", errors=errors))


NOT_JSON_MESSAGE = "the body must be JSON: send Content-Type: application/json"


def _not_json(exc: RequestUnsupportedContentType) -> Response[str]:
    return _json(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, ErrorResponse(message=NOT_JSON_MESSAGE))


def _api_error(exc: ApiError) -> Response[str]:
    return _json(exc.status_code, ErrorResponse(message=exc.message, errors=exc.errors or None))


def _idempotency_key_reused(exc: IdempotencyValidationError) -> Response[str]:
    message = "this Idempotency-Key was used with a different request body; use a new key for a new model"
    return _json(HTTPStatus.CONFLICT, ErrorResponse(message=message))


def _idempotency_in_progress(exc: IdempotencyAlreadyInProgressError) -> Response[str]:
    message = "a request with this Idempotency-Key is in progress; retry in a few seconds"
    return _json(HTTPStatus.CONFLICT, ErrorResponse(message=message))


def _unexpected(exc: Exception) -> Response[str]:
    logger.exception("request failed")
    return _json(
        HTTPStatus.INTERNAL_SERVER_ERROR,
        ErrorResponse(message="Internal server error", requestId=_request_id()),
    )


# Registered by call: the decorator form is untyped.
app.exception_handler(RequestValidationError)(_invalid_request)
app.exception_handler(RequestUnsupportedContentType)(_not_json)
app.exception_handler(ApiError)(_api_error)
app.exception_handler(IdempotencyValidationError)(_idempotency_key_reused)
app.exception_handler(IdempotencyAlreadyInProgressError)(_idempotency_in_progress)
app.exception_handler(Exception)(_unexpected)


@app.not_found
def _no_route(exc: Exception) -> Response[str]:
    return _json(HTTPStatus.NOT_FOUND, ErrorResponse(message="Not found"))


# --- entry point and OpenAPI document -------------------------------------------------------------


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    refusal = _refuse_unreadable_body(event)
    if refusal is not None:
        return refusal
    return app.resolve(event, context)


def _refuse_unreadable_body(event: dict[str, Any]) -> dict[str, Any] | None:
    """Answer before the resolver parses the body: 415 for a body of another media type (its
    parser fails on some, e.g. multipart without a boundary), 400 for JSON that Python cannot
    read (numbers beyond 4,300 digits, nesting past the recursion limit), which would
    otherwise escape the resolver's validation as a 500."""
    headers = {str(name).lower(): str(value) for name, value in (event.get("headers") or {}).items()}
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    body = event.get("body")
    if not body:
        return None
    if media_type != "application/json":
        return _raw_response(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, ErrorResponse(message=NOT_JSON_MESSAGE))
    if not isinstance(body, str) or event.get("isBase64Encoded"):
        return None
    _, problem = load_json_text(body, "body")
    if problem is None:
        return None
    error = ErrorResponse(
        message="Invalid request", errors=[FieldError(field="body", message=problem.message)]
    )
    return _raw_response(HTTPStatus.BAD_REQUEST, error)


def _raw_response(status: HTTPStatus, body: ErrorResponse) -> dict[str, Any]:
    return {
        "statusCode": status.value,
        "multiValueHeaders": {"Content-Type": [content_types.APPLICATION_JSON]},
        "body": json.dumps(body.model_dump(mode="json", exclude_none=True)),
        "isBase64Encoded": False,
    }


CONTACT = {"name": 'The platform team that runs this deployment (docs/api.md, "Authorization")'}
SIGV4_SCHEME = {
    "type": "apiKey",
    "name": "Authorization",
    "in": "header",
    "description": "AWS Signature Version 4 (IAM authorization): sign requests for the service execute-api",
    "x-amazon-apigateway-authtype": "awsSigv4",
}


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document, as committed in docs/openapi.json.

    Generated from the resolver. The 422 responses Powertools adds for validation are removed:
    this API answers invalid requests with 400 (declared on each route). The SigV4 security
    scheme says how every request is authorized.
    """
    document: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(
            title=API_TITLE,
            version=API_VERSION,
            description=(
                "Amazon Bedrock model customization as a service. Every request is signed with SigV4; a "
                "caller sees and acts on its own team's models only. Reference: docs/api.md."
            ),
            tags=TAGS,  # type: ignore[arg-type]  # Powertools accepts the Tag fields as a dict
            contact=CONTACT,  # type: ignore[arg-type]
        )
    )
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    # Powertools' validation error schemas: this API answers 400 with ErrorResponse instead.
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)
    document["components"]["securitySchemes"] = {"sigv4": SIGV4_SCHEME}
    document["security"] = [{"sigv4": []}]
    return document
