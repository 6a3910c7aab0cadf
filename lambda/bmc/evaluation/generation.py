"""Asking a model for an answer: Converse (or InvokeModel for families Converse does not fully
support), with retries and backoff on throttling, and failures recorded, never raised.

- The custom model is reached through its serving ARN (a provisioned model or a custom model
  deployment); the base model through the id the catalog names for the region (a plain model
  id, or the system inference profile when AWS serves the model on demand only that way).
- Retried with exponential backoff and full jitter: ThrottlingException, ModelNotReadyException
  (right after serving becomes ready), ServiceUnavailable, InternalServer, ModelTimeout,
  ServiceQuotaExceeded (InvokeModel's token quota) and client-side timeouts.
- Recorded as the record's failure: ValidationException (for example a prompt beyond the
  context window), ModelErrorException, anything unknown, and retryable errors that outlast
  the attempts or the function's remaining time.
- Raised (``TargetUnusableError``): AccessDenied and ResourceNotFound. Every other record would fail
  the same way: the batch fails fast instead of billing a thousand doomed calls.

The client should not retry by itself (``bmc.aws.clients.RUNTIME_CONFIG``): this loop counts
the attempts.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from bmc.catalog.models import CONVERSE, INVOKE_MODEL, Model
from bmc.findings import FieldError
from bmc.validation import codes

DEFAULT_MAX_TOKENS = 512
MAX_TOKENS_LIMIT = 4096  # the largest answer an evaluation asks for (Claude 3 Haiku's maximum)
DEFAULT_TEMPERATURE = 0.0  # deterministic: greedy decoding, comparable runs

RETRYABLE_ERRORS = frozenset(
    {
        "ThrottlingException",
        "ModelNotReadyException",
        "ServiceUnavailableException",
        "InternalServerException",
        "ModelTimeoutException",
        "ServiceQuotaExceededException",
    }
)
FATAL_ERRORS = frozenset({"AccessDeniedException", "ResourceNotFoundException"})
CLIENT_TIMEOUT = "ClientTimeout"

INPUT_TOKENS_HEADER = "x-amzn-bedrock-input-token-count"
OUTPUT_TOKENS_HEADER = "x-amzn-bedrock-output-token-count"
LATENCY_HEADER = "x-amzn-bedrock-invocation-latency"


class TargetUnusableError(RuntimeError):
    """The model cannot be called at all (access denied, not found): no record would succeed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass(frozen=True, slots=True)
class InferenceSettings:
    """Converse's inferenceConfig. ``top_p`` is sent only when set: with temperature 0 it changes
    nothing, and some newer models refuse temperature and topP together."""

    max_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float = DEFAULT_TEMPERATURE
    top_p: float | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> InferenceSettings:
        """Read ``{"maxTokens", "temperature", "topP"}``; FieldError (a ValueError) names the field."""
        data = data or {}
        unknown = sorted(set(data) - {"maxTokens", "temperature", "topP"})
        if unknown:
            raise FieldError(
                f"inference.{unknown[0]}",
                codes.UNKNOWN_FIELD,
                f"inference: unknown field {unknown[0]!r} (fields: maxTokens, temperature, topP)",
            )
        max_tokens = data.get("maxTokens", DEFAULT_MAX_TOKENS)
        if (
            isinstance(max_tokens, bool)
            or not isinstance(max_tokens, int)
            or not 1 <= max_tokens <= MAX_TOKENS_LIMIT
        ):
            raise FieldError(
                "inference.maxTokens",
                codes.INVALID_VALUE,
                f"inference.maxTokens must be an integer from 1 to {MAX_TOKENS_LIMIT}",
            )
        values: dict[str, float | None] = {}
        for name, default in (("temperature", DEFAULT_TEMPERATURE), ("topP", None)):
            value = data.get(name, default)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1
            ):
                raise FieldError(
                    f"inference.{name}", codes.INVALID_VALUE, f"inference.{name} must be a number from 0 to 1"
                )
            values[name] = None if value is None else float(value)
        return cls(max_tokens=max_tokens, temperature=values["temperature"] or 0.0, top_p=values["topP"])

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"maxTokens": self.max_tokens, "temperature": self.temperature}
        if self.top_p is not None:
            data["topP"] = self.top_p
        return data


