"""Evaluate IAM policy documents (identity, bucket and key policies) against a request.

moto does not evaluate policies, but several AWS behaviours depend on them: S3 answers 403
instead of 404 for a missing key when the caller may not list the bucket, a bucket policy
refuses uploads, a key policy decides whether Bedrock may use a customer managed key. The
local cloud uses this module to behave the same way.

The evaluation follows the IAM policy evaluation logic for one policy: an explicit Deny wins,
else an Allow is needed. Supported: Action/NotAction, Resource/NotResource, Principal, and the
condition operators the templates of this project use (String*, Arn*, Bool, Null, Numeric*,
each with ...IfExists, and the ForAnyValue:/ForAllValues: set qualifiers). An operator that is
not supported raises, so a new condition fails loudly instead of evaluating wrongly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Decision = Literal["Allow", "Deny", "ImplicitDeny"]
ContextValue = str | Sequence[str]


@dataclass(frozen=True)
class Request:
    """One authorization question: may `principal` do `action` on `resource` in `context`?"""

    action: str
    resource: str
    principal: Mapping[str, str] = field(default_factory=dict)  # {"AWS": arn} or {"Service": name}
    context: Mapping[str, ContextValue] = field(default_factory=dict)


def statements_of(document: Mapping[str, Any] | str | None) -> list[dict[str, Any]]:
    """The statements of a policy document (JSON text or parsed)."""
    if document is None:
        return []
    parsed = json.loads(document) if isinstance(document, str) else document
    statements = parsed.get("Statement", [])
    return [dict(s) for s in (statements if isinstance(statements, list) else [statements])]


def evaluate(statements: Iterable[Mapping[str, Any]], request: Request) -> Decision:
    decision: Decision = "ImplicitDeny"
    for statement in statements:
        if not _applies(statement, request):
            continue
        if statement.get("Effect") == "Deny":
            return "Deny"
        decision = "Allow"
    return decision


def allows(statements: Iterable[Mapping[str, Any]], request: Request) -> bool:
    return evaluate(statements, request) == "Allow"


def denies(statements: Iterable[Mapping[str, Any]], request: Request) -> bool:
    return evaluate(statements, request) == "Deny"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _wildcard(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE) is not None


def _applies(statement: Mapping[str, Any], request: Request) -> bool:
    return (
        _matches_action(statement, request.action)
        and _matches_resource(statement, request.resource)
        and _matches_principal(statement, request.principal)
        and _conditions_hold(statement.get("Condition", {}), request.context)
    )


def _matches_action(statement: Mapping[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not any(_wildcard(a, action, case_sensitive=False) for a in _as_list(statement["NotAction"]))
    return any(_wildcard(a, action, case_sensitive=False) for a in _as_list(statement.get("Action")))


def _matches_resource(statement: Mapping[str, Any], resource: str) -> bool:
    if "NotResource" in statement:
        return not any(_wildcard(r, resource) for r in _as_list(statement["NotResource"]))
    if "Resource" not in statement:
        return True  # a resource policy without Resource applies to its own resource
    return any(_wildcard(r, resource) for r in _as_list(statement["Resource"]))


def _matches_principal(statement: Mapping[str, Any], principal: Mapping[str, str]) -> bool:
    if "Principal" not in statement:
        return True  # identity policy: the principal is the one it is attached to
    given = statement["Principal"]
    if given == "*":
        return True
    for kind, values in dict(given).items():
        for value in _as_list(values):
            if value == "*" or principal.get(kind) == value:
                return True
            # The account root ARN stands for every principal of the account (IAM decides).
            if (
                kind == "AWS"
                and value.endswith(":root")
                and principal.get("AWS", "").split(":")[4:5] == [value.split(":")[4]]
            ):
                return True
    return False


# --- conditions --------------------------------------------------------------------------------


def _conditions_hold(conditions: Mapping[str, Any], context: Mapping[str, ContextValue]) -> bool:
    return all(
        _condition_holds(operator, key, _as_list(values), context.get(key))
        for operator, block in conditions.items()
        for key, values in dict(block).items()
    )


_NEGATED = {"StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike", "StringNotEqualsIgnoreCase"}
_NUMERIC = {
    "NumericEquals": lambda a, b: a == b,
    "NumericNotEquals": lambda a, b: a != b,
    "NumericLessThan": lambda a, b: a < b,
    "NumericLessThanEquals": lambda a, b: a <= b,
    "NumericGreaterThan": lambda a, b: a > b,
    "NumericGreaterThanEquals": lambda a, b: a >= b,
}
_OPERATORS = {
    "Null",
    "Bool",
    "StringEquals",
    "StringEqualsIgnoreCase",
    "StringLike",
    "ArnEquals",
    "ArnLike",
    *_NEGATED,
    *_NUMERIC,
}


def _condition_holds(operator: str, key: str, expected: list[Any], actual: ContextValue | None) -> bool:
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if base not in _OPERATORS or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise NotImplementedError(f"condition operator {operator} is not supported")
    if base == "Null":
        absent = actual is None
        return all(str(value).lower() == ("true" if absent else "false") for value in expected)
    if actual is None:
        if qualifier == "ForAllValues":
            return True
        return if_exists or (base in _NEGATED and not qualifier)
    actual_values = [str(v) for v in _as_list(actual)]
    if qualifier == "ForAnyValue":
        return any(_compare(base, value, expected) for value in actual_values)
    if qualifier == "ForAllValues":
        return all(_compare(base, value, expected) for value in actual_values)
    return all(_compare(base, value, expected) for value in actual_values)


def _compare(base: str, value: str, expected: list[Any]) -> bool:
    wanted = [str(e) for e in expected]
    if base in ("StringEquals", "ArnEquals"):
        return value in wanted
    if base in ("StringNotEquals", "ArnNotEquals"):
        return value not in wanted
    if base == "StringEqualsIgnoreCase":
        return value.lower() in {w.lower() for w in wanted}
    if base == "StringNotEqualsIgnoreCase":
        return value.lower() not in {w.lower() for w in wanted}
    if base in ("StringLike", "ArnLike"):
        return any(_wildcard(w, value) for w in wanted)
    if base in ("StringNotLike", "ArnNotLike"):
        return not any(_wildcard(w, value) for w in wanted)
    if base == "Bool":
        return value.lower() in {w.lower() for w in wanted}
    return any(_NUMERIC[base](float(value), float(w)) for w in wanted)
