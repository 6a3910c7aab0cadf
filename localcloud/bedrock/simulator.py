"""``BedrockSimulator``: configure, script, install (inside ``mock_aws``), drive and inspect."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from types import TracebackType
from typing import Any, ClassVar

import moto.bedrock.urls as bedrock_urls
import moto.bedrockruntime.urls as runtime_urls

from localcloud.bedrock.control import SimulatedBedrockBackend
from localcloud.bedrock.errors import BedrockError, ScriptedError
from localcloud.bedrock.resources import (
    DEFAULT_FOUNDATION_MODELS,
    JOB_TERMINAL_STATUSES,
    BedrockEvent,
    EventSink,
    FoundationModel,
    JobOutcome,
    JobScript,
    ProvisioningScript,
    SimCustomModel,
    SimDeployment,
    SimJob,
    SimThroughput,
)
from localcloud.bedrock.responses import SimulatedBedrockResponse
from localcloud.bedrock.runtime import (
    DEFAULT_INFERENCE_PROFILES,
    Invocation,
    SimulatedRuntimeResponse,
    SystemInferenceProfile,
    learned_topics,
    publish_metrics,
)
from localcloud.clock import SimClock

_INSTALL_LOCK = threading.Lock()
# Base models answer with this share of words wrong (runtime.DEFAULT_BASE_NOISE for the others):
# larger models know the sample topics better.
DEFAULT_MODEL_NOISE: dict[str, float] = {
    "amazon.nova-pro-v1:0": 0.3,
    "amazon.nova-premier-v1:0": 0.25,
    "meta.llama3-1-405b-instruct-v1:0": 0.25,
    "meta.llama3-1-70b-instruct-v1:0": 0.35,
    "meta.llama3-3-70b-instruct-v1:0": 0.35,
}


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
        inference_profiles: Iterable[SystemInferenceProfile] = DEFAULT_INFERENCE_PROFILES,
        model_noise: dict[str, float] | None = None,
        runtime_latency_seconds: float | None = None,
        first_token_ms: int = 250,
        per_token_ms: int = 12,
        advance_clock_on_invoke: bool = True,
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
        self.inference_profiles: tuple[SystemInferenceProfile, ...] = tuple(inference_profiles)
        self.model_noise = dict(DEFAULT_MODEL_NOISE if model_noise is None else model_noise)
        self.runtime_latency_seconds = runtime_latency_seconds
        self.first_token_ms = first_token_ms
        self.per_token_ms = per_token_ms
        self.advance_clock_on_invoke = advance_clock_on_invoke
        self._invocations: list[Invocation] = []
        self._learned: dict[str, frozenset[str]] = {}
        # Re-entrant: an event sink may call Bedrock again from the same thread.
        self.lock = threading.RLock()
        self._rng = random.Random(seed)
        self._backends: dict[tuple[str, str], SimulatedBedrockBackend] = {}
        self._job_scripts: list[JobScript] = []
        self._named_job_scripts: dict[str, JobScript] = {}
        self._throughput_scripts: dict[str | None, list[ProvisioningScript]] = {}
        self._deployment_scripts: dict[str | None, list[ProvisioningScript]] = {}
        self._errors: dict[str, list[ScriptedError]] = {}
        self._hooks: dict[str, list[Callable[[], None]]] = {}
        self._events_to_lose = 0
        self._outbox: list[BedrockEvent] = []
        self._calls: list[str] = []
        self.events: list[BedrockEvent] = []
        self.lost_events: list[BedrockEvent] = []
        self.sink_errors: list[tuple[BedrockEvent, Exception]] = []
        self._saved_url_paths: dict[str, Any] = {}
        self._saved_runtime_url_paths: dict[str, Any] = {}

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
            self._saved_runtime_url_paths = runtime_urls.url_paths
            runtime_urls.url_paths = {"{0}/.*$": SimulatedRuntimeResponse.dispatch}
            self.clock.add_listener(self._on_clock)
            BedrockSimulator._active = self
        return self

    def uninstall(self) -> None:
        with _INSTALL_LOCK:
            if BedrockSimulator._active is not self:
                return
            bedrock_urls.url_paths = self._saved_url_paths
            runtime_urls.url_paths = self._saved_runtime_url_paths
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

    def before_next(self, operation: str, action: Callable[[], None]) -> None:
        """Run ``action`` when the next ``operation`` call arrives, before Bedrock handles it:
        how a scenario interleaves a concurrent request with a call (a race, deterministically)."""
        with self.lock:
            self._hooks.setdefault(_operation_name(operation), []).append(action)

    def lose_events(self, count: int = 1) -> None:
        """Drop the next ``count`` terminal job state change events (delivery is best effort)."""
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

    def invocations(self, model_id: str | None = None, *, operation: str | None = None) -> list[Invocation]:
        """Runtime calls received (Converse, ConverseStream, InvokeModel), failed ones included.

        ``model_id`` is the CloudWatch ModelId value: the model or profile id for base models,
        the provisioned model or deployment ARN for custom models.
        """
        with self.lock:
            found = list(self._invocations)
        return [
            i
            for i in found
            if (model_id is None or i.model_id == model_id)
            and (operation is None or i.operation == operation)
        ]

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

    def _take_hook(self, operation: str) -> Callable[[], None] | None:
        with self.lock:
            queue = self._hooks.get(operation)
            return queue.pop(0) if queue else None

    def _take_scripted_error(self, operation: str) -> ScriptedError | None:
        queue = self._errors.get(operation)
        return queue.pop(0) if queue else None

    def _latency_ms(self, output_tokens: int) -> int:
        if self.runtime_latency_seconds is not None:
            return round(self.runtime_latency_seconds * 1000)
        return self.first_token_ms + self.per_token_ms * output_tokens

    def _record_invocation(
        self,
        response: Any,
        operation: str,
        model_id: str,
        outcome: str,
        *,
        input_tokens: int = 0,
        output_tokens: int = 0,
        latency_ms: int = 0,
    ) -> None:
        invocation = Invocation(
            operation, model_id, self.clock.now(), outcome, input_tokens, output_tokens, latency_ms
        )
        self._invocations.append(invocation)
        publish_metrics(self, response.current_account, response.region, invocation)

    def _after_invocation(self, latency_ms: int) -> None:
        """Outside the lock: the call took its time on the simulated clock."""
        if self.advance_clock_on_invoke and latency_ms > 0:
            self.clock.advance(latency_ms / 1000)

    def _learned_topics(
        self, model_id: str, backend: SimulatedBedrockBackend, training_data_config: dict[str, Any]
    ) -> frozenset[str]:
        if model_id not in self._learned:
            self._learned[model_id] = learned_topics(backend, training_data_config)
        return self._learned[model_id]

    def _emit(self, event: BedrockEvent, *, lose: bool = False) -> None:
        """Queue a job state change event. Scripted losses apply to terminal events only."""
        terminal = event["detail"]["jobStatus"] in JOB_TERMINAL_STATUSES
        if terminal and (lose or self._events_to_lose > 0):
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
