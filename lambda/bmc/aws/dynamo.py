"""DynamoDB at the registry's boundary: numbers as Decimal inside, plain ``int`` and ``float``
outside, and UpdateItem requests built with generated placeholders."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

CONDITION_FAILED = "ConditionalCheckFailedException"
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_dynamo(value: Any) -> Any:
    """Plain JSON-like data with every float turned into a Decimal."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"DynamoDB cannot store the number {value}")
        return Decimal(repr(value))
    if isinstance(value, Mapping):
        return {str(k): to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_dynamo(v) for v in value]
    return value


def from_dynamo(value: Any) -> Any:
    """Data read from DynamoDB with every Decimal turned into an int or a float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [from_dynamo(v) for v in value]
    return value


def serialize(value: Any) -> Any:
    return _serializer.serialize(to_dynamo(value))


def from_item(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {key: from_dynamo(_deserializer.deserialize(value)) for key, value in attributes.items()}


def condition_failed(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) == CONDITION_FAILED


class UpdateBuilder:
    """Builds an UpdateItem request: SET and REMOVE clauses with generated placeholders."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self.sets: list[str] = []
        self.removes: list[str] = []

    def name(self, path: str) -> str:
        """Placeholder path for a dotted attribute path (``serving.status``)."""
        parts = []
        for part in path.split("."):
            placeholder = f"#n{len(self.names)}"
            self.names[placeholder] = part
            parts.append(placeholder)
        return ".".join(parts)

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = serialize(value)
        return placeholder

    def set(self, path: str, value: Any) -> None:
        self.sets.append(f"{self.name(path)} = {self.value(value)}")

    def set_if_absent(self, path: str, value: Any) -> None:
        name = self.name(path)
        self.sets.append(f"{name} = if_not_exists({name}, {self.value(value)})")

    def append(self, path: str, items: Sequence[Any]) -> None:
        name = self.name(path)
        self.sets.append(
            f"{name} = list_append(if_not_exists({name}, {self.value([])}), {self.value(list(items))})"
        )

    def remove(self, path: str) -> None:
        self.removes.append(self.name(path))

    def request(self, condition: str | None = None) -> dict[str, Any]:
        clauses = []
        if self.sets:
            clauses.append("SET " + ", ".join(self.sets))
        if self.removes:
            clauses.append("REMOVE " + ", ".join(self.removes))
        request: dict[str, Any] = {
            "UpdateExpression": " ".join(clauses),
            "ExpressionAttributeNames": self.names,
        }
        if self.values:
            request["ExpressionAttributeValues"] = self.values
        if condition:
            request["ConditionExpression"] = condition
        return request
