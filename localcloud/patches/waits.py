"""Waits and retries on the simulated clock (patches 3 and 4 of ``localcloud.patches``).

- Wait states and Retry backoff sleep in real time in moto. They return at once here; the
  durations asked for are recorded and, when a simulated clock is given, added to it.
- ``Wait`` with ``Timestamp``/``TimestampPath`` measures against the simulated clock (moto
  compares a UTC timestamp with the local wall-clock time).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import Timestamp
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

from localcloud.clock import SimClock
from localcloud.patches.base import Patch

WaitKind = Literal["wait", "retry"]


@dataclass(frozen=True)
class RequestedWait:
    """A wait the state machine asked for: a Wait state or a Retry backoff."""

    kind: WaitKind
    seconds: float
    state_name: str | None
    execution_arn: str | None


def state_and_execution(env: Any) -> tuple[str | None, str | None]:
    try:
        context = env.states.context_object.context_object_data
        state = context.get("State") or {}
        return state.get("Name"), context["Execution"]["Id"]
    except (AttributeError, KeyError, TypeError):
        return None, None


class WaitRecorder:
    """Every wait asked for, in order; each advances the simulated clock (unless told not to)."""

    def __init__(self, clock: SimClock | None, *, advance_clock: bool) -> None:
        self.clock = clock
        self.advance_clock = advance_clock
        self._waits: list[RequestedWait] = []
        self._lock = threading.Lock()

    @property
    def waits(self) -> list[RequestedWait]:
        with self._lock:
            return list(self._waits)

    def record(self, kind: WaitKind, seconds: float, state: str | None, execution: str | None) -> None:
        seconds = max(0.0, seconds)
        with self._lock:
            self._waits.append(RequestedWait(kind, seconds, state, execution))
        if self.clock is not None and self.advance_clock and seconds > 0:
            self.clock.advance(seconds)

    def now_utc_naive(self) -> datetime:
        now = self.clock.now() if self.clock is not None else datetime.now(UTC)
        return now.astimezone(UTC).replace(tzinfo=None)


class _RetrySleep:
    """Stands in for the ``time`` module inside moto's retrier module: sleeping is recorded."""

    def __init__(self, recorder: WaitRecorder) -> None:
        self._recorder = recorder
        self.current_env = threading.local()

    def sleep(self, seconds: float) -> None:
        env = getattr(self.current_env, "env", None)
        state, execution = state_and_execution(env) if env is not None else (None, None)
        self._recorder.record("retry", float(seconds), state, execution)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def wait_patches(recorder: WaitRecorder) -> list[Patch]:
    retry_sleep = _RetrySleep(recorder)

    def wait_interval(wait_function: Any, env: Any, wait_seconds: int) -> None:
        state, execution = state_and_execution(env)
        recorder.record("wait", float(wait_seconds), state, execution)

    def timestamp_wait_seconds(wait_function: Any, env: Any) -> int:
        wait_function.string.eval(env=env)
        timestamp_text = env.stack.pop()
        timestamp = wait_function._from_timestamp_string(timestamp=timestamp_text)
        if timestamp is None:
            raise FailureEventException(wait_function._create_failure_event(env, timestamp_text))
        return int((timestamp - recorder.now_utc_naive()).total_seconds())

    original_retrier_eval: Callable[[Any, Any], None] = retrier_decl.RetrierDecl._eval_body

    def retrier_eval_body(retrier: Any, env: Any) -> None:
        # The retrier sleeps through the module-level ``time``; remember whose retry it is.
        retry_sleep.current_env.env = env
        try:
            original_retrier_eval(retrier, env)
        finally:
            retry_sleep.current_env.env = None

    return [
        Patch(WaitFunction, "_wait_interval", wait_interval),
        Patch(Timestamp, "_get_wait_seconds", timestamp_wait_seconds),
        Patch(retrier_decl.RetrierDecl, "_eval_body", retrier_eval_body),
        Patch(retrier_decl, "time", retry_sleep),
    ]
