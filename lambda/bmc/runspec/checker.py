"""The run spec checker: findings with the field's JSON path and line, and the phrases its
messages share (a type as a sentence names it, "did you mean")."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from bmc.findings import Finding
from bmc.validation import codes
from bmc.validation.formats import json_type

_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_LAST_SEGMENT = re.compile(r"(\.[^.\[]+|\[[^\]]*\])\Z")


class FieldChecker:
    """Collects the findings of one spec; ``lines`` maps a JSON path to its line in the text."""

    def __init__(self, source: str, lines: Mapping[str, int]) -> None:
        self.source = source
        self.lines = lines
        self.errors: list[Finding] = []

    def error(self, path: str | None, code: str, message: str) -> None:
        self.errors.append(Finding(self.source, self.line(path), path or None, code, message))

    def line(self, path: str | None) -> int | None:
        """The line of the field, else of its closest enclosing field that appears in the text."""
        while path:
            if path in self.lines:
                return self.lines[path]
            parent = _LAST_SEGMENT.sub("", path)
            if parent == path:  # a top-level field
                return None
            path = parent
        return None

    def unknown_fields(self, data: Mapping[str, Any], known: Sequence[str], path: str) -> None:
        for key in data:
            if key not in known:
                child = join_path(path, str(key))
                self.error(
                    child, codes.UNKNOWN_FIELD, f"unknown field {key!r}{did_you_mean(str(key), known)}"
                )

    def expect(self, value: Any, kind: type | tuple[type, ...], path: str, what: str) -> bool:
        """True when ``value`` has the type; JSON booleans are never numbers."""
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            ok = False
        else:
            ok = isinstance(value, kind)
        if not ok:
            self.error(path, codes.WRONG_TYPE, f"{path} must be {what}, got {json_type_phrase(value)}")
        return ok

    def integer(self, value: Any, path: str, low: int, high: int) -> int | None:
        if not self.expect(value, int, path, "an integer"):
            return None
        if not low <= value <= high:
            self.error(path, codes.INVALID_VALUE, f"{path} must be between {low} and {high}; got {value}")
            return None
        return int(value)

    def choice(self, value: Any, path: str, allowed: Sequence[str]) -> str | None:
        if not self.expect(value, str, path, f"one of {', '.join(allowed)}"):
            return None
        if value not in allowed:
            self.error(
                path,
                codes.INVALID_VALUE,
                f"{path} must be one of {', '.join(allowed)}; got {value!r}{did_you_mean(value, allowed)}",
            )
            return None
        return str(value)


# --- JSON paths and lines ----------------------------------------------------------------------


def join_path(path: str, key: str) -> str:
    """``serving`` + ``modelUnits`` -> ``serving.modelUnits``; odd keys are quoted: ``tags["cost center"]``."""
    if _IDENTIFIER.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


# --- phrases ------------------------------------------------------------------------------------


def did_you_mean(value: str, known: Sequence[str]) -> str:
    by_lower = {k.lower(): k for k in known}
    guess = by_lower.get(value.lower()) or next(
        iter(difflib.get_close_matches(value, list(known), n=1, cutoff=0.6)), None
    )
    return (
        f"; did you mean {guess!r}?"
        if guess
        else f" (known: {', '.join(k for k in known if k != '$schema')})"
    )


def json_type_phrase(value: Any) -> str:
    """A value's JSON type as a sentence names it: ``a string``, ``an array``, ``null``."""
    if value is not None and not isinstance(value, str | int | float | list | Mapping):
        return type(value).__name__  # not JSON: only specs built in code carry one
    kind = json_type(value)
    return kind if kind == "null" else f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"
