"""Every data format: generated valid datasets pass; each broken record is reported by code,
line and field."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bmc.validation import codes, validate_datasets

from tests.unit.fixtures_datasets import (
    Line,
    Record,
    continued_pre_training,
    conversation,
    conversation_with_media,
    dataset,
    findings,
    haiku_messages,
    image_caption,
    media_block,
    prompt_completion,
)

NOVA_MICRO = "amazon.nova-micro-v1:0:128k"
NOVA_LITE = "amazon.nova-lite-v1:0:300k"
NOVA_2_LITE = "amazon.nova-2-lite-v1:0:256k"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0:200k"
LLAMA_31 = "meta.llama3-1-8b-instruct-v1:0:128k"
LLAMA_32_VISION = "meta.llama3-2-11b-instruct-v1:0:128k"
TITAN_LITE = "amazon.titan-text-lite-v1:0:4k"
IMAGE_GENERATOR = "amazon.titan-image-generator-v1:0"
EMBEDDINGS = "amazon.titan-embed-image-v1:0"
FT, CPT, DIST = "FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION"
BAD_LINE = 3

# (model, customization type, valid record builder, records needed to meet the model's minimum)
SETUPS: dict[str, tuple[str, str, Callable[[int], Record], int]] = {
    "prompt-completion": (LLAMA_31, FT, prompt_completion, 100),
    "continued-pre-training": (TITAN_LITE, CPT, continued_pre_training, 10),
    "conversation": (NOVA_LITE, FT, conversation, 10),
    "conversation-text-only": (NOVA_MICRO, FT, conversation, 10),
    "conversation-distillation": (NOVA_MICRO, DIST, lambda i: conversation(i, answer=False), 100),
    "conversation-single-turn": (LLAMA_31, DIST, conversation, 100),
    "conversation-vision": (LLAMA_32_VISION, FT, conversation, 100),
    "conversation-reasoning": (NOVA_2_LITE, FT, conversation, 200),
    "claude-3-haiku": (HAIKU, FT, haiku_messages, 32),
    "image-caption": (IMAGE_GENERATOR, FT, image_caption, 5),
    "image-caption-embeddings": (EMBEDDINGS, FT, image_caption, 1000),
}
HYPERPARAMETERS: dict[str, dict[str, object]] = {
    IMAGE_GENERATOR: {"stepCount": "auto"},
    EMBEDDINGS: {"epochCount": 2},
}


def validate(
    tmp_path: Path, setup: str, replace: dict[int, Line] | None = None, *, count: int | None = None
) -> Any:
    model_id, customization_type, builder, minimum = SETUPS[setup]
    path = dataset(tmp_path, builder, count or minimum, replace=replace)
    reports = [
        validate_datasets(
            model_id=model_id,
            customization_type=customization_type,
            training=path,
            hyperparameters=HYPERPARAMETERS.get(model_id),
            fast_path=fast_path,
        )
        for fast_path in (True, False)
    ]
    # The fast path only ever vouches for clean records: the findings are the same without it.
    assert reports[0].to_dict() == reports[1].to_dict()
    return reports[0]


@pytest.mark.parametrize("setup", sorted(SETUPS))
def test_generated_valid_dataset_passes(tmp_path: Path, setup: str) -> None:
    report = validate(tmp_path, setup)
    assert report.valid, report.errors
    assert report.errors == []
    assert report.stats["training"]["records"] == SETUPS[setup][3]


def _conversation(*roles: str, text: str = "hello") -> Record:
    return {
        "schemaVersion": "bedrock-conversation-2024",
        "messages": [{"role": role, "content": [{"text": text}]} for role in roles],
    }


def _with(record: Record, path: tuple[Any, ...], value: Any) -> Record:
    """Set the value at ``path`` (one past the end of a list appends)."""
    target: Any = record
    for key in path[:-1]:
        target = target[key]
    if isinstance(target, list) and path[-1] == len(target):
        target.append(value)
    else:
        target[path[-1]] = value
    return record


IMAGE = media_block("image")
VIDEO = media_block("video")

# (setup, the broken line's content, expected code, expected field)
INVALID_RECORDS: list[tuple[str, Line, str, str | None]] = [
    ("prompt-completion", {"prompt": "hi"}, codes.MISSING_FIELD, "completion"),
    ("prompt-completion", {"prompt": 5, "completion": "x"}, codes.WRONG_TYPE, "prompt"),
    ("prompt-completion", {"prompt": "a", "completion": "   "}, codes.EMPTY_VALUE, "completion"),
    ("prompt-completion", {"prompt": "", "completion": "b"}, codes.EMPTY_VALUE, "prompt"),
    ("continued-pre-training", {"text": "wrong key"}, codes.MISSING_FIELD, "input"),
    ("continued-pre-training", {"input": None}, codes.WRONG_TYPE, "input"),
    ("continued-pre-training", {"input": ""}, codes.EMPTY_VALUE, "input"),
    ("continued-pre-training", "[1, 2]", codes.NOT_AN_OBJECT, None),
    ("continued-pre-training", '"just a string"', codes.NOT_AN_OBJECT, None),
    (
        "conversation",
        _conversation("assistant", "user", "assistant"),
        codes.FIRST_MESSAGE_NOT_USER,
        "messages[0].role",
    ),
    (
        "conversation",
        _conversation("user", "user", "assistant"),
        codes.ROLES_NOT_ALTERNATING,
        "messages[1].role",
    ),
    ("conversation", _conversation("user"), codes.LAST_MESSAGE_NOT_ASSISTANT, "messages[0].role"),
    ("conversation", _conversation("system", "assistant"), codes.INVALID_VALUE, "messages[0].role"),
    ("conversation", _conversation("User", "assistant"), codes.INVALID_VALUE, "messages[0].role"),
    ("conversation", {"schemaVersion": "bedrock-conversation-2024"}, codes.MISSING_FIELD, "messages"),
    ("conversation", _with(conversation(), ("messages",), []), codes.EMPTY_VALUE, "messages"),
    (
        "conversation",
        _with(conversation(), ("messages", 0, "content"), "hi"),
        codes.WRONG_TYPE,
        "messages[0].content",
    ),
    (
        "conversation",
        _with(conversation(), ("messages", 0), {"role": "user"}),
        codes.MISSING_FIELD,
        "messages[0].content",
    ),
    (
        "conversation",
        _with(conversation(), ("messages", 1, "content", 0, "text"), ""),
        codes.EMPTY_VALUE,
        "messages[1].content",
    ),
    (
        "conversation",
        _with(conversation(), ("messages", 0, "content", 0, "text"), 5),
        codes.WRONG_TYPE,
        "messages[0].content[0].text",
    ),
    (
        "conversation",
        _with(conversation(), ("messages", 0, "content", 0), {"document": {}}),
        codes.INVALID_CONTENT_BLOCK,
        "messages[0].content[0]",
    ),
    (
        "conversation",
        _with(conversation(), ("messages", 0, "content", 0), {"text": "a", **IMAGE}),
        codes.INVALID_CONTENT_BLOCK,
        "messages[0].content[0]",
    ),
    (
        "conversation",
        _with(conversation(), ("messages", 0, "content", 0, "text"), "Bot: hi"),
        codes.RESERVED_STRING,
        "messages[0].content[0].text",
    ),
    (
        "conversation",
        _with(conversation(), ("messages", 0, "content", 0, "text"), "What is in <image>?"),
        codes.RESERVED_STRING,
        "messages[0].content[0].text",
    ),
    (
        "conversation",
        _with(conversation(), ("system", 0, "text"), "Assistant: obey"),
        codes.RESERVED_STRING,
        "system[0].text",
    ),
    ("conversation", _with(conversation(), ("system",), "be brief"), codes.WRONG_TYPE, "system"),
    (
        "conversation",
        _with(conversation(), ("system", 0), {"txt": "x"}),
        codes.MISSING_FIELD,
        "system[0].text",
    ),
    ("conversation", _with(conversation(), ("schemaVersion",), 2024), codes.WRONG_TYPE, "schemaVersion"),
    ("conversation", conversation_with_media(count=11), codes.TOO_MANY_MEDIA, "messages"),
    ("conversation", conversation_with_media(kind="video", count=2), codes.TOO_MANY_MEDIA, "messages"),
    (
        "conversation",
        _with(conversation_with_media(), ("messages", 0, "content", 1), VIDEO),
        codes.MIXED_MEDIA,
        "messages",
    ),
    (
        "conversation",
        _with(conversation(), ("messages", 1, "content", 1), IMAGE),
        codes.MEDIA_NOT_SUPPORTED,
        "messages[1].content[1].image",
    ),
    (
        "conversation",
        _with(conversation_with_media(), ("messages", 0, "content", 0, "image", "format"), "bmp"),
        codes.INVALID_VALUE,
        "messages[0].content[0].image.format",
    ),
    (
        "conversation",
        _with(conversation_with_media(), ("messages", 0, "content", 0, "image", "source"), {"bytes": "aGk="}),
        codes.MISSING_FIELD,
        "messages[0].content[0].image.source.s3Location.uri",
    ),
    (
        "conversation",
        _with(
            conversation_with_media(),
            ("messages", 0, "content", 0, "image", "source", "s3Location", "uri"),
            "https://x/y.png",
        ),
        codes.INVALID_S3_URI,
        "messages[0].content[0].image.source.s3Location.uri",
    ),
    (
        "conversation-text-only",
        conversation_with_media(),
        codes.MEDIA_NOT_SUPPORTED,
        "messages[0].content[0].image",
    ),
    ("conversation-single-turn", conversation(turns=2), codes.TOO_MANY_TURNS, "messages"),
    (
        "conversation-vision",
        conversation_with_media(kind="video"),
        codes.MEDIA_NOT_SUPPORTED,
        "messages[0].content[0].video",
    ),
    (
        "conversation-reasoning",
        _with(
            conversation(),
            ("messages", 0, "content", 0),
            {"reasoningContent": {"reasoningText": {"text": "x"}}},
        ),
        codes.INVALID_CONTENT_BLOCK,
        "messages[0].content[0].reasoningContent",
    ),
    (
        "conversation",
        _with(
            conversation(),
            ("messages", 1, "content", 0),
            {"reasoningContent": {"reasoningText": {"text": "x"}}},
        ),
        codes.INVALID_CONTENT_BLOCK,
        "messages[1].content[0]",
    ),
    (
        "claude-3-haiku",
        _with(haiku_messages(), ("messages", 0, "content"), [{"text": "hi"}]),
        codes.WRONG_TYPE,
        "messages[0].content",
    ),
    (
        "claude-3-haiku",
        {"messages": [{"role": "user", "content": "hi"}]},
        codes.LAST_MESSAGE_NOT_ASSISTANT,
        "messages[0].role",
    ),
    ("claude-3-haiku", _with(haiku_messages(), ("system",), ["x"]), codes.WRONG_TYPE, "system"),
    ("claude-3-haiku", _with(haiku_messages(), ("messages",), "hi"), codes.WRONG_TYPE, "messages"),
    (
        "claude-3-haiku",
        _with(haiku_messages(), ("messages", 1, "content"), ""),
        codes.EMPTY_VALUE,
        "messages[1].content",
    ),
    ("claude-3-haiku", {"system": "x"}, codes.MISSING_FIELD, "messages"),
    ("image-caption", {"caption": "a cat"}, codes.MISSING_FIELD, "image-ref"),
    (
        "image-caption",
        {"image-ref": "https://example.com/cat.png", "caption": "a cat"},
        codes.INVALID_S3_URI,
        "image-ref",
    ),
    ("image-caption", {"image-ref": "s3://datasets/cat.png", "caption": ""}, codes.EMPTY_VALUE, "caption"),
    (
        "image-caption-embeddings",
        {"image-ref": "s3://datasets/cat.png", "caption": "x" * 2561},
        codes.VALUE_TOO_LONG,
        "caption",
    ),
]


@pytest.mark.parametrize(
    ("setup", "line", "code", "field"),
    INVALID_RECORDS,
    ids=[f"{setup}-{code}-{index}" for index, (setup, _, code, _) in enumerate(INVALID_RECORDS)],
)
def test_invalid_record_is_reported_at_its_line_and_field(
    tmp_path: Path, setup: str, line: Line, code: str, field: str | None
) -> None:
    report = validate(tmp_path, setup, {BAD_LINE: line})
    assert not report.valid
    assert (BAD_LINE, field) in {(f.line, f.field) for f in findings(report, code)}, report.errors
    assert {f.line for f in report.errors} == {BAD_LINE}, report.errors
    assert all(f.file and f.file.endswith("train.jsonl") for f in report.errors)


# (setup, the line's content, expected warning code, expected field): advice, not errors
WARNING_RECORDS: list[tuple[str, Line, str, str | None]] = [
    ("prompt-completion", {"prompt": "a", "completion": "b", "id": 7}, codes.UNKNOWN_FIELD, "id"),
    (
        "conversation-distillation",
        {"messages": conversation(answer=False)["messages"]},
        codes.SCHEMA_VERSION,
        "schemaVersion",
    ),
    (
        "conversation-distillation",
        {**conversation(), "schemaVersion": "v2"},
        codes.SCHEMA_VERSION,
        "schemaVersion",
    ),
    (
        "conversation",
        _with(conversation(), ("messages", 1, "content", 0, "text"), "done [eos]"),
        codes.RESERVED_STRING_MENTION,
        "messages[1].content[0].text",
    ),
    (
        "conversation",
        _with(conversation(), ("messages", 0, "content", 0, "text"), "user: hi"),
        codes.RESERVED_STRING_MENTION,
        "messages[0].content[0].text",
    ),
    (
        "conversation-distillation",
        _with(conversation(), ("messages", 0, "content", 0, "text"), "User: hi"),
        codes.RESERVED_STRING_MENTION,
        "messages[0].content[0].text",
    ),
    ("conversation", {**conversation(), "toolConfig": {}}, codes.UNKNOWN_FIELD, "toolConfig"),
    (
        "image-caption",
        image_caption() | {"image-ref": "s3://datasets/cat"},
        codes.UNEXPECTED_MEDIA_TYPE,
        "image-ref",
    ),
]


@pytest.mark.parametrize(("setup", "line", "code", "field"), WARNING_RECORDS)
def test_advice_is_a_warning(tmp_path: Path, setup: str, line: Line, code: str, field: str | None) -> None:
    report = validate(tmp_path, setup, {BAD_LINE: line})
    assert report.valid, report.errors
    assert [(f.line, f.field) for f in findings(report, code, warnings=True)] == [(BAD_LINE, field)]


def test_distillation_prompts_may_end_on_the_user_turn(tmp_path: Path) -> None:
    answered = conversation()
    report = validate(
        tmp_path, "conversation-distillation", {1: answered, 2: conversation(turns=2, answer=False)}
    )
    assert report.valid, report.errors


def test_reserved_strings_are_a_nova_rule(tmp_path: Path) -> None:
    record = _with(conversation(), ("messages", 0, "content", 0, "text"), "User: hi [EOS]")
    assert validate(tmp_path, "conversation-vision", {BAD_LINE: record}).valid


def test_vision_models_take_many_images(tmp_path: Path) -> None:
    assert validate(tmp_path, "conversation-vision", {BAD_LINE: conversation_with_media(count=4)}).valid


def test_image_tokens_count_against_the_record_limit(tmp_path: Path) -> None:
    # Llama 3.2 11B: 16,000 tokens per record; an image costs 1,601 to 6,404 tokens by its size.
    report = validate(
        tmp_path,
        "conversation-vision",
        {2: conversation_with_media(count=3), BAD_LINE: conversation_with_media(count=10)},
    )
    assert [(f.line, f.code) for f in report.errors] == [(BAD_LINE, codes.TOO_MANY_TOKENS)]
    assert (2, codes.MAY_EXCEED_TOKEN_LIMIT) in {(f.line, f.code) for f in report.warnings}
    assert "and its images" in report.errors[0].message


def test_reserved_keywords_follow_the_guide(tmp_path: Path) -> None:
    """Nova's guide reserves the keywords in system and user prompts, exactly as written."""
    answer_mentions = _with(
        conversation(), ("messages", 1, "content", 0, "text"), "Misuse of the payment system: fines."
    )
    other_case = _with(conversation(), ("messages", 0, "content", 0, "text"), "The USER: field")
    thought = _with(conversation(), ("messages", 0, "content", 0, "text"), "Thought: first, the facts.")
    report = validate(tmp_path, "conversation", {2: answer_mentions, BAD_LINE: other_case, 4: thought})
    assert report.valid, report.errors
    assert [(f.line, f.code) for f in report.warnings if f.code != codes.FEW_RECORDS] == [
        (2, codes.RESERVED_STRING_MENTION),
        (BAD_LINE, codes.RESERVED_STRING_MENTION),
    ]


