"""The payload every workflow task sends its function (docs/workflow.md, "Lambda payloads"),
and the decorators that turn a task function into the Lambda ``handler(event, context)``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from bmc.aws.registry import execution_start
from bmc.errors import InvalidTaskInput
from bmc.runspec import RunNames, RunSpec

R = TypeVar("R")

LambdaHandler = Callable[[dict[str, Any], LambdaContext], R]
TaskFunction = Callable[["TaskEvent", LambdaContext], R]


@dataclass(frozen=True, slots=True)
class TaskEvent:
    """``{"state": $, "execution": {"arn", "name", "startTime"}}`` plus ``action`` or ``taskToken``;
    PrepareRun gets ``{"input": <the execution input as JSON text>, "execution": ...}``.

    The run id is the execution name, so it is known even when the state lacks it (a
    PrepareRun failure leaves the raw input as the state).
    """

    run_id: str
    execution_arn: str
    state: Mapping[str, Any]
    action: str | None = None
    task_token: str | None = None
    started_at: str | None = None  # the execution's start time (registry.execution_start)
    state_text: str | None = None  # PrepareRun: the execution input as JSON text

    @classmethod
    def parse(cls, event: Mapping[str, Any]) -> TaskEvent:
        execution = event.get("execution")
        if not isinstance(execution, Mapping) or not execution.get("name"):
            raise InvalidTaskInput("the task payload lacks execution.name (the run id)")
        state = event.get("state")
        state_text = event.get("input")
        return cls(
            run_id=str(execution["name"]),
            execution_arn=str(execution.get("arn") or ""),
            state=state if isinstance(state, Mapping) else {},
            action=event.get("action"),
            task_token=event.get("taskToken"),
            started_at=execution_start(execution.get("startTime")),
            state_text=state_text if isinstance(state_text, str) else None,
        )

    def section(self, key: str) -> Mapping[str, Any]:
        """An object the state must hold at this point of the workflow (``job``, ``serving``...)."""
        value = self.state.get(key)
        if not isinstance(value, Mapping):
            raise InvalidTaskInput(f"the state lacks ${key}")
        return value

    def optional_section(self, key: str) -> Mapping[str, Any]:
        value = self.state.get(key)
        return value if isinstance(value, Mapping) else {}

    def spec(self) -> RunSpec:
        return RunSpec.from_dict(self.section("spec"))

    def names(self) -> RunNames:
        return RunNames.from_dict(self.section("names"))


def parse_task(event: Mapping[str, Any], logger: Logger) -> TaskEvent:
    """The task payload; every later log line of the invocation carries its ``runId``."""
    task = TaskEvent.parse(event)
    logger.append_keys(runId=task.run_id)
    return task


def traced_handler(logger: Logger, tracer: Tracer) -> Callable[[LambdaHandler[R]], LambdaHandler[R]]:
    """Fresh log keys and the Lambda context on every invocation, and an X-Ray subsegment."""

    def decorate(fn: LambdaHandler[R]) -> LambdaHandler[R]:
        traced = cast("LambdaHandler[R]", tracer.capture_lambda_handler(fn))
        return logger.inject_lambda_context(clear_state=True)(traced)

    return decorate


def task_handler(logger: Logger, tracer: Tracer) -> Callable[[TaskFunction[R]], LambdaHandler[R]]:
    """``handler(event, context)`` that runs ``fn(task, context)`` under :func:`traced_handler`."""

    def decorate(fn: TaskFunction[R]) -> LambdaHandler[R]:
        @functools.wraps(fn)
        def handler(event: dict[str, Any], context: LambdaContext) -> R:
            return fn(parse_task(event, logger), context)

        return traced_handler(logger, tracer)(handler)

    return decorate
