"""Snapshots: a run-scoped, write-once copy of exactly the dataset version that was validated.

A dataset may change between ValidateDatasets and the job reading it; the job then trains on
data nobody validated. So the run trains on a copy: ``snapshots/<runId>/<role>.jsonl`` in the
datasets bucket, copied server side from the version ValidateDatasets read (``CopySource``
with its ``VersionId``, and ``CopySourceIfMatch`` on its ETag), never from whatever the key
holds now. Objects up to 5 GB are copied with CopyObject (S3 also computes the copy's SHA-256,
checked against the validator's digest); larger ones part by part with UploadPartCopy.

Every write is conditional (``If-None-Match: *``), so a snapshot is written once: a retried
copy finds its own earlier copy (same source version in its metadata) and reuses it; any other
object under the key is a SnapshotConflict. The bucket policy lets no other principal write or
delete under ``snapshots/`` (docs/decisions.md, "Lineage").
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bmc.aws.s3io import parse_s3_uri
from bmc.errors import DatasetChanged, SnapshotConflict, SnapshotUnavailable

SINGLE_COPY_LIMIT = 5 * 1024**3  # CopyObject copies objects up to 5 GB
PART_SIZE = 512 * 1024**2  # 10 GB: 20 parts
MAX_PARTS = 10_000  # UploadPartCopy's PartNumber: 1 to 10,000
COPY_THREADS = 8
CONTENT_TYPE = "application/jsonl"
# User metadata of a snapshot (x-amz-meta-*): what it is a copy of.
META_RUN = "bmc-run-id"
META_SOURCE = "bmc-source-uri"
META_VERSION = "bmc-source-version-id"
META_ETAG = "bmc-source-etag"
META_SHA256 = "bmc-sha256"

_MISSING = frozenset({"NoSuchKey", "NoSuchVersion", "404", "NotFound", "InvalidArgument"})
_PRECONDITION = frozenset({"PreconditionFailed", "412"})
_TRANSIENT = frozenset({"SlowDown", "InternalError", "ServiceUnavailable", "503", "500", "RequestTimeout"})


@dataclass(frozen=True, slots=True)
class SnapshotTarget:
    """One dataset to snapshot, as ValidateDatasets recorded it."""

    uri: str
    version_id: str | None
    etag: str | None
    size: int | None
    sha256: str | None
    snapshot_uri: str

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> SnapshotTarget:
        size = entry.get("size")
        return cls(
            uri=str(entry["uri"]),
            version_id=entry.get("versionId") or None,
            etag=entry.get("etag") or None,
            size=size if isinstance(size, int) and not isinstance(size, bool) else None,
            sha256=entry.get("sha256") or None,
            snapshot_uri=str(entry["snapshotUri"]),
        )


@dataclass(frozen=True, slots=True)
class SnapshotResult:
    snapshot_version_id: str | None
    current_version_id: str | None  # what the source key holds now (None: deleted)
    changed: bool  # the source key moved on since validation
    method: str  # "copy", "multipart" or "existing" (a retry found its own copy)
    checksum_verified: bool  # S3's SHA-256 of the copy equals the validator's digest
    copy_sha256: str | None = None  # S3's SHA-256 of the copy (hex), for a file nobody digested

    def fields(self) -> dict[str, Any]:
        """What the lineage entry gains."""
        data: dict[str, Any] = {
            "snapshotVersionId": self.snapshot_version_id,
            "changedAfterValidation": self.changed,
            "snapshotMethod": self.method,
            "checksumVerified": self.checksum_verified,
        }
        if self.changed:
            data["currentVersionId"] = self.current_version_id
        if self.copy_sha256 is not None:
            data["sha256"] = self.copy_sha256
            data["sha256From"] = "s3-copy-checksum"
        return data


def copy_parts(size: int, part_size: int) -> list[tuple[int, str]]:
    """The parts of a multipart copy of ``size`` bytes: (PartNumber, CopySourceRange), numbered
    from 1, at most MAX_PARTS of them (parts grow past ``part_size`` when they must)."""
    part_size = max(part_size, math.ceil(size / MAX_PARTS))
    starts = range(0, size, part_size)
    return [
        (number, f"bytes={start}-{min(start + part_size, size) - 1}")
        for number, start in enumerate(starts, start=1)
    ]


def _code(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return str(error.get("Code") or status or "")


class Snapshotter:
    """Copies validated dataset versions into a run's snapshot prefix."""

    def __init__(
        self,
        s3_client: Any,
        *,
        run_id: str,
        kms_key_arn: str | None,
        single_copy_limit: int = SINGLE_COPY_LIMIT,
        part_size: int = PART_SIZE,
    ) -> None:
        self.s3 = s3_client
        self.run_id = run_id
        self.kms_key_arn = kms_key_arn
        self.single_copy_limit = single_copy_limit
        self.part_size = part_size

    def snapshot(self, target: SnapshotTarget) -> SnapshotResult:
        bucket, key = parse_s3_uri(target.snapshot_uri)
        try:
            existing = self._own_copy(bucket, key, target)
            if existing is not None:
                return existing
            current = self._current_version(target)
            size = target.size if target.size is not None else self._source_size(target)
            try:
                copy_sha256 = None
                if size <= self.single_copy_limit:
                    version, checksum = self._copy(bucket, key, target)
                    verified = checksum is not None and target.sha256 is not None
                    copy_sha256 = checksum if target.sha256 is None else None
                    method = "copy"
                else:
                    version, verified = self._multipart_copy(bucket, key, target, size), False
                    method = "multipart"
            except ClientError as exc:
                if _code(exc) in _PRECONDITION and self._own_copy(bucket, key, target) is not None:
                    return self._reused(bucket, key, target)  # a concurrent attempt wrote it first
                raise
        except ClientError as exc:
            raise self._classify(exc, target) from exc
        except BotoCoreError as exc:
            raise SnapshotUnavailable(f"copying {target.uri} to {target.snapshot_uri}: {exc}") from exc
        recorded = (target.version_id, target.etag)
        changed = recorded not in ((None, None), current)
        return SnapshotResult(version, current[0], changed, method, verified, copy_sha256)

    # -- the copy -----------------------------------------------------------------------------

    def _source(self, target: SnapshotTarget) -> dict[str, str]:
        bucket, key = parse_s3_uri(target.uri)
        source = {"Bucket": bucket, "Key": key}
        if target.version_id:
            source["VersionId"] = target.version_id
        return source

    def _conditions(self, target: SnapshotTarget) -> dict[str, str]:
        """The copy reads the validated bytes or nothing: the recorded version, and its ETag
        (the only guard left in a bucket that keeps no versions)."""
        return {"CopySourceIfMatch": f'"{target.etag}"'} if target.etag else {}

    def _destination(self, target: SnapshotTarget) -> dict[str, Any]:
        metadata = {META_RUN: self.run_id, META_SOURCE: target.uri}
        if target.version_id:
            metadata[META_VERSION] = target.version_id
        if target.etag:
            metadata[META_ETAG] = target.etag
        if target.sha256:
            metadata[META_SHA256] = target.sha256
        request: dict[str, Any] = {"Metadata": metadata, "ContentType": CONTENT_TYPE}
        if self.kms_key_arn:
            request.update(
                ServerSideEncryption="aws:kms", SSEKMSKeyId=self.kms_key_arn, BucketKeyEnabled=True
            )
        return request

    def _copy(self, bucket: str, key: str, target: SnapshotTarget) -> tuple[str | None, str | None]:
        """The copy's version and S3's SHA-256 of it (hex; None when S3 gave none), which must be
        the validator's digest when there is one."""
        response = self.s3.copy_object(
            Bucket=bucket,
            Key=key,
            CopySource=self._source(target),
            MetadataDirective="REPLACE",
            IfNoneMatch="*",
            ChecksumAlgorithm="SHA256",
            **self._conditions(target),
            **self._destination(target),
        )
        encoded = (response.get("CopyObjectResult") or {}).get("ChecksumSHA256")
        checksum = base64.b64decode(encoded).hex() if encoded else None
        if checksum and target.sha256 and checksum != target.sha256:
            raise DatasetChanged(
                f"the copy of {target.uri} (version {target.version_id}) has SHA-256 {checksum}, "
                f"not the validated {target.sha256}"
            )
        return response.get("VersionId"), checksum

    def _multipart_copy(self, bucket: str, key: str, target: SnapshotTarget, size: int) -> str | None:
        upload = self.s3.create_multipart_upload(Bucket=bucket, Key=key, **self._destination(target))
        upload_id = upload["UploadId"]

        def copy_part(numbered: tuple[int, str]) -> dict[str, Any]:
            number, byte_range = numbered
            part = self.s3.upload_part_copy(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                CopySource=self._source(target),
                CopySourceRange=byte_range,
                **self._conditions(target),
            )
            return {"PartNumber": number, "ETag": part["CopyPartResult"]["ETag"]}

        try:
            with ThreadPoolExecutor(max_workers=COPY_THREADS) as pool:
                parts = list(pool.map(copy_part, copy_parts(size, self.part_size)))
            response = self.s3.complete_multipart_upload(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
                IfNoneMatch="*",
            )
        except Exception:
            self.s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            raise
        version: str | None = response.get("VersionId")
        return version

    # -- what is there already ----------------------------------------------------------------

    def _own_copy(self, bucket: str, key: str, target: SnapshotTarget) -> SnapshotResult | None:
        """The snapshot an earlier attempt wrote, or None when the key is free; SnapshotConflict
        when it holds anything else."""
        try:
            head = self.s3.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise
        metadata = head.get("Metadata") or {}
        same = metadata.get(META_RUN) == self.run_id and metadata.get(META_SOURCE) == target.uri
        same = same and metadata.get(META_VERSION) == target.version_id
        same = same and metadata.get(META_ETAG) == target.etag
        if not same:
            raise SnapshotConflict(
                f"{target.snapshot_uri} already holds an object that is not this run's copy of {target.uri} "
                f"version {target.version_id}; snapshots are never overwritten"
            )
        return SnapshotResult(head.get("VersionId"), None, False, "existing", False)

    def _reused(self, bucket: str, key: str, target: SnapshotTarget) -> SnapshotResult:
        found = self._own_copy(bucket, key, target)
        assert found is not None
        return found

    def _current_version(self, target: SnapshotTarget) -> tuple[str | None, str | None]:
        """(VersionId, ETag) the source key holds now; (None, None) when it was deleted."""
        bucket, key = parse_s3_uri(target.uri)
        try:
            head = self.s3.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None, None
            raise
        etag = head.get("ETag")
        return head.get("VersionId"), etag.strip('"') if isinstance(etag, str) else None

    def _source_size(self, target: SnapshotTarget) -> int:
        bucket, key = parse_s3_uri(target.uri)
        request = {"Bucket": bucket, "Key": key}
        if target.version_id:
            request["VersionId"] = target.version_id
        return int(self.s3.head_object(**request)["ContentLength"])

    def _classify(self, exc: ClientError, target: SnapshotTarget) -> BaseException:
        code = _code(exc)
        version = f"version {target.version_id}" if target.version_id else f"ETag {target.etag}"
        if code in _MISSING or code in _PRECONDITION:
            return DatasetChanged(
                f"{target.uri} {version}, the one validated, can no longer be read ({code}); "
                "the run does not train on any other bytes: start it again to validate the data as it is now"
            )
        if code in _TRANSIENT:
            return SnapshotUnavailable(f"copying {target.uri} to {target.snapshot_uri}: {code}")
        unclassified: BaseException = exc  # anything else is the run's error as S3 gave it
        return unclassified


def purge_snapshots(s3_client: Any, bucket: str, run_id: str) -> int:
    """Delete every version of a run's snapshots (``DELETE ...?purgeData=true``); returns how many.

    Versions, not just the current objects: a delete marker would leave the bytes in the
    versioned bucket for another 90 days.
    """
    from bmc.lineage.datasets import snapshot_prefix

    prefix = snapshot_prefix(run_id)
    deleted = 0
    paginator = s3_client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        objects = [
            {"Key": item["Key"], "VersionId": item["VersionId"]}
            for kind in ("Versions", "DeleteMarkers")
            for item in page.get(kind, [])
            if str(item.get("Key", "")).startswith(prefix)
        ]
        for start in range(0, len(objects), 1000):
            batch = objects[start : start + 1000]
            response = s3_client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            errors = response.get("Errors") or []
            if errors:
                first = errors[0]
                raise SnapshotUnavailable(
                    f"{len(errors)} snapshot versions of run {run_id} were not deleted: "
                    f"{first.get('Key')}: {first.get('Code')}"
                )
            deleted += len(batch)
    return deleted
