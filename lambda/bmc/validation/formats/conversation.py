"""The checker of ``bedrock-conversation-2024`` records (Nova and Llama 3.2/3.3 fine-tuning, every
distillation): text, image, video and reasoning content blocks, media limits and locations,
reserved keywords."""

from __future__ import annotations

from typing import Any

from bmc.aws.s3io import parse_s3_uri
from bmc.catalog.models import FormatRules
from bmc.validation import codes
from bmc.validation.formats.common import (
    NO_MEDIA_TOKENS,
    Issue,
    RecordResult,
    json_type,
    missing_or_wrong_type,
    unknown_fields,
    wrong_type,
)
from bmc.validation.formats.messages import message_role, role_order_problems

SCHEMA_VERSION = "bedrock-conversation-2024"


class ConversationChecker:
    """``{"schemaVersion", "system": [{"text"}], "messages": [{"role", "content": [blocks]}]}``."""

    allowed = frozenset(("schemaVersion", "system", "messages"))
    message_keys = frozenset(("role", "content"))

    def __init__(self, rules: FormatRules, dataset_bucket: str | None) -> None:
        self.rules = rules
        self.dataset_bucket = dataset_bucket if rules.media_in_dataset_bucket else None
        self.reserved = rules.reserved_strings
        self.advisory = tuple((text, text.lower()) for text in rules.advisory_reserved_strings)
        self.image_tokens = rules.image_tokens
        self.media_tokens = NO_MEDIA_TOKENS
        self.media_limits = {"image": rules.max_images_per_record, "video": rules.max_videos_per_record}
        self.media_formats = {"image": rules.image_formats, "video": rules.video_formats}
        block_kinds = ["text", "image", "video"]
        if rules.reasoning_content:
            block_kinds.append("reasoningContent")
        self.block_kinds = tuple(block_kinds)
        self.dataset_media: str | None = None  # a dataset holds images or videos, not both
        # Per-record tallies, reset by __call__ (a checker serves one file, one record at a time).
        self.characters = 0
        self.ascii = True
        self.media_count = {"image": 0, "video": 0}

    def __call__(self, record: dict[str, Any]) -> RecordResult:
        issues: list[Issue] = []
        self.characters = 0
        self.ascii = True
        self.media_count = {"image": 0, "video": 0}
        self.media_tokens = NO_MEDIA_TOKENS
        version = record.get("schemaVersion")
        if version != SCHEMA_VERSION:
            if "schemaVersion" in record and not isinstance(version, str):
                issues.append(wrong_type("schemaVersion", "a string", version))
            elif self.rules.schema_version_required:
                issues.append(schema_version_issue(version, "schemaVersion" in record))
        if "system" in record:
            self._check_system(record["system"], issues)
        messages = record.get("messages")
        if not isinstance(messages, list):
            issues.append(missing_or_wrong_type("messages", "an array", messages, "messages" in record))
        elif not messages:
            issues.append(Issue(codes.EMPTY_VALUE, "messages", "messages is empty"))
        else:
            roles = [self._check_message(index, message, issues) for index, message in enumerate(messages)]
            issues.extend(
                role_order_problems(
                    roles,
                    final_user_turn_allowed=self.rules.final_user_turn_allowed,
                    max_user_turns=self.rules.max_user_turns,
                )
            )
            self._check_media_counts(issues)
        if not record.keys() <= self.allowed:
            issues.extend(unknown_fields(record, self.allowed))
        images = self.media_count["image"]
        if images and self.image_tokens is not None:
            self.media_tokens = (images * (self.image_tokens.min or 0), images * (self.image_tokens.max or 0))
        return self.characters, self.ascii, issues or None

    def _check_system(self, system: object, issues: list[Issue]) -> None:
        if not isinstance(system, list):
            issues.append(wrong_type("system", 'an array of {"text": ...} objects', system))
            return
        for index, block in enumerate(system):
            path = f"system[{index}]"
            if not isinstance(block, dict):
                issues.append(wrong_type(path, "an object", block))
                continue
            text = block.get("text")
            if not isinstance(text, str):
                issues.append(missing_or_wrong_type(f"{path}.text", "a string", text, "text" in block))
                continue
            self._count_text(text, f"{path}.text", issues, prompt=True)

    def _check_message(self, index: int, message: object, issues: list[Issue]) -> str | None:
        path = f"messages[{index}]"
        if not isinstance(message, dict):
            issues.append(wrong_type(path, "an object", message))
            return None
        role = message_role(message, path, issues)
        content = message.get("content")
        if not isinstance(content, list):
            issues.append(
                missing_or_wrong_type(
                    f"{path}.content", "an array of content blocks", content, "content" in message
                )
            )
            return role
        has_text = False
        has_media = False
        for block_index, block in enumerate(content):
            block_path = f"{path}.content[{block_index}]"
            if not isinstance(block, dict):
                issues.append(wrong_type(block_path, "an object", block))
                continue
            kinds = [kind for kind in self.block_kinds if kind in block]
            if len(kinds) != 1 or len(block) != 1:
                issues.append(self._block_problem(block, block_path, kinds))
                continue
            kind = kinds[0]
            value = block[kind]
            if kind == "text":
                if not isinstance(value, str):
                    issues.append(wrong_type(f"{block_path}.text", "a string", value))
                    continue
                has_text = has_text or (bool(value) and not value.isspace())
                self._count_text(value, f"{block_path}.text", issues, prompt=role == "user")
            elif kind == "reasoningContent":
                self._check_reasoning(value, role, f"{block_path}.reasoningContent", issues)
            else:
                has_media = True
                self._check_media(kind, value, role, f"{block_path}.{kind}", issues)
        if not has_text and not has_media:
            issues.append(Issue(codes.EMPTY_VALUE, f"{path}.content", f"{path} has no text"))
        for key in message:
            if key not in self.message_keys:
                issues.append(Issue(codes.UNKNOWN_FIELD, f"{path}.{key}", f"unexpected field {key!r}", True))
        return role

    def _block_problem(self, block: dict[str, Any], path: str, kinds: list[str]) -> Issue:
        accepted = ", ".join(repr(kind) for kind in self.block_kinds)
        if not kinds:
            found = ", ".join(repr(key) for key in block) or "no keys"
            return Issue(
                codes.INVALID_CONTENT_BLOCK, path, f"content block has {found}; expected one of {accepted}"
            )
        return Issue(
            codes.INVALID_CONTENT_BLOCK,
            path,
            f"content block has keys {', '.join(repr(k) for k in block)}; "
            f"each block holds exactly one of {accepted}",
        )

    def _count_text(self, text: str, path: str, issues: list[Issue], *, prompt: bool = False) -> None:
        self.characters += len(text)
        self.ascii = self.ascii and text.isascii()
        found = [keyword for keyword in self.reserved if keyword in text] if prompt else []
        if found:
            issues.append(
                Issue(
                    codes.RESERVED_STRING,
                    path,
                    f"{'system' if path.startswith('system') else 'user'} prompt contains "
                    f"{', '.join(repr(s) for s in found)}, reserved by this model: "
                    "rephrase it or the training job fails (docs/validation.md#reserved-keywords)",
                )
            )
        if self.advisory:
            issue = reserved_mention(text, path, self.advisory, found)
            if issue is not None:
                issues.append(issue)

    def _check_reasoning(self, value: object, role: str | None, path: str, issues: list[Issue]) -> None:
        if role == "user":
            issues.append(
                Issue(
                    codes.INVALID_CONTENT_BLOCK,
                    path,
                    "reasoningContent is allowed only in assistant messages",
                )
            )
            return
        reasoning = value.get("reasoningText") if isinstance(value, dict) else None
        text = reasoning.get("text") if isinstance(reasoning, dict) else None
        if not isinstance(text, str) or not text:
            issues.append(wrong_type(f"{path}.reasoningText.text", "a non-empty string", text))
            return
        self._count_text(text, f"{path}.reasoningText.text", issues)

    def _check_media(
        self, kind: str, value: object, role: str | None, path: str, issues: list[Issue]
    ) -> None:
        limit = self.media_limits[kind]
        if limit == 0:
            issues.append(
                Issue(codes.MEDIA_NOT_SUPPORTED, path, f"this model does not accept {kind}s in training data")
            )
            return
        if role == "assistant":
            issues.append(
                Issue(codes.MEDIA_NOT_SUPPORTED, path, f"{kind}s are allowed only in user messages")
            )
        self.media_count[kind] += 1
        if not isinstance(value, dict):
            issues.append(wrong_type(path, "an object", value))
            return
        media_format = value.get("format")
        accepted = self.media_formats[kind]
        if not isinstance(media_format, str) or media_format.lower() not in accepted:
            shown = repr(media_format) if isinstance(media_format, str) else json_type(media_format)
            issues.append(
                Issue(
                    codes.INVALID_VALUE,
                    f"{path}.format",
                    f"{kind} format {shown} is not one of {', '.join(accepted)}",
                )
            )
        source = value.get("source")
        location = source.get("s3Location") if isinstance(source, dict) else None
        uri = location.get("uri") if isinstance(location, dict) else None
        uri_path = f"{path}.source.s3Location.uri"
        if not isinstance(uri, str):
            issues.append(
                Issue(
                    codes.MISSING_FIELD,
                    uri_path,
                    f"{kind}s must reference an S3 object in source.s3Location.uri",
                )
            )
            return
        try:
            bucket, _ = parse_s3_uri(uri)
        except ValueError as exc:
            issues.append(Issue(codes.INVALID_S3_URI, uri_path, str(exc)))
            return
        if self.dataset_bucket is not None and bucket != self.dataset_bucket:
            issues.append(
                Issue(
                    codes.MEDIA_OUTSIDE_DATASET_BUCKET,
                    uri_path,
                    f"{uri!r} is in bucket {bucket!r}; "
                    f"media must be in the dataset's bucket {self.dataset_bucket!r}",
                )
            )

    def _check_media_counts(self, issues: list[Issue]) -> None:
        images, videos = self.media_count["image"], self.media_count["video"]
        for kind, count in self.media_count.items():
            limit = self.media_limits[kind]
            if limit and count > limit:
                issues.append(
                    Issue(
                        codes.TOO_MANY_MEDIA,
                        "messages",
                        f"{count} {kind}s in this record; at most {limit} allowed",
                    )
                )
        if images and videos:
            issues.append(
                Issue(codes.MIXED_MEDIA, "messages", "a record may hold images or a video, not both")
            )
            return
        if not images and not videos:
            return
        used = "image" if images else "video"
        if self.dataset_media is None:
            self.dataset_media = used
        elif self.dataset_media != used:
            issues.append(
                Issue(
                    codes.MIXED_MEDIA,
                    "messages",
                    f"this record has {used}s but earlier records have {self.dataset_media}s: "
                    "a dataset holds text with images or text with videos, not both",
                )
            )


def schema_version_issue(version: object, present: bool) -> Issue:
    found = f"got {version!r}" if present else "it is missing"
    return Issue(
        codes.SCHEMA_VERSION,
        "schemaVersion",
        f"schemaVersion should be {SCHEMA_VERSION!r} for distillation; {found}",
        True,
    )


def reserved_mention(
    text: str, path: str, advisory: tuple[tuple[str, str], ...], already: list[str]
) -> Issue | None:
    """A warning for keywords the guide reserves in prompts, met in any case elsewhere."""
    lowered = text.lower()
    found = [keyword for keyword, low in advisory if low in lowered and keyword not in already]
    if not found:
        return None
    return Issue(
        codes.RESERVED_STRING_MENTION,
        path,
        f"text mentions {', '.join(repr(s) for s in found)} (in some case): the guide reserves these "
        "keywords in system and user prompts; check the job accepts them here "
        "(docs/validation.md#reserved-keywords)",
        warning=True,
    )
