"""Reading a run spec from JSON text: syntax errors and duplicated keys get their line, and
every field's line is known so findings can name it.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from typing import Any

from bmc.findings import Finding
from bmc.runspec.bounds import load_json_text
from bmc.runspec.checker import join_path
from bmc.runspec.checks import SpecOptions, check_spec, checked
from bmc.runspec.model import DUPLICATE_KEY, RunSpec, SpecCheck
from bmc.validation import codes

_WHITESPACE = re.compile(r"[ \t\n\r]*")


def load_spec_text(
    text: str | bytes,
    *,
    source: str,
    default_run_name: str | None = None,
    default_serving: Mapping[str, Any] | None = None,
    allowed_base_models: Sequence[str] = (),
    region: str | None = None,
    datasets_bucket: str | None = None,
) -> RunSpec:
    """Parse and validate a manifest's text; errors carry line numbers."""
    options = SpecOptions(
        source, default_run_name, default_serving, allowed_base_models, region, datasets_bucket
    )
    return checked(parse_text(text, options), source)


def parse_spec_text(
    text: str | bytes,
    *,
    source: str,
    default_run_name: str | None = None,
    default_serving: Mapping[str, Any] | None = None,
    allowed_base_models: Sequence[str] = (),
    region: str | None = None,
    datasets_bucket: str | None = None,
) -> SpecCheck:
    """Parse JSON text (syntax errors give their line) and validate the spec it holds."""
    options = SpecOptions(
        source, default_run_name, default_serving, allowed_base_models, region, datasets_bucket
    )
    return parse_text(text, options)


def parse_text(text: str | bytes, options: SpecOptions) -> SpecCheck:
    source = options.source
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            message = f"not valid UTF-8 at byte {exc.start + 1}: save the manifest as UTF-8"
            return SpecCheck(None, [Finding(source, None, None, codes.INVALID_UTF8, message)])
    text = text.removeprefix("\ufeff")
    data, problem = load_json_text(text, source)
    if problem is not None:
        return SpecCheck(None, [problem])
    lines, duplicates = locate_fields(text)
    check = check_spec(data, options, lines)
    duplicate_errors = [
        Finding(
            source,
            line,
            path,
            DUPLICATE_KEY,
            f"{path} is given more than once; only the last value would count",
        )
        for path, line in duplicates
    ]
    # Reported in the order of the text; file-level findings (no line) last.
    errors = sorted(duplicate_errors + check.errors, key=lambda f: f.line if f.line is not None else math.inf)
    return SpecCheck(None if errors else check.spec, errors)


def locate_fields(text: str) -> tuple[dict[str, int], list[tuple[str, int]]]:
    """The line of every field path in a valid JSON document, and the duplicated keys.

    Object members map to the line of their key, array items to the line where they start.
    """
    newlines = [index for index, char in enumerate(text) if char == "\n"]
    lines: dict[str, int] = {}
    duplicates: list[tuple[str, int]] = []
    decoder = json.JSONDecoder()

    def line_at(position: int) -> int:
        return bisect_right(newlines, position) + 1

    def skip(position: int) -> int:
        match = _WHITESPACE.match(text, position)
        return match.end() if match else position

    def value(position: int, path: str) -> int:
        position = skip(position)
        char = text[position]
        if char == "{":
            return members(position, path)
        if char == "[":
            return items(position, path)
        _, end = decoder.raw_decode(text, position)
        return int(end)

    def members(position: int, path: str) -> int:
        seen: set[str] = set()
        position = skip(position + 1)
        if text[position] == "}":
            return position + 1
        while True:
            key_position = skip(position)
            key, position = decoder.raw_decode(text, key_position)
            child = join_path(path, key)
            if key in seen:
                duplicates.append((child, line_at(key_position)))
            seen.add(key)
            lines[child] = line_at(key_position)  # the last occurrence is the value that counts
            position = skip(value(skip(position) + 1, child))
            if text[position] != ",":
                return position + 1
            position += 1

    def items(position: int, path: str) -> int:
        position = skip(position + 1)
        if text[position] == "]":
            return position + 1
        index = 0
        while True:
            start = skip(position)
            child = f"{path}[{index}]"
            lines[child] = line_at(start)
            position = skip(value(start, child))
            index += 1
            if text[position] != ",":
                return position + 1
            position += 1

    try:
        value(0, "")
    except RecursionError:
        return {}, []
    return lines, duplicates
