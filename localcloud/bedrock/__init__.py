"""A simulated Amazon Bedrock control plane for model customization, on top of moto.

Modules: ``resources`` (what it holds), ``errors``, ``control`` (what each API call does:
``account`` shares the state, ``customization`` handles jobs and custom models, ``serving``
provisioned throughput and deployments, ``access`` the teacher and key checks), ``lifecycle``
(what time does), ``responses`` (the HTTP layer), ``runtime`` (bedrock-runtime:
Converse, ConverseStream and InvokeModel for base and custom models, with CloudWatch
accounting) and ``simulator`` (``BedrockSimulator``, the object tests and the local cloud use).

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

Events: every job status change (creation ``InProgress``, ``Stopping``, and the terminal
``Completed``/``Failed``/``Stopped``) emits the EventBridge event Bedrock sends to the
default bus (``aws.bedrock`` / ``Model Customization Job State Change``). Events are handed
to ``event_sink`` (a callable) after the simulator's lock is released, in the thread that
caused the transition (the one advancing the clock, or the API caller). A terminal event
can be scripted to be lost.

Teachers and keys: a distillation teacher offered only through a system inference profile
(``inferenceTypesSupported`` ``INFERENCE_PROFILE``) must be named by the profile id or ARN;
its plain model id is refused as Bedrock refuses it. ``GetInferenceProfile`` describes the
system profiles usable from the region.

Failure injection: ``fail_next(operation, code, ...)`` makes the next N calls of an operation
fail with the botocore error shape of that code (status code from the service model). Mind
that botocore retries ThrottlingException and 5xx codes by itself unless the client's retry
configuration says otherwise: each retry consumes one scripted failure.
"""

from localcloud.bedrock.errors import ScriptedError, quota_exceeded, role_not_assumable, throttling
from localcloud.bedrock.resources import (
    DEFAULT_FOUNDATION_MODELS,
    BedrockEvent,
    FoundationModel,
    JobScript,
    ProvisioningScript,
)
from localcloud.bedrock.runtime import DEFAULT_INFERENCE_PROFILES, Invocation, SystemInferenceProfile
from localcloud.bedrock.simulator import BedrockSimulator, active_simulator

__all__ = [
    "DEFAULT_FOUNDATION_MODELS",
    "DEFAULT_INFERENCE_PROFILES",
    "BedrockEvent",
    "BedrockSimulator",
    "FoundationModel",
    "Invocation",
    "JobScript",
    "ProvisioningScript",
    "ScriptedError",
    "SystemInferenceProfile",
    "active_simulator",
    "quota_exceeded",
    "role_not_assumable",
    "throttling",
]
