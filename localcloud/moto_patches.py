"""Every patch of moto internals the local cloud needs, in one module.

moto runs real Amazon States Language (a port of LocalStack's interpreter) when started with
``mock_aws(config=MOTO_CONFIG)``. These gaps keep it from running this project's synthesized
state machine faithfully; each is bridged by replacing a moto internal for as long as the
patches are installed:

1. Lambda handlers. moto runs Lambda code in Docker. ``LambdaFunction._invoke_lambda`` is
   replaced by an in-process call of a registered Python handler, with the function's
   environment, a Lambda-like context and AWS's error payload, so ``Retry``/``Catch`` on a
   handler's exception class behave as on AWS. Both Step Functions ``lambda:invoke`` tasks and
   direct ``lambda_client.invoke`` calls go through it.
2. ``aws-sdk:`` and forwarded optimized integrations (``bedrock:``). moto passes the state's
   PascalCase parameters straight to boto3 and cannot serialise datetimes in results; errors
   come out as ``DynamoDb.DynamoDbException`` instead of ``<Service>.<ErrorCode>``. Parameters,
   responses and errors are mapped through the botocore operation model as AWS does.
3. Wait states and Retry backoff sleep in real time. They return at once here; the durations
   asked for are recorded and, when a simulated clock is given, added to it.
4. ``Wait`` with ``Timestamp``/``TimestampPath`` measures against the simulated clock (moto
   compares a UTC timestamp with the local wall-clock time).
5. ``StartExecution`` without a name: moto names every such execution ``None``, so a second
   one is taken for a duplicate (same input) or rejected (ExecutionAlreadyExists). AWS picks
   a UUID; so does the patch.
6. ``SendTaskFailure`` drops ``cause`` in moto's request handler; the patch passes it on.
7. EventBridge rules with Lambda targets: moto's events backend delivers to logs, SQS and
   buses only. Lambda targets are invoked in process with the event as AWS sends it.
8. ``StopExecution`` emits no "Step Functions Execution Status Change" event in moto, and
   leaves a task waiting for its token asleep; the patch wakes it and puts the ABORTED event
   on the default bus, as AWS does (``startDate`` and ``stopDate`` in epoch milliseconds).
9. ``os.environ`` gets a thread-local layer for the running handler's variables (see
   ``_LayeredEnviron``), so moto's own threads never race with a handler's environment.
10. Asynchronous invocations (EventBridge targets, and the local cloud's schedules) are
   retried and then handed to the function's on-failure destination, as Lambda does.
11. S3 and policies. moto evaluates bucket policies without their conditions (a TLS-only
   deny refuses everything) and answers 404 for any missing key. The patches evaluate bucket
   policies with their conditions (``localcloud.iam_policy``), uploads included, and answer a
   missing key with 403 AccessDenied when the calling function's role may not list that
   key's prefix (``identity_policies``, set by the local cloud), as S3 does.
12. Not a moto patch, but installed with them: the runtime package's one clock
    (``bmc.aws.registry.utc_now``) reads the simulated clock (plus the real time since it last
    moved, so it never stands still), and the registry's timestamps and TTLs agree with the
    simulated Bedrock's resource times and the rules' event times, as all clocks agree in AWS.
13. Conditional copies. moto ignores ``If-None-Match: *`` on CopyObject and
   ``x-amz-copy-source-if-match`` on CopyObject and UploadPartCopy; S3 answers 412
   PreconditionFailed when the destination exists or the source's ETag differs. Run snapshots
   rely on both (write once; copy the validated bytes or nothing).

moto is pinned (MOTO_VERSION); the patched names are checked before anything is replaced.
"""

from __future__ import annotations

import base64
import importlib
import inspect
import json
import os
import threading
import time
import traceback
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, ClassVar, Literal, cast
from urllib.parse import parse_qs, unquote, urlparse