@dataclass(frozen=True, slots=True)
class Target:
    """A model to ask: what to send as modelId, and through which API."""

    model_id: str
    api: str = CONVERSE
    system_prompt: bool = True
    invoke_body: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "modelId": self.model_id,
            "api": self.api,
            "systemPrompt": self.system_prompt,
            "invokeBody": self.invoke_body,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Target:
        return cls(
            model_id=str(data["modelId"]),
            api=str(data.get("api", CONVERSE)),
            system_prompt=bool(data.get("systemPrompt", True)),
            invoke_body=data.get("invokeBody"),
        )


def base_target(model: Model, region: str) -> Target:
    """The base model, on demand in ``region`` (plain id or system inference profile)."""
    inference = model.inference
    return Target(
        inference.base_model_id(region), inference.api, inference.system_prompt, inference.invoke_body
    )


def custom_target(model: Model, serving_arn: str) -> Target:
    """A custom model of ``model``'s family, through its provisioned model or deployment ARN."""
    inference = model.inference
    return Target(serving_arn, inference.api, inference.system_prompt, inference.invoke_body)


def judge_target(model_id: str) -> Target:
    """A judge: a foundation model or system inference profile, always through Converse."""
    return Target(model_id)


@dataclass(frozen=True, slots=True)
class Generation:
    """One model's answer to one prompt, or why there is none."""

    text: str | None = None
    error: str | None = None  # an error code when the record failed
    message: str | None = None
    attempts: int = 1
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: int = 0
    stop_reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.text is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "response": self.text,
            "error": self.error,
            "message": self.message,
            "attempts": self.attempts,
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "latencyMs": self.latency_ms,
            "stopReason": self.stop_reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Generation:
        return cls(
            text=data.get("response"),
            error=data.get("error"),
            message=data.get("message"),
            attempts=int(data.get("attempts") or 1),
            input_tokens=int(data.get("inputTokens") or 0),
            output_tokens=int(data.get("outputTokens") or 0),
            latency_ms=int(data.get("latencyMs") or 0),
            stop_reason=data.get("stopReason"),
        )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base * 2**n))."""

    max_attempts: int = 6
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 20.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.max_delay_seconds, self.base_delay_seconds * 2 ** (attempt - 1)))


def backoff_sleep(seconds: float) -> None:
    """How a Generator waits by default (the local cloud replaces it to wait on its clock)."""
    time.sleep(seconds)


@dataclass
class Generator:
    """Calls a bedrock-runtime client with the retry policy.

    ``time_left`` (seconds remaining in the Lambda invocation) stops the backoff before the
    function would time out: the record is then recorded as failed, with the last error.
    ``sleep`` defaults to the module's ``backoff_sleep``, looked up at each wait.
    """

    client: Any
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] | None = None
    rng: random.Random = field(default_factory=random.Random)
    time_left: Callable[[], float] | None = None
    safety_seconds: float = 15.0
    throttled: int = 0  # retryable errors seen (for the batch's report)

    def generate(
        self, target: Target, prompt: str, settings: InferenceSettings, system: str | None = None
    ) -> Generation:
        call = _invoke_model if target.api == INVOKE_MODEL else _converse
        attempt = 0
        while True:
            attempt += 1
            try:
                generation = call(self.client, target, prompt, settings, system)
            except ClientError as exc:
                error = exc.response.get("Error", {})
                code = str(error.get("Code") or "ClientError")
                message = str(error.get("Message") or exc)
                if code in FATAL_ERRORS:
                    raise TargetUnusableError(code, message) from exc
                if code not in RETRYABLE_ERRORS:
                    return Generation(error=code, message=message, attempts=attempt)
            except (
                ReadTimeoutError,
                ConnectTimeoutError,
                EndpointConnectionError,
                ConnectionClosedError,
            ) as exc:
                code, message = CLIENT_TIMEOUT, str(exc)
            else:
                return _with_attempts(generation, attempt)
            self.throttled += 1
            if attempt >= self.policy.max_attempts:
                return Generation(
                    error=code, message=f"{message} (gave up after {attempt} attempts)", attempts=attempt
                )
            delay = self.policy.delay(attempt, self.rng)
            if self.time_left is not None and self.time_left() - delay < self.safety_seconds:
                return Generation(
                    error=code,
                    message=f"{message} (gave up after {attempt} attempts: the function's time is running out)",
                    attempts=attempt,
                )
            (self.sleep or backoff_sleep)(delay)


def _with_attempts(generation: Generation, attempts: int) -> Generation:
    return Generation(
        text=generation.text,
        attempts=attempts,
        input_tokens=generation.input_tokens,
        output_tokens=generation.output_tokens,
        latency_ms=generation.latency_ms,
        stop_reason=generation.stop_reason,
    )


def converse_request(
    target: Target, prompt: str, settings: InferenceSettings, system: str | None = None
) -> dict[str, Any]:
    """The Converse (or ConverseStream) request; a family without system prompts gets the
    system text folded into the user message (Converse refuses ``system`` for Titan)."""
    text = prompt
    request: dict[str, Any] = {"modelId": target.model_id}
    if system:
        if target.system_prompt:
            request["system"] = [{"text": system}]
        else:
            text = f"{system}\n\n{prompt}"
    request["messages"] = [{"role": "user", "content": [{"text": text}]}]
    request["inferenceConfig"] = settings.to_dict()
    return request


def _converse(
    client: Any, target: Target, prompt: str, settings: InferenceSettings, system: str | None
) -> Generation:
    response = client.converse(**converse_request(target, prompt, settings, system))
    content = response.get("output", {}).get("message", {}).get("content", [])
    usage = response.get("usage", {})
    return Generation(
        text="".join(block["text"] for block in content if "text" in block),
        input_tokens=int(usage.get("inputTokens", 0)),
        output_tokens=int(usage.get("outputTokens", 0)),
        latency_ms=int(response.get("metrics", {}).get("latencyMs", 0)),
        stop_reason=response.get("stopReason"),
    )


def invoke_body(
    target: Target, prompt: str, settings: InferenceSettings, system: str | None = None
) -> dict[str, Any]:
    """InvokeModel's native request body for the target's family."""
    text = f"{system}\n\n{prompt}" if system else prompt
    if target.invoke_body == "cohere-command":
        body: dict[str, Any] = {
            "prompt": text,
            "max_tokens": settings.max_tokens,
            "temperature": settings.temperature,
        }
        if settings.top_p is not None:
            body["p"] = settings.top_p
        return body
    raise ValueError(f"no InvokeModel request format {target.invoke_body!r}")


def _invoke_model(
    client: Any, target: Target, prompt: str, settings: InferenceSettings, system: str | None
) -> Generation:
    response = client.invoke_model(
        modelId=target.model_id,
        body=json.dumps(invoke_body(target, prompt, settings, system)),
        contentType="application/json",
        accept="application/json",
    )
    payload = json.loads(response["body"].read())
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    generations = payload.get("generations") or [{}]
    return Generation(
        text=str(generations[0].get("text", "")),
        input_tokens=int(headers.get(INPUT_TOKENS_HEADER, 0)),
        output_tokens=int(headers.get(OUTPUT_TOKENS_HEADER, 0)),
        latency_ms=int(headers.get(LATENCY_HEADER, 0)),
        stop_reason=generations[0].get("finish_reason"),
    )


def converse_stream(
    client: Any,
    target: Target,
    prompt: str,
    settings: InferenceSettings,
    *,
    on_text: Callable[[str], None],
    system: str | None = None,
) -> Generation:
    """ConverseStream: ``on_text`` receives each text delta as it arrives. Errors raise
    (ClientError), for an interactive caller to report."""
    response = client.converse_stream(**converse_request(target, prompt, settings, system))
    parts: list[str] = []
    stop_reason = None
    usage: Mapping[str, Any] = {}
    latency = 0
    for event in response["stream"]:
        if "contentBlockDelta" in event:
            text = event["contentBlockDelta"].get("delta", {}).get("text")
            if text:
                parts.append(text)
                on_text(text)
        elif "messageStop" in event:
            stop_reason = event["messageStop"].get("stopReason")
        elif "metadata" in event:
            usage = event["metadata"].get("usage", {})
            latency = int(event["metadata"].get("metrics", {}).get("latencyMs", 0))
    return Generation(
        text="".join(parts),
        input_tokens=int(usage.get("inputTokens", 0)),
        output_tokens=int(usage.get("outputTokens", 0)),
        latency_ms=latency,
        stop_reason=stop_reason,
    )
