"""What a validation run returns: per-dataset statistics and lineage, and the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bmc.findings import Finding, FindingGroup
from bmc.validation.tokens import TokenStats


@dataclass(frozen=True, slots=True)
class SourceLineage:
    """Which bytes were validated: enough to prove later that a job trained on these exact bytes."""

    location: str
    size: int
    sha256: str | None  # of every byte read, in one pass with the validation
    version_id: str | None  # S3 object version (versioned buckets)
    etag: str | None
    records: int | None = None  # records read from this file (several validation files add up)

    def to_dict(self) -> dict[str, Any]:
        return {
            "uri": self.location,
            "size": self.size,
            "sha256": self.sha256,
            "versionId": self.version_id,
            "etag": self.etag,
            "records": self.records,
        }


@dataclass(slots=True)
class DatasetStats:
    """Totals for the training files or the validation files."""

    files: list[str] = field(default_factory=list)
    bytes: int = 0
    records: int = 0
    characters: int = 0
    tokens: TokenStats = field(default_factory=TokenStats)
    sources: list[SourceLineage] = field(default_factory=list)
    complete: bool = True  # every file was read to its end

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "files": list(self.files),
            "bytes": self.bytes,
            "records": self.records,
            "characters": self.characters,
            "estimated_tokens": self.tokens.to_dict(),
            "sources": [source.to_dict() for source in self.sources],
        }
        # One file (always so for training): its lineage at the dataset's level too.
        only = self.sources[0] if len(self.files) == 1 and len(self.sources) == 1 else None
        data["sha256"] = only.sha256 if only else None
        data["versionId"] = only.version_id if only else None
        data["etag"] = only.etag if only else None
        data["size"] = only.size if only else None
        return data


@dataclass(slots=True)
class ValidationReport:
    model_id: str
    customization_type: str
    errors: list[Finding]  # the first occurrence of each listed group
    warnings: list[Finding]
    error_counts: dict[str, int]
    warning_counts: dict[str, int]
    stats: dict[str, Any]
    estimate: dict[str, Any] | None
    hyperparameters: dict[str, str]  # the rendered map for Bedrock (defaults filled)
    error_groups: list[FindingGroup] = field(default_factory=list)
    warning_groups: list[FindingGroup] = field(default_factory=list)
    acknowledged_groups: list[FindingGroup] = field(default_factory=list)
    acknowledged_counts: dict[str, int] = field(default_factory=dict)
    hints: list[dict[str, str]] = field(default_factory=list)  # {"file", "message"}
    unreadable: bool = False  # an input could not be read: the check did not happen

    @property
    def valid(self) -> bool:
        return not self.error_counts

    def to_dict(self) -> dict[str, Any]:
        """Exactly the ``bmc validate --json`` object."""
        return {
            "valid": self.valid,
            "errors": [group.to_dict() for group in self.error_groups],
            "warnings": [group.to_dict() for group in self.warning_groups],
            "acknowledged": [group.to_dict() for group in self.acknowledged_groups],
            "hints": list(self.hints),
            "stats": self.stats,
            "estimate": self.estimate,
        }
