"""S3 URIs and validating datasets streamed from S3 (moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from bmc.aws.s3io import (
    SourceAccessError,
    bedrock_s3_uri_problem,
    check_bedrock_s3_uri,
    open_source,
    parse_s3_uri,
)
from bmc.validation import codes, validate_datasets
from bmc.validation.lines import CHUNK_BYTES
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.unit.fixtures_datasets import continued_pre_training, conversation, conversation_with_media

BUCKET = "datasets"
TITAN_LITE = "amazon.titan-text-lite-v1:0:4k"
NOVA_LITE = "amazon.nova-lite-v1:0:300k"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://bucket/key.jsonl", ("bucket", "key.jsonl")),
        ("s3://my.bucket-1/a/b/c.jsonl", ("my.bucket-1", "a/b/c.jsonl")),
        ("s3://bucket", ("bucket", "")),
        ("s3://bucket/", ("bucket", "")),
    ],
)
def test_parse_s3_uri(uri: str, expected: tuple[str, str]) -> None:
    assert parse_s3_uri(uri) == expected


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("bucket/key", "must start with 's3://'"),
        ("S3://bucket/key", "must start with 's3://'"),
        ("s3:///key", "no bucket"),
        ("s3://Bucket/key", "not a valid bucket name"),
        ("s3://ab/key", "not a valid bucket name"),
        ("s3://bucket..name/key", "not a valid bucket name"),
    ],
)
def test_parse_s3_uri_rejects(uri: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_s3_uri(uri)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("s3://bucket/my file.jsonl", "a space"),
        ("s3://bucket/run=1/train.jsonl", "'='"),
        ("s3://bucket/a+b.jsonl", "'+'"),
        ("s3://bucket/100%.jsonl", "'%'"),
        ("s3://bucket/caf\u00e9.jsonl", "'\u00e9'"),
        ("s3://bucket/a//b.jsonl", "empty path segment"),
        ("s3://bucket/" + "k" * 1100, "longer than 1024"),
        ("https://bucket/key", "must start with 's3://'"),
    ],
)
def test_uris_bedrock_refuses(uri: str, message: str) -> None:
    problem = bedrock_s3_uri_problem(uri)
    assert problem is not None
    assert message in problem
    with pytest.raises(ValueError, match=r"Bedrock|s3://|longer"):
        check_bedrock_s3_uri(uri)


def test_uris_bedrock_accepts() -> None:
    for uri in ("s3://bucket/train.jsonl", "s3://bucket/a/b_c-d.(1)!*'/x.jsonl", "s3://bucket/prefix/"):
        assert bedrock_s3_uri_problem(uri) is None
        assert check_bedrock_s3_uri(uri) == uri


@pytest.fixture(scope="module")
def s3() -> Iterator[Any]:
    # One mocked account for the module: starting moto per test would dominate the run time.
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def put_jsonl(client: Any, key: str, records: list[dict[str, Any]]) -> str:
    body = b"".join(json.dumps(record).encode() + b"\n" for record in records)
    client.put_object(Bucket=BUCKET, Key=key, Body=body)
    return f"s3://{BUCKET}/{key}"


def test_validates_a_dataset_streamed_from_s3(s3: Any) -> None:
    records = [continued_pre_training(i) for i in range(200)]
    records[41] = {"input": ""}
    uri = put_jsonl(s3, "train/data.jsonl", records)
    report = validate_datasets(
        model_id=TITAN_LITE, customization_type="CONTINUED_PRE_TRAINING", training=uri, s3_client=s3
    )
    assert [(f.file, f.line, f.code) for f in report.errors] == [(uri, 42, codes.EMPTY_VALUE)]
    size = s3.head_object(Bucket=BUCKET, Key="train/data.jsonl")["ContentLength"]
    assert report.stats["training"]["bytes"] == size
    assert report.stats["training"]["records"] == 200


def test_default_client_is_created_when_none_is_given(s3: Any) -> None:
    uri = put_jsonl(s3, "train.jsonl", [continued_pre_training(i) for i in range(3)])
    report = validate_datasets(model_id=TITAN_LITE, customization_type="CONTINUED_PRE_TRAINING", training=uri)
    assert report.valid


@pytest.mark.parametrize("uri", [f"s3://{BUCKET}/missing.jsonl", "s3://no-such-bucket/train.jsonl"])
def test_missing_object_is_a_finding(s3: Any, uri: str) -> None:
    report = validate_datasets(
        model_id=TITAN_LITE, customization_type="CONTINUED_PRE_TRAINING", training=uri, s3_client=s3
    )
    assert [(f.code, f.file, f.line) for f in report.errors] == [(codes.FILE_NOT_FOUND, uri, None)]


def test_uri_bedrock_refuses_is_reported_and_still_read(s3: Any) -> None:
    uri = put_jsonl(s3, "run=1/train.jsonl", [continued_pre_training(i) for i in range(3)] + [{"input": 1}])
    report = validate_datasets(
        model_id=TITAN_LITE, customization_type="CONTINUED_PRE_TRAINING", training=uri, s3_client=s3
    )
    assert [(f.code, f.line) for f in report.errors] == [(codes.INVALID_S3_URI, None), (codes.WRONG_TYPE, 4)]


@pytest.mark.parametrize("uri", [f"s3://{BUCKET}/", f"s3://{BUCKET}/prefix/", "s3://Bad_Bucket/x.jsonl"])
def test_uri_that_names_no_object(s3: Any, uri: str) -> None:
    report = validate_datasets(
        model_id=TITAN_LITE, customization_type="CONTINUED_PRE_TRAINING", training=uri, s3_client=s3
    )
    assert [f.code for f in report.errors] == [codes.INVALID_S3_URI]


def test_media_must_live_in_the_dataset_bucket(s3: Any) -> None:
    records = [conversation(i) for i in range(10)]
    records[2] = conversation_with_media(bucket=BUCKET)
    records[3] = conversation_with_media(bucket="elsewhere")
    uri = put_jsonl(s3, "train.jsonl", records)
    report = validate_datasets(
        model_id=NOVA_LITE, customization_type="FINE_TUNING", training=uri, s3_client=s3
    )
    assert [(f.code, f.line, f.field) for f in report.errors] == [
        (codes.MEDIA_OUTSIDE_DATASET_BUCKET, 4, "messages[0].content[0].image.source.s3Location.uri")
    ]


class _Body:
    """A streaming body that fails if anyone tries to read it whole."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0
        self.closed = False

    def read(self, amount: int | None = None) -> bytes:
        assert amount is not None and amount <= CHUNK_BYTES, "the validator must stream, not read everything"
        chunk = self.data[self.position : self.position + amount]
        self.position += len(chunk)
        return chunk

    def close(self) -> None:
        self.closed = True


