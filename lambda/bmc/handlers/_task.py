"""The payload every workflow task sends its function (docs/workflow.md, "Lambda payloads")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bmc.errors import InvalidTaskInput
from bmc.runspec import RunNames, RunSpec


@dataclass(frozen=True, slots=True)
class TaskEvent:
    """``{"state": $, "execution": {"arn", "name", "startTime"}}`` plus ``action`` or ``taskToken``.

    The run id is the execution name, so it is known even when the state lacks it (a
    PrepareRun failure leaves the raw input as the state).
    """

    run_id: str
    execution_arn: str
    state: Mapping[str, Any]
    action: str | None = None
    task_token: str | None = None

    @classmethod
    def parse(cls, event: Mapping[str, Any]) -> TaskEvent:
        execution = event.get("execution")
        if not isinstance(execution, Mapping) or not execution.get("name"):
            raise InvalidTaskInput("the task payload lacks execution.name (the run id)")
        state = event.get("state")
        return cls(
            run_id=str(execution["name"]),
            execution_arn=str(execution.get("arn") or ""),
            state=state if isinstance(state, Mapping) else {},
            action=event.get("action"),
            task_token=event.get("taskToken"),
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
