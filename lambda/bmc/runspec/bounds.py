"""Bounds on input before anything reads it: nesting depth and number size, as located findings.

Python refuses to turn integers of more than 4,300 digits into text (and JSON text into such
integers), and deep nesting exhausts the recursion limit of every recursive reader (the
``json`` module, DynamoDB's serializer). Input that would hit either is refused here with a
finding that names where it is, before a message, a record or a log line tries to show it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from bmc.findings import Finding
from bmc.validation import codes

MAX_DEPTH = 32  # a run spec is 3 levels deep
MAX_INTEGER_BITS = 128  # far beyond any count or size a spec holds
MAX_FINDINGS = 5
_LONG_NUMBER = re.compile(r"\d{4300,}")


def bounds_findings(data: Any, source: str, lines: Mapping[str, int] | None = None) -> list[Finding]:
    """Values nested deeper than MAX_DEPTH and integers of more than MAX_INTEGER_BITS bits.

    Iterative, so it cannot itself run out of stack. Paths are JSON paths (``serving.modelUnits``).
    """
    findings: list[Finding] = []
    pending: list[tuple[Any, str, int]] = [(data, "", 0)]
    while pending and len(findings) < MAX_FINDINGS:
        value, path, depth = pending.pop()
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and value.bit_length() > MAX_INTEGER_BITS:
            findings.append(
                Finding(
                    source,
                    (lines or {}).get(path),
                    path or None,
                    codes.INVALID_VALUE,
                    f"{path or 'the input'} is a number of about {value.bit_length() * 30103 // 100000 + 1:,} "
                    "digits; numbers here are far smaller",
                )
            )
            continue
        if not isinstance(value, Mapping | list):
            continue
        if depth >= MAX_DEPTH:
            findings.append(
                Finding(
                    source,
                    (lines or {}).get(path),
                    path or None,
                    codes.INVALID_JSON,
                    f"{path or 'the input'} is nested more than {MAX_DEPTH} levels deep",
                )
            )
            continue
        children = value.items() if isinstance(value, Mapping) else enumerate(value)
        for key, child in children:
            child_path = f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else str(key))
            pending.append((child, child_path, depth + 1))
    return findings


def load_json_text(text: str, source: str) -> tuple[Any, Finding | None]:
    """Parse JSON text; a syntax error, a number Python cannot read or too deep nesting is a
    located finding instead of an exception."""
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        message = f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        return None, Finding(source, exc.lineno, None, codes.INVALID_JSON, message)
    except RecursionError:
        return None, Finding(source, None, None, codes.INVALID_JSON, "not valid JSON: nested too deeply")
    except ValueError:  # an integer beyond Python's 4,300 digits
        match = _LONG_NUMBER.search(text)
        line = text.count("\n", 0, match.start()) + 1 if match else None
        message = "a number has more than 4,300 digits; numbers here are far smaller"
        return None, Finding(source, line, None, codes.INVALID_VALUE, message)
