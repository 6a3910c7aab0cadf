"""Record checkers, one per data format.

A checker takes one parsed JSON object and returns ``(characters, ascii, issues)``: the
characters of its text, whether all that text is ASCII (the validator's token estimate needs
to know, see ``bmc.validation.tokens``) and the problems found, None for a clean record (the
common case: no list is allocated). After a call, ``media_tokens`` holds the tokens the
record's images cost, (lenient, conservative), for models whose guide counts them. The
validator adds the file and line to each issue and checks the record's token estimate against
the per-record limit. Checkers are built per file from the catalog's format rules and limits,
so model differences are data, not code.

Modules: ``common`` (the issue, the checker protocol, the problems every format shares),
``flat`` (string fields and image captions), ``messages`` (role rules, Claude 3 Haiku) and
``conversation`` (bedrock-conversation-2024). The rest of validation imports from here.
"""

from __future__ import annotations

from bmc.catalog.models import (
    CLAUDE_3_HAIKU_MESSAGES,
    CONTINUED_PRE_TRAINING_FORMAT,
    CONVERSATION,
    IMAGE_CAPTION,
    PROMPT_COMPLETION,
    FormatRules,
    Limits,
)
from bmc.validation.formats.common import Issue, RecordChecker, add, json_type, token_problem
from bmc.validation.formats.conversation import SCHEMA_VERSION, ConversationChecker
from bmc.validation.formats.flat import ImageCaptionChecker, TextFieldsChecker
from bmc.validation.formats.messages import HaikuMessagesChecker

__all__ = [
    "SCHEMA_VERSION",
    "Issue",
    "RecordChecker",
    "add",
    "json_type",
    "make_checker",
    "token_problem",
]


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
