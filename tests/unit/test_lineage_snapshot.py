"""Snapshots: the validated version, copied once, whatever happened to the source since."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from bmc.errors import DatasetChanged, SnapshotConflict
from bmc.lineage.snapshot import SnapshotTarget, Snapshotter, purge_snapshots

from tests.unit.workflow_support import DATASETS_BUCKET, Cloud, local_cloud

MIB = 1024 * 1024
SOURCE = f"s3://{DATASETS_BUCKET}/data/source.jsonl"
SNAPSHOT = f"s3://{DATASETS_BUCKET}/snapshots/run-1/training.jsonl"


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    with local_cloud(with_datasets=False) as created:
        yield created


def put(cloud: Cloud, body: bytes, key: str = "data/source.jsonl") -> dict[str, Any]:
    response: dict[str, Any] = cloud.s3.put_object(Bucket=DATASETS_BUCKET, Key=key, Body=body)
    return response


def target(put_response: dict[str, Any], body: bytes, **overrides: Any) -> SnapshotTarget:
    fields: dict[str, Any] = {
        "uri": SOURCE,
        "version_id": put_response.get("VersionId"),
        "etag": put_response["ETag"].strip('"'),
        "size": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
        "snapshot_uri": SNAPSHOT,
    }
    fields.update(overrides)
    return SnapshotTarget(**fields)


def snapshotter(cloud: Cloud, **options: Any) -> Snapshotter:
    return Snapshotter(cloud.s3, run_id="run-1", kms_key_arn=None, **options)


def read(cloud: Cloud, uri: str = SNAPSHOT) -> bytes:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    body: bytes = cloud.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def test_the_validated_version_is_copied_even_after_the_source_changed(cloud: Cloud) -> None:
    validated = b'{"a": 1}\n'
    first = put(cloud, validated)
    newer = put(cloud, b'{"a": 2}\n')  # overwritten after validation
    result = snapshotter(cloud).snapshot(target(first, validated))
    assert read(cloud) == validated
    assert (result.method, result.changed, result.current_version_id) == ("copy", True, newer["VersionId"])
    assert result.checksum_verified  # S3's SHA-256 of the copy is the validator's digest
    head = cloud.s3.head_object(Bucket=DATASETS_BUCKET, Key="snapshots/run-1/training.jsonl")
    assert head["VersionId"] == result.snapshot_version_id
    assert head["Metadata"]["bmc-source-version-id"] == first["VersionId"]
    assert head["Metadata"]["bmc-sha256"] == hashlib.sha256(validated).hexdigest()
    assert result.fields()["currentVersionId"] == newer["VersionId"]


def test_a_file_nobody_digested_gets_s3s_digest_of_its_copy(cloud: Cloud) -> None:
    """The evaluation test set: its check records the version it read (not the whole file when it
    stops at maxRecords), the copy digests it."""
    from bmc.evaluation.dataset import read_test_set

    body = b'{"prompt": "p", "referenceResponse": "r"}\n'
    put(cloud, body)
    recorded = read_test_set(SOURCE, s3_client=cloud.s3).source()
    result = snapshotter(cloud).snapshot(
        SnapshotTarget(SOURCE, recorded["versionId"], recorded["etag"], recorded["size"], None, SNAPSHOT)
    )
    fields = result.fields()
    assert (fields["sha256"], fields["sha256From"]) == (hashlib.sha256(body).hexdigest(), "s3-copy-checksum")
    assert fields["checksumVerified"] is False  # nothing to compare with


def test_a_retry_reuses_its_own_copy_and_never_writes_twice(cloud: Cloud) -> None:
    body = b'{"a": 1}\n'
    source = put(cloud, body)
    first = snapshotter(cloud).snapshot(target(source, body))
    again = snapshotter(cloud).snapshot(target(source, body))
    assert (again.method, again.snapshot_version_id) == ("existing", first.snapshot_version_id)
    versions = cloud.s3.list_object_versions(Bucket=DATASETS_BUCKET, Prefix="snapshots/")["Versions"]
    assert len(versions) == 1


def test_another_object_under_the_snapshot_key_is_never_overwritten(cloud: Cloud) -> None:
    body = b'{"a": 1}\n'
    source = put(cloud, body)
    put(cloud, b"something else\n", key="snapshots/run-1/training.jsonl")
    with pytest.raises(SnapshotConflict, match="never overwritten"):
        snapshotter(cloud).snapshot(target(source, body))


def test_a_conditional_copy_refuses_an_existing_destination(cloud: Cloud) -> None:
    """S3's If-None-Match on CopyObject (enforced by the local cloud as by S3)."""
    body = b'{"a": 1}\n'
    put(cloud, body)
    put(cloud, b"taken\n", key="snapshots/run-1/training.jsonl")
    with pytest.raises(Exception, match="PreconditionFailed"):
        cloud.s3.copy_object(
            Bucket=DATASETS_BUCKET,
            Key="snapshots/run-1/training.jsonl",
            CopySource={"Bucket": DATASETS_BUCKET, "Key": "data/source.jsonl"},
            IfNoneMatch="*",
        )


def test_a_version_that_is_gone_fails_the_run_rather_than_train_other_bytes(cloud: Cloud) -> None:
    body = b'{"a": 1}\n'
    source = put(cloud, body)
    put(cloud, b'{"a": 2}\n')
    cloud.s3.delete_object(Bucket=DATASETS_BUCKET, Key="data/source.jsonl", VersionId=source["VersionId"])
    with pytest.raises(DatasetChanged, match="the one validated, can no longer be read"):
        snapshotter(cloud).snapshot(target(source, body))


def test_without_a_version_the_etag_guards_the_bytes(cloud: Cloud) -> None:
    body = b'{"a": 1}\n'
    source = put(cloud, body)
    put(cloud, b'{"a": 2}\n')
    with pytest.raises(DatasetChanged):
        snapshotter(cloud).snapshot(target(source, body, version_id=None))


def test_a_digest_that_does_not_match_the_copy_is_refused(cloud: Cloud) -> None:
    body = b'{"a": 1}\n'
    source = put(cloud, body)
    with pytest.raises(DatasetChanged, match="not the validated"):
        snapshotter(cloud).snapshot(target(source, body, sha256=hashlib.sha256(b"other").hexdigest()))


def test_large_objects_are_copied_part_by_part_from_the_recorded_version(cloud: Cloud) -> None:
    validated = b"".join(f'{{"line": {i:09d}}}\n'.encode() for i in range(11 * MIB // 18))
    source = put(cloud, validated)
    put(cloud, b"newer\n")
    copier = snapshotter(cloud, single_copy_limit=5 * MIB, part_size=5 * MIB)
    result = copier.snapshot(target(source, validated))
    assert result.method == "multipart" and result.changed
    assert read(cloud) == validated
    head = cloud.s3.head_object(Bucket=DATASETS_BUCKET, Key="snapshots/run-1/training.jsonl", PartNumber=1)
    assert head["PartsCount"] == 3


def test_a_purge_deletes_every_version_of_a_runs_snapshots_only(cloud: Cloud) -> None:
    body = b'{"a": 1}\n'
    source = put(cloud, body)
    snapshotter(cloud).snapshot(target(source, body))
    put(cloud, b"other run\n", key="snapshots/run-10/training.jsonl")
    assert purge_snapshots(cloud.s3, DATASETS_BUCKET, "run-1") == 1
    left = cloud.s3.list_object_versions(Bucket=DATASETS_BUCKET, Prefix="snapshots/")
    assert [v["Key"] for v in left.get("Versions", [])] == ["snapshots/run-10/training.jsonl"]
    assert "DeleteMarkers" not in left
