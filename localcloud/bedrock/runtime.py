"""The simulated bedrock-runtime: Converse, ConverseStream and InvokeModel.

moto's own bedrock-runtime answers InvokeModel with a canned body and nothing else. While a
``BedrockSimulator`` is installed, every bedrock-runtime request is served here instead:

- ``modelId`` is checked as AWS does (the service model's pattern, then the resource): a
  foundation model served on demand in the region, a system inference profile (``us.…``), a
  provisioned model that is ``InService`` or a custom model deployment that is ``Active`` in the
  caller's account and region. A custom model ARN, a model only served through an inference
  profile, or a customization variant (``…:0:128k``) is a ValidationException; an unknown
  provisioned model or deployment is ResourceNotFoundException; one still being created is
  ModelNotReadyException (429, retried by callers). Titan and Cohere refuse ``system``.
- Answers are deterministic and differ by model. The sample datasets (localcloud.samples) come
  from a question -> answer function the simulated models know: a base model answers a known
  question with the reference degraded by its noise level (word swaps and drops, seeded by
  model and prompt); a custom model answers the topics its training data contains with less
  noise, shrinking as epochs grow. A judge prompt (<reference> and <answer> blocks) gets a
  1-5 score from the answer's word overlap with the reference.
- Every call takes simulated latency (first token plus per output token, or a fixed value)
  and, unless disabled, advances the shared clock by it.
- Throttling and other errors are injected with ``BedrockSimulator.fail_next("Converse", …)``.
- Accounting: each call is recorded (``BedrockSimulator.invocations``) and published to moto's
  CloudWatch under ``AWS/Bedrock`` with the ``ModelId`` dimension, as Bedrock does: the model or
  inference profile id for base models, the provisioned model ARN for provisioned throughput and
  (a decision: AWS does not document it) the deployment ARN for custom model deployments.
"""

from __future__ import annotations

import binascii
import html
import json
import math
import random
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.session import get_session
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.responses import BaseResponse
from moto.s3.models import s3_backends

from localcloud import samples
from localcloud.bedrock.errors import RUNTIME_ERROR_STATUS_CODES, RuntimeApiError
from localcloud.bedrock.resources import epoch_count
from localcloud.bedrock.responses import installed_simulator

if TYPE_CHECKING:
    from localcloud.bedrock.control import SimulatedBedrockBackend
    from localcloud.bedrock.simulator import BedrockSimulator

NAMESPACE = "AWS/Bedrock"
CONVERSE = "Converse"
CONVERSE_STREAM = "ConverseStream"
INVOKE_MODEL = "InvokeModel"
OPERATIONS = (CONVERSE, CONVERSE_STREAM, INVOKE_MODEL)
NO_SYSTEM_PROMPT_PROVIDERS = ("amazon.titan", "cohere.")
PROFILE_PREFIXES = ("us.", "eu.", "apac.", "global.")
DEFAULT_BASE_NOISE = 0.45
TRAINED_NOISE_FACTOR = 0.6  # a custom model's noise on a learned topic: base * factor / sqrt(epochs)
MAX_TRAINING_BYTES = 10 << 20
FILLER = ("generally", "maybe", "device", "settings", "option", "please", "usually", "then", "check", "menu")
_MODEL_ID_PATTERN = re.compile(
    str(
        get_session()
        .get_service_model("bedrock-runtime")
        .shape_for("ConversationalModelId")
        .metadata["pattern"]
    )
)
_ARN = re.compile(
    r"arn:aws[a-z-]*:bedrock:(?P<region>[a-z0-9-]*):(?P<account>\d*):(?P<type>[a-z-]+)/(?P<id>.+)"
)
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class SystemInferenceProfile:
    """A system-defined cross-region inference profile, as ListInferenceProfiles describes one."""

    profile_id: str  # e.g. us.amazon.nova-2-lite-v1:0
    model_id: str  # the foundation model it routes to
    regions: tuple[str, ...]  # source regions where it can be called


def _us(model_id: str, *regions: str) -> SystemInferenceProfile:
    return SystemInferenceProfile(
        f"us.{model_id}", model_id, regions or ("us-east-1", "us-east-2", "us-west-2")
    )


