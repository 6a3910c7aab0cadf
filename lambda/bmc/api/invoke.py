"""``POST /custom-models/{id}/invoke``: one prompt to the model a run serves, answered within API
Gateway's 29 seconds (docs/api.md, "Invoke").

The serving comes from the run's registry record (``bmc.evaluation.targets``, as for ``bmc
invoke`` and the evaluation), never from the request. The call is bounded three ways: the
request (``InvokeRequest``: prompt length and ``MaxTokens``), the client (one attempt, a read
timeout that ends before the function and the integration do). A second attempt would not fit
in 29 s after a slow first one, so a throttled model is a 429 the caller retries with backoff.
Bedrock's refusals map onto HTTP statuses without its internals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.config import Config

from bmc import __version__
from bmc.api.errors import ApiError, BadRequestError, ConflictError, UnavailableError
from bmc.api.models import FieldError, InvokeRequest, InvokeResponse
from bmc.aws import clients
from bmc.evaluation.generation import (
    CLIENT_TIMEOUT,
    Generation,
    Generator,
    InferenceSettings,
    RetryPolicy,
    TargetUnusableError,
)
from bmc.evaluation.targets import NotServedError, resolve_run

# API Gateway ends the integration at 29 s, the function ends at 28 s: the model gets at most
# this (after reading the registry), and the function still answers with a 504 of its own.
READ_TIMEOUT_SECONDS = 24
CONNECT_TIMEOUT_SECONDS = 2
ONE_ATTEMPT = RetryPolicy(max_attempts=1)

THROTTLED = frozenset({"ThrottlingException", "ServiceQuotaExceededException"})
NOT_READY = frozenset({"ModelNotReadyException", "ServiceUnavailableException", "InternalServerException"})
TIMED_OUT = frozenset({"ModelTimeoutException", CLIENT_TIMEOUT})


class TooManyRequestsError(ApiError):
    status_code = 429


class BadGatewayError(ApiError):
    """The model was reached and failed to answer (not the caller's fault, not a timeout)."""

    status_code = 502


class GatewayTimeoutError(ApiError):
    status_code = 504


INTERACTIVE_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1},
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=READ_TIMEOUT_SECONDS,
    user_agent_extra=f"bmc/{__version__}",
)


def invoke(
    model_id: str,
    record: Mapping[str, Any],
    request: InvokeRequest,
    *,
    region: str,
    client: Any | None = None,
) -> InvokeResponse:
    """Ask the model ``record`` serves (``client``: a bedrock-runtime client, for tests)."""
    try:
        resolved = resolve_run(model_id, record, region, compare=False)
    except NotServedError as exc:
        raise ConflictError(not_served(model_id, record)) from exc
    settings = InferenceSettings(
        max_tokens=request.MaxTokens, temperature=request.Temperature, top_p=request.TopP
    )
    generator = Generator(
        client if client is not None else clients.interactive_runtime(resolved.region, INTERACTIVE_CONFIG),
        policy=ONE_ATTEMPT,
    )
    try:
        answer = generator.generate(resolved.custom, request.Prompt, settings, request.System)
    except TargetUnusableError as exc:
        if exc.code == "ResourceNotFoundException":
            raise ConflictError(
                f"custom model {model_id}: its serving no longer exists in Amazon Bedrock; "
                f"PUT /custom-models/{model_id}/throughput to serve it again"
            ) from exc
        raise BadGatewayError(f"Amazon Bedrock refused the call ({exc.code})") from exc
    if not answer.ok:
        raise refusal(model_id, answer)
    return InvokeResponse(
        Id=model_id,
        ModelArn=resolved.custom.model_id,
        Text=answer.text or "",
        StopReason=answer.stop_reason,
        InputTokens=answer.input_tokens,
        OutputTokens=answer.output_tokens,
        LatencyMs=answer.latency_ms,
    )


def refusal(model_id: str, answer: Generation) -> ApiError:
    """The response for an answer that failed: Bedrock's error code, never its internals."""
    code = str(answer.error)
    if code in THROTTLED:
        return TooManyRequestsError(f"the model of {model_id} is busy ({code}); retry with backoff")
    if code in NOT_READY:
        return UnavailableError(f"the model of {model_id} cannot answer right now ({code}); retry later")
    if code in TIMED_OUT:
        return GatewayTimeoutError(
            f"the model of {model_id} did not answer within {READ_TIMEOUT_SECONDS} s; "
            "ask for fewer MaxTokens or a shorter Prompt"
        )
    if code == "ValidationException":
        return BadRequestError(
            "Invalid request",
            [FieldError(field="Prompt", message=f"the model refused the request: {answer.message}")],
        )
    return BadGatewayError(f"the model of {model_id} failed to answer ({code})")


def not_served(model_id: str, record: Mapping[str, Any]) -> str:
    serving = record.get("serving") or {}
    if not record.get("customModelArn"):
        return f"custom model {model_id} is not trained yet: there is nothing to invoke"
    if serving and serving.get("status") not in (None, "Deleted"):
        return f"custom model {model_id}: its {serving.get('kind')} serving is {serving.get('status')}; retry when it is ready"
    return (
        f"custom model {model_id} is not served: PUT /custom-models/{model_id}/throughput to provision a "
        "throughput (it bills per hour until deleted)"
    )