class _StubClient:
    def __init__(self, body: _Body | None = None, error: str | None = None) -> None:
        self.body = body
        self.error = error

    def get_object(self, **_: str) -> dict[str, Any]:
        if self.error is not None:
            raise ClientError({"Error": {"Code": self.error, "Message": "no"}}, "GetObject")
        assert self.body is not None
        return {"Body": self.body, "ContentLength": len(self.body.data)}


def test_objects_are_streamed_in_chunks_and_closed() -> None:
    data = b"".join(json.dumps({"input": f"{i} " + "x" * 1000}).encode() + b"\n" for i in range(3000))
    assert len(data) > 2 * CHUNK_BYTES
    body = _Body(data)
    report = validate_datasets(
        model_id=TITAN_LITE,
        customization_type="CONTINUED_PRE_TRAINING",
        training="s3://datasets/big.jsonl",
        s3_client=_StubClient(body),
    )
    assert report.stats["training"]["records"] == 3000
    assert body.closed


@pytest.mark.parametrize(
    ("error", "code"), [("AccessDenied", codes.FILE_ACCESS_DENIED), ("SlowDown", codes.FILE_READ_ERROR)]
)
def test_s3_errors_are_findings(error: str, code: str) -> None:
    report = validate_datasets(
        model_id=TITAN_LITE,
        customization_type="CONTINUED_PRE_TRAINING",
        training="s3://datasets/train.jsonl",
        s3_client=_StubClient(error=error),
    )
    assert [f.code for f in report.errors] == [code]


def test_open_source_raises_typed_errors() -> None:
    with (
        pytest.raises(SourceAccessError, match="access denied"),
        open_source("s3://datasets/x.jsonl", s3_client=_StubClient(error="403")),
    ):
        pass


def test_read_failure_midway_is_a_finding() -> None:
    class _BrokenBody(_Body):
        def read(self, amount: int | None = None) -> bytes:
            if self.position > 0:
                raise ConnectionResetError("connection reset by peer")
            return super().read(amount)

    data = b"".join(json.dumps({"input": f"{i} " + "x" * 1000}).encode() + b"\n" for i in range(2000))
    report = validate_datasets(
        model_id=TITAN_LITE,
        customization_type="CONTINUED_PRE_TRAINING",
        training="s3://datasets/train.jsonl",
        s3_client=_StubClient(_BrokenBody(data)),
    )
    assert [f.code for f in report.errors] == [codes.FILE_READ_ERROR]
    assert "connection reset" in report.errors[0].message
