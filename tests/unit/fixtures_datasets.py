"""Generated datasets for the validator tests: one valid record builder per data format.

Files are written small (a few hundred lines at most) so the suite stays fast. A test takes a
valid dataset, replaces a line with a broken record and asserts the code, line and field.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bmc.findings import Finding
from bmc.validation import ValidationReport

Record = dict[str, Any]
Line = Record | str | bytes


def prompt_completion(index: int = 0) -> Record:
    return {"prompt": f"What is {index} plus one?", "completion": f"{index + 1}."}


def continued_pre_training(index: int = 0) -> Record:
    return {"input": f"Document {index}. Plain prose about model customization, repeated for length."}


def conversation(index: int = 0, *, turns: int = 1, system: bool = True, answer: bool = True) -> Record:
    messages: list[Record] = []
    for turn in range(turns):
        messages.append({"role": "user", "content": [{"text": f"Question {index}.{turn}?"}]})
        if answer or turn < turns - 1:
            messages.append({"role": "assistant", "content": [{"text": f"Answer {index}.{turn}."}]})
    record: Record = {"schemaVersion": "bedrock-conversation-2024", "messages": messages}
    if system:
        record["system"] = [{"text": "You answer briefly."}]
    return record


def media_block(kind: str, bucket: str = "datasets", extension: str = "png") -> Record:
    media_format = extension if kind == "image" else "mp4"
    key = f"media/item.{extension}" if kind == "image" else "media/clip.mp4"
    return {kind: {"format": media_format, "source": {"s3Location": {"uri": f"s3://{bucket}/{key}"}}}}


def conversation_with_media(
    index: int = 0, *, kind: str = "image", count: int = 1, bucket: str = "datasets"
) -> Record:
    record = conversation(index)
    content = record["messages"][0]["content"]
    content[:0] = [media_block(kind, bucket) for _ in range(count)]
    return record


def haiku_messages(index: int = 0, *, turns: int = 1) -> Record:
    messages: list[Record] = []
    for turn in range(turns):
        messages.append({"role": "user", "content": f"Question {index}.{turn}?"})
        messages.append({"role": "assistant", "content": f"Answer {index}.{turn}."})
    return {"system": "You answer briefly.", "messages": messages}


def image_caption(index: int = 0, bucket: str = "datasets") -> Record:
    return {"image-ref": f"s3://{bucket}/images/{index}.png", "caption": f"a photo of item {index}"}


def write_jsonl(path: Path, lines: Iterable[Line]) -> str:
    """Write records (dicts), raw text lines (str) or raw bytes lines; return the path as str."""
    with path.open("wb") as handle:
        for line in lines:
            if isinstance(line, dict):
                handle.write(json.dumps(line).encode() + b"\n")
            elif isinstance(line, str):
                handle.write(line.encode() + b"\n")
            else:
                handle.write(line + b"\n")
    return str(path)


def dataset(
    directory: Path,
    builder: Callable[[int], Record],
    count: int,
    *,
    replace: dict[int, Line] | None = None,
    name: str = "train.jsonl",
) -> str:
    """``count`` valid records, with the 1-based lines in ``replace`` swapped for other content."""
    replace = replace or {}
    lines: list[Line] = [replace.get(number, builder(number)) for number in range(1, count + 1)]
    return write_jsonl(directory / name, lines)


def findings(report: ValidationReport, code: str, *, warnings: bool = False) -> list[Finding]:
    listed = report.warnings if warnings else report.errors
    return [finding for finding in listed if finding.code == code]


def codes_at(report: ValidationReport, line: int) -> set[str]:
    return {f.code for f in [*report.errors, *report.warnings] if f.line == line}
