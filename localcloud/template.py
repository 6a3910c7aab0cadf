"""Read synthesized CloudFormation templates: resolve intrinsic functions to concrete values.

Only what CDK emits for this app is supported (Ref, Fn::GetAtt, Fn::Join, Fn::Sub without
variables map, Fn::Select, Fn::Split, Fn::ImportValue of exports and pseudo parameters); anything else
raises, so a new construct that needs more support fails loudly instead of resolving wrongly.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# (logical id, attribute or "Ref") -> value
Resolver = Callable[[str, str], str]


@dataclass
class Template:
    stack_name: str
    body: dict[str, Any]
    resources: dict[str, dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.resources = self.body.get("Resources", {})

    @classmethod
    def load(cls, path: Path) -> Template:
        return cls(stack_name=path.name.removesuffix(".template.json"), body=json.loads(path.read_text()))

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def one_of_type(self, resource_type: str) -> tuple[str, dict[str, Any]]:
        found = self.of_type(resource_type)
        if len(found) != 1:
            raise LookupError(f"{self.stack_name}: expected one {resource_type}, found {len(found)}")
        return next(iter(found.items()))


def resolve(
    value: Any,
    resolver: Resolver,
    *,
    pseudo: Mapping[str, str],
    exports: Mapping[str, str] | None = None,
) -> Any:
    """Resolve every intrinsic function inside `value` (recursively)."""

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, argument),) = node.items()
            if key == "Ref":
                return pseudo[argument] if argument.startswith("AWS::") else resolver(argument, "Ref")
            if key == "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return resolver(logical_id, attribute)
            if key == "Fn::Join":
                separator, parts = argument
                return separator.join(str(walk(part)) for part in walk(parts))
            if key == "Fn::Select":
                index, items = argument
                return walk(items)[int(walk(index))]
            if key == "Fn::Split":
                separator, text = argument
                return str(walk(text)).split(separator)
            if key == "Fn::Sub" and isinstance(argument, str):
                return _substitute(argument, resolver, pseudo)
            if key == "Fn::ImportValue":
                if exports is None:
                    raise KeyError("Fn::ImportValue needs the exports of the other stacks")
                return exports[walk(argument)]
            if key.startswith("Fn::"):
                raise NotImplementedError(f"intrinsic function {key} is not supported")
        return {k: walk(v) for k, v in node.items()}

    return walk(value)


def _substitute(text: str, resolver: Resolver, pseudo: Mapping[str, str]) -> str:
    result, rest = [], text
    while "${" in rest:
        before, _, after = rest.partition("${")
        name, _, rest = after.partition("}")
        result.append(before)
        if name.startswith("AWS::"):
            result.append(pseudo[name])
        elif "." in name:
            logical_id, attribute = name.split(".", 1)
            result.append(resolver(logical_id, attribute))
        else:
            result.append(resolver(name, "Ref"))
    result.append(rest)
    return "".join(result)


def state_machine_definition(
    template: Template,
    resolver: Resolver,
    pseudo: Mapping[str, str],
    exports: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The state machine's ASL as plain JSON, references resolved by `resolver` (and imports by
    `exports`)."""
    _, state_machine = template.one_of_type("AWS::StepFunctions::StateMachine")
    definition: dict[str, Any] = json.loads(
        resolve(state_machine["Properties"]["DefinitionString"], resolver, pseudo=pseudo, exports=exports)
    )
    return definition