DEFAULT_INFERENCE_PROFILES: tuple[SystemInferenceProfile, ...] = (
    _us("amazon.nova-micro-v1:0"),
    _us("amazon.nova-lite-v1:0"),
    _us("amazon.nova-pro-v1:0"),
    _us("amazon.nova-premier-v1:0"),
    _us("amazon.nova-2-lite-v1:0"),
    _us("anthropic.claude-3-haiku-20240307-v1:0"),
    _us("meta.llama3-1-8b-instruct-v1:0"),
    _us("meta.llama3-1-70b-instruct-v1:0"),
    _us("meta.llama3-2-1b-instruct-v1:0"),
    _us("meta.llama3-2-3b-instruct-v1:0"),
    _us("meta.llama3-2-11b-instruct-v1:0"),
    _us("meta.llama3-2-90b-instruct-v1:0"),
    _us("meta.llama3-3-70b-instruct-v1:0"),
)


@dataclass(frozen=True)
class Invocation:
    """One runtime call as the simulator saw it; ``outcome`` is "ok" or the error code."""

    operation: str
    model_id: str  # the CloudWatch ModelId dimension value
    at: datetime
    outcome: str
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


@dataclass(frozen=True)
class Responder:
    """What answers a model id: its label for metrics, its noise and what it learned."""

    metric_id: str
    foundation_model_id: str
    noise: float
    learned: frozenset[str] = frozenset()
    learned_noise: float = 0.0

    @property
    def system_prompt(self) -> bool:
        return not self.foundation_model_id.startswith(NO_SYSTEM_PROMPT_PROVIDERS)


def runtime_error(code: str, message: str) -> RuntimeApiError:
    return RuntimeApiError(code, message)


def invalid_identifier() -> RuntimeApiError:
    return runtime_error("ValidationException", "The provided model identifier is invalid.")


# --------------------------------------------------------------------------------------------
# Resolving a modelId
# --------------------------------------------------------------------------------------------


def resolve(backend: SimulatedBedrockBackend, model_id: str) -> Responder:
    """The responder behind ``model_id`` for a caller in the backend's account and region."""
    if not _MODEL_ID_PATTERN.fullmatch(model_id) or len(model_id) > 2048:
        raise runtime_error(
            "ValidationException",
            f"1 validation error detected: Value '{model_id}' at 'modelId' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern",
        )
    arn = _ARN.fullmatch(model_id)
    if arn is None:
        if model_id.startswith(PROFILE_PREFIXES):
            return _profile(backend, model_id)
        return _on_demand(backend, model_id, model_id)
    kind, identifier = arn["type"], arn["id"]
    if kind == "foundation-model":
        if arn["region"] != backend.region_name:
            raise invalid_identifier()
        return _on_demand(backend, identifier, identifier)
    if arn["account"] != backend.account_id or arn["region"] != backend.region_name:
        raise runtime_error("ResourceNotFoundException", f"Model {model_id} not found.")
    if kind == "inference-profile":
        return _profile(backend, identifier)
    if kind == "provisioned-model":
        return _throughput(backend, identifier, model_id)
    if kind == "custom-model-deployment":
        return _deployment(backend, identifier, model_id)
    if kind == "custom-model":
        raise runtime_error(
            "ValidationException",
            "Invocation of a custom model with on-demand throughput isn't supported. Invoke the ARN of a "
            "provisioned model or of a custom model deployment that serves it.",
        )
    raise invalid_identifier()


def _base_noise(backend: SimulatedBedrockBackend, foundation_model_id: str) -> float:
    return float(backend.sim.model_noise.get(foundation_model_id, DEFAULT_BASE_NOISE))


def _on_demand(backend: SimulatedBedrockBackend, model_id: str, metric_id: str) -> Responder:
    model = backend.foundation_model(model_id)
    if model is None:
        raise invalid_identifier()
    if "ON_DEMAND" not in model.inference_types_supported:
        if any(p.model_id == model.model_id for p in backend.sim.inference_profiles):
            raise runtime_error(
                "ValidationException",
                f"Invocation of model ID {model.model_id} with on-demand throughput isn't supported. Retry your "
                "request with the ID or ARN of an inference profile that contains this model.",
            )
        raise invalid_identifier()
    return Responder(metric_id, model.model_id, _base_noise(backend, model.model_id))


def _profile(backend: SimulatedBedrockBackend, profile_id: str) -> Responder:
    for profile in backend.sim.inference_profiles:
        if profile.profile_id == profile_id and backend.region_name in profile.regions:
            return Responder(profile_id, profile.model_id, _base_noise(backend, profile.model_id))
    raise runtime_error("ResourceNotFoundException", f"Inference profile {profile_id} not found.")


