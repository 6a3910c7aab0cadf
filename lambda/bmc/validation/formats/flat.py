"""Checkers of flat records: string fields (prompt/completion, continued pre-training's
``input``) and image captions (``{"image-ref", "caption"}``)."""

from __future__ import annotations

from typing import Any

from bmc.aws.s3io import parse_s3_uri
from bmc.catalog.models import FormatRules
from bmc.validation import codes
from bmc.validation.formats.common import (
    NO_MEDIA_TOKENS,
    Issue,
    RecordResult,
    add,
    text_problem,
    token_problem,
    unknown_fields,
)
from bmc.validation.tokens import utf8_length

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
