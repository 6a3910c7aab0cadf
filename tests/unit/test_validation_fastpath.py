"""The fast path vouches only for clean records; anything else goes to the detailed checker."""

from __future__ import annotations

import json

from bmc.catalog.models import CONVERSATION, FormatRules
from bmc.validation.fastpath import make_fast_path

from tests.unit.fixtures_datasets import conversation


def line(record: dict[str, object]) -> bytes:
    return json.dumps(record).encode()


def with_user_text(text: str) -> bytes:
    record = conversation()
    record["messages"][0]["content"][0]["text"] = text
    return line(record)


def test_a_clean_record_is_vouched_for_with_its_size() -> None:
    fast = make_fast_path(FormatRules(CONVERSATION, reserved_strings=("User:",)))
    assert fast is not None
    clean = line(conversation())
    assert fast(clean) == (len("You answer briefly.Question 0.0?Answer 0.0."), len(clean))


def test_keywords_are_screened_in_any_case_and_through_escapes() -> None:
    fast = make_fast_path(FormatRules(CONVERSATION, advisory_reserved_strings=("<image>", "User:")))
    assert fast is not None
    assert fast(with_user_text("a colon: but no keyword")) is not None
    assert fast(with_user_text("see the <IMAGE> below")) is None
    assert (
        fast(
            b'{"messages": [{"role": "user", "content": [{"text": "\\u003cimage>"}]}, '
            b'{"role": "assistant", "content": [{"text": "ok"}]}]}'
        )
        is None
    )


def test_a_keyword_without_a_rare_character_is_searched_in_every_text() -> None:
    fast = make_fast_path(FormatRules(CONVERSATION, reserved_strings=("Human",)))
    assert fast is not None
    assert fast(with_user_text("a human question")) is None
    assert fast(with_user_text("a plain question")) is not None


def test_records_outside_the_common_shape_are_left_to_the_checker() -> None:
    fast = make_fast_path(FormatRules(CONVERSATION))
    assert fast is not None
    record = conversation()
    record["messages"][0]["content"].append({"image": {"format": "png"}})
    assert fast(line(record)) is None
    assert fast(b"not json") is None
    assert fast(line({**conversation(), "extra": 1})) is None
    assert fast(line(conversation(answer=False))) is None  # ends on the user's turn
    prompts = make_fast_path(FormatRules(CONVERSATION, final_user_turn_allowed=True))
    assert prompts is not None
    assert prompts(line(conversation(answer=False))) is not None
