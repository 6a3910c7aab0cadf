"""Lambda functions run in process (patches 1 and 9 of ``localcloud.patches``).

moto runs Lambda code in Docker. ``LambdaFunction._invoke_lambda`` is replaced by an in-process
call of a registered Python handler (or the handler the function names, imported from the
repository), with the function's environment, a Lambda-like context and AWS's error payload,
so ``Retry``/``Catch`` on a handler's exception class behave as on AWS. Both Step Functions
``lambda:invoke`` tasks and direct ``lambda_client.invoke`` calls go through it.

The context's remaining time follows the simulated clock when there is one: a handler that
waits on it (retry backoff) runs out of time as it would on AWS.
"""

from __future__ import annotations

import importlib
import json
import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from localcloud.clock import SimClock

Handler = Callable[[Any, Any], Any]


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
    clock: SimClock | None = field(default=None, repr=False)
    _deadline: float = field(default=0.0, repr=False)

    def _now(self) -> float:
        return self.clock.time() if self.clock is not None else time.monotonic()

    def __post_init__(self) -> None:
        self._deadline = self._now() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self._now()) * 1000))


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


def invoke_in_process(
    registry: LambdaRegistry,
    fn: Any,
    event: Any,
    *,
    import_unregistered: bool,
    clock: SimClock | None,
    after_invocation: dict[str, list[Callable[[], None]]] | None = None,
) -> tuple[str, bool, str]:
    """Run moto's function ``fn`` in this process; returns (body, is error, log text) as moto's
    ``_invoke_lambda`` does. ``after_invocation``: callbacks (by function name) run once after the
    function's next successful invocation."""
    registered = registry.lookup(str(fn.function_name), str(fn.function_arn))
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
        clock=clock,
    )
    payload = _event_from_moto(event)
    error: dict[str, Any] | None = None
    result: Any = None
    started = time.monotonic()
    with _ENVIRON_LOCK, _environ(_lambda_environment(fn, registered)):
        try:
            if registered is None and not import_unregistered:
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
    if error is None and after_invocation:
        # Outside the function's environment: the callback acts as the test, not as the function.
        for callback in after_invocation.pop(str(fn.function_name), []):
            callback()
    registry.record(Invocation(str(fn.function_name), request_id, payload, result, error))
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