def test_aws_distillation_sample_passes_for_nova(tmp_path: Path) -> None:
    """AWS's distillation sample (uber10K.jsonl, line 149) has "payment system:" in an answer."""
    answer = (
        "9. Legal action for improper use of payment system: If Uber's payment system is used "
        "for illegal purposes, Uber may take legal action."
    )
    record = _with(conversation(), ("messages", 1, "content", 0, "text"), answer)
    report = validate(tmp_path, "conversation-distillation", {BAD_LINE: record})
    assert report.valid, report.errors
    assert [(f.line, f.code) for f in report.warnings] == [(BAD_LINE, codes.RESERVED_STRING_MENTION)]


def test_a_reserved_keyword_can_be_acknowledged(tmp_path: Path) -> None:
    model_id, customization_type, builder, minimum = SETUPS["conversation"]
    record = _with(conversation(), ("messages", 0, "content", 0, "text"), "User: hi")
    path = dataset(tmp_path, builder, minimum, replace={BAD_LINE: record})
    report = validate_datasets(
        model_id=model_id, customization_type=customization_type, training=path, allow=["RESERVED_STRING"]
    )
    assert report.valid
    assert report.acknowledged_counts == {codes.RESERVED_STRING: 1}
    assert report.to_dict()["acknowledged"][0]["line"] == BAD_LINE
    with pytest.raises(ValueError, match="did you mean RESERVED_STRING"):
        validate_datasets(
            model_id=model_id, customization_type=customization_type, training=path, allow=["RESERVED_STRNG"]
        )
    with pytest.raises(ValueError, match="cannot be acknowledged"):
        validate_datasets(
            model_id=model_id, customization_type=customization_type, training=path, allow=["INVALID_JSON"]
        )


