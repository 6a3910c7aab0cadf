"""The definition preprocessor of the Distributed Map patches (patch 12 of ``localcloud.patches``;
the map run, its concurrency and the ResultWriter are in ``localcloud.patches.distributed_map``).

moto's ANTLR grammar refuses ``"ExecutionType": "EXPRESS"``, ``ItemBatcher``, ``ResultWriter.
WriterConfig`` and an integer ``ToleratedFailurePercentage`` (CDK renders ``5``). What it refuses
is moved into the ItemProcessor's ``Comment`` (a field it accepts) as base64 JSON behind
``STASH_MARKER``, where the map run finds it again (``StashedFields.of``); an integer percentage
becomes a float. DescribeStateMachine still returns the definition as written. EXPRESS children
cannot wait (``.sync``, ``.waitForTaskToken``): such a definition is refused, as
CreateStateMachine refuses it on AWS.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from localcloud.patches.base import Patch

STASH_MARKER = "localcloud:distributed-map "
WAITING_SUFFIXES = (".sync", ".sync:2", ".waitForTaskToken")


class DefinitionRefusedError(ValueError):
    """A definition AWS's CreateStateMachine would refuse (moto reports it as InvalidDefinition)."""


# --------------------------------------------------------------------------------------------
# 12. The definition preprocessor
# --------------------------------------------------------------------------------------------


def preprocess_definition(definition: str) -> str:
    """The definition with what moto's grammar refuses moved into each distributed
    ItemProcessor's Comment (see the module's docstring)."""
    try:
        document = json.loads(definition)
    except ValueError:
        return definition  # moto reports the syntax error itself
    if not isinstance(document, dict) or not _rewrite_states(document.get("States")):
        return definition
    return json.dumps(document)


def _rewrite_states(states: Any) -> bool:
    changed = False
    if not isinstance(states, dict):
        return False
    for state in states.values():
        if not isinstance(state, dict):
            continue
        if state.get("Type") == "Parallel":
            for branch in state.get("Branches") or []:
                changed |= _rewrite_states(branch.get("States") if isinstance(branch, dict) else None)
        if state.get("Type") != "Map":
            continue
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if not isinstance(processor, dict):
            continue
        if (processor.get("ProcessorConfig") or {}).get("Mode") == "DISTRIBUTED":
            changed |= _stash(state, processor)
        changed |= _rewrite_states(processor.get("States"))
    return changed


def _stash(state: dict[str, Any], processor: dict[str, Any]) -> bool:
    extras: dict[str, Any] = {}
    config = processor["ProcessorConfig"]
    if config.get("ExecutionType") == "EXPRESS":
        _refuse_waiting_tasks(processor.get("States"))
        extras["executionType"] = "EXPRESS"
        config["ExecutionType"] = "STANDARD"
    if "ItemBatcher" in state:
        extras["itemBatcher"] = state.pop("ItemBatcher")
    writer = state.get("ResultWriter")
    if isinstance(writer, dict) and "WriterConfig" in writer:
        extras["writerConfig"] = writer.pop("WriterConfig")
        if not writer:  # WriterConfig alone: the results are the state's output
            del state["ResultWriter"]
    percentage = state.get("ToleratedFailurePercentage")
    if isinstance(percentage, int) and not isinstance(percentage, bool):
        state["ToleratedFailurePercentage"] = float(percentage)
    if not extras:
        return isinstance(percentage, int)
    extras["comment"] = processor.get("Comment")
    # base64: moto keeps a string's JSON escapes, so JSON text would not survive as a comment.
    processor["Comment"] = STASH_MARKER + base64.urlsafe_b64encode(json.dumps(extras).encode()).decode()
    return True


def _refuse_waiting_tasks(states: Any) -> None:
    for name, state in (states or {}).items():
        resource = str(state.get("Resource", "")) if isinstance(state, dict) else ""
        if resource.endswith(WAITING_SUFFIXES):
            raise DefinitionRefusedError(
                f"Express state machines do not support the '{resource.rsplit('.', 1)[-1]}' service "
                f"integration pattern (state {name!r} of an EXPRESS ItemProcessor)"
            )


@dataclass(frozen=True)
class StashedFields:
    """What the preprocessor moved aside for one Distributed Map."""

    execution_type: str = "STANDARD"
    item_batcher: Mapping[str, Any] | None = None
    writer_config: Mapping[str, Any] | None = None

    @classmethod
    def of(cls, component: Any) -> StashedFields:
        comment = getattr(getattr(component, "_comment", None), "comment", None)
        if not isinstance(comment, str) or not comment.startswith(STASH_MARKER):
            return cls()
        extras = json.loads(base64.urlsafe_b64decode(comment.removeprefix(STASH_MARKER)))
        return cls(
            execution_type=extras.get("executionType", "STANDARD"),
            item_batcher=extras.get("itemBatcher"),
            writer_config=extras.get("writerConfig"),
        )


ORIGINAL_PARSE: Final[Callable[[str], Any]] = AmazonStateLanguageParser.parse


def parser_patches() -> list[Patch]:
    def parse(definition: str) -> Any:
        return ORIGINAL_PARSE(preprocess_definition(definition))

    return [Patch(AmazonStateLanguageParser, "parse", staticmethod(parse))]
