"""The names of the deployment's stacks (`<prefix>-foundation`, `-workflow`, `-api`).

CloudFormation names the log groups and rules it creates after their stack, so key policies
use these names to recognise the deployment's own resources.
"""

from __future__ import annotations

STACK_KINDS = ("foundation", "workflow", "api")


def stack_name(prefix: str, kind: str) -> str:
    if kind not in STACK_KINDS:
        raise ValueError(f"unknown stack kind {kind!r}")
    return f"{prefix}-{kind}"


def stack_names(prefix: str) -> tuple[str, ...]:
    return tuple(stack_name(prefix, kind) for kind in STACK_KINDS)