def test_image_formats_the_model_refuses_are_errors(tmp_path: Path) -> None:
    report = validate(
        tmp_path, "image-caption", {BAD_LINE: image_caption() | {"image-ref": "s3://datasets/cat.webp"}}
    )
    assert [(f.line, f.code) for f in report.errors] == [(BAD_LINE, codes.UNSUPPORTED_MEDIA_FORMAT)]


def test_image_generator_caption_and_record_limits(tmp_path: Path) -> None:
    short = validate(tmp_path, "image-caption", {BAD_LINE: image_caption() | {"caption": "ab"}})
    assert [(f.line, f.code) for f in short.errors] == [(BAD_LINE, codes.VALUE_TOO_SHORT)]
    long = validate(tmp_path, "image-caption", {BAD_LINE: image_caption() | {"caption": "x" * 1025}})
    assert [(f.line, f.code) for f in long.errors] == [(BAD_LINE, codes.VALUE_TOO_LONG)]
    too_few = validate(tmp_path, "image-caption", count=4)
    assert [f.code for f in too_few.errors] == [codes.TOO_FEW_RECORDS]


def test_up_to_ten_images_or_one_video_per_record(tmp_path: Path) -> None:
    ten_images = conversation_with_media(count=10)
    report = validate(
        tmp_path, "conversation", {BAD_LINE: ten_images, BAD_LINE + 1: conversation_with_media(count=2)}
    )
    assert report.valid, report.errors
    assert validate(tmp_path, "conversation", {BAD_LINE: conversation_with_media(kind="video")}).valid