def _throughput(backend: SimulatedBedrockBackend, identifier: str, arn: str) -> Responder:
    throughput = backend.throughputs.get(identifier)
    if throughput is None:
        raise runtime_error("ResourceNotFoundException", f"Provisioned model {arn} not found.")
    if throughput.status in ("Creating", "Updating"):
        raise runtime_error("ModelNotReadyException", f"Provisioned model {arn} is {throughput.status}.")
    if throughput.status != "InService":
        raise runtime_error("ValidationException", f"Provisioned model {arn} is {throughput.status}.")
    return _served(backend, throughput.model_arn, arn)


def _deployment(backend: SimulatedBedrockBackend, identifier: str, arn: str) -> Responder:
    deployment = backend.deployments.get(identifier)
    if deployment is None:
        raise runtime_error("ResourceNotFoundException", f"Custom model deployment {arn} not found.")
    if deployment.status == "Creating":
        raise runtime_error("ModelNotReadyException", f"Custom model deployment {arn} is Creating.")
    if deployment.status != "Active":
        raise runtime_error("ValidationException", f"Custom model deployment {arn} is {deployment.status}.")
    return _served(backend, deployment.model_arn, arn)


def _served(backend: SimulatedBedrockBackend, model_arn: str, metric_id: str) -> Responder:
    """A provisioned model or deployment of a custom model (or, for PT, a foundation model)."""
    for model in backend.models.values():
        if model.model_arn == model_arn:
            job = model.job
            base_id = job.base_model_id
            noise = _base_noise(backend, base_id.rsplit(":", 1)[0] if base_id.count(":") > 1 else base_id)
            learned = backend.sim._learned_topics(model.model_id, backend, job.training_data_config)
            trained = noise * TRAINED_NOISE_FACTOR / math.sqrt(epoch_count(job.hyper_parameters))
            return Responder(metric_id, base_id, noise, learned, trained)
    foundation_id = model_arn.rsplit("/", 1)[-1]
    return Responder(metric_id, foundation_id, _base_noise(backend, foundation_id))


def learned_topics(
    backend: SimulatedBedrockBackend, training_data_config: Mapping[str, Any]
) -> frozenset[str]:
    """The sample topics whose answers appear in a job's training data (read from moto's S3)."""
    uri = str(training_data_config.get("s3Uri") or "")
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        s3 = s3_backends[backend.account_id][backend.partition]
        stored = s3.get_object(bucket, key)
    except Exception:  # no training object: the model learned nothing the simulator knows
        return frozenset()
    if stored is None:
        return frozenset()
    body = stored.value[:MAX_TRAINING_BYTES]
    return samples.topics_in(body.decode("utf-8", errors="replace"))


# --------------------------------------------------------------------------------------------
# Answers
# --------------------------------------------------------------------------------------------


def _rng(*parts: str) -> random.Random:
    return random.Random("\x1f".join(parts))


def degrade(reference: str, noise: float, seed: str) -> str:
    """The reference with a share ``noise`` of its words swapped or dropped (deterministic)."""
    rng = _rng("degrade", seed)
    words: list[str] = []
    for word in reference.split():
        draw = rng.random()
        if draw < noise / 2:
            continue  # dropped
        words.append(rng.choice(FILLER) if draw < noise else word)
    return " ".join(words) or rng.choice(FILLER)


def _overlap(reference: str, answer: str) -> float:
    ref = [w.strip(".,;:!?").lower() for w in reference.split()]
    ans = [w.strip(".,;:!?").lower() for w in answer.split()]
    if not ref or not ans:
        return 0.0
    common = sum(min(ref.count(w), ans.count(w)) for w in set(ans))
    if common == 0:
        return 0.0
    precision, recall = common / len(ans), common / len(ref)
    return 2 * precision * recall / (precision + recall)


_BLOCK = re.compile(r"<(?P<tag>reference|answer)>\s*(?P<text>.*?)\s*</(?P=tag)>", re.DOTALL)


def answer(responder: Responder, prompt: str) -> str:
    """The simulated model's answer to ``prompt``."""
    blocks = {m["tag"]: html.unescape(m["text"]) for m in _BLOCK.finditer(prompt)}
    if "reference" in blocks and "answer" in blocks:  # a judge's rubric
        score = 1 + round(4 * _overlap(blocks["reference"], blocks["answer"]))
        return f"Score: {score}\nThe answer matches the reference to a degree of {score} out of 5."
    known = samples.known_answer(prompt)
    if known is None:
        subject = " ".join(prompt.split()[:8])
        return f"I do not have specific information about: {subject}"
    topic, reference = known
    noise = responder.learned_noise if topic in responder.learned else responder.noise
    return degrade(reference, noise, f"{responder.foundation_model_id}|{responder.metric_id}|{prompt}")


def token_count(text: str) -> int:
    return math.ceil(len(_WORD.findall(text)) * 1.3)


