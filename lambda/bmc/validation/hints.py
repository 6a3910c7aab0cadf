"""Fix hints for the common mistakes: one line per file saying what the file looks like.

A file in the wrong shape fails on every line, and a thousand located errors do not say "this
is an OpenAI file". The validator shows each failing record (and each line that is not JSON)
to a ``ShapeTally``; at the end of the file the most common recognized mistake becomes one
hint: "this looks like X; <model> needs Y (see docs/validation.md#...)". Only failing lines are
looked at, so valid files pay nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from bmc.catalog.models import (
    CLAUDE_3_HAIKU_MESSAGES,
    CONTINUED_PRE_TRAINING_FORMAT,
    CONVERSATION,
    IMAGE_CAPTION,
    PROMPT_COMPLETION,
)

DOCS = "docs/validation.md"

# What each data format needs, said once.
NEEDS = {
    CONVERSATION: 'bedrock-conversation-2024 records: {"schemaVersion", "system": [{"text"}], '
    '"messages": [{"role", "content": [{"text": ...}]}]}',
    CLAUDE_3_HAIKU_MESSAGES: '{"system": str, "messages": [{"role", "content": str}]} records',
    PROMPT_COMPLETION: '{"prompt": str, "completion": str} records',
    CONTINUED_PRE_TRAINING_FORMAT: '{"input": str} records',
    IMAGE_CAPTION: '{"image-ref": "s3://...", "caption": str} records',
}

# Recognized shapes: (what it looks like, the docs anchor that explains the fix).
JSON_LINES = "json-lines"
JSON_ARRAY = ("a JSON array (one document holding every record)", JSON_LINES)
SPLIT_RECORDS = (
    "records split across lines (pretty-printed JSON, or line breaks inside text not written as \\n)",
    JSON_LINES,
)
CHAT_STRING_CONTENT = (
    "OpenAI or Anthropic chat messages (content as a plain string)",
    "another-familys-shape",
)
SYSTEM_ROLE = ("OpenAI chat messages (a 'system' role inside messages)", "another-familys-shape")
RFT_RECORDS = (
    "a reinforcement fine-tuning dataset (messages with a reference_answer)",
    "another-familys-shape",
)
CONVERSATION_RECORDS = (
    "bedrock-conversation-2024 records (content as an array of blocks)",
    "another-familys-shape",
)
PROMPT_COMPLETION_RECORDS = ("prompt/completion records", "another-familys-shape")
INPUT_OUTPUT_RECORDS = ("input/output records", "another-familys-shape")
CONTINUED_PRE_TRAINING_RECORDS = ('continued pre-training records ({"input": ...})', "another-familys-shape")

Shape = tuple[str, str]


@dataclass(slots=True)
class ShapeTally:
    """Counts the recognized mistakes of one file."""

    data_format: str
    seen: Counter[Shape]

    @classmethod
    def for_format(cls, data_format: str) -> ShapeTally:
        return cls(data_format, Counter())

    def unparsed_line(self, line: bytes, line_number: int) -> None:
        stripped = line.strip()
        if line_number == 1 and stripped.startswith(b"["):
            self.seen[JSON_ARRAY] += 1
        elif not (stripped.startswith(b"{") and stripped.endswith(b"}")):
            self.seen[SPLIT_RECORDS] += 1

    def parsed(self, value: object, line_number: int) -> None:
        """A line that parsed but failed its checks (or is not an object)."""
        if isinstance(value, list):
            if line_number == 1:
                self.seen[JSON_ARRAY] += 1
            return
        if isinstance(value, dict):
            shape = self.record_shape(value)
            if shape is not None:
                self.seen[shape] += 1

    def record_shape(self, record: dict[str, Any]) -> Shape | None:
        """The family a record's shape belongs to, when it is not this file's format."""
        target = self.data_format
        if "reference_answer" in record:
            return RFT_RECORDS
        messages = record.get("messages")
        if isinstance(messages, list) and messages:
            roles = [m.get("role") for m in messages if isinstance(m, dict)]
            contents = [m.get("content") for m in messages if isinstance(m, dict)]
            if target == CONVERSATION:
                if "system" in roles:
                    return SYSTEM_ROLE
                if any(isinstance(content, str) for content in contents):
                    return CHAT_STRING_CONTENT
            elif target == CLAUDE_3_HAIKU_MESSAGES:
                if any(isinstance(content, list) for content in contents):
                    return CONVERSATION_RECORDS
                if "system" in roles:
                    return SYSTEM_ROLE
            elif any(isinstance(content, str) for content in contents):
                return CHAT_STRING_CONTENT
            else:
                return CONVERSATION_RECORDS
            return None
        if target != PROMPT_COMPLETION and "prompt" in record and "completion" in record:
            return PROMPT_COMPLETION_RECORDS
        if "input" in record and "output" in record:
            return INPUT_OUTPUT_RECORDS
        if "input" in record and target != CONTINUED_PRE_TRAINING_FORMAT:
            return CONTINUED_PRE_TRAINING_RECORDS
        return None

    def hint(self, model_name: str) -> str | None:
        if not self.seen:
            return None
        # A JSON array shows on line 1 only; its other lines look split, and say less.
        shape = JSON_ARRAY if JSON_ARRAY in self.seen else self.seen.most_common(1)[0][0]
        looks_like, anchor = shape
        count = self.seen[shape]
        lines = "" if shape == JSON_ARRAY else f" ({count:,} line{'s' if count != 1 else ''})"
        needs = NEEDS[self.data_format]
        if anchor == JSON_LINES:
            needs = f"JSON Lines, one record per line, {needs}"
        return f"this looks like {looks_like}{lines}; {model_name} needs {needs} (see {DOCS}#{anchor})"
