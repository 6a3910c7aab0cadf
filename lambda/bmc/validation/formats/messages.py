"""Checkers of chat records: the role rules every message format shares (who speaks first, in
turn, last) and Claude 3 Haiku's messages format (``{"system": str, "messages": [{"role",
"content": str}]}``)."""

from __future__ import annotations

from typing import Any

from bmc.validation import codes
from bmc.validation.formats.common import (
    NO_MEDIA_TOKENS,
    Issue,
    RecordResult,
    missing_or_wrong_type,
    text_problem,
    unknown_fields,
    wrong_type,
)

ROLES = ("user", "assistant")


def role_order_problems(
    roles: list[str | None], *, final_user_turn_allowed: bool, max_user_turns: int | None
) -> list[Issue]:
    """Alternation user, assistant, user, ...; first user; last assistant (unless allowed)."""
    problems: list[Issue] = []
    if not roles:
        return problems
    if roles[0] == "assistant":
        problems.append(
            Issue(codes.FIRST_MESSAGE_NOT_USER, "messages[0].role", "the first message must have role 'user'")
        )
    for index in range(1, len(roles)):
        role = roles[index]
        if role is not None and role == roles[index - 1]:
            problems.append(
                Issue(
                    codes.ROLES_NOT_ALTERNATING,
                    f"messages[{index}].role",
                    f"two {role!r} messages in a row (messages[{index - 1}] and messages[{index}]): "
                    "roles must alternate user, assistant, user, ...",
                )
            )
            break
    if roles[-1] == "user" and not final_user_turn_allowed:
        problems.append(
            Issue(
                codes.LAST_MESSAGE_NOT_ASSISTANT,
                f"messages[{len(roles) - 1}].role",
                "the last message must have role 'assistant' (the answer the model learns)",
            )
        )
    if max_user_turns is not None:
        user_turns = roles.count("user")
        if user_turns > max_user_turns:
            problems.append(
                Issue(
                    codes.TOO_MANY_TURNS,
                    "messages",
                    f"{user_turns} user messages: this model takes {max_user_turns} user message per record "
                    "(optionally followed by one assistant message)",
                )
            )
    return problems


# --- Claude 3 Haiku: {"system": str, "messages": [{"role", "content": str}]} -------------------


class HaikuMessagesChecker:
    allowed = frozenset(("system", "messages"))
    message_keys = frozenset(("role", "content"))
    media_tokens = NO_MEDIA_TOKENS

    def __call__(self, record: dict[str, Any]) -> RecordResult:
        issues: list[Issue] = []
        characters = 0
        ascii = True
        if "system" in record:
            system = record["system"]
            if isinstance(system, str):
                characters += len(system)
                ascii = system.isascii()
            else:
                issues.append(wrong_type("system", "a string", system))
        messages = record.get("messages")
        roles: list[str | None] = []
        if not isinstance(messages, list):
            issues.append(missing_or_wrong_type("messages", "an array", messages, "messages" in record))
        elif not messages:
            issues.append(Issue(codes.EMPTY_VALUE, "messages", "messages is empty"))
        else:
            for index, message in enumerate(messages):
                path = f"messages[{index}]"
                if not isinstance(message, dict):
                    issues.append(wrong_type(path, "an object", message))
                    roles.append(None)
                    continue
                roles.append(message_role(message, path, issues))
                content = message.get("content")
                problem = text_problem(f"{path}.content", content, "content" in message)
                if problem is not None:
                    issues.append(problem)
                if isinstance(content, str):
                    characters += len(content)
                    ascii = ascii and content.isascii()
                issues.extend(unknown_fields(message, self.message_keys, f"{path}."))
            issues.extend(role_order_problems(roles, final_user_turn_allowed=False, max_user_turns=None))
        if not record.keys() <= self.allowed:
            issues.extend(unknown_fields(record, self.allowed))
        return characters, ascii, issues or None


def message_role(message: dict[str, Any], path: str, issues: list[Issue]) -> str | None:
    """The message's role if valid; otherwise record why and return None."""
    role = message.get("role")
    if role in ROLES:
        return str(role)
    if "role" not in message:
        issues.append(Issue(codes.MISSING_FIELD, f"{path}.role", "missing required field 'role'"))
    elif not isinstance(role, str):
        issues.append(wrong_type(f"{path}.role", "a string", role))
    else:
        hint = " (put system prompts in the top-level 'system' field)" if role.lower() == "system" else ""
        issues.append(
            Issue(
                codes.INVALID_VALUE, f"{path}.role", f"role must be 'user' or 'assistant', got {role!r}{hint}"
            )
        )
    return None
