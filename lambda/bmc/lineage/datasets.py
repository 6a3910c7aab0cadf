"""The datasets of a run as they were validated, and where their snapshots go.

A run's datasets are its training file, its validation files and, when the spec has an
evaluation, its test set. ValidateDatasets reads each once and records, per file, the S3
version it read, the ETag, the size, the record count and the SHA-256 of every byte read
(the validator computes it in the same streaming pass). The snapshot of each file is a
run-scoped key of the datasets bucket, known before it exists:
``snapshots/<runId>/training.jsonl``, ``validation-<n>.jsonl``, ``evaluation.jsonl``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bmc.tenancy import SNAPSHOTS_PREFIX

TRAINING = "training"
VALIDATION = "validation"
EVALUATION = "evaluation"
ROLES = (TRAINING, VALIDATION, EVALUATION)


def snapshot_prefix(run_id: str) -> str:
    return f"{SNAPSHOTS_PREFIX}{run_id}/"


def snapshot_key(run_id: str, role: str, index: int = 0) -> str:
    """The run-scoped key of a dataset's snapshot (``index``: 0-based, validation files only)."""
    name = f"{VALIDATION}-{index + 1}" if role == VALIDATION else role
    return f"{snapshot_prefix(run_id)}{name}.jsonl"


def snapshot_uri(bucket: str, run_id: str, role: str, index: int) -> str:
    return f"s3://{bucket}/{snapshot_key(run_id, role, index)}"


@dataclass(frozen=True, slots=True)
class DatasetVersion:
    """One file of a run as validated: enough to prove later which bytes were trained on."""

    uri: str
    version_id: str | None
    etag: str | None
    size: int | None
    records: int | None
    sha256: str | None
    snapshot_uri: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "versionId": self.version_id,
            "etag": self.etag,
            "size": self.size,
            "records": self.records,
            "sha256": self.sha256,
            "snapshotUri": self.snapshot_uri,
        }


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _versions_of(
    role: str, section: Mapping[str, Any] | None, uris: Sequence[str], *, bucket: str, run_id: str
) -> list[DatasetVersion]:
    """The files of one role, matched to the validator's per-file ``sources`` by URI."""
    section = section or {}
    sources = {
        str(source.get("uri")): source
        for source in section.get("sources") or ()
        if isinstance(source, Mapping)
    }
    versions = []
    for index, uri in enumerate(uris):
        source = sources.get(uri, {})
        records = _int(source.get("records"))
        if records is None and len(uris) == 1:
            records = _int(section.get("records"))  # one file: the role's count is the file's
        versions.append(
            DatasetVersion(
                uri=uri,
                version_id=_text(source.get("versionId")),
                etag=_text(source.get("etag")),
                size=_int(source.get("size")),
                records=records,
                sha256=_text(source.get("sha256")),
                snapshot_uri=snapshot_uri(bucket, run_id, role, index),
            )
        )
    return versions


@dataclass(frozen=True, slots=True)
class RunDatasets:
    """Every dataset of a run, in the registry's ``lineage.datasets`` shape."""

    training: DatasetVersion
    validation: tuple[DatasetVersion, ...] = ()
    evaluation: DatasetVersion | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            TRAINING: self.training.to_dict(),
            VALIDATION: [version.to_dict() for version in self.validation],
        }
        if self.evaluation is not None:
            data[EVALUATION] = self.evaluation.to_dict()
        return data

    @classmethod
    def from_validation(
        cls,
        stats: Mapping[str, Any],
        *,
        training: str,
        validation: Sequence[str],
        evaluation: str | None,
        bucket: str,
        run_id: str,
    ) -> RunDatasets:
        """The datasets as ValidateDatasets read them (``stats``: the report's, with a section
        per role whose ``sources`` list each file's uri, versionId, etag, size, sha256, records)."""
        (train,) = _versions_of(TRAINING, stats.get(TRAINING), [training], bucket=bucket, run_id=run_id)
        checked = _versions_of(VALIDATION, stats.get(VALIDATION), validation, bucket=bucket, run_id=run_id)
        test = None
        if evaluation is not None:
            (test,) = _versions_of(
                EVALUATION, stats.get(EVALUATION), [evaluation], bucket=bucket, run_id=run_id
            )
        return cls(train, tuple(checked), test)


def recorded_datasets(lineage: Mapping[str, Any] | None) -> list[tuple[str, int, Mapping[str, Any]]]:
    """``(role, index, entry)`` of every dataset a record's ``lineage.datasets`` holds."""
    datasets = (lineage or {}).get("datasets") or {}
    found: list[tuple[str, int, Mapping[str, Any]]] = []
    for role in ROLES:
        value = datasets.get(role)
        entries = value if isinstance(value, list) else [value] if isinstance(value, Mapping) else []
        found += [(role, index, entry) for index, entry in enumerate(entries) if isinstance(entry, Mapping)]
    return found


def snapshot_taken(entry: Mapping[str, Any]) -> bool:
    """Whether SnapshotDatasets copied this dataset (``snapshotAt``; a bucket without versioning
    gives the copy no version id)."""
    return bool(entry.get("snapshotAt") and entry.get("snapshotUri"))


def snapshot_uris(lineage: Mapping[str, Any] | None, role: str) -> list[str]:
    """The snapshot URIs of one role recorded on a run (empty before SnapshotDatasets ran)."""
    return [
        str(entry["snapshotUri"])
        for found_role, _, entry in recorded_datasets(lineage)
        if found_role == role and snapshot_taken(entry)
    ]


def evaluation_test_data(spec: Mapping[str, Any]) -> str | None:
    """The test set of a normalized spec's evaluation, when it has one."""
    evaluation = spec.get("evaluation")
    test_data = evaluation.get("testData") if isinstance(evaluation, Mapping) else None
    return test_data if isinstance(test_data, str) else None