def test_a_dataset_holds_images_or_videos_not_both(tmp_path: Path) -> None:
    report = validate(
        tmp_path, "conversation", {2: conversation_with_media(), 5: conversation_with_media(kind="video")}
    )
    assert [(f.line, f.field) for f in findings(report, codes.MIXED_MEDIA)] == [(5, "messages")]


def test_reasoning_content_in_assistant_messages(tmp_path: Path) -> None:
    record = conversation()
    record["messages"][1]["content"].insert(0, {"reasoningContent": {"reasoningText": {"text": "Because."}}})
    report = validate(tmp_path, "conversation-reasoning", {BAD_LINE: record})
    assert report.valid, report.errors


def test_empty_captions_where_allowed(tmp_path: Path) -> None:
    report = validate(tmp_path, "image-caption-embeddings", {BAD_LINE: image_caption() | {"caption": ""}})
    assert report.valid, report.errors


def test_every_problem_of_a_record_is_reported(tmp_path: Path) -> None:
    record = _conversation("assistant", "assistant", text="User: hi")
    report = validate(tmp_path, "conversation", {BAD_LINE: record})
    found = {(f.code, f.field) for f in report.errors + report.warnings}
    assert {
        (codes.FIRST_MESSAGE_NOT_USER, "messages[0].role"),
        (codes.ROLES_NOT_ALTERNATING, "messages[1].role"),
        (codes.RESERVED_STRING_MENTION, "messages[0].content[0].text"),
        (codes.RESERVED_STRING_MENTION, "messages[1].content[0].text"),
    } <= found


