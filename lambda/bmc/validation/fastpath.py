"""The fast path: typed decoding of the common valid record, straight from the line's bytes.

Most lines of a real dataset are valid and share one shape (text-only conversations). For
them, msgspec decodes the JSON directly into typed structs, checking types, required fields,
unknown fields and role values in C, and a few lines of Python check what types cannot say
(role order, empty text, reserved keywords). A line the fast path cannot vouch for, for any
reason, returns None and goes through orjson and the detailed checker
(``bmc.validation.formats``), which locates every problem by file, line and field. So the fast
path only ever answers "clean"; it never reports a problem itself, and the findings are the
same with or without it (tests run every dataset both ways).

A fast path returns ``(characters, size)``: the characters of the record's text and the byte
size its token estimate is based on (``bmc.validation.tokens.record_size``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeVar

import msgspec

from bmc.catalog.models import CLAUDE_3_HAIKU_MESSAGES, CONVERSATION, FormatRules
from bmc.validation.formats import SCHEMA_VERSION
from bmc.validation.tokens import utf8_length

FastPath = Callable[[bytes], "tuple[int, int] | None"]
_T = TypeVar("_T")


class _Text(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    text: str


class _Message(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    role: Literal["user", "assistant"]
    content: list[_Text]


class _Conversation(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    messages: list[_Message]
    system: list[_Text] = []
    schemaVersion: str | msgspec.UnsetType = msgspec.UNSET  # noqa: N815 (the JSON key)


class _HaikuMessage(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    role: Literal["user", "assistant"]
    content: str


class _HaikuRecord(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    messages: list[_HaikuMessage]
    system: str = ""


_DECODE_ERRORS = (msgspec.ValidationError, msgspec.DecodeError)


def make_fast_path(rules: FormatRules) -> FastPath | None:
    """The fast path for a format, or None where the detailed checker is fast enough already
    (flat prompt/completion, continued pre-training and caption records)."""
    if rules.data_format == CONVERSATION:
        return _conversation_fast_path(rules)
    if rules.data_format == CLAUDE_3_HAIKU_MESSAGES:
        return _haiku_fast_path()
    return None


# Characters that rarely occur in text; a keyword holding one is searched only in texts that do.
_ANCHORS = ":<>[]"


class _KeywordScreen:
    """Which texts may hold a reserved keyword, in any case: those go to the checker.

    Searching every text for seven keywords would cost more than parsing it. Every keyword the
    guide reserves holds a character that text seldom has (``User:``, ``<image>``, ``[EOS]``),
    so a text is first searched for those few characters (``anchors``: fast single-character
    scans, inlined by the fast path), and only a text holding one is lowered and searched for
    the keywords themselves (``holds_keyword``).
    """

    def __init__(self, rules: FormatRules) -> None:
        every = (*rules.reserved_strings, *rules.advisory_reserved_strings)
        self.keywords = tuple(dict.fromkeys(keyword.lower() for keyword in every))
        self.active = bool(self.keywords)
        firsts = [next((c for c in keyword if c in _ANCHORS), "") for keyword in self.keywords]
        anchors = list(dict.fromkeys(firsts))
        if "" in anchors or len(anchors) > 3:
            anchors = [""]  # "" is in every text: each one is searched
        # Exactly three, repeating the first: the fast path tests `a in text or b in text or c in text`.
        self.anchors = (anchors + anchors[:1] * 3)[:3] if anchors else ["", "", ""]

    def holds_keyword(self, text: str) -> bool:
        lowered = text.lower()
        return any(keyword in lowered for keyword in self.keywords)


def _decoder(kind: type[_T]) -> Callable[[bytes], _T | None]:
    """Decode a line into ``kind``, or None when it does not have that shape (or is not JSON)."""
    decode = msgspec.json.Decoder(kind).decode

    def try_decode(line: bytes) -> _T | None:
        try:
            return decode(line)
        except _DECODE_ERRORS:
            return None

    return try_decode


def _conversation_fast_path(rules: FormatRules) -> FastPath:
    decode = _decoder(_Conversation)
    screen = _KeywordScreen(rules)
    screened = screen.active
    a0, a1, a2 = screen.anchors
    holds_keyword = screen.holds_keyword
    final_user_turn_allowed = rules.final_user_turn_allowed
    max_user_turns = rules.max_user_turns
    schema_version_required = rules.schema_version_required

    def fast_path(line: bytes) -> tuple[int, int] | None:
        record = decode(line)
        if record is None or not record.messages:
            return None
        messages = record.messages
        if schema_version_required and record.schemaVersion != SCHEMA_VERSION:
            return None
        characters = 0
        ascii = True
        for block in record.system:
            text = block.text
            if screened and (a0 in text or a1 in text or a2 in text) and holds_keyword(text):
                return None
            characters += len(text)
            ascii = ascii and text.isascii()
        expected = "user"
        user_turns = 0
        for message in messages:
            if message.role != expected:
                return None
            if expected == "user":
                user_turns += 1
                expected = "assistant"
            else:
                expected = "user"
            has_text = False
            for block in message.content:
                text = block.text
                if screened and (a0 in text or a1 in text or a2 in text) and holds_keyword(text):
                    return None
                characters += len(text)
                ascii = ascii and text.isascii()
                has_text = has_text or (bool(text) and not text.isspace())
            if not has_text:
                return None
        if expected == "assistant" and not final_user_turn_allowed:  # ended on a user turn
            return None
        if max_user_turns is not None and user_turns > max_user_turns:
            return None
        if ascii or not line.isascii():
            return characters, len(line)
        return characters, _conversation_string_bytes(record)

    return fast_path


def _conversation_string_bytes(record: _Conversation) -> int:
    """UTF-8 size of every string value, as ``tokens.string_bytes`` measures a parsed record."""
    size = 0 if record.schemaVersion is msgspec.UNSET else utf8_length(record.schemaVersion)
    size += sum(utf8_length(block.text) for block in record.system)
    for message in record.messages:
        size += len(message.role) + sum(utf8_length(block.text) for block in message.content)
    return size


def _haiku_fast_path() -> FastPath:
    decode = _decoder(_HaikuRecord)

    def fast_path(line: bytes) -> tuple[int, int] | None:
        record = decode(line)
        if record is None or not record.messages:
            return None
        messages = record.messages
        characters = len(record.system)
        ascii = record.system.isascii()
        expected = "user"
        for message in messages:
            content = message.content
            if message.role != expected or not content or content.isspace():
                return None
            expected = "assistant" if expected == "user" else "user"
            characters += len(content)
            ascii = ascii and content.isascii()
        if expected != "user":  # ended on a user turn: the answer is missing
            return None
        if ascii or not line.isascii():
            return characters, len(line)
        size = utf8_length(record.system) + sum(
            len(message.role) + utf8_length(message.content) for message in messages
        )
        return characters, size

    return fast_path
