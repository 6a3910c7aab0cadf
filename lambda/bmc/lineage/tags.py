"""The lineage facts mirrored on the job's and the custom model's tags.

Tags travel with the model wherever it is listed (console, ListCustomModels, cost reports),
so the model itself says which bytes trained it. Bedrock allows 50 tags per resource, keys of
at most 128 and values of at most 256 characters of ``[a-zA-Z0-9\\s._:/=+@-]``: the user's
tags come first, then the workflow's, then as many lineage tags as fit, in this order
(docs/run-spec.md, "Tags"). A value outside the pattern (an S3 version id can hold other
characters) is left to the registry, which records everything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bmc.lineage.datasets import EVALUATION, TRAINING, VALIDATION, recorded_datasets, snapshot_prefix

MAX_TAGS = 50
MAX_VALUE_LENGTH = 256
_TAG_VALUE = re.compile(r"[a-zA-Z0-9\s._:/=+@-]*")

TRAINING_SHA256 = "bmc:trainingSha256"
TRAINING_VERSION = "bmc:trainingVersionId"
SNAPSHOT = "bmc:snapshot"
PARENT_RUN = "bmc:parentRunId"


def _valid(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_VALUE_LENGTH and bool(_TAG_VALUE.fullmatch(value))


def lineage_tags(
    lineage: Mapping[str, Any], *, run_id: str, datasets_bucket: str, room: int
) -> dict[str, str]:
    """Up to ``room`` lineage tags, most telling first."""
    candidates: list[tuple[str, Any]] = []
    files = recorded_datasets(lineage)
    training = next((entry for role, _, entry in files if role == TRAINING), {})
    candidates += [(TRAINING_SHA256, training.get("sha256")), (TRAINING_VERSION, training.get("versionId"))]
    candidates.append((SNAPSHOT, f"s3://{datasets_bucket}/{snapshot_prefix(run_id)}"))
    candidates.append((PARENT_RUN, lineage.get("parentRunId")))
    for role, index, entry in files:
        if role == VALIDATION:
            key = f"bmc:validation{index + 1 if index else ''}Sha256"
        elif role == EVALUATION:
            key = "bmc:evaluationSha256"
        else:
            continue
        candidates.append((key, entry.get("sha256")))
    tags: dict[str, str] = {}
    for key, value in candidates:
        if len(tags) >= room:
            break
        if _valid(value):
            tags[key] = str(value)
    return tags


def room_for_lineage(user_tags: int, workflow_tags: int) -> int:
    return max(MAX_TAGS - user_tags - workflow_tags, 0)