import moto
from bmc.aws import registry
from botocore import xform_name
from botocore.exceptions import ClientError
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape
from botocore.response import StreamingBody
from botocore.session import get_session
from moto.awslambda.models import LambdaFunction, lambda_backends
from moto.core.config import DefaultConfig
from moto.core.responses import EmptyResult
from moto.events.models import Rule, events_backends
from moto.iam.access_control import PermissionResult
from moto.s3.exceptions import PreconditionFailed, S3AccessDeniedError
from moto.s3.models import FakeBucket, FakeDeleteMarker, S3Backend
from moto.s3.responses import S3Response
from moto.sqs.models import sqs_backends
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
    StateTaskServiceAwsSdk,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_unsupported import (
    StateTaskServiceUnsupported,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import Timestamp
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse

from localcloud.clock import SimClock
from localcloud.iam_policy import Request, allows, denies, statements_of

MOTO_VERSION = "5.2.5"

# The configuration that makes moto execute state machines instead of only recording them.
MOTO_CONFIG: DefaultConfig = {"stepfunctions": {"execute_state_machine": True}}

Handler = Callable[[Any, Any], Any]

# Service names Step Functions uses in aws-sdk error names where plain capitalisation is wrong.
_SFN_ERROR_SERVICE_NAMES = {"dynamodb": "DynamoDb", "sfn": "Sfn", "stepfunctions": "Sfn"}


# --------------------------------------------------------------------------------------------
# Lambda: registry, context and in-process invocation
# --------------------------------------------------------------------------------------------


@dataclass
class LambdaContext:
    """The attributes of the AWS Lambda Python context object that handlers use."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    timeout_seconds: float
    identity: Any = None
    client_context: Any = None
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class RegisteredFunction:
    """A handler (callable or ``"package.module.function"``) and the environment it runs in."""

    handler: Handler | str
    environment: Mapping[str, str]


@dataclass(frozen=True)
class Invocation:
    """One in-process Lambda invocation, kept for assertions."""

    function_name: str
    request_id: str
    event: Any
    result: Any
    error: dict[str, Any] | None

    @property
    def succeeded(self) -> bool:
        return self.error is None


class LambdaRegistry:
    """Maps a function name or ARN to the Python handler that runs when it is invoked."""

    def __init__(self) -> None:
        self._functions: dict[str, RegisteredFunction] = {}
        self._invocations: list[Invocation] = []
        self._lock = threading.Lock()

    def register(
        self, function: str, handler: Handler | str, environment: Mapping[str, str] | None = None
    ) -> None:
        """Register ``handler`` for the function named (or with the ARN) ``function``."""
        with self._lock:
            self._functions[function] = RegisteredFunction(handler, dict(environment or {}))

    def unregister(self, function: str) -> None:
        with self._lock:
            self._functions.pop(function, None)

    def lookup(self, function_name: str, function_arn: str) -> RegisteredFunction | None:
        """Find a registration by ARN (qualified or not) first, then by name."""
        unqualified_arn = ":".join(function_arn.split(":")[:7])
        with self._lock:
            for key in (function_arn, unqualified_arn, function_name):
                if key in self._functions:
                    return self._functions[key]
        return None

    def record(self, invocation: Invocation) -> None:
        with self._lock:
            self._invocations.append(invocation)

    @property
    def invocations(self) -> list[Invocation]:
        with self._lock:
            return list(self._invocations)

    def invocations_of(self, function_name: str) -> list[Invocation]:
        return [i for i in self.invocations if i.function_name == function_name]


# os.environ is process-wide, but each Lambda sees only its own variables, and moto's
# interpreter threads read the environment (creating clients) while a handler runs. A handler's
# variables are therefore a thread-local layer over os.environ, never written into it: other
# threads neither see them nor race with them. Handlers still run one at a time (the lock).
_ENVIRON_LOCK = threading.RLock()


class _LayeredEnviron(os._Environ):  # type: ignore[type-arg]
    """os.environ, plus a per-thread layer of variables that shadows it (and may hide keys)."""

    def __init__(self, base: os._Environ) -> None:  # type: ignore[type-arg]
        super().__init__(base._data, base.encodekey, base.decodekey, base.encodevalue, base.decodevalue)  # type: ignore[attr-defined]
        self._local = threading.local()

    def _layer(self) -> dict[str, str] | None:
        layer: dict[str, str] | None = getattr(self._local, "layer", None)
        return layer

    def __getitem__(self, key: str) -> str:
        layer = self._layer()
        if layer is not None and key in layer:
            return layer[key]
        value: str = super().__getitem__(key)
        return value

    def __iter__(self) -> Iterator[str]:
        layer = self._layer() or {}
        yield from layer
        yield from (key for key in list(super().__iter__()) if key not in layer)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __setitem__(self, key: str, value: str) -> None:
        layer = self._layer()
        if layer is not None:
            layer[key] = value  # a handler's own writes stay in its layer
        else:
            super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        layer = self._layer()
        if layer is not None and key in layer:
            del layer[key]
        else:
            super().__delitem__(key)

    def copy(self) -> dict[str, str]:
        return dict(self)

    @contextmanager
    def layered(self, variables: Mapping[str, str]) -> Iterator[None]:
        outer = self._layer()
        self._local.layer = {**(outer or {}), **variables}
        try:
            yield
        finally:
            self._local.layer = outer


@contextmanager
def _environ(variables: Mapping[str, str]) -> Iterator[None]:
    """Run the block with ``variables`` over the environment, in this thread only."""
    environ = os.environ
    if isinstance(environ, _LayeredEnviron):
        with environ.layered(variables):
            yield
        return
    saved = {key: os.environ.get(key) for key in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _resolve_handler(handler: Handler | str) -> Handler:
    if callable(handler):
        return handler
    module_name, _, attribute = handler.rpartition(".")
    if not module_name:
        raise _RuntimeError("Runtime.MalformedHandlerName", f"Bad handler '{handler}'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise _RuntimeError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from exc
    resolved = getattr(module, attribute, None)
    if not callable(resolved):
        raise _RuntimeError(
            "Runtime.HandlerNotFound", f"Handler '{attribute}' missing on module '{module_name}'"
        )
    return resolved  # type: ignore[no-any-return]


class _RuntimeError(Exception):
    """A failure of the (simulated) Lambda runtime rather than of the handler."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def _error_payload(exc: BaseException) -> dict[str, Any]:
    error_type = exc.error_type if isinstance(exc, _RuntimeError) else type(exc).__name__
    return {
        "errorType": error_type,
        "errorMessage": str(exc),
        "trace": traceback.format_exception(exc),
    }


def _lambda_environment(fn: Any, registered: RegisteredFunction | None) -> dict[str, str]:
    """The variables the Lambda runtime sets, then the function's own (registration wins)."""
    region = str(fn.region)
    env = {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
        "AWS_LAMBDA_FUNCTION_NAME": str(fn.function_name),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": str(fn.version),
        "AWS_LAMBDA_LOG_GROUP_NAME": str(fn.logs_group_name),
        "_HANDLER": str(fn.handler),
    }
    env.update({k: str(v) for k, v in (fn.environment_vars or {}).items()})
    if registered is not None:
        env.update(registered.environment)
    return env


def _event_from_moto(event: Any) -> Any:
    # moto hands over the parsed JSON payload, or the string "{}" when the payload was empty.
    if event is None or event == "{}":
        return {}
    return json.loads(json.dumps(event))


# --------------------------------------------------------------------------------------------
# aws-sdk / optimized integrations: botocore-model mapping
# --------------------------------------------------------------------------------------------

_OPERATIONS: dict[str, dict[str, OperationModel]] = {}
_OPERATIONS_LOCK = threading.Lock()


def _operation_model(service: str, snake_action: str) -> OperationModel | None:
    with _OPERATIONS_LOCK:
        if service not in _OPERATIONS:
            try:
                model = get_session().get_service_model(service)
            except Exception:
                return None
            _OPERATIONS[service] = {
                xform_name(name): model.operation_model(name) for name in model.operation_names
            }
        return _OPERATIONS[service].get(snake_action)


def _member_for(key: str, shape: StructureShape) -> tuple[str, Shape] | None:
    if key in shape.members:
        return key, shape.members[key]
    lowered = key.lower()
    for name, member in shape.members.items():
        if name.lower() == lowered:
            return name, member
    return None


def to_boto_params(value: Any, shape: Shape | None) -> Any:
    """Rename ASL's PascalCase keys to the botocore member names and coerce scalar types."""
    if shape is None:
        return value
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        converted: dict[str, Any] = {}
        for key, item in value.items():
            match = _member_for(key, shape)
            if match is None:
                converted[key] = item  # unknown: let botocore/the service reject it
            else:
                converted[match[0]] = to_boto_params(item, match[1])
        return converted
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [to_boto_params(item, shape.member) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {key: to_boto_params(item, shape.value) for key, item in value.items()}
    if shape.type_name == "string" and not isinstance(value, str):
        return json.dumps(value, separators=(",", ":"))
    if shape.type_name == "blob" and not isinstance(value, bytes):
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        return text.encode("utf-8")
    return value


def _sfn_case(key: str) -> str:
    return key[:1].upper() + key[1:]


def to_sfn_result(value: Any, shape: Shape | None) -> Any:
    """Render a boto3 response as Step Functions does: PascalCase members, JSON-safe values."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, StreamingBody):
        value = value.read()
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        if isinstance(shape, StructureShape):
            return {
                _sfn_case(key): to_sfn_result(item, shape.members.get(key)) for key, item in value.items()
            }
        value_shape = shape.value if isinstance(shape, MapShape) else None
        return {key: to_sfn_result(item, value_shape) for key, item in value.items()}
    if isinstance(value, list):
        member = shape.member if isinstance(shape, ListShape) else None
        return [to_sfn_result(item, member) for item in value]
    return value


def _normalise_parameters(
    self: Any,
    parameters: dict[str, Any],
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    operation = _operation_model(
        self._get_boto_service_name(boto_service_name), self._get_boto_service_action(service_action_name)
    )
    if operation is None or operation.input_shape is None:
        return
    converted = to_boto_params(parameters, operation.input_shape)
    parameters.clear()
    parameters.update(converted)


def _normalise_response(
    self: Any,
    response: Any,
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    if not isinstance(response, dict):
        return
    operation = _operation_model(
        self._get_boto_service_name(boto_service_name), self._get_boto_service_action(service_action_name)
    )
    converted = to_sfn_result(response, operation.output_shape if operation else None)
    response.clear()
    response.update(converted)


def sfn_error_name(service: str, error_code: str) -> str:
    """``ServiceName.ErrorNameException`` as Step Functions reports SDK integration errors."""
    prefix = _SFN_ERROR_SERVICE_NAMES.get(service.lower(), _sfn_case(service))
    suffix = "" if error_code.endswith("Exception") else "Exception"
    return f"{prefix}.{error_code}{suffix}"


def _client_error_failure(task: Any, env: Any, ex: ClientError) -> FailureEvent:
    service = str(task.resource.api_name)
    error = sfn_error_name(service, ex.response.get("Error", {}).get("Code", "Unknown"))
    metadata = ex.response.get("ResponseMetadata", {})
    cause = (
        f"{ex.response.get('Error', {}).get('Message', '')} (Service: {error.split('.')[0]}, "
        f"Status Code: {metadata.get('HTTPStatusCode')}, Request ID: {metadata.get('RequestId')})"
    )
    return FailureEvent(
        env=env,
        error_name=ErrorName(error_name=error),
        event_type=HistoryEventType.TaskFailed,
        # EventDetails is a total TypedDict in moto's stubs; AWS sends exactly one member.
        event_details=cast(
            EventDetails,
            {
                "taskFailedEventDetails": TaskFailedEventDetails(
                    resource=task._get_sfn_resource(),
                    resourceType=task._get_sfn_resource_type(),
                    error=error,
                    cause=cause,
                )
            },
        ),
    )


# --------------------------------------------------------------------------------------------
# Waits and retries
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestedWait:
    """A wait the state machine asked for: a Wait state or a Retry backoff."""

    kind: Literal["wait", "retry"]
    seconds: float
    state_name: str | None
    execution_arn: str | None


def _state_and_execution(env: Any) -> tuple[str | None, str | None]:
    try:
        context = env.states.context_object.context_object_data
        state = context.get("State") or {}
        return state.get("Name"), context["Execution"]["Id"]
    except (AttributeError, KeyError, TypeError):
        return None, None


class _RetrySleep:
    """Stands in for the ``time`` module inside moto's retrier module: sleeping is recorded."""

    def __init__(self, patches: LocalCloudPatches) -> None:
        self._patches = patches
        self.current_env = threading.local()

    def sleep(self, seconds: float) -> None:
        env = getattr(self.current_env, "env", None)
        state, execution = _state_and_execution(env) if env is not None else (None, None)
        self._patches._record_wait("retry", float(seconds), state, execution)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


# --------------------------------------------------------------------------------------------
# Installation
# --------------------------------------------------------------------------------------------


@dataclass
class _Patch:
    owner: Any
    attribute: str
    replacement: Any
    original: Any = None
    # False when the owner inherited the attribute: uninstalling deletes it again.
    owned: bool = True


_INSTALL_LOCK = threading.Lock()


class LocalCloudPatches:
    """The set of moto patches; install once, use as a context manager, uninstall on exit.

    ``clock``: waits and retry backoffs advance it by the seconds they asked for (unless
    ``advance_clock`` is False). ``import_unregistered``: a function with no registration runs
    the handler named in its moto configuration (e.g. ``bmc.handlers.submit_job.handler``),
    imported from ``sys.path``; otherwise its invocation fails with
    ``Runtime.HandlerNotFound``.
    """

    _active: ClassVar[LocalCloudPatches | None] = None

    def __init__(
        self,
        clock: SimClock | None = None,
        *,
        advance_clock: bool = True,
        import_unregistered: bool = True,
    ) -> None:
        self.clock = clock
        self.advance_clock = advance_clock
        self.import_unregistered = import_unregistered
        self.registry = LambdaRegistry()
        self._waits: list[RequestedWait] = []
        self._waits_lock = threading.Lock()
        self._patches: list[_Patch] = []
        self._moved_at = datetime.now(UTC)
        self._installed = False
        self._retry_sleep = _RetrySleep(self)
        self._plain_environ: os._Environ = os.environ  # type: ignore[type-arg]
        # Function name -> callbacks run once after its next successful invocation (scenarios
        # that change the world between two states, e.g. a dataset overwritten after validation).
        self.after_invocation: dict[str, list[Callable[[], None]]] = {}
        # Function name -> (role ARN, identity policy statements), for S3's 403-or-404 answer.
        self.identity_policies: dict[str, tuple[str, list[dict[str, Any]]]] = {}

    # -- public API ---------------------------------------------------------------------------

    def register(
        self, function: str, handler: Handler | str, environment: Mapping[str, str] | None = None
    ) -> None:
        """Shortcut for ``registry.register``."""
        self.registry.register(function, handler, environment)

    @property
    def requested_waits(self) -> list[RequestedWait]:
        with self._waits_lock:
            return list(self._waits)

    def waits(self, kind: Literal["wait", "retry"] | None = None) -> list[float]:
        """Seconds requested, in order, by Wait states and/or Retry backoffs."""
        return [w.seconds for w in self.requested_waits if kind is None or w.kind == kind]

    @property
    def installed(self) -> bool:
        return self._installed

    def install(self) -> LocalCloudPatches:
        with _INSTALL_LOCK:
            if self._installed:
                return self
            if LocalCloudPatches._active is not None:
                raise RuntimeError("another LocalCloudPatches instance is installed")
            if moto.__version__ != MOTO_VERSION:
                warnings.warn(
                    f"localcloud patches target moto {MOTO_VERSION}, found {moto.__version__}",
                    RuntimeWarning,
                    stacklevel=2,
                )
            self._patches = self._build_patches()
            missing = [
                f"{getattr(p.owner, '__name__', p.owner)}.{p.attribute}"
                for p in self._patches
                if not hasattr(p.owner, p.attribute)
            ]
            if missing:
                raise RuntimeError(f"moto internals not found (moto version drift?): {missing}")
            self._plain_environ = os.environ
            os.environ = _LayeredEnviron(os.environ)  # noqa: B003 (a view over the same variables)
            if self.clock is not None:
                self._moved_at = datetime.now(UTC)
                self.clock.add_listener(self._clock_moved)
                registry.use_clock(self._runtime_now)
            for patch in self._patches:
                # Read the owner's own __dict__ so descriptors (staticmethod) are restored as-is.
                owner_dict = vars(patch.owner)
                patch.owned = patch.attribute in owner_dict
                patch.original = owner_dict.get(patch.attribute)
                setattr(patch.owner, patch.attribute, patch.replacement)
            self._installed = True
            LocalCloudPatches._active = self
        return self

    def uninstall(self) -> None:
        with _INSTALL_LOCK:
            if not self._installed:
                return
            for patch in reversed(self._patches):
                if patch.owned:
                    setattr(patch.owner, patch.attribute, patch.original)
                else:
                    delattr(patch.owner, patch.attribute)
            self._patches = []
            os.environ = self._plain_environ  # noqa: B003 (restores the original object)
            registry.use_clock(None)
            if self.clock is not None:
                self.clock.remove_listener(self._clock_moved)
            self._installed = False
            LocalCloudPatches._active = None

    def __enter__(self) -> LocalCloudPatches:
        return self.install()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.uninstall()

    # -- internals ------------------------------------------------------------------------------

    def _record_wait(
        self, kind: Literal["wait", "retry"], seconds: float, state: str | None, execution: str | None
    ) -> None:
        seconds = max(0.0, seconds)
        with self._waits_lock:
            self._waits.append(RequestedWait(kind, seconds, state, execution))
        if self.clock is not None and self.advance_clock and seconds > 0:
            self.clock.advance(seconds)

    def _clock_moved(self, now: datetime) -> None:
        self._moved_at = datetime.now(UTC)

    def _runtime_now(self) -> datetime:
        """The simulated time, still moving between advances as real time does: two writes a
        moment apart get two timestamps, in the order they happened."""
        assert self.clock is not None
        return self.clock.now() + (datetime.now(UTC) - self._moved_at)

    def _now_utc_naive(self) -> datetime:
        now = self.clock.now() if self.clock is not None else datetime.now(UTC)
        return now.astimezone(UTC).replace(tzinfo=None)

    def _invoke(self, fn: Any, event: Any) -> tuple[str, bool, str]:
        registered = self.registry.lookup(str(fn.function_name), str(fn.function_arn))
        request_id = str(uuid.uuid4())
        context = LambdaContext(
            function_name=str(fn.function_name),
            function_version=str(fn.version),
            invoked_function_arn=str(fn.function_arn),
            memory_limit_in_mb=int(fn.memory_size),
            aws_request_id=request_id,
            log_group_name=str(fn.logs_group_name),
            log_stream_name=f"{datetime.now(UTC):%Y/%m/%d}/[{fn.version}]{request_id.replace('-', '')}",
            timeout_seconds=float(fn.timeout),
        )
        payload = _event_from_moto(event)
        error: dict[str, Any] | None = None
        result: Any = None
        started = time.monotonic()
        with _ENVIRON_LOCK, _environ(_lambda_environment(fn, registered)):
            try:
                if registered is None and not self.import_unregistered:
                    raise _RuntimeError(
                        "Runtime.HandlerNotFound", f"No handler registered for {fn.function_name}"
                    )
                handler = _resolve_handler(registered.handler if registered else str(fn.handler))
                result = handler(payload, context)
                try:
                    body = json.dumps(result)
                except (TypeError, ValueError) as exc:
                    raise _RuntimeError("Runtime.MarshalError", f"Unable to marshal response: {exc}") from exc
                result = json.loads(body)
            except Exception as exc:
                error = _error_payload(exc)
                body = json.dumps(error)
        duration_ms = (time.monotonic() - started) * 1000
        if error is None:
            # Outside the function's environment: the callback acts as the test, not as the function.
            for callback in self.after_invocation.pop(str(fn.function_name), []):
                callback()
        self.registry.record(Invocation(str(fn.function_name), request_id, payload, result, error))
        logs = [f"START RequestId: {request_id} Version: {fn.version}"]
        if error is not None:
            logs.append(json.dumps({k: error[k] for k in ("errorType", "errorMessage")}))
        logs += [
            f"END RequestId: {request_id}",
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms",
        ]
        log_text = "\n".join(logs)
        fn.logs_backend.ensure_log_group(fn.logs_group_name)
        fn.save_logs(log_text)
        return body, error is not None, log_text

    def _build_patches(self) -> list[_Patch]:
        patches = self

        def invoke_lambda(fn: Any, event: Any = None) -> tuple[str, bool, str]:
            return patches._invoke(fn, event)

        def wait_interval(wait_function: Any, env: Any, wait_seconds: int) -> None:
            state, execution = _state_and_execution(env)
            patches._record_wait("wait", float(wait_seconds), state, execution)

        def timestamp_wait_seconds(wait_function: Any, env: Any) -> int:
            wait_function.string.eval(env=env)
            timestamp_text = env.stack.pop()
            timestamp = wait_function._from_timestamp_string(timestamp=timestamp_text)
            if timestamp is None:
                raise FailureEventException(wait_function._create_failure_event(env, timestamp_text))
            return int((timestamp - patches._now_utc_naive()).total_seconds())

        original_retrier_eval = retrier_decl.RetrierDecl._eval_body

        def retrier_eval_body(retrier: Any, env: Any) -> None:
            # The retrier sleeps through the module-level ``time``; remember whose retry it is.
            patches._retry_sleep.current_env.env = env
            try:
                original_retrier_eval(retrier, env)
            finally:
                patches._retry_sleep.current_env.env = None

        def make_from_error(cls: type) -> Callable[[Any, Any, Exception], Any]:
            original = cls._from_error  # type: ignore[attr-defined]

            def from_error(task: Any, env: Any, ex: Exception) -> Any:
                if isinstance(ex, ClientError):
                    return _client_error_failure(task, env, ex)
                return original(task, env, ex)

            return from_error

        original_start_execution = StepFunctionsParserBackend.start_execution

        def start_execution(
            backend: Any, state_machine_arn: str, name: str | None = None, *args: Any, **kwargs: Any
        ) -> Any:
            return original_start_execution(
                backend, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs
            )

        def send_task_failure(response: Any) -> Any:
            response.stepfunction_backend.send_task_failure(
                response._get_param("taskToken"),
                error=response._get_param("error"),
                cause=response._get_param("cause"),
            )
            return EmptyResult()

        return [
            *_event_and_stop_patches(),
            *_s3_policy_patches(self),
            *_s3_conditional_copy_patches(),
            _Patch(StepFunctionsParserBackend, "start_execution", start_execution),
            _Patch(StepFunctionResponse, "send_task_failure", send_task_failure),
            _Patch(LambdaFunction, "_invoke_lambda", invoke_lambda),
            _Patch(StateTaskServiceAwsSdk, "_normalise_parameters", _normalise_parameters),
            _Patch(StateTaskServiceAwsSdk, "_normalise_response", _normalise_response),
            _Patch(StateTaskServiceAwsSdk, "_from_error", make_from_error(StateTaskServiceAwsSdk)),
            _Patch(StateTaskServiceUnsupported, "_normalise_parameters", _normalise_parameters),
            _Patch(StateTaskServiceUnsupported, "_normalise_response", _normalise_response),
            _Patch(StateTaskServiceUnsupported, "_from_error", make_from_error(StateTaskServiceUnsupported)),
            _Patch(WaitFunction, "_wait_interval", wait_interval),
            _Patch(Timestamp, "_get_wait_seconds", timestamp_wait_seconds),
            _Patch(retrier_decl.RetrierDecl, "_eval_body", retrier_eval_body),
            _Patch(retrier_decl, "time", self._retry_sleep),
        ]


def _event_and_stop_patches() -> list[_Patch]:
    """EventBridge Lambda targets, and StopExecution as on AWS (patches 7 and 8)."""
    original_send_to_targets = Rule.send_to_targets

    def send_to_targets(rule: Any, original_event: Any, transform_input: bool = True) -> None:
        lambda_targets = [t for t in rule.targets if ":lambda:" in t["Arn"]]
        if lambda_targets and rule.event_pattern.matches_event(original_event):
            for target in lambda_targets:
                _deliver_to_lambda(target["Arn"], original_event, rule.account_id, rule.region_name)
        other_targets = [t for t in rule.targets if t not in lambda_targets]
        if other_targets:
            saved, rule.targets = rule.targets, other_targets
            try:
                original_send_to_targets(rule, original_event, transform_input)
            finally:
                rule.targets = saved

    original_stop_execution = StepFunctionsParserBackend.stop_execution

    def stop_execution(backend: Any, execution_arn: str) -> Any:
        execution = original_stop_execution(backend, execution_arn)
        # moto leaves a task waiting for its token asleep until the (real-time) timeout.
        worker = getattr(execution, "exec_worker", None)
        if worker is not None:
            for endpoint in list(worker.env.callback_pool_manager._pool.values()):
                endpoint.interrupt_all()
        _put_execution_status_event(backend, execution, "ABORTED")
        return execution

    original_set_error = Environment.set_error

    def set_error(env: Any, error: Any) -> None:
        # The woken task fails; on AWS an aborted execution stays ABORTED whatever follows.
        if isinstance(env.program_state(), ProgramStopped):
            return
        original_set_error(env, error)

    return [
        _Patch(Environment, "set_error", set_error),
        _Patch(Rule, "send_to_targets", send_to_targets),
        _Patch(StepFunctionsParserBackend, "stop_execution", stop_execution),
    ]


# The requests of the local cloud all use TLS 1.3.
_SECURE_TRANSPORT = {"aws:SecureTransport": "true", "s3:TlsVersion": "1.3"}


def _s3_policy_patches(patches: LocalCloudPatches) -> list[_Patch]:
    """Bucket policies with their conditions, and 403 for a key the caller may not list (patch 11)."""
    original_put_object = S3Backend.put_object
    original_get_object = S3Backend.get_object
    put_signature = inspect.signature(original_put_object)

    def caller() -> tuple[str, list[dict[str, Any]]] | None:
        return patches.identity_policies.get(os.environ.get("AWS_LAMBDA_FUNCTION_NAME", ""))

    def principal() -> dict[str, str]:
        found = caller()
        return {"AWS": found[0]} if found else {}

    def context(**extra: str) -> dict[str, str]:
        """What S3 puts in every request's context: TLS, and the calling role's ARN."""
        found = caller()
        identity = {"aws:PrincipalArn": found[0]} if found else {}
        return {**_SECURE_TRANSPORT, **identity, **extra}

    def get_permission(bucket: Any, action: str, resource: str) -> Any:
        if bucket.policy is None:
            return PermissionResult.NEUTRAL
        request = Request(action, resource, principal(), context())
        denied = denies(statements_of(bucket.policy.decode()), request)
        return PermissionResult.DENIED if denied else PermissionResult.NEUTRAL

    def put_object(backend: Any, *args: Any, **kwargs: Any) -> Any:
        call = put_signature.bind(backend, *args, **kwargs).arguments
        bucket = backend.get_bucket(call["bucket_name"])
        if bucket.policy is not None:
            # The policy sees the request's headers only: the bucket default applies afterwards.
            headers = {
                "s3:x-amz-server-side-encryption": call.get("encryption"),
                "s3:x-amz-server-side-encryption-aws-kms-key-id": call.get("kms_key_id"),
            }
            request_context = context(**{k: v for k, v in headers.items() if v})
            resource = f"arn:{bucket.partition}:s3:::{bucket.name}/{call['key_name']}"
            if denies(
                statements_of(bucket.policy.decode()),
                Request("s3:PutObject", resource, principal(), request_context),
            ):
                raise S3AccessDeniedError()
        return original_put_object(backend, *args, **kwargs)

    def get_object(backend: Any, bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> Any:
        found = original_get_object(backend, bucket_name, key_name, *args, **kwargs)
        identity = caller()
        # A key whose current version is a delete marker is missing too.
        if (found is None or isinstance(found, FakeDeleteMarker)) and identity is not None:
            # S3 reveals that a key does not exist only to a caller that may list it.
            role_arn, statements = identity
            bucket = backend.get_bucket(bucket_name)
            listing = Request(
                "s3:ListBucket",
                f"arn:{bucket.partition}:s3:::{bucket_name}",
                {"AWS": role_arn},
                {"s3:prefix": key_name},
            )
            if not allows(statements, listing):
                raise S3AccessDeniedError()
        return found

    return [
        _Patch(FakeBucket, "get_permission", get_permission),
        _Patch(S3Backend, "put_object", put_object),
        _Patch(S3Backend, "get_object", get_object),
    ]


def _s3_conditional_copy_patches() -> list[_Patch]:
    """CopyObject's ``If-None-Match: *`` and the copy-source ``If-Match`` (patch 12)."""
    original_copy = S3Response.copy_object
    original_part_copy = S3Response.upload_part_copy

    def source_etag_holds(response: Any) -> None:
        wanted = response.headers.get("x-amz-copy-source-if-match")
        if not wanted:
            return
        source = response.headers.get("x-amz-copy-source")
        source = source.decode("utf-8") if isinstance(source, bytes) else str(source)
        parsed = urlparse(source)
        bucket, key = unquote(parsed.path).lstrip("/").split("/", 1)
        version = parse_qs(parsed.query).get("versionId", [None])[0]
        found = response.backend.get_object(bucket, key, version_id=version)
        if found is not None and found.etag.strip('"') != wanted.strip('"'):
            raise PreconditionFailed("x-amz-copy-source-If-Match")

    def copy_object(response: Any) -> Any:
        if response.headers.get("If-None-Match") == "*":
            existing = response.backend.get_object(response.bucket_name, response.parse_key_name())
            if existing is not None and not isinstance(existing, FakeDeleteMarker):
                raise PreconditionFailed("If-None-Match")
        source_etag_holds(response)
        return original_copy(response)

    def upload_part_copy(response: Any) -> Any:
        source_etag_holds(response)
        return original_part_copy(response)

    return [
        _Patch(S3Response, "copy_object", copy_object),
        _Patch(S3Response, "upload_part_copy", upload_part_copy),
    ]


def _deliver_to_lambda(function_arn: str, event: Mapping[str, Any], account_id: str, region: str) -> None:
    """EventBridge invokes Lambda targets asynchronously; a handler error stays in the record."""
    payload = dict(event)
    if isinstance(payload.get("time"), int | float):
        payload["time"] = datetime.fromtimestamp(payload["time"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    invoke_asynchronously(function_arn, json.loads(json.dumps(payload, default=str)), account_id, region)


# Lambda retries a failed asynchronous invocation twice unless the event invoke config says less.
DEFAULT_ASYNC_RETRIES = 2


def invoke_asynchronously(function_arn: str, event: Any, account_id: str, region: str) -> bool:
    """What Lambda does with an asynchronous invocation (EventBridge, Scheduler): run it, retry a
    failure as the function's event invoke config says, then hand the invocation record to the
    on-failure destination (SQS) or drop it. Returns whether an attempt succeeded.

    The retries run at once (no backoff): the simulated clock does not move for them.
    """
    function = lambda_backends[account_id][region].get_function(function_arn)
    config = function.event_invoke_config[0].config if function.event_invoke_config else {}
    attempts = 1 + int(config.get("MaximumRetryAttempts", DEFAULT_ASYNC_RETRIES))
    response = ""
    for _ in range(attempts):
        response, failed, _ = function._invoke_lambda(event=event)
        if not failed:
            return True
    destination = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    if destination:
        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"{function.function_arn}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": json.loads(response),
        }
        queue_name = destination.rsplit(":", 1)[1]
        sqs_backends[account_id][region].send_message(queue_name, json.dumps(record))
    return False


def _put_execution_status_event(backend: Any, execution: Any, status: str) -> None:
    def epoch_ms(value: Any) -> Any:
        # AWS sends startDate and stopDate as epoch milliseconds.
        if not isinstance(value, datetime):
            return value
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)

    detail = {
        "executionArn": execution.execution_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": status,
        "startDate": epoch_ms(execution.start_date),
        "stopDate": epoch_ms(getattr(execution, "stop_date", None)),
        "input": execution.execution_input,
        "output": None,
    }
    events_backends[backend.account_id][backend.region_name].put_events(
        [
            {
                "Source": "aws.states",
                "DetailType": "Step Functions Execution Status Change",
                "Detail": json.dumps(detail, default=str),
                "Resources": [execution.execution_arn],
            }
        ]
    )


def install_patches(
    clock: SimClock | None = None, *, advance_clock: bool = True, import_unregistered: bool = True
) -> LocalCloudPatches:
    """Install the patches and return them (also a context manager that uninstalls)."""
    return LocalCloudPatches(
        clock, advance_clock=advance_clock, import_unregistered=import_unregistered
    ).install()


def active_patches() -> LocalCloudPatches | None:
    return LocalCloudPatches._active


def wait_for_execution(
    sfn_client: Any, execution_arn: str, *, timeout: float = 30.0, poll_interval: float = 0.02
) -> dict[str, Any]:
    """Poll until an execution leaves RUNNING; moto runs executions on worker threads."""
    deadline = time.monotonic() + timeout
    while True:
        description: dict[str, Any] = sfn_client.describe_execution(executionArn=execution_arn)
        if description["status"] != "RUNNING":
            return description
        if time.monotonic() > deadline:
            raise TimeoutError(f"execution still RUNNING after {timeout}s: {execution_arn}")
        time.sleep(poll_interval)
