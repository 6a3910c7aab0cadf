"""What every record checker shares: the ``Issue`` a checker returns, the checker protocol, and
the problems every format words the same way (missing field, wrong type, empty text, unknown
field, a record over its token limit)."""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from bmc.validation import codes
from bmc.validation.tokens import estimate_tokens, guide_tokens


class Issue(NamedTuple):
    code: str
    field: str | None
    message: str
    warning: bool = False


RecordResult = tuple[int, bool, list[Issue] | None]
NO_MEDIA_TOKENS = (0, 0)


class RecordChecker(Protocol):
    media_tokens: tuple[int, int]

    def __call__(self, record: dict[str, Any]) -> RecordResult: ...


def json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def text_problem(field: str, value: object, present: bool, *, empty_allowed: bool = False) -> Issue | None:
    """Why ``value`` is not a usable text field, or None."""
    if not present:
        return Issue(codes.MISSING_FIELD, field, f"missing required field {field!r}")
    if not isinstance(value, str):
        return Issue(codes.WRONG_TYPE, field, f"{field} must be a string, got {json_type(value)}")
    if not empty_allowed and (not value or value.isspace()):
        what = "is empty" if not value else "contains only whitespace"
        return Issue(codes.EMPTY_VALUE, field, f"{field} {what}")
    return None


def wrong_type(field: str, expected: str, value: object) -> Issue:
    return Issue(codes.WRONG_TYPE, field, f"{field} must be {expected}, got {json_type(value)}")


def missing_or_wrong_type(field: str, expected: str, value: object, present: bool) -> Issue:
    if not present:
        return Issue(codes.MISSING_FIELD, field, f"missing required field {field.rsplit('.', 1)[-1]!r}")
    return wrong_type(field, expected, value)


def token_problem(
    field: str | None, size: int, limit: int | None, media_tokens: tuple[int, int] = NO_MEDIA_TOKENS
) -> Issue | None:
    """For ``size`` bytes (plus the images' tokens, lenient and conservative): an error when
    even the guide's ratio exceeds the limit, a warning when only the strict one does."""
    if limit is None:
        return None
    tokens = estimate_tokens(size) + media_tokens[1]
    if tokens <= limit:
        return None
    what = field or "record"
    at_least = guide_tokens(size) + media_tokens[0]
    basis = f"{size:,} bytes" + (" and its images" if media_tokens[1] else "")
    if at_least > limit:
        return Issue(
            codes.TOO_MANY_TOKENS,
            field,
            f"{what} has about {at_least:,}-{tokens:,} tokens (estimated from {basis}), "
            f"over the limit of {limit:,}",
        )
    return Issue(
        codes.MAY_EXCEED_TOKEN_LIMIT,
        field,
        f"{what} may exceed the limit of {limit:,} tokens: estimated {at_least:,}-{tokens:,} tokens "
        f"from {basis} (the exact count depends on the tokenizer)",
        warning=True,
    )


def unknown_fields(record: dict[str, Any], allowed: frozenset[str], prefix: str = "") -> list[Issue]:
    return [
        Issue(
            codes.UNKNOWN_FIELD,
            f"{prefix}{key}",
            f"unexpected field {key!r}: Bedrock ignores or rejects it",
            True,
        )
        for key in record
        if key not in allowed
    ]


def add(issues: list[Issue] | None, issue: Issue | None) -> list[Issue] | None:
    if issue is None:
        return issues
    if issues is None:
        return [issue]
    issues.append(issue)
    return issues
