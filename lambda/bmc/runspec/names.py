"""Run ids and the names of everything a run creates.

Names derive from the run id (docs/workflow.md), so a retried Lambda reuses them and
Bedrock's idempotency and name uniqueness work for us.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Execution names: Step Functions allows more, but the run id also appears in S3 keys, tag
# values and resource names, whose patterns are stricter.
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")

# Name lengths: Bedrock names are at most 63 characters; the longest suffix is 6.
MAX_NAME_LENGTH = 63
_LONGEST_SUFFIX = len("-model")
_RUN_SLUG_LENGTH = 30
_RUN_HASH_LENGTH = 10
MANIFEST_SLUG_LENGTH = 30
MANIFEST_HASH_LENGTH = 16

# --- run ids and names -------------------------------------------------------------------------


def run_id_problem(run_id: str) -> str | None:
    """Why ``run_id`` cannot name a run (it appears in S3 keys, tags and resource names), or None."""
    if RUN_ID_PATTERN.fullmatch(run_id):
        return None
    return (
        f"the run id (execution name) {run_id!r} must be 1-80 characters: letters, digits, '.', '_' or '-', "
        "starting with a letter or digit"
    )


def slug(text: str, max_length: int) -> str:
    """Lowercase letters and digits joined by single hyphens, cut to ``max_length``."""
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return words[:max_length].rstrip("-")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def manifest_stem(key: str) -> str:
    """The manifest's file name without ``.json``: the default run name of an S3 run."""
    name = key.rsplit("/", 1)[-1]
    return name[: -len(".json")] if name.lower().endswith(".json") else name


def manifest_run_id(bucket: str, key: str, version_id: str | None) -> str:
    """``m-<slug of the file name>-<16 hex of sha256(bucket/key#versionId)>`` (docs/workflow.md)."""
    digest = _sha256(f"{bucket}/{key}#{version_id or ''}")[:MANIFEST_HASH_LENGTH]
    return f"m-{slug(manifest_stem(key), MANIFEST_SLUG_LENGTH) or 'manifest'}-{digest}"


@dataclass(frozen=True, slots=True)
class RunNames:
    """Names of everything a run creates; deterministic, so retries reuse them."""

    stem: str

    @property
    def job_name(self) -> str:
        return f"{self.stem}-job"

    @property
    def custom_model_name(self) -> str:
        return f"{self.stem}-model"

    @property
    def client_request_token(self) -> str:
        return self.stem

    @property
    def provisioned_model_name(self) -> str:
        return f"{self.stem}-pt"

    @property
    def deployment_name(self) -> str:
        return f"{self.stem}-serve"

    @property
    def schedule_name(self) -> str:
        return f"{self.stem}-ttl"

    def to_dict(self) -> dict[str, str]:
        return {
            "jobName": self.job_name,
            "customModelName": self.custom_model_name,
            "clientRequestToken": self.client_request_token,
            "provisionedModelName": self.provisioned_model_name,
            "deploymentName": self.deployment_name,
            "scheduleName": self.schedule_name,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunNames:
        return cls(str(data["clientRequestToken"]))


def derive_names(prefix: str, run_id: str, run_name: str) -> RunNames:
    """``<prefix>-<slug(runName)>-<10 hex of sha256(runId)>``, the stem of every name.

    The slug takes up to 30 characters, fewer when a long prefix would push the longest name
    (``<stem>-model``) past Bedrock's 63.
    """
    room = MAX_NAME_LENGTH - _LONGEST_SUFFIX - len(prefix) - 2 - _RUN_HASH_LENGTH
    run_slug = slug(run_name, max(1, min(_RUN_SLUG_LENGTH, room))) or "run"
    return RunNames(f"{prefix}-{run_slug}-{_sha256(run_id)[:_RUN_HASH_LENGTH]}")
