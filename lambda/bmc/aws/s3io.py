"""S3 URIs and streaming reads of local files or S3 objects.

Datasets can be many gigabytes: they are always read as a stream of chunks, never whole.
boto3 is imported only when an S3 URI is opened, so local validation stays light.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

S3_SCHEME = "s3://"
STDIN = "-"  # the location that reads standard input
MAX_S3_URI_LENGTH = 1024  # the Bedrock API's S3Uri limit

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# Key characters the Bedrock API's S3Uri pattern accepts (it refuses spaces, '=', '+', '%').
_BEDROCK_KEY_CHARS = re.compile(r"[-!_*'().a-zA-Z0-9/]")
_NAMED_REFUSALS = {" ": "a space", "=": "'='", "+": "'+'", "%": "'%'"}


class SourceNotFoundError(FileNotFoundError):
    """The local file or S3 object does not exist."""


class SourceAccessError(PermissionError):
    """The local file or S3 object exists but may not be read."""


class SourceReadError(OSError):
    """Reading failed for another reason (network, credentials, not a file)."""


def is_s3_uri(location: str) -> bool:
    return location.startswith(S3_SCHEME)


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """Split ``s3://bucket/key`` into bucket and key (the key may be empty for a bucket root)."""
    if not isinstance(uri, str) or not uri.startswith(S3_SCHEME):
        raise ValueError(f"{uri!r} is not an S3 URI: it must start with 's3://'")
    bucket, _, key = uri[len(S3_SCHEME) :].partition("/")
    if not bucket:
        raise ValueError(f"{uri!r} has no bucket name")
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise ValueError(
            f"{uri!r}: {bucket!r} is not a valid bucket name "
            "(3-63 characters: lowercase letters, digits, '.', '-'; "
            "starting and ending with a letter or digit)"
        )
    return bucket, key


def bedrock_s3_uri_problem(uri: str) -> str | None:
    """Why Bedrock would refuse this URI for training, validation or output data, or None."""
    try:
        _, key = parse_s3_uri(uri)
    except ValueError as exc:
        return str(exc)
    if len(uri) > MAX_S3_URI_LENGTH:
        return f"{uri!r} is longer than {MAX_S3_URI_LENGTH} characters"
    named = [label for char, label in _NAMED_REFUSALS.items() if char in key]
    if named:
        return f"{uri!r} contains {', '.join(named)}: Bedrock refuses S3 URIs with spaces, '=', '+' or '%'"
    others = sorted({char for char in key if not _BEDROCK_KEY_CHARS.fullmatch(char)})
    if others:
        shown = ", ".join(repr(char) for char in others)
        return f"{uri!r} contains {shown}: Bedrock accepts only letters, digits and - ! _ * ' ( ) . / in keys"
    if "//" in key or key.startswith("/"):
        return f"{uri!r} has an empty path segment ('//'), which Bedrock refuses"
    return None


def check_bedrock_s3_uri(uri: str) -> str:
    """Return the URI unchanged, or raise ValueError saying why Bedrock would refuse it."""
    problem = bedrock_s3_uri_problem(uri)
    if problem is not None:
        raise ValueError(problem)
    return uri


@dataclass(frozen=True, slots=True)
class OpenedSource:
    location: str
    size: int | None  # bytes, when known before reading
    read: Callable[[int], bytes]  # read(n) returns up to n bytes, b"" at the end
    version_id: str | None = None  # the S3 object version read (versioned buckets)
    etag: str | None = None  # the S3 object's ETag, quotes removed


@contextmanager
def open_source(location: str, *, s3_client: Any = None) -> Iterator[OpenedSource]:
    """Open a local path or ``s3://`` URI for streaming reads.

    Raises SourceNotFoundError, SourceAccessError or SourceReadError (all OSError) with a
    message naming the location, and ValueError for a malformed S3 URI.
    """
    if is_s3_uri(location):
        with _open_s3(location, s3_client) as source:
            yield source
        return
    if location == STDIN:
        yield OpenedSource(location, None, _guarded(sys.stdin.buffer.read, "standard input"))
        return
    path = Path(location)
    try:
        handle = path.open("rb")
    except FileNotFoundError as exc:
        raise SourceNotFoundError(f"{location}: no such file") from exc
    except PermissionError as exc:
        raise SourceAccessError(f"{location}: permission denied") from exc
    except OSError as exc:
        raise SourceReadError(f"{location}: cannot open: {exc.strerror or exc}") from exc
    with handle:
        status = os.fstat(handle.fileno())
        size = status.st_size if stat.S_ISREG(status.st_mode) else None  # pipes have no size
        yield OpenedSource(location, size, _guarded(handle.read, location))


@contextmanager
def _open_s3(location: str, s3_client: Any) -> Iterator[OpenedSource]:
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = parse_s3_uri(location)
    if not key or key.endswith("/"):
        raise ValueError(f"{location!r} names a prefix, not an object")
    if s3_client is None:
        import boto3

        s3_client = boto3.client("s3")
    try:
        response = s3_client.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code in {"NoSuchKey", "NoSuchBucket", "404", "NotFound"}:
            what = "bucket does not exist" if code == "NoSuchBucket" else "no such object"
            raise SourceNotFoundError(f"{location}: {what}") from exc
        if code in {"AccessDenied", "403", "Forbidden", "AllAccessDisabled"}:
            raise SourceAccessError(f"{location}: access denied") from exc
        raise SourceReadError(f"{location}: {code or 'error'}: {error.get('Message', exc)}") from exc
    except BotoCoreError as exc:
        raise SourceReadError(f"{location}: {exc}") from exc
    body = response["Body"]
    etag = response.get("ETag")
    try:
        yield OpenedSource(
            location,
            response.get("ContentLength"),
            _guarded(body.read, location),
            version_id=response.get("VersionId"),
            etag=etag.strip('"') if isinstance(etag, str) else None,
        )
    finally:
        body.close()


def _guarded(read: Callable[[int], bytes], location: str) -> Callable[[int], bytes]:
    """Turn any failure while streaming (a reset connection, a disk error) into SourceReadError."""

    def guarded_read(size: int) -> bytes:
        try:
            return read(size)
        except Exception as exc:
            raise SourceReadError(f"{location}: read failed: {exc}") from exc

    return guarded_read
