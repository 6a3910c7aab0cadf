"""Record checkers, one per data format.

A checker takes one parsed JSON object and returns ``(characters, ascii, issues)``: the
characters of its text, whether all that text is ASCII (the validator's token estimate needs
to know, see ``bmc.validation.tokens``) and the problems found, None for a clean record (the
common case: no list is allocated). After a call, ``media_tokens`` holds the tokens the
record's images cost, (lenient, conservative), for models whose guide counts them. The
validator adds the file and line to each issue and checks the record's token estimate against
the per-record limit. Checkers are built per file from the catalog's format rules and limits,
so model differences are data, not code.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from bmc.aws.s3io import parse_s3_uri
from bmc.catalog.models import (
    CLAUDE_3_HAIKU_MESSAGES,
    CONTINUED_PRE_TRAINING_FORMAT,
    CONVERSATION,
    IMAGE_CAPTION,
    PROMPT_COMPLETION,
    FormatRules,
    Limits,
)
from bmc.validation import codes
from bmc.validation.tokens import estimate_tokens, guide_tokens, utf8_length


class Issue(NamedTuple):
    code: str
    field: str | None
    message: str
    warning: bool = False


RecordResult = tuple[int, bool, list[Issue] | None]
NO_MEDIA_TOKENS = (0, 0)


class RecordChecker(Protocol):
    media_tokens: tuple[int, int]

    def __call__(self, record: dict[str, Any]) -> RecordResult: ...


ROLES = ("user", "assistant")
SCHEMA_VERSION = "bedrock-conversation-2024"
# Extensions of the image formats people use, by the format name the guides give.
IMAGE_EXTENSIONS = {
    "png": (".png",),
    "jpeg": (".jpg", ".jpeg"),
    "gif": (".gif",),
    "webp": (".webp",),
    "bmp": (".bmp",),
    "tiff": (".tif", ".tiff"),
    "heic": (".heic", ".heif"),
    "avif": (".avif",),
    "svg": (".svg",),
}


def make_checker(rules: FormatRules, limits: Limits, *, dataset_bucket: str | None = None) -> RecordChecker:
    """The checker for one file of a (model, customization type)."""
    if rules.data_format == PROMPT_COMPLETION:
        return TextFieldsChecker((("prompt", limits.prompt_tokens), ("completion", limits.completion_tokens)))
    if rules.data_format == CONTINUED_PRE_TRAINING_FORMAT:
        return TextFieldsChecker((("input", None),))
    if rules.data_format == IMAGE_CAPTION:
        return ImageCaptionChecker(rules)
    if rules.data_format == CLAUDE_3_HAIKU_MESSAGES:
        return HaikuMessagesChecker()
    if rules.data_format == CONVERSATION:
        return ConversationChecker(rules, dataset_bucket)
    raise ValueError(f"no checker for data format {rules.data_format!r}")


# --- shared helpers -----------------------------------------------------------------------------


def json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def text_problem(field: str, value: object, present: bool, *, empty_allowed: bool = False) -> Issue | None:
    """Why ``value`` is not a usable text field, or None."""
    if not present:
        return Issue(codes.MISSING_FIELD, field, f"missing required field {field!r}")
    if not isinstance(value, str):
        return Issue(codes.WRONG_TYPE, field, f"{field} must be a string, got {json_type(value)}")
    if not empty_allowed and (not value or value.isspace()):
        what = "is empty" if not value else "contains only whitespace"
        return Issue(codes.EMPTY_VALUE, field, f"{field} {what}")
    return None


def wrong_type(field: str, expected: str, value: object) -> Issue:
    return Issue(codes.WRONG_TYPE, field, f"{field} must be {expected}, got {json_type(value)}")


def missing_or_wrong_type(field: str, expected: str, value: object, present: bool) -> Issue:
    if not present:
        return Issue(codes.MISSING_FIELD, field, f"missing required field {field.rsplit('.', 1)[-1]!r}")
    return wrong_type(field, expected, value)


def token_problem(
    field: str | None, size: int, limit: int | None, media_tokens: tuple[int, int] = NO_MEDIA_TOKENS
) -> Issue | None:
    """For ``size`` bytes (plus the images' tokens, lenient and conservative): an error when
    even the guide's ratio exceeds the limit, a warning when only the strict one does."""
    if limit is None:
        return None
    tokens = estimate_tokens(size) + media_tokens[1]
    if tokens <= limit:
        return None
    what = field or "record"
    at_least = guide_tokens(size) + media_tokens[0]
    basis = f"{size:,} bytes" + (" and its images" if media_tokens[1] else "")
    if at_least > limit:
        return Issue(
            codes.TOO_MANY_TOKENS,
            field,
            f"{what} has about {at_least:,}-{tokens:,} tokens (estimated from {basis}), "
            f"over the limit of {limit:,}",
        )
    return Issue(
        codes.MAY_EXCEED_TOKEN_LIMIT,
        field,
        f"{what} may exceed the limit of {limit:,} tokens: estimated {at_least:,}-{tokens:,} tokens "
        f"from {basis} (the exact count depends on the tokenizer)",
        warning=True,
    )


def unknown_fields(record: dict[str, Any], allowed: frozenset[str], prefix: str = "") -> list[Issue]:
    return [
        Issue(
            codes.UNKNOWN_FIELD,
            f"{prefix}{key}",
            f"unexpected field {key!r}: Bedrock ignores or rejects it",
            True,
        )
        for key in record
        if key not in allowed
    ]


def add(issues: list[Issue] | None, issue: Issue | None) -> list[Issue] | None:
    if issue is None:
        return issues
    if issues is None:
        return [issue]
    issues.append(issue)
    return issues


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


# --- flat text formats: prompt/completion and continued pre-training ---------------------------


class TextFieldsChecker:
    """Records made of required string fields, e.g. ``{"prompt", "completion"}`` or ``{"input"}``."""

    media_tokens = NO_MEDIA_TOKENS

    def __init__(self, fields: tuple[tuple[str, int | None], ...]) -> None:
        self.fields = fields  # (name, token limit of the field or None)
        self.allowed = frozenset(name for name, _ in fields)

    def __call__(self, record: dict[str, Any]) -> RecordResult:
        issues: list[Issue] | None = None
        characters = 0
        ascii = True
        for name, limit in self.fields:
            value = record.get(name)
            if type(value) is not str or not value or value.isspace():
                issues = add(issues, text_problem(name, value, name in record))
                if type(value) is not str:
                    continue
            characters += len(value)
            ascii = ascii and value.isascii()
            if limit is not None:
                issues = add(issues, token_problem(name, utf8_length(value), limit))
        # With every field valid, an extra key is the only way the sizes can differ.
        if issues is not None or len(record) != len(self.fields):
            for issue in unknown_fields(record, self.allowed):
                issues = add(issues, issue)
        return characters, ascii, issues


# --- image models: {"image-ref", "caption"} ----------------------------------------------------


class ImageCaptionChecker:
    allowed = frozenset(("image-ref", "caption"))
    media_tokens = NO_MEDIA_TOKENS

    def __init__(self, rules: FormatRules) -> None:
        self.max_caption_chars = rules.max_caption_chars
        self.min_caption_chars = rules.min_caption_chars
        self.empty_caption_allowed = rules.empty_caption_allowed
        self.image_formats = rules.image_formats
        self.accepted_extensions = tuple(
            extension for name in rules.image_formats for extension in IMAGE_EXTENSIONS[name]
        )

    def __call__(self, record: dict[str, Any]) -> RecordResult:
        issues: list[Issue] | None = None
        image_ref = record.get("image-ref")
        problem = text_problem("image-ref", image_ref, "image-ref" in record)
        if problem is None and isinstance(image_ref, str):
            try:
                _, key = parse_s3_uri(image_ref)
            except ValueError as exc:
                problem = Issue(codes.INVALID_S3_URI, "image-ref", str(exc))
            else:
                problem = self._image_format_problem(image_ref, key.lower())
        issues = add(issues, problem)
        caption = record.get("caption")
        issues = add(
            issues,
            text_problem("caption", caption, "caption" in record, empty_allowed=self.empty_caption_allowed),
        )
        if not isinstance(caption, str):
            caption = ""
        if self.max_caption_chars is not None and len(caption) > self.max_caption_chars:
            issues = add(
                issues,
                Issue(
                    codes.VALUE_TOO_LONG,
                    "caption",
                    f"caption has {len(caption):,} characters, over the limit of {self.max_caption_chars:,}",
                ),
            )
        if self.min_caption_chars is not None and 0 < len(caption) < self.min_caption_chars:
            issues = add(
                issues,
                Issue(
                    codes.VALUE_TOO_SHORT,
                    "caption",
                    f"caption has {len(caption):,} characters; this model needs at least "
                    f"{self.min_caption_chars:,}",
                ),
            )
        if not record.keys() <= self.allowed:
            for issue in unknown_fields(record, self.allowed):
                issues = add(issues, issue)
        return len(caption), caption.isascii(), issues

    def _image_format_problem(self, image_ref: str, key: str) -> Issue | None:
        """An error for an image format the model refuses; a warning when the name tells none."""
        if key.endswith(self.accepted_extensions):
            return None
        accepted = " or ".join(name.upper() for name in self.image_formats)
        for name, extensions in IMAGE_EXTENSIONS.items():
            if key.endswith(extensions):
                return Issue(
                    codes.UNSUPPORTED_MEDIA_FORMAT,
                    "image-ref",
                    f"{image_ref!r} is a {name.upper()} image; this model takes {accepted} images only",
                )
        shown = ", ".join(ext for name in self.image_formats for ext in IMAGE_EXTENSIONS[name])
        return Issue(
            codes.UNEXPECTED_MEDIA_TYPE,
            "image-ref",
            f"{image_ref!r} does not end in {shown}: images must be {accepted}",
            warning=True,
        )


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
                roles.append(_role(message, path, issues))
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


def _role(message: dict[str, Any], path: str, issues: list[Issue]) -> str | None:
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


# --- bedrock-conversation-2024 ----------------------------------------------------------------


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
        role = _role(message, path, issues)
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