def truncate(text: str, max_tokens: int | None) -> tuple[str, str]:
    """(text, stopReason): cut to ``max_tokens`` (about 1.3 tokens a word)."""
    if max_tokens is None or token_count(text) <= max_tokens:
        return text, "end_turn"
    words = text.split()
    keep = max(1, int(max_tokens / 1.3))
    return " ".join(words[:keep]), "max_tokens"


# --------------------------------------------------------------------------------------------
# The HTTP layer
# --------------------------------------------------------------------------------------------


def _event_message(event_type: str, payload: Mapping[str, Any]) -> bytes:
    """One message of the AWS event stream encoding (application/vnd.amazon.eventstream)."""
    headers = b""
    for name, value in (
        (":event-type", event_type),
        (":content-type", "application/json"),
        (":message-type", "event"),
    ):
        encoded_name, encoded_value = name.encode(), value.encode()
        headers += struct.pack("B", len(encoded_name)) + encoded_name + b"\x07"
        headers += struct.pack(">H", len(encoded_value)) + encoded_value
    body = json.dumps(payload).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", binascii.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + headers + body
    return message + struct.pack(">I", binascii.crc32(message) & 0xFFFFFFFF)


class SimulatedRuntimeResponse(BaseResponse):
    """Serves bedrock-runtime requests while a simulator is installed."""

    def __init__(self) -> None:
        super().__init__(service_name="bedrock-runtime")

    @property
    def sim(self) -> BedrockSimulator:
        return installed_simulator()

    def call_action(self) -> Any:
        sim = self.sim
        operation = str(self._get_action())
        if operation not in OPERATIONS:
            return 404, {}, json.dumps({"message": f"{operation} is not simulated"})
        model_id = str(self.uri_match.get("modelId", ""))
        try:
            with sim.lock:
                sim._calls.append(operation)
                scripted = sim._take_scripted_error(operation)
                if scripted is not None:
                    sim._record_invocation(self, operation, model_id, scripted.code)
                    raise runtime_error(scripted.code, scripted.message)
                sim._process_all()
                backend = sim.backend(self.current_account, self.region)
                responder = resolve(backend, model_id)
                result = self._answer(operation, responder)
                sim._record_invocation(self, operation, responder.metric_id, "ok", **result.accounting)
        except RuntimeApiError as exc:
            if scripted is None:
                sim._record_invocation(self, operation, model_id, exc.error_code)
            return (
                exc.code,
                {"Content-Type": "application/json", "x-amzn-ErrorType": exc.error_code},
                exc.get_body(),
            )
        finally:
            sim._deliver_events()
        sim._after_invocation(result.latency_ms)
        return result.response

    def _answer(self, operation: str, responder: Responder) -> _Answer:
        body = json.loads(self.body or "{}") if operation != INVOKE_MODEL else None
        if operation == INVOKE_MODEL:
            return self._invoke_model(responder)
        assert body is not None
        prompt, system = _converse_prompt(body, responder)
        config = body.get("inferenceConfig") or {}
        _check_inference_config(config)
        text, stop = truncate(answer(responder, prompt), config.get("maxTokens"))
        usage = {"inputTokens": token_count(f"{system} {prompt}"), "outputTokens": token_count(text)}
        usage["totalTokens"] = usage["inputTokens"] + usage["outputTokens"]
        latency = self.sim._latency_ms(usage["outputTokens"])
        if operation == CONVERSE:
            payload = {
                "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                "stopReason": stop,
                "usage": usage,
                "metrics": {"latencyMs": latency},
            }
            return _Answer((200, {"Content-Type": "application/json"}, json.dumps(payload)), usage, latency)
        events = [_event_message("messageStart", {"role": "assistant"})]
        words = text.split(" ")
        for index, word in enumerate(words):
            delta = word if index == 0 else f" {word}"
            events.append(
                _event_message("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": delta}})
            )
        events.append(_event_message("contentBlockStop", {"contentBlockIndex": 0}))
        events.append(_event_message("messageStop", {"stopReason": stop}))
        events.append(_event_message("metadata", {"usage": usage, "metrics": {"latencyMs": latency}}))
        return _Answer(
            (200, {"Content-Type": "application/vnd.amazon.eventstream"}, b"".join(events)), usage, latency
        )

    def _invoke_model(self, responder: Responder) -> _Answer:
        if not responder.foundation_model_id.startswith("cohere.command"):
            raise runtime_error(
                "ValidationException",
                "Malformed input request: the simulated runtime implements InvokeModel for Cohere Command "
                "bodies only (use Converse for other models)",
            )
        try:
            body = json.loads(self.body or b"{}")
        except (TypeError, ValueError) as exc:
            raise runtime_error(
                "ValidationException", "Malformed input request: the body is not JSON"
            ) from exc
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            raise runtime_error(
                "ValidationException", "Malformed input request: #: required key [prompt] not found"
            )
        text, stop = truncate(answer(responder, prompt), body.get("max_tokens", 20))
        usage = {"inputTokens": token_count(prompt), "outputTokens": token_count(text)}
        latency = self.sim._latency_ms(usage["outputTokens"])
        payload = {
            "id": "sim",
            "prompt": prompt,
            "generations": [
                {
                    "id": "sim-0",
                    "text": text,
                    "finish_reason": "MAX_TOKENS" if stop == "max_tokens" else "COMPLETE",
                }
            ],
        }
        headers = {
            "Content-Type": "application/json",
            "x-amzn-bedrock-input-token-count": str(usage["inputTokens"]),
            "x-amzn-bedrock-output-token-count": str(usage["outputTokens"]),
            "x-amzn-bedrock-invocation-latency": str(latency),
        }
        return _Answer((200, headers, json.dumps(payload)), usage, latency)


