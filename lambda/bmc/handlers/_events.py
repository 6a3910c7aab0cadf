"""The fields an EventBridge event must carry before a handler acts on it.

An event without them (a malformed test event, a rule matching more than intended) is refused
with a logged reason and a ``{"result": "refused"}`` answer rather than a KeyError: retrying
it could never succeed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_lambda_powertools import Logger

REFUSED = "refused"


def required_fields(
    event: Mapping[str, Any], paths: Sequence[str], logger: Logger
) -> tuple[dict[str, str], dict[str, Any] | None]:
    """The string values at ``paths`` (dotted, under ``detail``) and None, or ({}, the refusal)."""
    values: dict[str, str] = {}
    missing = []
    for path in paths:
        value: Any = event.get("detail")
        for part in path.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if isinstance(value, str) and value:
            values[path] = value
        else:
            missing.append(f"detail.{path}")
    if missing:
        reason = f"the event lacks {', '.join(missing)}"
        logger.warning("event refused", extra={"reason": reason, "detailType": event.get("detail-type")})
        return {}, {"result": REFUSED, "reason": reason}
    return values, None