MUTATIONS: list[Callable[[Record], Any]] = [
    lambda r: r,
    lambda r: r.pop("schemaVersion", None),
    lambda r: r.update(schemaVersion="v2"),
    lambda r: r.update(system=[]),
    lambda r: r.pop("system", None),
    lambda r: r["messages"].reverse(),
    lambda r: r["messages"].pop(),
    lambda r: r["messages"].append(r["messages"][0]),
    lambda r: r["messages"][0]["content"][0].update(text=" "),
    lambda r: r["messages"][0]["content"][0].update(text="Hi User: there"),
    lambda r: r["messages"][0]["content"][0].update(text="hi user: there"),
    lambda r: r["messages"][-1]["content"][0].update(text="see <IMAGE> and [eos]"),
    lambda r: r["messages"][0]["content"][0].update(text="caf\u00e9 \u6771\u4eac at 10:30"),
    lambda r: r["messages"][0]["content"].append({"text": "more"}),
    lambda r: r["messages"][0].update(extra=1),
    lambda r: r.update(extra=True),
    lambda r: r["messages"][0].update(role="USER"),
]


@pytest.mark.parametrize("setup", ["conversation", "conversation-distillation", "conversation-single-turn"])
def test_fast_path_agrees_with_the_checker_on_random_mutations(tmp_path: Path, setup: str) -> None:
    """``validate`` runs every file with and without the fast path and compares the reports."""
    rng = random.Random(setup)
    replace: dict[int, Line] = {}
    for line in range(1, 101):
        record = conversation(line, turns=rng.randint(1, 3), answer=rng.random() < 0.8)
        for mutate in rng.sample(MUTATIONS, k=rng.randint(0, 3)):
            mutate(record)
        replace[line] = record
    validate(tmp_path, setup, replace, count=100)


def test_fast_path_agrees_with_the_checker_on_claude_records(tmp_path: Path) -> None:
    rng = random.Random(3)
    replace: dict[int, Line] = {}
    for line in range(1, 41):
        record = haiku_messages(line, turns=rng.randint(1, 2))
        choice = rng.randrange(6)
        if choice == 1:
            record["messages"].reverse()
        elif choice == 2:
            record["messages"][0]["content"] = ""
        elif choice == 3:
            record["system"] = None
        elif choice == 4:
            record["messages"][0]["content"] = [{"text": "blocks"}]
        elif choice == 5:
            record["messages"][0]["content"] = "caf\u00e9 \u6771\u4eac"
        replace[line] = record
    validate(tmp_path, "claude-3-haiku", replace, count=40)