@dataclass(frozen=True)
class _Answer:
    response: tuple[int, dict[str, str], str | bytes]
    usage: Mapping[str, int]
    latency_ms: int

    @property
    def accounting(self) -> dict[str, int]:
        return {
            "input_tokens": self.usage["inputTokens"],
            "output_tokens": self.usage["outputTokens"],
            "latency_ms": self.latency_ms,
        }


def _converse_prompt(body: Mapping[str, Any], responder: Responder) -> tuple[str, str]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise runtime_error("ValidationException", "A conversation must start with a user message.")
    if messages[0].get("role") != "user":
        raise runtime_error("ValidationException", "A conversation must start with a user message.")
    if messages[-1].get("role") != "user":
        raise runtime_error("ValidationException", "A conversation must end with a user message.")
    system_blocks = body.get("system") or []
    if system_blocks and not responder.system_prompt:
        raise runtime_error("ValidationException", "This model doesn't support system messages.")
    text = " ".join(
        block.get("text", "") for block in messages[-1].get("content", []) if isinstance(block, dict)
    )
    if not text.strip():
        raise runtime_error("ValidationException", "The content field in the Message object is empty.")
    system = " ".join(block.get("text", "") for block in system_blocks)
    return text, system


def _check_inference_config(config: Mapping[str, Any]) -> None:
    max_tokens = config.get("maxTokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise runtime_error("ValidationException", "The maximum tokens you requested must be at least 1.")
    for name in ("temperature", "topP"):
        value = config.get(name)
        if value is not None and not 0 <= value <= 1:
            raise runtime_error(
                "ValidationException",
                f"1 validation error detected: Value '{value}' at 'inferenceConfig.{name}' failed to satisfy "
                "constraint: Member must have value less than or equal to 1",
            )


def publish_metrics(sim: BedrockSimulator, account: str, region: str, invocation: Invocation) -> None:
    """The AWS/Bedrock runtime metrics of one call, in moto's CloudWatch (naive UTC, as moto stores)."""
    timestamp = invocation.at.astimezone(UTC).replace(tzinfo=None)
    data: list[tuple[str, float, str]] = []
    status = RUNTIME_ERROR_STATUS_CODES.get(invocation.outcome, 200 if invocation.ok else 500)
    if invocation.outcome == "ThrottlingException":
        data.append(("InvocationThrottles", 1, "Count"))
    elif status < 500 and status not in (200, 408, 424):
        # Refused before processing (validation, access, not found, not ready).
        data.append(("InvocationClientErrors", 1, "Count"))
    else:
        # Accepted for processing (the newer definition): counted even when it then failed.
        data.append(("Invocations", 1, "Count"))
        if invocation.ok:
            data += [
                ("InvocationLatency", invocation.latency_ms, "Milliseconds"),
                ("InputTokenCount", invocation.input_tokens, "Count"),
                ("OutputTokenCount", invocation.output_tokens, "Count"),
            ]
        else:
            data.append(("InvocationServerErrors", 1, "Count"))
    cloudwatch_backends[account][region].put_metric_data(
        NAMESPACE,
        [
            {
                "MetricName": name,
                "Value": value,
                "Unit": unit,
                "Timestamp": timestamp,
                "Dimensions": [{"Name": "ModelId", "Value": invocation.model_id}],
            }
            for name, value, unit in data
        ],
    )
